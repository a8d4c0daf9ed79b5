package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/pressly/goose/v3"
)

// TestSQLiteImportTargetUpgradeKeepsEverything: migration 7 rebuilds the
// imports table on SQLite; a database made before it keeps its imports and
// everything hanging off them (relations, failures), and foreign keys
// still cascade afterwards.
func TestSQLiteImportTargetUpgradeKeepsEverything(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "ferry.db")
	db, err := openSQLite(path, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	fsys, err := migrationsFS(SQLite)
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 6); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, q := range []string{
		`INSERT INTO users (id, username, name, created_at, updated_at) VALUES (1, 'u', 'U', $1, $1)`,
		`INSERT INTO namespaces (id, kind, name, path, full_path, full_name, visibility, owner_id, created_at, updated_at)
			VALUES (1, 'user', 'U', 'u', 'u', 'U', 'private', 1, $1, $1)`,
		`INSERT INTO projects (id, name, path, visibility, namespace_id, creator_id, created_at, updated_at, last_activity_at)
			VALUES (1, 'p', 'p', 'private', 1, 1, $1, $1, $1)`,
		`INSERT INTO imports (id, project_id, user_id, source_type, source_url, source_ref, status, correlation_id, last_progress_at,
			created_at, updated_at, timeout_strategy) VALUES (7, 1, 1, 'github', 'https://api.github.com/', '42', 'started', 'c', $1, $1, $1, 'optimistic')`,
		`INSERT INTO import_relations (import_id, name, stage_index, stage, fetched, updated_at) VALUES (7, 'issues', 1, 'issues', 5, $1)`,
		`INSERT INTO import_failures (import_id, relation, exception_class, exception_message, correlation_id, created_at)
			VALUES (7, 'issues', 'X', 'gone', 'c', $1)`,
	} {
		if _, err := db.ExecContext(ctx, q, now); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	_ = db.Close()

	s, err := Open(ctx, Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	count := func(table string) (n int) {
		if err := s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	err = s.Read(ctx, func(tx *Tx) error {
		im, err := tx.ImportByID(ctx, 7)
		if err != nil {
			return err
		}
		if im.ProjectID != 1 || im.NamespaceID != 0 || im.Status != "started" || im.TimeoutStrategy != "optimistic" || !im.CreatedAt.Equal(now) {
			t.Fatalf("import after the upgrade: %+v", im)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if r, f := count("import_relations"), count("import_failures"); r != 1 || f != 1 {
		t.Fatalf("after the upgrade: %d relations, %d failures; want 1 and 1", r, f)
	}
	// The rebuilt table is the one its children refer to: deleting the
	// project still cascades through the import to them.
	if err := s.Write(ctx, func(tx *Tx) error { return tx.DeleteProject(ctx, 1) }); err != nil {
		t.Fatal(err)
	}
	if i, r, f := count("imports"), count("import_relations"), count("import_failures"); i+r+f != 0 {
		t.Fatalf("after deleting the project: %d imports, %d relations, %d failures remain", i, r, f)
	}
}
