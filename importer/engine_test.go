package importer_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/gitstore"
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/netguard"
	"github.com/ferry-import/ferry/queue"
	"github.com/ferry-import/ferry/secret"
	"github.com/ferry-import/ferry/store"
	"github.com/ferry-import/ferry/store/storetest"
)

// fakeForge serves labels, issues and per-issue notes in pages of two,
// counting calls per path, with hooks to block or rate-limit.
type fakeForge struct {
	labels, issues int
	mu             sync.Mutex
	calls          map[string]int
	onIssuesPage   func(page int) // called before answering issues?page=N
	onLabelsPage   func(page int) // called before answering labels?page=N
	rateLimited    func() (remaining int, reset time.Time, ok bool)
}

func (f *fakeForge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.calls[r.URL.Path]++
	f.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer s3cret-source-token" {
		w.WriteHeader(401)
		return
	}
	if f.rateLimited != nil {
		if rem, reset, ok := f.rateLimited(); ok {
			w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(rem))
			w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
			if rem < 0 {
				w.Header().Set("X-RateLimit-Remaining", "0")
				w.WriteHeader(403)
				fmt.Fprint(w, `{"message":"API rate limit exceeded"}`)
				return
			}
		}
	}
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	if page == 0 {
		page = 1
	}
	list := func(n int, item func(i int) any) {
		var out []any
		for i := (page-1)*2 + 1; i <= n && i <= page*2; i++ {
			out = append(out, item(i))
		}
		if page*2 < n {
			w.Header().Set("X-Next-Page", strconv.Itoa(page+1))
		}
		json.NewEncoder(w).Encode(out)
	}
	switch {
	case r.URL.Path == "/labels":
		if f.onLabelsPage != nil {
			f.onLabelsPage(page)
		}
		list(f.labels, func(i int) any { return fmt.Sprintf("label-%d", i) })
	case r.URL.Path == "/issues":
		if f.onIssuesPage != nil {
			f.onIssuesPage(page)
		}
		list(f.issues, func(i int) any { return i })
	case strings.HasPrefix(r.URL.Path, "/issues/"):
		json.NewEncoder(w).Encode([]string{"a note"})
	default:
		w.WriteHeader(404)
	}
}

func (f *fakeForge) count(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[path]
}

// src is the fake source: three stages, a list relation with followups,
// a per-item relation consuming them, and a relation that always fails.
type src struct{}

func (src) Type() string { return "fake" }

func (src) Stages(ctx context.Context, env *importer.Env) ([]importer.Stage, error) {
	return []importer.Stage{
		{Name: "base", Relations: []importer.Relation{listRel{env, "labels"}}},
		{Name: "items", Relations: []importer.Relation{listRel{env, "issues"}, broken{}}},
		{Name: "details", Relations: []importer.Relation{notesRel{env}}},
	}, nil
}

func get(ctx context.Context, env *importer.Env, path string, v any) (http.Header, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", env.SourceURL+path, nil)
	req.Header.Set("Authorization", "Bearer "+env.Credential)
	resp, err := env.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, &importer.Permanent{Err: fmt.Errorf("GET %s: %d", path, resp.StatusCode)}
	}
	return resp.Header, json.NewDecoder(resp.Body).Decode(v)
}

// testOptions are the fake source's knobs, passed as import options.
type fakeOptions struct {
	BadIssue  int64  `json:"bad_issue"`  // comes without an iid
	GoneNotes string `json:"gone_notes"` // this issue's notes are gone at the source
	Hang      bool   `json:"hang"`       // the notes relation never answers
	// Transfer makes the first labels page a transfer in flight: 40 of
	// 100 objects received before its request.
	Transfer bool `json:"transfer"`
}

func testOptions(env *importer.Env) fakeOptions {
	var o fakeOptions
	_ = json.Unmarshal(env.Options, &o)
	return o
}

type listRel struct {
	env  *importer.Env
	name string
}

func (l listRel) Name() string { return l.name }

