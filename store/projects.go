package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ferry-import/ferry"
)

// Full path and name derive from the namespace, so renaming a group never
// rewrites its projects.
const projectCols = `p.id, p.name, p.path, n.full_path || '/' || p.path, n.full_name || ' / ' || p.name, p.description, p.visibility,
 p.default_branch, p.namespace_id, p.creator_id, p.import_type, p.import_source, p.import_status, p.import_url,
 p.created_at, p.updated_at, p.last_activity_at,
 COALESCE((SELECT rm.topics FROM repository_meta rm WHERE rm.project_id = p.id), '[]'), ` + nsCols

const projectFrom = ` FROM projects p JOIN namespaces n ON n.id = p.namespace_id`

func scanProject(row interface{ Scan(...any) error }) (*ferry.Project, error) {
	var p ferry.Project
	var n ferry.Namespace
	var vis, nvis string
	var parent, owner sql.NullInt64
	var topics string
	if err := row.Scan(&p.ID, &p.Name, &p.Path, &p.FullPath, &p.FullName, &p.Description, &vis, &p.DefaultBranch, &p.NamespaceID,
		&p.CreatorID, &p.ImportType, &p.ImportSource, &p.ImportStatus, &p.ImportURL, &p.CreatedAt, &p.UpdatedAt, &p.LastActivityAt, &topics,
		&n.ID, &n.Kind, &n.Name, &n.Path, &n.FullPath, &n.FullName, &n.Description, &nvis, &parent, &owner, &n.CreatedAt, &n.UpdatedAt); err != nil {
		return nil, err
	}
	p.Visibility, n.Visibility = ferry.Visibility(vis), ferry.Visibility(nvis)
	_ = json.Unmarshal([]byte(topics), &p.Topics) // imported topics; malformed means none
	n.ParentID, n.OwnerID = int64Ptr(parent), int64Ptr(owner)
	p.CreatedAt, p.UpdatedAt, p.LastActivityAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC(), p.LastActivityAt.UTC()
	n.CreatedAt, n.UpdatedAt = n.CreatedAt.UTC(), n.UpdatedAt.UTC()
	p.Namespace = &n
	return &p, nil
}

// CreateProject inserts p in its namespace and claims its route. A taken
// name or path is ECONFLICT with GitLab's field messages.
func (tx *Tx) CreateProject(ctx context.Context, p *ferry.Project) error {
	ns, err := tx.NamespaceByID(ctx, p.NamespaceID)
	if err != nil {
		return err
	}
	var taken int
	if err := tx.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM projects WHERE namespace_id = $1 AND lower(name) = lower($2)`, p.NamespaceID, p.Name).Scan(&taken); err != nil {
		return fmt.Errorf("check project name: %w", err)
	}
	fullPath := ns.FullPath + "/" + p.Path
	if err := tx.claimRoute(ctx, fullPath, "project", 0); err != nil || taken > 0 {
		e := &ferry.Error{Code: ferry.ECONFLICT, Message: "has already been taken", Fields: map[string][]string{}}
		if taken > 0 {
			e.Fields["name"] = []string{"has already been taken"}
		}
		if err != nil {
			if ferry.ErrorCode(err) != ferry.ECONFLICT {
				return err
			}
			e.Fields["path"] = []string{"has already been taken"}
		}
		return e
	}
	if p.ImportStatus == "" {
		p.ImportStatus = "none"
	}
	now := tx.Now()
	err = tx.q.QueryRowContext(ctx, `INSERT INTO projects (name, path, description, visibility, default_branch, namespace_id, creator_id,
		import_type, import_source, import_status, import_url, created_at, updated_at, last_activity_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $12) RETURNING id`,
		p.Name, p.Path, p.Description, string(p.Visibility), p.DefaultBranch, p.NamespaceID, p.CreatorID,
		p.ImportType, p.ImportSource, p.ImportStatus, p.ImportURL, now).Scan(&p.ID)
	if isUnique(err) {
		return ferry.FieldError(ferry.ECONFLICT, "path", "has already been taken")
	} else if err != nil {
		return fmt.Errorf("insert project %q: %w", fullPath, err)
	}
	if _, err := tx.q.ExecContext(ctx, `UPDATE routes SET source_id = $1 WHERE path_lower = $2`, p.ID, strings.ToLower(fullPath)); err != nil {
		return fmt.Errorf("route %q: %w", fullPath, err)
	}
	p.FullPath, p.FullName, p.Namespace = fullPath, ns.FullName+" / "+p.Name, ns
	p.CreatedAt, p.UpdatedAt, p.LastActivityAt = now, now, now
	return nil
}

// ProjectByID returns a project or ENOTFOUND.
func (tx *Tx) ProjectByID(ctx context.Context, id int64) (*ferry.Project, error) {
	p, err := scanProject(tx.q.QueryRowContext(ctx, `SELECT `+projectCols+projectFrom+` WHERE p.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ferry.Errorf(ferry.ENOTFOUND, "404 Project Not Found")
	} else if err != nil {
		return nil, fmt.Errorf("project %d: %w", id, err)
	}
	return p, nil
}

