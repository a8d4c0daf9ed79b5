package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-import/ferry/fakeforge"
	ffgithub "github.com/ferry-import/ferry/fakeforge/github"
	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/fakeforge/traffic"
	"github.com/ferry-import/ferry/store"
	"github.com/ferry-import/ferry/store/storetest"
)

// The worker killed with SIGKILL mid-import, as an operator's OOM killer or
// a lost node would, resumes from the checkpoints with nothing twice and
// nothing missing. This runs the real binary.

const killRootToken = "glpat-kill-test-root-token-0001"

// buildFerry builds ./cmd/ferry once per test binary run (the SIGKILL
// tests share it: linking it per test cost seconds each) into binDir,
// which TestMain removes.
func buildFerry(t *testing.T) string {
	t.Helper()
	ferryBin.once.Do(func() {
		bin := filepath.Join(binDir, "ferry")
		cmd := exec.Command("go", "build", "-o", bin, "./cmd/ferry")
		cmd.Dir = ".." // the module root
		if out, err := cmd.CombinedOutput(); err != nil {
			ferryBin.err = fmt.Errorf("build ferry: %v\n%s", err, out)
			return
		}
		ferryBin.path = bin
	})
	if ferryBin.err != nil {
		t.Fatal(ferryBin.err)
	}
	return ferryBin.path
}

var ferryBin struct {
	once sync.Once
	path string
	err  error
}

// readyLine is the part of a log line startProcess waits for.
type readyLine struct {
	Msg      string `json:"msg"`
	URL      string `json:"url"`
	WorkerID string `json:"worker_id"`
}

// ferryProc is a running `ferry serve` or `ferry worker`.
type ferryProc struct {
	cmd      *exec.Cmd
	url      string
	workerID string
	logs     *logBuffer
	done     chan struct{} // closed when the process has exited
}

// startFerry runs `ferry serve --listen 127.0.0.1:0` with env and waits for
// its "listening" log line.
func startFerry(t *testing.T, bin string, env []string, args ...string) *ferryProc {
	t.Helper()
	return startProcess(t, bin, env, "listening", append([]string{"serve", "--listen", "127.0.0.1:0"}, args...)...)
}

// startProcess runs ferry with args and env and waits for the log line
// whose message is ready; its "url" (if any) becomes p.url, its
// "worker_id" p.workerID.
func startProcess(t *testing.T, bin string, env []string, ready string, args ...string) *ferryProc {
	t.Helper()
	p := &ferryProc{cmd: exec.Command(bin, args...), logs: &logBuffer{}, done: make(chan struct{})}
	p.cmd.Dir = t.TempDir()
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout = p.logs
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	seen := make(chan readyLine, 1)
	var scanned sync.WaitGroup
	scanned.Add(1)
	go func() {
		defer scanned.Done()
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(p.logs, line)
			var rec readyLine
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == ready {
				select {
				case seen <- rec:
				default:
				}
			}
		}
	}()
	go func() {
		scanned.Wait() // Wait closes the pipe: read it all first
		_ = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("ferry (pid %d) output:\n%s", p.cmd.Process.Pid, tail(p.logs.String(), 60))
		}
	})
	select {
	case rec := <-seen:
		p.url, p.workerID = rec.URL, rec.WorkerID
	case <-p.done:
		t.Fatalf("ferry exited before listening:\n%s", p.logs.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("ferry did not start:\n%s", p.logs.String())
	}
	return p
}

// kill sends SIGKILL and waits until the process is gone.
func (p *ferryProc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatal("ferry still running after SIGKILL")
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// procStatus is GET /projects/:id/import on a ferry process.
func procStatus(t *testing.T, base string, id int64) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v4/projects/%d/import", base, id), nil)
	req.Header.Set("PRIVATE-TOKEN", killRootToken)
	code, m := send(t, req)
	if code != 200 {
		t.Fatalf("import status: %d %v", code, m)
	}
	return m
}

// relationFetched is the fetched count of a relation in a status.
func relationFetched(st map[string]any, name string) (float64, bool) {
	rels, _ := st["relations"].([]any)
	for _, r := range rels {
		m, _ := r.(map[string]any)
		if m["name"] == name {
			n, _ := m["fetched"].(float64)
			return n, true
		}
	}
	return 0, false
}

