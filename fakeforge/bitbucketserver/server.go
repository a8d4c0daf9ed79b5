// Package bitbucketserver simulates Bitbucket Server (Data Center) REST 1.0
// under /rest/api/1.0 for one repository of a scenario: the repository,
// pull requests with their activities (comments with nested replies,
// inline comments with anchors and diff hunks, approvals, merges, declines,
// rescopes), project permissions and users, with Basic auth and
// Bitbucket's {"errors":[…]} bodies and start/limit paging.
//
// No maintained Go library models Bitbucket Server's REST shapes, so they
// are written here from Atlassian's REST documentation. The package knows
// the scenario, not faults, accounting (package traffic) or ferry.
package bitbucketserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/fakeforge/traffic"
)

// The simulated project and repository.
const (
	ProjectKey = "ACME"
	RepoSlug   = "widgets"
	repoID     = 17
)

// Git tells the SHAs of the simulated repository's commits.
type Git interface {
	MainSHA(commit int) string
	BranchSHA(branch int) string
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
	base string
	mux  *http.ServeMux
}

// New returns a simulated Bitbucket Server for opts.
func New(opts Options) *Server {
	s := &Server{sc: opts.Scenario, opts: opts, base: strings.TrimRight(opts.BaseURL, "/"), mux: http.NewServeMux()}
	const api = "GET /rest/api/1.0"
	repo := api + "/projects/{key}/repos/{slug}"
	s.mux.HandleFunc(repo, s.inRepo(s.repository))
	s.mux.HandleFunc(repo+"/pull-requests", s.inRepo(s.pullRequests))
	s.mux.HandleFunc(repo+"/pull-requests/{id}", s.inRepo(s.pullRequest))
	s.mux.HandleFunc(repo+"/pull-requests/{id}/activities", s.inRepo(s.activities))
	s.mux.HandleFunc(api+"/projects/{key}/permissions/users", s.authed(s.permissions))
	s.mux.HandleFunc(api+"/users", s.authed(s.users))
	s.mux.HandleFunc(api+"/users/{slug}", s.authed(s.user))
	s.mux.HandleFunc(api+"/repos", s.authed(s.repos))
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

// Family names a request's endpoint family: "repository", "pull-requests",
// "pull-requests/activities", "permissions", "users", or "git".
func Family(r *http.Request) (family string, api, charged bool) {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/scm/") && strings.Contains(p, "/info/lfs/"):
		return "lfs", false, false
	case strings.HasPrefix(p, "/scm/"):
		return "git", false, false
	}
	seg := strings.Split(strings.Trim(strings.TrimPrefix(p, "/rest/api/1.0"), "/"), "/")
	switch {
	case len(seg) >= 1 && (seg[0] == "users" || seg[0] == "repos"):
		return seg[0], true, true
	case len(seg) >= 3 && seg[2] == "permissions":
		return "permissions", true, true
	case len(seg) == 4:
		return "repository", true, true
	case len(seg) == 7:
		return "pull-requests/" + seg[6], true, true
	case len(seg) >= 5:
		return seg[4], true, true
	}
	return "other", true, true
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

func (s *Server) inRepo(h http.HandlerFunc) http.HandlerFunc {
	return s.authed(func(w http.ResponseWriter, r *http.Request) {
		key, slug := r.PathValue("key"), r.PathValue("slug")
		if !strings.EqualFold(key, ProjectKey) {
			writeError(w, http.StatusNotFound, "com.atlassian.bitbucket.project.NoSuchProjectException",
				fmt.Sprintf("Project %s does not exist.", key))
			return
		}
		if slug != RepoSlug {
			writeError(w, http.StatusNotFound, "com.atlassian.bitbucket.repository.NoSuchRepositoryException",
				fmt.Sprintf("Repository %s/%s does not exist.", key, slug))
			return
		}
		h(w, r)
	})
}

// page serves objects [start, start+limit) of n in Bitbucket's paged
// envelope; it is the one pagination loop of this forge.
func page(w http.ResponseWriter, r *http.Request, n int, build func(i int) any) {
	sp := spanOf(r.URL.Query(), n)
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

// spanOf reads start (default 0) and limit (default 25, at most 1000) and
// places them in n objects. A start past the end is an empty last page;
// start+limit is never formed past n, so huge starts cannot overflow into
// a nextPageStart behind the start.
func spanOf(q url.Values, n int) span {
	sp := span{limit: 25}
	if v, err := strconv.Atoi(q.Get("start")); err == nil && v >= 0 {
		sp.start = v
	}
	if v, err := strconv.Atoi(q.Get("limit")); err == nil && v > 0 {
		sp.limit = min(v, 1000)
	}
	sp.end = sp.start
	if sp.start < n {
		sp.end = sp.start + min(sp.limit, n-sp.start)
	}
	sp.last = sp.end >= n
	return sp
}

func ms(t time.Time) int64 { return t.UnixMilli() }
