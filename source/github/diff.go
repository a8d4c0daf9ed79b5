package github

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	gh "github.com/google/go-github/v92/github"

	"github.com/ferry-import/ferry/forge"
)

// hunkLine is one line of a diff hunk with its numbers on each side (0 on
// the side it is not on).
type hunkLine struct {
	kind     byte // '+', '-' or ' '
	old, new int64
}

// parseHunk numbers the lines of a GitHub diff_hunk: "@@ -a,b +c,d @@"
// headers followed by lines starting with '+', '-' or ' '. It stops at
// anything it does not understand and returns what it numbered.
func parseHunk(h string) []hunkLine {
	var out []hunkLine
	var old, new int64
	inHunk := false
	for line := range strings.SplitSeq(h, "\n") {
		line = strings.TrimSuffix(line, "\r")
		if strings.HasPrefix(line, "@@") {
			o, n, ok := parseHunkHeader(line)
			if !ok {
				return out
			}
			old, new, inHunk = o, n, true
			continue
		}
		if !inHunk {
			return out
		}
		switch {
		case line == "" || line[0] == ' ':
			// GitHub trims the blank of an empty context line.
			out = append(out, hunkLine{kind: ' ', old: old, new: new})
			old++
			new++
		case line[0] == '+':
			out = append(out, hunkLine{kind: '+', new: new})
			new++
		case line[0] == '-':
			out = append(out, hunkLine{kind: '-', old: old})
			old++
		case line[0] == '\\': // "\ No newline at end of file"
		default:
			return out
		}
	}
	return out
}

// parseHunkHeader reads the start lines of "@@ -a[,b] +c[,d] @@…".
func parseHunkHeader(line string) (old, new int64, ok bool) {
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

// lineCode is GitLab's "<sha1(path)>_<old>_<new>".
func lineCode(path string, old, new int64) string {
	sum := sha1.Sum([]byte(path))
	return fmt.Sprintf("%s_%d_%d", hex.EncodeToString(sum[:]), old, new)
}

// diffPosition anchors a review comment: GitHub's line and side (or, for
// a comment the PR has moved past, original_line on original_commit_id),
// with the other side's number taken from the diff hunk for context lines,
// and a line range for multi-line comments. Base and start SHAs are left
// to the merge request's diff refs, as GitLab does.
func diffPosition(c *gh.PullRequestComment) *forge.DiffPosition {
	path := c.GetPath()
	pos := &forge.DiffPosition{OldPath: path, NewPath: path, Type: "text"}
	if c.GetSubjectType() == "file" {
		pos.Type = "file"
		pos.HeadSHA = firstNonEmpty(c.GetCommitID(), c.GetOriginalCommitID())
		return pos
	}
	line, start, sha := c.Line, c.StartLine, c.GetCommitID()
	if line == nil {
		line, start, sha = c.OriginalLine, c.OriginalStartLine, c.GetOriginalCommitID()
	}
	pos.HeadSHA = sha
	hunk := parseHunk(c.GetDiffHunk())
	side := c.GetSide()
	end := locate(hunk, side, int64(derefInt(line)))
	if line == nil && len(hunk) > 0 {
		end = hunk[len(hunk)-1] // no line at all: GitHub anchors on the hunk's last line
	}
	pos.OldLine, pos.NewLine = end.old, end.new
	startSide := c.GetStartSide()
	if startSide == "" {
		startSide = side
	}
	if start != nil && (derefInt(start) != derefInt(line) || startSide != side) {
		s := locate(hunk, startSide, int64(*start))
		pos.LineRange = &forge.LineRange{Start: linePosition(path, s), End: linePosition(path, end)}
	}
	return pos
}

// locate finds the hunk line a side and number name; a line the hunk does
// not show keeps just the number GitHub gave. As in GitLab, only RIGHT is
// the new side.
func locate(hunk []hunkLine, side string, n int64) hunkLine {
	left := side != "RIGHT"
	for i := len(hunk) - 1; i >= 0; i-- {
		h := hunk[i]
		if (left && h.kind != '+' && h.old == n) || (!left && h.kind != '-' && h.new == n) {
			return h
		}
	}
	if left {
		return hunkLine{kind: '-', old: n}
	}
	return hunkLine{kind: '+', new: n}
}

func linePosition(path string, h hunkLine) forge.LinePosition {
	p := forge.LinePosition{LineCode: lineCode(path, h.old, h.new), OldLine: h.old, NewLine: h.new}
	switch h.kind {
	case '+':
		p.Type = "new"
	case '-':
		p.Type = "old"
	}
	return p
}

func derefInt(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
