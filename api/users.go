package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/password"
	"github.com/ferry-import/ferry/store"
)

func (s *Server) getVersion(w http.ResponseWriter, r *http.Request) error {
	if _, err := requireUser(r); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"version": s.cfg.Version, "revision": s.cfg.Revision})
	return nil
}

func (s *Server) getMetadata(w http.ResponseWriter, r *http.Request) error {
	if _, err := requireUser(r); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"version": s.cfg.Version, "revision": s.cfg.Revision, "enterprise": false,
		"kas": map[string]any{"enabled": false, "externalUrl": nil, "externalK8sProxyUrl": nil, "version": nil},
	})
	return nil
}

func (s *Server) getCurrentUser(w http.ResponseWriter, r *http.Request) error {
	u, err := requireUser(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.renderUser(r, u))
	return nil
}

// pathID parses a numeric path parameter; anything else is 404, as GitLab's
// routes only match digits there.
func pathID(r *http.Request, name string) (int64, bool) {
	n, err := strconv.ParseInt(chi.URLParam(r, name), 10, 64)
	return n, err == nil && n > 0
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) error {
	id, ok := pathID(r, "user_id")
	if !ok {
		return notFound("User")
	}
	var u *ferry.User
	if err := s.store.Read(r.Context(), func(tx *store.Tx) (err error) { u, err = tx.UserByID(r.Context(), id); return }); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.renderUser(r, u))
	return nil
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	p, err := s.params(r)
	if err != nil {
		return err
	}
	f := store.UserFilter{}
	f.Search, _ = p.search("search")
	f.Username, _ = p.str("username")
	f.Active, _ = p.optBool("active")
	f.Blocked, _ = p.optBool("blocked")
	if humans, ok := p.optBool("humans"); ok {
		f.Humans = humans
	}
	f.OrderBy = p.orderBy("id", "name", "username", "created_at", "updated_at")
	f.Sort = p.sortDir()
	f.CreatedAfter, _ = p.dateTime("created_after")
	f.CreatedBefore, _ = p.dateTime("created_before")
	pg := page(p)
	if err := p.err(); err != nil {
		return err
	}
	var users []*ferry.User
	var total int
	if err := s.store.Read(r.Context(), func(tx *store.Tx) (err error) { users, total, err = tx.ListUsers(r.Context(), f, pg); return }); err != nil {
		return err
	}
	writePage(s, w, r, pg, total, users, func(u *ferry.User) userFull { return s.renderUser(r, u) })
	return nil
}

// userParams reads the attributes POST and PUT /users share.
func userParams(p *params, u *ferry.User) {
	if v, ok := p.str("username"); ok {
		u.Username = v
	}
	if v, ok := p.str("name"); ok {
		u.Name = v
	}
	if v, ok := p.str("email"); ok {
		u.Email = v
	}
	if v, ok := p.optBool("admin"); ok {
		u.IsAdmin = v
	}
}

// validateUser checks the attributes' format (Grape-style "is invalid")
// and then their lengths (GitLab's model messages, 400 {"message":{…}}).
func validateUser(p *params, u *ferry.User) error {
	if u.Username != "" && len(u.Username) <= ferry.MaxPathLength && !ferry.ValidUsername(u.Username) {
		p.fail("username", "is invalid")
	}
	if u.Email != "" && (!strings.Contains(u.Email, "@") || strings.ContainsAny(u.Email, " \t\r\n")) {
		p.fail("email", "is invalid")
	}
	if strings.ContainsFunc(u.Name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		p.fail("name", "is invalid")
	}
	if err := p.err(); err != nil {
		return err
	}
	return ferry.ValidateUserLengths(u)
}

// userConflict turns a store conflict into GitLab's 409 texts for users.
func userConflict(err error) error {
	if ferry.ErrorCode(err) != ferry.ECONFLICT {
		return err
	}
	if e, ok := err.(*ferry.Error); ok && len(e.Fields["email"]) > 0 {
		return ferry.Errorf(ferry.ECONFLICT, "Email has already been taken")
	}
	return ferry.Errorf(ferry.ECONFLICT, "Username has already been taken")
}

// passwordParam reads and hashes a new password (GitLab's length rule,
// 400 {"message":{"password":[…]}}); hash is "" when none was given. The
// hashing runs before any transaction: bcrypt takes tens of milliseconds.
func passwordParam(p *params) (hash string, err error) {
	pw, ok := p.str("password")
	if !ok {
		return "", nil
	}
	if err := password.Validate(pw); err != nil {
		return "", ferry.FieldError(ferry.EBADREQUEST, "password", err.Error())
	}
	return password.Hash(pw)
}

// createUser is POST /users. A password lets the user sign in to the web
// UI; reset_password and force_random_password leave the user without
// one (ferry sends no mail), to sign in with a personal access token.
func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	if _, err := requireAdmin(r); err != nil {
		return err
	}
	p, err := s.params(r)
	if err != nil {
		return err
	}
	u := &ferry.User{}
	p.requireStr("email")
	p.requireStr("name")
	p.requireStr("username")
	userParams(p, u)
	if !p.has("password") && !p.has("reset_password") && !p.has("force_random_password") {
		p.errs = append(p.errs, "password, reset_password, force_random_password are missing, at least one parameter must be provided")
	}
	if err := p.err(); err != nil {
		return err
	}
	if err := validateUser(p, u); err != nil {
		return err
	}
	hash, err := passwordParam(p)
	if err != nil {
		return err
	}
	if err := s.store.Write(r.Context(), func(tx *store.Tx) error {
		if err := tx.CreateUser(r.Context(), u); err != nil {
			return err
		}
		if hash == "" {
			return nil
		}
		return tx.SetUserPassword(r.Context(), u.ID, hash)
	}); err != nil {
		return userConflict(err)
	}
	writeJSON(w, http.StatusCreated, s.renderUser(r, u))
	return nil
}

func (s *Server) updateUser(w http.ResponseWriter, r *http.Request) error {
	if _, err := requireAdmin(r); err != nil {
		return err
	}
	id, ok := pathID(r, "user_id")
	if !ok {
		return notFound("User")
	}
	p, err := s.params(r)
	if err != nil {
		return err
	}
	hash, err := passwordParam(p)
	if err != nil {
		return err
	}
	var u *ferry.User
	err = s.store.Write(r.Context(), func(tx *store.Tx) error {
		if u, err = tx.UserByID(r.Context(), id); err != nil {
			return err
		}
		if u.Placeholder {
			return ferry.Errorf(ferry.EFORBIDDEN, "403 Forbidden - placeholder users cannot be edited")
		}
		userParams(p, u)
		for _, k := range []string{"username", "name", "email"} {
			if v, ok := p.str(k); ok && strings.TrimSpace(v) == "" {
				p.fail(k, "is empty")
			}
		}
		if err := validateUser(p, u); err != nil {
			return err
		}
		if err := tx.UpdateUser(r.Context(), u); err != nil || hash == "" {
			return err
		}
		return tx.SetUserPassword(r.Context(), u.ID, hash)
	})
	if err != nil {
		return userConflict(err)
	}
	writeJSON(w, http.StatusOK, s.renderUser(r, u))
	return nil
}
