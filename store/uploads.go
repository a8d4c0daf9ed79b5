package store

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/forge/mdlink"
	"github.com/ferry-import/ferry/uploads"
)

// Upload is one project's link to a stored file (migrations/00004).
type Upload struct {
	ID          int64
	ProjectID   int64
	Secret      string // 32 hex characters, as GitLab's
	Filename    string
	SHA256      string // the file in package uploads
	Size        int64
	ContentType string
	SourceType  string
	SourceHost  string
	SourceURL   string // the link the bodies carried before relinking
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Path is the upload's link relative to its project, as GitLab writes it
// in Markdown.
func (u *Upload) Path() string { return UploadPath(u.Secret, u.Filename) }

// UploadPath is GitLab's project-relative upload link.
func UploadPath(secret, filename string) string { return "/uploads/" + secret + "/" + filename }

// bodyColumns are the project content columns that can link uploads.
var bodyColumns = []struct {
	spec  *upsertSpec
	table string
	col   string
}{
	{issueSpec, "issues", "description"},
	{mergeRequestSpec, "merge_requests", "description"},
	{noteSpec, "notes", "body"},
	{reviewSpec, "reviews", "body"},
	{releaseSpec, "releases", "description"},
	{projectMilestoneSpec, "milestones", "description"},
}

func newUploadSecret() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// invalidUpload checks what the store needs of an upload to key and serve it.
func invalidUpload(u forge.Upload) error {
	switch {
	case u.URL == "" || len(u.URL) > forge.MaxUploadURL:
		return ferry.Errorf(ferry.EINVALID, "upload: URL must have 1–%d bytes", forge.MaxUploadURL)
	case !uploads.ValidFilename(u.Filename):
		return ferry.Errorf(ferry.EINVALID, "upload %.200s: invalid file name %q", u.URL, u.Filename)
	case !uploads.ValidSHA256(u.SHA256):
		return ferry.Errorf(ferry.EINVALID, "upload %.200s: invalid sha256 %q", u.URL, u.SHA256)
	case u.Size < 0:
		return ferry.Errorf(ferry.EINVALID, "upload %.200s: negative size", u.URL)
	}
	return nil
}

// putUploads records a batch's uploads of a project, each once per source
// URL: writing one again keeps its secret and file name (links already
// rewritten stay valid) and takes the new content. Then the stored bodies
// that link one of them (upload_refs, written with the bodies) are relinked
// to their uploads: point lookups whatever the size of the project.
func (tx *Tx) putUploads(ctx context.Context, projectID int64, ups []forge.Upload) error {
	paths := make(map[string]string, len(ups))
	for _, u := range ups {
		path, err := tx.storeUpload(ctx, projectID, u)
		if err != nil {
			return err
		}
		paths[u.URL] = path
	}
	urls := slices.Sorted(maps.Keys(paths))
	type ref struct {
		tbl string
		id  int64
	}
	var refs []ref
	for chunk := range slices.Chunk(urls, maxParams/2) {
		args := []any{projectID}
		in := inList(&args, chunk)
		rows, err := tx.q.QueryContext(ctx, `SELECT DISTINCT tbl, row_id FROM upload_refs WHERE project_id = $1 AND source_url IN `+in, args...)
		if err != nil {
			return fmt.Errorf("bodies linking uploads: %w", err)
		}
		for rows.Next() {
			var r ref
			if err := rows.Scan(&r.tbl, &r.id); err != nil {
				rows.Close()
				return fmt.Errorf("bodies linking uploads: %w", err)
			}
			refs = append(refs, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("bodies linking uploads: %w", err)
		}
	}
	slices.SortFunc(refs, func(a, b ref) int { return cmp.Or(strings.Compare(a.tbl, b.tbl), cmp.Compare(a.id, b.id)) })
	refs = slices.Compact(refs)
	for _, r := range refs {
		col, ok := bodyColumn(r.tbl)
		if !ok {
			return fmt.Errorf("upload_refs: unknown table %q", r.tbl)
		}
		var body sql.NullString
		err := tx.q.QueryRowContext(ctx, fmt.Sprintf(`SELECT %s FROM %s WHERE id = $1`, col, r.tbl), r.id).Scan(&body)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return fmt.Errorf("relink %s %d: %w", r.tbl, r.id, err)
		}
		nb := body.String
		for _, u := range urls {
			nb = mdlink.Relink(nb, u, paths[u])
		}
		if nb == body.String {
			continue
		}
		if _, err := tx.q.ExecContext(ctx, fmt.Sprintf(`UPDATE %s SET %s = $1 WHERE id = $2`, r.tbl, col), nb, r.id); err != nil {
			return fmt.Errorf("relink %s %d: %w", r.tbl, r.id, err)
		}
	}
	for chunk := range slices.Chunk(urls, maxParams/2) {
		args := []any{projectID}
		in := inList(&args, chunk)
		if _, err := tx.q.ExecContext(ctx, `DELETE FROM upload_refs WHERE project_id = $1 AND source_url IN `+in, args...); err != nil {
			return fmt.Errorf("bodies linking uploads: %w", err)
		}
	}
	return nil
}

// bodyColumn is the column of table that links uploads.
func bodyColumn(table string) (string, bool) {
	for _, bc := range bodyColumns {
		if bc.table == table {
			return bc.col, true
		}
	}
	return "", false
}

// storeUpload records an upload of the project and returns the path its
// links become.
func (tx *Tx) storeUpload(ctx context.Context, projectID int64, u forge.Upload) (string, error) {
	if err := invalidUpload(u); err != nil {
		return "", err
	}
	now := tx.Now()
	if _, err := tx.q.ExecContext(ctx, `INSERT INTO uploads (project_id, secret, filename, sha256, size, content_type, source_type,
		source_host, source_url, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
		ON CONFLICT (project_id, source_url) DO UPDATE SET sha256 = excluded.sha256, size = excluded.size,
		content_type = excluded.content_type, updated_at = excluded.updated_at`,
		projectID, newUploadSecret(), u.Filename, u.SHA256, u.Size, u.ContentType, u.Type, u.Host, u.URL, now); err != nil {
		return "", fmt.Errorf("upload %.200s: %w", u.URL, err)
	}
	var secret, filename string
	if err := tx.q.QueryRowContext(ctx, `SELECT secret, filename FROM uploads WHERE project_id = $1 AND source_url = $2`,
		projectID, u.URL).Scan(&secret, &filename); err != nil {
		return "", fmt.Errorf("upload %.200s: %w", u.URL, err)
	}
	return UploadPath(secret, filename), nil
}

// awaitedLinks are the links of one body of a batch that no upload of the
// project answered when it was written.
type awaitedLinks struct {
	spec  *upsertSpec
	row   []any
	links []string
}

// relinkRows rewrites the bodies of a batch about to be written to the
// project's existing uploads, so a body written after its upload (a page
// retried, a later comment linking the same file) links the upload too;
// the links no upload answers yet are kept in b.awaited for
// recordAwaited. It looks up only the batch's links: its cost does not grow
// with the project.
func (tx *Tx) relinkRows(ctx context.Context, b *batch) error {
	if b.group {
		return nil
	}
	type body struct {
		spec  *upsertSpec
		row   []any
		col   int
		links []string
	}
	var bodies []body
	want := map[string]bool{}
	for _, bc := range bodyColumns {
		col := slices.Index(bc.spec.cols, bc.col)
		for _, row := range b.rows[bc.spec] {
			text, _ := row[col].(string)
			links := mdlink.Links(text)
			if len(links) == 0 {
				continue
			}
			for _, l := range links {
				want[l] = true
			}
			bodies = append(bodies, body{bc.spec, row, col, links})
		}
	}
	if len(bodies) == 0 {
		return nil
	}
	paths := map[string]string{}
	for chunk := range slices.Chunk(slices.Sorted(maps.Keys(want)), maxParams/2) {
		args := []any{b.owner}
		in := inList(&args, chunk)
		rows, err := tx.q.QueryContext(ctx, `SELECT source_url, secret, filename FROM uploads WHERE project_id = $1 AND source_url IN `+in, args...)
		if err != nil {
			return fmt.Errorf("uploads of project %d: %w", b.owner, err)
		}
		for rows.Next() {
			var url, secret, filename string
			if err := rows.Scan(&url, &secret, &filename); err != nil {
				rows.Close()
				return fmt.Errorf("uploads of project %d: %w", b.owner, err)
			}
			paths[url] = UploadPath(secret, filename)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("uploads of project %d: %w", b.owner, err)
		}
	}
	for _, x := range bodies {
		text := x.row[x.col].(string)
		var awaited []string
		for _, l := range x.links {
			if p, ok := paths[l]; ok {
				text = mdlink.Relink(text, l, p)
			} else {
				awaited = append(awaited, l)
			}
		}
		x.row[x.col] = text
		if len(awaited) > 0 {
			b.awaited = append(b.awaited, awaitedLinks{x.spec, x.row, awaited})
		}
	}
	return nil
}

// recordAwaited writes upload_refs for the batch's bodies that link what no
// upload answers yet, once the rows exist.
func (tx *Tx) recordAwaited(ctx context.Context, b *batch) error {
	var vals []any
	flush := func() error {
		if len(vals) == 0 {
			return nil
		}
		var q strings.Builder
		q.WriteString(`INSERT INTO upload_refs (project_id, source_url, tbl, row_id) VALUES `)
		for i := 0; i < len(vals); i += 4 {
			if i > 0 {
				q.WriteString(", ")
			}
			fmt.Fprintf(&q, "($%d, $%d, $%d, $%d)", i+1, i+2, i+3, i+4)
		}
		q.WriteString(` ON CONFLICT DO NOTHING`)
		_, err := tx.q.ExecContext(ctx, q.String(), vals...)
		vals = vals[:0]
		if err != nil {
			return fmt.Errorf("record bodies awaiting uploads: %w", err)
		}
		return nil
	}
	for _, a := range b.awaited {
		id, err := tx.rowID(ctx, a.spec, a.row)
		if err != nil {
			return err
		}
		for _, l := range a.links {
			if len(vals)+4 > maxParams {
				if err := flush(); err != nil {
					return err
				}
			}
			vals = append(vals, b.owner, l, a.spec.table, id)
		}
	}
	return flush()
}

// rowID finds the id of a row just upserted, by its key.
func (tx *Tx) rowID(ctx context.Context, sp *upsertSpec, row []any) (int64, error) {
	var where []string
	var args []any
	for _, p := range sp.keyPos() {
		args = append(args, row[p])
		where = append(where, fmt.Sprintf("%s = $%d", sp.cols[p], len(args)))
	}
	if sp.where != "" {
		where = append(where, sp.where)
	}
	var id int64
	if err := tx.q.QueryRowContext(ctx, fmt.Sprintf(`SELECT id FROM %s WHERE %s`, sp.table, strings.Join(where, " AND ")), args...).Scan(&id); err != nil {
		return 0, fmt.Errorf("find %s row just written: %w", sp.table, err)
	}
	return id, nil
}

// UploadByPath finds a project's upload by the secret and file name of its
// link; ENOTFOUND when there is none.
func (tx *Tx) UploadByPath(ctx context.Context, projectID int64, secret, filename string) (*Upload, error) {
	return tx.scanUpload(tx.q.QueryRowContext(ctx, `SELECT `+uploadCols+` FROM uploads WHERE project_id = $1 AND secret = $2 AND filename = $3`,
		projectID, secret, filename))
}

// UploadBySourceURL finds a project's upload by the link it replaced.
func (tx *Tx) UploadBySourceURL(ctx context.Context, projectID int64, sourceURL string) (*Upload, error) {
	return tx.scanUpload(tx.q.QueryRowContext(ctx, `SELECT `+uploadCols+` FROM uploads WHERE project_id = $1 AND source_url = $2`,
		projectID, sourceURL))
}

// CountUploads is how many uploads a project has.
func (tx *Tx) CountUploads(ctx context.Context, projectID int64) (int, error) {
	var n int
	err := tx.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM uploads WHERE project_id = $1`, projectID).Scan(&n)
	return n, err
}

const uploadCols = `id, project_id, secret, filename, sha256, size, content_type, source_type, source_host, source_url, created_at, updated_at`

func (tx *Tx) scanUpload(row *sql.Row) (*Upload, error) {
	var u Upload
	err := row.Scan(&u.ID, &u.ProjectID, &u.Secret, &u.Filename, &u.SHA256, &u.Size, &u.ContentType, &u.SourceType, &u.SourceHost,
		&u.SourceURL, &u.CreatedAt, &u.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ferry.Errorf(ferry.ENOTFOUND, "404 Not Found")
	}
	if err != nil {
		return nil, fmt.Errorf("read upload: %w", err)
	}
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return &u, nil
}
