package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/store"
)

// issuableAPI is what differs between the issue and merge request routes.
type issuableAPI struct {
	typ  string // forge.OnIssue, forge.OnMergeRequest
	path string // URL segment
	what string // in 404 messages
}

// issuable is one issue or merge request, whichever the route serves.
type issuable struct {
	base  *store.Issuable
	issue *store.Issue
	mr    *store.MergeRequest
	ref   projectRef // its project, set by findIssuable
}

func (k *issuableAPI) fetch(ctx context.Context, tx *store.Tx, f store.IssuableFilter, pg store.Page) ([]issuable, int, error) {
	var out []issuable
	if k.typ == forge.OnIssue {
		list, total, err := tx.ListIssues(ctx, f, pg)
		for _, it := range list {
			out = append(out, issuable{base: &it.Issuable, issue: it})
		}
		return out, total, err
	}
	list, total, err := tx.ListMergeRequests(ctx, f, pg)
	for _, it := range list {
		out = append(out, issuable{base: &it.Issuable, mr: it})
	}
	return out, total, err
}

func (s *Server) renderIssuableRow(r *http.Request, it issuable, p projectRef, single bool) any {
	if it.issue != nil {
		return s.renderIssue(r, it.issue, p)
	}
	return s.renderMergeRequest(r, it.mr, p, single)
}

// issuableFilter reads GitLab's list filters.
func (k *issuableAPI) filter(r *http.Request, p *params) store.IssuableFilter {
	f := store.IssuableFilter{Viewer: viewer(r)}
	states := []string{"opened", "closed", "all"}
	if k.typ == forge.OnMergeRequest {
		states = append(states, "locked", "merged")
	}
	f.State, _ = p.enum("state", states...)
	f.Labels, _ = p.filterList("labels")
	f.Milestone, _ = p.str("milestone")
	if id, ok := p.optInt("author_id"); ok {
		f.AuthorID = id
	}
	f.Author, _ = p.str("author_username")
	f.Assignee = k.userRef(p, "assignee_id")
	if k.typ == forge.OnMergeRequest {
		f.Reviewer = k.userRef(p, "reviewer_id")
		f.SourceBranch, _ = p.str("source_branch")
		f.TargetBranch, _ = p.str("target_branch")
	}
	f.Search, _ = p.search("search")
	if iids, ok := p.filterList("iids"); ok {
		for _, s := range iids {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				p.fail("iids", "is invalid")
				break
			}
			f.IIDs = append(f.IIDs, n)
		}
	}
	f.OrderBy = p.orderBy("created_at", "updated_at", "title", "priority", "due_date", "relative_position", "label_priority", "milestone_due",
		"popularity", "weight", "merged_at")
	f.Sort = p.sortDir()
	f.Scope, _ = p.enum("scope", "all", "created_by_me", "created-by-me", "assigned_to_me", "assigned-to-me")
	f.CreatedAfter, _ = p.dateTime("created_after")
	f.CreatedBefore, _ = p.dateTime("created_before")
	f.UpdatedAfter, _ = p.dateTime("updated_after")
	f.UpdatedBefore, _ = p.dateTime("updated_before")
	if k.typ == forge.OnIssue {
		// Imported issues carry no due date: "0" (none) is every issue,
		// any other period none.
		if v, ok := p.enum("due_date", "0", "any", "today", "tomorrow", "overdue", "week", "month", "next_month_and_previous_two_weeks"); ok && v != "0" {
			f.WithDueDate = true
		}
	}
	return f
}

// userRef reads a user id filter that also accepts None and Any.
func (k *issuableAPI) userRef(p *params, name string) string {
	v, ok := p.str(name)
	if !ok || v == "" {
		return ""
	}
	switch strings.ToLower(v) {
	case "none", "any":
		return v
	}
	if _, err := strconv.ParseInt(v, 10, 64); err != nil {
		p.fail(name, "is invalid")
	}
	return v
}

