// Package paging is the machinery every source adapter shares, so that no
// adapter writes a relation loop of its own: the page Builder, the two
// relation shapes (a List over a paged endpoint whose cursor is the next
// page, and Items over the per-item followups earlier relations queued),
// the RFC 8288 Link header, the neutral error classification past each
// adapter's one error boundary, and the check of a source's base URL. An
// adapter supplies only "fetch one page" and "convert it". Its siblings
// hold the rest adapters share: diffpos (diff note positions), attach
// (attachments) and sysnote (system-note wording).
//
// It knows the engine's relation contract (importer) and HTTP statuses; it
// must not know any forge's API. It lives under source/internal so only
// source adapters use it.
package paging

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/sourcehttp"
)

// Builder collects one page's objects and followups. Followups are kept
// unique within the page (the engine de-duplicates across pages).
type Builder struct {
	objs     []forge.Object
	queued   map[importer.Followup]bool
	items    int
	failures []importer.ItemFailure
	expect   []ferry.Expectation
	total    int64
}

// NewBuilder returns an empty page.
func NewBuilder() *Builder { return &Builder{queued: map[importer.Followup]bool{}} }

// Add appends objects to the page.
func (b *Builder) Add(o ...forge.Object) { b.objs = append(b.objs, o...) }

// Follow queues per-item work for relation, once per page.
func (b *Builder) Follow(relation, key string) {
	f := importer.Followup{Relation: relation, Key: key}
	if !b.queued[f] {
		b.queued[f] = true
		b.objs = append(b.objs, f)
	}
}

// CountItems says the page covered n more source items than it has
// objects for (items that map to no object, or to several).
func (b *Builder) CountItems(n int) { b.items += n }

// Fail lists items the source would not give; the relation goes on.
func (b *Builder) Fail(f ...importer.ItemFailure) { b.failures = append(b.failures, f...) }

// Objects is what the page holds so far, followups included.
func (b *Builder) Objects() []forge.Object { return b.objs }

// Merge appends another builder's page, keeping followups unique.
func (b *Builder) Merge(o *Builder) {
	for _, x := range o.objs {
		if f, ok := x.(importer.Followup); ok {
			b.Follow(f.Relation, f.Key)
			continue
		}
		b.objs = append(b.objs, x)
	}
	b.items += o.items
	b.failures = append(b.failures, o.failures...)
	b.expect = append(b.expect, o.expect...)
	b.total += o.total
}

// Total says how many source items the relation has in all, when the
// page learns it (importer.Page.Total); a per-item relation that declares
// none counts the followups it handles.
func (b *Builder) Total(n int64) { b.total += n }

// Expect declares what an item of the page holds, from the counters the
// source sent with it (importer.Page.Expect); a zero count declares
// nothing.
func (b *Builder) Expect(e ...ferry.Expectation) {
	for _, x := range e {
		if x.Count > 0 {
			b.expect = append(b.expect, x)
		}
	}
}

// Page is the finished page with the cursor of the next one.
func (b *Builder) Page(next string) importer.Page {
	return importer.Page{Objects: b.objs, Next: next, Items: b.items, Failures: b.failures, Expect: b.expect, Total: b.total}
}

// FromStatus is the neutral form of a source's error answer, for adapters'
// error boundaries: a StatusError, marked importer.Permanent when
// retrying cannot change it (sourcehttp.PermanentStatus).
func FromStatus(status int, err error) error {
	se := &sourcehttp.StatusError{Status: status, Err: err}
	if sourcehttp.PermanentStatus(status) {
		return &importer.Permanent{Err: se}
	}
	return se
}

// Gone reports an answer that the item is not there (404, 410).
func Gone(err error) bool { return sourcehttp.GoneStatus(sourcehttp.StatusOf(err)) }

// Refused reports an answer about one item that retrying cannot change —
// gone, forbidden, unprocessable, or anything marked permanent — except a
// 401, which says the credential no longer works and must stop the
// relation.
func Refused(err error) bool {
	if st := sourcehttp.StatusOf(err); st != 0 {
		return sourcehttp.ItemRefusedStatus(st)
	}
	var perm *importer.Permanent
	return errors.As(err, &perm)
}

// DecodeOptions reads a source's options (Env.Options) into o; empty or
// null leaves o as it is.
func DecodeOptions(raw json.RawMessage, o any, source string) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if err := json.Unmarshal(raw, o); err != nil {
		return fmt.Errorf("%s options: %w", source, err)
	}
	return nil
}

// PageSize checks a page-size option: 0 means max, else 1–max.
func PageSize(n, max int, source, option string) (int, error) {
	switch {
	case n == 0:
		return max, nil
	case n < 0 || n > max:
		return 0, fmt.Errorf("%s options: %s %d is not within 1–%d", source, option, n, max)
	}
	return n, nil
}

// BaseURL checks and normalises a source's base URL: http(s), a host, no
// credentials (they go separately), no query or fragment, and a trailing
// slash so relative API paths resolve under it. what names it in the
// error ("github: API base" → "github: API base URL must be …").
func BaseURL(raw, what string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("%s URL must be http(s)://host[/path] without credentials", what)
	}
	u.RawQuery, u.Fragment = "", ""
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return u, nil
}

// Critical is a one-page relation the import cannot do without (the
// repository): its failure fails the import.
func Critical(name string, fetch func(ctx context.Context) (importer.Page, error)) importer.Relation {
	return &critical{name: name, fetch: fetch}
}

type critical struct {
	name  string
	fetch func(ctx context.Context) (importer.Page, error)
}

func (c *critical) Name() string { return c.name }

// Critical implements importer.Critical.
func (*critical) Critical() bool { return true }

func (c *critical) Fetch(ctx context.Context, _ string) (importer.Page, error) { return c.fetch(ctx) }
