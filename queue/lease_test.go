package queue_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/ferry-import/ferry/queue"
	"github.com/ferry-import/ferry/store"
	"github.com/ferry-import/ferry/store/storetest"
)

// testLease is short so the lease tests see several renewals and an
// expiry quickly; production uses 30s.
const testLease = 1200 * time.Millisecond

// reclaimed reports whether a job's errors record a lease reclaim.
func reclaimed(job *rivertype.JobRow) bool {
	for _, e := range job.Errors {
		if strings.Contains(e.Error, "lease") {
			return true
		}
	}
	return false
}

type blockArgs struct{}

func (blockArgs) Kind() string { return "test_block" }

// blockWorker announces each run and blocks until released or until its
// context ends, reporting the cause.
type blockWorker struct {
	river.WorkerDefaults[blockArgs]
	started chan *rivertype.JobRow
	release chan struct{}
	ended   chan error
}

func (w *blockWorker) Work(ctx context.Context, job *river.Job[blockArgs]) error {
	w.started <- job.JobRow
	select {
	case <-w.release:
		w.ended <- nil
		return nil
	case <-ctx.Done():
		w.ended <- context.Cause(ctx)
		return context.Cause(ctx)
	}
}

// Timeout is unbounded, as a repository mirror's may be: only the lease
// says whether the job is alive.
func (w *blockWorker) Timeout(*river.Job[blockArgs]) time.Duration { return -1 }

func startBlockQueue(t *testing.T, ctx context.Context, s *store.Store) (*queue.Queue, *blockWorker, int64) {
	t.Helper()
	w := &blockWorker{started: make(chan *rivertype.JobRow, 4), release: make(chan struct{}), ended: make(chan error, 4)}
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	q, err := queue.Open(ctx, queue.Config{Store: s, Workers: workers, MaxWorkers: 1, FetchPollInterval: 20 * time.Millisecond, Lease: testLease})
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	if err := s.Write(ctx, func(tx *store.Tx) error {
		id, err = q.Enqueue(ctx, tx, blockArgs{}, nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// A job still blocked is cancelled once this runs out.
		stopCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = q.Stop(stopCtx)
	})
	return q, w, id
}

// attemptedAt reads the lease stamp of a job as text, the same on both
// databases for comparing successive values.
func attemptedAt(t *testing.T, s *store.Store, id int64) (string, string, int) {
	t.Helper()
	var at, state string
	var attempt int
	if err := s.DB().QueryRow(`SELECT CAST(attempted_at AS TEXT), state, attempt FROM river_job WHERE id = $1`, id).Scan(&at, &state, &attempt); err != nil {
		t.Fatal(err)
	}
	return at, state, attempt
}

// A job that runs far longer than its lease is never taken for dead while
// its worker lives, with River's own rescue out of the picture.
func TestLeaseKeepsLongJobAlive(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			s := storetest.Open(t, e)
			q, w, id := startBlockQueue(t, ctx, s)
			<-w.started
			// Wait for 8 renewals: 8 × Lease/6 is longer than the lease.
			prev, _, _ := attemptedAt(t, s, id)
			for renewals := 0; renewals < 8; {
				select {
				case <-ctx.Done():
					t.Fatalf("only %d lease renewals seen", renewals)
				case err := <-w.ended:
					t.Fatalf("job ended while its worker lived: %v", err)
				case <-time.After(testLease / 12):
				}
				at, state, attempt := attemptedAt(t, s, id)
				if state != "running" || attempt != 1 {
					t.Fatalf("live job is %s at attempt %d", state, attempt)
				}
				if at != prev {
					renewals++
					prev = at
				}
			}
			if n, err := q.Reclaim(ctx); err != nil || n != 0 {
				t.Fatalf("reclaim took %d live jobs (%v)", n, err)
			}
			close(w.release)
			if err := <-w.ended; err != nil {
				t.Fatalf("job ended with %v", err)
			}
		})
	}
}

// A worker whose job was taken from it (here: another attempt started, as
// after a reclaim) stops the job with ErrLeaseLost instead of going on
// alongside the new owner.
func TestLeaseLostStopsJob(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			s := storetest.Open(t, e)
			_, w, id := startBlockQueue(t, ctx, s)
			<-w.started
			if _, err := s.DB().ExecContext(ctx, `UPDATE river_job SET attempt = attempt + 1 WHERE id = $1`, id); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-w.ended:
				if !errors.Is(err, queue.ErrLeaseLost) {
					t.Fatalf("job stopped with %v, want ErrLeaseLost", err)
				}
			case <-ctx.Done():
				t.Fatal("job kept running after its lease was taken")
			}
		})
	}
}
