// Package app assembles a running ferry from its parts: the store, the job
// queue, the API, git over HTTP and the web pages beside it and the
// operational endpoints, plus the first-start bootstrap of the root user.
// cmd/ferry, integration tests and the benchmark harness all start ferry
// through it, so they run the same thing.
//
// It owns lifecycles (open, serve, shut down); it must not hold domain
// rules, which live in the packages it wires.
package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/riverqueue/river"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/api"
	"github.com/ferry-import/ferry/bulk"
	"github.com/ferry-import/ferry/gitlabexport"
	"github.com/ferry-import/ferry/gitstore"
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/netguard"
	"github.com/ferry-import/ferry/queue"
	"github.com/ferry-import/ferry/secret"
	"github.com/ferry-import/ferry/source/gitlab"
	"github.com/ferry-import/ferry/store"
	"github.com/ferry-import/ferry/uploads"
	"github.com/ferry-import/ferry/web"
)

// Version is ferry's own version; the API reports GitLab's version it
// follows (api.Config.Version).
const Version = "0.1.0"

// Config is everything a ferry process needs.
type Config struct {
	Listen            string // host:port; ":0" picks a free port
	DataDir           string
	DatabaseURL       string // empty: SQLite in DataDir
	ExternalURL       string
	AllowLocalNetwork bool
	RootToken         string // initial root token instead of a random one
	SecretKey         string
	// Workers is how many jobs this process runs at once; 0 runs none.
	Workers int
	// NoHTTP runs workers only (ferry worker).
	NoHTTP bool
	Log    *slog.Logger
	// Out receives the one-time root token announcement.
	Out io.Writer
	// ShutdownTimeout bounds graceful shutdown (default 30s).
	ShutdownTimeout time.Duration
	// JobLease is how long a worker may go without renewing the leases of
	// its running jobs before they are taken for dead and run elsewhere
	// (default 30s; see queue.Config.Lease). JobRescueAfter is River's own
	// rescue behind it, for anything without a lease (default 1h).
	JobLease       time.Duration
	JobRescueAfter time.Duration
	// ImportSlice is how long one import job runs before yielding;
	// ImportJobTimeout bounds one import job, a repository mirror included
	// (default 6h: leases, not this, tell a live job from a dead one).
	ImportSlice      time.Duration
	ImportJobTimeout time.Duration
	// ImportStallTimeout is how long a stage may make no progress before
	// the import's timeout_strategy applies (default 2h, as GitLab).
	ImportStallTimeout time.Duration
	// BulkImportStaleAfter and BulkEntityStaleAfter time out a GitLab
	// migration not updated for that long (default 24h) and an entity not
	// finished that long after it was created (default 8h), as GitLab's
	// cleanup_stale; GitLabExportTimeout and GitLabEmptyExportStatusTimeout
	// fail a relation whose export at the source stays started (default
	// 90m) or unlisted (default 5m) that long.
	BulkImportStaleAfter, BulkEntityStaleAfter          time.Duration
	GitLabExportTimeout, GitLabEmptyExportStatusTimeout time.Duration
	// QueueOverrides adjusts queue settings (tests).
	QueueOverrides func(*queue.Config)
	// EngineOverrides adjusts import engine settings (tests, benchmarks).
	EngineOverrides func(*importer.Config)

	// MetricsListen serves /metrics on this address (host:port) alone, and
	// the main listener stops serving it; it works with NoHTTP too.
	// MetricsToken, when set, is required as "Authorization: Bearer
	// <token>" on /metrics wherever it is served. With neither, the main
	// listener serves /metrics to loopback clients only (see metrics.go).
	MetricsListen string
	MetricsToken  string
}

// App is an assembled ferry.
type App struct {
	cfg      Config
	Store    *store.Store
	Queue    *queue.Queue
	Secrets  *secret.Box
	Git      *gitstore.Store
	Uploads  *uploads.Store // project upload files (attachments), under <data-dir>/uploads
	Engine   *importer.Engine
	Exports  *gitlabexport.Service // export_relations (ferry as a migration source)
	API      *api.Server
	Web      *web.Handler // the browser pages
	gitHTTP  http.Handler
	upHTTP   http.Handler
	Registry *prometheus.Registry
	Workers  *river.Workers
	log      *slog.Logger
	listener net.Listener
	srv      *http.Server
	workerID string
	// The separate metrics listener (Config.MetricsListen), if any.
	metricsListener net.Listener
	metricsSrv      *http.Server
}

