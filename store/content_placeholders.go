package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ferry-import/ferry"
)

// SourceUser is a person of a source forge within a top-level namespace:
// the placeholder standing for them and the user their contributions show
// as.
type SourceUser struct {
	ID                      int64
	NamespaceID             int64
	SourceType, SourceHost  string
	SourceUserID            string
	SourceUsername          string
	SourceName, SourceEmail string
	Placeholder             *ferry.User
	Mapped                  *ferry.User // the placeholder until matched or reassigned
	ReassignTo              *ferry.User // awaiting this user's consent; nil otherwise
	Status                  string
	CreatedAt, UpdatedAt    time.Time
}

const sourceUserSelect = `su.id, su.namespace_id, su.source_type, su.source_host, su.source_user_id, su.source_username, su.source_name,
 su.source_email, su.placeholder_user_id, su.mapped_user_id, COALESCE(su.reassign_to_user_id, 0), su.status, su.created_at, su.updated_at`

func (tx *Tx) scanSourceUsers(ctx context.Context, query string, args ...any) ([]*SourceUser, error) {
	var out []*SourceUser
	var ids []int64
	err := tx.scanAll(ctx, "source users", func(row *sql.Rows) error {
		var su SourceUser
		var ph, mapped, to int64
		if err := row.Scan(&su.ID, &su.NamespaceID, &su.SourceType, &su.SourceHost, &su.SourceUserID, &su.SourceUsername, &su.SourceName,
			&su.SourceEmail, &ph, &mapped, &to, &su.Status, &su.CreatedAt, &su.UpdatedAt); err != nil {
			return err
		}
		su.CreatedAt, su.UpdatedAt = su.CreatedAt.UTC(), su.UpdatedAt.UTC()
		su.Placeholder, su.Mapped = &ferry.User{ID: ph}, &ferry.User{ID: mapped}
		ids = append(ids, ph, mapped)
		if to != 0 {
			su.ReassignTo = &ferry.User{ID: to}
			ids = append(ids, to)
		}
		out = append(out, &su)
		return nil
	}, query, args...)
	if err != nil || len(out) == 0 {
		return out, err
	}
	users := map[int64]*ferry.User{}
	args = []any{}
	err = tx.scanAll(ctx, "users", func(row *sql.Rows) error {
		u, err := scanUser(row)
		if err == nil {
			users[u.ID] = u
		}
		return err
	}, `SELECT `+userCols+` FROM users u WHERE u.id IN `+inList(&args, ids), args...)
	for _, su := range out {
		su.Placeholder, su.Mapped = users[su.Placeholder.ID], users[su.Mapped.ID]
		if su.ReassignTo != nil {
			su.ReassignTo = users[su.ReassignTo.ID]
		}
	}
	return out, err
}

// ListSourceUsers returns one page of a top-level namespace's source users,
// oldest first; status "" means any.
func (tx *Tx) ListSourceUsers(ctx context.Context, namespaceID int64, status string, p Page) ([]*SourceUser, int, error) {
	cond, args := "su.namespace_id = $1", []any{namespaceID}
	if status != "" {
		cond, args = cond+" AND su.status = $2", append(args, status)
	}
	total, err := tx.count(ctx, "source users", `SELECT COUNT(*) FROM source_users su WHERE `+cond, args...)
	if err != nil {
		return nil, 0, err
	}
	n := len(args)
	out, err := tx.scanSourceUsers(ctx, `SELECT `+sourceUserSelect+` FROM source_users su WHERE `+cond+
		fmt.Sprintf(` ORDER BY su.id LIMIT $%d OFFSET $%d`, n+1, n+2), append(args, p.PerPage, p.Offset())...)
	return out, total, err
}

// SourceUserByID returns one source user of a namespace or ENOTFOUND.
func (tx *Tx) SourceUserByID(ctx context.Context, namespaceID, id int64) (*SourceUser, error) {
	out, err := tx.scanSourceUsers(ctx, `SELECT `+sourceUserSelect+` FROM source_users su WHERE su.namespace_id = $1 AND su.id = $2`, namespaceID, id)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, ferry.Errorf(ferry.ENOTFOUND, "404 Source user Not Found")
	}
	return out[0], nil
}

// SourceUserByIdentifier finds a source user by its source identity.
func (tx *Tx) SourceUserByIdentifier(ctx context.Context, namespaceID int64, sourceType, host, sourceUserID string) (*SourceUser, error) {
	var id int64
	q, args := `SELECT id FROM source_users WHERE namespace_id = $1 AND source_user_id = $2`, []any{namespaceID, sourceUserID}
	for col, v := range map[string]string{"source_type": sourceType, "source_host": host} {
		if v != "" {
			args = append(args, v)
			q += fmt.Sprintf(" AND %s = $%d", col, len(args))
		}
	}
	err := tx.q.QueryRowContext(ctx, q+" ORDER BY id LIMIT 1", args...).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ferry.Errorf(ferry.ENOTFOUND, "404 Source user Not Found")
	} else if err != nil {
		return nil, fmt.Errorf("source user %q: %w", sourceUserID, err)
	}
	return tx.SourceUserByID(ctx, namespaceID, id)
}

