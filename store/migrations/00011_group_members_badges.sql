-- +goose Up
-- A migrated group's members, as imported_members holds a project's: one
-- row per source user, whose real membership (members, source_kind
-- 'namespace') is granted once the source user maps to a real user.
CREATE TABLE imported_group_members (
  namespace_id BIGINT NOT NULL REFERENCES namespaces (id) ON DELETE CASCADE,
  su_id BIGINT NOT NULL,
  source_type TEXT NOT NULL,
  source_host TEXT NOT NULL,
  source_id TEXT NOT NULL,
  access_level INTEGER NOT NULL,
  PRIMARY KEY (namespace_id, su_id)
);
CREATE INDEX imported_group_members_su ON imported_group_members (su_id);
-- A reassignment or an e-mail match grants one source user's memberships.
CREATE INDEX imported_members_su ON imported_members (su_id);

-- Badges of a group or of a project: exactly one of namespace_id and
-- project_id is set. URLs are kept as the source wrote them (with their
-- %{…} placeholders) and rendered when read.
CREATE TABLE badges (
  id {{ID}},
  namespace_id BIGINT REFERENCES namespaces (id) ON DELETE CASCADE,
  project_id BIGINT REFERENCES projects (id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  link_url TEXT NOT NULL,
  image_url TEXT NOT NULL,
  source_type TEXT NOT NULL,
  source_host TEXT NOT NULL,
  source_id TEXT NOT NULL,
  created_at {{TS}} NOT NULL,
  updated_at {{TS}} NOT NULL
);
CREATE UNIQUE INDEX badges_namespace_key ON badges (namespace_id, source_type, source_host, source_id) WHERE namespace_id IS NOT NULL;
CREATE UNIQUE INDEX badges_project_key ON badges (project_id, source_type, source_host, source_id) WHERE project_id IS NOT NULL;

-- +goose Down
DROP TABLE badges;
DROP INDEX imported_members_su;
DROP TABLE imported_group_members;
