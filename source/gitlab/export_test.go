package gitlab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-import/ferry/fakeforge"
	fakegitlab "github.com/ferry-import/ferry/fakeforge/gitlab"
	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/importer/sourcetest"
	"github.com/ferry-import/ferry/sourcehttp"
)

// startForgeWith starts fakeforge's GitLab with its own options.
func startForgeWith(t *testing.T, c scenario.Config, o fakegitlab.Options) *fakeforge.Forge {
	t.Helper()
	f, err := fakeforge.Start(context.Background(), fakeforge.Options{Scenario: c, Sources: []string{scenario.GitLab}, GitLab: o})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

var hostPort = regexp.MustCompile(`127\.0\.0\.1:\d+`)

// fingerprint is every object of a run, as text, sorted.
func fingerprint(res *sourcetest.Result) []string {
	var out []string
	for kind, objs := range res.Objects {
		for _, o := range objs {
			// Two forges: their addresses differ, nothing else may.
			out = append(out, kind+" "+hostPort.ReplaceAllString(objectText(o), "HOST"))
		}
	}
	sort.Strings(out)
	return out
}

// objectText shows an object's values (%+v would show pointers).
func objectText(o forge.Object) string {
	b, err := json.Marshal(o)
	if err != nil {
		return fmt.Sprintf("unencodable %T: %v", o, err)
	}
	return string(b)
}

// TestExportBatchedAndPolled: a source that exports in batches of three
// records, and answers "started" twice before each relation is finished,
// gives the same objects as one that exports whole files at once.
func TestExportBatchedAndPolled(t *testing.T) {
	opts := Options{Entity: KindProject, MigrateMemberships: true, Transport: TransportExport}
	run := func(o fakegitlab.Options) (*sourcetest.Result, *fakeforge.Forge) {
		f := startForgeWith(t, tiny(), o)
		return sourcetest.Run(t, suite(t, f, "acme/widgets", opts, false)), f
	}
	whole, _ := run(fakegitlab.Options{})
	batched, f := run(fakegitlab.Options{ExportBatchSize: 3, ExportPendingPolls: 2})
	a, b := fingerprint(whole), fingerprint(batched)
	if strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Errorf("batched export gives %d objects, whole files %d; they differ", len(b), len(a))
		for i := range min(len(a), len(b)) {
			if a[i] != b[i] {
				t.Logf("first difference:\n%s\n%s", a[i], b[i])
				break
			}
		}
	}
	if len(batched.Kind(forge.KindIssue)) != f.Scenario.Config().Issues || len(batched.Kind(forge.KindNote)) == 0 {
		t.Errorf("batched: %d issues, %d notes", len(batched.Kind(forge.KindIssue)), len(batched.Kind(forge.KindNote)))
	}
	// Uploads come from the exported archive, not the upload API; a source
	// that does not export them is asked link by link.
	uploadCalls := func(r *sourcetest.Result) (api, archive int) {
		for u, n := range r.Calls {
			switch {
			case strings.Contains(u, "/api/v4/projects/") && strings.Contains(u, "/uploads/"):
				api += n
			case strings.Contains(u, "/export_relations/download") && strings.Contains(u, "relation=uploads"):
				archive += n
			}
		}
		return api, archive
	}
	withoutArchive, _ := run(fakegitlab.Options{ExportWithout: []string{"uploads"}})
	ups := len(batched.Kind(forge.KindUpload))
	for _, c := range []struct {
		name              string
		r                 *sourcetest.Result
		api, archiveAtMin int
	}{{"whole", whole, 0, 1}, {"batched", batched, 0, 1}, {"without the uploads relation", withoutArchive, ups, 0}} {
		api, archive := uploadCalls(c.r)
		if n := len(c.r.Kind(forge.KindUpload)); ups == 0 || n != ups || api != c.api || archive < c.archiveAtMin || (c.archiveAtMin == 0 && archive != 0) {
			t.Errorf("%s: %d uploads (want %d), %d upload API calls (want %d), %d archive downloads", c.name, n, ups, api, c.api, archive)
		}
	}
	downloads, polls := 0, 0
	for u, n := range batched.Calls {
		switch {
		case strings.Contains(u, "/export_relations/download") && strings.Contains(u, "batch_number="):
			downloads += n
			if n != 1 {
				t.Errorf("%s downloaded %d times", u, n)
			}
		case strings.Contains(u, "/export_relations/status"):
			polls += n
		}
	}
	// issues 10 → 4 batches, merge requests 8 → 3, labels 5 → 2, milestones
	// 4 → 2, releases 4 → 2, protected branches 3 → 1, members 7 → 3.
	if downloads < 17 {
		t.Errorf("%d batch downloads; the batches were not read one by one", downloads)
	}
	if polls < 3*8 {
		t.Errorf("%d status polls for 8 relations answering 'started' twice", polls)
	}
}

