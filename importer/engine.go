package importer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/gitstore"
	"github.com/ferry-import/ferry/netguard"
	"github.com/ferry-import/ferry/queue"
	"github.com/ferry-import/ferry/secret"
	"github.com/ferry-import/ferry/sourcehttp"
	"github.com/ferry-import/ferry/store"
	"github.com/ferry-import/ferry/uploads"
)

// Config wires an Engine.
type Config struct {
	Store   *store.Store
	Secrets *secret.Box
	Git     *gitstore.Store
	// Uploads holds attachments sources download (Env.Uploads); nil
	// leaves Env.Uploads and Env.Downloads nil.
	Uploads *uploads.Store
	Guard   *netguard.Guard
	Sources []Source
	Log     *slog.Logger
	// Registry receives the import metrics; nil skips them.
	Registry *prometheus.Registry
	// Clock for rate-limit waits (tests); nil is the wall clock.
	Clock sourcehttp.Clock
	// Slice is how long one relation job runs before it yields its worker
	// (default 30s); a killed worker loses at most the page in flight.
	Slice time.Duration
	// MaxRateLimitWait is the longest a job blocks for a rate limit before
	// it puts itself aside until the reset instead (default 30s).
	MaxRateLimitWait time.Duration
	// StallTimeout is how long a stage may make no progress before the
	// import's timeout strategy applies (default 2h, as GitLab).
	StallTimeout time.Duration
	// PerHost bounds concurrent relation jobs per source host in this
	// process (default 4).
	PerHost int
	// JobTimeout bounds one relation job, a repository mirror included
	// (default Slice + 5m). The queue's leases, not this, tell a live job
	// from a dead one, and River's rescuer waits at least this long.
	JobTimeout time.Duration
	// PageConcurrency is how many pages of one relation may be fetched at
	// once when the source announces them (default 4).
	PageConcurrency int
	// FetchAttempts bounds attempts of one page fetch whose answer was
	// unusable (truncated, malformed) after the transport's own retries
	// (default 5).
	FetchAttempts int
}

// Engine runs imports as jobs.
type Engine struct {
	cfg       Config
	queue     *queue.Queue
	sources   map[string]Source
	governors *sourcehttp.Registry
	transport http.RoundTripper

	mu      sync.Mutex
	hostSem map[string]chan struct{}
	// ended is told, in the transaction that ends an import, that it ended
	// (OnEnd).
	ended func(ctx context.Context, tx *store.Tx, im *ferry.Import) error

	calls    *prometheus.CounterVec
	objects  *prometheus.CounterVec
	waits    *prometheus.CounterVec
	finished *prometheus.CounterVec
}

// New builds an engine. Register its workers on the queue's Workers before
// the queue is opened, then call SetQueue.
func New(cfg Config) (*Engine, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Slice == 0 {
		cfg.Slice = 30 * time.Second
	}
	if cfg.MaxRateLimitWait == 0 {
		cfg.MaxRateLimitWait = 30 * time.Second
	}
	if cfg.StallTimeout == 0 {
		cfg.StallTimeout = 2 * time.Hour
	}
	if cfg.PerHost == 0 {
		cfg.PerHost = 4
	}
	if cfg.JobTimeout == 0 {
		cfg.JobTimeout = cfg.Slice + 5*time.Minute
	}
	if cfg.PageConcurrency == 0 {
		cfg.PageConcurrency = 4
	}
	if cfg.FetchAttempts == 0 {
		cfg.FetchAttempts = 5
	}
	if cfg.Clock == nil {
		cfg.Clock = sourcehttp.RealClock{}
	}
	if cfg.Guard == nil {
		cfg.Guard = &netguard.Guard{}
	}
	e := &Engine{cfg: cfg, sources: map[string]Source{}, governors: sourcehttp.NewRegistry(cfg.Clock),
		transport: cfg.Guard.Transport(), hostSem: map[string]chan struct{}{}}
	for _, s := range cfg.Sources {
		e.sources[s.Type()] = s
	}
	e.calls = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ferry_import_source_calls_total", Help: "HTTP calls made to import sources."}, []string{"source"})
	e.objects = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ferry_import_objects_total", Help: "Objects imported by kind."}, []string{"source", "kind"})
	e.waits = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ferry_import_rate_limit_waits_total", Help: "Times an import paused for a source rate limit."}, []string{"source"})
	e.finished = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ferry_imports_total", Help: "Imports ended, by final status."}, []string{"source", "status"})
	if cfg.Registry != nil {
		for _, c := range []prometheus.Collector{e.calls, e.objects, e.waits, e.finished} {
			if err := cfg.Registry.Register(c); err != nil {
				return nil, fmt.Errorf("register import metrics: %w", err)
			}
		}
	}
	return e, nil
}

// Register adds the engine's job workers.
func (e *Engine) Register(w *river.Workers) {
	river.AddWorker(w, &stageWorker{e: e})
	river.AddWorker(w, &relationWorker{e: e})
	river.AddWorker(w, &watchdogWorker{e: e})
}

// PeriodicJobs are the engine's scheduled jobs (the stall watchdog).
func (e *Engine) PeriodicJobs() []*river.PeriodicJob {
	every := min(time.Minute, max(e.cfg.StallTimeout/4, time.Second))
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(every),
		func() (river.JobArgs, *river.InsertOpts) { return watchdogArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true})}
}

// OnEnd has fn told about every import that ends (finished, failed,
// canceled), inside the transaction that ends it: a GitLab migration moves
// on to its next entities from there. Call before the queue starts.
func (e *Engine) OnEnd(fn func(ctx context.Context, tx *store.Tx, im *ferry.Import) error) {
	e.ended = fn
}

// end tells the OnEnd hook an import ended.
func (e *Engine) end(ctx context.Context, tx *store.Tx, im *ferry.Import) error {
	if e.ended == nil {
		return nil
	}
	return e.ended(ctx, tx, im)
}

// SetQueue gives the engine the queue it enqueues on.
func (e *Engine) SetQueue(q *queue.Queue) { e.queue = q }