// New opens the store (migrating it), bootstraps root on first start and
// builds the queue and the API. Nothing runs until Run.
func New(ctx context.Context, cfg Config) (*App, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	if cfg.Out == nil {
		cfg.Out = os.Stdout
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 30 * time.Second
	}
	if cfg.DataDir == "" {
		cfg.DataDir = "ferry-data"
	}
	a := &App{cfg: cfg, log: cfg.Log, Registry: prometheus.NewRegistry(), Workers: river.NewWorkers()}
	a.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	s, err := store.Open(ctx, store.Config{URL: cfg.DatabaseURL, DataDir: cfg.DataDir})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	a.Store = s
	if a.Secrets, err = secret.Load(cfg.SecretKey, cfg.DataDir); err != nil {
		s.Close()
		return nil, err
	}
	if err := a.bootstrap(ctx); err != nil {
		s.Close()
		return nil, err
	}
	// Imports reach sources only through the guard: at dial time, for the
	// API client, git and LFS alike.
	guard := &netguard.Guard{AllowLocal: cfg.AllowLocalNetwork}
	if a.Git, err = gitstore.New(filepath.Join(cfg.DataDir, "git"), gitstore.Options{DialContext: guard.DialContext, CheckURL: guard.CheckURL}); err != nil {
		s.Close()
		return nil, fmt.Errorf("open repositories: %w", err)
	}
	if a.Uploads, err = uploads.New(filepath.Join(cfg.DataDir, "uploads"), uploads.Options{}); err != nil {
		s.Close()
		return nil, err
	}
	// A running job is alive while its worker renews its lease (queue
	// leases), so a crashed worker's import resumes within about a lease,
	// while a repository mirror may run for hours. River's rescue stays as
	// the backstop; import jobs declare their own, longer timeout, which
	// River's rescuer respects.
	rescue := cfg.JobRescueAfter
	if rescue == 0 {
		rescue = time.Hour
	}
	importTimeout := cfg.ImportJobTimeout
	if importTimeout == 0 {
		importTimeout = 6 * time.Hour
	}
	ecfg := importer.Config{Store: s, Secrets: a.Secrets, Git: a.Git, Uploads: a.Uploads, Guard: guard, Log: cfg.Log, Registry: a.Registry,
		Sources: sources(cfg), Slice: cfg.ImportSlice, JobTimeout: importTimeout, StallTimeout: cfg.ImportStallTimeout}
	if cfg.EngineOverrides != nil {
		cfg.EngineOverrides(&ecfg)
	}
	if a.Engine, err = importer.New(ecfg); err != nil {
		s.Close()
		return nil, err
	}
	// Job workers are registered on a.Workers before the queue is built.
	river.AddWorker(a.Workers, &deleteProjectDataWorker{git: a.Git})
	a.Engine.Register(a.Workers)
	// GitLab migrations run each entity as an engine import and move on
	// when one ends (OnEnd, in the ending transaction).
	migrations := bulk.New(bulk.Config{Store: s, Engine: a.Engine, Secrets: a.Secrets, Source: gitlabLookups{a.Engine},
		SourceType: gitlab.Type, ProjectImportType: "gitlab_project", StaleAfter: cfg.BulkImportStaleAfter,
		EntityStaleAfter: cfg.BulkEntityStaleAfter, Log: cfg.Log})
	migrations.Register(a.Workers)
	a.Engine.OnEnd(migrations.Ended)
	qcfg := queue.Config{Store: s, Workers: a.Workers, Log: cfg.Log, MaxWorkers: cfg.Workers, PeriodicJobs: append(a.Engine.PeriodicJobs(), migrations.PeriodicJobs()...), ID: workerID(),
		JobTimeout: min(10*time.Minute, rescue*2/3), RescueStuckJobsAfter: rescue, Lease: cfg.JobLease,
		// SQLite has no LISTEN/NOTIFY: workers poll, and an import moves
		// through a dozen jobs, so poll often (a cheap indexed query).
		FetchPollInterval: 50 * time.Millisecond}
	if cfg.QueueOverrides != nil {
		cfg.QueueOverrides(&qcfg)
	}
	a.workerID = qcfg.ID
	if a.Queue, err = queue.Open(ctx, qcfg); err != nil {
		s.Close()
		return nil, fmt.Errorf("open queue: %w", err)
	}
	a.Engine.SetQueue(a.Queue)
	migrations.SetQueue(a.Queue)
	a.Registry.MustRegister(importsCollector{a: a, desc: prometheus.NewDesc("ferry_imports", "Imports by source and status.", []string{"source", "status"}, nil)})
	// ferry as a direct-transfer source: export_relations files under
	// the data directory.
	if a.Exports, err = gitlabexport.New(gitlabexport.Config{Store: s, Dir: filepath.Join(cfg.DataDir, "exports"), Uploads: a.Uploads,
		Log: cfg.Log}); err != nil {
		s.Close()
		return nil, fmt.Errorf("exports: %w", err)
	}
	a.API, err = api.New(api.Config{Store: s, Log: cfg.Log, Registry: a.Registry, ExternalURL: cfg.ExternalURL, Revision: Version,
		ProjectsDeleted: a.enqueueDataDeletion, Git: a.Git, Imports: a.Engine, Sources: importSources(a.Engine, cfg.Log),
		BulkImports: gitlabMigrations{e: a.Engine, runner: migrations, log: cfg.Log}, Exports: a.Exports})
	if err != nil {
		s.Close()
		return nil, err
	}
	// LFS download links are signed with a key derived from the secret key,
	// so links handed out survive a restart and work on every instance.
	a.gitHTTP, err = a.API.GitHandler(gitstore.HandlerOptions{ExternalURL: cfg.ExternalURL,
		LFSSigningKey: a.Secrets.Derive("gitstore lfs download tokens"), Logger: cfg.Log})
	if err != nil {
		s.Close()
		return nil, err
	}
	if a.upHTTP, err = a.API.UploadsHandler(a.Uploads); err != nil {
		s.Close()
		return nil, err
	}
	// Web sessions are signed with a key derived from the secret key, so
	// they survive a restart and work on every instance.
	if a.Web, err = web.New(web.Config{Store: s, SessionKey: a.Secrets.Derive("web sessions"), Imports: a.Engine, Git: a.Git,
		Starter: webStarter{a.API}, Placeholders: a.API, Log: cfg.Log}); err != nil {
		s.Close()
		return nil, err
	}
	return a, nil
}

