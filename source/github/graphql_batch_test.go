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

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/importer/sourcetest"
)

// TestReviewsBatchDeclaresReviewComments: a pull request whose reviews all
// came in the GraphQL query declares its review comments, the sum of its
// reviews' comments counts (a pending review's left out: GitHub lists its
// comments nowhere else), named by the pull request; one whose reviews
// overflow the query goes through REST and declares nothing, and one
// without review comments declares nothing either. The counts cost no
// call: one query for the page, REST only for the overflow.
func TestReviewsBatchDeclaresReviewComments(t *testing.T) {
	review := func(id int, state string, comments int) map[string]any {
		return map[string]any{"databaseId": id, "body": "", "state": state, "submittedAt": "2024-01-02T03:04:05Z",
			"commit": map[string]any{"oid": "abc"}, "author": map[string]any{"__typename": "User", "login": "octo", "id": "U_5", "databaseId": 5},
			"comments": map[string]any{"totalCount": comments}}
	}
	pr := func(n int, hasNext bool, reviews ...map[string]any) map[string]any {
		return map[string]any{"__typename": "PullRequest", "title": fmt.Sprintf("Change %d", n), "url": fmt.Sprintf("https://github.example/acme/widgets/pull/%d", n),
			"reviews": map[string]any{"totalCount": len(reviews), "pageInfo": map[string]any{"hasNextPage": hasNext}, "nodes": reviews}}
	}
	nodes := map[string]map[string]any{
		"PR_1": pr(1, false, review(11, "COMMENTED", 3), review(12, "APPROVED", 0), review(13, "PENDING", 5), review(14, "DISMISSED", 2)),
		"PR_2": pr(2, true, review(21, "COMMENTED", 4)), // more reviews than the query holds
		"PR_3": pr(3, false, review(31, "APPROVED", 0)),
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
	for n := 1; n <= 3; n++ {
		q.Add(importer.Followup{Relation: relPullRequestDetails, Key: withNode(detailsKey(n, false), fmt.Sprintf("PR_%d", n))})
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
	if reviews != 5 { // PR 1's four but the pending one, PR 2's one through REST, PR 3's one
		t.Errorf("%d reviews landed, want 5", reviews)
	}
}
