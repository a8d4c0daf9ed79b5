package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/ferry-import/ferry"
)

// Bounds of an imported badge (GitLab: name is a varchar(255); ferry
// bounds the URLs as it bounds upload links).
const (
	MaxBadgeName = 255
	MaxBadgeURL  = 2048
)

// badgePlaceholder is a %{…} placeholder of a badge URL, which is no
// valid URL escape but is what GitLab stores.
var badgePlaceholder = regexp.MustCompile(`%\{[a-z_]+\}`)

// badgeURL checks a badge URL as GitLab's Badge model does: http or https
// with a host, placeholders allowed anywhere.
func badgeURL(s string) error {
	if s == "" {
		return errors.New("missing")
	}
	if len(s) > MaxBadgeURL {
		return fmt.Errorf("longer than %d bytes", MaxBadgeURL)
	}
	u, err := url.Parse(badgePlaceholder.ReplaceAllString(s, "x"))
	if err != nil {
		return errors.New("malformed")
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("not an http(s) URL with a host")
	}
	return nil
}

// Badge is an imported badge of a group (NamespaceID) or of a project
// (ProjectID). Its URLs are stored as the source wrote them.
type Badge struct {
	ID          int64
	NamespaceID *int64
	ProjectID   *int64
	Name        string
	LinkURL     string
	ImageURL    string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Kind is GitLab's badge kind: "project" or "group".
func (b *Badge) Kind() string {
	if b.ProjectID != nil {
		return "project"
	}
	return "group"
}

// BadgeFilter selects badges: a group's own (GroupID), or a project's with
// the badges of its group and that group's ancestors (ProjectID), as
// GitLab's Project#badges does. Name, when set, must match exactly.
type BadgeFilter struct {
	GroupID   int64
	ProjectID int64
	Name      string
}

func (f BadgeFilter) where(arg func(any) string) string {
	var cond string
	if f.ProjectID == 0 {
		cond = "b.namespace_id = " + arg(f.GroupID)
	} else {
		p := arg(f.ProjectID)
		cond = "(b.project_id = " + p + ` OR b.namespace_id IN (SELECT a.ancestor_id FROM namespace_ancestors a
			JOIN projects pr ON pr.namespace_id = a.namespace_id WHERE pr.id = ` + p + "))"
	}
	if f.Name != "" {
		cond += " AND b.name = " + arg(f.Name)
	}
	return cond
}

const badgeSelect = `SELECT b.id, b.namespace_id, b.project_id, b.name, b.link_url, b.image_url, b.created_at, b.updated_at FROM badges b WHERE `

func scanBadge(row interface{ Scan(...any) error }) (*Badge, error) {
	var b Badge
	var ns, project sql.NullInt64
	if err := row.Scan(&b.ID, &ns, &project, &b.Name, &b.LinkURL, &b.ImageURL, &b.CreatedAt, &b.UpdatedAt); err != nil {
		return nil, err
	}
	b.NamespaceID, b.ProjectID = int64Ptr(ns), int64Ptr(project)
	b.CreatedAt, b.UpdatedAt = b.CreatedAt.UTC(), b.UpdatedAt.UTC()
	return &b, nil
}

// ListBadges returns one page of badges, oldest first (GitLab's order).
func (tx *Tx) ListBadges(ctx context.Context, f BadgeFilter, p Page) ([]*Badge, int, error) {
	args := []any{}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	cond := f.where(arg)
	total, err := tx.count(ctx, "badges", `SELECT COUNT(*) FROM badges b WHERE `+cond, args...)
	if err != nil {
		return nil, 0, err
	}
	var out []*Badge
	err = tx.scanAll(ctx, "badges", func(row *sql.Rows) error {
		b, err := scanBadge(row)
		if err == nil {
			out = append(out, b)
		}
		return err
	}, badgeSelect+cond+` ORDER BY b.created_at, b.id LIMIT `+arg(p.PerPage)+` OFFSET `+arg(p.Offset()), args...)
	return out, total, err
}

// Badge returns one badge among those f selects, or ENOTFOUND with
// GitLab's "404 Not found" (an ActiveRecord::RecordNotFound there).
func (tx *Tx) Badge(ctx context.Context, f BadgeFilter, id int64) (*Badge, error) {
	args := []any{}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	f.Name = ""
	b, err := scanBadge(tx.q.QueryRowContext(ctx, badgeSelect+f.where(arg)+" AND b.id = "+arg(id), args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ferry.Errorf(ferry.ENOTFOUND, "404 Not found")
	} else if err != nil {
		return nil, fmt.Errorf("badge %d: %w", id, err)
	}
	return b, nil
}

// ExportBadges returns the owner's own badges (a project's without its
// groups') with an id above after, for relation exports.
func (tx *Tx) ExportBadges(ctx context.Context, o ExportOwner, after int64, limit int) ([]*Badge, error) {
	col, owner := "b.project_id", o.ProjectID
	if o.GroupID != 0 {
		col, owner = "b.namespace_id", o.GroupID
	}
	var out []*Badge
	err := tx.scanAll(ctx, "export badges", func(row *sql.Rows) error {
		b, err := scanBadge(row)
		if err == nil {
			out = append(out, b)
		}
		return err
	}, badgeSelect+col+` = $1 AND b.id > $2 ORDER BY b.id LIMIT $3`, owner, after, limit)
	return out, err
}

// RenderBadgeURL replaces GitLab's badge placeholders with what vals
// gives (%{project_path} → vals["project_path"]); a placeholder vals does
// not name is left as written, as GitLab leaves unknown ones.
func RenderBadgeURL(s string, vals map[string]string) string {
	if !strings.Contains(s, "%{") {
		return s
	}
	return badgePlaceholder.ReplaceAllStringFunc(s, func(m string) string {
		if v, ok := vals[m[2:len(m)-1]]; ok {
			return v
		}
		return m
	})
}
