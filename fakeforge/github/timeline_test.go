package github

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/ferry-import/ferry/fakeforge/traffic"
)

// TestTimelineItems: an item's timelineItems are its REST events, each
// with REST's node_id as its id, filtered by itemTypes; issue(number:)
// refuses a pull request's number (NOT_FOUND) and issueOrPullRequest
// takes either; a query of 100 items' timelines costs one point.
func TestTimelineItems(t *testing.T) {
	g := startGQL(t, traffic.Faults{}, Options{})
	ctx := context.Background()
	rest := g.rest(t)
	pr := g.sc.PRNumber(1)
	issue := 1
	if g.sc.Item(issue).IsPR {
		issue = 2
	}
	type node struct {
		Typename string `json:"__typename"`
		ID       string `json:"id"`
	}
	type item struct {
		Typename      string `json:"__typename"`
		TimelineItems struct {
			TotalCount int    `json:"totalCount"`
			Nodes      []node `json:"nodes"`
		} `json:"timelineItems"`
	}
	frag := `timelineItems(first: 100, itemTypes: %s) { totalCount nodes { __typename ... on LabeledEvent { id } ` +
		`... on AssignedEvent { id } ... on RenamedTitleEvent { id } ... on ReferencedEvent { id } ... on MilestonedEvent { id } ` +
		`... on UnlabeledEvent { id } ... on ClosedEvent { id } } }`
	q := fmt.Sprintf(`{ repository(owner: "acme", name: "widgets") { a: issue(number: %d) { __typename %s } `+
		`b: issueOrPullRequest(number: %d) { __typename ... on PullRequest { %s } } c: issue(number: %d) { __typename } } }`,
		issue, fmt.Sprintf(frag, "[LABELED_EVENT ASSIGNED_EVENT RENAMED_TITLE_EVENT REFERENCED_EVENT MILESTONED_EVENT UNLABELED_EVENT CLOSED_EVENT]"),
		pr, fmt.Sprintf(frag, "[MERGED_EVENT]"), pr)
	a := g.post(t, "/graphql", "bearer "+gqlToken, q, nil)
	var data struct {
		Repository struct {
			A, B, C *item
		} `json:"repository"`
	}
	if err := json.Unmarshal(a.Data, &data); err != nil {
		t.Fatal(err)
	}
	if len(a.Errors) != 1 || a.Errors[0].Type != "NOT_FOUND" || data.Repository.C != nil {
		t.Errorf("issue(number: %d) of a pull request: %+v, %+v", pr, data.Repository.C, a.Errors)
	}
	es, _, err := rest.Issues.ListIssueEvents(ctx, Owner, Repo, issue, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := data.Repository.A
	if got == nil || got.TimelineItems.TotalCount != len(es) || len(got.TimelineItems.Nodes) != len(es) {
		t.Fatalf("issue %d: %+v, REST has %d events", issue, got, len(es))
	}
	// REST's node_id, which go-github's IssueEvent leaves out.
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/repos/%s/%s/issues/%d/events", g.url, Owner, Repo, issue), nil)
	req.Header.Set("Authorization", "token "+gqlToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw []struct {
		NodeID string `json:"node_id"`
		Event  string `json:"event"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	for i, n := range got.TimelineItems.Nodes {
		if n.ID != raw[i].NodeID || !strings.HasSuffix(n.Typename, "Event") {
			t.Errorf("event %d: %s %s, REST %s %s", i, n.Typename, n.ID, raw[i].Event, raw[i].NodeID)
		}
	}
	if b := data.Repository.B; b == nil || b.Typename != "PullRequest" {
		t.Errorf("issueOrPullRequest(number: %d) = %+v", pr, b)
	}
	// 100 items' timelines: 100 connections, one point.
	var sb strings.Builder
	sb.WriteString(`{ rateLimit { cost } repository(owner: "acme", name: "widgets") {`)
	for n := 1; n <= 100; n++ {
		fmt.Fprintf(&sb, ` n%d: issue(number: %d) { timelineItems(first: 100) { totalCount } }`, n, n)
	}
	sb.WriteString(" } }")
	a = g.post(t, "/graphql", "bearer "+gqlToken, sb.String(), nil)
	var cost struct {
		RateLimit struct{ Cost int } `json:"rateLimit"`
	}
	if err := json.Unmarshal(a.Data, &cost); err != nil || cost.RateLimit.Cost != 1 {
		t.Errorf("100 timelines cost %d (%v), want 1", cost.RateLimit.Cost, err)
	}
}
