package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
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
// rewritten stay valid) and takes the new content. Then every stored body
// of the project that links a source URL is relinked to its upload, in
// one pass per body column: one scan whatever the
// number of uploads, where one statement per upload scanned every body
// once each (an import with thousands of uploads held the database for
// minutes).
func (tx *Tx) putUploads(ctx context.Context, projectID int64, ups []forge.Upload) error {
	links := make([]uploadLink, 0, len(ups))
	for _, u := range ups {
		path, err := tx.storeUpload(ctx, projectID, u)
		if err != nil {
			return err
		}
		links = append(links, uploadLink{url: u.URL, path: path})
	}
	prefix := commonPrefix(links)
	if len(links) < 2 || len(prefix) < minRelinkPrefix {
		for _, l := range links {
			if err := tx.relinkStored(ctx, projectID, l.url, l.path); err != nil {
				return err
			}
		}
		return nil
	}
	var pairs []string
	for _, l := range links {
		for _, d := range mdlink.Delims() {
			pairs = append(pairs, d.Open+l.url+d.Close, d.Open+l.path+d.Close)
		}
	}
	rep := strings.NewReplacer(pairs...)
	contains := "instr(%s, $2) > 0"
	if tx.Dialect() == Postgres {
		contains = "strpos(%s, $2) > 0"
	}
	for _, bc := range bodyColumns {
		type change struct {
			id   int64
			body string
		}
		var changes []change
		rows, err := tx.q.QueryContext(ctx, fmt.Sprintf(`SELECT id, %s FROM %s WHERE project_id = $1 AND `+contains, bc.col, bc.table, bc.col),
			projectID, prefix)
		if err != nil {
			return fmt.Errorf("relink %s.%s: %w", bc.table, bc.col, err)
		}
		for rows.Next() {
			var id int64
			var body string
			if err := rows.Scan(&id, &body); err != nil {
				rows.Close()
				return fmt.Errorf("relink %s.%s: %w", bc.table, bc.col, err)
			}
			if nb := rep.Replace(body); nb != body {
				changes = append(changes, change{id, nb})
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("relink %s.%s: %w", bc.table, bc.col, err)
		}
		for _, c := range changes {
			if _, err := tx.q.ExecContext(ctx, fmt.Sprintf(`UPDATE %s SET %s = $1 WHERE id = $2`, bc.table, bc.col), c.body, c.id); err != nil {
				return fmt.Errorf("relink %s %d: %w", bc.table, c.id, err)
			}
		}
	}
	return nil
}

// minRelinkPrefix is the shortest prefix shared by a batch's links that
// narrows the scan usefully ("/uploads/", "https://github.com/").
const minRelinkPrefix = 8

// commonPrefix is the longest prefix of every link's URL.
func commonPrefix(links []uploadLink) string {
	if len(links) == 0 {
		return ""
	}
	p := links[0].url
	for _, l := range links[1:] {
		for !strings.HasPrefix(l.url, p) {
			p = p[:len(p)-1]
		}
	}
	return p
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

// relinkStored rewrites old to repl in every stored body of a project, the
// way mdlink.Relink does (between the same delimiters), with the same
// statement on SQLite and PostgreSQL.
func (tx *Tx) relinkStored(ctx context.Context, projectID int64, old, repl string) error {
	contains := "instr(%s, $2) > 0"
	if tx.Dialect() == Postgres {
		contains = "strpos(%s, $2) > 0"
	}
	args := []any{projectID, old}
	delims := mdlink.Delims()
	for _, d := range delims {
		args = append(args, d.Open+old+d.Close, d.Open+repl+d.Close)
	}
	for _, bc := range bodyColumns {
		expr := bc.col
		for i := range delims {
			expr = fmt.Sprintf("REPLACE(%s, $%d, $%d)", expr, 3+2*i, 4+2*i)
		}
		q := fmt.Sprintf(`UPDATE %s SET %s = %s WHERE project_id = $1 AND `+contains, bc.table, bc.col, expr, bc.col)
		if _, err := tx.q.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("relink %s.%s: %w", bc.table, bc.col, err)
		}
	}
	return nil
}

// uploadLink is a source URL and the link that replaces it.
type uploadLink struct{ url, path string }

// relinkRows rewrites the bodies of a batch about to be written to the
// project's existing uploads, so a body written after its upload (a page
// retried, a delta import) links the upload too.
func (tx *Tx) relinkRows(ctx context.Context, b *batch) error {
	if b.group {
		return nil
	}
	has := false
	for _, bc := range bodyColumns {
		has = has || len(b.rows[bc.spec]) > 0
	}
	if !has {
		return nil
	}
	rows, err := tx.q.QueryContext(ctx, `SELECT source_url, secret, filename FROM uploads WHERE project_id = $1`, b.owner)
	if err != nil {
		return fmt.Errorf("uploads of project %d: %w", b.owner, err)
	}
	var links []uploadLink
	for rows.Next() {
		var l uploadLink
		var secret, filename string
		if err := rows.Scan(&l.url, &secret, &filename); err != nil {
			rows.Close()
			return fmt.Errorf("uploads of project %d: %w", b.owner, err)
		}
		l.path = UploadPath(secret, filename)
		links = append(links, l)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil || len(links) == 0 {
		return err
	}
	for _, bc := range bodyColumns {
		col := -1
		for i, c := range bc.spec.cols {
			if c == bc.col {
				col = i
			}
		}
		for _, row := range b.rows[bc.spec] {
			body, ok := row[col].(string)
			if !ok || body == "" {
				continue
			}
			for _, l := range links {
				body = mdlink.Relink(body, l.url, l.path)
			}
			row[col] = body
		}
	}
	return nil
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
