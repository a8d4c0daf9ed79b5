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
//     items updated at or after it): they are read sorted by updated
//     ascending, and at the cap the list goes on from page 1 with since =
//     the updated_at of the last item read (a window). The items of the
//     new window with exactly that updated_at that the previous window
//     already gave are dropped by id. An item updated during the import
//     may be read twice (upsert: harmless).
//   - pull_requests (no since) is read by creation ascending; at the cap
//     it goes on from the other end (direction=desc) down to the last pull
//     request read, and, should that list be capped too, asks
//     pulls/:number for each number in between (a number that is an issue
//     answers 404 and is skipped).
//   - issue_events (no since, newest first) falls back, at the cap, to
//     each item's issues/:number/events, for exactly the items whose
//     events may be older than the oldest event reached: the items created
//     before it. Item numbers grow with creation, so these are the numbers
//     below the first item the last page shows created after that event.
//   - any other list is listed as a failed item naming the limit.
//
// Cursors stay the Link next URL, with a fragment (never sent) carrying
// what going on needs after a restart: skip (the ids at the window's start
// already given), and, on the one next link past rel="last" (the page
// GitHub will refuse), what the page before it ended with (at, ids, last,
// below). Without it (a cursor written before) the page before is read
// again. Cursor pagination (a next link with after= instead of page=) is
// followed as given.
const (
	fragSkip  = "skip"  // ids of items with updated_at = since already given
	fragAt    = "at"    // the updated_at (events: created_at) the page ended with
	fragIDs   = "ids"   // ids of the page's items updated at fragAt
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
	GetUpdatedAt() gh.Timestamp
}

func sinceOf(u string) time.Time {
	t, _ := time.Parse(time.RFC3339, queryOf(u, "since"))
	return t
}

func idList(s string) []int64 {
	var out []int64
	for f := range strings.SplitSeq(s, ",") {
		if id, err := strconv.ParseInt(f, 10, 64); err == nil {
			out = append(out, id)
		}
	}
	return out
}

func joinIDs(ids []int64) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(parts, ",")
}

// windowMark is where a since window's page ended: the last item's
// updated_at and the ids given at that instant (with the window's own
// skip when the window starts there).
func windowMark[T stamped](u string, items []T, frag url.Values) url.Values {
	at := items[len(items)-1].GetUpdatedAt().Time
	var ids []int64
	if at.Equal(sinceOf(u)) {
		ids = idList(frag.Get(fragSkip))
	}
	for _, it := range items {
		if it.GetUpdatedAt().Time.Equal(at) && !slices.Contains(ids, it.GetID()) {
			ids = append(ids, it.GetID())
		}
	}
	return url.Values{fragAt: {at.UTC().Format(time.RFC3339)}, fragIDs: {joinIDs(ids)}}
}

// windowed reads a list that takes since, sorted by updated ascending
// (its first URL says so): at GitHub's cap it goes on with the next
// window, and it drops what the window's start repeats.
func windowed[T stamped](r *run) func(ctx context.Context, cursor string) (paging.Fetched[T], error) {
	return func(ctx context.Context, cursor string) (paging.Fetched[T], error) {
		f, frag, err := fetchList[T](ctx, r, cursor, windowMark[T])
		if capped(err) {
			var m url.Values
			if m, err = resumeMark[T](ctx, r, cursor, fragAt, windowMark[T]); err != nil {
				return f, err
			}
			u, _ := splitCursor(cursor)
			at, perr := time.Parse(time.RFC3339, m.Get(fragAt))
			if perr != nil {
				return f, &importer.Permanent{Err: fmt.Errorf("bad cursor time %q", m.Get(fragAt))}
			}
			if !at.After(sinceOf(u)) && queryOf(u, "since") != "" {
				return f, &importer.Permanent{Err: fmt.Errorf("more items than GitHub pages through share updated_at %s: the rest cannot be reached", m.Get(fragAt))}
			}
			pu, perr := url.Parse(u)
			if perr != nil {
				return f, &importer.Permanent{Err: fmt.Errorf("bad list cursor %q", u)}
			}
			q := pu.Query()
			q.Del("page")
			q.Set("since", m.Get(fragAt))
			pu.RawQuery = q.Encode()
			if r.env.Log != nil {
				r.env.Log.InfoContext(ctx, "GitHub's pagination limit reached; going on from the last update read",
					"endpoint", pu.Path, "since", m.Get(fragAt))
			}
			cursor = joinCursor(pu.String(), url.Values{fragSkip: {m.Get(fragIDs)}})
			f, frag, err = fetchList[T](ctx, r, cursor, windowMark[T])
		}
		if err != nil {
			return f, err
		}
		if skip := idList(frag.Get(fragSkip)); len(skip) > 0 {
			u, _ := splitCursor(cursor)
			since := sinceOf(u)
			f.Items = slices.DeleteFunc(f.Items, func(it T) bool {
				return it.GetUpdatedAt().Time.Equal(since) && slices.Contains(skip, it.GetID())
			})
		}
		return f, nil
	}
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
func (r *run) numbered(name string, each func(ctx context.Context, b *builder, n int) error) importer.Relation {
	return &numberedRelation{name: name, r: r, each: each}
}

type numberedRelation struct {
	name string
	r    *run
	each func(ctx context.Context, b *builder, n int) error
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
	p, err := paging.NewItems(n.name, paging.ItemsConfig{
		Followups: numbers{lo: lo, hi: hi},
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

// itemEventsPast reads the events of item n past the cap.
func (r *run) itemEventsPast() importer.Relation {
	return r.numbered(relIssueEvents, func(ctx context.Context, b *builder, n int) error {
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
