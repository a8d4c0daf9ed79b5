package github

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	gh "github.com/google/go-github/v92/github"

	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/source/internal/paging"
	"github.com/ferry-import/ferry/sourcehttp"
)

// An older GitHub Enterprise lacks some endpoints and answers them 404.
// Every list relation reads a 404 on its first page as "this server has no
// such list" (the repository itself was read by then, so it is not the
// repository that is missing):
//
//   - issue_comments (issues/comments) falls back to each item's
//     issues/:n/comments, for the items of the issues list (pull requests
//     included) whose comments count is not zero;
//   - review_comments (pulls/comments) falls back to each pull request's
//     pulls/:n/comments, for the pull requests the pull_requests relation
//     queued;
//   - issue_events (issues/events) falls back to each item's
//     issues/:n/events, for every item of the issues list (GitHub counts no
//     events per item);
//   - any other list (labels, milestones, releases, protected_branches,
//     collaborators, pull_requests, issues) has no other source: the
//     relation ends with one failed item, "the source has no <endpoint>
//     (404): not imported", and the import goes on.
//
// A 404 past the first page, or on a per-item call, is an item gone, as
// before. The fallback's cursors carry viaFallback, so a job resumed after
// the switch goes on with the fallback.
const viaFallback = "per-item:"

// endpointList is a list relation that knows what to do when its endpoint
// is missing.
type endpointList struct {
	name     string
	r        *run
	list     importer.Relation
	first    func(repo string) string
	fallback importer.Relation // nil: list the relation as not imported
	// past goes on past GitHub's pagination limit (cap.go) from the cursor
	// onCap gives for the refused one; nil lists the limit as a failed item.
	past  importer.Relation
	onCap func(ctx context.Context, cursor string) (string, error)
}

// pastCap gives a list relation built by listRelation a way past GitHub's
// pagination limit.
func pastCap(rel, past importer.Relation, onCap func(ctx context.Context, cursor string) (string, error)) importer.Relation {
	e := rel.(*endpointList)
	e.past, e.onCap = past, onCap
	return e
}

func (e *endpointList) Name() string { return e.name }

// orElse gives a list relation built by listRelation a fallback.
func orElse(rel, fallback importer.Relation) importer.Relation {
	e := rel.(*endpointList)
	e.fallback = fallback
	return e
}

// missing reports a 404 answer: the endpoint, on a first page.
func missing(err error) bool { return sourcehttp.StatusOf(err) == http.StatusNotFound }

func (e *endpointList) Fetch(ctx context.Context, cursor string) (importer.Page, error) {
	if rest, ok := strings.CutPrefix(cursor, viaFallback); ok && e.fallback != nil {
		return e.fromFallback(ctx, rest)
	}
	if rest, ok := strings.CutPrefix(cursor, viaPastCap); ok && e.past != nil {
		return via(ctx, e.past, viaPastCap, rest)
	}
	p, err := e.list.Fetch(ctx, cursor)
	if err != nil && cursor != "" && capped(err) {
		return e.pastCap(ctx, cursor, err)
	}
	if err == nil || cursor != "" || !missing(err) {
		return p, err
	}
	repo, rerr := e.r.repoPath(ctx)
	if rerr != nil {
		return importer.Page{}, rerr
	}
	endpoint := e.first(repo)
	if u, perr := url.Parse(endpoint); perr == nil {
		endpoint = u.Path
	}
	if e.fallback == nil {
		return importer.Page{Failures: []importer.ItemFailure{{SourceURL: e.r.base.String() + endpoint, Title: e.name,
			Err: &importer.Permanent{Err: fmt.Errorf("the source has no /%s (404): not imported", endpoint)}}}}, nil
	}
	if e.r.env.Log != nil {
		e.r.env.Log.InfoContext(ctx, "source has no repo-wide list; reading per item", "relation", e.name, "endpoint", "/"+endpoint)
	}
	return e.fromFallback(ctx, "")
}

func (e *endpointList) fromFallback(ctx context.Context, cursor string) (importer.Page, error) {
	return via(ctx, e.fallback, viaFallback, cursor)
}

// pastCap goes on past GitHub's pagination limit, met at cursor, or lists
// the limit as a failed item where the list has no way past it.
func (e *endpointList) pastCap(ctx context.Context, cursor string, err error) (importer.Page, error) {
	if e.past == nil {
		u, _ := splitCursor(cursor)
		return importer.Page{Failures: []importer.ItemFailure{{SourceURL: u, Title: e.name,
			Err: &importer.Permanent{Err: fmt.Errorf("GitHub limits how deep this list may be paged: the items past it are not imported: %w", err)}}}}, nil
	}
	start, err := e.onCap(ctx, cursor)
	if err != nil {
		return importer.Page{}, err
	}
	return via(ctx, e.past, viaPastCap, start)
}

