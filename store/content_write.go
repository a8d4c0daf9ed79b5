package store

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/forge"
)

// The tables' idempotent writes. Keys are the unique indexes of
// migrations/00002_content.sql.
var (
	repositorySpec = &upsertSpec{table: "repository_meta", key: []string{"project_id"},
		cols: []string{"project_id", "source_type", "source_host", "source_id", "description", "default_branch", "visibility", "topics"}}
	labelCols        = []string{"project_id", "group_id", "source_type", "source_host", "source_id", "name", "color", "description", "created_at", "updated_at"}
	projectLabelSpec = &upsertSpec{table: "labels", cols: labelCols,
		key: []string{"project_id", "source_type", "source_host", "source_id"}, where: "project_id IS NOT NULL"}
	groupLabelSpec = &upsertSpec{table: "labels", cols: labelCols,
		key: []string{"group_id", "source_type", "source_host", "source_id"}, where: "group_id IS NOT NULL"}
	milestoneCols = []string{"project_id", "group_id", "iid", "source_type", "source_host", "source_id", "title", "description", "state",
		"start_date", "due_date", "created_at", "updated_at"}
	projectMilestoneSpec = &upsertSpec{table: "milestones", cols: milestoneCols, key: []string{"project_id", "iid"}, where: "project_id IS NOT NULL"}
	groupMilestoneSpec   = &upsertSpec{table: "milestones", cols: milestoneCols, key: []string{"group_id", "iid"}, where: "group_id IS NOT NULL"}
	issueSpec            = &upsertSpec{table: "issues", key: []string{"project_id", "iid"},
		cols: []string{"project_id", "iid", "source_type", "source_host", "source_id", "title", "description", "state", "confidential",
			"discussion_locked", "author_su", "milestone_iid", "closed_by_su", "created_at", "updated_at", "closed_at", "due_date"}}
	mergeRequestSpec = &upsertSpec{table: "merge_requests", key: []string{"project_id", "iid"},
		cols: []string{"project_id", "iid", "source_type", "source_host", "source_id", "title", "description", "state", "draft",
			"discussion_locked", "source_branch", "target_branch", "source_sha", "target_sha", "base_sha", "merge_commit_sha", "author_su",
			"milestone_iid", "merged_by_su", "closed_by_su", "created_at", "updated_at", "merged_at", "closed_at"}}
	issuableUserSpec = &upsertSpec{table: "issuable_users", nothing: true,
		key:  []string{"project_id", "target_type", "target_iid", "role", "su_id"},
		cols: []string{"project_id", "target_type", "target_iid", "role", "su_id", "position"}}
	issuableLabelSpec = &upsertSpec{table: "issuable_labels", nothing: true,
		key:  []string{"project_id", "target_type", "target_iid", "label_name"},
		cols: []string{"project_id", "target_type", "target_iid", "label_name", "position"}}
	noteSpec = &upsertSpec{table: "notes", key: []string{"project_id", "source_type", "source_host", "source_id"},
		cols: []string{"project_id", "source_type", "source_host", "source_id", "noteable_type", "noteable_iid", "discussion_id", "individual",
			"body", "author_su", "system", "internal", "resolvable", "resolved", "resolved_by_su", "resolved_at", "position_type", "base_sha",
			"start_sha", "head_sha", "old_path", "new_path", "old_line", "new_line", "line_range", "created_at", "updated_at"}}
	reviewSpec = &upsertSpec{table: "reviews", key: []string{"project_id", "source_type", "source_host", "source_id"},
		cols: []string{"project_id", "source_type", "source_host", "source_id", "mr_iid", "state", "body", "author_su", "submitted_at"}}
	approvalSpec = &upsertSpec{table: "approvals", key: []string{"project_id", "mr_iid", "su_id"},
		cols: []string{"project_id", "mr_iid", "su_id", "source_type", "source_host", "source_id", "approved_at"}}
	releaseSpec = &upsertSpec{table: "releases", key: []string{"project_id", "tag_name"},
		cols: []string{"project_id", "tag_name", "source_type", "source_host", "source_id", "name", "description", "author_su", "commit_sha",
			"links", "created_at", "released_at"}}
	awardSpec = &upsertSpec{table: "award_emoji", key: []string{"project_id", "source_type", "source_host", "source_id"},
		cols: []string{"project_id", "source_type", "source_host", "source_id", "awardable_type", "awardable_iid", "note_source_id", "name",
			"user_su", "created_at", "updated_at"}}
	protectedBranchSpec = &upsertSpec{table: "protected_branches", key: []string{"project_id", "name"},
		cols: []string{"project_id", "name", "source_type", "source_host", "source_id", "push_access_level", "merge_access_level",
			"allow_force_push", "code_owner_approval_required"}}
	memberSpec = &upsertSpec{table: "imported_members", key: []string{"project_id", "su_id"},
		cols: []string{"project_id", "su_id", "source_type", "source_host", "source_id", "access_level"}}
	groupMemberSpec = &upsertSpec{table: "imported_group_members", key: []string{"namespace_id", "su_id"},
		cols: []string{"namespace_id", "su_id", "source_type", "source_host", "source_id", "access_level"}}
	resourceEventSpec = &upsertSpec{table: "resource_events", key: []string{"project_id", "source_type", "source_host", "source_id"},
		cols: []string{"project_id", "source_type", "source_host", "source_id", "resource_type", "resource_iid", "event", "action",
			"label_name", "label_color", "milestone_iid", "milestone_title", "state", "user_su", "created_at"}}
	badgeCols = []string{"namespace_id", "project_id", "name", "link_url", "image_url", "source_type", "source_host", "source_id",
		"created_at", "updated_at"}
	projectBadgeSpec = &upsertSpec{table: "badges", cols: badgeCols, insertOnly: []string{"created_at"},
		key: []string{"project_id", "source_type", "source_host", "source_id"}, where: "project_id IS NOT NULL"}
	groupBadgeSpec = &upsertSpec{table: "badges", cols: badgeCols, insertOnly: []string{"created_at"},
		key: []string{"namespace_id", "source_type", "source_host", "source_id"}, where: "namespace_id IS NOT NULL"}
)

