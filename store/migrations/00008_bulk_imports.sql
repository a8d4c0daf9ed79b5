-- +goose Up
-- GitLab migrations by direct transfer: a bulk import per request, one
-- entity per group or project it migrates (requested, or adopted from a
-- migrated group). Each started entity runs as an ordinary engine import.
CREATE TABLE bulk_imports (
  id {{ID}},
  user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  status TEXT NOT NULL,
  source_type TEXT NOT NULL,
  source_url TEXT NOT NULL,
  source_version TEXT NOT NULL DEFAULT '',
  source_enterprise BOOLEAN NOT NULL DEFAULT FALSE,
  sealed_credential TEXT NOT NULL DEFAULT '',
  created_at {{TS}} NOT NULL,
  updated_at {{TS}} NOT NULL
);
CREATE INDEX bulk_imports_user ON bulk_imports (user_id, created_at);

CREATE TABLE bulk_import_entities (
  id {{ID}},
  bulk_import_id BIGINT NOT NULL REFERENCES bulk_imports (id) ON DELETE CASCADE,
  parent_id BIGINT REFERENCES bulk_import_entities (id) ON DELETE CASCADE,
  source_type TEXT NOT NULL,
  source_full_path TEXT NOT NULL,
  source_id BIGINT NOT NULL DEFAULT 0,
  destination_slug TEXT NOT NULL,
  destination_namespace TEXT NOT NULL DEFAULT '',
  migrate_projects BOOLEAN NOT NULL DEFAULT TRUE,
  migrate_memberships BOOLEAN NOT NULL DEFAULT TRUE,
  status TEXT NOT NULL,
  namespace_id BIGINT REFERENCES namespaces (id) ON DELETE SET NULL,
  project_id BIGINT REFERENCES projects (id) ON DELETE SET NULL,
  import_id BIGINT REFERENCES imports (id) ON DELETE SET NULL,
  created_at {{TS}} NOT NULL,
  updated_at {{TS}} NOT NULL
);
CREATE UNIQUE INDEX bulk_import_entities_source ON bulk_import_entities (bulk_import_id, source_type, source_full_path);
CREATE INDEX bulk_import_entities_import ON bulk_import_entities (import_id);
CREATE INDEX bulk_import_entities_namespace ON bulk_import_entities (namespace_id);
CREATE INDEX bulk_import_entities_project ON bulk_import_entities (project_id);

-- +goose Down
DROP TABLE bulk_import_entities;
DROP TABLE bulk_imports;