func (l listRel) Fetch(ctx context.Context, cursor string) (importer.Page, error) {
	page := cursor
	if page == "" {
		page = "1"
	}
	var p importer.Page
	sid := func(id string) forge.SourceID { return forge.SourceID{Type: "fake", Host: "fake.test", ID: id} }
	if l.name == "labels" {
		if cursor == "" && testOptions(l.env).Transfer {
			gitstore.ReportProgress(ctx, gitstore.Progress{Phase: "Resolving deltas", Done: 1, Total: 1000})
			gitstore.ReportProgress(ctx, gitstore.Progress{Phase: "Receiving objects", Done: 40, Total: 100})
		}
		var names []string
		h, err := get(ctx, l.env, "/labels?page="+page, &names)
		if err != nil {
			return p, err
		}
		for _, n := range names {
			p.Objects = append(p.Objects, forge.Label{SourceID: sid(n), Name: n, Color: "#336699"})
		}
		p.Next = h.Get("X-Next-Page")
		return p, nil
	}
	var iids []int64
	h, err := get(ctx, l.env, "/issues?page="+page, &iids)
	if err != nil {
		return p, err
	}
	author := forge.SourceUser{SourceID: sid("u1"), Login: "octo", Name: "Octo"}
	for _, n := range iids {
		iid := n
		if n == testOptions(l.env).BadIssue {
			iid = 0 // the store refuses an issue without an iid
		}
		p.Objects = append(p.Objects,
			forge.Issue{SourceID: sid(fmt.Sprint(n)), IID: iid, Title: fmt.Sprintf("issue %d", n), State: forge.StateOpened, Author: author,
				CreatedAt: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), UpdatedAt: time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)},
			importer.Followup{Relation: "notes", Key: fmt.Sprint(n)})
	}
	p.Next = h.Get("X-Next-Page")
	return p, nil
}

type broken struct{}

func (broken) Name() string { return "broken" }
func (broken) Fetch(context.Context, string) (importer.Page, error) {
	return importer.Page{}, &importer.Permanent{Err: errors.New("GET /broken: 404 Not Found")}
}

type notesRel struct{ env *importer.Env }

func (notesRel) Name() string { return "notes" }

func (n notesRel) Fetch(ctx context.Context, cursor string) (importer.Page, error) {
	after, _ := strconv.ParseInt(cursor, 10, 64)
	queued, err := n.env.Followups.Next(ctx, "notes", after, 2)
	if err != nil || len(queued) == 0 {
		return importer.Page{}, err
	}
	var p importer.Page
	opts := testOptions(n.env)
	if opts.Hang {
		<-ctx.Done() // a source that stopped answering
		return p, ctx.Err()
	}
	for _, q := range queued {
		if q.Key == opts.GoneNotes {
			p.Failures = append(p.Failures, importer.ItemFailure{SourceURL: "/issues/" + q.Key + "/notes", Title: "notes of " + q.Key,
				Err: &importer.Permanent{Err: errors.New("404 Not Found")}})
			p.Next = strconv.FormatInt(q.Seq, 10)
			continue
		}
		var bodies []string
		if _, err := get(ctx, n.env, "/issues/"+q.Key+"/notes", &bodies); err != nil {
			return p, err
		}
		iid, _ := strconv.ParseInt(q.Key, 10, 64)
		for i, b := range bodies {
			p.Objects = append(p.Objects, forge.Note{SourceID: forge.SourceID{Type: "fake", Host: "fake.test", ID: fmt.Sprintf("%s-%d", q.Key, i)},
				On: forge.Noteable{Type: forge.OnIssue, IID: iid}, Body: b, Author: forge.SourceUser{SourceID: forge.SourceID{Type: "fake", Host: "fake.test", ID: "u1"}, Login: "octo"},
				CreatedAt: time.Date(2024, 1, 3, 0, 0, 0, 0, time.UTC), UpdatedAt: time.Date(2024, 1, 3, 0, 0, 0, 0, time.UTC)})
		}
		p.Next = strconv.FormatInt(q.Seq, 10)
	}
	p.Items = len(queued)
	return p, nil
}

