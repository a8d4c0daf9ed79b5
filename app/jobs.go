package app

import (
	"context"
	"fmt"

	"github.com/riverqueue/river"

	"github.com/ferry-import/ferry/gitstore"
	"github.com/ferry-import/ferry/store"
)

// deleteProjectDataArgs removes the on-disk data (repository, wiki, LFS
// links) of deleted projects. It is enqueued in the transaction that
// deletes their records, so data never outlives a committed delete and is
// never removed for a delete that rolled back.
type deleteProjectDataArgs struct {
	ProjectIDs []int64 `json:"project_ids"`
}

func (deleteProjectDataArgs) Kind() string { return "delete_project_data" }

type deleteProjectDataWorker struct {
	river.WorkerDefaults[deleteProjectDataArgs]
	git *gitstore.Store
}

// Work is idempotent: deleting what is already gone is not an error.
func (w *deleteProjectDataWorker) Work(ctx context.Context, job *river.Job[deleteProjectDataArgs]) error {
	for _, id := range job.Args.ProjectIDs {
		if err := w.git.Delete(ctx, id); err != nil {
			return fmt.Errorf("delete data of project %d: %w", id, err)
		}
	}
	return nil
}

// enqueueDataDeletion is the API's ProjectsDeleted hook.
func (a *App) enqueueDataDeletion(ctx context.Context, tx *store.Tx, ids []int64) error {
	_, err := a.Queue.Enqueue(ctx, tx, deleteProjectDataArgs{ProjectIDs: ids}, nil)
	return err
}
