package gitlabexport

import (
	"context"
	"fmt"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/forge/gitlabndjson"
	"github.com/ferry-import/ferry/store"
)

// owner is the store's view of a portable.
func owner(p Portable) store.ExportOwner {
	if p.Kind == KindGroup {
		return store.ExportOwner{GroupID: p.ID}
	}
	return store.ExportOwner{ProjectID: p.ID}
}

func exportProjectSelf(ctx context.Context, s *Service, p Portable, emit func(any) error) error {
	var pr *ferry.Project
	if err := s.cfg.Store.Read(ctx, func(tx *store.Tx) (err error) { pr, err = tx.ProjectByID(ctx, p.ID); return err }); err != nil {
		return fmt.Errorf("project %d: %w", p.ID, err)
	}
	return emit(gitlabndjson.ProjectSelf{Name: pr.Name, Path: pr.Path, Description: pr.Description, VisibilityLevel: pr.Visibility.Rank(),
		DefaultBranch: pr.DefaultBranch, Topics: pr.Topics, CreatedAt: gitlabndjson.At(pr.CreatedAt), UpdatedAt: gitlabndjson.At(pr.UpdatedAt)})
}

func exportGroupSelf(ctx context.Context, s *Service, p Portable, emit func(any) error) error {
	var g *ferry.Namespace
	if err := s.cfg.Store.Read(ctx, func(tx *store.Tx) (err error) { g, err = tx.NamespaceByID(ctx, p.ID); return err }); err != nil {
		return fmt.Errorf("group %d: %w", p.ID, err)
	}
	return emit(gitlabndjson.GroupSelf{Name: g.Name, Path: g.Path, Description: g.Description, VisibilityLevel: g.Visibility.Rank()})
}

func labelType(p Portable) string {
	if p.Kind == KindGroup {
		return gitlabndjson.GroupLabel
	}
	return gitlabndjson.ProjectLabel
}

func exportLabels(ctx context.Context, s *Service, p Portable, emit func(any) error) error {
	typ := labelType(p)
	return pages(ctx, s, func(tx *store.Tx, after int64, limit int) ([]*store.ExportLabel, error) {
		return tx.ExportLabels(ctx, owner(p), after, limit)
	}, func(l *store.ExportLabel) int64 { return l.ID }, emitAll(emit, func(l *store.ExportLabel) any {
		return gitlabndjson.Label{Title: l.Name, Color: l.Color, Description: l.Description, Type: typ,
			CreatedAt: gitlabndjson.At(l.CreatedAt), UpdatedAt: gitlabndjson.At(l.UpdatedAt)}
	}))
}

func milestoneRecord(m *store.Milestone) gitlabndjson.Milestone {
	return gitlabndjson.Milestone{IID: m.IID, Title: m.Title, Description: m.Description, State: m.State,
		StartDate: gitlabndjson.Date(m.StartDate), DueDate: gitlabndjson.Date(m.DueDate),
		CreatedAt: gitlabndjson.At(m.CreatedAt), UpdatedAt: gitlabndjson.At(m.UpdatedAt)}
}

func exportMilestones(ctx context.Context, s *Service, p Portable, emit func(any) error) error {
	return pages(ctx, s, func(tx *store.Tx, after int64, limit int) ([]*store.Milestone, error) {
		return tx.ExportMilestones(ctx, owner(p), after, limit)
	}, func(m *store.Milestone) int64 { return m.ID }, emitAll(emit, func(m *store.Milestone) any { return milestoneRecord(m) }))
}

// userID is the id a user is exported under; 0 when there is none.
func userID(u *ferry.User) int64 {
	if u == nil {
		return 0
	}
	return u.ID
}

func optUserID(u *ferry.User) *int64 {
	if u == nil {
		return nil
	}
	id := u.ID
	return &id
}

func optLine(n int64) *int64 {
	if n == 0 {
		return nil
	}
	return &n
}

