// Package github simulates GitHub's REST API v3 for one repository of a
// scenario, both at the root (github.com) and under /api/v3 (GitHub
// Enterprise). Bodies are go-github types, so field names and nesting are
// GitHub's; pagination (Link), ETags, auth and not-found answers follow
// GitHub too, as does its pagination limit on repository-wide lists
// (Options.MaxPage: 422 past it). Lists take since, sort and direction as
// GitHub does; the scenario's update times grow with creation, so
// sort=created and sort=updated give the same order. The repository's
// issue events are listed newest first, an item's own events oldest first.
//
// GraphQL: POST /graphql (github.com's API host) and /api/graphql (GitHub
// Enterprise) serve the subset of GitHub's GraphQL API ferry reads, in
// GitHub's names and types (schema.graphql, embedded): Query.rateLimit,
// Query.nodes(ids:) and Query.node(id:) over User, Issue, PullRequest,
// IssueComment, PullRequestReviewComment, PullRequestReview and Commit,
// the Reactable reactions and PullRequest reviews connections, PageInfo
// with opaque cursors; Query.repository(owner:, name:) with the
// totalCounts of its issues, pullRequests, labels, milestones, releases,
// branchProtectionRules and mentionableUsers (counts only, for a
// pre-flight estimate). Queries are parsed and validated by gqlparser;
// aliases, inline fragments, fragment spreads, __typename, variables and
// @skip/@include work; introspection (__schema, __type) does not. The
// executor is hand-written over the validated AST (graphql.go,
// graphql_exec.go): no library both fits the few types and lets the price
// be computed from the AST before anything resolves. Node ids are the REST
// answers' node_id and every value equals REST's for the same object.
// Prices follow GitHub's documented rules: a connection under P parents
// takes P requests; nodes(ids:) of N ids and a connection of first (or
// last) n under P parents make N and P×n parents for what they select;
// the cost is the requests summed, divided by 100, rounded, at least 1;
// the node count (connections' P×n plus nodes(ids:)'s N) may not pass
// 500,000 (MAX_NODE_LIMIT_EXCEEDED), first/last not 100
// (EXCESSIVE_PAGINATION), ids not 100 (ARGUMENT_LIMIT); rateLimit(dryRun:
// true) prices without spending or resolving anything else. The budget
// in points per token is package traffic's (Faults.GraphQLRateLimit),
// spent here through traffic.PointsFrom; a query over it answers 200 with
// RATE_LIMITED, as GitHub does. Options.NoGraphQL answers 404 instead.
//
// It knows the scenario and the git refs it is given, and nothing about
// faults, rate limits or accounting (package traffic does those, this
// package only prices GraphQL queries) nor ferry.
package github

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v92/github"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/fakeforge/traffic"
)

// The simulated repository.
const (
	Owner  = "acme"
	Repo   = "widgets"
	RepoID = 4242
)

const docsURL = "https://docs.github.com/rest"

// Git tells the SHAs of the simulated repository's commits.
type Git interface {
	MainSHA(commit int) string // commit on main, 0-based
	BranchSHA(branch int) string
}

// Options configure a simulated GitHub.
type Options struct {
	Scenario *scenario.Scenario
	// BaseURL is where the server is reachable, without a trailing slash.
	BaseURL string
	// Tokens are the accepted personal access tokens.
	Tokens []string
	// Git gives commit SHAs; nil uses placeholders.
	Git Git
	// GitHandler serves paths containing ".git/" (clones, LFS); nil answers 404.
	GitHandler http.Handler
	// Missing names repository endpoints this server does not have, as an
	// older GitHub Enterprise lacks some: each answers GitHub's 404
	// {"message":"Not Found"} (after authentication, like any 404) at the
	// root and under /api/v3. Names are the paths below
	// /repos/{owner}/{repo} as routes spells them: "/issues/comments",
	// "/pulls/comments", "/issues/events", "/releases",
	// "/issues/{number}/reactions"…; a name no route has panics in New.
	Missing []string
	// MaxPage is how deep GitHub lets a repository-wide list be paged (0:
	// no limit). On /issues, /issues/comments, /pulls/comments,
	// /issues/events and /pulls a page past MaxPage answers GitHub's 422
	// (capMessage), and the Link header's rel="last" never points past
	// MaxPage, while rel="next" on page MaxPage still leads to the refused
	// page, as on github.com. Lists that take since (issues, both comment
	// lists) can be continued from page 1 with a later since; per-item
	// lists (/issues/{number}/events…) are never capped.
	MaxPage int
	// NoGraphQL answers 404 on /graphql and /api/graphql, as an older
	// GitHub Enterprise without the GraphQL API does.
	NoGraphQL bool
	// WithholdReviewComments, when above 0, makes every pull request whose
	// index (1-based, not its number) is a multiple of it lose its last
	// review comment from the REST lists (repository-wide and per pull
	// request) while GraphQL's PullRequestReview.comments still counts it:
	// a source that loses data, for importers' verification.
	WithholdReviewComments int
	// App is a GitHub App installed on the repository (app.go).
	App AppOptions
}

