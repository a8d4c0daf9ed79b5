package gitlabndjson

import (
	"encoding/json"
	"fmt"
	"time"
)

// TimeLayout is how GitLab's exports write timestamps (Rails' as_json).
const TimeLayout = "2006-01-02T15:04:05.000Z"

// Time is a timestamp written in GitLab's export layout, always UTC.
type Time struct{ time.Time }

// At wraps t; a zero t stays zero.
func At(t time.Time) Time { return Time{t.UTC()} }

// AtPtr wraps an optional time.
func AtPtr(t *time.Time) *Time {
	if t == nil {
		return nil
	}
	v := At(*t)
	return &v
}

// MarshalJSON implements json.Marshaler.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(t.UTC().Format(TimeLayout))
}

// UnmarshalJSON accepts GitLab's layout and any RFC 3339 time.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("time: %w", err)
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("time %q: %w", s, err)
	}
	t.Time = v.UTC()
	return nil
}

// Date renders a calendar date ("2024-03-01") or nil.
func Date(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := t.UTC().Format("2006-01-02")
	return &s
}

// Label types (the exported `type` method).
const (
	ProjectLabel = "ProjectLabel"
	GroupLabel   = "GroupLabel"
)

// Label is a line of labels, and the label nested in a label link.
type Label struct {
	Title       string `json:"title"`
	Color       string `json:"color"`
	Description string `json:"description"`
	Type        string `json:"type"`
	Template    bool   `json:"template"`
	CreatedAt   Time   `json:"created_at"`
	UpdatedAt   Time   `json:"updated_at"`
}

// Milestone is a line of milestones, and the milestone nested in an issue
// or merge request.
type Milestone struct {
	IID         int64   `json:"iid"`
	Title       string  `json:"title"`
	Description string  `json:"description"`
	State       string  `json:"state"` // active, closed
	StartDate   *string `json:"start_date"`
	DueDate     *string `json:"due_date"`
	CreatedAt   Time    `json:"created_at"`
	UpdatedAt   Time    `json:"updated_at"`
}

// LabelLink ties an issue or merge request to a label, which it nests.
type LabelLink struct {
	TargetType string `json:"target_type"` // Issue, MergeRequest
	CreatedAt  Time   `json:"created_at"`
	UpdatedAt  Time   `json:"updated_at"`
	Label      Label  `json:"label"`
}

// AwardEmoji is an emoji on an issue, a merge request or a note.
type AwardEmoji struct {
	Name          string `json:"name"`
	UserID        int64  `json:"user_id"`
	AwardableType string `json:"awardable_type"` // Issue, MergeRequest, Note
	CreatedAt     Time   `json:"created_at"`
	UpdatedAt     Time   `json:"updated_at"`
}

// NoteAuthor is the author nested in a note: only the name, which the
// importer shows when it cannot map author_id.
type NoteAuthor struct {
	Name string `json:"name"`
}

// Note types (the exported `type` method): nil for a plain comment.
const (
	DiscussionNote = "DiscussionNote"
	DiffNote       = "DiffNote"
)

// Note is a comment nested in an issue or merge request.
type Note struct {
	Note         string       `json:"note"`
	NoteableType string       `json:"noteable_type"`
	AuthorID     int64        `json:"author_id"`
	CreatedAt    Time         `json:"created_at"`
	UpdatedAt    Time         `json:"updated_at"`
	System       bool         `json:"system"`
	Internal     bool         `json:"internal"`
	Confidential bool         `json:"confidential"` // the older name of internal
	DiscussionID string       `json:"discussion_id"`
	Type         *string      `json:"type"`
	Position     *Position    `json:"position"`
	Original     *Position    `json:"original_position"`
	ResolvedAt   *Time        `json:"resolved_at"`
	ResolvedByID *int64       `json:"resolved_by_id"`
	Author       NoteAuthor   `json:"author"`
	AwardEmoji   []AwardEmoji `json:"award_emoji"`
}

// Position anchors a diff note, as GitLab's Gitlab::Diff::Position hash.
type Position struct {
	BaseSHA      string     `json:"base_sha"`
	StartSHA     string     `json:"start_sha"`
	HeadSHA      string     `json:"head_sha"`
	OldPath      string     `json:"old_path"`
	NewPath      string     `json:"new_path"`
	PositionType string     `json:"position_type"` // text, file
	OldLine      *int64     `json:"old_line"`
	NewLine      *int64     `json:"new_line"`
	LineRange    *LineRange `json:"line_range,omitempty"`
}

// LineRange is a multi-line diff note's first and last line.
type LineRange struct {
	Start LinePosition `json:"start"`
	End   LinePosition `json:"end"`
}

