package sourcehttp

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-import/ferry/netguard"
	"github.com/ferry-import/ferry/netguard/netguardtest"
)

// fakeClock advances only when slept on, so waits are instant and exact.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.slept = append(c.slept, d)
	c.now = c.now.Add(d)
	return ctx.Err()
}

func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestTransientFailuresAreRetried(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) {
		case 1:
			w.WriteHeader(502)
		case 2:
			hj, _ := w.(http.Hijacker)
			conn, _, _ := hj.Hijack()
			conn.Close() // connection reset
		case 3:
			w.WriteHeader(503)
		default:
			io.WriteString(w, "ok")
		}
	}))
	defer srv.Close()
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	var calls atomic.Int32
	// No keep-alive: net/http would itself retry a reset on a reused connection.
	c := &http.Client{Transport: &Transport{Base: &http.Transport{DisableKeepAlives: true}, Clock: clock, OnCall: func(*http.Request) { calls.Add(1) }}}
	code, body := get(t, c, srv.URL)
	if code != 200 || body != "ok" || calls.Load() != 4 || len(clock.slept) != 3 {
		t.Fatalf("got %d %q after %d calls, %d backoffs", code, body, calls.Load(), len(clock.slept))
	}
}

func TestRetriesAreBounded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer srv.Close()
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	c := &http.Client{Transport: &Transport{Clock: clock, MaxRetries: 3}}
	if code, _ := get(t, c, srv.URL); code != 500 || len(clock.slept) != 3 {
		t.Fatalf("got %d after %d retries", code, len(clock.slept))
	}
}

func TestPermissionDeniedIsNotARateLimit(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("X-RateLimit-Remaining", "4000")
		w.WriteHeader(403)
		io.WriteString(w, `{"message":"Resource not accessible by personal access token"}`)
	}))
	defer srv.Close()
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	c := &http.Client{Transport: &Transport{Clock: clock, Governor: NewGovernor(clock)}}
	code, body := get(t, c, srv.URL)
	if code != 403 || n.Load() != 1 || body == "" {
		t.Fatalf("got %d %q after %d calls", code, body, n.Load())
	}
}

// budgetServer enforces a GitHub-style budget on the fake clock.
func budgetServer(clock *fakeClock, budget int, window time.Duration) (*httptest.Server, *atomic.Int32) {
	var mu sync.Mutex
	remaining := budget
	reset := clock.Now().Add(window)
	var served atomic.Int32
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if !clock.Now().Before(reset) {
			remaining, reset = budget, clock.Now().Add(window)
		}
		w.Header().Set("X-RateLimit-Limit", strconv.Itoa(budget))
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		if remaining == 0 {
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.WriteHeader(403)
			io.WriteString(w, `{"message":"API rate limit exceeded for user ID 1."}`)
			return
		}
		remaining--
		served.Add(1)
		w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
		io.WriteString(w, "ok")
	})), &served
}

func TestRateLimitWaitsForReset(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	srv, served := budgetServer(clock, 3, time.Hour)
	defer srv.Close()
	gov := NewGovernor(clock)
	var waits []time.Time
	stop := gov.Listen(func(until time.Time) { waits = append(waits, until) })
	defer stop()
	c := &http.Client{Transport: &Transport{Clock: clock, Governor: gov}}
	start := clock.Now()
	for i := 0; i < 7; i++ {
		if code, body := get(t, c, srv.URL); code != 200 || body != "ok" {
			t.Fatalf("request %d: %d %q", i, code, body)
		}
	}
	// 7 requests with a budget of 3 an hour: two resets were waited for,
	// and the budget was never overrun (the governor paused first).
	if served.Load() != 7 {
		t.Fatalf("served %d", served.Load())
	}
	if elapsed := clock.Now().Sub(start); elapsed < 2*time.Hour || elapsed > 2*time.Hour+time.Minute {
		t.Fatalf("waited %v, want two windows", elapsed)
	}
	if gov.Waits() != 2 || len(waits) != 4 || waits[1] != (time.Time{}) {
		t.Fatalf("wait notifications %v (waits %d)", waits, gov.Waits())
	}
}

