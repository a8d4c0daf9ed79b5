package bitbucketserver

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/gitstore"
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/source/internal/paging"
)

// repository reads the repository and mirrors its git data; the import
// makes no sense without it (paging.Critical).
func (r *run) repository(ctx context.Context) (importer.Page, error) {
	var repo repository
	if err := r.get(ctx, r.repoPath(), &repo); err != nil {
		return importer.Page{}, fmt.Errorf("get repository %s: %w", r.env.SourceRef, err)
	}
	if repo.ScmID != "" && repo.ScmID != "git" {
		return importer.Page{}, &importer.Permanent{Err: fmt.Errorf("repository %s is %s, not git", r.env.SourceRef, repo.ScmID)}
	}
	clone, err := r.cloneURL(repo)
	if err != nil {
		return importer.Page{}, err
	}
	if err := r.env.Git.Mirror(ctx, r.env.ProjectID, clone, r.credential(), gitstore.BitbucketServerRefspecs()...); err != nil {
		return importer.Page{}, fmt.Errorf("mirror repository: %w", err)
	}
	vis := "private"
	if repo.Public || repo.Project.Public {
		vis = "public"
	}
	return importer.Page{Objects: []forge.Object{
		forge.Repository{SourceID: r.sid("repository/" + strconv.FormatInt(repo.ID, 10)), Description: repo.Description, Visibility: vis},
		importer.Followup{Relation: relLFSObjects, Key: clone},
	}}, nil
}

// pullRequests lists every pull request, oldest first; each queues its
// activities.
func (r *run) pullRequests() importer.Relation {
	path := r.repoPath() + "/pull-requests"
	return paging.NewList(relPullRequests, paging.ListFuncs[pullRequest]{
		First: func(context.Context) (string, error) { return "0", nil },
		Fetch: func(ctx context.Context, start string) (paging.Fetched[pullRequest], error) {
			return getPage[pullRequest](ctx, r, path, url.Values{"state": {"ALL"}, "order": {"OLDEST"}}, start)
		},
		Convert: func(ctx context.Context, prs []pullRequest) (*paging.Builder, error) {
			b := r.builder()
			for _, pr := range prs {
				if pr.ID <= 0 {
					return nil, &importer.Permanent{Err: fmt.Errorf("pull request without an id")}
				}
				b.Add(b.mergeRequest(pr))
				// Every comment and reply of its threads, as the server
				// counts them, is checked when the import ends.
				b.Expect(ferry.Expectation{Type: "comments", OnType: forge.OnMergeRequest, OnIID: pr.ID, Kind: forge.KindNote,
					Prefix: "comment/", Count: pr.Properties.CommentCount, Title: fmt.Sprintf("pull request #%d %s", pr.ID, pr.Title),
					SourceURL: r.server.String() + r.repoPath() + "/pull-requests/" + strconv.FormatInt(pr.ID, 10)})
				b.Follow(relActivities, strconv.FormatInt(pr.ID, 10))
			}
			if err := r.fetchClosedCommits(ctx, b, prs); err != nil {
				return nil, err
			}
			return b.Builder, nil
		},
	})
}

// fetchClosedCommits brings the commits of merged and declined pull
// requests into the mirror, as GitLab's importer does: Bitbucket drops
// their refs/pull-requests refs but keeps the commits. The source head
// becomes refs/merge-requests/<iid>/head, the target head and the merge
// commit refs/keep-around/<sha>. A commit the server will not give is a
// failed item, not silence.
func (r *run) fetchClosedCommits(ctx context.Context, b *builder, prs []pullRequest) error {
	want := map[string]string{} // ref → commit
	prOf := map[string]int64{}  // commit → a pull request it belongs to
	clone := ""
	for _, pr := range prs {
		if pr.State == "OPEN" {
			continue
		}
		if clone == "" {
			c, err := r.cloneURL(pr.ToRef.Repository)
			if err != nil {
				return err
			}
			clone = c
		}
		if sha := pr.FromRef.LatestCommit; sha != "" {
			want[fmt.Sprintf("refs/merge-requests/%d/head", pr.ID)], prOf[sha] = sha, pr.ID
		}
		for _, sha := range []string{pr.ToRef.LatestCommit, mergeCommit(pr)} {
			if sha != "" {
				want["refs/keep-around/"+sha] = sha
				if _, ok := prOf[sha]; !ok {
					prOf[sha] = pr.ID
				}
			}
		}
	}
	if len(want) == 0 {
		return nil
	}
	missing, err := r.env.Git.FetchCommits(ctx, r.env.ProjectID, clone, r.credential(), want)
	if err != nil {
		return fmt.Errorf("fetch commits of closed pull requests: %w", err)
	}
	for _, sha := range missing {
		b.Fail(importer.ItemFailure{SourceURL: r.server.String() + r.repoPath() + "/pull-requests/" + strconv.FormatInt(prOf[sha], 10),
			Title: fmt.Sprintf("commit %s of pull request %d", sha, prOf[sha]),
			Err:   &importer.Permanent{Err: fmt.Errorf("the server does not give commit %s", sha)}})
	}
	return nil
}

// activities reads one pull request's activity stream (all its pages) into
// notes, diff notes, approvals, reviews, merge and decline events.
func (r *run) activities() importer.Relation {
	return paging.NewItems(relActivities, paging.ItemsConfig{
		Followups: r.env.Followups,
		Each: func(ctx context.Context, pb *paging.Builder, key string) error {
			id, err := strconv.ParseInt(key, 10, 64)
			if err != nil || id <= 0 {
				return &importer.Permanent{Err: fmt.Errorf("bad pull request key %q", key)}
			}
			acts, err := all[activity](ctx, r, r.repoPath()+"/pull-requests/"+key+"/activities", nil)
			if err != nil {
				return fmt.Errorf("activities of pull request %d: %w", id, err)
			}
			b := &builder{Builder: pb, r: r}
			standing := standingApprovals(acts)
			for _, a := range acts {
				b.activity(id, a, standing[a.ID])
			}
			b.CountItems(len(acts))
			return nil
		},
		ItemURL: func(key string) string {
			return r.server.String() + r.repoPath() + "/pull-requests/" + key
		},
		Log: r.env.Log,
	})
}

// lfsObjects fetches the LFS objects the mirrored repository points at.
func (r *run) lfsObjects() importer.Relation {
	return paging.LFSObjects(relLFSObjects, r.env, r.credential())
}
