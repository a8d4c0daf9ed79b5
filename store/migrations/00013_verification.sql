-- +goose Up
-- What sources declared their items hold (ferry.Expectation), written with
-- the page that declared it, and the verification made of them when the
-- import ended: per type, expected, imported and missing.
CREATE TABLE import_expectations (
  import_id BIGINT NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
  relation TEXT NOT NULL,
  type TEXT NOT NULL,
  on_type TEXT NOT NULL,
  on_iid BIGINT NOT NULL,
  note_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  prefix TEXT NOT NULL,
  user_only BOOLEAN NOT NULL,
  emoji TEXT NOT NULL,
  expected BIGINT NOT NULL,
  source_url TEXT NOT NULL,
  title TEXT NOT NULL,
  PRIMARY KEY (import_id, type, on_type, on_iid, note_id, relation)
);

CREATE TABLE import_verifications (
  import_id BIGINT NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
  object_type TEXT NOT NULL,
  expected BIGINT NOT NULL,
  imported BIGINT NOT NULL,
  missing BIGINT NOT NULL,
  PRIMARY KEY (import_id, object_type)
);

-- +goose Down
DROP TABLE import_verifications;
DROP TABLE import_expectations;
