package sourcehttp

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

// tokenBudgets is a source with a GitHub-style budget per token, on the
// fake clock: served and refused count by token.
type tokenBudgets struct {
	clock   *fakeClock
	window  time.Duration
	mu      sync.Mutex
	budget  map[string]int
	left    map[string]int
	reset   map[string]time.Time
	served  map[string]int
	refused int
}

func (s *tokenBudgets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok := r.Header.Get("Authorization")
	b, ok := s.budget[tok]
	if !ok {
		w.WriteHeader(401)
		return
	}
	if now := s.clock.Now(); s.reset[tok].IsZero() || !now.Before(s.reset[tok]) {
		s.left[tok], s.reset[tok] = b, now.Add(s.window)
	}
	w.Header().Set("X-RateLimit-Limit", strconv.Itoa(b))
	w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(s.reset[tok].Unix(), 10))
	if s.left[tok] == 0 {
		s.refused++
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.WriteHeader(403)
		io.WriteString(w, `{"message":"API rate limit exceeded for user ID 1."}`)
		return
	}
	s.left[tok]--
	s.served[tok]++
	w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(s.left[tok]))
	io.WriteString(w, "ok")
}

// withToken authenticates as one member.
type withToken struct {
	tok  string
	next http.RoundTripper
}

func (t withToken) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", t.tok)
	return t.next.RoundTrip(r)
}

func newPool(clock *fakeClock, tokens ...string) *http.Client {
	p := &Pool{}
	for _, tok := range tokens {
		g := NewGovernor(clock)
		p.Members = append(p.Members, PoolMember{Transport: withToken{tok, &Transport{Clock: clock, Governor: g}}, Governor: g})
	}
	return &http.Client{Transport: p}
}

// A pool spends every member's budget before anything waits, never runs
// into a refusal, and then waits for the first budget to come back.
func TestPoolSpendsEveryBudget(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	src := &tokenBudgets{clock: clock, window: time.Hour, budget: map[string]int{"a": 3, "b": 5},
		left: map[string]int{}, reset: map[string]time.Time{}, served: map[string]int{}}
	srv := httptest.NewServer(src)
	defer srv.Close()
	c := newPool(clock, "a", "b")
	for i := range 8 {
		if code, body := get(t, c, srv.URL); code != 200 || body != "ok" {
			t.Fatalf("request %d: %d %q", i, code, body)
		}
	}
	if len(clock.slept) != 0 || src.served["a"] != 3 || src.served["b"] != 5 || src.refused != 0 {
		t.Fatalf("8 requests on budgets of 3 and 5: slept %v, served %v, refused %d; want both budgets spent, no wait, no refusal",
			clock.slept, src.served, src.refused)
	}
	if code, _ := get(t, c, srv.URL); code != 200 {
		t.Fatalf("ninth request: %d", code)
	}
	if len(clock.slept) != 1 || clock.slept[0] > time.Hour+2*time.Second || src.refused != 0 {
		t.Fatalf("ninth request slept %v (refused %d), want one wait for the first window's reset", clock.slept, src.refused)
	}
}

// Requests at once share the members' budgets without overrunning any.
// Each governor counts its requests in flight as spent (an answer may not
// have seen them), so a pool reads a budget a little short while requests
// are out: budgets with more slack than requests at once are spent with
// no wait.
func TestPoolConcurrentRequests(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	src := &tokenBudgets{clock: clock, window: time.Hour, budget: map[string]int{"a": 12, "b": 12, "c": 12},
		left: map[string]int{}, reset: map[string]time.Time{}, served: map[string]int{}}
	srv := httptest.NewServer(src)
	defer srv.Close()
	c := newPool(clock, "a", "b", "c")
	var wg sync.WaitGroup
	codes := make([]int, 30)
	atOnce := make(chan struct{}, 4)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			atOnce <- struct{}{}
			defer func() { <-atOnce }()
			resp, err := c.Get(srv.URL)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			codes[i] = resp.StatusCode
		}()
	}
	wg.Wait()
	for i, code := range codes {
		if code != 200 {
			t.Errorf("request %d: %d", i, code)
		}
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	if src.refused != 0 || len(clock.slept) != 0 || src.served["a"]+src.served["b"]+src.served["c"] != 30 ||
		src.served["a"] == 0 || src.served["b"] == 0 || src.served["c"] == 0 {
		t.Errorf("30 requests, 4 at once, on three budgets of 12: served %v, refused %d, slept %v; want every budget used, no wait",
			src.served, src.refused, clock.slept)
	}
}