func TestSecondaryLimitRetryAfter(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("Retry-After", "42")
			w.WriteHeader(429)
			io.WriteString(w, `{"message":"You have exceeded a secondary rate limit."}`)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	c := &http.Client{Transport: &Transport{Clock: clock, Governor: NewGovernor(clock)}}
	if code, _ := get(t, c, srv.URL); code != 200 || len(clock.slept) != 1 || clock.slept[0] != 42*time.Second {
		t.Fatalf("got %d, slept %v", code, clock.slept)
	}
}

func TestLongWaitIsHandedBack(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	srv, _ := budgetServer(clock, 1, time.Hour)
	defer srv.Close()
	gov := NewGovernor(clock)
	c := &http.Client{Transport: &Transport{Clock: clock, Governor: gov, MaxWait: time.Minute}}
	if code, _ := get(t, c, srv.URL); code != 200 {
		t.Fatalf("first request: %d", code)
	}
	_, err := c.Get(srv.URL)
	var we *WaitError
	if !errors.As(err, &we) || we.Until.Sub(clock.Now()) < 59*time.Minute {
		t.Fatalf("want a WaitError about an hour out, got %v", err)
	}
	if len(clock.slept) != 0 {
		t.Fatalf("slept %v instead of handing the wait back", clock.slept)
	}
}

func TestOtherHostsRefused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("request reached the other host")
	}))
	defer srv.Close()
	c := &http.Client{Transport: &Transport{Hosts: []string{"api.example.com"}}}
	if _, err := c.Get(srv.URL); !errors.Is(err, ErrOtherHost) {
		t.Fatalf("got %v", err)
	}
}

// TestObserveKeepsTheLowestCountOfAWindow: answers to concurrent requests
// arrive out of order; a late one must not give back budget that requests
// still in flight have spent, nor may an answer from an earlier window
// count. A reset in epoch seconds is rounded, so the window may end up to a
// second later than it says.
func TestObserveKeepsTheLowestCountOfAWindow(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_700_000_000, 500_000_000)}
	g := NewGovernor(clock)
	answer := func(remaining int, reset int64) {
		h := http.Header{}
		h.Set("X-RateLimit-Limit", "60")
		h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
		h.Set("X-RateLimit-Reset", strconv.FormatInt(reset, 10))
		g.Observe(&http.Response{StatusCode: 200, Header: h}, false)
	}
	answer(5, 1_700_000_003)
	answer(9, 1_700_000_003) // sent earlier, answered later
	if rem, _ := g.Budget(); rem != 5 {
		t.Fatalf("remaining %d after a late answer, want 5", rem)
	}
	answer(59, 1_700_000_006) // the next window
	answer(2, 1_700_000_003)  // a straggler from the one before
	if rem, _ := g.Budget(); rem != 59 {
		t.Fatalf("remaining %d after the window reset, want 59", rem)
	}
	answer(0, 1_700_000_006)
	_ = g.Wait(context.Background()) // spent: waits for the reset
	if got := clock.Now(); got.Before(time.Unix(1_700_000_007, 0)) {
		t.Fatalf("resumed at %v, before the rounded reset had surely passed", got)
	}
}

