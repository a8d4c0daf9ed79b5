package gitlab

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/forge/gitlabndjson"
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/source/internal/paging"
	"github.com/ferry-import/ferry/sourcehttp"
)

// Transports: how an entity's content is read (Options.Transport).
const (
	// TransportREST reads every relation through the REST API, item by
	// item: the path for a source with direct transfer off.
	TransportREST = "rest"
	// TransportExport reads the relations the source exports
	// (export_relations, NDJSON), as GitLab's direct transfer does.
	TransportExport = "export"
)

// Export limits and pacing.
const (
	// MaxExportFile bounds one downloaded relation file (or batch), as
	// GitLab's bulk_import_max_download_file_size (5 GiB) does.
	MaxExportFile = 5 << 30
	// exportPageRecords and exportPageObjects bound one page of an
	// exported relation: top-level records, and the objects they become
	// (a merge request carries its notes).
	exportPageRecords = 100
	exportPageObjects = 2000
	// exportPollFor is how long one fetch polls an unfinished export
	// (a small one is ready at once) before putting its job aside until
	// exportPollLater, as GitLab's pipeline re-enqueues itself after 10 s:
	// a big export must not hold a worker while it is being made.
	exportPollFor   = 2 * time.Second
	exportPollLater = 10 * time.Second
	// spoolIdle is how long a downloaded file nobody reads is kept.
	spoolIdle = 30 * time.Minute
	// DefaultExportTimeout and DefaultEmptyExportStatusTimeout are how long
	// a relation's export may stay started, or unlisted, from ferry's first
	// poll before the relation fails (Source.ExportTimeout,
	// Source.EmptyExportStatusTimeout): GitLab's NDJSON_EXPORT_TIMEOUT and
	// EMPTY_EXPORT_STATUS_TIMEOUT as the spec recalls them.
	DefaultExportTimeout            = 90 * time.Minute
	DefaultEmptyExportStatusTimeout = 5 * time.Minute
)

// The failures of a relation whose export never came, as GitLab's
// BulkImports::PipelineWorker words them.
const (
	exportTimeoutMessage     = "Pipeline timeout"
	emptyExportStatusMessage = "Empty export status on source instance"
)

// pollLimits bound how long a relation's export is polled; the zero
// value has the defaults.
type pollLimits struct {
	export, empty time.Duration
	clock         func() time.Time
}

func (p pollLimits) now() time.Time {
	if p.clock == nil {
		return time.Now()
	}
	return p.clock()
}

func (p pollLimits) exportTimeout() time.Duration {
	if p.export <= 0 {
		return DefaultExportTimeout
	}
	return p.export
}

func (p pollLimits) emptyTimeout() time.Duration {
	if p.empty <= 0 {
		return DefaultEmptyExportStatusTimeout
	}
	return p.empty
}

// Export statuses, as GitLab's export status entity gives them.
const (
	exportFailed   = -1
	exportStarted  = 0
	exportFinished = 1
)

// exportHolds are the exported relations whose records are one object
// each, by the forge kind they land as.
var exportHolds = map[string]string{"issues": forge.KindIssue, "merge_requests": forge.KindMergeRequest}

// exportStatus is lib/api/entities/bulk_imports/export_status.rb.
type exportStatus struct {
	Relation          string  `json:"relation"`
	Status            int     `json:"status"`
	Error             *string `json:"error"`
	Batched           bool    `json:"batched"`
	BatchesCount      int     `json:"batches_count"`
	TotalObjectsCount int64   `json:"total_objects_count"`
}

// entityPath is the API path of the import's entity.
func (r *run) entityPath() string {
	if r.opts.Entity == KindGroup {
		return r.groupPath()
	}
	return r.projectPath()
}

