package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ferry-import/ferry"
)

const userCols = `u.id, u.username, u.name, u.email, u.state, u.is_admin, u.bot, u.placeholder, u.created_at, u.updated_at,
 COALESCE((SELECT n.id FROM namespaces n WHERE n.owner_id = u.id AND n.kind = 'user'), 0)`

func scanUser(row interface{ Scan(...any) error }) (*ferry.User, error) {
	var u ferry.User
	if err := row.Scan(&u.ID, &u.Username, &u.Name, &u.Email, &u.State, &u.IsAdmin, &u.Bot, &u.Placeholder, &u.CreatedAt, &u.UpdatedAt, &u.NamespaceID); err != nil {
		return nil, err
	}
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return &u, nil
}

// CreateUser inserts u with its personal namespace and fills in ID,
// NamespaceID and timestamps.
func (tx *Tx) CreateUser(ctx context.Context, u *ferry.User) error {
	now := tx.Now()
	if u.State == "" {
		u.State = "active"
	}
	err := tx.q.QueryRowContext(ctx, `INSERT INTO users (username, name, email, state, is_admin, bot, placeholder, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id`,
		u.Username, u.Name, strings.ToLower(u.Email), u.State, u.IsAdmin, u.Bot, u.Placeholder, now).Scan(&u.ID)
	if isUnique(err) {
		if strings.Contains(err.Error(), "email") {
			return ferry.FieldError(ferry.ECONFLICT, "email", "has already been taken")
		}
		return ferry.FieldError(ferry.ECONFLICT, "username", "has already been taken")
	} else if err != nil {
		return fmt.Errorf("insert user %q: %w", u.Username, err)
	}
	u.CreatedAt, u.UpdatedAt = now, now
	ns := &ferry.Namespace{Kind: ferry.KindUser, Name: u.Name, Path: u.Username, Visibility: ferry.Public, OwnerID: &u.ID}
	if err := tx.CreateNamespace(ctx, ns); err != nil {
		if ferry.ErrorCode(err) == ferry.ECONFLICT {
			return ferry.FieldError(ferry.ECONFLICT, "username", "has already been taken")
		}
		return err
	}
	u.NamespaceID = ns.ID
	return nil
}

// UserByID returns a user or ENOTFOUND.
func (tx *Tx) UserByID(ctx context.Context, id int64) (*ferry.User, error) {
	u, err := scanUser(tx.q.QueryRowContext(ctx, `SELECT `+userCols+` FROM users u WHERE u.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ferry.Errorf(ferry.ENOTFOUND, "404 User Not Found")
	} else if err != nil {
		return nil, fmt.Errorf("user %d: %w", id, err)
	}
	return u, nil
}

// UserByUsername returns a user by case-insensitive username or ENOTFOUND.
func (tx *Tx) UserByUsername(ctx context.Context, username string) (*ferry.User, error) {
	u, err := scanUser(tx.q.QueryRowContext(ctx, `SELECT `+userCols+` FROM users u WHERE lower(u.username) = lower($1)`, username))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ferry.Errorf(ferry.ENOTFOUND, "404 User Not Found")
	} else if err != nil {
		return nil, fmt.Errorf("user %q: %w", username, err)
	}
	return u, nil
}

// UserFilter narrows ListUsers.
type UserFilter struct {
	Search   string // username, name or e-mail contains
	Username string // exact, case-insensitive
	Active   bool
	Blocked  bool
	Humans   bool   // exclude bots and placeholders
	OrderBy  string // id (default), name, username, created_at, updated_at
	Sort     string // desc (default), asc
	// Creation time bounds, nil for none.
	CreatedAfter, CreatedBefore *time.Time
}

// ListUsers returns one page of users ordered by id descending (GitLab's
// default) and the total count.
func (tx *Tx) ListUsers(ctx context.Context, f UserFilter, p Page) ([]*ferry.User, int, error) {
	where, args := []string{"1=1"}, []any{}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if f.Search != "" {
		s := arg("%" + likeEscape(strings.ToLower(f.Search)) + "%")
		where = append(where, fmt.Sprintf(`(lower(u.username) LIKE %[1]s ESCAPE '\' OR lower(u.name) LIKE %[1]s ESCAPE '\' OR u.email LIKE %[1]s ESCAPE '\')`, s))
	}
	if f.Username != "" {
		where = append(where, "lower(u.username) = lower("+arg(f.Username)+")")
	}
	if f.Active {
		where = append(where, "u.state = 'active'")
	}
	if f.Blocked {
		where = append(where, "u.state = 'blocked'")
	}
	if f.Humans {
		where = append(where, "u.bot = FALSE AND u.placeholder = FALSE")
	}
	where = append(where, timeBounds(arg, "u.created_at", f.CreatedAfter, f.CreatedBefore)...)
	order := map[string]string{"name": "lower(u.name)", "username": "lower(u.username)", "created_at": "u.created_at", "updated_at": "u.updated_at"}[f.OrderBy]
	if order == "" {
		order = "u.id"
	}
	dir := "DESC"
	if f.Sort == "asc" {
		dir = "ASC"
	}
	return listPage(ctx, tx, "users", userCols, `FROM users u WHERE `+strings.Join(where, " AND "), order+" "+dir+", u.id "+dir, args, p, scanUser)
}

// UpdateUser writes the mutable fields of u (name, email, state, admin) and,
// when the username changes, renames the personal namespace with it.
func (tx *Tx) UpdateUser(ctx context.Context, u *ferry.User) error {
	old, err := tx.UserByID(ctx, u.ID)
	if err != nil {
		return err
	}
	now := tx.Now()
	_, err = tx.q.ExecContext(ctx, `UPDATE users SET username = $1, name = $2, email = $3, state = $4, is_admin = $5, updated_at = $6 WHERE id = $7`,
		u.Username, u.Name, strings.ToLower(u.Email), u.State, u.IsAdmin, now, u.ID)
	if isUnique(err) {
		if strings.Contains(err.Error(), "email") {
			return ferry.FieldError(ferry.ECONFLICT, "email", "has already been taken")
		}
		return ferry.FieldError(ferry.ECONFLICT, "username", "has already been taken")
	} else if err != nil {
		return fmt.Errorf("update user %d: %w", u.ID, err)
	}
	u.UpdatedAt = now
	if old.Username != u.Username || old.Name != u.Name {
		ns, err := tx.NamespaceByID(ctx, old.NamespaceID)
		if err != nil {
			return err
		}
		ns.Path, ns.Name = u.Username, u.Name
		if err := tx.UpdateNamespace(ctx, ns); err != nil {
			if ferry.ErrorCode(err) == ferry.ECONFLICT {
				return ferry.FieldError(ferry.ECONFLICT, "username", "has already been taken")
			}
			return err
		}
	}
	return nil
}

// likeEscape escapes LIKE wildcards so a search matches literally.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
