// Package traffic is the one middleware every simulated forge runs behind: it
// counts requests per endpoint family, enforces a primary rate-limit budget
// per credential and secondary (burst) limits, and injects faults — latency,
// 5xx answers, connection resets, truncated, malformed and slow bodies.
//
// Fault decisions come from a seeded RNG and time from an injectable Clock,
// so tests are deterministic. The package knows nothing about any forge's
// URLs or bodies: a Profile supplied by each forge names endpoint families
// and writes the forge's own limit and error responses.
package traffic

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Clock tells the time; tests inject one they can advance.
type Clock interface{ Now() time.Time }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// Faults are the knobs of fault injection. Rates are shares of API requests
// in [0, 1]; at most one body fault hits a request.
type Faults struct {
	Seed uint64

	Latency time.Duration // added to every API request
	Jitter  time.Duration // plus a uniform random share of this

	ErrorRate     float64 // answered 500, 502 or 503
	ResetRate     float64 // connection closed with a TCP reset, no response
	TruncateRate  float64 // body cut in half under the full Content-Length
	MalformedRate float64 // 200 with a body that is not valid JSON
	SlowRate      float64 // body trickled out over SlowBody
	SlowBody      time.Duration

	// RateLimit is the primary budget per credential and RateLimitPeriod
	// (0 means unlimited); the window resets RateLimitPeriod after its first
	// request.
	RateLimit       int
	RateLimitPeriod time.Duration
	// AppRateLimit is the primary budget per RateLimitPeriod of a
	// credential the Profile calls an Installation (a GitHub App
	// installation, which GitHub grants more than a person): 0 is three
	// times RateLimit (a user's 5,000 an hour, an Enterprise Cloud
	// installation's 15,000), unlimited when RateLimit is; negative is
	// unlimited.
	AppRateLimit int

	// GraphQLRateLimit is the points budget per credential and
	// GraphQLRateLimitPeriod of the requests a Profile calls Metered
	// (GitHub's GraphQL API), apart from RateLimit: 0 is GitHub's 5000
	// points, a negative value unlimited. The window resets
	// GraphQLRateLimitPeriod (0: an hour) after its first request. The
	// handler prices each request and spends through PointsFrom.
	GraphQLRateLimit       int
	GraphQLRateLimitPeriod time.Duration

	// SecondaryBurst requests per credential within SecondaryWindow are
	// allowed (0 means no secondary limit); more are refused with
	// Retry-After until the window ends. SecondaryRate refuses a random
	// share of requests the same way.
	SecondaryBurst  int
	SecondaryWindow time.Duration
	SecondaryRate   float64
}

// Limit describes a refusal so that a Profile can render it.
type Limit struct {
	Secondary  bool
	Limit      int
	Remaining  int
	Reset      time.Time
	RetryAfter time.Duration
}

// Profile is what a forge tells the middleware about itself.
type Profile struct {
	// Family names the endpoint family of a request ("issues", "git", …)
	// and says whether it is an API call (faults and limits apply only to
	// API calls) and whether it counts against the primary budget.
	Family func(r *http.Request) (family string, api, charged bool)
	// Credential identifies whose budget a request spends.
	Credential func(r *http.Request) string
	// Installation reports whether a credential is an app installation's,
	// whose primary budget is Faults.AppRateLimit. Nil: none is.
	Installation func(credential string) bool
	// RateHeaders writes the forge's rate-limit headers.
	RateHeaders func(h http.Header, l Limit)
	// Limited writes the forge's answer to a request over a limit.
	Limited func(w http.ResponseWriter, r *http.Request, l Limit)
	// ServerError writes the forge's 5xx body.
	ServerError func(w http.ResponseWriter, status int)
	// Metered reports whether a request spends points of the GraphQL
	// budget (Faults.GraphQLRateLimit), priced by the handler through
	// PointsFrom, instead of one request of the primary budget; such
	// requests get no primary rate headers. Nil: no request is metered.
	Metered func(r *http.Request) bool
	// PointsHeaders writes the forge's rate-limit headers of the points
	// budget; the middleware writes them on the answers it makes itself
	// to metered requests (limits, 5xx), the handler on its own.
	PointsHeaders func(h http.Header, l Limit)
}

