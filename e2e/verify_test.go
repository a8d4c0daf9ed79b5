package e2e

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/fakeforge"
	fakegithub "github.com/ferry-import/ferry/fakeforge/github"
	fakegitlab "github.com/ferry-import/ferry/fakeforge/gitlab"
	"github.com/ferry-import/ferry/store/storetest"
)

// TestGitLabMigrationVerifies: every migrated project is checked against
// what the source declared: through REST its lists' X-Total and each
// item's user_notes_count, upvotes and downvotes, through an export the
// relations' object counts. From a
// source that gives everything, the verification passes with every count
// matched; from one that withholds the first comment of every third issue
// while still counting it, each such issue is a listed failure, the
// verification reads failed with exactly those notes missing, and the
// migration cannot read as a clean success.
func TestGitLabMigrationVerifies(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name     string
		export   bool
		withhold int
	}{{"rest", false, 0}, {"rest-withheld", false, 3}, {"export", true, 0}} {
		withhold := c.withhold
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			// Engines per case: each gets its own database (schema).
			for _, e := range storetest.Engines(t) {
				t.Run(e.Name, func(t *testing.T) {
					t.Parallel()
					// Through REST (direct transfer off) the counters come with
					// the issues and merge requests the REST API lists, and the
					// lists' X-Total; through an export, the relations' counts.
					f := forgeWith(t, fakeforge.Options{GitLab: fakegitlab.Options{ExportDisabled: !c.export, WithholdIssueNotes: withhold}}, smallTree)
					in := apptest.Start(t, e, apptest.Options{AllowLocalNetwork: true, EngineOverrides: fast, Workers: 4})
					id := startMigration(t, in, f, "verified-"+c.name)
					done := waitBulkImport(t, in, id)
					if done["status"] != "finished" {
						logEntities(t, in, id)
						t.Fatalf("migration ended %v", done["status"])
					}
					// The issues that lose a comment, in every project.
					sc := f.Scenario
					var withheld []int
					for j := 1; withhold > 0 && j <= sc.Config().Issues; j++ {
						if lo, hi := sc.ItemComments(sc.IssueNumber(j)); j%withhold == 0 && lo <= hi {
							withheld = append(withheld, j)
						}
					}
					if withhold > 0 && len(withheld) == 0 {
						t.Fatal("the scenario has no comment to withhold")
					}
					projects := migratedProjects(t, in, id)
					if len(projects) == 0 {
						t.Fatal("no project migrated")
					}
					for _, pid := range projects {
						st := getObject(t, fmt.Sprintf("%s/api/v4/projects/%d/import", in.URL, pid), in.RootToken)
						v, _ := st["verification"].(map[string]any)
						if v == nil {
							t.Fatalf("project %d: no verification: %v", pid, st)
						}
						checks := map[string]map[string]any{}
						for _, c := range v["checks"].([]any) {
							c := c.(map[string]any)
							checks[c["object_type"].(string)] = c
						}
						for typ, n := range map[string]int{"issues": sc.Config().Issues, "merge_requests": sc.Config().PullRequests} {
							if ch := checks[typ]; ch == nil || ch["expected"] != float64(n) {
								t.Errorf("project %d: %s check %v, want %d expected", pid, typ, ch, n)
							}
						}
						notes := checks["user_notes"]
						if c.export {
							if notes != nil || v["status"] != "passed" {
								t.Errorf("project %d: export verification %v", pid, v)
							}
							continue
						}
						if notes == nil || notes["expected"].(float64) == 0 {
							t.Fatalf("project %d: checks %v", pid, v["checks"])
						}
						for typ, ch := range checks {
							if typ != "user_notes" && (ch["missing"] != float64(0) || ch["imported"] != ch["expected"]) {
								t.Errorf("project %d: %s check %v", pid, typ, ch)
							}
						}
						wantMissing := float64(len(withheld))
						wantStatus := map[bool]string{true: "passed", false: "failed"}[wantMissing == 0]
						if v["status"] != wantStatus || notes["missing"] != wantMissing || notes["imported"] != notes["expected"].(float64)-wantMissing {
							t.Errorf("project %d: verification %v, want %s with %v notes missing", pid, v, wantStatus, wantMissing)
						}
						// Each shortfall is a failure naming its issue.
						var named []string
						for _, fr := range st["failed_relations"].([]any) {
							fr := fr.(map[string]any)
							if fr["relation_name"] == "verification" {
								named = append(named, fr["source_title"].(string))
								if fr["exception_class"] != "VerificationError" || !strings.Contains(fr["exception_message"].(string), "1 missing") ||
									!strings.Contains(fr["source_url"].(string), "/-/issues/") {
									t.Errorf("project %d: failure %v", pid, fr)
								}
							}
						}
						if len(named) != len(withheld) {
							t.Errorf("project %d: verification failures %q, want one per issue %v", pid, named, withheld)
						}
						for k, j := range withheld {
							if k < len(named) && !strings.HasPrefix(named[k], fmt.Sprintf("issue #%d ", j)) {
								t.Errorf("project %d: failure %d names %q, want issue #%d", pid, k, named[k], j)
							}
						}
					}
					// The migration says so too: its project entities have failures.
					for _, en := range getList(t, fmt.Sprintf("%s/api/v4/bulk_imports/%d/entities?per_page=100", in.URL, id), in.RootToken) {
						if en["entity_type"] != "project" {
							continue
						}
						if got, want := en["has_failures"], len(withheld) > 0; got != want {
							t.Errorf("entity %v: has_failures %v, want %v", en["source_full_path"], got, want)
						}
					}
				})
			}
		})
	}
}

