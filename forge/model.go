package forge

import (
	"time"

	"github.com/ferry-import/ferry"
)

// SourceUser is a person on the source forge. Inside another object, an
// empty Type or Host means "the same as the object's".
type SourceUser struct {
	SourceID        // ID: the source's stable user id (GitHub numeric id, Bitbucket slug)
	Login    string // username on the source
	Name     string // display name
	Email    string // public e-mail, if the source shows one
}

func (SourceUser) Kind() string { return KindSourceUser }

// Repository is the metadata of the imported repository.
type Repository struct {
	SourceID
	Description   string
	DefaultBranch string
	Visibility    string // private, internal, public
	Topics        []string
}

func (Repository) Kind() string { return KindRepository }

// Label is a project label.
type Label struct {
	SourceID
	Name        string
	Color       string // "#rrggbb"
	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

func (Label) Kind() string { return KindLabel }

// Milestone states.
const (
	MilestoneActive = "active"
	MilestoneClosed = "closed"
)

// Milestone keeps the source number as its iid.
type Milestone struct {
	SourceID
	IID         int64
	Title       string
	Description string
	State       string     // active, closed
	StartDate   *time.Time // a date, UTC midnight
	DueDate     *time.Time // a date, UTC midnight
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

func (Milestone) Kind() string { return KindMilestone }

// Issue and merge request states.
const (
	StateOpened = "opened"
	StateClosed = "closed"
	StateMerged = "merged"
	StateLocked = "locked"
)

// Issue keeps the source number as its iid. Labels are referenced by name
// and the milestone by iid, as the sources do.
type Issue struct {
	SourceID
	IID          int64
	Title        string
	Description  string
	State        string // opened, closed
	Confidential bool
	Locked       bool // discussion locked
	Author       SourceUser
	Assignees    []SourceUser
	Labels       []string
	MilestoneIID int64 // 0 = none
	// DueDate is the day it is due (its date in UTC); nil for none.
	DueDate   *time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
	ClosedAt  *time.Time
	ClosedBy  *SourceUser
}

func (Issue) Kind() string { return KindIssue }

// MergeRequest keeps the source number as its iid.
type MergeRequest struct {
	SourceID
	IID            int64
	Title          string
	Description    string
	State          string // opened, closed, merged, locked
	Draft          bool
	Locked         bool // discussion locked
	SourceBranch   string
	TargetBranch   string
	SourceSHA      string // head of the source branch
	TargetSHA      string // head of the target branch when last seen
	BaseSHA        string // merge base, when the source knows it
	MergeCommitSHA string
	Author         SourceUser
	Assignees      []SourceUser
	Reviewers      []SourceUser
	Labels         []string
	MilestoneIID   int64
	CreatedAt      time.Time
	UpdatedAt      time.Time
	MergedBy       *SourceUser
	MergedAt       *time.Time
	ClosedBy       *SourceUser
	ClosedAt       *time.Time
}

func (MergeRequest) Kind() string { return KindMergeRequest }

// Noteable types.
const (
	OnIssue        = "Issue"
	OnMergeRequest = "MergeRequest"
)

// Noteable points at the issue or merge request a note, emoji or review
// belongs to, by iid (the source number), so children need not wait for
// their parent's destination id.
type Noteable struct {
	Type string // OnIssue, OnMergeRequest
	IID  int64
}

// Note is one comment. Notes sharing a DiscussionID form a thread; an empty
// DiscussionID makes the note its own, individual discussion.
type Note struct {
	SourceID
	On           Noteable
	DiscussionID string // source key of the thread (e.g. the root comment's id)
	Body         string
	Author       SourceUser
	System       bool
	Internal     bool
	Resolvable   bool
	Resolved     bool
	ResolvedBy   *SourceUser
	ResolvedAt   *time.Time
	Position     *DiffPosition // diff notes only
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

func (Note) Kind() string { return KindNote }

// Discussion is a thread given as a whole; its notes take its id as their
// DiscussionID. Writing a Discussion writes its notes.
type Discussion struct {
	SourceID
	On    Noteable
	Notes []Note
}

func (Discussion) Kind() string { return KindDiscussion }

// DiffPosition anchors a diff note, as GitLab's position: the diff refs,
// the paths and the line on the old and/or new side.
type DiffPosition struct {
	BaseSHA   string
	StartSHA  string
	HeadSHA   string
	OldPath   string
	NewPath   string
	OldLine   int64 // 0 = not on the old side
	NewLine   int64 // 0 = not on the new side
	LineRange *LineRange
	Type      string // "text" (default) or "file"
}

// LineRange is a multi-line comment's first and last line.
type LineRange struct {
	Start LinePosition
	End   LinePosition
}

// LinePosition is one end of a line range.
type LinePosition struct {
	LineCode string
	Type     string // "new", "old" or "" (context)
	OldLine  int64
	NewLine  int64
}

// Review states.
const (
	ReviewApproved         = "approved"
	ReviewChangesRequested = "changes_requested"
	ReviewCommented        = "commented"
)

// Review is a merge request review. An approved review also counts as an
// approval by its author.
type Review struct {
	SourceID
	MergeRequestIID int64
	State           string
	Body            string
	Author          SourceUser
	SubmittedAt     time.Time
}

func (Review) Kind() string { return KindReview }

// Approval is an approval without a review (Bitbucket Server's APPROVED
// activity, GitLab's approvals).
type Approval struct {
	SourceID
	MergeRequestIID int64
	User            SourceUser
	ApprovedAt      time.Time
}

func (Approval) Kind() string { return KindApproval }

// Release of a tag.
type Release struct {
	SourceID
	TagName     string
	Name        string
	Description string
	Author      *SourceUser
	CommitSHA   string
	CreatedAt   time.Time
	ReleasedAt  *time.Time
	Links       []ReleaseLink
}

func (Release) Kind() string { return KindRelease }

// ReleaseLink is an asset link of a release.
type ReleaseLink struct {
	Name     string
	URL      string
	LinkType string // other, runbook, image, package
}

// AwardEmoji is a reaction on an issue, a merge request or a note. For a
// note, NoteID is the note's source id and On names the note's parent.
type AwardEmoji struct {
	SourceID
	On        Noteable
	NoteID    string // "" when the emoji is on the issue or merge request itself
	Name      string // GitLab emoji name: thumbsup, tada…
	User      SourceUser
	CreatedAt time.Time
	UpdatedAt time.Time
}

func (AwardEmoji) Kind() string { return KindAwardEmoji }

// ProtectedBranch is a branch name or wildcard pattern with its rules.
type ProtectedBranch struct {
	SourceID
	Name                      string // "main" or "release/*"
	PushAccessLevel           ferry.AccessLevel
	MergeAccessLevel          ferry.AccessLevel
	AllowForcePush            bool
	CodeOwnerApprovalRequired bool
}

func (ProtectedBranch) Kind() string { return KindProtectedBranch }

// Member is a source user's role on the project, or on the group a
// group import writes to.
type Member struct {
	SourceID
	User        SourceUser
	AccessLevel ferry.AccessLevel
}

func (Member) Kind() string { return KindMember }

// KindBadge is Badge's kind.
const KindBadge = "badge"

// Badge is a group's or a project's badge: an image linking somewhere,
// both URLs possibly holding GitLab's placeholders (%{project_path}…),
// which are rendered when the badge is read, not when it is imported.
type Badge struct {
	SourceID
	Name     string
	LinkURL  string // http(s)
	ImageURL string // http(s)
}

func (Badge) Kind() string { return KindBadge }

// KindUpload is Upload's kind.
const KindUpload = "upload"

// MaxUploadURL bounds Upload.URL in bytes: the store keys uploads by it in
// a unique index, so a source queues no longer link.
const MaxUploadURL = 2048

// Upload is a file that bodies link to (a Markdown attachment), whose bytes
// the source already stored by digest (package uploads). Writing it records
// it for the project and relinks every body that links to URL; bodies
// written later are relinked as they are written.
type Upload struct {
	SourceID           // ID: the link as bodies carry it, like URL
	URL         string // the link exactly as it appears in bodies (mdlink), at most MaxUploadURL bytes
	Filename    string // last segment of the served path, uploads.ValidFilename
	ContentType string // sniffed from the content, not the source's word
	Size        int64
	SHA256      string // lowercase hex digest of the stored bytes
}

func (Upload) Kind() string { return KindUpload }

// Closure says who closed or merged an issue or merge request, learnt from
// an event after the item was written (GitHub's lists do not say who
// merged): writing it changes only that on the existing item.
type Closure struct {
	SourceID
	On     Noteable
	Merged bool // merged (a merge request); else closed
	By     SourceUser
	At     time.Time
}

func (Closure) Kind() string { return KindClosure }

// KindResourceEvent is ResourceEvent's kind.
const KindResourceEvent = "resource_event"

// Resource event types: what a ResourceEvent changed.
const (
	EventLabel     = "label"
	EventState     = "state"
	EventMilestone = "milestone"
)

// Resource event actions of label and milestone events.
const (
	ActionAdd    = "add"
	ActionRemove = "remove"
)

// Resource event states beyond the issuable states: GitLab records a
// reopening as its own state.
const StateReopened = "reopened"

// ResourceEvent is one change of an issue's or merge request's labels,
// milestone or state, as GitLab's resource events record them (who, when,
// what). System notes saying the same are separate objects: GitLab shows
// both. The label is named by name and the milestone by iid, or by title
// when the source knows none (GitHub's events), as items name theirs.
type ResourceEvent struct {
	SourceID
	On             Noteable
	Event          string // EventLabel, EventState, EventMilestone
	Action         string // label and milestone events: ActionAdd, ActionRemove
	Label          string // label events: the label's name
	LabelColor     string // "#rrggbb" if the event says; shown when the label is gone
	MilestoneIID   int64  // milestone events: 0 = by MilestoneTitle
	MilestoneTitle string
	State          string // state events: opened, closed, reopened, merged, locked
	Author         SourceUser
	CreatedAt      time.Time
}

func (ResourceEvent) Kind() string { return KindResourceEvent }

// Every kind is an Object.
var (
	_ Object = SourceUser{}
	_ Object = Repository{}
	_ Object = Label{}
	_ Object = Milestone{}
	_ Object = Issue{}
	_ Object = MergeRequest{}
	_ Object = Note{}
	_ Object = Discussion{}
	_ Object = Review{}
	_ Object = Approval{}
	_ Object = Release{}
	_ Object = AwardEmoji{}
	_ Object = ProtectedBranch{}
	_ Object = Member{}
	_ Object = Badge{}
	_ Object = Closure{}
	_ Object = Upload{}
	_ Object = ResourceEvent{}
)
