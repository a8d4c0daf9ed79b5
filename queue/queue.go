// Package queue runs ferry's durable jobs with River on the same database as
// the store: riversqlite on the embedded SQLite file, riverpgxv5 on
// PostgreSQL. Jobs are enqueued inside the store transaction that creates
// the records they act on, so a record never exists without its job nor a
// job without its record.
//
// It knows River and the store's transaction type; it must not know what
// the jobs do (importers register their workers).
package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/ferry-import/ferry/store"
)

// Config sets up a Queue.
type Config struct {
	Store   *store.Store
	Workers *river.Workers
	Log     *slog.Logger
	// MaxWorkers is how many jobs run at once in this process; 0 makes the
	// queue insert-only (an API node that works no jobs).
	MaxWorkers int
	// Lease is how long a running job's worker may go without renewing the
	// job's lease before the job is taken for dead and returned to the
	// queue (see lease.go). Workers renew every Lease/6. Default 30s.
	Lease time.Duration
	// RescueStuckJobsAfter is River's own rescue, the backstop behind
	// leases: a job still running after this is returned to the queue
	// unless its worker sets a longer Timeout. It must exceed JobTimeout.
	// Default 1h.
	RescueStuckJobsAfter time.Duration
	// JobTimeout bounds one job run. Default 30m.
	JobTimeout time.Duration
	// FetchPollInterval is how often idle workers look for jobs when no
	// notification arrives (always the case on SQLite). Default 1s.
	FetchPollInterval time.Duration
	// RetryPolicy overrides River's exponential backoff (tests).
	RetryPolicy river.ClientRetryPolicy
	// ID names this client in River's tables (default: River's own).
	ID string
	// PeriodicJobs are scheduled by the elected leader among workers.
	PeriodicJobs []*river.PeriodicJob
}

// Queue enqueues and, when it has workers, works jobs.
type Queue struct {
	insert   func(ctx context.Context, tx *sql.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	start    func(ctx context.Context) error
	stop     func(ctx context.Context) error
	hardStop func(ctx context.Context) error
	sub      func(kinds ...river.EventKind) (<-chan *river.Event, func())
	riverDB  *sql.DB // SQLite: River's own single connection
	leases   *leases
	// stopLeases ends the reclaim loop started by Start.
	stopLeases context.CancelFunc
	leasesDone chan struct{}
}

// Open migrates River's tables and builds the client.
func Open(ctx context.Context, cfg Config) (*Queue, error) {
	if cfg.Workers == nil {
		cfg.Workers = river.NewWorkers()
	}
	rc := &river.Config{
		Workers:              cfg.Workers,
		Logger:               cfg.Log,
		JobTimeout:           cfg.JobTimeout,
		RescueStuckJobsAfter: cfg.RescueStuckJobsAfter,
		FetchPollInterval:    cfg.FetchPollInterval,
		RetryPolicy:          cfg.RetryPolicy,
		ID:                   cfg.ID,
	}
	if cfg.MaxWorkers > 0 {
		rc.PeriodicJobs = cfg.PeriodicJobs
	}
	if rc.JobTimeout == 0 {
		rc.JobTimeout = 30 * time.Minute
	}
	if rc.RescueStuckJobsAfter == 0 {
		rc.RescueStuckJobsAfter = time.Hour
	}
	if rc.FetchPollInterval == 0 {
		rc.FetchPollInterval = time.Second
	}
	if rc.FetchCooldown == 0 || rc.FetchCooldown > rc.FetchPollInterval {
		rc.FetchCooldown = min(100*time.Millisecond, rc.FetchPollInterval)
	}
	if rc.Logger == nil {
		rc.Logger = slog.New(slog.DiscardHandler)
	}
	q := &Queue{}
	if cfg.MaxWorkers > 0 {
		rc.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.MaxWorkers}}
		ttl := cfg.Lease
		if ttl == 0 {
			ttl = 30 * time.Second
		}
		q.leases = &leases{db: cfg.Store.DB(), dialect: cfg.Store.Dialect(), ttl: ttl, log: rc.Logger}
		rc.Middleware = append(rc.Middleware, q.leases)
	}
	switch cfg.Store.Dialect() {
	case store.SQLite:
		// River wants one connection on SQLite; it gets its own handle on the
		// same file so the API's connections are not starved by it.
		db, err := store.OpenSQLite(cfg.Store.SQLitePath(), 1)
		if err != nil {
			return nil, err
		}
		q.riverDB = db
		driver := riversqlite.New(db)
		if err := migrate[*sql.Tx](ctx, driver); err != nil {
			db.Close()
			return nil, err
		}
		c, err := river.NewClient(driver, rc)
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("river client: %w", err)
		}
		q.insert = func(ctx context.Context, tx *sql.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
			return c.InsertTx(ctx, tx, args, opts)
		}
		q.bind(c.Start, c.Stop, c.StopAndCancel, c.Subscribe)
	case store.Postgres:
		// Workers run on riverpgxv5 (LISTEN/NOTIFY, pgx pool); inserts go
		// through riverdatabasesql so they join the store's *sql.Tx.
		driver := riverpgxv5.New(cfg.Store.Pool())
		if err := migrate[pgx.Tx](ctx, driver); err != nil {
			return nil, err
		}
		c, err := river.NewClient(driver, rc)
		if err != nil {
			return nil, fmt.Errorf("river client: %w", err)
		}
		ins, err := river.NewClient(riverdatabasesql.New(cfg.Store.DB()), &river.Config{Workers: cfg.Workers, Logger: rc.Logger})
		if err != nil {
			return nil, fmt.Errorf("river inserter: %w", err)
		}
		q.insert = func(ctx context.Context, tx *sql.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
			return ins.InsertTx(ctx, tx, args, opts)
		}
		q.bind(c.Start, c.Stop, c.StopAndCancel, c.Subscribe)
	default:
		return nil, fmt.Errorf("queue: unsupported dialect %q", cfg.Store.Dialect())
	}
	if cfg.MaxWorkers == 0 {
		q.start = func(context.Context) error { return nil }
		q.stop = q.start
		q.hardStop = q.start
	}
	return q, nil
}

