package github

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v92/github"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/source/internal/sysnote"
)

// Relation names, as the engine records them and followups address them.
const (
	relRepository         = "repository"
	relLabels             = "labels"
	relMilestones         = "milestones"
	relReleases           = "releases"
	relProtectedBranches  = "protected_branches"
	relCollaborators      = "collaborators"
	relPullRequests       = "pull_requests"
	relIssues             = "issues"
	relIssueComments      = "issue_comments"
	relReviewComments     = "review_comments"
	relIssueEvents        = "issue_events"
	relItemComments       = "item_comments"
	relItemReviewComments = "item_review_comments"
	relPullRequestDetails = "pull_request_details"
	relReactions          = "reactions"
	relUsers              = "users"
	relLFSObjects         = "lfs_objects"
)

// Notes come from four GitHub id spaces, so their source ids say which.
const (
	kindIssueComment  = "issue_comment"
	kindReviewComment = "review_comment"
	kindEvent         = "event"
	kindReviewBody    = "review_body" // a review's body, as its own note
)

func noteID(kind string, id int64) string { return kind + "/" + strconv.FormatInt(id, 10) }

func idString(id *int64) string { return strconv.FormatInt(derefInt64(id), 10) }

func derefInt64(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

func ts(t *gh.Timestamp) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

func tsPtr(t *gh.Timestamp) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	v := t.UTC()
	return &v
}

// state maps GitHub's open/closed.
func state(s string) string {
	if s == "open" {
		return forge.StateOpened
	}
	return forge.StateClosed
}

// user converts a person inside an object and queues their profile for
// the users relation (organisations have none worth a call).
func (b *builder) user(u *gh.User) forge.SourceUser {
	if u == nil || u.GetLogin() == "" {
		// GitHub shows deleted accounts as "ghost".
		return forge.SourceUser{Login: "ghost"}
	}
	if u.GetType() != "Organization" {
		b.Follow(relUsers, withNode(u.GetLogin(), u.GetNodeID()))
	}
	su := forge.SourceUser{Login: u.GetLogin(), Name: u.GetName(), Email: u.GetEmail()}
	if u.ID != nil {
		su.ID = strconv.FormatInt(u.GetID(), 10)
	}
	return su
}

func (b *builder) optUser(u *gh.User) *forge.SourceUser {
	if u == nil {
		return nil
	}
	su := b.user(u)
	return &su
}

func (b *builder) userList(us []*gh.User) []forge.SourceUser {
	var out []forge.SourceUser
	for _, u := range us {
		if u != nil {
			out = append(out, b.user(u))
		}
	}
	return out
}

// assignees prefers the list; old servers only fill the single assignee.
func (b *builder) assignees(list []*gh.User, one *gh.User) []forge.SourceUser {
	if len(list) == 0 && one != nil {
		list = []*gh.User{one}
	}
	return b.userList(list)
}

func labelNames(ls []*gh.Label) []string {
	var out []string
	for _, l := range ls {
		if l != nil && l.Name != "" {
			out = append(out, l.Name)
		}
	}
	return out
}

func milestoneIID(m *gh.Milestone) int64 {
	if m == nil {
		return 0
	}
	return int64(m.GetNumber())
}

func noteableKey(on forge.Noteable) string { return on.Type + "/" + strconv.FormatInt(on.IID, 10) }

// parseNoteableKey reads "Issue/12" or "MergeRequest/12" at the start of
// key and returns what follows the next slash.
func parseNoteableKey(key string) (forge.Noteable, string, error) {
	key, _ = splitNode(key)
	typ, rest, _ := strings.Cut(key, "/")
	num, rest, _ := strings.Cut(rest, "/")
	iid, err := strconv.ParseInt(num, 10, 64)
	if err != nil || iid < 1 || (typ != forge.OnIssue && typ != forge.OnMergeRequest) {
		return forge.Noteable{}, "", fmt.Errorf("bad item key %q", key)
	}
	return forge.Noteable{Type: typ, IID: iid}, rest, nil
}

// issue converts an issues-list entry that is not a pull request.
func (b *builder) issue(i *gh.Issue) forge.Issue {
	return forge.Issue{SourceID: b.r.sid(idString(i.ID)), IID: int64(i.GetNumber()), Title: i.GetTitle(),
		Description: b.attach(i.GetBody()), State: state(i.GetState()), Locked: i.GetLocked(), Author: b.user(i.User),
		Assignees: b.assignees(i.Assignees, i.Assignee), Labels: labelNames(i.Labels), MilestoneIID: milestoneIID(i.Milestone),
		CreatedAt: ts(i.CreatedAt), UpdatedAt: ts(i.UpdatedAt), ClosedAt: tsPtr(i.ClosedAt), ClosedBy: b.optUser(i.ClosedBy)}
}

