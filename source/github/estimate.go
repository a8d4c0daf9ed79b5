package github

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// The call model of an import: how many REST calls, GraphQL requests and
// GraphQL points importing a repository of given counts takes, and how
// long that is at given budgets. It is written against the importer's own
// constants and queries (DefaultPerPage, gqlMaxNodes, the nodes(ids:)
// queries of graphql_batch.go priced by their connections, timeline.go's
// queries past the cap, the relation
// names and stages of Source.Stages, cap.go's ways past the pagination
// cap), so a change to what the importer asks moves the model;
// cmd/ferrybench's TestCallModel holds it to within 2% of fakeforge's
// counts (small and medium, both paths, with and without a cap).
//
// What it assumes: counts spread evenly (per-item lists from averages; a
// nested list longer than one GraphQL page sends every item of its kind
// through REST), updates in creation order past the cap, item numbers
// shared evenly by issues and pull requests, and time as the slowest of
// the REST budget, the GraphQL budget (a budget's worth an hour once past
// the first) and the latency (calls × round trip / calls in flight).

// Budgets GitHub documents (checked 2026-12):
//
//   - REST: 5,000 requests an hour for a person's token; 15,000 for a
//     GitHub App installation owned by a GitHub Enterprise Cloud
//     organization (5,000–12,500 elsewhere, by repositories and users).
//     https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api
//   - GraphQL: 5,000 points an hour for a user; 10,000 for a GitHub App
//     installation on a GitHub Enterprise Cloud organization or
//     enterprise (5,000–12,500 elsewhere).
//     https://docs.github.com/en/graphql/overview/rate-limits-and-query-limits-for-the-graphql-api
//   - A query's cost: the requests its connections need (a connection
//     under P parents is P requests), divided by 100, rounded, at least 1.
//     Same page.
const (
	UserRESTPerHour       = 5000
	UserGraphQLPerHour    = 5000
	AppGHECRESTPerHour    = 15000
	AppGHECGraphQLPerHour = 10000
)

// Counts are what a repository holds, as far as the calls depend on it.
// Reactions are counted with the subjects that carry any (GitHub's lists
// carry reactions.total_count, so only those cost calls).
type Counts struct {
	Issues            int `json:"issues"` // without pull requests
	PullRequests      int `json:"pull_requests"`
	IssueComments     int `json:"issue_comments"`
	ReviewComments    int `json:"review_comments"`
	Reviews           int `json:"reviews"`
	Reactions         int `json:"reactions"`        // on items and comments
	ReactedItems      int `json:"reacted_items"`    // issues and pull requests with reactions
	ReactedComments   int `json:"reacted_comments"` // comments with reactions
	Events            int `json:"issue_events"`
	Users             int `json:"users"` // distinct people whose profile is read
	Releases          int `json:"releases"`
	Labels            int `json:"labels"`
	Milestones        int `json:"milestones"`
	ProtectedBranches int `json:"protected_branches"`
	Collaborators     int `json:"collaborators"`
	LFSObjects        int `json:"lfs_objects"` // LFS batch API at the clone URL: no API calls
}

// countFields maps the names Counts take in a map (ParseCounts, the
// scenario's SourceCounts, the dry-run answer) to their fields.
func (c *Counts) fields() map[string]*int {
	return map[string]*int{
		"issues": &c.Issues, "pull_requests": &c.PullRequests, "issue_comments": &c.IssueComments,
		"review_comments": &c.ReviewComments, "reviews": &c.Reviews, "reactions": &c.Reactions,
		"reacted_items": &c.ReactedItems, "reacted_comments": &c.ReactedComments, "issue_events": &c.Events,
		"users": &c.Users, "releases": &c.Releases, "labels": &c.Labels, "milestones": &c.Milestones,
		"protected_branches": &c.ProtectedBranches, "collaborators": &c.Collaborators, "lfs_objects": &c.LFSObjects,
	}
}

// CountNames are the names ParseCounts knows, sorted.
func CountNames() []string {
	var c Counts
	return slices.Sorted(maps.Keys(c.fields()))
}