// quickRetry retries a failed job after a moment, not River's backoff.
type quickRetry struct{}

func (quickRetry) NextRetry(*rivertype.JobRow) time.Time {
	return time.Now().Add(100 * time.Millisecond)
}

type harness struct {
	git    *gitstore.Store
	s      *store.Store
	engine *importer.Engine
	q      *queue.Queue
	forge  *fakeForge
	url    string
}

func newHarness(t *testing.T, s *store.Store, f *fakeForge, tweak func(*importer.Config)) *harness {
	t.Helper()
	ctx := context.Background()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	box, _ := secret.New("test key")
	git, err := gitstore.New(t.TempDir(), gitstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := importer.Config{Store: s, Secrets: box, Git: git, Guard: &netguard.Guard{AllowLocal: true}, Sources: []importer.Source{src{}},
		Slice: 150 * time.Millisecond}
	if tweak != nil {
		tweak(&cfg)
	}
	e, err := importer.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	workers := river.NewWorkers()
	e.Register(workers)
	q, err := queue.Open(ctx, queue.Config{Store: s, Workers: workers, MaxWorkers: 4, FetchPollInterval: 20 * time.Millisecond,
		PeriodicJobs: e.PeriodicJobs(), RetryPolicy: quickRetry{}})
	if err != nil {
		t.Fatal(err)
	}
	e.SetQueue(q)
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Stop(context.Background()) })
	return &harness{git: git, s: s, engine: e, q: q, forge: f, url: srv.URL}
}

// start creates a project and schedules its import.
func (h *harness) start(t *testing.T) *ferry.Import { return h.startWith(t, `{}`) }

// startWith schedules an import with the given options JSON.
func (h *harness) startWith(t *testing.T, options string) *ferry.Import {
	t.Helper()
	return h.schedule(t, &ferry.Import{Options: options})
}

// schedule creates a project and schedules im (source, project and user
// filled in) for it.
func (h *harness) schedule(t *testing.T, im *ferry.Import) *ferry.Import {
	t.Helper()
	ctx := context.Background()
	im.SourceType, im.SourceURL, im.SourceRef = "fake", h.url, "r"
	err := h.s.Write(ctx, func(tx *store.Tx) error {
		u := &ferry.User{Username: "importer", Name: "Importer"}
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		g := &ferry.Namespace{Kind: ferry.KindGroup, Name: "g", Path: "g", Visibility: ferry.Private}
		if err := tx.CreateNamespace(ctx, g); err != nil {
			return err
		}
		p := &ferry.Project{Name: "p", Path: "p", NamespaceID: g.ID, Visibility: ferry.Private, CreatorID: u.ID}
		if err := tx.CreateProject(ctx, p); err != nil {
			return err
		}
		im.ProjectID, im.UserID = p.ID, u.ID
		return h.engine.Schedule(ctx, tx, im, "s3cret-source-token")
	})
	if err != nil {
		t.Fatal(err)
	}
	return im
}

