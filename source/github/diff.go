package github

import (
	"cmp"

	gh "github.com/google/go-github/v92/github"

	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/source/internal/diffpos"
)

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
		pos.HeadSHA = cmp.Or(c.GetCommitID(), c.GetOriginalCommitID())
		return pos
	}
	line, start, sha := c.Line, c.StartLine, c.GetCommitID()
	if line == nil {
		line, start, sha = c.OriginalLine, c.OriginalStartLine, c.GetOriginalCommitID()
	}
	pos.HeadSHA = sha
	hunk := diffpos.Parse(c.GetDiffHunk())
	side := c.GetSide()
	end := diffpos.Locate(hunk, diffSide(side), int64(derefInt(line)))
	if line == nil && len(hunk) > 0 {
		end = hunk[len(hunk)-1] // no line at all: GitHub anchors on the hunk's last line
	}
	pos.OldLine, pos.NewLine = end.OldLine(), end.NewLine()
	startSide := cmp.Or(c.GetStartSide(), side)
	if start != nil && (derefInt(start) != derefInt(line) || startSide != side) {
		s := diffpos.Locate(hunk, diffSide(startSide), int64(*start))
		pos.LineRange = &forge.LineRange{Start: s.Position(path), End: end.Position(path)}
	}
	return pos
}

// diffSide is GitHub's side of a diff: as in GitLab's importer, only RIGHT
// is the new side.
func diffSide(side string) diffpos.Side {
	if side == "RIGHT" {
		return diffpos.New
	}
	return diffpos.Old
}

func derefInt(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}
