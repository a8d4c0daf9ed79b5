// Package bitbucketserver simulates Bitbucket Server (Data Center 8.x) REST
// 1.0 under /rest/api/1.0 (and /rest/api/latest) for one repository of a
// scenario, served in two projects: ACME/widgets (private) and OSS/widgets
// (public), with the same content. It serves the repository, its
// branches, tags and default branch, pull requests with their reviewers
// and participants, each pull request's activities (threads whose replies
// nest, inline threads with their anchors and diff hunks, tasks, edits,
// approvals, needs-work reviews, rescopes, merges, declines and reopens),
// pull-request diffs, project permissions, users and comment attachments,
// with Basic or Bearer auth, Bitbucket's {"errors":[…]} bodies and
// start/limit paging capped as Bitbucket caps it (page.max.*).
//
// No maintained Go library models Bitbucket Server's REST shapes, so they
// are written here from Atlassian's REST documentation and checked against
// recorded answers of real servers (testdata/). The package knows the
// scenario, not faults, accounting (package traffic) or ferry.
package bitbucketserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-import/ferry/fakeforge/gitrepo"
	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/fakeforge/traffic"
)

// The simulated projects and repository. Both projects hold a repository
// RepoSlug with the same git repository and pull requests.
const (
	ProjectKey       = "ACME" // private project, private repository
	PublicProjectKey = "OSS"  // public project, public repository
	RepoSlug         = "widgets"
	// ForkSlug is a fork of RepoSlug in each project, with the same
	// branches; some pull requests come from it.
	ForkSlug = "widgets-fork"
)

// project describes one of the two projects.
type project struct {
	key, name, description string
	id, repoID             int // the fork's id is repoID+100
	public                 bool
}

var projects = []project{
	{key: ProjectKey, name: "Acme", description: "Acme's private widgets", id: 1, repoID: 17},
	{key: PublicProjectKey, name: "Open Source", description: "Widgets anyone may read", id: 2, repoID: 18, public: true},
}

func projectByKey(key string) (project, bool) {
	for _, p := range projects {
		if strings.EqualFold(p.key, key) {
			return p, true
		}
	}
	return project{}, false
}

// Git tells the SHAs of the simulated repository's commits
// (gitrepo.BuildBitbucket's repository).
type Git interface {
	MainSHA(commit int) string
	BranchSHA(branch int) string
	ReworkSHA(branch int) string
	MergeSHA(pr int) string
	Commit(sha string) (gitrepo.Commit, bool)
}

// Options configure a simulated Bitbucket Server.
type Options struct {
	Scenario *scenario.Scenario
	BaseURL  string
	Username string
	Token    string
	Git      Git
	// GitHandler serves /scm/… clones; nil answers 404.
	GitHandler http.Handler
}

// Server is the simulated Bitbucket Server.
type Server struct {
	sc   *scenario.Scenario
	opts Options
	git  Git
	base string
	mux  *http.ServeMux
}

// New returns a simulated Bitbucket Server for opts.
func New(opts Options) *Server {
	s := &Server{sc: opts.Scenario, opts: opts, git: opts.Git, base: strings.TrimRight(opts.BaseURL, "/"), mux: http.NewServeMux()}
	for _, version := range []string{"1.0", "latest"} {
		api := "GET /rest/api/" + version
		repo := api + "/projects/{key}/repos/{slug}"
		pr := repo + "/pull-requests/{id}"
		for path, h := range map[string]http.HandlerFunc{
			repo:                          s.inProject(s.repository),
			repo + "/branches":            s.inRepo(s.branches),
			repo + "/branches/default":    s.inRepo(s.defaultBranch),
			repo + "/default-branch":      s.inRepo(s.defaultBranch),
			repo + "/tags":                s.inRepo(s.tags),
			repo + "/pull-requests":       s.inRepo(s.pullRequests),
			pr:                            s.inPR(s.pullRequest),
			pr + "/activities":            s.inPR(s.activities),
			pr + "/diff":                  s.inPR(s.diff),
			pr + "/diff/{path...}":        s.inPR(s.diff),
			api + "/projects/{key}":       s.inProject(s.project),
			api + "/projects/{key}/repos": s.inProject(s.projectRepos),
			api + "/projects/{key}/permissions/users": s.inProject(s.permissions),
			api + "/users":        s.authed(s.users),
			api + "/users/{slug}": s.authed(s.user),
			api + "/repos":        s.authed(s.repos),
		} {
			s.mux.HandleFunc(path, h)
		}
	}
	s.mux.HandleFunc("GET /projects/{key}/repos/{slug}/attachments/{id}", s.inRepo(s.attachment))
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "com.atlassian.bitbucket.rest.NotFoundException", "Not found: "+r.URL.Path)
	})
	return s
}