// wait polls the import until its status is final (the jobs run in this
// process; there is no event for "import ended" to wait on).
func (h *harness) wait(t *testing.T, id int64) *ferry.Import {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var im *ferry.Import
		if err := h.s.Read(context.Background(), func(tx *store.Tx) (err error) { im, err = tx.ImportByID(context.Background(), id); return }); err != nil {
			t.Fatal(err)
		}
		if ferry.ImportDone(im.Status) {
			return im
		}
		if time.Now().After(deadline) {
			t.Fatalf("import still %s at stage %s", im.Status, im.Stage)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func count(t *testing.T, s *store.Store, q string, args ...any) int {
	t.Helper()
	var n int
	if err := s.DB().QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A transfer in flight (a repository being fetched) shows in its relation
// and gives the import an ETA before any page is written.
func TestTransferInFlightGivesAnETA(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		f := &fakeForge{labels: 3, issues: 1, calls: map[string]int{}}
		var during *ferry.Transfer
		var eta *int64
		var importID int64
		f.onLabelsPage = func(page int) {
			if page != 1 {
				return
			}
			ctx := context.Background()
			_ = s.Read(ctx, func(tx *store.Tx) error {
				im, err := tx.ImportByID(ctx, importID)
				if err != nil {
					return err
				}
				rels, err := tx.Relations(ctx, importID)
				if err != nil {
					return err
				}
				for _, r := range rels {
					if r.Name == "labels" {
						during = &r.Transfer
					}
				}
				// Half a minute in, 40 of 100 objects: 45 s to go.
				eta = im.SecondsLeft(rels, during.StartedAt.Add(30*time.Second))
				return nil
			})
		}
		h := newHarness(t, s, f, nil)
		// f.mu orders the write of importID before the hook reads it:
		// ServeHTTP takes f.mu before it calls the hook.
		im := &ferry.Import{Options: `{"transfer": true}`}
		f.mu.Lock()
		h.schedule(t, im)
		importID = im.ID
		f.mu.Unlock()
		im = h.wait(t, im.ID)
		if im.Status != ferry.ImportFinished {
			t.Fatalf("status %s", im.Status)
		}
		if during == nil || during.Done != 40 || during.Total != 100 || during.StartedAt == nil {
			t.Fatalf("transfer during the page: %+v, want 40 of 100 objects with a start", during)
		}
		if eta == nil || *eta != 45 {
			t.Errorf("ETA during the transfer %v, want 45", eta)
		}
		if got := im.SecondsLeft(nil, time.Now()); got != nil {
			t.Errorf("ETA of a finished import %d, want none", *got)
		}
	})
}

func TestImportRunsStagesToTheEnd(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		h := newHarness(t, s, &fakeForge{labels: 5, issues: 7, calls: map[string]int{}}, nil)
		im := h.start(t)
		im = h.wait(t, im.ID)
		if im.Status != ferry.ImportFinished || im.SealedCredential != "" {
			t.Fatalf("status %s, credential wiped: %v", im.Status, im.SealedCredential == "")
		}
		if n := count(t, s, `SELECT COUNT(*) FROM labels WHERE project_id = $1`, im.ProjectID); n != 5 {
			t.Errorf("labels: %d", n)
		}
		if n := count(t, s, `SELECT COUNT(*) FROM issues WHERE project_id = $1`, im.ProjectID); n != 7 {
			t.Errorf("issues: %d", n)
		}
		if n := count(t, s, `SELECT COUNT(*) FROM notes WHERE project_id = $1`, im.ProjectID); n != 7 {
			t.Errorf("notes: %d", n)
		}
		// Every page was fetched once: 3 label pages, 4 issue pages, 7 note calls.
		if h.forge.count("/labels") != 3 || h.forge.count("/issues") != 4 {
			t.Errorf("calls: labels %d issues %d", h.forge.count("/labels"), h.forge.count("/issues"))
		}
		var rels []*ferry.ImportRelation
		var failures []*ferry.ImportFailure
		var stats []ferry.ImportStat
		_ = s.Read(context.Background(), func(tx *store.Tx) (err error) {
			if rels, err = tx.Relations(context.Background(), im.ID); err != nil {
				return err
			}
			if failures, err = tx.Failures(context.Background(), im.ID, 100); err != nil {
				return err
			}
			stats, err = tx.Stats(context.Background(), im.ID)
			return err
		})
		want := map[string][2]any{"labels": {ferry.RelationDone, int64(5)}, "issues": {ferry.RelationDone, int64(7)},
			"notes": {ferry.RelationDone, int64(7)}, "broken": {ferry.RelationFailed, int64(0)}}
		for _, r := range rels {
			if w := want[r.Name]; r.State != w[0] || r.Imported != w[1] {
				t.Errorf("relation %s: %s imported %d, want %v", r.Name, r.State, r.Imported, w)
			}
			// A per-item relation's total is what was queued for it.
			if r.Name == "notes" && r.Total != 7 {
				t.Errorf("notes total %d, want the 7 queued issues", r.Total)
			}
		}
		if len(failures) != 1 || failures[0].Relation != "broken" || !strings.Contains(failures[0].ExceptionMessage, "404") ||
			failures[0].CorrelationID != im.CorrelationID {
			t.Errorf("failures: %+v", failures)
		}
		got := map[string]int64{}
		for _, st := range stats {
			got[st.ObjectType] = st.Imported
		}
		if got["label"] != 5 || got["issue"] != 7 || got["note"] != 7 {
			t.Errorf("stats: %v", got)
		}
	})
}

func TestCancelStopsBetweenPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		release := make(chan struct{})
		requested := make(chan struct{}, 1)
		f := &fakeForge{labels: 1, issues: 9, calls: map[string]int{}}
		f.onIssuesPage = func(page int) {
			if page == 2 {
				select {
				case requested <- struct{}{}:
				default:
				}
				<-release
			}
		}
		h := newHarness(t, s, f, nil)
		im := h.start(t)
		<-requested
		ctx := context.Background()
		if err := s.Write(ctx, func(tx *store.Tx) error {
			cur, err := tx.ImportByID(ctx, im.ID)
			if err != nil {
				return err
			}
			return h.engine.Cancel(ctx, tx, cur)
		}); err != nil {
			t.Fatal(err)
		}
		close(release)
		im = h.wait(t, im.ID)
		// Let the in-flight page land, then make sure nothing else is asked.
		h.q.Stop(ctx)
		if im.Status != ferry.ImportCanceled {
			t.Fatalf("status %s", im.Status)
		}
		if n := f.count("/issues"); n > 3 {
			t.Fatalf("%d issue pages fetched after cancel", n)
		}
		for path, n := range f.calls {
			if strings.HasPrefix(path, "/issues/") {
				t.Fatalf("per-item call %s (%d) after cancel", path, n)
			}
		}
		if n := count(t, s, `SELECT COUNT(*) FROM issues WHERE project_id = $1`, im.ProjectID); n < 2 {
			t.Fatalf("data imported before cancel was not kept: %d issues", n)
		}
	})
}

func TestLongRateLimitWaitIsShownAndWaitedOut(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		var mu sync.Mutex
		// The 2 s window opens at the first source call, not at the test's
		// start: a store slow to open (a loaded machine, tests in
		// parallel) must not use the window up before the import begins.
		budget, reset := 3, time.Time{}
		f := &fakeForge{labels: 4, issues: 2, calls: map[string]int{}}
		f.rateLimited = func() (int, time.Time, bool) {
			mu.Lock()
			defer mu.Unlock()
			if reset.IsZero() {
				reset = time.Now().Add(2 * time.Second)
			}
			if time.Now().After(reset) {
				budget, reset = 100, time.Now().Add(time.Hour)
			}
			budget--
			return budget, reset, true
		}
		h := newHarness(t, s, f, func(c *importer.Config) { c.MaxRateLimitWait = 100 * time.Millisecond })
		im := h.start(t)
		sawWait := false
		deadline := time.Now().Add(60 * time.Second)
		for !ferry.ImportDone(im.Status) && time.Now().Before(deadline) {
			_ = s.Read(context.Background(), func(tx *store.Tx) (err error) { im, err = tx.ImportByID(context.Background(), im.ID); return })
			sawWait = sawWait || im.RateLimitUntil != nil
			time.Sleep(10 * time.Millisecond)
		}
		if im.Status != ferry.ImportFinished || !sawWait {
			t.Fatalf("status %s, wait shown %v", im.Status, sawWait)
		}
		if n := count(t, s, `SELECT COUNT(*) FROM labels WHERE project_id = $1`, im.ProjectID); n != 4 {
			t.Fatalf("labels after the wait: %d", n)
		}
	})
}

