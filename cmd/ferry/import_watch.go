package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ferry-import/ferry/cliclient"
)

// result is what one poll saw of an import: a project import, or a
// migration with its entities and the imports of their projects.
type result struct {
	kind     string // project | migration
	project  *cliclient.ImportStatus
	bulk     *cliclient.BulkImport
	entities []cliclient.BulkEntity
	projects map[int64]*cliclient.ImportStatus // by project id
}

func (r *result) status() string {
	if r.kind == "migration" {
		return r.bulk.Status
	}
	return r.project.ImportStatus
}

func (r *result) done() bool { return cliclient.Done(r.status()) }

func (r *result) label() string {
	if r.kind == "migration" {
		return fmt.Sprintf("migration %d", r.bulk.ID)
	}
	return r.project.PathWithNamespace
}

// clean: finished, no failure, no failed verification, for every project.
func (r *result) clean() bool {
	if r.kind == "project" {
		return r.project.Clean()
	}
	if r.bulk.Status != cliclient.StatusFinished {
		return false
	}
	for _, e := range r.entities {
		if e.HasFailures || e.Status != cliclient.StatusFinished {
			return false
		}
	}
	for _, p := range r.projects {
		if !p.Clean() {
			return false
		}
	}
	return true
}

// jsonValue is the final status object --json prints: a project import's
// GET /projects/:id/import, or a migration with its entities and projects.
func (r *result) jsonValue() any {
	if r.kind == "project" {
		return json.RawMessage(r.project.Raw)
	}
	ents := make([]json.RawMessage, 0, len(r.entities))
	for _, e := range r.entities {
		ents = append(ents, e.Raw)
	}
	projects := make([]json.RawMessage, 0, len(r.projects))
	for _, id := range r.projectIDs() {
		projects = append(projects, r.projects[id].Raw)
	}
	return map[string]any{"bulk_import": json.RawMessage(r.bulk.Raw), "entities": ents, "projects": projects}
}

