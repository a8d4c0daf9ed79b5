package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	gh "github.com/google/go-github/v92/github"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/gitstore"
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/source/internal/paging"
)

// Type is the import_type of this source.
const Type = "github"

// DefaultPerPage is GitHub's (and GitLab's importer's) widest page.
const DefaultPerPage = 100

// Options are the source-specific options of an import (Env.Options).
type Options struct {
	SingleEndpointNotesImport bool `json:"single_endpoint_notes_import"`
	// AttachmentsImport downloads the files bodies link to from GitHub's
	// attachment store and relinks them to ferry's uploads (attachments.go).
	AttachmentsImport   bool `json:"attachments_import"`
	CollaboratorsImport bool `json:"collaborators_import"`
	// PaginationLimit is the page size of list calls, 1–100; 0 means 100.
	PaginationLimit int `json:"pagination_limit"`
	// FullName ("owner/name", RepoInfo.FullName) lets relations address the
	// repository without asking for it first when SourceRef is a numeric
	// id. Without it every relation job that needs the path spends one
	// GET /repositories/:id.
	FullName string `json:"full_name,omitempty"`
}

func parseOptions(raw json.RawMessage) (Options, error) {
	var o Options
	if err := paging.DecodeOptions(raw, &o, "github"); err != nil {
		return o, err
	}
	var err error
	if o.PaginationLimit, err = paging.PageSize(o.PaginationLimit, DefaultPerPage, "github", "pagination_limit"); err != nil {
		return o, err
	}
	if o.FullName != "" && !validFullName(o.FullName) {
		return o, fmt.Errorf("github options: full_name %q is not owner/name", o.FullName)
	}
	return o, nil
}

func validFullName(s string) bool {
	owner, name, ok := strings.Cut(s, "/")
	return ok && owner != "" && name != "" && !strings.Contains(name, "/") && owner != ".." && name != ".."
}

// Source imports one GitHub repository. The zero value is ready to use.
type Source struct {
	// noGraphQL remembers the GraphQL endpoints found unavailable, so that
	// later jobs of an import (and other imports) do not ask again.
	noGraphQL gqlMemo
	// apps shares GitHub App installation tokens between runs.
	apps installations
}

// New returns the GitHub source.
func New() *Source { return &Source{} }

// Type implements importer.Source.
func (*Source) Type() string { return Type }

// Stages implements importer.Source. Env.SourceURL is the API base
// (APIBase's result); Env.SourceRef the numeric repository id, or
// "owner/name".
func (s *Source) Stages(_ context.Context, env *importer.Env) ([]importer.Stage, error) {
	r, err := newRun(env, s)
	if err != nil {
		return nil, err
	}
	base := []importer.Relation{r.labels(), r.milestones(), r.releases(), r.protectedBranches()}
	if r.opts.CollaboratorsImport {
		base = append(base, r.collaborators())
	}
	notes := []importer.Relation{r.issues()}
	if !r.opts.SingleEndpointNotesImport {
		notes = append(notes, r.issueComments(), r.reviewComments())
	}
	stages := []importer.Stage{
		{Name: "repository", Relations: []importer.Relation{paging.Critical(relRepository, r.repository)}},
		{Name: "base_data", Relations: base},
		{Name: "pull_requests", Relations: []importer.Relation{r.pullRequests()}},
		{Name: "issues_and_notes", Relations: notes},
	}
	if r.opts.SingleEndpointNotesImport {
		// Fed by issues and pull_requests, so a stage of their own.
		stages = append(stages, importer.Stage{Name: "notes", Relations: []importer.Relation{r.itemComments(), r.itemReviewComments()}})
	}
	stages = append(stages,
		// Issue events after the issues they close are stored: a closure
		// changes an item that must exist.
		importer.Stage{Name: "details", Relations: []importer.Relation{r.pullRequestDetails(), r.reactions(), r.issueEvents()}},
		// Last but LFS: every relation before may queue users.
		importer.Stage{Name: "users", Relations: []importer.Relation{r.users()}},
		importer.Stage{Name: "lfs_objects", Relations: []importer.Relation{r.lfsObjects()}},
	)
	if r.opts.AttachmentsImport {
		// Last: every body that links an attachment is stored by then, so
		// writing an upload relinks them all (attachments.go).
		stages = append(stages, importer.Stage{Name: "attachments", Relations: []importer.Relation{r.attachments().Relation()}})
	}
	return stages, nil
}