// ProjectByPath returns a project by case-insensitive full path.
func (tx *Tx) ProjectByPath(ctx context.Context, fullPath string) (*ferry.Project, error) {
	p, err := scanProject(tx.q.QueryRowContext(ctx, `SELECT `+projectCols+projectFrom+`
		WHERE p.id = (SELECT source_id FROM routes WHERE path_lower = lower($1) AND source_kind = 'project')`, strings.Trim(fullPath, "/")))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ferry.Errorf(ferry.ENOTFOUND, "404 Project Not Found")
	} else if err != nil {
		return nil, fmt.Errorf("project %q: %w", fullPath, err)
	}
	return p, nil
}

// ProjectFilter narrows ListProjects.
type ProjectFilter struct {
	Viewer           Viewer
	NamespaceID      *int64
	IncludeSubgroups bool
	Owned            bool // in the viewer's personal namespace or with Owner role
	Membership       bool // the viewer is a member (directly or through a group)
	MinAccessLevel   ferry.AccessLevel
	Search           string
	Visibility       ferry.Visibility
	OrderBy          string // id, name, path, created_at, updated_at, last_activity_at
	Sort             string // asc, desc (default desc)
	// Time bounds, each nil for none (GitLab: *_after is >, *_before <).
	UpdatedAfter, UpdatedBefore           *time.Time
	LastActivityAfter, LastActivityBefore *time.Time
	// Imported keeps the projects the viewer imported (GitLab's
	// imported=true: created by them, with an import type). ferry's
	// importers create the project they import into, so its creator is
	// who started the import.
	Imported bool
}

// projectAccessSQL is the viewer's best role on project alias p: a direct
// membership, one through the namespace or its ancestors, or ownership of
// the personal namespace (50).
func projectAccessSQL(userArg, nowArg string) string {
	return `COALESCE((SELECT MAX(x) FROM (
		SELECT m.access_level AS x FROM members m WHERE m.source_kind = 'project' AND m.source_id = p.id AND m.user_id = ` + userArg + `
			AND (m.expires_at IS NULL OR m.expires_at > ` + nowArg + `)
		UNION ALL SELECT ` + accessSQL("p.namespace_id", userArg, nowArg) + `
		UNION ALL SELECT 50 WHERE n.owner_id = ` + userArg + `) acc), 0)`
}

