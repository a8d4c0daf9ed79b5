package github

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	gh "github.com/google/go-github/v92/github"

	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/gitstore"
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/source/internal/paging"
)

// repository reads the repository and mirrors its git data; the import
// makes no sense without it (paging.Critical).
func (r *run) repository(ctx context.Context) (importer.Page, error) {
	repo, err := r.fetchRepo(ctx)
	if err != nil {
		return importer.Page{}, err
	}
	clone := repo.GetCloneURL()
	if err := checkCloneURL(r.base.String(), clone); err != nil {
		return importer.Page{}, err
	}
	if err := r.env.Git.Mirror(ctx, r.env.ProjectID, clone, r.credential(), gitstore.GitHubRefspecs()...); err != nil {
		return importer.Page{}, fmt.Errorf("mirror repository: %w", err)
	}
	if repo.GetHasWiki() {
		// has_wiki is a setting; the wiki repository exists only once a
		// page was written.
		err := r.env.Git.MirrorWiki(ctx, r.env.ProjectID, wikiURL(clone), r.credential())
		if err != nil && !errors.Is(err, gitstore.ErrNotFound) {
			return importer.Page{}, fmt.Errorf("mirror wiki: %w", err)
		}
	}
	vis := repo.GetVisibility()
	if vis == "" {
		vis = "public"
		if repo.GetPrivate() {
			vis = "private"
		}
	}
	return importer.Page{Objects: []forge.Object{
		forge.Repository{SourceID: r.sid(idString(repo.ID)), Description: repo.GetDescription(),
			DefaultBranch: repo.GetDefaultBranch(), Visibility: vis, Topics: repo.Topics},
		importer.Followup{Relation: relLFSObjects, Key: clone},
	}}, nil
}

func wikiURL(clone string) string { return strings.TrimSuffix(clone, ".git") + ".wiki.git" }

// lfsObjects fetches the LFS objects the mirrored repository points at
// from the clone URL the repository relation queued, so no later job has
// to ask GitHub for it again.
func (r *run) lfsObjects() importer.Relation {
	return paging.LFSObjects(relLFSObjects, r.env, r.credential())
}

func (r *run) labels() importer.Relation {
	return listRelation[*gh.Label](relLabels, r,
		func(repo string) string { return r.listURL(repo, "labels", nil) },
		func(_ context.Context, b *builder, ls []*gh.Label) error {
			for _, l := range ls {
				b.Add(b.label(l))
			}
			return nil
		})
}

func (r *run) milestones() importer.Relation {
	return listRelation[*gh.Milestone](relMilestones, r,
		func(repo string) string {
			return r.listURL(repo, "milestones", url.Values{"state": {"all"}, "sort": {"due_on"}, "direction": {"asc"}})
		},
		func(_ context.Context, b *builder, ms []*gh.Milestone) error {
			for _, m := range ms {
				b.Add(b.milestone(m))
			}
			return nil
		})
}

func (r *run) releases() importer.Relation {
	return listRelation[*gh.RepositoryRelease](relReleases, r,
		func(repo string) string { return r.listURL(repo, "releases", nil) },
		func(_ context.Context, b *builder, rs []*gh.RepositoryRelease) error {
			for _, rel := range rs {
				if rel.TagName != "" { // GitLab skips releases without a tag
					b.Add(b.release(rel))
				}
			}
			b.CountItems(len(rs))
			return nil
		})
}

// protectedBranches lists only protected branches and asks each for its
// rules: GitHub has no list of protections.
func (r *run) protectedBranches() importer.Relation {
	return listRelation[*gh.Branch](relProtectedBranches, r,
		func(repo string) string {
			return r.listURL(repo, "branches", url.Values{"protected": {"true"}})
		},
		func(ctx context.Context, b *builder, bs []*gh.Branch) error {
			repo, err := r.repoPath(ctx)
			if err != nil {
				return err
			}
			owner, name, _ := strings.Cut(repo, "/")
			for _, br := range bs {
				if !br.GetProtected() {
					continue
				}
				p, _, err := r.client.Repositories.GetBranchProtection(ctx, owner, name, br.GetName())
				if err = classify(err); errors.Is(err, gh.ErrBranchNotProtected) || paging.Gone(err) {
					continue // unprotected since the list was read
				}
				if err != nil {
					return fmt.Errorf("protection of %s: %w", br.GetName(), err)
				}
				b.Add(b.protectedBranch(br.GetName(), p))
			}
			b.CountItems(len(bs))
			return nil
		})
}

