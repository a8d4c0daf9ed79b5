package github

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	gh "github.com/google/go-github/v92/github"
	"github.com/shurcooL/githubv4"

	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/fakeforge/traffic"
)

const gqlToken = "ghp_test"

// fakeClock is a clock tests advance.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// gqlForge is a simulated GitHub behind the traffic middleware on loopback.
type gqlForge struct {
	url   string
	sc    *scenario.Scenario
	mw    *traffic.Middleware
	clock *fakeClock
}

func startGQL(t *testing.T, f traffic.Faults, opts Options) *gqlForge {
	t.Helper()
	c, err := scenario.Preset("small", 1)
	if err != nil {
		t.Fatal(err)
	}
	c.ReactionsPerItem, c.ReviewsPerPR = 5, 3
	sc, err := scenario.New(c)
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{now: scenario.Epoch()}
	var h http.Handler
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	srv.Start()
	t.Cleanup(srv.Close)
	opts.Scenario, opts.BaseURL, opts.Tokens = sc, srv.URL, []string{gqlToken}
	s := New(opts)
	mw := traffic.New(f, s.Profile(), clock)
	h = mw.Wrap(s)
	return &gqlForge{url: srv.URL, sc: sc, mw: mw, clock: clock}
}

type authTransport struct{ header string }

func (a authTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", a.header)
	return http.DefaultTransport.RoundTrip(r)
}

func (g *gqlForge) v4(path string) *githubv4.Client {
	return githubv4.NewEnterpriseClient(g.url+path, &http.Client{Transport: authTransport{"bearer " + gqlToken}})
}

func (g *gqlForge) rest(t *testing.T) *gh.Client {
	t.Helper()
	c, err := gh.NewClient(gh.WithAuthToken(gqlToken), gh.WithURLs(gh.Ptr(g.url+"/"), nil))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// gqlAnswer is a raw GraphQL answer.
type gqlAnswer struct {
	status int
	header http.Header
	Data   json.RawMessage `json:"data"`
	Errors []gqlError      `json:"errors"`
}

// post sends a query as raw JSON, for the shapes githubv4 hides.
func (g *gqlForge) post(t *testing.T, path, auth, query string, vars map[string]any) gqlAnswer {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, g.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", auth)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	a := gqlAnswer{status: resp.StatusCode, header: resp.Header}
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatalf("decode answer: %v", err)
	}
	return a
}

type reactionV4 struct {
	DatabaseID githubv4.Int
	Content    githubv4.ReactionContent
	CreatedAt  githubv4.DateTime
	User       struct {
		Login      githubv4.String
		DatabaseID githubv4.Int
	}
}

type reactionsV4 struct {
	TotalCount githubv4.Int
	PageInfo   struct {
		HasNextPage githubv4.Boolean
		EndCursor   githubv4.String
	}
	Nodes []reactionV4
}

type reviewV4 struct {
	ID          githubv4.ID
	DatabaseID  githubv4.Int
	Author      struct{ Login githubv4.String }
	Body        githubv4.String
	State       githubv4.PullRequestReviewState
	SubmittedAt githubv4.DateTime
	Commit      struct{ Oid githubv4.GitObjectID }
	Comments    struct{ TotalCount githubv4.Int } // no first: a count alone
}

// itemsQuery is what ferry sends for reactions and reviews of many items.
type itemsQuery struct {
	Nodes []struct {
		Typename githubv4.String `graphql:"__typename"`
		Issue    struct {
			ID        githubv4.ID
			Number    githubv4.Int
			Reactions reactionsV4 `graphql:"reactions(first: $first)"`
		} `graphql:"... on Issue"`
		PullRequest struct {
			ID        githubv4.ID
			Number    githubv4.Int
			Title     githubv4.String
			URL       githubv4.URI
			UpdatedAt githubv4.DateTime
			Reactions reactionsV4 `graphql:"reactions(first: $first)"`
			Reviews   struct {
				TotalCount githubv4.Int
				Nodes      []reviewV4
			} `graphql:"reviews(first: $first)"`
		} `graphql:"... on PullRequest"`
		User struct {
			Login githubv4.String
			Name  githubv4.String
			Email githubv4.String
		} `graphql:"... on User"`
	} `graphql:"nodes(ids: $ids)"`
	RateLimit struct {
		Cost      githubv4.Int
		Remaining githubv4.Int
		NodeCount githubv4.Int
	}
}

