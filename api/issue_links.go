package api

import (
	"net/http"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/store"
)

// Issue links (GET /projects/:id/issues/:iid/links[/:issue_link_id]): no
// source ferry imports from brings them — GitHub and Bitbucket Server have
// no linked issues, and GitLab's own direct transfer and export leave them
// out (spec/gitlab-import-spec.md: "linked issues" among the items not
// migrated) — so an imported issue has none, and the list answers [] as
// GitLab does for an issue without links, after the same visibility checks
// as its notes. Links are read-only here, like the rest of imported content.

var errIssueLinkNotFound = ferry.Errorf(ferry.ENOTFOUND, "404 Not found")

func (s *Server) listIssueLinks() handler {
	return s.onIssuable(issuesAPI, func(r *http.Request, _ *store.Tx, p *params, _ issuable, _ ferry.AccessLevel, _ store.Page) (func(http.ResponseWriter), error) {
		if err := p.err(); err != nil {
			return nil, err
		}
		return func(w http.ResponseWriter) { writeJSON(w, http.StatusOK, []any{}) }, nil
	})
}

func (s *Server) getIssueLink() handler {
	return s.onIssuable(issuesAPI, func(*http.Request, *store.Tx, *params, issuable, ferry.AccessLevel, store.Page) (func(http.ResponseWriter), error) {
		return nil, errIssueLinkNotFound
	})
}
