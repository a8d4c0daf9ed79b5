package queue

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/ferry-import/ferry/store"
)

// Leases are the heartbeat River v0.31 lacks. River takes a job for dead
// only once it has been running for RescueStuckJobsAfter, which must then
// exceed the longest job (a repository mirror can run for hours), so a
// crashed worker's import would wait that long. Instead every job a
// process works holds a lease: the process renews it (River's own
// attempted_at column, which nothing else reads while a job runs) every
// Lease/6, and any worker process returns a running job whose lease has
// not been renewed for Lease to the queue at once. A live job is never
// taken, however long it runs; a dead worker's job is picked up within
// about Lease of its death, on any process, leader or not.
//
// The renewal is fenced by the attempt number: a worker whose job was
// reclaimed (its renewals failed, or it froze for longer than Lease) finds
// no row to renew and has its job's context cancelled with ErrLeaseLost,
// as it does when it cannot reach the database for Lease/2, so two workers
// never keep working one job for long. River's own rescuer stays as the
// backstop for anything without a lease.
//
// The two statements below touch River's river_job table directly; River
// is pinned (see go.mod) and the queue tests exercise them on both
// databases, so a schema change shows up there.

// ErrLeaseLost is the cause of a job context cancelled because its lease
// was lost: another worker may be running the job now.
var ErrLeaseLost = errors.New("job lease lost: the job was taken for dead and may run elsewhere")

// reclaimMessage is recorded in the job's errors when it is reclaimed.
const reclaimMessage = "worker stopped renewing its lease (crashed or lost); job returned to the queue"

type leases struct {
	river.MiddlewareDefaults
	db      *sql.DB
	dialect string
	ttl     time.Duration
	log     *slog.Logger
}

func (l *leases) interval() time.Duration { return l.ttl / 6 }

// Work is River's worker middleware: it renews the job's lease while the
// job runs and cancels the job if the lease is lost.
func (l *leases) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(l.interval())
		defer t.Stop()
		lastRenewed := time.Now()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			held, err := l.renew(job.ID, job.Attempt)
			switch {
			case err == nil && held:
				lastRenewed = time.Now()
			case err == nil:
				l.log.Warn("job lease lost: stopping the job", "job_id", job.ID, "kind", job.Kind, "attempt", job.Attempt)
				cancel(ErrLeaseLost)
				return
			case time.Since(lastRenewed) > l.ttl/2:
				l.log.Warn("job lease not renewable: stopping the job", "job_id", job.ID, "kind", job.Kind, "error", err)
				cancel(fmt.Errorf("%w: %w", ErrLeaseLost, err))
				return
			}
		}
	}()
	err := doInner(ctx)
	close(done)
	<-stopped
	if cause := context.Cause(ctx); err == nil && errors.Is(cause, ErrLeaseLost) {
		err = cause
	}
	return err
}

// renew extends the lease of one attempt of a job; false means the job is
// no longer running under that attempt (it was reclaimed).
func (l *leases) renew(id int64, attempt int) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), l.interval())
	defer cancel()
	q := `UPDATE river_job SET attempted_at = now() WHERE id = $1 AND attempt = $2 AND state = 'running'`
	if l.dialect == store.SQLite {
		// River's SQLite driver keeps times as text in this exact form.
		q = `UPDATE river_job SET attempted_at = strftime('%Y-%m-%d %H:%M:%f', 'now') WHERE id = $1 AND attempt = $2 AND state = 'running'`
	}
	res, err := l.db.ExecContext(ctx, q, id, attempt)
	if err != nil {
		return false, fmt.Errorf("renew lease of job %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// reclaim returns running jobs whose lease expired to the queue (or
// discards them once out of attempts, as River's rescuer does) and
// reports how many it moved.
func (l *leases) reclaim(ctx context.Context) (int64, error) {
	// Recorded like River's own rescues, so the job's errors say why it ran again.
	attemptErr, err := json.Marshal(rivertype.AttemptError{At: time.Now().UTC(), Error: reclaimMessage})
	if err != nil {
		return 0, err
	}
	secs := l.ttl.Seconds()
	q := `UPDATE river_job SET
		state = (CASE WHEN metadata ? 'cancel_attempted_at' THEN 'cancelled'
			WHEN attempt >= max_attempts THEN 'discarded' ELSE 'available' END)::river_job_state,
		finalized_at = CASE WHEN metadata ? 'cancel_attempted_at' OR attempt >= max_attempts THEN now() END,
		scheduled_at = now(),
		errors = array_append(errors, $1::jsonb)
		WHERE state = 'running' AND attempted_at < now() - make_interval(secs => $2)`
	if l.dialect == store.SQLite {
		q = `UPDATE river_job SET
		state = CASE WHEN json_extract(metadata, '$.cancel_attempted_at') IS NOT NULL THEN 'cancelled'
			WHEN attempt >= max_attempts THEN 'discarded' ELSE 'available' END,
		finalized_at = CASE WHEN json_extract(metadata, '$.cancel_attempted_at') IS NOT NULL OR attempt >= max_attempts
			THEN strftime('%Y-%m-%d %H:%M:%f', 'now') END,
		scheduled_at = strftime('%Y-%m-%d %H:%M:%f', 'now'),
		errors = json_insert(coalesce(errors, json('[]')), '$[#]', json($1))
		WHERE state = 'running' AND julianday(attempted_at) < julianday('now') - $2 / 86400.0`
	}
	res, err := l.db.ExecContext(ctx, q, string(attemptErr), secs)
	if err != nil {
		return 0, fmt.Errorf("reclaim jobs with expired leases: %w", err)
	}
	return res.RowsAffected()
}

// run reclaims expired leases every Lease/6 until ctx ends, starting at once
// so a restarted process picks up its predecessor's jobs as soon as their
// leases run out.
func (l *leases) run(ctx context.Context) {
	t := time.NewTicker(l.interval())
	defer t.Stop()
	for {
		n, err := l.reclaim(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			l.log.Warn("reclaim jobs with expired leases", "error", err)
		case n > 0:
			l.log.Info("jobs of a dead worker returned to the queue", "jobs", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
