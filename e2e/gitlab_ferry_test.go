package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/fakeforge"
	fakegitlab "github.com/ferry-import/ferry/fakeforge/gitlab"
	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/store/storetest"
)

// TestFerryMigratesFromFerry: ferry A migrates fakeforge's GitLab group
// tree through its REST API (fakeforge has direct transfer off); ferry B
// then migrates the same tree from A, as from any GitLab (version, token
// scopes, GraphQL lookups, then A's export_relations), and arrives with
// the same projects and content.
func TestFerryMigratesFromFerry(t *testing.T) {
	f := forgeWith(t, fakeforge.Options{GitLab: fakegitlab.Options{ExportDisabled: true}}, smallTree)
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
	for _, en := range getList(t, fmt.Sprintf("%s/api/v4/bulk_imports/%d/entities?per_page=100", a.URL, idA), a.RootToken) {
		if en["migrated_through"] != "rest_api" {
			t.Errorf("A's entity %v: migrated through %v, want rest_api (fakeforge has direct transfer off)", en["source_full_path"], en["migrated_through"])
		}
	}
	for _, en := range getList(t, fmt.Sprintf("%s/api/v4/bulk_imports/%d/entities?per_page=100", b.URL, idB), b.RootToken) {
		if en["migrated_through"] != "export_relations" {
			t.Errorf("B's entity %v: migrated through %v, want export_relations", en["source_full_path"], en["migrated_through"])
		}
		if en["entity_type"] == "project" {
			if fs, _ := en["failures"].([]any); len(fs) > 0 {
				t.Errorf("project %v: failures %v", en["source_full_path"], fs)
			}
		}
	}
	root, rootA := b.Client(t, b.RootToken), a.Client(t, a.RootToken)
	for _, pid := range projects {
		checkGitLabProject(t, b, root, pid, want, np)
		// Field by field, B's copy (read from A's export) is A's (read
		// through fakeforge's REST API).
		p, _, err := root.Projects.GetProject(pid, nil)
		if err != nil {
			t.Fatal(err)
		}
		pa, _, err := rootA.Projects.GetProject("origin/"+strings.TrimPrefix(p.PathWithNamespace, "copy/"), nil)
		if err != nil {
			t.Fatalf("A's project for %s: %v", p.PathWithNamespace, err)
		}
		fa, fb := projectFacts(t, a, a.RootToken, pa.ID), projectFacts(t, b, b.RootToken, pid)
		sameFacts(t, p.PathWithNamespace, fa, fb)
		if fa.values["uploads linked"] == "0" {
			t.Errorf("%s: no upload linked: the uploads comparison proves nothing", p.PathWithNamespace)
		}
		for k, v := range fb.values {
			if strings.HasPrefix(k, "upload ") && !strings.HasPrefix(v, "200 ") {
				t.Errorf("%s: %s answers %s", p.PathWithNamespace, k, v)
			}
		}
	}
}
