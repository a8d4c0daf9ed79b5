package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/store"
)

// Entities of imported content, after GitLab's lib/api/entities (Issue,
// MergeRequest, Note, Discussion, AwardEmoji, Label, Milestone, Release,
// ProtectedBranch, MergeRequestApprovals). Users are the ferry users the
// source authors show as: placeholders until matched or reassigned.

// userOrNil renders an optional user.
func (s *Server) userOrNil(r *http.Request, u *ferry.User) *userBasic {
	if u == nil {
		return nil
	}
	b := s.renderUserBasic(r, u)
	return &b
}

func (s *Server) users(r *http.Request, us []*ferry.User) []userBasic {
	out := make([]userBasic, 0, len(us))
	for _, u := range us {
		if u != nil {
			out = append(out, s.renderUserBasic(r, u))
		}
	}
	return out
}

type milestoneEntity struct {
	ID          int64   `json:"id"`
	IID         int64   `json:"iid"`
	ProjectID   *int64  `json:"project_id,omitempty"`
	GroupID     *int64  `json:"group_id,omitempty"`
	Title       string  `json:"title"`
	Description string  `json:"description"`
	State       string  `json:"state"`
	CreatedAt   Time    `json:"created_at"`
	UpdatedAt   Time    `json:"updated_at"`
	DueDate     *string `json:"due_date"`
	StartDate   *string `json:"start_date"`
	Expired     bool    `json:"expired"`
	WebURL      string  `json:"web_url"`
}

func (s *Server) renderMilestone(r *http.Request, m *store.Milestone, webBase string) *milestoneEntity {
	if m == nil {
		return nil
	}
	expired := m.DueDate != nil && m.DueDate.Before(time.Now().UTC().Truncate(24*time.Hour))
	return &milestoneEntity{ID: m.ID, IID: m.IID, ProjectID: m.ProjectID, GroupID: m.GroupID, Title: m.Title, Description: m.Description,
		State: m.State, CreatedAt: Time(m.CreatedAt), UpdatedAt: Time(m.UpdatedAt), DueDate: dateOrNil(m.DueDate),
		StartDate: dateOrNil(m.StartDate), Expired: expired, WebURL: fmt.Sprintf("%s/-/milestones/%d", webBase, m.IID)}
}

type referencesEntity struct {
	Short    string `json:"short"`
	Relative string `json:"relative"`
	Full     string `json:"full"`
}

type timeStats struct {
	TimeEstimate        int     `json:"time_estimate"`
	TotalTimeSpent      int     `json:"total_time_spent"`
	HumanTimeEstimate   *string `json:"human_time_estimate"`
	HumanTotalTimeSpent *string `json:"human_total_time_spent"`
}

type taskCompletion struct {
	Count          int `json:"count"`
	CompletedCount int `json:"completed_count"`
}

// issuableEntity is what GitLab's IssueBasic and MergeRequestBasic share.
type issuableEntity struct {
	ID                   int64            `json:"id"`
	IID                  int64            `json:"iid"`
	ProjectID            int64            `json:"project_id"`
	Title                string           `json:"title"`
	Description          string           `json:"description"`
	State                string           `json:"state"`
	CreatedAt            Time             `json:"created_at"`
	UpdatedAt            Time             `json:"updated_at"`
	ClosedAt             *Time            `json:"closed_at"`
	ClosedBy             *userBasic       `json:"closed_by"`
	Labels               []string         `json:"labels"`
	Milestone            *milestoneEntity `json:"milestone"`
	Author               *userBasic       `json:"author"`
	Assignees            []userBasic      `json:"assignees"`
	Assignee             *userBasic       `json:"assignee"`
	UserNotesCount       int              `json:"user_notes_count"`
	Upvotes              int              `json:"upvotes"`
	Downvotes            int              `json:"downvotes"`
	DiscussionLocked     bool             `json:"discussion_locked"`
	WebURL               string           `json:"web_url"`
	References           referencesEntity `json:"references"`
	TimeStats            timeStats        `json:"time_stats"`
	TaskCompletionStatus taskCompletion   `json:"task_completion_status"`
	Imported             bool             `json:"imported"`
	ImportedFrom         string           `json:"imported_from"`
}