// LinePosition is one end of a line range.
type LinePosition struct {
	LineCode string `json:"line_code"`
	Type     string `json:"type,omitempty"` // new, old, or empty for context
	OldLine  *int64 `json:"old_line"`
	NewLine  *int64 `json:"new_line"`
}

// UserRef is a row naming a user by id: issue_assignees,
// merge_request_assignees, merge_request_reviewers, approvals.
type UserRef struct {
	UserID    int64  `json:"user_id"`
	CreatedAt *Time  `json:"created_at,omitempty"`
	UpdatedAt *Time  `json:"updated_at,omitempty"`
	State     string `json:"state,omitempty"` // reviewers: unreviewed, reviewed, requested_changes, approved
}

// ResourceLabelEvent is a label added to or removed from an issue or a
// merge request, nested in it, with the label nested as a label link's.
type ResourceLabelEvent struct {
	Action    string `json:"action"` // add, remove
	UserID    int64  `json:"user_id"`
	CreatedAt Time   `json:"created_at"`
	Label     *Label `json:"label"`
}

// ResourceMilestoneEvent is a milestone set on or taken off an issue or a
// merge request, nested in it, with the milestone nested; State is the
// item's state at the time.
type ResourceMilestoneEvent struct {
	Action    string     `json:"action"` // add, remove
	UserID    int64      `json:"user_id"`
	State     string     `json:"state"`
	CreatedAt Time       `json:"created_at"`
	Milestone *Milestone `json:"milestone"`
}

// ResourceStateEvent is a change of an issue's or merge request's state,
// nested in it.
type ResourceStateEvent struct {
	UserID       int64   `json:"user_id"`
	State        string  `json:"state"` // opened, closed, reopened, merged, locked
	CreatedAt    Time    `json:"created_at"`
	SourceCommit *string `json:"source_commit"`
}

// ResourceEvents are the three event lists an issue or a merge request
// nests (embedded: their keys sit beside the item's own).
type ResourceEvents struct {
	ResourceLabelEvents     []ResourceLabelEvent     `json:"resource_label_events"`
	ResourceMilestoneEvents []ResourceMilestoneEvent `json:"resource_milestone_events"`
	ResourceStateEvents     []ResourceStateEvent     `json:"resource_state_events"`
}

// Issue is a line of issues.
type Issue struct {
	IID              int64        `json:"iid"`
	Title            string       `json:"title"`
	Description      string       `json:"description"`
	State            string       `json:"state"` // opened, closed
	AuthorID         int64        `json:"author_id"`
	Confidential     bool         `json:"confidential"`
	DiscussionLocked bool         `json:"discussion_locked"`
	IssueType        string       `json:"issue_type"`
	CreatedAt        Time         `json:"created_at"`
	UpdatedAt        Time         `json:"updated_at"`
	ClosedAt         *Time        `json:"closed_at"`
	ClosedByID       *int64       `json:"closed_by_id"`
	DueDate          *string      `json:"due_date"` // YYYY-MM-DD
	Milestone        *Milestone   `json:"milestone,omitempty"`
	LabelLinks       []LabelLink  `json:"label_links"`
	IssueAssignees   []UserRef    `json:"issue_assignees"`
	AwardEmoji       []AwardEmoji `json:"award_emoji"`
	Notes            []Note       `json:"notes"`
	ResourceEvents
}

// MergeRequestMetrics carries who merged or closed a merge request, and when.
type MergeRequestMetrics struct {
	MergedByID       *int64 `json:"merged_by_id"`
	MergedAt         *Time  `json:"merged_at"`
	LatestClosedByID *int64 `json:"latest_closed_by_id"`
	LatestClosedAt   *Time  `json:"latest_closed_at"`
	CreatedAt        Time   `json:"created_at"`
	UpdatedAt        Time   `json:"updated_at"`
}

// MergeRequestDiff is the diff's refs (its commits and files are rebuilt
// from the repository, which direct transfer moves as a bundle).
type MergeRequestDiff struct {
	State          string `json:"state"`
	BaseCommitSHA  string `json:"base_commit_sha"`
	StartCommitSHA string `json:"start_commit_sha"`
	HeadCommitSHA  string `json:"head_commit_sha"`
	CreatedAt      Time   `json:"created_at"`
	UpdatedAt      Time   `json:"updated_at"`
}

