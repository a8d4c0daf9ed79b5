package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/ferry-import/ferry"
)

// userRefs collects the source user ids a page of content mentions and
// fills in the users they show as, with one query.
type userRefs map[int64][]func(*ferry.User)

// add registers dst to receive the user of source user su (NULL = none).
func (r userRefs) add(su sql.NullInt64, dst **ferry.User) {
	if su.Valid {
		r.set(su.Int64, func(u *ferry.User) { *dst = u })
	}
}

// set registers fn to receive the user of source user su.
func (r userRefs) set(su int64, fn func(*ferry.User)) { r[su] = append(r[su], fn) }

// resolve loads the users: a source user shows as its mapped user, which is
// its placeholder until it is matched or reassigned.
func (r userRefs) resolve(ctx context.Context, tx *Tx) error {
	if len(r) == 0 {
		return nil
	}
	ids := make([]int64, 0, len(r))
	for id := range r {
		ids = append(ids, id)
	}
	for start := 0; start < len(ids); start += maxParams {
		args := []any{}
		rows, err := tx.q.QueryContext(ctx, `SELECT su.id, `+userCols+` FROM source_users su JOIN users u ON u.id = su.mapped_user_id
			WHERE su.id IN `+inList(&args, ids[start:min(start+maxParams, len(ids))]), args...)
		if err != nil {
			return fmt.Errorf("users of source users: %w", err)
		}
		for rows.Next() {
			var su int64
			u, err := scanUser(prefixed{rows, []any{&su}})
			if err != nil {
				rows.Close()
				return fmt.Errorf("scan user: %w", err)
			}
			for _, fn := range r[su] {
				fn(u)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// prefixed scans extra leading columns before a shared scanner's own.
type prefixed struct {
	row  interface{ Scan(...any) error }
	head []any
}

func (p prefixed) Scan(dest ...any) error { return p.row.Scan(append(p.head, dest...)...) }

// scanAll runs a query and calls scan for each row.
func (tx *Tx) scanAll(ctx context.Context, what string, scan func(row *sql.Rows) error, query string, args ...any) error {
	rows, err := tx.q.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return fmt.Errorf("scan %s: %w", what, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// count runs a COUNT query.
func (tx *Tx) count(ctx context.Context, what, query string, args ...any) (int, error) {
	var n int
	if err := tx.q.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count %s: %w", what, err)
	}
	return n, nil
}