// projectRef is what an issuable needs of its project to render.
type projectRef struct {
	id       int64
	fullPath string
}

func (s *Server) renderIssuable(r *http.Request, it *store.Issuable, p projectRef, sigil, path string) issuableEntity {
	web := s.baseURL(r) + "/" + p.fullPath
	out := issuableEntity{ID: it.ID, IID: it.IID, ProjectID: it.ProjectID, Title: it.Title, Description: it.Description, State: it.State,
		CreatedAt: Time(it.CreatedAt), UpdatedAt: Time(it.UpdatedAt), ClosedAt: timeOrNil(it.ClosedAt), ClosedBy: s.userOrNil(r, it.ClosedBy),
		Labels: append([]string{}, it.Labels...), Milestone: s.renderMilestone(r, it.Milestone, web), Author: s.userOrNil(r, it.Author),
		Assignees: s.users(r, it.Assignees), UserNotesCount: it.UserNotesCount, Upvotes: it.Upvotes, Downvotes: it.Downvotes,
		DiscussionLocked: it.Locked, WebURL: fmt.Sprintf("%s/-/%s/%d", web, path, it.IID), Imported: true, ImportedFrom: importedFrom(it.Source.Type),
		References: referencesEntity{Short: fmt.Sprintf("%s%d", sigil, it.IID), Relative: fmt.Sprintf("%s%d", sigil, it.IID),
			Full: fmt.Sprintf("%s%s%d", p.fullPath, sigil, it.IID)}}
	if len(out.Assignees) > 0 {
		out.Assignee = &out.Assignees[0]
	}
	return out
}

// importedFrom is GitLab's imported_from value for a source type.
func importedFrom(sourceType string) string {
	switch sourceType {
	case "github", "bitbucket_server", "gitlab_migration", "gitea":
		return sourceType
	case "gitlab":
		return "gitlab_migration"
	case "":
		return "none"
	}
	return sourceType
}

type issueEntity struct {
	issuableEntity
	Type               string  `json:"type"`
	IssueType          string  `json:"issue_type"`
	Confidential       bool    `json:"confidential"`
	DueDate            *string `json:"due_date"`
	MergeRequestsCount int     `json:"merge_requests_count"`
	MovedToID          *int64  `json:"moved_to_id"`
	ServiceDeskReplyTo *string `json:"service_desk_reply_to"`
	HasTasks           bool    `json:"has_tasks"`
	Severity           string  `json:"severity"`
	Links              struct {
		Self       string `json:"self"`
		Notes      string `json:"notes"`
		AwardEmoji string `json:"award_emoji"`
		Project    string `json:"project"`
	} `json:"_links"`
}

func (s *Server) renderIssue(r *http.Request, it *store.Issue, p projectRef) issueEntity {
	out := issueEntity{issuableEntity: s.renderIssuable(r, &it.Issuable, p, "#", "issues"), Type: "ISSUE", IssueType: "issue",
		Confidential: it.Confidential, Severity: "UNKNOWN"}
	if it.DueDate != "" {
		out.DueDate = &it.DueDate
	}
	api := fmt.Sprintf("%s/api/v4/projects/%d", s.baseURL(r), it.ProjectID)
	out.Links.Self = fmt.Sprintf("%s/issues/%d", api, it.IID)
	out.Links.Notes, out.Links.AwardEmoji, out.Links.Project = out.Links.Self+"/notes", out.Links.Self+"/award_emoji", api
	return out
}

type diffRefs struct {
	BaseSHA  *string `json:"base_sha"`
	HeadSHA  *string `json:"head_sha"`
	StartSHA *string `json:"start_sha"`
}