// FamilyStats counts what happened to one endpoint family.
type FamilyStats struct {
	Requests         int `json:"requests"`
	NotModified      int `json:"not_modified,omitempty"`
	ServerErrors     int `json:"server_errors,omitempty"`
	Resets           int `json:"resets,omitempty"`
	Truncated        int `json:"truncated,omitempty"`
	Malformed        int `json:"malformed,omitempty"`
	Slow             int `json:"slow,omitempty"`
	RateLimited      int `json:"rate_limited,omitempty"`
	SecondaryLimited int `json:"secondary_limited,omitempty"`
}

// Stats is a snapshot of the request accounting.
type Stats struct {
	Families map[string]FamilyStats `json:"families"`
	// APIRequests counts every API request, refused or not: the REST
	// calls and the GraphQL requests below together.
	APIRequests int `json:"api_requests"`
	// RESTRequests counts the API requests that are not metered in points.
	RESTRequests int `json:"rest_requests"`
	// GraphQLRequests counts the metered (GraphQL) requests, refused or
	// not, and GraphQLPoints the points they spent.
	GraphQLRequests int `json:"graphql_requests"`
	GraphQLPoints   int `json:"graphql_points"`
	// Charged counts the requests each credential's primary budget paid
	// for (with a RateLimit set), by credential.
	Charged map[string]int `json:"charged"`
}

// StatsPath is where the middleware serves its Stats as JSON.
const StatsPath = "/_fakeforge/stats"

// Middleware wraps a forge's handler. Create it with New.
type Middleware struct {
	faults  Faults
	profile Profile
	clock   Clock

	mu        sync.Mutex
	rng       *rand.Rand
	stats     Stats
	budgets   map[string]*window
	secondary map[string]*window
	points    map[string]*window
}

type window struct {
	start time.Time
	used  int
}

// New returns a middleware; a nil clock means the wall clock.
func New(f Faults, p Profile, clock Clock) *Middleware {
	if clock == nil {
		clock = realClock{}
	}
	if f.RateLimitPeriod == 0 {
		f.RateLimitPeriod = time.Hour
	}
	if f.GraphQLRateLimitPeriod == 0 {
		f.GraphQLRateLimitPeriod = time.Hour
	}
	if f.GraphQLRateLimit == 0 {
		f.GraphQLRateLimit = DefaultGraphQLRateLimit
	}
	if f.AppRateLimit == 0 {
		f.AppRateLimit = 3 * f.RateLimit
	}
	if f.SecondaryWindow == 0 {
		f.SecondaryWindow = time.Minute
	}
	if f.SlowBody == 0 {
		f.SlowBody = 200 * time.Millisecond
	}
	return &Middleware{faults: f, profile: p, clock: clock,
		rng:   rand.New(rand.NewPCG(f.Seed, 0x6661_6b65_666f_7267)),
		stats: Stats{Families: map[string]FamilyStats{}}, budgets: map[string]*window{}, secondary: map[string]*window{},
		points: map[string]*window{}}
}

// Stats returns a copy of the accounting so far.
func (m *Middleware) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := m.stats
	out.Families = make(map[string]FamilyStats, len(m.stats.Families))
	for k, v := range m.stats.Families {
		out.Families[k] = v
	}
	out.Charged = make(map[string]int, len(m.stats.Charged))
	for k, v := range m.stats.Charged {
		out.Charged[k] = v
	}
	return out
}

// ResetStats zeroes the accounting, e.g. between benchmark phases.
func (m *Middleware) ResetStats() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stats = Stats{Families: map[string]FamilyStats{}}
}

func (m *Middleware) count(family string, f func(*FamilyStats)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fs := m.stats.Families[family]
	f(&fs)
	m.stats.Families[family] = fs
}

// plan is everything decided for one request, under one lock, so that the
// RNG is consumed in request order.
type plan struct {
	delay      time.Duration
	limit      Limit
	limited    bool
	status     int // injected 5xx
	reset      bool
	truncate   bool
	malformed  bool
	slow       bool
	charged    bool
	credential string
}