// capMessage is GitHub's answer to a page past the pagination limit.
const capMessage = "In order to keep the API fast for everyone, pagination is limited for this resource. " +
	"Check the rel=last link relation in the Link response header to see how far back you can traverse."

// capDocs is the documentation_url of GitHub's pagination-limit answer.
const capDocs = "https://docs.github.com/v3/#pagination"

// Server is the simulated GitHub API.
type Server struct {
	sc     *scenario.Scenario
	schema *ast.Schema
	base   string
	git    Git
	mux    *http.ServeMux
	opts   Options
	apps   *apps
}

// New returns a simulated GitHub for opts.
func New(opts Options) *Server {
	s := &Server{sc: opts.Scenario, base: strings.TrimRight(opts.BaseURL, "/"), git: opts.Git, opts: opts, apps: newApps(opts.App)}
	if s.git == nil {
		s.git = placeholderGit{}
	}
	sch, err := loadSchema()
	if err != nil {
		panic(fmt.Sprintf("fakeforge/github: %v", err)) // the embedded schema is part of the program
	}
	s.schema = sch
	if err := checkAppOptions(opts.App); err != nil {
		panic(fmt.Sprintf("fakeforge/github: %v", err))
	}
	s.mux = http.NewServeMux()
	for _, prefix := range []string{"", "/api/v3"} {
		s.routes(prefix)
		s.appRoutes(prefix)
	}
	for _, p := range []string{"/graphql", "/api/graphql"} {
		if opts.NoGraphQL {
			s.mux.HandleFunc("POST "+p, s.authed(func(w http.ResponseWriter, _ *http.Request) { notFound(w) }))
			continue
		}
		s.mux.HandleFunc("POST "+p, s.graphqlAuth(s.graphql))
	}
	for _, m := range opts.Missing {
		if _, ok := s.repoRoutes()[m]; !ok {
			panic(fmt.Sprintf("fakeforge/github: Missing names no endpoint: %q", m))
		}
	}
	s.mux.HandleFunc("GET /user-attachments/assets/{name}", s.attachment)
	s.mux.HandleFunc("GET /{owner}/{repo}/releases/download/{tag}/{name}", s.assetDownload)
	return s
}

// repoRoutes are the endpoints under /repos/{owner}/{repo}.
func (s *Server) repoRoutes() map[string]repoHandler {
	return map[string]repoHandler{
		"":                                    s.repository,
		"/labels":                             s.labels,
		"/milestones":                         s.milestones,
		"/issues":                             s.issues,
		"/issues/{number}":                    s.issue,
		"/issues/comments":                    s.repoComments,
		"/issues/{number}/comments":           s.issueComments,
		"/issues/events":                      s.repoEvents,
		"/issues/{number}/events":             s.issueEvents,
		"/issues/{number}/timeline":           s.timeline,
		"/issues/{number}/reactions":          s.reactions,
		"/pulls":                              s.pulls,
		"/pulls/{number}":                     s.pull,
		"/pulls/{number}/reviews":             s.reviews,
		"/pulls/{number}/comments":            s.pullComments,
		"/pulls/comments":                     s.repoReviewComments,
		"/pulls/{number}/requested_reviewers": s.requestedReviewers,
		"/releases":                           s.releases,
		"/releases/assets/{id}":               s.asset,
		"/collaborators":                      s.collaborators,
		"/branches":                           s.branches,
		"/branches/{rest...}":                 s.branch,
	}
}