// exportRequest asks the source to export every relation of the entity,
// batched where the source batches (older versions ignore the parameter
// and export whole files; each relation's status says which). Without
// the export nothing else can be read, so it is critical.
func (r *run) exportRequest() importer.Relation {
	return paging.Critical("export_request", func(ctx context.Context) (importer.Page, error) {
		req, err := r.request(ctx, http.MethodPost, r.entityPath()+"/export_relations?batched=true")
		if err != nil {
			return importer.Page{}, err
		}
		var ignored json.RawMessage
		if _, err := do(r.env.HTTP, req, r.env.Credential, &ignored); err != nil {
			if statusIs(err, http.StatusNotFound) {
				return importer.Page{}, &importer.Permanent{Err: fmt.Errorf("the source refused to export %s (migration by direct transfer is off?): %w", r.env.SourceRef, err)}
			}
			return importer.Page{}, fmt.Errorf("request export of %s: %w", r.env.SourceRef, err)
		}
		return importer.Page{}, nil
	})
}

// log is the import's logger (none in some tests).
func (r *run) log() *slog.Logger {
	if r.env.Log != nil {
		return r.env.Log
	}
	return slog.New(slog.DiscardHandler)
}

// request builds a request for path under /api/v4/.
func (r *run) request(ctx context.Context, method, path string) (*http.Request, error) {
	u, err := r.base.Parse("api/v4/" + path)
	if err != nil {
		return nil, &importer.Permanent{Err: fmt.Errorf("bad request path %q", path)}
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return nil, &importer.Permanent{Err: err}
	}
	return req, nil
}

// exported is a relation read from the source's export: its cursor is
// "" (the export's status is not known yet), then the position of the
// next record, batch by batch.
type exported struct {
	r    *run
	name string // ferry's relation name and the exported relation's
	// optional relations are ones older sources do not export
	// (user_contributions): a source without one has nothing to give.
	optional bool
	convert  func(b *builder, raw json.RawMessage) error
}

// exportCursor is a position in an exported relation.
type exportCursor struct {
	batch   int // 1-based batch number; 0 for an unbatched export
	batches int // how many batches the export has; 0 unbatched
	records int // records of this batch (or file) already read
}

func (c exportCursor) String() string {
	return url.Values{"batch": {strconv.Itoa(c.batch)}, "batches": {strconv.Itoa(c.batches)}, "records": {strconv.Itoa(c.records)}}.Encode()
}

func parseExportCursor(s string) (exportCursor, error) {
	q, err := url.ParseQuery(s)
	var c exportCursor
	if err == nil {
		c.batch, err = strconv.Atoi(q.Get("batch"))
	}
	if err == nil {
		c.batches, err = strconv.Atoi(q.Get("batches"))
	}
	if err == nil {
		c.records, err = strconv.Atoi(q.Get("records"))
	}
	if err != nil || c.batch < 0 || c.batches < 0 || c.records < 0 || c.batch > c.batches || (c.batches > 0 && c.batch == 0) {
		return exportCursor{}, &importer.Permanent{Err: fmt.Errorf("bad export cursor %q", s)}
	}
	return c, nil
}

func (x *exported) Name() string { return x.name }

// pollCursor is the cursor of a relation whose export is being polled:
// when polling began, so the export's timeouts survive restarts.
func pollCursor(since time.Time) string {
	return url.Values{"polling_since": {strconv.FormatInt(since.UnixMilli(), 10)}}.Encode()
}

// parsePollCursor reads a pollCursor; ok is false for other cursors.
func parsePollCursor(s string) (since time.Time, ok bool, err error) {
	q, err := url.ParseQuery(s)
	if err != nil || !q.Has("polling_since") {
		return time.Time{}, false, nil
	}
	ms, err := strconv.ParseInt(q.Get("polling_since"), 10, 64)
	if err != nil || ms <= 0 {
		return time.Time{}, true, &importer.Permanent{Err: fmt.Errorf("bad export cursor %q", s)}
	}
	return time.UnixMilli(ms), true, nil
}

func (x *exported) Fetch(ctx context.Context, cursor string) (importer.Page, error) {
	if cursor == "" {
		return x.start(ctx, time.Time{})
	}
	if since, ok, err := parsePollCursor(cursor); err != nil {
		return importer.Page{}, err
	} else if ok {
		return x.start(ctx, since)
	}
	c, err := parseExportCursor(cursor)
	if err != nil {
		return importer.Page{}, err
	}
	return x.read(ctx, c)
}