func (m *Middleware) decide(r *http.Request, charged, metered bool) plan {
	f := m.faults
	var p plan
	cred := m.credential(r)
	p.credential = cred
	now := m.clock.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stats.APIRequests++
	if metered {
		m.stats.GraphQLRequests++
	} else {
		m.stats.RESTRequests++
	}
	p.delay = f.Latency
	if f.Jitter > 0 {
		p.delay += time.Duration(m.rng.Int64N(int64(f.Jitter)))
	}
	budget := f.RateLimit
	if m.profile.Installation != nil && m.profile.Installation(cred) {
		budget = f.AppRateLimit
	}
	if budget > 0 {
		w := m.budgets[cred]
		if w == nil || !now.Before(w.start.Add(f.RateLimitPeriod)) {
			w = &window{start: now}
			m.budgets[cred] = w
		}
		reset := w.start.Add(f.RateLimitPeriod)
		p.limit = Limit{Limit: budget, Reset: reset}
		switch {
		case charged && w.used >= budget:
			p.limited, p.limit.RetryAfter = true, reset.Sub(now)
		case charged:
			w.used++
			p.charged = true
			if m.stats.Charged == nil {
				m.stats.Charged = map[string]int{}
			}
			m.stats.Charged[cred]++
		}
		p.limit.Remaining = budget - w.used
	}
	if !p.limited && f.SecondaryBurst > 0 {
		w := m.secondary[cred]
		if w == nil || !now.Before(w.start.Add(f.SecondaryWindow)) {
			w = &window{start: now}
			m.secondary[cred] = w
		}
		w.used++
		if w.used > f.SecondaryBurst {
			p.limited = true
			p.limit.Secondary, p.limit.RetryAfter = true, w.start.Add(f.SecondaryWindow).Sub(now)
		}
	}
	if !p.limited && f.SecondaryRate > 0 && m.rng.Float64() < f.SecondaryRate {
		p.limited = true
		p.limit.Secondary, p.limit.RetryAfter = true, f.SecondaryWindow
	}
	if p.limited {
		return p
	}
	// One draw picks at most one fault, so the shares add up as configured.
	x := m.rng.Float64()
	for _, c := range []struct {
		rate float64
		set  func()
	}{
		{f.ErrorRate, func() { p.status = [...]int{500, 502, 503}[m.rng.IntN(3)] }},
		{f.ResetRate, func() { p.reset = true }},
		{f.TruncateRate, func() { p.truncate = true }},
		{f.MalformedRate, func() { p.malformed = true }},
		{f.SlowRate, func() { p.slow = true }},
	} {
		if x < c.rate {
			c.set()
			break
		}
		x -= c.rate
	}
	return p
}

func (m *Middleware) credential(r *http.Request) string {
	if m.profile.Credential == nil {
		return ""
	}
	return m.profile.Credential(r)
}

// refund gives back a charged request, as GitHub does for 304 answers.
func (m *Middleware) refund(cred string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if w := m.budgets[cred]; w != nil && w.used > 0 {
		w.used--
		if m.stats.Charged[cred] > 0 {
			m.stats.Charged[cred]--
		}
	}
}

