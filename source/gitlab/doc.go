// Package gitlab imports a GitLab project or group from another GitLab
// instance through its REST API v4: the path direct transfer (bulk
// imports) takes when the source offers no export_relations, as
// spec/mapping.md §3.6 describes it. It is the third source adapter, with
// source/github and source/bitbucketserver.
//
// Stages and relations of a project (importer.Source), in GitLab's
// direct transfer order (spec §7.4, project stage):
//
//	repository   repository (GET /projects/:id, git mirror of http_url_to_repo with
//	             refs/merge-requests/*/head, the wiki when there is one); critical
//	labels       labels, milestones, members (when migrate_memberships)
//	issues       issues, merge_requests (iids only: each queues its details),
//	             releases (with links), protected_branches
//	notes        issue_notes (discussions, award emoji of the issue and of each note),
//	             merge_request_details (GET …/merge_requests/:iid for diff_refs, approvals),
//	             merge_request_notes (discussions with diff positions, award emoji)
//	lfs_objects  lfs_objects (pointers in the mirrored repository, LFS batch API)
//
// A group (Env.NamespaceID) has one stage, labels: its labels and
// milestones, which the store keeps on the group, and its badges and
// members (when migrate_memberships), which the store cannot hold on a
// group: each is listed as a failed item saying so, never dropped.
//
// The pre-checks of POST /bulk_imports (spec §2.1 validate!) are
// CheckInstance, Lookup and CheckExport, with GitLab's own messages as
// the errors' texts; Children lists what a group import goes on to.
//
// Bodies are decoded into client-go's types (gitlab.com/gitlab-org/api/
// client-go), so names and nesting are GitLab's; requests go through the
// engine's guarded client (Env.HTTP) with the token in the PRIVATE-TOKEN
// header, never in a URL. Paging, per-item fan-out and error
// classification are the shared source/internal/paging; call is this
// adapter's one error boundary.
//
// It knows GitLab's REST API and the forge model; it must not know
// ferry's storage, jobs or HTTP API.
package gitlab
