package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/store"
)

const (
	sessionCookie = "_ferry_session"
	// loginCSRFCookie carries a random nonce for the sign-in form, which
	// has no session yet to bind its CSRF token to.
	loginCSRFCookie = "_ferry_signin"
	csrfField       = "authenticity_token"
	// sessionTTL bounds a session; the token's own expiry ends it sooner.
	sessionTTL = 12 * time.Hour
)

// session is a signed-in browser: which user, through which personal
// access token (nil when signed in with a password), until when. The
// cookie holds these, signed; never the token's secret nor anything of
// the password but a stamp of its hash, so that changing the password
// ends the sessions it opened.
type session struct {
	payload string // what the MAC covers; also what CSRF tokens derive from
	user    *ferry.User
	token   *ferry.PersonalAccessToken
	expires time.Time
}

// canWrite reports whether the session allows changes (cancel, start): a
// password session does, as GitLab's web sessions do; a token's needs the
// api scope, as the API asks for a POST.
func (s *session) canWrite() bool { return s.token == nil || s.token.HasScope(ferry.ScopeAPI) }

// passwordStamp stands for a password hash in a session cookie.
func (h *Handler) passwordStamp(hash string) string { return "p" + h.mac("password", hash)[:22] }

func (h *Handler) mac(parts ...string) string {
	m := hmac.New(sha256.New, h.key)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func nonce() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b)
}

// newSessionCookie makes the cookie of a session for token.
func (h *Handler) newSessionCookie(r *http.Request, t *ferry.PersonalAccessToken, now time.Time) *http.Cookie {
	exp := now.Add(sessionTTL)
	if t.ExpiresAt != nil && t.ExpiresAt.Before(exp) {
		exp = *t.ExpiresAt
	}
	return h.sessionCookie(r, t.UserID, strconv.FormatInt(t.ID, 10), exp)
}

// newPasswordSessionCookie makes the cookie of a session opened with the
// password whose hash is given.
func (h *Handler) newPasswordSessionCookie(r *http.Request, userID int64, hash string, now time.Time) *http.Cookie {
	return h.sessionCookie(r, userID, h.passwordStamp(hash), now.Add(sessionTTL))
}

// sessionCookie signs "v1.<user>.<token id | password stamp>.<expiry>.<nonce>".
func (h *Handler) sessionCookie(r *http.Request, userID int64, via string, exp time.Time) *http.Cookie {
	payload := fmt.Sprintf("v1.%d.%s.%d.%s", userID, via, exp.Unix(), nonce())
	return &http.Cookie{Name: sessionCookie, Value: payload + "." + h.mac("session", payload), Path: "/", Expires: exp,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil}
}

// session verifies the request's session cookie and that its token is
// still good (not revoked, not expired, its user may sign in); nil when
// there is no valid session.
func (h *Handler) session(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	i := strings.LastIndexByte(c.Value, '.')
	if i < 0 {
		return nil
	}
	payload, sig := c.Value[:i], c.Value[i+1:]
	if !hmac.Equal([]byte(sig), []byte(h.mac("session", payload))) {
		return nil
	}
	f := strings.Split(payload, ".")
	if len(f) != 5 || f[0] != "v1" {
		return nil
	}
	uid, err1 := strconv.ParseInt(f[1], 10, 64)
	exp, err3 := strconv.ParseInt(f[3], 10, 64)
	byPassword := strings.HasPrefix(f[2], "p")
	tid, err2 := int64(0), error(nil)
	if !byPassword {
		tid, err2 = strconv.ParseInt(f[2], 10, 64)
	}
	if err1 != nil || err2 != nil || err3 != nil {
		return nil
	}
	s := &session{payload: payload, expires: time.Unix(exp, 0).UTC()}
	err = h.store.Read(r.Context(), func(tx *store.Tx) error {
		now := tx.Now()
		if !now.Before(s.expires) {
			return errNoSession
		}
		if byPassword {
			hash, err := tx.PasswordHash(r.Context(), uid)
			if err != nil {
				return err
			}
			if hash == "" || !hmac.Equal([]byte(h.passwordStamp(hash)), []byte(f[2])) {
				return errNoSession // the password changed or was removed
			}
		} else {
			t, err := tx.TokenByID(r.Context(), tid)
			if err != nil {
				return err
			}
			if t.UserID != uid || !t.Active(now) {
				return errNoSession
			}
			s.token = t
		}
		u, err := tx.UserByID(r.Context(), uid)
		if err != nil {
			return err
		}
		if !u.CanSignIn() {
			return errNoSession
		}
		s.user = u
		return nil
	})
	if err != nil {
		if ferry.ErrorCode(err) == ferry.EINTERNAL && err != errNoSession {
			h.log.WarnContext(r.Context(), "web session check", "error", err)
		}
		return nil
	}
	return s
}

var errNoSession = ferry.Errorf(ferry.EUNAUTHORIZED, "no session")

// signInWith checks a personal access token as the API does (known, not
// revoked, not expired, its user may sign in, a scope that reads the API).
func (h *Handler) signInWith(ctx context.Context, secret string) (*ferry.PersonalAccessToken, error) {
	var tok *ferry.PersonalAccessToken
	err := h.store.Read(ctx, func(tx *store.Tx) error {
		t, err := tx.TokenBySecret(ctx, secret)
		if err != nil {
			return err
		}
		if !t.Active(tx.Now()) || !(t.HasScope(ferry.ScopeAPI) || t.HasScope(ferry.ScopeReadAPI)) {
			return errNoSession
		}
		u, err := tx.UserByID(ctx, t.UserID)
		if err != nil || !u.CanSignIn() {
			return errNoSession
		}
		tok = t
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := h.store.Write(ctx, func(tx *store.Tx) error { return tx.TouchToken(ctx, tok) }); err != nil {
		h.log.WarnContext(ctx, "record token use", "error", err)
	}
	return tok, nil
}

// csrfToken is the hidden field every form carries: bound to the session,
// or before sign-in to the sign-in nonce cookie (set here if missing).
func (h *Handler) csrfToken(w http.ResponseWriter, r *http.Request, s *session) string {
	if s != nil {
		return h.mac("csrf", s.payload)
	}
	n := ""
	if c, err := r.Cookie(loginCSRFCookie); err == nil && len(c.Value) == 32 {
		n = c.Value
	} else {
		n = nonce()
		http.SetCookie(w, &http.Cookie{Name: loginCSRFCookie, Value: n, Path: "/users/sign_in", HttpOnly: true,
			SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
	}
	return h.mac("signin-csrf", n)
}

// formPost begins every signed-in form's POST: the session (else the
// browser is sent to sign in), a body bounded to limit bytes, and the CSRF
// check (else 403). nil when the response is already written.
func (h *Handler) formPost(w http.ResponseWriter, r *http.Request, limit int64) *session {
	s := h.signedIn(w, r)
	if s == nil {
		return nil
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if !h.checkCSRF(r, s) {
		h.forbidden(w, r, s)
		return nil
	}
	return s
}

// checkCSRF reports whether a POST carries the right token for s (or for
// the sign-in nonce when s is nil).
func (h *Handler) checkCSRF(r *http.Request, s *session) bool {
	got := r.PostFormValue(csrfField)
	var want string
	if s != nil {
		want = h.mac("csrf", s.payload)
	} else {
		c, err := r.Cookie(loginCSRFCookie)
		if err != nil || c.Value == "" {
			return false
		}
		want = h.mac("signin-csrf", c.Value)
	}
	return got != "" && hmac.Equal([]byte(got), []byte(want))
}
