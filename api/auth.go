package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/store"
)

// principal is the authenticated caller. With Sudo, user is the user acted
// as and token the administrator's.
type principal struct {
	user  *ferry.User
	token *ferry.PersonalAccessToken
}

// tokenFrom finds the token the way GitLab does: PRIVATE-TOKEN header,
// Authorization: Bearer, then the private_token or access_token query.
func tokenFrom(r *http.Request) string {
	if t := r.Header.Get("PRIVATE-TOKEN"); t != "" {
		return t
	}
	if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		return strings.TrimSpace(a[7:])
	}
	q := r.URL.Query()
	if t := q.Get("private_token"); t != "" {
		return t
	}
	return q.Get("access_token")
}

var (
	errTokenRevoked = &httpError{status: http.StatusUnauthorized, body: map[string]string{
		"error": "invalid_token", "error_description": "Token was revoked. You have to re-authorize from the user."}}
	errTokenExpired = &httpError{status: http.StatusUnauthorized, body: map[string]string{
		"error": "invalid_token", "error_description": "Token has expired."}}
)

func errInsufficientScope(scope string) error {
	return &httpError{status: http.StatusForbidden, body: map[string]string{
		"error":             "insufficient_scope",
		"error_description": "The request requires higher privileges than provided by the access token.",
		"scope":             scope,
	}}
}

// Authenticate resolves a token secret to its user, checking revocation,
// expiry and the user's state. It is shared with git-over-HTTP.
func (s *Server) Authenticate(ctx context.Context, secret string) (*ferry.User, *ferry.PersonalAccessToken, error) {
	var p principal
	err := s.store.Read(ctx, func(tx *store.Tx) error {
		t, err := tx.TokenBySecret(ctx, secret)
		if err != nil {
			return err
		}
		if t.Revoked {
			return errTokenRevoked
		}
		if !t.Active(tx.Now()) {
			return errTokenExpired
		}
		u, err := tx.UserByID(ctx, t.UserID)
		if err != nil {
			return errUnauthorized
		}
		if !u.CanSignIn() {
			return errUnauthorized
		}
		p = principal{user: u, token: t}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if err := s.store.Write(ctx, func(tx *store.Tx) error { return tx.TouchToken(ctx, p.token) }); err != nil {
		s.log.WarnContext(ctx, "record token use", "error", err)
	}
	return p.user, p.token, nil
}

// authenticate attaches the caller, if any. A token that is given but bad
// fails the request even on public endpoints, as GitLab does. Scopes:
// read_api allows GET/HEAD only; read_user only the user endpoints.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret := tokenFrom(r)
		if secret == "" {
			if sudoIdentifier(r) != "" {
				// GitLab: sudo needs an authenticated administrator.
				s.writeError(w, r, errUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		u, t, err := s.Authenticate(r.Context(), secret)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		read := r.Method == http.MethodGet || r.Method == http.MethodHead
		switch {
		case t.HasScope(ferry.ScopeAPI):
		case t.HasScope(ferry.ScopeReadAPI) && read:
		case t.HasScope(ferry.ScopeReadUser) && read && isUserRoute(r.URL.Path):
		default:
			s.writeError(w, r, errInsufficientScope(ferry.ScopeAPI))
			return
		}
		p := &principal{user: u, token: t}
		if id := sudoIdentifier(r); id != "" {
			if p, err = s.sudo(r, p, id); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		ctx := context.WithValue(r.Context(), keyPrincipal, p)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// sudoIdentifier is the user a request asks to act as: the sudo parameter,
// else the Sudo header (GitLab reads them in that order); "" for none.
func sudoIdentifier(r *http.Request) string {
	if q := queryOf(r.Context()); q != nil {
		if v := q.values.Get("sudo"); v != "" {
			q.read["sudo"] = true // the next page acts as the same user
			return v
		}
	}
	return strings.TrimSpace(r.Header.Get("Sudo"))
}

// sudo makes an administrator's request act as the user id names (a user id
// or a username), as GitLab's API does: the caller must be an administrator,
// the token must carry the sudo scope, and the user must exist. The token
// stays the administrator's (GET /personal_access_tokens/self shows it).
func (s *Server) sudo(r *http.Request, p *principal, id string) (*principal, error) {
	if !p.user.IsAdmin {
		return nil, ferry.Errorf(ferry.EFORBIDDEN, "403 Forbidden - Must be admin to use sudo")
	}
	if !p.token.HasScope(ferry.ScopeSudo) {
		return nil, errInsufficientScope(ferry.ScopeSudo)
	}
	var u *ferry.User
	err := s.store.Read(r.Context(), func(tx *store.Tx) (err error) {
		if n, perr := strconv.ParseInt(id, 10, 64); perr == nil {
			u, err = tx.UserByID(r.Context(), n)
		} else {
			u, err = tx.UserByUsername(r.Context(), id)
		}
		return err
	})
	var fe *ferry.Error
	if errors.As(err, &fe) && fe.Code == ferry.ENOTFOUND {
		return nil, ferry.Errorf(ferry.ENOTFOUND, "404 User with ID or username '%s' Not Found", id)
	}
	if err != nil {
		return nil, err
	}
	if !u.CanSignIn() {
		// Blocked users and import placeholders cannot sign in; nobody
		// acts as them (GitLab's impersonation refuses them likewise).
		return nil, ferry.Errorf(ferry.EFORBIDDEN, "403 Forbidden - You cannot impersonate a user who cannot log in")
	}
	s.log.InfoContext(r.Context(), "sudo", "correlation_id", requestID(r.Context()), "admin", p.user.Username, "as", u.Username)
	return &principal{user: u, token: p.token}, nil
}

func isUserRoute(path string) bool {
	p := strings.TrimPrefix(path, "/api/v4")
	return p == "/user" || p == "/users" || strings.HasPrefix(p, "/users/") || strings.HasPrefix(p, "/user/")
}

// caller returns the authenticated principal or nil.
func caller(r *http.Request) *principal {
	p, _ := r.Context().Value(keyPrincipal).(*principal)
	return p
}

// currentUser returns the authenticated user or nil.
func currentUser(r *http.Request) *ferry.User {
	if p := caller(r); p != nil {
		return p.user
	}
	return nil
}

// CurrentUser exposes the caller to mounted routes.
func CurrentUser(r *http.Request) *ferry.User { return currentUser(r) }

// requireUser returns the caller or 401.
func requireUser(r *http.Request) (*ferry.User, error) {
	if u := currentUser(r); u != nil {
		return u, nil
	}
	return nil, errUnauthorized
}

// requireAdmin returns an admin caller, 401 for anonymous, 403 otherwise.
func requireAdmin(r *http.Request) (*ferry.User, error) {
	u, err := requireUser(r)
	if err != nil {
		return nil, err
	}
	if !u.IsAdmin {
		return nil, errForbidden
	}
	return u, nil
}

// viewer describes the caller for store visibility filters.
func viewer(r *http.Request) store.Viewer {
	if u := currentUser(r); u != nil {
		return store.Viewer{UserID: u.ID, Admin: u.IsAdmin}
	}
	return store.Viewer{}
}
