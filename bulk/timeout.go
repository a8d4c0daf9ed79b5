package bulk

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/store"
)

// timeoutArgs is the periodic sweep of stale migrations (GitLab's
// BulkImports::StaleImportWorker and cleanup_stale).
type timeoutArgs struct{}

func (timeoutArgs) Kind() string { return "bulk_import_timeouts" }

type timeoutWorker struct {
	river.WorkerDefaults[timeoutArgs]
	r *Runner
}

func (w *timeoutWorker) Work(ctx context.Context, _ *river.Job[timeoutArgs]) error {
	return w.r.timeOutStale(ctx)
}

// The failure messages of a timeout, listed under the entity (relation
// "entity") so its failures say why it ended.
func migrationTimeoutMessage(d time.Duration) string {
	return "Migration timed out after " + shortDuration(d) + " without an update"
}

func entityTimeoutMessage(d time.Duration) string {
	return "Migration timed out: entity not finished " + shortDuration(d) + " after it was created"
}

// shortDuration spells 24h, 8h, 90m, 1h30m, 2s rather than 24h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// timeOutStale times out every stale migration and stale entity, one
// migration per transaction under its row lock; each decides again from
// what it finds there, so a sweep that runs twice, or races a step, ends
// things once.
func (r *Runner) timeOutStale(ctx context.Context) error {
	var ids []int64
	if err := r.cfg.Store.Read(ctx, func(tx *store.Tx) (err error) {
		now := tx.Now()
		ids, err = tx.StaleBulkImports(ctx, now.Add(-r.cfg.StaleAfter), now.Add(-r.cfg.EntityStaleAfter))
		return err
	}); err != nil {
		return err
	}
	for _, id := range ids {
		if err := r.cfg.Store.Write(ctx, func(tx *store.Tx) error { return r.timeOut(ctx, tx, id) }); err != nil {
			return fmt.Errorf("time out bulk import %d: %w", id, err)
		}
	}
	return nil
}

// timeOut ends a stale migration as timeout with every entity not ended,
// or, when only some of its entities are stale, those entities; their
// running imports fail with the reason, and the migration concludes if
// nothing is left running.
func (r *Runner) timeOut(ctx context.Context, tx *store.Tx, bulkID int64) error {
	b, err := tx.LockBulkImport(ctx, bulkID)
	if ferry.ErrorCode(err) == ferry.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	if ferry.BulkDone(b.Status) {
		return nil
	}
	now := tx.Now()
	whole := b.UpdatedAt.Before(now.Add(-r.cfg.StaleAfter))
	entities, err := tx.BulkEntitiesOf(ctx, b.ID)
	if err != nil {
		return err
	}
	for _, e := range entities {
		if ferry.BulkDone(e.Status) {
			continue
		}
		msg := migrationTimeoutMessage(r.cfg.StaleAfter)
		if !whole {
			if !e.CreatedAt.Before(now.Add(-r.cfg.EntityStaleAfter)) {
				continue
			}
			msg = entityTimeoutMessage(r.cfg.EntityStaleAfter)
		}
		if err := r.timeOutEntity(ctx, tx, b, e, msg); err != nil {
			return err
		}
	}
	if whole {
		r.cfg.Log.WarnContext(ctx, "bulk import timed out", "bulk_import_id", b.ID, "stale_after", r.cfg.StaleAfter.String())
		return tx.SetBulkImportStatus(ctx, b.ID, ferry.BulkTimeout)
	}
	return r.conclude(ctx, tx, b)
}

// timeOutEntity ends an entity as timeout. Its import, if running, fails
// with msg (so neither the project's import status nor the entity's
// failures read as a success); an import that had ended (a group waiting
// for its children) lists msg beside its failures; an entity without an
// import keeps msg as its error.
func (r *Runner) timeOutEntity(ctx context.Context, tx *store.Tx, b *ferry.BulkImport, e *ferry.BulkEntity, msg string) error {
	r.cfg.Log.WarnContext(ctx, "bulk import entity timed out", "bulk_import_id", b.ID, "entity_id", e.ID,
		"source_full_path", e.SourceFullPath, "error", msg)
	e.Status = ferry.BulkTimeout
	if e.ImportID == 0 {
		e.Error = msg
		return tx.UpdateBulkEntity(ctx, e)
	}
	failure := &ferry.ImportFailure{Relation: "entity", SourceURL: strings.TrimRight(b.SourceURL, "/") + "/" + e.SourceFullPath,
		SourceTitle: e.SourceFullPath, ExceptionClass: "TimeoutError", ExceptionMessage: msg}
	im, err := tx.ImportByID(ctx, e.ImportID)
	switch {
	case ferry.ErrorCode(err) == ferry.ENOTFOUND: // its destination was deleted
		e.Error = msg
		return tx.UpdateBulkEntity(ctx, e)
	case err != nil:
		return err
	}
	// The entity's status first: the import's OnEnd hook enqueues a step,
	// which must find the entity ended.
	if err := tx.UpdateBulkEntity(ctx, e); err != nil {
		return err
	}
	if !ferry.ImportDone(im.Status) {
		err := r.cfg.Engine.FailIn(ctx, tx, im, failure)
		if !errors.Is(err, store.ErrImportEnded) {
			return err
		}
	}
	failure.ImportID, failure.CorrelationID = im.ID, im.CorrelationID
	return tx.AddFailure(ctx, failure)
}
