// Package gitlab imports a GitLab project or group from another GitLab
// instance, as GitLab's direct transfer (bulk imports) does, through one
// of two transports (Options.Transport), chosen per entity when the
// migration starts it:
//
//   - export: the source's export_relations (spec §7.2–7.3), GitLab's own
//     path. The entity's relations are exported by the source (batched
//     where it batches), polled until finished (a relation still started
//     past Source.ExportTimeout, or not listed past
//     Source.EmptyExportStatusTimeout, fails as GitLab's does; the first
//     poll's time is checkpointed), downloaded once each to a
//     spool file on local disk (unlinked at once, so nothing outlives the
//     process) and read page by page as NDJSON — one record in memory at a
//     time, the cursor being the batch and the records already read, so a
//     restarted worker downloads again and skips. The records carry no
//     ids: objects are keyed by what identifies them in their project.
//   - rest: the REST API v4, item by item, for a source with direct
//     transfer off (GitLab refuses such a source; ferry migrates it), as
//     spec/mapping.md §3.6 describes.
//
// It is the third source adapter, with source/github and
// source/bitbucketserver.
//
// Stages of a project read from its export:
//
//	repository   repository (GET /projects/:id, git mirror with refs/merge-requests/*/head,
//	             the wiki), export_request (POST export_relations); both critical
//	labels       user_contributions (who is who, before anything names people by id),
//	             labels, milestones, project_members (when migrate_memberships)
//	issues       issues (with notes, award emoji), merge_requests (with notes, approvals,
//	             award emoji, diff SHAs), releases, protected_branches
//	lfs_objects  lfs_objects (pointers in the mirrored repository, LFS batch API)
//
// Stages of a project read through REST, in GitLab's order (spec §7.4):
//
//	repository   repository; critical
//	labels       labels, milestones, members (when migrate_memberships)
//	issues       issues, merge_requests (iids only: each queues its details),
//	             releases (with links), protected_branches
//	notes        issue_notes (discussions, award emoji of the issue and of each note),
//	             merge_request_details (GET …/merge_requests/:iid for diff_refs, approvals),
//	             merge_request_notes (discussions with diff positions, award emoji)
//	lfs_objects  lfs_objects
//
// A group (Env.NamespaceID) has its labels, milestones, badges (its own,
// not its projects') and members (when migrate_memberships: members/all,
// direct and inherited, as direct transfer reads them), all kept on the
// group; read from its export (after an export stage) or through REST.
// Members become source users of the destination's top-level group; the
// store makes them ferry members of the group once they map to a real
// user, as a project's members.
//
// The pre-checks of POST /bulk_imports (spec §2.1 validate!) are
// CheckInstance, Lookup and CheckExport, with GitLab's own messages as
// the errors' texts; Children lists what a group import goes on to.
//
// REST bodies are decoded into client-go's types (gitlab.com/gitlab-org/
// api/client-go), export records into forge/gitlabndjson's, so names and
// nesting are GitLab's; requests go through the
// engine's guarded client (Env.HTTP) with the token in the PRIVATE-TOKEN
// header, never in a URL. Paging, per-item fan-out and error
// classification are the shared source/internal/paging; call is this
// adapter's one error boundary.
//
// It knows GitLab's REST API, its export format and the forge model; it
// must not know
// ferry's storage, jobs or HTTP API.
package gitlab
