package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ferry-import/ferry/app"
	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/fakeforge"
	fakegitlab "github.com/ferry-import/ferry/fakeforge/gitlab"
	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/store/storetest"
)

// oneProjectTree is a group with one small project and no subgroup.
func oneProjectTree(c *scenario.Config) {
	c.Issues, c.PullRequests, c.Users = 3, 2, 3
	c.Groups = scenario.GroupTree{Depth: 1, Breadth: 0, ProjectsPerGroup: 1}
}

// entityFailures are an entity's failures as relation → exception_message.
func entityFailures(en map[string]any) map[string]string {
	out := map[string]string{}
	failures, _ := en["failures"].([]any)
	for _, f := range failures {
		m := f.(map[string]any)
		out[fmt.Sprint(m["relation"])] = fmt.Sprint(m["exception_message"])
	}
	return out
}

// TestGitLabMigrationExportTimeouts: a source whose export of a relation
// stays started, that never lists another and fails a third fails those
// relations of every entity with GitLab's "Pipeline timeout", "Empty
// export status on source instance" (once their, here short, timeouts
// pass) and the source's reason; the rest migrates and the migration
// finishes with has_failures.
func TestGitLabMigrationExportTimeouts(t *testing.T) {
	t.Parallel()
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			f := forgeWith(t, fakeforge.Options{GitLab: fakegitlab.Options{ExportStuck: []string{"issues"},
				ExportUnlisted: []string{"milestones"}, ExportFailed: []string{"badges", "project_badges"}}}, oneProjectTree)
			in := apptest.Start(t, e, apptest.Options{AllowLocalNetwork: true, EngineOverrides: fast, Workers: 4,
				AppOverrides: func(c *app.Config) {
					c.GitLabExportTimeout, c.GitLabEmptyExportStatusTimeout = 2*time.Second, time.Second
				}})
			id := startMigration(t, in, f, "slowexport")
			done := waitBulkImport(t, in, id)
			if done["status"] != "finished" || done["has_failures"] != true {
				logEntities(t, in, id)
				t.Fatalf("migration ended %v, has_failures %v; want finished with failures", done["status"], done["has_failures"])
			}
			entities := getList(t, fmt.Sprintf("%s/api/v4/bulk_imports/%d/entities?per_page=100", in.URL, id), in.RootToken)
			if len(entities) != 2 {
				t.Fatalf("%d entities, want the group and its project", len(entities))
			}
			for _, en := range entities {
				got := entityFailures(en)
				if got["milestones"] != "Empty export status on source instance" || en["has_failures"] != true {
					t.Errorf("%v %v: failures %v, want milestones' empty export status", en["entity_type"], en["source_full_path"], got)
				}
				if en["entity_type"] == "project" && got["issues"] != "Pipeline timeout" {
					t.Errorf("project %v: failures %v, want issues' pipeline timeout", en["source_full_path"], got)
				}
				badges := map[any]string{"group": "badges", "project": "project_badges"}[en["entity_type"]]
				if msg := got[badges]; !strings.HasPrefix(msg, "the source failed to export "+badges+": Error!") {
					t.Errorf("%v %v: failures %v, want %s failed at the source", en["entity_type"], en["source_full_path"], got, badges)
				}
			}
			if n := count(t, in, `SELECT COUNT(*) FROM labels`); n == 0 {
				t.Errorf("no label migrated: the relations that were exported must land")
			}
		})
	}
}

// TestGitLabMigrationTimeout: an entity that has not finished
// BulkEntityStaleAfter after it was created (here its export never
// comes, and the export timeout is GitLab's 90 minutes) is timed out by
// the periodic sweep: its import fails with the reason among the entity's
// failures, and a migration whose every entity timed out reads timeout
// with has_failures; GET /bulk_imports/entities?status=timeout lists it.
func TestGitLabMigrationTimeout(t *testing.T) {
	t.Parallel()
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			f := forgeWith(t, fakeforge.Options{GitLab: fakegitlab.Options{ExportStuck: []string{"labels"}}}, oneProjectTree)
			in := apptest.Start(t, e, apptest.Options{AllowLocalNetwork: true, EngineOverrides: fast, Workers: 4,
				AppOverrides: func(c *app.Config) { c.BulkEntityStaleAfter = 3 * time.Second }})
			id := startMigration(t, in, f, "stale")
			done := waitBulkImport(t, in, id)
			if done["status"] != "timeout" || done["has_failures"] != true {
				logEntities(t, in, id)
				t.Fatalf("migration ended %v, has_failures %v; want timeout with failures", done["status"], done["has_failures"])
			}
			entities := getList(t, fmt.Sprintf("%s/api/v4/bulk_imports/%d/entities?status=timeout", in.URL, id), in.RootToken)
			if len(entities) != 1 || entities[0]["entity_type"] != "group" {
				t.Fatalf("timed-out entities: %v, want the group", entities)
			}
			want := "Migration timed out: entity not finished 3s after it was created"
			if got := entityFailures(entities[0]); got["entity"] != want || entities[0]["has_failures"] != true {
				t.Errorf("group entity failures %v, want %q", got, want)
			}
			if all := getList(t, in.URL+"/api/v4/bulk_imports/entities?status=timeout", in.RootToken); len(all) != 1 {
				t.Errorf("GET /bulk_imports/entities?status=timeout: %d entities, want 1", len(all))
			}
			if list := getList(t, in.URL+"/api/v4/bulk_imports?status=timeout", in.RootToken); len(list) != 1 {
				t.Errorf("GET /bulk_imports?status=timeout: %d migrations, want 1", len(list))
			}
			var status, importError string
			if err := in.App.Store.DB().QueryRow(`SELECT status, error FROM imports WHERE namespace_id IS NOT NULL`).Scan(&status,
				&importError); err != nil || status != "failed" || importError != want {
				t.Errorf("the group's import: %s %q (%v), want failed with the reason", status, importError, err)
			}
		})
	}
}
