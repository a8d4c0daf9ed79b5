// Package github is ferry's GitHub source (github.com and GitHub Enterprise
// under /api/v3): it turns one repository's REST v3 resources into the
// neutral forge model, as stages of named relations for the import engine.
//
// Stages, in GitLab's order but with fewer calls (list endpoints at
// pagination_limit per page, repo-wide comment lists, per-item calls only
// where no list carries the data):
//
//	repository       repository (critical): GET /repositories/:id (or
//	                 /repos/:owner/:name), git mirror with refs/pull/N/head →
//	                 refs/merge-requests/N/head, wiki when has_wiki
//	base_data        labels, milestones (state=all), releases, protected_branches
//	                 (branches?protected=true, then each protection),
//	                 collaborators (optional, affiliation=direct)
//	pull_requests    pull_requests (pulls?state=all)
//	issues_and_notes issues (issues?state=all, pull requests skipped),
//	                 issue_comments (issues/comments), review_comments
//	                 (pulls/comments)
//	notes            item_comments, item_review_comments: only with
//	                 single_endpoint_notes_import, per item instead of repo-wide
//	details          pull_request_details (reviews, and each submitted review's
//	                 body as a note), reactions (items and comments whose
//	                 total_count > 0), issue_events (issues/events, after
//	                 the issues they close are stored); the first two by
//	                 GraphQL where it is offered
//	users            users (once per login seen anywhere: GraphQL nodes by
//	                 the hundred, else GET users/:login)
//	lfs_objects      lfs_objects (pointers in the mirrored repository, LFS batch API
//	                 at the clone URL the repository relation queued)
//	attachments      attachments (only with attachments_import: files linked from
//	                 bodies, downloaded and relinked to /uploads/…; last, so every
//	                 body is already stored)
//
// GraphQL (graphql.go, graphql_batch.go): reviews (pull_request_details),
// reactions and user profiles are read a page of up to 100 items per
// nodes(ids:) query, under GraphQL's own points budget (Env.Budget), and
// converted into the go-github values REST would have given, so both
// paths land the same rows. Their followup keys carry the object's node id
// (withNode). An item a query cannot finish (more than 100 reactions or
// reviews, an unresolved node, a key without a node id) is read per item
// through REST; a query GitHub finds too big is halved and grows back; a
// GitHub without GraphQL (404, refused) is remembered for an hour and REST
// does all of it. On the small scenario: 25 requests (22 REST, 3 GraphQL
// of 1 point) instead of 137. Past the pagination cap the events of the
// items the repository's events list could not reach are read the same
// way, 100 items' timelineItems a query of 1 point (timeline.go), keyed by
// REST's event ids decoded from the events' node ids (nodeid.go).
//
// Credentials (credential.go): a token, or a GitHub App installation
// (ferry.GitHubApp) whose installation tokens are minted and renewed by
// bradleyfalzon/ghinstallation through the same client.
//
// Reviews (spec/mapping.md §1.6) stay reviews (approvals, reviewers), and
// one with a non-empty body is also a note on its merge request by the
// reviewer: "**Review:** <Approved | Changes requested | Commented |
// Dismissed>", a blank line and the body, dated submitted_at (else the pull
// request's updated_at, which the pull_requests relation puts in the
// details key), source id review_body/<review id> so a re-import updates it
// in place. PENDING reviews are their author's unsubmitted draft: neither
// review nor note. A dismissed review no longer approves: its review is
// "commented", its note says Dismissed. Stats count these notes as
// pull_request_review_body, apart from reviews and comments.
//
// Endpoints an older GitHub Enterprise lacks (a 404 on a list's first
// page) are read per item where GitHub has a per-item list: issue_comments
// per item (issues/:n/comments for items whose comments count is not
// zero), review_comments per pull request (pulls/:n/comments),
// issue_events per item (issues/:n/events). Any other missing list ends
// its relation with one failed item, "the source has no <endpoint> (404):
// not imported"; the import goes on (fallback.go).
//
// Past GitHub's pagination limit (a 422 "pagination is limited" on a
// page of a repo-wide list) nothing is lost (cap.go): issues,
// issue_comments and review_comments go on by update, since-stepping from
// the creation time reached (de-duplicating the overlap by id);
// pull_requests goes on from the newest end, then per number;
// issue_events reads per item exactly the items created before the oldest
// event reached (GraphQL timelines, 100 items a query; issues/:n/events
// without GraphQL or for an item a query cannot finish); any other list
// lists the limit as a
// failed item. Without a limit the calls are the same as before.
//
// Errors by kind: an answer cut short or garbled on the way is read again
// (the engine's fetch attempts); one that arrived whole but does not fit
// the model (a field of another JSON type, a bad timestamp, an unknown
// collaborator role, a comment tied to no item) is a conversion error,
// permanent and a ferry EINVALID error, so it is fetched once and listed
// as a ValidationError: the page's relation fails, or, for one comment of
// a page, that comment is a failed item and the rest are imported.
//
// List relations keep GitHub's Link next URL (checked to stay on the API
// base) as their cursor; per-item relations read the followups earlier
// stages queued and keep the last sequence number done. Relations address
// the repository as owner/name: from SourceRef when it is a path, else from
// Options.FullName, else (one call per relation job) GET /repositories/:id. A relation that queues followups always runs in an
// earlier stage than the relation that consumes them, so a drained queue
// means the relation is done.
//
// The call model (estimate.go) says what an import of a repository of
// given counts costs — REST calls, GraphQL requests and points, hours at
// given budgets — from the same constants and queries the relations use;
// RepoCounts reads a repository's counts for it with one GraphQL query.
// cmd/ferrybench -project prints it, the import API's dry_run answers it,
// and ferrybench's TestCallModel holds it to fakeforge's measured counts.
//
// It knows GitHub's API and the forge model. It must not know storage,
// jobs, retries, rate limits or progress: the engine and the HTTP client it
// is given (Env.HTTP) own those, so nothing here sleeps, retries or counts.
package github
