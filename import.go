package ferry

import "time"

// Import statuses, as GitLab's import_status.
const (
	ImportNone      = "none"
	ImportScheduled = "scheduled"
	ImportStarted   = "started"
	ImportFinished  = "finished"
	ImportFailed    = "failed"
	ImportCanceled  = "canceled"
)

// Timeout strategies, as GitLab's timeout_strategy: what happens to an
// import whose stage makes no progress for too long.
const (
	// TimeoutPessimistic fails the import (GitLab's default).
	TimeoutPessimistic = "pessimistic"
	// TimeoutOptimistic gives the stalled stage up and goes on.
	TimeoutOptimistic = "optimistic"
)

// ValidTimeoutStrategy reports whether s is one of the timeout strategies.
func ValidTimeoutStrategy(s string) bool { return s == TimeoutPessimistic || s == TimeoutOptimistic }

// ImportDone reports whether an import status is final.
func ImportDone(status string) bool {
	return status == ImportFinished || status == ImportFailed || status == ImportCanceled
}

// Import is one project import: where from, how, and how far it got.
type Import struct {
	ID int64
	// ProjectID is the project an import of a project writes to, and
	// NamespaceID the group an import of a group (a GitLab migration's
	// group entity) writes to: exactly one is set, the other is 0.
	ProjectID   int64
	NamespaceID int64
	UserID      int64  // who started it
	SourceType  string // github, bitbucket_server, gitlab
	SourceURL   string // API base URL
	SourceRef   string // repository id or path at the source
	Options     string // JSON of source-specific options
	// TimeoutStrategy is TimeoutPessimistic or TimeoutOptimistic; empty
	// is stored as TimeoutPessimistic.
	TimeoutStrategy string
	// SealedCredential is the source credential encrypted at rest; empty
	// once the import has ended.
	SealedCredential string
	Status           string
	Stage            string
	StageIndex       int
	Error            string
	CorrelationID    string
	PendingRelations int
	RateLimitUntil   *time.Time
	LastProgressAt   time.Time
	CreatedAt        time.Time
	StartedAt        *time.Time
	FinishedAt       *time.Time
	UpdatedAt        time.Time
}

// Relation states.
const (
	RelationPending = "pending"
	RelationDone    = "done"
	RelationFailed  = "failed"
)

// ImportRelation is the checkpoint of one relation of an import.
type ImportRelation struct {
	ImportID   int64
	StageIndex int
	Stage      string
	Name       string
	Cursor     string
	Fetched    int64
	Imported   int64
	Failed     int64
	Total      int64 // -1 when the source does not say
	State      string
	Error      string
	UpdatedAt  time.Time
	// Transfer is the relation's transfer in flight, while a page is one
	// long step (a repository's git fetch); zero when there is none.
	Transfer Transfer
}

// Transfer is how far a relation's one long step has come, in its own
// unit (git objects received out of the total the source announced): it
// gives the ETA a rate before the relation has written a page.
type Transfer struct {
	Done, Total int64
	StartedAt   *time.Time
}

// secondsLeft is the transfer's own ETA at its rate so far, or false.
func (t Transfer) secondsLeft(now time.Time) (int64, bool) {
	if t.Total <= 0 || t.Done <= 0 || t.StartedAt == nil {
		return 0, false
	}
	elapsed := now.Sub(*t.StartedAt).Seconds()
	if elapsed <= 0 {
		return 0, false
	}
	return int64(float64(max(t.Total-t.Done, 0)) / (float64(t.Done) / elapsed)), true
}

// ImportBudget is what an import last saw of one of its credentials'
// rate-limit budgets at the source.
type ImportBudget struct {
	Credential int    // 1-based, in the order the import was given them
	Kind       string // CredentialKind: never any part of a secret
	Budget     string // "" the source's main budget; "graphql" for GitHub's GraphQL points
	Remaining  int64  // -1 when the source has not said
	Limit      int64  // -1 when the source has not said
	ResetAt    *time.Time
	UpdatedAt  time.Time
}

// Equal tells whether two readings say the same (UpdatedAt aside).
func (b ImportBudget) Equal(o ImportBudget) bool {
	sameReset := (b.ResetAt == nil) == (o.ResetAt == nil) && (b.ResetAt == nil || b.ResetAt.Equal(*o.ResetAt))
	return b.Credential == o.Credential && b.Kind == o.Kind && b.Budget == o.Budget && b.Remaining == o.Remaining && b.Limit == o.Limit && sameReset
}

