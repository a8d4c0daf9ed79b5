package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/ferry-import/ferry"
)

// Password hashes live apart from ferry.User so that nothing renders or
// logs them by accident: only these two functions read or write them.

// SetUserPassword stores a user's password hash ("" removes the password).
func (tx *Tx) SetUserPassword(ctx context.Context, userID int64, hash string) error {
	res, err := tx.q.ExecContext(ctx, `UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3`, hash, tx.Now(), userID)
	if err != nil {
		return fmt.Errorf("set password of user %d: %w", userID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ferry.Errorf(ferry.ENOTFOUND, "404 User Not Found")
	}
	return nil
}

// UserForSignIn finds the user a sign-in names, by username or e-mail
// (case-insensitive), with the stored password hash ("" for none);
// ENOTFOUND when nobody matches.
func (tx *Tx) UserForSignIn(ctx context.Context, login string) (*ferry.User, string, error) {
	var hash string
	var id int64
	err := tx.q.QueryRowContext(ctx, `SELECT id, password_hash FROM users
		WHERE lower(username) = lower($1) OR (email <> '' AND email = lower($1))`, login).Scan(&id, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", ferry.Errorf(ferry.ENOTFOUND, "404 User Not Found")
	} else if err != nil {
		return nil, "", fmt.Errorf("user for sign-in: %w", err)
	}
	u, err := tx.UserByID(ctx, id)
	if err != nil {
		return nil, "", err
	}
	return u, hash, nil
}

// PasswordHash is a user's stored password hash ("" for none).
func (tx *Tx) PasswordHash(ctx context.Context, userID int64) (string, error) {
	var hash string
	err := tx.q.QueryRowContext(ctx, `SELECT password_hash FROM users WHERE id = $1`, userID).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ferry.Errorf(ferry.ENOTFOUND, "404 User Not Found")
	} else if err != nil {
		return "", fmt.Errorf("password of user %d: %w", userID, err)
	}
	return hash, nil
}