func (r *run) collaborators() importer.Relation {
	return listRelation[*gh.User](relCollaborators, r,
		// Direct collaborators only, as GitLab: outside and team members
		// are not the project's members.
		func(repo string) string {
			return r.listURL(repo, "collaborators", url.Values{"affiliation": {"direct"}})
		},
		func(_ context.Context, b *builder, us []*gh.User) error {
			for _, u := range us {
				level, ok := accessLevel(u)
				if !ok {
					return invalid("collaborator %s has an unknown role %q", u.GetLogin(), u.GetRoleName())
				}
				b.Add(forge.Member{SourceID: r.sid(idString(u.ID)), User: b.user(u), AccessLevel: level})
			}
			return nil
		})
}

// pullRequests reads the pulls list oldest first; past GitHub's
// pagination limit it goes on from the newest (cap.go).
func (r *run) pullRequests() importer.Relation {
	convert := func(_ context.Context, b *builder, ps []*gh.PullRequest) error {
		for _, p := range ps {
			mr := b.mergeRequest(p)
			b.Add(mr)
			b.Follow(relPullRequestDetails, withNode(withUpdated(detailsKey(p.GetNumber(), p.MergedAt != nil), ts(p.UpdatedAt)), p.GetNodeID()))
			if r.opts.SingleEndpointNotesImport {
				b.Follow(relItemReviewComments, strconv.Itoa(p.GetNumber()))
			}
		}
		return nil
	}
	return pastCap(listRelationWith(relPullRequests, r,
		func(repo string) string {
			return r.listURL(repo, "pulls", url.Values{"state": {"all"}, "sort": {"created"}, "direction": {"asc"}})
		}, marked(r, pullsMark), convert), r.pullsPast(convert), r.pullsPastCap)
}

// issues reads the issues list, which also carries every pull request:
// those are skipped (pull_requests has them) but their reactions count
// and labels come from here too.
func (r *run) issues() importer.Relation {
	return listRelationWith(relIssues, r,
		r.issuesURL, windowed[*gh.Issue](r),
		func(_ context.Context, b *builder, is []*gh.Issue) error {
			for _, i := range is {
				on := forge.Noteable{Type: forge.OnIssue, IID: int64(i.GetNumber())}
				if i.IsPullRequest() {
					on.Type = forge.OnMergeRequest
				} else {
					b.Add(b.issue(i))
				}
				if hasReactions(i.Reactions) {
					b.Follow(relReactions, withNode(noteableKey(on), i.GetNodeID()))
				}
				b.expectItem(on, i)
				if r.opts.SingleEndpointNotesImport && i.GetComments() > 0 {
					b.Follow(relItemComments, noteableKey(on))
				}
			}
			return nil
		})
}

// issuesURL is the first page of the issues list, pull requests included
// (past GitHub's pagination limit it goes on by update: cap.go).
func (r *run) issuesURL(repo string) string {
	return r.listURL(repo, "issues", url.Values{"state": {"all"}, "sort": {"created"}, "direction": {"asc"}})
}

// issueComments reads the repo-wide conversation comments of issues and
// pull requests alike (per item where the server has no repo-wide list).
func (r *run) issueComments() importer.Relation {
	return orElse(listRelationWith(relIssueComments, r,
		func(repo string) string {
			return r.listURL(repo, "issues/comments", url.Values{"sort": {"created"}, "direction": {"asc"}})
		}, windowed[*gh.IssueComment](r),
		func(ctx context.Context, b *builder, cs []*gh.IssueComment) error {
			for _, c := range cs {
				on, err := r.commentNoteable(ctx, c)
				var perm *importer.Permanent
				if errors.As(err, &perm) {
					// Reading the page again would not change it.
					b.Fail(importer.ItemFailure{SourceURL: c.GetURL(), Title: fmt.Sprintf("comment %d", c.GetID()), Err: err})
					continue
				}
				if err != nil {
					return err
				}
				b.Add(b.issueNote(c, on))
			}
			return nil
		}), r.itemCommentsFallback())
}

