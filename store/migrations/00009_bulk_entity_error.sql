-- +goose Up
-- Why an entity could not start (its source path refused, its destination
-- taken…): such an entity has no engine import to list failures under.
ALTER TABLE bulk_import_entities ADD COLUMN error TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE bulk_import_entities DROP COLUMN error;
