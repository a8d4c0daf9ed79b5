// Package sourcehttp is the HTTP layer every source adapter talks through.
// Its Transport retries transient failures (resets, timeouts, 5xx) with
// backoff, and its Governor turns rate limits into waits: it reads
// X-RateLimit-* / RateLimit-* and Retry-After headers and 403/429
// rate-limit answers, holds requests until the window resets and tells
// whoever listens how long it waits. Imports pause; they never fail for a
// rate limit. A destination the address guard refuses (netguard) is final:
// it is never retried, here or by callers asking Transient.
//
// It knows HTTP and the rate-limit conventions GitHub, GitLab and
// Bitbucket share; it must not know any forge's API or ferry's storage.
package sourcehttp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferry-import/ferry/netguard"
)

// Clock abstracts time so tests control waits.
type Clock interface {
	Now() time.Time
	// Sleep waits d or until ctx ends.
	Sleep(ctx context.Context, d time.Duration) error
}

// RealClock is the wall clock.
type RealClock struct{}

// Now implements Clock.
func (RealClock) Now() time.Time { return time.Now() }

// Sleep implements Clock.
func (RealClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Governor paces requests against one rate-limit budget (one source host
// and credential). It is safe for concurrent use.
type Governor struct {
	clock Clock
	// Reserve is how many requests to leave unspent in a window, so other
	// tools sharing the token are not starved. Default 0.
	Reserve int

	mu           sync.Mutex
	remaining    int // -1: unknown
	limit        int // -1: unknown
	reset        time.Time
	blockedUntil time.Time
	listeners    map[int]func(until time.Time)
	notified     time.Time // the last wait told to listeners (zero: none)
	nextID       int
	waits        atomic.Int64
	// inflight counts requests let through and not yet answered (Observe)
	// or given up (Release). An answer counts only the requests the source
	// had seen when it answered, so the others in flight are spent too.
	inflight int
	// probe is closed when the one request let through on an unknown
	// budget is answered (nil: no probe out).
	probe chan struct{}
	// observed is when the last answer arrived.
	observed time.Time
}

// NewGovernor returns a governor with an unknown budget.
func NewGovernor(c Clock) *Governor {
	if c == nil {
		c = RealClock{}
	}
	return &Governor{clock: c, remaining: -1, limit: -1, listeners: map[int]func(time.Time){}}
}

// Listen registers fn to be told when requests start waiting (until is the
// resume time) and when they resume (zero time). The returned func
// unregisters it.
func (g *Governor) Listen(fn func(until time.Time)) func() {
	g.mu.Lock()
	defer g.mu.Unlock()
	id := g.nextID
	g.nextID++
	g.listeners[id] = fn
	return func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		delete(g.listeners, id)
	}
}

func (g *Governor) notify(until time.Time) {
	g.mu.Lock()
	// Only changes are news: many goroutines share a governor, and each
	// listener may write the wait down.
	if until.Equal(g.notified) {
		g.mu.Unlock()
		return
	}
	g.notified = until
	fns := make([]func(time.Time), 0, len(g.listeners))
	for _, fn := range g.listeners {
		fns = append(fns, fn)
	}
	g.mu.Unlock()
	for _, fn := range fns {
		fn(until)
	}
}

// Budget is the last known remaining requests and window size (-1 when
// the source has not said).
func (g *Governor) Budget() (remaining, limit int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.remaining, g.limit
}

// Window is Budget with the time the source said the window resets (zero
// when it has not said).
func (g *Governor) Window() (remaining, limit int, reset time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.remaining, g.limit, g.reset
}

// NearlySpent is the rule for refusing to start an import on a budget:
// at most 1% of the window (and at least one request) is left, so the
// import would stall at once. A limit of 0 or less (none said) is never
// spent.
func NearlySpent(remaining, limit int) bool {
	return limit > 0 && remaining >= 0 && remaining <= max(1, limit/100)
}

// SpentUntil tells until when the budget is known to be spent or nearly
// spent (NearlySpent): a source refused for a rate limit, or its last
// answers left next to nothing in a window that has not reset yet. It is
// the zero time when the budget is unknown or not spent.
func (g *Governor) SpentUntil() time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.clock.Now()
	var until time.Time
	if now.Before(g.blockedUntil) {
		until = g.blockedUntil
	}
	if NearlySpent(g.remaining, g.limit) && now.Before(g.reset) && g.reset.After(until) {
		until = g.reset
	}
	return until
}

