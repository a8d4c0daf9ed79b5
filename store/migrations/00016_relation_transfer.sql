-- +goose Up
-- A relation's transfer in flight: how far the one long step of a page has
-- come (a repository's git fetch: objects received out of the total the
-- source announced), and since when, so the ETA has a rate while no page
-- has been written yet. Kept apart from fetched/total, which count source
-- items and are only moved by a checkpoint.
ALTER TABLE import_relations ADD COLUMN transfer_done BIGINT NOT NULL DEFAULT 0;
ALTER TABLE import_relations ADD COLUMN transfer_total BIGINT NOT NULL DEFAULT 0;
ALTER TABLE import_relations ADD COLUMN transfer_started_at {{TS}};

-- +goose Down
ALTER TABLE import_relations DROP COLUMN transfer_started_at;
ALTER TABLE import_relations DROP COLUMN transfer_total;
ALTER TABLE import_relations DROP COLUMN transfer_done;