var restReactionContent = map[string]githubv4.ReactionContent{"+1": githubv4.ReactionContentThumbsUp, "-1": githubv4.ReactionContentThumbsDown,
	"laugh": githubv4.ReactionContentLaugh, "hooray": githubv4.ReactionContentHooray, "confused": githubv4.ReactionContentConfused,
	"heart": githubv4.ReactionContentHeart, "rocket": githubv4.ReactionContentRocket, "eyes": githubv4.ReactionContentEyes}

// TestGraphQLMatchesREST: reactions, reviews and user profiles read by
// githubv4 through nodes(ids:) on both endpoints equal the REST answers
// of the same objects, and the ids are REST's node_id.
func TestGraphQLMatchesREST(t *testing.T) {
	g := startGQL(t, traffic.Faults{}, Options{})
	ctx := context.Background()
	rest := g.rest(t)
	var ids []githubv4.ID
	var numbers []int
	for n := 1; n <= g.sc.Items() && len(numbers) < 6; n++ {
		if g.sc.HasReactions(n) {
			iss, _, err := rest.Issues.Get(ctx, Owner, Repo, n)
			if err != nil {
				t.Fatal(err)
			}
			ids, numbers = append(ids, githubv4.ID(iss.GetNodeID())), append(numbers, n)
		}
	}
	u, _, err := rest.Users.Get(ctx, "user3")
	if err != nil {
		t.Fatal(err)
	}
	ids = append(ids, githubv4.ID(u.GetNodeID()))
	for _, path := range []string{"/graphql", "/api/graphql"} {
		var q itemsQuery
		if err := g.v4(path).Query(ctx, &q, map[string]any{"ids": ids, "first": githubv4.Int(100)}); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(q.Nodes) != len(ids) {
			t.Fatalf("%s: %d nodes for %d ids", path, len(q.Nodes), len(ids))
		}
		for k, n := range numbers {
			node := q.Nodes[k]
			it := g.sc.Item(n)
			reactions := node.Issue.Reactions
			wantType := "Issue"
			if it.IsPR {
				reactions, wantType = node.PullRequest.Reactions, "PullRequest"
				pr, _, err := rest.PullRequests.Get(ctx, Owner, Repo, n)
				if err != nil {
					t.Fatal(err)
				}
				if node.PullRequest.ID != ids[k] || int(node.PullRequest.Number) != n || string(node.PullRequest.Title) != pr.GetTitle() ||
					node.PullRequest.URL.String() != pr.GetHTMLURL() || !node.PullRequest.UpdatedAt.Equal(pr.GetUpdatedAt().Time) {
					t.Errorf("%s #%d: id %v number %d title %q url %v, REST %q %s", path, n, node.PullRequest.ID, node.PullRequest.Number,
						node.PullRequest.Title, node.PullRequest.URL.String(), pr.GetTitle(), pr.GetHTMLURL())
				}
				checkReviews(t, ctx, rest, n, node.PullRequest.Reviews.Nodes, int(node.PullRequest.Reviews.TotalCount))
			} else if node.Issue.ID != ids[k] || int(node.Issue.Number) != n {
				t.Errorf("%s #%d: id %v number %d", path, n, node.Issue.ID, node.Issue.Number)
			}
			if string(node.Typename) != wantType {
				t.Errorf("%s #%d: __typename %s, want %s", path, n, node.Typename, wantType)
			}
			want, _, err := rest.Reactions.ListIssueReactions(ctx, Owner, Repo, n, &gh.ListReactionOptions{ListOptions: gh.ListOptions{PerPage: 100}})
			if err != nil {
				t.Fatal(err)
			}
			if int(reactions.TotalCount) != len(want) || len(reactions.Nodes) != len(want) || len(want) == 0 {
				t.Fatalf("%s #%d: %d reactions (total %d), REST %d", path, n, len(reactions.Nodes), reactions.TotalCount, len(want))
			}
			for i, w := range want {
				got := reactions.Nodes[i]
				if int64(got.DatabaseID) != w.GetID() || got.Content != restReactionContent[w.GetContent()] ||
					!got.CreatedAt.Equal(w.GetCreatedAt().Time) || string(got.User.Login) != w.GetUser().GetLogin() ||
					int64(got.User.DatabaseID) != w.GetUser().GetID() {
					t.Errorf("%s #%d reaction %d: %+v, REST %v", path, n, i, got, w)
				}
			}
		}
		user := q.Nodes[len(q.Nodes)-1].User
		if string(user.Login) != u.GetLogin() || string(user.Name) != u.GetName() || string(user.Email) != u.GetEmail() {
			t.Errorf("%s: user %+v, REST %s %q %s", path, user, u.GetLogin(), u.GetName(), u.GetEmail())
		}
		// Three connections (Issue's reactions, PullRequest's reactions and
		// reviews) under 7 ids: 21 requests, 7 + 7 × 3 × 100 nodes.
		if q.RateLimit.Cost != 1 || q.RateLimit.NodeCount != githubv4.Int(len(ids)+len(ids)*3*100) {
			t.Errorf("%s: rateLimit %+v", path, q.RateLimit)
		}
	}
}

