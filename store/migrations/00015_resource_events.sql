-- +goose Up
-- Resource events: who added or removed a label or a milestone, or changed
-- the state of an issue or merge request, and when (GitLab's
-- resource_label_events, resource_milestone_events, resource_state_events).
-- One table for the three kinds: they share the key, the issuable and the
-- user, and the importer writes them from the same source streams. Like
-- notes, an event points at its issue or merge request by iid and names
-- its label by name and its milestone by iid (or title when the source
-- knows no iid), so it is resolved when read; the label's colour is kept
-- for a label deleted on the source. Unique on the source identity, so a
-- page written again after a crash updates the rows it wrote.
CREATE TABLE resource_events (
  id {{ID}},
  project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  source_type TEXT NOT NULL,
  source_host TEXT NOT NULL,
  source_id TEXT NOT NULL,
  resource_type TEXT NOT NULL,
  resource_iid BIGINT NOT NULL,
  event TEXT NOT NULL,
  action TEXT NOT NULL,
  label_name TEXT NOT NULL,
  label_color TEXT NOT NULL,
  milestone_iid BIGINT NOT NULL,
  milestone_title TEXT NOT NULL,
  state TEXT NOT NULL,
  user_su BIGINT NOT NULL,
  created_at {{TS}} NOT NULL
);
CREATE UNIQUE INDEX resource_events_key ON resource_events (project_id, source_type, source_host, source_id);
CREATE INDEX resource_events_resource ON resource_events (project_id, resource_type, resource_iid, event, created_at);

-- +goose Down
DROP TABLE resource_events;
