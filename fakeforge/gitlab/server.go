// Package gitlab simulates a GitLab instance's REST API v4 as an import
// source: the scenario's group tree, and in every project its labels,
// milestones, issues, merge requests, notes and discussions (diff notes
// with positions), approvals, resource events, releases, members and award
// emoji, plus what GitLab's direct transfer asks a source for (version,
// metadata, token self-check, GraphQL id lookups, export_relations: the
// NDJSON relations and a project's uploads as one tar.gz of
// <secret>/<filename> entries, whole or batched).
//
// Bodies are client-go types, so names and nesting are GitLab's; paging
// (X-Next-Page, X-Total…, Link), auth (PRIVATE-TOKEN, private_token,
// Bearer) and error bodies follow GitLab too. Every object is built on
// request from the scenario, so item N of any list is a pure function of
// the seed and N.
//
// It knows the scenario and the git SHAs it is given, and nothing about
// faults, rate limits or accounting (package traffic does those) nor ferry.
package gitlab

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/fakeforge/traffic"
)

// Version is the GitLab version the simulated instance reports: new enough
// for batched exports (16.2) and the token scope check (15.5).
const Version = "17.11.1"

// tokenUserID is the user the accepted token belongs to (an administrator,
// as direct transfer needs Owner on the source group).
const tokenUserID = 1

// Git tells the SHAs of the simulated repository's commits; every project
// serves the same repository.
type Git interface {
	MainSHA(commit int) string // commit on main, 0-based
	BranchSHA(branch int) string
}

// Options configure a simulated GitLab.
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
	// Version is what /version and /metadata report; empty is Version.
	Version string
	// NoVersionEndpoint answers /version with 404, as instances that only
	// serve /metadata do, so a client falls back to /metadata.
	NoVersionEndpoint bool
	// Scopes are the accepted tokens' scopes as personal_access_tokens/self
	// reports them; nil is api, read_api and read_repository.
	Scopes []string
	// ExportDisabled turns off direct transfer on the instance: every
	// export_relations endpoint answers 404, as GitLab does when the
	// bulk_import setting is off.
	ExportDisabled bool
	// ExportBatchSize is the number of top-level records per batch of a
	// batched export; 0 is GitLab's default, 1000.
	ExportBatchSize int
	// ExportPendingPolls is how many status answers report each relation
	// of an export as started (0) before finished (1), per token, project
	// or group, and relation, so that importers' polling is exercised.
	ExportPendingPolls int
	// ExportWithout names relations the instance does not export at all,
	// as a GitLab that lacks them ("uploads", to test an importer's
	// fallback): they are left out of every status list, and asked for by
	// name they answer as a relation GitLab does not know (a project's 400
	// "relation does not have a valid value", a group's 404 Export Not
	// Found). Nil exports every relation.
	ExportWithout []string
	// ExportStuck names relations whose export stays started (0) at every
	// status answer, as on a source whose export worker died: importers'
	// export timeouts are exercised.
	ExportStuck []string
	// ExportFailed names relations whose export fails at the source:
	// their status is failed (-1) with ExportFailedError as its error.
	ExportFailed []string
	// ExportUnlisted names relations the instance exports but whose export
	// never appears: left out of every status list and, asked for by name,
	// 404 Export Not Found, as when a source never created it.
	ExportUnlisted []string
	// WithholdIssueNotes, when above 0, makes every issue whose iid is a
	// multiple of it lose its first comment from the REST notes and
	// discussions lists while its user_notes_count still counts it: a
	// source that loses data, for importers' verification.
	WithholdIssueNotes int
}

// Server is the simulated GitLab.
type Server struct {
	sc       *scenario.Scenario
	opts     Options
	base     string
	git      Git
	mux      *http.ServeMux
	groups   []scenario.Group
	projects []scenario.Project

	mu sync.Mutex
	ex exportState // export_relations runs, by token
}

// New returns a simulated GitLab for opts.
func New(opts Options) *Server {
	s := &Server{sc: opts.Scenario, opts: opts, base: strings.TrimRight(opts.BaseURL, "/"), git: opts.Git,
		mux: http.NewServeMux(), groups: opts.Scenario.Groups(), projects: opts.Scenario.Projects()}
	if s.git == nil {
		s.git = placeholderGit{}
	}
	s.routes()
	return s
}

