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