// specOrder is the order tables are written in; any order is correct (no
// row points at another's id), a fixed one keeps lock order stable.
var specOrder = []*upsertSpec{repositorySpec, projectLabelSpec, groupLabelSpec, projectMilestoneSpec, groupMilestoneSpec, issueSpec,
	mergeRequestSpec, noteSpec, reviewSpec, approvalSpec, releaseSpec, awardSpec, protectedBranchSpec, memberSpec, groupMemberSpec, projectBadgeSpec, groupBadgeSpec,
	resourceEventSpec}

// target is an issue or merge request whose child sets are replaced.
type target struct {
	typ string
	iid int64
}

// batch accumulates the rows of one write. User columns first hold the
// source user's key and are swapped for source_users ids once those exist.
type batch struct {
	owner    int64 // project id, or group id for group content
	group    bool
	now      time.Time // first-seen time of rows the source gives none (badges)
	users    map[suKey]forge.SourceUser
	rows     map[*upsertSpec][][]any
	children map[target]bool
	userRows [][]any
	labels   [][]any
	repo     *forge.Repository
	uploads  []forge.Upload
	closures []closure
	awaited  []awaitedLinks // bodies linking what no upload answers yet
}

// closure is a forge.Closure with its user's key.
type closure struct {
	c   forge.Closure
	key any // the closer's suKey, resolved after the source users exist
}

func (tx *Tx) newBatch(owner int64, group bool) *batch {
	return &batch{owner: owner, group: group, now: tx.Now(), users: map[suKey]forge.SourceUser{}, rows: map[*upsertSpec][][]any{}, children: map[target]bool{}}
}