// start waits for the relation's export to finish and names its first
// batch. since is when polling began (zero on the first poll): an export
// still started past the export timeout, or not listed at all past the
// empty-status timeout, fails the relation.
func (x *exported) start(ctx context.Context, since time.Time) (importer.Page, error) {
	first := since.IsZero()
	if first {
		since = x.r.polls.now()
	}
	st, err := x.status(ctx, since)
	var notYet *exportNotReady
	switch {
	case errors.As(err, &notYet) && first:
		// Checkpointed, so the timeouts count from here across restarts;
		// the next fetch polls on.
		return importer.Page{Next: pollCursor(since)}, nil
	case errors.As(err, &notYet):
		return importer.Page{}, &sourcehttp.WaitError{Until: time.Now().Add(exportPollLater)}
	case err != nil && x.optional && (statusIs(err, http.StatusNotFound) || statusIs(err, http.StatusBadRequest)):
		x.r.log().InfoContext(ctx, "the source does not export this relation; users are taken from the content instead",
			"import_id", x.r.env.ImportID, "relation", x.name, "error", err.Error())
		return importer.Page{}, nil
	case err != nil:
		return importer.Page{}, err
	}
	p := importer.Page{Total: st.TotalObjectsCount}
	// Every top-level record of these is one object: the export's count is
	// checked against what landed when the import ends.
	if kind := exportHolds[x.name]; kind != "" && st.TotalObjectsCount > 0 {
		p.Expect = []ferry.Expectation{{Type: x.name, Kind: kind, Count: st.TotalObjectsCount, Title: x.name + " the source exported"}}
	}
	switch {
	case st.Batched && st.BatchesCount > 0:
		p.Next = exportCursor{batch: 1, batches: st.BatchesCount}.String()
	case st.Batched: // nothing to export
	default:
		p.Next = exportCursor{}.String()
	}
	return p, nil
}

// exportNotReady is a status poll that found the export started, or the
// relation not listed, within its timeouts: the job is put aside and polls
// again later, holding no worker meanwhile.
type exportNotReady struct{ started bool }

func (e *exportNotReady) Error() string {
	if e.started {
		return "the export is still being made"
	}
	return "the source does not list the export yet"
}

// status polls the relation's export status until it is finished, for a
// while (exportNotReady then). A relation the source does not list (an
// empty answer, a list without it, 404) counts as not exported yet, as
// GitLab's importer treats an empty status; an optional relation's 404 or
// 400 is returned as is.
func (x *exported) status(ctx context.Context, since time.Time) (exportStatus, error) {
	path := x.r.entityPath() + "/export_relations/status?relation=" + url.QueryEscape(x.name)
	deadline := time.Now().Add(exportPollFor)
	for wait := 250 * time.Millisecond; ; wait = min(wait*2, 5*time.Second) {
		var raw json.RawMessage
		err := x.r.get(ctx, path, &raw)
		if err != nil && (x.optional || !statusIs(err, http.StatusNotFound)) {
			return exportStatus{}, fmt.Errorf("export status of %s: %w", x.name, err)
		}
		var st exportStatus
		listed := false
		if err == nil {
			if st, listed, err = x.pick(raw); err != nil {
				return st, fmt.Errorf("export status of %s: %w", x.name, err)
			}
		}
		waited := x.r.polls.now().Sub(since)
		switch {
		case !listed && waited > x.r.polls.emptyTimeout():
			return st, &importer.Permanent{Err: errors.New(emptyExportStatusMessage)}
		case !listed:
		case st.Status == exportFinished:
			return st, nil
		case st.Status == exportFailed:
			msg := "no reason given"
			if st.Error != nil && *st.Error != "" {
				msg = *st.Error
			}
			return st, &importer.Permanent{Err: fmt.Errorf("the source failed to export %s: %s", x.name, msg)}
		case st.Status == exportStarted && waited > x.r.polls.exportTimeout():
			return st, &importer.Permanent{Err: errors.New(exportTimeoutMessage)}
		case st.Status == exportStarted:
		default:
			return st, &importer.Permanent{Err: fmt.Errorf("export of %s has unknown status %d", x.name, st.Status)}
		}
		if !time.Now().Add(wait).Before(deadline) {
			return st, &exportNotReady{started: listed}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return st, ctx.Err()
		case <-t.C:
		}
	}
}