type mergeRequestEntity struct {
	issuableEntity
	MergedBy                    *userBasic  `json:"merged_by"`
	MergeUser                   *userBasic  `json:"merge_user"`
	MergedAt                    *Time       `json:"merged_at"`
	TargetBranch                string      `json:"target_branch"`
	SourceBranch                string      `json:"source_branch"`
	Reviewers                   []userBasic `json:"reviewers"`
	SourceProjectID             int64       `json:"source_project_id"`
	TargetProjectID             int64       `json:"target_project_id"`
	Draft                       bool        `json:"draft"`
	WorkInProgress              bool        `json:"work_in_progress"`
	MergeWhenPipelineSucceeds   bool        `json:"merge_when_pipeline_succeeds"`
	MergeStatus                 string      `json:"merge_status"`
	DetailedMergeStatus         string      `json:"detailed_merge_status"`
	SHA                         *string     `json:"sha"`
	MergeCommitSHA              *string     `json:"merge_commit_sha"`
	SquashCommitSHA             *string     `json:"squash_commit_sha"`
	ShouldRemoveSourceBranch    *bool       `json:"should_remove_source_branch"`
	ForceRemoveSourceBranch     *bool       `json:"force_remove_source_branch"`
	Reference                   string      `json:"reference"`
	Squash                      bool        `json:"squash"`
	SquashOnMerge               bool        `json:"squash_on_merge"`
	HasConflicts                bool        `json:"has_conflicts"`
	BlockingDiscussionsResolved bool        `json:"blocking_discussions_resolved"`
	PreparedAt                  *Time       `json:"prepared_at"`
	// Single merge request only.
	DiffRefs     *diffRefs `json:"diff_refs,omitempty"`
	ChangesCount *string   `json:"changes_count,omitempty"`
	Subscribed   *bool     `json:"subscribed,omitempty"`
}

func strOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (s *Server) renderMergeRequest(r *http.Request, mr *store.MergeRequest, p projectRef, single bool) mergeRequestEntity {
	merge := "can_be_merged"
	if mr.State != forge.StateOpened {
		merge = "not_open"
	}
	out := mergeRequestEntity{issuableEntity: s.renderIssuable(r, &mr.Issuable, p, "!", "merge_requests"), MergedBy: s.userOrNil(r, mr.MergedBy),
		MergeUser: s.userOrNil(r, mr.MergedBy), MergedAt: timeOrNil(mr.MergedAt), TargetBranch: mr.TargetBranch, SourceBranch: mr.SourceBranch,
		Reviewers: s.users(r, mr.Reviewers), SourceProjectID: mr.ProjectID, TargetProjectID: mr.ProjectID, Draft: mr.Draft,
		WorkInProgress: mr.Draft, MergeStatus: "can_be_merged", DetailedMergeStatus: merge, SHA: strOrNil(mr.SourceSHA),
		MergeCommitSHA: strOrNil(mr.MergeCommit), Reference: fmt.Sprintf("!%d", mr.IID), BlockingDiscussionsResolved: true,
		PreparedAt: timeOrNil(&mr.CreatedAt)}
	if single {
		base := mr.BaseSHA
		if base == "" {
			base = mr.TargetSHA
		}
		out.DiffRefs = &diffRefs{BaseSHA: strOrNil(base), HeadSHA: strOrNil(mr.SourceSHA), StartSHA: strOrNil(mr.TargetSHA)}
		no := false
		out.Subscribed = &no
	}
	return out
}

type linePositionEntity struct {
	LineCode string  `json:"line_code"`
	Type     *string `json:"type"`
	OldLine  *int64  `json:"old_line"`
	NewLine  *int64  `json:"new_line"`
}

type positionEntity struct {
	BaseSHA      string `json:"base_sha"`
	StartSHA     string `json:"start_sha"`
	HeadSHA      string `json:"head_sha"`
	OldPath      string `json:"old_path"`
	NewPath      string `json:"new_path"`
	PositionType string `json:"position_type"`
	OldLine      *int64 `json:"old_line"`
	NewLine      *int64 `json:"new_line"`
	LineRange    *struct {
		Start linePositionEntity `json:"start"`
		End   linePositionEntity `json:"end"`
	} `json:"line_range"`
}

