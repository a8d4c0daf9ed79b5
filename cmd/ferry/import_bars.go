package main

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/ferry-import/ferry/cliclient"
)

// bars draws live progress on a terminal with mpb: per import a heading
// (status, stage, rate-limit wait, ETA) and a bar per relation.
type bars struct {
	mu   sync.Mutex
	p    *mpb.Progress
	rows map[string]*barRow
}

type barRow struct {
	bar  *mpb.Bar
	text atomic.Value // string: the decorator's text
	done bool
}

func newBars(w io.Writer) *bars {
	// On a terminal rows are as wide as it is; elsewhere (--progress bars
	// into a pipe) 120 columns.
	return &bars{p: mpb.New(mpb.WithOutput(w), mpb.WithWidth(120), mpb.WithAutoRefresh()), rows: map[string]*barRow{}}
}

// barText is a relation's counts beside its bar.
func barText(rel cliclient.Relation) string {
	total := "?"
	if rel.Total != nil {
		total = fmt.Sprint(*rel.Total)
	}
	s := fmt.Sprintf("%d/%s", rel.Imported, total)
	if t := rel.Transfer; t != nil && rel.State == "pending" {
		s += fmt.Sprintf(" · git %d/%d objects", t.Done, t.Total)
	}
	if rel.Failed > 0 {
		s += fmt.Sprintf(" · %d failed", rel.Failed)
	}
	if rel.State != "pending" {
		s += " · " + rel.State
	}
	return s
}

// row returns the row for key, made on first use: a text line (heading)
// or a bar with name and counters.
func (b *bars) row(key, name string, heading bool) *barRow {
	if r, ok := b.rows[key]; ok {
		return r
	}
	r := &barRow{}
	r.text.Store("")
	text := decor.Any(func(decor.Statistics) string { return r.text.Load().(string) })
	if heading {
		r.bar = b.p.New(1, mpb.NopStyle(), mpb.PrependDecorators(text))
	} else {
		r.bar = b.p.AddBar(1, mpb.BarWidth(30),
			mpb.PrependDecorators(decor.Name("  "+name, decor.WCSyncSpaceR)),
			mpb.AppendDecorators(text))
	}
	b.rows[key] = r
	return r
}

func (b *bars) project(label string, st *cliclient.ImportStatus) {
	done := cliclient.Done(st.ImportStatus)
	h := b.row(label, label, true)
	text, rate, eta := headline(st)
	for _, s := range []string{rate, eta} {
		if s != "" {
			text += " · " + s
		}
	}
	h.text.Store(label + ": " + text)
	for _, rel := range st.Relations {
		r := b.row(label+"\x00"+rel.Name, rel.Name, false)
		r.text.Store(barText(rel))
		if r.done {
			continue
		}
		if rel.State != "pending" || done {
			r.bar.SetTotal(max(rel.Imported, 1), true) // full
			r.done = true
			continue
		}
		if t := rel.Transfer; t != nil && t.Total > 0 && rel.Imported == 0 {
			// A repository being fetched: the bar shows the git objects
			// received, one short of full until its relation ends.
			r.bar.SetTotal(t.Total+1, false)
			r.bar.SetCurrent(t.Done)
			continue
		}
		// The bar completes only with its relation: until then its total
		// stays above what is imported.
		total := max(rel.Imported, rel.Fetched, 1)
		if rel.Total != nil {
			total = max(*rel.Total, 1)
		}
		if rel.Imported >= total {
			total = rel.Imported + 1
		}
		r.bar.SetTotal(total, false)
		r.bar.SetCurrent(rel.Imported)
	}
	if done && !h.done {
		h.bar.SetTotal(-1, true)
		h.done = true
	}
}

func (b *bars) show(res *result) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if res.kind == "project" {
		b.project(res.project.PathWithNamespace, res.project)
		return
	}
	h := b.row(res.label(), res.label(), true)
	h.text.Store(fmt.Sprintf("%s from %s: %s", res.label(), res.bulk.SourceURL, res.bulk.Status))
	for _, e := range res.entities {
		label := fmt.Sprintf("%s %s (%s)", e.EntityType, e.SourceFullPath, e.Status)
		if e.ProjectID != nil && res.projects[*e.ProjectID] != nil {
			b.project(e.SourceFullPath, res.projects[*e.ProjectID])
			continue
		}
		r := b.row(e.SourceFullPath, e.SourceFullPath, true)
		r.text.Store(label)
		if cliclient.Done(e.Status) && !r.done {
			r.bar.SetTotal(-1, true)
			r.done = true
		}
	}
	if res.done() && !h.done {
		h.bar.SetTotal(-1, true)
		h.done = true
	}
}

// printf writes above the bars (mpb keeps them below).
func (b *bars) printf(format string, args ...any) { fmt.Fprintf(b.p, format, args...) }

// close leaves every bar drawn as it last was and stops drawing.
func (b *bars) close() {
	b.mu.Lock()
	for _, r := range b.rows {
		if !r.done {
			r.bar.Abort(false)
		}
	}
	b.mu.Unlock()
	b.p.Wait()
}
