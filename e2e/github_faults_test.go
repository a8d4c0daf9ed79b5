package e2e

import (
	"database/sql"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/fakeforge"
	ffgithub "github.com/ferry-import/ferry/fakeforge/github"
	"github.com/ferry-import/ferry/fakeforge/traffic"
	"github.com/ferry-import/ferry/store/storetest"
)

// The faults of issue 5: an unreliable source, a rate budget smaller than
// the import, cancel mid-import, and client-go / python-gitlab driving it.

// newGroup creates a top-level group as root.
func newGroup(t *testing.T, c *gitlab.Client, path string) *gitlab.Group {
	t.Helper()
	return must(c.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr(path), Path: gitlab.Ptr(path)}))(t)
}

// githubOpts is client-go's request for the scenario's repository.
func githubOpts(f *fakeforge.Forge, target, name string) *gitlab.ImportRepositoryFromGitHubOptions {
	return &gitlab.ImportRepositoryFromGitHubOptions{PersonalAccessToken: gitlab.Ptr(f.GitHub.Token), RepoID: gitlab.Ptr(int64(ffgithub.RepoID)),
		TargetNamespace: gitlab.Ptr(target), NewName: gitlab.Ptr(name), GitHubHostname: gitlab.Ptr(f.GitHub.URL)}
}

// finishedWithEverything waits for import id and checks it ended finished
// with no failed relation and the scenario's counts in the database.
func finishedWithEverything(t *testing.T, in *apptest.Instance, f *fakeforge.Forge, id, nsID int64, each func(map[string]any)) map[string]any {
	t.Helper()
	st := waitImport(t, in, id, each)
	if st["import_status"] != "finished" {
		t.Fatalf("import ended %v: %v (failed relations %v)", st["import_status"], st["import_error"], st["failed_relations"])
	}
	if fr, _ := st["failed_relations"].([]any); len(fr) != 0 {
		t.Errorf("failed relations: %v", fr)
	}
	want, _ := f.Scenario.Expected("github")
	checkCounts(t, in.App.Store.DB(), want, id, nsID)
	return st
}

// faultTotals sums the fault counters of all endpoint families.
func faultTotals(s traffic.Stats) (total traffic.FamilyStats) {
	for _, fs := range s.Families {
		total.Requests += fs.Requests
		total.ServerErrors += fs.ServerErrors
		total.Resets += fs.Resets
		total.Truncated += fs.Truncated
		total.Malformed += fs.Malformed
		total.RateLimited += fs.RateLimited
		total.SecondaryLimited += fs.SecondaryLimited
	}
	return total
}

// TestGitHubImportFaults: 10% 5xx, 5% resets, 2% truncated and 2%
// malformed bodies; the import still ends finished with everything, through
// REST alone (an older GitHub Enterprise: enough calls that every kind of
// fault is injected) and with GraphQL reading reviews, reactions and
// profiles (its queries meet the same faults).
func TestGitHubImportFaults(t *testing.T) {
	t.Parallel()
	for _, way := range []struct {
		name      string
		noGraphQL bool
	}{{"rest", true}, {"graphql", false}} {
		for _, e := range storetest.Engines(t) {
			t.Run(way.name+"/"+e.Name, func(t *testing.T) {
				t.Parallel()
				f := forgeWith(t, fakeforge.Options{Faults: traffic.Faults{Seed: 5, ErrorRate: 0.1, ResetRate: 0.05, TruncateRate: 0.02, MalformedRate: 0.02},
					GitHub: ffgithub.Options{NoGraphQL: way.noGraphQL}}, nil)
				in := apptest.Start(t, e, apptest.Options{AllowLocalNetwork: true, EngineOverrides: fast, Workers: 4})
				root := in.Client(t, in.RootToken)
				grp := newGroup(t, root, "faulty")
				start := time.Now()
				id := startImport(t, in, f, "faulty")
				finishedWithEverything(t, in, f, id, grp.ID, nil)
				checkIssues(t, root, f.Scenario, id, nil)
				checkMergeRequests(t, root, f.Scenario, id)
				s := f.GitHub.Stats()
				ft := faultTotals(s)
				t.Logf("finished in %v after %d source calls (%d GraphQL): %d 5xx, %d resets, %d truncated, %d malformed",
					time.Since(start).Round(time.Millisecond), s.APIRequests, s.GraphQLRequests, ft.ServerErrors, ft.Resets, ft.Truncated, ft.Malformed)
				if way.noGraphQL && (ft.ServerErrors == 0 || ft.Resets == 0 || ft.Truncated+ft.Malformed == 0) {
					t.Errorf("the source injected too few faults to show anything: %+v", ft)
				}
			})
		}
	}
}

