package traffic_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-import/ferry/fakeforge/traffic"
)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

var profile = traffic.Profile{
	Family: func(r *http.Request) (string, bool, bool) {
		fam := strings.Split(strings.Trim(r.URL.Path, "/"), "/")[0]
		return fam, fam != "git", fam != "free"
	},
	Credential: func(r *http.Request) string { return r.Header.Get("Authorization") },
	RateHeaders: func(h http.Header, l traffic.Limit) {
		h.Set("X-RateLimit-Remaining", fmt.Sprint(l.Remaining))
		h.Set("X-RateLimit-Reset", fmt.Sprint(l.Reset.Unix()))
	},
	Limited: func(w http.ResponseWriter, r *http.Request, l traffic.Limit) {
		status := http.StatusForbidden
		if l.Secondary {
			status = http.StatusTooManyRequests
		}
		w.WriteHeader(status)
		fmt.Fprint(w, `{"message":"API rate limit exceeded"}`)
	},
	ServerError: func(w http.ResponseWriter, status int) { w.WriteHeader(status); fmt.Fprint(w, `{"message":"boom"}`) },
}

// payload is a JSON body long enough to cut in half and trickle.
var payload = `{"items":["` + strings.Repeat("x", 400) + `"]}`

func start(t *testing.T, f traffic.Faults, clock traffic.Clock) (*httptest.Server, *traffic.Middleware) {
	t.Helper()
	mw := traffic.New(f, profile, clock)
	srv := httptest.NewServer(mw.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("If-None-Match") == "same" {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		fmt.Fprint(w, payload)
	})))
	t.Cleanup(srv.Close)
	return srv, mw
}

type result struct {
	status int
	body   string
	err    error
	took   time.Duration
	header http.Header
}

func get(t *testing.T, url string, hdr ...string) result {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "token a")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	begin := time.Now()
	// A fresh transport per request, so a reset or abort on one connection
	// cannot leak into the next request.
	resp, err := (&http.Client{Transport: &http.Transport{}}).Do(req)
	if err != nil {
		return result{err: err, took: time.Since(begin)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return result{status: resp.StatusCode, body: string(b), err: err, took: time.Since(begin), header: resp.Header}
}

func TestFaultsAreObservable(t *testing.T) {
	tests := []struct {
		name   string
		faults traffic.Faults
		check  func(t *testing.T, r result)
		stat   func(traffic.FamilyStats) int
	}{
		{"server errors", traffic.Faults{ErrorRate: 1}, func(t *testing.T, r result) {
			if r.status < 500 || r.status > 503 {
				t.Errorf("status %d, want 500/502/503", r.status)
			}
		}, func(s traffic.FamilyStats) int { return s.ServerErrors }},
		{"connection reset", traffic.Faults{ResetRate: 1}, func(t *testing.T, r result) {
			if r.err == nil {
				t.Errorf("request succeeded with %d, want a transport error", r.status)
			}
		}, func(s traffic.FamilyStats) int { return s.Resets }},
		{"truncated body", traffic.Faults{TruncateRate: 1}, func(t *testing.T, r result) {
			if !errors.Is(r.err, io.ErrUnexpectedEOF) {
				t.Errorf("read error %v, want unexpected EOF", r.err)
			}
		}, func(s traffic.FamilyStats) int { return s.Truncated }},
		{"malformed body", traffic.Faults{MalformedRate: 1}, func(t *testing.T, r result) {
			if r.status != 200 || json.Valid([]byte(r.body)) {
				t.Errorf("status %d, valid JSON %v; want 200 with broken JSON", r.status, json.Valid([]byte(r.body)))
			}
		}, func(s traffic.FamilyStats) int { return s.Malformed }},
		{"slow body", traffic.Faults{SlowRate: 1, SlowBody: 100 * time.Millisecond}, func(t *testing.T, r result) {
			if r.body != payload || r.took < 100*time.Millisecond {
				t.Errorf("took %s for %d bytes, want the whole body over ≥100ms", r.took, len(r.body))
			}
		}, func(s traffic.FamilyStats) int { return s.Slow }},
		{"latency", traffic.Faults{Latency: 60 * time.Millisecond, Jitter: 20 * time.Millisecond}, func(t *testing.T, r result) {
			if r.took < 60*time.Millisecond || r.body != payload {
				t.Errorf("took %s, want at least the 60ms latency", r.took)
			}
		}, func(s traffic.FamilyStats) int { return s.Requests }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, mw := start(t, tt.faults, nil)
			tt.check(t, get(t, srv.URL+"/issues"))
			if got := tt.stat(mw.Stats().Families["issues"]); got != 1 {
				t.Errorf("stats count %d, want 1", got)
			}
			// Git traffic is never faulted.
			if r := get(t, srv.URL+"/git/info/refs"); r.err != nil || r.body != payload {
				t.Errorf("git request faulted: %v", r.err)
			}
		})
	}
}

