package gitlab

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry/fakeforge/scenario"
)

// Export statuses as the importer compares them: raw integers.
const (
	exportStarted  = 0
	exportFinished = 1
)

// exportRelations are the project tree relations served as NDJSON, plus
// self (one JSON object).
var exportRelations = []string{"self", "labels", "milestones", "issues", "merge_requests", "releases"}

// exportKey scopes an export to the token that asked for it, as GitLab
// scopes exports to the requesting user.
type exportKey struct {
	token   string
	project int64
}

// exportStart answers POST export_relations: the export is ready at once,
// since every record is generated on download.
func (s *Server) exportStart(w http.ResponseWriter, r *http.Request, p proj) {
	if s.exportOff(w) {
		return
	}
	s.mu.Lock()
	s.exports[exportKey{token(r), p.ID}] = true
	s.mu.Unlock()
	writeJSON(w, http.StatusAccepted, map[string]string{"message": "202 Accepted"})
}

func (s *Server) exported(r *http.Request, p proj) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.exports[exportKey{token(r), p.ID}]
}

// exportStatus is lib/api/entities/bulk_imports/export_status.rb.
type exportStatus struct {
	Relation          string    `json:"relation"`
	Status            int       `json:"status"`
	Error             *string   `json:"error"`
	UpdatedAt         time.Time `json:"updated_at"`
	Batched           bool      `json:"batched"`
	BatchesCount      int       `json:"batches_count"`
	TotalObjectsCount int       `json:"total_objects_count"`
}

func (s *Server) relationCount(rel string) int {
	c := s.sc.Config()
	return map[string]int{"self": 1, "labels": c.Labels, "milestones": c.Milestones, "issues": c.Issues,
		"merge_requests": c.PullRequests, "releases": c.Releases}[rel]
}

// exportOff answers 404 for every export_relations endpoint when direct
// transfer is off on the instance (the API's before filter).
func (s *Server) exportOff(w http.ResponseWriter) bool {
	if s.opts.ExportDisabled {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "404 Not Found"})
		return true
	}
	return false
}

// exportStatus lists the user's exports of the project: none (an empty
// list) before one was started; with relation, that relation's export or
// 404 Export Not Found, as lib/api/project_export.rb answers.
func (s *Server) exportStatus(w http.ResponseWriter, r *http.Request, p proj) {
	if s.exportOff(w) {
		return
	}
	status := func(rel string) exportStatus {
		return exportStatus{Relation: rel, Status: exportFinished, UpdatedAt: scenario.Epoch(), TotalObjectsCount: s.relationCount(rel)}
	}
	if rel := r.URL.Query().Get("relation"); rel != "" {
		switch {
		case !knownRelation(rel):
			badRequest(w, "relation does not have a valid value")
		case !s.exported(r, p):
			notFound(w, "Export")
		default:
			writeJSON(w, http.StatusOK, status(rel))
		}
		return
	}
	if !s.exported(r, p) {
		writeJSON(w, http.StatusOK, []exportStatus{})
		return
	}
	out := make([]exportStatus, 0, len(exportRelations))
	for _, rel := range exportRelations {
		out = append(out, status(rel))
	}
	writeJSON(w, http.StatusOK, out)
}

func knownRelation(rel string) bool { return slices.Contains(exportRelations, rel) }

