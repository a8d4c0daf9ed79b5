// Package importer is ferry's import engine. A source (source/github, …)
// is a small adapter that returns stages of named relations; the engine
// owns the one loop that fetches a relation's pages, writes each page and
// its checkpoint in one transaction, counts, records failures, waits out
// rate limits, honours cancel and advances stages. Imports run as durable
// jobs, so a worker killed at any instant resumes from the last checkpoint
// and, writes being idempotent upserts, never duplicates. When the last
// stage is done it verifies the import against what the source declared
// its items hold (Page.Expect) and lists every shortfall.
//
// It knows the forge model, the store and the queue; it must not know any
// source forge's API.
package importer

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/gitstore"
	"github.com/ferry-import/ferry/uploads"
)

// Relation pages through one named stream of one import: "labels",
// "issues", "pull_request_reviews"… It knows its forge and the forge model
// and nothing of storage, jobs, retries, rate limits or progress.
type Relation interface {
	Name() string
	// Fetch reads the page at cursor ("" for the first page). Page.Next is
	// "" when the relation is done.
	Fetch(ctx context.Context, cursor string) (Page, error)
}

// Page is one page of a relation.
type Page struct {
	Objects []forge.Object
	// Next is the cursor of the following page; "" ends the relation.
	Next string
	// Ahead are the cursors of the pages after Next, when the source lets
	// them be known in advance (numbered pages with a known last page):
	// the engine may fetch them concurrently. Pages are still written, and
	// checkpointed, one after another in order.
	Ahead []string
	// Total is how many source items the relation has, when the source
	// says (-1 or 0 when unknown); it feeds progress and the ETA.
	Total int64
	// Items is how many source items this page covered; 0 means
	// len(Objects) without followups.
	Items int
	// Failures are items of this page the source could not give (gone,
	// refused): recorded in the import's failure list with the page, while
	// the relation goes on.
	Failures []ItemFailure
	// Expect is what the page's items declare they hold, from counters
	// the source sent with them (an issue's comment count): when the import
	// ends the engine checks what landed against it and lists every
	// shortfall (Store.Verify). Stored with the page, so a page read again
	// declares again, never twice.
	Expect []ferry.Expectation
}

// ItemFailure is one item a relation could not bring.
type ItemFailure struct {
	SourceURL string // where the item lives at the source
	Title     string // what it is, for people reading the failure list
	Err       error
}

// Followup asks for per-item work later: a relation that lists pull
// requests emits one per pull request for the reviews relation. The engine
// stores followups with the page, in the same transaction, and hands them
// to the named relation through Env.Followups: the per-item relation's page
// is the next batch of parents that still need it, its cursor the last one
// done.
type Followup struct {
	Relation string // the relation that will consume it
	Key      string // what it needs, e.g. a pull request number
}

// Kind implements forge.Object; followups never reach the content store.
func (Followup) Kind() string { return "followup" }

// Source implements forge.Object.
func (Followup) Source() forge.SourceID { return forge.SourceID{} }

// Queued is a followup handed to its relation.
type Queued struct {
	Seq int64
	Key string
}

// Followups reads queued followups.
type Followups interface {
	// Next returns up to limit followups queued for relation with a
	// sequence number above after, in order.
	Next(ctx context.Context, relation string, after int64, limit int) ([]Queued, error)
}

// Stage is a set of relations run concurrently; stages run in order.
type Stage struct {
	Name      string
	Relations []Relation
}

// Critical marks a relation whose failure fails the whole import (the
// repository: without it nothing else makes sense).
type Critical interface {
	Critical() bool
}

// Env is what a source is given for one import.
type Env struct {
	ImportID  int64
	ProjectID int64 // the project an import of a project writes to; 0 for a group
	// NamespaceID is the group an import of a group (a GitLab migration's
	// group entity) writes to; 0 for an import of a project. Exactly one
	// of ProjectID and NamespaceID is set.
	NamespaceID int64
	SourceURL   string          // API base URL the import was started with
	SourceRef   string          // repository reference at the source
	Options     json.RawMessage // source-specific options (optional stages…)
	Credential  string          // opened source credential (the first of Credentials); never log it
	// Credentials are every credential the import was given
	// (ferry.JoinCredentials): several accounts' tokens or App
	// installations, whose budgets a source may spend together through
	// Pool. One for most imports.
	Credentials []string
	// HTTP is the client for source API calls: it dials only allowed
	// addresses, retries transient failures, waits out rate limits and
	// counts calls.
	HTTP *http.Client
	// Budget returns a client like HTTP for another rate-limit budget the
	// source keeps for the same credential (GitHub's GraphQL API counts
	// points apart from REST calls): its own governor, the same guard,
	// host and call accounting. Rate-limit waits of any budget show in the
	// import's status.
	Budget func(name string) *http.Client
	// Pool returns a client for the named budget ("" the main one) that
	// sends each request as one of Credentials — the one with the most of
	// that budget left (sourcehttp.Pool) — each under its own governor, its
	// waits shown as Budget's are. auth makes a request carry a credential,
	// around that credential's governed transport (a header, a token
	// minted for an App installation).
	Pool func(budget string, auth func(credential string, rt http.RoundTripper) http.RoundTripper) *http.Client
	// Git holds the destination repositories.
	Git *gitstore.Store
	// Downloads fetches files that bodies link to (attachments), which
	// live outside the API host: it dials only addresses the guard allows,
	// retries transient failures and counts calls, but it adds no
	// credential and allows any host. The source decides which links are
	// its forge's attachments, fetches only those, and adds the credential
	// itself where its forge expects it. Nil when the engine has no upload
	// store.
	Downloads *http.Client
	// Uploads holds downloaded files by digest; a source stores the bytes
	// there and emits forge.Upload with the digest.
	Uploads   *uploads.Store
	Followups Followups
	Log       *slog.Logger
}

// Source builds the stages of an import from one kind of forge.
type Source interface {
	// Type is the import_type: "github", "bitbucket_server", "gitlab".
	Type() string
	// Stages returns the import's stages. It is called at every job run,
	// so it must be deterministic and cheap (no source calls).
	Stages(ctx context.Context, env *Env) ([]Stage, error)
}

// ObjectTyper is implemented by a source that names object types in the
// import stats its own way, as GitLab's importers do ("pull_request",
// "pull_request_review" for GitHub); "" falls back to the forge kind.
type ObjectTyper interface {
	ObjectType(relation string, o forge.Object) string
}

// Permanent wraps an error the engine must not retry (a 404 for an item, a
// token without access): the relation records it and goes on or fails.
type Permanent struct{ Err error }

func (p *Permanent) Error() string { return p.Err.Error() }
func (p *Permanent) Unwrap() error { return p.Err }
