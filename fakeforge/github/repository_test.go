package github

import (
	"encoding/json"
	"testing"

	"github.com/ferry-import/ferry/fakeforge/traffic"
)

// TestGraphQLRepositoryCounts: repository(owner:, name:) answers the
// scenario's totals for 1 point, and NOT_FOUND for another repository.
func TestGraphQLRepositoryCounts(t *testing.T) {
	g := startGQL(t, traffic.Faults{}, Options{})
	const q = `query($owner: String!, $name: String!) { rateLimit { cost limit } repository(owner: $owner, name: $name) {
		nameWithOwner databaseId issues(first: 1) { totalCount } pullRequests(first: 1) { totalCount } labels(first: 1) { totalCount }
		milestones(first: 1) { totalCount } releases(first: 1) { totalCount } branchProtectionRules(first: 1) { totalCount }
		mentionableUsers(first: 1) { totalCount } } }`
	a := g.post(t, "/graphql", "token "+gqlToken, q, map[string]any{"owner": "ACME", "name": "widgets"})
	var d struct {
		RateLimit  struct{ Cost, Limit int }
		Repository struct {
			NameWithOwner string
			DatabaseID    int
			Issues, PullRequests, Labels, Milestones, Releases, BranchProtectionRules,
			MentionableUsers struct{ TotalCount int }
		}
	}
	if err := json.Unmarshal(a.Data, &d); err != nil || len(a.Errors) > 0 {
		t.Fatalf("%s %+v %v", a.Data, a.Errors, err)
	}
	c := g.sc.Config()
	r := d.Repository
	if r.NameWithOwner != "acme/widgets" || r.DatabaseID != RepoID || r.Issues.TotalCount != c.Issues || r.PullRequests.TotalCount != c.PullRequests ||
		r.Labels.TotalCount != c.Labels || r.Milestones.TotalCount != c.Milestones || r.Releases.TotalCount != c.Releases ||
		r.BranchProtectionRules.TotalCount != c.ProtectedBranches || r.MentionableUsers.TotalCount != c.Users {
		t.Errorf("repository %+v, scenario %+v", r, c)
	}
	if d.RateLimit.Cost != 1 || g.mw.Stats().GraphQLPoints != 1 {
		t.Errorf("cost %d, spent %d: want 1", d.RateLimit.Cost, g.mw.Stats().GraphQLPoints)
	}
	a = g.post(t, "/graphql", "token "+gqlToken, q, map[string]any{"owner": "acme", "name": "gadgets"})
	if len(a.Errors) != 1 || a.Errors[0].Type != "NOT_FOUND" || string(a.Data) != `{"rateLimit":{"cost":1,"limit":5000},"repository":null}` {
		t.Errorf("another repository: %s %+v", a.Data, a.Errors)
	}
}