// ListProjects returns one page of the projects the viewer can see.
func (tx *Tx) ListProjects(ctx context.Context, f ProjectFilter, p Page) ([]*ferry.Project, int, error) {
	where, args := []string{}, []any{}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	// The viewer's id and the clock become arguments only when a condition
	// uses them: PostgreSQL refuses parameters it cannot type.
	var u, now string
	access := func() string {
		if u == "" {
			u, now = arg(f.Viewer.UserID), arg(tx.Now())
		}
		return projectAccessSQL(u, now)
	}
	switch {
	case f.Viewer.Admin:
	case f.Viewer.UserID == 0:
		where = append(where, "p.visibility = 'public'")
	default:
		where = append(where, "(p.visibility IN ('public', 'internal') OR "+access()+" > 0)")
	}
	if f.NamespaceID != nil {
		if f.IncludeSubgroups {
			where = append(where, "p.namespace_id IN (SELECT namespace_id FROM namespace_ancestors WHERE ancestor_id = "+arg(*f.NamespaceID)+")")
		} else {
			where = append(where, "p.namespace_id = "+arg(*f.NamespaceID))
		}
	}
	if (f.Owned || f.Membership || f.MinAccessLevel > 0 || f.Imported) && f.Viewer.UserID == 0 {
		where = append(where, "1=0")
	} else {
		if f.Owned {
			a := access()
			where = append(where, "(n.owner_id = "+u+" OR "+a+" >= "+arg(int(ferry.OwnerAccess))+")")
		}
		if f.Membership {
			where = append(where, access()+" > 0")
		}
		if f.MinAccessLevel > 0 {
			where = append(where, access()+" >= "+arg(int(f.MinAccessLevel)))
		}
		if f.Imported {
			// In the query, not after it: the page and its totals count
			// only these projects.
			where = append(where, "p.creator_id = "+arg(f.Viewer.UserID)+" AND p.import_type <> '' AND p.import_status <> 'none'")
		}
	}
	if f.Search != "" {
		s := arg("%" + likeEscape(strings.ToLower(f.Search)) + "%")
		where = append(where, fmt.Sprintf(`(lower(p.name) LIKE %[1]s ESCAPE '\' OR lower(p.path) LIKE %[1]s ESCAPE '\' OR lower(p.description) LIKE %[1]s ESCAPE '\')`, s))
	}
	if f.Visibility != "" {
		where = append(where, "p.visibility = "+arg(string(f.Visibility)))
	}
	where = append(where, timeBounds(arg, "p.updated_at", f.UpdatedAfter, f.UpdatedBefore)...)
	where = append(where, timeBounds(arg, "p.last_activity_at", f.LastActivityAfter, f.LastActivityBefore)...)
	cond := "1=1"
	if len(where) > 0 {
		cond = strings.Join(where, " AND ")
	}
	order := map[string]string{"id": "p.id", "name": "lower(p.name)", "path": "lower(p.path)", "created_at": "p.created_at",
		"updated_at": "p.updated_at", "last_activity_at": "p.last_activity_at"}[f.OrderBy]
	if order == "" {
		order = "p.created_at"
	}
	dir := "DESC"
	if strings.EqualFold(f.Sort, "asc") {
		dir = "ASC"
	}
	return listPage(ctx, tx, "projects", projectCols, projectFrom+` WHERE `+cond, order+` `+dir+`, p.id `+dir, args, p, scanProject)
}