// commentNoteable tells what a repo-wide comment is on.
func (r *run) commentNoteable(ctx context.Context, c *gh.IssueComment) (forge.Noteable, error) {
	if n, ok := itemNumber(pullPath, c.GetHTMLURL()); ok {
		return forge.Noteable{Type: forge.OnMergeRequest, IID: n}, nil
	}
	n, ok := itemNumber(issuePath, c.GetIssueURL(), c.GetHTMLURL())
	if !ok {
		return forge.Noteable{}, invalid("comment %d names no issue (no number in html_url or issue_url)", c.GetID())
	}
	pr, err := r.isPR(ctx, int(n))
	if err != nil {
		return forge.Noteable{}, err
	}
	if pr {
		return forge.Noteable{Type: forge.OnMergeRequest, IID: n}, nil
	}
	return forge.Noteable{Type: forge.OnIssue, IID: n}, nil
}

// reviewComments reads the repo-wide review comments (per pull request
// where the server has no repo-wide list).
func (r *run) reviewComments() importer.Relation {
	return orElse(listRelationWith(relReviewComments, r,
		func(repo string) string {
			return r.listURL(repo, "pulls/comments", url.Values{"sort": {"created"}, "direction": {"asc"}})
		}, windowed[*gh.PullRequestComment](r),
		convertReviewComments), r.pullCommentsFallback())
}

// convertReviewComments converts a page of review comments; one that
// names no pull request is a failed item and the rest go on (fetching the
// page again would not change it).
func convertReviewComments(_ context.Context, b *builder, cs []*gh.PullRequestComment) error {
	for _, c := range cs {
		n, err := b.diffNote(c)
		if err != nil {
			src := c.GetURL()
			if src == "" {
				src = c.GetHTMLURL()
			}
			b.Fail(importer.ItemFailure{SourceURL: src, Title: fmt.Sprintf("review comment %d", c.GetID()), Err: err})
			continue
		}
		b.Add(n)
	}
	return nil
}

// issueEvents reads the repo-wide issue events (per item where the server
// has no repo-wide list, and for the items past GitHub's pagination limit:
// cap.go).
func (r *run) issueEvents() importer.Relation {
	return pastCap(orElse(listRelationWith(relIssueEvents, r,
		func(repo string) string { return r.listURL(repo, "issues/events", nil) }, marked(r, eventsMark),
		func(_ context.Context, b *builder, es []*gh.IssueEvent) error {
			for _, e := range es {
				b.event(e)
			}
			b.CountItems(len(es)) // unsupported events were fetched, not imported
			return nil
		}), r.itemEventsFallback()), r.itemEventsPast(), r.eventsPastCap)
}

// itemComments reads one issue's or pull request's comments
// (single_endpoint_notes_import): more calls, but no cap on how many.
func (r *run) itemComments() importer.Relation {
	return itemRelation(relItemComments, r, func(ctx context.Context, b *builder, key string) error {
		on, _, err := parseNoteableKey(key)
		if err != nil {
			return &importer.Permanent{Err: err}
		}
		repo, err := r.repoPath(ctx)
		if err != nil {
			return err
		}
		return r.addItemComments(ctx, b, repo, on)
	})
}

// addItemComments reads one item's conversation comments from its own
// list into the page (single_endpoint_notes_import, and the fallback of a
// server without the repo-wide list).
func (r *run) addItemComments(ctx context.Context, b *builder, repo string, on forge.Noteable) error {
	cs, err := all[*gh.IssueComment](ctx, r, r.listURL(repo, fmt.Sprintf("issues/%d/comments", on.IID), nil))
	if err != nil {
		return err
	}
	for _, c := range cs {
		b.Add(b.issueNote(c, on))
	}
	return nil
}

// addPullComments reads one pull request's review comments from its own
// list into the page.
func (r *run) addPullComments(ctx context.Context, b *builder, repo string, n int) error {
	cs, err := all[*gh.PullRequestComment](ctx, r, r.listURL(repo, fmt.Sprintf("pulls/%d/comments", n), nil))
	if err != nil {
		return err
	}
	return convertReviewComments(ctx, b, cs)
}