// Source returns the registered source for a type.
func (e *Engine) Source(typ string) (Source, bool) {
	s, ok := e.sources[typ]
	return s, ok
}

// HasSource reports whether the engine runs imports of a source type.
func (e *Engine) HasSource(typ string) bool {
	_, ok := e.sources[typ]
	return ok
}

// governor is the rate-limit budget of credential at apiBase's host,
// shared by every import and check using both; budget names another of
// the source's budgets for the credential ("" for the main one).
func (e *Engine) governor(apiBase, credential, budget string) (*sourcehttp.Governor, string, error) {
	u, err := url.Parse(apiBase)
	if err != nil || u.Host == "" {
		return nil, "", ferry.Errorf(ferry.EINVALID, "invalid source URL")
	}
	sum := sha256.Sum256([]byte(credential))
	key := u.Host + "#" + hex.EncodeToString(sum[:8])
	if budget != "" {
		key += "#" + budget
	}
	return e.governors.Get(key), u.Host, nil
}

// RateLimitedUntil tells until when the rate-limit budget of credential at
// apiBase's host is known to be spent or nearly spent
// (sourcehttp.Governor.SpentUntil), as this process's imports and checks
// have seen it; the zero time when it is not, or nothing is known.
func (e *Engine) RateLimitedUntil(apiBase, credential string) time.Time {
	gov, _, err := e.governor(apiBase, credential, "")
	if err != nil {
		return time.Time{}
	}
	return gov.SpentUntil()
}

// CheckURL refuses a source URL imports may not reach (the guard's):
// the early, friendly check before an import is accepted.
func (e *Engine) CheckURL(ctx context.Context, rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("%w: not a URL", netguard.ErrBlocked)
	}
	return e.cfg.Guard.CheckURL(ctx, u)
}

// Schedule records a new import and enqueues its first stage in the
// caller's transaction, so the import exists exactly when its job does.
// The credential is sealed before it is stored.
func (e *Engine) Schedule(ctx context.Context, tx *store.Tx, im *ferry.Import, credential string) error {
	sealed, err := e.cfg.Secrets.Seal(credential)
	if err != nil {
		return err
	}
	im.SealedCredential = sealed
	if im.CorrelationID == "" {
		im.CorrelationID = newCorrelationID()
	}
	if err := tx.CreateImport(ctx, im); err != nil {
		return err
	}
	_, err = e.queue.Enqueue(ctx, tx, stageArgs{ImportID: im.ID, Stage: 0}, nil)
	return err
}

// Cancel ends an import as canceled; running jobs stop before their next
// page. Imported data stays.
func (e *Engine) Cancel(ctx context.Context, tx *store.Tx, im *ferry.Import) error {
	if err := tx.SetImportStatus(ctx, im, ferry.ImportCanceled, ""); err != nil {
		return err
	}
	e.finished.WithLabelValues(im.SourceType, ferry.ImportCanceled).Inc()
	return e.end(ctx, tx, im)
}

// HTTPClient builds the source client for one import: guarded dialing,
// only the source's host, retries, a governor shared by every import using
// the same host and credential, call accounting.
func (e *Engine) HTTPClient(sourceType, apiBase, credential string, onCall func()) (*http.Client, *sourcehttp.Governor, error) {
	return e.budgetClient(sourceType, apiBase, credential, "", onCall)
}

// BudgetClient is HTTPClient for another of the source's rate-limit
// budgets for the credential (Env.Budget's; GitHub's "graphql"), for the
// checks an endpoint makes before an import exists.
func (e *Engine) BudgetClient(sourceType, apiBase, credential, budget string) (*http.Client, error) {
	c, _, err := e.budgetClient(sourceType, apiBase, credential, budget, nil)
	return c, err
}

// budgetClient is HTTPClient for one named budget of the credential.
func (e *Engine) budgetClient(sourceType, apiBase, credential, budget string, onCall func()) (*http.Client, *sourcehttp.Governor, error) {
	gov, host, err := e.governor(apiBase, credential, budget)
	if err != nil {
		return nil, nil, err
	}
	calls := e.calls.WithLabelValues(sourceType)
	t := &sourcehttp.Transport{Base: e.transport, Governor: gov, Clock: e.cfg.Clock, MaxWait: e.cfg.MaxRateLimitWait,
		Hosts: []string{host}, OnCall: func(*http.Request) {
			calls.Inc()
			if onCall != nil {
				onCall()
			}
		}}
	return &http.Client{Transport: t, CheckRedirect: netguard.SameHostRedirects}, gov, nil
}

// DownloadClient builds the client for files a source's bodies link to
// (Env.Downloads): guarded dialing, retries, call accounting, no rate-limit
// governor (these are not API calls) and no host restriction. It follows
// at most five redirects (attachment hosts redirect to storage hosts),
// never from https down to http, and drops the Authorization header a
// source sets as soon as a redirect leaves the original host.
func (e *Engine) DownloadClient(sourceType string) *http.Client {
	calls := e.calls.WithLabelValues(sourceType)
	t := &sourcehttp.Transport{Base: e.transport, Clock: e.cfg.Clock, OnCall: func(*http.Request) { calls.Inc() }}
	return &http.Client{Transport: t, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return errors.New("stopped after 5 redirects")
		}
		if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
			return fmt.Errorf("%w: redirect to scheme %q", netguard.ErrBlocked, req.URL.Scheme)
		}
		first := via[0].URL
		if first.Scheme == "https" && req.URL.Scheme != "https" {
			return fmt.Errorf("%w: redirect from https to %s", netguard.ErrBlocked, req.URL.Scheme)
		}
		// The credential goes to the host it was meant for, nowhere else:
		// Go keeps it on a redirect to a subdomain, this does not.
		if !strings.EqualFold(req.URL.Host, first.Host) {
			req.Header.Del("Authorization")
		}
		return nil
	}}
}

