package e2e

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/fakeforge"
	ffgithub "github.com/ferry-import/ferry/fakeforge/github"
	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/fakeforge/traffic"
	"github.com/ferry-import/ferry/store/storetest"
)

// TestGitHubGraphQLAndRESTLandTheSame: one scenario imported from a GitHub
// with GraphQL (reviews, reactions and profiles read many items a query)
// and from one without it (an older GitHub Enterprise: per item through
// REST) lands the same content, field by field, people one to one and
// their source identities (name, login) the same — with far fewer calls.
func TestGitHubGraphQLAndRESTLandTheSame(t *testing.T) {
	t.Parallel()
	for i, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			viaGQL := forgeWith(t, fakeforge.Options{Sources: []string{scenario.GitHub}}, nil)
			viaREST := forgeWith(t, fakeforge.Options{Sources: []string{scenario.GitHub}, GitHub: ffgithub.Options{NoGraphQL: true}}, nil)
			// One ferry each, on a database of its own: an import's
			// placeholders are counted instance-wide by the checks.
			ins, rels := map[string]*apptest.Instance{}, map[string]string{}
			pids := map[string]int64{}
			for way, f := range map[string]*fakeforge.Forge{"gql": viaGQL, "rest": viaREST} {
				in := apptest.Start(t, storetest.Engines(t)[i], apptest.Options{AllowLocalNetwork: true, EngineOverrides: fast, Workers: 4})
				grp := newGroup(t, in.Client(t, in.RootToken), "group")
				id := startImport(t, in, f, "group")
				st := finishedWithEverything(t, in, f, id, grp.ID, nil)
				rels[way] = relationCounts(st)
				ins[way], pids[way] = in, id
			}
			g, r := viaGQL.GitHub.Stats(), viaREST.GitHub.Stats()
			t.Logf("with GraphQL: %d REST calls, %d GraphQL requests (%d points); without: %d REST calls",
				g.RESTRequests, g.GraphQLRequests, g.GraphQLPoints, r.RESTRequests)
			if g.GraphQLRequests == 0 || r.GraphQLRequests != 0 {
				t.Errorf("GraphQL requests: %d with it, %d without", g.GraphQLRequests, r.GraphQLRequests)
			}
			if g.APIRequests >= r.APIRequests {
				t.Errorf("GraphQL saved nothing: %d requests with it, %d without", g.APIRequests, r.APIRequests)
			}
			// Every relation read as many source items either way: an
			// item a path read twice or skipped shows here.
			if rels["gql"] != rels["rest"] {
				t.Errorf("relations differ:\nGraphQL: %s\nREST:    %s", rels["gql"], rels["rest"])
			}
			fg, fr := projectFacts(t, ins["gql"], ins["gql"].RootToken, pids["gql"]), projectFacts(t, ins["rest"], ins["rest"].RootToken, pids["rest"])
			fg.replace(viaGQL.GitHub.URL, "SOURCE")
			fr.replace(viaREST.GitHub.URL, "SOURCE")
			fg.replace(strings.TrimPrefix(viaGQL.GitHub.URL, "http://"), "SOURCE")
			fr.replace(strings.TrimPrefix(viaREST.GitHub.URL, "http://"), "SOURCE")
			sameFacts(t, "GraphQL vs REST", fg, fr)
			if a, b := sourceIdentities(t, ins["gql"], "group"), sourceIdentities(t, ins["rest"], "group"); a != b {
				t.Errorf("placeholder identities differ:\nGraphQL: %s\nREST:    %s", a, b)
			}
		})
	}
}

// sourceIdentities lists the source users a group's placeholders stand
// for, as the placeholder API shows them, sorted.
func sourceIdentities(t *testing.T, in *apptest.Instance, group string) string {
	t.Helper()
	var out []string
	for _, p := range getList(t, fmt.Sprintf("%s/api/v4/groups/%s/placeholder_reassignments?per_page=100", in.URL, group), in.RootToken) {
		out = append(out, fmt.Sprintf("%v|%v|%v", p["source_user_identifier"], p["source_username"], p["source_name"]))
	}
	sort.Strings(out)
	if len(out) == 0 {
		t.Errorf("group %s has no placeholders", group)
	}
	return strings.Join(out, "\n")
}

// relationCounts is an import status's relations as "name fetched/imported/failed" lines.
func relationCounts(st map[string]any) string {
	rs, _ := st["relations"].([]any)
	var out []string
	for _, r := range rs {
		m, _ := r.(map[string]any)
		out = append(out, fmt.Sprintf("%v %v/%v/%v", m["name"], m["fetched"], m["imported"], m["failed"]))
	}
	sort.Strings(out)
	return strings.Join(out, "; ")
}

// TestGitHubGraphQLBudgetIsWaitedOut: GraphQL points are a budget of their
// own. With 1 point per 8 s (the import needs 3 queries of 1 point, two of
// them in one stage), the GraphQL governor waits for the reset, the status
// shows the wait, REST calls go on meanwhile, and the import finishes with
// everything; GitHub never refuses a query for the rate limit.
func TestGitHubGraphQLBudgetIsWaitedOut(t *testing.T) {
	t.Parallel()
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			f := forge(t, traffic.Faults{GraphQLRateLimit: 1, GraphQLRateLimitPeriod: 8 * time.Second}, nil)
			in := apptest.Start(t, e, apptest.Options{AllowLocalNetwork: true, EngineOverrides: fast, Workers: 4})
			grp := newGroup(t, in.Client(t, in.RootToken), "budget")
			id := startImport(t, in, f, "budget")
			waited := false
			finishedWithEverything(t, in, f, id, grp.ID, func(st map[string]any) {
				_, ok := st["waiting_for_rate_limit_until"].(string)
				waited = waited || ok
			})
			s := f.GitHub.Stats()
			t.Logf("%d GraphQL requests, %d points, %d rate-limited answers", s.GraphQLRequests, s.GraphQLPoints, faultTotals(s).RateLimited)
			if s.GraphQLPoints <= 1 {
				t.Fatalf("%d GraphQL points spent: the budget was never in the way", s.GraphQLPoints)
			}
			if !waited {
				t.Errorf("the status never showed the wait for GraphQL's budget")
			}
			if n := faultTotals(s).RateLimited; n != 0 {
				t.Errorf("GitHub refused %d requests for the rate limit: the governor overran a budget", n)
			}
		})
	}
}
