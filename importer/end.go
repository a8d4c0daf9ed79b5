package importer

import (
	"context"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/store"
)

// FailIn ends an import as failed in the caller's transaction, with
// failure's message as its import_error and failure itself in its
// failures list (ImportID and CorrelationID are filled in), and tells the
// OnEnd hook. Running jobs stop before their next page. It is for an
// owner that ends imports on its own grounds (a GitLab migration that
// timed out); store.ErrImportEnded (wrapped) when the import had ended.
func (e *Engine) FailIn(ctx context.Context, tx *store.Tx, im *ferry.Import, failure *ferry.ImportFailure) error {
	if err := tx.SetImportStatus(ctx, im, ferry.ImportFailed, failure.ExceptionMessage); err != nil {
		return err
	}
	failure.ImportID, failure.CorrelationID = im.ID, im.CorrelationID
	if err := tx.AddFailure(ctx, failure); err != nil {
		return err
	}
	e.finished.WithLabelValues(im.SourceType, ferry.ImportFailed).Inc()
	return e.end(ctx, tx, im)
}
