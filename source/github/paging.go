package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	gh "github.com/google/go-github/v92/github"

	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/sourcehttp"
)

// listURL is the first page of a repository list endpoint, relative to the
// API base.
func (r *run) listURL(repo, suffix string, q url.Values) string {
	if q == nil {
		q = url.Values{}
	}
	q.Set("per_page", strconv.Itoa(r.perPage))
	owner, name, _ := strings.Cut(repo, "/")
	return "repos/" + url.PathEscape(owner) + "/" + url.PathEscape(name) + "/" + suffix + "?" + q.Encode()
}

// getPage reads one page of a list endpoint at u (relative to the API base,
// or absolute as a Link header gives it) and returns the next page's URL,
// "" on the last page. It is the one place lists are read.
func getPage[T any](ctx context.Context, r *run, u string) ([]T, string, error) {
	items, next, _, err := getPageAhead[T](ctx, r, u)
	return items, next, err
}

// aheadPages is how many numbered pages past the next one a list page
// announces to the engine, which may fetch them concurrently.
const aheadPages = 7

// getPageAhead is getPage plus the URLs of the pages after the next one,
// derived from GitHub's numbered pages and its rel="last" link.
func getPageAhead[T any](ctx context.Context, r *run, u string) ([]T, string, []string, error) {
	req, err := r.client.NewRequest(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, "", nil, &importer.Permanent{Err: err}
	}
	var items []T
	resp, err := r.client.Do(req, &items)
	if err != nil {
		return nil, "", nil, classify(err)
	}
	link := resp.Header.Get("Link")
	next, err := r.nextURL(link)
	if err != nil || next == "" {
		return items, next, nil, err
	}
	return items, next, pagesAfter(next, parseLinkRel(link, "last"), aheadPages), nil
}

// pagesAfter lists up to n page URLs after next (same URL, page number
// counted up) until the last page. Anything unusual — no page number, no
// last link, a last link to a different list — gives none: the engine then
// reads page after page.
func pagesAfter(next, last string, n int) []string {
	nu, err := url.Parse(next)
	if err != nil || last == "" {
		return nil
	}
	lu, err := url.Parse(last)
	if err != nil || lu.Path != nu.Path {
		return nil
	}
	q := nu.Query()
	from, err1 := strconv.Atoi(q.Get("page"))
	to, err2 := strconv.Atoi(lu.Query().Get("page"))
	if err1 != nil || err2 != nil || from < 1 || to <= from {
		return nil
	}
	var out []string
	for p := from + 1; p <= to && len(out) < n; p++ {
		q.Set("page", strconv.Itoa(p))
		nu.RawQuery = q.Encode()
		out = append(out, nu.String())
	}
	return out
}

// all reads every page of a per-item list (reviews of one pull request,
// reactions of one comment), which is one page but for rare items.
func all[T any](ctx context.Context, r *run, u string) ([]T, error) {
	var out []T
	for seen := map[string]bool{}; u != ""; {
		if seen[u] {
			return nil, &importer.Permanent{Err: errors.New("pagination loops back to a page already read")}
		}
		seen[u] = true
		items, next, err := getPage[T](ctx, r, u)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		u = next
	}
	return out, nil
}

// nextURL takes the rel="next" target of a Link header. It must stay on
// the API base: a next link elsewhere would carry the token there.
func (r *run) nextURL(link string) (string, error) {
	next := parseLinkNext(link)
	if next == "" {
		return "", nil
	}
	u, err := r.base.Parse(next)
	if err != nil {
		return "", &importer.Permanent{Err: errors.New("invalid pagination URL")}
	}
	if u.Scheme != r.base.Scheme || !strings.EqualFold(u.Host, r.base.Host) || u.User != nil ||
		!strings.HasPrefix(u.Path, r.base.Path) {
		return "", &importer.Permanent{Err: fmt.Errorf("invalid pagination URL: %s://%s%s is outside the API base", u.Scheme, u.Host, u.Path)}
	}
	return u.String(), nil
}

// parseLinkNext returns the URL of the rel="next" entry of an RFC 8288
// Link header, "" when there is none.
func parseLinkNext(h string) string { return parseLinkRel(h, "next") }