// bootstrap creates root, its namespace and its first token when the
// database has no users yet. The token is printed once and written to
// <data-dir>/initial_root_token (0600); only its digest is stored.
func (a *App) bootstrap(ctx context.Context) error {
	var created *ferry.PersonalAccessToken
	err := a.Store.Write(ctx, func(tx *store.Tx) error {
		_, total, err := tx.ListUsers(ctx, store.UserFilter{}, store.Page{Page: 1, PerPage: 1})
		if err != nil || total > 0 {
			return err
		}
		root := &ferry.User{Username: "root", Name: "Administrator", Email: "admin@example.com", IsAdmin: true}
		if err := tx.CreateUser(ctx, root); err != nil {
			return fmt.Errorf("create root: %w", err)
		}
		created = &ferry.PersonalAccessToken{UserID: root.ID, Name: "initial root token", Scopes: []string{ferry.ScopeAPI}, Token: a.cfg.RootToken}
		return tx.CreateToken(ctx, created)
	})
	if err != nil || created == nil {
		return err
	}
	path := filepath.Join(a.cfg.DataDir, "initial_root_token")
	if err := os.WriteFile(path, []byte(created.Token+"\n"), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	fmt.Fprintf(a.cfg.Out, "Created user root with an initial personal access token (shown once; also in %s):\n%s\n", path, created.Token)
	a.log.Info("created root user", slog.String("token_file", path))
	return nil
}

// Listen binds the HTTP listener, and the metrics listener if configured, so
// URL and MetricsURL are known before Run.
func (a *App) Listen() error {
	if a.cfg.MetricsListen != "" && a.metricsListener == nil {
		l, err := net.Listen("tcp", a.cfg.MetricsListen)
		if err != nil {
			return fmt.Errorf("listen for metrics on %s: %w", a.cfg.MetricsListen, err)
		}
		a.metricsListener = l
	}
	if a.cfg.NoHTTP || a.listener != nil {
		return nil
	}
	addr := a.cfg.Listen
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	a.listener = l
	return nil
}

// MetricsURL is the base URL of the separate metrics listener, "" without
// one.
func (a *App) MetricsURL() string {
	if a.metricsListener == nil {
		return ""
	}
	return "http://" + a.metricsListener.Addr().String()
}

// URL is the base URL the server listens on.
func (a *App) URL() string {
	if a.listener == nil {
		return ""
	}
	return "http://" + a.listener.Addr().String()
}

// Handler is the whole HTTP surface: the API, git over HTTP
// ("/<full_path>.git/…", see gitstore.IsGitPath), project uploads
// ("/<full_path>/uploads/<secret>/<filename>" and the API's
// "/api/v4/projects/:id/uploads/:secret/:filename", see api.IsUploadPath),
// the web pages ("/", sign-in and -out, "/-/imports…", "/-/migrations/…",
// see web.Handles), health and metrics.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /-/health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "GitLab OK")
	})
	mux.HandleFunc("GET /-/liveness", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"ok"}`)
	})
	mux.HandleFunc("GET /-/readiness", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "application/json")
		if err := a.Store.Ping(ctx); err != nil {
			a.log.Warn("readiness: database unreachable", slog.Any("error", err))
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"status":"failed","db_check":[{"status":"failed","message":"database unreachable"}]}`)
			return
		}
		_, _ = io.WriteString(w, `{"status":"ok","db_check":[{"status":"ok"}]}`)
	})
	if a.cfg.MetricsListen == "" {
		mux.Handle("GET /metrics", a.metricsHandler(true))
	}
	apiHandler := a.API.Handler()
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if gitstore.IsGitPath(r.URL.Path) {
			a.gitHTTP.ServeHTTP(w, r)
			return
		}
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && api.IsUploadPath(r.URL.Path) {
			a.upHTTP.ServeHTTP(w, r)
			return
		}
		if web.Handles(r) || a.Web.Browses(r) {
			a.Web.ServeHTTP(w, r)
			return
		}
		apiHandler.ServeHTTP(w, r)
	}))
	return mux
}

