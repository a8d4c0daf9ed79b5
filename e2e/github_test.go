package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/fakeforge"
	ffgithub "github.com/ferry-import/ferry/fakeforge/github"
	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/fakeforge/traffic"
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/store/storetest"
)

// fast keeps import jobs short so tests exercise slicing and resumption.
func fast(c *importer.Config) { c.Slice = 500 * time.Millisecond }

func count(t *testing.T, in *apptest.Instance, q string, args ...any) int {
	t.Helper()
	var n int
	if err := in.App.Store.DB().QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// startImport posts the spec's curl example, pointed at fakeforge.
func startImport(t *testing.T, in *apptest.Instance, f *fakeforge.Forge, target string) int64 {
	t.Helper()
	code, body := postJSON(t, in.URL+"/api/v4/import/github", in.RootToken, map[string]any{
		"personal_access_token": f.GitHub.Token,
		"repo_id":               strconv.Itoa(ffgithub.RepoID),
		"target_namespace":      target,
		"new_name":              "NEW-NAME",
		"github_hostname":       f.GitHub.URL,
	})
	if code != 201 {
		t.Fatalf("POST /import/github: %d %v", code, body)
	}
	if raw, _ := json.Marshal(body); strings.Contains(string(raw), f.GitHub.Token) {
		t.Errorf("source token echoed in the POST /import/github answer")
	}
	for k, want := range map[string]any{"name": "NEW-NAME", "full_path": "/" + target + "/NEW-NAME", "import_source": ffgithub.Owner + "/" + ffgithub.Repo,
		"import_status": "scheduled", "refs_url": "/" + target + "/NEW-NAME/refs"} {
		if body[k] != want {
			t.Errorf("response %s = %v, want %v", k, body[k], want)
		}
	}
	return int64(body["id"].(float64))
}

func TestGitHubImportEndToEnd(t *testing.T) {
	t.Parallel()
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			// A fakeforge per engine (the same seeded scenario): the call
			// counts below are one import's, and the engines run at once.
			f := forge(t, traffic.Faults{}, nil)
			sc := f.Scenario
			want, _ := sc.Expected("github")
			logs := &logBuffer{}
			in := apptest.Start(t, e, apptest.Options{AllowLocalNetwork: true, EngineOverrides: fast, Log: logs, Workers: 4})
			root := in.Client(t, in.RootToken)
			grp := must(root.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("group"), Path: gitlab.Ptr("group")}))(t)
			must(root.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("subgroup"), Path: gitlab.Ptr("subgroup"), ParentID: &grp.ID}))(t)
			// A ferry user with the public e-mail of a source user: their
			// contributions must land on them, not on a placeholder.
			known := sc.User(1)
			me := must(root.Users.CreateUser(&gitlab.CreateUserOptions{Username: gitlab.Ptr("known"), Name: gitlab.Ptr("Known"),
				Email: gitlab.Ptr(known.Email), Password: gitlab.Ptr("s3cret-pass")}))(t)
			f.GitHub.ResetStats()
			id := startImport(t, in, f, "group/subgroup")
			st := waitImport(t, in, id, nil)
			if st["import_status"] != "finished" || st["import_type"] != "github" {
				t.Fatalf("import ended %v: %v", st["import_status"], st["import_error"])
			}
			if fr := st["failed_relations"].([]any); len(fr) != 0 {
				t.Errorf("failed relations: %v", fr)
			}
			// Progress figures agree with each other: every item fetched is
			// imported or failed, and none passes a known total.
			for _, x := range st["relations"].([]any) {
				rel := x.(map[string]any)
				f, i, fl := rel["fetched"].(float64), rel["imported"].(float64), rel["failed"].(float64)
				total, known := rel["total"].(float64)
				if i+fl != f || (known && f > total) || f == 0 {
					t.Errorf("relation %v: fetched %v, imported %v, failed %v, total %v", rel["name"], f, i, fl, rel["total"])
				}
			}
			// The import checked itself against every item's comments
			// counter and reactions rollup, and every pull request's review
			// comments (its reviews' counts, from the GraphQL reviews
			// query), and met them all.
			if v, _ := st["verification"].(map[string]any); v == nil || v["status"] != "passed" ||
				!strings.Contains(fmt.Sprint(v["checks"]), fmt.Sprintf("map[expected:%d imported:%d missing:0 object_type:issue_comments]", want["issue_comments"], want["issue_comments"])) ||
				!strings.Contains(fmt.Sprint(v["checks"]), fmt.Sprintf("map[expected:%d imported:%d missing:0 object_type:reactions]", want["reactions"], want["reactions"])) ||
				!strings.Contains(fmt.Sprint(v["checks"]), fmt.Sprintf("map[expected:%d imported:%d missing:0 object_type:review_comments]", want["review_comments"], want["review_comments"])) {
				t.Errorf("verification %v, want %d issue comments, %d reactions and %d review comments matched", st["verification"],
					want["issue_comments"], want["reactions"], want["review_comments"])
			}

			// client-go reads the status too (its struct lacks ferry's extras).
			is := must(root.ProjectImportExport.ImportStatus("group/subgroup/NEW-NAME"))(t)
			if is.ImportStatus != "finished" || is.ImportType != "github" || is.CorrelationID == "" {
				t.Errorf("client-go import status: %+v", is)
			}

			// Counts per relation, from the database.
			pid := id
			checkCounts(t, in.App.Store.DB(), want, pid, grp.ID)

			var mapped int64
			if err := in.App.Store.DB().QueryRow(`SELECT mapped_user_id FROM source_users WHERE source_user_id = $1`, strconv.FormatInt(known.ID, 10)).Scan(&mapped); err != nil || mapped != me.ID {
				t.Errorf("source user %s (%s) mapped to %d, want ferry user %d (%v)", known.Login, known.Email, mapped, me.ID, err)
			}
			checkIssues(t, root, sc, pid, map[string]string{known.Login: "known"})
			checkMergeRequests(t, root, sc, pid)
			checkClone(t, in, f, "group/subgroup/NEW-NAME")

			// Source calls: within 1.15x of the scenario's lower bound.
			lb, _ := sc.LowerBoundCalls("github", 100)
			calls := f.GitHub.Stats().APIRequests
			t.Logf("source calls %d, lower bound %d (%.2fx)", calls, lb, float64(calls)/float64(lb))
			if float64(calls) > 1.15*float64(lb) {
				t.Errorf("source calls %d exceed 1.15 x lower bound %d", calls, lb)
			}

			// The source token appears nowhere: not in logs, responses or the database in clear.
			checkNoSecret(t, in, logs.String(), f.GitHub.Token)
			if raw, _ := json.Marshal(status(t, in, id)); strings.Contains(string(raw), f.GitHub.Token) {
				t.Errorf("source token in the import status answer")
			}
		})
	}
}