// pick finds the relation in a status answer: one object (asked by
// relation), a list (sources that ignore the parameter) or nothing.
func (x *exported) pick(raw json.RawMessage) (exportStatus, bool, error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || bytes.Equal(raw, []byte("null")):
		return exportStatus{}, false, nil
	case raw[0] == '[':
		var list []exportStatus
		if err := json.Unmarshal(raw, &list); err != nil {
			return exportStatus{}, false, err
		}
		for _, st := range list {
			if st.Relation == x.name {
				return st, true, nil
			}
		}
		return exportStatus{}, false, nil
	}
	var st exportStatus
	if err := json.Unmarshal(raw, &st); err != nil {
		return st, false, err
	}
	return st, st.Relation == x.name, nil
}

// downloadPath is where a batch (or the whole file) of the relation is.
func (x *exported) downloadPath(batch int) string {
	q := url.Values{"relation": {x.name}}
	if batch > 0 {
		q.Set("batched", "true")
		q.Set("batch_number", strconv.Itoa(batch))
	}
	return x.r.entityPath() + "/export_relations/download?" + q.Encode()
}

// read converts the records of one page at c.
func (x *exported) read(ctx context.Context, c exportCursor) (importer.Page, error) {
	key := spoolKey{importID: x.r.env.ImportID, relation: x.name, batch: c.batch}
	sp, err := x.r.spools.open(ctx, key, c.records, func(w io.Writer) error { return x.download(ctx, c.batch, w) })
	if err != nil {
		return importer.Page{}, fmt.Errorf("%s batch %d: %w", x.name, c.batch, err)
	}
	defer sp.mu.Unlock() // open returned it locked for this page
	b := x.r.builder()
	src := x.r.base.String() + "api/v4/" + x.downloadPath(c.batch)
	n := 0
	for n < exportPageRecords && len(b.Objects()) < exportPageObjects {
		raw, err := sp.next()
		if err == io.EOF {
			x.r.spools.done(key, sp)
			b.CountItems(n)
			p := b.Page("")
			if c.batch > 0 && c.batch < c.batches {
				p.Next = exportCursor{batch: c.batch + 1, batches: c.batches}.String()
			}
			return p, nil
		}
		if err != nil {
			// A damaged file: drop it, so a retry downloads it again.
			x.r.spools.done(key, sp)
			return importer.Page{}, fmt.Errorf("%s batch %d record %d: %w", x.name, c.batch, c.records+n+1, err)
		}
		n++
		if err := x.convert(b, raw); err != nil {
			b.Fail(importer.ItemFailure{SourceURL: src, Title: fmt.Sprintf("%s record %d of batch %d", x.name, c.records+n, c.batch), Err: err})
		}
	}
	b.CountItems(n)
	c.records += n
	return b.Page(c.String()), nil
}

// download writes a relation file (or batch) as the source serves it.
func (x *exported) download(ctx context.Context, batch int, w io.Writer) error {
	req, err := x.r.request(ctx, http.MethodGet, x.downloadPath(batch))
	if err != nil {
		return err
	}
	req.Header.Set(privateTokenHdr, x.r.env.Credential)
	resp, err := x.r.env.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("download %s: %w", x.name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("download %s: %w", x.name, statusError(resp))
	}
	n, err := io.Copy(w, io.LimitReader(resp.Body, MaxExportFile+1))
	if err != nil {
		return fmt.Errorf("download %s: %w", x.name, err)
	}
	if n > MaxExportFile {
		return &importer.Permanent{Err: fmt.Errorf("download %s: the file is larger than %d bytes", x.name, int64(MaxExportFile))}
	}
	return nil
}

// spools keeps downloaded relation files on disk between the pages of a
// relation, each with a reader where the last page stopped, so a file is
// downloaded once and read once however many pages it makes; never more
// than one record of it is in memory. A process that restarts, or a page
// asked out of turn, reopens the file (or downloads it again) and skips
// the records already read.
type spools struct {
	mu sync.Mutex
	m  map[spoolKey]*spool
}

