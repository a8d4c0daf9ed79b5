package github

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v92/github"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/source/internal/paging"
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
	items, link, err := getRaw[T](ctx, r, u)
	if err != nil {
		return nil, "", nil, err
	}
	next, err := r.nextURL(link)
	if err != nil || next == "" {
		return items, next, nil, err
	}
	return items, next, paging.PagesAfter(next, paging.LinkRel(link, "last"), "page", aheadPages), nil
}

// getRaw reads one page of a list endpoint and returns its items and its
// Link header.
func getRaw[T any](ctx context.Context, r *run, u string) ([]T, string, error) {
	req, err := r.client.NewRequest(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, "", &importer.Permanent{Err: err}
	}
	// The body is read here and decoded apart, so that a body cut short
	// (a read error, retried) is told from one that arrived whole and does
	// not fit (a conversion error, never retried).
	var raw bytes.Buffer
	resp, err := r.client.Do(req, &raw)
	if err != nil {
		return nil, "", classify(err)
	}
	var items []T
	if b := bytes.TrimSpace(raw.Bytes()); len(b) > 0 {
		if err := json.Unmarshal(b, &items); err != nil {
			return nil, "", decodeError(req.URL.Path, err)
		}
	}
	return items, resp.Header.Get("Link"), nil
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
	next := paging.LinkRel(link, "next")
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

// classify is this adapter's one error boundary: go-github's error
// answers become sourcehttp.StatusError (permanent where retrying cannot
// change them); rate limits pass through for the transport's governor; an
// answer that arrived whole but does not fit go-github's types is a
// conversion error (decodeError). Everything past it decides by status
// (paging.Gone, paging.Refused).
func classify(err error) error {
	var rl *gh.RateLimitError
	var abuse *gh.AbuseRateLimitError
	if errors.As(err, &rl) || errors.As(err, &abuse) {
		return err
	}
	var ute *json.UnmarshalTypeError
	var pe *time.ParseError
	if errors.As(err, &ute) || errors.As(err, &pe) {
		return decodeError("", err)
	}
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return paging.FromStatus(er.Response.StatusCode, err)
	}
	return err
}

// invalid is a conversion error: GitHub's answer does not fit the forge
// model (a field of another JSON type, a timestamp that is not one, a value
// the model has no place for). Reading it again gives the same answer, so
// it is permanent (never retried), and a ferry validation error, which the
// engine lists as ValidationError, not NetworkError.
func invalid(format string, args ...any) error {
	return &importer.Permanent{Err: ferry.Errorf(ferry.EINVALID, format, args...)}
}

// decodeError classifies a JSON decoding error of an answer: a syntax
// error means the body was cut short or garbled on the way (paging.Unusable:
// worth another read), anything else that the body does not fit (invalid).
func decodeError(path string, err error) error {
	if paging.Unusable(err) {
		return err
	}
	if path != "" {
		return invalid("GitHub's answer to %s does not fit: %v", path, err)
	}
	return invalid("GitHub's answer does not fit: %v", err)
}

// builder is a page under construction with this adapter's conversions
// (convert.go) as methods.
type builder struct {
	*paging.Builder
	r *run
}

func (r *run) builder() *builder { return &builder{Builder: paging.NewBuilder(), r: r} }

// listRelation pages through one repository list endpoint; the cursor is
// the Link next URL, so no page is read twice. A 404 on the first page is
// the endpoint missing (fallback.go): listed as not imported, or read
// another way where orElse gave the relation a fallback.
func listRelation[T any](name string, r *run, first func(repo string) string, convert func(ctx context.Context, b *builder, items []T) error) importer.Relation {
	return listRelationWith(name, r, first, func(ctx context.Context, u string) (paging.Fetched[T], error) {
		items, next, ahead, err := getPageAhead[T](ctx, r, u)
		return paging.Fetched[T]{Items: items, Next: next, Ahead: ahead}, err
	}, convert)
}

// listRelationWith is listRelation reading pages with fetch (cap.go:
// windowed, marked).
func listRelationWith[T any](name string, r *run, first func(repo string) string, fetch func(ctx context.Context, cursor string) (paging.Fetched[T], error),
	convert func(ctx context.Context, b *builder, items []T) error) importer.Relation {
	return &endpointList{name: name, r: r, first: first, list: paging.NewList(name, paging.ListFuncs[T]{
		First: func(ctx context.Context) (string, error) {
			repo, err := r.repoPath(ctx)
			if err != nil {
				return "", err
			}
			return first(repo), nil
		},
		Fetch: fetch,
		Convert: func(ctx context.Context, items []T) (*paging.Builder, error) {
			b := r.builder()
			return b.Builder, convert(ctx, b, items)
		},
	})}
}

// itemRelation does per-item work queued as followups by earlier stages
// (paging.NewItems); each does one item.
func itemRelation(name string, r *run, each func(ctx context.Context, b *builder, key string) error) importer.Relation {
	return paging.NewItems(name, r.itemsConfig(name, each))
}

func (r *run) itemsConfig(name string, each func(ctx context.Context, b *builder, key string) error) paging.ItemsConfig {
	return paging.ItemsConfig{
		Followups: r.env.Followups,
		Each: func(ctx context.Context, pb *paging.Builder, key string) error {
			return each(ctx, &builder{Builder: pb, r: r}, key)
		},
		ItemURL: func(key string) string { return r.itemURL(name, key) },
		Log:     r.env.Log,
	}
}

// batchedItemRelation is itemRelation reading a page of items with
// GraphQL queries where it can (graphql_batch.go), a page being as many
// items as gqlWorkers queries ask for.
func batchedItemRelation(name string, r *run, batch func(ctx context.Context, keys []string) ([]paging.BatchItem, error),
	each func(ctx context.Context, b *builder, key string) error) importer.Relation {
	cfg := r.itemsConfig(name, each)
	if r.gql.usable() {
		cfg.EachBatch, cfg.Batch = batch, gqlWorkers*gqlMaxNodes
	}
	return paging.NewItems(name, cfg)
}

// itemURL names where a per-item relation's item lives, for failure lists:
// a URL under the API base where the key is a path, else the key itself.
func (r *run) itemURL(relation, key string) string {
	key, _ = splitNode(key)
	switch {
	case strings.HasPrefix(key, "http://") || strings.HasPrefix(key, "https://"):
		return key
	case relation == relUsers:
		return r.base.String() + "users/" + url.PathEscape(key)
	case relation == relPullRequestDetails:
		key, _, _ = strings.Cut(key, "@") // the updated_at it carries names nothing
	}
	return r.base.String() + "#" + relation + "/" + key
}
