package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/ferry-import/ferry"
)

// TokenPrefix marks ferry's personal access tokens, as glpat- marks GitLab's.
const TokenPrefix = "glpat-"

// NewTokenSecret returns a random token: the prefix and 20 base62 characters
// (119 bits).
func NewTokenSecret() (string, error) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	var b strings.Builder
	b.WriteString(TokenPrefix)
	for i := 0; i < 20; i++ {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			return "", fmt.Errorf("token randomness: %w", err)
		}
		b.WriteByte(alphabet[n.Int64()])
	}
	return b.String(), nil
}

// TokenDigest is what the database keeps of a token: its SHA-256. Tokens are
// long random strings, so a fast hash suffices (no dictionary to guard).
func TokenDigest(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

const tokenCols = `id, user_id, name, digest, scopes, expires_at, revoked, created_at, last_used_at`

func scanToken(row interface{ Scan(...any) error }) (*ferry.PersonalAccessToken, string, error) {
	var t ferry.PersonalAccessToken
	var digest, scopes string
	var exp, used sql.NullTime
	if err := row.Scan(&t.ID, &t.UserID, &t.Name, &digest, &scopes, &exp, &t.Revoked, &t.CreatedAt, &used); err != nil {
		return nil, "", err
	}
	t.Scopes = strings.Split(scopes, ",")
	t.ExpiresAt, t.LastUsedAt = timePtr(exp), timePtr(used)
	t.CreatedAt = t.CreatedAt.UTC()
	return &t, digest, nil
}

// CreateToken stores a token. If t.Token is empty a random secret is made;
// either way only its digest is written and t.Token holds the secret.
func (tx *Tx) CreateToken(ctx context.Context, t *ferry.PersonalAccessToken) error {
	if t.Token == "" {
		secret, err := NewTokenSecret()
		if err != nil {
			return err
		}
		t.Token = secret
	}
	now := tx.Now()
	err := tx.q.QueryRowContext(ctx, `INSERT INTO personal_access_tokens (user_id, name, digest, scopes, expires_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		t.UserID, t.Name, TokenDigest(t.Token), strings.Join(t.Scopes, ","), nullTime(t.ExpiresAt), now).Scan(&t.ID)
	if isUnique(err) {
		return ferry.Errorf(ferry.EBADREQUEST, "token already exists")
	} else if err != nil {
		return fmt.Errorf("insert token for user %d: %w", t.UserID, err)
	}
	t.CreatedAt = now
	return nil
}

// CreateValidToken creates a token for owner after ferry.ValidateNewToken,
// the rule the API and `ferry admin token create` share.
func (tx *Tx) CreateValidToken(ctx context.Context, t *ferry.PersonalAccessToken, owner *ferry.User) error {
	if err := ferry.ValidateNewToken(t, owner, tx.Now()); err != nil {
		return err
	}
	t.UserID = owner.ID
	return tx.CreateToken(ctx, t)
}

// TokenBySecret finds the token whose digest matches secret. The lookup is by
// digest; the final comparison is constant-time so timing says nothing about
// how close a guess came.
func (tx *Tx) TokenBySecret(ctx context.Context, secret string) (*ferry.PersonalAccessToken, error) {
	want := TokenDigest(secret)
	t, got, err := scanToken(tx.q.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM personal_access_tokens WHERE digest = $1`, want))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ferry.Errorf(ferry.EUNAUTHORIZED, "401 Unauthorized")
	} else if err != nil {
		return nil, fmt.Errorf("token lookup: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return nil, ferry.Errorf(ferry.EUNAUTHORIZED, "401 Unauthorized")
	}
	return t, nil
}

// TouchToken records a use, at most once a minute per token to spare writes.
func (tx *Tx) TouchToken(ctx context.Context, t *ferry.PersonalAccessToken) error {
	now := tx.Now()
	if t.LastUsedAt != nil && now.Sub(*t.LastUsedAt) < time.Minute {
		return nil
	}
	if _, err := tx.q.ExecContext(ctx, `UPDATE personal_access_tokens SET last_used_at = $1 WHERE id = $2`, now, t.ID); err != nil {
		return fmt.Errorf("touch token %d: %w", t.ID, err)
	}
	t.LastUsedAt = &now
	return nil
}

// TokenByID returns a token or ENOTFOUND.
func (tx *Tx) TokenByID(ctx context.Context, id int64) (*ferry.PersonalAccessToken, error) {
	t, _, err := scanToken(tx.q.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM personal_access_tokens WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ferry.Errorf(ferry.ENOTFOUND, "404 Not Found")
	} else if err != nil {
		return nil, fmt.Errorf("token %d: %w", id, err)
	}
	return t, nil
}

// TokenFilter narrows ListTokens.
type TokenFilter struct {
	UserID  int64 // 0 = all users
	State   string
	Revoked *bool
	Now     time.Time
	// Time bounds, nil for none.
	CreatedAfter, CreatedBefore   *time.Time
	LastUsedAfter, LastUsedBefore *time.Time
}

// ListTokens returns one page of tokens, newest first, and the total.
func (tx *Tx) ListTokens(ctx context.Context, f TokenFilter, p Page) ([]*ferry.PersonalAccessToken, int, error) {
	where, args := []string{"1=1"}, []any{}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if f.UserID != 0 {
		where = append(where, "user_id = "+arg(f.UserID))
	}
	switch f.State {
	case "active":
		where = append(where, "revoked = FALSE AND (expires_at IS NULL OR expires_at > "+arg(f.Now)+")")
	case "inactive":
		where = append(where, "(revoked = TRUE OR (expires_at IS NOT NULL AND expires_at <= "+arg(f.Now)+"))")
	}
	if f.Revoked != nil {
		where = append(where, "revoked = "+arg(*f.Revoked))
	}
	where = append(where, timeBounds(arg, "created_at", f.CreatedAfter, f.CreatedBefore)...)
	where = append(where, timeBounds(arg, "last_used_at", f.LastUsedAfter, f.LastUsedBefore)...)
	return listPage(ctx, tx, "tokens", tokenCols, `FROM personal_access_tokens WHERE `+strings.Join(where, " AND "), "id DESC", args, p,
		func(row rowScanner) (*ferry.PersonalAccessToken, error) {
			t, _, err := scanToken(row)
			return t, err
		})
}

// RevokeToken marks a token revoked.
func (tx *Tx) RevokeToken(ctx context.Context, id int64) error {
	if _, err := tx.q.ExecContext(ctx, `UPDATE personal_access_tokens SET revoked = TRUE WHERE id = $1`, id); err != nil {
		return fmt.Errorf("revoke token %d: %w", id, err)
	}
	return nil
}