type spoolKey struct {
	importID int64
	relation string
	batch    int
}

// spool is one downloaded file and its reader.
type spool struct {
	mu   sync.Mutex // held by the page reading it
	f    *os.File
	rd   *gitlabndjson.Reader
	read int // records read so far
	used time.Time
	gone bool // removed from the cache; the file is deleted
}

func newSpools() *spools { return &spools{m: map[spoolKey]*spool{}} }

// open returns the spool of key positioned after records records, locked
// for the caller, who unlocks it after its page; download fills a new file.
func (s *spools) open(ctx context.Context, key spoolKey, records int, download func(io.Writer) error) (*spool, error) {
	s.mu.Lock()
	s.evictLocked(time.Now())
	sp := s.m[key]
	if sp == nil {
		sp = &spool{}
		s.m[key] = sp
	}
	s.mu.Unlock()
	sp.mu.Lock()
	sp.used = time.Now()
	if sp.gone { // removed while this caller waited: start afresh
		sp.mu.Unlock()
		return s.open(ctx, key, records, download)
	}
	if sp.rd != nil && sp.read == records {
		return sp, nil
	}
	if err := sp.rewind(ctx, download); err != nil {
		s.done(key, sp)
		sp.mu.Unlock()
		return nil, err
	}
	for sp.read < records {
		if _, err := sp.next(); err != nil {
			s.done(key, sp)
			sp.mu.Unlock()
			if err == io.EOF {
				err = fmt.Errorf("the file has %d records, fewer than the %d already read", sp.read, records)
			}
			return nil, err
		}
	}
	return sp, nil
}

// rewind (re)opens the spool's reader at the first record, downloading
// the file if it has none.
func (sp *spool) rewind(ctx context.Context, download func(io.Writer) error) error {
	if sp.rd != nil {
		_ = sp.rd.Close()
		sp.rd = nil
	}
	if sp.f == nil {
		f, err := os.CreateTemp("", "ferry-gitlab-export-*.ndjson.gz")
		if err != nil {
			return fmt.Errorf("spool file: %w", err)
		}
		// The name is not needed once open: the file goes when closed.
		_ = os.Remove(f.Name())
		if err := download(f); err != nil {
			f.Close()
			return err
		}
		sp.f = f
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, err := sp.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rewind spool file: %w", err)
	}
	rd, err := gitlabndjson.NewReader(sp.f)
	if err != nil {
		return err
	}
	sp.rd, sp.read = rd, 0
	return nil
}

// next reads one record.
func (sp *spool) next() (json.RawMessage, error) {
	raw, _, err := sp.rd.Next()
	if err == nil {
		sp.read++
	}
	return raw, err
}

// done closes a spool whose file was read to the end (or is damaged)
// and forgets it; the caller holds its lock and drops it after.
func (s *spools) done(key spoolKey, sp *spool) {
	s.mu.Lock()
	if s.m[key] == sp {
		delete(s.m, key)
	}
	s.mu.Unlock()
	sp.close()
}

func (sp *spool) close() {
	sp.gone = true
	if sp.rd != nil {
		_ = sp.rd.Close()
		sp.rd = nil
	}
	if sp.f != nil {
		_ = sp.f.Close()
		sp.f = nil
	}
}

// evictLocked closes spools nobody read for spoolIdle (an import canceled
// or failed mid-relation), skipping those in use.
func (s *spools) evictLocked(now time.Time) {
	for k, sp := range s.m {
		if !sp.mu.TryLock() {
			continue
		}
		if now.Sub(sp.used) > spoolIdle && sp.used != (time.Time{}) {
			delete(s.m, k)
			sp.close()
		}
		sp.mu.Unlock()
	}
}

