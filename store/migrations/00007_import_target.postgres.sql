-- +goose Up
-- An import's target is a project or a group (a GitLab migration imports
-- groups too): exactly one of project_id and namespace_id is set.
ALTER TABLE imports ALTER COLUMN project_id DROP NOT NULL;
ALTER TABLE imports ADD COLUMN namespace_id BIGINT REFERENCES namespaces (id) ON DELETE CASCADE;
ALTER TABLE imports ADD CONSTRAINT imports_one_target CHECK ((project_id IS NULL) <> (namespace_id IS NULL));
CREATE UNIQUE INDEX imports_namespace ON imports (namespace_id) WHERE namespace_id IS NOT NULL;

-- +goose Down
DROP INDEX imports_namespace;
ALTER TABLE imports DROP CONSTRAINT imports_one_target;
ALTER TABLE imports DROP COLUMN namespace_id;
ALTER TABLE imports ALTER COLUMN project_id SET NOT NULL;
