package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry/app/apptest"
	ffgitlab "github.com/ferry-import/ferry/fakeforge/gitlab"
	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/fakeforge/traffic"
	"github.com/ferry-import/ferry/store/storetest"
)

// smallTree is a group with two subgroups and a project in each of the
// three groups, every project small enough to import in seconds and big
// enough that every list pages.
func smallTree(c *scenario.Config) {
	c.Issues, c.PullRequests, c.Users = 12, 8, 6
	c.Groups = scenario.GroupTree{Depth: 2, Breadth: 2, ProjectsPerGroup: 1}
}

// curlData is `curl --request POST --header "PRIVATE-TOKEN: …" URL --data
// BODY` as curl sends it: the body as given, labelled a form.
func curlData(t *testing.T, url, token, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("PRIVATE-TOKEN", token)
	return send(t, req)
}

// getList is GET url answered with a JSON array.
func getList(t *testing.T, url, token string) []map[string]any {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("PRIVATE-TOKEN", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out []map[string]any
	if err := json.Unmarshal(raw, &out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, raw)
	}
	return out
}

func getObject(t *testing.T, url, token string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("PRIVATE-TOKEN", token)
	code, m := send(t, req)
	if code != 200 {
		t.Fatalf("GET %s: %d %v", url, code, m)
	}
	return m
}

// waitBulkImport polls GET /bulk_imports/:id, as a user would, until the
// migration is final.
func waitBulkImport(t *testing.T, in *apptest.Instance, id int64) map[string]any {
	t.Helper()
	deadline := time.Now().Add(4 * time.Minute)
	url := fmt.Sprintf("%s/api/v4/bulk_imports/%d", in.URL, id)
	for {
		b := getObject(t, url, in.RootToken)
		switch b["status"] {
		case "finished", "failed", "canceled", "timeout":
			return b
		}
		if time.Now().After(deadline) {
			t.Fatalf("migration did not end: %v", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestGitLabMigrationEndToEnd migrates fakeforge's GitLab group tree with
// the spec's curl example (its destination_name and destination_namespace
// verbatim, pointed at fakeforge), lists and reads the migration with the
// spec's other examples, and checks that every group and project arrived,
// read back through the API and git clone, on both databases.
func TestGitLabMigrationEndToEnd(t *testing.T) {
	t.Parallel()
	f := forge(t, traffic.Faults{}, smallTree)
	sc := f.Scenario
	want, err := sc.Expected(scenario.GitLab)
	if err != nil {
		t.Fatal(err)
	}
	np := len(sc.Projects())
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			logs := &logBuffer{}
			in := apptest.Start(t, e, apptest.Options{AllowLocalNetwork: true, EngineOverrides: fast, Log: logs, Workers: 4})
			root := in.Client(t, in.RootToken)
			// Two people have ferry accounts under the public e-mails of
			// source users 1 (an Owner at the source) and 3 (a Developer).
			mapped := map[string]int{}
			for _, i := range []int{1, 3} {
				u := sc.User(i)
				must(root.Users.CreateUser(&gitlab.CreateUserOptions{Username: gitlab.Ptr("ferry-" + u.Login), Name: gitlab.Ptr(u.Name),
					Email: gitlab.Ptr(u.Email), Password: gitlab.Ptr("s3cret-pass")}))(t)
				mapped["ferry-"+u.Login] = [...]int{1: 50, 3: 30}[i]
			}
			// The example's destination namespace exists, as GitLab needs.
			var parent *int64
			for _, p := range []string{"destination", "namespace", "path"} {
				g := must(root.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr(p), Path: gitlab.Ptr(p), ParentID: parent,
					Visibility: gitlab.Ptr(gitlab.PublicVisibility)}))(t)
				parent = &g.ID
			}

			body := strings.NewReplacer("http://gitlab.example/", f.GitLab.URL+"/", `"access_token": "access_token"`,
				fmt.Sprintf(`"access_token": %q`, f.GitLab.Token), "source/full/path", "acme").Replace(
				`{ "configuration": { "url": "http://gitlab.example/", "access_token": "access_token" }, "entities": [ { "source_full_path": "source/full/path", "source_type": "group_entity", "destination_name": "destination_name", "destination_namespace": "destination/namespace/path" } ] }`)
			code, created := curlData(t, in.URL+"/api/v4/bulk_imports", in.RootToken, body)
			if code != 201 || created["status"] != "created" || created["source_type"] != "gitlab" {
				t.Fatalf("POST /bulk_imports: %d %v", code, created)
			}
			id := int64(created["id"].(float64))

			listed := getList(t, in.URL+"/api/v4/bulk_imports?per_page=2&page=1", in.RootToken)
			if len(listed) != 1 || int64(listed[0]["id"].(float64)) != id {
				t.Errorf("GET /bulk_imports?per_page=2&page=1: %v", listed)
			}
			done := waitBulkImport(t, in, id)
			// Groups arrive whole too, their members and badges included.
			if done["status"] != "finished" || done["has_failures"] != false {
				logEntities(t, in, id)
				t.Fatalf("migration ended %v (has_failures %v), want finished without failures", done["status"], done["has_failures"])
			}

			entities := getList(t, fmt.Sprintf("%s/api/v4/bulk_imports/%d/entities?per_page=100", in.URL, id), in.RootToken)
			byPath := map[string]map[string]any{}
			for _, en := range entities {
				byPath[en["source_full_path"].(string)] = en
				if en["status"] != "finished" {
					t.Errorf("entity %v %v: %v, failures %v", en["entity_type"], en["source_full_path"], en["status"], en["failures"])
				}
				checkEntityFailures(t, en)
			}
			if len(entities) != len(sc.Groups())+np {
				t.Errorf("%d entities, want %d groups and %d projects", len(entities), len(sc.Groups()), np)
			}
			const dest = "destination/namespace/path/destination_name"
			for _, g := range sc.Groups() {
				en := byPath[g.FullPath]
				wantPath := dest + strings.TrimPrefix(g.FullPath, "acme")
				if en == nil || en["entity_type"] != "group" || en["destination_full_path"] != wantPath {
					t.Errorf("group %s: entity %v, want destination %s", g.FullPath, en, wantPath)
					continue
				}
				checkGitLabGroup(t, in, g.FullPath, wantPath, mapped)
			}
			for _, p := range sc.Projects() {
				en := byPath[p.FullPath]
				wantPath := dest + strings.TrimPrefix(p.FullPath, "acme")
				if en == nil || en["entity_type"] != "project" || en["destination_full_path"] != wantPath || en["project_id"] == nil {
					t.Errorf("project %s: entity %v, want destination %s", p.FullPath, en, wantPath)
					continue
				}
				pid := int64(en["project_id"].(float64))
				st := status(t, in, pid)
				if st["import_type"] != "gitlab_project" || st["import_status"] != "finished" {
					t.Errorf("project %s: import %v %v", wantPath, st["import_type"], st["import_status"])
				}
				if stats, _ := en["stats"].(map[string]any); len(stats) == 0 {
					t.Errorf("project %s: entity without stats", wantPath)
				}
				if nm, _ := en["not_migrated"].([]any); len(nm) == 0 {
					t.Errorf("project %s: the entity does not say what was not migrated", wantPath)
				}
				checkGitLabProject(t, in, root, pid, want, np)
				if p.Index == 0 {
					checkGitLabClone(t, in, sc, wantPath)
				}
			}
			// The spec's entity listing across migrations.
			if got := getList(t, in.URL+"/api/v4/bulk_imports/entities?per_page=2&page=1&status=finished", in.RootToken); len(got) != 2 {
				t.Errorf("GET /bulk_imports/entities?per_page=2&page=1&status=finished: %d entities", len(got))
			}
			checkNoSecret(t, in, logs.String(), f.GitLab.Token)
		})
	}
}

