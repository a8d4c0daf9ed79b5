// Package sourcetest is the conformance suite every source adapter runs
// against fakeforge, as River's drivers all run one driver suite: it drives
// an adapter's stages the way the engine does and checks the contract of
// importer.Source and importer.Relation that the engine relies on.
//
//   - Stages is a plan: no source call, the same answer every time.
//   - Relations are independent jobs: each runs on its own Stages call,
//     concurrently with the rest of its stage, and no relation hands out
//     the same cursor twice.
//   - No source URL is requested twice (a page or item read once).
//   - Every object names its source (type, host, id).
//   - The counts per kind the adapter reports equal the scenario's.
//
// What to check is read from the source's own Stages, so a source without
// issues or milestones passes with no switch. It knows the engine's
// contract and fakeforge's counts; it must not know any forge.
package sourcetest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/ferry-import/ferry/fakeforge"
	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/gitstore"
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/uploads"
)

// Config is one adapter's run of the suite.
type Config struct {
	Source importer.Source
	// Env returns what the import was started with: SourceURL, SourceRef,
	// Options, Credential. The suite fills in the rest (HTTP, Git,
	// Followups, ids).
	Env func() importer.Env
	// Transport reaches the source (fakeforge); nil is the default.
	Transport http.RoundTripper
	// Expected are the scenario's counts for this source, and Count turns
	// what the run produced into counts named the same way. Both nil
	// skips the comparison.
	Expected scenario.Counts
	Count    func(*Result) scenario.Counts
	// GitDir holds the run's repositories; empty is a temporary directory
	// of the test that calls Run.
	GitDir string
	// AllowRepeats reports a URL that may be requested more than once (a
	// lookup each job repeats by design); nil allows none.
	AllowRepeats func(url string) bool
	// AllowFailures reports a relation whose failed items are expected
	// (what the target cannot hold, listed rather than dropped): they are
	// gathered in Result.Failures instead of failing the run; nil allows
	// none.
	AllowFailures func(relation string) bool
}

// Result is what a run produced.
type Result struct {
	mu sync.Mutex
	// Objects by forge kind, in the order they came.
	Objects map[string][]forge.Object
	// Pages fetched and source items covered per relation.
	Pages, Items map[string]int
	// Stages in the order they ran.
	Stages []string
	// Git holds the repositories the run mirrored; Uploads the files it
	// downloaded (Env.Uploads, with Env.Downloads the suite's client).
	Git     *gitstore.Store
	Uploads *uploads.Store
	// Calls counts requests by URL.
	Calls map[string]int
	// Failures are the failed items of relations Config.AllowFailures
	// allows, by relation.
	Failures map[string][]importer.ItemFailure
}

// Kind is the objects of one kind.
func (r *Result) Kind(k string) []forge.Object { return r.Objects[k] }

// Of gathers the objects of one kind as their Go type.
func Of[T forge.Object](r *Result, kind string) []T {
	var out []T
	for _, o := range r.Objects[kind] {
		if v, ok := o.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

// Repeats lists URLs requested more than once.
func (r *Result) Repeats() []string {
	var out []string
	for u, n := range r.Calls {
		if n > 1 {
			out = append(out, fmt.Sprintf("%s ×%d", u, n))
		}
	}
	sort.Strings(out)
	return out
}

// Exercise runs the suite and returns the full run's result for the
// adapter's own, field-level checks.
func Exercise(t *testing.T, cfg Config) *Result {
	t.Helper()
	if cfg.GitDir == "" {
		cfg.GitDir = t.TempDir() // outlives the subtests: the result's Git
	}
	t.Run("stages are a plan", func(t *testing.T) { checkPlan(t, cfg) })
	var res *Result
	t.Run("import", func(t *testing.T) {
		res = Run(t, cfg)
		for _, u := range res.Repeats() {
			if cfg.AllowRepeats == nil || !cfg.AllowRepeats(strings.SplitN(u, " ×", 2)[0]) {
				t.Errorf("requested more than once: %s", u)
			}
		}
		for kind, objs := range res.Objects {
			for _, o := range objs {
				if s := o.Source(); s.Type != cfg.Source.Type() || s.Host == "" || s.ID == "" {
					t.Errorf("%s %+v names its source as %+v", kind, o, s)
					break
				}
			}
		}
		if cfg.Count != nil {
			if d := cfg.Count(res).Diff(cfg.Expected); d != "" {
				t.Errorf("counts differ from the scenario: %s", d)
			}
		}
	})
	if res == nil {
		t.FailNow()
	}
	return res
}

func (cfg Config) env(q importer.Followups, hc *http.Client, git *gitstore.Store, files *uploads.Store) *importer.Env {
	e := cfg.Env()
	// The target is project 7, unless Env names a group (NamespaceID).
	e.ImportID = 1
	if e.NamespaceID == 0 {
		e.ProjectID = 7
	}
	e.HTTP, e.Git, e.Followups = hc, git, q
	if files != nil {
		e.Downloads, e.Uploads = hc, files
	}
	return &e
}

// checkPlan calls Stages with a client that fails every call, twice.
func checkPlan(t *testing.T, cfg Config) {
	noCalls := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		t.Errorf("Stages called %s", r.URL)
		return nil, errors.New("no calls while planning")
	})}
	plan := func() string {
		stages, err := cfg.Source.Stages(context.Background(), cfg.env(NewFollowups(), noCalls, nil, nil))
		if err != nil {
			t.Fatalf("stages: %v", err)
		}
		var b strings.Builder
		seen := map[string]bool{}
		for _, st := range stages {
			fmt.Fprintf(&b, "%s:", st.Name)
			for _, r := range st.Relations {
				if seen[r.Name()] {
					t.Errorf("relation %s appears twice in the plan", r.Name())
				}
				seen[r.Name()] = true
				fmt.Fprintf(&b, " %s", r.Name())
			}
			b.WriteString("\n")
		}
		return b.String()
	}
	first := plan()
	if first == "" {
		t.Fatal("no stages")
	}
	if again := plan(); again != first {
		t.Errorf("Stages differs between calls:\n%s\nthen:\n%s", first, again)
	}
}

