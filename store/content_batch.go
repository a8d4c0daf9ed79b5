package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
)

// maxParams bounds the parameters of one statement: SQLite allows 32766,
// PostgreSQL 65535.
const maxParams = 32000

// inChunk bounds the values of one "IN ($1, $2, …)" list: SQLite's named
// parameter lookup is linear, so long lists of them cost quadratic time.
const inChunk = 500

// upsertSpec describes one table's idempotent batch write.
type upsertSpec struct {
	table string
	cols  []string
	key   []string // the unique index written on; nil with nothing = any conflict
	where string   // predicate of a partial unique index, if the key is one
	// nothing makes a conflict keep the stored row (DO NOTHING) instead of
	// updating it from the new one.
	nothing bool
	// insertOnly are columns a conflict leaves as stored (a first-seen
	// created_at the source does not give).
	insertOnly []string
}

// keyPos are the positions of the key columns within cols.
func (sp *upsertSpec) keyPos() []int {
	var pos []int
	for _, k := range sp.key {
		for i, c := range sp.cols {
			if c == k {
				pos = append(pos, i)
			}
		}
	}
	return pos
}

// statement is the multi-row INSERT … ON CONFLICT for n rows. SQLite gets
// anonymous "?" parameters: it resolves "$N" names by a linear search per
// parameter, which makes a statement with thousands of them quadratic.
func (sp *upsertSpec) statement(n int, dialect string) string {
	var b strings.Builder
	b.WriteString("INSERT INTO " + sp.table + " (" + strings.Join(sp.cols, ", ") + ") VALUES ")
	p := 1
	for r := 0; r < n; r++ {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range sp.cols {
			if c > 0 {
				b.WriteString(", ")
			}
			if dialect == SQLite {
				b.WriteByte('?')
			} else {
				fmt.Fprintf(&b, "$%d", p)
			}
			p++
		}
		b.WriteByte(')')
	}
	b.WriteString(" ON CONFLICT ")
	if len(sp.key) > 0 {
		b.WriteString("(" + strings.Join(sp.key, ", ") + ") ")
		if sp.where != "" {
			b.WriteString("WHERE " + sp.where + " ")
		}
	}
	if sp.nothing {
		b.WriteString("DO NOTHING")
		return b.String()
	}
	b.WriteString("DO UPDATE SET ")
	first := true
	for _, c := range sp.cols {
		if contains(sp.key, c) || contains(sp.insertOnly, c) {
			continue
		}
		if !first {
			b.WriteString(", ")
		}
		first = false
		b.WriteString(c + " = excluded." + c)
	}
	return b.String()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// dedupe keeps the last row per key (PostgreSQL refuses a statement that
// would update the same row twice) and orders rows by key, so writers
// racing over overlapping pages lock rows in the same order and cannot
// deadlock.
func (sp *upsertSpec) dedupe(rows [][]any) [][]any {
	pos := sp.keyPos()
	if len(pos) == 0 || len(rows) < 2 {
		return rows
	}
	type keyed struct {
		key string
		row []any
	}
	seen := make(map[string]int, len(rows))
	out := make([]keyed, 0, len(rows))
	var kb strings.Builder
	for _, r := range rows {
		kb.Reset()
		for _, p := range pos {
			fmt.Fprint(&kb, r[p])
			kb.WriteByte(0)
		}
		k := kb.String()
		if i, ok := seen[k]; ok {
			out[i].row = r
			continue
		}
		seen[k] = len(out)
		out = append(out, keyed{k, r})
	}
	slices.SortFunc(out, func(a, b keyed) int { return strings.Compare(a.key, b.key) })
	rows = rows[:0:0]
	for _, k := range out {
		rows = append(rows, k.row)
	}
	return rows
}

// upsert writes rows (each one value per column of sp) in multi-row
// statements; the full-size statement is prepared once per batch.
func (tx *Tx) upsert(ctx context.Context, sp *upsertSpec, rows [][]any) error {
	rows = sp.dedupe(rows)
	if len(rows) == 0 {
		return nil
	}
	per := max(1, maxParams/len(sp.cols))
	var stmt *sql.Stmt
	if len(rows) >= 2*per && tx.sql != nil {
		s, err := tx.sql.PrepareContext(ctx, sp.statement(per, tx.Dialect()))
		if err != nil {
			return fmt.Errorf("prepare upsert into %s: %w", sp.table, err)
		}
		defer s.Close()
		stmt = s
	}
	args := make([]any, 0, min(len(rows), per)*len(sp.cols))
	for start := 0; start < len(rows); start += per {
		chunk := rows[start:min(start+per, len(rows))]
		args = args[:0]
		for _, r := range chunk {
			args = append(args, r...)
		}
		var err error
		if stmt != nil && len(chunk) == per {
			_, err = stmt.ExecContext(ctx, args...)
		} else {
			_, err = tx.q.ExecContext(ctx, sp.statement(len(chunk), tx.Dialect()), args...)
		}
		if err != nil {
			return fmt.Errorf("upsert %d rows into %s: %w", len(chunk), sp.table, err)
		}
	}
	return nil
}

// inList appends vals as arguments and returns "($i, $j, …)".
func inList[T any](args *[]any, vals []T) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, v := range vals {
		if i > 0 {
			b.WriteString(", ")
		}
		*args = append(*args, v)
		fmt.Fprintf(&b, "$%d", len(*args))
	}
	b.WriteByte(')')
	return b.String()
}
