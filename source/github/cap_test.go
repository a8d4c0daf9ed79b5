package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gh "github.com/google/go-github/v92/github"

	ffgithub "github.com/ferry-import/ferry/fakeforge/github"
	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/sourcehttp"
)

// capServer starts a simulated GitHub on loopback whose repo-wide lists
// stop at maxPage (0: no limit), recording every request's path and query.
func capServer(t *testing.T, sc *scenario.Scenario, maxPage int) (string, func() []string) {
	t.Helper()
	return capServerWith(t, ffgithub.Options{Scenario: sc, MaxPage: maxPage}, nil)
}

// capServerWith is capServer serving o, each GraphQL answer passed through
// rewrite (nil: as served).
func capServerWith(t *testing.T, o ffgithub.Options, rewrite func([]byte) []byte) (string, func() []string) {
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

// newScenario is the scenario of c.
func newScenario(t *testing.T, c scenario.Config) *scenario.Scenario {
	t.Helper()
	sc, err := scenario.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// capRun reads the pull requests and issues, as the stages before do, then
// relation, and returns relation's objects and failures.
func capRun(t *testing.T, api, relation string) *relRun {
	t.Helper()
	x := newRelRun(api, "acme/widgets", http.DefaultClient, `{"pagination_limit":3}`)
	x.relation(t, relPullRequests)
	if relation == relPullRequests {
		return x
	}
	x.relation(t, relIssues)
	if relation == relIssues {
		return x
	}
	x.objs, x.fail = nil, nil
	x.relation(t, relation)
	return x
}

// sortedDump lists objects as JSON, the servers' hosts aside, sorted and
// without duplicates (an object read twice is upserted once).
func sortedDump(x *relRun) []string {
	out := dumpObjects(x, x.objs)
	slices.Sort(out)
	return slices.Compact(out)
}

func dumpObjects(x *relRun, objs []forge.Object) []string {
	host := strings.TrimPrefix(strings.Split(x.env.SourceURL, "/api/")[0], "http://")
	var out []string
	for _, o := range objs {
		j, _ := json.Marshal(o)
		out = append(out, fmt.Sprintf("%T ", o)+string(j))
	}
	for i := range out {
		out[i] = strings.ReplaceAll(out[i], host, "HOST")
	}
	return out
}

// likeUncapped checks that got, relation read from a capped server, has no
// failure and lands exactly the objects of the uncapped list (the same ids,
// so what is read twice upserts); it returns the uncapped run.
func likeUncapped(t *testing.T, sc *scenario.Scenario, relation string, got *relRun) *relRun {
	t.Helper()
	fullAPI, _ := capServer(t, sc, 0)
	want := capRun(t, fullAPI, relation)
	if len(got.fail) != 0 {
		t.Errorf("failures %+v", got.fail)
	}
	w, g := sortedDump(want), sortedDump(got)
	if len(w) == 0 || !slices.Equal(w, g) {
		t.Errorf("capped: %d objects, uncapped: %d\nfirst difference: %s", len(g), len(w), firstDiff(w, g))
	}
	return want
}

// fetchAll reads rel from cursor to its end, as a job resumed there does.
func fetchAll(t *testing.T, rel importer.Relation, cursor string) []forge.Object {
	t.Helper()
	var objs []forge.Object
	for {
		p, err := rel.Fetch(context.Background(), cursor)
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, p.Objects...)
		if p.Next == "" {
			return objs
		}
		cursor = p.Next
	}
}

// perItemEvents counts, by item number, the requests for an item's events
// through REST.
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

const capDepth = 2

// TestPastPaginationCap: with GitHub's repo-wide lists stopping at page 2
// (3 items a page), every list relation gives exactly the objects of the
// uncapped list, and no failure; the cap is met (422) on each.
func TestPastPaginationCap(t *testing.T) {
	sc := newScenario(t, tiny())
	for _, tt := range []struct{ relation, list string }{
		{relPullRequests, "/pulls"},
		{relIssues, "/issues"},
		{relIssueComments, "/issues/comments"},
		{relReviewComments, "/pulls/comments"},
		{relIssueEvents, "/issues/events"},
	} {
		t.Run(tt.relation, func(t *testing.T) {
			t.Parallel()
			api, reqs := capServer(t, sc, capDepth)
			got := capRun(t, api, tt.relation)
			want := likeUncapped(t, sc, tt.relation, got)
			// Each object once, but the events of the items at the
			// boundary, read again per item (upserted).
			if tt.relation != relIssueEvents && len(got.objs) != len(want.objs) {
				t.Errorf("%d objects read, %d distinct", len(got.objs), len(want.objs))
			}
			refused := 0
			for _, r := range reqs() {
				if strings.HasPrefix(r, "/api/v3/repos/acme/widgets"+tt.list+"?") && strings.Contains(r, fmt.Sprintf("page=%d&", capDepth+1)) {
					refused++
				}
			}
			if refused == 0 {
				t.Errorf("%s was never asked past page %d: the test does not reach the cap", tt.list, capDepth)
			}
		})
	}
}

// TestPastPaginationCapEventsAskOnlyUnreached: past the cap, issue events
// are read per item only for the items whose events may be older than the
// oldest event the repository list gave (items created before it), and
// every item with an event the list did not give is among them.
func TestPastPaginationCapEventsAskOnlyUnreached(t *testing.T) {
	sc := newScenario(t, tiny())
	api, reqs := capServer(t, sc, capDepth)
	capRun(t, api, relIssueEvents)
	asked := perItemEvents(reqs())
	for n, times := range asked {
		if times > 1 {
			t.Errorf("item %d asked %d times", n, times)
		}
	}
	// The repository list, newest first, reached capDepth pages of 3.
	reached := map[int]bool{}
	oldest := sc.Event(sc.EventCount() - capDepth*3 + 1)
	for e := sc.EventCount(); e > sc.EventCount()-capDepth*3; e-- {
		reached[e] = true
	}
	for e := 1; e <= sc.EventCount(); e++ {
		ev := sc.Event(e)
		needed := scenario.ItemCreated(ev.Item).Compare(oldest.Created) <= 0
		if !reached[e] && asked[ev.Item] == 0 {
			t.Errorf("event %d of item %d neither reached nor asked", e, ev.Item)
		}
		if asked[ev.Item] > 0 && !needed {
			t.Errorf("item %d asked, but created after the oldest event reached (%s)", ev.Item, oldest.Created)
		}
	}
	if len(asked) == 0 {
		t.Fatal("no item asked per item: the cap was not met")
	}
}

// TestPastPaginationCapResume: a job resumed from a cursor in the middle of
// a later window (since=…, page 2) goes on exactly as the first run did.
func TestPastPaginationCapResume(t *testing.T) {
	sc := newScenario(t, tiny())
	for _, relation := range []string{relIssueComments, relReviewComments, relIssues, relIssueEvents, relPullRequests} {
		t.Run(relation, func(t *testing.T) {
			t.Parallel()
			api, _ := capServer(t, sc, capDepth)
			x := capRun(t, api, relPullRequests)
			if relation != relPullRequests {
				x.relation(t, relIssues)
			}
			rel := x.find(t, relation)
			ctx := context.Background()
			type page struct {
				cursor string
				objs   []forge.Object
			}
			var pages []page
			for cursor := ""; ; {
				p, err := rel.Fetch(ctx, cursor)
				if err != nil {
					t.Fatal(err)
				}
				pages = append(pages, page{cursor, p.Objects})
				if p.Next == "" {
					break
				}
				cursor = p.Next
			}
			// The resume point: the second page of a later window (or of
			// the way past the cap).
			at := -1
			for i, p := range pages {
				if strings.HasPrefix(p.cursor, viaPastCap) || (i > 0 && strings.Contains(pages[i-1].cursor, "since=") && strings.Contains(p.cursor, "since=")) {
					at = i
					break
				}
			}
			if at < 0 {
				t.Fatalf("no page past the cap's first among %d pages", len(pages))
			}
			var want []forge.Object
			for _, p := range pages[at:] {
				want = append(want, p.objs...)
			}
			got := fetchAll(t, x.find(t, relation), pages[at].cursor) // a new job: a new Stages call
			w, g := dumpObjects(x, want), dumpObjects(x, got)
			if len(w) == 0 || !slices.Equal(w, g) {
				t.Errorf("resumed at %q: %d objects, first run: %d\nfirst difference: %s", pages[at].cursor, len(g), len(w), firstDiff(w, g))
			}
		})
	}
}

// find is the named relation of a fresh Stages call.
func (x *relRun) find(t *testing.T, name string) importer.Relation {
	t.Helper()
	stages, err := New().Stages(context.Background(), x.env)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range stages {
		for _, rel := range st.Relations {
			if rel.Name() == name {
				return rel
			}
		}
	}
	t.Fatalf("no relation %s", name)
	return nil
}

// TestPastPaginationCapNoCapCalls: without a cap, each list is read with
// exactly as many calls as pages.
func TestPastPaginationCapNoCapCalls(t *testing.T) {
	sc := newScenario(t, tiny())
	api, reqs := capServer(t, sc, 0)
	x := capRun(t, api, relIssueComments)
	x.relation(t, relReviewComments)
	x.relation(t, relIssueEvents)
	count := map[string]int{}
	for _, r := range reqs() {
		path, _, _ := strings.Cut(r, "?")
		count[strings.TrimPrefix(path, "/api/v3/repos/acme/widgets")]++
	}
	pages := func(n int) int { return (n + 2) / 3 }
	for list, want := range map[string]int{
		"/pulls": pages(25), "/issues": pages(sc.Items()), "/issues/comments": pages(sc.CommentCount()),
		"/pulls/comments": pages(sc.ReviewCommentCount()), "/issues/events": pages(sc.EventCount()),
	} {
		if count[list] != want {
			t.Errorf("%s read in %d calls, want %d", list, count[list], want)
		}
	}
}

func TestCapped(t *testing.T) {
	answer := func(status int, msg string) error {
		return &sourcehttp.StatusError{Status: status, Err: &gh.ErrorResponse{Message: msg}}
	}
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{answer(422, "In order to keep the API fast for everyone, pagination is limited for this resource. Check the rel=last link relation in the Link response header to see how far back you can traverse."), true},
		{answer(422, "Pagination with the page parameter is not supported for large datasets, please use cursor based pagination (after/before)"), true},
		{fmt.Errorf("fetch: %w", &importer.Permanent{Err: answer(422, "pagination is limited for this resource")}), true},
		{answer(422, "Validation Failed"), false},
		{answer(403, "pagination is limited for this resource"), false},
		{errors.New("pagination is limited"), false},
	} {
		if got := capped(tt.err); got != tt.want {
			t.Errorf("capped(%v) = %v", tt.err, got)
		}
	}
}

