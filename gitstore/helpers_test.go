package gitstore

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/ferry-import/ferry/internal/fixture"
)

// fixtureBundle is the shared real repository with refs/pull/*.
func fixtureBundle(t *testing.T) string { return fixture.Bundle(t) }

func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := New(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// importFixture fills project id with the fixture, refs/pull/* mapped to
// refs/merge-requests/* (or mapped by refspecs).
func importFixture(t *testing.T, s *Store, id int64, refspecs ...string) {
	t.Helper()
	if err := s.FetchBundle(context.Background(), id, fixtureBundle(t), refspecs...); err != nil {
		t.Fatal(err)
	}
}

// testGit runs the git client the way a user would, with an isolated HOME
// and no prompts. It returns stdout, stderr and the error.
func testGitRun(t *testing.T, dir string, env []string, args ...string) (string, string, error) {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "GIT_CONFIG_NOSYSTEM=1",
		"GIT_TERMINAL_PROMPT=0", "LC_ALL=C", "GIT_ALLOW_PROTOCOL=http:https:file"}, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

func testGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, stderr, err := testGitRun(t, dir, nil, args...)
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return out
}

// project is one entry of the test resolver.
type project struct {
	id      int64
	public  bool
	members []string // tokens that may read and write
}

// testResolver decides like GitLab: unknown or hidden → 404, anonymous on
// private → 401, bad token → 401, outsider on private → 404.
type testResolver struct {
	projects map[string]project

	mu    sync.Mutex
	calls []resolveCall
}

type resolveCall struct {
	path          string
	wiki, write   bool
	authorization string
}

func (tr *testResolver) Resolve(ctx context.Context, r *http.Request, fullPath string, wiki, write bool) (int64, error) {
	tr.mu.Lock()
	tr.calls = append(tr.calls, resolveCall{fullPath, wiki, write, r.Header.Get("Authorization")})
	tr.mu.Unlock()
	p, ok := tr.projects[fullPath]
	if !ok {
		return 0, ErrNotFound
	}
	_, token, hasAuth := r.BasicAuth()
	if !hasAuth {
		if p.public && !write {
			return p.id, nil
		}
		return 0, ErrUnauthorized
	}
	known := false
	for _, pr := range tr.projects {
		for _, m := range pr.members {
			known = known || m == token
		}
	}
	if !known {
		return 0, ErrUnauthorized
	}
	for _, m := range p.members {
		if m == token {
			return p.id, nil
		}
	}
	if p.public && !write {
		return p.id, nil
	}
	if p.public {
		return 0, ErrForbidden
	}
	return 0, ErrNotFound
}

func (tr *testResolver) Calls() []resolveCall {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]resolveCall(nil), tr.calls...)
}

// statusRecorder remembers the status of every response of a server.
type statusRecorder struct {
	mu       sync.Mutex
	statuses []int
}

func (sr *statusRecorder) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(&statusWriter{ResponseWriter: w, rec: sr}, r)
	})
}

func (sr *statusRecorder) record(status int) {
	sr.mu.Lock()
	sr.statuses = append(sr.statuses, status)
	sr.mu.Unlock()
}

func (sr *statusRecorder) saw(status int) bool {
	sr.mu.Lock()
	defer sr.mu.Unlock()
	for _, s := range sr.statuses {
		if s == status {
			return true
		}
	}
	return false
}

func (sr *statusRecorder) String() string {
	sr.mu.Lock()
	defer sr.mu.Unlock()
	return fmt.Sprint(sr.statuses)
}

// statusWriter records the status before any byte reaches the client, so a
// client that has seen a response can rely on it being recorded.
type statusWriter struct {
	http.ResponseWriter
	rec         *statusRecorder
	wroteHeader bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.wroteHeader = true
		w.rec.record(code)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

// serve starts a real HTTP server on 127.0.0.1 for store s.
func serve(t *testing.T, s *Store, res Resolver) (*httptest.Server, *statusRecorder) {
	t.Helper()
	h, err := NewHandler(s, res, HandlerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rec := &statusRecorder{}
	srv := httptest.NewServer(rec.wrap(h))
	t.Cleanup(srv.Close)
	return srv, rec
}

// withUser puts basic-auth credentials into a clone URL, as a user would.
func withUser(u, user, pass string) string {
	return strings.Replace(u, "http://", "http://"+user+":"+pass+"@", 1)
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}
