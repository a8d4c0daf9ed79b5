-- +goose Up
-- Files linked from imported bodies (GitHub attachments), served at
-- /<full_path>/uploads/<secret>/<filename> and linked from bodies as
-- /uploads/<secret>/<filename>, as GitLab does. The bytes live on disk,
-- content-addressed by sha256 (package uploads) and may be shared between
-- projects, so deleting a project removes its rows and leaves the files.
-- One row per (project, source URL): importing again reuses the secret and
-- the links stay valid.
CREATE TABLE uploads (
  id {{ID}},
  project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  secret TEXT NOT NULL,
  filename TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  size BIGINT NOT NULL,
  content_type TEXT NOT NULL,
  source_type TEXT NOT NULL,
  source_host TEXT NOT NULL,
  source_url TEXT NOT NULL,
  created_at {{TS}} NOT NULL,
  updated_at {{TS}} NOT NULL
);
CREATE UNIQUE INDEX uploads_source ON uploads (project_id, source_url);
CREATE UNIQUE INDEX uploads_path ON uploads (project_id, secret, filename);

-- +goose Down
DROP TABLE uploads;