// failuresOf reads an import's failure list.
func failuresOf(t *testing.T, s *store.Store, id int64) []*ferry.ImportFailure {
	t.Helper()
	var out []*ferry.ImportFailure
	if err := s.Read(context.Background(), func(tx *store.Tx) (err error) { out, err = tx.Failures(context.Background(), id, 100); return }); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestItemFailuresAreListed: an item the store refuses and an item gone at
// the source are each recorded, and everything else is imported.
func TestItemFailuresAreListed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		h := newHarness(t, s, &fakeForge{labels: 1, issues: 6, calls: map[string]int{}}, nil)
		im := h.startWith(t, `{"bad_issue":4,"gone_notes":"2"}`)
		im = h.wait(t, im.ID)
		if im.Status != ferry.ImportFinished {
			t.Fatalf("status %s: %s", im.Status, im.Error)
		}
		if n := count(t, s, `SELECT COUNT(*) FROM issues WHERE project_id = $1`, im.ProjectID); n != 5 {
			t.Errorf("issues: %d, want the 5 good ones", n)
		}
		if n := count(t, s, `SELECT COUNT(*) FROM notes WHERE project_id = $1`, im.ProjectID); n != 5 {
			t.Errorf("notes: %d, want 5 (issue 2's are gone at the source)", n)
		}
		got := map[string]string{}
		for _, f := range failuresOf(t, s, im.ID) {
			got[f.Relation] += f.ExceptionClass + ":" + f.SourceTitle + ";"
		}
		if !strings.Contains(got["issues"], "ValidationError:issue 4") || !strings.Contains(got["notes"], "PermanentError:notes of 2") {
			t.Errorf("failures: %v", got)
		}
	})
}

// TestStalledStageTimeoutStrategies: a relation that never progresses
// fails the import (pessimistic) or is given up so the import goes on
// (optimistic), as GitLab's timeout_strategy.
func TestStalledStageTimeoutStrategies(t *testing.T) {
	for _, strategy := range []string{"pessimistic", "optimistic"} {
		t.Run(strategy, func(t *testing.T) {
			s := storetest.Open(t, storetest.Engines(t)[0])
			h := newHarness(t, s, &fakeForge{labels: 1, issues: 2, calls: map[string]int{}}, func(c *importer.Config) {
				c.StallTimeout = 1500 * time.Millisecond
				c.JobTimeout = 3 * time.Second // the hung fetch gives up, and its retry finds the verdict
			})
			im := h.schedule(t, &ferry.Import{Options: `{"hang":true}`, TimeoutStrategy: strategy})
			im = h.wait(t, im.ID)
			switch strategy {
			case "pessimistic":
				if im.Status != ferry.ImportFailed || im.Error != importer.PessimisticTimeoutMessage {
					t.Fatalf("status %s error %q", im.Status, im.Error)
				}
			case "optimistic":
				if im.Status != ferry.ImportFinished {
					t.Fatalf("status %s error %q", im.Status, im.Error)
				}
				fs := failuresOf(t, s, im.ID)
				if len(fs) == 0 || fs[len(fs)-1].Relation != "notes" || fs[len(fs)-1].ExceptionClass != "TimeoutError" {
					t.Fatalf("failures %+v", fs)
				}
			}
		})
	}
}

// TestProjectDeletedDuringImport: a page fetched for a project deleted
// meanwhile is dropped, and what the fetch left on disk goes with it.
func TestProjectDeletedDuringImport(t *testing.T) {
	s := storetest.Open(t, storetest.Engines(t)[0])
	release := make(chan struct{})
	requested := make(chan struct{}, 1)
	f := &fakeForge{labels: 1, issues: 9, calls: map[string]int{}}
	f.onIssuesPage = func(page int) {
		if page == 2 {
			select {
			case requested <- struct{}{}:
			default:
			}
			<-release
		}
	}
	h := newHarness(t, s, f, nil)
	im := h.start(t)
	<-requested
	ctx := context.Background()
	// As a mirror would have: the project's repository is on disk.
	if err := h.git.Create(ctx, im.ProjectID); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, func(tx *store.Tx) error { return tx.DeleteProject(ctx, im.ProjectID) }); err != nil {
		t.Fatal(err)
	}
	close(release)
	deadline := time.Now().Add(30 * time.Second)
	for h.git.Exists(im.ProjectID) {
		if time.Now().After(deadline) {
			t.Fatal("the deleted project's repository is still on disk")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