// TestGitHubImportRateLimit: a budget of 50 calls per 15 s window against
// an import of ~150 calls. The import waits for the resets, says so in the
// status, completes with everything and hardly ever hits the limit.
//
// The budget is spent only if the import outpaces budget/period: at 60 per
// 3 s (20 calls/s) an import slowed by the race detector and the other
// tests running in parallel never had to wait (5 calls/s seen). 50 per 15 s
// needs 3.3 calls/s. The source has no GraphQL (its REST path makes the
// ~150 calls, 16 per-item calls at a time: the concurrency that tests the
// governor); TestGitHubGraphQLBudgetIsWaitedOut covers GraphQL's budget.
func TestGitHubImportRateLimit(t *testing.T) {
	t.Parallel()
	const budget, period = 50, 15 * time.Second
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			f := forgeWith(t, fakeforge.Options{Faults: traffic.Faults{RateLimit: budget, RateLimitPeriod: period},
				GitHub: ffgithub.Options{NoGraphQL: true}}, nil)
			in := apptest.Start(t, e, apptest.Options{AllowLocalNetwork: true, EngineOverrides: fast, Workers: 4})
			root := in.Client(t, in.RootToken)
			grp := newGroup(t, root, "limited")
			start := time.Now()
			id := startImport(t, in, f, "limited")
			var waits []string
			finishedWithEverything(t, in, f, id, grp.ID, func(st map[string]any) {
				if u, ok := st["waiting_for_rate_limit_until"].(string); ok && (len(waits) == 0 || waits[len(waits)-1] != u) {
					waits = append(waits, u)
				}
			})
			elapsed := time.Since(start)
			s := f.GitHub.Stats()
			ft := faultTotals(s)
			// The budget is REST's; GraphQL's points are a budget apart.
			windows := (s.RESTRequests + budget - 1) / budget
			t.Logf("finished in %v: %d source calls (%d windows of %d), refused for the rate limit %d times; status showed waits until %v",
				elapsed.Round(time.Millisecond), s.APIRequests, windows, budget, ft.RateLimited, waits)
			if s.RESTRequests <= budget {
				t.Fatalf("the import made %d REST calls, within one window of %d: nothing shown", s.RESTRequests, budget)
			}
			if len(waits) == 0 {
				t.Errorf("the status never showed waiting_for_rate_limit_until")
			}
			for _, w := range waits {
				if _, err := time.Parse(time.RFC3339, w); err != nil {
					t.Errorf("waiting_for_rate_limit_until %q: %v", w, err)
				}
			}
			if min := time.Duration(windows-1) * period; elapsed < min {
				t.Errorf("finished in %v, less than the %v the budget allows", elapsed, min)
			}
			// The governor pauses before the source refuses: the budget is
			// never overrun, however the answers to concurrent calls arrive.
			if ft.RateLimited != 0 {
				t.Errorf("the source refused %d calls for the rate limit: the governor overran the budget", ft.RateLimited)
			}
		})
	}
}

