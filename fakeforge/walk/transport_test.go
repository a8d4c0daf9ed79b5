package walk

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

// FuzzRateLimitWait feeds arbitrary limit headers to the wait the
// Transport takes from them: a wait is never negative, or the walk would
// spin on a forge that keeps refusing.
func FuzzRateLimitWait(f *testing.F) {
	for _, s := range []struct {
		status                                 int
		retryAfter, prefix, remaining, resetAt string
	}{
		{429, "", "RateLimit-", "", ""}, {403, "30", "X-RateLimit-", "0", "1700000000"}, {429, "-5", "", "", ""},
		{403, "99999999999999", "X-RateLimit-", "0", "9223372036854775807"}, {200, "1", "", "", ""},
		{403, "", "X-RateLimit-", "0", "-9223372036854775808"},
	} {
		f.Add(s.status, s.retryAfter, s.prefix, s.remaining, s.resetAt)
	}
	f.Fuzz(func(t *testing.T, status int, retryAfter, prefix, remaining, resetAt string) {
		h := http.Header{}
		h.Set("Retry-After", retryAfter)
		h.Set(prefix+"Remaining", remaining)
		h.Set(prefix+"Reset", resetAt)
		wait, limited := rateLimitWait(&http.Response{StatusCode: status, Header: h})
		if wait < 0 {
			t.Fatalf("negative wait %v (limited %v) from %v", wait, limited, h)
		}
		if limited && status != http.StatusForbidden && status != http.StatusTooManyRequests {
			t.Fatalf("status %d read as a rate limit", status)
		}
		if !limited && wait != 0 {
			t.Fatalf("wait %v without a limit", wait)
		}
	})
}

func TestRateLimitWait(t *testing.T) {
	now := time.Now()
	for _, tt := range []struct {
		name    string
		status  int
		hdr     map[string]string
		limited bool
		atLeast time.Duration
	}{
		{"retry after", 429, map[string]string{"Retry-After": "7"}, true, 7 * time.Second},
		{"gitlab reset", 429, map[string]string{"RateLimit-Remaining": "0", "RateLimit-Reset": strconv.FormatInt(now.Add(time.Minute).Unix(), 10)}, true, 50 * time.Second},
		{"bare 429", 429, nil, true, 0},
		{"403 without limit headers", 403, nil, false, 0},
		{"negative retry after", 429, map[string]string{"Retry-After": "-9"}, true, 0},
		{"huge retry after", 429, map[string]string{"Retry-After": "99999999999999"}, true, 24 * time.Hour},
		{"reset far ahead", 403, map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "9223372036854775807"}, true, 24 * time.Hour},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.hdr {
				h.Set(k, v)
			}
			wait, limited := rateLimitWait(&http.Response{StatusCode: tt.status, Header: h})
			if limited != tt.limited || wait < tt.atLeast {
				t.Errorf("wait %v limited %v, want at least %v, %v", wait, limited, tt.atLeast, tt.limited)
			}
		})
	}
}