// projectRefs loads what rendering needs of the projects of a page.
func projectRefs(ctx context.Context, tx *store.Tx, items []issuable) (map[int64]projectRef, error) {
	out := map[int64]projectRef{}
	for _, it := range items {
		if _, ok := out[it.base.ProjectID]; ok {
			continue
		}
		p, err := tx.ProjectByID(ctx, it.base.ProjectID)
		if err != nil {
			return nil, err
		}
		out[p.ID] = projectRef{id: p.ID, fullPath: p.FullPath}
	}
	return out, nil
}

// listProjectIssuables serves GET /projects/:id/issues and …/merge_requests.
func (s *Server) listProjectIssuables(k *issuableAPI) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := s.params(r)
		if err != nil {
			return err
		}
		f, pg := k.filter(r, p), page(p)
		if err := p.err(); err != nil {
			return err
		}
		var items []issuable
		var total int
		var ref projectRef
		err = s.store.Read(r.Context(), func(tx *store.Tx) error {
			pr, role, err := s.FindProject(r, tx)
			if err != nil {
				return err
			}
			f.ProjectID, f.Role, ref = pr.ID, role, projectRef{id: pr.ID, fullPath: pr.FullPath}
			if f.Scope != "" && f.Scope != "all" && f.Viewer.UserID == 0 {
				return errUnauthorized
			}
			items, total, err = k.fetch(r.Context(), tx, f, pg)
			return err
		})
		if err != nil {
			return err
		}
		writePage(s, w, r, pg, total, items, func(it issuable) any { return s.renderIssuableRow(r, it, ref, false) })
		return nil
	}
}

// listAllIssuables serves GET /issues and GET /merge_requests: every
// project the caller can see, created by the caller unless scope=all.
func (s *Server) listAllIssuables(k *issuableAPI) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := s.params(r)
		if err != nil {
			return err
		}
		f, pg := k.filter(r, p), page(p)
		if err := p.err(); err != nil {
			return err
		}
		switch {
		case f.Viewer.UserID == 0 && f.Scope != "" && f.Scope != "all":
			return errUnauthorized
		case f.Viewer.UserID == 0:
			f.Scope = "all"
		case f.Scope == "":
			f.Scope = "created_by_me"
		}
		var items []issuable
		var total int
		var refs map[int64]projectRef
		err = s.store.Read(r.Context(), func(tx *store.Tx) error {
			var err error
			if items, total, err = k.fetch(r.Context(), tx, f, pg); err != nil {
				return err
			}
			refs, err = projectRefs(r.Context(), tx, items)
			return err
		})
		if err != nil {
			return err
		}
		writePage(s, w, r, pg, total, items, func(it issuable) any { return s.renderIssuableRow(r, it, refs[it.base.ProjectID], false) })
		return nil
	}
}

// findIssuable resolves {id} and {iid} to an issuable the caller may see.
func (s *Server) findIssuable(r *http.Request, tx *store.Tx, k *issuableAPI) (issuable, projectRef, ferry.AccessLevel, error) {
	pr, role, err := s.FindProject(r, tx)
	if err != nil {
		return issuable{}, projectRef{}, 0, err
	}
	ref := projectRef{id: pr.ID, fullPath: pr.FullPath}
	iid, err := parseID(chi.URLParam(r, "iid"))
	if err != nil {
		return issuable{}, ref, role, notFound(k.what)
	}
	f := store.IssuableFilter{Viewer: viewer(r), ProjectID: pr.ID, Role: role, IIDs: []int64{iid}}
	items, _, err := k.fetch(r.Context(), tx, f, store.Page{Page: 1, PerPage: 1})
	if err != nil {
		return issuable{}, ref, role, err
	}
	if len(items) == 0 {
		return issuable{}, ref, role, notFound(k.what)
	}
	items[0].ref = ref
	return items[0], ref, role, nil
}

func (s *Server) getIssuable(k *issuableAPI) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		var it issuable
		var ref projectRef
		if err := s.store.Read(r.Context(), func(tx *store.Tx) (err error) { it, ref, _, err = s.findIssuable(r, tx, k); return }); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, s.renderIssuableRow(r, it, ref, true))
		return nil
	}
}
