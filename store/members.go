package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/ferry-import/ferry"
)

// Member source kinds.
const (
	MemberOfNamespace = "namespace"
	MemberOfProject   = "project"
)

const memberCols = `m.source_kind, m.source_id, m.user_id, m.access_level, m.expires_at, m.created_at, m.created_by_id, ` + userCols

func scanMember(row interface{ Scan(...any) error }) (*ferry.Member, error) {
	var m ferry.Member
	var u ferry.User
	var exp sql.NullTime
	var by sql.NullInt64
	if err := row.Scan(&m.SourceKind, &m.SourceID, &m.UserID, &m.AccessLevel, &exp, &m.CreatedAt, &by,
		&u.ID, &u.Username, &u.Name, &u.Email, &u.State, &u.IsAdmin, &u.Bot, &u.Placeholder, &u.CreatedAt, &u.UpdatedAt, &u.NamespaceID); err != nil {
		return nil, err
	}
	m.ExpiresAt, m.CreatedByID = timePtr(exp), int64Ptr(by)
	m.CreatedAt = m.CreatedAt.UTC()
	m.User = &u
	return &m, nil
}

// AddMember inserts a membership; an existing one is ECONFLICT
// ("Member already exists", 409 in GitLab). Users that cannot be members
// (placeholders) are refused here, so that no path adds one.
func (tx *Tx) AddMember(ctx context.Context, m *ferry.Member) error {
	if err := tx.checkMemberUser(ctx, m.UserID); err != nil {
		return err
	}
	now := tx.Now()
	_, err := tx.q.ExecContext(ctx, `INSERT INTO members (source_kind, source_id, user_id, access_level, expires_at, created_by_id, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`, m.SourceKind, m.SourceID, m.UserID, int(m.AccessLevel), nullTime(m.ExpiresAt), m.CreatedByID, now)
	if isUnique(err) {
		return ferry.Errorf(ferry.ECONFLICT, "Member already exists")
	} else if err != nil {
		return fmt.Errorf("add member %d to %s %d: %w", m.UserID, m.SourceKind, m.SourceID, err)
	}
	m.CreatedAt = now
	return nil
}

// Member returns one direct membership or ENOTFOUND.
func (tx *Tx) Member(ctx context.Context, kind string, sourceID, userID int64) (*ferry.Member, error) {
	m, err := scanMember(tx.q.QueryRowContext(ctx, `SELECT `+memberCols+` FROM members m JOIN users u ON u.id = m.user_id
		WHERE m.source_kind = $1 AND m.source_id = $2 AND m.user_id = $3`, kind, sourceID, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ferry.Errorf(ferry.ENOTFOUND, "404 Member Not Found")
	} else if err != nil {
		return nil, fmt.Errorf("member %d of %s %d: %w", userID, kind, sourceID, err)
	}
	return m, nil
}

// UpdateMember changes a membership's role and expiry. As GitLab validates
// a membership on every save, a placeholder's membership (made before the
// rule) cannot be changed, only removed.
func (tx *Tx) UpdateMember(ctx context.Context, m *ferry.Member) error {
	if err := tx.checkMemberUser(ctx, m.UserID); err != nil {
		return err
	}
	res, err := tx.q.ExecContext(ctx, `UPDATE members SET access_level = $1, expires_at = $2, updated_at = $3
		WHERE source_kind = $4 AND source_id = $5 AND user_id = $6`, int(m.AccessLevel), nullTime(m.ExpiresAt), tx.Now(), m.SourceKind, m.SourceID, m.UserID)
	if err != nil {
		return fmt.Errorf("update member %d: %w", m.UserID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ferry.Errorf(ferry.ENOTFOUND, "404 Member Not Found")
	}
	return nil
}

// RemoveMember deletes a direct membership.
func (tx *Tx) RemoveMember(ctx context.Context, kind string, sourceID, userID int64) error {
	res, err := tx.q.ExecContext(ctx, `DELETE FROM members WHERE source_kind = $1 AND source_id = $2 AND user_id = $3`, kind, sourceID, userID)
	if err != nil {
		return fmt.Errorf("remove member %d: %w", userID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ferry.Errorf(ferry.ENOTFOUND, "404 Member Not Found")
	}
	return nil
}

// CountOwners counts the direct owners of a namespace, so the last one
// cannot be removed or demoted.
func (tx *Tx) CountOwners(ctx context.Context, namespaceID int64) (int, error) {
	var n int
	err := tx.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM members WHERE source_kind = 'namespace' AND source_id = $1 AND access_level = $2`,
		namespaceID, int(ferry.OwnerAccess)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count owners of %d: %w", namespaceID, err)
	}
	return n, nil
}

// MemberFilter narrows ListMembers.
type MemberFilter struct {
	Kind     string
	SourceID int64
	// All includes memberships inherited from ancestor groups (and, for a
	// project, from its namespace chain); the highest role per user wins.
	All     bool
	Query   string
	UserIDs []int64
}

// ListMembers returns one page of members ordered by user id.
func (tx *Tx) ListMembers(ctx context.Context, f MemberFilter, p Page) ([]*ferry.Member, int, error) {
	args := []any{}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	// sources: the direct one, and with All the ancestor namespaces.
	src := "(m.source_kind = " + arg(f.Kind) + " AND m.source_id = " + arg(f.SourceID) + ")"
	if f.All {
		nsExpr := arg(f.SourceID)
		if f.Kind == MemberOfProject {
			nsExpr = "(SELECT namespace_id FROM projects WHERE id = " + nsExpr + ")"
		}
		src = "(" + src + " OR (m.source_kind = 'namespace' AND m.source_id IN (SELECT ancestor_id FROM namespace_ancestors WHERE namespace_id = " + nsExpr + ")))"
	}
	// One row per user: the best role; ties prefer the direct membership.
	cond := src + ` AND NOT EXISTS (SELECT 1 FROM members m2 WHERE m2.user_id = m.user_id AND ` + strings.ReplaceAll(src, "m.", "m2.") + `
		AND (m2.access_level > m.access_level OR (m2.access_level = m.access_level AND m2.id < m.id)))`
	if f.Query != "" {
		s := arg("%" + likeEscape(strings.ToLower(f.Query)) + "%")
		cond += fmt.Sprintf(` AND (lower(u.username) LIKE %[1]s ESCAPE '\' OR lower(u.name) LIKE %[1]s ESCAPE '\')`, s)
	}
	if len(f.UserIDs) > 0 {
		ph := make([]string, len(f.UserIDs))
		for i, id := range f.UserIDs {
			ph[i] = arg(id)
		}
		cond += " AND m.user_id IN (" + strings.Join(ph, ",") + ")"
	}
	out, total, err := listPage(ctx, tx, "members", memberCols, `FROM members m JOIN users u ON u.id = m.user_id WHERE `+cond, "m.user_id", args, p, scanMember)
	for _, m := range out {
		m.Inherited = m.SourceKind != f.Kind || m.SourceID != f.SourceID
	}
	return out, total, err
}

// checkMemberUser applies ferry.CanBeMember to a user id; an unknown user
// is left to the insert's foreign key.
func (tx *Tx) checkMemberUser(ctx context.Context, userID int64) error {
	var placeholder bool
	err := tx.q.QueryRowContext(ctx, `SELECT placeholder FROM users WHERE id = $1`, userID).Scan(&placeholder)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	} else if err != nil {
		return fmt.Errorf("member user %d: %w", userID, err)
	}
	return ferry.CanBeMember(&ferry.User{ID: userID, Placeholder: placeholder})
}
