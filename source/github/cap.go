package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v92/github"

	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/source/internal/paging"
	"github.com/ferry-import/ferry/sourcehttp"
)

// GitHub refuses page numbers past a depth on its repository-wide lists:
// HTTP 422 "In order to keep the API fast for everyone, pagination is
// limited for this resource…" (or, newer, "Pagination with the page
// parameter is not supported for large datasets, please use cursor based
// pagination"), and its rel="last" then names the deepest page one may
// read. Past it, nothing may be lost:
//
//   - issues, issue_comments and review_comments take since (GitHub keeps
//     items updated at or after it): they are read by creation ascending
//     in numbered pages, as without a limit, and at the cap go on sorted by
//     update ascending with since = the created_at of the last item read
//     (every item not read yet was created, so updated, then or later),
//     stepping: each next page is since = the last update read, from page
//     1, the items already given coming again as they were (same id and
//     updated_at) dropped. Numbered
//     pages by update would lose an item each time one already read is
//     updated (the rest shift back a place); stepping loses none. An item
//     updated during the import may be read twice (upsert: harmless), and
//     items created before the cap but updated after it are read again
//     (at most the cap's depth).
//   - pull_requests (no since) is read by creation ascending; at the cap
//     it goes on from the other end (direction=desc) down to the last pull
//     request read, and, should that list be capped too, asks
//     pulls/:number for each number in between (a number that is an issue
//     answers 404 and is skipped).
//   - issue_events (no since, newest first) falls back, at the cap, to
//     each item's own events, for exactly the items whose events may be
//     older than the oldest event reached: the items created before it.
//     Item numbers grow with creation, so these are the numbers below the
//     first item the last page shows created after that event. With
//     GraphQL they are read 100 items' timelines a query (timeline.go),
//     else, or for an item a query cannot finish, issues/:number/events.
//   - any other list is listed as a failed item naming the limit.
//
// Cursors stay the URL of the page to read, with a fragment (never sent)
// carrying what going on needs after a restart: skip (id@updated_at of
// the items already given that the window gives again), and, on the one next link past rel="last" (the page
// GitHub will refuse), what the page before it ended with (at, ids, last,
// below). Without it (a cursor written before) the page before is read
// again. Cursor pagination (a next link with after= instead of page=) is
// followed as given.
const (
	fragSkip  = "skip"  // id@updated_at of the items already given that the window gives again
	fragAt    = "at"    // the created_at the page ended with (its last item's, its oldest event's)
	fragIDs   = "ids"   // id@updated_at of the page's items updated at or after fragAt
	fragLast  = "last"  // the number of the page's last pull request
	fragBelow = "below" // the first item number known to be created after fragAt
)

// viaPastCap prefixes the cursors of a list's relation past the cap
// (endpointList.past), so a job resumed there goes on there.
const viaPastCap = "past-cap:"

// capped reports GitHub's answer to a page past its pagination limit.
func capped(err error) bool {
	if sourcehttp.StatusOf(err) != http.StatusUnprocessableEntity {
		return false
	}
	msg := err.Error()
	var er *gh.ErrorResponse
	if errors.As(err, &er) {
		msg = er.Message
	}
	msg = strings.ToLower(msg)
	return strings.Contains(msg, "pagination is limited") ||
		strings.Contains(msg, "pagination with the page parameter is not supported")
}

// splitCursor parts a list cursor into the URL to read and its fragment.
func splitCursor(c string) (string, url.Values) {
	u, frag, ok := strings.Cut(c, "#")
	if !ok {
		return c, url.Values{}
	}
	v, err := url.ParseQuery(frag)
	if err != nil {
		return u, url.Values{}
	}
	return u, v
}

func joinCursor(u string, frag url.Values) string {
	if len(frag) == 0 {
		return u
	}
	return u + "#" + frag.Encode()
}

// queryOf is a query parameter of URL u, "" when none.
func queryOf(u, key string) string {
	pu, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return pu.Query().Get(key)
}

// pastLast reports a numbered next link past rel="last": the page GitHub
// will refuse.
func pastLast(next, last string) bool {
	n, err := strconv.Atoi(queryOf(next, "page"))
	if err != nil {
		return false // cursor pagination: no limit
	}
	l, err := strconv.Atoi(queryOf(last, "page"))
	return err != nil || n > l
}

// markFunc says what a page ended with, for going on past the cap.
type markFunc[T any] func(u string, items []T, frag url.Values) url.Values