// ParseCounts reads counts by name; an unknown name or a negative count
// is an error.
func ParseCounts(m map[string]int) (Counts, error) {
	var c Counts
	f := c.fields()
	for k, v := range m {
		p, ok := f[k]
		if !ok {
			return Counts{}, fmt.Errorf("unknown count %q (want one of %s)", k, strings.Join(CountNames(), ", "))
		}
		if v < 0 {
			return Counts{}, fmt.Errorf("count %s is negative (%d)", k, v)
		}
		*p = v
	}
	return c, nil
}

// Map is the counts by name.
func (c Counts) Map() map[string]int {
	out := map[string]int{}
	for k, p := range c.fields() {
		out[k] = *p
	}
	return out
}

// EstimateOptions are how the import runs.
type EstimateOptions struct {
	// PerPage is pagination_limit (0: DefaultPerPage).
	PerPage int
	// PaginationCap is the deepest page GitHub serves of a repo-wide
	// list (0: none); past it the importer goes on as cap.go says.
	PaginationCap int
	// GraphQL says the source serves GitHub's GraphQL API; without it the
	// importer still tries it once per relation that would use it (a REST
	// call answered 404) and reads per item through REST.
	GraphQL bool
	// SourceCheck counts the API's check of the repository before the
	// import is created (POST /import/github): one GET.
	SourceCheck bool
	// CollaboratorsImport and SingleEndpointNotesImport are the import's
	// options of the same names.
	CollaboratorsImport       bool
	SingleEndpointNotesImport bool
	// RESTPerHour and GraphQLPointsPerHour are the credential's budgets
	// (0: a person's, UserRESTPerHour and UserGraphQLPerHour).
	RESTPerHour          int
	GraphQLPointsPerHour int
	// Latency is one call's round trip, and Concurrency how many calls are
	// in flight at once (0: 1); they bound the time when no budget does.
	Latency     time.Duration
	Concurrency int
}

// Estimate is what an import costs.
type Estimate struct {
	RESTCalls       int `json:"rest_calls"`
	GraphQLRequests int `json:"graphql_requests"`
	GraphQLPoints   int `json:"graphql_points"`
	// Calls are the REST calls and GraphQL requests by relation
	// ("reviews", "reviews_graphql", …).
	Calls map[string]int `json:"calls"`
	// Hours is the wall time: the slowest of the REST budget, the GraphQL
	// budget and the latency (the two APIs run in parallel, each under its
	// own governor); Binding names which ("rest", "graphql", "latency").
	Hours        float64 `json:"hours"`
	RESTHours    float64 `json:"rest_hours"`
	GraphQLHours float64 `json:"graphql_hours"`
	LatencyHours float64 `json:"latency_hours"`
	Binding      string  `json:"binding"`
}

// pagesOf is how many calls a list of n takes at per: an empty list still
// costs one.
func pagesOf(n, per int) int { return max(1, (n+per-1)/per) }

// perItemPages is how many calls each of subjects items' own list takes
// when total objects are spread evenly over them.
func perItemPages(subjects, total, per int) int {
	if subjects == 0 {
		return 0
	}
	return subjects * pagesOf((total+subjects-1)/subjects, per)
}

// gqlConnections is how many connections a batch query asks under each
// node: each costs one request per node (GitHub's rule). The batch
// queries nest none deeper.
func gqlConnections(query string) int { return strings.Count(query, "(first: ") }

// gqlCost is GitHub's price of a batch query of n nodes.
func gqlCost(query string, n int) int {
	return max(1, int(math.Round(float64(n*gqlConnections(query))/100)))
}

// batches adds the GraphQL queries of a batched relation over n items to
// e: pages of gqlMaxNodes, as paging.NewItems hands them to EachBatch.
func (e *Estimate) batches(name, query string, n int) {
	full, rest := n/gqlMaxNodes, n%gqlMaxNodes
	e.Calls[name+"_graphql"] += full + min(rest, 1)
	e.GraphQLRequests += full + min(rest, 1)
	e.GraphQLPoints += full * gqlCost(query, gqlMaxNodes)
	if rest > 0 {
		e.GraphQLPoints += gqlCost(query, rest)
	}
}