// checkEntityFailures: every entity arrives whole, a group with its
// members and badges as a project with its content.
func checkEntityFailures(t *testing.T, en map[string]any) {
	t.Helper()
	if failures, _ := en["failures"].([]any); len(failures) != 0 || en["has_failures"] != false {
		t.Errorf("%v entity %v: failures %v", en["entity_type"], en["source_full_path"], failures)
	}
}

// checkGitLabGroup reads a migrated group's badge and members back through
// the API: fakeforge gives each group one pipeline badge, and lists every
// source user as a member of every group; the ones whose public e-mail a
// ferry user has are that user's memberships (directly, or through the
// migrated parent group), with the source's role.
func checkGitLabGroup(t *testing.T, in *apptest.Instance, sourcePath, path string, mapped map[string]int) {
	t.Helper()
	base := in.URL + "/api/v4/groups/" + strings.ReplaceAll(path, "/", "%2F")
	badges := getList(t, base+"/badges", in.RootToken)
	if len(badges) != 1 || badges[0]["name"] != "pipeline" || badges[0]["kind"] != "group" ||
		!strings.HasSuffix(fmt.Sprint(badges[0]["link_url"]), "/groups/"+sourcePath) ||
		!strings.HasSuffix(fmt.Sprint(badges[0]["image_url"]), "/badges/main/pipeline.svg") {
		t.Errorf("group %s: badges %v", path, badges)
	}
	if len(badges) == 1 {
		one := getObject(t, fmt.Sprintf("%s/badges/%v", base, badges[0]["id"]), in.RootToken)
		if one["id"] != badges[0]["id"] || one["image_url"] != badges[0]["image_url"] {
			t.Errorf("group %s: badge %v, listed %v", path, one, badges[0])
		}
	}
	got := map[string]int{}
	for _, m := range getList(t, base+"/members/all?per_page=100", in.RootToken) {
		got[fmt.Sprint(m["username"])] = int(m["access_level"].(float64))
	}
	for user, level := range mapped {
		if got[user] != level {
			t.Errorf("group %s: %s is a member with access level %d, want %d (members %v)", path, user, got[user], level, got)
		}
	}
	for user := range got {
		if strings.Contains(user, "_placeholder_user_") {
			t.Errorf("group %s: placeholder %s is a member", path, user)
		}
	}
}

