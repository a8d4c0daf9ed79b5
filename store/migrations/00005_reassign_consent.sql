-- +goose Up
-- A reassignment to someone else waits for that person's consent: the
-- target is recorded here until they accept or reject.
ALTER TABLE source_users ADD COLUMN reassign_to_user_id BIGINT REFERENCES users (id) ON DELETE SET NULL;

-- +goose Down
ALTER TABLE source_users DROP COLUMN reassign_to_user_id;