func (s *Server) routes() {
	const api = "/api/v4"
	for path, h := range map[string]http.HandlerFunc{
		"/version":                     s.version,
		"/metadata":                    s.metadata,
		"/personal_access_tokens/self": s.tokenSelf,
		"/user":                        s.currentUser,
		"/users/{uid}":                 s.user,
	} {
		s.mux.HandleFunc("GET "+api+path, s.authed(h))
	}
	for path, h := range map[string]groupHandler{
		"":                           s.group,
		"/subgroups":                 s.subgroups,
		"/descendant_groups":         s.descendantGroups,
		"/projects":                  s.groupProjects,
		"/members":                   s.groupMembers,
		"/members/all":               s.groupMembers,
		"/labels":                    s.groupLabels,
		"/milestones":                s.groupMilestones,
		"/badges":                    s.groupBadges,
		"/export_relations/status":   s.groupExportStatus,
		"/export_relations/download": s.groupExportDownload,
	} {
		s.mux.HandleFunc("GET "+api+"/groups/{gid}"+path, s.authed(s.inGroup(h)))
	}
	p := api + "/projects/{pid}"
	for path, h := range map[string]projectHandler{
		"":                                      s.project,
		"/labels":                               s.labels,
		"/milestones":                           s.milestones,
		"/issues":                               s.issues,
		"/issues/{iid}":                         s.issue,
		"/issues/{iid}/notes":                   s.issueNotes,
		"/issues/{iid}/discussions":             s.issueDiscussions,
		"/issues/{iid}/award_emoji":             s.issueAwardEmoji,
		"/issues/{iid}/notes/{nid}/award_emoji": s.issueNoteAwardEmoji,
		"/merge_requests":                       s.mergeRequests,
		"/merge_requests/{iid}":                 s.mergeRequest,
		"/merge_requests/{iid}/notes":           s.mrNotes,
		"/merge_requests/{iid}/discussions":     s.mrDiscussions,
		"/merge_requests/{iid}/approvals":       s.approvals,
		"/merge_requests/{iid}/award_emoji":     s.mrAwardEmoji,
		"/merge_requests/{iid}/notes/{nid}/award_emoji":   s.mrNoteAwardEmoji,
		"/issues/{iid}/resource_label_events":             s.issueEvents("label"),
		"/issues/{iid}/resource_milestone_events":         s.issueEvents("milestone"),
		"/issues/{iid}/resource_state_events":             s.issueEvents("state"),
		"/merge_requests/{iid}/resource_label_events":     s.mrEvents("label"),
		"/merge_requests/{iid}/resource_milestone_events": s.mrEvents("milestone"),
		"/merge_requests/{iid}/resource_state_events":     s.mrEvents("state"),
		"/releases":                        s.releases,
		"/releases/{tag}/downloads/{name}": s.assetDownload,
		"/members":                         s.projectMembers,
		"/members/all":                     s.projectMembers,
		"/protected_branches":              s.protectedBranches,
		"/badges":                          s.projectBadges,
		"/export_relations/status":         s.exportStatus,
		"/export_relations/download":       s.exportDownload,
		"/uploads/{secret}/{name}":         s.apiUpload,
	} {
		s.mux.HandleFunc("GET "+p+path, s.authed(s.inProject(h)))
	}
	s.mux.HandleFunc("POST "+p+"/export_relations", s.authed(s.inProject(s.exportStart)))
	s.mux.HandleFunc("POST "+api+"/groups/{gid}/export_relations", s.authed(s.inGroup(s.groupExportStart)))
	s.mux.HandleFunc("POST /api/graphql", s.authed(s.graphql))
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "404 Not Found"})
	})
}

// ServeHTTP sends git traffic to the git handler, uploads and release
// downloads to their file handlers, and the rest to the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case strings.Contains(p, ".git/"):
		if s.opts.GitHandler == nil {
			notFound(w, "Project")
			return
		}
		s.opts.GitHandler.ServeHTTP(w, r)
	case !strings.HasPrefix(p, "/api/") && strings.Contains(p, "/uploads/"):
		s.upload(w, r)
	case !strings.HasPrefix(p, "/api/") && strings.Contains(p, "/-/releases/"):
		s.webAssetDownload(w, r)
	default:
		s.mux.ServeHTTP(w, r)
	}
}