// Wrap returns next behind the middleware, plus the stats endpoint.
func (m *Middleware) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == StatsPath {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(m.Stats())
			return
		}
		family, api, charged := m.profile.Family(r)
		m.count(family, func(s *FamilyStats) { s.Requests++ })
		if !api {
			next.ServeHTTP(w, r)
			return
		}
		metered := m.profile.Metered != nil && m.profile.Metered(r)
		if metered {
			charged = false // the handler spends points instead
			pts := &Points{m: m, credential: m.credential(r), family: family}
			r = r.WithContext(context.WithValue(r.Context(), pointsKey{}, pts))
			if m.profile.PointsHeaders != nil {
				m.profile.PointsHeaders(w.Header(), pts.Peek())
			}
		}
		p := m.decide(r, charged, metered)
		if p.delay > 0 {
			select {
			case <-time.After(p.delay):
			case <-r.Context().Done():
				return
			}
		}
		if p.limit.Limit > 0 && m.profile.RateHeaders != nil && !metered {
			m.profile.RateHeaders(w.Header(), p.limit)
		}
		switch {
		case p.limited:
			m.count(family, func(s *FamilyStats) {
				if p.limit.Secondary {
					s.SecondaryLimited++
				} else {
					s.RateLimited++
				}
			})
			w.Header().Set("Retry-After", strconv.Itoa(int((p.limit.RetryAfter+time.Second-1)/time.Second)))
			m.profile.Limited(w, r, p.limit)
			return
		case p.status != 0:
			m.count(family, func(s *FamilyStats) { s.ServerErrors++ })
			m.profile.ServerError(w, p.status)
			return
		case p.reset:
			m.count(family, func(s *FamilyStats) { s.Resets++ })
			resetConnection(w)
			return
		}
		rec := &recorder{header: w.Header(), status: http.StatusOK}
		next.ServeHTTP(rec, r)
		if rec.status == http.StatusNotModified {
			m.count(family, func(s *FamilyStats) { s.NotModified++ })
			if p.charged {
				m.refund(p.credential)
				p.limit.Remaining++
				m.profile.RateHeaders(w.Header(), p.limit)
			}
		}
		m.send(w, rec, p, family)
	})
}

func (m *Middleware) send(w http.ResponseWriter, rec *recorder, p plan, family string) {
	body := rec.body.Bytes()
	ok := rec.status == http.StatusOK && len(body) > 1
	switch {
	case p.truncate && ok:
		m.count(family, func(s *FamilyStats) { s.Truncated++ })
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.status)
		_, _ = w.Write(body[:len(body)/2])
		if fl, isFlusher := w.(http.Flusher); isFlusher {
			fl.Flush()
		}
		// Aborting closes the connection short of the declared length.
		panic(http.ErrAbortHandler)
	case p.malformed && ok:
		m.count(family, func(s *FamilyStats) { s.Malformed++ })
		body = append(append([]byte{}, body[:len(body)/2]...), []byte(`<!-- upstream hiccup -->{"`)...)
	case p.slow && ok:
		m.count(family, func(s *FamilyStats) { s.Slow++ })
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.status)
		trickle(w, body, m.faults.SlowBody)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(rec.status)
	_, _ = w.Write(body)
}

// trickle writes body in ten flushed pieces spread over total.
func trickle(w http.ResponseWriter, body []byte, total time.Duration) {
	const pieces = 10
	step := (len(body) + pieces - 1) / pieces
	fl, _ := w.(http.Flusher)
	for off := 0; off < len(body); off += step {
		time.Sleep(total / pieces)
		_, _ = w.Write(body[off:min(off+step, len(body))])
		if fl != nil {
			fl.Flush()
		}
	}
}

func resetConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tcp, isTCP := conn.(*net.TCPConn); isTCP {
		_ = tcp.SetLinger(0) // close with RST rather than FIN
	}
	_ = conn.Close()
}

