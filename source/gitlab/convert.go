package gitlab

import (
	"fmt"
	"strconv"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/source/internal/paging"
)

// builder is a page under construction with GitLab's conversions.
type builder struct {
	*paging.Builder
	r     *run
	users map[int64]bool // people already added to this page
}

func (r *run) builder() *builder { return &builder{Builder: paging.NewBuilder(), r: r} }

func id(n int64) string { return strconv.FormatInt(n, 10) }

func at(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

func optAt(t *time.Time) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func date(d *gl.ISOTime) *time.Time {
	if d == nil {
		return nil
	}
	t := time.Time(*d)
	if t.IsZero() {
		return nil
	}
	t = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	return &t
}

// user converts a person, keyed by their numeric id at the source, and
// adds them to the page once; the store makes the placeholder users.
// GitLab's REST entities carry no e-mail (only /users/:id has a public
// one), so none is sent.
func (b *builder) user(uid int64, username, name string) forge.SourceUser {
	if uid == 0 && username == "" {
		return forge.SourceUser{Login: "ghost"}
	}
	su := forge.SourceUser{Login: username, Name: name}
	su.ID = id(uid)
	if b.users == nil {
		b.users = map[int64]bool{}
	}
	if !b.users[uid] {
		b.users[uid] = true
		full := su
		full.SourceID = b.r.sid(su.ID)
		b.Add(full)
	}
	return su
}

func (b *builder) basic(u *gl.BasicUser) forge.SourceUser {
	if u == nil {
		return b.user(0, "", "")
	}
	return b.user(u.ID, u.Username, u.Name)
}

func (b *builder) basics(us []*gl.BasicUser) []forge.SourceUser {
	var out []forge.SourceUser
	for _, u := range us {
		if u != nil {
			out = append(out, b.basic(u))
		}
	}
	return out
}

// optBasic is a person who may be absent (closed_by of an open item).
func (b *builder) optBasic(u *gl.BasicUser) *forge.SourceUser {
	if u == nil || (u.ID == 0 && u.Username == "") {
		return nil
	}
	su := b.basic(u)
	return &su
}

func (b *builder) label(l *gl.Label) forge.Label {
	return forge.Label{SourceID: b.r.sid("label/" + id(l.ID)), Name: l.Name, Color: l.Color, Description: l.Description}
}

func milestoneState(s string) string {
	if s == "closed" {
		return forge.MilestoneClosed
	}
	return forge.MilestoneActive
}

func (b *builder) milestone(m *gl.Milestone) forge.Milestone {
	return forge.Milestone{SourceID: b.r.sid("milestone/" + id(m.ID)), IID: m.IID, Title: m.Title, Description: b.attach(m.Description),
		State: milestoneState(m.State), StartDate: date(m.StartDate), DueDate: date(m.DueDate),
		CreatedAt: at(m.CreatedAt), UpdatedAt: at(m.UpdatedAt)}
}

// milestoneIID is the iid of an item's milestone when it is one of this
// project's (a group milestone has iids of its own group's).
func milestoneIID(m *gl.Milestone) int64 {
	if m == nil || m.ProjectID == 0 {
		return 0
	}
	return m.IID
}

func state(s string) string {
	switch s {
	case "closed":
		return forge.StateClosed
	case "merged":
		return forge.StateMerged
	case "locked":
		return forge.StateLocked
	}
	return forge.StateOpened
}

func (b *builder) issue(is *gl.Issue) forge.Issue {
	out := forge.Issue{SourceID: b.r.sid("issue/" + id(is.ID)), IID: is.IID, Title: is.Title, Description: b.attach(is.Description),
		State: state(is.State), Confidential: is.Confidential, Locked: is.DiscussionLocked, Labels: is.Labels,
		MilestoneIID: milestoneIID(is.Milestone), CreatedAt: at(is.CreatedAt), UpdatedAt: at(is.UpdatedAt),
		ClosedAt: optAt(is.ClosedAt), DueDate: date(is.DueDate)}
	if a := is.Author; a != nil {
		out.Author = b.user(a.ID, a.Username, a.Name)
	} else {
		out.Author = b.user(0, "", "")
	}
	for _, a := range is.Assignees {
		if a != nil {
			out.Assignees = append(out.Assignees, b.user(a.ID, a.Username, a.Name))
		}
	}
	if c := is.ClosedBy; c != nil && out.State == forge.StateClosed && (c.ID != 0 || c.Username != "") {
		u := b.user(c.ID, c.Username, c.Name)
		out.ClosedBy = &u
	}
	return out
}

// mergeRequest converts one merge request read on its own (GET
// …/merge_requests/:iid): the list entity lacks diff_refs.
func (b *builder) mergeRequest(mr *gl.MergeRequest) forge.MergeRequest {
	m := mr.BasicMergeRequest
	out := forge.MergeRequest{SourceID: b.r.sid("mr/" + id(m.ID)), IID: m.IID, Title: m.Title, Description: b.attach(m.Description),
		State: state(m.State), Draft: m.Draft, Locked: m.DiscussionLocked, SourceBranch: m.SourceBranch, TargetBranch: m.TargetBranch,
		SourceSHA: m.SHA, TargetSHA: mr.DiffRefs.StartSha, BaseSHA: mr.DiffRefs.BaseSha, MergeCommitSHA: m.MergeCommitSHA,
		Author: b.basic(m.Author), Assignees: b.basics(m.Assignees), Reviewers: b.basics(m.Reviewers), Labels: m.Labels,
		MilestoneIID: milestoneIID(m.Milestone), CreatedAt: at(m.CreatedAt), UpdatedAt: at(m.UpdatedAt)}
	if mr.DiffRefs.HeadSha != "" {
		out.SourceSHA = mr.DiffRefs.HeadSha
	}
	if out.MergeCommitSHA == "" {
		out.MergeCommitSHA = m.SquashCommitSHA
	}
	switch out.State {
	case forge.StateMerged:
		out.MergedAt = optAt(m.MergedAt)
		out.MergedBy = b.optBasic(m.MergeUser)
		if out.MergedBy == nil {
			out.MergedBy = b.optBasic(m.MergedBy)
		}
	case forge.StateClosed:
		out.ClosedAt = optAt(m.ClosedAt)
		out.ClosedBy = b.optBasic(m.ClosedBy)
	}
	return out
}

// note converts one note of a discussion; individual notes stand alone.
func (b *builder) note(on forge.Noteable, d *gl.Discussion, n *gl.Note) forge.Note {
	out := forge.Note{SourceID: b.r.sid("note/" + id(n.ID)), On: on, Body: b.attach(n.Body),
		Author: b.user(n.Author.ID, n.Author.Username, n.Author.Name), System: n.System,
		Internal: n.Internal || n.Confidential, Resolvable: n.Resolvable, Resolved: n.Resolved,
		CreatedAt: at(n.CreatedAt), UpdatedAt: at(n.UpdatedAt)}
	if !d.IndividualNote {
		out.DiscussionID = d.ID
	}
	if n.Resolved {
		out.ResolvedAt = optAt(n.ResolvedAt)
		if rb := n.ResolvedBy; rb.ID != 0 || rb.Username != "" {
			u := b.user(rb.ID, rb.Username, rb.Name)
			out.ResolvedBy = &u
		}
	}
	if p := n.Position; p != nil {
		out.Position = position(p)
	}
	return out
}

// position keeps a DiffNote's position as GitLab sent it: the diff refs of
// the source, whose commits the mirror holds.
func position(p *gl.NotePosition) *forge.DiffPosition {
	out := &forge.DiffPosition{BaseSHA: p.BaseSHA, StartSHA: p.StartSHA, HeadSHA: p.HeadSHA, OldPath: p.OldPath,
		NewPath: p.NewPath, OldLine: p.OldLine, NewLine: p.NewLine, Type: p.PositionType}
	if out.Type == "" {
		out.Type = "text"
	}
	if lr := p.LineRange; lr != nil && lr.StartRange != nil && lr.EndRange != nil {
		lp := func(x *gl.LinePosition) forge.LinePosition {
			return forge.LinePosition{LineCode: x.LineCode, Type: x.Type, OldLine: x.OldLine, NewLine: x.NewLine}
		}
		out.LineRange = &forge.LineRange{Start: lp(lr.StartRange), End: lp(lr.EndRange)}
	}
	return out
}

func (b *builder) awardEmoji(on forge.Noteable, noteID string, e *gl.AwardEmoji) forge.AwardEmoji {
	return forge.AwardEmoji{SourceID: b.r.sid("award_emoji/" + id(e.ID)), On: on, NoteID: noteID, Name: e.Name,
		User: b.basic(&e.User), CreatedAt: at(e.CreatedAt), UpdatedAt: at(e.UpdatedAt)}
}

func (b *builder) release(rel *gl.Release) forge.Release {
	out := forge.Release{SourceID: b.r.sid("release/" + rel.TagName), TagName: rel.TagName, Name: rel.Name,
		Description: b.attach(rel.Description), CommitSHA: rel.Commit.ID, CreatedAt: at(rel.CreatedAt), ReleasedAt: optAt(rel.ReleasedAt),
		Author: b.optBasic(&rel.Author)}
	for _, l := range rel.Assets.Links {
		if l != nil {
			out.Links = append(out.Links, forge.ReleaseLink{Name: l.Name, URL: l.URL, LinkType: string(l.LinkType)})
		}
	}
	return out
}

// roleLevel is the most permissive role of a protected branch's access
// levels (entries for one user, group or deploy key are not roles).
func roleLevel(ds []*gl.BranchAccessDescription) ferry.AccessLevel {
	var levels []ferry.AccessLevel
	for _, d := range ds {
		if d != nil && d.UserID == 0 && d.GroupID == 0 && d.DeployKeyID == 0 {
			levels = append(levels, ferry.AccessLevel(d.AccessLevel))
		}
	}
	return mostPermissive(levels)
}

// mostPermissive is the lowest role that may act among levels (No access
// only when it is all there is), what a protected branch allows.
func mostPermissive(levels []ferry.AccessLevel) ferry.AccessLevel {
	level, found := ferry.NoAccess, false
	for _, l := range levels {
		if !found || (l != ferry.NoAccess && (level == ferry.NoAccess || l < level)) {
			level, found = l, true
		}
	}
	return level
}

func (b *builder) protectedBranch(p *gl.ProtectedBranch) forge.ProtectedBranch {
	return forge.ProtectedBranch{SourceID: b.r.sid("protected_branch/" + p.Name), Name: p.Name,
		PushAccessLevel: roleLevel(p.PushAccessLevels), MergeAccessLevel: roleLevel(p.MergeAccessLevels),
		AllowForcePush: p.AllowForcePush, CodeOwnerApprovalRequired: p.CodeOwnerApprovalRequired}
}

func (b *builder) member(m *gl.ProjectMember) forge.Member {
	return forge.Member{SourceID: b.r.sid("member/" + id(m.ID)), User: b.user(m.ID, m.Username, m.Name),
		AccessLevel: ferry.AccessLevel(m.AccessLevel)}
}

// expectCounts declares what an issue or merge request says it holds: its
// user notes (user_notes_count: every note not a system note, diff notes
// included) and its thumbs up and down (upvotes, downvotes), checked when
// the import ends (importer.Page.Expect).
func (b *builder) expectCounts(onType string, iid, notes, up, down int64, webURL, title string) {
	what := map[string]string{forge.OnIssue: "issue", forge.OnMergeRequest: "merge request"}[onType]
	name := fmt.Sprintf("%s !%d %s", what, iid, title)
	if onType == forge.OnIssue {
		name = fmt.Sprintf("%s #%d %s", what, iid, title)
	}
	e := ferry.Expectation{OnType: onType, OnIID: iid, SourceURL: webURL, Title: name}
	notesE, upE, downE := e, e, e
	notesE.Type, notesE.Kind, notesE.Prefix, notesE.UserOnly, notesE.Count = "user_notes", forge.KindNote, "note/", true, notes
	upE.Type, upE.Kind, upE.Prefix, upE.Emoji, upE.Count = "upvotes", forge.KindAwardEmoji, "award_emoji/", "thumbsup", up
	downE.Type, downE.Kind, downE.Prefix, downE.Emoji, downE.Count = "downvotes", forge.KindAwardEmoji, "award_emoji/", "thumbsdown", down
	b.Expect(notesE, upE, downE)
}