func TestFaultsFollowTheSeed(t *testing.T) {
	run := func(seed uint64) string {
		srv, _ := start(t, traffic.Faults{Seed: seed, ErrorRate: 0.3, MalformedRate: 0.3}, nil)
		var b strings.Builder
		for range 40 {
			r := get(t, srv.URL+"/issues")
			fmt.Fprintf(&b, "%d:%v ", r.status, json.Valid([]byte(r.body)))
		}
		return b.String()
	}
	a, b, c := run(7), run(7), run(8)
	if a != b {
		t.Errorf("same seed, different faults:\n%s\n%s", a, b)
	}
	if a == c {
		t.Errorf("different seeds gave the same faults: %s", a)
	}
	if !strings.Contains(a, "200:true") || !strings.Contains(a, "200:false") || !strings.Contains(a, " 50") {
		t.Errorf("expected a mix of clean, malformed and 5xx answers, got %s", a)
	}
}

func TestRateLimitBudgetResets(t *testing.T) {
	clock := &fakeClock{now: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}
	srv, mw := start(t, traffic.Faults{RateLimit: 3, RateLimitPeriod: time.Hour}, clock)
	steps := []struct {
		advance   time.Duration
		path      string
		hdr       []string
		status    int
		remaining string
	}{
		{0, "/issues", nil, 200, "2"},
		{0, "/issues", []string{"If-None-Match", "same"}, 304, "2"}, // a 304 is refunded
		{0, "/free", nil, 200, "2"},                                 // uncharged family
		{0, "/issues", nil, 200, "1"},
		{0, "/issues", nil, 200, "0"},
		{0, "/issues", nil, 403, "0"},
		{0, "/issues", []string{"Authorization", "token other"}, 200, "2"}, // budgets are per credential
		{59 * time.Minute, "/issues", nil, 403, "0"},
		{time.Minute, "/issues", nil, 200, "2"}, // window over: budget back
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		r := get(t, srv.URL+s.path, s.hdr...)
		if r.status != s.status || r.header.Get("X-RateLimit-Remaining") != s.remaining {
			t.Fatalf("step %d: status %d remaining %q, want %d %q", i, r.status, r.header.Get("X-RateLimit-Remaining"), s.status, s.remaining)
		}
		if r.status == 403 && r.header.Get("Retry-After") == "" {
			t.Errorf("step %d: 403 without Retry-After", i)
		}
	}
	if got := mw.Stats().Families["issues"].RateLimited; got != 2 {
		t.Errorf("rate limited %d times, want 2", got)
	}
}

func TestSecondaryLimitBursts(t *testing.T) {
	clock := &fakeClock{now: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}
	srv, mw := start(t, traffic.Faults{SecondaryBurst: 2, SecondaryWindow: time.Minute}, clock)
	want := []int{200, 200, 429, 429}
	for i, w := range want {
		r := get(t, srv.URL+"/pulls")
		if r.status != w {
			t.Fatalf("request %d: status %d, want %d", i, r.status, w)
		}
		if w == 429 && r.header.Get("Retry-After") != "60" {
			t.Errorf("request %d: Retry-After %q, want 60", i, r.header.Get("Retry-After"))
		}
	}
	clock.Advance(time.Minute)
	if r := get(t, srv.URL+"/pulls"); r.status != 200 {
		t.Errorf("after the window: status %d, want 200", r.status)
	}
	if got := mw.Stats().Families["pulls"].SecondaryLimited; got != 2 {
		t.Errorf("secondary limited %d times, want 2", got)
	}
}

func TestStatsEndpoint(t *testing.T) {
	srv, _ := start(t, traffic.Faults{}, nil)
	for _, p := range []string{"/issues", "/issues", "/pulls", "/git/x"} {
		get(t, srv.URL+p)
	}
	r := get(t, srv.URL+traffic.StatsPath)
	var st traffic.Stats
	if err := json.Unmarshal([]byte(r.body), &st); err != nil {
		t.Fatalf("decode stats: %v", err)
	}
	if st.Families["issues"].Requests != 2 || st.Families["pulls"].Requests != 1 || st.Families["git"].Requests != 1 || st.APIRequests != 3 {
		t.Errorf("stats %+v", st)
	}
}