// fetchList reads the page at cursor: the Link next URL, with the
// window's skip carried to the next pages, and mark's fragment on a next
// link past rel="last".
func fetchList[T any](ctx context.Context, r *run, cursor string, mark markFunc[T]) (paging.Fetched[T], url.Values, error) {
	u, frag := splitCursor(cursor)
	items, link, err := getRaw[T](ctx, r, u)
	if err != nil {
		return paging.Fetched[T]{}, frag, err
	}
	next, err := r.nextURL(link)
	if err != nil || next == "" {
		return paging.Fetched[T]{Items: items}, frag, err
	}
	carry := url.Values{}
	if s := frag.Get(fragSkip); s != "" {
		carry.Set(fragSkip, s)
	}
	last := paging.LinkRel(link, "last")
	nf := carry
	if mark != nil && len(items) > 0 && pastLast(next, last) {
		nf = mark(u, items, frag)
		if s := carry.Get(fragSkip); s != "" {
			nf.Set(fragSkip, s)
		}
	}
	f := paging.Fetched[T]{Items: items, Next: joinCursor(next, nf)}
	for _, a := range paging.PagesAfter(next, last, "page", aheadPages) {
		f.Ahead = append(f.Ahead, joinCursor(a, carry))
	}
	return f, frag, nil
}

// resumeMark is what the page before the refused one at cursor ended
// with: from the cursor when it carries key, else read again.
func resumeMark[T any](ctx context.Context, r *run, cursor, key string, mark markFunc[T]) (url.Values, error) {
	u, frag := splitCursor(cursor)
	if frag.Get(key) != "" {
		return frag, nil
	}
	pu, err := url.Parse(u)
	if err != nil {
		return nil, &importer.Permanent{Err: fmt.Errorf("bad list cursor %q", u)}
	}
	q := pu.Query()
	p, err := strconv.Atoi(q.Get("page"))
	if err != nil || p < 2 {
		return nil, &importer.Permanent{Err: fmt.Errorf("GitHub refused %s as past its pagination limit, and it names no page before", pu.Path)}
	}
	q.Set("page", strconv.Itoa(p-1))
	pu.RawQuery = q.Encode()
	items, _, err := getRaw[T](ctx, r, pu.String())
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, &importer.Permanent{Err: fmt.Errorf("GitHub refused %s page %d as past its pagination limit after an empty page", pu.Path, p)}
	}
	return mark(pu.String(), items, frag), nil
}

// stamped is a list item GitHub filters by since.
type stamped interface {
	GetID() int64
	GetCreatedAt() gh.Timestamp
	GetUpdatedAt() gh.Timestamp
}

func sinceOf(u string) time.Time {
	t, _ := time.Parse(time.RFC3339, queryOf(u, "since"))
	return t
}

// seen is what a since window already gave: item id → its updated_at
// (Unix seconds) when given, written "id@unix,…" in the cursor's skip.
type seen map[int64]int64

func parseSeen(s string) seen {
	out := seen{}
	for f := range strings.SplitSeq(s, ",") {
		id, at, ok := strings.Cut(f, "@")
		i, err1 := strconv.ParseInt(id, 10, 64)
		t, err2 := strconv.ParseInt(at, 10, 64)
		if ok && err1 == nil && err2 == nil {
			out[i] = t
		}
	}
	return out
}

func (s seen) String() string {
	ids := make([]int64, 0, len(s))
	for id := range s {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10) + "@" + strconv.FormatInt(s[id], 10)
	}
	return strings.Join(parts, ",")
}

// sinceMark is where a page read by creation ended, for going on by
// update: the last item's created_at (every item not read yet was created,
// so updated, at or after it) and the page's items updated then or later
// (they come again, as they were: skipped).
func sinceMark[T stamped](_ string, items []T, _ url.Values) url.Values {
	at := items[len(items)-1].GetCreatedAt().Time
	given := seen{}
	for _, it := range items {
		if u := it.GetUpdatedAt().Time; !u.Before(at) {
			given[it.GetID()] = u.Unix()
		}
	}
	return url.Values{fragAt: {at.UTC().Format(time.RFC3339)}, fragIDs: {given.String()}}
}

