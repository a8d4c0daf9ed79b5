-- +goose Up
CREATE TABLE imports (
  id {{ID}},
  project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
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
  rate_limit_until {{TS}},
  last_progress_at {{TS}} NOT NULL,
  created_at {{TS}} NOT NULL,
  started_at {{TS}},
  finished_at {{TS}},
  updated_at {{TS}} NOT NULL
);
CREATE UNIQUE INDEX imports_project ON imports (project_id);

CREATE TABLE import_relations (
  import_id BIGINT NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  stage_index INTEGER NOT NULL,
  stage TEXT NOT NULL,
  page_cursor TEXT NOT NULL DEFAULT '',
  fetched BIGINT NOT NULL DEFAULT 0,
  imported BIGINT NOT NULL DEFAULT 0,
  failed BIGINT NOT NULL DEFAULT 0,
  total BIGINT NOT NULL DEFAULT -1,
  state TEXT NOT NULL DEFAULT 'pending',
  error TEXT NOT NULL DEFAULT '',
  updated_at {{TS}} NOT NULL,
  PRIMARY KEY (import_id, name)
);

CREATE TABLE import_failures (
  id {{ID}},
  import_id BIGINT NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
  relation TEXT NOT NULL,
  source_url TEXT NOT NULL DEFAULT '',
  source_title TEXT NOT NULL DEFAULT '',
  exception_class TEXT NOT NULL,
  exception_message TEXT NOT NULL,
  correlation_id TEXT NOT NULL,
  created_at {{TS}} NOT NULL
);
CREATE INDEX import_failures_import ON import_failures (import_id);

CREATE TABLE import_stats (
  import_id BIGINT NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
  object_type TEXT NOT NULL,
  fetched BIGINT NOT NULL DEFAULT 0,
  imported BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (import_id, object_type)
);

-- Per-item work queued by list relations for later relations (reviews of
-- each pull request…); the key is unique per relation so re-writing a page
-- queues nothing twice.
CREATE TABLE import_followups (
  seq {{ID}},
  import_id BIGINT NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
  relation TEXT NOT NULL,
  item_key TEXT NOT NULL
);
CREATE UNIQUE INDEX import_followups_key ON import_followups (import_id, relation, item_key);
CREATE INDEX import_followups_next ON import_followups (import_id, relation, seq);

-- +goose Down
DROP TABLE import_followups;
DROP TABLE import_stats;
DROP TABLE import_failures;
DROP TABLE import_relations;
DROP TABLE imports;