// checkIssues compares imported issues with the scenario field by field.
// realUsers maps source logins to the ferry usernames their contributions
// must show (e-mail matches); everyone else shows as a placeholder.
func checkIssues(t *testing.T, c *gitlab.Client, sc *scenario.Scenario, pid int64, realUsers map[string]string) {
	t.Helper()
	issues := all(t, func(o gitlab.ListOptions) ([]*gitlab.Issue, *gitlab.Response, error) {
		return c.Issues.ListProjectIssues(pid, &gitlab.ListProjectIssuesOptions{ListOptions: o, State: gitlab.Ptr("all")})
	})
	if len(issues) != sc.Config().Issues {
		t.Fatalf("API lists %d issues, scenario has %d", len(issues), sc.Config().Issues)
	}
	byIID := map[int64]*gitlab.Issue{}
	for _, is := range issues {
		byIID[is.IID] = is
	}
	checked, events := 0, 0
	for n := 1; n <= sc.Items() && checked < 20; n++ {
		it := sc.Item(n)
		if it.IsPR {
			continue
		}
		checked++
		got := byIID[int64(n)]
		if got == nil {
			t.Errorf("issue #%d missing", n)
			continue
		}
		wantState := "opened"
		if !it.Open {
			wantState = "closed"
		}
		if got.Title != it.Title || got.State != wantState || strings.TrimSpace(got.Description) == "" {
			t.Errorf("issue #%d: title %q state %s, want %q %s", n, got.Title, got.State, it.Title, wantState)
		}
		if real, ok := realUsers[it.Author.Login]; ok {
			if got.Author == nil || got.Author.Username != real {
				t.Errorf("issue #%d author %+v, want ferry user %s (same e-mail as %s)", n, got.Author, real, it.Author.Login)
			}
		} else if got.Author == nil || !strings.Contains(got.Author.Username, it.Author.Login) {
			t.Errorf("issue #%d author %+v, want a placeholder for %s", n, got.Author, it.Author.Login)
		}
		var labels []string
		for _, l := range it.Labels {
			labels = append(labels, l.Name)
		}
		gotLabels := append([]string(nil), got.Labels...)
		sort.Strings(labels)
		sort.Strings(gotLabels)
		if strings.Join(labels, ",") != strings.Join(gotLabels, ",") {
			t.Errorf("issue #%d labels %v, want %v", n, gotLabels, labels)
		}
		if !got.CreatedAt.Equal(it.Created) {
			t.Errorf("issue #%d created %v, want %v", n, got.CreatedAt, it.Created)
		}
		notes := must(c.Notes.ListIssueNotes(pid, int64(n), &gitlab.ListIssueNotesOptions{ListOptions: gitlab.ListOptions{PerPage: 100}}))(t)
		user := 0
		for _, nt := range notes {
			if !nt.System {
				user++
			}
		}
		if user != it.Comments {
			t.Errorf("issue #%d has %d comments, want %d", n, user, it.Comments)
		}
		events += checkResourceEvents(t, c, sc, pid, n, got.ID)
	}
	if events == 0 {
		t.Errorf("no label or state events on the %d issues checked", checked)
	}
}

