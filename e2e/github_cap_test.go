package e2e

import (
	"strings"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/fakeforge"
	ffgithub "github.com/ferry-import/ferry/fakeforge/github"
	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/store/storetest"
)

// capScenario is the small preset with enough pull requests and review
// comments that, at ferry's 100 a page, every repo-wide list GitHub caps
// (issues, issues/comments, pulls/comments, issues/events, pulls) is more
// than capDepthE2E pages long, and pulls more than twice that (so ferry
// reads it from both ends and per number in between).
func capScenario(c *scenario.Config) {
	c.PullRequests, c.ReviewCommentsPerPR = 450, 2
}

const capDepthE2E = 2

// TestGitHubPastPaginationCap imports the same repository three times,
// from a GitHub without a pagination limit and from two that refuse pages
// past 2 of their repo-wide lists (422) — one with GraphQL, where the
// events past the limit come from timeline queries, one without (an older
// GitHub Enterprise), where they come per item through REST — on both
// databases: each capped import arrives with every comment, review
// comment, reaction, system note and merged_by, the same counts as the
// uncapped one, and verifies itself (passed, no failed relations).
func TestGitHubPastPaginationCap(t *testing.T) {
	t.Parallel()
	uncapped, capped, rest := storetest.Engines(t), storetest.Engines(t), storetest.Engines(t)
	for i := range uncapped {
		t.Run(uncapped[i].Name, func(t *testing.T) {
			t.Parallel()
			free, freeFacts := importCounts(t, uncapped[i], 0, false)
			limited, limitedFacts := importCounts(t, capped[i], capDepthE2E, false)
			viaREST, restFacts := importCounts(t, rest[i], capDepthE2E, true)
			// Field by field: the events past the limit land as the
			// repository list lands them (system notes, merged_by…).
			sameFacts(t, "capped through GraphQL vs uncapped", limitedFacts, freeFacts)
			sameFacts(t, "capped through REST vs uncapped", restFacts, freeFacts)
			// Past the limit ferry reads more (the refused pages, the
			// other end of pulls, events per item), and lands the same;
			// GraphQL's timelines read the events past it in far fewer
			// calls than REST's per-item lists.
			if limited["(source calls)"] <= free["(source calls)"] {
				t.Errorf("%d source calls past the limit, %d without: the limit was never met", limited["(source calls)"], free["(source calls)"])
			}
			// issues/events: the repository list's pages up to the limit
			// and the refused one; through REST, each unreached item's too.
			if limited["(event calls)"] > capDepthE2E+1 || viaREST["(event calls)"] <= capDepthE2E+1 {
				t.Errorf("issue events calls past the limit: %d with GraphQL (want at most %d), %d without (want more)",
					limited["(event calls)"], capDepthE2E+1, viaREST["(event calls)"])
			}
			for _, k := range []string{"(source calls)", "(event calls)"} {
				delete(free, k)
			}
			for k, v := range free {
				if limited[k] != v {
					t.Errorf("%s: %d past the limit, %d without", k, limited[k], v)
				}
				if viaREST[k] != v {
					t.Errorf("%s: %d past the limit through REST, %d without", k, viaREST[k], v)
				}
			}
		})
	}
}

// importCounts imports the scenario from a GitHub with maxPage (0: no
// limit), with GraphQL unless noGraphQL, into a fresh ferry and returns
// what landed, by kind, and the project's facts.
func importCounts(t *testing.T, e storetest.Engine, maxPage int, noGraphQL bool) (map[string]int, *facts) {
	t.Helper()
	f := forgeWith(t, fakeforge.Options{Sources: []string{scenario.GitHub}, GitHub: ffgithub.Options{MaxPage: maxPage, NoGraphQL: noGraphQL}}, capScenario)
	sc := f.Scenario
	want, _ := sc.Expected("github")
	in := apptest.Start(t, e, apptest.Options{AllowLocalNetwork: true, EngineOverrides: fast, Workers: 4})
	root := in.Client(t, in.RootToken)
	grp := must(root.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("group"), Path: gitlab.Ptr("group")}))(t)
	f.GitHub.ResetStats()
	id := startImport(t, in, f, "group")
	st := waitImport(t, in, id, nil)
	if st["import_status"] != "finished" {
		t.Fatalf("max page %d: import ended %v: %v", maxPage, st["import_status"], st["import_error"])
	}
	if fr, _ := st["failed_relations"].([]any); len(fr) != 0 {
		t.Errorf("max page %d: failed relations: %v", maxPage, fr)
	}
	if v, _ := st["verification"].(map[string]any); v == nil || v["status"] != "passed" {
		t.Errorf("max page %d: verification %v", maxPage, st["verification"])
	}
	checkCounts(t, in.App.Store.DB(), want, id, grp.ID)
	calls := f.GitHub.Stats().APIRequests
	t.Logf("max page %d: %d source calls", maxPage, calls)
	got := map[string]int{}
	for k, q := range map[string]string{
		"issues":                  `SELECT COUNT(*) FROM issues WHERE project_id = $1`,
		"merge_requests":          `SELECT COUNT(*) FROM merge_requests WHERE project_id = $1`,
		"merged_by":               `SELECT COUNT(*) FROM merge_requests WHERE project_id = $1 AND merged_by_su IS NOT NULL`,
		"closed_by (MRs)":         `SELECT COUNT(*) FROM merge_requests WHERE project_id = $1 AND closed_by_su IS NOT NULL`,
		"comments":                `SELECT COUNT(*) FROM notes WHERE project_id = $1 AND system = FALSE AND position_type = ''`,
		"review comments":         `SELECT COUNT(*) FROM notes WHERE project_id = $1 AND position_type <> ''`,
		"system notes":            `SELECT COUNT(*) FROM notes WHERE project_id = $1 AND system = TRUE`,
		"reactions":               `SELECT COUNT(*) FROM award_emoji WHERE project_id = $1`,
		"reviews":                 `SELECT COUNT(*) FROM reviews WHERE project_id = $1`,
		"notes on merge requests": `SELECT COUNT(*) FROM notes WHERE project_id = $1 AND noteable_type = 'MergeRequest'`,
	} {
		got[k] = count(t, in, q, id)
	}
	if got["merged_by"] == 0 || got["system notes"] == 0 || got["comments"] < sc.CommentCount() {
		t.Errorf("max page %d: %v", maxPage, got)
	}
	got["(source calls)"] = calls
	got["(event calls)"] = f.GitHub.Stats().Families["issues/events"].Requests
	fs := projectFacts(t, in, in.RootToken, id)
	fs.replace(f.GitHub.URL, "SOURCE")
	fs.replace(strings.TrimPrefix(f.GitHub.URL, "http://"), "SOURCE")
	return got, fs
}
