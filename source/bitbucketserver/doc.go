// Package bitbucketserver imports a Bitbucket Server (Data Center)
// repository through its REST API 1.0: the repository (git mirror with
// refs/pull-requests/<id>/from as refs/merge-requests/<iid>/head, LFS
// objects), pull requests as merge requests keeping their ids, and each
// pull request's activities as notes, threaded replies, diff notes with
// positions, approvals, reviews and system notes, as spec/mapping.md §2
// describes GitLab's importer (with replies kept in one discussion).
//
// Stages and relations (importer.Source):
//
//	repository       repository (GET …/repos/{slug}), git mirror; critical
//	pull_requests    pull_requests (GET …/pull-requests?state=ALL, start/limit)
//	notes            pull_request_activities (GET …/pull-requests/{id}/activities, per pull request)
//	lfs_objects      lfs_objects (pointers in the mirrored repository, LFS batch API)
//
// People come inline with e-mail addresses, so there is no users stage and
// no call per person. No maintained Go library models Bitbucket Server's
// REST shapes, so they are decoded here (shapes.go); paging, per-item
// fan-out and error classification are the shared source/internal/paging.
//
// Lookup is the same repository read for the import endpoint, before an
// import exists: POST /import/bitbucket_server checks every request with
// it, through the same error boundary (get), and answers 501 after every
// check until this source is listed in app/sources.go.
//
// It knows Bitbucket Server's REST API and the forge model; it must not
// know ferry's storage, jobs or HTTP API.
package bitbucketserver