// Waits is how many times requests had to wait for the budget.
func (g *Governor) Waits() int64 { return g.waits.Load() }

// WaitError says the budget is spent until Until, a longer wait than the
// caller accepts: a job should put itself aside until then rather than
// hold a worker.
type WaitError struct{ Until time.Time }

func (e *WaitError) Error() string {
	return "rate limit: waiting until " + e.Until.UTC().Format(time.RFC3339)
}

// Wait blocks until a request may be sent, then spends one unit of budget.
func (g *Governor) Wait(ctx context.Context) error { return g.WaitAtMost(ctx, 0) }

// WaitAtMost is Wait refusing (with *WaitError) to wait longer than max
// (0: no bound).
//
// An unknown budget — before the source's first answer, and once the
// source is known to have a limit, a window that has reset — lets one
// request through and holds the others until it is answered: many
// requests sent on an unknown budget can each overrun it before any
// answer says how much is left. A source whose answers say nothing of a
// limit is not held after its first answer.
func (g *Governor) WaitAtMost(ctx context.Context, maxWait time.Duration) error {
	waited := false
	for {
		g.mu.Lock()
		now := g.clock.Now()
		if !g.reset.IsZero() && !now.Before(g.reset) && g.observed.Before(g.reset) {
			// The window has reset: unknown until the next answer. (An
			// answer that came after its own reset, from a source whose
			// clock is behind, says nothing of the kind.)
			g.remaining = -1
		}
		until := g.blockedUntil
		if !now.Before(until) && g.remaining >= 0 && g.remaining <= g.Reserve && now.Before(g.reset) {
			until = g.reset
		}
		if !now.Before(until) {
			probing := g.remaining < 0 && (g.limit > 0 || g.observed.IsZero())
			if probing && g.inflight > 0 && g.probe != nil {
				probe := g.probe
				g.mu.Unlock()
				select {
				case <-probe:
					continue
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			if probing && g.probe == nil {
				g.probe = make(chan struct{})
			}
			if g.remaining > 0 {
				g.remaining--
			}
			g.inflight++
			g.mu.Unlock()
			if waited {
				g.notify(time.Time{})
			}
			return nil
		}
		g.mu.Unlock()
		if maxWait > 0 && until.Sub(now) > maxWait {
			g.notify(until)
			return &WaitError{Until: until}
		}
		if !waited {
			g.waits.Add(1)
		}
		waited = true
		g.notify(until)
		if err := g.clock.Sleep(ctx, until.Sub(now)); err != nil {
			return err
		}
	}
}

// Release gives back a request let through that got no answer (the
// connection failed), so it no longer counts as in flight.
func (g *Governor) Release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.answered()
}

// answered ends one request in flight and frees the requests held for a
// probe. g.mu is held.
func (g *Governor) answered() {
	if g.inflight > 0 {
		g.inflight--
	}
	if g.probe != nil {
		close(g.probe)
		g.probe = nil
	}
}

// Observe updates the budget from a response.
func (g *Governor) Observe(resp *http.Response, rateLimited bool) {
	h := resp.Header
	g.mu.Lock()
	defer g.mu.Unlock()
	g.answered()
	now := g.clock.Now()
	g.observed = now
	remaining := -1
	if v := first(h, "X-RateLimit-Remaining", "RateLimit-Remaining"); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			remaining = n
		}
	}
	if v := first(h, "X-RateLimit-Limit", "RateLimit-Limit"); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			g.limit = n
		}
	}
	var reset time.Time
	if v := first(h, "X-RateLimit-Reset", "RateLimit-Reset"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			if n > 1e9 { // epoch seconds (GitHub, GitLab), rounded: the window may end up to a second later
				reset = time.Unix(n+1, 0)
			} else { // seconds from now (IETF draft)
				reset = now.Add(time.Duration(n) * time.Second)
			}
		}
	}
	// Answers to concurrent requests arrive in any order, and each counts
	// only the requests the source had seen when it answered: the others
	// still in flight may not have reached it, so they are taken off, and
	// within one window the lowest count is the truth. An answer from an
	// earlier window says nothing about this one.
	if remaining >= 0 {
		remaining = max(remaining-g.inflight, 0)
	}
	switch {
	case !reset.IsZero() && reset.Before(g.reset):
	case !reset.IsZero() && reset.After(g.reset):
		g.reset = reset
		if remaining >= 0 {
			g.remaining = remaining
		}
	case remaining >= 0 && (g.remaining < 0 || remaining < g.remaining):
		g.remaining = remaining
	}
	if d, ok := retryAfter(h.Get("Retry-After"), now); ok {
		if u := now.Add(d); u.After(g.blockedUntil) {
			g.blockedUntil = u
		}
	} else if rateLimited {
		// No Retry-After: wait for the window reset, or a minute when the
		// source did not say (GitHub's advice for secondary limits).
		u := g.reset
		if !u.After(now) {
			u = now.Add(time.Minute)
		}
		if u.After(g.blockedUntil) {
			g.blockedUntil = u
		}
		g.remaining = 0
	}
}

