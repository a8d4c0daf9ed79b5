package e2e

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/fakeforge"
	ffbbs "github.com/ferry-import/ferry/fakeforge/bitbucketserver"
	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/fakeforge/traffic"
	"github.com/ferry-import/ferry/store/storetest"
)

// bbsImportBody is the spec's curl example, pointed at fakeforge.
func bbsImportBody(f *fakeforge.Forge, namespaceKey, namespace string) map[string]any {
	bb := f.BitbucketServer
	return map[string]any{
		"bitbucket_server_url": bb.URL, "bitbucket_server_username": bb.Username, "personal_access_token": bb.Token,
		"bitbucket_server_project": ffbbs.ProjectKey, "bitbucket_server_repo": ffbbs.RepoSlug,
		"new_name": "NEW-NAME", namespaceKey: namespace,
	}
}

// startBBSImport posts an import and returns the new project's id.
func startBBSImport(t *testing.T, in *apptest.Instance, f *fakeforge.Forge, body map[string]any) int64 {
	t.Helper()
	code, res := postJSON(t, in.URL+"/api/v4/import/bitbucket_server", in.RootToken, body)
	if code != 201 {
		t.Fatalf("POST /import/bitbucket_server: %d %v", code, res)
	}
	if raw, _ := json.Marshal(res); strings.Contains(string(raw), f.BitbucketServer.Token) {
		t.Errorf("source token echoed in the POST answer")
	}
	return int64(res["id"].(float64))
}

// TestBitbucketServerImportEndToEnd imports fakeforge's Bitbucket Server
// repository with the spec's curl example into a namespace created on the
// fly, and reads it back through the API and git: counts per kind, merge
// requests field by field, inline-comment positions for every line type
// and side, nested replies in one thread, approvals, merged_by,
// placeholders (a Bitbucket user called root among them) and a ferry user
// receiving the contributions of the Bitbucket user with their e-mail.
func TestBitbucketServerImportEndToEnd(t *testing.T) {
	t.Parallel()
	f := forge(t, traffic.Faults{}, nil)
	sc := f.Scenario
	want, err := sc.Expected(scenario.BitbucketServer)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			logs := &logBuffer{}
			in := apptest.Start(t, e, apptest.Options{AllowLocalNetwork: true, EngineOverrides: fast, Log: logs, Workers: 4})
			root := in.Client(t, in.RootToken)
			// A ferry user with the e-mail of a Bitbucket user who has one.
			var known scenario.BBSUser
			for i := 1; i <= sc.Config().Users; i++ {
				if u := sc.BBSUser(i); u.Email != "" && i != scenario.BBSRootUser {
					known = u
					break
				}
			}
			me := must(root.Users.CreateUser(&gitlab.CreateUserOptions{Username: gitlab.Ptr("known"), Name: gitlab.Ptr("Known"),
				Email: gitlab.Ptr(known.Email), Password: gitlab.Ptr("s3cret-pass")}))(t)

			id := startBBSImport(t, in, f, bbsImportBody(f, "target_namespace", "bbs/team"))
			st := waitImport(t, in, id, nil)
			if st["import_status"] != "finished" || st["import_type"] != "bitbucket_server" {
				t.Fatalf("import ended %v (%v): %v", st["import_status"], st["import_type"], st["import_error"])
			}
			if fr := st["failed_relations"].([]any); len(fr) != 0 {
				t.Errorf("failed relations: %v", fr)
			}
			// Every pull request's commentCount was checked and met.
			comments := 0
			for j := 1; j <= sc.Config().PullRequests; j++ {
				_, acts := sc.BBS(j)
				for _, a := range acts {
					comments += len(a.Thread)
				}
			}
			// So were the refs the server advertised: branches, tags and
			// pull request heads.
			v, _ := st["verification"].(map[string]any)
			checks := map[string]string{}
			if v != nil {
				for _, c := range v["checks"].([]any) {
					c := c.(map[string]any)
					checks[fmt.Sprint(c["object_type"])] = fmt.Sprintf("%v/%v missing %v", c["imported"], c["expected"], c["missing"])
				}
			}
			if comments == 0 || v == nil || v["status"] != "passed" || len(checks) != 4 ||
				checks["comments"] != fmt.Sprintf("%d/%d missing 0", comments, comments) ||
				checks["branches"] != "17/17 missing 0" || checks["tags"] != "3/3 missing 0" || checks["merge_request_refs"] != "49/49 missing 0" {
				t.Errorf("verification %v, want every one of the %d comments and the refs matched", st["verification"], comments)
			}
			proj := must(root.Projects.GetProject(int(id), nil))(t)
			if proj.PathWithNamespace != "bbs/team/NEW-NAME" || proj.Visibility != gitlab.PrivateVisibility {
				t.Errorf("project %s, visibility %s (the source repository is private)", proj.PathWithNamespace, proj.Visibility)
			}

			checkBBSCounts(t, in.App.Store.DB(), want, id)

			checkBBSMergeRequests(t, root, sc, int(id), known, me.ID)
			checkBBSClone(t, in, sc, "bbs/team/NEW-NAME")
			checkNoSecret(t, in, logs.String(), f.BitbucketServer.Token)
		})
	}
}