// mergeRequest converts a pull request from the list or from GET
// pulls/:n; only the latter says who merged.
func (b *builder) mergeRequest(p *gh.PullRequest) forge.MergeRequest {
	mr := forge.MergeRequest{SourceID: b.r.sid(idString(p.ID)), IID: int64(p.GetNumber()), Title: p.GetTitle(),
		Description: b.attach(p.GetBody()), State: state(p.GetState()), Draft: p.GetDraft(), Locked: p.GetLocked(),
		SourceBranch: sourceBranch(p), TargetBranch: p.GetBase().GetRef(),
		SourceSHA: p.GetHead().GetSHA(), TargetSHA: p.GetBase().GetSHA(),
		Author: b.user(p.User), Assignees: b.assignees(p.Assignees, p.Assignee), Reviewers: b.userList(p.RequestedReviewers),
		Labels: labelNames(p.Labels), MilestoneIID: milestoneIID(p.Milestone),
		CreatedAt: ts(p.CreatedAt), UpdatedAt: ts(p.UpdatedAt)}
	switch {
	case p.MergedAt != nil: // merged whatever state says
		mr.State = forge.StateMerged
		mr.MergedAt = tsPtr(p.MergedAt)
		mr.MergedBy = b.optUser(p.MergedBy)
		mr.MergeCommitSHA = p.GetMergeCommitSHA()
	case mr.State == forge.StateClosed:
		mr.ClosedAt = tsPtr(p.ClosedAt)
	}
	return mr
}

// sourceBranch names the source branch as GitLab's importer does: fork
// branches under github/fork/<owner>/, and never the target branch itself.
func sourceBranch(p *gh.PullRequest) string {
	head, base := p.GetHead(), p.GetBase()
	ref := head.GetRef()
	fork := head.Repo == nil || head.GetRepo().GetID() != base.GetRepo().GetID()
	if login := head.GetUser().GetLogin(); fork && login != "" {
		return "github/fork/" + login + "/" + ref
	}
	if ref == base.GetRef() {
		return ref + "-" + strconv.Itoa(p.GetNumber())
	}
	return ref
}

// hasReactions is the test that saves a reactions call per item.
func hasReactions(r *gh.Reactions) bool { return r.GetTotalCount() > 0 }

// issueNote converts a conversation comment on an issue or pull request.
func (b *builder) issueNote(c *gh.IssueComment, on forge.Noteable) forge.Note {
	id := noteID(kindIssueComment, c.GetID())
	if hasReactions(c.Reactions) {
		b.Follow(relReactions, withNode(noteableKey(on)+"/"+id, c.GetNodeID()))
		b.expectReactions(on, id, c.Reactions, c.GetHTMLURL(), fmt.Sprintf("comment %d", c.GetID()))
	}
	return forge.Note{SourceID: b.r.sid(id), On: on, Body: b.attach(c.GetBody()), Author: b.user(c.User),
		CreatedAt: ts(c.CreatedAt), UpdatedAt: ts(c.UpdatedAt)}
}

var (
	pullPath  = regexp.MustCompile(`/pulls?/(\d+)(?:[/#?]|$)`)
	issuePath = regexp.MustCompile(`/issues/(\d+)(?:[/#?]|$)`)
)

// itemNumber takes the item number out of a comment's URLs.
func itemNumber(re *regexp.Regexp, urls ...string) (int64, bool) {
	for _, u := range urls {
		if m := re.FindStringSubmatch(u); m != nil {
			n, err := strconv.ParseInt(m[1], 10, 64)
			return n, err == nil && n > 0
		}
	}
	return 0, false
}

// reviewCommentPR tells which pull request a review comment is on:
// pull_request_url, else _links.pull_request.href (older GitHub Enterprise
// versions send one but not the other), else html_url (…/pull/<n>#discussion_r…).
// The first of them that is present decides.
func reviewCommentPR(c *gh.PullRequestComment) (int64, bool) {
	var href string
	if l := c.GetLinks(); l != nil {
		href = l.GetPullRequest().GetHRef()
	}
	for _, u := range []string{c.GetPullRequestURL(), href, c.GetHTMLURL()} {
		if u == "" {
			continue
		}
		if n, ok := itemNumber(pullPath, u); ok {
			return n, true
		}
	}
	return 0, false
}

