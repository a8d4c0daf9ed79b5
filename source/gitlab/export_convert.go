package gitlab

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/forge"
	nd "github.com/ferry-import/ferry/forge/gitlabndjson"
	"github.com/ferry-import/ferry/importer"
)

// The export's records carry no ids of their own (GitLab's exporter
// leaves them out): objects read from an export are keyed by what
// identifies them in their project (a label's title, an issue's iid, a
// note's place in its issue), which a re-read of the same export gives
// again.

// decode reads one record, refusing the malformed one alone.
func decode[T any](raw json.RawMessage) (T, error) {
	var rec T
	if err := json.Unmarshal(raw, &rec); err != nil {
		return rec, &importer.Permanent{Err: fmt.Errorf("malformed record: %w", err)}
	}
	return rec, nil
}

// ref is a person as the export references them: by the source's numeric
// user id, which user_contributions and the members relation describe
// (the store made them earlier in the import); 0 is nobody, GitLab's
// ghost.
func (b *builder) ref(uid int64, name string) forge.SourceUser {
	if uid <= 0 {
		return b.user(0, "", "")
	}
	return forge.SourceUser{SourceID: forge.SourceID{ID: id(uid)}, Name: name}
}

func (b *builder) optRef(uid *int64) *forge.SourceUser {
	if uid == nil || *uid <= 0 {
		return nil
	}
	u := b.ref(*uid, "")
	return &u
}

func (b *builder) refs(rs []nd.UserRef) []forge.SourceUser {
	var out []forge.SourceUser
	for _, r := range rs {
		if r.UserID > 0 {
			out = append(out, b.ref(r.UserID, ""))
		}
	}
	return out
}

func ts(t nd.Time) time.Time { return t.UTC() }

func optTS(t *nd.Time) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// day reads a YYYY-MM-DD date.
func day(s *string) (*time.Time, error) {
	if s == nil || *s == "" {
		return nil, nil
	}
	t, err := time.Parse(time.DateOnly, *s)
	if err != nil {
		return nil, &importer.Permanent{Err: fmt.Errorf("date %q: %w", *s, err)}
	}
	return &t, nil
}

func labelNames(ls []nd.LabelLink) []string {
	var out []string
	for _, l := range ls {
		if l.Label.Title != "" {
			out = append(out, l.Label.Title)
		}
	}
	return out
}

func (b *builder) exLabel(raw json.RawMessage) error {
	l, err := decode[nd.Label](raw)
	if err != nil {
		return err
	}
	if l.Title == "" {
		return &importer.Permanent{Err: fmt.Errorf("label without a title")}
	}
	b.Add(forge.Label{SourceID: b.r.sid("label/title/" + l.Title), Name: l.Title, Color: l.Color, Description: l.Description,
		CreatedAt: ts(l.CreatedAt), UpdatedAt: ts(l.UpdatedAt)})
	return nil
}

func (b *builder) exMilestone(raw json.RawMessage) error {
	m, err := decode[nd.Milestone](raw)
	if err != nil {
		return err
	}
	if m.IID <= 0 || m.Title == "" {
		return &importer.Permanent{Err: fmt.Errorf("milestone %q without an iid or a title", m.Title)}
	}
	start, err := day(m.StartDate)
	if err != nil {
		return err
	}
	due, err := day(m.DueDate)
	if err != nil {
		return err
	}
	b.Add(forge.Milestone{SourceID: b.r.sid("milestone/iid/" + id(m.IID)), IID: m.IID, Title: m.Title, Description: b.attach(m.Description),
		State: milestoneState(m.State), StartDate: start, DueDate: due, CreatedAt: ts(m.CreatedAt), UpdatedAt: ts(m.UpdatedAt)})
	return nil
}

func milestoneOf(m *nd.Milestone) int64 {
	if m == nil {
		return 0
	}
	return m.IID
}