// checkBBSMergeRequests reads every merge request back with its
// discussions and approvals and compares them with the scenario.
func checkBBSMergeRequests(t *testing.T, c *gitlab.Client, sc *scenario.Scenario, pid int, known scenario.BBSUser, knownID int64) {
	t.Helper()
	rootSeen := false
	for j := 1; j <= sc.Config().PullRequests; j++ {
		pr, acts := sc.BBS(j)
		mr := must(c.MergeRequests.GetMergeRequest(pid, int64(j), nil))(t)
		if mr.Title != sc.Item(pr.Number).Title || mr.State != scenario.BBSMergeRequestState(pr.State) || mr.Draft != pr.Draft ||
			mr.SourceBranch != pr.FromBranch(sc) || mr.TargetBranch != "main" {
			t.Errorf("merge request %d: %q %s draft %v %s → %s; want %q %s draft %v %s → main", j, mr.Title, mr.State, mr.Draft,
				mr.SourceBranch, mr.TargetBranch, sc.Item(pr.Number).Title, scenario.BBSMergeRequestState(pr.State), pr.Draft, pr.FromBranch(sc))
		}
		if pr.State == "MERGED" && (mr.MergedBy == nil || mr.MergedAt == nil) {
			t.Errorf("merge request %d merged without merged_by/at", j)
		}
		if sc.BBSUserOf(pr.Author).Email == known.Email && known.Email != "" && int64(mr.Author.ID) != knownID {
			t.Errorf("merge request %d by %s shows %s, want the ferry user with their e-mail", j, pr.Author.Login, mr.Author.Username)
		}
		// Approvals: reviewers whose approval stands.
		approved := 0
		for _, r := range pr.Reviewers {
			if r.Status == "APPROVED" {
				approved++
			}
		}
		ap := must(c.MergeRequestApprovals.GetConfiguration(pid, int64(j)))(t)
		if len(ap.ApprovedBy) != approved {
			t.Errorf("merge request %d: %d approvals, want %d", j, len(ap.ApprovedBy), approved)
		}
		// Threads: one discussion per thread, nested replies included,
		// inline ones positioned on their anchor's line.
		discs := all(t, func(o gitlab.ListOptions) ([]*gitlab.Discussion, *gitlab.Response, error) {
			return c.Discussions.ListMergeRequestDiscussions(pid, int64(j), &gitlab.ListMergeRequestDiscussionsOptions{ListOptions: o})
		})
		// A thread is known by when its first comment was written (bodies
		// are the server's rendering of the scenario's text).
		byFirst := map[int64]*gitlab.Discussion{}
		for _, d := range discs {
			if len(d.Notes) > 0 && !d.Notes[0].System && d.Notes[0].CreatedAt != nil {
				byFirst[d.Notes[0].CreatedAt.UnixMilli()] = d
			}
		}
		for _, a := range acts {
			if a.Action != "COMMENTED" || len(a.Thread) == 0 {
				continue
			}
			first := a.Thread[0].Created
			d, ok := byFirst[first.UnixMilli()]
			if !ok {
				t.Errorf("merge request %d: no discussion starts at %v", j, first)
				continue
			}
			if len(d.Notes) != len(a.Thread) {
				t.Errorf("merge request %d: thread of %v has %d notes, want %d", j, first, len(d.Notes), len(a.Thread))
			}
			for i, n := range d.Notes {
				if i < len(a.Thread) && a.Thread[i].Author.Index == scenario.BBSRootUser {
					rootSeen = true
					if n.Author.ID == 1 || n.Author.Username == "root" {
						t.Errorf("a note by Bitbucket's root shows ferry's root")
					}
				}
				if a.Anchor == nil {
					if n.Position != nil {
						t.Errorf("merge request %d: general comment %q has a position", j, n.Body)
					}
					continue
				}
				checkBBSPosition(t, j, a.Anchor, n)
			}
		}
	}
	if !rootSeen {
		t.Errorf("no note by the Bitbucket user called root: the scenario lacks the case")
	}
}