// logEntities shows a migration's entities, for a failing test.
func logEntities(t *testing.T, in *apptest.Instance, id int64) {
	t.Helper()
	for _, en := range getList(t, fmt.Sprintf("%s/api/v4/bulk_imports/%d/entities?per_page=100", in.URL, id), in.RootToken) {
		t.Logf("entity %v %v: %v, failures %v", en["entity_type"], en["source_full_path"], en["status"], en["failures"])
	}
}

// checkGitLabProject compares one migrated project's content with the
// scenario's per-project counts.
func checkGitLabProject(t *testing.T, in *apptest.Instance, c *gitlab.Client, pid int64, want scenario.Counts, np int) {
	t.Helper()
	db := in.App.Store.DB()
	for _, k := range []struct{ kind, query string }{
		{"labels", `SELECT COUNT(*) FROM labels WHERE project_id = $1`},
		{"milestones", `SELECT COUNT(*) FROM milestones WHERE project_id = $1`},
		{"issues", `SELECT COUNT(*) FROM issues WHERE project_id = $1`},
		{"merge_requests", `SELECT COUNT(*) FROM merge_requests WHERE project_id = $1`},
		{"releases", `SELECT COUNT(*) FROM releases WHERE project_id = $1`},
		{"diff_notes", `SELECT COUNT(*) FROM notes WHERE project_id = $1 AND position_type <> ''`},
		{"resource_events", `SELECT COUNT(*) FROM resource_events WHERE project_id = $1`},
	} {
		var n int
		if err := db.QueryRow(k.query, pid).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != want[k.kind]/np {
			t.Errorf("project %d %s: %d imported, the source has %d", pid, k.kind, n, want[k.kind]/np)
		}
	}
	// Read back through the API, as a client would.
	issues := all(t, func(o gitlab.ListOptions) ([]*gitlab.Issue, *gitlab.Response, error) {
		return c.Issues.ListProjectIssues(int(pid), &gitlab.ListProjectIssuesOptions{ListOptions: o})
	})
	if len(issues) != want["issues"]/np {
		t.Errorf("project %d: API lists %d issues, want %d", pid, len(issues), want["issues"]/np)
	}
	for _, is := range issues {
		var got, due string
		if is.DueDate != nil {
			got = is.DueDate.String()
		}
		if d := ffgitlab.IssueDueDate(int(is.IID)); d != nil {
			due = d.String()
		}
		if got != due {
			t.Errorf("project %d issue %d: due %q, the source says %q", pid, is.IID, got, due)
		}
	}
}

// checkGitLabClone clones a migrated project and checks its branches and
// merge request heads.
func checkGitLabClone(t *testing.T, in *apptest.Instance, sc *scenario.Scenario, fullPath string) {
	t.Helper()
	dir := t.TempDir()
	u := strings.Replace(in.URL, "http://", "http://oauth2:"+in.RootToken+"@", 1) + "/" + fullPath + ".git"
	git(t, dir, "clone", "--quiet", "--mirror", u, "clone.git")
	refs := git(t, filepath.Join(dir, "clone.git"), "for-each-ref", "--format=%(refname)")
	heads, mrs := 0, 0
	for _, r := range strings.Fields(refs) {
		switch {
		case strings.HasPrefix(r, "refs/heads/"):
			heads++
		case strings.HasPrefix(r, "refs/merge-requests/") && strings.HasSuffix(r, "/head"):
			mrs++
		}
	}
	if heads != sc.BranchCount() || mrs != sc.Config().PullRequests {
		t.Errorf("clone of %s: %d branches, %d merge request heads; want %d and %d", fullPath, heads, mrs, sc.BranchCount(),
			sc.Config().PullRequests)
	}
}