// via reads rel's page at cursor, its cursors prefixed.
func via(ctx context.Context, rel importer.Relation, prefix, cursor string) (importer.Page, error) {
	p, err := rel.Fetch(ctx, cursor)
	if err != nil {
		return p, err
	}
	if p.Next != "" {
		p.Next = prefix + p.Next
	}
	for i, a := range p.Ahead {
		p.Ahead[i] = prefix + a
	}
	return p, nil
}

// perItem is a fallback over the issues list (pull requests included):
// each page's items are read one by one with each. An item the source
// refuses (gone, forbidden) is a failed item and the rest go on.
func (r *run) perItem(name string, each func(ctx context.Context, b *builder, repo string, i *gh.Issue, on forge.Noteable) error) importer.Relation {
	return paging.NewList(name, paging.ListFuncs[*gh.Issue]{
		First: func(ctx context.Context) (string, error) {
			repo, err := r.repoPath(ctx)
			if err != nil {
				return "", err
			}
			return r.issuesURL(repo), nil
		},
		Fetch: func(ctx context.Context, u string) (paging.Fetched[*gh.Issue], error) {
			items, next, ahead, err := getPageAhead[*gh.Issue](ctx, r, u)
			return paging.Fetched[*gh.Issue]{Items: items, Next: next, Ahead: ahead}, err
		},
		Convert: func(ctx context.Context, is []*gh.Issue) (*paging.Builder, error) {
			b := r.builder()
			repo, err := r.repoPath(ctx)
			if err != nil {
				return nil, err
			}
			for _, i := range is {
				on := forge.Noteable{Type: forge.OnIssue, IID: int64(i.GetNumber())}
				if i.IsPullRequest() {
					on.Type = forge.OnMergeRequest
				}
				err := each(ctx, b, repo, i, on)
				if err != nil && paging.Refused(err) { // a 401 is not refused: it stops the relation
					b.Fail(importer.ItemFailure{SourceURL: r.base.String() + "#" + name + "/" + noteableKey(on),
						Title: name + " " + noteableKey(on), Err: err})
					continue
				}
				if err != nil {
					return nil, fmt.Errorf("%s of %s: %w", name, noteableKey(on), err)
				}
			}
			return b.Builder, nil
		},
	})
}

// itemCommentsFallback reads issue_comments per item.
func (r *run) itemCommentsFallback() importer.Relation {
	return r.perItem(relIssueComments, func(ctx context.Context, b *builder, repo string, i *gh.Issue, on forge.Noteable) error {
		if i.GetComments() == 0 {
			return nil
		}
		return r.addItemComments(ctx, b, repo, on)
	})
}

// itemEventsFallback reads issue_events per item; the per-item list does
// not repeat the item in each event, so the listed item is put there.
func (r *run) itemEventsFallback() importer.Relation {
	return r.perItem(relIssueEvents, r.itemEvents)
}

// itemEvents reads the events of item i (on) from its own list.
func (r *run) itemEvents(ctx context.Context, b *builder, repo string, i *gh.Issue, on forge.Noteable) error {
	es, err := all[*gh.IssueEvent](ctx, r, r.listURL(repo, fmt.Sprintf("issues/%d/events", on.IID), nil))
	if err != nil {
		return err
	}
	for _, e := range es {
		if e.Issue == nil {
			e.Issue = i
		}
		b.event(e)
	}
	b.CountItems(len(es)) // as issueEvents: events read, imported or not
	return nil
}

// noteableOf is item n as a noteable.
func noteableOf(n int, pr bool) forge.Noteable {
	if pr {
		return forge.Noteable{Type: forge.OnMergeRequest, IID: int64(n)}
	}
	return forge.Noteable{Type: forge.OnIssue, IID: int64(n)}
}

// pullCommentsFallback reads review_comments per pull request, for the
// pull requests the pull_requests relation queued (an earlier stage, so
// the queue is complete).
func (r *run) pullCommentsFallback() importer.Relation {
	return paging.NewItems(relReviewComments, paging.ItemsConfig{
		Followups: queueOf{r.env.Followups, relPullRequestDetails},
		Each: func(ctx context.Context, pb *paging.Builder, key string) error {
			n, _, err := parseDetailsKey(key)
			if err != nil {
				return &importer.Permanent{Err: err}
			}
			repo, err := r.repoPath(ctx)
			if err != nil {
				return err
			}
			return r.addPullComments(ctx, &builder{Builder: pb, r: r}, repo, n)
		},
		ItemURL: func(key string) string { return r.itemURL(relPullRequestDetails, key) },
		Log:     r.env.Log,
	})
}

// queueOf reads another relation's followups as if they were queued for
// the asking one.
type queueOf struct {
	q    importer.Followups
	from string
}

func (q queueOf) Next(ctx context.Context, _ string, after int64, limit int) ([]importer.Queued, error) {
	return q.q.Next(ctx, q.from, after, limit)
}
