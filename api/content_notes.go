package api

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/store"
)

// noteFilter reads the parameters of a note list on the issuable found.
func noteFilter(p *params, it issuable, k *issuableAPI, role ferry.AccessLevel) store.NoteFilter {
	f := store.NoteFilter{ProjectID: it.base.ProjectID, On: forge.Noteable{Type: k.typ, IID: it.base.IID}, Internal: role >= ferry.ReporterAccess}
	f.OrderBy = p.orderBy("created_at", "updated_at")
	f.Sort = p.sortDir()
	return f
}

// onIssuable runs a list endpoint under an issuable: parameters, the
// issuable's lookup and the page, in one read.
func (s *Server) onIssuable(k *issuableAPI, list func(r *http.Request, tx *store.Tx, p *params, it issuable, role ferry.AccessLevel, pg store.Page) (func(w http.ResponseWriter), error)) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := s.params(r)
		if err != nil {
			return err
		}
		pg := page(p)
		var write func(w http.ResponseWriter)
		err = s.store.Read(r.Context(), func(tx *store.Tx) error {
			it, _, role, err := s.findIssuable(r, tx, k)
			if err != nil {
				return err
			}
			write, err = list(r, tx, p, it, role, pg)
			return err
		})
		if err != nil {
			return err
		}
		write(w)
		return nil
	}
}

func (s *Server) listNotes(k *issuableAPI) handler {
	return s.onIssuable(k, func(r *http.Request, tx *store.Tx, p *params, it issuable, role ferry.AccessLevel, pg store.Page) (func(http.ResponseWriter), error) {
		f := noteFilter(p, it, k, role)
		if err := p.err(); err != nil {
			return nil, err
		}
		notes, total, err := tx.ListNotes(r.Context(), f, pg)
		return func(w http.ResponseWriter) {
			writePage(s, w, r, pg, total, notes, func(n *store.Note) noteEntity { return s.renderNote(r, n) })
		}, err
	})
}

func (s *Server) listDiscussions(k *issuableAPI) handler {
	return s.onIssuable(k, func(r *http.Request, tx *store.Tx, p *params, it issuable, role ferry.AccessLevel, pg store.Page) (func(http.ResponseWriter), error) {
		f := noteFilter(p, it, k, role)
		if err := p.err(); err != nil {
			return nil, err
		}
		ds, total, err := tx.ListDiscussions(r.Context(), f, pg)
		return func(w http.ResponseWriter) {
			writePage(s, w, r, pg, total, ds, func(d *store.Discussion) discussionEntity { return s.renderDiscussion(r, d) })
		}, err
	})
}

// getNote serves …/notes/:note_id; getDiscussion …/discussions/:discussion_id.
func (s *Server) getNote(k *issuableAPI) handler {
	return s.onIssuable(k, func(r *http.Request, tx *store.Tx, p *params, it issuable, role ferry.AccessLevel, _ store.Page) (func(http.ResponseWriter), error) {
		f := noteFilter(p, it, k, role)
		var err error
		if f.NoteID, err = parseID(chi.URLParam(r, "note_id")); err != nil {
			return nil, notFound("Note")
		}
		notes, _, err := tx.ListNotes(r.Context(), f, store.Page{Page: 1, PerPage: 1})
		if err == nil && len(notes) == 0 {
			err = notFound("Note")
		}
		return func(w http.ResponseWriter) { writeJSON(w, http.StatusOK, s.renderNote(r, notes[0])) }, err
	})
}

func (s *Server) getDiscussion(k *issuableAPI) handler {
	return s.onIssuable(k, func(r *http.Request, tx *store.Tx, p *params, it issuable, role ferry.AccessLevel, _ store.Page) (func(http.ResponseWriter), error) {
		f := noteFilter(p, it, k, role)
		f.Thread = chi.URLParam(r, "discussion_id")
		ds, _, err := tx.ListDiscussions(r.Context(), f, store.Page{Page: 1, PerPage: 1})
		if err == nil && len(ds) == 0 {
			err = notFound("Discussion")
		}
		return func(w http.ResponseWriter) { writeJSON(w, http.StatusOK, s.renderDiscussion(r, ds[0])) }, err
	})
}

// listAwardEmoji serves the emoji of an issuable or, onNote, of one of its
// notes (…/notes/:note_id/award_emoji).
func (s *Server) listAwardEmoji(k *issuableAPI, onNote bool) handler {
	return s.onIssuable(k, func(r *http.Request, tx *store.Tx, p *params, it issuable, role ferry.AccessLevel, pg store.Page) (func(http.ResponseWriter), error) {
		if err := p.err(); err != nil {
			return nil, err
		}
		var noteID int64
		if onNote {
			f := noteFilter(p, it, k, role)
			var err error
			if f.NoteID, err = parseID(chi.URLParam(r, "note_id")); err != nil {
				return nil, notFound("Note")
			}
			if notes, _, err := tx.ListNotes(r.Context(), f, store.Page{Page: 1, PerPage: 1}); err != nil || len(notes) == 0 {
				return nil, errOr(err, notFound("Note"))
			}
			noteID = f.NoteID
		}
		es, total, err := tx.ListAwardEmoji(r.Context(), it.base.ProjectID, forge.Noteable{Type: k.typ, IID: it.base.IID}, noteID, pg)
		return func(w http.ResponseWriter) {
			writePage(s, w, r, pg, total, es, func(e *store.AwardEmoji) awardEmojiEntity { return s.renderAwardEmoji(r, e) })
		}, err
	})
}

