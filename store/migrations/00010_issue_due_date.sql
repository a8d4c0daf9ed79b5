-- +goose Up
-- An issue's due date (GitLab issues have one; GitHub's do not), as
-- YYYY-MM-DD, '' for none.
ALTER TABLE issues ADD COLUMN due_date TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE issues DROP COLUMN due_date;
