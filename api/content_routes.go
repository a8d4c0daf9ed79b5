package api

import (
	"github.com/go-chi/chi/v5"

	"github.com/ferry-import/ferry/forge"
)

// contentRoutes serves imported content read-only in GitLab's shapes.
func (s *Server) contentRoutes(r chi.Router) {
	for _, k := range []*issuableAPI{issuesAPI, mergeRequestsAPI} {
		base := "/projects/{id}/" + k.path
		r.Get("/"+k.path, s.wrap(s.listAllIssuables(k)))
		r.Get(base, s.wrap(s.listProjectIssuables(k)))
		r.Get(base+"/{iid}", s.wrap(s.getIssuable(k)))
		r.Get(base+"/{iid}/notes", s.wrap(s.listNotes(k)))
		r.Get(base+"/{iid}/notes/{note_id}", s.wrap(s.getNote(k)))
		r.Get(base+"/{iid}/notes/{note_id}/award_emoji", s.wrap(s.listAwardEmoji(k, true)))
		r.Get(base+"/{iid}/discussions", s.wrap(s.listDiscussions(k)))
		r.Get(base+"/{iid}/discussions/{discussion_id}", s.wrap(s.getDiscussion(k)))
		r.Get(base+"/{iid}/award_emoji", s.wrap(s.listAwardEmoji(k, false)))
		for _, ev := range resourceEventAPIs {
			r.Get(base+"/{iid}/"+ev.path, s.wrap(s.listResourceEvents(k, ev)))
			r.Get(base+"/{iid}/"+ev.path+"/{event_id}", s.wrap(s.getResourceEvent(k, ev)))
		}
	}
	r.Get("/projects/{id}/issues/{iid}/links", s.wrap(s.listIssueLinks()))
	r.Get("/projects/{id}/issues/{iid}/links/{issue_link_id}", s.wrap(s.getIssueLink()))
	r.Get("/projects/{id}/merge_requests/{iid}/approvals", s.wrap(s.getApprovals))
	r.Get("/projects/{id}/merge_requests/{iid}/reviewers", s.wrap(s.listReviewers))
	r.Get("/projects/{id}/merge_requests/{iid}/commits", s.wrap(s.listMergeRequestCommits))
	r.Get("/projects/{id}/merge_requests/{iid}/changes", s.wrap(s.getMergeRequestChanges))
	r.Get("/projects/{id}/merge_requests/{iid}/diffs", s.wrap(s.listMergeRequestDiffs))
	r.Get("/projects/{id}/merge_requests/{iid}/raw_diffs", s.wrap(s.getMergeRequestRawDiffs))
	r.Get("/projects/{id}/merge_requests/{iid}/versions", s.wrap(s.listMergeRequestVersions))
	r.Get("/projects/{id}/merge_requests/{iid}/versions/{version_id}", s.wrap(s.getMergeRequestVersion))
	r.Get("/projects/{id}/wikis", s.wrap(s.listWikis))
	r.Get("/projects/{id}/wikis/{slug}", s.wrap(s.getWikiPage))

	r.Get("/projects/{id}/labels", s.wrap(s.listLabels(false)))
	r.Get("/groups/{id}/labels", s.wrap(s.listLabels(true)))
	r.Get("/projects/{id}/milestones", s.wrap(s.listMilestones(false)))
	r.Get("/groups/{id}/milestones", s.wrap(s.listMilestones(true)))
	r.Get("/projects/{id}/releases", s.wrap(s.listReleases))
	r.Get("/projects/{id}/releases/{tag_name}", s.wrap(s.getRelease))
	r.Get("/projects/{id}/protected_branches", s.wrap(s.listProtectedBranches))

	r.Get("/groups/{id}/placeholder_reassignments", s.wrap(s.listPlaceholders))
	r.Post("/groups/{id}/placeholder_reassignments", s.wrap(s.reassignPlaceholder))
	r.Get("/user/placeholder_reassignments", s.wrap(s.listMyReassignments))
	r.Post("/user/placeholder_reassignments/{id}/accept", s.wrap(s.answerReassignment(true)))
	r.Post("/user/placeholder_reassignments/{id}/reject", s.wrap(s.answerReassignment(false)))
}

var (
	issuesAPI        = &issuableAPI{typ: forge.OnIssue, path: "issues", what: "Issue"}
	mergeRequestsAPI = &issuableAPI{typ: forge.OnMergeRequest, path: "merge_requests", what: "Merge Request"}
)