// run is one job run's view of an import: the client and what relations
// share. Stages is called at every job run, so nothing here may be needed
// across runs.
type run struct {
	env     *importer.Env
	opts    Options
	client  *gh.Client
	auth    *auth
	base    *url.URL // API base, with a trailing slash
	host    string   // forge.SourceID.Host
	perPage int
	// gql reads per-item data many items a query (graphql.go); nil when
	// the engine gives no GraphQL budget.
	gql *gqlClient

	fetchMu sync.Mutex // one repository lookup at a time
	mu      sync.Mutex
	repo    *repoMeta    // the repository as GET /repositories/:id told
	prsMu   sync.Mutex   // held while the numbers are read, apart from mu
	prs     map[int]bool // pull request numbers queued by pull_requests
	// gqlChunk is how many nodes a GraphQL query asks for (under mu).
	gqlChunk int
}

// repoMeta is what relations need to know about the repository.
type repoMeta struct {
	FullName string
}

// newRun builds a run; src (nil in tests) shares what runs learn: the
// installations' tokens and the GraphQL endpoints found unavailable.
func newRun(env *importer.Env, src *Source) (*run, error) {
	var apps *installations
	var memo *gqlMemo
	if src != nil {
		apps, memo = &src.apps, &src.noGraphQL
	}
	if env == nil {
		return nil, errors.New("github: no import environment")
	}
	opts, err := parseOptions(env.Options)
	if err != nil {
		return nil, err
	}
	if env.SourceRef == "" {
		return nil, errors.New("github: no repository reference")
	}
	if !strings.Contains(env.SourceRef, "/") {
		if _, err := strconv.ParseInt(env.SourceRef, 10, 64); err != nil {
			return nil, fmt.Errorf("github: repository reference %q is neither an id nor owner/name", env.SourceRef)
		}
	} else if !validFullName(env.SourceRef) {
		return nil, fmt.Errorf("github: repository reference %q is neither an id nor owner/name", env.SourceRef)
	}
	apiBase := env.SourceURL
	if apiBase == "" {
		apiBase = githubAPI
	}
	client, base, a, err := newClient(env.HTTP, apiBase, env.Credential, apps)
	if err != nil {
		return nil, err
	}
	r := &run{env: env, opts: opts, client: client, auth: a, base: base, host: sourceHost(base), perPage: opts.PaginationLimit}
	if env.Budget != nil {
		r.gql = &gqlClient{hc: a.client(env.Budget(gqlBudget)), url: graphqlURL(base), token: a.token, memo: memo}
	}
	if len(env.Credentials) > 1 && env.Pool != nil {
		if err := r.pooled(apps, memo); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// pooled makes the run spend the budgets of every credential the import
// was given (several accounts' tokens, App installations): each REST call
// and GraphQL query goes as the credential with the most of its budget
// left (importer.Env.Pool), each under its own governors. git and LFS keep
// the first credential: clones do not count against the API's budgets.
func (r *run) pooled(apps *installations, memo *gqlMemo) error {
	for _, cred := range r.env.Credentials {
		if _, _, err := ferry.ParseGitHubApp(cred); err != nil {
			return fmt.Errorf("github: %w", err)
		}
	}
	// An installation's tokens are minted through its own governed
	// transport: minting through another credential's would stop when
	// that one's budget is spent.
	as := func(cred string, rt http.RoundTripper) http.RoundTripper {
		a, err := newAuth(&http.Client{Transport: rt}, r.base.String(), cred, apps)
		if err != nil {
			return errTransport{err}
		}
		return &authTransport{base: rt, a: a}
	}
	s := r.base.String()
	c, err := gh.NewClient(gh.WithHTTPClient(r.env.Pool("", as)), gh.WithURLs(&s, &s), gh.WithDisableRateLimitCheck())
	if err != nil {
		return fmt.Errorf("github client: %w", err)
	}
	r.client = c
	if r.gql != nil {
		r.gql = &gqlClient{hc: r.env.Pool(gqlBudget, as), url: graphqlURL(r.base), memo: memo}
	}
	return nil
}

// newClient builds a go-github client on the given HTTP client, with the
// credential (a token, or a GitHub App installation: credential.go).
// go-github's own rate-limit bookkeeping is off: the HTTP client waits
// limits out, and go-github would otherwise refuse calls up front.
func newClient(hc *http.Client, apiBase, credential string, apps *installations) (*gh.Client, *url.URL, *auth, error) {
	if hc == nil {
		return nil, nil, nil, errors.New("github: no HTTP client")
	}
	base, err := paging.BaseURL(apiBase, "github: API base")
	if err != nil {
		return nil, nil, nil, err
	}
	a, err := newAuth(hc, base.String(), credential, apps)
	if err != nil {
		return nil, nil, nil, err
	}
	s := base.String()
	// The base is complete (APIBase added /api/v3 where GitHub Enterprise
	// needs it), so WithURLs rather than WithEnterpriseURLs, which would
	// append /api/v3/ to a base with another /api/ path.
	opts := []gh.ClientOptionsFunc{gh.WithHTTPClient(a.client(hc)), gh.WithURLs(&s, &s), gh.WithDisableRateLimitCheck()}
	if a.token != "" {
		opts = append(opts, gh.WithAuthToken(a.token))
	}
	c, err := gh.NewClient(opts...)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("github client: %w", err)
	}
	return c, base, a, nil
}

// sourceHost names the forge in source ids: github.com for its API host.
func sourceHost(base *url.URL) string {
	if strings.EqualFold(base.Host, "api.github.com") {
		return "github.com"
	}
	return strings.ToLower(base.Host)
}

func (r *run) sid(id string) forge.SourceID { return forge.SourceID{Type: Type, Host: r.host, ID: id} }

// credential is how git authenticates to GitHub: any user name with the
// token of the moment as password.
func (r *run) credential() gitstore.Credential { return r.auth.git() }

// fetchRepo asks GitHub for the repository and remembers what relations
// need of it.
func (r *run) fetchRepo(ctx context.Context) (*gh.Repository, error) {
	var repo *gh.Repository
	var err error
	if owner, name, ok := strings.Cut(r.env.SourceRef, "/"); ok {
		repo, _, err = r.client.Repositories.Get(ctx, owner, name)
	} else {
		id, _ := strconv.ParseInt(r.env.SourceRef, 10, 64) // checked by newRun
		repo, _, err = r.client.Repositories.GetByID(ctx, id)
	}
	if err != nil {
		return nil, fmt.Errorf("get repository %s: %w", r.env.SourceRef, classify(err))
	}
	if !validFullName(repo.GetFullName()) {
		return nil, &importer.Permanent{Err: fmt.Errorf("repository %s has no usable full name %q", r.env.SourceRef, repo.GetFullName())}
	}
	m := &repoMeta{FullName: repo.GetFullName()}
	r.mu.Lock()
	r.repo = m
	r.mu.Unlock()
	return repo, nil
}

// meta returns the repository's metadata, asking GitHub only if no
// relation of this run has yet; concurrent callers share one call.
func (r *run) meta(ctx context.Context) (*repoMeta, error) {
	r.fetchMu.Lock()
	defer r.fetchMu.Unlock()
	r.mu.Lock()
	m := r.repo
	r.mu.Unlock()
	if m != nil {
		return m, nil
	}
	if _, err := r.fetchRepo(ctx); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.repo, nil
}

// repoPath is "owner/name" for repos/… URLs, at no cost when SourceRef or
// the options carry it.
func (r *run) repoPath(ctx context.Context) (string, error) {
	if strings.Contains(r.env.SourceRef, "/") {
		return r.env.SourceRef, nil
	}
	if r.opts.FullName != "" {
		return r.opts.FullName, nil
	}
	m, err := r.meta(ctx)
	if err != nil {
		return "", err
	}
	return m.FullName, nil
}

// isPR reports whether item number n is a pull request, from the numbers
// the pull_requests relation queued for pull_request_details (complete by
// the time any later stage runs). Comments need it: on github.com a PR
// comment's html_url says /pull/, but not every server does.
func (r *run) isPR(ctx context.Context, n int) (bool, error) {
	r.prsMu.Lock()
	defer r.prsMu.Unlock()
	if r.prs == nil {
		prs := map[int]bool{}
		for after := int64(0); ; {
			q, err := r.env.Followups.Next(ctx, relPullRequestDetails, after, 1000)
			if err != nil {
				return false, fmt.Errorf("read queued pull requests: %w", err)
			}
			if len(q) == 0 {
				break
			}
			for _, it := range q {
				num, _, err := parseDetailsKey(it.Key)
				if err != nil {
					return false, err
				}
				prs[num] = true
			}
			after = q[len(q)-1].Seq
		}
		r.prs = prs
	}
	return r.prs[n], nil
}

// errTransport answers every request with one error.
type errTransport struct{ err error }

func (t errTransport) RoundTrip(*http.Request) (*http.Response, error) { return nil, t.err }
