package main

import (
	"context"
	"math"
	"strconv"
	"testing"

	"github.com/ferry-import/ferry/fakeforge"
	"github.com/ferry-import/ferry/fakeforge/scenario"
)

// TestCallModel imports presets through ferry's API from fakeforge, with
// and without GraphQL, with and without GitHub's pagination cap, and holds the call model (source/github's
// EstimateImport, fed the scenario's SourceCounts) to within 2% of the
// REST calls, GraphQL requests and points fakeforge counted. medium only
// without -short; large is left to a ferrybench run.
func TestCallModel(t *testing.T) {
	type run struct {
		preset    string
		noGraphQL bool
		maxPage   int // GitHub's pagination cap (0: none)
	}
	runs := []run{{"small", false, 0}, {"small", true, 0}, {"small", false, 2}, {"small", true, 2}}
	if !testing.Short() {
		runs = append(runs, run{"medium", false, 0}, run{"medium", true, 0}, run{"medium", false, 10}, run{"medium", true, 10})
	}
	for _, r := range runs {
		name, noGraphQL := r.preset, r.noGraphQL
		path := "graphql"
		if noGraphQL {
			path = "rest"
		}
		if r.maxPage > 0 {
			path += "/cap" + strconv.Itoa(r.maxPage)
		}
		t.Run(name+"/"+path, func(t *testing.T) {
			ctx := context.Background()
			sc, err := scenario.Preset(name, 1)
			if err != nil {
				t.Fatal(err)
			}
			cfg := config{source: scenario.GitHub, workers: 4, githubNoGraphQL: noGraphQL, githubMaxPage: r.maxPage}
			fo := fakeforge.Options{Scenario: sc, Sources: []string{scenario.GitHub}}
			fo.GitHub.NoGraphQL, fo.GitHub.MaxPage = noGraphQL, r.maxPage
			f, err := fakeforge.Start(ctx, fo)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			ep := f.Endpoint(scenario.GitHub)
			ep.ResetStats()
			if _, err := importMode(ctx, f, cfg); err != nil {
				t.Fatal(err)
			}
			got := ep.Stats()
			want, err := predict(f.Scenario, cfg)
			if err != nil {
				t.Fatal(err)
			}
			for _, fig := range []struct {
				name                string
				predicted, measured int
			}{
				{"rest_calls", want.RESTCalls, got.RESTRequests},
				{"graphql_requests", want.GraphQLRequests, got.GraphQLRequests},
				{"graphql_points", want.GraphQLPoints, got.GraphQLPoints},
			} {
				t.Logf("%s %s predicted %d measured %d", path, fig.name, fig.predicted, fig.measured)
				if math.Abs(float64(fig.predicted-fig.measured)) > 0.02*float64(fig.measured) {
					t.Errorf("%s: predicted %d, measured %d (more than 2%% apart); model %v; families %v",
						fig.name, fig.predicted, fig.measured, want.Calls, got.Families)
				}
			}
		})
	}
}
