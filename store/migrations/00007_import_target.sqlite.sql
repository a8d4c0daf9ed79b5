-- +goose Up
-- An import's target is a project or a group (a GitLab migration imports
-- groups too): exactly one of project_id and namespace_id is set. SQLite
-- cannot drop a NOT NULL constraint, so the table is rebuilt as its
-- documented procedure says; the store runs SQLite migrations with foreign
-- keys off (dropping the old table would otherwise cascade into
-- import_relations, import_failures…) and checks them afterwards.
CREATE TABLE imports_new (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  project_id BIGINT REFERENCES projects (id) ON DELETE CASCADE,
  namespace_id BIGINT REFERENCES namespaces (id) ON DELETE CASCADE,
  user_id BIGINT NOT NULL REFERENCES users (id),
  source_type TEXT NOT NULL,
  source_url TEXT NOT NULL,
  source_ref TEXT NOT NULL,
  options TEXT NOT NULL DEFAULT '{}',
  sealed_credential TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL,
  stage TEXT NOT NULL DEFAULT '',
  stage_index INTEGER NOT NULL DEFAULT -1,
  error TEXT NOT NULL DEFAULT '',
  correlation_id TEXT NOT NULL,
  pending_relations INTEGER NOT NULL DEFAULT 0,
  rate_limit_until TIMESTAMP,
  last_progress_at TIMESTAMP NOT NULL,
  created_at TIMESTAMP NOT NULL,
  started_at TIMESTAMP,
  finished_at TIMESTAMP,
  updated_at TIMESTAMP NOT NULL,
  timeout_strategy TEXT NOT NULL DEFAULT 'pessimistic',
  CONSTRAINT imports_one_target CHECK ((project_id IS NULL) <> (namespace_id IS NULL))
);
INSERT INTO imports_new (id, project_id, user_id, source_type, source_url, source_ref, options, sealed_credential, status, stage,
  stage_index, error, correlation_id, pending_relations, rate_limit_until, last_progress_at, created_at, started_at, finished_at,
  updated_at, timeout_strategy)
SELECT id, project_id, user_id, source_type, source_url, source_ref, options, sealed_credential, status, stage,
  stage_index, error, correlation_id, pending_relations, rate_limit_until, last_progress_at, created_at, started_at, finished_at,
  updated_at, timeout_strategy FROM imports;
DROP TABLE imports;
ALTER TABLE imports_new RENAME TO imports;
CREATE UNIQUE INDEX imports_project ON imports (project_id);
CREATE UNIQUE INDEX imports_namespace ON imports (namespace_id) WHERE namespace_id IS NOT NULL;

-- +goose Down
SELECT 'down migration of the import target is not supported on SQLite';