// countingClient counts requests by path.
type countingClient struct {
	mu    sync.Mutex
	calls map[string]int
}

func (c *countingClient) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.calls[r.URL.Path]++
	c.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func (c *countingClient) count(suffix string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for p, k := range c.calls {
		if strings.HasSuffix(p, suffix) {
			n += k
		}
	}
	return n
}

// relationOf is the named relation of a fresh Stages call.
func relationOf(t *testing.T, s *Source, env *importer.Env, name string) importer.Relation {
	t.Helper()
	stages, err := s.Stages(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range stages {
		for _, r := range st.Relations {
			if r.Name() == name {
				return r
			}
		}
	}
	t.Fatalf("no relation %s", name)
	return nil
}

func pageText(p importer.Page) string {
	var s []string
	for _, o := range p.Objects {
		s = append(s, objectText(o))
	}
	return fmt.Sprintf("next %q items %d\n%s", p.Next, p.Items, strings.Join(s, "\n"))
}

// TestExportResume: pages of one downloaded file are read in turn from
// one download; a restarted process (a new Source) asked for a page in the
// middle downloads the file again, skips what was read, and gives the same
// page.
func TestExportResume(t *testing.T) {
	c := tiny()
	c.Issues = 250 // three pages of exportPageRecords
	f := startForgeWith(t, c, fakegitlab.Options{})
	cc := &countingClient{calls: map[string]int{}}
	raw, _ := json.Marshal(Options{Entity: KindProject, Transport: TransportExport})
	env := &importer.Env{ImportID: 1, ProjectID: 7, SourceURL: f.GitLab.URL, SourceRef: "acme/widgets", Options: raw,
		Credential: f.GitLab.Token, HTTP: &http.Client{Transport: cc}}
	ctx := context.Background()
	first := New()
	if _, err := relationOf(t, first, env, "export_request").Fetch(ctx, ""); err != nil {
		t.Fatal(err)
	}
	issues := relationOf(t, first, env, relIssues)
	p0, err := issues.Fetch(ctx, "")
	if err != nil || p0.Next == "" || p0.Total != 250 {
		t.Fatalf("start: %+v, %v", p0, err)
	}
	var pages []importer.Page
	for cursor := p0.Next; cursor != ""; {
		p, err := relationOf(t, first, env, relIssues).Fetch(ctx, cursor)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, p)
		cursor = p.Next
	}
	if len(pages) != 3 || pages[0].Items != exportPageRecords || pages[2].Items != 50 {
		t.Fatalf("%d pages: %+v", len(pages), pages)
	}
	if n := cc.count("/export_relations/download"); n != 1 {
		t.Errorf("%d downloads for one file read in three pages", n)
	}
	restarted := New()
	again, err := relationOf(t, restarted, env, relIssues).Fetch(ctx, pages[0].Next)
	if err != nil {
		t.Fatal(err)
	}
	if pageText(again) != pageText(pages[1]) {
		t.Errorf("the second page read after a restart differs:\n%.500s\nvs\n%.500s", pageText(again), pageText(pages[1]))
	}
	if n := cc.count("/export_relations/download"); n != 2 {
		t.Errorf("%d downloads after a restart, want 2", n)
	}
	// A cursor past the end of the file is refused, not read as empty.
	if _, err := relationOf(t, New(), env, relIssues).Fetch(ctx, exportCursor{records: 251}.String()); err == nil {
		t.Error("a cursor past the file's records was accepted")
	}
	for _, bad := range []string{"batch=x", "batch=2&batches=1&records=0", "batch=0&batches=2&records=0", "batch=1&batches=1&records=-1"} {
		if _, err := issues.Fetch(ctx, bad); err == nil {
			t.Errorf("cursor %q accepted", bad)
		}
	}
}