// TestGitHubImportVerifiesReviewComments: through the GraphQL path every
// pull request declares its review comments, the sum of its reviews'
// comments counts. From a GitHub that withholds the last review comment
// of every fifth pull request from its REST lists while its reviews still
// count it, each such pull request is a listed failure naming it, the
// review_comments check reads exactly those missing, and the import
// cannot read as a clean success.
func TestGitHubImportVerifiesReviewComments(t *testing.T) {
	t.Parallel()
	const withhold = 5
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			f := forgeWith(t, fakeforge.Options{GitHub: fakegithub.Options{WithholdReviewComments: withhold}}, nil)
			sc := f.Scenario
			c := sc.Config()
			if c.ReviewCommentsPerPR == 0 || c.ReviewsPerPR == 0 {
				t.Fatal("the scenario has no review comment to withhold")
			}
			var withheld []int // pull request numbers
			for j := withhold; j <= c.PullRequests; j += withhold {
				withheld = append(withheld, sc.PRNumber(j))
			}
			in := apptest.Start(t, e, apptest.Options{AllowLocalNetwork: true, EngineOverrides: fast, Workers: 4})
			newGroup(t, in.Client(t, in.RootToken), "verified")
			id := startImport(t, in, f, "verified")
			st := waitImport(t, in, id, nil)
			if st["import_status"] != "finished" {
				t.Fatalf("import ended %v: %v", st["import_status"], st["import_error"])
			}
			v, _ := st["verification"].(map[string]any)
			if v == nil {
				t.Fatalf("no verification: %v", st)
			}
			checks := map[string]map[string]any{}
			for _, c := range v["checks"].([]any) {
				c := c.(map[string]any)
				checks[c["object_type"].(string)] = c
			}
			total := float64(sc.ReviewCommentCount())
			missing := float64(len(withheld))
			if rc := checks["review_comments"]; v["status"] != "failed" || rc == nil || rc["expected"] != total || rc["missing"] != missing ||
				rc["imported"] != total-missing {
				t.Errorf("verification %v, want failed with review_comments %v expected, %v missing", v, total, missing)
			}
			for typ, ch := range checks {
				if typ != "review_comments" && ch["missing"] != float64(0) {
					t.Errorf("%s check %v", typ, ch)
				}
			}
			// Each shortfall is a failure naming its pull request.
			var named []string
			for _, fr := range st["failed_relations"].([]any) {
				fr := fr.(map[string]any)
				if fr["relation_name"] != "verification" {
					t.Errorf("failure %v", fr)
					continue
				}
				named = append(named, fr["source_title"].(string))
				if fr["exception_class"] != "VerificationError" || !strings.HasPrefix(fr["exception_message"].(string), "review_comments: ") ||
					!strings.Contains(fr["exception_message"].(string), "1 missing") {
					t.Errorf("failure %v", fr)
				}
			}
			sort.Strings(named)
			var want []string
			for _, n := range withheld {
				want = append(want, fmt.Sprintf("pull request #%d %s", n, sc.Item(n).Title))
			}
			sort.Strings(want)
			if fmt.Sprint(named) != fmt.Sprint(want) {
				t.Errorf("verification failures %q, want one per pull request %q", named, want)
			}
			for _, fr := range st["failed_relations"].([]any) {
				fr := fr.(map[string]any)
				title, _ := fr["source_title"].(string)
				var n int
				if _, err := fmt.Sscanf(title, "pull request #%d", &n); err != nil || !strings.HasSuffix(fr["source_url"].(string), fmt.Sprintf("/pull/%d", n)) {
					t.Errorf("failure %v: its source_url names no pull request #%d", fr, n)
				}
			}
		})
	}
}
