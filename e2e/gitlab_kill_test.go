package e2e

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/fakeforge/traffic"
	"github.com/ferry-import/ferry/store"
	"github.com/ferry-import/ferry/store/storetest"
)

// TestMigrationSurvivesSIGKILL migrates fakeforge's group tree with the
// real binary, SIGKILLs it once a project's issues are arriving, restarts
// it on the same data and checks the migration ends finished with every
// project complete and nothing twice.
func TestMigrationSurvivesSIGKILL(t *testing.T) {
	t.Parallel()
	bin := buildFerry(t)
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			f := forge(t, traffic.Faults{Latency: 30 * time.Millisecond}, smallTree)
			env := []string{"FERRY_ALLOW_LOCAL_NETWORK=1", "FERRY_ROOT_TOKEN=" + killRootToken,
				"FERRY_DATA_DIR=" + e.DataDir, "FERRY_DATABASE_URL=" + e.URL}
			p := startFerry(t, bin, env)
			in := &apptest.Instance{URL: p.url, RootToken: killRootToken, Engine: e}
			id := startMigration(t, in, f, "killed")

			// Kill it once some project's issues are arriving.
			for deadline := time.Now().Add(60 * time.Second); !issuesArriving(t, in, id); time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("no project's issues seen arriving")
				}
			}
			p.kill(t)
			calls := f.GitLab.Stats().APIRequests

			p = startFerry(t, bin, env)
			in.URL = p.url
			done := waitBulkImport(t, in, id)
			t.Logf("%d source calls at the kill, %d in all", calls, f.GitLab.Stats().APIRequests)
			if done["status"] != "finished" {
				t.Fatalf("migration ended %v (has_failures %v) after the restart", done["status"], done["has_failures"])
			}
			for _, en := range getList(t, fmt.Sprintf("%s/api/v4/bulk_imports/%d/entities?per_page=100", in.URL, id), in.RootToken) {
				checkEntityFailures(t, en)
			}
			s, err := store.Open(context.Background(), store.Config{URL: e.URL, DataDir: e.DataDir})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			projects := migratedProjects(t, in, id)
			if len(projects) != len(f.Scenario.Projects()) {
				t.Fatalf("%d projects migrated, the source has %d", len(projects), len(f.Scenario.Projects()))
			}
			c := f.Scenario.Config()
			for _, pid := range projects {
				checkIIDs(t, s, "issues", pid, c.Issues, func(n int) bool { return n >= 1 && n <= c.Issues })
				checkIIDs(t, s, "merge_requests", pid, c.PullRequests, func(n int) bool { return n >= 1 && n <= c.PullRequests })
			}
			want, _ := f.Scenario.Expected(scenario.GitLab)
			var notes int
			if err := s.DB().QueryRow(`SELECT COUNT(*) FROM notes WHERE system = FALSE`).Scan(&notes); err != nil {
				t.Fatal(err)
			}
			if notes < want["notes"] {
				t.Errorf("%d notes after the restart, the source has %d", notes, want["notes"])
			}
		})
	}
}

// issuesArriving tells whether any project of migration id has fetched
// issues.
func issuesArriving(t *testing.T, in *apptest.Instance, id int64) bool {
	t.Helper()
	for _, pid := range migratedProjects(t, in, id) {
		req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v4/projects/%d/import", in.URL, pid), nil)
		req.Header.Set("PRIVATE-TOKEN", in.RootToken)
		if code, st := send(t, req); code == 200 {
			if n, _ := relationFetched(st, "issues"); n > 0 {
				return true
			}
		}
	}
	return false
}