func checkReviews(t *testing.T, ctx context.Context, rest *gh.Client, n int, got []reviewV4, total int) {
	t.Helper()
	want, _, err := rest.PullRequests.ListReviews(ctx, Owner, Repo, n, &gh.ListOptions{PerPage: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || total != len(want) || len(want) == 0 {
		t.Fatalf("#%d: %d reviews (total %d), REST %d", n, len(got), total, len(want))
	}
	// Each review counts the review comments REST lists with its id, and
	// together they are every review comment of the pull request.
	rcs, _, err := rest.PullRequests.ListComments(ctx, Owner, Repo, n, &gh.PullRequestListCommentsOptions{ListOptions: gh.ListOptions{PerPage: 100}})
	if err != nil {
		t.Fatal(err)
	}
	perReview := map[int64]int{}
	for _, c := range rcs {
		perReview[c.GetPullRequestReviewID()]++
	}
	sum := 0
	for _, r := range got {
		sum += int(r.Comments.TotalCount)
		if int(r.Comments.TotalCount) != perReview[int64(r.DatabaseID)] {
			t.Errorf("#%d review %d: %d comments, REST %d", n, r.DatabaseID, r.Comments.TotalCount, perReview[int64(r.DatabaseID)])
		}
	}
	if sum != len(rcs) || sum == 0 {
		t.Errorf("#%d: reviews count %d review comments, REST lists %d", n, sum, len(rcs))
	}
	for i, w := range want {
		r := got[i]
		if r.ID != githubv4.ID(w.GetNodeID()) || int64(r.DatabaseID) != w.GetID() || string(r.Author.Login) != w.GetUser().GetLogin() ||
			string(r.Body) != w.GetBody() || string(r.State) != w.GetState() || !r.SubmittedAt.Equal(w.GetSubmittedAt().Time) ||
			string(r.Commit.Oid) != w.GetCommitID() {
			t.Errorf("#%d review %d: %+v, REST %v", n, i, r, w)
		}
	}
}

// TestGraphQLPaging: a connection read page by page through its opaque
// cursors gives the REST list; last/before page backwards.
func TestGraphQLPaging(t *testing.T) {
	g := startGQL(t, traffic.Faults{}, Options{})
	ctx := context.Background()
	n := 10 // an issue with reactions
	if !g.sc.HasReactions(n) || g.sc.IsPR(n) {
		t.Fatalf("item %d: want an issue with reactions", n)
	}
	var q struct {
		Node struct {
			Issue struct {
				Reactions reactionsV4 `graphql:"reactions(first: 2, after: $after)"`
			} `graphql:"... on Issue"`
		} `graphql:"node(id: $id)"`
	}
	var got []int64
	after := (*githubv4.String)(nil)
	for page := 0; ; page++ {
		if err := g.v4("/graphql").Query(ctx, &q, map[string]any{"id": githubv4.ID(fmt.Sprintf("I_%d", g.sc.Item(n).ID)), "after": after}); err != nil {
			t.Fatal(err)
		}
		for _, r := range q.Node.Issue.Reactions.Nodes {
			got = append(got, int64(r.DatabaseID))
		}
		if !q.Node.Issue.Reactions.PageInfo.HasNextPage {
			break
		}
		if page > 5 {
			t.Fatal("no end")
		}
		after = githubv4.NewString(q.Node.Issue.Reactions.PageInfo.EndCursor)
	}
	var want []int64
	for _, r := range g.sc.Item(n).Reactions {
		want = append(want, r.ID)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("paged %v, want %v", got, want)
	}
	a := g.post(t, "/graphql", "token "+gqlToken, `query($id: ID!) { node(id: $id) { ... on Issue { reactions(last: 2) {
		pageInfo { hasPreviousPage hasNextPage } nodes { databaseId } } } } }`, map[string]any{"id": fmt.Sprintf("I_%d", g.sc.Item(n).ID)})
	wantLast := fmt.Sprintf(`{"node":{"reactions":{"pageInfo":{"hasPreviousPage":true,"hasNextPage":false},"nodes":[{"databaseId":%d},{"databaseId":%d}]}}}`,
		want[len(want)-2], want[len(want)-1])
	if string(a.Data) != wantLast {
		t.Errorf("last 2: %s, want %s", a.Data, wantLast)
	}
	a = g.post(t, "/graphql", "token "+gqlToken, `{ node(id: "I_10000010") { ... on Issue { reactions(first: 1, after: "bm9wZQ==") { totalCount } } } }`, nil)
	if len(a.Errors) != 1 || a.Errors[0].Type != "INVALID_CURSOR_ARGUMENTS" || a.Data != nil {
		t.Errorf("bad cursor: %+v %s", a.Errors, a.Data)
	}
}

// TestGraphQLNotFound: an id that names nothing is null at its index with
// a NOT_FOUND error beside the others' data; githubv4 decodes the data
// and returns the error.
func TestGraphQLNotFound(t *testing.T) {
	g := startGQL(t, traffic.Faults{}, Options{})
	issue := fmt.Sprintf("I_%d", g.sc.Item(1).ID)
	pr := prNodeID(1)
	for _, missing := range []string{"I_999999999", "nope", fmt.Sprintf("I_%d", g.sc.Item(g.sc.PRNumber(1)).ID), "PR_0", "U_01003"} {
		a := g.post(t, "/graphql", "Bearer "+gqlToken, `query($ids: [ID!]!) { nodes(ids: $ids) { __typename ... on Issue { number } ... on PullRequest { number } } }`,
			map[string]any{"ids": []string{issue, missing, pr}})
		want := fmt.Sprintf(`{"nodes":[{"__typename":"Issue","number":1},null,{"__typename":"PullRequest","number":%d}]}`, g.sc.PRNumber(1))
		if string(a.Data) != want {
			t.Errorf("%s: data %s, want %s", missing, a.Data, want)
		}
		if len(a.Errors) != 1 || a.Errors[0].Type != "NOT_FOUND" || fmt.Sprint(a.Errors[0].Path) != "[nodes 1]" ||
			a.Errors[0].Message != "Could not resolve to a node with the global id of '"+missing+"'" || len(a.Errors[0].Locations) != 1 {
			t.Errorf("%s: errors %+v", missing, a.Errors)
		}
	}
	var q struct {
		Nodes []struct {
			Issue struct{ Number githubv4.Int } `graphql:"... on Issue"`
		} `graphql:"nodes(ids: $ids)"`
	}
	err := g.v4("/graphql").Query(context.Background(), &q, map[string]any{"ids": []githubv4.ID{issue, "I_1"}})
	if err == nil || !strings.Contains(err.Error(), "Could not resolve to a node with the global id of 'I_1'") || len(q.Nodes) != 2 || q.Nodes[0].Issue.Number != 1 {
		t.Errorf("githubv4: %v %+v", err, q)
	}
}

// gqlPost is a raw query and what its answer must be.
type gqlCase struct {
	name      string
	query     string
	vars      map[string]any
	cost      int    // rateLimit.cost; 0 when refused
	nodeCount int    // rateLimit.nodeCount
	errType   string // the one error of a refused query
	errMsg    string
}

func ids(prefix string, from, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, from+i)
	}
	return out
}