func positionRecord(p *forge.DiffPosition) *gitlabndjson.Position {
	if p == nil {
		return nil
	}
	typ := p.Type
	if typ == "" {
		typ = "text"
	}
	out := &gitlabndjson.Position{BaseSHA: p.BaseSHA, StartSHA: p.StartSHA, HeadSHA: p.HeadSHA, OldPath: p.OldPath, NewPath: p.NewPath,
		PositionType: typ, OldLine: optLine(p.OldLine), NewLine: optLine(p.NewLine)}
	if lr := p.LineRange; lr != nil {
		end := func(l forge.LinePosition) gitlabndjson.LinePosition {
			return gitlabndjson.LinePosition{LineCode: l.LineCode, Type: l.Type, OldLine: optLine(l.OldLine), NewLine: optLine(l.NewLine)}
		}
		out.LineRange = &gitlabndjson.LineRange{Start: end(lr.Start), End: end(lr.End)}
	}
	return out
}

func noteRecord(n *store.Note, emoji []gitlabndjson.AwardEmoji) gitlabndjson.Note {
	rec := gitlabndjson.Note{Note: n.Body, NoteableType: n.On.Type, AuthorID: userID(n.Author), System: n.System, Internal: n.Internal,
		Confidential: n.Internal, DiscussionID: n.DiscussionID, CreatedAt: gitlabndjson.At(n.CreatedAt), UpdatedAt: gitlabndjson.At(n.UpdatedAt),
		ResolvedAt: gitlabndjson.AtPtr(n.ResolvedAt), ResolvedByID: optUserID(n.ResolvedBy), AwardEmoji: emoji}
	if n.Author != nil {
		rec.Author.Name = n.Author.Name
	}
	var typ string
	switch {
	case n.Position != nil:
		typ = gitlabndjson.DiffNote
		rec.Position = positionRecord(n.Position)
		rec.Original = positionRecord(n.Position)
	case !n.Individual:
		typ = gitlabndjson.DiscussionNote
	}
	if typ != "" {
		rec.Type = &typ
	}
	if rec.AwardEmoji == nil {
		rec.AwardEmoji = []gitlabndjson.AwardEmoji{}
	}
	return rec
}

func emojiRecord(e *store.ExportEmoji) gitlabndjson.AwardEmoji {
	return gitlabndjson.AwardEmoji{Name: e.Name, UserID: userID(e.User), AwardableType: e.AwardableType,
		CreatedAt: gitlabndjson.At(e.CreatedAt), UpdatedAt: gitlabndjson.At(e.UpdatedAt)}
}

// children are the notes and emoji of one page of issues or merge
// requests, grouped by parent iid.
type children struct {
	notes  map[int64][]gitlabndjson.Note
	emoji  map[int64][]gitlabndjson.AwardEmoji
	events map[int64]*gitlabndjson.ResourceEvents
}

// eventsOf is an item's resource event lists, empty ones as [].
func (c *children) eventsOf(iid int64) gitlabndjson.ResourceEvents {
	out := gitlabndjson.ResourceEvents{}
	if e := c.events[iid]; e != nil {
		out = *e
	}
	out.ResourceLabelEvents, out.ResourceMilestoneEvents = nonNil(out.ResourceLabelEvents), nonNil(out.ResourceMilestoneEvents)
	out.ResourceStateEvents = nonNil(out.ResourceStateEvents)
	return out
}

// addEvent files an event under its item, as GitLab nests it: the label
// by its title and colour, the milestone as the milestones relation
// writes it (by title alone when the project has no such milestone).
func (c *children) addEvent(e *store.ResourceEvent) {
	evs := c.events[e.On.IID]
	if evs == nil {
		evs = &gitlabndjson.ResourceEvents{}
		c.events[e.On.IID] = evs
	}
	at := gitlabndjson.At(e.CreatedAt)
	switch e.Event {
	case forge.EventLabel:
		l := gitlabndjson.Label{Title: e.Label.Name, Color: e.Label.Color, Description: e.Label.Description, Type: gitlabndjson.ProjectLabel}
		if e.Label.GroupID != nil {
			l.Type = gitlabndjson.GroupLabel
		}
		evs.ResourceLabelEvents = append(evs.ResourceLabelEvents, gitlabndjson.ResourceLabelEvent{Action: e.Action, UserID: userID(e.User),
			CreatedAt: at, Label: &l})
	case forge.EventMilestone:
		m := optMilestone(e.Milestone)
		if m == nil {
			m = &gitlabndjson.Milestone{IID: e.MilestoneIID, Title: e.MilestoneTitle}
		}
		evs.ResourceMilestoneEvents = append(evs.ResourceMilestoneEvents, gitlabndjson.ResourceMilestoneEvent{Action: e.Action,
			UserID: userID(e.User), State: e.State, CreatedAt: at, Milestone: m})
	case forge.EventState:
		evs.ResourceStateEvents = append(evs.ResourceStateEvents, gitlabndjson.ResourceStateEvent{UserID: userID(e.User), State: e.State,
			CreatedAt: at})
	}
}