// recorder buffers a response so that body faults can rewrite it.
type recorder struct {
	header http.Header
	status int
	wrote  bool
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if !r.wrote {
		r.status, r.wrote = status, true
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	r.wrote = true
	return r.body.Write(p)
}

// RegisterFlags binds the fault knobs to command-line flags, so every
// command that starts a forge spells them the same way.
func (f *Faults) RegisterFlags(fs *flag.FlagSet) {
	fs.Uint64Var(&f.Seed, "fault-seed", 1, "seed of the fault RNG")
	fs.DurationVar(&f.Latency, "latency", 0, "fixed latency added to every API request")
	fs.DurationVar(&f.Jitter, "jitter", 0, "random extra latency, uniform in [0, jitter)")
	fs.Float64Var(&f.ErrorRate, "error-rate", 0, "share of API requests answered 500/502/503")
	fs.Float64Var(&f.ResetRate, "reset-rate", 0, "share of API requests whose connection is reset")
	fs.Float64Var(&f.TruncateRate, "truncate-rate", 0, "share of API responses cut short")
	fs.Float64Var(&f.MalformedRate, "malformed-rate", 0, "share of API responses with malformed JSON")
	fs.Float64Var(&f.SlowRate, "slow-rate", 0, "share of API responses trickled out slowly")
	fs.DurationVar(&f.SlowBody, "slow-body", 200*time.Millisecond, "how long a slow body takes")
	fs.IntVar(&f.RateLimit, "rate-limit", 0, "primary rate-limit budget per token and period (0: unlimited)")
	fs.IntVar(&f.AppRateLimit, "app-rate-limit", 0, "primary budget of a GitHub App installation per period (0: 3 x rate-limit, negative: unlimited)")
	fs.DurationVar(&f.RateLimitPeriod, "rate-limit-period", time.Hour, "primary rate-limit window")
	fs.IntVar(&f.GraphQLRateLimit, "graphql-rate-limit", 0, "GraphQL points per token and period (0: GitHub's 5000, negative: unlimited)")
	fs.DurationVar(&f.GraphQLRateLimitPeriod, "graphql-rate-limit-period", time.Hour, "GraphQL rate-limit window")
	fs.IntVar(&f.SecondaryBurst, "secondary-burst", 0, "requests per token per secondary window before 403/429 (0: off)")
	fs.DurationVar(&f.SecondaryWindow, "secondary-window", time.Minute, "secondary rate-limit window")
	fs.Float64Var(&f.SecondaryRate, "secondary-rate", 0, "share of API requests refused by a secondary limit")
}

// DefaultGraphQLRateLimit is GitHub's GraphQL budget of a user: points per hour.
const DefaultGraphQLRateLimit = 5000

type pointsKey struct{}

// Points is the GraphQL budget of one metered request's credential; the
// handler prices the request and spends through it.
type Points struct {
	m          *Middleware
	credential string
	family     string
}

// PointsFrom returns the budget of a metered request, or nil when the
// request did not come through the middleware as a metered one.
func PointsFrom(ctx context.Context) *Points {
	p, _ := ctx.Value(pointsKey{}).(*Points)
	return p
}

// window returns the credential's current points window; m.mu is held.
func (p *Points) window(now time.Time) *window {
	f := p.m.faults
	w := p.m.points[p.credential]
	if w == nil || !now.Before(w.start.Add(f.GraphQLRateLimitPeriod)) {
		w = &window{start: now}
		p.m.points[p.credential] = w
	}
	return w
}

func (p *Points) limit(w *window) Limit {
	f := p.m.faults
	l := Limit{Limit: f.GraphQLRateLimit, Remaining: f.GraphQLRateLimit - w.used, Reset: w.start.Add(f.GraphQLRateLimitPeriod)}
	if f.GraphQLRateLimit < 0 { // unlimited: report GitHub's default, never spent
		l.Limit, l.Remaining = DefaultGraphQLRateLimit, DefaultGraphQLRateLimit
	}
	return l
}

// Peek returns the budget without spending.
func (p *Points) Peek() Limit {
	now := p.m.clock.Now()
	p.m.mu.Lock()
	defer p.m.mu.Unlock()
	return p.limit(p.window(now))
}

// Spend charges cost points and returns the budget after it. A cost over
// the remaining points is refused (ok false) and charges nothing; the
// returned Limit then has Remaining 0 and RetryAfter until the reset.
func (p *Points) Spend(cost int) (l Limit, ok bool) {
	now := p.m.clock.Now()
	p.m.mu.Lock()
	w := p.window(now)
	unlimited := p.m.faults.GraphQLRateLimit < 0
	if !unlimited && w.used+cost > p.m.faults.GraphQLRateLimit {
		l = p.limit(w)
		p.m.mu.Unlock()
		l.Remaining, l.RetryAfter = 0, l.Reset.Sub(now)
		p.m.count(p.family, func(s *FamilyStats) { s.RateLimited++ })
		return l, false
	}
	if !unlimited {
		w.used += cost
	}
	p.m.stats.GraphQLPoints += cost
	l = p.limit(w)
	p.m.mu.Unlock()
	return l, true
}
