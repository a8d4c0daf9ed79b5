package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/store"
	"github.com/ferry-import/ferry/store/storetest"
)

// The tests here run the real binary as a user would.

var ferryBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ferry-bin")
	if err != nil {
		panic(err)
	}
	ferryBin = filepath.Join(dir, "ferry")
	if out, err := exec.Command("go", "build", "-o", ferryBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build ferry: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running ferry process.
type proc struct {
	cmd    *exec.Cmd
	url    string
	stdout lockedBuffer
	logs   chan string
}

// lockedBuffer is the child's stdout, written by exec's copying goroutine
// while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// start runs `ferry args…` in dir and waits for its "listening" log line
// (or, for a worker, the River client's start).
func start(t *testing.T, dir string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(ferryBin, args...), logs: make(chan string, 1024)}
	p.cmd.Dir = dir
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout = &p.stdout
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.cmd.Process.Kill(); _ = p.cmd.Wait() })
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			var rec struct{ Msg, URL string }
			worker := args[0] == "worker"
			if json.Unmarshal([]byte(line), &rec) == nil && ((!worker && rec.Msg == "listening") || (worker && strings.Contains(rec.Msg, "River client started"))) {
				select {
				case ready <- rec.URL:
				default:
				}
			}
			select {
			case p.logs <- line:
			default:
			}
		}
		close(p.logs)
	}()
	select {
	case p.url = <-ready:
	case <-time.After(60 * time.Second):
		t.Fatalf("ferry %v did not start; stdout: %s", args, p.stdout.String())
	}
	return p
}

// stop sends SIGTERM and expects a clean exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ferry exited with %v after SIGTERM", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("ferry did not stop after SIGTERM")
	}
}