type approverEntity struct {
	User       userBasic `json:"user"`
	ApprovedAt Time      `json:"approved_at"`
}

// approvalsEntity is GitLab's MergeRequestApprovals (CE shape plus the
// fields EE clients read, with their neutral values).
type approvalsEntity struct {
	ID                             int64            `json:"id"`
	IID                            int64            `json:"iid"`
	ProjectID                      int64            `json:"project_id"`
	Title                          string           `json:"title"`
	Description                    string           `json:"description"`
	State                          string           `json:"state"`
	CreatedAt                      Time             `json:"created_at"`
	UpdatedAt                      Time             `json:"updated_at"`
	MergeStatus                    string           `json:"merge_status"`
	Approved                       bool             `json:"approved"`
	ApprovalsRequired              int              `json:"approvals_required"`
	ApprovalsLeft                  int              `json:"approvals_left"`
	RequirePasswordToApprove       bool             `json:"require_password_to_approve"`
	ApprovedBy                     []approverEntity `json:"approved_by"`
	SuggestedApprovers             []userBasic      `json:"suggested_approvers"`
	Approvers                      []userBasic      `json:"approvers"`
	ApproverGroups                 []struct{}       `json:"approver_groups"`
	UserHasApproved                bool             `json:"user_has_approved"`
	UserCanApprove                 bool             `json:"user_can_approve"`
	ApprovalRulesLeft              []struct{}       `json:"approval_rules_left"`
	HasApprovalRules               bool             `json:"has_approval_rules"`
	MergeRequestApproversAvailable bool             `json:"merge_request_approvers_available"`
	MultipleApprovalRulesAvailable bool             `json:"multiple_approval_rules_available"`
	InvalidApproversRules          []struct{}       `json:"invalid_approvers_rules"`
}

func (s *Server) getApprovals(w http.ResponseWriter, r *http.Request) error {
	var it issuable
	var approvals []*store.Approval
	err := s.store.Read(r.Context(), func(tx *store.Tx) error {
		var err error
		if it, _, _, err = s.findIssuable(r, tx, mergeRequestsAPI); err != nil {
			return err
		}
		approvals, err = tx.ListApprovals(r.Context(), it.base.ProjectID, it.base.IID)
		return err
	})
	if err != nil {
		return err
	}
	mr := it.mr
	out := approvalsEntity{ID: mr.ID, IID: mr.IID, ProjectID: mr.ProjectID, Title: mr.Title, Description: mr.Description, State: mr.State,
		CreatedAt: Time(mr.CreatedAt), UpdatedAt: Time(mr.UpdatedAt), MergeStatus: "can_be_merged", Approved: true,
		ApprovedBy: []approverEntity{}, SuggestedApprovers: []userBasic{}, Approvers: []userBasic{}, ApproverGroups: []struct{}{},
		ApprovalRulesLeft: []struct{}{}, InvalidApproversRules: []struct{}{}}
	me := currentUser(r)
	for _, a := range approvals {
		if a.User == nil {
			continue
		}
		out.ApprovedBy = append(out.ApprovedBy, approverEntity{User: s.renderUserBasic(r, a.User), ApprovedAt: Time(a.ApprovedAt)})
		if me != nil && a.User.ID == me.ID {
			out.UserHasApproved = true
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// errOr returns err, or fallback when err is nil.
func errOr(err, fallback error) error {
	if err != nil {
		return err
	}
	return fallback
}

type reviewerEntity struct {
	User      userBasic `json:"user"`
	State     string    `json:"state"`
	CreatedAt Time      `json:"created_at"`
}

// listReviewers serves GET …/merge_requests/:iid/reviewers.
func (s *Server) listReviewers(w http.ResponseWriter, r *http.Request) error {
	var list []*store.Reviewer
	err := s.store.Read(r.Context(), func(tx *store.Tx) error {
		it, _, _, err := s.findIssuable(r, tx, mergeRequestsAPI)
		if err != nil {
			return err
		}
		list, err = tx.ListReviewers(r.Context(), it.base.ProjectID, it.base.IID)
		return err
	})
	if err != nil {
		return err
	}
	out := make([]reviewerEntity, 0, len(list))
	for _, rv := range list {
		if rv.User != nil {
			out = append(out, reviewerEntity{User: s.renderUserBasic(r, rv.User), State: rv.State, CreatedAt: Time(rv.CreatedAt)})
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
