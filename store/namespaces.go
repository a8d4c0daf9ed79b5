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

const nsCols = `n.id, n.kind, n.name, n.path, n.full_path, n.full_name, n.description, n.visibility, n.parent_id, n.owner_id, n.created_at, n.updated_at`

func scanNamespace(row interface{ Scan(...any) error }) (*ferry.Namespace, error) {
	var n ferry.Namespace
	var parent, owner sql.NullInt64
	var vis string
	if err := row.Scan(&n.ID, &n.Kind, &n.Name, &n.Path, &n.FullPath, &n.FullName, &n.Description, &vis, &parent, &owner, &n.CreatedAt, &n.UpdatedAt); err != nil {
		return nil, err
	}
	n.Visibility = ferry.Visibility(vis)
	n.ParentID, n.OwnerID = int64Ptr(parent), int64Ptr(owner)
	n.CreatedAt, n.UpdatedAt = n.CreatedAt.UTC(), n.UpdatedAt.UTC()
	return &n, nil
}

// CreateNamespace inserts a group (ParentID set for a subgroup) or a user
// namespace, its closure rows and its route. A taken path is ECONFLICT.
func (tx *Tx) CreateNamespace(ctx context.Context, n *ferry.Namespace) error {
	n.FullPath, n.FullName = n.Path, n.Name
	if n.ParentID != nil {
		parent, err := tx.NamespaceByID(ctx, *n.ParentID)
		if err != nil {
			return err
		}
		n.FullPath, n.FullName = parent.FullPath+"/"+n.Path, parent.FullName+" / "+n.Name
	}
	if err := tx.claimRoute(ctx, n.FullPath, "namespace", 0); err != nil {
		return err
	}
	now := tx.Now()
	err := tx.q.QueryRowContext(ctx, `INSERT INTO namespaces (kind, name, path, full_path, full_name, description, visibility, parent_id, owner_id, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id`,
		n.Kind, n.Name, n.Path, n.FullPath, n.FullName, n.Description, string(n.Visibility), n.ParentID, n.OwnerID, now).Scan(&n.ID)
	if isUnique(err) {
		return ferry.FieldError(ferry.ECONFLICT, "path", "has already been taken")
	} else if err != nil {
		return fmt.Errorf("insert namespace %q: %w", n.FullPath, err)
	}
	n.CreatedAt, n.UpdatedAt = now, now
	if _, err := tx.q.ExecContext(ctx, `UPDATE routes SET source_id = $1 WHERE path_lower = $2`, n.ID, strings.ToLower(n.FullPath)); err != nil {
		return fmt.Errorf("route %q: %w", n.FullPath, err)
	}
	if _, err := tx.q.ExecContext(ctx, `INSERT INTO namespace_ancestors (namespace_id, ancestor_id, depth)
		SELECT CAST($1 AS BIGINT), ancestor_id, depth + 1 FROM namespace_ancestors WHERE namespace_id = $2
		UNION ALL SELECT CAST($1 AS BIGINT), CAST($1 AS BIGINT), 0`, n.ID, n.ParentID); err != nil {
		return fmt.Errorf("namespace ancestors of %d: %w", n.ID, err)
	}
	return nil
}

// claimRoute reserves a full path for a namespace or project.
func (tx *Tx) claimRoute(ctx context.Context, fullPath, kind string, id int64) error {
	_, err := tx.q.ExecContext(ctx, `INSERT INTO routes (path_lower, source_kind, source_id) VALUES ($1, $2, $3)`, strings.ToLower(fullPath), kind, id)
	if isUnique(err) {
		return ferry.FieldError(ferry.ECONFLICT, "path", "has already been taken")
	} else if err != nil {
		return fmt.Errorf("claim route %q: %w", fullPath, err)
	}
	return nil
}

