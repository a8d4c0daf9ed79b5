-- +goose Up
-- Where stored bodies link a URL that no upload of the project answered
-- when they were written (an attachment the import downloads later): the
-- upload, when it lands, relinks exactly these rows, where it used to scan
-- every body of the project that might link it (a scan per batch of uploads
-- held SQLite for seconds on large projects). Links that never become
-- uploads (links elsewhere) stay here, one small row each, until their
-- project goes.
CREATE TABLE upload_refs (
  project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  source_url TEXT NOT NULL,
  tbl TEXT NOT NULL,
  row_id BIGINT NOT NULL,
  PRIMARY KEY (project_id, source_url, tbl, row_id)
);

-- +goose Down
DROP TABLE upload_refs;