func (b *builder) exIssue(raw json.RawMessage) error {
	is, err := decode[nd.Issue](raw)
	if err != nil {
		return err
	}
	if is.IID <= 0 {
		return &importer.Permanent{Err: fmt.Errorf("issue %q without an iid", is.Title)}
	}
	due, err := day(is.DueDate)
	if err != nil {
		return err
	}
	out := forge.Issue{SourceID: b.r.sid("issue/iid/" + id(is.IID)), IID: is.IID, Title: is.Title, Description: b.attach(is.Description),
		State: state(is.State), Confidential: is.Confidential, Locked: is.DiscussionLocked, Author: b.ref(is.AuthorID, ""),
		Assignees: b.refs(is.IssueAssignees), Labels: labelNames(is.LabelLinks), MilestoneIID: milestoneOf(is.Milestone),
		DueDate: due, CreatedAt: ts(is.CreatedAt), UpdatedAt: ts(is.UpdatedAt), ClosedAt: optTS(is.ClosedAt)}
	if out.State == forge.StateClosed {
		out.ClosedBy = b.optRef(is.ClosedByID)
	}
	b.Add(out)
	on := forge.Noteable{Type: forge.OnIssue, IID: is.IID}
	b.exAwards(on, "", is.AwardEmoji)
	b.exNotes(on, is.Notes)
	b.exEvents(on, is.ResourceEvents)
	return nil
}

func (b *builder) exMergeRequest(raw json.RawMessage) error {
	mr, err := decode[nd.MergeRequest](raw)
	if err != nil {
		return err
	}
	if mr.IID <= 0 {
		return &importer.Permanent{Err: fmt.Errorf("merge request %q without an iid", mr.Title)}
	}
	diff := mr.MergeRequestDiff
	out := forge.MergeRequest{SourceID: b.r.sid("mr/iid/" + id(mr.IID)), IID: mr.IID, Title: mr.Title, Description: b.attach(mr.Description),
		State: state(mr.State), Draft: mr.Draft, Locked: mr.DiscussionLocked, SourceBranch: mr.SourceBranch, TargetBranch: mr.TargetBranch,
		SourceSHA: first(diff.HeadCommitSHA, mr.DiffHeadSHA, mr.SourceBranchSHA), TargetSHA: first(diff.StartCommitSHA, mr.TargetBranchSHA),
		BaseSHA: diff.BaseCommitSHA, Author: b.ref(mr.AuthorID, ""), Assignees: b.refs(mr.MergeRequestAssignees),
		Reviewers: b.refs(mr.MergeRequestReviewers), Labels: labelNames(mr.LabelLinks), MilestoneIID: milestoneOf(mr.Milestone),
		CreatedAt: ts(mr.CreatedAt), UpdatedAt: ts(mr.UpdatedAt)}
	if mr.MergeCommitSHA != nil {
		out.MergeCommitSHA = *mr.MergeCommitSHA
	}
	switch out.State {
	case forge.StateMerged:
		out.MergedAt, out.MergedBy = optTS(mr.Metrics.MergedAt), b.optRef(mr.Metrics.MergedByID)
	case forge.StateClosed:
		out.ClosedAt, out.ClosedBy = optTS(mr.Metrics.LatestClosedAt), b.optRef(mr.Metrics.LatestClosedByID)
	}
	b.Add(out)
	for _, a := range mr.Approvals {
		if a.UserID <= 0 {
			continue
		}
		var when time.Time
		if a.CreatedAt != nil {
			when = a.CreatedAt.UTC()
		}
		b.Add(forge.Approval{SourceID: b.r.sid("approval/iid/" + id(mr.IID) + "/" + id(a.UserID)), MergeRequestIID: mr.IID,
			User: b.ref(a.UserID, ""), ApprovedAt: when})
	}
	on := forge.Noteable{Type: forge.OnMergeRequest, IID: mr.IID}
	b.exAwards(on, "", mr.AwardEmoji)
	b.exNotes(on, mr.Notes)
	b.exEvents(on, mr.ResourceEvents)
	return nil
}

