// Package walk fetches everything an importer would from a source forge,
// with the real clients (go-github for GitHub, client-go for GitLab, plain
// HTTP for Bitbucket Server), and counts what it found. Tests use it to prove
// fakeforge speaks each API; ferrybench's source-only mode uses it as a
// stand-in importer.
//
// It knows only the public APIs it walks, not fakeforge's internals nor ferry.
package walk

import (
	"bytes"
	"context"
	"encoding/json"

	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Transport retries what a careful importer retries — transport errors,
// 5xx, truncated or malformed JSON bodies — and waits out rate limits
// (Retry-After, or X-RateLimit-Reset with nothing remaining), so that a walk
// over a faulty forge still completes.
type Transport struct {
	Base http.RoundTripper
	// Attempts per request (default 8).
	Attempts int
	// MaxWait caps one rate-limit wait (default 2 minutes).
	MaxWait time.Duration
	// Sleep waits; nil sleeps for real, honouring the request context.
	Sleep func(ctx context.Context, d time.Duration) error
}

func (t *Transport) sleep(ctx context.Context, d time.Duration) error {
	if t.Sleep != nil {
		return t.Sleep(ctx, d)
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// RoundTrip implements http.RoundTripper. Only bodiless requests are
// retried, since the walker only reads.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	attempts := t.Attempts
	if attempts == 0 {
		attempts = 8
	}
	maxWait := t.MaxWait
	if maxWait == 0 {
		maxWait = 2 * time.Minute
	}
	var lastErr error
	for try := 0; try < attempts; try++ {
		if try > 0 {
			if err := t.sleep(req.Context(), time.Duration(try)*20*time.Millisecond); err != nil {
				return nil, err
			}
		}
		resp, err := base.RoundTrip(req.Clone(req.Context()))
		if err != nil {
			lastErr = fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
			continue
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			lastErr = fmt.Errorf("read %s: %w", req.URL.Path, err)
			continue
		}
		if wait, limited := rateLimitWait(resp); limited {
			if wait > maxWait {
				return nil, fmt.Errorf("%s: rate limited for %s, more than %s", req.URL.Path, wait, maxWait)
			}
			if err := t.sleep(req.Context(), wait); err != nil {
				return nil, err
			}
			try-- // waiting out a limit is not a failed attempt
			lastErr = fmt.Errorf("%s: rate limited", req.URL.Path)
			continue
		}
		if resp.StatusCode >= 500 {
			lastErr = fmt.Errorf("%s: %s", req.URL.Path, resp.Status)
			continue
		}
		if resp.StatusCode == http.StatusOK && strings.Contains(resp.Header.Get("Content-Type"), "json") && !json.Valid(body) {
			lastErr = fmt.Errorf("%s: malformed JSON body", req.URL.Path)
			continue
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		return resp, nil
	}
	return nil, fmt.Errorf("gave up after %d attempts: %w", attempts, lastErr)
}

// longWait stands for any wait past a day; the Transport refuses waits
// beyond MaxWait anyway, and capping keeps the arithmetic from overflowing.
const longWait = 24 * time.Hour

// rateLimitWait reads how long a refused request says to wait. Header
// values come from the server, so they are clamped to [0, longWait]: a
// negative or overflowing wait would make the Transport retry at once,
// forever.
func rateLimitWait(resp *http.Response) (time.Duration, bool) {
	if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusTooManyRequests {
		return 0, false
	}
	if s := resp.Header.Get("Retry-After"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return time.Duration(min(max(n, 0), int64(longWait/time.Second))) * time.Second, true
		}
	}
	for _, prefix := range []string{"X-RateLimit-", "RateLimit-"} {
		if resp.Header.Get(prefix+"Remaining") == "0" {
			if reset, err := strconv.ParseInt(resp.Header.Get(prefix+"Reset"), 10, 64); err == nil {
				// In whole seconds: time.Unix itself overflows on huge values.
				wait := time.Duration(0)
				if now := time.Now().Unix(); reset > now {
					wait = time.Duration(min(reset-now, int64(longWait/time.Second))) * time.Second
				}
				return wait + time.Second, true
			}
		}
	}
	return 0, resp.StatusCode == http.StatusTooManyRequests
}