// user records u (inheriting the object's source) and returns its key.
func (b *batch) user(src forge.SourceID, u forge.SourceUser) any {
	if u.Type == "" {
		u.Type = src.Type
	}
	if u.Host == "" {
		u.Host = src.Host
	}
	if u.ID == "" {
		u.ID = "login:" + u.Login
	}
	k := keyOf(u)
	if old, ok := b.users[k]; !ok || (old.Email == "" && u.Email != "") {
		b.users[k] = u
	}
	return k
}

func (b *batch) optUser(src forge.SourceID, u *forge.SourceUser) any {
	if u == nil {
		return nil
	}
	return b.user(src, *u)
}

func (b *batch) add(sp *upsertSpec, row ...any) { b.rows[sp] = append(b.rows[sp], row) }

// setChildren replaces an issuable's assignees, reviewers and labels.
func (b *batch) setChildren(src forge.SourceID, typ string, iid int64, labels []string, assignees, reviewers []forge.SourceUser) {
	b.children[target{typ, iid}] = true
	for role, users := range [][]forge.SourceUser{assignees, reviewers} {
		for i, u := range users {
			b.userRows = append(b.userRows, []any{b.owner, typ, iid, [...]string{"assignee", "reviewer"}[role], b.user(src, u), i})
		}
	}
	for i, l := range labels {
		b.labels = append(b.labels, []any{b.owner, typ, iid, l, i})
	}
}

// discussionID derives GitLab's 40-hex discussion id from the source thread.
func discussionID(projectID int64, n *forge.Note) (string, bool) {
	key, individual := n.DiscussionID, n.DiscussionID == ""
	if individual {
		key = n.ID
	}
	h := sha1.Sum([]byte(fmt.Sprintf("%d\x00%s\x00%s\x00%s\x00%d\x00%s", projectID, n.Type, n.Host, n.On.Type, n.On.IID, key)))
	return hex.EncodeToString(h[:]), individual
}

func utc(t time.Time) time.Time { return t.UTC() }

func date(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format("2006-01-02")
}

func (b *batch) note(n *forge.Note) {
	did, individual := discussionID(b.owner, n)
	var ptype, base, start, head, oldPath, newPath, lr string
	var oldLine, newLine int64
	if p := n.Position; p != nil {
		ptype = p.Type
		if ptype == "" {
			ptype = "text"
		}
		base, start, head, oldPath, newPath, oldLine, newLine = p.BaseSHA, p.StartSHA, p.HeadSHA, p.OldPath, p.NewPath, p.OldLine, p.NewLine
		if p.LineRange != nil {
			j, _ := json.Marshal(p.LineRange)
			lr = string(j)
		}
	}
	b.add(noteSpec, b.owner, n.Type, n.Host, n.ID, n.On.Type, n.On.IID, did, individual, n.Body, b.user(n.SourceID, n.Author),
		n.System, n.Internal, n.Resolvable, n.Resolved, b.optUser(n.SourceID, n.ResolvedBy), nullTime(n.ResolvedAt), ptype, base,
		start, head, oldPath, newPath, oldLine, newLine, lr, utc(n.CreatedAt), utc(n.UpdatedAt))
}