// checkResourceEvents compares the label and state events ferry serves
// for issue n (row id) with the scenario's issue events of it, and returns
// how many it found.
func checkResourceEvents(t *testing.T, c *gitlab.Client, sc *scenario.Scenario, pid int64, n int, id int64) int {
	t.Helper()
	var wantLabels, wantStates, gotLabels, gotStates []string
	per := sc.Config().EventsPerItem
	for e := (n-1)*per + 1; e <= n*per; e++ {
		switch ev := sc.Event(e); ev.Event {
		case "labeled":
			wantLabels = append(wantLabels, "add "+ev.Label.Name)
		case "unlabeled":
			wantLabels = append(wantLabels, "remove "+ev.Label.Name)
		case "closed":
			wantStates = append(wantStates, "closed")
		}
	}
	les := must(c.ResourceLabelEvents.ListIssueLabelEvents(pid, int64(n), nil))(t)
	for _, e := range les {
		gotLabels = append(gotLabels, e.Action+" "+e.Label.Name)
		if e.Label.ID == 0 || e.ResourceID != id || e.ResourceType != "Issue" || e.User.Username == "" || e.CreatedAt == nil {
			t.Errorf("issue #%d label event %+v", n, e)
		}
	}
	for _, e := range must(c.ResourceStateEvents.ListIssueStateEvents(pid, int64(n), nil))(t) {
		gotStates = append(gotStates, string(e.State))
		if e.ResourceID != id || e.User == nil {
			t.Errorf("issue #%d state event %+v", n, e)
		}
	}
	sort.Strings(wantLabels)
	sort.Strings(gotLabels)
	if strings.Join(gotLabels, ",") != strings.Join(wantLabels, ",") || strings.Join(gotStates, ",") != strings.Join(wantStates, ",") {
		t.Errorf("issue #%d resource events: labels %v states %v, want %v %v", n, gotLabels, gotStates, wantLabels, wantStates)
	}
	return len(gotLabels) + len(gotStates)
}

