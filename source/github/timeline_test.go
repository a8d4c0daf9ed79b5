package github

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	ffgithub "github.com/ferry-import/ferry/fakeforge/github"
	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/source/internal/paging"
)

// gqlCapServer is capServer with GraphQL, each GraphQL answer passed
// through rewrite (nil: as served).
func gqlCapServer(t *testing.T, sc *scenario.Scenario, maxPage int, rewrite func([]byte) []byte) (string, func() []string) {
	return gqlCapServerWith(t, ffgithub.Options{Scenario: sc, MaxPage: maxPage}, rewrite)
}

// gqlCapServerWith is gqlCapServer serving o.
func gqlCapServerWith(t *testing.T, o ffgithub.Options, rewrite func([]byte) []byte) (string, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var reqs []string
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		reqs = append(reqs, r.URL.RequestURI())
		mu.Unlock()
		if rewrite == nil || r.URL.Path != "/api/graphql" {
			h.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		body := rewrite(rec.Body.Bytes())
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	o.BaseURL, o.Tokens = srv.URL, []string{"t"}
	h = ffgithub.New(o)
	return srv.URL + "/api/v3/", func() []string { mu.Lock(); defer mu.Unlock(); return slices.Clone(reqs) }
}

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

// perItemEvents are the items whose events were asked through REST.
func perItemEvents(reqs []string) map[int]int {
	re := regexp.MustCompile(`^/api/v3/repos/acme/widgets/issues/(\d+)/events`)
	asked := map[int]int{}
	for _, r := range reqs {
		if m := re.FindStringSubmatch(r); m != nil {
			n, _ := strconv.Atoi(m[1])
			asked[n]++
		}
	}
	return asked
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
	sc, err := scenario.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// TestPastCapEventsGraphQL: past the cap, with GraphQL, the events of the
// unreached items come from timeline queries, not a REST call per item,
// and land exactly what the uncapped list lands (same ids, so the events
// the repository list already gave upsert).
func TestPastCapEventsGraphQL(t *testing.T) {
	sc := eventsScenario(t, 3)
	fullAPI, _ := capServer(t, sc, 0)
	want := capRun(t, fullAPI, relIssueEvents)
	api, reqs := gqlCapServer(t, sc, capDepth, nil)
	got := gqlCapRun(t, api)
	if len(got.fail) != 0 {
		t.Errorf("failures %+v", got.fail)
	}
	w, g := sortedDump(want), sortedDump(got)
	if len(w) == 0 || !slices.Equal(w, g) {
		t.Errorf("capped through GraphQL: %d objects, uncapped: %d\nfirst difference: %s", len(g), len(w), firstDiff(w, g))
	}
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
	sc, err := scenario.New(c)
	if err != nil {
		t.Fatal(err)
	}
	fullAPI, _ := capServer(t, sc, 0)
	want := capRun(t, fullAPI, relIssueEvents)
	api, reqs := gqlCapServer(t, sc, capDepth, nil)
	got := gqlCapRun(t, api)
	if len(got.fail) != 0 {
		t.Errorf("failures %+v", got.fail)
	}
	w, g := sortedDump(want), sortedDump(got)
	if len(w) == 0 || !slices.Equal(w, g) {
		t.Errorf("capped: %d objects, uncapped: %d\nfirst difference: %s", len(g), len(w), firstDiff(w, g))
	}
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
	fullAPI, _ := capServer(t, sc, 0)
	want := capRun(t, fullAPI, relIssueEvents)
	api, reqs := gqlCapServer(t, sc, capDepth, func(b []byte) []byte {
		return bytes.ReplaceAll(b, []byte(`"id":"AE_`), []byte(`"id":"AE_!`))
	})
	got := gqlCapRun(t, api)
	if len(got.fail) != 0 {
		t.Errorf("failures %+v", got.fail)
	}
	w, g := sortedDump(want), sortedDump(got)
	if len(w) == 0 || !slices.Equal(w, g) {
		t.Errorf("capped: %d objects, uncapped: %d\nfirst difference: %s", len(g), len(w), firstDiff(w, g))
	}
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
	fullAPI, _ := capServer(t, sc, 0)
	want := capRun(t, fullAPI, relIssueEvents)
	api, reqs := gqlCapServerWith(t, ffgithub.Options{Scenario: sc, MaxPage: capDepth, NoGraphQL: true}, nil)
	got := gqlCapRun(t, api)
	if len(got.fail) != 0 {
		t.Errorf("failures %+v", got.fail)
	}
	w, g := sortedDump(want), sortedDump(got)
	if len(w) == 0 || !slices.Equal(w, g) {
		t.Errorf("capped: %d objects, uncapped: %d\nfirst difference: %s", len(g), len(w), firstDiff(w, g))
	}
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
	api, _ := gqlCapServer(t, sc, 0, nil)
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
	api, reqs := gqlCapServer(t, sc, capDepth, nil)
	y := gqlCapRun(t, api)
	after := paging.DefaultItemBatch / 2
	cursor := fmt.Sprintf("%s0:%d:%d", viaPastCap, sc.Items()+1, after) // as the REST path writes it
	read := func(x *relRun) []string {
		rel := x.find(t, relIssueEvents)
		x.objs = nil
		for c := cursor; c != ""; {
			p, err := rel.Fetch(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			x.objs = append(x.objs, p.Objects...)
			c = p.Next
		}
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
