package api

import (
	"net/http"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/store"
)

// createUserToken is POST /users/:id/personal_access_tokens (admin).
func (s *Server) createUserToken(w http.ResponseWriter, r *http.Request) error {
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
	t := &ferry.PersonalAccessToken{UserID: id}
	t.Name = p.requireStr("name")
	scopes, ok := p.list("scopes")
	if !ok {
		p.fail("scopes", "is missing")
	} else if len(scopes) == 0 {
		p.fail("scopes", "is empty")
	}
	for _, sc := range scopes {
		if !ferry.ValidScope(sc) {
			p.fail("scopes", "does not have a valid value")
			break
		}
	}
	t.Scopes = scopes
	t.ExpiresAt, _ = p.date("expires_at")
	if err := p.err(); err != nil {
		return err
	}
	err = s.store.Write(r.Context(), func(tx *store.Tx) error {
		u, err := tx.UserByID(r.Context(), id)
		if err != nil {
			return err
		}
		return tx.CreateValidToken(r.Context(), t, u)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, renderToken(t, true))
	return nil
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	me, err := requireUser(r)
	if err != nil {
		return err
	}
	p, err := s.params(r)
	if err != nil {
		return err
	}
	f := store.TokenFilter{UserID: me.ID}
	if uid, ok := p.optInt("user_id"); ok {
		if !me.IsAdmin && uid != me.ID {
			return errUnauthorized
		}
		f.UserID = uid
	} else if me.IsAdmin {
		f.UserID = 0
	}
	f.State, _ = p.enum("state", "active", "inactive")
	if v, ok := p.optBool("revoked"); ok {
		f.Revoked = &v
	}
	f.CreatedAfter, _ = p.dateTime("created_after")
	f.CreatedBefore, _ = p.dateTime("created_before")
	f.LastUsedAfter, _ = p.dateTime("last_used_after")
	f.LastUsedBefore, _ = p.dateTime("last_used_before")
	pg := page(p)
	if err := p.err(); err != nil {
		return err
	}
	var toks []*ferry.PersonalAccessToken
	var total int
	err = s.store.Read(r.Context(), func(tx *store.Tx) (err error) {
		f.Now = tx.Now()
		toks, total, err = tx.ListTokens(r.Context(), f, pg)
		return err
	})
	if err != nil {
		return err
	}
	now := s.store.Now()
	writePage(s, w, r, pg, total, toks, func(t *ferry.PersonalAccessToken) tokenEntity { return renderToken(t, t.Active(now)) })
	return nil
}

func (s *Server) getSelfToken(w http.ResponseWriter, r *http.Request) error {
	c := caller(r)
	if c == nil {
		return errUnauthorized
	}
	writeJSON(w, http.StatusOK, renderToken(c.token, true))
	return nil
}

func (s *Server) revokeSelfToken(w http.ResponseWriter, r *http.Request) error {
	c := caller(r)
	if c == nil {
		return errUnauthorized
	}
	if err := s.store.Write(r.Context(), func(tx *store.Tx) error { return tx.RevokeToken(r.Context(), c.token.ID) }); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// visibleToken loads a token the caller may see: their own, or any for an
// admin. Others' tokens are 404 so ids reveal nothing.
func (s *Server) visibleToken(r *http.Request) (*ferry.PersonalAccessToken, error) {
	me, err := requireUser(r)
	if err != nil {
		return nil, err
	}
	id, ok := pathID(r, "token_id")
	if !ok {
		return nil, errNotFound
	}
	var t *ferry.PersonalAccessToken
	if err := s.store.Read(r.Context(), func(tx *store.Tx) (err error) { t, err = tx.TokenByID(r.Context(), id); return }); err != nil {
		return nil, err
	}
	if !me.IsAdmin && t.UserID != me.ID {
		return nil, errNotFound
	}
	return t, nil
}

func (s *Server) getToken(w http.ResponseWriter, r *http.Request) error {
	t, err := s.visibleToken(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, renderToken(t, t.Active(s.store.Now())))
	return nil
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	t, err := s.visibleToken(r)
	if err != nil {
		return err
	}
	if err := s.store.Write(r.Context(), func(tx *store.Tx) error { return tx.RevokeToken(r.Context(), t.ID) }); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