func TestPastLast(t *testing.T) {
	u := func(q string) string { return "http://h/api/v3/repos/o/r/issues?" + q }
	for _, tt := range []struct {
		next, last string
		want       bool
	}{
		{u("page=3"), u("page=5"), false},
		{u("page=3"), u("page=2"), true},
		{u("page=3"), "", true},
		{u("after=Y3Vyc29y"), "", false}, // cursor pagination: followed as given
	} {
		if got := pastLast(tt.next, tt.last); got != tt.want {
			t.Errorf("pastLast(%s, %s) = %v", tt.next, tt.last, got)
		}
	}
}

// TestEventsPastCapNoBound: when the last page reached names no item
// created after its oldest event, every item up to the newest is read per
// item (one call finds the newest).
func TestEventsPastCapNoBound(t *testing.T) {
	sc := newScenario(t, tiny())
	api, reqs := capServer(t, sc, capDepth)
	x := newRelRun(api, "acme/widgets", http.DefaultClient, `{"pagination_limit":3}`)
	r, err := newRun(x.env, nil)
	if err != nil {
		t.Fatal(err)
	}
	start, err := r.eventsPastCap(context.Background(), api+"repos/acme/widgets/issues/events?page=3&per_page=3#at=2020-01-01T00%3A00%3A00Z")
	if want := fmt.Sprintf("0:%d:", sc.Items()+1); err != nil || start != want {
		t.Errorf("eventsPastCap = %q, %v; want %q", start, err, want)
	}
	if got := reqs(); len(got) != 1 || !strings.Contains(got[0], "/issues?") || !strings.Contains(got[0], "per_page=1&") {
		t.Errorf("requests %v, want one for the newest item", got)
	}
}