// ServeHTTP sends /scm/ clones to the git handler and the rest to the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/scm/") && s.opts.GitHandler != nil {
		s.opts.GitHandler.ServeHTTP(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// Profile tells the traffic middleware Bitbucket Server's families and answers.
func (s *Server) Profile() traffic.Profile {
	return traffic.Profile{
		Family: Family,
		Credential: func(r *http.Request) string {
			if t, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
				return t
			}
			u, _, _ := r.BasicAuth()
			return u
		},
		RateHeaders: func(h http.Header, l traffic.Limit) {
			h.Set("X-RateLimit-Limit", strconv.Itoa(l.Limit))
			h.Set("X-RateLimit-Remaining", strconv.Itoa(l.Remaining))
		},
		Limited: func(w http.ResponseWriter, _ *http.Request, _ traffic.Limit) {
			writeError(w, http.StatusTooManyRequests, "com.atlassian.bitbucket.ratelimit.RateLimitedException",
				"You have been rate limited. Please wait before trying again.")
		},
		ServerError: func(w http.ResponseWriter, status int) {
			writeError(w, status, "java.lang.RuntimeException", "An internal error occurred")
		},
	}
}

// Family names a request's endpoint family: "repository", "repos",
// "projects", "branches", "tags", "pull-requests",
// "pull-requests/activities", "pull-requests/diff", "permissions",
// "users"; and, outside the API, "git", "lfs" and "attachments".
func Family(r *http.Request) (family string, api, charged bool) {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/scm/") && strings.Contains(p, "/info/lfs/"):
		return "lfs", false, false
	case strings.HasPrefix(p, "/scm/"):
		return "git", false, false
	case strings.HasPrefix(p, "/projects/") && strings.Contains(p, "/attachments/"):
		return "attachments", false, false
	}
	rest, ok := strings.CutPrefix(p, "/rest/api/1.0/")
	if !ok {
		rest, _ = strings.CutPrefix(p, "/rest/api/latest/")
	}
	seg := strings.Split(strings.Trim(rest, "/"), "/")
	switch {
	case seg[0] == "users" || seg[0] == "repos":
		return seg[0], true, true
	case seg[0] != "projects":
		return "other", true, true
	case len(seg) <= 2:
		return "projects", true, true
	case seg[2] == "permissions":
		return "permissions", true, true
	case len(seg) == 3:
		return "repos", true, true
	case len(seg) == 4:
		return "repository", true, true
	case seg[4] == "pull-requests" && len(seg) >= 7:
		return "pull-requests/" + seg[6], true, true
	case seg[4] == "default-branch":
		return "branches", true, true
	}
	return seg[4], true, true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, fmt.Sprintf("encode response: %v", err), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

type apiError struct {
	Context       *string `json:"context"`
	Message       string  `json:"message"`
	ExceptionName string  `json:"exceptionName"`
}

func writeError(w http.ResponseWriter, status int, exception, msg string) {
	writeJSON(w, status, map[string][]apiError{"errors": {{Message: msg, ExceptionName: exception}}})
}