// ReassignSourceUser makes a source user's contributions show as userID
// (an active, real user), or as its placeholder again when userID is the
// placeholder's id. Content rows are not rewritten: they name the source
// user, and reads resolve it, so the change is one row and immediate.
func (tx *Tx) ReassignSourceUser(ctx context.Context, namespaceID, id, userID, byID int64) (*SourceUser, error) {
	su, err := tx.SourceUserByID(ctx, namespaceID, id)
	if err != nil {
		return nil, err
	}
	status := SourceUserCompleted
	if userID == su.Placeholder.ID {
		status = SourceUserPending
	} else {
		u, err := tx.UserByID(ctx, userID)
		if ferry.ErrorCode(err) == ferry.ENOTFOUND {
			return nil, ferry.Errorf(ferry.EBADREQUEST, "User not found")
		} else if err != nil {
			return nil, err
		}
		if !u.CanSignIn() || u.Bot {
			return nil, ferry.Errorf(ferry.EBADREQUEST, "User must be an active, human user")
		}
	}
	if _, err := tx.q.ExecContext(ctx, `UPDATE source_users SET mapped_user_id = $1, status = $2, reassigned_by_id = $3, updated_at = $4,
		reassign_to_user_id = NULL WHERE id = $5`,
		userID, status, byID, tx.Now(), id); err != nil {
		return nil, fmt.Errorf("reassign source user %d: %w", id, err)
	}
	if status == SourceUserCompleted {
		if err := tx.grantImportedMemberships(ctx, 0, id); err != nil {
			return nil, err
		}
		if err := tx.grantImportedGroupMemberships(ctx, 0, id); err != nil {
			return nil, err
		}
	}
	return tx.SourceUserByID(ctx, namespaceID, id)
}

// RealUserByEmail finds the active, non-placeholder user with an e-mail
// (treated as verified), or ENOTFOUND.
func (tx *Tx) RealUserByEmail(ctx context.Context, email string) (*ferry.User, error) {
	u, err := scanUser(tx.q.QueryRowContext(ctx, `SELECT `+userCols+` FROM users u WHERE u.email = lower($1) AND u.placeholder = FALSE
		AND u.state = 'active'`, email))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ferry.Errorf(ferry.ENOTFOUND, "404 User Not Found")
	} else if err != nil {
		return nil, fmt.Errorf("user by e-mail: %w", err)
	}
	return u, nil
}

// SourceUserAwaiting is a reassignment waiting for its target's consent.
const SourceUserAwaiting = "awaiting_approval"

// Reassign is what an owner's reassignment does, GitLab's rule: a
// reassignment to someone else only waits for that person to accept
// (contributions keep showing as the placeholder meanwhile) — attributing
// work to people, and the memberships that come with it, needs their
// consent. An admin's reassignment, one to the caller themself, and undoing
// one (to the placeholder) take effect at once.
func (tx *Tx) Reassign(ctx context.Context, namespaceID, id, toUserID int64, by *ferry.User) (*SourceUser, error) {
	su, err := tx.SourceUserByID(ctx, namespaceID, id)
	if err != nil {
		return nil, err
	}
	if by.IsAdmin || toUserID == by.ID || (su.Placeholder != nil && toUserID == su.Placeholder.ID) {
		return tx.ReassignSourceUser(ctx, namespaceID, id, toUserID, by.ID)
	}
	u, err := tx.UserByID(ctx, toUserID)
	if ferry.ErrorCode(err) == ferry.ENOTFOUND {
		return nil, ferry.Errorf(ferry.EBADREQUEST, "User not found")
	} else if err != nil {
		return nil, err
	}
	if !u.CanSignIn() || u.Bot {
		return nil, ferry.Errorf(ferry.EBADREQUEST, "User must be an active, human user")
	}
	if _, err := tx.q.ExecContext(ctx, `UPDATE source_users SET reassign_to_user_id = $1, status = $2, reassigned_by_id = $3, updated_at = $4 WHERE id = $5`,
		toUserID, SourceUserAwaiting, by.ID, tx.Now(), id); err != nil {
		return nil, fmt.Errorf("request reassignment of %d: %w", id, err)
	}
	return tx.SourceUserByID(ctx, namespaceID, id)
}

// AwaitingReassignments lists the reassignments waiting for userID.
func (tx *Tx) AwaitingReassignments(ctx context.Context, userID int64) ([]*SourceUser, error) {
	return tx.scanSourceUsers(ctx, `SELECT `+sourceUserSelect+` FROM source_users su WHERE su.reassign_to_user_id = $1 AND su.status = $2 ORDER BY su.id`,
		userID, SourceUserAwaiting)
}

// AnswerReassignment is the target's answer to a reassignment waiting for
// them: accepting makes the contributions theirs (with the imported
// memberships), rejecting leaves them with the placeholder. Anyone else,
// or a reassignment not awaiting them, is ENOTFOUND.
func (tx *Tx) AnswerReassignment(ctx context.Context, id, userID int64, accept bool) (*SourceUser, error) {
	var ns int64
	var by sql.NullInt64
	err := tx.q.QueryRowContext(ctx, `SELECT namespace_id, reassigned_by_id FROM source_users WHERE id = $1 AND reassign_to_user_id = $2 AND status = $3`,
		id, userID, SourceUserAwaiting).Scan(&ns, &by)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ferry.Errorf(ferry.ENOTFOUND, "404 Reassignment Not Found")
	} else if err != nil {
		return nil, fmt.Errorf("reassignment %d: %w", id, err)
	}
	if accept {
		byID := by.Int64
		if !by.Valid {
			byID = userID
		}
		return tx.ReassignSourceUser(ctx, ns, id, userID, byID)
	}
	if _, err := tx.q.ExecContext(ctx, `UPDATE source_users SET reassign_to_user_id = NULL, status = $1, updated_at = $2 WHERE id = $3`,
		SourceUserPending, tx.Now(), id); err != nil {
		return nil, fmt.Errorf("reject reassignment %d: %w", id, err)
	}
	return tx.SourceUserByID(ctx, ns, id)
}