func (s *Server) routes(p string) {
	r := p + "/repos/{owner}/{repo}"
	for pattern, h := range s.repoRoutes() {
		if slices.Contains(s.opts.Missing, pattern) {
			h = func(w http.ResponseWriter, _ *http.Request, _ string) { notFound(w) }
		}
		s.mux.HandleFunc("GET "+r+pattern, s.authed(s.inRepo(h)))
	}
	s.mux.HandleFunc("GET "+p+"/repositories/{id}", s.authed(func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != strconv.Itoa(RepoID) {
			notFound(w)
			return
		}
		s.repository(w, r, s.apiBase(r))
	}))
	// The repositories the token can read: the one repository, paged as
	// GitHub pages GET /user/repos.
	// An installation token has no user: GitHub refuses it here.
	s.mux.HandleFunc("GET "+p+"/user/repos", s.authed(func(w http.ResponseWriter, r *http.Request) {
		if s.installationAuthed(r) {
			writeJSON(w, http.StatusForbidden, map[string]string{"message": "Resource not accessible by integration", "documentation_url": docsURL})
			return
		}
		api := s.apiBase(r)
		s.list(w, r, rangeSeq(1, 1), func(int) any { return s.repoObj(api) })
	}))
	s.mux.HandleFunc("GET "+p+"/users/{login}", s.authed(s.user))
	s.mux.HandleFunc("GET "+p+"/rate_limit", s.authed(s.rateLimit))
}

// ServeHTTP routes git traffic to the git handler and the rest to the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.Contains(r.URL.Path, ".git/") {
		if s.opts.GitHandler == nil {
			notFound(w)
			return
		}
		s.opts.GitHandler.ServeHTTP(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// Profile tells the traffic middleware GitHub's families, credentials and
// limit answers.
func (s *Server) Profile() traffic.Profile {
	return traffic.Profile{
		Family: func(r *http.Request) (string, bool, bool) {
			f, api, charged := Family(r)
			// Without GraphQL its 404 is a route the server lacks: a
			// request, not a spent unit of the REST budget.
			if s.opts.NoGraphQL && isGraphQL(r.URL.Path) {
				charged = false
			}
			return f, api, charged
		},
		Credential:    s.credential,
		Installation:  IsInstallationCredential,
		RateHeaders:   rateHeaders,
		Limited:       limited,
		Metered:       func(r *http.Request) bool { return !s.opts.NoGraphQL && isGraphQL(r.URL.Path) },
		PointsHeaders: graphqlHeaders,
		ServerError: func(w http.ResponseWriter, status int) {
			writeJSON(w, status, map[string]string{"message": http.StatusText(status), "documentation_url": docsURL})
		},
	}
}

// Family names the endpoint family of a request: the first path segment
// after the repository ("issues", "pulls"…), with the per-item suffix
// ("pulls/reviews"), or "git", "attachments" and "assets" for non-API
// traffic. rate_limit is free, as on GitHub.
func Family(r *http.Request) (family string, api, charged bool) {
	p := strings.TrimPrefix(r.URL.Path, "/api/v3")
	switch {
	case strings.Contains(p, ".git/info/lfs"):
		return "lfs", false, false
	case strings.Contains(p, ".git/"):
		return "git", false, false
	case strings.HasPrefix(p, "/user-attachments/"):
		return "attachments", false, false
	case strings.Contains(p, "/releases/download/"):
		return "assets", false, false
	case p == "/rate_limit":
		return "rate_limit", true, false
	case strings.HasPrefix(p, "/app/"):
		return "app", true, false // a JWT's calls spend no installation's budget
	case isGraphQL(r.URL.Path):
		return "graphql", true, true
	}
	seg := strings.Split(strings.Trim(p, "/"), "/")
	switch {
	case len(seg) >= 1 && seg[0] == "users":
		return "users", true, true
	case len(seg) >= 1 && seg[0] == "repositories", len(seg) == 3 && seg[0] == "repos":
		return "repository", true, true
	case len(seg) >= 4 && seg[0] == "repos":
		fam := seg[3]
		if len(seg) >= 5 {
			if _, err := strconv.Atoi(seg[4]); err != nil {
				fam += "/" + seg[4] // repo-wide list such as issues/comments
			} else if len(seg) >= 6 {
				fam += "/" + seg[5] // per-item list such as pulls/reviews
			}
		}
		return fam, true, true
	}
	return "other", true, true
}

// token reads the credential of a request: Authorization "token <t>" or
// "bearer <t>" (the scheme in any case), or basic auth's password.
func token(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if scheme, t, ok := strings.Cut(h, " "); ok && (strings.EqualFold(scheme, "token") || strings.EqualFold(scheme, "bearer")) {
		return strings.TrimSpace(t)
	}
	if _, pw, ok := r.BasicAuth(); ok {
		return pw
	}
	return ""
}

func (s *Server) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t := token(r)
		switch {
		case t == "":
			writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Requires authentication", "documentation_url": docsURL})
		case !s.tokenOK(t):
			writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Bad credentials", "documentation_url": docsURL})
		default:
			h(w, r)
		}
	}
}