// Run drives every stage to the end the way the engine does: relations of
// a stage concurrently, each on a fresh Stages call (a job of its own),
// page by page from its cursor, followups queued when their page is done.
// It fails t on a fetch error, a failed item (unless AllowFailures allows
// it) or a cursor handed out twice.
func Run(t *testing.T, cfg Config) *Result {
	t.Helper()
	ctx := context.Background()
	dir := cfg.GitDir
	if dir == "" {
		dir = t.TempDir()
	}
	git, err := gitstore.New(dir, gitstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	files, err := uploads.New(filepath.Join(dir, "uploads"), uploads.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { files.Close() })
	next := cfg.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	res := &Result{Objects: map[string][]forge.Object{}, Pages: map[string]int{}, Items: map[string]int{}, Git: git, Calls: map[string]int{},
		Failures: map[string][]importer.ItemFailure{}}
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		res.mu.Lock()
		res.Calls[r.URL.String()]++
		res.mu.Unlock()
		return next.RoundTrip(r)
	})}
	q := NewFollowups()
	res.Uploads = files
	plan, err := cfg.Source.Stages(ctx, cfg.env(q, hc, git, files))
	if err != nil {
		t.Fatalf("stages: %v", err)
	}
	for si, st := range plan {
		res.Stages = append(res.Stages, st.Name)
		var wg sync.WaitGroup
		for ri := range st.Relations {
			wg.Go(func() { runRelation(t, cfg, res, q, hc, git, si, ri) })
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
	}
	return res
}

func runRelation(t *testing.T, cfg Config, res *Result, q *Followups, hc *http.Client, git *gitstore.Store, si, ri int) {
	ctx := context.Background()
	// A job of its own, as the engine runs it.
	stages, err := cfg.Source.Stages(ctx, cfg.env(q, hc, git, res.Uploads))
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
		var followups []importer.Followup
		res.mu.Lock()
		res.Pages[rel.Name()]++
		n := 0
		for _, obj := range page.Objects {
			if fu, ok := obj.(importer.Followup); ok {
				followups = append(followups, fu)
				continue
			}
			n++
			res.Objects[obj.Kind()] = append(res.Objects[obj.Kind()], obj)
		}
		if page.Items != 0 {
			n = page.Items
		}
		res.Items[rel.Name()] += n
		res.mu.Unlock()
		for _, f := range page.Failures {
			if cfg.AllowFailures != nil && cfg.AllowFailures(rel.Name()) {
				res.mu.Lock()
				res.Failures[rel.Name()] = append(res.Failures[rel.Name()], f)
				res.mu.Unlock()
				continue
			}
			t.Errorf("%s: item failed: %s %s: %v", rel.Name(), f.Title, f.SourceURL, f.Err)
		}
		for _, fu := range followups {
			q.Add(fu)
		}
		if page.Next == "" {
			return
		}
		if seen[page.Next] {
			t.Errorf("%s: cursor %q handed out twice", rel.Name(), page.Next)
			return
		}
		seen[page.Next] = true
		cursor = page.Next
	}
}

// Followups is the engine's followup store in miniature, for Run and for
// adapters' per-item tests: followups are added when their page is done,
// de-duplicated per relation and key.
type Followups struct {
	mu    sync.Mutex
	seq   int64
	byRel map[string][]importer.Queued
	seen  map[importer.Followup]bool
}

// NewFollowups returns an empty store.
func NewFollowups() *Followups {
	return &Followups{byRel: map[string][]importer.Queued{}, seen: map[importer.Followup]bool{}}
}

// Add queues f unless it is queued already.
func (q *Followups) Add(f importer.Followup) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.seen[f] {
		return
	}
	q.seen[f] = true
	q.seq++
	q.byRel[f.Relation] = append(q.byRel[f.Relation], importer.Queued{Seq: q.seq, Key: f.Key})
}

// Next implements importer.Followups.
func (q *Followups) Next(_ context.Context, relation string, after int64, limit int) ([]importer.Queued, error) {
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

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// StartForge starts fakeforge with scenario c (only the named sources,
// all when none) until the test ends.
func StartForge(t testing.TB, c scenario.Config, sources ...string) *fakeforge.Forge {
	t.Helper()
	f, err := fakeforge.Start(context.Background(), fakeforge.Options{Scenario: c, Sources: sources})
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
