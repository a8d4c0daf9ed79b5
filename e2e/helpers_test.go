package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/fakeforge"
	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/fakeforge/traffic"
)

// binDir holds what the package's tests build once and share (the ferry
// binary of the SIGKILL tests); TestMain removes it.
var binDir string

// TestMain makes binDir, runs the tests and removes it. The tests run in
// parallel (t.Parallel): each starts its own fakeforge, ferry, data
// directory and PostgreSQL schema on ports the kernel picks, and they wait
// mostly on sources, leases and rate-limit windows, which overlap.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ferry-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// must turns a client call's results into a value, failing on error.
func must[T any](v T, _ *gitlab.Response, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// forge starts fakeforge with a small scenario (trimmed further by tweak).
func forge(t *testing.T, faults traffic.Faults, tweak func(*scenario.Config)) *fakeforge.Forge {
	t.Helper()
	return forgeWith(t, fakeforge.Options{Faults: faults}, tweak)
}

// forgeWith is forge with more of fakeforge's options (opts.Scenario is
// set from the small preset and tweak).
func forgeWith(t *testing.T, opts fakeforge.Options, tweak func(*scenario.Config)) *fakeforge.Forge {
	t.Helper()
	sc, err := scenario.Preset("small", 7)
	if err != nil {
		t.Fatal(err)
	}
	if tweak != nil {
		tweak(&sc)
	}
	opts.Scenario = sc
	f, err := fakeforge.Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// logBuffer keeps ferry's log lines for assertions and shows them on failure.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(b)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// postJSON sends a JSON body as curl would.
func postJSON(t *testing.T, url, token string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("PRIVATE-TOKEN", token)
	return send(t, req)
}

func send(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	if m == nil {
		m = map[string]any{"_raw": string(raw)}
	}
	return resp.StatusCode, m
}

// status is GET /projects/:id/import as raw JSON (ferry's extra fields
// included).
func status(t *testing.T, in *apptest.Instance, id int64) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v4/projects/%d/import", in.URL, id), nil)
	req.Header.Set("PRIVATE-TOKEN", in.RootToken)
	code, m := send(t, req)
	if code != 200 {
		t.Fatalf("import status: %d %v", code, m)
	}
	return m
}

// waitImport polls the import status (the public API, as a user would)
// until it is final, calling each with every status seen.
func waitImport(t *testing.T, in *apptest.Instance, id int64, each func(map[string]any)) map[string]any {
	t.Helper()
	// A hang detector, not a speed check: the race run on a loaded machine
	// took over 3 minutes for an import with attachments.
	deadline := time.Now().Add(5 * time.Minute)
	for {
		st := status(t, in, id)
		if each != nil {
			each(st)
		}
		switch st["import_status"] {
		case "finished", "failed", "canceled":
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("import did not end: %v", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// git runs git with no user configuration.
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// all pages through a client-go list.
func all[T any](t *testing.T, list func(opt gitlab.ListOptions) ([]T, *gitlab.Response, error)) []T {
	t.Helper()
	var out []T
	opt := gitlab.ListOptions{PerPage: 100, Page: 1}
	for {
		items, resp, err := list(opt)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, items...)
		if resp.NextPage == 0 {
			return out
		}
		opt.Page = resp.NextPage
	}
}

// checkCounts compares what an import of the scenario wrote for project pid
// (placeholders in namespace nsID) with the scenario's counts per relation.
func checkCounts(t *testing.T, db *sql.DB, want scenario.Counts, pid, nsID int64) {
	t.Helper()
	count := func(q string, args ...any) int {
		t.Helper()
		var n int
		if err := db.QueryRow(q, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	for _, c := range []struct {
		kind, query string
	}{
		{"labels", `SELECT COUNT(*) FROM labels WHERE project_id = $1`},
		{"milestones", `SELECT COUNT(*) FROM milestones WHERE project_id = $1`},
		{"releases", `SELECT COUNT(*) FROM releases WHERE project_id = $1`},
		{"issues", `SELECT COUNT(*) FROM issues WHERE project_id = $1`},
		{"pull_requests", `SELECT COUNT(*) FROM merge_requests WHERE project_id = $1`},
		{"review_comments", `SELECT COUNT(*) FROM notes WHERE project_id = $1 AND position_type <> ''`},
		{"reviews", `SELECT COUNT(*) FROM reviews WHERE project_id = $1`},
		{"reactions", `SELECT COUNT(*) FROM award_emoji WHERE project_id = $1`},
		{"protected_branches", `SELECT COUNT(*) FROM protected_branches WHERE project_id = $1`},
	} {
		if got := count(c.query, pid); got != want[c.kind] {
			t.Errorf("%s: %d imported, scenario has %d", c.kind, got, want[c.kind])
		}
	}
	comments := count(`SELECT COUNT(*) FROM notes WHERE project_id = $1 AND system = FALSE AND position_type = ''`, pid)
	if comments < want["issue_comments"] {
		t.Errorf("conversation comments: %d, scenario has %d", comments, want["issue_comments"])
	}
	// Every author is a placeholder user, one per source user.
	if n := count(`SELECT COUNT(*) FROM source_users WHERE namespace_id = $1`, nsID); n != want["users"] {
		t.Errorf("source users: %d, scenario has %d", n, want["users"])
	}
	if n := count(`SELECT COUNT(*) FROM users WHERE placeholder = TRUE`); n != want["users"] {
		t.Errorf("placeholder users: %d, want %d", n, want["users"])
	}
}

// counterSum is the sum of a counter's series in an instance's metrics.
func counterSum(t *testing.T, in *apptest.Instance, name string) float64 {
	t.Helper()
	mfs, err := in.App.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}
