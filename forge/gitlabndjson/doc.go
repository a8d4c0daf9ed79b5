// Package gitlabndjson is the NDJSON format of GitLab's relation exports
// (direct transfer's export_relations): the Go types of the records ferry
// writes, a streaming gzip Writer that puts one record per line, and Each,
// a streaming reader for the importing side.
//
// The records follow GitLab's import_export.yml trees: one line is one
// top-level object of a relation (an issue, a merge request…) with its
// sub-relations nested (notes, label_links, award_emoji, approvals…), and
// attribute names are GitLab's. Foreign keys between top-level objects are
// not exported: a label link carries the label's title and a milestone its
// iid, as GitLab's own exporter nests them.
//
// Users are referenced as GitLab exports them: by the exporting instance's
// numeric user id in author_id, user_id, closed_by_id… The members relation
// (project_members, members) nests each member's user {id, username,
// public_email}, and user_contributions lists every user the portable's
// content references (id, username, name, public_email), so an importer
// can map every id it meets even when the user is not a member. ferry
// exports the user a contribution shows as: the placeholder user standing
// for the original source author, or whoever it was mapped or reassigned to.
//
// It knows encoding/json and the GitLab shapes only; it must not know the
// store, HTTP or how exports are scheduled.
package gitlabndjson
