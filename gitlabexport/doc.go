// Package gitlabexport makes ferry a direct-transfer source: it exports a
// group's or a project's relations the way GitLab's BulkImports export
// services do, so another GitLab (or ferry) can migrate them out through
// POST /{groups|projects}/:id/export_relations, …/status and …/download.
//
// An export belongs to a portable (a group or a project) and to the user
// who asked for it. Each relation is written under Config.Dir as gzipped
// NDJSON (package forge/gitlabndjson), whole or, when batched, in batches of
// Config.BatchSize top-level records. A project's uploads are a file
// relation instead, as GitLab's UploadsExportService writes it: a gzipped
// tar of <secret>/<filename> entries, batched by upload, its bytes read
// from Config.Uploads (an upload whose bytes are missing is logged and left
// out). Each relation's status (GitLab's integers: started 0, finished 1,
// failed -1) lives beside it in status.json, so a restart keeps finished
// exports and marks interrupted ones failed.
// Relations are read from the store page by page; nothing holds a whole
// relation in memory.
//
// It knows the store, the upload files, the forge model and the NDJSON
// records. It must not know HTTP: package api maps its errors (ferry.Error
// codes with GitLab's texts) to responses.
package gitlabexport