// MergeRequest is a line of merge_requests.
type MergeRequest struct {
	IID                   int64               `json:"iid"`
	Title                 string              `json:"title"`
	Description           string              `json:"description"`
	State                 string              `json:"state"` // opened, closed, merged, locked
	AuthorID              int64               `json:"author_id"`
	SourceBranch          string              `json:"source_branch"`
	TargetBranch          string              `json:"target_branch"`
	SourceProjectID       int64               `json:"source_project_id"`
	TargetProjectID       int64               `json:"target_project_id"`
	Draft                 bool                `json:"draft"`
	DiscussionLocked      bool                `json:"discussion_locked"`
	MergeCommitSHA        *string             `json:"merge_commit_sha"`
	DiffHeadSHA           string              `json:"diff_head_sha"`
	SourceBranchSHA       string              `json:"source_branch_sha"`
	TargetBranchSHA       string              `json:"target_branch_sha"`
	CreatedAt             Time                `json:"created_at"`
	UpdatedAt             Time                `json:"updated_at"`
	Milestone             *Milestone          `json:"milestone,omitempty"`
	Metrics               MergeRequestMetrics `json:"metrics"`
	MergeRequestDiff      MergeRequestDiff    `json:"merge_request_diff"`
	LabelLinks            []LabelLink         `json:"label_links"`
	MergeRequestAssignees []UserRef           `json:"merge_request_assignees"`
	MergeRequestReviewers []UserRef           `json:"merge_request_reviewers"`
	Approvals             []UserRef           `json:"approvals"`
	AwardEmoji            []AwardEmoji        `json:"award_emoji"`
	Notes                 []Note              `json:"notes"`
	ResourceEvents
}

// ReleaseLink is an asset link nested in a release.
type ReleaseLink struct {
	URL      string `json:"url"`
	Name     string `json:"name"`
	Filepath string `json:"filepath,omitempty"`
	LinkType string `json:"link_type"`
}

// Release is a line of releases.
type Release struct {
	Tag         string        `json:"tag"`
	Name        string        `json:"name"`
	Description string        `json:"description"`
	SHA         string        `json:"sha"`
	AuthorID    *int64        `json:"author_id"`
	CreatedAt   Time          `json:"created_at"`
	UpdatedAt   Time          `json:"updated_at"`
	ReleasedAt  *Time         `json:"released_at"`
	Links       []ReleaseLink `json:"links"`
}

// AccessLevelRow is one access level of a protected branch.
type AccessLevelRow struct {
	AccessLevel int `json:"access_level"`
}

// ProtectedBranch is a line of protected_branches.
type ProtectedBranch struct {
	Name                      string           `json:"name"`
	AllowForcePush            bool             `json:"allow_force_push"`
	CodeOwnerApprovalRequired bool             `json:"code_owner_approval_required"`
	PushAccessLevels          []AccessLevelRow `json:"push_access_levels"`
	MergeAccessLevels         []AccessLevelRow `json:"merge_access_levels"`
}

// MemberUser is the user nested in a member.
type MemberUser struct {
	ID          int64  `json:"id"`
	Username    string `json:"username"`
	PublicEmail string `json:"public_email"`
}

// Member source types.
const (
	SourceProject   = "Project"
	SourceNamespace = "Namespace"
)

// Member is a line of project_members (projects) or members (groups).
type Member struct {
	AccessLevel int        `json:"access_level"`
	SourceType  string     `json:"source_type"`
	UserID      int64      `json:"user_id"`
	CreatedAt   Time       `json:"created_at"`
	UpdatedAt   Time       `json:"updated_at"`
	CreatedByID *int64     `json:"created_by_id"`
	ExpiresAt   *string    `json:"expires_at"`
	User        MemberUser `json:"user"`
}

// UserContribution is a line of user_contributions: a user the portable's
// content references by id.
type UserContribution struct {
	ID          int64  `json:"id"`
	Username    string `json:"username"`
	Name        string `json:"name"`
	PublicEmail string `json:"public_email"`
}

// Badge is a line of badges.
type Badge struct {
	Name     string `json:"name"`
	LinkURL  string `json:"link_url"`
	ImageURL string `json:"image_url"`
	Type     string `json:"type"` // GroupBadge, ProjectBadge
}

// Visibility levels as GitLab stores them.
const (
	VisibilityPrivate  = 0
	VisibilityInternal = 10
	VisibilityPublic   = 20
)

// ProjectSelf is the project's self.json.
type ProjectSelf struct {
	Name            string   `json:"name"`
	Path            string   `json:"path"`
	Description     string   `json:"description"`
	VisibilityLevel int      `json:"visibility_level"`
	DefaultBranch   string   `json:"default_branch,omitempty"`
	Topics          []string `json:"topics,omitempty"`
	CreatedAt       Time     `json:"created_at"`
	UpdatedAt       Time     `json:"updated_at"`
}

// GroupSelf is the group's self.json.
type GroupSelf struct {
	Name            string `json:"name"`
	Path            string `json:"path"`
	Description     string `json:"description"`
	VisibilityLevel int    `json:"visibility_level"`
}
