// Package forge is the neutral model of imported content: repositories,
// labels, milestones, issues, merge requests, notes and their discussions,
// reviews, approvals, releases, award emoji, resource events (label,
// milestone and state changes), protected branches, members and the source
// users who wrote them.
//
// Every object carries its source identity (SourceID: the source forge's
// type, its host and the object's id there) so the store can upsert it
// idempotently, and every user inside an object is a SourceUser, never a
// destination id: mapping people onto ferry users is the store's job.
//
// It must not know any source forge's API (source/…), any storage (store/)
// or HTTP: sources produce these types, the store consumes them. Access
// levels are ferry's (ferry.AccessLevel), the one definition of GitLab's
// role numbers.
package forge

// SourceID identifies an object on its source forge. ID is a string because
// forges disagree on what an id is (GitHub numbers, Bitbucket Server slugs,
// GitLab global ids).
type SourceID struct {
	Type string // "github", "bitbucket_server", "gitlab"
	Host string // source host, e.g. "github.com" or "git.example.com:7990"
	ID   string // the object's id on the source
}

// Source returns the identity; embedding SourceID gives every object its
// Source method.
func (s SourceID) Source() SourceID { return s }

// Object is anything an import writes: the engine hands pages of mixed
// objects to one sink.
type Object interface {
	Kind() string
	Source() SourceID
}

// Kinds of objects, as Object.Kind reports them.
const (
	KindRepository      = "repository"
	KindSourceUser      = "source_user"
	KindLabel           = "label"
	KindMilestone       = "milestone"
	KindIssue           = "issue"
	KindMergeRequest    = "merge_request"
	KindNote            = "note"
	KindDiscussion      = "discussion"
	KindReview          = "review"
	KindApproval        = "approval"
	KindRelease         = "release"
	KindAwardEmoji      = "award_emoji"
	KindProtectedBranch = "protected_branch"
	KindMember          = "member"
	KindClosure         = "closure"
)