// TestExportNotMigrated: what the source exported with content and ferry
// does not read is listed, with its count, as failed items; what ferry
// reads, reads otherwise, or has nothing is not; members left out by
// choice are not either.
func TestExportNotMigrated(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v4/projects/5/export_relations/status" || r.URL.RawQuery != "" {
			http.NotFound(w, r)
			return
		}
		_, _ = io.WriteString(w, `[{"relation":"issues","status":1,"total_objects_count":9},
			{"relation":"boards","status":1,"total_objects_count":3},
			{"relation":"snippets","status":1,"total_objects_count":0},
			{"relation":"ci_pipelines","status":1,"total_objects_count":12},
			{"relation":"self","status":1,"total_objects_count":1},
			{"relation":"uploads","status":1,"total_objects_count":4},
			{"relation":"project_members","status":1,"total_objects_count":7}]`)
	}))
	defer srv.Close()
	for _, c := range []struct {
		memberships bool
		want        []string
	}{
		{false, []string{"boards: 3 at the source", "ci_pipelines: 12 at the source"}},
		{true, []string{"boards: 3 at the source", "ci_pipelines: 12 at the source"}},
	} {
		raw, _ := json.Marshal(Options{Entity: KindProject, SourceID: 5, Transport: TransportExport, MigrateMemberships: c.memberships})
		env := &importer.Env{ImportID: 1, ProjectID: 7, SourceURL: srv.URL, SourceRef: "acme/widgets", Options: raw, Credential: "t",
			HTTP: srv.Client()}
		p, err := relationOf(t, New(), env, "not_migrated").Fetch(context.Background(), "")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range p.Failures {
			got = append(got, f.Title)
			if !strings.Contains(f.Err.Error(), "not migrated") || !strings.HasPrefix(f.SourceURL, srv.URL) {
				t.Errorf("failure %+v: %v", f, f.Err)
			}
		}
		sort.Strings(got)
		if strings.Join(got, "|") != strings.Join(c.want, "|") || len(p.Objects) != 0 || p.Next != "" {
			t.Errorf("memberships %v: %q, want %q (page %+v)", c.memberships, got, c.want, p)
		}
	}
}

// TestExportNotReady: an export the source is still making is
// checkpointed as being polled (a cursor that says since when), then puts
// the job aside (a wait the engine snoozes on) instead of holding a worker
// or failing; once finished, the same fetch goes on.
func TestExportNotReady(t *testing.T) {
	// One fetch polls at most five times (250 ms doubling, 2 s): twelve
	// "started" answers outlast two fetches.
	f := startForgeWith(t, tiny(), fakegitlab.Options{ExportPendingPolls: 12})
	raw, _ := json.Marshal(Options{Entity: KindProject, Transport: TransportExport})
	env := &importer.Env{ImportID: 1, ProjectID: 7, SourceURL: f.GitLab.URL, SourceRef: "acme/widgets", Options: raw,
		Credential: f.GitLab.Token, HTTP: http.DefaultClient}
	ctx := context.Background()
	if _, err := relationOf(t, New(), env, "export_request").Fetch(ctx, ""); err != nil {
		t.Fatal(err)
	}
	labels := relationOf(t, New(), env, relLabels)
	p, err := labels.Fetch(ctx, "")
	if err != nil || !strings.HasPrefix(p.Next, "polling_since=") || len(p.Objects) != 0 {
		t.Fatalf("unfinished export, first poll: %+v, %v; want a polling cursor", p, err)
	}
	polling := p.Next
	_, err = labels.Fetch(ctx, polling)
	var wait *sourcehttp.WaitError
	if !errors.As(err, &wait) || time.Until(wait.Until) < exportPollLater/2 {
		t.Fatalf("unfinished export: %v, want a wait of about %v", err, exportPollLater)
	}
	// Later job runs poll again until fakeforge has answered "started"
	// twelve times; however few polls a slow run fits, it ends.
	for run := 3; ; run++ {
		p, err := labels.Fetch(ctx, polling)
		if errors.As(err, &wait) && run < 14 {
			continue
		}
		if err != nil || p.Next == "" || strings.HasPrefix(p.Next, "polling_since=") {
			t.Fatalf("finished export, run %d: %+v, %v", run, p, err)
		}
		break
	}
}

