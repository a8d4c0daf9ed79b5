package api

import (
	"net/http"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/store"
)

// Placeholder reassignment, ferry's JSON form of GitLab's
// /groups/:id/placeholder_reassignments (which exchanges CSV files):
//
//	GET  /groups/:id/placeholder_reassignments[?status=pending_reassignment|completed]
//	     lists the source users of the top-level group: their source identity,
//	     placeholder user, the user their contributions show as, and status.
//	POST /groups/:id/placeholder_reassignments
//	     {"source_user_id": 7} or {"source_user_identifier": "1001", "source_hostname": "github.com"},
//	     with {"reassign_to_user_id": 42} or {"reassign_to_username": "alice"};
//	     reassigning to the placeholder's own id undoes a reassignment.
//
// Both need the Owner role on the group (or an admin). A reassignment takes
// effect at once on every imported issue, merge request, note, approval,
// emoji and release: content names the source user, reads resolve it.

type sourceUserEntity struct {
	ID                   int64      `json:"id"`
	SourceUserIdentifier string     `json:"source_user_identifier"`
	SourceUsername       string     `json:"source_username"`
	SourceName           string     `json:"source_name"`
	SourceHostname       string     `json:"source_hostname"`
	ImportType           string     `json:"import_type"`
	Status               string     `json:"status"`
	PlaceholderUser      *userBasic `json:"placeholder_user"`
	ReassignToUser       *userBasic `json:"reassign_to_user"`
	CreatedAt            Time       `json:"created_at"`
	UpdatedAt            Time       `json:"updated_at"`
}

func (s *Server) renderSourceUser(r *http.Request, su *store.SourceUser) sourceUserEntity {
	out := sourceUserEntity{ID: su.ID, SourceUserIdentifier: su.SourceUserID, SourceUsername: su.SourceUsername, SourceName: su.SourceName,
		SourceHostname: su.SourceHost, ImportType: su.SourceType, Status: su.Status, PlaceholderUser: s.userOrNil(r, su.Placeholder),
		CreatedAt: Time(su.CreatedAt), UpdatedAt: Time(su.UpdatedAt)}
	if su.Mapped != nil && (su.Placeholder == nil || su.Mapped.ID != su.Placeholder.ID) {
		out.ReassignToUser = s.userOrNil(r, su.Mapped)
	}
	return out
}

// ownedGroup finds {id} and requires the caller to own it.
func (s *Server) ownedGroup(r *http.Request, tx *store.Tx) (*ferry.Namespace, error) {
	if _, err := requireUser(r); err != nil {
		return nil, err
	}
	g, role, err := s.findGroup(r, tx)
	if err != nil {
		return nil, err
	}
	if role < ferry.OwnerAccess {
		return nil, errForbidden
	}
	return g, nil
}

func (s *Server) listPlaceholders(w http.ResponseWriter, r *http.Request) error {
	p, err := s.params(r)
	if err != nil {
		return err
	}
	pg := page(p)
	status, _ := p.str("status")
	if err := p.err(); err != nil {
		return err
	}
	var list []*store.SourceUser
	var total int
	err = s.store.Read(r.Context(), func(tx *store.Tx) error {
		g, err := s.ownedGroup(r, tx)
		if err != nil {
			return err
		}
		list, total, err = tx.ListSourceUsers(r.Context(), g.ID, status, pg)
		return err
	})
	if err != nil {
		return err
	}
	writePage(s, w, r, pg, total, list, func(su *store.SourceUser) sourceUserEntity { return s.renderSourceUser(r, su) })
	return nil
}

func (s *Server) reassignPlaceholder(w http.ResponseWriter, r *http.Request) error {
	p, err := s.params(r)
	if err != nil {
		return err
	}
	suID, bySU := p.optInt("source_user_id")
	ident, byIdent := p.str("source_user_identifier")
	host, _ := p.str("source_hostname")
	itype, _ := p.str("import_type")
	toID, byID := p.optInt("reassign_to_user_id")
	toName, byName := p.str("reassign_to_username")
	if !bySU && !byIdent {
		p.fail("source_user_id, source_user_identifier", "are missing, exactly one parameter must be provided")
	}
	if !byID && !byName {
		p.fail("reassign_to_user_id, reassign_to_username", "are missing, exactly one parameter must be provided")
	}
	if err := p.err(); err != nil {
		return err
	}
	me := currentUser(r)
	var su *store.SourceUser
	err = s.store.Write(r.Context(), func(tx *store.Tx) error {
		g, err := s.ownedGroup(r, tx)
		if err != nil {
			return err
		}
		if !bySU {
			found, err := tx.SourceUserByIdentifier(r.Context(), g.ID, itype, host, ident)
			if err != nil {
				return err
			}
			suID = found.ID
		}
		if !byID {
			u, err := tx.UserByUsername(r.Context(), toName)
			if err != nil {
				return ferry.Errorf(ferry.EBADREQUEST, "User not found")
			}
			toID = u.ID
		}
		su, err = tx.ReassignSourceUser(r.Context(), g.ID, suID, toID, me.ID)
		return err
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.renderSourceUser(r, su))
	return nil
}
