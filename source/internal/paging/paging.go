// Package paging is the machinery every source adapter shares, so that no
// adapter writes a relation loop of its own: the page Builder, the two
// relation shapes (a List over a paged endpoint whose cursor is the next
// page, and Items over the per-item followups earlier relations queued),
// the RFC 8288 Link header, and the neutral error classification past
// each adapter's one error boundary. An adapter supplies only "fetch one
// page" and "convert it".
//
// It knows the engine's relation contract (importer) and HTTP statuses; it
// must not know any forge's API. It lives under source/internal so only
// source adapters use it.
package paging

import (
	"errors"

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
}

// Page is the finished page with the cursor of the next one.
func (b *Builder) Page(next string) importer.Page {
	return importer.Page{Objects: b.objs, Next: next, Items: b.items, Failures: b.failures}
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