// authed accepts HTTP Basic with the server's user and token, or the
// token as a Bearer token (HTTP access tokens, Bitbucket 8.x).
func (s *Server) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		user, pw, ok := r.BasicAuth()
		if bearer, isBearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); isBearer {
			user, pw, ok = s.opts.Username, bearer, true
		}
		if !ok || user != s.opts.Username || pw != s.opts.Token {
			w.Header().Set("WWW-Authenticate", `Basic realm="Atlassian Bitbucket"`)
			writeError(w, http.StatusUnauthorized, "com.atlassian.bitbucket.auth.IncorrectPasswordAuthenticationException",
				"Authentication failed. Please check your credentials and try again.")
			return
		}
		h(w, r)
	}
}

func (s *Server) inProject(h func(http.ResponseWriter, *http.Request, project)) http.HandlerFunc {
	return s.authed(func(w http.ResponseWriter, r *http.Request) {
		p, ok := projectByKey(r.PathValue("key"))
		if !ok {
			writeError(w, http.StatusNotFound, "com.atlassian.bitbucket.project.NoSuchProjectException",
				fmt.Sprintf("Project %s does not exist.", r.PathValue("key")))
			return
		}
		h(w, r, p)
	})
}

func (s *Server) inRepo(h func(http.ResponseWriter, *http.Request, project)) http.HandlerFunc {
	return s.inProject(func(w http.ResponseWriter, r *http.Request, p project) {
		if slug := r.PathValue("slug"); slug != RepoSlug {
			writeError(w, http.StatusNotFound, "com.atlassian.bitbucket.repository.NoSuchRepositoryException",
				fmt.Sprintf("Repository %s/%s does not exist.", r.PathValue("key"), slug))
			return
		}
		h(w, r, p)
	})
}

func (s *Server) inPR(h func(http.ResponseWriter, *http.Request, project, int)) http.HandlerFunc {
	return s.inRepo(func(w http.ResponseWriter, r *http.Request, p project) {
		j, err := strconv.Atoi(r.PathValue("id"))
		if err != nil || j < 1 || j > s.sc.Config().PullRequests {
			writeError(w, http.StatusNotFound, "com.atlassian.bitbucket.pull.NoSuchPullRequestException",
				fmt.Sprintf("Pull request %s does not exist in %s/%s.", r.PathValue("id"), p.key, RepoSlug))
			return
		}
		h(w, r, p, j)
	})
}

// page serves objects [start, start+limit) of n in Bitbucket's paged
// envelope, with limit at most most; it is the one pagination loop of
// this forge.
func page(w http.ResponseWriter, r *http.Request, n, most int, build func(i int) any) {
	sp := spanOf(r.URL.Query(), n, most)
	values := []any{}
	for i := sp.start; i < sp.end; i++ {
		values = append(values, build(i))
	}
	out := map[string]any{"size": len(values), "limit": sp.limit, "start": sp.start,
		"isLastPage": sp.last, "values": values}
	if !sp.last {
		out["nextPageStart"] = sp.end
	}
	writeJSON(w, http.StatusOK, out)
}

// span is the part of a list of n objects that a start/limit request covers.
type span struct {
	start, limit int
	end          int // one past the last object served
	last         bool
}

// spanOf reads start (default 0) and limit (default 25, at most most, as
// Bitbucket cuts a larger limit down to its page.max.* setting and says
// so in the page's limit) and places them in n objects. A start past the
// end is an empty last page; start+limit is never formed past n, so huge
// starts cannot overflow into a nextPageStart behind the start.
func spanOf(q url.Values, n, most int) span {
	sp := span{limit: min(25, most)}
	if v, err := strconv.Atoi(q.Get("start")); err == nil && v >= 0 {
		sp.start = v
	}
	if v, err := strconv.Atoi(q.Get("limit")); err == nil && v > 0 {
		sp.limit = min(v, most)
	}
	sp.end = sp.start
	if sp.start < n {
		sp.end = sp.start + min(sp.limit, n-sp.start)
	}
	sp.last = sp.end >= n
	return sp
}

func ms(t time.Time) int64 { return t.UnixMilli() }