// Run serves HTTP (unless NoHTTP) and works jobs until ctx ends, then shuts
// down gracefully: stop accepting requests, let running requests and jobs
// finish within ShutdownTimeout, close the database.
func (a *App) Run(ctx context.Context) error {
	if err := a.Queue.Start(ctx); err != nil {
		return fmt.Errorf("start workers: %w", err)
	}
	if a.cfg.Workers > 0 {
		a.watchJobs(ctx)
		a.log.Info("working jobs", slog.String("worker_id", a.workerID), slog.Int("workers", a.cfg.Workers))
	}
	errc := make(chan error, 2)
	if err := a.Listen(); err != nil {
		return err
	}
	if !a.cfg.NoHTTP {
		a.srv = &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
			ErrorLog: slog.NewLogLogger(a.log.Handler(), slog.LevelWarn)}
		a.log.Info("listening", slog.String("url", a.URL()))
		go func() { errc <- a.srv.Serve(a.listener) }()
	}
	if a.metricsListener != nil {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", a.metricsHandler(false))
		a.metricsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
			ErrorLog: slog.NewLogLogger(a.log.Handler(), slog.LevelWarn)}
		a.log.Info("serving metrics", slog.String("url", a.MetricsURL()+"/metrics"))
		go func() { errc <- a.metricsSrv.Serve(a.metricsListener) }()
	}
	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("http server", slog.Any("error", err))
		}
	}
	return a.shutdown()
}

func (a *App) shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	var errs []error
	if a.srv != nil {
		if err := a.srv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("http shutdown: %w", err))
		}
	}
	if a.metricsSrv != nil {
		if err := a.metricsSrv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("metrics shutdown: %w", err))
		}
	}
	if a.Queue != nil {
		if err := a.Queue.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop workers: %w", err))
		}
	}
	if err := a.Exports.Close(); err != nil {
		errs = append(errs, fmt.Errorf("stop exports: %w", err))
	}
	if err := a.Store.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close store: %w", err))
	}
	if err := a.Uploads.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close uploads: %w", err))
	}
	a.log.Info("stopped")
	return errors.Join(errs...)
}

// workerID names this process in the queue's records (which worker ran
// which job): host, process id and a random suffix, unique across restarts.
func workerID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "ferry"
	}
	var b [3]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%x", host, os.Getpid(), b)
}
