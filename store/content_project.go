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
	"github.com/ferry-import/ferry/forge"
)

// Milestone is an imported project or group milestone.
type Milestone struct {
	ID                 int64
	ProjectID, GroupID *int64
	IID                int64
	Title, Description string
	State              string
	StartDate, DueDate *time.Time
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

const milestoneSelect = `m.id, m.project_id, m.group_id, m.iid, m.title, m.description, m.state, m.start_date, m.due_date, m.created_at, m.updated_at`

func parseDate(s string) *time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return nil
	}
	return &t
}

func scanMilestone(row interface{ Scan(...any) error }) (*Milestone, error) {
	var m Milestone
	var project, group sql.NullInt64
	var start, due string
	if err := row.Scan(&m.ID, &project, &group, &m.IID, &m.Title, &m.Description, &m.State, &start, &due, &m.CreatedAt, &m.UpdatedAt); err != nil {
		return nil, err
	}
	m.ProjectID, m.GroupID = int64Ptr(project), int64Ptr(group)
	m.StartDate, m.DueDate = parseDate(start), parseDate(due)
	m.CreatedAt, m.UpdatedAt = m.CreatedAt.UTC(), m.UpdatedAt.UTC()
	return &m, nil
}

// ContentFilter narrows the lists of labels, milestones, releases and
// protected branches: exactly one of ProjectID and GroupID.
type ContentFilter struct {
	ProjectID int64
	GroupID   int64
	Search    string // in the name or title
	State     string // milestones: active, closed
	Title     string // milestones: exact title
	IIDs      []int64
	// OwnOnly leaves a project's groups' labels and milestones out
	// (labels' include_ancestor_groups=false).
	OwnOnly bool
}

// owner is the SQL condition selecting the filter's owner; a project also
// sees the labels and milestones of its groups, as GitLab's lists do,
// unless OwnOnly.
func (f ContentFilter) owner(arg func(any) string, alias string) string {
	if f.GroupID != 0 {
		return alias + ".group_id = " + arg(f.GroupID)
	}
	p := arg(f.ProjectID)
	if f.OwnOnly {
		return alias + ".project_id = " + p
	}
	return "(" + alias + ".project_id = " + p + " OR " + alias + `.group_id IN (SELECT a.ancestor_id FROM namespace_ancestors a
		JOIN projects pr ON pr.namespace_id = a.namespace_id WHERE pr.id = ` + p + "))"
}

// ListMilestones returns one page of milestones, by due date then title.
func (tx *Tx) ListMilestones(ctx context.Context, f ContentFilter, p Page) ([]*Milestone, int, error) {
	args := []any{}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	where := []string{f.owner(arg, "m")}
	if f.State != "" {
		where = append(where, "m.state = "+arg(f.State))
	}
	if f.Title != "" {
		where = append(where, "m.title = "+arg(f.Title))
	}
	if f.Search != "" {
		s := arg("%" + likeEscape(strings.ToLower(f.Search)) + "%")
		where = append(where, `(lower(m.title) LIKE `+s+` ESCAPE '\' OR lower(m.description) LIKE `+s+` ESCAPE '\')`)
	}
	if len(f.IIDs) > 0 {
		where = append(where, "m.iid IN "+inList(&args, f.IIDs))
	}
	cond := strings.Join(where, " AND ")
	total, err := tx.count(ctx, "milestones", `SELECT COUNT(*) FROM milestones m WHERE `+cond, args...)
	if err != nil {
		return nil, 0, err
	}
	var out []*Milestone
	err = tx.scanAll(ctx, "milestones", func(row *sql.Rows) error {
		m, err := scanMilestone(row)
		out = append(out, m)
		return err
	}, `SELECT `+milestoneSelect+` FROM milestones m WHERE `+cond+` ORDER BY CASE WHEN m.due_date = '' THEN 1 ELSE 0 END, m.due_date,
		m.title, m.id LIMIT `+arg(p.PerPage)+` OFFSET `+arg(p.Offset()), args...)
	return out, total, err
}

// Label is an imported label with the counts GitLab shows.
type Label struct {
	ID                 int64
	ProjectID, GroupID *int64
	Name, Color        string
	Description        string
	OpenIssues         int
	ClosedIssues       int
	OpenMergeRequests  int
}

// ListLabels returns one page of labels by name.
func (tx *Tx) ListLabels(ctx context.Context, f ContentFilter, p Page) ([]*Label, int, error) {
	args := []any{}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	where := []string{f.owner(arg, "l")}
	if f.Search != "" {
		s := arg("%" + likeEscape(strings.ToLower(f.Search)) + "%")
		where = append(where, `(lower(l.name) LIKE `+s+` ESCAPE '\' OR lower(l.description) LIKE `+s+` ESCAPE '\')`)
	}
	cond := strings.Join(where, " AND ")
	total, err := tx.count(ctx, "labels", `SELECT COUNT(*) FROM labels l WHERE `+cond, args...)
	if err != nil {
		return nil, 0, err
	}
	// Counts are of the project's issuables (a group label: of its projects').
	counted := func(table, typ, state string) string {
		scope := `(x.project_id = l.project_id OR x.project_id IN (SELECT pr.id FROM projects pr JOIN namespace_ancestors a
			ON a.namespace_id = pr.namespace_id WHERE a.ancestor_id = l.group_id))`
		return `(SELECT COUNT(*) FROM ` + table + ` x JOIN issuable_labels il ON il.project_id = x.project_id AND il.target_type = '` + typ +
			`' AND il.target_iid = x.iid WHERE ` + scope + ` AND x.state = '` + state + `' AND lower(il.label_name) = lower(l.name))`
	}
	var out []*Label
	err = tx.scanAll(ctx, "labels", func(row *sql.Rows) error {
		var l Label
		var project, group sql.NullInt64
		err := row.Scan(&l.ID, &project, &group, &l.Name, &l.Color, &l.Description, &l.OpenIssues, &l.ClosedIssues, &l.OpenMergeRequests)
		l.ProjectID, l.GroupID = int64Ptr(project), int64Ptr(group)
		out = append(out, &l)
		return err
	}, `SELECT l.id, l.project_id, l.group_id, l.name, l.color, l.description, `+counted("issues", forge.OnIssue, "opened")+`, `+
		counted("issues", forge.OnIssue, "closed")+`, `+counted("merge_requests", forge.OnMergeRequest, "opened")+`
		FROM labels l WHERE `+cond+` ORDER BY lower(l.name), l.id LIMIT `+arg(p.PerPage)+` OFFSET `+arg(p.Offset()), args...)
	return out, total, err
}

