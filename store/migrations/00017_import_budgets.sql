-- +goose Up
-- What an import last saw of each of its credentials' rate-limit budgets
-- at the source (its main budget, GitHub's GraphQL points…): the status
-- shows the budget left per credential. A credential is named by its
-- place in the import's set and its kind, never by any part of it.
CREATE TABLE import_budgets (
  import_id BIGINT NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
  credential INTEGER NOT NULL,
  kind TEXT NOT NULL,
  budget TEXT NOT NULL,
  remaining BIGINT NOT NULL,
  budget_limit BIGINT NOT NULL,
  reset_at {{TS}},
  updated_at {{TS}} NOT NULL,
  PRIMARY KEY (import_id, credential, budget)
);

-- +goose Down
DROP TABLE import_budgets;
