package gitrepo

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cgi"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ferry-import/ferry/fakeforge/scenario"
)

// Server serves bare repositories over git smart HTTP and the LFS batch API.
type Server struct {
	root    string
	routes  map[string]string // URL prefix such as "/acme/widgets.git" → directory under root
	sc      *scenario.Scenario
	base    string
	allowed func(user, password string) bool
	backend *cgi.Handler
}

// NewServer serves the repositories under root. routes maps each URL prefix
// ending in ".git" to a repository directory name under root; allowed
// checks Basic credentials; base is the server's URL, for LFS download links.
func NewServer(sc *scenario.Scenario, root, base string, routes map[string]string, allowed func(user, password string) bool) (*Server, error) {
	gitPath, err := exec.LookPath("git")
	if err != nil {
		return nil, fmt.Errorf("git http-backend needs the git CLI: %w", err)
	}
	return &Server{root: root, routes: routes, sc: sc, base: strings.TrimRight(base, "/"), allowed: allowed,
		backend: &cgi.Handler{Path: gitPath, Args: []string{"http-backend"}, Dir: root,
			Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null"}}}, nil
}

// ServeHTTP answers git and LFS requests below a routed prefix.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	prefix, dir, ok := s.route(r.URL.Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	user, pw, hasAuth := r.BasicAuth()
	if !hasAuth || !s.allowed(user, pw) {
		w.Header().Set("WWW-Authenticate", `Basic realm="fakeforge"`)
		http.Error(w, "authentication required", http.StatusUnauthorized)
		return
	}
	rest := strings.TrimPrefix(r.URL.Path, prefix)
	if lfs, isLFS := strings.CutPrefix(rest, "/info/lfs/objects"); isLFS {
		s.lfs(w, r, prefix, lfs)
		return
	}
	// http-backend finds the repository from PATH_INFO, which cgi.Handler
	// takes from the URL path: point it at the directory on disk.
	r2 := r.Clone(r.Context())
	r2.URL.Path = "/" + dir + rest
	r2.RequestURI = r2.URL.RequestURI()
	s.backend.ServeHTTP(w, r2)
}

func (s *Server) route(path string) (prefix, dir string, ok bool) {
	for p, d := range s.routes {
		if strings.HasPrefix(path, p+"/") && len(p) > len(prefix) {
			prefix, dir, ok = p, d, true
		}
	}
	return prefix, dir, ok
}

// Path is the directory of a routed repository.
func (s *Server) Path(dir string) string { return filepath.Join(s.root, dir) }

type lfsObject struct {
	OID           string               `json:"oid"`
	Size          int                  `json:"size"`
	Authenticated bool                 `json:"authenticated,omitempty"`
	Actions       map[string]lfsAction `json:"actions,omitempty"`
	Error         *lfsError            `json:"error,omitempty"`
}

type lfsAction struct {
	Href      string            `json:"href"`
	Header    map[string]string `json:"header,omitempty"`
	ExpiresIn int               `json:"expires_in,omitempty"`
}

type lfsError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

const lfsMediaType = "application/vnd.git-lfs+json"

// lfs serves POST …/objects/batch (download only) and GET …/objects/<oid>.
func (s *Server) lfs(w http.ResponseWriter, r *http.Request, prefix, rest string) {
	objects := map[string][]byte{}
	for k := 1; k <= s.sc.Config().LFSObjects; k++ {
		o := s.sc.LFSObject(k)
		objects[o.OID] = o.Content
	}
	switch {
	case r.Method == http.MethodPost && rest == "/batch":
		var req struct {
			Operation string      `json:"operation"`
			Objects   []lfsObject `json:"objects"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			lfsJSON(w, http.StatusUnprocessableEntity, map[string]string{"message": "invalid batch request: " + err.Error()})
			return
		}
		if req.Operation != "download" {
			lfsJSON(w, http.StatusForbidden, map[string]string{"message": "this simulated forge is read-only"})
			return
		}
		out := make([]lfsObject, 0, len(req.Objects))
		for _, o := range req.Objects {
			content, ok := objects[o.OID]
			if !ok {
				out = append(out, lfsObject{OID: o.OID, Size: o.Size, Error: &lfsError{Code: 404, Message: "Object does not exist"}})
				continue
			}
			out = append(out, lfsObject{OID: o.OID, Size: len(content), Authenticated: true,
				Actions: map[string]lfsAction{"download": {Href: s.base + prefix + "/info/lfs/objects/" + o.OID,
					Header: map[string]string{"Authorization": r.Header.Get("Authorization")}, ExpiresIn: 3600}}})
		}
		lfsJSON(w, http.StatusOK, map[string]any{"transfer": "basic", "objects": out})
	case r.Method == http.MethodGet && strings.HasPrefix(rest, "/"):
		content, ok := objects[strings.TrimPrefix(rest, "/")]
		if !ok {
			lfsJSON(w, http.StatusNotFound, map[string]string{"message": "Object does not exist"})
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(len(content)))
		_, _ = w.Write(content)
	default:
		lfsJSON(w, http.StatusNotFound, map[string]string{"message": "Not found"})
	}
}

func lfsJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", lfsMediaType)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