// invalid reports an object the store cannot key, so the engine records it
// as a failed item instead of writing a row nobody can find.
func invalid(o forge.Object) error {
	bad := func(what string) error {
		return ferry.Errorf(ferry.EINVALID, "%s %q from %s: %s", o.Kind(), o.Source().ID, o.Source().Type, what)
	}
	if s := o.Source(); s.Type == "" || s.ID == "" {
		return ferry.Errorf(ferry.EINVALID, "%s without a source identity (type %q, id %q)", o.Kind(), s.Type, s.ID)
	}
	on := func(n forge.Noteable) error {
		if (n.Type != forge.OnIssue && n.Type != forge.OnMergeRequest) || n.IID <= 0 {
			return bad("not on an issue or merge request")
		}
		return nil
	}
	switch x := o.(type) {
	case forge.Issue:
		if x.IID <= 0 {
			return bad("no iid")
		}
	case forge.MergeRequest:
		if x.IID <= 0 {
			return bad("no iid")
		}
	case forge.Milestone:
		if x.IID <= 0 {
			return bad("no iid")
		}
	case forge.Label:
		if x.Name == "" {
			return bad("no name")
		}
	case forge.Badge:
		if len(x.Name) > MaxBadgeName {
			return bad(fmt.Sprintf("name longer than %d bytes", MaxBadgeName))
		}
		for what, u := range map[string]string{"link": x.LinkURL, "image": x.ImageURL} {
			if err := badgeURL(u); err != nil {
				return bad(what + " URL " + err.Error())
			}
		}
	case forge.Release:
		if x.TagName == "" {
			return bad("no tag")
		}
	case forge.ProtectedBranch:
		if x.Name == "" {
			return bad("no branch name")
		}
	case forge.Note:
		return on(x.On)
	case forge.Discussion:
		return on(x.On)
	case forge.AwardEmoji:
		if x.Name == "" {
			return bad("no emoji name")
		}
		return on(x.On)
	case forge.Review:
		if x.MergeRequestIID <= 0 {
			return bad("not on a merge request")
		}
	case forge.Approval:
		if x.MergeRequestIID <= 0 {
			return bad("not on a merge request")
		}
	case forge.ResourceEvent:
		return invalidEvent(x, bad, on)
	case forge.Closure:
		if x.Merged && x.On.Type != forge.OnMergeRequest {
			return bad("merged, but not a merge request")
		}
		return on(x.On)
	}
	return nil
}

