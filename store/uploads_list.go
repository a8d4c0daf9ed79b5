package store

import (
	"context"
	"database/sql"
)

// ListUploads returns a project's uploads with an id above afterID, in id
// order, at most limit of them: one keyset page, so a reader (the uploads
// relation export) walks any number of uploads page by page.
func (tx *Tx) ListUploads(ctx context.Context, projectID, afterID int64, limit int) ([]Upload, error) {
	var out []Upload
	err := tx.scanAll(ctx, "list uploads", func(row *sql.Rows) error {
		var u Upload
		if err := row.Scan(&u.ID, &u.ProjectID, &u.Secret, &u.Filename, &u.SHA256, &u.Size, &u.ContentType, &u.SourceType,
			&u.SourceHost, &u.SourceURL, &u.CreatedAt, &u.UpdatedAt); err != nil {
			return err
		}
		u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
		out = append(out, u)
		return nil
	}, `SELECT id, project_id, secret, filename, sha256, size, content_type, source_type, source_host, source_url, created_at, updated_at
		FROM uploads WHERE project_id = $1 AND id > $2 ORDER BY id LIMIT $3`, projectID, afterID, limit)
	return out, err
}
