package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/source/github"
)

// kubernetes is a kubernetes/kubernetes-like repository. Issue 13 gives
// ~45k issues, ~80k pull requests and ~1.5M comments; the rest are
// assumptions, stated here:
//   - comments: 1.2M conversation comments, 300k review comments;
//   - reviews: 3 per pull request (240k);
//   - reactions: 1 item in 10 carries reactions (12.5k items) and 1
//     comment in 50 (30k comments), 2 reactions each (85k);
//   - issue events: 12 per item (1.5M);
//   - users: 40k distinct people whose profile is read;
//   - labels 250, milestones 60, releases 800, protected branches 40,
//     collaborators 300, LFS objects none.
var kubernetes = github.Counts{
	Issues: 45000, PullRequests: 80000, IssueComments: 1200000, ReviewComments: 300000,
	Reviews: 240000, ReactedItems: 12500, ReactedComments: 30000, Reactions: 85000,
	Events: 1500000, Users: 40000, Labels: 250, Milestones: 60, Releases: 800,
	ProtectedBranches: 40, Collaborators: 300,
}

// profile is a named -project: kubernetes, or a scenario preset (seed
// 1) as fakeforge serves it, to set beside a measured run.
func profile(name string) (github.Counts, error) {
	if name == "kubernetes" {
		return kubernetes, nil
	}
	c, err := scenario.Preset(name, 1)
	if err != nil {
		return github.Counts{}, err
	}
	sc, err := scenario.New(c)
	if err != nil {
		return github.Counts{}, err
	}
	m, err := sc.SourceCounts(scenario.GitHub)
	if err != nil {
		return github.Counts{}, err
	}
	return github.ParseCounts(m)
}

// parseProject reads -project: a profile name (profile), or name=count pairs
// (github.CountNames; "comments" stands for conversation comments when
// neither issue_comments nor review_comments is given), optionally after
// a profile ("kubernetes,users=20000").
func parseProject(s string) (github.Counts, error) {
	var base github.Counts
	m := map[string]int{}
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		name, v, ok := strings.Cut(part, "=")
		if !ok {
			p, err := profile(part)
			if i != 0 || err != nil {
				return github.Counts{}, fmt.Errorf("-project: %q is neither name=count nor a profile (kubernetes, small, medium, large) first", part)
			}
			base = p
			continue
		}
		n, err := strconv.Atoi(strings.ReplaceAll(v, "_", ""))
		if err != nil {
			return github.Counts{}, fmt.Errorf("-project: %s: %w", name, err)
		}
		m[name] = n
	}
	if n, ok := m["comments"]; ok {
		delete(m, "comments")
		_, ic := m["issue_comments"]
		_, rc := m["review_comments"]
		if !ic && !rc {
			m["issue_comments"] = n
			m["review_comments"] = 0
		}
	}
	c, err := github.ParseCounts(m)
	if err != nil {
		return github.Counts{}, fmt.Errorf("-project: %w", err)
	}
	bm, cm := base.Map(), c.Map()
	for k := range m {
		bm[k] = cm[k]
	}
	return github.ParseCounts(bm)
}

// credentials are the budgets -project projects for.
var credentials = []struct {
	name          string
	rest, graphql int
}{
	{"user", github.UserRESTPerHour, github.UserGraphQLPerHour},
	{"app", github.AppGHECRESTPerHour, github.AppGHECGraphQLPerHour},
}

// project prints the projection of an import of c for one account and
// for a GitHub App installation on GitHub Enterprise Cloud, through
// GraphQL and through REST alone: no import runs.
func project(out io.Writer, c github.Counts, cfg config) {
	m := c.Map()
	for _, name := range github.CountNames() {
		fmt.Fprintf(out, "count_%s %d\n", name, m[name])
	}
	for _, path := range []struct {
		name    string
		graphql bool
	}{{"graphql", true}, {"rest", false}} {
		for _, cr := range credentials {
			e := github.EstimateImport(c, github.EstimateOptions{PerPage: pageSize(scenario.GitHub), PaginationCap: cfg.githubMaxPage,
				GraphQL: path.graphql, SourceCheck: true, RESTPerHour: cr.rest, GraphQLPointsPerHour: cr.graphql,
				Latency: cfg.faults.Latency, Concurrency: cfg.workers})
			p := path.name + "_" + cr.name + "_"
			fmt.Fprintf(out, "%srest_calls %d\n", p, e.RESTCalls)
			fmt.Fprintf(out, "%sgraphql_requests %d\n", p, e.GraphQLRequests)
			fmt.Fprintf(out, "%sgraphql_points %d\n", p, e.GraphQLPoints)
			fmt.Fprintf(out, "%shours %.3f\n", p, e.Hours)
			fmt.Fprintf(out, "%sbinding %s\n", p, e.Binding)
		}
	}
}

// predict is the call model's figures for an import of the scenario as
// ferrybench runs it (import mode: the API's source check, pages of
// pageSize, no collaborators).
func predict(sc *scenario.Scenario, cfg config) (github.Estimate, error) {
	m, err := sc.SourceCounts(scenario.GitHub)
	if err != nil {
		return github.Estimate{}, err
	}
	c, err := github.ParseCounts(m)
	if err != nil {
		return github.Estimate{}, err
	}
	return github.EstimateImport(c, github.EstimateOptions{PerPage: pageSize(scenario.GitHub), PaginationCap: cfg.githubMaxPage,
		GraphQL: !cfg.githubNoGraphQL, SourceCheck: true, Latency: cfg.faults.Latency, Concurrency: cfg.workers}), nil
}

// defaultLatency is what -project assumes without -latency: a round trip
// to api.github.com from nearby.
const defaultLatency = 50 * time.Millisecond
