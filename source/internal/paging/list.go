package paging

import (
	"context"
	"fmt"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/importer"
)

// Fetched is one page of a list as the adapter read it.
type Fetched[T any] struct {
	Items []T
	// Next is the cursor of the following page, "" on the last one.
	Next string
	// Ahead are cursors of pages after Next the source announced
	// (numbered pages up to a known last one); the engine may fetch them
	// concurrently.
	Ahead []string
	// Total is how many items the list has, when the source says (0 when
	// unknown).
	Total int64
}

// ListFuncs are what an adapter supplies for a list relation.
type ListFuncs[T any] struct {
	// First is the cursor of the first page (a URL, a start offset…).
	First func(ctx context.Context) (string, error)
	// Fetch reads the page at cursor through the adapter's client and its
	// error boundary.
	Fetch func(ctx context.Context, cursor string) (Fetched[T], error)
	// Convert turns one page of items into objects and followups.
	Convert func(ctx context.Context, items []T) (*Builder, error)
	// Holds, when set, is the forge kind every item of the list lands as
	// (forge.KindIssue…): the list's total, when the source says, is then
	// declared (importer.Page.Expect) and checked against what landed
	// when the import ends.
	Holds string
}

// NewList is a relation over one paged list; its cursor is the adapter's
// page cursor, so no page is read twice.
func NewList[T any](name string, f ListFuncs[T]) importer.Relation {
	return &list[T]{name: name, f: f}
}

type list[T any] struct {
	name string
	f    ListFuncs[T]
}

func (l *list[T]) Name() string { return l.name }

func (l *list[T]) Fetch(ctx context.Context, cursor string) (importer.Page, error) {
	if cursor == "" {
		first, err := l.f.First(ctx)
		if err != nil {
			return importer.Page{}, fmt.Errorf("%s: %w", l.name, err)
		}
		cursor = first
	}
	got, err := l.f.Fetch(ctx, cursor)
	if err != nil {
		return importer.Page{}, fmt.Errorf("fetch %s page %s: %w", l.name, cursor, err)
	}
	b, err := l.f.Convert(ctx, got.Items)
	if err != nil {
		return importer.Page{}, fmt.Errorf("%s page %s: %w", l.name, cursor, err)
	}
	p := b.Page(got.Next)
	if got.Next != "" {
		p.Ahead = got.Ahead
	}
	p.Total = got.Total
	if l.f.Holds != "" && got.Total > 0 {
		p.Expect = append(p.Expect, ferry.Expectation{Type: l.name, Kind: l.f.Holds, Count: got.Total,
			Title: l.name + " the source lists"})
	}
	return p, nil
}
