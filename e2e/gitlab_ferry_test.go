package e2e

import (
	"fmt"
	"testing"

	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/fakeforge/traffic"
	"github.com/ferry-import/ferry/store/storetest"
)

// TestFerryMigratesFromFerry: ferry A migrates fakeforge's GitLab group
// tree; ferry B then migrates the same tree from A, as from any GitLab
// (version, token scopes, GraphQL lookups, the REST reads), and arrives
// with the same projects and content.
func TestFerryMigratesFromFerry(t *testing.T) {
	t.Parallel()
	f := forge(t, traffic.Faults{}, smallTree)
	want, _ := f.Scenario.Expected(scenario.GitLab)
	np := len(f.Scenario.Projects())
	e := storetest.Engines(t)[0]
	a := apptest.Start(t, e, apptest.Options{AllowLocalNetwork: true, EngineOverrides: fast, Workers: 4})
	idA := startMigration(t, a, f, "origin")
	if done := waitBulkImport(t, a, idA); done["status"] != "finished" {
		t.Fatalf("A's migration ended %v", done["status"])
	}

	b := apptest.Start(t, storetest.Engine{Name: e.Name, DataDir: t.TempDir()}, apptest.Options{AllowLocalNetwork: true,
		EngineOverrides: fast, Workers: 4})
	if code, res := postJSON(t, b.URL+"/api/v4/groups", b.RootToken, map[string]any{"name": "copy", "path": "copy"}); code != 201 {
		t.Fatalf("create group on B: %d %v", code, res)
	}
	code, res := postJSON(t, b.URL+"/api/v4/bulk_imports", b.RootToken, map[string]any{
		"configuration": map[string]any{"url": a.URL, "access_token": a.RootToken},
		"entities": []map[string]any{{"source_type": "group_entity", "source_full_path": "origin/acme", "destination_slug": "acme",
			"destination_namespace": "copy"}},
	})
	if code != 201 {
		t.Fatalf("POST /bulk_imports on B: %d %v", code, res)
	}
	idB := int64(res["id"].(float64))
	done := waitBulkImport(t, b, idB)
	if done["status"] != "finished" {
		logEntities(t, b, idB)
		t.Fatalf("B's migration ended %v", done["status"])
	}
	projects := migratedProjects(t, b, idB)
	if len(projects) != np {
		logEntities(t, b, idB)
		t.Fatalf("B migrated %d projects, A has %d", len(projects), np)
	}
	for _, en := range getList(t, fmt.Sprintf("%s/api/v4/bulk_imports/%d/entities?per_page=100", b.URL, idB), b.RootToken) {
		if en["entity_type"] == "project" {
			if fs, _ := en["failures"].([]any); len(fs) > 0 {
				t.Errorf("project %v: failures %v", en["source_full_path"], fs)
			}
		}
	}
	root := b.Client(t, b.RootToken)
	for _, pid := range projects {
		checkGitLabProject(t, b, root, pid, want, np)
	}
}