// env builds the Env of an import for its source.
func (e *Engine) env(ctx context.Context, im *ferry.Import) (*Env, Source, *governors, error) {
	src, ok := e.sources[im.SourceType]
	if !ok {
		return nil, nil, nil, fmt.Errorf("no source for import type %q", im.SourceType)
	}
	sealed, err := e.cfg.Secrets.Open(im.SealedCredential)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("open credential of import %d: %w", im.ID, err)
	}
	creds, err := ferry.SplitCredentials(sealed)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("credentials of import %d: %w", im.ID, err)
	}
	cred := creds[0]
	client, gov, err := e.HTTPClient(im.SourceType, im.SourceURL, cred, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	govs := &governors{e: e, im: im, credentials: creds, clients: map[string]*http.Client{"": client}}
	govs.add(0, "", gov)
	env := &Env{ImportID: im.ID, ProjectID: im.ProjectID, NamespaceID: im.NamespaceID, SourceURL: im.SourceURL, SourceRef: im.SourceRef,
		Options: json.RawMessage(im.Options), Credential: cred, Credentials: creds, HTTP: client, Budget: govs.client, Pool: govs.pool, Git: e.cfg.Git,
		Followups: followups{s: e.cfg.Store, importID: im.ID}, Log: e.cfg.Log.With("import_id", im.ID, "correlation_id", im.CorrelationID)}
	if e.cfg.Uploads != nil {
		env.Uploads, env.Downloads = e.cfg.Uploads, e.DownloadClient(im.SourceType)
	}
	return env, src, govs, nil
}

// governors are the rate-limit budgets one import job uses: each
// credential's (Env.Credentials) main one ("", Env.HTTP for the first) and
// those the source asks for by name (Env.Budget, Env.Pool), made on first
// use. A listener set with listen hears the waits of every one of them.
type governors struct {
	e           *Engine
	im          *ferry.Import
	credentials []string

	mu      sync.Mutex
	clients map[string]*http.Client // Env.Budget's, by budget name
	govs    []budgetGov
	fn      func(until time.Time)
	stops   []func()
	// written is the budgets last recorded on the import, and when.
	written     []ferry.ImportBudget
	writtenTime time.Time
}

// budgetGov is one credential's governor of one budget.
type budgetGov struct {
	cred   int // index in credentials
	budget string
	gov    *sourcehttp.Governor
}

// add keeps a governor for listening and reporting, once. g.mu is held
// (or g is not shared yet).
func (g *governors) add(cred int, budget string, gov *sourcehttp.Governor) {
	for _, b := range g.govs {
		if b.gov == gov {
			return
		}
	}
	g.govs = append(g.govs, budgetGov{cred: cred, budget: budget, gov: gov})
	if g.fn != nil {
		g.stops = append(g.stops, gov.Listen(g.fn))
	}
}

// budgetClient is the client of one credential's budget, its governor
// kept; a client that refuses every call when it cannot be made (the main
// client was made from the same URL, so this cannot fail where that did
// not).
func (g *governors) budgetClient(cred int, name string) (*http.Client, *sourcehttp.Governor) {
	c, gov, err := g.e.budgetClient(g.im.SourceType, g.im.SourceURL, g.credentials[cred], name, nil)
	if err != nil {
		return &http.Client{Transport: failingTransport{err}}, nil
	}
	g.add(cred, name, gov)
	return c, gov
}

func (g *governors) client(name string) *http.Client {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c, ok := g.clients[name]; ok {
		return c
	}
	c, _ := g.budgetClient(0, name)
	g.clients[name] = c
	return c
}

// pool is Env.Pool.
func (g *governors) pool(name string, auth func(credential string, rt http.RoundTripper) http.RoundTripper) *http.Client {
	g.mu.Lock()
	defer g.mu.Unlock()
	p := &sourcehttp.Pool{}
	for i, cred := range g.credentials {
		c, gov := g.budgetClient(i, name)
		if gov == nil {
			return c
		}
		p.Members = append(p.Members, sourcehttp.PoolMember{Transport: auth(cred, c.Transport), Governor: gov})
	}
	if len(p.Members) == 1 {
		return &http.Client{Transport: p.Members[0].Transport, CheckRedirect: netguard.SameHostRedirects}
	}
	return &http.Client{Transport: p, CheckRedirect: netguard.SameHostRedirects}
}

// budgets is what the governors know of each credential's budgets, in
// the order they were first used.
func (g *governors) budgets() []ferry.ImportBudget {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]ferry.ImportBudget, 0, len(g.govs))
	for _, b := range g.govs {
		remaining, limit, reset := b.gov.Window()
		if limit < 0 && remaining < 0 {
			continue // nothing known yet
		}
		ib := ferry.ImportBudget{Credential: b.cred + 1, Kind: ferry.CredentialKind(g.credentials[b.cred]), Budget: b.budget,
			Remaining: int64(remaining), Limit: int64(limit)}
		if !reset.IsZero() {
			r := reset.UTC()
			ib.ResetAt = &r
		}
		out = append(out, ib)
	}
	return out
}

// budgetsToWrite is the budgets to record on the import now: nil when
// they are as last written, or were written less than budgetEvery ago.
func (g *governors) budgetsToWrite(now time.Time) []ferry.ImportBudget {
	bs := g.budgets()
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(bs) == 0 || now.Sub(g.writtenTime) < budgetEvery || slices.EqualFunc(bs, g.written, ferry.ImportBudget.Equal) {
		return nil
	}
	g.written, g.writtenTime = bs, now
	return bs
}

// budgetEvery bounds how often a job records the budgets it sees.
const budgetEvery = 5 * time.Second

// listen tells fn of the waits of every budget, those made later too,
// until the returned func is called.
func (g *governors) listen(fn func(until time.Time)) func() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.fn = fn
	for _, b := range g.govs {
		g.stops = append(g.stops, b.gov.Listen(fn))
	}
	return func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		for _, s := range g.stops {
			s()
		}
		g.stops, g.fn = nil, nil
	}
}

// failingTransport answers every request with one error.
type failingTransport struct{ err error }

func (t failingTransport) RoundTrip(*http.Request) (*http.Response, error) { return nil, t.err }

