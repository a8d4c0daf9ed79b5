-- +goose Up
-- {{ID}}, {{TS}} are replaced per engine (see store.migrationsFS).
CREATE TABLE users (
  id {{ID}},
  username TEXT NOT NULL,
  name TEXT NOT NULL,
  email TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL DEFAULT 'active',
  is_admin BOOLEAN NOT NULL DEFAULT FALSE,
  bot BOOLEAN NOT NULL DEFAULT FALSE,
  placeholder BOOLEAN NOT NULL DEFAULT FALSE,
  created_at {{TS}} NOT NULL,
  updated_at {{TS}} NOT NULL
);
CREATE UNIQUE INDEX users_username_lower ON users (lower(username));
CREATE UNIQUE INDEX users_email_lower ON users (lower(email)) WHERE email <> '';

CREATE TABLE namespaces (
  id {{ID}},
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  path TEXT NOT NULL,
  full_path TEXT NOT NULL,
  full_name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  visibility TEXT NOT NULL,
  parent_id BIGINT REFERENCES namespaces (id),
  owner_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
  created_at {{TS}} NOT NULL,
  updated_at {{TS}} NOT NULL
);
CREATE UNIQUE INDEX namespaces_full_path_lower ON namespaces (lower(full_path));
CREATE INDEX namespaces_parent ON namespaces (parent_id);

-- Closure table: every namespace with each of its ancestors and itself
-- (depth 0), so access and listing queries need no recursion.
CREATE TABLE namespace_ancestors (
  namespace_id BIGINT NOT NULL REFERENCES namespaces (id) ON DELETE CASCADE,
  ancestor_id BIGINT NOT NULL REFERENCES namespaces (id) ON DELETE CASCADE,
  depth INTEGER NOT NULL,
  PRIMARY KEY (namespace_id, ancestor_id)
);
CREATE INDEX namespace_ancestors_ancestor ON namespace_ancestors (ancestor_id);

CREATE TABLE projects (
  id {{ID}},
  name TEXT NOT NULL,
  path TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  visibility TEXT NOT NULL,
  default_branch TEXT NOT NULL DEFAULT '',
  namespace_id BIGINT NOT NULL REFERENCES namespaces (id),
  creator_id BIGINT NOT NULL REFERENCES users (id),
  import_type TEXT NOT NULL DEFAULT '',
  import_source TEXT NOT NULL DEFAULT '',
  import_status TEXT NOT NULL DEFAULT 'none',
  import_url TEXT NOT NULL DEFAULT '',
  created_at {{TS}} NOT NULL,
  updated_at {{TS}} NOT NULL,
  last_activity_at {{TS}} NOT NULL
);
CREATE UNIQUE INDEX projects_namespace_path_lower ON projects (namespace_id, lower(path));

-- Routes: full paths of namespaces and projects share one space, as in GitLab.
CREATE TABLE routes (
  path_lower TEXT PRIMARY KEY,
  source_kind TEXT NOT NULL,
  source_id BIGINT NOT NULL
);
CREATE UNIQUE INDEX routes_source ON routes (source_kind, source_id);

CREATE TABLE members (
  id {{ID}},
  source_kind TEXT NOT NULL,
  source_id BIGINT NOT NULL,
  user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  access_level INTEGER NOT NULL,
  expires_at {{TS}},
  created_by_id BIGINT,
  created_at {{TS}} NOT NULL,
  updated_at {{TS}} NOT NULL
);
CREATE UNIQUE INDEX members_source_user ON members (source_kind, source_id, user_id);
CREATE INDEX members_user ON members (user_id);

CREATE TABLE personal_access_tokens (
  id {{ID}},
  user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  digest TEXT NOT NULL,
  scopes TEXT NOT NULL,
  expires_at {{TS}},
  revoked BOOLEAN NOT NULL DEFAULT FALSE,
  created_at {{TS}} NOT NULL,
  last_used_at {{TS}}
);
CREATE UNIQUE INDEX personal_access_tokens_digest ON personal_access_tokens (digest);
CREATE INDEX personal_access_tokens_user ON personal_access_tokens (user_id);

-- Effects of jobs that must happen once: a job writes its key here in the
-- same transaction as its effect, so a retried job sees it already done.
CREATE TABLE job_effects (
  effect_key TEXT PRIMARY KEY,
  created_at {{TS}} NOT NULL
);

-- +goose Down
DROP TABLE job_effects;
DROP TABLE personal_access_tokens;
DROP TABLE members;
DROP TABLE routes;
DROP TABLE projects;
DROP TABLE namespace_ancestors;
DROP TABLE namespaces;
DROP TABLE users;