// parseLinkRel returns the URL of the entry of an RFC 8288 Link header
// with relation rel, "" when there is none.
func parseLinkRel(h, want string) string {
	for h != "" {
		h = strings.TrimLeft(h, " \t,")
		if !strings.HasPrefix(h, "<") {
			return ""
		}
		end := strings.IndexByte(h, '>')
		if end < 0 {
			return ""
		}
		target := h[1:end]
		h = h[end+1:]
		// Parameters run to the next comma outside quotes.
		params, rest := h, ""
		inQuote := false
		for i := 0; i < len(h); i++ {
			switch h[i] {
			case '"':
				inQuote = !inQuote
			case ',':
				if !inQuote {
					params, rest = h[:i], h[i+1:]
					i = len(h)
				}
			}
		}
		h = rest
		for p := range strings.SplitSeq(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(k), "rel") {
				continue
			}
			for rel := range strings.FieldsSeq(strings.Trim(strings.TrimSpace(v), `"`)) {
				if strings.EqualFold(rel, want) {
					return target
				}
			}
		}
	}
	return ""
}

// classify marks answers that retrying cannot change as permanent: no
// access, gone, refused. Rate limits never reach here as errors the
// engine should give up on; anything else (5xx after the transport's
// retries, resets) stays retryable.
func classify(err error) error {
	var rl *gh.RateLimitError
	var abuse *gh.AbuseRateLimitError
	if errors.As(err, &rl) || errors.As(err, &abuse) {
		return err
	}
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		switch er.Response.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusGone,
			http.StatusUnprocessableEntity, http.StatusBadRequest:
			return &importer.Permanent{Err: err}
		}
	}
	return err
}

// notFound reports a 404 or 410: the item is gone at the source.
func notFound(err error) bool {
	var er *gh.ErrorResponse
	return errors.As(err, &er) && er.Response != nil &&
		(er.Response.StatusCode == http.StatusNotFound || er.Response.StatusCode == http.StatusGone)
}

// itemRefused reports an answer about one item that retrying cannot
// change — gone, forbidden, unprocessable, unavailable for legal reasons,
// or anything classify marked permanent — except a 401, which says the
// token itself no longer works and must stop the relation.
func itemRefused(err error) bool {
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		switch er.Response.StatusCode {
		case http.StatusUnauthorized:
			return false
		case http.StatusNotFound, http.StatusGone, http.StatusForbidden, http.StatusUnprocessableEntity,
			http.StatusBadRequest, http.StatusUnavailableForLegalReasons:
			return true
		}
	}
	var perm *importer.Permanent
	return errors.As(err, &perm)
}

// builder collects one page's objects and followups; it queues a "users"
// followup for every person it converts, once per page (the engine
// de-duplicates across pages).
type builder struct {
	r        *run
	objs     []forge.Object
	queued   map[importer.Followup]bool
	items    int // source items covered, when not one object each
	failures []importer.ItemFailure
}

func (r *run) builder() *builder { return &builder{r: r, queued: map[importer.Followup]bool{}} }

func (b *builder) add(o ...forge.Object) { b.objs = append(b.objs, o...) }

func (b *builder) follow(relation, key string) {
	f := importer.Followup{Relation: relation, Key: key}
	if !b.queued[f] {
		b.queued[f] = true
		b.objs = append(b.objs, f)
	}
}

// merge appends another builder's page, keeping followups unique.
func (b *builder) merge(o *builder) {
	for _, x := range o.objs {
		if f, ok := x.(importer.Followup); ok {
			b.follow(f.Relation, f.Key)
			continue
		}
		b.objs = append(b.objs, x)
	}
	b.items += o.items
	b.failures = append(b.failures, o.failures...)
}

func (b *builder) page(next string) importer.Page {
	return importer.Page{Objects: b.objs, Next: next, Items: b.items, Failures: b.failures}
}

// listRelation pages through one repository list endpoint; the cursor is
// the Link next URL, so no page is read twice.
type listRelation[T any] struct {
	name  string
	r     *run
	first func(repo string) string // first page, relative to the API base
	// convert turns one page of items into objects and followups.
	convert func(ctx context.Context, b *builder, items []T) error
}

func (l *listRelation[T]) Name() string { return l.name }

func (l *listRelation[T]) Fetch(ctx context.Context, cursor string) (importer.Page, error) {
	u := cursor
	if u == "" {
		repo, err := l.r.repoPath(ctx)
		if err != nil {
			return importer.Page{}, fmt.Errorf("%s: %w", l.name, err)
		}
		u = l.first(repo)
	}
	items, next, ahead, err := getPageAhead[T](ctx, l.r, u)
	if err != nil {
		return importer.Page{}, fmt.Errorf("fetch %s page %s: %w", l.name, u, err)
	}
	b := l.r.builder()
	if err := l.convert(ctx, b, items); err != nil {
		return importer.Page{}, fmt.Errorf("%s page %s: %w", l.name, u, err)
	}
	p := b.page(next)
	p.Ahead = ahead
	return p, nil
}