func loadChildren(ctx context.Context, tx *store.Tx, projectID int64, typ string, iids []int64) (*children, error) {
	notes, err := tx.ExportNotes(ctx, projectID, typ, iids)
	if err != nil {
		return nil, err
	}
	emoji, err := tx.ExportAwardEmoji(ctx, projectID, typ, iids)
	if err != nil {
		return nil, err
	}
	events, err := tx.ExportResourceEvents(ctx, projectID, typ, iids)
	if err != nil {
		return nil, err
	}
	c := &children{notes: map[int64][]gitlabndjson.Note{}, emoji: map[int64][]gitlabndjson.AwardEmoji{}, events: map[int64]*gitlabndjson.ResourceEvents{}}
	for _, e := range events {
		c.addEvent(e)
	}
	onNote := map[int64][]gitlabndjson.AwardEmoji{}
	for _, e := range emoji {
		if e.NoteID != 0 {
			onNote[e.NoteID] = append(onNote[e.NoteID], emojiRecord(e))
		} else {
			c.emoji[e.IID] = append(c.emoji[e.IID], emojiRecord(e))
		}
	}
	for _, n := range notes {
		c.notes[n.On.IID] = append(c.notes[n.On.IID], noteRecord(n, onNote[n.ID]))
	}
	return c, nil
}

func labelLinks(typ string, is *store.Issuable) []gitlabndjson.LabelLink {
	out := []gitlabndjson.LabelLink{}
	for _, name := range is.Labels {
		// The label nests its title (what the importer matches on); its
		// color and description come from the labels relation.
		out = append(out, gitlabndjson.LabelLink{TargetType: typ, CreatedAt: gitlabndjson.At(is.CreatedAt), UpdatedAt: gitlabndjson.At(is.UpdatedAt),
			Label: gitlabndjson.Label{Title: name, Type: gitlabndjson.ProjectLabel, CreatedAt: gitlabndjson.At(is.CreatedAt),
				UpdatedAt: gitlabndjson.At(is.UpdatedAt)}})
	}
	return out
}

func userRefs(users []*ferry.User) []gitlabndjson.UserRef {
	out := []gitlabndjson.UserRef{}
	for _, u := range users {
		if u != nil {
			out = append(out, gitlabndjson.UserRef{UserID: u.ID})
		}
	}
	return out
}