// windowed reads a list that takes since: by creation ascending, numbered
// pages announced ahead, exactly as without a limit (its first URL says
// so); at GitHub's cap it goes on by update, since-stepping.
func windowed[T stamped](r *run) func(ctx context.Context, cursor string) (paging.Fetched[T], error) {
	return func(ctx context.Context, cursor string) (paging.Fetched[T], error) {
		if u, _ := splitCursor(cursor); queryOf(u, "since") != "" {
			return sinceStep[T](ctx, r, cursor)
		}
		f, _, err := fetchList[T](ctx, r, cursor, sinceMark[T])
		if !capped(err) {
			return f, err
		}
		m, err := resumeMark[T](ctx, r, cursor, fragAt, sinceMark[T])
		if err != nil {
			return f, err
		}
		u, _ := splitCursor(cursor)
		pu, err := url.Parse(u)
		if err != nil {
			return f, &importer.Permanent{Err: fmt.Errorf("bad list cursor %q", u)}
		}
		q := pu.Query()
		q.Del("page")
		q.Set("sort", "updated")
		q.Set("direction", "asc")
		q.Set("since", m.Get(fragAt))
		pu.RawQuery = q.Encode()
		if r.env.Log != nil {
			r.env.Log.InfoContext(ctx, "GitHub's pagination limit reached; going on by update", "endpoint", pu.Path, "since", m.Get(fragAt))
		}
		return sinceStep[T](ctx, r, joinCursor(pu.String(), url.Values{fragSkip: {m.Get(fragIDs)}}))
	}
}

// sinceStep reads the page at cursor (since=T, sorted by update
// ascending): the items it already gave, as they were (skip), are dropped,
// and the next page is since = the last update read, from page 1, the
// ids updated at that instant to skip. An item updated meanwhile moves
// behind the cursor and is read again (upsert); none moves ahead of it
// unread, as it would between numbered pages. Only a run of items sharing
// one update time is paged by number.
func sinceStep[T stamped](ctx context.Context, r *run, cursor string) (paging.Fetched[T], error) {
	u, frag := splitCursor(cursor)
	items, link, err := getRaw[T](ctx, r, u)
	if capped(err) {
		return paging.Fetched[T]{}, &importer.Permanent{Err: fmt.Errorf("more items than GitHub pages through share updated_at %s: the rest cannot be reached: %w",
			queryOf(u, "since"), err)}
	}
	if err != nil {
		return paging.Fetched[T]{}, err
	}
	next, err := r.nextURL(link)
	if err != nil {
		return paging.Fetched[T]{}, err
	}
	since := sinceOf(u)
	skip := parseSeen(frag.Get(fragSkip))
	f := paging.Fetched[T]{Items: slices.DeleteFunc(slices.Clone(items), func(it T) bool {
		t, ok := skip[it.GetID()]
		return ok && t == it.GetUpdatedAt().Unix()
	})}
	if next == "" || len(items) == 0 {
		return f, nil
	}
	if _, err := strconv.Atoi(queryOf(next, "page")); err != nil {
		// Cursor pagination: followed as given.
		f.Next = joinCursor(next, url.Values{fragSkip: {skip.String()}})
		return f, nil
	}
	at := items[len(items)-1].GetUpdatedAt().Time
	pu, err := url.Parse(u)
	if err != nil {
		return f, &importer.Permanent{Err: fmt.Errorf("bad list cursor %q", u)}
	}
	q := pu.Query()
	if at.Equal(since) {
		// A page of one instant: the next page of the same window.
		p, _ := strconv.Atoi(q.Get("page"))
		q.Set("page", strconv.Itoa(max(p, 1)+1))
	} else {
		q.Del("page")
		q.Set("since", at.UTC().Format(time.RFC3339))
	}
	// What the next window gives again: what was given updated at or
	// after its since.
	next2 := seen{}
	for id, t := range skip {
		if t >= at.Unix() {
			next2[id] = t
		}
	}
	for _, it := range items {
		if it.GetUpdatedAt().Time.Equal(at) {
			next2[it.GetID()] = at.Unix()
		}
	}
	pu.RawQuery = q.Encode()
	f.Next = joinCursor(pu.String(), url.Values{fragSkip: {next2.String()}})
	return f, nil
}

// marked reads a list without since, putting mark's fragment on a next
// link past rel="last" (endpointList.onCap reads it).
func marked[T any](r *run, mark markFunc[T]) func(ctx context.Context, cursor string) (paging.Fetched[T], error) {
	return func(ctx context.Context, cursor string) (paging.Fetched[T], error) {
		f, _, err := fetchList[T](ctx, r, cursor, mark)
		return f, err
	}
}

// numbers is a queue of the item numbers lo < n < hi, as if queued as
// followups with sequence number n.
type numbers struct{ lo, hi int64 }

func (q numbers) Next(_ context.Context, _ string, after int64, limit int) ([]importer.Queued, error) {
	var out []importer.Queued
	for n := max(after, q.lo) + 1; n < q.hi && len(out) < limit; n++ {
		out = append(out, importer.Queued{Seq: n, Key: strconv.FormatInt(n, 10)})
	}
	return out, nil
}

