package github

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/ferry-import/ferry/fakeforge/scenario"
)

// TestRepoCountsPastThePagingLimit: a list read one item a page is
// counted exactly when the source lets it be paged to its end; past that
// limit the count is at least what could be reached, raised to the
// average, and the answer says so.
func TestRepoCountsPastThePagingLimit(t *testing.T) {
	sc, err := scenario.New(tiny())
	if err != nil {
		t.Fatal(err)
	}
	want, err := sc.SourceCounts(scenario.GitHub)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		maxPage int
	}{{"no limit", 0}, {"limit of 2 pages", 2}} {
		t.Run(tc.name, func(t *testing.T) {
			api, _ := capServer(t, sc, tc.maxPage)
			res, err := RepoCounts(context.Background(), http.DefaultClient, http.DefaultClient, api, "t", "acme/widgets")
			if err != nil {
				t.Fatal(err)
			}
			c, items := res.Counts, res.Counts.Issues+res.Counts.PullRequests
			if c.Issues != want["issues"] || c.PullRequests != want["pull_requests"] {
				t.Fatalf("issues %d, pull requests %d; want %d, %d", c.Issues, c.PullRequests, want["issues"], want["pull_requests"])
			}
			assumed := strings.Join(res.Assumed, "\n")
			if tc.maxPage > 0 && want["issue_comments"] <= tc.maxPage {
				t.Fatalf("the scenario's %d issue comments fit in %d pages of one: nothing to show", want["issue_comments"], tc.maxPage)
			}
			for _, l := range []struct {
				name string
				got  int
				avg  float64
				of   int
			}{
				{"issue_comments", c.IssueComments, avgIssueCommentsPerItem, items},
				{"review_comments", c.ReviewComments, avgReviewCommentsPerPR, c.PullRequests},
				{"issue_events", c.Events, avgEventsPerItem, items},
			} {
				switch {
				case tc.maxPage == 0 && (l.got != want[l.name] || strings.Contains(assumed, l.name+":")):
					t.Errorf("%s: %d (assumed: %q), want exactly %d", l.name, l.got, assumed, want[l.name])
				case tc.maxPage > 0 && want[l.name] > tc.maxPage && (l.got != max(tc.maxPage, int(l.avg*float64(l.of)+0.5)) ||
					!strings.Contains(assumed, l.name+": more than the 2 the source lets be paged through")):
					t.Errorf("%s: %d (assumed: %q), want at least the 2 reached, raised to the average", l.name, l.got, assumed)
				}
			}
		})
	}
}
