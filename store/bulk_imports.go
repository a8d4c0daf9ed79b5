package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ferry-import/ferry"
)

// A bulk import's has_failures: an entity failed or timed out, or an
// entity's import recorded failures.
const bulkHasFailures = `EXISTS (SELECT 1 FROM bulk_import_entities fe WHERE fe.bulk_import_id = b.id AND (fe.status IN ('failed', 'timeout')
 OR EXISTS (SELECT 1 FROM import_failures ff WHERE ff.import_id = fe.import_id)))`

const bulkCols = `b.id, b.user_id, b.status, b.source_type, b.source_url, b.source_version, b.source_enterprise, b.sealed_credential,
 ` + bulkHasFailures + `, b.created_at, b.updated_at`

func scanBulkImport(row rowScanner) (*ferry.BulkImport, error) {
	var b ferry.BulkImport
	if err := row.Scan(&b.ID, &b.UserID, &b.Status, &b.SourceType, &b.SourceURL, &b.SourceVersion, &b.SourceEnterprise, &b.SealedCredential,
		&b.HasFailures, &b.CreatedAt, &b.UpdatedAt); err != nil {
		return nil, err
	}
	b.CreatedAt, b.UpdatedAt = b.CreatedAt.UTC(), b.UpdatedAt.UTC()
	return &b, nil
}

const entityCols = `e.id, e.bulk_import_id, e.parent_id, e.source_type, e.source_full_path, e.source_id, e.destination_slug,
 e.destination_namespace, e.migrate_projects, e.migrate_memberships, e.status, e.namespace_id, e.project_id, e.import_id, e.error, e.created_at, e.updated_at`

func scanBulkEntity(row rowScanner) (*ferry.BulkEntity, error) {
	var e ferry.BulkEntity
	var parent, ns, project, im sql.NullInt64
	if err := row.Scan(&e.ID, &e.BulkImportID, &parent, &e.SourceType, &e.SourceFullPath, &e.SourceID, &e.DestinationSlug,
		&e.DestinationNamespace, &e.MigrateProjects, &e.MigrateMemberships, &e.Status, &ns, &project, &im, &e.Error, &e.CreatedAt, &e.UpdatedAt); err != nil {
		return nil, err
	}
	e.ParentID, e.NamespaceID, e.ProjectID, e.ImportID = parent.Int64, ns.Int64, project.Int64, im.Int64
	e.CreatedAt, e.UpdatedAt = e.CreatedAt.UTC(), e.UpdatedAt.UTC()
	return &e, nil
}

// bulkNow is the clock at the precision both engines keep (PostgreSQL's
// microseconds), so what a write returns is what a read gives back.
func (tx *Tx) bulkNow() time.Time { return tx.Now().Truncate(time.Microsecond) }

// ErrBulkEnded is returned (wrapped) by SetBulkImportStatus when the bulk
// import already has a final status: the first final status wins.
var ErrBulkEnded = ferry.Errorf(ferry.EBADREQUEST, "the bulk import has already ended")

var errBulkNotFound = ferry.Errorf(ferry.ENOTFOUND, "404 Not found")

// CreateBulkImport records a migration and its requested entities (IDs
// and timestamps set; an empty status is created). An entity requested
// twice is EUNPROCESSABLE.
func (tx *Tx) CreateBulkImport(ctx context.Context, b *ferry.BulkImport, entities []*ferry.BulkEntity) error {
	now := tx.bulkNow()
	if b.Status == "" {
		b.Status = ferry.BulkCreated
	}
	err := tx.q.QueryRowContext(ctx, `INSERT INTO bulk_imports (user_id, status, source_type, source_url, source_version, source_enterprise,
		sealed_credential, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id`,
		b.UserID, b.Status, b.SourceType, b.SourceURL, b.SourceVersion, b.SourceEnterprise, b.SealedCredential, now).Scan(&b.ID)
	if err != nil {
		return fmt.Errorf("insert bulk import of user %d: %w", b.UserID, err)
	}
	b.CreatedAt, b.UpdatedAt, b.HasFailures = now, now, false
	for _, e := range entities {
		e.BulkImportID = b.ID
		if err := tx.insertBulkEntity(ctx, e, false); isUnique(err) {
			return ferry.Errorf(ferry.EUNPROCESSABLE, "Import failed. '%s' is requested more than once.", e.SourceFullPath)
		} else if err != nil {
			return err
		}
	}
	return nil
}