func lineOrNil(n int64) *int64 {
	if n == 0 {
		return nil
	}
	return &n
}

func renderLinePosition(l forge.LinePosition) linePositionEntity {
	return linePositionEntity{LineCode: l.LineCode, Type: strOrNil(l.Type), OldLine: lineOrNil(l.OldLine), NewLine: lineOrNil(l.NewLine)}
}

func renderPosition(p *forge.DiffPosition) *positionEntity {
	if p == nil {
		return nil
	}
	out := &positionEntity{BaseSHA: p.BaseSHA, StartSHA: p.StartSHA, HeadSHA: p.HeadSHA, OldPath: p.OldPath, NewPath: p.NewPath,
		PositionType: p.Type, OldLine: lineOrNil(p.OldLine), NewLine: lineOrNil(p.NewLine)}
	if lr := p.LineRange; lr != nil {
		out.LineRange = &struct {
			Start linePositionEntity `json:"start"`
			End   linePositionEntity `json:"end"`
		}{renderLinePosition(lr.Start), renderLinePosition(lr.End)}
	}
	return out
}

type noteEntity struct {
	ID             int64           `json:"id"`
	Type           *string         `json:"type"`
	Body           string          `json:"body"`
	Attachment     *string         `json:"attachment"`
	Author         *userBasic      `json:"author"`
	CreatedAt      Time            `json:"created_at"`
	UpdatedAt      Time            `json:"updated_at"`
	System         bool            `json:"system"`
	NoteableID     int64           `json:"noteable_id"`
	NoteableType   string          `json:"noteable_type"`
	ProjectID      int64           `json:"project_id"`
	CommitID       *string         `json:"commit_id"`
	Position       *positionEntity `json:"position,omitempty"`
	Resolvable     bool            `json:"resolvable"`
	Resolved       *bool           `json:"resolved,omitempty"`
	ResolvedBy     *userBasic      `json:"resolved_by,omitempty"`
	ResolvedAt     *Time           `json:"resolved_at,omitempty"`
	Confidential   bool            `json:"confidential"`
	Internal       bool            `json:"internal"`
	Imported       bool            `json:"imported"`
	ImportedFrom   string          `json:"imported_from"`
	NoteableIID    int64           `json:"noteable_iid"`
	CommandChanges struct{}        `json:"commands_changes"`
}

func (s *Server) renderNote(r *http.Request, n *store.Note) noteEntity {
	var typ *string
	switch {
	case n.Position != nil:
		typ = strOrNil("DiffNote")
	case !n.Individual:
		typ = strOrNil("DiscussionNote")
	}
	out := noteEntity{ID: n.ID, Type: typ, Body: n.Body, Author: s.userOrNil(r, n.Author), CreatedAt: Time(n.CreatedAt),
		UpdatedAt: Time(n.UpdatedAt), System: n.System, NoteableID: n.NoteableID, NoteableType: n.On.Type, ProjectID: n.ProjectID,
		Position: renderPosition(n.Position), Resolvable: n.Resolvable, Confidential: n.Internal, Internal: n.Internal, Imported: true,
		ImportedFrom: importedFrom(n.Source.Type), NoteableIID: n.On.IID}
	if n.Resolvable {
		resolved := n.Resolved
		out.Resolved, out.ResolvedBy, out.ResolvedAt = &resolved, s.userOrNil(r, n.ResolvedBy), timeOrNil(n.ResolvedAt)
	}
	return out
}

type discussionEntity struct {
	ID             string       `json:"id"`
	IndividualNote bool         `json:"individual_note"`
	Notes          []noteEntity `json:"notes"`
}

func (s *Server) renderDiscussion(r *http.Request, d *store.Discussion) discussionEntity {
	out := discussionEntity{ID: d.ID, IndividualNote: d.Individual, Notes: make([]noteEntity, 0, len(d.Notes))}
	for _, n := range d.Notes {
		out.Notes = append(out.Notes, s.renderNote(r, n))
	}
	return out
}

