package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
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
)

// RepoCountsResult is what RepoCounts found.
type RepoCountsResult struct {
	Counts Counts
	// Assumed names the counts estimated from averages, with how.
	Assumed []string
	// GraphQLPointsPerHour is the credential's GraphQL budget (0: GitHub
	// did not say).
	GraphQLPointsPerHour int
}

// RepoCounts reads the counts of the repository fullName (owner/name)
// for an estimate of its import, with one GraphQL query of 1 point:
// issues, pull requests, labels, milestones, releases and protected
// branches (branch protection rules) as GitHub counts them; users as its
// mentionable users; the rest (comments, reviews, reactions, events,
// collaborators) estimated from averages and listed in Assumed. hc is
// a client of the credential's GraphQL budget (GraphQLBudget). A source
// without GraphQL is
// ErrGraphQLUnavailable.
func RepoCounts(ctx context.Context, hc *http.Client, apiBase, credential, fullName string) (RepoCountsResult, error) {
	if hc == nil {
		return RepoCountsResult{}, errors.New("github: no HTTP client")
	}
	if !validFullName(fullName) {
		return RepoCountsResult{}, fmt.Errorf("github: repository %q is not owner/name", fullName)
	}
	base, err := paging.BaseURL(apiBase, "github: API base")
	if err != nil {
		return RepoCountsResult{}, err
	}
	a, err := newAuth(hc, base.String(), credential, nil)
	if err != nil {
		return RepoCountsResult{}, err
	}
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
		return RepoCountsResult{}, fmt.Errorf("github: counts of %s: %w", fullName, err)
	}
	if data.Repository == nil {
		if len(errs) == 0 {
			return RepoCountsResult{}, fmt.Errorf("github: counts of %s: no repository in the answer", fullName)
		}
		return RepoCountsResult{}, fmt.Errorf("github: counts of %s: %w", fullName, errs)
	}
	r := data.Repository
	c := Counts{Issues: r.Issues.TotalCount, PullRequests: r.PullRequests.TotalCount, Labels: r.Labels.TotalCount,
		Milestones: r.Milestones.TotalCount, Releases: r.Releases.TotalCount, ProtectedBranches: r.BranchProtectionRules.TotalCount,
		Users: r.MentionableUsers.TotalCount}
	items := c.Issues + c.PullRequests
	est := func(avg float64, of int) int { return int(avg*float64(of) + 0.5) }
	c.IssueComments = est(avgIssueCommentsPerItem, items)
	c.ReviewComments = est(avgReviewCommentsPerPR, c.PullRequests)
	c.Reviews = est(avgReviewsPerPR, c.PullRequests)
	c.Events = est(avgEventsPerItem, items)
	c.ReactedItems = est(shareReactedItems, items)
	c.ReactedComments = est(shareReactedComments, c.IssueComments+c.ReviewComments)
	c.Reactions = est(avgReactionsPerReacted, c.ReactedItems+c.ReactedComments)
	c.Collaborators = est(avgCollaboratorsPerMember, c.Users)
	res := RepoCountsResult{Counts: c, Assumed: []string{
		fmt.Sprintf("issue_comments: %.4g per issue or pull request", avgIssueCommentsPerItem),
		fmt.Sprintf("review_comments: %.4g per pull request", avgReviewCommentsPerPR),
		fmt.Sprintf("reviews: %d per pull request", avgReviewsPerPR),
		fmt.Sprintf("issue_events: %d per issue or pull request", avgEventsPerItem),
		fmt.Sprintf("reacted_items: %.4g%% of issues and pull requests", 100*shareReactedItems),
		fmt.Sprintf("reacted_comments: %.4g%% of comments", 100*shareReactedComments),
		fmt.Sprintf("reactions: %d per reacted item or comment", avgReactionsPerReacted),
		"users: the repository's mentionable users (people who took part or have access)",
		fmt.Sprintf("collaborators: %.4g%% of the mentionable users", 100*avgCollaboratorsPerMember),
		"protected_branches: the repository's branch protection rules",
	}}
	if data.RateLimit != nil {
		res.GraphQLPointsPerHour = data.RateLimit.Limit
	}
	return res, nil
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
