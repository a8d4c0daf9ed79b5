package bitbucketserver

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/source/internal/diffpos"
	"github.com/ferry-import/ferry/source/internal/paging"
	"github.com/ferry-import/ferry/source/internal/sysnote"
)

// builder is a page under construction with Bitbucket's conversions.
type builder struct {
	*paging.Builder
	r     *run
	users map[string]bool // people already added to this page
}

func (r *run) builder() *builder { return &builder{Builder: paging.NewBuilder(), r: r} }

// ts converts Bitbucket's epoch milliseconds.
func ts(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func optTS(ms int64) *time.Time {
	if ms <= 0 {
		return nil
	}
	t := ts(ms)
	return &t
}

// user converts a person and adds their profile (name, e-mail) to the
// page once: Bitbucket sends both inline, so no users stage is needed.
// The identity is the slug, as GitLab's importer keys it (mapping.md §2.4).
func (b *builder) user(u user) forge.SourceUser {
	slug := cmp.Or(u.Slug, u.Name, u.DisplayName)
	if slug == "" {
		return forge.SourceUser{Login: "ghost"}
	}
	su := forge.SourceUser{Login: slug, Name: u.DisplayName, Email: u.EmailAddress}
	su.ID = slug
	if b.users == nil {
		b.users = map[string]bool{}
	}
	if !b.users[slug] {
		b.users[slug] = true
		full := su
		full.SourceID = b.r.sid(slug)
		b.Add(full)
	}
	return su
}

// committer is the merging person of a MERGED activity's commit.
func (b *builder) committer(p person, fallback user) forge.SourceUser {
	if p.Slug == "" && p.Name == "" {
		return b.user(fallback)
	}
	return b.user(user{Slug: p.Slug, Name: p.Name, DisplayName: p.DisplayName, EmailAddress: p.EmailAddress})
}

// branchName strips refs/heads/ (GitLab's Gitlab::Git.ref_name).
func branchName(id string) string {
	for _, p := range []string{"refs/heads/", "refs/tags/", "refs/remotes/"} {
		if rest, ok := strings.CutPrefix(id, p); ok {
			return rest
		}
	}
	return id
}

func (b *builder) mergeRequest(pr pullRequest) forge.MergeRequest {
	mr := forge.MergeRequest{SourceID: b.r.sid("pr/" + strconv.FormatInt(pr.ID, 10)), IID: pr.ID, Title: pr.Title,
		Description: pr.Description, State: forge.StateOpened, Draft: pr.Draft,
		SourceBranch: branchName(pr.FromRef.ID), TargetBranch: branchName(pr.ToRef.ID),
		SourceSHA: pr.FromRef.LatestCommit, TargetSHA: pr.ToRef.LatestCommit,
		Author: b.user(pr.Author.User), CreatedAt: ts(pr.CreatedDate), UpdatedAt: ts(pr.UpdatedDate)}
	switch pr.State {
	case "MERGED":
		mr.State = forge.StateMerged
		mr.MergedAt = optTS(pr.ClosedDate)
		mr.MergeCommitSHA = mergeCommit(pr)
	case "DECLINED":
		mr.State = forge.StateClosed
		mr.ClosedAt = optTS(pr.ClosedDate)
	}
	for _, rv := range pr.Reviewers {
		mr.Reviewers = append(mr.Reviewers, b.user(rv.User))
	}
	return mr
}

// standingApprovals are the APPROVED activities not withdrawn later by
// the same person (UNAPPROVED, or REVIEWED: "needs work"): GitLab's
// approvals are who approves now.
func standingApprovals(acts []activity) map[int64]bool {
	sorted := slices.Clone(acts)
	slices.SortStableFunc(sorted, func(x, y activity) int {
		if c := cmp.Compare(x.CreatedDate, y.CreatedDate); c != 0 {
			return c
		}
		return cmp.Compare(x.ID, y.ID)
	})
	last := map[string]activity{}
	for _, a := range sorted {
		switch a.Action {
		case "APPROVED", "UNAPPROVED", "REVIEWED":
			last[cmp.Or(a.User.Slug, a.User.Name)] = a
		}
	}
	out := map[int64]bool{}
	for _, a := range last {
		if a.Action == "APPROVED" {
			out[a.ID] = true
		}
	}
	return out
}

// mergeCommit is a merged pull request's merge commit, when the server
// says (Bitbucket 7+: properties.mergeCommit).
func mergeCommit(pr pullRequest) string {
	if mc := pr.Properties.MergeCommit; mc != nil {
		return mc.ID
	}
	return ""
}

// activity converts one entry of a pull request's activity stream;
// standing says an APPROVED activity was not withdrawn later.
func (b *builder) activity(iid int64, a activity, standing bool) {
	on := forge.Noteable{Type: forge.OnMergeRequest, IID: iid}
	id := strconv.FormatInt(a.ID, 10)
	system := func(body string) {
		b.Add(forge.Note{SourceID: b.r.sid("activity/" + id), On: on, Body: body, Author: b.user(a.User), System: true,
			CreatedAt: ts(a.CreatedDate), UpdatedAt: ts(a.CreatedDate)})
	}
	// state is GitLab's resource state event beside the system note: the
	// activity stream the import reads already, no further call.
	state := func(st string, by forge.SourceUser, at time.Time) {
		b.Add(forge.ResourceEvent{SourceID: b.r.sid("state_event/" + id), On: on, Event: forge.EventState, State: st, Author: by, CreatedAt: at})
	}
	switch a.Action {
	case "COMMENTED":
		if a.Comment == nil || a.CommentAction == "DELETED" {
			return
		}
		if a.CommentAnchor != nil {
			b.inline(on, a)
			return
		}
		b.thread(on, *a.Comment, nil)
	case "APPROVED":
		// An approving review is the approval (and the reviewer's state),
		// while it stands.
		if standing {
			b.Add(forge.Review{SourceID: b.r.sid("review/" + id), MergeRequestIID: iid, State: forge.ReviewApproved,
				Author: b.user(a.User), SubmittedAt: ts(a.CreatedDate)})
		}
		system(sysnote.Approved())
	case "UNAPPROVED":
		system(sysnote.Unapproved())
	case "REVIEWED":
		// "Needs work" in Bitbucket: a review requesting changes.
		b.Add(forge.Review{SourceID: b.r.sid("review/" + id), MergeRequestIID: iid, State: forge.ReviewChangesRequested,
			Author: b.user(a.User), SubmittedAt: ts(a.CreatedDate)})
		system(sysnote.RequestedChanges())
	case "MERGED":
		by, at, sha := b.user(a.User), ts(a.CreatedDate), ""
		if c := a.Commit; c != nil {
			by, sha = b.committer(c.Committer, a.User), c.ID
			if c.CommitterTimestamp > 0 {
				at = ts(c.CommitterTimestamp)
			}
		}
		b.Add(forge.Closure{SourceID: b.r.sid("closure/" + id), On: on, Merged: true, By: by, At: at})
		system(sysnote.Merged(sha))
		state(forge.StateMerged, by, at)
	case "DECLINED":
		b.Add(forge.Closure{SourceID: b.r.sid("closure/" + id), On: on, By: b.user(a.User), At: ts(a.CreatedDate)})
		system(sysnote.Closed(""))
		state(forge.StateClosed, b.user(a.User), ts(a.CreatedDate))
	case "REOPENED":
		system(sysnote.Reopened())
		state(forge.StateReopened, b.user(a.User), ts(a.CreatedDate))
	case "RESCOPED":
		if body := rescopeNote(a); body != "" {
			system(body)
		}
	}
}

// rescopeNote words a rescope as GitLab's commits note (sysnote), the
// commits added and then those removed.
func rescopeNote(a activity) string {
	var parts []string
	for _, c := range []struct {
		word func(int, []sysnote.Commit) string
		l    *commitList
	}{{sysnote.AddedCommits, a.Added}, {sysnote.RemovedCommits, a.Removed}} {
		if c.l == nil || max(c.l.Total, len(c.l.Commits)) == 0 {
			continue
		}
		var listed []sysnote.Commit
		for _, cm := range c.l.Commits {
			listed = append(listed, sysnote.Commit{SHA: cm.ID, Message: cm.Message})
		}
		parts = append(parts, c.word(c.l.Total, listed))
	}
	return strings.Join(parts, "\n\n")
}

// reply is one comment of a thread with what it answers.
type reply struct {
	c      comment
	parent *comment
}

// flatten lists a comment's replies, depth first in order, each with the
// comment it answers.
func flatten(root comment) []reply {
	var out []reply
	var walk func(parent *comment)
	walk = func(parent *comment) {
		for i := range parent.Comments {
			c := &parent.Comments[i]
			out = append(out, reply{c: *c, parent: parent})
			walk(c)
		}
	}
	walk(&root)
	return out
}

// quote is GitLab's context for a reply: the parent's text cut to 80
// characters (" ..." added when cut), quoted, then a blank line.
func quote(parent string) string {
	p := strings.TrimSpace(parent)
	if utf8.RuneCountInString(p) > 80 {
		p = string([]rune(p)[:80]) + " ..."
	}
	p = strings.ReplaceAll(p, "\n", " ")
	return "> " + p + "\n\n"
}

// note is one comment as a note of the discussion rooted at root.
func (b *builder) note(on forge.Noteable, root int64, c comment, body string, pos *forge.DiffPosition) forge.Note {
	return forge.Note{SourceID: b.r.sid("comment/" + strconv.FormatInt(c.ID, 10)), On: on,
		DiscussionID: "comment/" + strconv.FormatInt(root, 10), Body: body, Author: b.user(c.Author),
		Position: pos, CreatedAt: ts(c.CreatedDate), UpdatedAt: ts(max(c.UpdatedDate, c.CreatedDate))}
}

// thread adds a comment and its nested replies as one discussion. A
// BLOCKER comment is a Bitbucket task: its thread is resolvable, and
// resolved when the task is.
func (b *builder) thread(on forge.Noteable, root comment, pos *forge.DiffPosition) {
	top := b.note(on, root.ID, root, root.Text, pos)
	b.task(&top, root)
	b.Add(top)
	for _, rp := range flatten(root) {
		body := rp.c.Text
		if rp.parent.ID != root.ID {
			body = quote(rp.parent.Text) + body
		}
		n := b.note(on, root.ID, rp.c, body, pos)
		b.task(&n, rp.c)
		b.Add(n)
	}
}

func (b *builder) task(n *forge.Note, c comment) {
	if c.Severity == "BLOCKER" {
		n.Resolvable = true
		n.Resolved = c.State == "RESOLVED"
	}
}

// inline adds an inline comment thread as diff notes positioned on the
// line the activity's diff marks with the comment's id; a comment whose
// line is not in that diff (orphaned) becomes a plain thread saying where
// it was, as GitLab's importer does.
//
// The line's sides follow the anchor's line type as GitLab's importer
// reads them (an added line has no old line, a removed one no new line),
// by diffpos's rule for either adapter. GitLab's note gets a line code only
// from its own diff (DiffNote#set_line_code, not in the position or the
// API) and no line range, so none is set here.
func (b *builder) inline(on forge.Noteable, a activity) {
	an, c := a.CommentAnchor, *a.Comment
	newPath := an.Path
	oldPath := cmp.Or(an.SrcPath, an.Path)
	src, dst, found := locate(a.Diff, c.ID)
	line := diffpos.Line{Kind: lineKind(an.LineType), Old: src, New: dst}
	if !found || an.Orphaned || (line.OldLine() == 0 && line.NewLine() == 0) {
		if !found && an.Line > 0 {
			// Where the anchor said it was, on the side its file type names.
			side := diffpos.Old
			if an.LineType == "ADDED" || (an.LineType == "CONTEXT" && an.FileType == "TO") {
				side = diffpos.New
			}
			line = diffpos.Only(side, an.Line)
		}
		var where []string
		if n := line.OldLine(); n > 0 {
			where = append(where, fmt.Sprintf("%s:%d", oldPath, n))
		}
		if n := line.NewLine(); n > 0 {
			where = append(where, fmt.Sprintf("%s:%d", newPath, n))
		}
		if len(where) == 0 {
			where = append(where, newPath)
		}
		c.Text = "*Comment on " + strings.Join(where, " --> ") + "*\n\n" + c.Text
		b.thread(on, c, nil)
		return
	}
	// As GitLab's importer: the MR's diff refs, old and new line, no range.
	b.thread(on, c, &forge.DiffPosition{OldPath: oldPath, NewPath: newPath, OldLine: line.OldLine(), NewLine: line.NewLine(), Type: "text"})
}

// lineKind reads Bitbucket's line type.
func lineKind(t string) diffpos.Kind {
	switch t {
	case "ADDED":
		return diffpos.Added
	case "REMOVED":
		return diffpos.Removed
	}
	return diffpos.Context
}

// locate finds the diff line marked with comment id: its line numbers on
// the old (source) and new (destination) side.
func locate(d *diff, id int64) (src, dst int64, found bool) {
	if d == nil {
		return 0, 0, false
	}
	for _, h := range d.Hunks {
		for _, s := range h.Segments {
			for _, l := range s.Lines {
				for _, cid := range l.CommentIDs {
					if cid == id {
						return l.Source, l.Destination, true
					}
				}
			}
		}
	}
	return 0, 0, false
}
