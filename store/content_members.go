package store

import (
	"context"
	"fmt"
)

// grantImportedMemberships turns imported memberships (collaborators) into
// ferry project memberships for the source users that are mapped to a real
// user, by e-mail or by reassignment. A membership the user already has is
// kept as it is: an import never raises or lowers a role someone gave.
// Placeholders get none: they cannot sign in, and GitLab too shows
// contribution memberships only once they are reassigned. projectID and
// sourceUserID narrow the work (0: any).
func (tx *Tx) grantImportedMemberships(ctx context.Context, projectID, sourceUserID int64) error {
	args := []any{tx.Now()}
	q := `INSERT INTO members (source_kind, source_id, user_id, access_level, created_at, updated_at)
		SELECT 'project', im.project_id, su.mapped_user_id, im.access_level, $1, $1
		FROM imported_members im
		JOIN source_users su ON su.id = im.su_id
		JOIN users u ON u.id = su.mapped_user_id
		WHERE su.mapped_user_id <> su.placeholder_user_id AND u.placeholder = FALSE AND u.state = 'active'`
	if projectID != 0 {
		args = append(args, projectID)
		q += fmt.Sprintf(" AND im.project_id = $%d", len(args))
	}
	if sourceUserID != 0 {
		args = append(args, sourceUserID)
		q += fmt.Sprintf(" AND im.su_id = $%d", len(args))
	}
	q += ` ON CONFLICT (source_kind, source_id, user_id) DO NOTHING`
	if _, err := tx.q.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("grant imported memberships: %w", err)
	}
	return nil
}

// grantImportedGroupMemberships is grantImportedMemberships for migrated
// groups (imported_group_members → members, source_kind 'namespace').
//
// Roles follow GitLab's direct transfer (MembersPipeline, §4.3 of the
// spec): the member keeps the source's access level, so the Owner of a
// migrated group or subgroup is an Owner of it here too, but a membership
// is only added where the user does not already hold that role or a higher
// one on the group, directly or inherited from a parent group: a higher
// existing role is not lowered, the parent's members (migrated first)
// stay inherited rather than repeated, and a role someone gave by hand is
// never changed (a direct membership is kept as it is, even a lower one).
// A level GitLab does not give members (not 5–50) is not granted. When
// several source users map to one person, the highest of their roles wins.
// groupID and sourceUsers narrow the work (0, none: any).
func (tx *Tx) grantImportedGroupMemberships(ctx context.Context, groupID int64, sourceUsers ...int64) error {
	for start := 0; start == 0 || start < len(sourceUsers); start += inChunk {
		if err := tx.grantGroupChunk(ctx, groupID, sourceUsers[start:min(start+inChunk, len(sourceUsers))]); err != nil {
			return err
		}
	}
	return nil
}

func (tx *Tx) grantGroupChunk(ctx context.Context, groupID int64, sourceUsers []int64) error {
	args := []any{tx.Now()}
	where := ""
	if groupID != 0 {
		args = append(args, groupID)
		where += fmt.Sprintf(" AND im.namespace_id = $%d", len(args))
	}
	if len(sourceUsers) > 0 {
		where += " AND im.su_id IN " + inList(&args, sourceUsers)
	}
	q := `INSERT INTO members (source_kind, source_id, user_id, access_level, created_at, updated_at)
		SELECT 'namespace', im.namespace_id, su.mapped_user_id, MAX(im.access_level), $1, $1
		FROM imported_group_members im
		JOIN source_users su ON su.id = im.su_id
		JOIN users u ON u.id = su.mapped_user_id
		WHERE su.mapped_user_id <> su.placeholder_user_id AND u.placeholder = FALSE AND u.state = 'active'
		AND im.access_level IN (5, 10, 20, 30, 40, 50)` + where + `
		AND NOT EXISTS (SELECT 1 FROM members m JOIN namespace_ancestors a ON a.ancestor_id = m.source_id
			WHERE m.source_kind = 'namespace' AND a.namespace_id = im.namespace_id AND m.user_id = su.mapped_user_id
			AND m.access_level >= im.access_level)
		GROUP BY im.namespace_id, su.mapped_user_id
		ON CONFLICT (source_kind, source_id, user_id) DO NOTHING`
	if _, err := tx.q.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("grant imported group memberships: %w", err)
	}
	return nil
}
