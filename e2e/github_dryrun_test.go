package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/fakeforge"
	ffgithub "github.com/ferry-import/ferry/fakeforge/github"
	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/source/github"
	"github.com/ferry-import/ferry/store/storetest"
)

// TestGitHubImportDryRun: POST /import/github with dry_run=true runs the
// checks of a real request, creates nothing, and answers the estimate
// from the repository's counts (one GraphQL query of 1 point beside the
// check's GET), never echoing the token.
func TestGitHubImportDryRun(t *testing.T) {
	t.Parallel()
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			// Each engine its own sources: the subtests count the calls
			// a source received, which the other engine's would add to.
			f := forgeWith(t, fakeforge.Options{Sources: []string{scenario.GitHub}}, nil)
			noGQL := forgeWith(t, fakeforge.Options{Sources: []string{scenario.GitHub}, GitHub: ffgithub.Options{NoGraphQL: true}}, nil)
			c := f.Scenario.Config()
			sc, err := f.Scenario.SourceCounts(scenario.GitHub)
			if err != nil {
				t.Fatal(err)
			}
			// Issue comments, review comments and issue events are
			// counted through REST, a list read one item a page (its
			// last page number), then the page after it (empty: the list
			// is complete).
			listed := map[string]int{"issue_comments": sc["issue_comments"], "review_comments": sc["review_comments"], "issue_events": sc["issue_events"]}
			in := apptest.Start(t, e, apptest.Options{AllowLocalNetwork: true, EngineOverrides: fast})
			root := in.Client(t, in.RootToken)
			must(root.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("dest"), Path: gitlab.Ptr("dest")}))(t)
			body := func(ff *fakeforge.Forge, over map[string]any) map[string]any {
				b := map[string]any{"personal_access_token": ff.GitHub.Token, "repo_id": ffgithub.RepoID, "target_namespace": "dest",
					"github_hostname": ff.GitHub.URL, "dry_run": true}
				for k, v := range over {
					b[k] = v
				}
				return b
			}
			for _, tc := range []struct {
				name   string
				forge  *fakeforge.Forge
				body   map[string]any
				status int
				want   string // the whole answer, when not an estimate
				// counts the estimate must carry (read from the source).
				counts map[string]int
				// the source's calls: REST (the check), GraphQL requests.
				rest, gql int
				noGraphQL bool // the estimate is the REST path's
			}{
				{name: "estimate", forge: f, body: body(f, nil), status: 200, rest: 1 + 3*2, gql: 1,
					counts: merged(listed, map[string]int{"issues": c.Issues, "pull_requests": c.PullRequests, "labels": c.Labels,
						"milestones": c.Milestones, "releases": c.Releases, "protected_branches": c.ProtectedBranches, "users": c.Users})},
				{name: "dry_run as a string", forge: f, body: body(f, map[string]any{"dry_run": "true", "pagination_limit": 10}), status: 200, rest: 1 + 3*2, gql: 1,
					counts: map[string]int{"issues": c.Issues, "pull_requests": c.PullRequests}},
				// Without GraphQL, every count through REST: the check, the
				// GraphQL probe (404), and nine lists two calls each; the
				// estimate is the REST path's.
				{name: "no GraphQL", forge: noGQL, body: body(noGQL, nil), status: 200, rest: 2 + 9*2, noGraphQL: true,
					counts: merged(listed, map[string]int{"issues": c.Issues, "pull_requests": c.PullRequests, "labels": c.Labels,
						"milestones": c.Milestones, "releases": c.Releases, "protected_branches": c.ProtectedBranches})},
				{name: "bad token", forge: f, body: body(f, map[string]any{"personal_access_token": "ghp_wrong"}), status: 401, rest: 1,
					want: `{"error":"Access denied to your GitHub account."}`},
				{name: "namespace missing", forge: f, body: body(f, map[string]any{"target_namespace": "nowhere"}), status: 422,
					want: `{"errors":"Namespace or group to import repository into does not exist."}`},
				{name: "dry_run not a boolean", forge: f, body: body(f, map[string]any{"dry_run": "perhaps"}), status: 400,
					want: `{"error":"dry_run is invalid"}`},
			} {
				t.Run(tc.name, func(t *testing.T) {
					ep := tc.forge.Endpoint(scenario.GitHub)
					ep.ResetStats()
					before := count(t, in, `SELECT COUNT(*) FROM projects`) + count(t, in, `SELECT COUNT(*) FROM imports`)
					code, got := postJSON(t, in.URL+"/api/v4/import/github", in.RootToken, tc.body)
					raw, _ := json.Marshal(got)
					if code != tc.status {
						t.Fatalf("status %d %s, want %d", code, raw, tc.status)
					}
					if strings.Contains(string(raw), tc.forge.GitHub.Token) || strings.Contains(string(raw), "ghp_wrong") {
						t.Errorf("the answer echoes the token: %s", raw)
					}
					if after := count(t, in, `SELECT COUNT(*) FROM projects`) + count(t, in, `SELECT COUNT(*) FROM imports`); after != before {
						t.Errorf("a dry run created records")
					}
					if st := ep.Stats(); st.RESTRequests != tc.rest || st.GraphQLRequests != tc.gql || st.GraphQLPoints != tc.gql {
						t.Errorf("source calls: %d REST, %d GraphQL (%d points); want %d, %d (%d)", st.RESTRequests, st.GraphQLRequests,
							st.GraphQLPoints, tc.rest, tc.gql, tc.gql)
					}
					t.Logf("%d %s", code, raw)
					if tc.want != "" {
						if string(raw) != tc.want {
							t.Errorf("answer %s, want %s", raw, tc.want)
						}
						return
					}
					var ans struct {
						DryRun       bool           `json:"dry_run"`
						ImportSource string         `json:"import_source"`
						Est          map[string]any `json:"estimate"`
					}
					if err := json.Unmarshal(raw, &ans); err != nil {
						t.Fatal(err)
					}
					if !ans.DryRun || ans.ImportSource != ffgithub.Owner+"/"+ffgithub.Repo {
						t.Errorf("answer %s", raw)
					}
					var est struct {
						RESTCalls     int            `json:"rest_calls"`
						GraphQLPoints int            `json:"graphql_points"`
						Hours         *float64       `json:"hours"`
						RESTPerHour   int            `json:"rest_per_hour"`
						Counts        map[string]int `json:"counts"`
						Assumed       []string       `json:"assumed"`
					}
					eraw, _ := json.Marshal(ans.Est)
					if err := json.Unmarshal(eraw, &est); err != nil {
						t.Fatal(err)
					}
					for k, v := range tc.counts {
						if est.Counts[k] != v {
							t.Errorf("counts[%s] = %d, scenario has %d", k, est.Counts[k], v)
						}
					}
					// The call model over the answered counts, with the
					// request's options, is the answer.
					cs, err := github.ParseCounts(est.Counts)
					if err != nil {
						t.Fatal(err)
					}
					o, err := github.EstimateOptionsFor(mustJSON(t, map[string]any{"pagination_limit": tc.body["pagination_limit"]}))
					if err != nil {
						t.Fatal(err)
					}
					o.RESTPerHour, o.GraphQLPointsPerHour = est.RESTPerHour, 5000
					o.GraphQL = !tc.noGraphQL
					if m := github.EstimateImport(cs, o); m.RESTCalls != est.RESTCalls || m.GraphQLPoints != est.GraphQLPoints || est.Hours == nil {
						t.Errorf("estimate %s, model %+v", eraw, m)
					}
					if len(est.Assumed) == 0 || est.RESTPerHour <= 0 {
						t.Errorf("estimate %s: no assumptions or budget", eraw)
					}
				})
			}
		})
	}
}

func mustJSON(t *testing.T, v map[string]any) []byte {
	t.Helper()
	for k, x := range v {
		if x == nil {
			delete(v, k)
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// merged is a and b in one map.
func merged(a, b map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}
