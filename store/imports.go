package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ferry-import/ferry"
)

const importCols = `id, project_id, namespace_id, user_id, source_type, source_url, source_ref, options, timeout_strategy, sealed_credential, status, stage, stage_index,
 error, correlation_id, pending_relations, rate_limit_until, last_progress_at, created_at, started_at, finished_at, updated_at`

func scanImport(row interface{ Scan(...any) error }) (*ferry.Import, error) {
	var im ferry.Import
	var rl, started, finished sql.NullTime
	var project, namespace sql.NullInt64
	if err := row.Scan(&im.ID, &project, &namespace, &im.UserID, &im.SourceType, &im.SourceURL, &im.SourceRef, &im.Options, &im.TimeoutStrategy, &im.SealedCredential,
		&im.Status, &im.Stage, &im.StageIndex, &im.Error, &im.CorrelationID, &im.PendingRelations, &rl, &im.LastProgressAt,
		&im.CreatedAt, &started, &finished, &im.UpdatedAt); err != nil {
		return nil, err
	}
	im.ProjectID, im.NamespaceID = project.Int64, namespace.Int64
	im.RateLimitUntil, im.StartedAt, im.FinishedAt = timePtr(rl), timePtr(started), timePtr(finished)
	im.LastProgressAt, im.CreatedAt, im.UpdatedAt = im.LastProgressAt.UTC(), im.CreatedAt.UTC(), im.UpdatedAt.UTC()
	return &im, nil
}

// CreateImport records a scheduled import and sets the project's status.
// Its target is a project or a group: exactly one of ProjectID and
// NamespaceID is set.
func (tx *Tx) CreateImport(ctx context.Context, im *ferry.Import) error {
	if (im.ProjectID == 0) == (im.NamespaceID == 0) {
		return ferry.Errorf(ferry.EINVALID, "an import targets a project or a group")
	}
	now := tx.Now()
	if im.Status == "" {
		im.Status = ferry.ImportScheduled
	}
	if im.TimeoutStrategy == "" {
		im.TimeoutStrategy = ferry.TimeoutPessimistic
	}
	err := tx.q.QueryRowContext(ctx, `INSERT INTO imports (project_id, namespace_id, user_id, source_type, source_url, source_ref, options,
		timeout_strategy, sealed_credential, status, correlation_id, last_progress_at, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $12) RETURNING id`,
		nullID(im.ProjectID), nullID(im.NamespaceID), im.UserID, im.SourceType, im.SourceURL, im.SourceRef, im.Options, im.TimeoutStrategy, im.SealedCredential, im.Status,
		im.CorrelationID, now).Scan(&im.ID)
	if isUnique(err) {
		return ferry.Errorf(ferry.ECONFLICT, "an import already exists for this target")
	} else if err != nil {
		return fmt.Errorf("insert import for project %d / group %d: %w", im.ProjectID, im.NamespaceID, err)
	}
	im.CreatedAt, im.UpdatedAt, im.LastProgressAt, im.StageIndex = now, now, now, -1
	return tx.setProjectImportStatus(ctx, im.ProjectID, im.Status)
}

// setProjectImportStatus mirrors an import's status on its project; an
// import of a group (projectID 0) has none.
func (tx *Tx) setProjectImportStatus(ctx context.Context, projectID int64, status string) error {
	if projectID == 0 {
		return nil
	}
	if _, err := tx.q.ExecContext(ctx, `UPDATE projects SET import_status = $1, updated_at = $2 WHERE id = $3`, status, tx.Now(), projectID); err != nil {
		return fmt.Errorf("project %d import status: %w", projectID, err)
	}
	return nil
}

