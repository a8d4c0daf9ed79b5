package github

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	ffgithub "github.com/ferry-import/ferry/fakeforge/github"
	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/source/internal/paging"
)

// gqlCapRun is capRun with GraphQL's budget given, as the engine gives it.
func gqlCapRun(t *testing.T, api string) *relRun {
	t.Helper()
	x := newRelRun(api, "acme/widgets", http.DefaultClient, `{"pagination_limit":3}`)
	x.env.Budget = func(string) *http.Client { return http.DefaultClient }
	x.env.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	x.relation(t, relPullRequests)
	x.relation(t, relIssues)
	x.objs, x.fail = nil, nil
	x.relation(t, relIssueEvents)
	return x
}

func countGraphQL(reqs []string) int {
	n := 0
	for _, r := range reqs {
		if r == "/api/graphql" {
			n++
		}
	}
	return n
}

// eventsScenario is tiny with events per item as given.
func eventsScenario(t *testing.T, perItem int) *scenario.Scenario {
	t.Helper()
	c := tiny()
	c.EventsPerItem = perItem
	return newScenario(t, c)
}

// TestPastCapEventsGraphQL: past the cap, with GraphQL, the events of the
// unreached items come from timeline queries, not a REST call per item,
// and land exactly what the uncapped list lands (same ids, so the events
// the repository list already gave upsert).
func TestPastCapEventsGraphQL(t *testing.T) {
	sc := eventsScenario(t, 3)
	api, reqs := capServer(t, sc, capDepth)
	likeUncapped(t, sc, relIssueEvents, gqlCapRun(t, api))
	if asked := perItemEvents(reqs()); len(asked) != 0 {
		t.Errorf("%d items asked through REST: %v", len(asked), asked)
	}
	if n := countGraphQL(reqs()); n == 0 {
		t.Error("no GraphQL query")
	}
}

// TestPastCapEventsGraphQLOverflow: an item with more timeline events
// than one query's page (100) goes through its REST list, whole.
func TestPastCapEventsGraphQLOverflow(t *testing.T) {
	c := tiny()
	c.Issues, c.PullRequests, c.EventsPerItem = 4, 3, 101
	sc := newScenario(t, c)
	api, reqs := capServer(t, sc, capDepth)
	likeUncapped(t, sc, relIssueEvents, gqlCapRun(t, api))
	if countGraphQL(reqs()) == 0 {
		t.Error("GraphQL never asked")
	}
	asked := perItemEvents(reqs())
	// Every unreached item overflows: each reads its REST list, whole.
	if len(asked) != c.Issues+c.PullRequests {
		t.Errorf("items asked through REST: %v, want all %d", asked, c.Issues+c.PullRequests)
	}
}

// TestPastCapEventsGraphQLUndecodableIDs: an event whose node id holds no
// database id sends its item through REST; the other items stay on
// GraphQL; nothing is lost or doubled.
func TestPastCapEventsGraphQLUndecodableIDs(t *testing.T) {
	sc := eventsScenario(t, 1)
	api, reqs := capServerWith(t, ffgithub.Options{Scenario: sc, MaxPage: capDepth}, func(b []byte) []byte {
		return bytes.ReplaceAll(b, []byte(`"id":"AE_`), []byte(`"id":"AE_!`))
	})
	likeUncapped(t, sc, relIssueEvents, gqlCapRun(t, api))
	asked := perItemEvents(reqs())
	for n := range asked {
		if ev := sc.Event(n); ev.Event != "assigned" { // one event an item: event n is item n's
			t.Errorf("item %d (a %s event) asked through REST", n, ev.Event)
		}
	}
	if len(asked) == 0 || countGraphQL(reqs()) == 0 {
		t.Errorf("%d items through REST, %d GraphQL queries: want both", len(asked), countGraphQL(reqs()))
	}
}

// TestPastCapEventsGraphQLUnavailable: a GitHub without GraphQL (404)
// reads the unreached items' events through REST, as before, asking
// GraphQL no more than once.
func TestPastCapEventsGraphQLUnavailable(t *testing.T) {
	sc := eventsScenario(t, 1)
	api, reqs := capServerWith(t, ffgithub.Options{Scenario: sc, MaxPage: capDepth, NoGraphQL: true}, nil)
	likeUncapped(t, sc, relIssueEvents, gqlCapRun(t, api))
	if n := countGraphQL(reqs()); n > 1 {
		t.Errorf("GraphQL asked %d times after its 404", n)
	}
	if len(perItemEvents(reqs())) == 0 {
		t.Error("no item read through REST")
	}
}

// TestTimelineQueryValid: the timeline query of issues only, of pull
// requests only, and of both, is one GitHub's schema accepts (fakeforge
// validates it against its subset).
func TestTimelineQueryValid(t *testing.T) {
	sc := eventsScenario(t, 2)
	api, _ := capServer(t, sc, 0)
	c := &gqlClient{hc: http.DefaultClient, url: strings.TrimSuffix(api, "v3/") + "graphql", token: "t"}
	var issues, pulls []string
	for n := 1; n <= sc.Items(); n++ {
		if sc.Item(n).IsPR {
			pulls = append(pulls, "pullRequest:"+strconv.Itoa(n))
		} else {
			issues = append(issues, "issue:"+strconv.Itoa(n))
		}
	}
	for name, ids := range map[string][]string{"issues": issues[:3], "pulls": pulls[:3], "both": append(issues[:2:2], pulls[:2]...)} {
		var data struct {
			Repository map[string]*gqlNode `json:"repository"`
		}
		errs, err := c.query(context.Background(), timelineQuery(ids), map[string]any{"owner": "acme", "name": "widgets"}, &data)
		if err != nil || len(errs) != 0 {
			t.Errorf("%s: %v %v", name, err, errs)
			continue
		}
		for i := range ids {
			if n := data.Repository["n"+strconv.Itoa(i)]; n == nil || n.TimelineItems == nil || len(n.TimelineItems.Nodes) != 2 {
				t.Errorf("%s: %s answered %+v", name, ids[i], n)
			}
		}
	}
}

// TestPastCapEventsGraphQLResume: a job resumed on the way past the cap
// from a cursor written by the REST path (pages of paging's default batch
// of item numbers) goes on through GraphQL from the same item, landing
// what REST would have landed from there.
func TestPastCapEventsGraphQLResume(t *testing.T) {
	sc := eventsScenario(t, 2)
	restAPI, _ := capServer(t, sc, capDepth)
	x := capRun(t, restAPI, relPullRequests)
	x.relation(t, relIssues)
	api, reqs := capServer(t, sc, capDepth)
	y := gqlCapRun(t, api)
	after := paging.DefaultItemBatch / 2
	cursor := fmt.Sprintf("%s0:%d:%d", viaPastCap, sc.Items()+1, after) // as the REST path writes it
	read := func(x *relRun) []string {
		x.objs = fetchAll(t, x.find(t, relIssueEvents), cursor)
		return sortedDump(x)
	}
	before := countGraphQL(reqs())
	want, got := read(x), read(y)
	if len(want) == 0 || !slices.Equal(want, got) {
		t.Errorf("resumed at %q: %d objects through GraphQL, %d through REST\nfirst difference: %s", cursor, len(got), len(want), firstDiff(want, got))
	}
	if countGraphQL(reqs()) == before {
		t.Error("the resumed job asked no GraphQL query")
	}
	for n := range perItemEvents(reqs()) {
		t.Errorf("item %d read through REST", n)
	}
}