func (e *Estimate) rest(name string, n int) {
	if n > 0 {
		e.Calls[name] += n
		e.RESTCalls += n
	}
}

// EstimateImport is the call model of an import of a repository holding c.
func EstimateImport(c Counts, o EstimateOptions) Estimate {
	per := o.PerPage
	if per <= 0 || per > DefaultPerPage {
		per = DefaultPerPage
	}
	e := Estimate{Calls: map[string]int{}}
	items := c.Issues + c.PullRequests
	list := func(n int) int { return pagesOf(n, per) }
	if o.SourceCheck {
		e.rest("source_check", 1)
	}
	// repository: GET /repos/:owner/:name (relations address it by the
	// full name the API passes, so no lookup per job).
	e.rest(relRepository, 1)
	// base_data
	e.rest(relLabels, list(c.Labels))
	e.rest(relMilestones, list(c.Milestones))
	e.rest(relReleases, list(c.Releases))
	e.rest(relProtectedBranches, list(c.ProtectedBranches)+c.ProtectedBranches)
	if o.CollaboratorsImport {
		e.rest(relCollaborators, list(c.Collaborators))
	}
	// pull_requests, issues_and_notes: repo-wide lists, issues carrying
	// the pull requests too.
	e.rest(relPullRequests, o.pullsCalls(c.PullRequests, items, per))
	e.rest(relIssues, o.windowedCalls(items, per))
	if o.SingleEndpointNotesImport {
		e.rest(relItemComments, perItemPages(min(items, c.IssueComments), c.IssueComments, per))
		e.rest(relItemReviewComments, perItemPages(c.PullRequests, c.ReviewComments, per))
	} else {
		e.rest(relIssueComments, o.windowedCalls(c.IssueComments, per))
		e.rest(relReviewComments, o.windowedCalls(c.ReviewComments, per))
	}
	// details: reviews, reactions and events side by side.
	subjects := c.ReactedItems + c.ReactedComments
	perReviews := perItemPages(c.PullRequests, c.Reviews, per)
	perReactions := perItemPages(subjects, c.Reactions, per)
	probed := false
	if o.GraphQL {
		// A nested list longer than one query's page goes through REST:
		// with counts spread evenly, all or none do.
		if c.PullRequests > 0 && c.Reviews <= c.PullRequests*gqlMaxNodes {
			e.batches(relPullRequestDetails, reviewsQuery, c.PullRequests)
		} else {
			e.rest(relPullRequestDetails, perReviews)
		}
		if subjects > 0 && c.Reactions <= subjects*gqlMaxNodes {
			e.batches(relReactions, reactionsQuery, subjects)
		} else {
			e.rest(relReactions, perReactions)
		}
	} else {
		// Each relation of the stage that has items asks GraphQL once (at
		// the same time), learns it is not there, and reads through REST.
		for _, r := range []struct {
			name       string
			items, per int
		}{{relPullRequestDetails, c.PullRequests, perReviews}, {relReactions, subjects, perReactions}} {
			if r.items > 0 {
				e.rest(r.name+"_graphql_probe", 1)
				probed = true
			}
			e.rest(r.name, r.per)
		}
	}
	evList, unreached := o.eventsCalls(c.Events, items, per)
	e.rest(relIssueEvents, evList)
	if unreached > 0 {
		// Past the cap, the unreached items' own events: with GraphQL a
		// timeline query per gqlMaxNodes items (one connection each), and
		// through REST when an item's events overflow one page (with
		// counts spread evenly, all or none do).
		perItem := perItemPages(unreached, c.Events*unreached/max(1, items), per)
		if o.GraphQL {
			e.timelines(unreached)
			if (c.Events+items-1)/max(1, items) > gqlMaxNodes {
				e.rest(relIssueEvents, perItem)
			}
		} else {
			e.rest(relIssueEvents, perItem)
		}
	}
	// users: the profiles of everyone seen.
	switch {
	case c.Users == 0:
	case o.GraphQL:
		e.batches(relUsers, usersQuery, c.Users)
	default:
		if !probed {
			e.rest(relUsers+"_graphql_probe", 1)
		}
		e.rest(relUsers, c.Users)
	}
	e.hours(o)
	return e
}

