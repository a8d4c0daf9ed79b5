package e2e

import (
	"context"
	"net/url"
	"strconv"
	"testing"
	"time"

	ffgithub "github.com/ferry-import/ferry/fakeforge/github"
	"github.com/ferry-import/ferry/fakeforge/traffic"
	"github.com/ferry-import/ferry/store"
	"github.com/ferry-import/ferry/store/storetest"
)

// Two `ferry worker` processes on one PostgreSQL behind an API-only
// `ferry serve --workers 0` share one import's relations; one of them is
// SIGKILLed while it runs some, and the other finishes the import with
// nothing twice and nothing missing. This runs the real binary.
func TestWorkersShareAnImportAndSurviveAKill(t *testing.T) {
	t.Parallel()
	bin := buildFerry(t)
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			if e.Name != "postgres" {
				t.Skip("several worker processes share one PostgreSQL; SQLite is one process's file")
			}
			f := forge(t, traffic.Faults{Latency: 50 * time.Millisecond}, nil)
			env := []string{"FERRY_ALLOW_LOCAL_NETWORK=1", "FERRY_ROOT_TOKEN=" + killRootToken,
				"FERRY_DATA_DIR=" + e.DataDir, "FERRY_DATABASE_URL=" + e.URL,
				// Short slices make relations change hands between workers often.
				"FERRY_IMPORT_SLICE=1s"}
			apiNode := startFerry(t, bin, env, "--workers", "0")
			w1 := startProcess(t, bin, env, "working jobs", "worker", "--workers", "2")
			w2 := startProcess(t, bin, env, "working jobs", "worker", "--workers", "2")
			if w1.workerID == "" || w1.workerID == w2.workerID {
				t.Fatalf("worker ids %q and %q: want two distinct", w1.workerID, w2.workerID)
			}

			code, grp := postForm(t, apiNode.url+"/api/v4/groups", killRootToken, url.Values{"name": {"shared"}, "path": {"shared"}})
			if code != 201 {
				t.Fatalf("create group: %d %v", code, grp)
			}
			code, body := postJSON(t, apiNode.url+"/api/v4/import/github", killRootToken, map[string]any{
				"personal_access_token": f.GitHub.Token, "repo_id": strconv.Itoa(ffgithub.RepoID),
				"target_namespace": "shared", "new_name": "widgets", "github_hostname": f.GitHub.URL})
			if code != 201 {
				t.Fatalf("POST /import/github: %d %v", code, body)
			}
			id := int64(body["id"].(float64))

			s, err := store.Open(context.Background(), store.Config{URL: e.URL, DataDir: e.DataDir})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			// ran is who has run this import's relation jobs so far, and
			// runningOn how many of them a worker is running now.
			ran := func() map[string]bool {
				rows, err := s.DB().Query(`SELECT DISTINCT unnest(attempted_by) FROM river_job
					WHERE kind = 'import_relation' AND (args->>'import_id')::bigint = $1`, id)
				if err != nil {
					t.Fatal(err)
				}
				defer rows.Close()
				who := map[string]bool{}
				for rows.Next() {
					var w string
					if err := rows.Scan(&w); err != nil {
						t.Fatal(err)
					}
					who[w] = true
				}
				return who
			}
			runningOn := func(worker string) int {
				var n int
				if err := s.DB().QueryRow(`SELECT COUNT(*) FROM river_job WHERE kind = 'import_relation' AND state = 'running'
					AND attempted_by[array_length(attempted_by, 1)] = $1`, worker).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}

			// Both workers take part, and the one to be killed is busy.
			for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(20 * time.Millisecond) {
				who := ran()
				if who[w1.workerID] && who[w2.workerID] && runningOn(w1.workerID) > 0 {
					break
				}
				if st := procStatus(t, apiNode.url, id); st["import_status"] == "finished" || time.Now().After(deadline) {
					t.Fatalf("the two workers did not both run relations before the import ended (ran: %v): %v", who, st["import_status"])
				}
			}
			w1.kill(t)
			killed := time.Now()
			// What the dead worker left running: its leases must expire and
			// the jobs run again elsewhere (those whose work was already
			// committed then find nothing left to do).
			orphans := runningOn(w1.workerID)
			t.Logf("killed worker %s; it left %d relation jobs running", w1.workerID, orphans)

			var st map[string]any
			for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
				st = procStatus(t, apiNode.url, id)
				if s := st["import_status"]; s == "finished" || s == "failed" || s == "canceled" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("import did not end after the kill: %v", st)
				}
			}
			t.Logf("import ended %v after the kill", time.Since(killed).Round(time.Millisecond))
			if st["import_status"] != "finished" {
				t.Fatalf("import ended %v: %v", st["import_status"], st["import_error"])
			}
			if fr, _ := st["failed_relations"].([]any); len(fr) != 0 {
				t.Errorf("failed relations: %v", fr)
			}
			if orphans > 0 {
				for deadline := time.Now().Add(2 * time.Minute); runningOn(w1.workerID) > 0; time.Sleep(100 * time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatalf("the dead worker's jobs are still running 2 minutes after the kill")
					}
				}
				t.Logf("its jobs were reclaimed %v after the kill", time.Since(killed).Round(time.Millisecond))
				if n := leaseReclaims(t, s); n == 0 {
					t.Errorf("the killed worker's jobs came back without a lease reclaim")
				}
			}
			checkImportedOnce(t, s, f, id, int64(grp["id"].(float64)))
		})
	}
}
