package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/fakeforge"
	fakegitlab "github.com/ferry-import/ferry/fakeforge/gitlab"
	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/fakeforge/traffic"
	"github.com/ferry-import/ferry/store/storetest"
)

// TestFerryMigratesFromFerry: ferry A migrates fakeforge's GitLab group
// tree through its REST API (fakeforge has direct transfer off); ferry B
// then migrates the same tree from A, as from any GitLab (version, token
// scopes, GraphQL lookups, then A's export_relations), and arrives with
// the same projects and content.
func TestFerryMigratesFromFerry(t *testing.T) {
	t.Parallel()
	f := forgeWith(t, fakeforge.Options{GitLab: fakegitlab.Options{ExportDisabled: true}}, smallTree)
	want, _ := f.Scenario.Expected(scenario.GitLab)
	np := len(f.Scenario.Projects())
	e := storetest.Engines(t)[0]
	a := apptest.Start(t, e, apptest.Options{AllowLocalNetwork: true, EngineOverrides: fast, Workers: 4})
	idA := startMigration(t, a, f, "origin")
	if done := waitBulkImport(t, a, idA); done["status"] != "finished" {
		t.Fatalf("A's migration ended %v", done["status"])
	}
	checkReassignedGroupMember(t, a, f.Scenario, "origin", "origin/acme")

	b, idB := migrateFromFerry(t, e, a, "origin/acme", "acme")
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
		checkEntityFailures(t, en)
		if en["entity_type"] == "group" {
			// A's badges, as A exported them.
			dest := fmt.Sprint(en["destination_full_path"])
			onA := getList(t, a.URL+"/api/v4/groups/"+strings.ReplaceAll("origin/"+strings.TrimPrefix(dest, "copy/"), "/", "%2F")+"/badges", a.RootToken)
			onB := getList(t, b.URL+"/api/v4/groups/"+strings.ReplaceAll(dest, "/", "%2F")+"/badges", b.RootToken)
			if len(onA) != 1 || len(onB) != 1 || onA[0]["link_url"] != onB[0]["link_url"] || onA[0]["image_url"] != onB[0]["image_url"] ||
				onA[0]["name"] != onB[0]["name"] {
				t.Errorf("group %s: badges on B %v, on A %v", dest, onB, onA)
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

// checkReassignedGroupMember: a group migrated through REST (whose members
// carry no e-mail) holds its members as placeholders' memberships, none a
// ferry member yet; reassigning source user 2 (a Maintainer at the
// source) to a ferry user makes her a Maintainer of the group.
func checkReassignedGroupMember(t *testing.T, in *apptest.Instance, sc *scenario.Scenario, top, path string) {
	t.Helper()
	enc := func(p string) string { return strings.ReplaceAll(p, "/", "%2F") }
	g := getObject(t, in.URL+"/api/v4/groups/"+enc(path), in.RootToken)
	var n int
	if err := in.App.Store.DB().QueryRow(`SELECT COUNT(*) FROM imported_group_members WHERE namespace_id = $1`,
		int64(g["id"].(float64))).Scan(&n); err != nil || n != sc.Config().Users {
		t.Fatalf("group %s: %d imported members (%v), want %d", path, n, err, sc.Config().Users)
	}
	members := func() map[string]int {
		out := map[string]int{}
		for _, m := range getList(t, in.URL+"/api/v4/groups/"+enc(path)+"/members/all?per_page=100", in.RootToken) {
			out[fmt.Sprint(m["username"])] = int(m["access_level"].(float64))
		}
		return out
	}
	for user := range members() {
		if strings.Contains(user, "_placeholder_user_") {
			t.Errorf("group %s: placeholder %s is a member", path, user)
		}
	}
	code, carol := postJSON(t, in.URL+"/api/v4/users", in.RootToken, map[string]any{"username": "carol", "name": "Carol",
		"email": "carol@example.com", "password": "s3cret-pass"})
	if code != 201 {
		t.Fatalf("create carol: %d %v", code, carol)
	}
	var suID any
	for _, su := range getList(t, in.URL+"/api/v4/groups/"+enc(top)+"/placeholder_reassignments?per_page=100", in.RootToken) {
		if su["source_username"] == sc.User(2).Login {
			suID = su["id"]
		}
	}
	if suID == nil {
		t.Fatalf("no source user %s under %s", sc.User(2).Login, top)
	}
	if code, res := postJSON(t, in.URL+"/api/v4/groups/"+enc(top)+"/placeholder_reassignments", in.RootToken,
		map[string]any{"source_user_id": suID, "reassign_to_user_id": carol["id"]}); code != 200 {
		t.Fatalf("reassign %s to carol: %d %v", sc.User(2).Login, code, res)
	}
	if got := members()["carol"]; got != 40 {
		t.Errorf("group %s: carol's access level %d after the reassignment, want 40", path, got)
	}
}

// TestFerryMigratesAGitHubImport: ferry A imports fakeforge's GitHub
// repository into a group; ferry B migrates that group from A by direct
// transfer, and what B serves of the project equals what A serves, field
// by field: git refs, issues, merge requests, notes with their diff
// positions, emoji, approvals, releases, people (A's placeholders
// for GitHub's users) one to one.
func TestFerryMigratesAGitHubImport(t *testing.T) {
	t.Parallel()
	f := forge(t, traffic.Faults{}, func(c *scenario.Config) {
		c.Issues, c.PullRequests, c.CommentsPerItem, c.ReviewCommentsPerPR = 12, 8, 3, 4
	})
	e := storetest.Engines(t)[0]
	a := apptest.Start(t, e, apptest.Options{AllowLocalNetwork: true, EngineOverrides: fast, Workers: 4})
	if code, res := postJSON(t, a.URL+"/api/v4/groups", a.RootToken, map[string]any{"name": "origin", "path": "origin"}); code != 201 {
		t.Fatalf("create group on A: %d %v", code, res)
	}
	pidA := startImport(t, a, f, "origin")
	if st := waitImport(t, a, pidA, nil); st["import_status"] != "finished" {
		t.Fatalf("A's GitHub import ended %v", st["import_status"])
	}

	b, idB := migrateFromFerry(t, e, a, "origin", "origin")
	if done := waitBulkImport(t, b, idB); done["status"] != "finished" || done["has_failures"] != false {
		logEntities(t, b, idB)
		t.Fatalf("B's migration ended %v (has_failures %v)", done["status"], done["has_failures"])
	}
	projects := migratedProjects(t, b, idB)
	if len(projects) != 1 {
		t.Fatalf("B migrated %d projects, A has 1", len(projects))
	}
	fa, fb := projectFacts(t, a, a.RootToken, pidA), projectFacts(t, b, b.RootToken, projects[0])
	sameFacts(t, "copy/origin/NEW-NAME", fa, fb)
	// What the comparison covers, so that it proves something.
	seen := map[string]int{}
	for k := range fa.values {
		for _, what := range []string{"merge request ", " position", " emoji[", "ref .git refs/merge-requests/", "upload ", " label_event[", " state_event["} {
			if strings.Contains(k, what) {
				seen[what]++
			}
		}
	}
	t.Logf("compared %d facts: %v", len(fa.values), seen)
	for _, what := range []string{"merge request ", " position", " emoji[", "ref .git refs/merge-requests/", " label_event[", " state_event["} {
		if seen[what] == 0 {
			t.Errorf("A has no %q facts: the comparison proves little", what)
		}
	}
}

// migrateFromFerry starts ferry B (engine e's kind, its own data) and has
// it migrate group source of ferry A into a new group "copy" as slug; it
// returns B and the migration's id.
func migrateFromFerry(t *testing.T, e storetest.Engine, a *apptest.Instance, source, slug string) (*apptest.Instance, int64) {
	t.Helper()
	b := apptest.Start(t, storetest.Engine{Name: e.Name, DataDir: t.TempDir()}, apptest.Options{AllowLocalNetwork: true,
		EngineOverrides: fast, Workers: 4})
	if code, res := postJSON(t, b.URL+"/api/v4/groups", b.RootToken, map[string]any{"name": "copy", "path": "copy"}); code != 201 {
		t.Fatalf("create group on B: %d %v", code, res)
	}
	code, res := postJSON(t, b.URL+"/api/v4/bulk_imports", b.RootToken, map[string]any{
		"configuration": map[string]any{"url": a.URL, "access_token": a.RootToken},
		"entities": []map[string]any{{"source_type": "group_entity", "source_full_path": source, "destination_slug": slug,
			"destination_namespace": "copy"}},
	})
	if code != 201 {
		t.Fatalf("POST /bulk_imports on B: %d %v", code, res)
	}
	return b, int64(res["id"].(float64))
}

// resourceEventFacts adds the label, state and milestone events of every
// issue and merge request of project pid to f, keyed by their place (ids
// differ between copies).
func resourceEventFacts(t *testing.T, c *gitlab.Client, pid int64, f *facts) {
	t.Helper()
	type item struct {
		key        string
		labels     func(gitlab.ListOptions) ([]*gitlab.LabelEvent, *gitlab.Response, error)
		states     func(gitlab.ListOptions) ([]*gitlab.StateEvent, *gitlab.Response, error)
		milestones func(gitlab.ListOptions) ([]*gitlab.MilestoneEvent, *gitlab.Response, error)
	}
	var items []item
	for _, is := range all(t, func(o gitlab.ListOptions) ([]*gitlab.Issue, *gitlab.Response, error) {
		return c.Issues.ListProjectIssues(pid, &gitlab.ListProjectIssuesOptions{ListOptions: o})
	}) {
		iid := is.IID
		items = append(items, item{fmt.Sprintf("issue %d", iid),
			func(o gitlab.ListOptions) ([]*gitlab.LabelEvent, *gitlab.Response, error) {
				return c.ResourceLabelEvents.ListIssueLabelEvents(pid, iid, &gitlab.ListLabelEventsOptions{ListOptions: o})
			},
			func(o gitlab.ListOptions) ([]*gitlab.StateEvent, *gitlab.Response, error) {
				return c.ResourceStateEvents.ListIssueStateEvents(pid, iid, &gitlab.ListStateEventsOptions{ListOptions: o})
			},
			func(o gitlab.ListOptions) ([]*gitlab.MilestoneEvent, *gitlab.Response, error) {
				return c.ResourceMilestoneEvents.ListIssueMilestoneEvents(pid, iid, &gitlab.ListMilestoneEventsOptions{ListOptions: o})
			}})
	}
	for _, mr := range all(t, func(o gitlab.ListOptions) ([]*gitlab.BasicMergeRequest, *gitlab.Response, error) {
		return c.MergeRequests.ListProjectMergeRequests(pid, &gitlab.ListProjectMergeRequestsOptions{ListOptions: o})
	}) {
		iid := mr.IID
		items = append(items, item{fmt.Sprintf("merge request %d", iid),
			func(o gitlab.ListOptions) ([]*gitlab.LabelEvent, *gitlab.Response, error) {
				return c.ResourceLabelEvents.ListMergeRequestsLabelEvents(pid, iid, &gitlab.ListLabelEventsOptions{ListOptions: o})
			},
			func(o gitlab.ListOptions) ([]*gitlab.StateEvent, *gitlab.Response, error) {
				return c.ResourceStateEvents.ListMergeStateEvents(pid, iid, &gitlab.ListStateEventsOptions{ListOptions: o})
			},
			func(o gitlab.ListOptions) ([]*gitlab.MilestoneEvent, *gitlab.Response, error) {
				return c.ResourceMilestoneEvents.ListMergeMilestoneEvents(pid, iid, &gitlab.ListMilestoneEventsOptions{ListOptions: o})
			}})
	}
	for _, it := range items {
		for i, e := range all(t, it.labels) {
			k := fmt.Sprintf("%s label_event[%d]", it.key, i)
			f.set(k, fmt.Sprintf("%s %s %s %s", e.Action, e.Label.Name, e.Label.Color, e.CreatedAt.UTC().Format(time.RFC3339)))
			f.user(k+" by", &e.User)
		}
		for i, e := range all(t, it.states) {
			k := fmt.Sprintf("%s state_event[%d]", it.key, i)
			f.set(k, fmt.Sprintf("%s %s", e.State, e.CreatedAt.UTC().Format(time.RFC3339)))
			f.user(k+" by", e.User)
		}
		for i, e := range all(t, it.milestones) {
			k := fmt.Sprintf("%s milestone_event[%d]", it.key, i)
			title := "-"
			if e.Milestone != nil {
				title = e.Milestone.Title
			}
			f.set(k, fmt.Sprintf("%s %s %s", e.Action, title, e.CreatedAt.UTC().Format(time.RFC3339)))
			f.user(k+" by", e.User)
		}
	}
}
