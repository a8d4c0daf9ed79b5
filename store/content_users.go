package store

import (
	"context"
	"crypto/sha1"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/forge"
)

// Source user statuses, as GitLab's user contribution mapping names them.
const (
	SourceUserPending   = "pending_reassignment" // shown as its placeholder
	SourceUserCompleted = "completed"            // shown as a real user (e-mail match or reassignment)
	SourceUserKept      = "keep_as_placeholder"
)

// suKey identifies a source user within one top-level namespace.
type suKey struct{ typ, host, id string }

func keyOf(u forge.SourceUser) suKey { return suKey{u.Type, u.Host, u.ID} }

// placeholderUsername is deterministic, so a retried or racing writer
// creates the same row and ON CONFLICT keeps one.
func placeholderUsername(rootNS int64, k suKey, login string) string {
	h := sha1.Sum([]byte(fmt.Sprintf("%d\x00%s\x00%s\x00%s", rootNS, k.typ, k.host, k.id)))
	var b strings.Builder
	for _, r := range strings.ToLower(login) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '_' || r == '-' || r == '.' {
			b.WriteRune(r)
		}
		if b.Len() >= 40 {
			break
		}
	}
	name := strings.Trim(b.String(), ".-")
	if name == "" {
		name = "user"
	}
	// GitLab's form is <source username>_placeholder_user_<n>; n comes from
	// the hash rather than a counter so that every writer derives the same.
	n := uint64(h[0])<<32 | uint64(h[1])<<24 | uint64(h[2])<<16 | uint64(h[3])<<8 | uint64(h[4])
	return fmt.Sprintf("%s_placeholder_user_%d", name, n)
}

var (
	placeholderSpec = &upsertSpec{table: "users", nothing: true,
		cols: []string{"username", "name", "email", "state", "is_admin", "bot", "placeholder", "created_at", "updated_at"}}
	sourceUserSpec = &upsertSpec{table: "source_users", nothing: true,
		key: []string{"namespace_id", "source_type", "source_host", "source_user_id"},
		cols: []string{"namespace_id", "source_type", "source_host", "source_user_id", "source_username", "source_name", "source_email",
			"placeholder_user_id", "mapped_user_id", "status", "created_at", "updated_at"}}
)

// ensureSourceUsers returns the source_users id of every user, creating
// the missing ones with their placeholder users. A new source user whose
// e-mail belongs to a real user is mapped to that user at once.
func (tx *Tx) ensureSourceUsers(ctx context.Context, rootNS int64, users map[suKey]forge.SourceUser) (map[suKey]int64, error) {
	ids, err := tx.sourceUserIDs(ctx, rootNS, users)
	if err != nil {
		return nil, err
	}
	if err := tx.refreshSourceUsers(ctx, users, ids); err != nil {
		return nil, err
	}
	if len(ids) == len(users) {
		return ids, nil
	}
	var missing []forge.SourceUser
	var emails []string
	for k, u := range users {
		if _, ok := ids[k]; !ok {
			missing = append(missing, u)
			if u.Email != "" {
				emails = append(emails, strings.ToLower(u.Email))
			}
		}
	}
	real := map[string]int64{}
	if len(emails) > 0 {
		args := []any{}
		rows, err := tx.q.QueryContext(ctx, `SELECT id, email FROM users WHERE placeholder = FALSE AND state = 'active' AND email IN `+inList(&args, emails), args...)
		if err != nil {
			return nil, fmt.Errorf("match source users by e-mail: %w", err)
		}
		for rows.Next() {
			var id int64
			var email string
			if err := rows.Scan(&id, &email); err != nil {
				rows.Close()
				return nil, err
			}
			real[email] = id
		}
		rows.Close()
	}
	// One order for every writer, so racing transactions lock rows in the
	// same order and never deadlock.
	sort.Slice(missing, func(i, j int) bool {
		a, b := keyOf(missing[i]), keyOf(missing[j])
		return a.typ < b.typ || (a.typ == b.typ && (a.host < b.host || (a.host == b.host && a.id < b.id)))
	})
	now := tx.Now()
	names := make([]string, len(missing))
	prow := make([][]any, len(missing))
	for i, u := range missing {
		names[i] = placeholderUsername(rootNS, keyOf(u), u.Login)
		display := u.Name
		if display == "" {
			display = u.Login
		}
		prow[i] = []any{names[i], "Placeholder " + display, "", "active", false, false, true, now, now}
	}
	if err := tx.upsert(ctx, placeholderSpec, prow); err != nil {
		return nil, err
	}
	byName := map[string]int64{}
	args := []any{}
	rows, err := tx.q.QueryContext(ctx, `SELECT id, username FROM users WHERE placeholder = TRUE AND username IN `+inList(&args, names), args...)
	if err != nil {
		return nil, fmt.Errorf("placeholder users: %w", err)
	}
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			rows.Close()
			return nil, err
		}
		byName[name] = id
	}
	rows.Close()
	srow := make([][]any, len(missing))
	for i, u := range missing {
		ph, ok := byName[names[i]]
		if !ok {
			return nil, fmt.Errorf("placeholder user %q was not created", names[i])
		}
		mapped, status := ph, SourceUserPending
		if id, ok := real[strings.ToLower(u.Email)]; ok && u.Email != "" {
			mapped, status = id, SourceUserCompleted
		}
		srow[i] = []any{rootNS, u.Type, u.Host, u.ID, u.Login, u.Name, u.Email, ph, mapped, status, now, now}
	}
	if err := tx.upsert(ctx, sourceUserSpec, srow); err != nil {
		return nil, err
	}
	if ids, err = tx.sourceUserIDs(ctx, rootNS, users); err != nil {
		return nil, err
	}
	if len(ids) != len(users) {
		return nil, fmt.Errorf("source users: %d of %d found after insert", len(ids), len(users))
	}
	return ids, nil
}

