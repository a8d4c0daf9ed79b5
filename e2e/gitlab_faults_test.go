package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/fakeforge"
	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/fakeforge/traffic"
	"github.com/ferry-import/ferry/store/storetest"
)

// startMigration creates the top-level group dest and migrates fakeforge's
// top-level group into it as "acme"; it returns the migration's id.
func startMigration(t *testing.T, in *apptest.Instance, f *fakeforge.Forge, dest string) int64 {
	t.Helper()
	if code, res := postJSON(t, in.URL+"/api/v4/groups", in.RootToken, map[string]any{"name": dest, "path": dest}); code != 201 {
		t.Fatalf("create group %s: %d %v", dest, code, res)
	}
	code, res := postJSON(t, in.URL+"/api/v4/bulk_imports", in.RootToken, map[string]any{
		"configuration": map[string]any{"url": f.GitLab.URL, "access_token": f.GitLab.Token},
		"entities": []map[string]any{{"source_type": "group_entity", "source_full_path": "acme", "destination_slug": "acme",
			"destination_namespace": dest}},
	})
	if code != 201 {
		t.Fatalf("POST /bulk_imports: %d %v", code, res)
	}
	return int64(res["id"].(float64))
}

// migratedProjects are the project ids a migration's entities created.
func migratedProjects(t *testing.T, in *apptest.Instance, id int64) []int64 {
	t.Helper()
	var out []int64
	for _, en := range getList(t, fmt.Sprintf("%s/api/v4/bulk_imports/%d/entities?per_page=100", in.URL, id), in.RootToken) {
		if pid, ok := en["project_id"].(float64); ok {
			out = append(out, int64(pid))
		}
	}
	return out
}

// TestGitLabMigrationFaults: an unreliable source GitLab (5xx, resets,
// bodies cut short or malformed) whose rate budget is smaller than the
// migration (429 with Retry-After): the migration waits, retries and ends
// finished with every group and project complete, nothing twice.
func TestGitLabMigrationFaults(t *testing.T) {
	t.Parallel()
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			f := forge(t, traffic.Faults{Seed: 5, ErrorRate: 0.1, ResetRate: 0.05, TruncateRate: 0.02, MalformedRate: 0.02,
				RateLimit: 10, RateLimitPeriod: time.Second}, smallTree)
			in := apptest.Start(t, e, apptest.Options{AllowLocalNetwork: true, EngineOverrides: fast, Workers: 4})
			id := startMigration(t, in, f, "faulty")
			done := waitBulkImport(t, in, id)
			if done["status"] != "finished" {
				logEntities(t, in, id)
				t.Fatalf("migration ended %v (has_failures %v)", done["status"], done["has_failures"])
			}
			for _, en := range getList(t, fmt.Sprintf("%s/api/v4/bulk_imports/%d/entities?per_page=100", in.URL, id), in.RootToken) {
				checkEntityFailures(t, en)
			}
			want, _ := f.Scenario.Expected(scenario.GitLab)
			projects := migratedProjects(t, in, id)
			if len(projects) != len(f.Scenario.Projects()) {
				t.Fatalf("%d projects migrated, the source has %d", len(projects), len(f.Scenario.Projects()))
			}
			root := in.Client(t, in.RootToken)
			for _, pid := range projects {
				checkGitLabProject(t, in, root, pid, want, len(projects))
			}
			s := faultTotals(f.GitLab.Stats())
			t.Logf("faults met: %d 5xx, %d resets, %d truncated, %d malformed, %d rate-limited", s.ServerErrors, s.Resets, s.Truncated,
				s.Malformed, s.RateLimited)
			// The budget binds: ferry either met 429s or, reading the
			// rate-limit headers, paused before them.
			waits := counterSum(t, in, "ferry_import_rate_limit_waits_total")
			if s.ServerErrors == 0 || s.Resets == 0 || (s.RateLimited == 0 && waits == 0) {
				t.Errorf("the migration met too few faults to show anything: %+v, %v rate-limit waits", s, waits)
			}
		})
	}
}

// TestGitLabMigrationCancel: POST /bulk_imports/:id/cancel stops a running
// migration: it reads canceled, its unfinished entities too, and the source
// hears nothing once its jobs are gone.
func TestGitLabMigrationCancel(t *testing.T) {
	t.Parallel()
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			f := forge(t, traffic.Faults{Latency: 20 * time.Millisecond}, smallTree)
			in := apptest.Start(t, e, apptest.Options{AllowLocalNetwork: true, EngineOverrides: fast, Workers: 4})
			id := startMigration(t, in, f, "cancel")
			issues := func() int { return count(t, in, `SELECT COUNT(*) FROM issues`) }
			for deadline := time.Now().Add(60 * time.Second); issues() == 0; time.Sleep(20 * time.Millisecond) {
				if b := getObject(t, fmt.Sprintf("%s/api/v4/bulk_imports/%d", in.URL, id), in.RootToken); b["status"] == "finished" ||
					time.Now().After(deadline) {
					t.Fatalf("no issue imported while the migration ran: %v", b)
				}
			}
			code, body := postJSON(t, fmt.Sprintf("%s/api/v4/bulk_imports/%d/cancel", in.URL, id), in.RootToken, nil)
			if code != 200 || body["status"] != "canceled" {
				t.Fatalf("cancel: %d %v", code, body)
			}
			db := in.App.Store.DB()
			jobsLeft := func() int {
				var n int
				if err := db.QueryRow(`SELECT COUNT(*) FROM river_job WHERE kind IN ('import_stage', 'import_relation', 'bulk_import_step')
					AND state IN ('running', 'available', 'retryable', 'scheduled')`).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}
			for deadline := time.Now().Add(60 * time.Second); jobsLeft() > 0; time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("%d migration jobs still runnable after cancel", jobsLeft())
				}
			}
			quiet := f.GitLab.Stats().APIRequests
			for until := time.Now().Add(time.Second); time.Now().Before(until); time.Sleep(50 * time.Millisecond) {
				if n := jobsLeft(); n > 0 {
					t.Fatalf("%d migration jobs runnable again after cancel", n)
				}
			}
			if later := f.GitLab.Stats().APIRequests; later != quiet {
				t.Errorf("source calls went from %d to %d after the migration's jobs ended", quiet, later)
			}
			if b := getObject(t, fmt.Sprintf("%s/api/v4/bulk_imports/%d", in.URL, id), in.RootToken); b["status"] != "canceled" {
				t.Errorf("after cancel the migration reads %v", b["status"])
			}
			for _, en := range getList(t, fmt.Sprintf("%s/api/v4/bulk_imports/%d/entities?per_page=100", in.URL, id), in.RootToken) {
				if s := en["status"]; s != "finished" && s != "canceled" {
					t.Errorf("entity %v: %s after cancel", en["source_full_path"], s)
				}
			}
		})
	}
}
