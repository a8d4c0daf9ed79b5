package api

import (
	"net/http"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/store"
)

// memberSource resolves {id} for a members route: a group ("groups") or a
// project ("projects"), with the caller's role on it.
func (s *Server) memberSource(r *http.Request, tx *store.Tx, kind string) (string, int64, ferry.AccessLevel, error) {
	if kind == "groups" {
		g, role, err := s.findGroup(r, tx)
		if err != nil {
			return "", 0, 0, err
		}
		return store.MemberOfNamespace, g.ID, role, nil
	}
	p, role, err := s.FindProject(r, tx)
	if err != nil {
		return "", 0, 0, err
	}
	return store.MemberOfProject, p.ID, role, nil
}

// manageRole is the role needed to change members: Owner on a group,
// Maintainer on a project (GitLab's admin_*_member).
func manageRole(kind string) ferry.AccessLevel {
	if kind == "groups" {
		return ferry.OwnerAccess
	}
	return ferry.MaintainerAccess
}

func (s *Server) listMembers(kind string, all bool) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := s.params(r)
		if err != nil {
			return err
		}
		f := store.MemberFilter{All: all}
		f.Query, _ = p.search("query")
		if ids, ok := p.filterList("user_ids"); ok {
			for _, v := range ids {
				n, err := parseID(v)
				if err != nil {
					p.fail("user_ids", "is invalid")
					break
				}
				f.UserIDs = append(f.UserIDs, n)
			}
		}
		pg := page(p)
		if err := p.err(); err != nil {
			return err
		}
		var list []*ferry.Member
		var total int
		err = s.store.Read(r.Context(), func(tx *store.Tx) error {
			var err error
			if f.Kind, f.SourceID, _, err = s.memberSource(r, tx, kind); err != nil {
				return err
			}
			list, total, err = tx.ListMembers(r.Context(), f, pg)
			return err
		})
		if err != nil {
			return err
		}
		writePage(s, w, r, pg, total, list, func(m *ferry.Member) memberEntity { return s.renderMember(r, m) })
		return nil
	}
}

func (s *Server) getMember(kind string, all bool) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		uid, ok := pathID(r, "user_id")
		if !ok {
			return notFound("Member")
		}
		var m *ferry.Member
		err := s.store.Read(r.Context(), func(tx *store.Tx) error {
			k, id, _, err := s.memberSource(r, tx, kind)
			if err != nil {
				return err
			}
			list, _, err := tx.ListMembers(r.Context(), store.MemberFilter{Kind: k, SourceID: id, All: all, UserIDs: []int64{uid}}, store.Page{Page: 1, PerPage: 1})
			if err != nil {
				return err
			}
			if len(list) == 0 {
				return notFound("Member")
			}
			m = list[0]
			return nil
		})
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, s.renderMember(r, m))
		return nil
	}
}

// memberChange reads and checks access_level and expires_at, and that the
// caller may grant that role.
func memberChange(p *params, m *ferry.Member) {
	l := p.requireInt("access_level")
	if p.err() == nil && !ferry.ValidMemberAccess(ferry.AccessLevel(l)) {
		p.fail("access_level", "does not have a valid value")
	}
	m.AccessLevel = ferry.AccessLevel(l)
	m.ExpiresAt, _ = p.date("expires_at")
}

func (s *Server) addMember(kind string) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		me, err := requireUser(r)
		if err != nil {
			return err
		}
		p, err := s.params(r)
		if err != nil {
			return err
		}
		m := &ferry.Member{CreatedByID: &me.ID}
		uid, hasID := p.optInt("user_id")
		username, hasName := p.str("username")
		if !hasID && !hasName && len(p.errs) == 0 {
			p.errs = append(p.errs, "user_id, username are missing, exactly one parameter must be provided")
		}
		memberChange(p, m)
		if err := p.err(); err != nil {
			return err
		}
		err = s.store.Write(r.Context(), func(tx *store.Tx) error {
			k, id, role, err := s.memberSource(r, tx, kind)
			if err != nil {
				return err
			}
			if role < manageRole(kind) || m.AccessLevel > role {
				return errForbidden
			}
			var u *ferry.User
			if hasID {
				u, err = tx.UserByID(r.Context(), uid)
			} else {
				u, err = tx.UserByUsername(r.Context(), username)
			}
			if err != nil {
				return err
			}
			m.SourceKind, m.SourceID, m.UserID, m.User = k, id, u.ID, u
			return tx.AddMember(r.Context(), m)
		})
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, s.renderMember(r, m))
		return nil
	}
}

func (s *Server) updateMember(kind string) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if _, err := requireUser(r); err != nil {
			return err
		}
		uid, ok := pathID(r, "user_id")
		if !ok {
			return notFound("Member")
		}
		p, err := s.params(r)
		if err != nil {
			return err
		}
		change := &ferry.Member{}
		memberChange(p, change)
		if err := p.err(); err != nil {
			return err
		}
		var m *ferry.Member
		err = s.store.Write(r.Context(), func(tx *store.Tx) error {
			k, id, role, err := s.memberSource(r, tx, kind)
			if err != nil {
				return err
			}
			if role < manageRole(kind) || change.AccessLevel > role {
				return errForbidden
			}
			if m, err = tx.Member(r.Context(), k, id, uid); err != nil {
				return err
			}
			if err := s.keepLastOwner(r, tx, m, change.AccessLevel); err != nil {
				return err
			}
			m.AccessLevel, m.ExpiresAt = change.AccessLevel, change.ExpiresAt
			return tx.UpdateMember(r.Context(), m)
		})
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, s.renderMember(r, m))
		return nil
	}
}

// keepLastOwner refuses to demote or remove a group's last direct owner,
// which would leave the group unmanageable.
func (s *Server) keepLastOwner(r *http.Request, tx *store.Tx, m *ferry.Member, newLevel ferry.AccessLevel) error {
	if m.SourceKind != store.MemberOfNamespace || m.AccessLevel != ferry.OwnerAccess || newLevel == ferry.OwnerAccess {
		return nil
	}
	n, err := tx.CountOwners(r.Context(), m.SourceID)
	if err != nil {
		return err
	}
	if n <= 1 {
		return ferry.Errorf(ferry.EFORBIDDEN, "403 Forbidden - A group must have at least one owner")
	}
	return nil
}

func (s *Server) removeMember(kind string) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		me, err := requireUser(r)
		if err != nil {
			return err
		}
		uid, ok := pathID(r, "user_id")
		if !ok {
			return notFound("Member")
		}
		err = s.store.Write(r.Context(), func(tx *store.Tx) error {
			k, id, role, err := s.memberSource(r, tx, kind)
			if err != nil {
				return err
			}
			// Anyone may leave; removing others needs the managing role.
			if uid != me.ID && role < manageRole(kind) {
				return errForbidden
			}
			m, err := tx.Member(r.Context(), k, id, uid)
			if err != nil {
				return err
			}
			if m.AccessLevel > role && uid != me.ID {
				return errForbidden
			}
			if err := s.keepLastOwner(r, tx, m, ferry.NoAccess); err != nil {
				return err
			}
			return tx.RemoveMember(r.Context(), k, id, uid)
		})
		if err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}
