package importer

import (
	"context"
	"fmt"

	"github.com/riverqueue/river"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/store"
)

// PessimisticTimeoutMessage is GitLab's import_error for a stalled stage.
const PessimisticTimeoutMessage = "Failing advance stage, timeout reached with pessimistic strategy"

type watchdogWorker struct {
	river.WorkerDefaults[watchdogArgs]
	e *Engine
}

// Work applies each stalled import's timeout strategy: a stage that made
// no progress for StallTimeout (rate-limit waits excepted) either fails
// the import (pessimistic, the default) or is given up so the next stage
// runs (optimistic), its unfinished relations listed as failures.
func (w *watchdogWorker) Work(ctx context.Context, job *river.Job[watchdogArgs]) error {
	e := w.e
	var stalled []*ferry.Import
	if err := e.cfg.Store.Read(ctx, func(tx *store.Tx) (err error) {
		stalled, err = tx.StalledImports(ctx, tx.Now().Add(-e.cfg.StallTimeout))
		return err
	}); err != nil {
		return err
	}
	for _, im := range stalled {
		if im.TimeoutStrategy != ferry.TimeoutOptimistic {
			if err := e.fail(ctx, im, "", fmt.Errorf("%s", PessimisticTimeoutMessage)); err != nil {
				return err
			}
			continue
		}
		reason := fmt.Sprintf("no progress for %s; skipped (optimistic timeout strategy)", e.cfg.StallTimeout)
		err := e.cfg.Store.Write(ctx, func(tx *store.Tx) error {
			names, err := tx.SkipPendingRelations(ctx, im.ID, im.StageIndex, reason)
			if err != nil {
				return err
			}
			for _, n := range names {
				if err := tx.AddFailure(ctx, &ferry.ImportFailure{ImportID: im.ID, Relation: n, ExceptionClass: "TimeoutError",
					ExceptionMessage: reason, CorrelationID: im.CorrelationID}); err != nil {
					return err
				}
			}
			if err := tx.ClearPending(ctx, im.ID); err != nil {
				return err
			}
			_, err = e.queue.Enqueue(ctx, tx, stageArgs{ImportID: im.ID, Stage: im.StageIndex + 1}, nil)
			return err
		})
		if err != nil {
			return err
		}
		e.cfg.Log.WarnContext(ctx, "stage timed out; going on", "import_id", im.ID, "stage", im.Stage)
	}
	return nil
}