func (s *Server) tokenOK(t string) bool {
	if slices.Contains(s.opts.Tokens, t) {
		return true
	}
	_, live := s.apps.installationToken(t)
	return live
}

type repoHandler func(w http.ResponseWriter, r *http.Request, api string)

func (s *Server) inRepo(h repoHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.PathValue("owner"), Owner) || !strings.EqualFold(r.PathValue("repo"), Repo) {
			notFound(w)
			return
		}
		h(w, r, s.apiBase(r))
	}
}

// apiBase is the API root the request came through, for the URLs in bodies.
func (s *Server) apiBase(r *http.Request) string {
	if strings.HasPrefix(r.URL.Path, "/api/v3/") {
		return s.base + "/api/v3"
	}
	return s.base
}

func rateHeaders(h http.Header, l traffic.Limit) {
	h.Set("X-RateLimit-Limit", strconv.Itoa(l.Limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(l.Remaining))
	h.Set("X-RateLimit-Used", strconv.Itoa(l.Limit-l.Remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(l.Reset.Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
}

func limited(w http.ResponseWriter, r *http.Request, l traffic.Limit) {
	if l.Secondary {
		// GitHub answers secondary limits with 403 or 429; alternate by path
		// length so both are seen without another random draw.
		status := http.StatusForbidden
		if len(r.URL.Path)%2 == 1 {
			status = http.StatusTooManyRequests
		}
		writeJSON(w, status, map[string]string{
			"message":           "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
			"documentation_url": docsURL + "/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"})
		return
	}
	writeJSON(w, http.StatusForbidden, map[string]string{
		"message":           "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID.",
		"documentation_url": docsURL + "/overview/rate-limits-for-the-rest-api"})
}

func notFound(w http.ResponseWriter) {
	writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found", "documentation_url": docsURL})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, fmt.Sprintf("encode response: %v", err), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// respond writes v with a weak ETag and answers a matching If-None-Match
// with 304, as GitHub does.
func respond(w http.ResponseWriter, r *http.Request, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, fmt.Sprintf("encode response: %v", err), http.StatusInternalServerError)
		return
	}
	sum := sha256.Sum256(body)
	etag := `W/"` + hex.EncodeToString(sum[:16]) + `"`
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", "private, max-age=60, s-maxage=60")
	w.Header().Set("Vary", "Accept, Authorization, Cookie, X-GitHub-OTP")
	if inm := r.Header.Get("If-None-Match"); inm != "" && strings.TrimPrefix(inm, "W/") == strings.TrimPrefix(etag, "W/") {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// seq is an ordered view of objects 1…n of a list: at(i) gives the object
// index at 0-based position i.
type seq struct {
	n  int
	at func(i int) int
}

func rangeSeq(lo, hi int) seq {
	return seq{n: max(0, hi-lo+1), at: func(i int) int { return lo + i }}
}

// since drops the prefix of q whose update time, monotonic in position, is
// before the `since` query parameter.
func since(q seq, r *http.Request, updated func(idx int) time.Time) (seq, error) {
	v := r.URL.Query().Get("since")
	if v == "" {
		return q, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return q, fmt.Errorf("since: %w", err)
	}
	k := sort.Search(q.n, func(i int) bool { return !updated(q.at(i)).Before(t) })
	return seq{n: q.n - k, at: func(i int) int { return q.at(k + i) }}, nil
}

func filter(q seq, keep func(idx int) bool) seq {
	var idx []int
	for i := range q.n {
		if keep(q.at(i)) {
			idx = append(idx, q.at(i))
		}
	}
	return seq{n: len(idx), at: func(i int) int { return idx[i] }}
}

func reverse(q seq) seq { return seq{n: q.n, at: func(i int) int { return q.at(q.n - 1 - i) }} }

// list serves the requested page of q, building each object with build and
// setting GitHub's Link header. It is the one pagination loop of this forge.
func (s *Server) list(w http.ResponseWriter, r *http.Request, q seq, build func(idx int) any) {
	s.page(w, r, q, build, 0)
}

// repoList is list for a repository-wide list GitHub limits in depth
// (Options.MaxPage).
func (s *Server) repoList(w http.ResponseWriter, r *http.Request, q seq, build func(idx int) any) {
	s.page(w, r, q, build, s.opts.MaxPage)
}

// page serves one page of q; maxPage > 0 refuses pages past it with
// GitHub's 422 and keeps rel="last" within it.
func (s *Server) page(w http.ResponseWriter, r *http.Request, q seq, build func(idx int) any, maxPage int) {
	pg := pageOf(r.URL.Query(), q.n)
	if maxPage > 0 && pg.page > maxPage {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"message": capMessage, "documentation_url": capDocs})
		return
	}
	page, perPage, last := pg.page, pg.perPage, pg.last
	shown := last // the deepest page rel="last" may name
	if maxPage > 0 {
		shown = min(last, maxPage)
	}
	link := func(p int, rel string) string {
		u := *r.URL
		v := u.Query()
		v.Set("page", strconv.Itoa(p))
		v.Set("per_page", strconv.Itoa(perPage))
		u.RawQuery = v.Encode()
		return fmt.Sprintf(`<%s%s>; rel="%s"`, s.base, u.RequestURI(), rel)
	}
	var links []string
	if page < last {
		links = append(links, link(page+1, "next"), link(shown, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"), link(min(page-1, last), "prev"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	out := []any{}
	for i := pg.first; i < pg.end; i++ {
		out = append(out, build(q.at(i)))
	}
	respond(w, r, out)
}

// pageSpan is where a page falls in a list.
type pageSpan struct {
	page, perPage, last int
	first, end          int // positions [first, end) of the page's objects
}

// pageOf reads page and per_page as GitHub does (unparsable or
// non-positive values fall back to 1 and 30; per_page caps at 100) and
// places the page in a list of n objects. A page past the end is empty,
// however large its number: no product of page and per_page is formed
// that could overflow.
func pageOf(qs url.Values, n int) pageSpan {
	p := pageSpan{page: 1, perPage: 30}
	if v, err := strconv.Atoi(qs.Get("page")); err == nil && v > 0 {
		p.page = v
	}
	if v, err := strconv.Atoi(qs.Get("per_page")); err == nil && v > 0 {
		p.perPage = min(v, 100)
	}
	p.last = max(1, (n+p.perPage-1)/p.perPage)
	p.first, p.end = n, n
	if p.page <= p.last {
		p.first = (p.page - 1) * p.perPage
		p.end = min(p.first+p.perPage, n)
	}
	return p
}

func badRequest(w http.ResponseWriter, err error) {
	writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"message": "Validation Failed: " + err.Error(), "documentation_url": docsURL})
}

func pathNumber(r *http.Request) (int, bool) {
	n, err := strconv.Atoi(r.PathValue("number"))
	return n, err == nil
}

func escapeBranch(name string) string { return url.PathEscape(name) }

func ts(t time.Time) *gh.Timestamp { return &gh.Timestamp{Time: t} }

type placeholderGit struct{}

func (placeholderGit) MainSHA(i int) string   { return fakeSHA("main", i) }
func (placeholderGit) BranchSHA(b int) string { return fakeSHA("branch", b) }

func fakeSHA(kind string, i int) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s-%d", kind, i)))
	return hex.EncodeToString(sum[:20])
}