// diffNote converts a review comment. Replies share their thread's
// discussion: GitHub's in_reply_to_id names the thread's first comment.
// A comment no URL ties to a pull request is a conversion error (invalid)
// naming it, for the caller to list as a failed item.
func (b *builder) diffNote(c *gh.PullRequestComment) (forge.Note, error) {
	iid, ok := reviewCommentPR(c)
	if !ok {
		return forge.Note{}, invalid("review comment %d names no pull request (no number in pull_request_url, _links.pull_request.href or html_url)", c.GetID())
	}
	on := forge.Noteable{Type: forge.OnMergeRequest, IID: iid}
	id := noteID(kindReviewComment, c.GetID())
	root := c.GetID()
	if c.GetInReplyTo() != 0 {
		root = c.GetInReplyTo()
	}
	if hasReactions(c.Reactions) {
		b.Follow(relReactions, withNode(noteableKey(on)+"/"+id, c.GetNodeID()))
		b.expectReactions(on, id, c.Reactions, c.GetHTMLURL(), fmt.Sprintf("review comment %d", c.GetID()))
	}
	return forge.Note{SourceID: b.r.sid(id), On: on, DiscussionID: noteID(kindReviewComment, root), Body: b.attach(c.GetBody()),
		Author: b.user(c.User), Resolvable: true, Position: diffPosition(c),
		CreatedAt: ts(c.CreatedAt), UpdatedAt: ts(c.UpdatedAt)}, nil
}

// eventNote turns an issue event into the system note GitLab would show;
// ok is false for events GitLab does not import either.
func (b *builder) eventNote(e *gh.IssueEvent) (forge.Note, bool) {
	iss := e.GetIssue()
	if iss == nil || iss.GetNumber() == 0 {
		return forge.Note{}, false
	}
	on := forge.Noteable{Type: forge.OnIssue, IID: int64(iss.GetNumber())}
	if iss.IsPullRequest() {
		on.Type = forge.OnMergeRequest
	}
	var body string
	switch e.GetEvent() {
	case "closed":
		body = sysnote.Closed(e.GetCommitID())
	case "reopened":
		body = sysnote.Reopened()
	case "merged":
		body = sysnote.Merged(e.GetCommitID())
	case "labeled":
		body = sysnote.AddedLabel(e.GetLabel().Name)
	case "unlabeled":
		body = sysnote.RemovedLabel(e.GetLabel().Name)
	case "assigned":
		body = sysnote.Assigned(e.GetAssignee().GetLogin())
	case "unassigned":
		body = sysnote.Unassigned(e.GetAssignee().GetLogin())
	case "renamed":
		body = sysnote.ChangedTitle(e.GetRename().GetFrom(), e.GetRename().GetTo())
	case "milestoned":
		body = sysnote.ChangedMilestone(e.GetMilestone().GetTitle())
	case "demilestoned":
		body = sysnote.RemovedMilestone(e.GetMilestone().GetTitle())
	case "referenced":
		if e.GetCommitID() == "" {
			return forge.Note{}, false
		}
		body = sysnote.MentionedInCommit(e.GetCommitID())
	case "review_requested":
		body = sysnote.RequestedReview(e.GetRequestedReviewer().GetLogin())
	case "review_request_removed":
		body = sysnote.RemovedReviewRequest(e.GetRequestedReviewer().GetLogin())
	case "locked":
		body = sysnote.Locked(on.Type)
	case "unlocked":
		body = sysnote.Unlocked(on.Type)
	default:
		return forge.Note{}, false
	}
	for _, u := range []*gh.User{e.Assignee, e.RequestedReviewer} {
		if u != nil {
			b.user(u) // mentioned people are contributors too
		}
	}
	return forge.Note{SourceID: b.r.sid(noteID(kindEvent, e.GetID())), On: on, Body: body, Author: b.user(e.Actor),
		System: true, CreatedAt: ts(e.CreatedAt), UpdatedAt: ts(e.CreatedAt)}, true
}

