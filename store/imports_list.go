package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/ferry-import/ferry"
)

// ImportFilter narrows ListProjectImports.
type ImportFilter struct {
	// Viewer sees the imports of the projects they are a member of
	// (directly or through a group, or owning the personal namespace);
	// administrators see every one; anonymous viewers none.
	Viewer Viewer
	Status string // "" = any
	// SkipImportType leaves out projects of this import_type (GitLab
	// migrations' projects, which the history lists under their migration).
	SkipImportType string
}

// ImportRow is a project import with what a list shows of it: the
// project's path and import source, the sums of its relations' figures
// and its number of failures.
type ImportRow struct {
	Import            *ferry.Import
	ProjectFullPath   string
	ImportSource      string // the project's import_source ("owner/repo")
	Fetched, Imported int64
	Failures          int64
}

// importColsOf is importCols qualified by a table alias.
func importColsOf(alias string) string {
	cols := strings.Split(importCols, ",")
	for i, c := range cols {
		cols[i] = alias + "." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

// ListProjectImports returns one page of the project imports the viewer
// may see, newest first, with the total: one query for the page (and one
// for the count) however many relations and failures each import has.
func (tx *Tx) ListProjectImports(ctx context.Context, f ImportFilter, p Page) ([]*ImportRow, int, error) {
	where, args := []string{"i.project_id IS NOT NULL"}, []any{}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	switch {
	case f.Viewer.Admin:
	case f.Viewer.UserID == 0:
		where = append(where, "1=0")
	default:
		where = append(where, projectAccessSQL(arg(f.Viewer.UserID), arg(tx.Now()))+" > 0")
	}
	if f.Status != "" {
		where = append(where, "i.status = "+arg(f.Status))
	}
	if f.SkipImportType != "" {
		where = append(where, "p.import_type <> "+arg(f.SkipImportType))
	}
	from := `FROM imports i JOIN projects p ON p.id = i.project_id JOIN namespaces n ON n.id = p.namespace_id WHERE ` + strings.Join(where, " AND ")
	cols := importColsOf("i") + `, n.full_path || '/' || p.path, p.import_source,
		CAST(COALESCE((SELECT SUM(r.fetched) FROM import_relations r WHERE r.import_id = i.id), 0) AS BIGINT),
		CAST(COALESCE((SELECT SUM(r.imported) FROM import_relations r WHERE r.import_id = i.id), 0) AS BIGINT),
		(SELECT COUNT(*) FROM import_failures x WHERE x.import_id = i.id)`
	return listPage(ctx, tx, "project imports", cols, from, "i.created_at DESC, i.id DESC", args, p, func(row rowScanner) (*ImportRow, error) {
		var r ImportRow
		var err error
		r.Import, err = scanImport(importRowScanner{row, &r})
		return &r, err
	})
}

// importRowScanner scans an import followed by ImportRow's columns.
type importRowScanner struct {
	row rowScanner
	r   *ImportRow
}

func (s importRowScanner) Scan(dest ...any) error {
	return s.row.Scan(append(dest, &s.r.ProjectFullPath, &s.r.ImportSource, &s.r.Fetched, &s.r.Imported, &s.r.Failures)...)
}