// TestExportTimeouts: a relation whose export stays started past the
// export timeout fails with GitLab's "Pipeline timeout", one the source
// never lists past the empty-status timeout with "Empty export status on
// source instance", both permanently and counted from the first poll as
// the cursor keeps it (a restarted process counts on); before then, the
// job waits.
func TestExportTimeouts(t *testing.T) {
	f := startForgeWith(t, tiny(), fakegitlab.Options{ExportStuck: []string{relLabels}, ExportUnlisted: []string{relMilestones}})
	raw, _ := json.Marshal(Options{Entity: KindProject, Transport: TransportExport})
	env := &importer.Env{ImportID: 1, ProjectID: 7, SourceURL: f.GitLab.URL, SourceRef: "acme/widgets", Options: raw,
		Credential: f.GitLab.Token, HTTP: http.DefaultClient}
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	src := func() *Source {
		return &Source{ExportTimeout: time.Hour, EmptyExportStatusTimeout: time.Minute, Now: clock}
	}
	if _, err := relationOf(t, src(), env, "export_request").Fetch(ctx, ""); err != nil {
		t.Fatal(err)
	}
	cursors := map[string]string{}
	for _, name := range []string{relLabels, relMilestones} {
		p, err := relationOf(t, src(), env, name).Fetch(ctx, "")
		if err != nil || !strings.HasPrefix(p.Next, "polling_since=") {
			t.Fatalf("%s, first poll: %+v, %v; want a polling cursor", name, p, err)
		}
		cursors[name] = p.Next
	}
	fetch := func(name string) error {
		_, err := relationOf(t, src(), env, name).Fetch(ctx, cursors[name]) // a new Source: as after a restart
		return err
	}
	var wait *sourcehttp.WaitError
	var perm *importer.Permanent
	advance(59 * time.Second)
	for _, name := range []string{relLabels, relMilestones} {
		if err := fetch(name); !errors.As(err, &wait) {
			t.Fatalf("%s within its timeouts: %v, want a wait", name, err)
		}
	}
	advance(2 * time.Second)
	if err := fetch(relMilestones); !errors.As(err, &perm) || err.Error() != "Empty export status on source instance" {
		t.Fatalf("unlisted past the empty-status timeout: %v", err)
	}
	if err := fetch(relLabels); !errors.As(err, &wait) {
		t.Fatalf("started within the export timeout: %v, want a wait", err)
	}
	advance(time.Hour)
	if err := fetch(relLabels); !errors.As(err, &perm) || err.Error() != "Pipeline timeout" {
		t.Fatalf("started past the export timeout: %v", err)
	}
}

// TestExportFailures: an export the source failed, a relation it never
// exported and a file it will not serve fail the relation with the
// source's reason; an optional relation a source does not know
// (user_contributions before GitLab 17) is empty, not a failure.
func TestExportFailures(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rel := r.URL.Query().Get("relation")
		switch {
		case strings.HasSuffix(r.URL.Path, "/status") && rel == "labels":
			_, _ = io.WriteString(w, `{"relation":"labels","status":-1,"error":"Error!  undefined method"}`)
		case strings.HasSuffix(r.URL.Path, "/status") && rel == "milestones":
			_, _ = io.WriteString(w, `{"relation":"milestones","status":1,"batched":false,"total_objects_count":2}`)
		case strings.HasSuffix(r.URL.Path, "/status") && rel == "user_contributions":
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":"relation does not have a valid value"}`)
		case strings.HasSuffix(r.URL.Path, "/download"):
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"message":"Export file not found"}`)
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"message":"Export not found"}`)
		}
	}))
	defer srv.Close()
	raw, _ := json.Marshal(Options{Entity: KindProject, SourceID: 5, Transport: TransportExport})
	env := &importer.Env{ImportID: 1, ProjectID: 7, SourceURL: srv.URL, SourceRef: "acme/widgets", Options: raw, Credential: "t",
		HTTP: srv.Client()}
	ctx := context.Background()
	fetchAll := func(name string) error {
		// The source never lists issues: failed at the first poll
		// past the empty-status timeout, which is 0 here.
		rel := relationOf(t, &Source{EmptyExportStatusTimeout: time.Nanosecond}, env, name)
		for cursor := ""; ; {
			p, err := rel.Fetch(ctx, cursor)
			if err != nil || p.Next == "" {
				return err
			}
			cursor = p.Next
		}
	}
	for _, c := range []struct{ relation, want string }{
		{relLabels, "the source failed to export labels: Error!  undefined method"},
		{relMilestones, "Export file not found"},
		{relIssues, "Empty export status on source instance"},
		{"user_contributions", ""},
	} {
		err := fetchAll(c.relation)
		var perm *importer.Permanent
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v, want an empty relation", c.relation, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !errors.As(err, &perm)):
			t.Errorf("%s: %v, want a permanent error saying %q", c.relation, err, c.want)
		}
	}
}