// importJobsLeft counts import jobs that could still run.
func importJobsLeft(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM river_job WHERE kind IN ('import_stage', 'import_relation')
		AND state IN ('running', 'available', 'retryable', 'scheduled')`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// postForm sends a form-encoded body as python-gitlab does.
func postForm(t *testing.T, url, token string, form url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("PRIVATE-TOKEN", token)
	return send(t, req)
}

// TestGitHubImportCancel: canceled mid-import with client-go, the import
// ends canceled, keeps what it imported and calls the source no more.
func TestGitHubImportCancel(t *testing.T) {
	t.Parallel()
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			f := forge(t, traffic.Faults{Latency: 20 * time.Millisecond}, nil)
			in := apptest.Start(t, e, apptest.Options{AllowLocalNetwork: true, EngineOverrides: fast, Workers: 4})
			root := in.Client(t, in.RootToken)
			grp := newGroup(t, root, "cancel")
			imp := must(root.Import.ImportRepositoryFromGitHub(githubOpts(f, "cancel", "widgets")))(t)
			db := in.App.Store.DB()
			issues := func() int {
				var n int
				if err := db.QueryRow(`SELECT COUNT(*) FROM issues WHERE project_id = $1`, imp.ID).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}
			for deadline := time.Now().Add(60 * time.Second); issues() == 0; time.Sleep(20 * time.Millisecond) {
				if st := status(t, in, imp.ID); st["import_status"] != "started" && st["import_status"] != "scheduled" || time.Now().After(deadline) {
					t.Fatalf("no issue imported while the import ran: %v", st)
				}
			}
			c, resp, err := root.Import.CancelGitHubProjectImport(&gitlab.CancelGitHubProjectImportOptions{ProjectID: &imp.ID})
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("cancel: %v %v", resp, err)
			}
			if c.ImportStatus != "canceled" || c.ID != imp.ID || c.FullPath != "/cancel/widgets" {
				t.Errorf("cancel answered %+v", c)
			}
			canceledAt := issues()

			// Once no import job can run any more, the source hears nothing.
			deadline := time.Now().Add(60 * time.Second)
			for importJobsLeft(t, db) > 0 {
				if time.Now().After(deadline) {
					t.Fatalf("%d import jobs still runnable after cancel", importJobsLeft(t, db))
				}
				time.Sleep(20 * time.Millisecond)
			}
			quiet := f.GitHub.Stats().APIRequests
			st := status(t, in, imp.ID)
			// Watch for a while longer than a page fetch with latency and a
			// slice: jobs stay gone and the call count stays put.
			for until := time.Now().Add(2 * time.Second); time.Now().Before(until); time.Sleep(50 * time.Millisecond) {
				if n := importJobsLeft(t, db); n > 0 {
					t.Fatalf("%d import jobs runnable again after cancel", n)
				}
			}
			if later := f.GitHub.Stats().APIRequests; later != quiet {
				t.Errorf("source calls went from %d to %d after the import's jobs ended", quiet, later)
			}
			kept := issues()
			t.Logf("canceled with %d issues in, %d kept; %d source calls in all", canceledAt, kept, quiet)
			if st["import_status"] != "canceled" {
				t.Errorf("status after cancel: %v", st["import_status"])
			}
			// What was in stays (the page in flight at the cancel may land too).
			if kept < canceledAt || kept == 0 {
				t.Errorf("issues after cancel: %d, %d were in when it was canceled", kept, canceledAt)
			}
			if is := must(root.ProjectImportExport.ImportStatus(imp.ID))(t); is.ImportStatus != "canceled" {
				t.Errorf("client-go status after cancel: %s", is.ImportStatus)
			}

			// Canceling again, as a non-owner, or an unknown project.
			cancelURL := in.URL + "/api/v4/import/github/cancel"
			if code, body := postJSON(t, cancelURL, in.RootToken, map[string]any{"project_id": imp.ID}); code != 400 ||
				body["message"] != "The import cannot be canceled because it is canceled" {
				t.Errorf("cancel again: %d %v", code, body)
			}
			dev := must(root.Users.CreateUser(&gitlab.CreateUserOptions{Username: gitlab.Ptr("dev"), Name: gitlab.Ptr("Dev"),
				Email: gitlab.Ptr("dev@example.com"), Password: gitlab.Ptr("s3cret-pass")}))(t)
			must(root.GroupMembers.AddGroupMember(grp.ID, &gitlab.AddGroupMemberOptions{UserID: &dev.ID, AccessLevel: gitlab.Ptr(gitlab.MaintainerPermissions)}))(t)
			tok := must(root.Users.CreatePersonalAccessToken(dev.ID, &gitlab.CreatePersonalAccessTokenOptions{Name: gitlab.Ptr("t"), Scopes: &[]string{"api"}}))(t)
			if code, body := postJSON(t, cancelURL, tok.Token, map[string]any{"project_id": imp.ID}); code != 403 || body["message"] != "Unauthorized access" {
				t.Errorf("cancel by a maintainer who is not owner: %d %v", code, body)
			}
			if code, body := postJSON(t, cancelURL, in.RootToken, map[string]any{"project_id": imp.ID + 1000}); code != 404 {
				t.Errorf("cancel of an unknown project: %d %v", code, body)
			}
			_, resp, err = root.Import.CancelGitHubProjectImport(&gitlab.CancelGitHubProjectImportOptions{ProjectID: gitlab.Ptr(imp.ID + 1000)})
			if resp == nil || resp.StatusCode != 404 || err == nil {
				t.Errorf("client-go cancel of an unknown project: %v %v", resp, err)
			}
		})
	}
}

// TestGitHubImportClientGoAndPythonShape: client-go starts an import and
// polls it to the end; python-gitlab's form-encoded request with repo_id as
// a string is accepted too.
func TestGitHubImportClientGoAndPythonShape(t *testing.T) {
	t.Parallel()
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			f := forge(t, traffic.Faults{}, nil)
			in := apptest.Start(t, e, apptest.Options{AllowLocalNetwork: true, EngineOverrides: fast, Workers: 4})
			root := in.Client(t, in.RootToken)
			grp := newGroup(t, root, "clientgo")

			imp, resp, err := root.Import.ImportRepositoryFromGitHub(githubOpts(f, "clientgo", "widgets"))
			if err != nil || resp.StatusCode != 201 {
				t.Fatalf("ImportRepositoryFromGitHub: %v %v", resp, err)
			}
			want := gitlab.GitHubImport{ID: imp.ID, Name: "widgets", FullPath: "/clientgo/widgets",
				ImportSource: ffgithub.Owner + "/" + ffgithub.Repo, ImportStatus: "scheduled"}
			if imp.ID == 0 || imp.Name != want.Name || imp.FullPath != want.FullPath || imp.ImportSource != want.ImportSource || imp.ImportStatus != want.ImportStatus {
				t.Errorf("ImportRepositoryFromGitHub answered %+v, want %+v", imp, want)
			}

			// python-gitlab: gl.projects.import_github(token, repo_id, target_namespace, new_name=…)
			// posts exactly these fields, form-encoded, repo_id a string. Into
			// the same group, at the same time: both imports share its
			// placeholder users.
			code, body := postForm(t, in.URL+"/api/v4/import/github", in.RootToken, url.Values{
				"personal_access_token": {f.GitHub.Token}, "repo_id": {strconv.Itoa(ffgithub.RepoID)},
				"target_namespace": {"clientgo"}, "new_name": {"widgets-py"}, "github_hostname": {f.GitHub.URL}})
			if code != 201 || body["full_path"] != "/clientgo/widgets-py" || body["import_status"] != "scheduled" {
				t.Fatalf("python-gitlab's request: %d %v", code, body)
			}
			pyID := int64(body["id"].(float64))

			// client-go polls to the end, as a user's script would.
			seen := map[string]bool{}
			deadline := time.Now().Add(3 * time.Minute)
			for {
				is := must(root.ProjectImportExport.ImportStatus(imp.ID))(t)
				seen[is.ImportStatus] = true
				if is.ImportStatus == "finished" {
					if is.ImportType != "github" || is.CorrelationID == "" || is.PathWithNamespace != "clientgo/widgets" {
						t.Errorf("final status %+v", is)
					}
					break
				}
				if is.ImportStatus == "failed" || is.ImportStatus == "canceled" || time.Now().After(deadline) {
					t.Fatalf("import ended %s: %s", is.ImportStatus, is.ImportError)
				}
				time.Sleep(50 * time.Millisecond)
			}
			t.Logf("client-go saw statuses %v", keys(seen))
			finishedWithEverything(t, in, f, imp.ID, grp.ID, nil)
			// The python-shaped import runs to the end too.
			finishedWithEverything(t, in, f, pyID, grp.ID, nil)
		})
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