// insertBulkEntity inserts e; with ignoreDuplicate, an entity already
// there (same import, source type and path) inserts nothing and reports
// sql.ErrNoRows.
func (tx *Tx) insertBulkEntity(ctx context.Context, e *ferry.BulkEntity, ignoreDuplicate bool) error {
	now := tx.bulkNow()
	if e.Status == "" {
		e.Status = ferry.BulkCreated
	}
	conflict := ""
	if ignoreDuplicate {
		conflict = ` ON CONFLICT (bulk_import_id, source_type, source_full_path) DO NOTHING`
	}
	err := tx.q.QueryRowContext(ctx, `INSERT INTO bulk_import_entities (bulk_import_id, parent_id, source_type, source_full_path, source_id,
		destination_slug, destination_namespace, migrate_projects, migrate_memberships, status, namespace_id, project_id, import_id, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)`+conflict+` RETURNING id`,
		e.BulkImportID, nullID(e.ParentID), e.SourceType, e.SourceFullPath, e.SourceID, e.DestinationSlug, e.DestinationNamespace,
		e.MigrateProjects, e.MigrateMemberships, e.Status, nullID(e.NamespaceID), nullID(e.ProjectID), nullID(e.ImportID), now).Scan(&e.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return err
	} else if err != nil {
		if isUnique(err) {
			return err
		}
		return fmt.Errorf("insert entity %s of bulk import %d: %w", e.SourceFullPath, e.BulkImportID, err)
	}
	e.CreatedAt, e.UpdatedAt = now, now
	return nil
}

// AddBulkEntity adds an entity to a migration, once: adding the same
// source type and path again returns false and fills e from the entity
// already there, so a runner may retry.
func (tx *Tx) AddBulkEntity(ctx context.Context, e *ferry.BulkEntity) (bool, error) {
	err := tx.insertBulkEntity(ctx, e, true)
	if err == nil {
		return true, nil
	} else if !errors.Is(err, sql.ErrNoRows) {
		return false, err
	}
	old, err := scanBulkEntity(tx.q.QueryRowContext(ctx, `SELECT `+entityCols+` FROM bulk_import_entities e
		WHERE e.bulk_import_id = $1 AND e.source_type = $2 AND e.source_full_path = $3`, e.BulkImportID, e.SourceType, e.SourceFullPath))
	if err != nil {
		return false, fmt.Errorf("entity %s of bulk import %d: %w", e.SourceFullPath, e.BulkImportID, err)
	}
	*e = *old
	return false, nil
}