// object turns one object into rows.
func (b *batch) object(o forge.Object) error {
	if err := invalid(o); err != nil {
		return err
	}
	p := b.owner
	var owner, other any = p, nil // project_id, group_id of labels and milestones
	labelSpec, milestoneSpec := projectLabelSpec, projectMilestoneSpec
	if b.group {
		owner, other = nil, p
		labelSpec, milestoneSpec = groupLabelSpec, groupMilestoneSpec
		switch o.(type) {
		case forge.Label, *forge.Label, forge.Milestone, *forge.Milestone, forge.Member, *forge.Member, forge.Badge, *forge.Badge,
			forge.SourceUser, *forge.SourceUser: // people: placeholders of the group's top-level namespace
		default:
			return ferry.Errorf(ferry.EINVALID, "a group holds labels, milestones, members and badges only, not %s", o.Kind())
		}
	}
	switch x := o.(type) {
	case *forge.Repository:
		return b.object(*x)
	case forge.Repository:
		topics, _ := json.Marshal(append([]string{}, x.Topics...))
		b.add(repositorySpec, p, x.Type, x.Host, x.ID, x.Description, x.DefaultBranch, x.Visibility, string(topics))
		b.repo = &x
	case *forge.SourceUser:
		return b.object(*x)
	case forge.SourceUser:
		b.user(x.SourceID, x)
	case *forge.Label:
		return b.object(*x)
	case forge.Label:
		b.add(labelSpec, owner, other, x.Type, x.Host, x.ID, x.Name, x.Color, x.Description, utc(x.CreatedAt), utc(x.UpdatedAt))
	case *forge.Milestone:
		return b.object(*x)
	case forge.Milestone:
		state := x.State
		if state == "" {
			state = forge.MilestoneActive
		}
		b.add(milestoneSpec, owner, other, x.IID, x.Type, x.Host, x.ID, x.Title, x.Description, state, date(x.StartDate), date(x.DueDate),
			utc(x.CreatedAt), utc(x.UpdatedAt))
	case *forge.Issue:
		return b.object(*x)
	case forge.Issue:
		b.add(issueSpec, p, x.IID, x.Type, x.Host, x.ID, x.Title, x.Description, orDefault(x.State, forge.StateOpened), x.Confidential,
			x.Locked, b.user(x.SourceID, x.Author), x.MilestoneIID, b.optUser(x.SourceID, x.ClosedBy), utc(x.CreatedAt), utc(x.UpdatedAt),
			nullTime(x.ClosedAt), dayOf(x.DueDate))
		b.setChildren(x.SourceID, forge.OnIssue, x.IID, x.Labels, x.Assignees, nil)
	case *forge.MergeRequest:
		return b.object(*x)
	case forge.MergeRequest:
		b.add(mergeRequestSpec, p, x.IID, x.Type, x.Host, x.ID, x.Title, x.Description, orDefault(x.State, forge.StateOpened), x.Draft,
			x.Locked, x.SourceBranch, x.TargetBranch, x.SourceSHA, x.TargetSHA, x.BaseSHA, x.MergeCommitSHA, b.user(x.SourceID, x.Author),
			x.MilestoneIID, b.optUser(x.SourceID, x.MergedBy), b.optUser(x.SourceID, x.ClosedBy), utc(x.CreatedAt), utc(x.UpdatedAt),
			nullTime(x.MergedAt), nullTime(x.ClosedAt))
		b.setChildren(x.SourceID, forge.OnMergeRequest, x.IID, x.Labels, x.Assignees, x.Reviewers)
	case *forge.Note:
		return b.object(*x)
	case forge.Note:
		b.note(&x)
	case *forge.Discussion:
		return b.object(*x)
	case forge.Discussion:
		for _, n := range x.Notes {
			if n.Type == "" {
				n.Type, n.Host = x.Type, x.Host
			}
			n.On, n.DiscussionID = x.On, x.ID
			b.note(&n)
		}
	case *forge.Review:
		return b.object(*x)
	case forge.Review:
		author := b.user(x.SourceID, x.Author)
		b.add(reviewSpec, p, x.Type, x.Host, x.ID, x.MergeRequestIID, x.State, x.Body, author, utc(x.SubmittedAt))
		if x.State == forge.ReviewApproved {
			b.add(approvalSpec, p, x.MergeRequestIID, author, x.Type, x.Host, "review:"+x.ID, utc(x.SubmittedAt))
		}
	case *forge.Approval:
		return b.object(*x)
	case forge.Approval:
		b.add(approvalSpec, p, x.MergeRequestIID, b.user(x.SourceID, x.User), x.Type, x.Host, x.ID, utc(x.ApprovedAt))
	case *forge.Release:
		return b.object(*x)
	case forge.Release:
		links, _ := json.Marshal(append([]forge.ReleaseLink{}, x.Links...))
		b.add(releaseSpec, p, x.TagName, x.Type, x.Host, x.ID, x.Name, x.Description, b.optUser(x.SourceID, x.Author), x.CommitSHA,
			string(links), utc(x.CreatedAt), nullTime(x.ReleasedAt))
	case *forge.AwardEmoji:
		return b.object(*x)
	case forge.AwardEmoji:
		typ := x.On.Type
		if x.NoteID != "" {
			typ = "Note"
		}
		b.add(awardSpec, p, x.Type, x.Host, x.ID, typ, x.On.IID, x.NoteID, x.Name, b.user(x.SourceID, x.User), utc(x.CreatedAt), utc(x.UpdatedAt))
	case *forge.ProtectedBranch:
		return b.object(*x)
	case forge.ProtectedBranch:
		b.add(protectedBranchSpec, p, x.Name, x.Type, x.Host, x.ID, int(x.PushAccessLevel), int(x.MergeAccessLevel), x.AllowForcePush,
			x.CodeOwnerApprovalRequired)
	case *forge.Member:
		return b.object(*x)
	case forge.Member:
		sp := memberSpec
		if b.group {
			sp = groupMemberSpec
		}
		b.add(sp, p, b.user(x.SourceID, x.User), x.Type, x.Host, x.ID, int(x.AccessLevel))
	case *forge.Badge:
		return b.object(*x)
	case forge.Badge:
		sp := projectBadgeSpec
		if b.group {
			sp = groupBadgeSpec
		}
		b.add(sp, other, owner, x.Name, x.LinkURL, x.ImageURL, x.Type, x.Host, x.ID, b.now, b.now)
	case *forge.Upload:
		return b.object(*x)
	case forge.Upload:
		if err := invalidUpload(x); err != nil {
			return err
		}
		b.uploads = append(b.uploads, x)
	case *forge.ResourceEvent:
		return b.object(*x)
	case forge.ResourceEvent:
		b.add(resourceEventSpec, p, x.Type, x.Host, x.ID, x.On.Type, x.On.IID, x.Event, x.Action, x.Label, x.LabelColor, x.MilestoneIID,
			x.MilestoneTitle, x.State, b.user(x.SourceID, x.Author), utc(x.CreatedAt))
	case *forge.Closure:
		return b.object(*x)
	case forge.Closure:
		if b.group {
			return ferry.Errorf(ferry.EINVALID, "a group holds labels, milestones, members and badges only, not %s", o.Kind())
		}
		b.closures = append(b.closures, closure{c: x, key: b.user(x.SourceID, x.By)})
	default:
		return ferry.Errorf(ferry.EINVALID, "unknown object kind %q", o.Kind())
	}
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// resolve swaps source user keys in rows for source_users ids.
func resolve(rows [][]any, ids map[suKey]int64) {
	for _, r := range rows {
		for i, v := range r {
			if k, ok := v.(suKey); ok {
				r[i] = ids[k]
			}
		}
	}
}

// WriteContent upserts a page of imported objects of mixed kinds into a
// project, in the caller's transaction. Writing an object again updates it
// in place; an issue's or merge request's assignees, reviewers and labels
// are replaced by the new set. Source users become placeholder users of the
// project's top-level namespace. written counts the objects given.
func (tx *Tx) WriteContent(ctx context.Context, projectID int64, objs []forge.Object) (written int, err error) {
	root, err := tx.rootNamespace(ctx, projectID)
	if err != nil {
		return 0, err
	}
	return tx.writeBatch(ctx, tx.newBatch(projectID, false), root, objs)
}

// WriteGroupContent upserts labels, milestones, members and badges of a
// group (GitLab group imports); other kinds are EINVALID. Members are
// granted as WriteContent grants a project's (grantImportedGroupMemberships).
func (tx *Tx) WriteGroupContent(ctx context.Context, groupID int64, objs []forge.Object) (written int, err error) {
	var root int64
	if err := tx.q.QueryRowContext(ctx, `SELECT ancestor_id FROM namespace_ancestors WHERE namespace_id = $1 ORDER BY depth DESC LIMIT 1`,
		groupID).Scan(&root); err != nil {
		return 0, ferry.Errorf(ferry.ENOTFOUND, "404 Group Not Found")
	}
	return tx.writeBatch(ctx, tx.newBatch(groupID, true), root, objs)
}

func (tx *Tx) writeBatch(ctx context.Context, b *batch, root int64, objs []forge.Object) (int, error) {
	for _, o := range objs {
		if err := b.object(o); err != nil {
			return 0, err
		}
	}
	ids, err := tx.ensureSourceUsers(ctx, root, b.users)
	if err != nil {
		return 0, err
	}
	// Bodies link the project's uploads that exist already; uploads of this
	// batch relink what it wrote, below.
	if err := tx.relinkRows(ctx, b); err != nil {
		return 0, err
	}
	for _, sp := range specOrder {
		rows := b.rows[sp]
		resolve(rows, ids)
		if err := tx.upsert(ctx, sp, rows); err != nil {
			return 0, err
		}
	}
	if err := tx.recordAwaited(ctx, b); err != nil {
		return 0, err
	}
	if err := tx.replaceChildren(ctx, b, ids); err != nil {
		return 0, err
	}
	if len(b.uploads) > 0 {
		if err := tx.putUploads(ctx, b.owner, b.uploads); err != nil {
			return 0, err
		}
	}
	if err := tx.applyClosures(ctx, b, ids); err != nil {
		return 0, err
	}
	// Collaborators, or source users whose e-mail just arrived, may now be
	// ferry members.
	if !b.group && (len(b.rows[memberSpec]) > 0 || anyEmail(b.users)) {
		if err := tx.grantImportedMemberships(ctx, b.owner, 0); err != nil {
			return 0, err
		}
	}
	if b.group && len(b.rows[groupMemberSpec]) > 0 {
		if err := tx.grantImportedGroupMemberships(ctx, b.owner, 0); err != nil {
			return 0, err
		}
	}
	// A source user this page maps by e-mail may be a member of a group
	// (or, for a group's page, of a project) written earlier.
	var mailed []int64
	for k, u := range b.users {
		if u.Email != "" {
			mailed = append(mailed, ids[k])
		}
	}
	if len(mailed) > 0 {
		slices.Sort(mailed)
		if err := tx.grantImportedGroupMemberships(ctx, 0, mailed...); err != nil {
			return 0, err
		}
		if b.group {
			for _, id := range mailed {
				if err := tx.grantImportedMemberships(ctx, 0, id); err != nil {
					return 0, err
				}
			}
		}
	}
	if r := b.repo; r != nil {
		// The source's description and default branch become the project's;
		// visibility stays what the destination chose.
		for col, v := range map[string]string{"description": r.Description, "default_branch": r.DefaultBranch} {
			if v == "" {
				continue
			}
			if _, err := tx.q.ExecContext(ctx, `UPDATE projects SET `+col+` = $1 WHERE id = $2`, v, b.owner); err != nil {
				return 0, fmt.Errorf("project %s: %w", col, err)
			}
		}
	}
	return len(objs), nil
}

// replaceChildren deletes the child sets of the written issuables and
// inserts the new ones.
func (tx *Tx) replaceChildren(ctx context.Context, b *batch, ids map[suKey]int64) error {
	byType := map[string][]int64{}
	for t := range b.children {
		byType[t.typ] = append(byType[t.typ], t.iid)
	}
	for _, typ := range []string{forge.OnIssue, forge.OnMergeRequest} {
		iids := byType[typ]
		slices.Sort(iids) // one lock order for racing writers
		for start := 0; start < len(iids); start += inChunk {
			chunk := iids[start:min(start+inChunk, len(iids))]
			for _, table := range []string{"issuable_users", "issuable_labels"} {
				args := []any{b.owner, typ}
				if _, err := tx.q.ExecContext(ctx, `DELETE FROM `+table+` WHERE project_id = $1 AND target_type = $2 AND target_iid IN `+
					inList(&args, chunk), args...); err != nil {
					return fmt.Errorf("clear %s: %w", table, err)
				}
			}
		}
	}
	resolve(b.userRows, ids)
	if err := tx.upsert(ctx, issuableUserSpec, b.userRows); err != nil {
		return err
	}
	return tx.upsert(ctx, issuableLabelSpec, b.labels)
}

// anyEmail reports whether a batch names a source user's e-mail.
func anyEmail(users map[suKey]forge.SourceUser) bool {
	for _, u := range users {
		if u.Email != "" {
			return true
		}
	}
	return false
}

// applyClosures records who closed or merged items already stored: only
// those columns change, so an item written earlier keeps the rest. An item
// not stored (yet) is left alone; sources send closures after their items.
func (tx *Tx) applyClosures(ctx context.Context, b *batch, ids map[suKey]int64) error {
	for _, cl := range b.closures {
		su := ids[cl.key.(suKey)]
		var q string
		switch {
		case cl.c.Merged:
			q = `UPDATE merge_requests SET merged_by_su = $1 WHERE project_id = $2 AND iid = $3`
		case cl.c.On.Type == forge.OnMergeRequest:
			q = `UPDATE merge_requests SET closed_by_su = $1 WHERE project_id = $2 AND iid = $3`
		default:
			q = `UPDATE issues SET closed_by_su = $1 WHERE project_id = $2 AND iid = $3`
		}
		if _, err := tx.q.ExecContext(ctx, q, su, b.owner, cl.c.On.IID); err != nil {
			return fmt.Errorf("closure of %s %d: %w", cl.c.On.Type, cl.c.On.IID, err)
		}
	}
	return nil
}

// dayOf is a date column's value: YYYY-MM-DD, ” for none.
func dayOf(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02")
}
