package github

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"testing"

	"github.com/ferry-import/ferry/fakeforge"
	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/gitstore"
	"github.com/ferry-import/ferry/importer"
)

// queue is the engine's followup store in miniature: followups are added
// when their page is done, de-duplicated per relation and key.
type queue struct {
	mu    sync.Mutex
	seq   int64
	byRel map[string][]importer.Queued
	seen  map[importer.Followup]bool
}

func newQueue() *queue {
	return &queue{byRel: map[string][]importer.Queued{}, seen: map[importer.Followup]bool{}}
}

func (q *queue) add(f importer.Followup) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.seen[f] {
		return
	}
	q.seen[f] = true
	q.seq++
	q.byRel[f.Relation] = append(q.byRel[f.Relation], importer.Queued{Seq: q.seq, Key: f.Key})
}

func (q *queue) Next(_ context.Context, relation string, after int64, limit int) ([]importer.Queued, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []importer.Queued
	for _, it := range q.byRel[relation] {
		if it.Seq > after && len(out) < limit {
			out = append(out, it)
		}
	}
	return out, nil
}

// recorder counts every request by URL, so a test can tell that no page
// was read twice.
type recorder struct {
	mu   sync.Mutex
	urls map[string]int
	next http.RoundTripper
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.urls[req.URL.String()]++
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

func (r *recorder) repeated() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for u, n := range r.urls {
		if n > 1 {
			out = append(out, fmt.Sprintf("%s ×%d", u, n))
		}
	}
	sort.Strings(out)
	return out
}

// imported is what a run produced, by kind, in the order it came.
type imported struct {
	mu      sync.Mutex
	objs    map[string][]forge.Object
	pages   map[string]int
	items   map[string]int
	stages  []string
	repeats []string // URLs requested more than once
	git     *gitstore.Store
}

func (im *imported) kind(k string) []forge.Object { return im.objs[k] }

// runOpts shape one simulated import.
type runOpts struct {
	apiBase   string // Env.SourceURL
	sourceRef string
	options   Options
}

// runImport drives every stage of a GitHub import to the end the way the
// engine does: relations of a stage concurrently, each page by page from
// its cursor, followups queued when their page is done, and (like the
// engine's jobs) a fresh Stages call for every relation.
func runImport(t *testing.T, f *fakeforge.Forge, o runOpts) *imported {
	t.Helper()
	ctx := context.Background()
	git, err := gitstore.New(t.TempDir(), gitstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{urls: map[string]int{}, next: http.DefaultTransport}
	q := newQueue()
	opts, err := json.Marshal(o.options)
	if err != nil {
		t.Fatal(err)
	}
	env := func() *importer.Env {
		return &importer.Env{ImportID: 1, ProjectID: 7, SourceURL: o.apiBase, SourceRef: o.sourceRef, Options: opts,
			Credential: f.GitHub.Token, HTTP: &http.Client{Transport: rec}, Git: git, Followups: q}
	}
	src := New()
	plan, err := src.Stages(ctx, env())
	if err != nil {
		t.Fatalf("stages: %v", err)
	}
	out := &imported{objs: map[string][]forge.Object{}, pages: map[string]int{}, items: map[string]int{}, git: git}
	for si, st := range plan {
		out.stages = append(out.stages, st.Name)
		var wg sync.WaitGroup
		for ri := range st.Relations {
			wg.Go(func() {
				// A job of its own, as the engine runs it.
				stages, err := src.Stages(ctx, env())
				if err != nil {
					t.Errorf("stages: %v", err)
					return
				}
				rel := stages[si].Relations[ri]
				seen := map[string]bool{}
				for cursor := ""; ; {
					page, err := rel.Fetch(ctx, cursor)
					if err != nil {
						t.Errorf("%s at %q: %v", rel.Name(), cursor, err)
						return
					}
					out.mu.Lock()
					out.pages[rel.Name()]++
					n := 0
					for _, obj := range page.Objects {
						if fu, ok := obj.(importer.Followup); ok {
							q.add(fu)
							continue
						}
						n++
						out.objs[obj.Kind()] = append(out.objs[obj.Kind()], obj)
					}
					if page.Items != 0 {
						n = page.Items
					}
					out.items[rel.Name()] += n
					out.mu.Unlock()
					if page.Next == "" {
						return
					}
					if seen[page.Next] {
						t.Errorf("%s: cursor %q twice", rel.Name(), page.Next)
						return
					}
					seen[page.Next] = true
					cursor = page.Next
				}
			})
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
	}
	out.repeats = rec.repeated()
	return out
}

// tiny keeps every list several pages long at perPage and gives some pull
// requests more reviews than fit on one page.
func tiny() scenario.Config {
	c, err := scenario.Preset("small", 7)
	if err != nil {
		panic(err)
	}
	c.Issues, c.PullRequests, c.Users = 40, 25, 7
	c.CommentsPerItem, c.ReviewCommentsPerPR, c.ReviewsPerPR = 1, 4, 4
	c.Branches, c.Commits, c.Labels, c.Milestones = 9, 5, 7, 7
	c.ReactionsEvery = 5
	return c
}

const perPage = 3

func startForge(t *testing.T, c scenario.Config) *fakeforge.Forge {
	t.Helper()
	f, err := fakeforge.Start(context.Background(), fakeforge.Options{Scenario: c})
	if err != nil {
		t.Fatalf("start fakeforge: %v", err)
	}
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Errorf("close fakeforge: %v", err)
		}
	})
	return f
}