// ImportByID returns an import or ENOTFOUND.
func (tx *Tx) ImportByID(ctx context.Context, id int64) (*ferry.Import, error) {
	im, err := scanImport(tx.q.QueryRowContext(ctx, `SELECT `+importCols+` FROM imports WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ferry.Errorf(ferry.ENOTFOUND, "404 Not found")
	} else if err != nil {
		return nil, fmt.Errorf("import %d: %w", id, err)
	}
	return im, nil
}

// ImportByProject returns the import of a project or ENOTFOUND.
func (tx *Tx) ImportByProject(ctx context.Context, projectID int64) (*ferry.Import, error) {
	im, err := scanImport(tx.q.QueryRowContext(ctx, `SELECT `+importCols+` FROM imports WHERE project_id = $1`, projectID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ferry.Errorf(ferry.ENOTFOUND, "404 Not found")
	} else if err != nil {
		return nil, fmt.Errorf("import of project %d: %w", projectID, err)
	}
	return im, nil
}

// ImportByNamespace returns the import of a group or ENOTFOUND.
func (tx *Tx) ImportByNamespace(ctx context.Context, namespaceID int64) (*ferry.Import, error) {
	im, err := scanImport(tx.q.QueryRowContext(ctx, `SELECT `+importCols+` FROM imports WHERE namespace_id = $1`, namespaceID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ferry.Errorf(ferry.ENOTFOUND, "404 Not found")
	} else if err != nil {
		return nil, fmt.Errorf("import of group %d: %w", namespaceID, err)
	}
	return im, nil
}

// ErrImportEnded is returned by SetImportStatus when the import had
// already ended (finished, failed or canceled) by the time the change was
// written: the first final status wins, so a cancel is never overwritten.
var ErrImportEnded = ferry.Errorf(ferry.EBADREQUEST, "the import has already ended")

// SetImportStatus moves an import (and its project) to status. Final
// statuses stamp finished_at and wipe the sealed credential: nothing that
// could reach the source outlives the import. An import that has ended
// does not move again (ErrImportEnded).
func (tx *Tx) SetImportStatus(ctx context.Context, im *ferry.Import, status, errMsg string) error {
	now := tx.Now()
	set := `status = $1, error = $2, updated_at = $3`
	switch {
	case ferry.ImportDone(status):
		set += `, finished_at = $3, sealed_credential = '', rate_limit_until = NULL`
	case status == ferry.ImportStarted:
		set += `, started_at = COALESCE(started_at, $3)`
	}
	res, err := tx.q.ExecContext(ctx, `UPDATE imports SET `+set+` WHERE id = $4 AND status NOT IN ('finished', 'failed', 'canceled')`,
		status, errMsg, now, im.ID)
	if err != nil {
		return fmt.Errorf("import %d status: %w", im.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("import %d status: %w", im.ID, err)
	} else if n == 0 {
		return ErrImportEnded
	}
	switch {
	case ferry.ImportDone(status):
		im.SealedCredential, im.FinishedAt, im.RateLimitUntil = "", &now, nil
	case status == ferry.ImportStarted && im.StartedAt == nil:
		im.StartedAt = &now
	}
	im.Status, im.Error, im.UpdatedAt = status, errMsg, now
	return tx.setProjectImportStatus(ctx, im.ProjectID, status)
}

// StartStage records the relations of stage index/name (idempotently) and
// how many must finish before the next stage.
func (tx *Tx) StartStage(ctx context.Context, importID int64, index int, name string, relations []string) error {
	now := tx.Now()
	for _, r := range relations {
		if _, err := tx.q.ExecContext(ctx, `INSERT INTO import_relations (import_id, name, stage_index, stage, updated_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (import_id, name) DO NOTHING`, importID, r, index, name, now); err != nil {
			return fmt.Errorf("start relation %s: %w", r, err)
		}
	}
	var pending int
	if err := tx.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM import_relations WHERE import_id = $1 AND stage_index = $2 AND state = 'pending'`,
		importID, index).Scan(&pending); err != nil {
		return fmt.Errorf("pending relations: %w", err)
	}
	_, err := tx.q.ExecContext(ctx, `UPDATE imports SET stage = $1, stage_index = $2, pending_relations = $3, last_progress_at = $4, updated_at = $4 WHERE id = $5`,
		name, index, pending, now, importID)
	if err != nil {
		return fmt.Errorf("import %d stage: %w", importID, err)
	}
	return nil
}

const relationCols = `import_id, stage_index, stage, name, page_cursor, fetched, imported, failed, total, state, error, updated_at,
	transfer_done, transfer_total, transfer_started_at`

func scanRelation(row interface{ Scan(...any) error }) (*ferry.ImportRelation, error) {
	var r ferry.ImportRelation
	var transferStarted sql.NullTime
	if err := row.Scan(&r.ImportID, &r.StageIndex, &r.Stage, &r.Name, &r.Cursor, &r.Fetched, &r.Imported, &r.Failed, &r.Total, &r.State, &r.Error, &r.UpdatedAt,
		&r.Transfer.Done, &r.Transfer.Total, &transferStarted); err != nil {
		return nil, err
	}
	r.UpdatedAt = r.UpdatedAt.UTC()
	r.Transfer.StartedAt = timePtr(transferStarted)
	return &r, nil
}

// SetRelationTransfer records how far a pending relation's transfer in
// flight has come (ferry.Transfer); restart begins a new one, timed from
// now. It moves no counter and no cursor, so a checkpoint racing it is
// unaffected, and it does nothing once the relation has ended.
func (tx *Tx) SetRelationTransfer(ctx context.Context, importID int64, name string, done, total int64, restart bool) error {
	now := tx.Now()
	started := `COALESCE(transfer_started_at, $3)`
	if restart {
		started = `$3`
	}
	if _, err := tx.q.ExecContext(ctx, `UPDATE import_relations SET transfer_done = $1, transfer_total = $2, transfer_started_at = `+started+`
		WHERE import_id = $4 AND name = $5 AND state = 'pending'`, done, total, now, importID, name); err != nil {
		return fmt.Errorf("transfer of %s: %w", name, err)
	}
	return nil
}

// Relation returns one relation checkpoint or ENOTFOUND.
func (tx *Tx) Relation(ctx context.Context, importID int64, name string) (*ferry.ImportRelation, error) {
	r, err := scanRelation(tx.q.QueryRowContext(ctx, `SELECT `+relationCols+` FROM import_relations WHERE import_id = $1 AND name = $2`, importID, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ferry.Errorf(ferry.ENOTFOUND, "relation %s not found", name)
	} else if err != nil {
		return nil, fmt.Errorf("relation %s: %w", name, err)
	}
	return r, nil
}

// Relations lists an import's relations in stage order.
func (tx *Tx) Relations(ctx context.Context, importID int64) ([]*ferry.ImportRelation, error) {
	rows, err := tx.q.QueryContext(ctx, `SELECT `+relationCols+` FROM import_relations WHERE import_id = $1 ORDER BY stage_index, name`, importID)
	if err != nil {
		return nil, fmt.Errorf("relations of import %d: %w", importID, err)
	}
	defer rows.Close()
	var out []*ferry.ImportRelation
	for rows.Next() {
		r, err := scanRelation(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Checkpoint advances a relation from cursor from to next, adding to its
// counters. It succeeds only if the relation is still at from: a second
// worker on the same relation (a rescued job whose first run lives on)
// finds 0 rows and must roll back its page.
func (tx *Tx) Checkpoint(ctx context.Context, importID int64, name, from, next string, fetched, imported, failed int64, total int64, done bool) (bool, error) {
	state := ferry.RelationPending
	if done {
		state = ferry.RelationDone
	}
	now := tx.Now()
	res, err := tx.q.ExecContext(ctx, `UPDATE import_relations SET page_cursor = $1, fetched = fetched + $2, imported = imported + $3, failed = failed + $4,
		total = CASE WHEN CAST($5 AS BIGINT) >= 0 THEN CAST($5 AS BIGINT) ELSE total END, state = $6, updated_at = $7
		WHERE import_id = $8 AND name = $9 AND page_cursor = $10 AND state = 'pending'`,
		next, fetched, imported, failed, total, state, now, importID, name, from)
	if err != nil {
		return false, fmt.Errorf("checkpoint %s: %w", name, err)
	}
	n, err := res.RowsAffected()
	if err != nil || n == 0 {
		return false, err
	}
	if _, err := tx.q.ExecContext(ctx, `UPDATE imports SET last_progress_at = $1, updated_at = $1 WHERE id = $2`, now, importID); err != nil {
		return false, fmt.Errorf("import progress: %w", err)
	}
	return true, nil
}

// FailRelation marks a relation failed with a reason.
func (tx *Tx) FailRelation(ctx context.Context, importID int64, name, reason string) (bool, error) {
	res, err := tx.q.ExecContext(ctx, `UPDATE import_relations SET state = 'failed', error = $1, updated_at = $2 WHERE import_id = $3 AND name = $4 AND state = 'pending'`,
		reason, tx.Now(), importID, name)
	if err != nil {
		return false, fmt.Errorf("fail relation %s: %w", name, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// RelationEnded counts down the import's pending relations and returns how
// many remain. The UPDATE serialises concurrent finishers, so exactly one
// sees 0 and advances the stage.
func (tx *Tx) RelationEnded(ctx context.Context, importID int64) (int, error) {
	var left int
	err := tx.q.QueryRowContext(ctx, `UPDATE imports SET pending_relations = pending_relations - 1, updated_at = $1 WHERE id = $2 RETURNING pending_relations`,
		tx.Now(), importID).Scan(&left)
	if err != nil {
		return 0, fmt.Errorf("count down relations of %d: %w", importID, err)
	}
	return left, nil
}

// SetRateLimitWait records (or clears, with nil) a rate-limit pause.
func (tx *Tx) SetRateLimitWait(ctx context.Context, importID int64, until *time.Time) error {
	if _, err := tx.q.ExecContext(ctx, `UPDATE imports SET rate_limit_until = $1 WHERE id = $2`, nullTime(until), importID); err != nil {
		return fmt.Errorf("import %d rate-limit wait: %w", importID, err)
	}
	return nil
}

// AddFailure records a failed item or relation.
func (tx *Tx) AddFailure(ctx context.Context, f *ferry.ImportFailure) error {
	now := tx.Now()
	err := tx.q.QueryRowContext(ctx, `INSERT INTO import_failures (import_id, relation, source_url, source_title, exception_class, exception_message, correlation_id, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`, f.ImportID, f.Relation, f.SourceURL, f.SourceTitle, f.ExceptionClass, f.ExceptionMessage, f.CorrelationID, now).Scan(&f.ID)
	if err != nil {
		return fmt.Errorf("record failure: %w", err)
	}
	f.CreatedAt = now
	return nil
}

// Failures lists up to limit failures of an import, oldest first.
func (tx *Tx) Failures(ctx context.Context, importID int64, limit int) ([]*ferry.ImportFailure, error) {
	rows, err := tx.q.QueryContext(ctx, `SELECT id, import_id, relation, source_url, source_title, exception_class, exception_message, correlation_id, created_at
		FROM import_failures WHERE import_id = $1 ORDER BY id LIMIT $2`, importID, limit)
	if err != nil {
		return nil, fmt.Errorf("failures of import %d: %w", importID, err)
	}
	defer rows.Close()
	var out []*ferry.ImportFailure
	for rows.Next() {
		var f ferry.ImportFailure
		if err := rows.Scan(&f.ID, &f.ImportID, &f.Relation, &f.SourceURL, &f.SourceTitle, &f.ExceptionClass, &f.ExceptionMessage, &f.CorrelationID, &f.CreatedAt); err != nil {
			return nil, err
		}
		f.CreatedAt = f.CreatedAt.UTC()
		out = append(out, &f)
	}
	return out, rows.Err()
}

// AddStats adds fetched/imported counts per object type.
func (tx *Tx) AddStats(ctx context.Context, importID int64, stats []ferry.ImportStat) error {
	for _, s := range stats {
		if _, err := tx.q.ExecContext(ctx, `INSERT INTO import_stats (import_id, object_type, fetched, imported) VALUES ($1, $2, $3, $4)
			ON CONFLICT (import_id, object_type) DO UPDATE SET fetched = import_stats.fetched + excluded.fetched, imported = import_stats.imported + excluded.imported`,
			importID, s.ObjectType, s.Fetched, s.Imported); err != nil {
			return fmt.Errorf("import stats %s: %w", s.ObjectType, err)
		}
	}
	return nil
}

// Stats returns an import's counts per object type.
func (tx *Tx) Stats(ctx context.Context, importID int64) ([]ferry.ImportStat, error) {
	rows, err := tx.q.QueryContext(ctx, `SELECT object_type, fetched, imported FROM import_stats WHERE import_id = $1 ORDER BY object_type`, importID)
	if err != nil {
		return nil, fmt.Errorf("stats of import %d: %w", importID, err)
	}
	defer rows.Close()
	var out []ferry.ImportStat
	for rows.Next() {
		var s ferry.ImportStat
		if err := rows.Scan(&s.ObjectType, &s.Fetched, &s.Imported); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// AddFollowups queues per-item work for later relations; keys already
// queued for a relation are skipped.
func (tx *Tx) AddFollowups(ctx context.Context, importID int64, relation string, keys []string) error {
	for _, k := range keys {
		if _, err := tx.q.ExecContext(ctx, `INSERT INTO import_followups (import_id, relation, item_key) VALUES ($1, $2, $3)
			ON CONFLICT (import_id, relation, item_key) DO NOTHING`, importID, relation, k); err != nil {
			return fmt.Errorf("queue %s %s: %w", relation, k, err)
		}
	}
	return nil
}

// NextFollowups returns up to limit queued keys for relation after seq.
func (tx *Tx) NextFollowups(ctx context.Context, importID int64, relation string, after int64, limit int) (seqs []int64, keys []string, err error) {
	rows, err := tx.q.QueryContext(ctx, `SELECT seq, item_key FROM import_followups WHERE import_id = $1 AND relation = $2 AND seq > $3 ORDER BY seq LIMIT $4`,
		importID, relation, after, limit)
	if err != nil {
		return nil, nil, fmt.Errorf("followups for %s: %w", relation, err)
	}
	defer rows.Close()
	for rows.Next() {
		var s int64
		var k string
		if err := rows.Scan(&s, &k); err != nil {
			return nil, nil, err
		}
		seqs, keys = append(seqs, s), append(keys, k)
	}
	return seqs, keys, rows.Err()
}

// CountFollowups is how many items are queued for relation (its total).
func (tx *Tx) CountFollowups(ctx context.Context, importID int64, relation string) (int64, error) {
	var n int64
	err := tx.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM import_followups WHERE import_id = $1 AND relation = $2`, importID, relation).Scan(&n)
	return n, err
}

// StalledImports returns scheduled or started imports whose last progress is older than
// before and that are not waiting for a rate limit.
func (tx *Tx) StalledImports(ctx context.Context, before time.Time) ([]*ferry.Import, error) {
	rows, err := tx.q.QueryContext(ctx, `SELECT `+importCols+` FROM imports WHERE status IN ('scheduled', 'started') AND last_progress_at < $1
		AND (rate_limit_until IS NULL OR rate_limit_until < $2) ORDER BY id`, before, tx.Now())
	if err != nil {
		return nil, fmt.Errorf("stalled imports: %w", err)
	}
	defer rows.Close()
	var out []*ferry.Import
	for rows.Next() {
		im, err := scanImport(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, im)
	}
	return out, rows.Err()
}

// SkipPendingRelations marks the pending relations of a stage failed with
// reason (the optimistic timeout strategy) and returns their names.
func (tx *Tx) SkipPendingRelations(ctx context.Context, importID int64, stageIndex int, reason string) ([]string, error) {
	rows, err := tx.q.QueryContext(ctx, `SELECT name FROM import_relations WHERE import_id = $1 AND stage_index = $2 AND state = 'pending' ORDER BY name`, importID, stageIndex)
	if err != nil {
		return nil, fmt.Errorf("pending relations: %w", err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, err
		}
		names = append(names, n)
	}
	rows.Close()
	for _, n := range names {
		if _, err := tx.FailRelation(ctx, importID, n, reason); err != nil {
			return nil, err
		}
	}
	return names, nil
}

// ClearPending sets an import's pending relation count to zero and marks
// progress (a stage given up by the optimistic strategy).
func (tx *Tx) ClearPending(ctx context.Context, importID int64) error {
	_, err := tx.q.ExecContext(ctx, `UPDATE imports SET pending_relations = 0, last_progress_at = $1, updated_at = $1 WHERE id = $2`, tx.Now(), importID)
	if err != nil {
		return fmt.Errorf("clear pending relations of %d: %w", importID, err)
	}
	return nil
}
