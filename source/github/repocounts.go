package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-import/ferry/source/internal/paging"
)

// ErrGraphQLUnavailable: the source has no GraphQL API to offer (an older
// GitHub Enterprise, a proxy that blocks it, a token it refuses there).
var ErrGraphQLUnavailable = errGraphQLUnavailable

// repoCountsQuery reads the totals GitHub keeps of a repository: 1 point
// (seven connections under one parent are seven requests, rounded to 0,
// at least 1), and the GraphQL budget of the credential.
const repoCountsQuery = `query($owner: String!, $name: String!) { rateLimit { limit } repository(owner: $owner, name: $name) { ` +
	`issues(first: 1) { totalCount } pullRequests(first: 1) { totalCount } labels(first: 1) { totalCount } ` +
	`milestones(first: 1) { totalCount } releases(first: 1) { totalCount } branchProtectionRules(first: 1) { totalCount } ` +
	`mentionableUsers(first: 1) { totalCount } } }`

// Averages the counts GitHub cannot give cheaply are estimated from, per
// issue or pull request (items) or per pull request: kubernetes/kubernetes-
// like (cmd/ferrybench's kubernetes profile, issue 13's ~1.5M comments on
// 125k items).
const (
	avgIssueCommentsPerItem   = 9.6
	avgReviewCommentsPerPR    = 3.75
	avgReviewsPerPR           = 3
	avgEventsPerItem          = 12
	shareReactedItems         = 0.1
	shareReactedComments      = 0.02
	avgReactionsPerReacted    = 2
	avgCollaboratorsPerMember = 0.01 // direct collaborators among the mentionable users
	avgUsersPerItem           = 0.1  // people met, when GraphQL cannot count the mentionable users
)

// RepoCountsResult is what RepoCounts found.
type RepoCountsResult struct {
	Counts Counts
	// Assumed names the counts estimated from averages, with how.
	Assumed []string
	// GraphQLPointsPerHour is the credential's GraphQL budget (0: GitHub
	// did not say).
	GraphQLPointsPerHour int
	// NoGraphQL: the source has no GraphQL API, so an import goes
	// through REST alone.
	NoGraphQL bool
}