func (q *Queue) bind(start, stop, hardStop func(context.Context) error, sub func(...river.EventKind) (<-chan *river.Event, func())) {
	q.start, q.stop, q.hardStop, q.sub = start, stop, hardStop, sub
}

func migrate[TTx any](ctx context.Context, driver riverdriver.Driver[TTx]) error {
	m, err := rivermigrate.New(driver, nil)
	if err != nil {
		return fmt.Errorf("river migrator: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("migrate river tables: %w", err)
	}
	return nil
}

// Enqueue inserts a job inside the store transaction tx.
func (q *Queue) Enqueue(ctx context.Context, tx *store.Tx, args river.JobArgs, opts *river.InsertOpts) (int64, error) {
	if tx.SQL() == nil {
		return 0, errors.New("enqueue needs a write transaction")
	}
	res, err := q.insert(ctx, tx.SQL(), args, opts)
	if err != nil {
		return 0, fmt.Errorf("enqueue %s: %w", args.Kind(), err)
	}
	return res.Job.ID, nil
}

// Start begins working jobs and reclaiming the jobs of dead workers
// (no-op for an insert-only queue).
func (q *Queue) Start(ctx context.Context) error {
	if err := q.start(ctx); err != nil {
		return err
	}
	if q.leases != nil && q.stopLeases == nil {
		lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		q.stopLeases, q.leasesDone = cancel, make(chan struct{})
		go func() {
			defer close(q.leasesDone)
			q.leases.run(lctx)
		}()
	}
	return nil
}

// Reclaim returns the running jobs whose lease expired to the queue at
// once and says how many (Start does this every Lease/6).
func (q *Queue) Reclaim(ctx context.Context) (int64, error) {
	if q.leases == nil {
		return 0, errors.New("reclaim needs a queue with workers")
	}
	return q.leases.reclaim(ctx)
}

// Stop waits for running jobs to finish, until ctx ends.
func (q *Queue) Stop(ctx context.Context) error {
	if q.stopLeases != nil {
		q.stopLeases()
		<-q.leasesDone
	}
	err := q.stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		// Out of patience: cancel what runs; it resumes from its checkpoint.
		err = q.hardStop(context.Background())
	}
	if q.riverDB != nil {
		q.riverDB.Close()
	}
	return err
}

// Subscribe delivers job events (tests, metrics).
func (q *Queue) Subscribe(kinds ...river.EventKind) (<-chan *river.Event, func()) {
	return q.sub(kinds...)
}

// Once runs effect inside a transaction unless key was already recorded,
// so a job retried after a crash never repeats what it committed.
func Once(ctx context.Context, s *store.Store, key string, effect func(tx *store.Tx) error) (ran bool, err error) {
	err = s.Write(ctx, func(tx *store.Tx) error {
		first, err := tx.ClaimEffect(ctx, key)
		if err != nil || !first {
			return err
		}
		ran = true
		return effect(tx)
	})
	return ran, err
}