// refreshSourceUsers brings existing source users up to date with what a
// later page knows better: sources name authors by login first and give
// names and e-mails later (GitHub's users stage comes last). A source user
// still shown as its placeholder is mapped to the real user with the
// e-mail that just arrived; a reassignment an owner made is never undone.
func (tx *Tx) refreshSourceUsers(ctx context.Context, users map[suKey]forge.SourceUser, ids map[suKey]int64) error {
	keys := make([]suKey, 0, len(users))
	for k, u := range users {
		if _, ok := ids[k]; ok && (u.Name != "" || u.Email != "") {
			keys = append(keys, k)
		}
	}
	// Key order, as everywhere: racing writers lock rows alike.
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		return a.typ < b.typ || (a.typ == b.typ && (a.host < b.host || (a.host == b.host && a.id < b.id)))
	})
	now := tx.Now()
	for _, k := range keys {
		u, id := users[k], ids[k]
		email := strings.ToLower(u.Email)
		res, err := tx.q.ExecContext(ctx, `UPDATE source_users SET
			source_name = CASE WHEN CAST($1 AS TEXT) <> '' THEN CAST($1 AS TEXT) ELSE source_name END,
			source_email = CASE WHEN CAST($2 AS TEXT) <> '' THEN CAST($2 AS TEXT) ELSE source_email END, updated_at = $3
			WHERE id = $4 AND ((CAST($1 AS TEXT) <> '' AND source_name <> CAST($1 AS TEXT)) OR (CAST($2 AS TEXT) <> '' AND source_email <> CAST($2 AS TEXT)))`,
			u.Name, email, now, id)
		if err != nil {
			return fmt.Errorf("refresh source user %s: %w", u.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			continue // nothing new
		}
		if u.Name != "" {
			if _, err := tx.q.ExecContext(ctx, `UPDATE users SET name = $1, updated_at = $2
				WHERE placeholder = TRUE AND id = (SELECT placeholder_user_id FROM source_users WHERE id = $3)`, "Placeholder "+u.Name, now, id); err != nil {
				return fmt.Errorf("rename placeholder of %s: %w", u.ID, err)
			}
		}
		if email != "" {
			if _, err := tx.q.ExecContext(ctx, `UPDATE source_users SET status = $1, updated_at = $2,
				mapped_user_id = (SELECT u.id FROM users u WHERE u.placeholder = FALSE AND u.state = 'active' AND u.email = $3 ORDER BY u.id LIMIT 1)
				WHERE id = $4 AND status = $5 AND EXISTS (SELECT 1 FROM users u WHERE u.placeholder = FALSE AND u.state = 'active' AND u.email = $3)`,
				SourceUserCompleted, now, email, id, SourceUserPending); err != nil {
				return fmt.Errorf("map source user %s by e-mail: %w", u.ID, err)
			}
		}
	}
	return nil
}

// sourceUserIDs looks up the source users that exist, per source.
func (tx *Tx) sourceUserIDs(ctx context.Context, rootNS int64, users map[suKey]forge.SourceUser) (map[suKey]int64, error) {
	bySource := map[[2]string][]string{}
	for k := range users {
		s := [2]string{k.typ, k.host}
		bySource[s] = append(bySource[s], k.id)
	}
	out := make(map[suKey]int64, len(users))
	for s, all := range bySource {
		for start := 0; start < len(all); start += inChunk {
			ids := all[start:min(start+inChunk, len(all))]
			args := []any{rootNS, s[0], s[1]}
			rows, err := tx.q.QueryContext(ctx, `SELECT id, source_user_id FROM source_users
				WHERE namespace_id = $1 AND source_type = $2 AND source_host = $3 AND source_user_id IN `+inList(&args, ids), args...)
			if err != nil {
				return nil, fmt.Errorf("source users: %w", err)
			}
			for rows.Next() {
				var id int64
				var sid string
				if err := rows.Scan(&id, &sid); err != nil {
					rows.Close()
					return nil, err
				}
				out[suKey{s[0], s[1], sid}] = id
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// rootNamespace is the top-level namespace above a project.
func (tx *Tx) rootNamespace(ctx context.Context, projectID int64) (int64, error) {
	var id int64
	err := tx.q.QueryRowContext(ctx, `SELECT a.ancestor_id FROM projects p JOIN namespace_ancestors a ON a.namespace_id = p.namespace_id
		WHERE p.id = $1 ORDER BY a.depth DESC LIMIT 1`, projectID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ferry.Errorf(ferry.ENOTFOUND, "404 Project Not Found")
	} else if err != nil {
		return 0, fmt.Errorf("root namespace of project %d: %w", projectID, err)
	}
	return id, nil
}