func optMilestone(m *store.Milestone) *gitlabndjson.Milestone {
	if m == nil {
		return nil
	}
	r := milestoneRecord(m)
	return &r
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func exportIssues(ctx context.Context, s *Service, p Portable, emit func(any) error) error {
	var kids *children
	return pages(ctx, s, func(tx *store.Tx, after int64, limit int) ([]*store.Issue, error) {
		page, err := tx.ExportIssues(ctx, p.ID, after, limit)
		if err != nil || len(page) == 0 {
			return page, err
		}
		iids := make([]int64, len(page))
		for i, is := range page {
			iids[i] = is.IID
		}
		kids, err = loadChildren(ctx, tx, p.ID, forge.OnIssue, iids)
		return page, err
	}, func(is *store.Issue) int64 { return is.ID }, emitAll(emit, func(is *store.Issue) any {
		return gitlabndjson.Issue{IID: is.IID, Title: is.Title, Description: is.Description, State: is.State, AuthorID: userID(is.Author),
			Confidential: is.Confidential, DiscussionLocked: is.Locked, IssueType: "issue",
			CreatedAt: gitlabndjson.At(is.CreatedAt), UpdatedAt: gitlabndjson.At(is.UpdatedAt),
			ClosedAt: gitlabndjson.AtPtr(is.ClosedAt), ClosedByID: optUserID(is.ClosedBy), DueDate: optString(is.DueDate),
			Milestone:  optMilestone(is.Milestone),
			LabelLinks: labelLinks(forge.OnIssue, &is.Issuable), IssueAssignees: userRefs(is.Assignees),
			AwardEmoji: nonNil(kids.emoji[is.IID]), Notes: nonNil(kids.notes[is.IID]), ResourceEvents: kids.eventsOf(is.IID)}
	}))
}

func exportMergeRequests(ctx context.Context, s *Service, p Portable, emit func(any) error) error {
	var kids *children
	approvals := map[int64][]gitlabndjson.UserRef{}
	return pages(ctx, s, func(tx *store.Tx, after int64, limit int) ([]*store.MergeRequest, error) {
		page, err := tx.ExportMergeRequests(ctx, p.ID, after, limit)
		if err != nil || len(page) == 0 {
			return page, err
		}
		iids := make([]int64, len(page))
		for i, mr := range page {
			iids[i] = mr.IID
		}
		if kids, err = loadChildren(ctx, tx, p.ID, forge.OnMergeRequest, iids); err != nil {
			return nil, err
		}
		as, err := tx.ExportApprovals(ctx, p.ID, iids)
		clear(approvals)
		for _, a := range as {
			if a.User != nil {
				at := gitlabndjson.At(a.ApprovedAt)
				approvals[a.MRIID] = append(approvals[a.MRIID], gitlabndjson.UserRef{UserID: a.User.ID, CreatedAt: &at, UpdatedAt: &at})
			}
		}
		return page, err
	}, func(mr *store.MergeRequest) int64 { return mr.ID }, emitAll(emit, func(mr *store.MergeRequest) any {
		return mergeRequestRecord(p, mr, kids, approvals[mr.IID])
	}))
}

func mergeRequestRecord(p Portable, mr *store.MergeRequest, kids *children, approvals []gitlabndjson.UserRef) gitlabndjson.MergeRequest {
	rec := gitlabndjson.MergeRequest{IID: mr.IID, Title: mr.Title, Description: mr.Description, State: mr.State, AuthorID: userID(mr.Author),
		SourceBranch: mr.SourceBranch, TargetBranch: mr.TargetBranch, SourceProjectID: p.ID, TargetProjectID: p.ID, Draft: mr.Draft,
		DiscussionLocked: mr.Locked, DiffHeadSHA: mr.SourceSHA, SourceBranchSHA: mr.SourceSHA, TargetBranchSHA: mr.TargetSHA,
		CreatedAt: gitlabndjson.At(mr.CreatedAt), UpdatedAt: gitlabndjson.At(mr.UpdatedAt), Milestone: optMilestone(mr.Milestone),
		Metrics: gitlabndjson.MergeRequestMetrics{MergedByID: optUserID(mr.MergedBy), MergedAt: gitlabndjson.AtPtr(mr.MergedAt),
			LatestClosedByID: optUserID(mr.ClosedBy), LatestClosedAt: gitlabndjson.AtPtr(mr.ClosedAt),
			CreatedAt: gitlabndjson.At(mr.CreatedAt), UpdatedAt: gitlabndjson.At(mr.UpdatedAt)},
		MergeRequestDiff: gitlabndjson.MergeRequestDiff{State: "collected", BaseCommitSHA: mr.BaseSHA, StartCommitSHA: mr.TargetSHA,
			HeadCommitSHA: mr.SourceSHA, CreatedAt: gitlabndjson.At(mr.CreatedAt), UpdatedAt: gitlabndjson.At(mr.UpdatedAt)},
		LabelLinks: labelLinks(forge.OnMergeRequest, &mr.Issuable), MergeRequestAssignees: userRefs(mr.Assignees),
		MergeRequestReviewers: userRefs(mr.Reviewers), Approvals: nonNil(approvals),
		AwardEmoji: nonNil(kids.emoji[mr.IID]), Notes: nonNil(kids.notes[mr.IID]), ResourceEvents: kids.eventsOf(mr.IID)}
	if mr.MergeCommit != "" {
		sha := mr.MergeCommit
		rec.MergeCommitSHA = &sha
	}
	for i := range rec.MergeRequestReviewers {
		rec.MergeRequestReviewers[i].State = "unreviewed"
	}
	return rec
}

func exportReleases(ctx context.Context, s *Service, p Portable, emit func(any) error) error {
	return pages(ctx, s, func(tx *store.Tx, after int64, limit int) ([]*store.Release, error) {
		return tx.ExportReleases(ctx, p.ID, after, limit)
	}, func(r *store.Release) int64 { return r.ID }, emitAll(emit, func(r *store.Release) any {
		links := []gitlabndjson.ReleaseLink{}
		for _, l := range r.Links {
			typ := l.LinkType
			if typ == "" {
				typ = "other"
			}
			links = append(links, gitlabndjson.ReleaseLink{URL: l.URL, Name: l.Name, LinkType: typ})
		}
		released := r.ReleasedAt
		if released == nil {
			released = &r.CreatedAt
		}
		return gitlabndjson.Release{Tag: r.TagName, Name: r.Name, Description: r.Description, SHA: r.CommitSHA, AuthorID: optUserID(r.Author),
			CreatedAt: gitlabndjson.At(r.CreatedAt), UpdatedAt: gitlabndjson.At(r.CreatedAt), ReleasedAt: gitlabndjson.AtPtr(released), Links: links}
	}))
}

func exportProtectedBranches(ctx context.Context, s *Service, p Portable, emit func(any) error) error {
	return pages(ctx, s, func(tx *store.Tx, after int64, limit int) ([]*store.ProtectedBranch, error) {
		return tx.ExportProtectedBranches(ctx, p.ID, after, limit)
	}, func(b *store.ProtectedBranch) int64 { return b.ID }, emitAll(emit, func(b *store.ProtectedBranch) any {
		return gitlabndjson.ProtectedBranch{Name: b.Name, AllowForcePush: b.AllowForcePush, CodeOwnerApprovalRequired: b.CodeOwnerApprovalRequired,
			PushAccessLevels:  []gitlabndjson.AccessLevelRow{{AccessLevel: int(b.PushAccessLevel)}},
			MergeAccessLevels: []gitlabndjson.AccessLevelRow{{AccessLevel: int(b.MergeAccessLevel)}}}
	}))
}

// publicEmail is what ferry shows as a user's public e-mail: a placeholder
// has none (its address is synthetic).
func publicEmail(u *ferry.User) string {
	if u == nil || u.Placeholder {
		return ""
	}
	return u.Email
}

func exportMembers(ctx context.Context, s *Service, p Portable, emit func(any) error) error {
	kind, srcType := "project", gitlabndjson.SourceProject
	if p.Kind == KindGroup {
		kind, srcType = "namespace", gitlabndjson.SourceNamespace
	}
	return pages(ctx, s, func(tx *store.Tx, after int64, limit int) ([]*ferry.Member, error) {
		return tx.ExportMembers(ctx, kind, p.ID, after, limit)
	}, func(m *ferry.Member) int64 { return m.UserID }, emitAll(emit, func(m *ferry.Member) any {
		return gitlabndjson.Member{AccessLevel: int(m.AccessLevel), SourceType: srcType, UserID: m.UserID, CreatedAt: gitlabndjson.At(m.CreatedAt),
			UpdatedAt: gitlabndjson.At(m.CreatedAt), CreatedByID: m.CreatedByID, ExpiresAt: gitlabndjson.Date(m.ExpiresAt),
			User: gitlabndjson.MemberUser{ID: m.UserID, Username: m.User.Username, PublicEmail: publicEmail(m.User)}}
	}))
}

// exportBadges exports the group's own badges with their URLs as stored
// (placeholders unrendered, as GitLab exports them).
func exportBadges(ctx context.Context, s *Service, p Portable, emit func(any) error) error {
	typ := "ProjectBadge"
	if p.Kind == KindGroup {
		typ = "GroupBadge"
	}
	return pages(ctx, s, func(tx *store.Tx, after int64, limit int) ([]*store.Badge, error) {
		return tx.ExportBadges(ctx, owner(p), after, limit)
	}, func(b *store.Badge) int64 { return b.ID }, emitAll(emit, func(b *store.Badge) any {
		return gitlabndjson.Badge{Name: b.Name, LinkURL: b.LinkURL, ImageURL: b.ImageURL, Type: typ}
	}))
}

func exportContributors(ctx context.Context, s *Service, p Portable, emit func(any) error) error {
	projectID := p.ID
	if p.Kind == KindGroup {
		projectID = 0
	}
	return pages(ctx, s, func(tx *store.Tx, after int64, limit int) ([]*ferry.User, error) {
		return tx.ExportContributors(ctx, projectID, after, limit)
	}, func(u *ferry.User) int64 { return u.ID }, emitAll(emit, func(u *ferry.User) any {
		return gitlabndjson.UserContribution{ID: u.ID, Username: u.Username, Name: u.Name, PublicEmail: publicEmail(u)}
	}))
}

// optString is nil for "", as GitLab exports a missing date.
func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