// closure turns a "merged" or "closed" event into who merged or closed the
// item: GitHub's lists do not say who merged a pull request, and its
// repo-wide events do, so no per-PR call is needed for it.
func (b *builder) closure(e *gh.IssueEvent) (forge.Closure, bool) {
	iss := e.GetIssue()
	if iss == nil || iss.GetNumber() == 0 || e.Actor == nil {
		return forge.Closure{}, false
	}
	on := forge.Noteable{Type: forge.OnIssue, IID: int64(iss.GetNumber())}
	if iss.IsPullRequest() {
		on.Type = forge.OnMergeRequest
	}
	switch e.GetEvent() {
	case "merged":
		if on.Type != forge.OnMergeRequest {
			return forge.Closure{}, false
		}
		return forge.Closure{SourceID: b.r.sid("closure/" + idString(e.ID)), On: on, Merged: true, By: b.user(e.Actor), At: ts(e.CreatedAt)}, true
	case "closed":
		return forge.Closure{SourceID: b.r.sid("closure/" + idString(e.ID)), On: on, By: b.user(e.Actor), At: ts(e.CreatedAt)}, true
	}
	return forge.Closure{}, false
}

// resourceEvent turns a label, milestone or state change into GitLab's
// resource event (kept beside its system note, as GitLab shows both): the
// same events the repo-wide list already brings, no further call.
func (b *builder) resourceEvent(e *gh.IssueEvent) (forge.ResourceEvent, bool) {
	iss := e.GetIssue()
	if iss == nil || iss.GetNumber() == 0 {
		return forge.ResourceEvent{}, false
	}
	ev := forge.ResourceEvent{SourceID: b.r.sid("resource_event/" + idString(e.ID)), On: noteableOf(iss.GetNumber(), iss.IsPullRequest()),
		Author: b.user(e.Actor), CreatedAt: ts(e.CreatedAt)}
	action := map[bool]string{true: forge.ActionAdd, false: forge.ActionRemove}
	switch name := e.GetEvent(); name {
	case "labeled", "unlabeled":
		l := e.GetLabel()
		if l == nil || l.Name == "" {
			return forge.ResourceEvent{}, false
		}
		ev.Event, ev.Action, ev.Label, ev.LabelColor = forge.EventLabel, action[name == "labeled"], l.Name, b.label(l).Color
	case "milestoned", "demilestoned":
		if e.GetMilestone().GetTitle() == "" {
			return forge.ResourceEvent{}, false
		}
		ev.Event, ev.Action, ev.MilestoneTitle = forge.EventMilestone, action[name == "milestoned"], e.GetMilestone().GetTitle()
	case "closed":
		ev.Event, ev.State = forge.EventState, forge.StateClosed
	case "reopened":
		ev.Event, ev.State = forge.EventState, forge.StateReopened
	case "merged":
		if !iss.IsPullRequest() {
			return forge.ResourceEvent{}, false
		}
		ev.Event, ev.State = forge.EventState, forge.StateMerged
	default:
		return forge.ResourceEvent{}, false
	}
	return ev, true
}

// event adds what one issue event becomes: its system note, who closed or
// merged the item, and its resource event.
func (b *builder) event(e *gh.IssueEvent) {
	if n, ok := b.eventNote(e); ok {
		b.Add(n)
	}
	if c, ok := b.closure(e); ok {
		b.Add(c)
	}
	if ev, ok := b.resourceEvent(e); ok {
		b.Add(ev)
	}
}

// review converts a submitted review; pending ones are their author's
// draft and not imported.
func (b *builder) review(rv *gh.PullRequestReview, iid int64) (forge.Review, bool) {
	var st string
	switch rv.GetState() {
	case "APPROVED":
		st = forge.ReviewApproved
	case "CHANGES_REQUESTED":
		st = forge.ReviewChangesRequested
	case "COMMENTED", "DISMISSED": // a dismissed review no longer approves
		st = forge.ReviewCommented
	default:
		return forge.Review{}, false
	}
	return forge.Review{SourceID: b.r.sid(idString(rv.ID)), MergeRequestIID: iid, State: st, Body: b.attach(rv.GetBody()),
		Author: b.user(rv.User), SubmittedAt: ts(rv.SubmittedAt)}, true
}

// reviewStateWords is GitLab's state.humanize of the review states whose
// body becomes a note (spec/mapping.md §1.6).
var reviewStateWords = map[string]string{
	"APPROVED": "Approved", "CHANGES_REQUESTED": "Changes requested", "COMMENTED": "Commented", "DISMISSED": "Dismissed",
}