// TestGraphQLCost checks cost, node count and the limits against GitHub's
// documented rules: requests summed over connections (a connection under
// N parents is N requests), divided by 100, rounded, at least 1; nodes
// first × parents summed, nodes(ids:) counting its ids.
func TestGraphQLCost(t *testing.T) {
	g := startGQL(t, traffic.Faults{GraphQLRateLimit: 100_000}, Options{})
	issues := ids("I_", 10_000_001, 100) // items 1…100, some of them pull requests (null)
	prs := ids("PR_", 1, 80)
	aliases := func(n int, size int, body string) (string, map[string]any) {
		var b strings.Builder
		vars := map[string]any{}
		b.WriteString("query(")
		for i := range n {
			fmt.Fprintf(&b, "$ids%d: [ID!]! ", i)
			vars[fmt.Sprintf("ids%d", i)] = issues[:size]
		}
		b.WriteString(") { rateLimit { cost nodeCount } ")
		for i := range n {
			fmt.Fprintf(&b, "a%d: nodes(ids: $ids%d) { %s } ", i, i, body)
		}
		b.WriteString("}")
		return b.String(), vars
	}
	q3, v3 := aliases(3, 100, "... on Issue { reactions(first: 100) { totalCount } }")
	q249, v249 := aliases(3, 83, "... on Issue { reactions(first: 10) { totalCount } }") // 3 × 83 = 249 requests
	q251, v251 := aliases(3, 84, "... on Issue { reactions(first: 10) { totalCount } }") // 252 requests
	qBig, vBig := aliases(50, 100, "... on Issue { reactions(first: 100) { totalCount } }")
	const rl = "rateLimit { cost nodeCount } "
	for _, c := range []gqlCase{
		{name: "rateLimit alone", query: "{ " + rl + "}", cost: 1},
		{name: "nodes without connections", query: `query($ids: [ID!]!) { ` + rl + `nodes(ids: $ids) { id } }`,
			vars: map[string]any{"ids": prs}, cost: 1, nodeCount: 80},
		{name: "100 ids × reactions(first: 100)", query: `query($ids: [ID!]!) { ` + rl + `nodes(ids: $ids) { ... on Issue { reactions(first: 100) { nodes { content } } } } }`,
			vars: map[string]any{"ids": issues}, cost: 1, nodeCount: 100 + 100*100},
		{name: "every fragment's connections count", query: `query($ids: [ID!]!) { ` + rl + `nodes(ids: $ids) {
			... on Issue { reactions(first: 100) { totalCount } }
			... on PullRequest { reactions(first: 100) { totalCount } reviews(last: 50) { totalCount } } } }`,
			vars: map[string]any{"ids": issues}, cost: 3, nodeCount: 100 + 100*100 + 100*100 + 100*50},
		{name: "one node's connection", query: `{ ` + rl + `node(id: "PR_1") { ... on PullRequest { reviews(first: 100) { totalCount } } } }`,
			cost: 1, nodeCount: 100},
		{name: "three lists of 100", query: q3, vars: v3, cost: 3, nodeCount: 3 * (100 + 100*100)},
		{name: "249 requests round down", query: q249, vars: v249, cost: 2, nodeCount: 3 * (83 + 830)},
		{name: "252 requests round up", query: q251, vars: v251, cost: 3, nodeCount: 3 * (84 + 840)},
		{name: "101 ids", query: `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, vars: map[string]any{"ids": ids("I_", 1, 101)},
			errType: "ARGUMENT_LIMIT", errMsg: "You may not provide more than 100 node ids; you provided 101."},
		{name: "first 101", query: `{ node(id: "PR_1") { ... on PullRequest { reactions(first: 101) { totalCount } } } }`,
			errType: "EXCESSIVE_PAGINATION", errMsg: "Requesting 101 records on the `reactions` connection exceeds the `first` limit of 100 records."},
		{name: "no first or last", query: `{ node(id: "PR_1") { ... on PullRequest { reviews { totalCount nodes { id } } } } }`,
			errType: "MISSING_PAGINATION_BOUNDARIES", errMsg: "You must provide a `first` or `last` value to properly paginate the `reviews` connection."},
		{name: "a count without first or last", query: `{ ` + rl + `node(id: "PR_1") { ... on PullRequest { reviews { totalCount } } } }`, cost: 1},
		{name: "review comments counted under 100 ids × reviews(first: 100)", query: `query($ids: [ID!]!) { ` + rl + `nodes(ids: $ids) {
			... on PullRequest { reviews(first: 100) { nodes { comments { totalCount } } } } } }`,
			vars: map[string]any{"ids": prs}, cost: 1, nodeCount: 80 + 80*100},
		{name: "505,000 nodes", query: qBig, vars: vBig,
			errType: "MAX_NODE_LIMIT_EXCEEDED", errMsg: "This query requests up to 505,000 nodes which exceeds the maximum limit of 500,000."},
		{name: "both bounds too large", query: `{ node(id: "PR_1") { ... on PullRequest { reactions(last: 300, first: 200) { totalCount } } } }`,
			errType: "EXCESSIVE_PAGINATION", errMsg: "Requesting 200 records on the `reactions` connection exceeds the `first` limit of 100 records."},
		{name: "introspection", query: `{ __schema { types { name } } }`, errMsg: "fakeforge does not serve introspection (__schema)"},
		{name: "not in the schema", query: `{ viewer { login } }`, errMsg: "Cannot query field \"viewer\" on type \"Query\"."},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := g.mw.Stats().GraphQLPoints
			a := g.post(t, "/graphql", "token "+gqlToken, c.query, c.vars)
			spent := g.mw.Stats().GraphQLPoints - before
			if a.status != http.StatusOK || a.header.Get("X-RateLimit-Resource") != "graphql" {
				t.Fatalf("status %d, resource %q", a.status, a.header.Get("X-RateLimit-Resource"))
			}
			if c.errMsg != "" {
				if len(a.Errors) != 1 || a.Errors[0].Type != c.errType || a.Errors[0].Message != c.errMsg || a.Data != nil || spent != 0 {
					t.Errorf("errors %+v, data %s, spent %d; want one %s %q, no data, nothing spent", a.Errors, a.Data, spent, c.errType, c.errMsg)
				}
				return
			}
			var d struct{ RateLimit struct{ Cost, NodeCount int } }
			if err := json.Unmarshal(a.Data, &d); err != nil {
				t.Fatal(err)
			}
			if d.RateLimit.Cost != c.cost || d.RateLimit.NodeCount != c.nodeCount || spent != c.cost {
				t.Errorf("cost %d nodeCount %d spent %d, want %d %d %d", d.RateLimit.Cost, d.RateLimit.NodeCount, spent, c.cost, c.nodeCount, c.cost)
			}
		})
	}
}

// TestGraphQLBudget: points are spent per token apart from REST's budget,
// a query over the remaining points is refused with GitHub's 200 and
// RATE_LIMITED, the window resets, dry runs are free, and the traffic
// stats count GraphQL requests and points apart from REST calls.
func TestGraphQLBudget(t *testing.T) {
	g := startGQL(t, traffic.Faults{GraphQLRateLimit: 4, GraphQLRateLimitPeriod: time.Hour, RateLimit: 100}, Options{})
	const q3 = `query($ids: [ID!]!) { a: nodes(ids: $ids) { ... on Issue { reactions(first: 1) { totalCount } } }
		b: nodes(ids: $ids) { ... on Issue { reactions(first: 1) { totalCount } } }
		c: nodes(ids: $ids) { ... on Issue { reactions(first: 1) { totalCount } } } rateLimit { cost remaining used limit resetAt } }`
	vars := map[string]any{"ids": ids("I_", 10_000_001, 100)}
	auth := "token " + gqlToken
	a := g.post(t, "/graphql", auth, q3, vars)
	reset := scenario.Epoch().Add(time.Hour)
	want := fmt.Sprintf(`{"cost":3,"remaining":1,"used":3,"limit":4,"resetAt":"%s"}`, reset.Format(time.RFC3339))
	var d struct{ RateLimit json.RawMessage }
	if err := json.Unmarshal(a.Data, &d); err != nil || string(d.RateLimit) != want {
		t.Fatalf("rateLimit %s (%v), want %s", d.RateLimit, err, want)
	}
	h := a.header
	if h.Get("X-RateLimit-Limit") != "4" || h.Get("X-RateLimit-Remaining") != "1" || h.Get("X-RateLimit-Used") != "3" ||
		h.Get("X-RateLimit-Reset") != fmt.Sprint(reset.Unix()) || h.Get("X-RateLimit-Resource") != "graphql" {
		t.Errorf("headers %v", h)
	}
	// A dry run prices without spending or resolving.
	a = g.post(t, "/graphql", auth, `query($ids: [ID!]!) { rateLimit(dryRun: true) { cost remaining } nodes(ids: $ids) { id } }`, vars)
	if string(a.Data) != `{"rateLimit":{"cost":1,"remaining":1},"nodes":null}` || len(a.Errors) != 0 {
		t.Errorf("dry run: %s %+v", a.Data, a.Errors)
	}
	// 3 points over 1 remaining: refused, nothing spent.
	a = g.post(t, "/graphql", auth, q3, vars)
	if a.status != http.StatusOK || a.Data != nil || len(a.Errors) != 1 || a.Errors[0].Type != "RATE_LIMITED" ||
		a.Errors[0].Message != fmt.Sprintf("API rate limit exceeded for user ID %d.", g.sc.User(1).ID) ||
		a.header.Get("X-RateLimit-Remaining") != "0" {
		t.Errorf("over budget: %d %s %+v remaining %q", a.status, a.Data, a.Errors, a.header.Get("X-RateLimit-Remaining"))
	}
	// REST has its own budget.
	if _, resp, err := g.rest(t).Issues.Get(context.Background(), Owner, Repo, 1); err != nil || resp.Rate.Limit != 100 || resp.Rate.Remaining != 99 {
		t.Errorf("REST: %v %+v", err, resp)
	}
	// The last point is still there for a cheap query; then the budget is spent.
	var rl struct {
		RateLimit struct{ Remaining githubv4.Int }
	}
	if err := g.v4("/graphql").Query(context.Background(), &rl, nil); err != nil || rl.RateLimit.Remaining != 0 {
		t.Errorf("last point: %v %+v", err, rl)
	}
	if err := g.v4("/graphql").Query(context.Background(), &rl, nil); err == nil || !strings.Contains(err.Error(), "API rate limit exceeded") {
		t.Errorf("spent budget: %v", err)
	}
	g.clock.advance(time.Hour)
	if err := g.v4("/graphql").Query(context.Background(), &rl, nil); err != nil || rl.RateLimit.Remaining != 3 {
		t.Errorf("after the reset: %v %+v", err, rl)
	}
	st := g.mw.Stats()
	if st.GraphQLRequests != 6 || st.GraphQLPoints != 5 || st.RESTRequests != 1 || st.APIRequests != 7 ||
		st.Families["graphql"].Requests != 6 || st.Families["graphql"].RateLimited != 2 {
		t.Errorf("stats %+v", st)
	}
}

// TestGraphQLRefusals: a bad token is GitHub's 401, the scheme in any
// case is accepted, NoGraphQL answers 404 on both paths, and injected
// faults hit GraphQL requests too.
func TestGraphQLRefusals(t *testing.T) {
	g := startGQL(t, traffic.Faults{}, Options{})
	const q = `{ rateLimit { cost } }`
	for _, auth := range []string{"token nope", "", "bearer"} {
		a := g.post(t, "/graphql", auth, q, nil)
		if a.status != http.StatusUnauthorized {
			t.Errorf("%q: status %d", auth, a.status)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, g.url+"/api/graphql", strings.NewReader(`{"query":"{ rateLimit { cost } }"}`))
	req.Header.Set("Authorization", "token nope")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || body["message"] != "Bad credentials" || body["documentation_url"] != "https://docs.github.com/graphql" {
		t.Errorf("bad token: %d %v", resp.StatusCode, body)
	}
	for _, auth := range []string{"BEARER " + gqlToken, "Token " + gqlToken, "bearer " + gqlToken} {
		if a := g.post(t, "/api/graphql", auth, q, nil); a.status != http.StatusOK || string(a.Data) != `{"rateLimit":{"cost":1}}` {
			t.Errorf("%s…: %d %s", auth[:6], a.status, a.Data)
		}
	}

	old := startGQL(t, traffic.Faults{}, Options{NoGraphQL: true})
	for _, path := range []string{"/graphql", "/api/graphql"} {
		var rl struct{ RateLimit struct{ Cost githubv4.Int } }
		err := old.v4(path).Query(context.Background(), &rl, nil)
		if err == nil || !strings.Contains(err.Error(), "404") {
			t.Errorf("NoGraphQL %s: %v", path, err)
		}
	}

	faulty := startGQL(t, traffic.Faults{ErrorRate: 1}, Options{})
	a := faulty.post(t, "/graphql", "token "+gqlToken, q, nil)
	if a.status < 500 || a.header.Get("X-RateLimit-Resource") != "graphql" || a.header.Get("X-RateLimit-Remaining") != "5000" {
		t.Errorf("ErrorRate 1: status %d, headers %v", a.status, a.header)
	}
	if st := faulty.mw.Stats(); st.Families["graphql"].ServerErrors != 1 || st.GraphQLPoints != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestWithholdReviewComments: Options.WithholdReviewComments keeps the
// last review comment of every n-th pull request out of both REST lists,
// while the pull request's reviews still count it in GraphQL.
func TestWithholdReviewComments(t *testing.T) {
	const n = 4
	g := startGQL(t, traffic.Faults{}, Options{WithholdReviewComments: n})
	ctx := context.Background()
	rest := g.rest(t)
	c := g.sc.Config()
	per := c.ReviewCommentsPerPR
	all, err := allRepoReviewComments(ctx, rest)
	if err != nil {
		t.Fatal(err)
	}
	if want := g.sc.ReviewCommentCount() - c.PullRequests/n; len(all) != want {
		t.Errorf("repository-wide list: %d review comments, want %d", len(all), want)
	}
	for _, j := range []int{n - 1, n, 2 * n} {
		num := g.sc.PRNumber(j)
		listed, _, err := rest.PullRequests.ListComments(ctx, Owner, Repo, num, &gh.PullRequestListCommentsOptions{ListOptions: gh.ListOptions{PerPage: 100}})
		if err != nil {
			t.Fatal(err)
		}
		want := per
		if j%n == 0 {
			want--
		}
		last := g.sc.ReviewComment(j * per).ID
		var withheld bool
		for _, rc := range listed {
			withheld = withheld || rc.GetID() == last
		}
		if len(listed) != want || withheld == (j%n == 0) {
			t.Errorf("pull request %d (#%d): %d review comments listed (last listed: %v), want %d", j, num, len(listed), withheld, want)
		}
		a := g.post(t, "/graphql", "token "+gqlToken, `query($id: ID!) { node(id: $id) { ... on PullRequest { reviews(first: 100) { nodes { comments { totalCount } } } } } }`,
			map[string]any{"id": prNodeID(j)})
		var d struct {
			Node struct {
				Reviews struct {
					Nodes []struct{ Comments struct{ TotalCount int } }
				}
			}
		}
		if err := json.Unmarshal(a.Data, &d); err != nil || len(a.Errors) != 0 {
			t.Fatalf("%s %v %v", a.Data, a.Errors, err)
		}
		sum := 0
		for _, r := range d.Node.Reviews.Nodes {
			sum += r.Comments.TotalCount
		}
		if sum != per {
			t.Errorf("pull request %d: its reviews count %d review comments, want %d", j, sum, per)
		}
	}
}

func allRepoReviewComments(ctx context.Context, rest *gh.Client) ([]*gh.PullRequestComment, error) {
	var out []*gh.PullRequestComment
	opt := &gh.PullRequestListCommentsOptions{ListOptions: gh.ListOptions{PerPage: 100}}
	for {
		cs, resp, err := rest.PullRequests.ListComments(ctx, Owner, Repo, 0, opt)
		if err != nil {
			return nil, err
		}
		out = append(out, cs...)
		if resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}