// numbered reads items lo < n < hi one by one with each, on the per-item
// machinery of fallback.go (paging.NewItems); an item GitHub has not (404)
// is skipped. Its cursor is "lo:hi:seq".
func (r *run) numbered(name string, each func(ctx context.Context, b *builder, n int) error) *numberedRelation {
	return &numberedRelation{name: name, r: r, each: each}
}

type numberedRelation struct {
	name string
	r    *run
	each func(ctx context.Context, b *builder, n int) error
	// batch, when set, reads a page of numbers with GraphQL queries while
	// GraphQL is usable (paging.ItemsConfig.EachBatch), each leaving what
	// it could not finish to each; a page is then as many numbers as
	// gqlWorkers queries ask for. The cursor is the same either way.
	batch func(ctx context.Context, keys []string) ([]paging.BatchItem, error)
}

func (n *numberedRelation) Name() string { return n.name }

func (n *numberedRelation) Fetch(ctx context.Context, cursor string) (importer.Page, error) {
	parts := strings.SplitN(cursor, ":", 3)
	if len(parts) != 3 {
		return importer.Page{}, &importer.Permanent{Err: fmt.Errorf("%s: bad cursor %q", n.name, cursor)}
	}
	lo, err1 := strconv.ParseInt(parts[0], 10, 64)
	hi, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil {
		return importer.Page{}, &importer.Permanent{Err: fmt.Errorf("%s: bad cursor %q", n.name, cursor)}
	}
	r := n.r
	var batch func(ctx context.Context, keys []string) ([]paging.BatchItem, error)
	size := 0 // paging's default
	if n.batch != nil && r.gql.usable() {
		batch, size = n.batch, gqlWorkers*gqlMaxNodes
	}
	p, err := paging.NewItems(n.name, paging.ItemsConfig{
		Followups: numbers{lo: lo, hi: hi},
		EachBatch: batch,
		Batch:     size,
		Each: func(ctx context.Context, pb *paging.Builder, key string) error {
			num, err := strconv.Atoi(key)
			if err != nil {
				return &importer.Permanent{Err: err}
			}
			if err := n.each(ctx, &builder{Builder: pb, r: r}, num); err != nil && !paging.Gone(err) {
				return err
			}
			return nil
		},
		ItemURL: func(key string) string { return r.itemURL(n.name, key) },
		Log:     r.env.Log,
	}).Fetch(ctx, parts[2])
	if err != nil {
		return p, err
	}
	if p.Next != "" {
		p.Next = parts[0] + ":" + parts[1] + ":" + p.Next
	}
	return p, nil
}

// eventsMark is where a page of repository events (newest first) ended:
// its oldest event's time, and the first item number the page shows
// created after it.
func eventsMark(_ string, es []*gh.IssueEvent, _ url.Values) url.Values {
	at := es[len(es)-1].GetCreatedAt().Time
	v := url.Values{fragAt: {at.UTC().Format(time.RFC3339)}}
	below := 0
	for _, e := range es {
		iss := e.GetIssue()
		if n := iss.GetNumber(); n > 0 && iss.GetCreatedAt().After(at) && (below == 0 || n < below) {
			below = n
		}
	}
	if below > 0 {
		v.Set(fragBelow, strconv.Itoa(below))
	}
	return v
}

// eventsPastCap is where issue_events goes on at the cap: the items the
// repository list could not reach (numbers below the mark's), per item.
func (r *run) eventsPastCap(ctx context.Context, cursor string) (string, error) {
	m, err := resumeMark(ctx, r, cursor, fragAt, eventsMark)
	if err != nil {
		return "", err
	}
	below, err := strconv.Atoi(m.Get(fragBelow))
	if err != nil {
		// No item on the page is newer than its oldest event: every item
		// up to the newest may be unreached.
		repo, err := r.repoPath(ctx)
		if err != nil {
			return "", err
		}
		newest := strings.Replace(r.listURL(repo, "issues", url.Values{"state": {"all"}, "sort": {"created"}, "direction": {"desc"}}),
			"per_page="+strconv.Itoa(r.perPage), "per_page=1", 1)
		is, _, err := getRaw[*gh.Issue](ctx, r, newest)
		if err != nil {
			return "", err
		}
		if len(is) > 0 {
			below = is[0].GetNumber() + 1
		}
	}
	if r.env.Log != nil {
		r.env.Log.InfoContext(ctx, "GitHub's pagination limit reached on the repository's issue events; reading the items below per item",
			"before", m.Get(fragAt), "items_below", below)
	}
	return "0:" + strconv.Itoa(below) + ":", nil
}