func first(h http.Header, names ...string) string {
	for _, n := range names {
		if v := h.Get(n); v != "" {
			return v
		}
	}
	return ""
}

func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// Transport retries transient failures and waits out rate limits.
type Transport struct {
	Base     http.RoundTripper
	Governor *Governor
	Clock    Clock
	// MaxRetries bounds retries of transient failures per request
	// (default 6); rate-limit waits do not count against it.
	MaxRetries int
	// MaxRateLimitWaits bounds rate-limit waits per request (default 50).
	MaxRateLimitWaits int
	// OnCall is told of every request sent to the source (accounting).
	OnCall func(req *http.Request)
	// MaxWait bounds a rate-limit wait; longer ones fail the request with
	// *WaitError (0: wait as long as needed).
	MaxWait time.Duration
	// Hosts, when set, are the only hosts requests may go to: a pagination
	// link or redirect pointing elsewhere must not carry the credential.
	Hosts []string
}

type unmeteredKey struct{}

// Unmetered marks the requests made under ctx as calls the Transport's
// budget does not pay for, as GitHub's App endpoints authenticated with
// the app's JWT (minting an installation token), which count against the
// app's own budget: they neither wait for the governor nor tell it what
// their answers say of their budget. Everything else (hosts, retries,
// accounting) applies.
func Unmetered(ctx context.Context) context.Context {
	return context.WithValue(ctx, unmeteredKey{}, true)
}

// ErrOtherHost refuses a request to a host outside Transport.Hosts.
var ErrOtherHost = errors.New("request to a host other than the source's")

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	clock := t.Clock
	if clock == nil {
		clock = RealClock{}
	}
	maxRetries, maxWaits := t.MaxRetries, t.MaxRateLimitWaits
	if maxRetries == 0 {
		maxRetries = 6
	}
	if maxWaits == 0 {
		maxWaits = 50
	}
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	if len(t.Hosts) > 0 {
		ok := false
		for _, h := range t.Hosts {
			ok = ok || strings.EqualFold(h, req.URL.Host)
		}
		if !ok {
			return nil, fmt.Errorf("%w: %s", ErrOtherHost, req.URL.Host)
		}
	}
	gov := t.Governor
	if ctx.Value(unmeteredKey{}) != nil {
		gov = nil // not a call of this budget (Unmetered)
	}
	maxWait := t.MaxWait
	if ctx.Value(noWaitKey{}) != nil {
		maxWait = time.Nanosecond // a Pool trying this member: another may have budget
	}
	retries, waits := 0, 0
	for {
		if gov != nil {
			if err := gov.WaitAtMost(ctx, maxWait); err != nil {
				return nil, err
			}
		}
		r, err := rewind(req)
		if err != nil {
			if gov != nil {
				gov.Release() // let through, never sent
			}
			return nil, err
		}
		if t.OnCall != nil {
			t.OnCall(r)
		}
		resp, err := base.RoundTrip(r)
		if err != nil {
			if gov != nil {
				gov.Release()
			}
			if ctx.Err() != nil || retries >= maxRetries || !Transient(err) {
				return nil, err
			}
			retries++
			if err := clock.Sleep(ctx, Backoff(retries)); err != nil {
				return nil, err
			}
			continue
		}
		limited, body := rateLimited(resp)
		if gov != nil {
			gov.Observe(resp, limited)
		}
		if limited && gov != nil && waits < maxWaits {
			waits++
			resp.Body.Close()
			continue
		}
		if limited {
			resp.Body = io.NopCloser(bytes.NewReader(body))
			return resp, nil
		}
		switch resp.StatusCode {
		case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			if retries < maxRetries {
				retries++
				_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
				resp.Body.Close()
				if err := clock.Sleep(ctx, Backoff(retries)); err != nil {
					return nil, err
				}
				continue
			}
		}
		return resp, nil
	}
}