// windowedCalls is a list that takes since (issues, issue_comments,
// review_comments): numbered pages up to the cap, the refused page, then
// since-stepping, each window giving again the item the last one ended
// with (updates in creation order assumed).
func (o EstimateOptions) windowedCalls(n, per int) int {
	p := pagesOf(n, per)
	if o.PaginationCap <= 0 || p <= o.PaginationCap {
		return p
	}
	rest := n - o.PaginationCap*per
	return o.PaginationCap + 1 + pagesOf(rest, max(1, per-1))
}

// pullsCalls is the pulls list: past the cap from the newest end down to
// the last read — until a page shows one read already, so one page more
// when the rest ends on a page's edge — and, should that list be capped
// too, one GET per number between the two ends (issue numbers among them
// answer 404; numbers spread evenly over the items).
func (o EstimateOptions) pullsCalls(prs, items, per int) int {
	p := pagesOf(prs, per)
	if o.PaginationCap <= 0 || p <= o.PaginationCap {
		return p
	}
	read := o.PaginationCap * per
	rest := prs - read
	if desc := rest/per + 1; desc <= o.PaginationCap {
		return o.PaginationCap + 1 + desc
	}
	gap := rest - read // pull requests neither end reached
	numbers := int(math.Ceil(float64(gap+1)*float64(items)/float64(prs))) - 1
	return o.PaginationCap + 1 + o.PaginationCap + 1 + numbers
}

// eventsCalls is the repo-wide events list (newest first): its calls, and
// past the cap how many items created before the oldest event reached
// read their own events (cap.go's numbers below the mark).
func (o EstimateOptions) eventsCalls(events, items, per int) (calls, unreached int) {
	p := pagesOf(events, per)
	if o.PaginationCap <= 0 || p <= o.PaginationCap || events == 0 {
		return p, 0
	}
	// The items whose events the list did not reach, and the item of the
	// oldest event reached (its older events may be unreached).
	unreached = int(math.Ceil(float64(items)*float64(events-o.PaginationCap*per)/float64(events))) + 1
	return o.PaginationCap + 1, unreached
}

// timelines adds the timeline queries of n items past the cap
// (timeline.go): pages of gqlWorkers queries of gqlMaxNodes items, one
// connection an item, so a query costs one point.
func (e *Estimate) timelines(n int) {
	q := (n + gqlMaxNodes - 1) / gqlMaxNodes
	e.Calls[relIssueEvents+"_graphql"] += q
	e.GraphQLRequests += q
	e.GraphQLPoints += q // round(≤ 100 connections / 100), at least 1
}

// hours fills in the time: each API spends a budget's worth an hour past
// its first hour; below one budget the latency decides.
func (e *Estimate) hours(o EstimateOptions) {
	rb, gb := o.RESTPerHour, o.GraphQLPointsPerHour
	if rb <= 0 {
		rb = UserRESTPerHour
	}
	if gb <= 0 {
		gb = UserGraphQLPerHour
	}
	budget := func(n, b int) float64 {
		if n <= b {
			return 0
		}
		return float64(n) / float64(b)
	}
	e.RESTHours = budget(e.RESTCalls, rb)
	e.GraphQLHours = budget(e.GraphQLPoints, gb)
	e.LatencyHours = float64(e.RESTCalls+e.GraphQLRequests) * o.Latency.Hours() / float64(max(1, o.Concurrency))
	e.Hours, e.Binding = e.LatencyHours, "latency"
	if e.RESTHours > e.Hours {
		e.Hours, e.Binding = e.RESTHours, "rest"
	}
	if e.GraphQLHours > e.Hours {
		e.Hours, e.Binding = e.GraphQLHours, "graphql"
	}
}