// exportStages are the stages of an entity read from its export, in
// direct transfer's order; who is who (user_contributions, members) lands
// before the content that references people by id.
func (r *run) exportStages() []importer.Stage {
	rel := func(name string, convert func(b *builder, raw json.RawMessage) error) importer.Relation {
		return &exported{r: r, name: name, convert: convert}
	}
	users := &exported{r: r, name: "user_contributions", optional: true, convert: (*builder).exUser}
	if r.opts.Entity == KindGroup {
		rels := []importer.Relation{users, rel(relLabels, (*builder).exLabel), rel(relMilestones, (*builder).exMilestone),
			rel(relBadges, (*builder).exBadge)}
		if r.opts.MigrateMemberships {
			rels = append(rels, rel(relMembers, (*builder).exGroupMember))
		}
		stages := []importer.Stage{
			{Name: "export", Relations: []importer.Relation{r.exportRequest()}},
			{Name: "labels", Relations: rels},
		}
		return append(stages, importer.Stage{Name: "not_migrated", Relations: []importer.Relation{r.notMigrated(stages)}})
	}
	second := []importer.Relation{users, rel(relLabels, (*builder).exLabel), rel(relMilestones, (*builder).exMilestone),
		rel("project_badges", (*builder).exBadge)}
	if r.opts.MigrateMemberships {
		second = append(second, rel("project_members", (*builder).exMember))
	}
	stages := []importer.Stage{
		{Name: "repository", Relations: []importer.Relation{paging.Critical(relRepository, r.repository), r.exportRequest()}},
		{Name: "labels", Relations: second},
		{Name: "issues", Relations: []importer.Relation{rel(relIssues, (*builder).exIssue), rel(relMRs, (*builder).exMergeRequest),
			rel(relReleases, (*builder).exRelease), rel(relProtected, (*builder).exProtectedBranch)}},
		{Name: "lfs_objects", Relations: []importer.Relation{r.lfsObjects()}},
		// Last: every body linking an upload is stored by then.
		{Name: "attachments", Relations: []importer.Relation{r.attachments().Relation()}},
	}
	last := &stages[len(stages)-1]
	last.Relations = append(last.Relations, r.notMigrated(stages))
	return stages
}

// readElsewhere are exported relations ferry reads another way: the
// project through REST, the repository and wiki by cloning, LFS objects
// through the LFS API, uploads one by one (attachments.go).
var readElsewhere = map[string]bool{"self": true, "repository": true, "wiki": true, "lfs_objects": true, "uploads": true}

// notMigrated lists, from the export's own status list (one call), every
// relation the source exported with content that ferry does not read
// (boards, snippets, CI pipelines… see Unmodelled), with its count at the
// source, as a failed item: what a migration leaves behind is never
// silent. The relations ferry reads are those of its stages.
func (r *run) notMigrated(stages []importer.Stage) importer.Relation {
	read := map[string]bool{}
	for _, st := range stages {
		for _, rel := range st.Relations {
			read[rel.Name()] = true
		}
	}
	return paging.NewList(ferry.NotMigratedRelation, paging.ListFuncs[exportStatus]{
		First: func(context.Context) (string, error) { return "status", nil },
		Fetch: func(ctx context.Context, _ string) (paging.Fetched[exportStatus], error) {
			var sts []exportStatus
			if err := r.get(ctx, r.entityPath()+"/export_relations/status", &sts); err != nil {
				return paging.Fetched[exportStatus]{}, fmt.Errorf("export statuses: %w", err)
			}
			return paging.Fetched[exportStatus]{Items: sts}, nil
		},
		Convert: func(_ context.Context, sts []exportStatus) (*paging.Builder, error) {
			b := paging.NewBuilder()
			for _, st := range sts {
				if read[st.Relation] || readElsewhere[st.Relation] || st.TotalObjectsCount <= 0 ||
					(!r.opts.MigrateMemberships && (st.Relation == "project_members" || st.Relation == relMembers)) {
					continue // read, empty, or left out by choice (migrate_memberships false)
				}
				b.Fail(importer.ItemFailure{SourceURL: r.base.String() + "api/v4/" + r.entityPath() + "/export_relations/status?relation=" +
					url.QueryEscape(st.Relation), Title: ferry.NotMigratedTitle(st.Relation, int64(st.TotalObjectsCount)),
					Err: &importer.Permanent{Err: fmt.Errorf("ferry does not model %s: not migrated", st.Relation)}})
			}
			b.CountItems(len(sts))
			return b, nil
		},
	})
}
