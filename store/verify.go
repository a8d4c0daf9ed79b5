package store

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/forge"
)

// AddExpectations records what a relation's page declared its items hold;
// a page written again replaces its declarations. A declaration that makes
// no sense (an adapter's mistake, not the source's data) is dropped: it
// must not cost the page its objects.
func (tx *Tx) AddExpectations(ctx context.Context, importID int64, relation string, exps []ferry.Expectation) error {
	for _, e := range exps {
		onItem := (e.Kind == forge.KindNote || e.Kind == forge.KindAwardEmoji) && e.OnIID > 0 &&
			(e.OnType == forge.OnIssue || e.OnType == forge.OnMergeRequest)
		onProject := (listTables[e.Kind] != "" || e.Kind == ferry.KindGitRefs && strings.HasPrefix(e.Prefix, "refs/")) &&
			e.OnIID == 0 && e.OnType == "" && e.NoteID == ""
		if e.Type == "" || e.Count < 0 || (!onItem && !onProject) {
			continue
		}
		if _, err := tx.q.ExecContext(ctx, `INSERT INTO import_expectations (import_id, relation, type, on_type, on_iid, note_id, kind, prefix,
			user_only, emoji, expected, source_url, title) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
			ON CONFLICT (import_id, type, on_type, on_iid, note_id, relation) DO UPDATE SET kind = excluded.kind, prefix = excluded.prefix,
			user_only = excluded.user_only, emoji = excluded.emoji, expected = excluded.expected, source_url = excluded.source_url, title = excluded.title`,
			importID, relation, e.Type, e.OnType, e.OnIID, e.NoteID, e.Kind, e.Prefix, e.UserOnly, e.Emoji, e.Count, e.SourceURL, e.Title); err != nil {
			return fmt.Errorf("record expectation %s: %w", e.Type, err)
		}
	}
	return nil
}

// countFilter is what one kind of expectation counts.
type countFilter struct {
	kind, prefix, emoji string
	userOnly            bool
}

// declTarget is an item (or a note of it) expectations are about.
type declTarget struct {
	onType string
	onIID  int64
	noteID string
}

// RefCounter counts the refs of the import's repository whose names start
// with prefix: the store does not read git, its caller does.
type RefCounter func(ctx context.Context, prefix string) (int64, error)

// Verify compares an import's expectations with what its project holds:
// each item short of its declaration becomes a failure (relation
// "verification", naming the item), and the sums per type are kept for
// Verification. It returns the checks (none when nothing was declared).
// It reads the project's notes and award emoji once per kind of count, not
// once per item; refs (ferry.KindGitRefs) are counted by refs, which may
// be nil when nothing declared any.
func (tx *Tx) Verify(ctx context.Context, im *ferry.Import, refs RefCounter) ([]ferry.VerificationCheck, error) {
	if im.ProjectID == 0 {
		return nil, nil
	}
	type declared struct {
		filter    countFilter
		expected  int64
		sourceURL string
		title     string
	}
	type key struct {
		typ string
		t   declTarget
	}
	rows, err := tx.q.QueryContext(ctx, `SELECT type, on_type, on_iid, note_id, kind, prefix, user_only, emoji, expected, source_url, title
		FROM import_expectations WHERE import_id = $1`, im.ID)
	if err != nil {
		return nil, fmt.Errorf("expectations of import %d: %w", im.ID, err)
	}
	decl := map[key]*declared{}
	filters := map[countFilter]bool{}
	for rows.Next() {
		var k key
		var d declared
		if err := rows.Scan(&k.typ, &k.t.onType, &k.t.onIID, &k.t.noteID, &d.filter.kind, &d.filter.prefix, &d.filter.userOnly,
			&d.filter.emoji, &d.expected, &d.sourceURL, &d.title); err != nil {
			rows.Close()
			return nil, fmt.Errorf("expectations of import %d: %w", im.ID, err)
		}
		if x := decl[k]; x != nil {
			x.expected += d.expected // several relations declared the same type
			continue
		}
		decl[k] = &d
		filters[d.filter] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("expectations of import %d: %w", im.ID, err)
	}
	if len(decl) == 0 {
		return nil, nil
	}
	counts := map[countFilter]map[declTarget]int64{}
	for f := range filters {
		if f.kind == ferry.KindGitRefs {
			if refs == nil {
				return nil, fmt.Errorf("verify import %d: refs declared and nothing to count them", im.ID)
			}
			n, err := refs(ctx, f.prefix)
			if err != nil {
				return nil, fmt.Errorf("count landed refs %s: %w", f.prefix, err)
			}
			counts[f] = map[declTarget]int64{{}: n}
			continue
		}
		c, err := tx.countLanded(ctx, im.ProjectID, f)
		if err != nil {
			return nil, err
		}
		counts[f] = c
	}
	keys := make([]key, 0, len(decl))
	for k := range decl {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.typ != b.typ {
			return a.typ < b.typ
		}
		if a.t.onType != b.t.onType {
			return a.t.onType < b.t.onType
		}
		if a.t.onIID != b.t.onIID {
			return a.t.onIID < b.t.onIID
		}
		return a.t.noteID < b.t.noteID
	})
	sums := map[string]*ferry.VerificationCheck{}
	var order []string
	for _, k := range keys {
		d := decl[k]
		got := counts[d.filter][landedKey(k.t)]
		s := sums[k.typ]
		if s == nil {
			s = &ferry.VerificationCheck{ObjectType: k.typ}
			sums[k.typ] = s
			order = append(order, k.typ)
		}
		s.Expected += d.expected
		s.Imported += min(got, d.expected)
		if got >= d.expected {
			continue
		}
		missing := d.expected - got
		s.Missing += missing
		title := d.title
		if title == "" {
			title = fmt.Sprintf("%s %d", strings.ToLower(k.t.onType), k.t.onIID)
		}
		if err := tx.AddFailure(ctx, &ferry.ImportFailure{ImportID: im.ID, Relation: "verification", SourceURL: d.sourceURL, SourceTitle: title,
			ExceptionClass: "VerificationError", CorrelationID: im.CorrelationID,
			ExceptionMessage: fmt.Sprintf("%s: the source declares %d, %d landed: %d missing", k.typ, d.expected, got, missing)}); err != nil {
			return nil, err
		}
	}
	out := make([]ferry.VerificationCheck, 0, len(order))
	for _, typ := range order {
		s := sums[typ]
		if _, err := tx.q.ExecContext(ctx, `INSERT INTO import_verifications (import_id, object_type, expected, imported, missing) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (import_id, object_type) DO UPDATE SET expected = excluded.expected, imported = excluded.imported, missing = excluded.missing`,
			im.ID, s.ObjectType, s.Expected, s.Imported, s.Missing); err != nil {
			return nil, fmt.Errorf("record verification %s: %w", s.ObjectType, err)
		}
		out = append(out, *s)
	}
	return out, nil
}