// followups reads the store's followup queue for one import.
type followups struct {
	s        *store.Store
	importID int64
}

func (f followups) Next(ctx context.Context, relation string, after int64, limit int) ([]Queued, error) {
	var out []Queued
	err := f.s.Read(ctx, func(tx *store.Tx) error {
		seqs, keys, err := tx.NextFollowups(ctx, f.importID, relation, after, limit)
		for i := range seqs {
			out = append(out, Queued{Seq: seqs[i], Key: keys[i]})
		}
		return err
	})
	return out, err
}

// --- jobs -----------------------------------------------------------------

type stageArgs struct {
	ImportID int64 `json:"import_id" river:"unique"`
	Stage    int   `json:"stage" river:"unique"`
}

func (stageArgs) Kind() string { return "import_stage" }

func (stageArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

type relationArgs struct {
	ImportID int64  `json:"import_id" river:"unique"`
	Relation string `json:"relation" river:"unique"`
}

func (relationArgs) Kind() string { return "import_relation" }

func (relationArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

type watchdogArgs struct{}

func (watchdogArgs) Kind() string { return "import_watchdog" }

type stageWorker struct {
	river.WorkerDefaults[stageArgs]
	e *Engine
}

// Work starts a stage: records its relations and enqueues one job each, in
// one transaction. Past the last stage it finishes the import.
func (w *stageWorker) Work(ctx context.Context, job *river.Job[stageArgs]) error {
	e := w.e
	p, err := e.plan(ctx, job.Args.ImportID)
	if p == nil || err != nil {
		return err
	}
	im, stages := p.im, p.stages
	if im.StageIndex > job.Args.Stage {
		return nil // a duplicate of a stage already started
	}
	// What the transaction did, logged once it is committed.
	var started bool
	var checks []ferry.VerificationCheck
	finished := false
	err = e.cfg.Store.Write(ctx, func(tx *store.Tx) error {
		started, checks, finished = false, nil, false
		// Read again inside the transaction: a cancel may have landed since.
		im, err := tx.ImportByID(ctx, im.ID)
		if err != nil {
			return err
		}
		if ferry.ImportDone(im.Status) {
			return store.ErrImportEnded
		}
		if im.Status == ferry.ImportScheduled {
			if err := tx.SetImportStatus(ctx, im, ferry.ImportStarted, ""); err != nil {
				return err
			}
			started = true
		}
		if job.Args.Stage >= len(stages) {
			finished = true
			checks, err = e.finish(ctx, tx, im)
			return err
		}
		st := stages[job.Args.Stage]
		names := make([]string, len(st.Relations))
		for i, r := range st.Relations {
			names[i] = r.Name()
		}
		if err := tx.StartStage(ctx, im.ID, job.Args.Stage, st.Name, names); err != nil {
			return err
		}
		pending := 0
		for _, n := range names {
			rel, err := tx.Relation(ctx, im.ID, n)
			if err != nil {
				return err
			}
			if rel.State != ferry.RelationPending {
				continue
			}
			pending++
			if _, err := e.queue.Enqueue(ctx, tx, relationArgs{ImportID: im.ID, Relation: n}, nil); err != nil {
				return err
			}
		}
		if pending == 0 { // empty or already-done stage: go straight on
			_, err := e.queue.Enqueue(ctx, tx, stageArgs{ImportID: im.ID, Stage: job.Args.Stage + 1}, nil)
			return err
		}
		return nil
	})
	if errors.Is(err, store.ErrImportEnded) || ferry.ErrorCode(err) == ferry.ENOTFOUND {
		return nil // canceled or deleted meanwhile: nothing more to do
	}
	if err == nil && started {
		e.cfg.Log.InfoContext(ctx, "import started", "import_id", im.ID, "correlation_id", im.CorrelationID, "source", im.SourceType)
	}
	if err == nil && finished {
		verified, missing := "none declared", int64(0)
		for _, c := range checks {
			missing += c.Missing
			verified = "passed"
		}
		if missing > 0 {
			verified = "failed"
		}
		e.cfg.Log.InfoContext(ctx, "import finished", "import_id", im.ID, "correlation_id", im.CorrelationID, "source", im.SourceType,
			"verification", verified, "missing", missing)
	}
	return err
}

// finish ends an import: verified against what the source declared
// (shortfalls join the failures), finished (failures, if any, are listed
// by the status API), credential wiped.
func (e *Engine) finish(ctx context.Context, tx *store.Tx, im *ferry.Import) ([]ferry.VerificationCheck, error) {
	checks, err := tx.Verify(ctx, im, func(ctx context.Context, prefix string) (int64, error) {
		return e.cfg.Git.CountRefs(ctx, im.ProjectID, prefix)
	})
	if err != nil {
		return nil, fmt.Errorf("verify import %d: %w", im.ID, err)
	}
	if err := tx.SetImportStatus(ctx, im, ferry.ImportFinished, ""); err != nil {
		return nil, err
	}
	e.finished.WithLabelValues(im.SourceType, ferry.ImportFinished).Inc()
	return checks, e.end(ctx, tx, im)
}

// fail ends an import as failed with the reason in import_error, and
// lists the reason among its failures, under the relation that failed
// ("import" when the import as a whole did), so that every view of the
// failures (a migration entity's too) says why.
func (e *Engine) fail(ctx context.Context, im *ferry.Import, relation string, cause error, secrets ...string) error {
	msg := safeMessage(cause, secrets...)
	e.cfg.Log.ErrorContext(ctx, "import failed", "import_id", im.ID, "correlation_id", im.CorrelationID, "error", msg)
	if relation == "" {
		relation = "import"
	}
	err := e.cfg.Store.Write(ctx, func(tx *store.Tx) error {
		cur, err := tx.ImportByID(ctx, im.ID)
		if err != nil {
			return err
		}
		if err := tx.SetImportStatus(ctx, cur, ferry.ImportFailed, msg); err != nil {
			return err
		}
		if err := tx.AddFailure(ctx, &ferry.ImportFailure{ImportID: im.ID, Relation: relation, ExceptionClass: errorClass(cause),
			ExceptionMessage: msg, CorrelationID: im.CorrelationID}); err != nil {
			return err
		}
		return e.end(ctx, tx, cur)
	})
	if errors.Is(err, store.ErrImportEnded) {
		return nil // it ended otherwise meanwhile (canceled): that status stands
	}
	if err == nil {
		e.finished.WithLabelValues(im.SourceType, ferry.ImportFailed).Inc()
	}
	return err
}

// planned is what every import job starts from.
type planned struct {
	im     *ferry.Import
	env    *Env
	src    Source
	govs   *governors
	stages []Stage
}

// plan loads an import and its source's stages. It returns nil (and no
// error) when there is nothing to do: the import ended or its project was
// deleted. A source that cannot plan fails the import.
func (e *Engine) plan(ctx context.Context, importID int64) (*planned, error) {
	var im *ferry.Import
	if err := e.cfg.Store.Read(ctx, func(tx *store.Tx) (err error) { im, err = tx.ImportByID(ctx, importID); return }); err != nil {
		if ferry.ErrorCode(err) == ferry.ENOTFOUND {
			return nil, nil // the project (and its import) was deleted
		}
		return nil, err
	}
	if ferry.ImportDone(im.Status) {
		return nil, nil
	}
	env, src, govs, err := e.env(ctx, im)
	if err != nil {
		return nil, e.fail(ctx, im, "", err)
	}
	stages, err := src.Stages(ctx, env)
	if err != nil {
		return nil, e.fail(ctx, im, "", fmt.Errorf("plan stages: %w", err), env.Credentials...)
	}
	return &planned{im: im, env: env, src: src, govs: govs, stages: stages}, nil
}

type relationWorker struct {
	river.WorkerDefaults[relationArgs]
	e *Engine
}

// Timeout lets a slice and one slow page (or a repository mirror) finish.
// A live job is told from a dead one by its lease (queue), not by this.
func (w *relationWorker) Timeout(*river.Job[relationArgs]) time.Duration { return w.e.cfg.JobTimeout }

// Work runs one relation for a time slice: fetch a page with no
// transaction open, then write the page and the relation's checkpoint in
// one transaction, until the relation ends or the slice is used up.
func (w *relationWorker) Work(ctx context.Context, job *river.Job[relationArgs]) error {
	e := w.e
	p, err := e.plan(ctx, job.Args.ImportID)
	if p == nil || err != nil {
		return err
	}
	im, env, src, govs, stages := p.im, p.env, p.src, p.govs, p.stages
	var rel Relation
	stageIndex := -1
	for i, st := range stages {
		for _, r := range st.Relations {
			if r.Name() == job.Args.Relation {
				rel, stageIndex = r, i
			}
		}
	}
	if rel == nil {
		return e.fail(ctx, im, "", fmt.Errorf("relation %q is not part of this import", job.Args.Relation), env.Credentials...)
	}
	release, err := e.acquireHost(ctx, im.SourceURL)
	if err != nil {
		return err
	}
	defer release()
	// Show rate-limit pauses in the status while this relation runs.
	stop := govs.listen(func(until time.Time) { e.noteWait(im, until, govs.budgets()) })
	defer stop()
	r := &relationRun{e: e, im: im, src: src, govs: govs, rel: rel, stageIndex: stageIndex, deadline: time.Now().Add(e.cfg.Slice),
		secrets: env.Credentials}
	return r.run(ctx)
}

// noteWait records a rate-limit pause (or its end) on the import, with
// the budgets as they stand.
func (e *Engine) noteWait(im *ferry.Import, until time.Time, budgets []ferry.ImportBudget) {
	var p *time.Time
	if !until.IsZero() {
		p = &until
		e.waits.WithLabelValues(im.SourceType).Inc()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.cfg.Store.Write(ctx, func(tx *store.Tx) error {
		if err := tx.SetImportBudgets(ctx, im.ID, budgets); err != nil {
			return err
		}
		return tx.SetRateLimitWait(ctx, im.ID, p)
	}); err != nil {
		e.cfg.Log.Warn("record rate-limit wait", "import_id", im.ID, "error", err)
	}
}

// acquireHost bounds concurrent relation jobs per source host.
func (e *Engine) acquireHost(ctx context.Context, apiBase string) (func(), error) {
	host := apiBase
	if u, err := url.Parse(apiBase); err == nil {
		host = u.Host
	}
	e.mu.Lock()
	sem, ok := e.hostSem[host]
	if !ok {
		sem = make(chan struct{}, e.cfg.PerHost)
		e.hostSem[host] = sem
	}
	e.mu.Unlock()
	select {
	case sem <- struct{}{}:
		return func() { <-sem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// relationRun is one job's pass over a relation.
type relationRun struct {
	e          *Engine
	im         *ferry.Import
	src        Source
	govs       *governors
	secrets    []string // the source credentials, scrubbed from every message
	rel        Relation
	stageIndex int
	deadline   time.Time
}

// fetched is a page fetch in flight or done.
type fetched struct {
	cursor string
	page   Page
	err    error
}

func (r *relationRun) run(ctx context.Context) error {
	e := r.e
	var state *ferry.ImportRelation
	if err := e.cfg.Store.Read(ctx, func(tx *store.Tx) (err error) { state, err = tx.Relation(ctx, r.im.ID, r.rel.Name()); return }); err != nil {
		return err
	}
	if state.State != ferry.RelationPending {
		return nil
	}
	cursor := state.Cursor
	// window holds fetches started ahead of time, in cursor order: the
	// next page (and, for numbered pages, a few after it) is fetched while
	// the current one is written, so database work hides behind the
	// network and a long list is read several pages at a time.
	var window []future
	defer func() { drain(window) }()
	for {
		if stop, err := r.stopped(ctx); err != nil || stop {
			return err
		}
		var f fetched
		if len(window) > 0 && window[0].cursor == cursor {
			head := window[0]
			f, window = <-head.ch, window[1:]
			head.cancel()
		} else {
			drain(window)
			window = nil
			page, err := r.fetchWithRetry(ctx, cursor)
			f = fetched{cursor: cursor, page: page, err: err}
		}
		if f.err != nil {
			return r.fetchFailed(ctx, cursor, f.err)
		}
		if f.page.Next != "" && time.Now().Before(r.deadline) {
			window = r.refill(ctx, window, append([]string{f.page.Next}, f.page.Ahead...))
		}
		advanced, done, err := r.commit(ctx, cursor, f.page)
		if errors.Is(err, errProjectGone) {
			// Deleted while this page was fetched: what the fetch put on
			// disk (a mirror) goes too, or it would outlive the project.
			if r.im.ProjectID == 0 {
				return nil // a group: nothing on disk
			}
			if derr := e.cfg.Git.Delete(ctx, r.im.ProjectID); derr != nil {
				e.cfg.Log.WarnContext(ctx, "remove data of a deleted project", "project_id", r.im.ProjectID, "error", derr)
			}
			return nil
		}
		if err != nil || !advanced || done {
			return err
		}
		cursor = f.page.Next
		if len(window) == 0 {
			return river.JobSnooze(0) // slice used up: yield the worker, resume from the checkpoint
		}
	}
}

// future is a page fetch started ahead of time.
type future struct {
	cursor string
	ch     <-chan fetched
	cancel context.CancelFunc
}

// refill makes window the fetches of the first PageConcurrency cursors of
// want, keeping those already in flight.
func (r *relationRun) refill(ctx context.Context, window []future, want []string) []future {
	want = want[:min(len(want), r.e.cfg.PageConcurrency)]
	i := 0
	for i < len(window) && i < len(want) && window[i].cursor == want[i] {
		i++
	}
	drain(window[i:])
	window = window[:i]
	for _, c := range want[i:] {
		window = append(window, r.prefetch(ctx, c))
	}
	return window
}

// prefetch fetches the page at cursor in the background.
func (r *relationRun) prefetch(ctx context.Context, cursor string) future {
	ctx, cancel := context.WithCancel(ctx)
	ch := make(chan fetched, 1)
	go func() {
		page, err := r.fetchWithRetry(ctx, cursor)
		ch <- fetched{cursor: cursor, page: page, err: err}
	}()
	return future{cursor: cursor, ch: ch, cancel: cancel}
}

// drain stops abandoned fetches and waits for them, so no fetch outlives
// its job or spends calls on a page nobody will write.
func drain(window []future) {
	for _, f := range window {
		f.cancel()
	}
	for _, f := range window {
		<-f.ch
	}
}

// fetchWithRetry retries a fetch whose answer could not be used (a
// truncated or malformed body): the transport already retried what HTTP
// could tell was transient.
func (r *relationRun) fetchWithRetry(ctx context.Context, cursor string) (Page, error) {
	var page Page
	// The refs a mirror made by the fetch found at the source are what the
	// source declares its repository holds: the page declares them, and
	// the import's verification counts them in the repository.
	var mu sync.Mutex
	advertised := gitstore.RefCounts{}
	ctx = gitstore.WithObserver(ctx, gitstore.Observer{Progress: r.transferTracker(ctx),
		Advertised: func(c gitstore.RefCounts) {
			mu.Lock()
			defer mu.Unlock()
			for prefix, n := range c {
				advertised[prefix] += n
			}
		}})
	err := sourcehttp.Retry(ctx, r.e.cfg.Clock, r.e.cfg.FetchAttempts, func(err error) bool {
		var perm *Permanent
		var wait *sourcehttp.WaitError
		return !errors.As(err, &perm) && !errors.As(err, &wait) && !errors.Is(err, netguard.ErrBlocked) && sourcehttp.Transient(err)
	}, func() (err error) {
		mu.Lock()
		clear(advertised) // a new attempt mirrors again
		mu.Unlock()
		page, err = r.rel.Fetch(ctx, cursor)
		return err
	})
	if err != nil {
		return Page{}, err
	}
	mu.Lock()
	defer mu.Unlock()
	prefixes := slices.Sorted(maps.Keys(advertised))
	for _, prefix := range prefixes {
		page.Expect = append(page.Expect, ferry.Expectation{Type: ferry.GitRefsCheck(prefix), Kind: ferry.KindGitRefs, Prefix: prefix,
			Count: advertised[prefix], Title: "repository " + ferry.GitRefsCheck(prefix)})
	}
	return page, nil
}

// transferTracker records the progress of a git transfer the page's fetch
// makes (a repository mirrored: objects received out of the total), so the
// status has a bar and an ETA long before the page is written: the first
// report of the fetch, then at most one a second, each in a small write of
// its own. A report that comes while the last one is still being written
// is dropped rather than hold git's output; the page's checkpoint settles
// the figures anyway. Only "Receiving objects" counts: the deltas resolved
// after it have totals of their own.
func (r *relationRun) transferTracker(ctx context.Context) func(gitstore.Progress) {
	var mu sync.Mutex
	var last time.Time
	first := true
	return func(p gitstore.Progress) {
		if p.Phase != "Receiving objects" || !mu.TryLock() {
			return
		}
		defer mu.Unlock()
		now := time.Now()
		if !first && now.Sub(last) < time.Second {
			return
		}
		restart := first
		first, last = false, now
		err := r.e.cfg.Store.Write(ctx, func(tx *store.Tx) error {
			return tx.SetRelationTransfer(ctx, r.im.ID, r.rel.Name(), p.Done, p.Total, restart)
		})
		if err != nil && ctx.Err() == nil {
			r.e.cfg.Log.WarnContext(ctx, "record transfer progress", "import_id", r.im.ID, "relation", r.rel.Name(), "error", err)
		}
	}
}

// stopped reports whether the import was canceled or ended meanwhile.
func (r *relationRun) stopped(ctx context.Context) (bool, error) {
	var status string
	err := r.e.cfg.Store.Read(ctx, func(tx *store.Tx) error {
		im, err := tx.ImportByID(ctx, r.im.ID)
		if err == nil {
			status = im.Status
		}
		return err
	})
	if ferry.ErrorCode(err) == ferry.ENOTFOUND {
		return true, nil
	}
	return ferry.ImportDone(status), err
}

// fetchFailed handles a page that could not be fetched: a long rate-limit
// wait puts the job aside until the reset; anything else fails the
// relation (recorded, the import goes on) or, for a critical relation, the
// import.
func (r *relationRun) fetchFailed(ctx context.Context, cursor string, err error) error {
	var wait *sourcehttp.WaitError
	if errors.As(err, &wait) {
		return river.JobSnooze(time.Until(wait.Until) + time.Second)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	e := r.e
	msg := safeMessage(err, r.secrets...)
	e.cfg.Log.WarnContext(ctx, "relation failed", "import_id", r.im.ID, "relation", r.rel.Name(), "cursor", cursor, "error", msg)
	if c, ok := r.rel.(Critical); ok && c.Critical() {
		return e.fail(ctx, r.im, r.rel.Name(), fmt.Errorf("%s: %w", r.rel.Name(), err), r.secrets...)
	}
	class := errorClass(err) // before the closure's err shadows it
	return e.cfg.Store.Write(ctx, func(tx *store.Tx) error {
		ok, err := tx.FailRelation(ctx, r.im.ID, r.rel.Name(), msg)
		if err != nil || !ok {
			return err
		}
		if err := tx.AddFailure(ctx, &ferry.ImportFailure{ImportID: r.im.ID, Relation: r.rel.Name(), ExceptionClass: class,
			ExceptionMessage: msg, CorrelationID: r.im.CorrelationID}); err != nil {
			return err
		}
		return r.ended(ctx, tx)
	})
}

// ended counts the relation out of its stage; the last one enqueues the
// next stage.
func (r *relationRun) ended(ctx context.Context, tx *store.Tx) error {
	left, err := tx.RelationEnded(ctx, r.im.ID)
	if err != nil || left > 0 {
		return err
	}
	_, err = r.e.queue.Enqueue(ctx, tx, stageArgs{ImportID: r.im.ID, Stage: r.stageIndex + 1}, nil)
	return err
}

// commit writes a page and the checkpoint in one transaction. If the batch
// cannot be written as a whole, each object is written on its own and the
// ones that fail are recorded, so one bad item does not stop the relation.
func (r *relationRun) commit(ctx context.Context, cursor string, page Page) (advanced, done bool, err error) {
	e := r.e
	var objs []forge.Object
	follow := map[string][]string{}
	for _, o := range page.Objects {
		if f, ok := o.(Followup); ok {
			follow[f.Relation] = append(follow[f.Relation], f.Key)
			continue
		}
		objs = append(objs, o)
	}
	items := page.Items
	if items == 0 {
		items = len(objs)
	}
	done = page.Next == ""
	// write stores toWrite (nil when the objects were written one by one
	// already) and the checkpoint; written is what counts as imported.
	write := func(tx *store.Tx, toWrite, written []forge.Object, failedItems int64) (bool, error) {
		if len(toWrite) > 0 {
			if _, err := r.write(ctx, tx, toWrite); err != nil {
				return false, err
			}
		}
		names := make([]string, 0, len(follow))
		for rel := range follow {
			names = append(names, rel)
		}
		sort.Strings(names)
		for _, rel := range names {
			if err := tx.AddFollowups(ctx, r.im.ID, rel, follow[rel]); err != nil {
				return false, err
			}
		}
		if err := tx.AddExpectations(ctx, r.im.ID, r.rel.Name(), page.Expect); err != nil {
			return false, err
		}
		if r.govs != nil {
			if bs := r.govs.budgetsToWrite(time.Now()); bs != nil {
				if err := tx.SetImportBudgets(ctx, r.im.ID, bs); err != nil {
					return false, err
				}
			}
		}
		if err := tx.AddStats(ctx, r.im.ID, stats(r.src, r.rel.Name(), page.Objects, written)); err != nil {
			return false, err
		}
		for _, f := range page.Failures {
			if err := tx.AddFailure(ctx, &ferry.ImportFailure{ImportID: r.im.ID, Relation: r.rel.Name(), SourceURL: f.SourceURL,
				SourceTitle: f.Title, ExceptionClass: errorClass(f.Err), ExceptionMessage: safeMessage(f.Err, r.secrets...), CorrelationID: r.im.CorrelationID}); err != nil {
				return false, err
			}
		}
		failed := failedItems + int64(len(page.Failures))
		total := page.Total
		if total <= 0 {
			// A per-item relation's total is the work queued for it, known
			// once the stages before it are done.
			if n, err := tx.CountFollowups(ctx, r.im.ID, r.rel.Name()); err != nil {
				return false, err
			} else if n > 0 {
				total = n
			} else {
				total = -1
			}
		}
		// Progress counts source items: fetched, and of those imported
		// or failed (a page's objects may be more than its items — an
		// event that is a note and a closure — or fewer).
		imported := max(0, int64(items)-failed)
		ok, err := tx.Checkpoint(ctx, r.im.ID, r.rel.Name(), cursor, page.Next, int64(items), imported, failed, total, done)
		if err != nil || !ok {
			return false, err
		}
		if done {
			return true, r.ended(ctx, tx)
		}
		return true, nil
	}
	// save runs write in its own transaction; a checkpoint that moved on
	// (another run of this relation is ahead) rolls the page back and ends
	// this run quietly.
	save := func(toWrite, written []forge.Object, failed int64) (bool, error) {
		var ok bool
		err := e.cfg.Store.Write(ctx, func(tx *store.Tx) error {
			var err error
			if ok, err = write(tx, toWrite, written, failed); err == nil && !ok {
				return errNotAdvanced
			}
			return err
		})
		if errors.Is(err, errNotAdvanced) {
			return false, nil
		}
		if err == nil {
			r.count(written)
		}
		return ok, err
	}
	advanced, err = save(objs, objs, 0)
	if err == nil {
		return advanced, done && advanced, nil
	}
	if ctx.Err() != nil {
		return false, false, ctx.Err()
	}
	if r.projectGone(ctx) {
		return false, false, errProjectGone
	}
	var fe *ferry.Error
	if !errors.As(err, &fe) {
		// Not an object the store refuses but the database failing (busy,
		// deadlock, connection lost): the job is retried from the
		// checkpoint, nothing is recorded as lost.
		return false, false, err
	}
	// One at a time: record what cannot be written, keep the rest.
	e.cfg.Log.WarnContext(ctx, "page write failed; writing items one by one", "import_id", r.im.ID, "relation", r.rel.Name(), "error", err)
	var good []forge.Object
	for _, o := range objs {
		werr := e.cfg.Store.Write(ctx, func(tx *store.Tx) error {
			_, err := r.write(ctx, tx, []forge.Object{o})
			return err
		})
		if werr == nil {
			good = append(good, o)
			continue
		}
		if err := e.cfg.Store.Write(ctx, func(tx *store.Tx) error {
			return tx.AddFailure(ctx, &ferry.ImportFailure{ImportID: r.im.ID, Relation: r.rel.Name(), SourceURL: o.Source().ID,
				SourceTitle: title(o), ExceptionClass: errorClass(werr), ExceptionMessage: safeMessage(werr, r.secrets...), CorrelationID: r.im.CorrelationID})
		}); err != nil {
			return false, false, err
		}
	}
	advanced, err = save(nil, good, int64(len(objs)-len(good)))
	return advanced, done && advanced, err
}

var (
	errNotAdvanced = errors.New("relation checkpoint moved on")
	errProjectGone = errors.New("the import's project or group was deleted during the import")
)

// write stores objects in the import's target: its project, or for an
// import of a group, the group (which holds labels, milestones, members
// and badges).
func (r *relationRun) write(ctx context.Context, tx *store.Tx, objs []forge.Object) (int, error) {
	if r.im.NamespaceID != 0 {
		return tx.WriteGroupContent(ctx, r.im.NamespaceID, objs)
	}
	return tx.WriteContent(ctx, r.im.ProjectID, objs)
}

// projectGone reports whether the import's project (or group) no longer
// exists.
func (r *relationRun) projectGone(ctx context.Context) bool {
	err := r.e.cfg.Store.Read(ctx, func(tx *store.Tx) error {
		if r.im.NamespaceID != 0 {
			_, err := tx.NamespaceByID(ctx, r.im.NamespaceID)
			return err
		}
		_, err := tx.ProjectByID(ctx, r.im.ProjectID)
		return err
	})
	return ferry.ErrorCode(err) == ferry.ENOTFOUND
}

func (r *relationRun) count(objs []forge.Object) {
	for _, o := range objs {
		r.e.objects.WithLabelValues(r.im.SourceType, o.Kind()).Inc()
	}
}

// stats counts a page per object kind: fetched from everything the source
// returned, imported from what was written.
func stats(src Source, relation string, all, written []forge.Object) []ferry.ImportStat {
	name := func(o forge.Object) string { return objectType(src, relation, o) }
	m := map[string]*ferry.ImportStat{}
	get := func(k string) *ferry.ImportStat {
		if m[k] == nil {
			m[k] = &ferry.ImportStat{ObjectType: k}
		}
		return m[k]
	}
	for _, o := range all {
		if _, ok := o.(Followup); !ok {
			get(name(o)).Fetched++
		}
	}
	for _, o := range written {
		get(name(o)).Imported++
	}
	out := make([]ferry.ImportStat, 0, len(m))
	for _, s := range m {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ObjectType < out[j].ObjectType })
	return out
}

// objectType names an object in the import's stats: the source's own name
// if it has one (GitHub's "pull_request"), else the forge kind, with notes
// on a diff line told apart as GitLab does ("diff_note").
func objectType(src Source, relation string, o forge.Object) string {
	if n, ok := src.(ObjectTyper); ok {
		if t := n.ObjectType(relation, o); t != "" {
			return t
		}
	}
	if n, ok := o.(forge.Note); ok && n.Position != nil {
		return "diff_note"
	}
	return o.Kind()
}

// title names an object for the failure list.
func title(o forge.Object) string {
	switch v := o.(type) {
	case forge.Issue:
		return v.Title
	case forge.MergeRequest:
		return v.Title
	case forge.Label:
		return v.Name
	case forge.Milestone:
		return v.Title
	case forge.Release:
		return v.TagName
	case forge.Badge:
		return "badge " + v.Name + " (" + v.LinkURL + ")"
	}
	return o.Kind() + " " + o.Source().ID
}

// errorClass names the kind of failure for exception_class, by the error's
// type, not by whether retrying it was tried: a validation error (a source's
// answer that does not fit the model, marked Permanent so it is not
// retried) is a ValidationError, never a NetworkError.
func errorClass(err error) string {
	var perm *Permanent
	var fe *ferry.Error
	switch {
	case errors.As(err, &fe) && fe.Code == ferry.EINVALID:
		return "ValidationError"
	case errors.As(err, &perm), errors.Is(err, netguard.ErrBlocked):
		// A refused destination is refused again: as final as a 404.
		return "PermanentError"
	case errors.As(err, &fe):
		return "ValidationError"
	case sourcehttp.Transient(err):
		return "NetworkError"
	}
	return "Error"
}

// safeMessage is an error text fit for import_error, failure lists and
// logs: capped, with the import's own credential removed in every form it
// could take (as given, URL-escaped, base64), and anything else that looks
// like a credential masked too.
func safeMessage(err error, secrets ...string) string {
	s := err.Error()
	if len(s) > 1000 {
		s = s[:1000] + "…"
	}
	return redact(scrub(s, secrets...))
}

var correlationSeq atomic.Int64

func newCorrelationID() string {
	sum := sha256.Sum256([]byte(strconv.FormatInt(time.Now().UnixNano(), 10) + strconv.FormatInt(correlationSeq.Add(1), 10)))
	return hex.EncodeToString(sum[:16])
}