// reviewNote is the note a submitted review's body becomes, as GitLab's
// importer writes it: by the reviewer, "**Review:** <State>", a blank line
// and the body, dated submitted_at (else the pull request's updated_at,
// when the followup carried it). ok is false for a review without a body
// and for one not submitted (PENDING: its author's draft, which GitHub
// shows nobody else).
func (b *builder) reviewNote(rv *gh.PullRequestReview, iid int64, prUpdated time.Time) (forge.Note, bool) {
	word, submitted := reviewStateWords[rv.GetState()]
	body := b.attach(rv.GetBody())
	if !submitted || strings.TrimSpace(body) == "" {
		return forge.Note{}, false
	}
	at := ts(rv.SubmittedAt)
	if at.IsZero() {
		at = prUpdated
	}
	return forge.Note{SourceID: b.r.sid(noteID(kindReviewBody, rv.GetID())), On: forge.Noteable{Type: forge.OnMergeRequest, IID: iid},
		Body: "**Review:** " + word + "\n\n" + body, Author: b.user(rv.User), CreatedAt: at, UpdatedAt: at}, true
}

// emojiNames maps GitHub reaction content to GitLab award emoji names.
var emojiNames = map[string]string{
	"+1": "thumbsup", "-1": "thumbsdown", "laugh": "laughing", "hooray": "tada",
	"confused": "confused", "heart": "heart", "rocket": "rocket", "eyes": "eyes",
}

func (b *builder) award(x *gh.Reaction, on forge.Noteable, note string) (forge.AwardEmoji, bool) {
	name, ok := emojiNames[x.GetContent()]
	if !ok {
		return forge.AwardEmoji{}, false
	}
	return forge.AwardEmoji{SourceID: b.r.sid(idString(x.ID)), On: on, NoteID: note, Name: name, User: b.user(x.User),
		CreatedAt: ts(x.CreatedAt), UpdatedAt: ts(x.CreatedAt)}, true
}

func (b *builder) label(l *gh.Label) forge.Label {
	color := l.Color
	if color != "" && !strings.HasPrefix(color, "#") {
		color = "#" + color
	}
	return forge.Label{SourceID: b.r.sid(strconv.FormatInt(l.ID, 10)), Name: l.Name, Color: color, Description: l.GetDescription()}
}

func (b *builder) milestone(m *gh.Milestone) forge.Milestone {
	st := forge.MilestoneActive
	if m.GetState() != "open" {
		st = forge.MilestoneClosed
	}
	var due *time.Time
	if m.DueOn != nil {
		d := m.DueOn.UTC()
		d = time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC) // GitLab keeps the date only
		due = &d
	}
	return forge.Milestone{SourceID: b.r.sid(idString(m.ID)), IID: int64(m.GetNumber()), Title: m.GetTitle(),
		Description: b.attach(m.GetDescription()), State: st, DueDate: due, CreatedAt: ts(m.CreatedAt), UpdatedAt: ts(m.UpdatedAt)}
}

func (b *builder) release(rel *gh.RepositoryRelease) forge.Release {
	desc := b.attach(rel.GetBody())
	if strings.TrimSpace(desc) == "" {
		desc = "Release for tag " + rel.TagName
	}
	out := forge.Release{SourceID: b.r.sid(strconv.FormatInt(rel.ID, 10)), TagName: rel.TagName, Name: rel.GetName(),
		Description: desc, Author: b.optUser(rel.Author), CreatedAt: rel.CreatedAt.UTC(), ReleasedAt: tsPtr(rel.PublishedAt)}
	for _, a := range rel.Assets {
		if a == nil || a.GetBrowserDownloadURL() == "" {
			continue
		}
		out.Links = append(out.Links, forge.ReleaseLink{Name: a.GetName(), URL: a.GetBrowserDownloadURL(), LinkType: "other"})
	}
	return out
}

// accessLevel maps a collaborator's role as GitLab does; custom roles,
// which GitLab refuses, fall back to the base permissions they extend.
func accessLevel(u *gh.User) (ferry.AccessLevel, bool) {
	switch strings.ToLower(u.GetRoleName()) {
	case "read":
		return ferry.GuestAccess, true
	case "triage":
		return ferry.ReporterAccess, true
	case "write":
		return ferry.DeveloperAccess, true
	case "maintain":
		return ferry.MaintainerAccess, true
	case "admin":
		return ferry.OwnerAccess, true
	}
	p := u.GetPermissions()
	switch {
	case p.GetAdmin():
		return ferry.OwnerAccess, true
	case p.GetMaintain():
		return ferry.MaintainerAccess, true
	case p.GetPush():
		return ferry.DeveloperAccess, true
	case p.GetTriage():
		return ferry.ReporterAccess, true
	case p.GetPull():
		return ferry.GuestAccess, true
	}
	return 0, false
}