// UpdateProject writes name, path, description, visibility and default
// branch, moving the route when the path changes.
func (tx *Tx) UpdateProject(ctx context.Context, p *ferry.Project) error {
	old, err := tx.ProjectByID(ctx, p.ID)
	if err != nil {
		return err
	}
	if !strings.EqualFold(old.Name, p.Name) {
		var taken int
		if err := tx.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM projects WHERE namespace_id = $1 AND lower(name) = lower($2) AND id <> $3`, old.NamespaceID, p.Name, p.ID).Scan(&taken); err != nil {
			return fmt.Errorf("check project name: %w", err)
		}
		if taken > 0 {
			return ferry.FieldError(ferry.ECONFLICT, "name", "has already been taken")
		}
	}
	newPath := old.Namespace.FullPath + "/" + p.Path
	if !strings.EqualFold(newPath, old.FullPath) {
		if _, err := tx.q.ExecContext(ctx, `UPDATE routes SET path_lower = $1 WHERE source_kind = 'project' AND source_id = $2`, strings.ToLower(newPath), p.ID); err != nil {
			if isUnique(err) {
				return ferry.FieldError(ferry.ECONFLICT, "path", "has already been taken")
			}
			return fmt.Errorf("move route of project %d: %w", p.ID, err)
		}
	}
	now := tx.Now()
	// The import fields are the import's to change (SetImportStatus): a
	// rename during an import must not write back a stale status.
	if _, err := tx.q.ExecContext(ctx, `UPDATE projects SET name = $1, path = $2, description = $3, visibility = $4, default_branch = $5,
		updated_at = $6 WHERE id = $7`,
		p.Name, p.Path, p.Description, string(p.Visibility), p.DefaultBranch, now, p.ID); err != nil {
		if isUnique(err) {
			return ferry.FieldError(ferry.ECONFLICT, "path", "has already been taken")
		}
		return fmt.Errorf("update project %d: %w", p.ID, err)
	}
	p.UpdatedAt, p.FullPath, p.FullName, p.Namespace, p.NamespaceID = now, newPath, old.Namespace.FullName+" / "+p.Name, old.Namespace, old.NamespaceID
	p.CreatedAt, p.CreatorID, p.LastActivityAt = old.CreatedAt, old.CreatorID, old.LastActivityAt
	p.ImportType, p.ImportSource, p.ImportStatus, p.ImportURL = old.ImportType, old.ImportSource, old.ImportStatus, old.ImportURL
	return nil
}

// DeleteProject removes a project, its memberships and its route. Content
// tables added later cascade from projects.
func (tx *Tx) DeleteProject(ctx context.Context, id int64) error {
	for _, q := range []string{
		`DELETE FROM members WHERE source_kind = 'project' AND source_id = $1`,
		`DELETE FROM routes WHERE source_kind = 'project' AND source_id = $1`,
		`DELETE FROM projects WHERE id = $1`,
	} {
		if _, err := tx.q.ExecContext(ctx, q, id); err != nil {
			return fmt.Errorf("delete project %d: %w", id, err)
		}
	}
	return nil
}

// ProjectAccess is the user's effective role on a project (0 for none).
func (tx *Tx) ProjectAccess(ctx context.Context, userID, projectID int64) (ferry.AccessLevel, error) {
	var l int
	err := tx.q.QueryRowContext(ctx, `SELECT `+projectAccessSQL("$1", "$2")+projectFrom+` WHERE p.id = $3`, userID, tx.Now(), projectID).Scan(&l)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	} else if err != nil {
		return 0, fmt.Errorf("access of user %d to project %d: %w", userID, projectID, err)
	}
	return ferry.AccessLevel(l), nil
}

// NamespaceAccess is the user's effective role on a namespace (50 for the
// owner of a personal namespace, 0 for none).
func (tx *Tx) NamespaceAccess(ctx context.Context, userID, namespaceID int64) (ferry.AccessLevel, error) {
	var l sql.NullInt64
	var owner sql.NullInt64
	err := tx.q.QueryRowContext(ctx, `SELECT `+accessSQL("n.id", "$1", "$2")+`, n.owner_id FROM namespaces n WHERE n.id = $3`, userID, tx.Now(), namespaceID).Scan(&l, &owner)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	} else if err != nil {
		return 0, fmt.Errorf("access of user %d to namespace %d: %w", userID, namespaceID, err)
	}
	if owner.Valid && owner.Int64 == userID {
		return ferry.OwnerAccess, nil
	}
	return ferry.AccessLevel(l.Int64), nil
}

// CanSeeProject reports whether the viewer may see a project.
func (tx *Tx) CanSeeProject(ctx context.Context, v Viewer, p *ferry.Project) (bool, error) {
	switch {
	case v.Admin || p.Visibility == ferry.Public:
		return true, nil
	case v.UserID == 0:
		return false, nil
	case p.Visibility == ferry.Internal:
		return true, nil
	}
	l, err := tx.ProjectAccess(ctx, v.UserID, p.ID)
	return l > 0, err
}

// timeBounds is the SQL for an (after, before) filter on a timestamp column.
func timeBounds(arg func(any) string, col string, after, before *time.Time) []string {
	var out []string
	if after != nil {
		out = append(out, col+" > "+arg(*after))
	}
	if before != nil {
		out = append(out, col+" < "+arg(*before))
	}
	return out
}