// Release is an imported release.
type Release struct {
	ID          int64
	TagName     string
	Name        string
	Description string
	Author      *ferry.User
	CommitSHA   string
	Links       []forge.ReleaseLink
	CreatedAt   time.Time
	ReleasedAt  *time.Time
}

const releaseSelect = `r.id, r.tag_name, r.name, r.description, r.author_su, r.commit_sha, r.links, r.created_at, r.released_at`

func scanRelease(row interface{ Scan(...any) error }, refs userRefs) (*Release, error) {
	var r Release
	var author sql.NullInt64
	var links string
	var released sql.NullTime
	if err := row.Scan(&r.ID, &r.TagName, &r.Name, &r.Description, &author, &r.CommitSHA, &links, &r.CreatedAt, &released); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(links), &r.Links); err != nil {
		return nil, fmt.Errorf("links of release %q: %w", r.TagName, err)
	}
	refs.add(author, &r.Author)
	r.CreatedAt, r.ReleasedAt = r.CreatedAt.UTC(), timePtr(released)
	return &r, nil
}

// ListReleases returns one page of a project's releases, by release date
// (orderBy "released_at", the default) or creation ("created_at"), newest
// first unless sort is "asc".
func (tx *Tx) ListReleases(ctx context.Context, projectID int64, orderBy, sort string, p Page) ([]*Release, int, error) {
	order := "COALESCE(r.released_at, r.created_at)"
	if orderBy == "created_at" {
		order = "r.created_at"
	}
	dir := "DESC"
	if sort == "asc" {
		dir = "ASC"
	}
	total, err := tx.count(ctx, "releases", `SELECT COUNT(*) FROM releases WHERE project_id = $1`, projectID)
	if err != nil {
		return nil, 0, err
	}
	var out []*Release
	refs := userRefs{}
	err = tx.scanAll(ctx, "releases", func(row *sql.Rows) error {
		r, err := scanRelease(row, refs)
		out = append(out, r)
		return err
	}, `SELECT `+releaseSelect+` FROM releases r WHERE r.project_id = $1 ORDER BY `+order+` `+dir+`, r.id `+dir+`
		LIMIT $2 OFFSET $3`, projectID, p.PerPage, p.Offset())
	if err != nil {
		return nil, 0, err
	}
	return out, total, refs.resolve(ctx, tx)
}

// ReleaseByTag returns a release or ENOTFOUND.
func (tx *Tx) ReleaseByTag(ctx context.Context, projectID int64, tag string) (*Release, error) {
	refs := userRefs{}
	r, err := scanRelease(tx.q.QueryRowContext(ctx, `SELECT `+releaseSelect+` FROM releases r WHERE r.project_id = $1 AND r.tag_name = $2`,
		projectID, tag), refs)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ferry.Errorf(ferry.ENOTFOUND, "404 Not Found")
	} else if err != nil {
		return nil, fmt.Errorf("release %q: %w", tag, err)
	}
	return r, refs.resolve(ctx, tx)
}

// ProtectedBranch is an imported branch protection rule.
type ProtectedBranch struct {
	ID                        int64
	Name                      string
	PushAccessLevel           ferry.AccessLevel
	MergeAccessLevel          ferry.AccessLevel
	AllowForcePush            bool
	CodeOwnerApprovalRequired bool
}

// ListProtectedBranches returns one page of a project's protected branches.
func (tx *Tx) ListProtectedBranches(ctx context.Context, projectID int64, search string, p Page) ([]*ProtectedBranch, int, error) {
	args := []any{projectID}
	cond := "project_id = $1"
	if search != "" {
		args = append(args, "%"+likeEscape(strings.ToLower(search))+"%")
		cond += ` AND lower(name) LIKE $2 ESCAPE '\'`
	}
	total, err := tx.count(ctx, "protected branches", `SELECT COUNT(*) FROM protected_branches WHERE `+cond, args...)
	if err != nil {
		return nil, 0, err
	}
	var out []*ProtectedBranch
	err = tx.scanAll(ctx, "protected branches", func(row *sql.Rows) error {
		var b ProtectedBranch
		err := row.Scan(&b.ID, &b.Name, &b.PushAccessLevel, &b.MergeAccessLevel, &b.AllowForcePush, &b.CodeOwnerApprovalRequired)
		out = append(out, &b)
		return err
	}, fmt.Sprintf(`SELECT id, name, push_access_level, merge_access_level, allow_force_push, code_owner_approval_required
		FROM protected_branches WHERE %s ORDER BY name LIMIT $%d OFFSET $%d`, cond, len(args)+1, len(args)+2), append(args, p.PerPage, p.Offset())...)
	return out, total, err
}