// TestGitLabMigrationProjectEntities migrates projects on their own
// (project_entity): one that exists arrives whole; one the source does not
// have (only the first entity is checked before the migration is accepted,
// as GitLab does) fails on its own with the reason in its failures, and the
// migration still finishes, saying it has failures.
func TestGitLabMigrationProjectEntities(t *testing.T) {
	t.Parallel()
	f := forge(t, traffic.Faults{}, smallTree)
	want, _ := f.Scenario.Expected(scenario.GitLab)
	np := len(f.Scenario.Projects())
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			in := apptest.Start(t, e, apptest.Options{AllowLocalNetwork: true, EngineOverrides: fast, Workers: 4})
			if code, res := postJSON(t, in.URL+"/api/v4/groups", in.RootToken, map[string]any{"name": "solo", "path": "solo"}); code != 201 {
				t.Fatalf("create group: %d %v", code, res)
			}
			code, res := postJSON(t, in.URL+"/api/v4/bulk_imports", in.RootToken, map[string]any{
				"configuration": map[string]any{"url": f.GitLab.URL, "access_token": f.GitLab.Token},
				"entities": []map[string]any{
					{"source_type": "project_entity", "source_full_path": "acme/widgets", "destination_slug": "widgets", "destination_namespace": "solo"},
					{"source_type": "project_entity", "source_full_path": "acme/nope", "destination_slug": "nope", "destination_namespace": "solo"},
				},
			})
			if code != 201 {
				t.Fatalf("POST /bulk_imports: %d %v", code, res)
			}
			id := int64(res["id"].(float64))
			done := waitBulkImport(t, in, id)
			if done["status"] != "finished" || done["has_failures"] != true {
				logEntities(t, in, id)
				t.Fatalf("migration ended %v (has_failures %v), want finished with failures", done["status"], done["has_failures"])
			}
			for _, en := range getList(t, fmt.Sprintf("%s/api/v4/bulk_imports/%d/entities", in.URL, id), in.RootToken) {
				switch en["source_full_path"] {
				case "acme/widgets":
					if en["status"] != "finished" || en["destination_full_path"] != "solo/widgets" {
						t.Errorf("acme/widgets: %v into %v", en["status"], en["destination_full_path"])
					}
					checkGitLabProject(t, in, in.Client(t, in.RootToken), int64(en["project_id"].(float64)), want, np)
				case "acme/nope":
					fs := getList(t, fmt.Sprintf("%s/api/v4/bulk_imports/%d/entities/%v/failures", in.URL, id, en["id"]), in.RootToken)
					if en["status"] != "failed" || en["project_id"] != nil || len(fs) != 1 || fs[0]["relation"] != "entity" ||
						!strings.Contains(fs[0]["exception_message"].(string), "acme/nope") {
						t.Errorf("acme/nope: %v, project %v, failures %v", en["status"], en["project_id"], fs)
					}
				default:
					t.Errorf("unexpected entity %v", en["source_full_path"])
				}
			}
			if n := count(t, in, `SELECT COUNT(*) FROM projects WHERE path = 'nope'`); n != 0 {
				t.Errorf("a project was made for a source path that does not exist")
			}
		})
	}
}

// TestGitLabMigrationWithoutProjects: migrate_projects=false brings the
// group and its subgroups, and no project.
func TestGitLabMigrationWithoutProjects(t *testing.T) {
	t.Parallel()
	f := forge(t, traffic.Faults{}, smallTree)
	e := storetest.Engines(t)[0]
	in := apptest.Start(t, e, apptest.Options{AllowLocalNetwork: true, EngineOverrides: fast, Workers: 4})
	code, res := postForm(t, in.URL+"/api/v4/bulk_imports", in.RootToken, map[string][]string{
		"configuration[url]": {f.GitLab.URL}, "configuration[access_token]": {f.GitLab.Token},
		"entities[][source_type]": {"group_entity"}, "entities[][source_full_path]": {"acme"}, "entities[][destination_slug]": {"groups-only"},
		"entities[][destination_namespace]": {""}, "entities[][migrate_projects]": {"false"},
	})
	if code != 201 {
		t.Fatalf("POST /bulk_imports (form): %d %v", code, res)
	}
	id := int64(res["id"].(float64))
	if done := waitBulkImport(t, in, id); done["status"] != "finished" {
		logEntities(t, in, id)
		t.Fatalf("migration ended %v", done["status"])
	}
	entities := getList(t, fmt.Sprintf("%s/api/v4/bulk_imports/%d/entities", in.URL, id), in.RootToken)
	if len(entities) != len(f.Scenario.Groups()) {
		t.Errorf("%d entities, want the %d groups only", len(entities), len(f.Scenario.Groups()))
	}
	for _, en := range entities {
		if en["entity_type"] != "group" || en["migrate_projects"] != false {
			t.Errorf("entity %v %v (migrate_projects %v)", en["entity_type"], en["source_full_path"], en["migrate_projects"])
		}
	}
	if n := count(t, in, `SELECT COUNT(*) FROM projects`); n != 0 {
		t.Errorf("%d projects made with migrate_projects=false", n)
	}
	if n := count(t, in, `SELECT COUNT(*) FROM namespaces WHERE path = 'groups-only'`); n != 1 {
		t.Errorf("the new top-level group is missing")
	}
}