// RepoCounts reads the counts of the repository fullName (owner/name)
// for an estimate of its import. With GraphQL, one query of 1 point (gql,
// a client of the credential's GraphQL budget, GraphQLBudget) gives
// issues, pull requests, labels, milestones, releases and protected
// branches (branch protection rules) as GitHub counts them, and users as
// its mentionable users; without it (an older GitHub Enterprise), REST
// lists read one item a page give them (listTotal), users estimated. Issue comments, review comments and issue events are
// counted the same way through REST (rest, the main budget: two calls
// each). What cannot be counted cheaply (reviews, reactions,
// collaborators, and a list longer than the source lets be paged
// through) is estimated from averages and listed in Assumed.
func RepoCounts(ctx context.Context, rest, gql *http.Client, apiBase, credential, fullName string) (RepoCountsResult, error) {
	if rest == nil || gql == nil {
		return RepoCountsResult{}, errors.New("github: no HTTP client")
	}
	if !validFullName(fullName) {
		return RepoCountsResult{}, fmt.Errorf("github: repository %q is not owner/name", fullName)
	}
	client, base, a, err := newClient(rest, apiBase, credential, nil)
	if err != nil {
		return RepoCountsResult{}, err
	}
	r := &run{client: client, base: base}
	repo := "repos/" + fullName + "/"
	var res RepoCountsResult
	c := &res.Counts
	est := func(avg float64, of int) int { return int(avg*float64(of) + 0.5) }
	// count reads one list's total into n, or, past what the source lets
	// be paged through, at least that much or the average.
	count := func(name, path string, q url.Values, n *int, avg float64, of int, per string) error {
		total, exact, err := listTotal(ctx, r, repo+path, q)
		if err != nil {
			return fmt.Errorf("github: count %s of %s: %w", name, fullName, err)
		}
		*n = total
		switch {
		case exact:
		case avg == 0:
			res.Assumed = append(res.Assumed, fmt.Sprintf("%s: at least %d, as far as the source lets the list be paged through", name, total))
		default:
			*n = max(total, est(avg, of))
			res.Assumed = append(res.Assumed, fmt.Sprintf("%s: more than the %d the source lets be paged through; estimated at %.4g %s",
				name, total, avg, per))
		}
		return nil
	}
	gc, err := graphQLCounts(ctx, gql, base, a, fullName)
	switch {
	case errors.Is(err, errGraphQLUnavailable):
		res.NoGraphQL = true
		var items int
		for _, l := range []struct {
			name, path string
			q          url.Values
			n          *int
		}{
			{"issues_and_pull_requests", "issues", url.Values{"state": {"all"}}, &items},
			{"pull_requests", "pulls", url.Values{"state": {"all"}}, &c.PullRequests},
			{"labels", "labels", nil, &c.Labels},
			{"milestones", "milestones", url.Values{"state": {"all"}}, &c.Milestones},
			{"releases", "releases", nil, &c.Releases},
			{"protected_branches", "branches", url.Values{"protected": {"true"}}, &c.ProtectedBranches},
		} {
			// These lists are short but for issues and pull requests, whose
			// totals past the paging limit are at least what was reached.
			if err := count(l.name, l.path, l.q, l.n, 0, 0, ""); err != nil {
				return RepoCountsResult{}, err
			}
		}
		c.Issues = max(items-c.PullRequests, 0)
		// No REST list counts the people an import meets.
		c.Users = est(avgUsersPerItem, c.Issues+c.PullRequests)
		res.Assumed = append(res.Assumed, fmt.Sprintf("users: %.4g per issue or pull request (GraphQL is not available to count the mentionable users)",
			avgUsersPerItem))
	case err != nil:
		return RepoCountsResult{}, err
	default:
		*c, res.GraphQLPointsPerHour = gc.counts, gc.pointsPerHour
		res.Assumed = append(res.Assumed, "users: the repository's mentionable users (people who took part or have access)",
			"protected_branches: the repository's branch protection rules")
	}
	items := c.Issues + c.PullRequests
	if err := count("issue_comments", "issues/comments", nil, &c.IssueComments, avgIssueCommentsPerItem, items, "per issue or pull request"); err != nil {
		return RepoCountsResult{}, err
	}
	if err := count("review_comments", "pulls/comments", nil, &c.ReviewComments, avgReviewCommentsPerPR, c.PullRequests, "per pull request"); err != nil {
		return RepoCountsResult{}, err
	}
	if err := count("issue_events", "issues/events", nil, &c.Events, avgEventsPerItem, items, "per issue or pull request"); err != nil {
		return RepoCountsResult{}, err
	}
	c.Reviews = est(avgReviewsPerPR, c.PullRequests)
	c.ReactedItems = est(shareReactedItems, items)
	c.ReactedComments = est(shareReactedComments, c.IssueComments+c.ReviewComments)
	c.Reactions = est(avgReactionsPerReacted, c.ReactedItems+c.ReactedComments)
	c.Collaborators = est(avgCollaboratorsPerMember, c.Users)
	res.Assumed = append(res.Assumed,
		fmt.Sprintf("reviews: %d per pull request", avgReviewsPerPR),
		fmt.Sprintf("reacted_items: %.4g%% of issues and pull requests", 100*shareReactedItems),
		fmt.Sprintf("reacted_comments: %.4g%% of comments", 100*shareReactedComments),
		fmt.Sprintf("reactions: %d per reacted item or comment", avgReactionsPerReacted),
		fmt.Sprintf("collaborators: %.4g%% of the users", 100*avgCollaboratorsPerMember))
	return res, nil
}

// gqlCounts is what the GraphQL count query gives.
type gqlCounts struct {
	counts        Counts
	pointsPerHour int
}