// exportDownload serves a relation as GitLab's importer fetches it: gzip,
// with Content-Length and a Content-Disposition file name (HEAD too).
func (s *Server) exportDownload(w http.ResponseWriter, r *http.Request, p proj) {
	if s.exportOff(w) {
		return
	}
	q := r.URL.Query()
	rel := q.Get("relation")
	switch {
	case rel == "":
		badRequest(w, "relation is missing")
		return
	case !knownRelation(rel):
		badRequest(w, "relation does not have a valid value")
		return
	case !s.exported(r, p):
		notFound(w, "Export")
		return
	case q.Get("batched") == "true":
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "400 Bad request - Export is not batched"})
		return
	}
	var raw bytes.Buffer
	name := rel + ".ndjson.gz"
	if rel == "self" {
		name = "self.json.gz"
		if err := json.NewEncoder(&raw).Encode(s.exportSelf(p)); err != nil {
			http.Error(w, fmt.Sprintf("encode self: %v", err), http.StatusInternalServerError)
			return
		}
	} else if err := s.writeNDJSON(&raw, p, rel); err != nil {
		http.Error(w, fmt.Sprintf("encode %s: %v", rel, err), http.StatusInternalServerError)
		return
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz) // a zero header (no name, no time) keeps the bytes stable
	_, _ = zw.Write(raw.Bytes())
	if err := zw.Close(); err != nil {
		http.Error(w, fmt.Sprintf("gzip %s: %v", rel, err), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/gzip")
	w.Header().Set("Content-Length", strconv.Itoa(gz.Len()))
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(gz.Bytes())
}

// The import_export.yml shapes: top-level records with their
// sub-relations embedded. client-go does not model these; they follow
// GitLab's exported attribute names.
type (
	exLabel struct {
		Title       string    `json:"title"`
		Color       string    `json:"color"`
		Description string    `json:"description"`
		Type        string    `json:"type"`
		CreatedAt   time.Time `json:"created_at"`
		UpdatedAt   time.Time `json:"updated_at"`
	}
	exLabelLink struct {
		TargetType string  `json:"target_type"`
		Label      exLabel `json:"label"`
	}
	exMilestone struct {
		IID         int64      `json:"iid"`
		Title       string     `json:"title"`
		Description string     `json:"description"`
		State       string     `json:"state"`
		StartDate   string     `json:"start_date"`
		DueDate     string     `json:"due_date"`
		CreatedAt   *time.Time `json:"created_at"`
		UpdatedAt   *time.Time `json:"updated_at"`
	}
	exAward struct {
		Name          string     `json:"name"`
		UserID        int64      `json:"user_id"`
		AwardableType string     `json:"awardable_type"`
		CreatedAt     *time.Time `json:"created_at"`
		UpdatedAt     *time.Time `json:"updated_at"`
	}
	exAuthor struct {
		Name string `json:"name"`
	}
	exNote struct {
		Note         string           `json:"note"`
		NoteableType string           `json:"noteable_type"`
		AuthorID     int64            `json:"author_id"`
		CreatedAt    *time.Time       `json:"created_at"`
		UpdatedAt    *time.Time       `json:"updated_at"`
		System       bool             `json:"system"`
		Type         *string          `json:"type"`
		DiscussionID string           `json:"discussion_id"`
		Position     *gl.NotePosition `json:"position,omitempty"`
		Author       exAuthor         `json:"author"`
		AwardEmoji   []exAward        `json:"award_emoji"`
	}
	exUserRef struct {
		UserID int64 `json:"user_id"`
	}
	exApproval struct {
		UserID    int64      `json:"user_id"`
		CreatedAt *time.Time `json:"created_at"`
		UpdatedAt *time.Time `json:"updated_at"`
	}
	exIssue struct {
		IID              int64         `json:"iid"`
		Title            string        `json:"title"`
		Description      string        `json:"description"`
		State            string        `json:"state"`
		AuthorID         int64         `json:"author_id"`
		CreatedAt        *time.Time    `json:"created_at"`
		UpdatedAt        *time.Time    `json:"updated_at"`
		ClosedAt         *time.Time    `json:"closed_at"`
		Confidential     bool          `json:"confidential"`
		DiscussionLocked bool          `json:"discussion_locked"`
		Milestone        *exMilestone  `json:"milestone,omitempty"`
		IssueAssignees   []exUserRef   `json:"issue_assignees"`
		LabelLinks       []exLabelLink `json:"label_links"`
		AwardEmoji       []exAward     `json:"award_emoji"`
		Notes            []exNote      `json:"notes"`
	}
	exMergeRequest struct {
		IID                   int64         `json:"iid"`
		Title                 string        `json:"title"`
		Description           string        `json:"description"`
		State                 string        `json:"state"`
		AuthorID              int64         `json:"author_id"`
		SourceBranch          string        `json:"source_branch"`
		SourceBranchSHA       string        `json:"source_branch_sha"`
		TargetBranch          string        `json:"target_branch"`
		TargetBranchSHA       string        `json:"target_branch_sha"`
		Draft                 bool          `json:"draft"`
		CreatedAt             *time.Time    `json:"created_at"`
		UpdatedAt             *time.Time    `json:"updated_at"`
		DiscussionLocked      bool          `json:"discussion_locked"`
		Milestone             *exMilestone  `json:"milestone,omitempty"`
		MergeRequestAssignees []exUserRef   `json:"merge_request_assignees"`
		MergeRequestReviewers []exUserRef   `json:"merge_request_reviewers"`
		Approvals             []exApproval  `json:"approvals"`
		LabelLinks            []exLabelLink `json:"label_links"`
		AwardEmoji            []exAward     `json:"award_emoji"`
		Notes                 []exNote      `json:"notes"`
		Metrics               exMetrics     `json:"metrics"`
	}
	exMetrics struct {
		MergedAt         *time.Time `json:"merged_at"`
		MergedByID       *int64     `json:"merged_by_id"`
		LatestClosedAt   *time.Time `json:"latest_closed_at"`
		LatestClosedByID *int64     `json:"latest_closed_by_id"`
	}
	exRelease struct {
		TagName     string     `json:"tag_name"`
		Name        string     `json:"name"`
		Description string     `json:"description"`
		AuthorID    int64      `json:"author_id"`
		SHA         string     `json:"sha"`
		CreatedAt   *time.Time `json:"created_at"`
		ReleasedAt  *time.Time `json:"released_at"`
		Links       []exLink   `json:"links"`
	}
	exLink struct {
		Name     string `json:"name"`
		URL      string `json:"url"`
		LinkType string `json:"link_type"`
	}
)

func (s *Server) exportSelf(p proj) map[string]any {
	pr := s.projectObj(p)
	return map[string]any{"name": pr.Name, "path": pr.Path, "description": pr.Description, "visibility_level": 0,
		"default_branch": pr.DefaultBranch, "lfs_enabled": true, "created_at": pr.CreatedAt}
}

func (s *Server) exLabel(l scenario.Label) exLabel {
	return exLabel{Title: l.Name, Color: "#" + l.Color, Description: l.Description, Type: "ProjectLabel",
		CreatedAt: scenario.Epoch(), UpdatedAt: scenario.Epoch()}
}

func (s *Server) exMilestone(p proj, i int) *exMilestone {
	m := s.milestoneObj(p, s.sc.Milestone(i))
	return &exMilestone{IID: m.IID, Title: m.Title, Description: m.Description, State: m.State,
		StartDate: time.Time(*m.StartDate).Format(time.DateOnly), DueDate: time.Time(*m.DueDate).Format(time.DateOnly),
		CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt}
}

func (s *Server) exItemParts(p proj, it scenario.Item, kind string) (labels []exLabelLink, awards []exAward, ms *exMilestone) {
	labels, awards = []exLabelLink{}, []exAward{}
	for _, l := range it.Labels {
		labels = append(labels, exLabelLink{TargetType: kind, Label: s.exLabel(l)})
	}
	for _, x := range it.Reactions {
		awards = append(awards, exAward{Name: emojiNames[x.Content], UserID: x.User.ID, AwardableType: kind,
			CreatedAt: tp(x.Created), UpdatedAt: tp(x.Created)})
	}
	if it.Milestone > 0 {
		ms = s.exMilestone(p, it.Milestone)
	}
	return labels, awards, ms
}

func exNoteOf(n note, discussion string) exNote {
	return exNote{Note: n.Body, NoteableType: n.NoteableType, AuthorID: n.Author.ID, CreatedAt: n.CreatedAt,
		UpdatedAt: n.UpdatedAt, Type: n.Type, DiscussionID: discussion, Position: n.Position,
		Author: exAuthor{Name: n.Author.Name}, AwardEmoji: []exAward{}}
}

func (s *Server) exIssue(p proj, j int) exIssue {
	iss := s.issueObj(p, j)
	it := s.sc.Item(s.sc.IssueNumber(j))
	out := exIssue{IID: iss.IID, Title: iss.Title, Description: iss.Description, State: iss.State, AuthorID: iss.Author.ID,
		CreatedAt: iss.CreatedAt, UpdatedAt: iss.UpdatedAt, ClosedAt: iss.ClosedAt, DiscussionLocked: iss.DiscussionLocked,
		IssueAssignees: []exUserRef{}, Notes: []exNote{}}
	out.LabelLinks, out.AwardEmoji, out.Milestone = s.exItemParts(p, it, "Issue")
	for _, a := range iss.Assignees {
		out.IssueAssignees = append(out.IssueAssignees, exUserRef{UserID: a.ID})
	}
	lo, hi := s.sc.ItemComments(it.Number)
	on := s.issueNoteable(p, j)
	for c := lo; c <= hi; c++ {
		n := s.commentNote(p, on, c)
		out.Notes = append(out.Notes, exNoteOf(n, discussionID(p, "issue", n.ID)))
	}
	return out
}

func (s *Server) exMergeRequest(p proj, j int) exMergeRequest {
	mr := s.mrObj(p, j)
	it := s.sc.Item(s.sc.PRNumber(j))
	out := exMergeRequest{IID: mr.IID, Title: mr.Title, Description: mr.Description, State: mr.State, AuthorID: mr.Author.ID,
		SourceBranch: mr.SourceBranch, SourceBranchSHA: mr.DiffRefs.HeadSha, TargetBranch: mr.TargetBranch,
		TargetBranchSHA: mr.DiffRefs.BaseSha, Draft: mr.Draft, CreatedAt: mr.CreatedAt, UpdatedAt: mr.UpdatedAt,
		DiscussionLocked: mr.DiscussionLocked, MergeRequestAssignees: []exUserRef{}, MergeRequestReviewers: []exUserRef{},
		Approvals: []exApproval{}, Notes: []exNote{},
		Metrics: exMetrics{MergedAt: mr.MergedAt, LatestClosedAt: mr.ClosedAt}}
	out.LabelLinks, out.AwardEmoji, out.Milestone = s.exItemParts(p, it, "MergeRequest")
	if mr.MergeUser != nil {
		out.Metrics.MergedByID = gl.Ptr(mr.MergeUser.ID)
	}
	if mr.ClosedBy != nil {
		out.Metrics.LatestClosedByID = gl.Ptr(mr.ClosedBy.ID)
	}
	for _, a := range mr.Assignees {
		out.MergeRequestAssignees = append(out.MergeRequestAssignees, exUserRef{UserID: a.ID})
	}
	for _, u := range mr.Reviewers {
		out.MergeRequestReviewers = append(out.MergeRequestReviewers, exUserRef{UserID: u.ID})
	}
	lo, hi := s.sc.PRReviews(j)
	for k := lo; k <= hi; k++ {
		if rv := s.sc.Review(k); rv.State == "APPROVED" {
			out.Approvals = append(out.Approvals, exApproval{UserID: rv.Author.ID, CreatedAt: tp(rv.Submitted), UpdatedAt: tp(rv.Submitted)})
		}
	}
	// Diff threads share the discussion id of their first note.
	per := s.sc.Config().ReviewCommentsPerPR
	var thread string
	for k := range per + s.sc.Config().CommentsPerItem {
		n := s.mrNoteAt(p, j, k)
		if k >= per || k%2 == 0 {
			thread = discussionID(p, "mr", n.ID)
		}
		out.Notes = append(out.Notes, exNoteOf(n, thread))
	}
	return out
}

func (s *Server) exRelease(p proj, i int) exRelease {
	rel := s.releaseObj(p, i)
	out := exRelease{TagName: rel.TagName, Name: rel.Name, Description: rel.Description, AuthorID: rel.Author.ID,
		SHA: rel.Commit.ID, CreatedAt: rel.CreatedAt, ReleasedAt: rel.ReleasedAt, Links: []exLink{}}
	for _, l := range rel.Assets.Links {
		out.Links = append(out.Links, exLink{Name: l.Name, URL: l.URL, LinkType: string(l.LinkType)})
	}
	return out
}

// writeNDJSON writes one line per top-level record of rel.
func (s *Server) writeNDJSON(buf *bytes.Buffer, p proj, rel string) error {
	enc := json.NewEncoder(buf) // Encode ends every value with a newline
	c := s.sc.Config()
	var n int
	var record func(i int) any
	switch rel {
	case "labels":
		n, record = c.Labels, func(i int) any { return s.exLabel(s.sc.Label(i)) }
	case "milestones":
		n, record = c.Milestones, func(i int) any { return s.exMilestone(p, i) }
	case "issues":
		n, record = c.Issues, func(i int) any { return s.exIssue(p, i) }
	case "merge_requests":
		n, record = c.PullRequests, func(i int) any { return s.exMergeRequest(p, i) }
	case "releases":
		n, record = c.Releases, func(i int) any { return s.exRelease(p, i) }
	default:
		return fmt.Errorf("relation %q is not exported", rel)
	}
	for i := 1; i <= n; i++ {
		if err := enc.Encode(record(i)); err != nil {
			return fmt.Errorf("record %d: %w", i, err)
		}
	}
	return nil
}

// groupExportStatus answers a group's export status: fakeforge exports no
// group relations, so the list is empty, and 404 when direct transfer is
// off; direct transfer reads it to tell whether migration is enabled.
func (s *Server) groupExportStatus(w http.ResponseWriter, r *http.Request, _ scenario.Group) {
	if s.exportOff(w) {
		return
	}
	if r.URL.Query().Get("relation") != "" {
		notFound(w, "Export")
		return
	}
	writeJSON(w, http.StatusOK, []exportStatus{})
}