// rewind gives each attempt a fresh copy of the request body.
func rewind(req *http.Request) (*http.Request, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return req, nil
	}
	if req.GetBody == nil {
		return req, nil // single attempt only; callers with bodies set GetBody
	}
	b, err := req.GetBody()
	if err != nil {
		return nil, err
	}
	r := req.Clone(req.Context())
	r.Body = b
	return r, nil
}

// rateLimited recognises a rate-limit answer: 429, or 403 that says so in
// its headers or body (a plain 403 is a permission error and passes).
func rateLimited(resp *http.Response) (bool, []byte) {
	if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusForbidden {
		return false, nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if resp.StatusCode == http.StatusTooManyRequests {
		return true, body
	}
	if resp.Header.Get("Retry-After") != "" || first(resp.Header, "X-RateLimit-Remaining", "RateLimit-Remaining") == "0" {
		return true, body
	}
	return bytes.Contains(bytes.ToLower(body), []byte("rate limit")), body
}

// Transient reports whether err is worth retrying: resets, timeouts,
// truncated bodies, refused connections — not cancellations, and never a
// destination the address guard refused (netguard.ErrBlocked): the same
// address is refused again, so a retry only delays the answer.
func Transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var we *WaitError
	if errors.As(err, &we) || errors.Is(err, ErrOtherHost) || errors.Is(err, netguard.ErrBlocked) {
		return false
	}
	// Errors flattened to text on the way (gitstore scrubs secrets that
	// way) keep only their words.
	s := err.Error()
	for _, perm := range []string{netguard.ErrBlocked.Error(), "redirect to another host", "unsupported protocol scheme", "x509:", "tls:"} {
		if strings.Contains(s, perm) {
			return false
		}
	}
	return true
}

// Backoff is the wait before retry n (1-based): exponential from 200ms,
// capped at 30s, with jitter so parallel retries spread out.
func Backoff(n int) time.Duration {
	d := 200 * time.Millisecond << min(n-1, 8)
	d = min(d, 30*time.Second)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// Registry hands out one Governor per source budget (host and credential),
// so concurrent relations and imports sharing a token share its limit.
type Registry struct {
	clock Clock
	mu    sync.Mutex
	govs  map[string]*Governor
}

// NewRegistry returns an empty registry.
func NewRegistry(c Clock) *Registry { return &Registry{clock: c, govs: map[string]*Governor{}} }

// Get returns the governor for key (callers pass host + a credential
// digest, never the credential itself).
func (r *Registry) Get(key string) *Governor {
	r.mu.Lock()
	defer r.mu.Unlock()
	g, ok := r.govs[key]
	if !ok {
		g = NewGovernor(r.clock)
		r.govs[key] = g
	}
	return g
}

// Retry runs fn until it succeeds, returns an error retryable rejects, ctx
// ends or attempts are used up, sleeping Backoff between tries on clock
// (nil: the wall clock). It is the one retry loop above the transport:
// for answers HTTP called fine but the caller could not use.
func Retry(ctx context.Context, clock Clock, attempts int, retryable func(error) bool, fn func() error) error {
	if clock == nil {
		clock = RealClock{}
	}
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || attempt >= attempts || ctx.Err() != nil || !retryable(err) {
			return err
		}
		if err := clock.Sleep(ctx, Backoff(attempt)); err != nil {
			return err
		}
	}
}