// landedKey is how counts are looked up: what hangs on a note by the
// note's source id alone (award emoji on notes are stored as on a "Note"),
// the rest by the issue or merge request.
func landedKey(t declTarget) declTarget {
	if t.noteID != "" {
		return declTarget{noteID: t.noteID}
	}
	return t
}

// listTables are the kinds a whole list's total is checked for, by table.
var listTables = map[string]string{forge.KindIssue: "issues", forge.KindMergeRequest: "merge_requests"}

// countLanded counts a project's notes or award emoji matching f, per item
// (and per note, for award emoji on notes).
func (tx *Tx) countLanded(ctx context.Context, projectID int64, f countFilter) (map[declTarget]int64, error) {
	var q string
	args := []any{projectID, f.prefix, len(f.prefix)}
	switch f.kind {
	case forge.KindIssue, forge.KindMergeRequest:
		q = `SELECT '', 0, '', COUNT(*) FROM ` + listTables[f.kind] + ` WHERE project_id = $1 AND substr(source_id, 1, $3) = $2`
	case forge.KindNote:
		user := ""
		if f.userOnly {
			user = ` AND NOT system`
		}
		q = `SELECT noteable_type, noteable_iid, '', COUNT(*) FROM notes WHERE project_id = $1 AND substr(source_id, 1, $3) = $2` + user +
			` GROUP BY noteable_type, noteable_iid`
	default:
		emoji := ""
		if f.emoji != "" {
			args = append(args, f.emoji)
			emoji = ` AND name = $4`
		}
		q = `SELECT awardable_type, awardable_iid, note_source_id, COUNT(*) FROM award_emoji WHERE project_id = $1 AND substr(source_id, 1, $3) = $2` + emoji +
			` GROUP BY awardable_type, awardable_iid, note_source_id`
	}
	rows, err := tx.q.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("count landed %s: %w", f.kind, err)
	}
	defer rows.Close()
	out := map[declTarget]int64{}
	for rows.Next() {
		var t declTarget
		var n int64
		if err := rows.Scan(&t.onType, &t.onIID, &t.noteID, &n); err != nil {
			return nil, fmt.Errorf("count landed %s: %w", f.kind, err)
		}
		out[landedKey(t)] += n
	}
	return out, rows.Err()
}

// Verification returns the checks Verify recorded for an import, by type;
// none for an import not verified (still running, or nothing declared).
func (tx *Tx) Verification(ctx context.Context, importID int64) ([]ferry.VerificationCheck, error) {
	rows, err := tx.q.QueryContext(ctx, `SELECT object_type, expected, imported, missing FROM import_verifications WHERE import_id = $1 ORDER BY object_type`, importID)
	if err != nil {
		return nil, fmt.Errorf("verification of import %d: %w", importID, err)
	}
	defer rows.Close()
	var out []ferry.VerificationCheck
	for rows.Next() {
		var c ferry.VerificationCheck
		if err := rows.Scan(&c.ObjectType, &c.Expected, &c.Imported, &c.Missing); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
