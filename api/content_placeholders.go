package api

import (
	"encoding/csv"
	"net/http"
	"strings"

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
// GitLab's CSV exchange works too: GET with Accept: text/csv (or
// ?format=csv) downloads the sheet, and POST of a multipart "file" in the
// same columns reassigns every row naming a GitLab username or public e-mail.
//
// Both need the Owner role on the group (or an admin). A reassignment to
// another user waits for their consent (status awaiting_approval), as on
// GitLab: they see it with GET /user/placeholder_reassignments and answer
// with POST /user/placeholder_reassignments/:id/accept or /reject. An
// admin's reassignment, one to the owner themself, or an undo take effect
// at once. Once accepted it holds on every imported issue, merge request,
// note, approval, emoji and release at once: content names the source
// user, reads resolve it.

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
	switch {
	case su.ReassignTo != nil: // awaiting their consent
		out.ReassignToUser = s.userOrNil(r, su.ReassignTo)
	case su.Mapped != nil && (su.Placeholder == nil || su.Mapped.ID != su.Placeholder.ID):
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

// csvHeader is GitLab's reassignment sheet.
var csvHeader = []string{"Source host", "Import type", "Source user identifier", "Source user name", "Source username",
	"GitLab username", "GitLab public email"}

func (s *Server) listPlaceholders(w http.ResponseWriter, r *http.Request) error {
	p, err := s.params(r)
	if err != nil {
		return err
	}
	pg := page(p)
	status, _ := p.enum("status", store.SourceUserPending, store.SourceUserAwaiting, store.SourceUserCompleted, store.SourceUserKept)
	format, _ := p.enum("format", "json", "csv")
	if err := p.err(); err != nil {
		return err
	}
	if format == "csv" || strings.Contains(r.Header.Get("Accept"), "text/csv") {
		return s.placeholderCSV(w, r, status)
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

// placeholderCSV writes every source user of the group as GitLab's sheet.
func (s *Server) placeholderCSV(w http.ResponseWriter, r *http.Request, status string) error {
	var all []*store.SourceUser
	err := s.store.Read(r.Context(), func(tx *store.Tx) error {
		g, err := s.ownedGroup(r, tx)
		if err != nil {
			return err
		}
		for pg := (store.Page{Page: 1, PerPage: 1000}); ; pg.Page++ {
			list, total, err := tx.ListSourceUsers(r.Context(), g.ID, status, pg)
			if err != nil {
				return err
			}
			all = append(all, list...)
			if len(list) == 0 || len(all) >= total {
				return nil
			}
		}
	})
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="placeholder_reassignments.csv"`)
	cw := csv.NewWriter(w)
	_ = cw.Write(csvHeader)
	for _, su := range all {
		var username string
		if su.Mapped != nil && su.Placeholder != nil && su.Mapped.ID != su.Placeholder.ID {
			username = su.Mapped.Username
		}
		_ = cw.Write([]string{su.SourceHost, su.SourceType, su.SourceUserID, su.SourceName, su.SourceUsername, username, ""})
	}
	cw.Flush()
	return cw.Error()
}

// reassignCSV applies an uploaded sheet: each row naming a GitLab user
// (by username, else public e-mail) reassigns its source user.
func (s *Server) reassignCSV(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseMultipartForm(s.cfg.MaxBodyBytes); err != nil {
		return errBodyFormat
	}
	f, _, err := r.FormFile("file")
	if err != nil {
		return ferry.Errorf(ferry.EINVALID, "file is missing")
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) == 0 {
		return ferry.Errorf(ferry.EBADREQUEST, "The uploaded file is not a valid CSV file")
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[strings.TrimSpace(h)] = i
	}
	for _, h := range []string{"Source host", "Import type", "Source user identifier", "GitLab username"} {
		if _, ok := col[h]; !ok {
			return ferry.Errorf(ferry.EBADREQUEST, "The uploaded file is missing the required column %q", h)
		}
	}
	get := func(row []string, h string) string {
		if i, ok := col[h]; ok && i < len(row) {
			return strings.TrimSpace(row[i])
		}
		return ""
	}
	me := currentUser(r)
	err = s.store.Write(r.Context(), func(tx *store.Tx) error {
		g, err := s.ownedGroup(r, tx)
		if err != nil {
			return err
		}
		for _, row := range rows[1:] {
			name, email := get(row, "GitLab username"), get(row, "GitLab public email")
			if name == "" && email == "" {
				continue
			}
			su, err := tx.SourceUserByIdentifier(r.Context(), g.ID, get(row, "Import type"), get(row, "Source host"), get(row, "Source user identifier"))
			if err != nil {
				return ferry.Errorf(ferry.EBADREQUEST, "Unknown source user %q", get(row, "Source user identifier"))
			}
			var u *ferry.User
			if name != "" {
				u, err = tx.UserByUsername(r.Context(), name)
			} else {
				u, err = tx.RealUserByEmail(r.Context(), email)
			}
			if err != nil {
				return ferry.Errorf(ferry.EBADREQUEST, "Unknown GitLab user %q", name+email)
			}
			if _, err := tx.Reassign(r.Context(), g.ID, su.ID, u.ID, me); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]string{"message": "The file is being processed and you will receive an email when completed."})
	return nil
}

func (s *Server) reassignPlaceholder(w http.ResponseWriter, r *http.Request) error {
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		return s.reassignCSV(w, r)
	}
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
		su, err = tx.Reassign(r.Context(), g.ID, suID, toID, me)
		return err
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.renderSourceUser(r, su))
	return nil
}

// listMyReassignments is GET /user/placeholder_reassignments: the
// reassignments waiting for the caller's consent.
func (s *Server) listMyReassignments(w http.ResponseWriter, r *http.Request) error {
	me, err := requireUser(r)
	if err != nil {
		return err
	}
	var list []*store.SourceUser
	if err := s.store.Read(r.Context(), func(tx *store.Tx) (err error) { list, err = tx.AwaitingReassignments(r.Context(), me.ID); return }); err != nil {
		return err
	}
	out := make([]sourceUserEntity, 0, len(list))
	for _, su := range list {
		out = append(out, s.renderSourceUser(r, su))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// answerReassignment is POST /user/placeholder_reassignments/:id/accept
// (accept true) or /reject.
func (s *Server) answerReassignment(accept bool) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		me, err := requireUser(r)
		if err != nil {
			return err
		}
		id, ok := pathID(r, "id")
		if !ok {
			return notFound("Reassignment")
		}
		var su *store.SourceUser
		if err := s.store.Write(r.Context(), func(tx *store.Tx) (err error) {
			su, err = tx.AnswerReassignment(r.Context(), id, me.ID, accept)
			return err
		}); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, s.renderSourceUser(r, su))
		return nil
	}
}
