-- +goose Up
-- Imported content. Every row carries its source identity (source_type,
-- source_host, source_id) and a unique key the importer upserts on: the
-- natural key where GitLab has one (iid, tag, branch name), the source
-- identity otherwise. Children of an issue or merge request point at it by
-- (project_id, iid), so they never wait for the parent's row id. User
-- columns (*_su) hold source_users ids; the shown user is the source user's
-- mapped_user_id, so a reassignment is one UPDATE.

-- One row per source user per top-level namespace: the placeholder user
-- standing for them, and the user their contributions show as (the
-- placeholder, an e-mail match, or whoever they were reassigned to).
CREATE TABLE source_users (
  id {{ID}},
  namespace_id BIGINT NOT NULL REFERENCES namespaces (id) ON DELETE CASCADE,
  source_type TEXT NOT NULL,
  source_host TEXT NOT NULL,
  source_user_id TEXT NOT NULL,
  source_username TEXT NOT NULL DEFAULT '',
  source_name TEXT NOT NULL DEFAULT '',
  source_email TEXT NOT NULL DEFAULT '',
  placeholder_user_id BIGINT NOT NULL REFERENCES users (id),
  mapped_user_id BIGINT NOT NULL REFERENCES users (id),
  status TEXT NOT NULL,
  reassigned_by_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
  created_at {{TS}} NOT NULL,
  updated_at {{TS}} NOT NULL
);
CREATE UNIQUE INDEX source_users_key ON source_users (namespace_id, source_type, source_host, source_user_id);
CREATE INDEX source_users_mapped ON source_users (mapped_user_id);

CREATE TABLE repository_meta (
  project_id BIGINT PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
  source_type TEXT NOT NULL,
  source_host TEXT NOT NULL,
  source_id TEXT NOT NULL,
  description TEXT NOT NULL,
  default_branch TEXT NOT NULL,
  visibility TEXT NOT NULL,
  topics TEXT NOT NULL
);

-- Labels and milestones belong to a project or, imported from a GitLab
-- group, to a group: exactly one of project_id and group_id is set.
CREATE TABLE labels (
  id {{ID}},
  project_id BIGINT REFERENCES projects (id) ON DELETE CASCADE,
  group_id BIGINT REFERENCES namespaces (id) ON DELETE CASCADE,
  source_type TEXT NOT NULL,
  source_host TEXT NOT NULL,
  source_id TEXT NOT NULL,
  name TEXT NOT NULL,
  color TEXT NOT NULL,
  description TEXT NOT NULL,
  created_at {{TS}} NOT NULL,
  updated_at {{TS}} NOT NULL
);
CREATE UNIQUE INDEX labels_project_key ON labels (project_id, source_type, source_host, source_id) WHERE project_id IS NOT NULL;
CREATE UNIQUE INDEX labels_group_key ON labels (group_id, source_type, source_host, source_id) WHERE group_id IS NOT NULL;

CREATE TABLE milestones (
  id {{ID}},
  project_id BIGINT REFERENCES projects (id) ON DELETE CASCADE,
  group_id BIGINT REFERENCES namespaces (id) ON DELETE CASCADE,
  iid BIGINT NOT NULL,
  source_type TEXT NOT NULL,
  source_host TEXT NOT NULL,
  source_id TEXT NOT NULL,
  title TEXT NOT NULL,
  description TEXT NOT NULL,
  state TEXT NOT NULL,
  start_date TEXT NOT NULL,
  due_date TEXT NOT NULL,
  created_at {{TS}} NOT NULL,
  updated_at {{TS}} NOT NULL
);
CREATE UNIQUE INDEX milestones_project_iid ON milestones (project_id, iid) WHERE project_id IS NOT NULL;
CREATE UNIQUE INDEX milestones_group_iid ON milestones (group_id, iid) WHERE group_id IS NOT NULL;