// NamespaceByID returns a namespace or ENOTFOUND.
func (tx *Tx) NamespaceByID(ctx context.Context, id int64) (*ferry.Namespace, error) {
	n, err := scanNamespace(tx.q.QueryRowContext(ctx, `SELECT `+nsCols+` FROM namespaces n WHERE n.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ferry.Errorf(ferry.ENOTFOUND, "404 Namespace Not Found")
	} else if err != nil {
		return nil, fmt.Errorf("namespace %d: %w", id, err)
	}
	return n, nil
}

// NamespaceByPath returns a namespace by case-insensitive full path.
func (tx *Tx) NamespaceByPath(ctx context.Context, fullPath string) (*ferry.Namespace, error) {
	n, err := scanNamespace(tx.q.QueryRowContext(ctx, `SELECT `+nsCols+` FROM namespaces n WHERE lower(n.full_path) = lower($1)`, strings.Trim(fullPath, "/")))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ferry.Errorf(ferry.ENOTFOUND, "404 Namespace Not Found")
	} else if err != nil {
		return nil, fmt.Errorf("namespace %q: %w", fullPath, err)
	}
	return n, nil
}

// Viewer is who is asking, for visibility filtering.
type Viewer struct {
	UserID int64 // 0 = anonymous
	Admin  bool
}

// NamespaceFilter narrows ListNamespaces.
type NamespaceFilter struct {
	Viewer         Viewer
	Kind           string // "" = any
	Search         string
	ParentID       *int64 // direct children of
	DescendantOf   *int64 // strict descendants of
	TopLevelOnly   bool
	MemberOnly     bool              // only namespaces the viewer is a member of (directly or through an ancestor), or owns
	MinAccessLevel ferry.AccessLevel // with MemberOnly: at least this role
	Visibility     ferry.Visibility  // "" = any
	OrderBy        string            // name, path, id
	Sort           string            // asc, desc
}

// accessSQL is the viewer's best role on namespace alias n through its own
// or its ancestors' memberships (NULL when none).
func accessSQL(nsExpr, userArg, nowArg string) string {
	return `(SELECT MAX(m.access_level) FROM namespace_ancestors a JOIN members m ON m.source_kind = 'namespace' AND m.source_id = a.ancestor_id
		WHERE a.namespace_id = ` + nsExpr + ` AND m.user_id = ` + userArg + ` AND (m.expires_at IS NULL OR m.expires_at > ` + nowArg + `))`
}

// nsVisibleSQL is true when the viewer may see namespace alias n: public,
// internal to anyone signed in, a member of it or an ancestor, a member of
// something inside it, or its owner.
func nsVisibleSQL(v Viewer, arg func(any) string, now time.Time) string {
	if v.Admin {
		return "1=1"
	}
	if v.UserID == 0 {
		return "n.visibility = 'public'"
	}
	u, t := arg(v.UserID), arg(now)
	live := ` AND (m.expires_at IS NULL OR m.expires_at > ` + t + `)` // an expired membership shows nothing
	return `(n.visibility IN ('public', 'internal') OR n.owner_id = ` + u + `
		OR EXISTS (SELECT 1 FROM namespace_ancestors a JOIN members m ON m.source_kind = 'namespace' AND m.user_id = ` + u + live + `
			AND (m.source_id = a.ancestor_id OR m.source_id = a.namespace_id)
			WHERE (a.namespace_id = n.id OR a.ancestor_id = n.id))
		OR EXISTS (SELECT 1 FROM namespace_ancestors a JOIN projects p ON p.namespace_id = a.namespace_id
			JOIN members m ON m.source_kind = 'project' AND m.source_id = p.id AND m.user_id = ` + u + live + ` WHERE a.ancestor_id = n.id))`
}

// ListNamespaces returns one page of namespaces and the total.
func (tx *Tx) ListNamespaces(ctx context.Context, f NamespaceFilter, p Page) ([]*ferry.Namespace, int, error) {
	where, args := []string{}, []any{}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	where = append(where, nsVisibleSQL(f.Viewer, arg, tx.Now()))
	if f.Kind != "" {
		where = append(where, "n.kind = "+arg(f.Kind))
	}
	if f.Search != "" {
		s := arg("%" + likeEscape(strings.ToLower(f.Search)) + "%")
		where = append(where, fmt.Sprintf(`(lower(n.name) LIKE %[1]s ESCAPE '\' OR lower(n.path) LIKE %[1]s ESCAPE '\')`, s))
	}
	if f.ParentID != nil {
		where = append(where, "n.parent_id = "+arg(*f.ParentID))
	}
	if f.DescendantOf != nil {
		where = append(where, "n.id IN (SELECT namespace_id FROM namespace_ancestors WHERE ancestor_id = "+arg(*f.DescendantOf)+" AND depth > 0)")
	}
	if f.Visibility != "" {
		where = append(where, "n.visibility = "+arg(string(f.Visibility)))
	}
	if f.TopLevelOnly {
		where = append(where, "n.parent_id IS NULL")
	}
	if f.MemberOnly && f.Viewer.UserID != 0 {
		u := arg(f.Viewer.UserID)
		min := arg(int(f.MinAccessLevel))
		where = append(where, `(n.owner_id = `+u+` OR `+accessSQL("n.id", u, arg(tx.Now()))+` >= `+min+`)`)
	} else if f.MemberOnly {
		where = append(where, "1=0")
	}
	order := map[string]string{"name": "lower(n.name)", "path": "lower(n.path)", "id": "n.id", "full_path": "lower(n.full_path)"}[f.OrderBy]
	if order == "" {
		order = "lower(n.name)"
	}
	dir := "ASC"
	if strings.EqualFold(f.Sort, "desc") {
		dir = "DESC"
	}
	return listPage(ctx, tx, "namespaces", nsCols, `FROM namespaces n WHERE `+strings.Join(where, " AND "), order+` `+dir+`, n.id `+dir, args, p, scanNamespace)
}

// UpdateNamespace writes name, path, description and visibility. A changed
// path or name is carried to every descendant's full path/name and route,
// and to the routes of the projects below.
func (tx *Tx) UpdateNamespace(ctx context.Context, n *ferry.Namespace) error {
	old, err := tx.NamespaceByID(ctx, n.ID)
	if err != nil {
		return err
	}
	n.FullPath, n.FullName = n.Path, n.Name
	if old.ParentID != nil {
		parent, err := tx.NamespaceByID(ctx, *old.ParentID)
		if err != nil {
			return err
		}
		n.FullPath, n.FullName = parent.FullPath+"/"+n.Path, parent.FullName+" / "+n.Name
	}
	now := tx.Now()
	if _, err := tx.q.ExecContext(ctx, `UPDATE namespaces SET name = $1, path = $2, full_path = $3, full_name = $4, description = $5, visibility = $6, updated_at = $7 WHERE id = $8`,
		n.Name, n.Path, n.FullPath, n.FullName, n.Description, string(n.Visibility), now, n.ID); err != nil {
		if isUnique(err) {
			return ferry.FieldError(ferry.ECONFLICT, "path", "has already been taken")
		}
		return fmt.Errorf("update namespace %d: %w", n.ID, err)
	}
	n.UpdatedAt, n.CreatedAt, n.ParentID, n.OwnerID, n.Kind = now, old.CreatedAt, old.ParentID, old.OwnerID, old.Kind
	if old.FullPath == n.FullPath && old.FullName == n.FullName {
		return nil
	}
	// Descendants: replace the old prefix of full_path and full_name.
	oldP, newP := old.FullPath+"/", n.FullPath+"/"
	oldN, newN := old.FullName+" / ", n.FullName+" / "
	if _, err := tx.q.ExecContext(ctx, `UPDATE namespaces SET
		full_path = $1 || substr(full_path, $2),
		full_name = $3 || substr(full_name, $4)
		WHERE id IN (SELECT namespace_id FROM namespace_ancestors WHERE ancestor_id = $5 AND depth > 0)`,
		newP, len(oldP)+1, newN, len([]rune(oldN))+1, n.ID); err != nil {
		if isUnique(err) {
			return ferry.FieldError(ferry.ECONFLICT, "path", "has already been taken")
		}
		return fmt.Errorf("rename descendants of %d: %w", n.ID, err)
	}
	if old.FullPath != n.FullPath {
		lo := strings.ToLower(old.FullPath)
		if _, err := tx.q.ExecContext(ctx, `UPDATE routes SET path_lower = $1 || substr(path_lower, $2)
			WHERE path_lower = $3 OR substr(path_lower, 1, $4) = $5`,
			strings.ToLower(n.FullPath), len(lo)+1, lo, len(lo)+1, lo+"/"); err != nil {
			if isUnique(err) {
				return ferry.FieldError(ferry.ECONFLICT, "path", "has already been taken")
			}
			return fmt.Errorf("move routes of %d: %w", n.ID, err)
		}
	}
	return nil
}

// DeleteNamespace removes a group with its subgroups, their projects and
// memberships. It returns the ids of the projects removed so the caller can
// remove their repositories.
func (tx *Tx) DeleteNamespace(ctx context.Context, id int64) ([]int64, error) {
	rows, err := tx.q.QueryContext(ctx, `SELECT p.id FROM projects p JOIN namespace_ancestors a ON a.namespace_id = p.namespace_id WHERE a.ancestor_id = $1`, id)
	if err != nil {
		return nil, fmt.Errorf("projects under %d: %w", id, err)
	}
	var projects []int64
	for rows.Next() {
		var pid int64
		if err := rows.Scan(&pid); err != nil {
			rows.Close()
			return nil, err
		}
		projects = append(projects, pid)
	}
	rows.Close()
	for _, pid := range projects {
		if err := tx.DeleteProject(ctx, pid); err != nil {
			return nil, err
		}
	}
	// Deepest first, so no row is deleted while a child still points at it.
	ids, err := tx.int64s(ctx, `SELECT namespace_id FROM namespace_ancestors WHERE ancestor_id = $1 ORDER BY depth DESC`, id)
	if err != nil {
		return nil, fmt.Errorf("descendants of %d: %w", id, err)
	}
	for _, nid := range ids {
		for _, q := range []string{
			`DELETE FROM members WHERE source_kind = 'namespace' AND source_id = $1`,
			`DELETE FROM routes WHERE source_kind = 'namespace' AND source_id = $1`,
			`DELETE FROM namespace_ancestors WHERE namespace_id = $1`,
			`DELETE FROM namespaces WHERE id = $1`,
		} {
			if _, err := tx.q.ExecContext(ctx, q, nid); err != nil {
				return nil, fmt.Errorf("delete namespace %d: %w", nid, err)
			}
		}
	}
	return projects, nil
}

// Ancestors returns the namespace's ancestors, root first, itself excluded.
func (tx *Tx) Ancestors(ctx context.Context, id int64) ([]*ferry.Namespace, error) {
	rows, err := tx.q.QueryContext(ctx, `SELECT `+nsCols+` FROM namespaces n JOIN namespace_ancestors a ON a.ancestor_id = n.id
		WHERE a.namespace_id = $1 AND a.depth > 0 ORDER BY a.depth DESC`, id)
	if err != nil {
		return nil, fmt.Errorf("ancestors of %d: %w", id, err)
	}
	defer rows.Close()
	var out []*ferry.Namespace
	for rows.Next() {
		n, err := scanNamespace(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// HasChildren reports whether a namespace has subgroups or projects.
func (tx *Tx) HasChildren(ctx context.Context, id int64) (bool, error) {
	var n int
	err := tx.q.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM namespaces WHERE parent_id = $1) + (SELECT COUNT(*) FROM projects WHERE namespace_id = $1)`, id).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("children of %d: %w", id, err)
	}
	return n > 0, nil
}

// MaxDescendantVisibility returns the most open visibility among a group's
// subgroups and projects, so a group cannot be made more private than them.
func (tx *Tx) MaxDescendantVisibility(ctx context.Context, id int64) (ferry.Visibility, error) {
	best := ferry.Private
	for _, q := range []string{
		`SELECT n.visibility FROM namespaces n JOIN namespace_ancestors a ON a.namespace_id = n.id WHERE a.ancestor_id = $1 AND a.depth > 0`,
		`SELECT p.visibility FROM projects p JOIN namespace_ancestors a ON a.namespace_id = p.namespace_id WHERE a.ancestor_id = $1`,
	} {
		rows, err := tx.q.QueryContext(ctx, q, id)
		if err != nil {
			return "", fmt.Errorf("descendant visibility of %d: %w", id, err)
		}
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return "", err
			}
			if ferry.Visibility(v).Rank() > best.Rank() {
				best = ferry.Visibility(v)
			}
		}
		rows.Close()
	}
	return best, nil
}

func (tx *Tx) int64s(ctx context.Context, q string, args ...any) ([]int64, error) {
	rows, err := tx.q.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// CanSeeNamespace reports whether the viewer may see a namespace.
func (tx *Tx) CanSeeNamespace(ctx context.Context, v Viewer, id int64) (bool, error) {
	args := []any{id}
	arg := func(x any) string { args = append(args, x); return fmt.Sprintf("$%d", len(args)) }
	var n int
	err := tx.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM namespaces n WHERE n.id = $1 AND `+nsVisibleSQL(v, arg, tx.Now()), args...).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("visibility of namespace %d: %w", id, err)
	}
	return n > 0, nil
}
