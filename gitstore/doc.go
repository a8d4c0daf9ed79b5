// Package gitstore keeps bare git repositories and LFS objects on disk and
// serves them over git's smart HTTP protocol.
//
// It is an adapter: repositories are addressed only by a stable numeric
// project id (laid out as GitLab's hashed storage, so renames and transfers
// never move data), and every git operation runs the git CLI through a single
// function that controls its environment and scrubs credentials from its
// output.
//
// gitstore must not know about projects, users, permissions or the database.
// The HTTP handler asks a caller-supplied Resolver to turn a request path into
// a project id and to decide access; the importers hand it source URLs and
// credentials. LFS objects are stored content-addressed and linked to project
// ids with marker files under the root, so no database table is needed.
//
// The read API's git reads live here too: refs, commits and files
// (refs.go), diffs between commits with GitLab's limits, commits between
// two commits and merge bases (diff.go), trees and blobs (tree.go),
// streamed archives (archive.go) and the pages of a wiki repository
// (wiki.go). Every ref, sha and path they take is validated before git
// sees it: refs are resolved to full ids first, paths are cleaned and
// passed as literal pathspecs, and outputs are bounded.
//
// Layout under Store.Root:
//
//	repositories/@hashed/ab/cd/<sha256(id)>.git       project repository
//	repositories/@hashed/ab/cd/<sha256(id)>.wiki.git  its wiki
//	lfs-objects/ab/cd/<oid>                           LFS object, content-addressed
//	lfs-links/@hashed/ab/cd/<sha256(id)>/<oid>        empty marker: project id uses oid
//	tmp/                                              staging for atomic renames, git's HOME
package gitstore
