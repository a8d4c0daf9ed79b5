-- +goose Up
-- timeout_strategy belongs to the import, whatever its source: the stall
-- watchdog reads it, and no source adapter needs to. It used to live in
-- the source options JSON, written without spaces by encoding/json.
ALTER TABLE imports ADD COLUMN timeout_strategy TEXT NOT NULL DEFAULT 'pessimistic';
UPDATE imports SET timeout_strategy = 'optimistic' WHERE options LIKE '%"timeout_strategy":"optimistic"%';

-- +goose Down
ALTER TABLE imports DROP COLUMN timeout_strategy;