CREATE TABLE issues (
  id {{ID}},
  project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  iid BIGINT NOT NULL,
  source_type TEXT NOT NULL,
  source_host TEXT NOT NULL,
  source_id TEXT NOT NULL,
  title TEXT NOT NULL,
  description TEXT NOT NULL,
  state TEXT NOT NULL,
  confidential BOOLEAN NOT NULL,
  discussion_locked BOOLEAN NOT NULL,
  author_su BIGINT NOT NULL,
  milestone_iid BIGINT NOT NULL,
  closed_by_su BIGINT,
  created_at {{TS}} NOT NULL,
  updated_at {{TS}} NOT NULL,
  closed_at {{TS}}
);
CREATE UNIQUE INDEX issues_project_iid ON issues (project_id, iid);
CREATE INDEX issues_project_created ON issues (project_id, created_at);

CREATE TABLE merge_requests (
  id {{ID}},
  project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  iid BIGINT NOT NULL,
  source_type TEXT NOT NULL,
  source_host TEXT NOT NULL,
  source_id TEXT NOT NULL,
  title TEXT NOT NULL,
  description TEXT NOT NULL,
  state TEXT NOT NULL,
  draft BOOLEAN NOT NULL,
  discussion_locked BOOLEAN NOT NULL,
  source_branch TEXT NOT NULL,
  target_branch TEXT NOT NULL,
  source_sha TEXT NOT NULL,
  target_sha TEXT NOT NULL,
  base_sha TEXT NOT NULL,
  merge_commit_sha TEXT NOT NULL,
  author_su BIGINT NOT NULL,
  milestone_iid BIGINT NOT NULL,
  merged_by_su BIGINT,
  closed_by_su BIGINT,
  created_at {{TS}} NOT NULL,
  updated_at {{TS}} NOT NULL,
  merged_at {{TS}},
  closed_at {{TS}}
);
CREATE UNIQUE INDEX merge_requests_project_iid ON merge_requests (project_id, iid);
CREATE INDEX merge_requests_project_created ON merge_requests (project_id, created_at);

-- Assignees and reviewers (role) and labels (by name) of issues and merge
-- requests (target_type 'Issue' or 'MergeRequest'); replaced as a set when
-- their parent is written again.
CREATE TABLE issuable_users (
  project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  target_type TEXT NOT NULL,
  target_iid BIGINT NOT NULL,
  role TEXT NOT NULL,
  su_id BIGINT NOT NULL,
  position INTEGER NOT NULL,
  PRIMARY KEY (project_id, target_type, target_iid, role, su_id)
);
CREATE INDEX issuable_users_su ON issuable_users (su_id);

CREATE TABLE issuable_labels (
  project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  target_type TEXT NOT NULL,
  target_iid BIGINT NOT NULL,
  label_name TEXT NOT NULL,
  position INTEGER NOT NULL,
  PRIMARY KEY (project_id, target_type, target_iid, label_name)
);

-- Notes of issues and merge requests. discussion_id is GitLab's 40-hex
-- discussion id, derived from the source thread; a diff note's position
-- lives in the same row (position_type '' = none, line_range JSON).
CREATE TABLE notes (
  id {{ID}},
  project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  source_type TEXT NOT NULL,
  source_host TEXT NOT NULL,
  source_id TEXT NOT NULL,
  noteable_type TEXT NOT NULL,
  noteable_iid BIGINT NOT NULL,
  discussion_id TEXT NOT NULL,
  individual BOOLEAN NOT NULL,
  body TEXT NOT NULL,
  author_su BIGINT NOT NULL,
  system BOOLEAN NOT NULL,
  internal BOOLEAN NOT NULL,
  resolvable BOOLEAN NOT NULL,
  resolved BOOLEAN NOT NULL,
  resolved_by_su BIGINT,
  resolved_at {{TS}},
  position_type TEXT NOT NULL,
  base_sha TEXT NOT NULL,
  start_sha TEXT NOT NULL,
  head_sha TEXT NOT NULL,
  old_path TEXT NOT NULL,
  new_path TEXT NOT NULL,
  old_line BIGINT NOT NULL,
  new_line BIGINT NOT NULL,
  line_range TEXT NOT NULL,
  created_at {{TS}} NOT NULL,
  updated_at {{TS}} NOT NULL
);
CREATE UNIQUE INDEX notes_key ON notes (project_id, source_type, source_host, source_id);
CREATE INDEX notes_noteable ON notes (project_id, noteable_type, noteable_iid, created_at);

