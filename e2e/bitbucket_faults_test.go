package e2e

import (
	"testing"
	"time"

	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/fakeforge/traffic"
	"github.com/ferry-import/ferry/store/storetest"
)

// TestBitbucketServerImportFaults: an unreliable Bitbucket Server (5xx,
// resets, bodies cut short or malformed) whose rate budget is smaller than
// the import (429 with Retry-After): the import waits, retries and ends
// finished with everything, nothing twice.
func TestBitbucketServerImportFaults(t *testing.T) {
	t.Parallel()
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			f := forge(t, traffic.Faults{Seed: 5, ErrorRate: 0.1, ResetRate: 0.05, TruncateRate: 0.02, MalformedRate: 0.02,
				RateLimit: 30, RateLimitPeriod: time.Second}, nil)
			in := apptest.Start(t, e, apptest.Options{AllowLocalNetwork: true, EngineOverrides: fast, Workers: 4})
			id := startBBSImport(t, in, f, bbsImportBody(f, "new_namespace", "faulty"))
			waited := false
			st := waitImport(t, in, id, func(st map[string]any) {
				waited = waited || st["waiting_for_rate_limit_until"] != nil
			})
			if st["import_status"] != "finished" {
				t.Fatalf("import ended %v: %v (failed relations %v)", st["import_status"], st["import_error"], st["failed_relations"])
			}
			if fr, _ := st["failed_relations"].([]any); len(fr) != 0 {
				t.Errorf("failed relations: %v", fr)
			}
			want, _ := f.Scenario.Expected(scenario.BitbucketServer)
			checkBBSCounts(t, in.App.Store.DB(), want, id)
			s := faultTotals(f.BitbucketServer.Stats())
			t.Logf("faults met: %d 5xx, %d resets, %d truncated, %d malformed, %d rate-limited; waits shown: %v",
				s.ServerErrors, s.Resets, s.Truncated, s.Malformed, s.RateLimited, waited)
			if s.ServerErrors == 0 || s.Resets == 0 || s.RateLimited == 0 {
				t.Errorf("the import met too few faults to show anything: %+v", s)
			}
		})
	}
}

// TestBitbucketServerImportCancel: POST /import/bitbucket_server/cancel
// stops an import between pages, keeping what arrived; the server hears
// nothing once the import's jobs are gone.
func TestBitbucketServerImportCancel(t *testing.T) {
	t.Parallel()
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			f := forge(t, traffic.Faults{Latency: 20 * time.Millisecond}, nil)
			in := apptest.Start(t, e, apptest.Options{AllowLocalNetwork: true, EngineOverrides: fast, Workers: 4})
			id := startBBSImport(t, in, f, bbsImportBody(f, "new_namespace", "cancel"))
			db := in.App.Store.DB()
			mrs := func() int { return count(t, in, `SELECT COUNT(*) FROM merge_requests WHERE project_id = $1`, id) }
			for deadline := time.Now().Add(60 * time.Second); mrs() == 0; time.Sleep(20 * time.Millisecond) {
				if st := status(t, in, id); st["import_status"] != "started" && st["import_status"] != "scheduled" || time.Now().After(deadline) {
					t.Fatalf("no merge request imported while the import ran: %v", st)
				}
			}
			code, body := postJSON(t, in.URL+"/api/v4/import/bitbucket_server/cancel", in.RootToken, map[string]any{"project_id": id})
			if code != 200 || body["import_status"] != "canceled" || int64(body["id"].(float64)) != id {
				t.Fatalf("cancel: %d %v", code, body)
			}
			atCancel := mrs()
			for deadline := time.Now().Add(60 * time.Second); importJobsLeft(t, db) > 0; time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("%d import jobs still runnable after cancel", importJobsLeft(t, db))
				}
			}
			quiet := f.BitbucketServer.Stats().APIRequests
			for until := time.Now().Add(2 * time.Second); time.Now().Before(until); time.Sleep(50 * time.Millisecond) {
				if n := importJobsLeft(t, db); n > 0 {
					t.Fatalf("%d import jobs runnable again after cancel", n)
				}
			}
			if later := f.BitbucketServer.Stats().APIRequests; later != quiet {
				t.Errorf("source calls went from %d to %d after the import's jobs ended", quiet, later)
			}
			if st := status(t, in, id); st["import_status"] != "canceled" {
				t.Errorf("status after cancel: %v", st["import_status"])
			}
			if kept := mrs(); kept < atCancel || kept == 0 {
				t.Errorf("merge requests after cancel: %d, %d were in when it was canceled", kept, atCancel)
			}
			if code, body := postJSON(t, in.URL+"/api/v4/import/bitbucket_server/cancel", in.RootToken, map[string]any{"project_id": id}); code != 400 ||
				body["message"] != "The import cannot be canceled because it is canceled" {
				t.Errorf("cancel again: %d %v", code, body)
			}
		})
	}
}