// itemEventsPast reads the events of item n past the cap: with GraphQL,
// a page of items a query (timeline.go), else, or for an item GraphQL
// could not finish, issues/:number/events.
func (r *run) itemEventsPast() importer.Relation {
	rel := r.numbered(relIssueEvents, func(ctx context.Context, b *builder, n int) error {
		repo, err := r.repoPath(ctx)
		if err != nil {
			return err
		}
		pr, err := r.isPR(ctx, n)
		if err != nil {
			return err
		}
		i := &gh.Issue{Number: gh.Ptr(n)}
		on := noteableOf(n, pr)
		if pr {
			i.PullRequestLinks = &gh.PullRequestLinks{}
		}
		return r.itemEvents(ctx, b, repo, i, on)
	})
	rel.batch = r.eventsBatch
	return rel
}

// pullsMark is the number of a page's last pull request.
func pullsMark(_ string, ps []*gh.PullRequest, _ url.Values) url.Values {
	return url.Values{fragLast: {strconv.Itoa(ps[len(ps)-1].GetNumber())}}
}

// pullsPastCap goes on from the other end of the pulls list, down to the
// last pull request read.
func (r *run) pullsPastCap(ctx context.Context, cursor string) (string, error) {
	m, err := resumeMark(ctx, r, cursor, fragLast, pullsMark)
	if err != nil {
		return "", err
	}
	repo, err := r.repoPath(ctx)
	if err != nil {
		return "", err
	}
	if r.env.Log != nil {
		r.env.Log.InfoContext(ctx, "GitHub's pagination limit reached on pull requests; reading from the newest", "after", m.Get(fragLast))
	}
	return "desc:" + m.Get(fragLast) + ":0:" + r.listURL(repo, "pulls", url.Values{"state": {"all"}, "sort": {"created"}, "direction": {"desc"}}), nil
}

// pullsPast reads pull requests past the cap: "desc:<last>:<lowest>:<url>"
// newest first down to last, then "gap:<lo>:<hi>:<seq>" one number at a
// time should the newest-first list be capped before it got there.
type pullsPast struct {
	r       *run
	convert func(ctx context.Context, b *builder, ps []*gh.PullRequest) error
	gap     importer.Relation
}

func (r *run) pullsPast(convert func(ctx context.Context, b *builder, ps []*gh.PullRequest) error) importer.Relation {
	return &pullsPast{r: r, convert: convert, gap: r.numbered(relPullRequests, func(ctx context.Context, b *builder, n int) error {
		repo, err := r.repoPath(ctx)
		if err != nil {
			return err
		}
		owner, name, _ := strings.Cut(repo, "/")
		p, _, err := r.client.PullRequests.Get(ctx, owner, name, n)
		if err != nil {
			return classify(err) // 404: an issue, skipped
		}
		return convert(ctx, b, []*gh.PullRequest{p})
	})}
}

func (p *pullsPast) Name() string { return relPullRequests }

func (p *pullsPast) Fetch(ctx context.Context, cursor string) (importer.Page, error) {
	if rest, ok := strings.CutPrefix(cursor, "gap:"); ok {
		pg, err := p.gap.Fetch(ctx, rest)
		if pg.Next != "" {
			pg.Next = "gap:" + pg.Next
		}
		return pg, err
	}
	parts := strings.SplitN(strings.TrimPrefix(cursor, "desc:"), ":", 3)
	if !strings.HasPrefix(cursor, "desc:") || len(parts) != 3 {
		return importer.Page{}, &importer.Permanent{Err: fmt.Errorf("%s: bad cursor %q", relPullRequests, cursor)}
	}
	last, err1 := strconv.Atoi(parts[0])
	lowest, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return importer.Page{}, &importer.Permanent{Err: fmt.Errorf("%s: bad cursor %q", relPullRequests, cursor)}
	}
	ps, next, err := getPage[*gh.PullRequest](ctx, p.r, parts[2])
	if capped(err) && lowest > 0 {
		return p.Fetch(ctx, fmt.Sprintf("gap:%d:%d:", last, lowest))
	}
	if err != nil {
		return importer.Page{}, err
	}
	n := len(ps)
	ps = slices.DeleteFunc(ps, func(pr *gh.PullRequest) bool { return pr.GetNumber() <= last })
	for _, pr := range ps {
		if lowest == 0 || pr.GetNumber() < lowest {
			lowest = pr.GetNumber()
		}
	}
	b := p.r.builder()
	if err := p.convert(ctx, b, ps); err != nil {
		return importer.Page{}, err
	}
	if len(ps) < n || next == "" {
		return b.Page(""), nil
	}
	return b.Page(fmt.Sprintf("desc:%d:%d:%s", last, lowest, next)), nil
}