// checkBBSPosition checks a diff note against its thread's anchor: on the
// anchor's side its line is the anchor's; ADDED lines have no old side,
// REMOVED lines no new side, CONTEXT lines both.
func checkBBSPosition(t *testing.T, j int, an *scenario.BBSAnchor, n *gitlab.Note) {
	t.Helper()
	p := n.Position
	if p == nil {
		t.Errorf("merge request %d: inline comment %q without a position", j, n.Body)
		return
	}
	line := int64(an.Line)
	ok := p.NewPath == an.Path
	switch an.LineType {
	case "ADDED":
		ok = ok && p.NewLine == line && p.OldLine == 0
	case "REMOVED":
		ok = ok && p.OldLine == line && p.NewLine == 0
	default:
		side := p.NewLine
		if an.FileType == "FROM" {
			side = p.OldLine
		}
		ok = ok && side == line && p.OldLine > 0 && p.NewLine > 0
	}
	if !ok {
		t.Errorf("merge request %d: %s/%s line %d of %s positioned at old %d new %d of %s", j, an.LineType, an.FileType, an.Line, an.Path,
			p.OldLine, p.NewLine, p.NewPath)
	}
}

// checkBBSClone clones the imported repository: every merge request's
// head is there, closed ones included.
func checkBBSClone(t *testing.T, in *apptest.Instance, sc *scenario.Scenario, path string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "clone")
	u := strings.Replace(in.URL, "http://", "http://oauth2:"+in.RootToken+"@", 1) + "/" + path + ".git"
	git(t, "", "clone", "--mirror", "--quiet", u, dir)
	refs := git(t, dir, "for-each-ref", "--format=%(refname)", "refs/merge-requests/")
	for j := 1; j <= sc.Config().PullRequests; j++ {
		if !strings.Contains(refs, fmt.Sprintf("refs/merge-requests/%d/head\n", j)) {
			t.Errorf("clone lacks refs/merge-requests/%d/head", j)
		}
	}
}

// checkBBSCounts compares what an import of fakeforge's Bitbucket Server
// stored with the scenario's counts: nothing missing, nothing twice.
func checkBBSCounts(t *testing.T, db *sql.DB, want scenario.Counts, id int64) {
	t.Helper()
	system := 0
	for k, v := range want {
		if strings.HasPrefix(k, "system_notes_") {
			system += v
		}
	}
	for _, c := range []struct {
		what  string
		query string
		want  int
	}{
		{"merge requests", `SELECT COUNT(*) FROM merge_requests WHERE project_id = $1`, want["merge_requests"]},
		{"merged", `SELECT COUNT(*) FROM merge_requests WHERE project_id = $1 AND state = 'merged'`, want["merge_requests_merged"]},
		{"merged with merged_by", `SELECT COUNT(*) FROM merge_requests WHERE project_id = $1 AND state = 'merged' AND merged_by_su IS NOT NULL`, want["merge_requests_merged"]},
		{"closed", `SELECT COUNT(*) FROM merge_requests WHERE project_id = $1 AND state = 'closed'`, want["merge_requests_closed"]},
		{"comments", `SELECT COUNT(*) FROM notes WHERE project_id = $1 AND system = FALSE AND position_type = ''`, want["notes"]},
		{"diff notes", `SELECT COUNT(*) FROM notes WHERE project_id = $1 AND system = FALSE AND position_type <> ''`, want["diff_notes"]},
		{"system notes", `SELECT COUNT(*) FROM notes WHERE project_id = $1 AND system = TRUE`, system},
		{"tasks", `SELECT COUNT(*) FROM notes WHERE project_id = $1 AND resolvable = TRUE`, want["tasks"]},
		// One state event beside each merged, declined and reopened system note.
		{"state events", `SELECT COUNT(*) FROM resource_events WHERE project_id = $1 AND event = 'state'`,
			want["system_notes_merged"] + want["system_notes_closed"] + want["system_notes_reopened"]},
		{"approvals", `SELECT COUNT(*) FROM approvals WHERE project_id = $1`, want["approvals"]},
		{"placeholder people", `SELECT COUNT(*) FROM source_users WHERE source_type = 'bitbucket_server' AND namespace_id =
			(SELECT n.id FROM namespaces n JOIN projects p ON p.id = $1 JOIN namespace_ancestors a ON a.namespace_id = p.namespace_id
			 AND a.ancestor_id = n.id WHERE n.parent_id IS NULL)`, want["placeholder_users"]},
	} {
		var got int
		if err := db.QueryRow(c.query, id).Scan(&got); err != nil {
			t.Fatalf("%s: %v", c.what, err)
		}
		if got != c.want {
			t.Errorf("%s: %d imported, scenario has %d", c.what, got, c.want)
		}
	}

}