func api(t *testing.T, method, url, token, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("PRIVATE-TOKEN", token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return resp.StatusCode, m
}

func TestServeAsANewUserWould(t *testing.T) {
	dir := t.TempDir()
	p := start(t, dir, nil, "serve", "--listen", "127.0.0.1:0")
	tokenFile := filepath.Join(dir, "ferry-data", "initial_root_token")
	fi, err := os.Stat(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file mode %v, want 0600", fi.Mode().Perm())
	}
	raw, _ := os.ReadFile(tokenFile)
	token := strings.TrimSpace(string(raw))
	// stdout is copied by exec's goroutine, which may still be behind the
	// "listening" line on stderr: wait for what was printed before it.
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(p.stdout.String(), token); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("token not printed on first start: %q", p.stdout.String())
		}
	}
	base := p.url + "/api/v4"
	if code, u := api(t, "GET", base+"/user", token, ""); code != 200 || u["username"] != "root" {
		t.Fatalf("GET /user: %d %v", code, u)
	}
	code, g := api(t, "POST", base+"/groups", token, "name=Group&path=group")
	if code != 201 {
		t.Fatalf("create group: %d %v", code, g)
	}
	if code, _ := api(t, "POST", base+"/groups", token, fmt.Sprintf("name=Sub&path=subgroup&parent_id=%v", g["id"])); code != 201 {
		t.Fatalf("create subgroup: %d", code)
	}
	if code, _ := api(t, "POST", base+"/projects", token, "name=project&namespace_id=group%2Fsubgroup"); code != 201 {
		t.Fatalf("create project: %d", code)
	}
	if code, pr := api(t, "GET", base+"/projects/group%2Fsubgroup%2Fproject", token, ""); code != 200 || pr["path_with_namespace"] != "group/subgroup/project" {
		t.Fatalf("project by path: %d %v", code, pr)
	}
	for _, path := range []string{"/-/health", "/-/readiness", "/metrics"} {
		resp, err := http.Get(p.url + path)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %v %v", path, resp, err)
		}
		resp.Body.Close()
	}
	// A correlation id given by the client comes back.
	req, _ := http.NewRequest("GET", base+"/user", nil)
	req.Header.Set("PRIVATE-TOKEN", token)
	req.Header.Set("X-Request-Id", "trace-me-123")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.Header.Get("X-Request-Id") != "trace-me-123" {
		t.Fatalf("X-Request-Id: %v %v", resp.Header, err)
	}
	resp.Body.Close()
	p.stop(t)

	// The token never appears in the logs.
	for line := range p.logs {
		if strings.Contains(line, token) {
			t.Fatalf("token logged: %s", line)
		}
	}

	// A restart keeps everything and prints no new token.
	p = start(t, dir, nil, "serve", "--listen", "127.0.0.1:0")
	if strings.Contains(p.stdout.String(), "glpat-") {
		t.Fatalf("second start printed a token: %q", p.stdout.String())
	}
	if code, _ := api(t, "GET", p.url+"/api/v4/projects/group%2Fsubgroup%2Fproject", token, ""); code != 200 {
		t.Fatalf("project lost on restart: %d", code)
	}

	// Admin commands work on the same data directory while ferry runs.
	short := exec.Command(ferryBin, "admin", "user", "create", "--data-dir", filepath.Join(dir, "ferry-data"), "--username", "bob", "--password-file", "-")
	short.Stdin = strings.NewReader("short\n")
	if out, err := short.CombinedOutput(); err == nil || !strings.Contains(string(out), "is too short (minimum is 8 characters)") {
		t.Fatalf("admin user create with a short password: %v %s", err, out)
	}
	create := exec.Command(ferryBin, "admin", "user", "create", "--data-dir", filepath.Join(dir, "ferry-data"), "--username", "bob", "--email", "bob@example.com", "--password-file", "-")
	create.Stdin = strings.NewReader(" bob's password \n")
	out, err := create.CombinedOutput()
	if err != nil {
		t.Fatalf("admin user create: %v %s", err, out)
	}
	if code := webPasswordSignIn(t, p.url, "bob", " bob's password "); code != http.StatusSeeOther {
		t.Fatalf("bob signs in with the password from --password-file: %d", code)
	}
	if code := webPasswordSignIn(t, p.url, "bob", "bob's password"); code != http.StatusUnauthorized {
		t.Fatalf("the password's spaces were dropped: %d", code)
	}
	out, err = exec.Command(ferryBin, "admin", "token", "create", "--data-dir", filepath.Join(dir, "ferry-data"), "--username", "bob", "--scopes", "read_api").Output()
	if err != nil {
		t.Fatalf("admin token create: %v", err)
	}
	bobToken := strings.TrimSpace(string(out))
	if code, u := api(t, "GET", p.url+"/api/v4/user", bobToken, ""); code != 200 || u["username"] != "bob" {
		t.Fatalf("bob's token: %d %v", code, u)
	}
	if code, _ := api(t, "POST", p.url+"/api/v4/groups", bobToken, "name=x&path=x"); code != 403 {
		t.Fatalf("read_api token wrote: %d", code)
	}
	p.stop(t)

	if out, err := exec.Command(ferryBin, "version").Output(); err != nil || !strings.HasPrefix(string(out), "ferry ") {
		t.Fatalf("version: %q %v", out, err)
	}
}

func TestRootTokenFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	const tok = "glpat-chosen-by-the-operator1"
	p := start(t, dir, []string{"FERRY_ROOT_TOKEN=" + tok, "FERRY_DATA_DIR=" + filepath.Join(dir, "data"), "FERRY_LISTEN=127.0.0.1:0"}, "serve")
	if code, u := api(t, "GET", p.url+"/api/v4/user", tok, ""); code != 200 || u["username"] != "root" {
		t.Fatalf("FERRY_ROOT_TOKEN: %d %v", code, u)
	}
	p.stop(t)
}