// protectedBranch maps a branch protection the way GitLab's importer
// does with a fresh project: required reviews mean nobody pushes directly,
// merging stays with maintainers (the stricter of both forges' defaults).
func (b *builder) protectedBranch(name string, p *gh.Protection) forge.ProtectedBranch {
	pb := forge.ProtectedBranch{SourceID: b.r.sid(name), Name: name,
		PushAccessLevel: ferry.MaintainerAccess, MergeAccessLevel: ferry.MaintainerAccess}
	if r := p.GetRequiredPullRequestReviews(); r != nil {
		pb.PushAccessLevel = ferry.NoAccess
		pb.CodeOwnerApprovalRequired = r.RequireCodeOwnerReviews
	}
	if f := p.GetAllowForcePushes(); f != nil {
		pb.AllowForcePush = f.Enabled
	}
	return pb
}

// detailsKey is a pull_request_details followup: the number, and whether
// the PR was merged (only then is GET pulls/:n worth a call, for merged_by).
func detailsKey(n int, merged bool) string {
	if merged {
		return strconv.Itoa(n) + ":merged"
	}
	return strconv.Itoa(n)
}

// withUpdated adds the pull request's updated_at (Unix seconds) to a
// details key, "12:merged@1700000000": a review note without submitted_at
// is dated by it, with no call to read the pull request again.
func withUpdated(key string, t time.Time) string {
	if t.IsZero() {
		return key
	}
	return key + "@" + strconv.FormatInt(t.Unix(), 10)
}

// detailsUpdated is the updated_at a details key carries, zero when none
// (keys queued before it was added have none).
func detailsUpdated(key string) time.Time {
	key, _ = splitNode(key)
	_, sec, ok := strings.Cut(key, "@")
	if !ok {
		return time.Time{}
	}
	n, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(n, 0).UTC()
}

func parseDetailsKey(key string) (int, bool, error) {
	key, _ = splitNode(key)
	base, sec, at := strings.Cut(key, "@")
	if _, err := strconv.ParseInt(sec, 10, 64); at && err != nil {
		return 0, false, fmt.Errorf("bad pull request key %q", key)
	}
	num, flag, _ := strings.Cut(base, ":")
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 || (flag != "" && flag != "merged") {
		return 0, false, fmt.Errorf("bad pull request key %q", key)
	}
	return n, flag == "merged", nil
}

// expectReactions declares an item's or a comment's reactions rollup
// (total_count), checked against the award emoji that land when the
// import ends (importer.Page.Expect); noteID is "" for the item itself.
func (b *builder) expectReactions(on forge.Noteable, noteID string, r *gh.Reactions, htmlURL, title string) {
	b.Expect(ferry.Expectation{Type: "reactions", OnType: on.Type, OnIID: on.IID, NoteID: noteID, Kind: forge.KindAwardEmoji,
		Count: int64(r.GetTotalCount()), SourceURL: htmlURL, Title: title})
}

// expectItem declares what an issue or pull request of the issues list
// says it holds: its conversation comments (comments; for a pull request
// that excludes review comments and review bodies, which have their own
// source ids) and its reactions.
func (b *builder) expectItem(on forge.Noteable, i *gh.Issue) {
	what := "issue"
	if on.Type == forge.OnMergeRequest {
		what = "pull request"
	}
	title := fmt.Sprintf("%s #%d %s", what, on.IID, i.GetTitle())
	b.Expect(ferry.Expectation{Type: "issue_comments", OnType: on.Type, OnIID: on.IID, Kind: forge.KindNote, Prefix: kindIssueComment + "/",
		Count: int64(i.GetComments()), SourceURL: i.GetHTMLURL(), Title: title})
	if hasReactions(i.Reactions) {
		b.expectReactions(on, "", i.Reactions, i.GetHTMLURL(), title)
	}
}

// expectReviewComments declares a pull request's review comments: the
// sum of its reviews' comments counts, every review comment belonging to
// a review (GitHub's model), counted apart from conversation comments and
// review bodies by their source ids (diffNote).
func (b *builder) expectReviewComments(iid int64, count int, htmlURL, title string) {
	b.Expect(ferry.Expectation{Type: "review_comments", OnType: forge.OnMergeRequest, OnIID: iid, Kind: forge.KindNote,
		Prefix: kindReviewComment + "/", Count: int64(count), SourceURL: htmlURL, Title: fmt.Sprintf("pull request #%d %s", iid, title)})
}
