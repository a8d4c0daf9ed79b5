-- +goose Up
-- A user's web sign-in password, as password.Hash made it; '' for none
-- (the user signs in with a personal access token only).
ALTER TABLE users ADD COLUMN password_hash TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE users DROP COLUMN password_hash;