// Profile tells the traffic middleware GitLab's families, credentials and
// limit answers.
func (s *Server) Profile() traffic.Profile {
	return traffic.Profile{
		Family:     Family,
		Credential: token,
		RateHeaders: func(h http.Header, l traffic.Limit) {
			h.Set("RateLimit-Limit", strconv.Itoa(l.Limit))
			h.Set("RateLimit-Observed", strconv.Itoa(l.Limit-l.Remaining))
			h.Set("RateLimit-Remaining", strconv.Itoa(l.Remaining))
			h.Set("RateLimit-Reset", strconv.FormatInt(l.Reset.Unix(), 10))
			h.Set("RateLimit-ResetTime", l.Reset.UTC().Format(http.TimeFormat))
		},
		// Rack::Attack answers every throttle with a bare 429.
		Limited: func(w http.ResponseWriter, _ *http.Request, _ traffic.Limit) {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte("Retry later\n"))
		},
		ServerError: func(w http.ResponseWriter, status int) {
			writeJSON(w, status, map[string]string{"message": fmt.Sprintf("%d %s", status, http.StatusText(status))})
		},
	}
}

// Family names the endpoint family of a request: the resource segments
// of the path without the ids between them ("issues/discussions",
// "merge_requests/approvals", "groups/descendant_groups"), "graphql", or
// "git", "lfs", "uploads" and "assets" for non-API traffic.
func Family(r *http.Request) (family string, api, charged bool) {
	p := r.URL.EscapedPath()
	switch {
	case strings.Contains(p, ".git/info/lfs"):
		return "lfs", false, false
	case strings.Contains(p, ".git/"):
		return "git", false, false
	case p == "/api/graphql":
		return "graphql", true, true
	case !strings.HasPrefix(p, "/api/v4/") && strings.Contains(p, "/uploads/"):
		return "uploads", false, false
	case !strings.HasPrefix(p, "/api/v4/") && strings.Contains(p, "/-/releases/"):
		return "assets", false, false
	case !strings.HasPrefix(p, "/api/v4/"):
		return "other", false, false
	}
	seg := strings.Split(strings.Trim(strings.TrimPrefix(p, "/api/v4"), "/"), "/")
	switch {
	case seg[0] == "projects" && len(seg) >= 3:
		// projects/:id/issues/:iid/notes/:nid/award_emoji: resources sit at
		// the even positions after the project id.
		var parts []string
		for k := 2; k < len(seg); k += 2 {
			parts = append(parts, seg[k])
		}
		return strings.Join(parts, "/"), true, true
	case seg[0] == "groups" && len(seg) >= 3:
		return "groups/" + seg[2], true, true
	}
	return seg[0], true, true
}

// token finds the credential as GitLab does: PRIVATE-TOKEN header,
// private_token query parameter, or an OAuth-style bearer token.
func token(r *http.Request) string {
	if t := r.Header.Get("PRIVATE-TOKEN"); t != "" {
		return t
	}
	if t := r.URL.Query().Get("private_token"); t != "" {
		return t
	}
	if t, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return strings.TrimSpace(t)
	}
	return ""
}

func (s *Server) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !slices.Contains(s.opts.Tokens, token(r)) {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "401 Unauthorized"})
			return
		}
		h(w, r)
	}
}

type groupHandler func(w http.ResponseWriter, r *http.Request, g scenario.Group)

// inGroup resolves {gid}, a numeric id or a URL-encoded full path.
func (s *Server) inGroup(h groupHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		g, ok := s.findGroup(r.PathValue("gid"))
		if !ok {
			notFound(w, "Group")
			return
		}
		h(w, r, g)
	}
}

func (s *Server) findGroup(ref string) (scenario.Group, bool) {
	id, err := strconv.ParseInt(ref, 10, 64)
	for _, g := range s.groups {
		if (err == nil && g.ID == id) || (err != nil && strings.EqualFold(g.FullPath, ref)) {
			return g, true
		}
	}
	return scenario.Group{}, false
}

// proj is a scenario project with the offset that keeps its objects' ids
// apart from every other project's, as GitLab's global ids are.
type proj struct {
	scenario.Project
	off int64
}

type projectHandler func(w http.ResponseWriter, r *http.Request, p proj)

