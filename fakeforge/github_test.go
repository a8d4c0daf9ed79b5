package fakeforge_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	gh "github.com/google/go-github/v92/github"
	"github.com/shurcooL/githubv4"

	"github.com/ferry-import/ferry/fakeforge"
	"github.com/ferry-import/ferry/fakeforge/github"
	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/fakeforge/traffic"
	"github.com/ferry-import/ferry/fakeforge/walk"
)

// tinyScenario keeps every list at least three pages long at perPage.
func tinyScenario(seed int64) scenario.Config {
	c, err := scenario.Preset("small", seed)
	if err != nil {
		panic(err)
	}
	c.Issues, c.PullRequests, c.Users = 40, 25, 7
	c.CommentsPerItem, c.ReviewCommentsPerPR, c.ReviewsPerPR = 1, 2, 2
	c.Branches, c.Commits, c.Labels, c.Milestones = 9, 5, 7, 7
	c.ReactionsEvery = 5
	return c
}

const perPage = 3

func startForge(t *testing.T, opts fakeforge.Options) *fakeforge.Forge {
	t.Helper()
	f, err := fakeforge.Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("start fakeforge: %v", err)
	}
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return f
}

func ghClient(t *testing.T, apiURL, token string) *gh.Client {
	t.Helper()
	c, err := gh.NewClient(gh.WithAuthToken(token), gh.WithURLs(gh.Ptr(apiURL+"/"), nil))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestGitHubWalk walks the whole repository with go-github, at the root and
// under /api/v3, and checks counts and calls against the scenario.
func TestGitHubWalk(t *testing.T) {
	t.Parallel()
	f := startForge(t, fakeforge.Options{Scenario: tinyScenario(1)})
	want, err := f.Scenario.Expected(scenario.GitHub)
	if err != nil {
		t.Fatal(err)
	}
	lower, err := f.Scenario.LowerBoundCalls(scenario.GitHub, perPage)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, api string }{
		{"github.com", f.GitHub.APIURL},
		{"enterprise", f.GitHub.URL + "/api/v3"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f.GitHub.ResetStats()
			got, err := walk.GitHub(context.Background(), walk.GitHubTarget{APIURL: tt.api, Token: f.GitHub.Token,
				Owner: "acme", Repo: "widgets", PerPage: perPage})
			if err != nil {
				t.Fatalf("walk: %v", err)
			}
			if d := scenario.Counts(got).Diff(want); d != "" {
				t.Errorf("counts differ: %s", d)
			}
			if calls := f.GitHub.Stats().APIRequests; calls != lower {
				t.Errorf("walk made %d API calls, lower bound is %d", calls, lower)
			}
		})
	}
}