CREATE TABLE reviews (
  id {{ID}},
  project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  source_type TEXT NOT NULL,
  source_host TEXT NOT NULL,
  source_id TEXT NOT NULL,
  mr_iid BIGINT NOT NULL,
  state TEXT NOT NULL,
  body TEXT NOT NULL,
  author_su BIGINT NOT NULL,
  submitted_at {{TS}} NOT NULL
);
CREATE UNIQUE INDEX reviews_key ON reviews (project_id, source_type, source_host, source_id);
CREATE INDEX reviews_mr ON reviews (project_id, mr_iid);

-- One approval per approver per merge request (GitLab's rule), from
-- approved reviews and from approval objects.
CREATE TABLE approvals (
  id {{ID}},
  project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  mr_iid BIGINT NOT NULL,
  su_id BIGINT NOT NULL,
  source_type TEXT NOT NULL,
  source_host TEXT NOT NULL,
  source_id TEXT NOT NULL,
  approved_at {{TS}} NOT NULL
);
CREATE UNIQUE INDEX approvals_mr_user ON approvals (project_id, mr_iid, su_id);

CREATE TABLE releases (
  id {{ID}},
  project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  tag_name TEXT NOT NULL,
  source_type TEXT NOT NULL,
  source_host TEXT NOT NULL,
  source_id TEXT NOT NULL,
  name TEXT NOT NULL,
  description TEXT NOT NULL,
  author_su BIGINT,
  commit_sha TEXT NOT NULL,
  links TEXT NOT NULL,
  created_at {{TS}} NOT NULL,
  released_at {{TS}}
);
CREATE UNIQUE INDEX releases_project_tag ON releases (project_id, tag_name);

-- Emoji on an issue or merge request (note_source_id '') or on one of its
-- notes (the note's source id).
CREATE TABLE award_emoji (
  id {{ID}},
  project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  source_type TEXT NOT NULL,
  source_host TEXT NOT NULL,
  source_id TEXT NOT NULL,
  awardable_type TEXT NOT NULL,
  awardable_iid BIGINT NOT NULL,
  note_source_id TEXT NOT NULL,
  name TEXT NOT NULL,
  user_su BIGINT NOT NULL,
  created_at {{TS}} NOT NULL,
  updated_at {{TS}} NOT NULL
);
CREATE UNIQUE INDEX award_emoji_key ON award_emoji (project_id, source_type, source_host, source_id);
CREATE INDEX award_emoji_awardable ON award_emoji (project_id, awardable_type, awardable_iid);

CREATE TABLE protected_branches (
  id {{ID}},
  project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  source_type TEXT NOT NULL,
  source_host TEXT NOT NULL,
  source_id TEXT NOT NULL,
  push_access_level INTEGER NOT NULL,
  merge_access_level INTEGER NOT NULL,
  allow_force_push BOOLEAN NOT NULL,
  code_owner_approval_required BOOLEAN NOT NULL
);
CREATE UNIQUE INDEX protected_branches_project_name ON protected_branches (project_id, name);

-- Source members of the project, kept for placeholder memberships.
CREATE TABLE imported_members (
  project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  su_id BIGINT NOT NULL,
  source_type TEXT NOT NULL,
  source_host TEXT NOT NULL,
  source_id TEXT NOT NULL,
  access_level INTEGER NOT NULL,
  PRIMARY KEY (project_id, su_id)
);

-- +goose Down
DROP TABLE imported_members;
DROP TABLE protected_branches;
DROP TABLE award_emoji;
DROP TABLE releases;
DROP TABLE approvals;
DROP TABLE reviews;
DROP TABLE notes;
DROP TABLE issuable_labels;
DROP TABLE issuable_users;
DROP TABLE merge_requests;
DROP TABLE issues;
DROP TABLE milestones;
DROP TABLE labels;
DROP TABLE repository_meta;
DROP TABLE source_users;