// inProject resolves {pid}, a numeric id or a URL-encoded full path.
func (s *Server) inProject(h projectHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.findProject(r.PathValue("pid"))
		if !ok {
			notFound(w, "Project")
			return
		}
		h(w, r, p)
	}
}

func (s *Server) findProject(ref string) (proj, bool) {
	id, err := strconv.ParseInt(ref, 10, 64)
	for _, p := range s.projects {
		if (err == nil && p.ID == id) || (err != nil && strings.EqualFold(p.FullPath, ref)) {
			return s.proj(p), true
		}
	}
	return proj{}, false
}

func (s *Server) proj(p scenario.Project) proj {
	// Scenario ids stay below 10⁹, so a stride of 10⁹ never collides.
	return proj{Project: p, off: int64(p.Index) * 1_000_000_000}
}

// notFound answers GitLab's 404 for a missing resource ("Project", "Issue"…).
func notFound(w http.ResponseWriter, what string) {
	writeJSON(w, http.StatusNotFound, map[string]string{"message": "404 " + what + " Not Found"})
}

// badRequest answers Grape's 400 for an invalid parameter.
func badRequest(w http.ResponseWriter, msg string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, fmt.Sprintf("encode response: %v", err), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// seq is an ordered view of a list: at(i) gives the object index at
// 0-based position i.
type seq struct {
	n  int
	at func(i int) int
}

func rangeSeq(lo, hi int) seq {
	return seq{n: max(0, hi-lo+1), at: func(i int) int { return lo + i }}
}

func reverse(q seq) seq { return seq{n: q.n, at: func(i int) int { return q.at(q.n - 1 - i) }} }

func filter(q seq, keep func(idx int) bool) seq {
	var idx []int
	for i := range q.n {
		if keep(q.at(i)) {
			idx = append(idx, q.at(i))
		}
	}
	return seq{n: len(idx), at: func(i int) int { return idx[i] }}
}

// list serves the requested page of q, building each object with build,
// with GitLab's pagination headers. It is the one pagination loop of this
// forge.
func (s *Server) list(w http.ResponseWriter, r *http.Request, q seq, build func(idx int) any) {
	page, perPage, err := pageParams(r.URL.Query())
	if err != nil {
		badRequest(w, err.Error())
		return
	}
	win := pageWindow(page, perPage, q.n)
	pageHeaders(w.Header(), s.base, r.URL, win, q.n)
	out := make([]any, 0, win.end-win.first)
	for i := win.first; i < win.end; i++ {
		out = append(out, build(q.at(i)))
	}
	writeJSON(w, http.StatusOK, out)
}

// ordered applies GitLab's sort (asc or desc) to q, which is in ascending
// order; def is the endpoint's default.
func ordered(w http.ResponseWriter, r *http.Request, q seq, def string) (seq, bool) {
	switch v := r.URL.Query().Get("sort"); {
	case v == "" && def == "desc", v == "desc":
		return reverse(q), true
	case v == "" || v == "asc":
		return q, true
	}
	badRequest(w, "sort does not have a valid value")
	return q, false
}

// after drops the prefix of q created or updated before the time in query
// parameter param; times grow with position.
func after(w http.ResponseWriter, r *http.Request, q seq, param string, at func(idx int) time.Time) (seq, bool) {
	v := r.URL.Query().Get(param)
	if v == "" {
		return q, true
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		badRequest(w, param+" is invalid")
		return q, false
	}
	k := sort.Search(q.n, func(i int) bool { return !at(q.at(i)).Before(t) })
	return seq{n: q.n - k, at: func(i int) int { return q.at(k + i) }}, true
}

// discussionID is GitLab's 40-hex discussion id, stable for a thread.
func discussionID(p proj, kind string, first int64) string {
	sum := sha1.Sum([]byte(fmt.Sprintf("%d/%s/%d", p.ID, kind, first)))
	return hex.EncodeToString(sum[:])
}

type placeholderGit struct{}

func (placeholderGit) MainSHA(i int) string   { return fakeSHA("main", i) }
func (placeholderGit) BranchSHA(b int) string { return fakeSHA("branch", b) }

func fakeSHA(kind string, i int) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s-%d", kind, i)))
	return hex.EncodeToString(sum[:20])
}
