package github

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/importer/sourcetest"
)

// TestReviewsBatchDeclaresReviewComments: a pull request whose reviews all
// came in the GraphQL query declares its review comments, the sum of its
// reviews' comments counts (a pending review's left out: GitHub lists its
// comments nowhere else), named by the pull request; one whose reviews
// overflow the query goes through REST and declares nothing, and neither
// does one without review comments, one updated since the pulls list saw
// it (its comments may postdate the review comments list) or one whose
// key carries no updated_at. The counts cost no
// call: one query for the page, REST only for the overflow.
func TestReviewsBatchDeclaresReviewComments(t *testing.T) {
	review := func(id int, state string, comments int) map[string]any {
		return map[string]any{"databaseId": id, "body": "", "state": state, "submittedAt": "2024-01-02T03:04:05Z",
			"commit": map[string]any{"oid": "abc"}, "author": map[string]any{"__typename": "User", "login": "octo", "id": "U_5", "databaseId": 5},
			"comments": map[string]any{"totalCount": comments}}
	}
	seen := time.Date(2024, 1, 5, 6, 7, 8, 0, time.UTC) // updated_at in the pulls list
	pr := func(n int, hasNext bool, reviews ...map[string]any) map[string]any {
		updated := seen
		if n == 4 {
			updated = seen.Add(time.Second) // commented on since
		}
		return map[string]any{"__typename": "PullRequest", "title": fmt.Sprintf("Change %d", n), "url": fmt.Sprintf("https://github.example/acme/widgets/pull/%d", n),
			"updatedAt": updated.Format(time.RFC3339),
			"reviews":   map[string]any{"totalCount": len(reviews), "pageInfo": map[string]any{"hasNextPage": hasNext}, "nodes": reviews}}
	}
	nodes := map[string]map[string]any{
		"PR_1": pr(1, false, review(11, "COMMENTED", 3), review(12, "APPROVED", 0), review(13, "PENDING", 5), review(14, "DISMISSED", 2)),
		"PR_2": pr(2, true, review(21, "COMMENTED", 4)), // more reviews than the query holds
		"PR_3": pr(3, false, review(31, "APPROVED", 0)),
		"PR_4": pr(4, false, review(41, "COMMENTED", 2)),
		"PR_5": pr(5, false, review(51, "COMMENTED", 2)), // its key predates updated_at in keys
	}
	var mu sync.Mutex
	var queries []string
	var restPaths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/api/graphql" {
			var body struct {
				Query     string `json:"query"`
				Variables struct {
					IDs []string `json:"ids"`
				} `json:"variables"`
			}
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			mu.Lock()
			queries = append(queries, body.Query)
			mu.Unlock()
			var out []any
			for _, id := range body.Variables.IDs {
				out = append(out, nodes[id])
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"nodes": out}})
			return
		}
		mu.Lock()
		restPaths = append(restPaths, r.URL.Path)
		mu.Unlock()
		if r.URL.Path != "/api/v3/repos/acme/widgets/pulls/2/reviews" {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode([]map[string]any{{"id": 21, "state": "COMMENTED", "user": map[string]any{"login": "octo", "id": 5}}})
	}))
	t.Cleanup(srv.Close)

	q := sourcetest.NewFollowups()
	for n := 1; n <= 5; n++ {
		key := withUpdated(detailsKey(n, false), seen)
		if n == 5 {
			key = detailsKey(n, false)
		}
		q.Add(importer.Followup{Relation: relPullRequestDetails, Key: withNode(key, fmt.Sprintf("PR_%d", n))})
	}
	env := &importer.Env{SourceURL: srv.URL + "/api/v3/", SourceRef: "acme/widgets", Credential: "t", HTTP: srv.Client(), Followups: q,
		Budget: func(string) *http.Client { return srv.Client() }}
	stages, err := New().Stages(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	var rel importer.Relation
	for _, st := range stages {
		for _, r := range st.Relations {
			if r.Name() == relPullRequestDetails {
				rel = r
			}
		}
	}
	if rel == nil {
		t.Fatal("no pull_request_details relation")
	}
	p, err := rel.Fetch(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	var got []ferry.Expectation
	for _, e := range p.Expect {
		if e.Type == "review_comments" {
			got = append(got, e)
		}
	}
	want := ferry.Expectation{Type: "review_comments", OnType: forge.OnMergeRequest, OnIID: 1, Kind: forge.KindNote, Prefix: kindReviewComment + "/",
		Count: 5, SourceURL: "https://github.example/acme/widgets/pull/1", Title: "pull request #1 Change 1"}
	if len(got) != 1 || got[0] != want {
		t.Errorf("review_comments declared %+v, want only %+v", got, want)
	}
	if len(queries) != 1 || !strings.Contains(queries[0], "comments { totalCount }") {
		t.Errorf("GraphQL queries %q, want one asking each review's comments count", queries)
	}
	if fmt.Sprint(restPaths) != "[/api/v3/repos/acme/widgets/pulls/2/reviews]" {
		t.Errorf("REST calls %v, want only the overflowing pull request's reviews", restPaths)
	}
	reviews := 0
	for _, o := range p.Objects {
		if _, ok := o.(forge.Review); ok {
			reviews++
		}
	}
	if reviews != 7 { // PR 1's four but the pending one, PR 2's one through REST, PR 3's, 4's and 5's one
		t.Errorf("%d reviews landed, want 7", reviews)
	}
}