// ImportFailure is one item (or relation) that could not be imported.
type ImportFailure struct {
	ID               int64
	ImportID         int64
	Relation         string
	SourceURL        string
	SourceTitle      string
	ExceptionClass   string
	ExceptionMessage string
	CorrelationID    string
	CreatedAt        time.Time
}

// ImportStat counts one object type of an import.
type ImportStat struct {
	ObjectType string
	Fetched    int64
	Imported   int64
}

// Expectation is what a source declared an item holds, read from what it
// sent anyway (a GitHub issue's comments counter, a GitLab merge request's
// user_notes_count): when the import ends, the engine counts what landed
// and lists every shortfall as a failure. Expectations of the same Type on
// the same item from several relations add up.
type Expectation struct {
	// Type names the check in the verification summary ("issue_comments",
	// "reactions", "user_notes"…).
	Type string
	// OnType and OnIID are the issue or merge request (forge.OnIssue,
	// forge.OnMergeRequest); NoteID, when set, is the source id of a note
	// of it, for what hangs on the note (its award emoji).
	OnType string
	OnIID  int64
	NoteID string
	// What is counted: forge.KindNote or forge.KindAwardEmoji objects of
	// the item (or of the note), whose source id starts with Prefix; with
	// UserOnly, notes that are not system notes; with Emoji, award emoji of
	// that name only. On the project as a whole: forge.KindIssue or
	// forge.KindMergeRequest for a list's total, or KindGitRefs for the
	// refs of its repository whose names start with Prefix.
	Kind     string
	Prefix   string
	UserOnly bool
	Emoji    string
	Count    int64
	// SourceURL and Title name the item in the failure a shortfall makes.
	SourceURL string
	Title     string
}

// KindGitRefs is the Expectation kind of a repository's refs: what a
// source advertised when it was mirrored, by where they land (Prefix
// "refs/heads/", "refs/tags/", "refs/merge-requests/").
const KindGitRefs = "git_refs"

// GitRefsCheck names the verification check of refs landing under prefix.
func GitRefsCheck(prefix string) string {
	switch prefix {
	case "refs/heads/":
		return "branches"
	case "refs/tags/":
		return "tags"
	case "refs/merge-requests/":
		return "merge_request_refs"
	}
	return "refs " + prefix
}

// VerificationCheck sums one Type of expectation over an import: what the
// source declared, what landed on those items, and the shortfall (items
// holding more than declared do not offset the others).
type VerificationCheck struct {
	ObjectType string
	Expected   int64
	Imported   int64
	Missing    int64
}

// SecondsLeft estimates the seconds an import still needs: the items left
// of the relations whose totals are known, over the rate so far, plus the
// longest transfer in flight at its own rate (a repository being fetched:
// the relations of a stage run together), plus a rate-limit wait. Nil when
// nothing is known yet (no totals, nothing read, no transfer) or the
// import has ended. Relations of unknown length are not counted, so it is
// a lower bound while some remain.
func (im *Import) SecondsLeft(rels []*ImportRelation, now time.Time) *int64 {
	if ImportDone(im.Status) || im.StartedAt == nil {
		return nil
	}
	var done, left, transfer int64
	known, moving := false, false
	for _, r := range rels {
		done += r.Fetched
		if r.Total >= 0 {
			known = true
			if r.State == RelationPending {
				left += max(r.Total-r.Fetched, 0)
			}
		}
		if r.State == RelationPending {
			if t, ok := r.Transfer.secondsLeft(now); ok {
				transfer, moving = max(transfer, t), true
			}
		}
	}
	elapsed := now.Sub(*im.StartedAt).Seconds()
	var secs int64
	switch {
	case known && done > 0 && elapsed > 0:
		secs = int64(float64(left)/(float64(done)/elapsed)) + transfer
	case moving:
		secs = transfer
	default:
		return nil
	}
	if im.RateLimitUntil != nil && im.RateLimitUntil.After(now) {
		secs += int64(im.RateLimitUntil.Sub(now).Seconds())
	}
	return &secs
}

// ErrIfEnded is GitLab's refusal to cancel an import that has ended (400
// "The import cannot be canceled because it is finished"), or nil.
func (im *Import) ErrIfEnded() error {
	if ImportDone(im.Status) {
		return Errorf(EBADREQUEST, "The import cannot be canceled because it is %s", im.Status)
	}
	return nil
}