// killSources are the imports the SIGKILL test runs: how to start one,
// the relation whose progress triggers the kill, and what must be stored.
type killSource struct {
	name     string // import_type: POST /import/<name>
	relation string
	endpoint func(f *fakeforge.Forge) *fakeforge.Endpoint
	body     func(f *fakeforge.Forge) map[string]any
	check    func(t *testing.T, s *store.Store, f *fakeforge.Forge, id, nsID int64)
}

var killSources = []killSource{
	{"github", "issues", func(f *fakeforge.Forge) *fakeforge.Endpoint { return f.GitHub },
		func(f *fakeforge.Forge) map[string]any {
			return map[string]any{"personal_access_token": f.GitHub.Token, "repo_id": strconv.Itoa(ffgithub.RepoID),
				"target_namespace": "killed", "new_name": "widgets", "github_hostname": f.GitHub.URL}
		}, checkImportedOnce},
	{"bitbucket_server", "pull_request_activities", func(f *fakeforge.Forge) *fakeforge.Endpoint { return f.BitbucketServer },
		func(f *fakeforge.Forge) map[string]any {
			b := bbsImportBody(f, "new_namespace", "killed")
			b["new_name"] = "widgets"
			return b
		},
		func(t *testing.T, s *store.Store, f *fakeforge.Forge, id, _ int64) {
			want, _ := f.Scenario.Expected(scenario.BitbucketServer)
			checkBBSCounts(t, s.DB(), want, id)
		}},
}

func TestImportSurvivesSIGKILL(t *testing.T) {
	t.Parallel()
	bin := buildFerry(t)
	for _, src := range killSources {
		for _, e := range storetest.Engines(t) {
			t.Run(src.name+"/"+e.Name, func(t *testing.T) {
				t.Parallel()
				killOne(t, bin, e, src)
			})
		}
	}
}

// killOne imports src with the real binary, SIGKILLs it mid-import,
// restarts it on the same data and checks the import ends with everything.
func killOne(t *testing.T, bin string, e storetest.Engine, src killSource) {
	f := forge(t, traffic.Faults{Latency: 50 * time.Millisecond}, nil)
	ep, relation := src.endpoint(f), src.relation
	// Default job settings: the dead worker's jobs come back when
	// their leases expire, not after River's one-hour rescue.
	env := []string{"FERRY_ALLOW_LOCAL_NETWORK=1", "FERRY_ROOT_TOKEN=" + killRootToken,
		"FERRY_DATA_DIR=" + e.DataDir, "FERRY_DATABASE_URL=" + e.URL}
	p := startFerry(t, bin, env)
	code, grp := postForm(t, p.url+"/api/v4/groups", killRootToken, url.Values{"name": {"killed"}, "path": {"killed"}})
	if code != 201 {
		t.Fatalf("create group: %d %v", code, grp)
	}
	code, res := postJSON(t, p.url+"/api/v4/import/"+src.name, killRootToken, src.body(f))
	if code != 201 {
		t.Fatalf("POST /import/%s: %d %v", src.name, code, res)
	}
	id := int64(res["id"].(float64))
	started := time.Now()

	// Kill it once the relation has made progress.
	var before map[string]any
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		before = procStatus(t, p.url, id)
		if n, _ := relationFetched(before, relation); n > 0 {
			break
		}
		if before["import_status"] == "finished" || time.Now().After(deadline) {
			t.Fatalf("no progress on %s seen before the import ended: %v", relation, before)
		}
	}
	p.kill(t)
	killed := time.Now()
	callsAtKill := ep.Stats().APIRequests
	fetchedAtKill, _ := relationFetched(before, relation)
	t.Logf("SIGKILL after %v: stage %v, %s fetched %v, %d source calls so far",
		killed.Sub(started).Round(time.Millisecond), before["import_stage"], relation, fetchedAtKill, callsAtKill)

	// The jobs the dead process left running: their leases expire.
	s, err := store.Open(context.Background(), store.Config{URL: e.URL, DataDir: e.DataDir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	stuck := func() int {
		var n int
		if err := s.DB().QueryRow(`SELECT COUNT(*) FROM river_job WHERE kind IN ('import_stage', 'import_relation')
			AND state = 'running' AND attempted_at < $1`, killed.UTC()).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	left := stuck()
	if left == 0 {
		t.Errorf("no import job was running at the kill: nothing to rescue")
	}

	// Again on the same data directory and database.
	p = startFerry(t, bin, env)
	restarted := time.Now()
	var resumedAt, rescuedAt time.Time
	var st map[string]any
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		st = procStatus(t, p.url, id)
		if resumedAt.IsZero() && ep.Stats().APIRequests > callsAtKill {
			resumedAt = time.Now()
		}
		if rescuedAt.IsZero() && stuck() == 0 {
			rescuedAt = time.Now()
		}
		if s := st["import_status"]; s == "finished" || s == "failed" || s == "canceled" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("import did not end after the restart: %v", st)
		}
	}
	done := time.Now()
	if resumedAt.IsZero() {
		resumedAt = done
	}
	// Jobs killed after their relation's last checkpoint (the work done,
	// River not yet told) hold nothing up: the import may finish before
	// their leases run out. They are still rescued, once the leases do.
	for deadline := time.Now().Add(time.Minute); rescuedAt.IsZero(); time.Sleep(50 * time.Millisecond) {
		if stuck() == 0 {
			rescuedAt = time.Now()
		} else if time.Now().After(deadline) {
			t.Fatalf("%d jobs killed while running were never rescued", stuck())
		}
	}
	t.Logf("restart: %d running jobs rescued %v after the restart, source calls resumed %v after the restart (%v after the kill); finished %v after the restart, %v in all, %d source calls",
		left, rescuedAt.Sub(restarted).Round(time.Millisecond), resumedAt.Sub(restarted).Round(time.Millisecond), resumedAt.Sub(killed).Round(time.Millisecond),
		done.Sub(restarted).Round(time.Millisecond), done.Sub(started).Round(time.Millisecond), ep.Stats().APIRequests)
	if st["import_status"] != "finished" {
		t.Fatalf("import ended %v after the restart: %v", st["import_status"], st["import_error"])
	}
	if fr, _ := st["failed_relations"].([]any); len(fr) != 0 {
		t.Errorf("failed relations: %v", fr)
	}
	if n := leaseReclaims(t, s); n == 0 {
		t.Errorf("no import job records a lease reclaim: something else brought the jobs back")
	}

	src.check(t, s, f, id, int64(grp["id"].(float64)))
}