// TestSpentUntil: the budget counts as spent while the window it was seen
// in lasts, or while a refusal's Retry-After runs; unknown is not spent.
func TestSpentUntil(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	g := NewGovernor(clock)
	observe := func(status int, h map[string]string) {
		hh := http.Header{}
		for k, v := range h {
			hh.Set(k, v)
		}
		g.Observe(&http.Response{StatusCode: status, Header: hh}, status == 429)
	}
	if u := g.SpentUntil(); !u.IsZero() {
		t.Fatalf("unknown budget spent until %v", u)
	}
	observe(200, map[string]string{"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "51", "X-RateLimit-Reset": "1700000100"})
	if u := g.SpentUntil(); !u.IsZero() {
		t.Fatalf("51 of 5000 left counts as spent until %v", u)
	}
	observe(200, map[string]string{"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "50", "X-RateLimit-Reset": "1700000100"})
	if u := g.SpentUntil(); !u.Equal(time.Unix(1_700_000_101, 0)) {
		t.Fatalf("50 of 5000 left: spent until %v, want the rounded reset", u)
	}
	clock.Sleep(context.Background(), 2*time.Minute)
	if u := g.SpentUntil(); !u.IsZero() {
		t.Fatalf("after the reset: spent until %v", u)
	}
	observe(429, map[string]string{"Retry-After": "30"})
	if u := g.SpentUntil(); !u.Equal(clock.Now().Add(30 * time.Second)) {
		t.Fatalf("refused with Retry-After 30: spent until %v", u)
	}
	for _, c := range []struct {
		remaining, limit int
		spent            bool
	}{{0, 1, true}, {1, 1, true}, {1, 60, true}, {2, 60, false}, {0, 0, false}, {-1, 60, false}} {
		if got := NearlySpent(c.remaining, c.limit); got != c.spent {
			t.Errorf("NearlySpent(%d, %d) = %v", c.remaining, c.limit, got)
		}
	}
}

func TestRetry(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	transient := errors.New("cut short")
	final := errors.New("refused")
	cases := []struct {
		name     string
		errs     []error // what each call returns; nil ends the calls
		attempts int
		want     error
		calls    int
	}{
		{"first try", []error{nil}, 3, nil, 1},
		{"after two failures", []error{transient, transient, nil}, 3, nil, 3},
		{"attempts used up", []error{transient, transient, transient, nil}, 3, transient, 3},
		{"not retryable", []error{final, nil}, 3, final, 1},
	}
	for _, c := range cases {
		calls := 0
		err := Retry(context.Background(), clock, c.attempts, func(err error) bool { return err == transient }, func() error {
			calls++
			return c.errs[calls-1]
		})
		if err != c.want || calls != c.calls {
			t.Errorf("%s: err %v after %d calls, want %v after %d", c.name, err, calls, c.want, c.calls)
		}
	}
}

// TestBlockedDestinationIsNotRetried: a destination the guard refuses is
// asked once, never again, and nothing reaches it, in any spelling.
func TestBlockedDestinationIsNotRetried(t *testing.T) {
	trap := netguardtest.NewTrap(t)
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	var calls atomic.Int32
	c := &http.Client{Transport: &Transport{Base: (&netguard.Guard{}).Transport(), Clock: clock, Governor: NewGovernor(clock),
		OnCall: func(*http.Request) { calls.Add(1) }}}
	for _, s := range trap.Spellings() {
		calls.Store(0)
		req, _ := http.NewRequest("GET", s.URL+"/api/v3/repositories/1", nil)
		req.Header.Set("Authorization", "Bearer ghp_trapped")
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			t.Errorf("%s: answered %d", s.URL, resp.StatusCode)
			continue
		}
		if !errors.Is(err, netguard.ErrBlocked) || Transient(err) || calls.Load() != 1 {
			t.Errorf("%s: %v (transient %v) after %d calls, want one refused call", s.URL, err, Transient(err), calls.Load())
		}
		if strings.Contains(err.Error(), "ghp_trapped") {
			t.Errorf("%s: the error shows the credential: %v", s.URL, err)
		}
		// Flattened to text (as gitstore does to scrub secrets), still final.
		if Transient(errors.New(err.Error())) {
			t.Errorf("%s: the refusal as text counts as transient", s.URL)
		}
	}
	if len(clock.slept) != 0 {
		t.Errorf("backed off %v before giving up on refused destinations", clock.slept)
	}
	if n := trap.Accepted(t); n != 0 {
		t.Fatalf("%d connections reached the trap", n)
	}
}

// TestGovernorCountsRequestsInFlight: answers count only the requests the
// source had seen, so requests still in flight are spent too; and once
// the source has a known limit, a reset window lets one request probe it
// while the others wait for the answer. Without both, requests sent
// together overrun the budget.
func TestGovernorCountsRequestsInFlight(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	g := NewGovernor(clock)
	reset := int64(1_700_000_060)
	answer := func(remaining int) {
		h := http.Header{}
		h.Set("X-RateLimit-Limit", "10")
		h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
		h.Set("X-RateLimit-Reset", strconv.FormatInt(reset, 10))
		g.Observe(&http.Response{StatusCode: 200, Header: h}, false)
	}
	// passes counts the requests let through before the budget runs out.
	passes := func() int {
		n := 0
		for ; n < 100; n++ {
			var we *WaitError
			if err := g.WaitAtMost(context.Background(), time.Nanosecond); errors.As(err, &we) {
				return n
			} else if err != nil {
				t.Fatal(err)
			}
		}
		return n
	}
	if err := g.Wait(context.Background()); err != nil { // first contact
		t.Fatal(err)
	}
	answer(9)
	for i := 0; i < 5; i++ { // five sent together
		if err := g.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// The source's window turned over before ours did: the first answer of
	// the new one counts itself alone; the other four are on their way.
	reset += 60
	answer(9)
	if n := passes(); n != 5 {
		t.Fatalf("%d more requests let through on a new window of 10 with 5 sent, want 5", n)
	}
	for _, r := range []int{5, 4, 3, 2, 1, 0, 0, 0, 0} { // every answer arrives
		answer(r)
	}
	if n := passes(); n != 0 {
		t.Fatalf("%d requests let through on a spent budget", n)
	}

	clock.Sleep(context.Background(), 3*time.Minute) // the window resets
	reset += 180
	if err := g.Wait(context.Background()); err != nil { // the probe
		t.Fatal(err)
	}
	held, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.Wait(held); !errors.Is(err, context.Canceled) {
		t.Fatalf("a second request on an unknown budget went out (err %v) while the probe was in flight", err)
	}
	g.Release() // the probe failed without an answer: another may probe
	if err := g.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	answer(9)
	if n := passes(); n != 9 {
		t.Fatalf("after the probe's answer %d requests let through, want 9", n)
	}
}

// TestGovernorBehindASlowClock: a source whose clock is behind sends
// resets already past; its answers must not read as a reset window each
// time, or every request would wait for the one before.
func TestGovernorBehindASlowClock(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	g := NewGovernor(clock)
	h := http.Header{}
	h.Set("X-RateLimit-Limit", "5000")
	h.Set("X-RateLimit-Remaining", "4000")
	h.Set("X-RateLimit-Reset", "1699999000") // in the past here
	if err := g.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	g.Observe(&http.Response{StatusCode: 200, Header: h}, false)
	if err := g.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	second, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.Wait(second); err != nil {
		t.Fatalf("a second request waited for the first (%v): the skewed reset read as a new window", err)
	}
}

// TestGovernorProbesFirstContact: before any answer, one request goes and
// the others wait for what it says; a source whose answers carry no rate
// headers is not held after that.
func TestGovernorProbesFirstContact(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	g := NewGovernor(clock)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.Wait(context.Background()); err != nil { // the first contact
		t.Fatal(err)
	}
	if err := g.Wait(canceled); !errors.Is(err, context.Canceled) {
		t.Fatalf("a second request went out (err %v) before the first contact was answered", err)
	}
	g.Observe(&http.Response{StatusCode: 200, Header: http.Header{}}, false) // no rate headers
	for i := 0; i < 3; i++ {
		if err := g.Wait(canceled); err != nil {
			t.Fatalf("request %d held on a source without a limit: %v", i, err)
		}
	}
}