// TestGitHubPerItemEndpoints decodes every endpoint the walk does not use.
func TestGitHubPerItemEndpoints(t *testing.T) {
	t.Parallel()
	f := startForge(t, fakeforge.Options{Scenario: tinyScenario(1)})
	ctx := context.Background()
	c := ghClient(t, f.GitHub.URL+"/api/v3", f.GitHub.Token)
	sc := f.Scenario
	pr := sc.PRNumber(2)
	issue := sc.IssueNumber(3)
	checks := []struct {
		name string
		run  func() (int, error) // returns how many objects decoded
	}{
		{"repository by id", func() (int, error) {
			r, _, err := c.Repositories.GetByID(ctx, 4242)
			return btoi(r.GetFullName() == "acme/widgets"), err
		}},
		{"issue", func() (int, error) {
			i, _, err := c.Issues.Get(ctx, "acme", "widgets", issue)
			return btoi(!i.IsPullRequest() && i.GetNumber() == issue), err
		}},
		{"issue comments", func() (int, error) {
			cs, _, err := c.Issues.ListComments(ctx, "acme", "widgets", issue, nil)
			return len(cs), err
		}},
		{"issue events", func() (int, error) {
			es, _, err := c.Issues.ListIssueEvents(ctx, "acme", "widgets", issue, nil)
			return len(es), err
		}},
		{"timeline", func() (int, error) {
			es, _, err := c.Issues.ListIssueTimeline(ctx, "acme", "widgets", issue, nil)
			return len(es), err
		}},
		{"pull", func() (int, error) {
			p, _, err := c.PullRequests.Get(ctx, "acme", "widgets", pr)
			return btoi(p.GetHead().GetRef() != "" && p.GetBase().GetRef() == "main"), err
		}},
		{"pull as issue", func() (int, error) {
			i, _, err := c.Issues.Get(ctx, "acme", "widgets", pr)
			return btoi(i.IsPullRequest()), err
		}},
		{"pull review comments", func() (int, error) {
			cs, _, err := c.PullRequests.ListComments(ctx, "acme", "widgets", pr, nil)
			if err == nil && (cs[1].GetInReplyTo() != cs[0].GetID() || cs[0].GetPosition() == 0) {
				t.Errorf("second review comment should reply to the first: %v", cs)
			}
			return len(cs), err
		}},
		{"branch with slash", func() (int, error) {
			b, _, err := c.Repositories.GetBranch(ctx, "acme", "widgets", "feature/branch-1", 0)
			return btoi(b.GetName() == "feature/branch-1"), err
		}},
		{"rate limit", func() (int, error) {
			rl, _, err := c.RateLimit.Get(ctx)
			return btoi(rl.GetCore().Limit > 0), err
		}},
		{"release asset download", func() (int, error) {
			rels, _, err := c.Repositories.ListReleases(ctx, "acme", "widgets", nil)
			if err != nil {
				return 0, err
			}
			rc, _, err := c.Repositories.DownloadReleaseAsset(ctx, "acme", "widgets", rels[0].Assets[0].GetID(), http.DefaultClient)
			if err != nil {
				return 0, err
			}
			defer rc.Close()
			b, err := io.ReadAll(rc)
			return btoi(len(b) == rels[0].Assets[0].GetSize()), err
		}},
	}
	c1, c2 := sc.ItemComments(issue)
	want := map[string]int{"issue comments": c2 - c1 + 1, "issue events": sc.Config().EventsPerItem,
		"timeline": sc.Config().EventsPerItem + c2 - c1 + 1, "pull review comments": sc.Config().ReviewCommentsPerPR}
	for _, ck := range checks {
		t.Run(ck.name, func(t *testing.T) {
			n, err := ck.run()
			if err != nil {
				t.Fatalf("%v", err)
			}
			w, ok := want[ck.name]
			if !ok {
				w = 1
			}
			if n != w {
				t.Errorf("got %d, want %d", n, w)
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func rawGet(t *testing.T, url, token string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "token "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func TestGitHubErrorsAndConditionalRequests(t *testing.T) {
	t.Parallel()
	f := startForge(t, fakeforge.Options{Scenario: tinyScenario(1)})
	u := f.GitHub.URL
	tests := []struct {
		name, path, token string
		status            int
		body              string
	}{
		{"no token", "/repos/acme/widgets", "", 401, "Requires authentication"},
		{"bad token", "/repos/acme/widgets", "nope", 401, "Bad credentials"},
		{"unknown repository", "/repos/acme/gadgets", f.GitHub.Token, 404, `"message":"Not Found"`},
		{"unknown repository id", "/api/v3/repositories/1", f.GitHub.Token, 404, "Not Found"},
		{"issue is not a pull", "/repos/acme/widgets/pulls/1", f.GitHub.Token, 404, "Not Found"},
		{"bad state", "/repos/acme/widgets/issues?state=maybe", f.GitHub.Token, 422, "Validation Failed"},
		{"unknown user", "/users/nobody", f.GitHub.Token, 404, "Not Found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := rawGet(t, u+tt.path, tt.token)
			if resp.StatusCode != tt.status || !strings.Contains(string(body), tt.body) {
				t.Errorf("got %d %s, want %d containing %q", resp.StatusCode, body, tt.status, tt.body)
			}
		})
	}
	t.Run("etag", func(t *testing.T) {
		resp, _ := rawGet(t, u+"/repos/acme/widgets/labels", f.GitHub.Token)
		etag := resp.Header.Get("ETag")
		if etag == "" {
			t.Fatal("no ETag")
		}
		resp, body := rawGet(t, u+"/repos/acme/widgets/labels", f.GitHub.Token, "If-None-Match", etag)
		if resp.StatusCode != http.StatusNotModified || len(body) != 0 {
			t.Errorf("got %d with %d bytes, want an empty 304", resp.StatusCode, len(body))
		}
		if n := f.GitHub.Stats().Families["labels"].NotModified; n != 1 {
			t.Errorf("stats count %d 304s, want 1", n)
		}
	})
	t.Run("link header", func(t *testing.T) {
		resp, _ := rawGet(t, u+"/repos/acme/widgets/issues?state=all&per_page=10&page=2", f.GitHub.Token)
		link := resp.Header.Get("Link")
		for _, rel := range []string{`page=3&per_page=10&state=all>; rel="next"`, `page=7&per_page=10&state=all>; rel="last"`, `page=1&per_page=10&state=all>; rel="first"`, `page=1&per_page=10&state=all>; rel="prev"`} {
			if !strings.Contains(link, rel) {
				t.Errorf("Link %q lacks %q", link, rel)
			}
		}
	})
}

// TestSameSeedSameBytes compares two forges started from the same seed.
func TestSameSeedSameBytes(t *testing.T) {
	t.Parallel()
	a := startForge(t, fakeforge.Options{Scenario: tinyScenario(42)})
	b := startForge(t, fakeforge.Options{Scenario: tinyScenario(42)})
	c := startForge(t, fakeforge.Options{Scenario: tinyScenario(43)})
	paths := []string{"/repos/acme/widgets/issues?state=all&per_page=100", "/repos/acme/widgets/pulls?state=all&page=2&per_page=10",
		"/repos/acme/widgets/issues/comments", "/repos/acme/widgets/pulls/comments", "/repos/acme/widgets/releases"}
	for _, p := range paths {
		get := func(f *fakeforge.Forge) []byte {
			_, body := rawGet(t, f.GitHub.URL+p, f.GitHub.Token)
			return bytes.ReplaceAll(body, []byte(f.GitHub.URL), []byte("BASE"))
		}
		x, y, z := get(a), get(b), get(c)
		if !bytes.Equal(x, y) {
			t.Errorf("%s: same seed, different bytes", p)
		}
		if bytes.Equal(x, z) {
			t.Errorf("%s: different seeds, same bytes", p)
		}
	}
}

// TestGitHubSinceSortDirection checks the list parameters an incremental
// importer relies on, on issues, pulls and both comment lists.
func TestGitHubSinceSortDirection(t *testing.T) {
	t.Parallel()
	f := startForge(t, fakeforge.Options{Scenario: tinyScenario(7)})
	sc := f.Scenario
	ctx := context.Background()
	c := ghClient(t, f.GitHub.APIURL, f.GitHub.Token)
	const n0 = 30 // first item updated at or after the cut
	cut := gh.Ptr(scenario.ItemUpdated(n0))
	all := gh.ListOptions{PerPage: 100}
	issueNumbers := func(opt *gh.IssueListByRepoOptions) []int {
		t.Helper()
		opt.State, opt.ListOptions = "all", all
		is, _, err := c.Issues.ListByRepo(ctx, "acme", "widgets", opt)
		if err != nil {
			t.Fatal(err)
		}
		var out []int
		for _, i := range is {
			out = append(out, i.GetNumber())
		}
		return out
	}
	items := sc.Items()
	tests := []struct {
		name        string
		opt         gh.IssueListByRepoOptions
		first, last int
		count       int
	}{
		{"default: created, newest first", gh.IssueListByRepoOptions{}, items, 1, items},
		{"sort=created direction=asc", gh.IssueListByRepoOptions{Sort: "created", Direction: "asc"}, 1, items, items},
		{"sort=updated direction=desc", gh.IssueListByRepoOptions{Sort: "updated", Direction: "desc"}, items, 1, items},
		{"since, oldest first", gh.IssueListByRepoOptions{Since: *cut, Direction: "asc"}, n0, items, items - n0 + 1},
		{"since, newest first", gh.IssueListByRepoOptions{Since: *cut, Sort: "updated"}, items, n0, items - n0 + 1},
		{"since after everything", gh.IssueListByRepoOptions{Since: scenario.ItemUpdated(items + 1)}, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run("issues "+tt.name, func(t *testing.T) {
			got := issueNumbers(&tt.opt)
			if len(got) != tt.count {
				t.Fatalf("%d issues, want %d", len(got), tt.count)
			}
			if tt.count > 0 && (got[0] != tt.first || got[len(got)-1] != tt.last) {
				t.Errorf("runs %d…%d, want %d…%d", got[0], got[len(got)-1], tt.first, tt.last)
			}
		})
	}

	t.Run("pulls direction", func(t *testing.T) {
		for _, tt := range []struct {
			direction   string
			first, last int
		}{{"", sc.Config().PullRequests, 1}, {"desc", sc.Config().PullRequests, 1}, {"asc", 1, sc.Config().PullRequests}} {
			prs, _, err := c.PullRequests.List(ctx, "acme", "widgets", &gh.PullRequestListOptions{State: "all", Sort: "created",
				Direction: tt.direction, ListOptions: all})
			if err != nil {
				t.Fatal(err)
			}
			if len(prs) != sc.Config().PullRequests || prs[0].GetNumber() != sc.PRNumber(tt.first) || prs[len(prs)-1].GetNumber() != sc.PRNumber(tt.last) {
				t.Errorf("direction %q: %d pulls from #%d", tt.direction, len(prs), prs[0].GetNumber())
			}
		}
	})

	commentCut := sc.Comment(10).Updated
	reviewCut := sc.ReviewComment(10).Created
	for _, tt := range []struct {
		name      string
		list      func(direction string, since *time.Time) ([]int64, error)
		total     int
		firstID   func(k int) int64
		sinceFrom int
		since     time.Time
	}{
		{"repo-wide issue comments", func(d string, s *time.Time) ([]int64, error) {
			cs, _, err := c.Issues.ListComments(ctx, "acme", "widgets", 0, &gh.IssueListCommentsOptions{Direction: gh.Ptr(d), Since: s, ListOptions: all})
			return commentIDs(cs), err
		}, sc.CommentCount(), func(k int) int64 { return sc.Comment(k).ID }, 10, commentCut},
		{"repo-wide review comments", func(d string, s *time.Time) ([]int64, error) {
			opt := &gh.PullRequestListCommentsOptions{Direction: d, ListOptions: all}
			if s != nil {
				opt.Since = *s
			}
			cs, _, err := c.PullRequests.ListComments(ctx, "acme", "widgets", 0, opt)
			var ids []int64
			for _, cm := range cs {
				ids = append(ids, cm.GetID())
			}
			return ids, err
		}, sc.ReviewCommentCount(), func(k int) int64 { return sc.ReviewComment(k).ID }, 10, reviewCut},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, dir := range []string{"asc", "desc"} {
				ids, err := tt.list(dir, nil)
				if err != nil {
					t.Fatal(err)
				}
				first, last := tt.firstID(1), tt.firstID(tt.total)
				if dir == "desc" {
					first, last = last, first
				}
				if len(ids) != tt.total || ids[0] != first || ids[len(ids)-1] != last {
					t.Errorf("direction %s: %d comments from %d", dir, len(ids), ids[0])
				}
			}
			ids, err := tt.list("asc", &tt.since)
			if err != nil {
				t.Fatal(err)
			}
			if len(ids) != tt.total-tt.sinceFrom+1 || ids[0] != tt.firstID(tt.sinceFrom) {
				t.Errorf("since: %d comments from %d, want %d from %d", len(ids), ids[0], tt.total-tt.sinceFrom+1, tt.firstID(tt.sinceFrom))
			}
		})
	}

	t.Run("per-issue comments since", func(t *testing.T) {
		issue := sc.IssueNumber(5)
		lo, hi := sc.ItemComments(issue)
		cs, _, err := c.Issues.ListComments(ctx, "acme", "widgets", issue, &gh.IssueListCommentsOptions{Since: gh.Ptr(sc.Comment(hi).Updated)})
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) != 1 || cs[0].GetID() != sc.Comment(hi).ID || hi < lo {
			t.Errorf("got %d comments", len(cs))
		}
	})

	t.Run("bad since", func(t *testing.T) {
		resp, body := rawGet(t, f.GitHub.URL+"/repos/acme/widgets/issues/comments?since=yesterday", f.GitHub.Token)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(body), "Validation Failed") {
			t.Errorf("got %d %s", resp.StatusCode, body)
		}
	})
}

func commentIDs(cs []*gh.IssueComment) []int64 {
	var out []int64
	for _, c := range cs {
		out = append(out, c.GetID())
	}
	return out
}

// TestGitHubGraphQL: the started forge serves GraphQL at APIURL+"/graphql"
// with the budget of Faults.GraphQLRateLimit, the Endpoint's stats count
// GraphQL requests and points apart from REST calls, and
// Options.GitHub.NoGraphQL turns GraphQL off.
func TestGitHubGraphQL(t *testing.T) {
	t.Parallel()
	f := startForge(t, fakeforge.Options{Scenario: tinyScenario(1), Sources: []string{scenario.GitHub},
		Faults: traffic.Faults{GraphQLRateLimit: 50}})
	hc := &http.Client{Transport: bearer{f.GitHub.Token}}
	var q struct {
		Node struct {
			PullRequest struct {
				Number  githubv4.Int
				Reviews struct{ TotalCount githubv4.Int } `graphql:"reviews(first: 100)"`
			} `graphql:"... on PullRequest"`
		} `graphql:"node(id: $id)"`
		RateLimit struct{ Cost, Remaining githubv4.Int }
	}
	pr, _, err := ghClient(t, f.GitHub.APIURL, f.GitHub.Token).PullRequests.Get(context.Background(), "acme", "widgets", f.Scenario.PRNumber(1))
	if err != nil {
		t.Fatal(err)
	}
	if err := githubv4.NewEnterpriseClient(f.GitHub.APIURL+"/graphql", hc).Query(context.Background(), &q,
		map[string]any{"id": githubv4.ID(pr.GetNodeID())}); err != nil {
		t.Fatal(err)
	}
	if int(q.Node.PullRequest.Number) != pr.GetNumber() || q.Node.PullRequest.Reviews.TotalCount != 2 || q.RateLimit.Cost != 1 || q.RateLimit.Remaining != 49 {
		t.Errorf("answer %+v", q)
	}
	if st := f.GitHub.Stats(); st.GraphQLRequests != 1 || st.GraphQLPoints != 1 || st.RESTRequests != 1 || st.APIRequests != 2 {
		t.Errorf("stats %+v", st)
	}

	old := startForge(t, fakeforge.Options{Scenario: tinyScenario(1), Sources: []string{scenario.GitHub},
		GitHub: github.Options{NoGraphQL: true}})
	err = githubv4.NewEnterpriseClient(old.GitHub.URL+"/api/graphql", &http.Client{Transport: bearer{old.GitHub.Token}}).Query(context.Background(), &q, map[string]any{"id": githubv4.ID("PR_1")})
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("NoGraphQL: %v", err)
	}
}

type bearer struct{ token string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}