// TestWorkerRunsJobsEnqueuedByServe: an API-only server enqueues, a
// separate `ferry worker` process works the job, on each database.
func TestWorkerRunsJobsEnqueuedByServe(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			dir := t.TempDir()
			env := []string{"FERRY_DATA_DIR=" + e.DataDir, "FERRY_DATABASE_URL=" + e.URL, "FERRY_ROOT_TOKEN=glpat-worker-test-token-0001"}
			srv := start(t, dir, env, "serve", "--listen", "127.0.0.1:0", "--workers", "0")
			base := srv.url + "/api/v4"
			code, pr := api(t, "POST", base+"/projects", "glpat-worker-test-token-0001", "name=doomed")
			if code != 201 {
				t.Fatalf("create project: %d", code)
			}
			if code, _ := api(t, "DELETE", fmt.Sprintf("%s/projects/%v", base, pr["id"]), "glpat-worker-test-token-0001", ""); code != 202 {
				t.Fatalf("delete project: %d", code)
			}
			s, err := store.Open(context.Background(), store.Config{URL: e.URL, DataDir: e.DataDir})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			state := func() string {
				var st string
				err := s.DB().QueryRow(`SELECT state FROM river_job WHERE kind = 'delete_project_data'`).Scan(&st)
				if err == sql.ErrNoRows {
					return "none"
				} else if err != nil {
					t.Fatal(err)
				}
				return st
			}
			if got := state(); got != "available" {
				t.Fatalf("job state with no workers: %s, want available", got)
			}
			w := start(t, dir, env, "worker", "--workers", "1")
			deadline := time.Now().Add(60 * time.Second)
			for state() != "completed" {
				if time.Now().After(deadline) {
					t.Fatalf("worker never completed the job (state %s)", state())
				}
				time.Sleep(50 * time.Millisecond) // polling the job row: the worker is another process
			}
			w.stop(t)
			srv.stop(t)
		})
	}
}

// TestAdminTokenCreateRefusesWhatTheAPIRefuses: `ferry admin token create`
// applies the API's rule (ferry.ValidateNewToken): no token for a
// placeholder user, no expiry in the past, no name over 255 characters;
// a refused token is not stored.
func TestAdminTokenCreateRefusesWhatTheAPIRefuses(t *testing.T) {
	data := filepath.Join(t.TempDir(), "ferry-data")
	if out, err := exec.Command(ferryBin, "admin", "user", "create", "--data-dir", data, "--username", "bob").CombinedOutput(); err != nil {
		t.Fatalf("admin user create: %v %s", err, out)
	}
	ctx := context.Background()
	s, err := store.Open(ctx, store.Config{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Write(ctx, func(tx *store.Tx) error {
		return tx.CreateUser(ctx, &ferry.User{Username: "ghost_placeholder_user_1", Name: "Placeholder ghost", Placeholder: true})
	})
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"placeholder owner", []string{"--username", "ghost_placeholder_user_1"}, "create token: placeholder users cannot have tokens"},
		{"past expiry", []string{"--username", "bob", "--expires-at", "2020-01-01"}, "create token: Expiration date must be in the future"},
		{"name over 255", []string{"--username", "bob", "--name", strings.Repeat("n", 256)}, "create token: Name is too long (maximum is 255 characters)"},
		{"impossible date", []string{"--username", "bob", "--expires-at", "2024-13-45"}, "--expires-at: want YYYY-MM-DD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(ferryBin, append([]string{"admin", "token", "create", "--data-dir", data}, tc.args...)...)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err == nil {
				t.Fatalf("token created: %q", stdout.String())
			}
			if !strings.Contains(stderr.String(), tc.want) || strings.Contains(stdout.String(), "glpat-") {
				t.Fatalf("stderr %q stdout %q, want %q and no token", stderr.String(), stdout.String(), tc.want)
			}
		})
	}
	s, err = store.Open(ctx, store.Config{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var n int
	if err := s.DB().QueryRow(`SELECT COUNT(*) FROM personal_access_tokens`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d tokens stored after refusals", n)
	}
	// What the rule allows still works.
	out, err := exec.Command(ferryBin, "admin", "token", "create", "--data-dir", data, "--username", "bob", "--expires-at", time.Now().AddDate(0, 1, 0).Format("2006-01-02")).Output()
	if err != nil || !strings.HasPrefix(string(out), "glpat-") {
		t.Fatalf("valid token: %q %v", out, err)
	}
}

// webPasswordSignIn posts the web sign-in form with a password and
// returns the status (303 when signed in).
func webPasswordSignIn(t *testing.T, base, login, pw string) int {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(base + "/users/sign_in")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := regexp.MustCompile(`name="authenticity_token" value="([^"]+)"`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("no sign-in form: %s", page)
	}
	res, err = c.PostForm(base+"/users/sign_in", url.Values{"authenticity_token": {string(m[1])}, "login": {login}, "password": {pw}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}
