package queue_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/ferry-import/ferry/queue"
	"github.com/ferry-import/ferry/store"
	"github.com/ferry-import/ferry/store/storetest"
)

type effectArgs struct {
	Key string `json:"key"`
}

func (effectArgs) Kind() string { return "test_effect" }

// effectWorker appends one row to test_effects per job, at most once per
// key; afterEffect lets the doomed child process stop right there.
type effectWorker struct {
	river.WorkerDefaults[effectArgs]
	s           *store.Store
	afterEffect func()
}

func (w *effectWorker) Work(ctx context.Context, job *river.Job[effectArgs]) error {
	if _, err := queue.Once(ctx, w.s, job.Args.Key, func(tx *store.Tx) error {
		_, err := w.s.DB().ExecContext(ctx, "SELECT 1") // a read outside the tx must not deadlock
		if err != nil {
			return err
		}
		return tx.Exec(ctx, `INSERT INTO test_effects (effect_key) VALUES ($1)`, job.Args.Key)
	}); err != nil {
		return err
	}
	if w.afterEffect != nil {
		w.afterEffect()
	}
	return nil
}

const helperEnv = "FERRY_QUEUE_TEST_DOOMED_WORKER"

// TestDoomedWorker is the child process of TestJobSurvivesKilledWorker: it
// works the job, commits the effect, says so on stdout, then hangs until
// it is killed — a worker dying between its effect and River's completion.
func TestDoomedWorker(t *testing.T) {
	if os.Getenv(helperEnv) == "" {
		t.Skip("helper process for TestJobSurvivesKilledWorker")
	}
	ctx := context.Background()
	s, err := store.Open(ctx, store.Config{URL: os.Getenv("FERRY_QUEUE_TEST_URL"), DataDir: os.Getenv("FERRY_QUEUE_TEST_DIR")})
	if err != nil {
		t.Fatal(err)
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &effectWorker{s: s, afterEffect: func() {
		fmt.Println("EFFECT_COMMITTED")
		select {}
	}})
	q, err := queue.Open(ctx, queue.Config{Store: s, Workers: workers, MaxWorkers: 1, FetchPollInterval: 50 * time.Millisecond, ID: "doomed", Lease: testLease})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	select {}
}

func TestJobSurvivesKilledWorker(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			s := storetest.Open(t, e)
			if _, err := s.DB().ExecContext(ctx, `CREATE TABLE test_effects (effect_key TEXT NOT NULL)`); err != nil {
				t.Fatal(err)
			}
			// Enqueue transactionally with an insert-only queue.
			workers := river.NewWorkers()
			river.AddWorker(workers, &effectWorker{s: s})
			ins, err := queue.Open(ctx, queue.Config{Store: s, Workers: workers})
			if err != nil {
				t.Fatal(err)
			}
			var jobID int64
			if err := s.Write(ctx, func(tx *store.Tx) error {
				jobID, err = ins.Enqueue(ctx, tx, effectArgs{Key: "job-effect-1"}, nil)
				return err
			}); err != nil {
				t.Fatal(err)
			}

			// A worker process takes the job, commits its effect, and is killed.
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestDoomedWorker$", "-test.v")
			cmd.Env = append(os.Environ(), helperEnv+"=1", "FERRY_QUEUE_TEST_URL="+e.URL, "FERRY_QUEUE_TEST_DIR="+e.DataDir)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(out)
			committed := false
			for sc.Scan() {
				if strings.Contains(sc.Text(), "EFFECT_COMMITTED") {
					committed = true
					break
				}
			}
			if !committed {
				t.Fatalf("child never committed the effect: %v", sc.Err())
			}
			_ = cmd.Process.Signal(syscall.SIGKILL)
			_ = cmd.Wait()

			var state string
			if err := s.DB().QueryRowContext(ctx, `SELECT state FROM river_job WHERE id = $1`, jobID).Scan(&state); err != nil {
				t.Fatal(err)
			}
			if state != "running" {
				t.Fatalf("job state after kill: %s, want running", state)
			}

			// The next worker reclaims the job once its lease has expired and
			// completes it. River's own rescue (1h by default) cannot be what
			// brings it back.
			q, err := queue.Open(ctx, queue.Config{Store: s, Workers: workers, MaxWorkers: 2,
				FetchPollInterval: 50 * time.Millisecond, ID: "survivor", Lease: testLease})
			if err != nil {
				t.Fatal(err)
			}
			events, stop := q.Subscribe(river.EventKindJobCompleted)
			defer stop()
			if err := q.Start(ctx); err != nil {
				t.Fatal(err)
			}
			defer q.Stop(context.Background())
			select {
			case ev := <-events:
				if ev.Job.ID != jobID {
					t.Fatalf("completed job %d, want %d", ev.Job.ID, jobID)
				}
				if ev.Job.Attempt < 2 {
					t.Fatalf("attempt %d: the job was not retried", ev.Job.Attempt)
				}
				if !reclaimed(ev.Job) {
					t.Fatalf("job came back without a lease reclaim in its errors: %+v", ev.Job.Errors)
				}
			case <-ctx.Done():
				t.Fatal("job never completed after the worker was killed")
			}
			var n int
			if err := s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM test_effects`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 1 {
				t.Fatalf("effect applied %d times, want exactly once", n)
			}
		})
	}
}
