package web

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/password"
	"github.com/ferry-import/ferry/store"
)

// Password sign-in is throttled per login, as GitLab locks an account
// after repeated failures: after maxFailures wrong passwords within
// failureWindow, that login is refused until the window has passed. The
// count lives in this process (each instance counts its own), which
// bounds guessing without a table of its own; bcrypt's cost bounds it
// further.
const (
	maxFailures   = 10
	failureWindow = 10 * time.Minute
	maxTracked    = 10000 // logins tracked before old entries are dropped
)

type failures struct {
	mu    sync.Mutex
	byKey map[string]*failureCount
}

type failureCount struct {
	n     int
	first time.Time
}

// locked reports until when login is refused (zero: it is not).
func (f *failures) locked(login string, now time.Time) time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.byKey[strings.ToLower(login)]
	if c == nil || c.n < maxFailures || !now.Before(c.first.Add(failureWindow)) {
		return time.Time{}
	}
	return c.first.Add(failureWindow)
}

func (f *failures) fail(login string, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.byKey == nil {
		f.byKey = map[string]*failureCount{}
	}
	if len(f.byKey) >= maxTracked {
		for k, c := range f.byKey {
			if !now.Before(c.first.Add(failureWindow)) {
				delete(f.byKey, k)
			}
		}
	}
	k := strings.ToLower(login)
	c := f.byKey[k]
	if c == nil || !now.Before(c.first.Add(failureWindow)) {
		c = &failureCount{first: now}
		f.byKey[k] = c
	}
	c.n++
}

func (f *failures) clear(login string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.byKey, strings.ToLower(login))
}

// errLocked refuses a login that failed too often lately.
var errLocked = ferry.Errorf(ferry.ERATELIMIT, "too many failed sign-in attempts")

// signInWithPassword checks a username or e-mail and password: the user
// exists, may sign in, and has that password. It returns the user and the
// stored hash the session is stamped with.
func (h *Handler) signInWithPassword(ctx context.Context, login, pw string) (*ferry.User, string, error) {
	now := h.store.Now()
	if !h.failed.locked(login, now).IsZero() {
		return nil, "", errLocked
	}
	var u *ferry.User
	var hash string
	err := h.store.Read(ctx, func(tx *store.Tx) error {
		var err error
		u, hash, err = tx.UserForSignIn(ctx, login)
		return err
	})
	if err != nil && ferry.ErrorCode(err) != ferry.ENOTFOUND {
		return nil, "", err
	}
	// Checked even for an unknown login (against no hash, at the same
	// cost), so that timing does not tell which logins exist.
	ok := password.Check(hash, pw)
	if err != nil || !ok || !u.CanSignIn() {
		h.failed.fail(login, now)
		return nil, "", errNoSession
	}
	h.failed.clear(login)
	return u, hash, nil
}