func (r *result) projectIDs() []int64 {
	ids := make([]int64, 0, len(r.projects))
	for id := range r.projects {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// poll reads an import once. For a migration, final holds (and gets) the
// statuses of projects whose entity and import have both ended, so that a
// large migration is not read whole at every poll; nil reads all.
func poll(ctx context.Context, c *cliclient.Client, kind string, id int64, final map[int64]*cliclient.ImportStatus) (*result, error) {
	if kind == "project" {
		st, err := c.ProjectImportStatus(ctx, id)
		if err != nil {
			return nil, err
		}
		return &result{kind: kind, project: st}, nil
	}
	b, err := c.BulkImport(ctx, id)
	if err != nil {
		return nil, err
	}
	ents, err := c.BulkEntities(ctx, id)
	if err != nil {
		return nil, err
	}
	res := &result{kind: kind, bulk: b, entities: ents, projects: map[int64]*cliclient.ImportStatus{}}
	for _, e := range ents {
		if e.ProjectID == nil {
			continue
		}
		if st := final[*e.ProjectID]; st != nil {
			res.projects[*e.ProjectID] = st
			continue
		}
		st, err := c.ProjectImportStatus(ctx, *e.ProjectID)
		if err != nil {
			var fe *cliclient.Error
			if errors.As(err, &fe) && fe.Status == 404 {
				continue // not created yet, or gone
			}
			return nil, err
		}
		res.projects[*e.ProjectID] = st
		if final != nil && cliclient.Done(e.Status) && cliclient.Done(st.ImportStatus) {
			final[*e.ProjectID] = st
		}
	}
	return res, nil
}

// watch polls an import until it ends, showing each poll with r. A few
// failed polls in a row (ferry restarting, 5xx) are waited out.
func (o *importOpts) watch(ctx context.Context, c *cliclient.Client, kind string, id int64, r renderer) (*result, error) {
	misses := 0
	final := map[int64]*cliclient.ImportStatus{}
	for {
		res, err := poll(ctx, c, kind, id, final)
		if err != nil {
			var fe *cliclient.Error
			if ctx.Err() != nil {
				return nil, o.stoppedWatching(kind, id)
			}
			if (errors.As(err, &fe) && fe.Status < 500) || misses >= 10 {
				return nil, err
			}
			misses++
		} else {
			misses = 0
			r.show(res)
			if res.done() {
				return res, nil
			}
		}
		select {
		case <-ctx.Done():
			return nil, o.stoppedWatching(kind, id)
		case <-time.After(o.interval):
		}
	}
}

// stoppedWatching answers Ctrl-C (or SIGTERM) while watching: the import
// goes on in ferry, so the exit is the one of an import not ended yet,
// with the command that picks the watch up again.
func (o *importOpts) stoppedWatching(kind string, id int64) error {
	again := fmt.Sprintf("ferry import status %d --watch", id)
	if kind == "migration" {
		again = fmt.Sprintf("ferry import status %d --kind migration --watch", id)
	}
	fmt.Fprintf(o.stderr, "stopped watching; the import goes on in ferry. Follow it again with: %s\n", again)
	return exitError{exitRunning}
}

// finish prints an ended import's outcome (JSON on stdout with --json, the
// failures for people either way) and returns its exit.
func (o *importOpts) finish(res *result) error {
	if o.json {
		if err := writeJSON(o.stdout, res.jsonValue()); err != nil {
			return err
		}
	}
	report(o.info(), res)
	if !res.clean() {
		return exitError{exitFailed}
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// report writes the outcome and every failure of res for people.
func report(w io.Writer, res *result) {
	if res.kind == "project" {
		reportProject(w, res.project.PathWithNamespace, res.project)
	} else {
		fmt.Fprintf(w, "%s from %s: %s\n", res.label(), res.bulk.SourceURL, res.bulk.Status)
		for _, e := range res.entities {
			dest := e.DestinationNamespace
			if e.DestinationFullPath != nil {
				dest = *e.DestinationFullPath
			}
			fmt.Fprintf(w, "  %s %s → %s: %s\n", e.EntityType, e.SourceFullPath, dest, e.Status)
			if e.ProjectID != nil && res.projects[*e.ProjectID] != nil {
				reportProject(indent{w}, dest, res.projects[*e.ProjectID])
				continue
			}
			for _, f := range e.Failures {
				fmt.Fprintf(w, "    failed %s: %s: %s%s\n", f.Relation, f.ExceptionClass, f.ExceptionMessage, where(f.SourceTitle, f.SourceURL))
			}
		}
	}
	if res.clean() {
		fmt.Fprintln(w, "result: finished cleanly")
	} else {
		fmt.Fprintf(w, "result: %s with failures or unfinished: not clean\n", res.status())
	}
}

type indent struct{ w io.Writer }

func (i indent) Write(p []byte) (int, error) {
	s := strings.ReplaceAll(strings.TrimSuffix(string(p), "\n"), "\n", "\n    ")
	_, err := io.WriteString(i.w, "    "+s+"\n")
	return len(p), err
}

func where(title, url string) string {
	var parts []string
	if title != "" {
		parts = append(parts, title)
	}
	if url != "" {
		parts = append(parts, url)
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func reportProject(w io.Writer, label string, st *cliclient.ImportStatus) {
	typ := ""
	if st.ImportType != nil {
		typ = *st.ImportType + " "
	}
	fmt.Fprintf(w, "%simport of project %d %s: %s\n", typ, st.ID, label, st.ImportStatus)
	if st.ImportError != nil && *st.ImportError != "" {
		fmt.Fprintf(w, "  error: %s\n", *st.ImportError)
	}
	for _, rel := range st.Relations {
		fmt.Fprintf(w, "  %-28s %s\n", rel.Name, relationText(rel))
	}
	for _, b := range st.RateLimitBudgets {
		fmt.Fprintf(w, "  %s\n", budgetText(b))
	}
	if v := st.Verification; v != nil {
		fmt.Fprintf(w, "  verification: %s\n", v.Status)
		for _, c := range v.Checks {
			if c.Missing > 0 {
				fmt.Fprintf(w, "    %s: expected %d, imported %d, %d missing\n", c.ObjectType, c.Expected, c.Imported, c.Missing)
			}
		}
	}
	if n := len(st.FailedRelations); n > 0 {
		fmt.Fprintf(w, "  failures (%d):\n", n)
		for _, f := range st.FailedRelations {
			fmt.Fprintf(w, "    %s: %s: %s%s\n", f.RelationName, f.ExceptionClass, f.ExceptionMessage, where(f.SourceTitle, f.SourceURL))
		}
	}
}

// budgetText is one credential's budget as the import last saw it:
// "credential 2 (personal_access_token) api: 4,321/5,000 left, resets 06:30 UTC".
func budgetText(b cliclient.RateLimitBudget) string {
	s := fmt.Sprintf("credential %d (%s) %s: ", b.Credential, b.Kind, b.Budget)
	switch {
	case b.Remaining == nil:
		s += "not seen yet"
	case b.Limit == nil:
		s += thousands(*b.Remaining) + " left"
	default:
		s += thousands(*b.Remaining) + "/" + thousands(*b.Limit) + " left"
	}
	if b.ResetAt != nil {
		s += ", resets " + b.ResetAt.UTC().Format("15:04 UTC")
	}
	return s
}

// thousands writes n with a comma between groups of three digits.
func thousands(n int64) string {
	d := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(d, "-")
	d = strings.TrimPrefix(d, "-")
	var b strings.Builder
	for i, c := range d {
		if i > 0 && (len(d)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func relationText(rel cliclient.Relation) string {
	total := "?"
	if rel.Total != nil {
		total = fmt.Sprint(*rel.Total)
	}
	s := fmt.Sprintf("%d/%s imported, %d fetched", rel.Imported, total, rel.Fetched)
	if t := rel.Transfer; t != nil && rel.State == "pending" {
		s += fmt.Sprintf(", git %d/%d objects received", t.Done, t.Total)
	}
	if rel.Failed > 0 {
		s += fmt.Sprintf(", %d failed", rel.Failed)
	}
	return s + " (" + rel.State + ")"
}

// headline is the one-line state of a project import: status, stage,
// rate-limit wait and ETA.
func headline(st *cliclient.ImportStatus) (text string, rate string, eta string) {
	text = st.ImportStatus
	if st.Stage != nil && *st.Stage != "" {
		text += ", stage " + *st.Stage
	}
	if st.RateLimitUntil != nil {
		rate = "waiting for the rate limit until " + st.RateLimitUntil.UTC().Format("15:04:05 UTC")
	}
	if st.ETASeconds != nil && !cliclient.Done(st.ImportStatus) {
		eta = "ETA " + (time.Duration(*st.ETASeconds) * time.Second).String()
	}
	return text, rate, eta
}

// renderer shows each poll of one or more imports; safe for concurrent
// use (a batch watches several at once).
type renderer interface {
	show(res *result)
	// printf writes a line of its own without breaking the display.
	printf(format string, args ...any)
	close()
}

// renderer picks bars on a terminal (or --progress bars), lines otherwise.
func (o *importOpts) renderer() renderer {
	if o.json {
		return newLines(o.stderr)
	}
	switch o.progress {
	case "bars":
		return newBars(o.stdout)
	case "plain":
		return newLines(o.stdout)
	}
	if f, ok := o.stdout.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			return newBars(o.stdout)
		}
	}
	return newLines(o.stdout)
}

// lines prints a line for every change: status and stage, the rate-limit
// wait, each relation's counts, entities' statuses, and the ETA at most
// every 10 seconds.
type lines struct {
	mu      sync.Mutex
	w       io.Writer
	last    map[string]string
	lastETA map[string]time.Time
}

func newLines(w io.Writer) *lines {
	return &lines{w: w, last: map[string]string{}, lastETA: map[string]time.Time{}}
}

func (l *lines) put(key, text string) {
	if l.last[key] == text {
		return
	}
	l.last[key] = text
	if text != "" {
		fmt.Fprintln(l.w, text)
	}
}

func (l *lines) project(label string, st *cliclient.ImportStatus) {
	text, rate, eta := headline(st)
	l.put(label+"\x00status", fmt.Sprintf("%s: %s", label, text))
	if rate != "" {
		rate = label + ": " + rate
	}
	l.put(label+"\x00rate", rate)
	for _, rel := range st.Relations {
		l.put(label+"\x00rel\x00"+rel.Name, fmt.Sprintf("%s: %s %s", label, rel.Name, relationText(rel)))
	}
	if eta != "" && time.Since(l.lastETA[label]) >= 10*time.Second {
		l.lastETA[label] = time.Now()
		fmt.Fprintf(l.w, "%s: %s\n", label, eta)
	}
}

func (l *lines) show(res *result) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if res.kind == "project" {
		l.project(res.project.PathWithNamespace, res.project)
		return
	}
	l.put(res.label(), fmt.Sprintf("%s: %s", res.label(), res.bulk.Status))
	for _, e := range res.entities {
		label := e.SourceFullPath
		l.put(label+"\x00entity", fmt.Sprintf("%s (%s, migration %d): %s", label, e.EntityType, e.BulkImportID, e.Status))
		if e.ProjectID != nil && res.projects[*e.ProjectID] != nil {
			l.project(label, res.projects[*e.ProjectID])
		}
	}
}

func (l *lines) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, format, args...)
}

func (l *lines) close() {}