// Per-item relations take this many queued items per page and work on up
// to itemWorkers of them at once: their calls dominate an import's wall
// time and the engine runs one page of a relation at a time.
const (
	itemBatch   = 32
	itemWorkers = 16
)

// itemAttempts bounds the tries of one item whose answer could not be used.
const itemAttempts = 4

// itemRelation does per-item work queued as followups by earlier stages;
// its cursor is the sequence number of the last item done.
type itemRelation struct {
	name string
	r    *run
	// each does one item; a 404 or 410 skips it (the item is gone).
	each func(ctx context.Context, b *builder, key string) error
}

func (l *itemRelation) Name() string { return l.name }

// eachWithRetry does one item, again when an answer came back unusable (a
// body cut short or not JSON): the transport retries what HTTP shows, and
// the engine retries a failed page, but a page here is a batch of items
// with several calls each, so one bad body among them would fail the
// batch at almost every engine attempt.
func (l *itemRelation) eachWithRetry(ctx context.Context, key string) (*builder, error) {
	var b *builder
	err := sourcehttp.Retry(ctx, nil, itemAttempts, unusableAnswer, func() error {
		b = l.r.builder()
		return l.each(ctx, b, key)
	})
	return b, err
}

// unusableAnswer reports an answer whose body was truncated or is not JSON.
func unusableAnswer(err error) bool {
	var syn *json.SyntaxError
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &syn)
}

func (l *itemRelation) Fetch(ctx context.Context, cursor string) (importer.Page, error) {
	var after int64
	if cursor != "" {
		var err error
		if after, err = strconv.ParseInt(cursor, 10, 64); err != nil {
			return importer.Page{}, &importer.Permanent{Err: fmt.Errorf("%s: bad cursor %q", l.name, cursor)}
		}
	}
	q, err := l.r.env.Followups.Next(ctx, l.name, after, itemBatch)
	if err != nil {
		return importer.Page{}, fmt.Errorf("%s: read queue after %d: %w", l.name, after, err)
	}
	parts := make([]*builder, len(q))
	errs := make([]error, len(q))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, itemWorkers)
	var wg sync.WaitGroup
	for i, it := range q {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if ctx.Err() != nil {
				errs[i] = ctx.Err()
				return
			}
			b, err := l.eachWithRetry(ctx, it.Key)
			switch {
			case err == nil:
				parts[i] = b
			case itemRefused(err):
				// One item the source will not give does not stop the rest:
				// it is listed as a failure and the queue goes on.
				l.r.log().WarnContext(ctx, "source item refused; skipped", "relation", l.name, "key", it.Key)
				parts[i] = l.r.builder()
				parts[i].failures = []importer.ItemFailure{{SourceURL: l.r.itemURL(l.name, it.Key),
					Title: l.name + " " + it.Key, Err: &importer.Permanent{Err: err}}}
			default:
				errs[i] = fmt.Errorf("%s %s: %w", l.name, it.Key, err)
				cancel()
			}
		})
	}
	wg.Wait()
	// The first real failure, not the cancellations it caused.
	var canceled error
	for _, err := range errs {
		switch {
		case err == nil:
		case errors.Is(err, context.Canceled) && canceled == nil:
			canceled = err
		case !errors.Is(err, context.Canceled):
			return importer.Page{}, err
		}
	}
	if canceled != nil {
		return importer.Page{}, canceled
	}
	b := l.r.builder()
	for _, p := range parts {
		b.merge(p)
	}
	next := ""
	if len(q) == itemBatch {
		next = strconv.FormatInt(q[len(q)-1].Seq, 10)
	}
	return b.page(next), nil
}

// itemURL names where a per-item relation's item lives, for failure lists:
// a URL under the API base where the key is a path, else the key itself.
func (r *run) itemURL(relation, key string) string {
	switch {
	case strings.HasPrefix(key, "http://") || strings.HasPrefix(key, "https://"):
		return key
	case relation == relUsers:
		return r.base.String() + "users/" + url.PathEscape(key)
	}
	return r.base.String() + "#" + relation + "/" + key
}