// graphQLCounts runs the count query (1 point); errGraphQLUnavailable
// when the source has no GraphQL to offer.
func graphQLCounts(ctx context.Context, hc *http.Client, base *url.URL, a *auth, fullName string) (gqlCounts, error) {
	gql := &gqlClient{hc: a.client(hc), url: graphqlURL(base), token: a.token}
	owner, name, _ := strings.Cut(fullName, "/")
	type total struct {
		TotalCount int `json:"totalCount"`
	}
	var data struct {
		RateLimit *struct {
			Limit int `json:"limit"`
		} `json:"rateLimit"`
		Repository *struct {
			Issues                total `json:"issues"`
			PullRequests          total `json:"pullRequests"`
			Labels                total `json:"labels"`
			Milestones            total `json:"milestones"`
			Releases              total `json:"releases"`
			BranchProtectionRules total `json:"branchProtectionRules"`
			MentionableUsers      total `json:"mentionableUsers"`
		} `json:"repository"`
	}
	errs, err := gql.query(ctx, repoCountsQuery, map[string]any{"owner": owner, "name": name}, &data)
	if err != nil {
		return gqlCounts{}, fmt.Errorf("github: counts of %s: %w", fullName, err)
	}
	if data.Repository == nil {
		if len(errs) == 0 {
			return gqlCounts{}, fmt.Errorf("github: counts of %s: no repository in the answer", fullName)
		}
		return gqlCounts{}, fmt.Errorf("github: counts of %s: %w", fullName, errs)
	}
	rp := data.Repository
	out := gqlCounts{counts: Counts{Issues: rp.Issues.TotalCount, PullRequests: rp.PullRequests.TotalCount, Labels: rp.Labels.TotalCount,
		Milestones: rp.Milestones.TotalCount, Releases: rp.Releases.TotalCount, ProtectedBranches: rp.BranchProtectionRules.TotalCount,
		Users: rp.MentionableUsers.TotalCount}}
	if data.RateLimit != nil {
		out.pointsPerHour = data.RateLimit.Limit
	}
	return out, nil
}

// listTotal counts a repository list with one item a page: its last
// page's number (rel="last") is the total. Past what the source lets be
// paged through, rel="last" names the deepest page one may read instead,
// so the page after it tells: empty for a complete list, GitHub's 422 for
// a longer one (exact false; total is then what can be reached).
func listTotal(ctx context.Context, r *run, path string, q url.Values) (total int, exact bool, err error) {
	if q == nil {
		q = url.Values{}
	}
	q.Set("per_page", "1")
	items, link, err := getRaw[json.RawMessage](ctx, r, path+"?"+q.Encode())
	if capped(err) {
		return 0, false, nil
	} else if err != nil {
		return 0, false, err
	}
	last := paging.LinkRel(link, "last")
	if last == "" {
		return len(items), true, nil
	}
	n, err := strconv.Atoi(queryOf(last, "page"))
	if err != nil || n < 1 {
		return 0, false, fmt.Errorf("last page %q is not a page number", last)
	}
	q.Set("page", strconv.Itoa(n+1))
	past, _, err := getRaw[json.RawMessage](ctx, r, path+"?"+q.Encode())
	if capped(err) {
		return n, false, nil
	} else if err != nil {
		return 0, false, err
	}
	return n + len(past), true, nil
}

// EstimateOptionsFor is how an import with these source options (the
// import's Options JSON) runs, for EstimateImport: its page size and
// optional stages, the API's source check counted, GraphQL used, calls
// of 50 ms, four in flight (the budgets are the caller's to set).
func EstimateOptionsFor(options json.RawMessage) (EstimateOptions, error) {
	o, err := parseOptions(options)
	if err != nil {
		return EstimateOptions{}, err
	}
	return EstimateOptions{PerPage: o.PaginationLimit, GraphQL: true, SourceCheck: true,
		CollaboratorsImport: o.CollaboratorsImport, SingleEndpointNotesImport: o.SingleEndpointNotesImport,
		Latency: 50 * time.Millisecond, Concurrency: 4}, nil
}