// TestPoints: metered requests spend the points their handler prices, per
// credential and apart from the primary budget; a price over the points
// left is refused and spends nothing; the window resets; a negative
// budget is unlimited; the stats count metered requests and points apart.
func TestPoints(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	p := profile
	p.Metered = func(r *http.Request) bool { return r.URL.Path == "/graphql" }
	var got []string
	run := func(f traffic.Faults) *httptest.Server {
		mw := traffic.New(f, p, clock)
		srv := httptest.NewServer(mw.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			pts := traffic.PointsFrom(r.Context())
			if pts == nil {
				fmt.Fprint(w, "rest")
				return
			}
			l, ok := pts.Spend(3)
			got = append(got, fmt.Sprintf("%v %d/%d", ok, l.Remaining, l.Limit))
		})))
		t.Cleanup(srv.Close)
		t.Cleanup(func() {
			st := mw.Stats()
			if f.GraphQLRateLimit > 0 && (st.GraphQLRequests != 4 || st.GraphQLPoints != 9 || st.RESTRequests != 1 || st.APIRequests != 5 ||
				st.Families["graphql"].RateLimited != 1) {
				t.Errorf("stats %+v", st)
			}
		})
		return srv
	}
	do := func(srv *httptest.Server, path, cred string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, nil)
		req.Header.Set("Authorization", cred)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	srv := run(traffic.Faults{GraphQLRateLimit: 7, RateLimit: 1})
	do(srv, "/graphql", "a")
	do(srv, "/graphql", "a")
	do(srv, "/graphql", "a") // 3 over 1 left
	if resp := do(srv, "/rest", "a"); resp.StatusCode != http.StatusOK || resp.Header.Get("X-RateLimit-Remaining") != "0" {
		t.Errorf("REST beside spent points: %d %v", resp.StatusCode, resp.Header)
	}
	clock.Advance(time.Hour)
	do(srv, "/graphql", "a")
	want := "[true 4/7 true 1/7 false 0/7 true 4/7]"
	if fmt.Sprint(got) != want {
		t.Errorf("spends %v, want %v", got, want)
	}
	got = nil
	unlimited := run(traffic.Faults{GraphQLRateLimit: -1})
	for range 3 {
		do(unlimited, "/graphql", "b")
	}
	if fmt.Sprint(got) != "[true 5000/5000 true 5000/5000 true 5000/5000]" {
		t.Errorf("unlimited: %v", got)
	}
}

// TestInstallationBudget: a credential the Profile calls an installation
// spends Faults.AppRateLimit (three times RateLimit unless set; negative:
// unlimited), a person's spends RateLimit, each apart.
func TestInstallationBudget(t *testing.T) {
	for _, tt := range []struct {
		name         string
		faults       traffic.Faults
		person, app  int    // requests served of 10
		personRemain string // X-RateLimit-Remaining after the first
		appRemain    string
	}{
		{"default three times", traffic.Faults{RateLimit: 2}, 2, 6, "1", "5"},
		{"set", traffic.Faults{RateLimit: 2, AppRateLimit: 3}, 2, 3, "1", "2"},
		{"unlimited app", traffic.Faults{RateLimit: 2, AppRateLimit: -1}, 2, 10, "1", ""},
		{"unlimited both", traffic.Faults{}, 10, 10, "", ""},
		{"app only limited", traffic.Faults{AppRateLimit: 4}, 10, 4, "", "3"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := profile
			p.Installation = func(cred string) bool { return strings.HasPrefix(cred, "token installation") }
			mw := traffic.New(tt.faults, p, nil)
			srv := httptest.NewServer(mw.Wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, payload) })))
			defer srv.Close()
			for _, c := range []struct {
				auth   string
				want   int
				remain string
			}{{"token person", tt.person, tt.personRemain}, {"token installation 1", tt.app, tt.appRemain}} {
				served, first := 0, ""
				for i := range 10 {
					r := get(t, srv.URL+"/issues", "Authorization", c.auth)
					if r.status == 200 {
						served++
					}
					if i == 0 {
						first = r.header.Get("X-RateLimit-Remaining")
					}
				}
				if served != c.want || first != c.remain {
					t.Errorf("%s: %d served, remaining %q after the first; want %d, %q", c.auth, served, first, c.want, c.remain)
				}
			}
		})
	}
}