// checkMergeRequests checks states, merged_by and diff-note threads.
func checkMergeRequests(t *testing.T, c *gitlab.Client, sc *scenario.Scenario, pid int64) {
	t.Helper()
	mrs := all(t, func(o gitlab.ListOptions) ([]*gitlab.BasicMergeRequest, *gitlab.Response, error) {
		return c.MergeRequests.ListProjectMergeRequests(pid, &gitlab.ListProjectMergeRequestsOptions{ListOptions: o, State: gitlab.Ptr("all")})
	})
	if len(mrs) != sc.Config().PullRequests {
		t.Fatalf("API lists %d merge requests, scenario has %d", len(mrs), sc.Config().PullRequests)
	}
	merged := 0
	for _, mr := range mrs {
		it := sc.Item(int(mr.IID))
		if !it.IsPR {
			t.Errorf("merge request !%d is an issue in the scenario", mr.IID)
			continue
		}
		want := "opened"
		switch {
		case it.Merged:
			want = "merged"
			merged++
		case !it.Open:
			want = "closed"
		}
		if mr.State != want || mr.Title != it.Title {
			t.Errorf("!%d state %s title %q, want %s %q", mr.IID, mr.State, mr.Title, want, it.Title)
		}
	}
	// One merged MR in detail: merged_by and its review threads.
	for _, mr := range mrs {
		if mr.State != "merged" {
			continue
		}
		full := must(c.MergeRequests.GetMergeRequest(pid, mr.IID, nil))(t)
		if full.MergedBy == nil || full.MergedAt == nil {
			t.Errorf("!%d merged without merged_by/merged_at", mr.IID)
		}
		if ses := must(c.ResourceStateEvents.ListMergeStateEvents(pid, mr.IID, nil))(t); len(ses) != 1 || ses[0].State != "merged" {
			t.Errorf("!%d state events %+v, want one merged", mr.IID, ses)
		}
		ds := must(c.Discussions.ListMergeRequestDiscussions(pid, mr.IID, &gitlab.ListMergeRequestDiscussionsOptions{ListOptions: gitlab.ListOptions{PerPage: 100}}))(t)
		diffNotes, threads := 0, 0
		for _, d := range ds {
			for i, n := range d.Notes {
				if n.Position == nil {
					continue
				}
				diffNotes++
				if i == 0 {
					threads++
				}
				if n.Position.NewPath == "" && n.Position.OldPath == "" || n.Position.HeadSHA == "" {
					t.Errorf("!%d diff note without a usable position: %+v", mr.IID, n.Position)
				}
			}
		}
		if diffNotes != sc.Config().ReviewCommentsPerPR || threads != (sc.Config().ReviewCommentsPerPR+1)/2 {
			t.Errorf("!%d: %d diff notes in %d threads, want %d in %d", mr.IID, diffNotes, threads,
				sc.Config().ReviewCommentsPerPR, (sc.Config().ReviewCommentsPerPR+1)/2)
		}
		break
	}
	if merged == 0 {
		t.Errorf("no merged merge request in the scenario import")
	}
}

// checkClone clones the imported repository and compares refs with the source.
func checkClone(t *testing.T, in *apptest.Instance, f *fakeforge.Forge, path string) {
	t.Helper()
	dir := t.TempDir()
	u := strings.Replace(in.URL, "http://", "http://oauth2:"+in.RootToken+"@", 1) + "/" + path + ".git"
	git(t, dir, "clone", "--quiet", u, "clone")
	repo := filepath.Join(dir, "clone")
	branches := 0
	for _, line := range strings.Split(git(t, repo, "branch", "-r"), "\n") {
		if strings.Contains(line, "origin/") && !strings.Contains(line, "->") {
			branches++
		}
	}
	if branches != f.Scenario.BranchCount() {
		t.Errorf("cloned %d branches, source has %d", branches, f.Scenario.BranchCount())
	}
	git(t, repo, "fetch", "--quiet", "origin", "+refs/merge-requests/*/head:refs/remotes/origin/mr/*")
	mrRefs := strings.Count(git(t, repo, "branch", "-r"), "origin/mr/")
	if mrRefs != f.Scenario.Config().PullRequests {
		t.Errorf("%d merge request refs, want %d", mrRefs, f.Scenario.Config().PullRequests)
	}
}

// checkNoSecret looks for the source token in logs, API answers and every
// text column of the database.
func checkNoSecret(t *testing.T, in *apptest.Instance, logs, secret string) {
	t.Helper()
	if strings.Contains(logs, secret) {
		t.Errorf("source token found in the logs")
	}
	for tbl, text := range databaseTables(t, in) {
		if strings.Contains(text, secret) {
			t.Errorf("source token stored in clear in table %s", tbl)
		}
	}
}

// databaseTables is every row of every table as text, by table, for
// looking for secrets: bytes as text, not decimal bytes, so a token would
// show.
func databaseTables(t *testing.T, in *apptest.Instance) map[string]string {
	t.Helper()
	ctx := context.Background()
	db := in.App.Store.DB()
	rows, err := db.QueryContext(ctx, tablesQuery(in.Engine.Name))
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	out := map[string]string{}
	for _, tbl := range tables {
		r, err := db.QueryContext(ctx, "SELECT * FROM "+tbl)
		if err != nil {
			t.Fatalf("dump %s: %v", tbl, err)
		}
		cols, _ := r.Columns()
		var b strings.Builder
		for r.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := r.Scan(ptrs...); err != nil {
				t.Fatalf("dump %s: %v", tbl, err)
			}
			for i, v := range vals {
				if raw, ok := v.([]byte); ok {
					vals[i] = string(raw)
				}
			}
			fmt.Fprintln(&b, vals...)
		}
		r.Close()
		out[tbl] = b.String()
	}
	return out
}

func tablesQuery(engine string) string {
	if engine == "postgres" {
		return `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`
	}
	return `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
}