type awardEmojiEntity struct {
	ID            int64      `json:"id"`
	Name          string     `json:"name"`
	User          *userBasic `json:"user"`
	CreatedAt     Time       `json:"created_at"`
	UpdatedAt     Time       `json:"updated_at"`
	AwardableID   int64      `json:"awardable_id"`
	AwardableType string     `json:"awardable_type"`
	URL           *string    `json:"url"`
}

func (s *Server) renderAwardEmoji(r *http.Request, e *store.AwardEmoji) awardEmojiEntity {
	return awardEmojiEntity{ID: e.ID, Name: e.Name, User: s.userOrNil(r, e.User), CreatedAt: Time(e.CreatedAt), UpdatedAt: Time(e.UpdatedAt),
		AwardableID: e.AwardableID, AwardableType: e.AwardableType}
}

type labelEntity struct {
	ID                     int64   `json:"id"`
	Name                   string  `json:"name"`
	Description            *string `json:"description"`
	DescriptionHTML        string  `json:"description_html"`
	TextColor              string  `json:"text_color"`
	Color                  string  `json:"color"`
	Subscribed             bool    `json:"subscribed"`
	Priority               *int    `json:"priority"`
	IsProjectLabel         bool    `json:"is_project_label"`
	OpenIssuesCount        int     `json:"open_issues_count"`
	ClosedIssuesCount      int     `json:"closed_issues_count"`
	OpenMergeRequestsCount int     `json:"open_merge_requests_count"`
	Archived               bool    `json:"archived"`
}

// textColor is GitLab's contrast colour for a label background.
func textColor(bg string) string {
	var r, g, b int
	if _, err := fmt.Sscanf(bg, "#%02x%02x%02x", &r, &g, &b); err != nil {
		return "#FFFFFF"
	}
	if r*299+g*587+b*114 > 128000 {
		return "#1F1E24"
	}
	return "#FFFFFF"
}

func renderLabel(l *store.Label) labelEntity {
	return labelEntity{ID: l.ID, Name: l.Name, Description: strOrNil(l.Description), DescriptionHTML: l.Description,
		TextColor: textColor(l.Color), Color: l.Color, IsProjectLabel: l.ProjectID != nil, OpenIssuesCount: l.OpenIssues,
		ClosedIssuesCount: l.ClosedIssues, OpenMergeRequestsCount: l.OpenMergeRequests}
}

type releaseLinkEntity struct {
	ID             int64  `json:"id"`
	Name           string `json:"name"`
	URL            string `json:"url"`
	DirectAssetURL string `json:"direct_asset_url"`
	LinkType       string `json:"link_type"`
}

type releaseEntity struct {
	Name            string     `json:"name"`
	TagName         string     `json:"tag_name"`
	Description     string     `json:"description"`
	CreatedAt       Time       `json:"created_at"`
	ReleasedAt      *Time      `json:"released_at"`
	UpcomingRelease bool       `json:"upcoming_release"`
	Author          *userBasic `json:"author,omitempty"`
	Commit          *struct {
		ID      string `json:"id"`
		ShortID string `json:"short_id"`
	} `json:"commit,omitempty"`
	CommitPath string `json:"commit_path,omitempty"`
	TagPath    string `json:"tag_path"`
	Assets     struct {
		Count   int `json:"count"`
		Sources []struct {
			Format string `json:"format"`
			URL    string `json:"url"`
		} `json:"sources"`
		Links []releaseLinkEntity `json:"links"`
	} `json:"assets"`
	Evidences []struct{} `json:"evidences"`
	Links     struct {
		Self string `json:"self"`
	} `json:"_links"`
}