// TestPastPaginationCapUpdatedMeanwhile: comments already read that are
// updated while the list is read past the cap move to its end; every
// comment still arrives (some twice), none is skipped.
func TestPastPaginationCapUpdatedMeanwhile(t *testing.T) {
	const n, per, maxPage = 40, 3, 2
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	type comment struct{ id, created, updated int64 }
	var mu sync.Mutex
	cs := make([]*comment, n)
	for i := range cs {
		cs[i] = &comment{id: int64(100 + i), created: int64(i) * 60, updated: int64(i)*60 + 5}
	}
	given := map[int64]bool{} // served past the cap, so "already read"
	last := int64(n * 60)
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path != "/repos/acme/widgets/issues/comments" {
			http.NotFound(w, r)
			return
		}
		q := r.URL.Query()
		page, _ := strconv.Atoi(q.Get("page"))
		page = max(page, 1)
		if page > maxPage {
			w.WriteHeader(http.StatusUnprocessableEntity)
			fmt.Fprint(w, `{"message":"In order to keep the API fast for everyone, pagination is limited for this resource.","documentation_url":"https://docs.github.com/v3/#pagination"}`)
			return
		}
		since := int64(-1)
		if s := q.Get("since"); s != "" {
			st, _ := time.Parse(time.RFC3339, s)
			since = int64(st.Sub(base).Seconds())
			// Someone edits a comment already read past the cap.
			for _, c := range cs {
				if given[c.id] {
					last++
					c.updated = last
					delete(given, c.id)
					break
				}
			}
		}
		var list []*comment
		for _, c := range cs {
			if c.updated >= since {
				list = append(list, c)
			}
		}
		key := func(c *comment) int64 { return c.created }
		if q.Get("sort") == "updated" {
			key = func(c *comment) int64 { return c.updated }
		}
		slices.SortStableFunc(list, func(a, b *comment) int { return int(key(a) - key(b)) })
		lastPage := max(1, (len(list)+per-1)/per)
		link := func(p int, rel string) string {
			v := r.URL.Query()
			v.Set("page", strconv.Itoa(p))
			return fmt.Sprintf(`<%s%s?%s>; rel="%s"`, srv.URL, r.URL.Path, v.Encode(), rel)
		}
		if page < lastPage {
			w.Header().Set("Link", link(page+1, "next")+", "+link(min(lastPage, maxPage), "last"))
		}
		out := []map[string]any{}
		for i := (page - 1) * per; i < min(page*per, len(list)); i++ {
			c := list[i]
			if since >= 0 {
				given[c.id] = true
			}
			out = append(out, map[string]any{"id": c.id, "user": map[string]any{"login": "u", "id": 1}, "body": "b",
				"created_at": base.Add(time.Duration(c.created) * time.Second), "updated_at": base.Add(time.Duration(c.updated) * time.Second),
				"html_url": fmt.Sprintf("%s/acme/widgets/issues/1#issuecomment-%d", srv.URL, c.id)})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	x := newRelRun(srv.URL+"/", "acme/widgets", http.DefaultClient, fmt.Sprintf(`{"pagination_limit":%d}`, per))
	x.relation(t, relIssueComments)
	got := map[string]bool{}
	for _, o := range x.objs {
		got[o.Source().ID] = true
	}
	for _, c := range cs {
		if id := noteID(kindIssueComment, c.id); !got[id] {
			t.Errorf("comment %d (updated meanwhile: %v) missing", c.id, c.updated > int64(n*60))
		}
	}
	if last == n*60 {
		t.Error("no comment was updated meanwhile")
	}
}