func (tx *Tx) bulkImport(ctx context.Context, id int64, lock string) (*ferry.BulkImport, error) {
	b, err := scanBulkImport(tx.q.QueryRowContext(ctx, `SELECT `+bulkCols+` FROM bulk_imports b WHERE b.id = $1`+lock, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errBulkNotFound
	} else if err != nil {
		return nil, fmt.Errorf("bulk import %d: %w", id, err)
	}
	return b, nil
}

// BulkImportByID returns a migration or ENOTFOUND.
func (tx *Tx) BulkImportByID(ctx context.Context, id int64) (*ferry.BulkImport, error) {
	return tx.bulkImport(ctx, id, "")
}

// LockBulkImport returns a migration or ENOTFOUND, its row locked until
// the transaction ends (PostgreSQL's FOR UPDATE; SQLite's write
// transactions are serialised already).
func (tx *Tx) LockBulkImport(ctx context.Context, id int64) (*ferry.BulkImport, error) {
	if tx.Dialect() != Postgres {
		return tx.bulkImport(ctx, id, "")
	}
	// FOR UPDATE may not lock a row read with an aggregate subquery in
	// its columns: lock first, then read.
	var one int
	err := tx.q.QueryRowContext(ctx, `SELECT 1 FROM bulk_imports WHERE id = $1 FOR UPDATE`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errBulkNotFound
	} else if err != nil {
		return nil, fmt.Errorf("lock bulk import %d: %w", id, err)
	}
	return tx.bulkImport(ctx, id, "")
}

// BulkFilter narrows ListBulkImports.
type BulkFilter struct {
	UserID int64  // 0: every user's
	Status string // "" any
	Desc   bool   // newest first
}

// ListBulkImports lists migrations by creation time.
func (tx *Tx) ListBulkImports(ctx context.Context, f BulkFilter, p Page) ([]*ferry.BulkImport, int, error) {
	var c bulkConds
	c.eq("b.user_id", f.UserID, f.UserID != 0)
	c.eq("b.status", f.Status, f.Status != "")
	dir := sortDir(f.Desc)
	return listPage(ctx, tx, "bulk imports", bulkCols, `FROM bulk_imports b WHERE `+c.sql(),
		"b.created_at "+dir+", b.id "+dir, c.args, p, scanBulkImport)
}

// EntityFilter narrows ListBulkEntities.
type EntityFilter struct {
	UserID       int64 // 0: every user's
	BulkImportID int64 // 0: every migration's
	Status       string
	Desc         bool // newest first
}

// ListBulkEntities lists entities by creation time.
func (tx *Tx) ListBulkEntities(ctx context.Context, f EntityFilter, p Page) ([]*ferry.BulkEntity, int, error) {
	var c bulkConds
	c.eq("b.user_id", f.UserID, f.UserID != 0)
	c.eq("e.bulk_import_id", f.BulkImportID, f.BulkImportID != 0)
	c.eq("e.status", f.Status, f.Status != "")
	dir := sortDir(f.Desc)
	return listPage(ctx, tx, "bulk import entities", entityCols,
		`FROM bulk_import_entities e JOIN bulk_imports b ON b.id = e.bulk_import_id WHERE `+c.sql(),
		"e.created_at "+dir+", e.id "+dir, c.args, p, scanBulkEntity)
}

// BulkEntitiesOf returns every entity of a migration, by id.
func (tx *Tx) BulkEntitiesOf(ctx context.Context, bulkID int64) ([]*ferry.BulkEntity, error) {
	rows, err := tx.q.QueryContext(ctx, `SELECT `+entityCols+` FROM bulk_import_entities e WHERE e.bulk_import_id = $1 ORDER BY e.id`, bulkID)
	if err != nil {
		return nil, fmt.Errorf("entities of bulk import %d: %w", bulkID, err)
	}
	defer rows.Close()
	var out []*ferry.BulkEntity
	for rows.Next() {
		e, err := scanBulkEntity(rows)
		if err != nil {
			return nil, fmt.Errorf("entities of bulk import %d: %w", bulkID, err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func (tx *Tx) bulkEntity(ctx context.Context, what, where string, args ...any) (*ferry.BulkEntity, error) {
	e, err := scanBulkEntity(tx.q.QueryRowContext(ctx, `SELECT `+entityCols+` FROM bulk_import_entities e WHERE `+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errBulkNotFound
	} else if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return e, nil
}

// BulkEntityByID returns an entity of a migration or ENOTFOUND.
func (tx *Tx) BulkEntityByID(ctx context.Context, bulkID, entityID int64) (*ferry.BulkEntity, error) {
	return tx.bulkEntity(ctx, fmt.Sprintf("entity %d of bulk import %d", entityID, bulkID), `e.bulk_import_id = $1 AND e.id = $2`, bulkID, entityID)
}

// BulkEntityByImport returns the entity an engine import runs, or ENOTFOUND.
func (tx *Tx) BulkEntityByImport(ctx context.Context, importID int64) (*ferry.BulkEntity, error) {
	return tx.bulkEntity(ctx, fmt.Sprintf("entity of import %d", importID), `e.import_id = $1`, importID)
}

// UpdateBulkEntity writes an entity's progress: status, source id, the
// group or project created and the import running it.
func (tx *Tx) UpdateBulkEntity(ctx context.Context, e *ferry.BulkEntity) error {
	now := tx.bulkNow()
	res, err := tx.q.ExecContext(ctx, `UPDATE bulk_import_entities SET status = $1, source_id = $2, namespace_id = $3, project_id = $4,
		import_id = $5, updated_at = $6, error = $7 WHERE id = $8`, e.Status, e.SourceID, nullID(e.NamespaceID), nullID(e.ProjectID), nullID(e.ImportID),
		now, e.Error, e.ID)
	if err != nil {
		return fmt.Errorf("update entity %d: %w", e.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("update entity %d: %w", e.ID, err)
	} else if n == 0 {
		return errBulkNotFound
	}
	e.UpdatedAt = now
	return nil
}

// finalBulk is the SQL list of final statuses.
const finalBulk = `('finished', 'timeout', 'failed', 'canceled')`

// SetBulkImportStatus moves a migration to status. A final status wipes
// the sealed credential; a migration that has ended does not move again
// (an error wrapping ErrBulkEnded).
func (tx *Tx) SetBulkImportStatus(ctx context.Context, id int64, status string) error {
	set := `status = $1, updated_at = $2`
	if ferry.BulkDone(status) {
		set += `, sealed_credential = ''`
	}
	res, err := tx.q.ExecContext(ctx, `UPDATE bulk_imports SET `+set+` WHERE id = $3 AND status NOT IN `+finalBulk, status, tx.Now(), id)
	if err != nil {
		return fmt.Errorf("bulk import %d status: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("bulk import %d status: %w", id, err)
	} else if n == 1 {
		return nil
	}
	b, err := tx.BulkImportByID(ctx, id)
	if err != nil {
		return err
	}
	return fmt.Errorf("bulk import %d is %s, cannot become %s: %w", id, b.Status, status, ErrBulkEnded)
}

// StaleBulkImports returns, by id, the migrations not ended that are
// stale: updated before importsBefore, or with an entity not ended that
// was created before entitiesBefore (GitLab's cleanup_stale scopes).
func (tx *Tx) StaleBulkImports(ctx context.Context, importsBefore, entitiesBefore time.Time) ([]int64, error) {
	rows, err := tx.q.QueryContext(ctx, `SELECT b.id FROM bulk_imports b WHERE b.status IN ('created', 'started') AND (b.updated_at < $1
		OR EXISTS (SELECT 1 FROM bulk_import_entities e WHERE e.bulk_import_id = b.id AND e.status IN ('created', 'started') AND e.created_at < $2))
		ORDER BY b.id`, importsBefore, entitiesBefore)
	if err != nil {
		return nil, fmt.Errorf("stale bulk imports: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("stale bulk imports: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// CancelBulkImport moves a migration, whatever its status, to canceled,
// with its entities that have not ended; the credential is wiped. The
// engine imports of its entities are the caller's to cancel.
func (tx *Tx) CancelBulkImport(ctx context.Context, id int64) (*ferry.BulkImport, error) {
	now := tx.Now()
	res, err := tx.q.ExecContext(ctx, `UPDATE bulk_imports SET status = 'canceled', sealed_credential = '', updated_at = $1 WHERE id = $2`, now, id)
	if err != nil {
		return nil, fmt.Errorf("cancel bulk import %d: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return nil, fmt.Errorf("cancel bulk import %d: %w", id, err)
	} else if n == 0 {
		return nil, errBulkNotFound
	}
	if _, err := tx.q.ExecContext(ctx, `UPDATE bulk_import_entities SET status = 'canceled', updated_at = $1
		WHERE bulk_import_id = $2 AND status NOT IN `+finalBulk, now, id); err != nil {
		return nil, fmt.Errorf("cancel entities of bulk import %d: %w", id, err)
	}
	return tx.BulkImportByID(ctx, id)
}

// BulkEntityFailures lists the failures of an entity's engine import,
// oldest first; before it has an import, the reason it failed to start
// (relation "entity"), if any.
func (tx *Tx) BulkEntityFailures(ctx context.Context, e *ferry.BulkEntity, p Page) ([]*ferry.ImportFailure, int, error) {
	if e.ImportID == 0 {
		if e.Error == "" || p.Offset() > 0 {
			return nil, min(len(e.Error), 1), nil
		}
		return []*ferry.ImportFailure{{Relation: "entity", SourceTitle: e.SourceFullPath, ExceptionClass: "BulkImports::Error",
			ExceptionMessage: e.Error, CreatedAt: e.UpdatedAt}}, 1, nil
	}
	return listPage(ctx, tx, "entity failures", `id, import_id, relation, source_url, source_title, exception_class, exception_message, correlation_id, created_at`,
		`FROM import_failures WHERE import_id = $1`, "id", []any{e.ImportID}, p, func(row rowScanner) (*ferry.ImportFailure, error) {
			var f ferry.ImportFailure
			if err := row.Scan(&f.ID, &f.ImportID, &f.Relation, &f.SourceURL, &f.SourceTitle, &f.ExceptionClass, &f.ExceptionMessage,
				&f.CorrelationID, &f.CreatedAt); err != nil {
				return nil, err
			}
			f.CreatedAt = f.CreatedAt.UTC()
			return &f, nil
		})
}

// BulkEntityStats returns an entity's counts per relation of its import:
// source is the relation's total at the source (what was fetched when the
// source did not say); empty before it has an import.
func (tx *Tx) BulkEntityStats(ctx context.Context, e *ferry.BulkEntity) (map[string]ferry.BulkStat, error) {
	out := map[string]ferry.BulkStat{}
	if e.ImportID == 0 {
		return out, nil
	}
	rows, err := tx.q.QueryContext(ctx, `SELECT name, total, fetched, imported FROM import_relations WHERE import_id = $1`, e.ImportID)
	if err != nil {
		return nil, fmt.Errorf("stats of entity %d: %w", e.ID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var total, fetched, imported int64
		if err := rows.Scan(&name, &total, &fetched, &imported); err != nil {
			return nil, fmt.Errorf("stats of entity %d: %w", e.ID, err)
		}
		if total < 0 {
			total = fetched
		}
		out[name] = ferry.BulkStat{Source: total, Fetched: fetched, Imported: imported}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// What the source exported and ferry does not model: an entry of its
	// own, nothing fetched or imported, beside its failure.
	left, err := tx.q.QueryContext(ctx, `SELECT source_title FROM import_failures WHERE import_id = $1 AND relation = $2`, e.ImportID, ferry.NotMigratedRelation)
	if err != nil {
		return nil, fmt.Errorf("stats of entity %d: %w", e.ID, err)
	}
	defer left.Close()
	for left.Next() {
		var title string
		if err := left.Scan(&title); err != nil {
			return nil, fmt.Errorf("stats of entity %d: %w", e.ID, err)
		}
		if kind, n, ok := ferry.ParseNotMigrated(title); ok {
			if _, read := out[kind]; !read {
				out[kind] = ferry.BulkStat{Source: n}
			}
		}
	}
	return out, left.Err()
}

// bulkConds is a WHERE clause of the list filters that are set.
type bulkConds struct {
	where []string
	args  []any
}

// eq adds col = v when set.
func (c *bulkConds) eq(col string, v any, set bool) {
	if set {
		c.args = append(c.args, v)
		c.where = append(c.where, fmt.Sprintf("%s = $%d", col, len(c.args)))
	}
}

func (c *bulkConds) sql() string {
	if len(c.where) == 0 {
		return "1 = 1"
	}
	return strings.Join(c.where, " AND ")
}

func sortDir(desc bool) string {
	if desc {
		return "DESC"
	}
	return "ASC"
}