func (s *Server) renderRelease(r *http.Request, rel *store.Release, p projectRef) releaseEntity {
	web := s.baseURL(r) + "/" + p.fullPath
	out := releaseEntity{Name: rel.Name, TagName: rel.TagName, Description: rel.Description, CreatedAt: Time(rel.CreatedAt),
		ReleasedAt: timeOrNil(rel.ReleasedAt), Author: s.userOrNil(r, rel.Author), TagPath: "/" + p.fullPath + "/-/tags/" + rel.TagName,
		Evidences: []struct{}{}}
	out.UpcomingRelease = rel.ReleasedAt != nil && rel.ReleasedAt.After(time.Now())
	if rel.CommitSHA != "" {
		out.Commit = &struct {
			ID      string `json:"id"`
			ShortID string `json:"short_id"`
		}{rel.CommitSHA, rel.CommitSHA[:min(8, len(rel.CommitSHA))]}
		out.CommitPath = "/" + p.fullPath + "/-/commit/" + rel.CommitSHA
	}
	for _, f := range []string{"zip", "tar.gz", "tar.bz2", "tar"} {
		out.Assets.Sources = append(out.Assets.Sources, struct {
			Format string `json:"format"`
			URL    string `json:"url"`
		}{f, fmt.Sprintf("%s/-/archive/%s/%s-%s.%s", web, rel.TagName, lastSegment(p.fullPath), rel.TagName, f)})
	}
	out.Assets.Links = []releaseLinkEntity{}
	for i, l := range rel.Links {
		out.Assets.Links = append(out.Assets.Links, releaseLinkEntity{ID: rel.ID*1000 + int64(i) + 1, Name: l.Name, URL: l.URL,
			DirectAssetURL: l.URL, LinkType: orOther(l.LinkType)})
	}
	out.Assets.Count = len(out.Assets.Sources) + len(out.Assets.Links)
	out.Links.Self = web + "/-/releases/" + rel.TagName
	return out
}

func orOther(s string) string {
	if s == "" {
		return "other"
	}
	return s
}

func lastSegment(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[i+1:]
		}
	}
	return p
}

type accessLevelEntity struct {
	ID                     int64  `json:"id"`
	AccessLevel            int    `json:"access_level"`
	AccessLevelDescription string `json:"access_level_description"`
	DeployKeyID            *int64 `json:"deploy_key_id"`
	UserID                 *int64 `json:"user_id"`
	GroupID                *int64 `json:"group_id"`
}

// protectedRefAccess names protected-branch access levels as GitLab's
// ProtectedRefAccess::HUMAN_ACCESS_LEVELS does.
var protectedRefAccess = map[ferry.AccessLevel]string{ferry.NoAccess: "No one",
	ferry.DeveloperAccess: "Developers + Maintainers", ferry.MaintainerAccess: "Maintainers", ferry.AdminAccess: "Admins"}

func accessLevel(id int64, l ferry.AccessLevel) []accessLevelEntity {
	desc := protectedRefAccess[l]
	if desc == "" {
		desc = fmt.Sprintf("Access level %d", l)
	}
	return []accessLevelEntity{{ID: id, AccessLevel: int(l), AccessLevelDescription: desc}}
}

type protectedBranchEntity struct {
	ID                        int64               `json:"id"`
	Name                      string              `json:"name"`
	PushAccessLevels          []accessLevelEntity `json:"push_access_levels"`
	MergeAccessLevels         []accessLevelEntity `json:"merge_access_levels"`
	UnprotectAccessLevels     []accessLevelEntity `json:"unprotect_access_levels"`
	AllowForcePush            bool                `json:"allow_force_push"`
	CodeOwnerApprovalRequired bool                `json:"code_owner_approval_required"`
	Inherited                 bool                `json:"inherited"`
}

func renderProtectedBranch(b *store.ProtectedBranch) protectedBranchEntity {
	return protectedBranchEntity{ID: b.ID, Name: b.Name, PushAccessLevels: accessLevel(b.ID*2, b.PushAccessLevel),
		MergeAccessLevels: accessLevel(b.ID*2+1, b.MergeAccessLevel), UnprotectAccessLevels: []accessLevelEntity{},
		AllowForcePush: b.AllowForcePush, CodeOwnerApprovalRequired: b.CodeOwnerApprovalRequired}
}
