package github

import (
	"testing"
	"time"
)

// TestGQLCost holds the model's price of the batch queries to GitHub's
// rule as fakeforge applies it: one request per node per connection.
func TestGQLCost(t *testing.T) {
	for _, tt := range []struct {
		name  string
		query string
		n     int
		want  int
	}{
		{"reviews of 100", reviewsQuery, 100, 1},
		{"reviews of 49", reviewsQuery, 49, 1},
		{"reactions of 100 (four fragments)", reactionsQuery, 100, 4},
		{"reactions of 23", reactionsQuery, 23, 1},
		{"reactions of 40", reactionsQuery, 40, 2},
		{"users of 100 (no connection)", usersQuery, 100, 1},
	} {
		if got := gqlCost(tt.query, tt.n); got != tt.want {
			t.Errorf("%s: cost %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestEstimateImport(t *testing.T) {
	c := Counts{Issues: 150, PullRequests: 80, IssueComments: 460, ReviewComments: 160, Reviews: 80,
		Reactions: 46, ReactedItems: 23, Events: 230, Users: 10, Releases: 3, Labels: 6, Milestones: 4, ProtectedBranches: 2}
	for _, tt := range []struct {
		name                 string
		o                    EstimateOptions
		rest, gqlReq, gqlPts int
	}{
		{"graphql", EstimateOptions{GraphQL: true, SourceCheck: true}, 22, 3, 3},
		{"rest", EstimateOptions{SourceCheck: true}, 22 + 2 + 80 + 23 + 10, 0, 0},
		{"collaborators, no check", EstimateOptions{GraphQL: true, CollaboratorsImport: true}, 22, 3, 3},
		{"single endpoint notes", EstimateOptions{GraphQL: true, SourceCheck: true, SingleEndpointNotesImport: true},
			22 - 5 - 2 + 230 + 80, 3, 3},
		{"per page 10", EstimateOptions{GraphQL: true, SourceCheck: true, PerPage: 10}, 1 + 1 + 1 + 1 + 1 + 1 + 2 + 8 + 23 + 46 + 16 + 23, 3, 3},
	} {
		e := EstimateImport(c, tt.o)
		if e.RESTCalls != tt.rest || e.GraphQLRequests != tt.gqlReq || e.GraphQLPoints != tt.gqlPts {
			t.Errorf("%s: %d REST, %d GraphQL requests, %d points; want %d, %d, %d (%v)", tt.name,
				e.RESTCalls, e.GraphQLRequests, e.GraphQLPoints, tt.rest, tt.gqlReq, tt.gqlPts, e.Calls)
		}
	}
}

// TestEstimateHours: the binding budget decides; below one budget's worth
// the latency does.
func TestEstimateHours(t *testing.T) {
	big := Counts{Issues: 45000, PullRequests: 80000, IssueComments: 1500000, Reviews: 240000, Users: 40000, Events: 1500000}
	rest := EstimateImport(big, EstimateOptions{})
	if rest.Binding != "rest" || rest.Hours != float64(rest.RESTCalls)/UserRESTPerHour {
		t.Errorf("REST path: %+v", rest)
	}
	app := EstimateImport(big, EstimateOptions{RESTPerHour: AppGHECRESTPerHour, GraphQLPointsPerHour: AppGHECGraphQLPerHour})
	if app.Hours*3 != rest.Hours {
		t.Errorf("an app's 15,000 an hour: %.2f h, a user's %.2f h", app.Hours, rest.Hours)
	}
	small := EstimateImport(Counts{Issues: 10}, EstimateOptions{GraphQL: true, Latency: 100 * time.Millisecond, Concurrency: 2})
	if small.Binding != "latency" || small.RESTHours != 0 || small.Hours != float64(small.RESTCalls)*0.1/2/3600 {
		t.Errorf("small: %+v", small)
	}
}

func TestParseCounts(t *testing.T) {
	c, err := ParseCounts(map[string]int{"issues": 3, "reacted_items": 2})
	if err != nil || c.Issues != 3 || c.ReactedItems != 2 {
		t.Fatalf("%+v, %v", c, err)
	}
	if m := c.Map(); m["issues"] != 3 || len(m) != len(CountNames()) {
		t.Errorf("Map: %v", m)
	}
	for _, bad := range []map[string]int{{"stars": 1}, {"issues": -1}} {
		if _, err := ParseCounts(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