// checkImportedOnce compares the database with the scenario: nothing
// twice, nothing missing.
func checkImportedOnce(t *testing.T, s *store.Store, f *fakeforge.Forge, id, nsID int64) {
	t.Helper()
	want, _ := f.Scenario.Expected("github")
	checkCounts(t, s.DB(), want, id, nsID)
	checkIIDs(t, s, "issues", id, f.Scenario.Config().Issues, func(n int) bool { return !f.Scenario.Item(n).IsPR })
	checkIIDs(t, s, "merge_requests", id, f.Scenario.Config().PullRequests, func(n int) bool { return f.Scenario.Item(n).IsPR })
	// Every comment once: no two notes with the same body on one item.
	var dup int
	if err := s.DB().QueryRow(`SELECT COUNT(*) FROM (SELECT noteable_type, noteable_iid, body FROM notes WHERE project_id = $1 AND system = FALSE
		GROUP BY noteable_type, noteable_iid, body HAVING COUNT(*) > 1) d`, id).Scan(&dup); err != nil {
		t.Fatal(err)
	}
	if dup != 0 {
		t.Errorf("%d notes appear more than once on the same item", dup)
	}
}

// checkIIDs checks that table holds each scenario item of its kind (isKind)
// exactly once, under its source number, and nothing else.
func checkIIDs(t *testing.T, s *store.Store, table string, pid int64, want int, isKind func(n int) bool) {
	t.Helper()
	rows, err := s.DB().Query(`SELECT iid, COUNT(*) FROM `+table+` WHERE project_id = $1 GROUP BY iid`, pid)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen := map[int]int{}
	for rows.Next() {
		var iid, n int
		if err := rows.Scan(&iid, &n); err != nil {
			t.Fatal(err)
		}
		seen[iid] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(seen) != want {
		t.Errorf("%s: %d distinct iids, scenario has %d", table, len(seen), want)
	}
	for iid, n := range seen {
		if n != 1 {
			t.Errorf("%s: iid %d appears %d times", table, iid, n)
		}
		if !isKind(iid) {
			t.Errorf("%s: iid %d is not one of the scenario's %s", table, iid, table)
		}
	}
}

// leaseReclaims counts import jobs whose errors record that their worker's
// lease expired (queue leases) — how a dead worker's jobs come back.
func leaseReclaims(t *testing.T, s *store.Store) int {
	t.Helper()
	var n int
	if err := s.DB().QueryRow(`SELECT COUNT(*) FROM river_job WHERE kind IN ('import_stage', 'import_relation')
		AND CAST(errors AS TEXT) LIKE '%renewing its lease%'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
