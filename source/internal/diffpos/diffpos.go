// Package diffpos anchors diff notes the way GitLab does, for every source
// adapter: it numbers the lines of a unified diff hunk as GitLab's
// Gitlab::Diff::Parser does, finds a line by side and number, and writes
// GitLab's line code ("<sha1(path)>_<old>_<new>", Gitlab::Git.diff_line_code).
//
// A line on one side only keeps, on the other side, the running number the
// next line there would have, as GitLab's parser keeps old_pos and new_pos:
// that number goes into the line code, while the position's line on that
// side is none (OldLine, NewLine).
//
// It knows unified diffs and GitLab's position model (forge); it must not
// know any source forge's API or how a source names sides.
package diffpos

import (
	"crypto/sha1"
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/ferry-import/ferry/forge"
)

// Kind is what a diff line does.
type Kind byte

const (
	Context Kind = ' '
	Added   Kind = '+'
	Removed Kind = '-'
)

// Side is a side of a diff.
type Side int

const (
	Old Side = iota // the base, "left"
	New             // the head, "right"
)

// Line is one line of a diff with GitLab's old_pos and new_pos.
type Line struct {
	Kind     Kind
	Old, New int64
}

// OldLine is the line's number on the old side, 0 when it is not there.
func (l Line) OldLine() int64 {
	if l.Kind == Added {
		return 0
	}
	return l.Old
}

// NewLine is the line's number on the new side, 0 when it is not there.
func (l Line) NewLine() int64 {
	if l.Kind == Removed {
		return 0
	}
	return l.New
}

// Code is the line's GitLab line code in the file at path.
func (l Line) Code(path string) string { return LineCode(path, l.Old, l.New) }

// Position is the line as one end of a multi-line note's line range.
func (l Line) Position(path string) forge.LinePosition {
	p := forge.LinePosition{LineCode: l.Code(path), OldLine: l.OldLine(), NewLine: l.NewLine()}
	switch l.Kind {
	case Added:
		p.Type = "new"
	case Removed:
		p.Type = "old"
	}
	return p
}

// LineCode is GitLab's Gitlab::Git.diff_line_code: the hex SHA-1 of the
// path, the old and the new line number.
func LineCode(path string, old, new int64) string {
	sum := sha1.Sum([]byte(path))
	return hex.EncodeToString(sum[:]) + "_" + strconv.FormatInt(old, 10) + "_" + strconv.FormatInt(new, 10)
}

// Parse numbers the lines of unified diff hunks: "@@ -a,b +c,d @@" headers,
// each followed by lines starting with '+', '-' or ' ' (an empty line is
// an empty context line, as GitHub trims its blank). "\ No newline at end
// of file" counts on neither side; "--- a/…" and "+++ b/…" file headers
// before the first hunk are skipped. It stops at anything else and returns
// what it numbered.
func Parse(hunk string) []Line {
	var out []Line
	var old, new int64
	inHunk := false
	for line := range strings.SplitSeq(hunk, "\n") {
		line = strings.TrimSuffix(line, "\r")
		if strings.HasPrefix(line, "@@") {
			o, n, ok := parseHeader(line)
			if !ok {
				return out
			}
			old, new, inHunk = o, n, true
			continue
		}
		if !inHunk {
			if strings.HasPrefix(line, "--- ") || strings.HasPrefix(line, "+++ ") {
				continue
			}
			return out
		}
		switch {
		case line == "" || line[0] == ' ':
			out = append(out, Line{Kind: Context, Old: old, New: new})
			old++
			new++
		case line[0] == '+':
			out = append(out, Line{Kind: Added, Old: old, New: new})
			new++
		case line[0] == '-':
			out = append(out, Line{Kind: Removed, Old: old, New: new})
			old++
		case line[0] == '\\':
		default:
			return out
		}
	}
	return out
}

// parseHeader reads the start lines of "@@ -a[,b] +c[,d] @@…".
func parseHeader(line string) (old, new int64, ok bool) {
	f := strings.Fields(line)
	if len(f) < 4 || f[0] != "@@" || f[3] != "@@" || !strings.HasPrefix(f[1], "-") || !strings.HasPrefix(f[2], "+") {
		return 0, 0, false
	}
	start := func(s string) (int64, bool) {
		s, _, _ = strings.Cut(s[1:], ",")
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil && n >= 0
	}
	o, ok1 := start(f[1])
	n, ok2 := start(f[2])
	return o, n, ok1 && ok2
}

// Find returns the last line that has number n on side; ok is false when
// the lines do not show it.
func Find(lines []Line, side Side, n int64) (Line, bool) {
	for i := len(lines) - 1; i >= 0; i-- {
		l := lines[i]
		if (side == Old && l.Kind != Added && l.Old == n) || (side == New && l.Kind != Removed && l.New == n) {
			return l, true
		}
	}
	return Line{}, false
}

// Only is a line known by its number on one side alone (a line no hunk at
// hand shows): it is on that side only, with 0 for the other.
func Only(side Side, n int64) Line {
	if side == Old {
		return Line{Kind: Removed, Old: n}
	}
	return Line{Kind: Added, New: n}
}

// Locate is the line with number n on side, as the lines show it, else as
// Only knows it.
func Locate(lines []Line, side Side, n int64) Line {
	if l, ok := Find(lines, side, n); ok {
		return l
	}
	return Only(side, n)
}