func first(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// exNotes converts an issue's or merge request's notes, in the export's
// order: a note is keyed by its place among them. Notes of a thread
// (DiscussionNote, DiffNote) keep their discussion id; the others stand
// alone, as the REST path has them.
func (b *builder) exNotes(on forge.Noteable, notes []nd.Note) {
	for k, n := range notes {
		nid := "note/" + on.Type + "/" + id(on.IID) + "/" + strconv.Itoa(k)
		typ := ""
		if n.Type != nil {
			typ = *n.Type
		}
		threaded := typ == nd.DiscussionNote || typ == nd.DiffNote
		out := forge.Note{SourceID: b.r.sid(nid), On: on, Body: b.attach(n.Note), Author: b.ref(n.AuthorID, n.Author.Name), System: n.System,
			Internal: n.Internal || n.Confidential, Resolvable: threaded && !n.System, CreatedAt: ts(n.CreatedAt), UpdatedAt: ts(n.UpdatedAt)}
		if threaded {
			out.DiscussionID = n.DiscussionID
		}
		if n.ResolvedAt != nil {
			out.Resolved, out.ResolvedAt, out.ResolvedBy = true, optTS(n.ResolvedAt), b.optRef(n.ResolvedByID)
		}
		if p := n.Position; p != nil {
			out.Position = exPosition(p)
		}
		b.Add(out)
		b.exAwards(on, out.ID, n.AwardEmoji)
	}
}

// exEvents converts an item's resource events, each keyed by its type
// and place in its list (the export's records have no ids). An event
// whose label or milestone the export left out is skipped: nothing could
// show it.
func (b *builder) exEvents(on forge.Noteable, evs nd.ResourceEvents) {
	key := func(typ string, k int) forge.SourceID {
		return b.r.sid("resource_event/" + typ + "/" + on.Type + "/" + id(on.IID) + "/" + strconv.Itoa(k))
	}
	for k, e := range evs.ResourceLabelEvents {
		if e.Label == nil || e.Label.Title == "" {
			continue
		}
		b.Add(forge.ResourceEvent{SourceID: key(forge.EventLabel, k), On: on, Event: forge.EventLabel, Action: e.Action,
			Label: e.Label.Title, LabelColor: e.Label.Color, Author: b.ref(e.UserID, ""), CreatedAt: ts(e.CreatedAt)})
	}
	for k, e := range evs.ResourceMilestoneEvents {
		if e.Milestone == nil || (e.Milestone.IID <= 0 && e.Milestone.Title == "") {
			continue
		}
		b.Add(forge.ResourceEvent{SourceID: key(forge.EventMilestone, k), On: on, Event: forge.EventMilestone, Action: e.Action,
			MilestoneIID: e.Milestone.IID, MilestoneTitle: e.Milestone.Title, State: e.State, Author: b.ref(e.UserID, ""), CreatedAt: ts(e.CreatedAt)})
	}
	for k, e := range evs.ResourceStateEvents {
		if e.State == "" {
			continue
		}
		b.Add(forge.ResourceEvent{SourceID: key(forge.EventState, k), On: on, Event: forge.EventState, State: e.State,
			Author: b.ref(e.UserID, ""), CreatedAt: ts(e.CreatedAt)})
	}
}

func exPosition(p *nd.Position) *forge.DiffPosition {
	line := func(n *int64) int64 {
		if n == nil {
			return 0
		}
		return *n
	}
	out := &forge.DiffPosition{BaseSHA: p.BaseSHA, StartSHA: p.StartSHA, HeadSHA: p.HeadSHA, OldPath: p.OldPath, NewPath: p.NewPath,
		OldLine: line(p.OldLine), NewLine: line(p.NewLine), Type: p.PositionType}
	if out.Type == "" {
		out.Type = "text"
	}
	if lr := p.LineRange; lr != nil {
		lp := func(x nd.LinePosition) forge.LinePosition {
			return forge.LinePosition{LineCode: x.LineCode, Type: x.Type, OldLine: line(x.OldLine), NewLine: line(x.NewLine)}
		}
		out.LineRange = &forge.LineRange{Start: lp(lr.Start), End: lp(lr.End)}
	}
	return out
}

// exAwards converts award emoji of an item (noteID "") or of a note.
func (b *builder) exAwards(on forge.Noteable, noteID string, es []nd.AwardEmoji) {
	owner := noteID
	if owner == "" {
		owner = on.Type + "/" + id(on.IID)
	}
	for k, e := range es {
		if e.Name == "" {
			continue
		}
		b.Add(forge.AwardEmoji{SourceID: b.r.sid("award_emoji/" + owner + "/" + strconv.Itoa(k)), On: on, NoteID: noteID, Name: e.Name,
			User: b.ref(e.UserID, ""), CreatedAt: ts(e.CreatedAt), UpdatedAt: ts(e.UpdatedAt)})
	}
}

func (b *builder) exRelease(raw json.RawMessage) error {
	rel, err := decode[nd.Release](raw)
	if err != nil {
		return err
	}
	if rel.Tag == "" {
		return &importer.Permanent{Err: fmt.Errorf("release %q without a tag", rel.Name)}
	}
	out := forge.Release{SourceID: b.r.sid("release/" + rel.Tag), TagName: rel.Tag, Name: rel.Name, Description: b.attach(rel.Description),
		CommitSHA: rel.SHA, Author: b.optRef(rel.AuthorID), CreatedAt: ts(rel.CreatedAt), ReleasedAt: optTS(rel.ReleasedAt)}
	for _, l := range rel.Links {
		out.Links = append(out.Links, forge.ReleaseLink{Name: l.Name, URL: l.URL, LinkType: l.LinkType})
	}
	b.Add(out)
	return nil
}

// levelOf is the most permissive role among an exported protected
// branch's access levels, as roleLevel reads the REST entity.
func levelOf(rows []nd.AccessLevelRow) ferry.AccessLevel {
	levels := make([]ferry.AccessLevel, 0, len(rows))
	for _, r := range rows {
		levels = append(levels, ferry.AccessLevel(r.AccessLevel))
	}
	return mostPermissive(levels)
}

func (b *builder) exProtectedBranch(raw json.RawMessage) error {
	p, err := decode[nd.ProtectedBranch](raw)
	if err != nil {
		return err
	}
	if p.Name == "" {
		return &importer.Permanent{Err: fmt.Errorf("protected branch without a name")}
	}
	b.Add(forge.ProtectedBranch{SourceID: b.r.sid("protected_branch/" + p.Name), Name: p.Name,
		PushAccessLevel: levelOf(p.PushAccessLevels), MergeAccessLevel: levelOf(p.MergeAccessLevels),
		AllowForcePush: p.AllowForcePush, CodeOwnerApprovalRequired: p.CodeOwnerApprovalRequired})
	return nil
}

// exUser is a line of user_contributions: the person behind an id the
// content references.
func (b *builder) exUser(raw json.RawMessage) error {
	u, err := decode[nd.UserContribution](raw)
	if err != nil {
		return err
	}
	if u.ID <= 0 {
		return &importer.Permanent{Err: fmt.Errorf("user contribution %q without an id", u.Username)}
	}
	b.Add(forge.SourceUser{SourceID: b.r.sid(id(u.ID)), Login: u.Username, Name: u.Name, Email: u.PublicEmail})
	return nil
}

// exMember is a line of project_members.
func (b *builder) exMember(raw json.RawMessage) error {
	m, err := decode[nd.Member](raw)
	if err != nil {
		return err
	}
	uid := m.UserID
	if uid <= 0 {
		uid = m.User.ID
	}
	if uid <= 0 {
		return &importer.Permanent{Err: fmt.Errorf("member %q without a user id", m.User.Username)}
	}
	u := forge.SourceUser{SourceID: b.r.sid(id(uid)), Login: m.User.Username, Email: m.User.PublicEmail}
	b.Add(u)
	u.SourceID = forge.SourceID{ID: id(uid)}
	b.Add(forge.Member{SourceID: b.r.sid("member/" + id(uid)), User: u, AccessLevel: ferry.AccessLevel(m.AccessLevel)})
	return nil
}

// exGroupMember is a line of a group's members: a member as a project's
// (exMember), written to the group.
func (b *builder) exGroupMember(raw json.RawMessage) error { return b.exMember(raw) }

// exBadge is a line of a group's badges or a project's project_badges.
// Export records carry no badge id: a badge is keyed by its name and URLs
// (relative to the instance), which a re-read of the same export gives
// again.
func (b *builder) exBadge(raw json.RawMessage) error {
	x, err := decode[nd.Badge](raw)
	if err != nil {
		return err
	}
	want := "GroupBadge"
	if b.r.opts.Entity == KindProject {
		want = "ProjectBadge"
	}
	if x.Type != "" && x.Type != want {
		return nil // another portable's badge
	}
	// Relative to the instance, so the key does not change with its address.
	rel := func(u string) string { return strings.TrimPrefix(u, b.r.base.String()) }
	sum := sha1.Sum([]byte(x.Name + "\x00" + rel(x.LinkURL) + "\x00" + rel(x.ImageURL)))
	b.Add(forge.Badge{SourceID: b.r.sid("badge/" + hex.EncodeToString(sum[:])), Name: x.Name, LinkURL: x.LinkURL, ImageURL: x.ImageURL})
	return nil
}