func (r *run) itemReviewComments() importer.Relation {
	return itemRelation(relItemReviewComments, r, func(ctx context.Context, b *builder, key string) error {
		n, err := strconv.Atoi(key)
		if err != nil {
			return &importer.Permanent{Err: fmt.Errorf("bad pull request key %q", key)}
		}
		repo, err := r.repoPath(ctx)
		if err != nil {
			return err
		}
		return r.addPullComments(ctx, b, repo, n)
	})
}

// pullRequestDetails reads each pull request's reviews (the one per-PR
// list; who merged comes with the repo-wide issue events). A submitted
// review with a body also becomes a note on the merge request (reviewNote),
// under a source id of its own, so a re-import updates it in place.
func (r *run) pullRequestDetails() importer.Relation {
	return batchedItemRelation(relPullRequestDetails, r, r.reviewsBatch, func(ctx context.Context, b *builder, key string) error {
		n, merged, err := parseDetailsKey(key)
		if err != nil {
			return &importer.Permanent{Err: err}
		}
		repo, err := r.repoPath(ctx)
		if err != nil {
			return err
		}
		_ = merged // merged_by comes with the issue events (forge.Closure), no GET pulls/:n
		rvs, err := all[*gh.PullRequestReview](ctx, r, r.listURL(repo, fmt.Sprintf("pulls/%d/reviews", n), nil))
		if err != nil {
			return fmt.Errorf("reviews of pull request %d: %w", n, err)
		}
		for _, rv := range rvs {
			if x, ok := b.review(rv, int64(n)); ok {
				b.Add(x)
			}
			if x, ok := b.reviewNote(rv, int64(n), detailsUpdated(key)); ok {
				b.Add(x)
			}
		}
		return nil
	})
}

// reactions reads the reactions of an issue, a pull request or a comment
// whose reaction count was not zero.
func (r *run) reactions() importer.Relation {
	return batchedItemRelation(relReactions, r, r.reactionsBatch, func(ctx context.Context, b *builder, key string) error {
		on, note, err := parseNoteableKey(key)
		if err != nil {
			return &importer.Permanent{Err: err}
		}
		repo, err := r.repoPath(ctx)
		if err != nil {
			return err
		}
		var suffix string
		kind, id, _ := strings.Cut(note, "/")
		switch kind {
		case "":
			suffix = fmt.Sprintf("issues/%d/reactions", on.IID)
		case kindIssueComment:
			suffix = "issues/comments/" + id + "/reactions"
		case kindReviewComment:
			suffix = "pulls/comments/" + id + "/reactions"
		default:
			return &importer.Permanent{Err: fmt.Errorf("bad reactions key %q", key)}
		}
		if _, err := strconv.ParseInt(id, 10, 64); kind != "" && err != nil {
			return &importer.Permanent{Err: fmt.Errorf("bad reactions key %q", key)}
		}
		xs, err := all[*gh.Reaction](ctx, r, r.listURL(repo, suffix, nil))
		if err != nil {
			return err
		}
		for _, x := range xs {
			if a, ok := b.award(x, on, note); ok {
				b.Add(a)
			}
		}
		return nil
	})
}

// users reads each person's profile once, for the name and the public
// e-mail that placeholder users are matched by.
func (r *run) users() importer.Relation {
	return batchedItemRelation(relUsers, r, r.usersBatch, func(ctx context.Context, b *builder, key string) error {
		login, _ := splitNode(key)
		// An empty login would read the token's own user.
		if login == "" || strings.ContainsAny(login, "/?#%") || login == ".." {
			return &importer.Permanent{Err: fmt.Errorf("bad login %q", login)}
		}
		u, _, err := r.client.Users.Get(ctx, login)
		if err != nil {
			return fmt.Errorf("get user: %w", classify(err))
		}
		b.Add(forge.SourceUser{SourceID: r.sid(idString(u.ID)), Login: u.GetLogin(), Name: u.GetName(), Email: u.GetEmail()})
		return nil
	})
}
