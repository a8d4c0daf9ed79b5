package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/ferry-import/ferry"
)

// Reads for relation exports (package gitlabexport). Each one reads one
// keyset page: the rows with an id above after, in id order, at most limit
// of them, so an export streams a relation of any size page by page and
// never holds it whole. Children (notes, emoji, approvals) are read for one
// page of parents at a time.

// ExportOwner is the project or the group whose own content is exported
// (a project's export does not include its groups' labels).
type ExportOwner struct {
	ProjectID int64
	GroupID   int64
}

func (o ExportOwner) cond(arg func(any) string, alias string) string {
	if o.GroupID != 0 {
		return alias + ".group_id = " + arg(o.GroupID)
	}
	return alias + ".project_id = " + arg(o.ProjectID)
}

// ExportLabel is a label with its timestamps.
type ExportLabel struct {
	Label
	CreatedAt, UpdatedAt time.Time
}

// ExportLabels returns the owner's labels with an id above after.
func (tx *Tx) ExportLabels(ctx context.Context, o ExportOwner, after int64, limit int) ([]*ExportLabel, error) {
	args := []any{}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	var out []*ExportLabel
	err := tx.scanAll(ctx, "export labels", func(row *sql.Rows) error {
		var l ExportLabel
		var project, group sql.NullInt64
		if err := row.Scan(&l.ID, &project, &group, &l.Name, &l.Color, &l.Description, &l.CreatedAt, &l.UpdatedAt); err != nil {
			return err
		}
		l.ProjectID, l.GroupID = int64Ptr(project), int64Ptr(group)
		l.CreatedAt, l.UpdatedAt = l.CreatedAt.UTC(), l.UpdatedAt.UTC()
		out = append(out, &l)
		return nil
	}, `SELECT l.id, l.project_id, l.group_id, l.name, l.color, l.description, l.created_at, l.updated_at FROM labels l WHERE `+
		o.cond(arg, "l")+` AND l.id > `+arg(after)+` ORDER BY l.id LIMIT `+arg(limit), args...)
	return out, err
}

// ExportMilestones returns the owner's milestones with an id above after.
func (tx *Tx) ExportMilestones(ctx context.Context, o ExportOwner, after int64, limit int) ([]*Milestone, error) {
	args := []any{}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	var out []*Milestone
	err := tx.scanAll(ctx, "export milestones", func(row *sql.Rows) error {
		m, err := scanMilestone(row)
		if err == nil {
			out = append(out, m)
		}
		return err
	}, `SELECT `+milestoneSelect+` FROM milestones m WHERE `+o.cond(arg, "m")+` AND m.id > `+arg(after)+` ORDER BY m.id LIMIT `+arg(limit), args...)
	return out, err
}

// exportIssuables reads one keyset page of a project's issues or merge
// requests, with their users, labels and milestones.
func exportIssuables[T any](ctx context.Context, tx *Tx, k issuableKind[T], projectID, after int64, limit int) ([]T, error) {
	refs := userRefs{}
	var out []T
	var items []*Issuable
	err := tx.scanAll(ctx, "export "+k.table, func(row *sql.Rows) error {
		v, is, err := k.scan(row, nil, refs)
		if err != nil {
			return err
		}
		out, items = append(out, v), append(items, is)
		return nil
	}, `SELECT `+issuableCols+`, `+k.cols+` FROM `+k.table+` x WHERE x.project_id = $1 AND x.id > $2 ORDER BY x.id LIMIT $3`,
		projectID, after, limit)
	if err != nil {
		return nil, err
	}
	if err := tx.loadIssuables(ctx, k.typ, items, refs); err != nil {
		return nil, err
	}
	return out, nil
}

// ExportIssues returns a project's issues with an id above after.
func (tx *Tx) ExportIssues(ctx context.Context, projectID, after int64, limit int) ([]*Issue, error) {
	return exportIssuables(ctx, tx, issueKind, projectID, after, limit)
}

// ExportMergeRequests returns a project's merge requests with an id above
// after.
func (tx *Tx) ExportMergeRequests(ctx context.Context, projectID, after int64, limit int) ([]*MergeRequest, error) {
	return exportIssuables(ctx, tx, mergeRequestKind, projectID, after, limit)
}

// ExportNotes returns every note (internal ones too) of the given issues
// or merge requests, by parent iid, then oldest first.
func (tx *Tx) ExportNotes(ctx context.Context, projectID int64, typ string, iids []int64) ([]*Note, error) {
	if len(iids) == 0 {
		return nil, nil
	}
	refs := userRefs{}
	var out []*Note
	args := []any{projectID, typ}
	err := tx.scanAll(ctx, "export notes", func(row *sql.Rows) error {
		n, err := scanNote(row, refs)
		if err == nil {
			out = append(out, n)
		}
		return err
	}, `SELECT `+noteSelect+` FROM notes nt WHERE nt.project_id = $1 AND nt.noteable_type = $2 AND nt.noteable_iid IN `+inList(&args, iids)+
		` ORDER BY nt.noteable_iid, nt.created_at, nt.id`, args...)
	if err != nil {
		return nil, err
	}
	return out, refs.resolve(ctx, tx)
}

// ExportEmoji is an award emoji with what it is on: the parent's iid and,
// for an emoji on a note, the note's row id.
type ExportEmoji struct {
	AwardEmoji
	IID    int64
	NoteID int64 // 0: on the issue or merge request itself
}

// ExportAwardEmoji returns the emoji on the given issues or merge requests
// and on their notes, oldest first.
func (tx *Tx) ExportAwardEmoji(ctx context.Context, projectID int64, typ string, iids []int64) ([]*ExportEmoji, error) {
	if len(iids) == 0 {
		return nil, nil
	}
	refs := userRefs{}
	var out []*ExportEmoji
	args := []any{projectID, typ}
	err := tx.scanAll(ctx, "export award emoji", func(row *sql.Rows) error {
		var e ExportEmoji
		var su sql.NullInt64
		if err := row.Scan(&e.ID, &e.Name, &su, &e.IID, &e.NoteID, &e.AwardableType, &e.CreatedAt, &e.UpdatedAt); err != nil {
			return err
		}
		refs.add(su, &e.User)
		e.CreatedAt, e.UpdatedAt = e.CreatedAt.UTC(), e.UpdatedAt.UTC()
		out = append(out, &e)
		return nil
	}, `SELECT e.id, e.name, e.user_su, e.awardable_iid, COALESCE(nt.id, 0), e.awardable_type, e.created_at, e.updated_at
		FROM award_emoji e LEFT JOIN notes nt ON e.note_source_id <> '' AND nt.project_id = e.project_id AND nt.source_type = e.source_type
		AND nt.source_host = e.source_host AND nt.source_id = e.note_source_id
		WHERE e.project_id = $1 AND e.awardable_iid IN `+inList(&args, iids)+`
		AND ((e.note_source_id = '' AND e.awardable_type = $2) OR (e.note_source_id <> '' AND nt.noteable_type = $2))
		ORDER BY e.created_at, e.id`, args...)
	if err != nil {
		return nil, err
	}
	return out, refs.resolve(ctx, tx)
}

// ExportApproval is an approval of a merge request.
type ExportApproval struct {
	Approval
	MRIID int64
}

// ExportApprovals returns the approvals of the given merge requests.
func (tx *Tx) ExportApprovals(ctx context.Context, projectID int64, iids []int64) ([]*ExportApproval, error) {
	if len(iids) == 0 {
		return nil, nil
	}
	refs := userRefs{}
	var out []*ExportApproval
	args := []any{projectID}
	err := tx.scanAll(ctx, "export approvals", func(row *sql.Rows) error {
		var a ExportApproval
		var su sql.NullInt64
		if err := row.Scan(&a.MRIID, &su, &a.ApprovedAt); err != nil {
			return err
		}
		a.ApprovedAt = a.ApprovedAt.UTC()
		refs.add(su, &a.User)
		out = append(out, &a)
		return nil
	}, `SELECT mr_iid, su_id, approved_at FROM approvals WHERE project_id = $1 AND mr_iid IN `+inList(&args, iids)+
		` ORDER BY mr_iid, approved_at, id`, args...)
	if err != nil {
		return nil, err
	}
	return out, refs.resolve(ctx, tx)
}

// ExportReleases returns a project's releases with an id above after.
func (tx *Tx) ExportReleases(ctx context.Context, projectID, after int64, limit int) ([]*Release, error) {
	refs := userRefs{}
	var out []*Release
	err := tx.scanAll(ctx, "export releases", func(row *sql.Rows) error {
		r, err := scanRelease(row, refs)
		if err == nil {
			out = append(out, r)
		}
		return err
	}, `SELECT `+releaseSelect+` FROM releases r WHERE r.project_id = $1 AND r.id > $2 ORDER BY r.id LIMIT $3`, projectID, after, limit)
	if err != nil {
		return nil, err
	}
	return out, refs.resolve(ctx, tx)
}

// ExportProtectedBranches returns a project's protected branches with an
// id above after.
func (tx *Tx) ExportProtectedBranches(ctx context.Context, projectID, after int64, limit int) ([]*ProtectedBranch, error) {
	var out []*ProtectedBranch
	err := tx.scanAll(ctx, "export protected branches", func(row *sql.Rows) error {
		var b ProtectedBranch
		if err := row.Scan(&b.ID, &b.Name, &b.PushAccessLevel, &b.MergeAccessLevel, &b.AllowForcePush, &b.CodeOwnerApprovalRequired); err != nil {
			return err
		}
		out = append(out, &b)
		return nil
	}, `SELECT id, name, push_access_level, merge_access_level, allow_force_push, code_owner_approval_required FROM protected_branches
		WHERE project_id = $1 AND id > $2 ORDER BY id LIMIT $3`, projectID, after, limit)
	return out, err
}

// ExportMembers returns the direct members of a group ("namespace") or a
// project ("project") with a user id above after, with their users.
func (tx *Tx) ExportMembers(ctx context.Context, kind string, sourceID, after int64, limit int) ([]*ferry.Member, error) {
	var out []*ferry.Member
	err := tx.scanAll(ctx, "export members", func(row *sql.Rows) error {
		var m ferry.Member
		var expires sql.NullTime
		var by sql.NullInt64
		if err := row.Scan(&m.SourceKind, &m.SourceID, &m.UserID, &m.AccessLevel, &expires, &m.CreatedAt, &by); err != nil {
			return err
		}
		m.ExpiresAt, m.CreatedByID, m.CreatedAt = timePtr(expires), int64Ptr(by), m.CreatedAt.UTC()
		out = append(out, &m)
		return nil
	}, `SELECT source_kind, source_id, user_id, access_level, expires_at, created_at, created_by_id FROM members
		WHERE source_kind = $1 AND source_id = $2 AND user_id > $3 ORDER BY user_id LIMIT $4`, kind, sourceID, after, limit)
	if err != nil {
		return nil, err
	}
	for _, m := range out {
		if m.User, err = tx.UserByID(ctx, m.UserID); err != nil {
			return nil, fmt.Errorf("member %d: %w", m.UserID, err)
		}
	}
	return out, nil
}

// contributorSUs selects the source users a project's content references.
const contributorSUs = `SELECT author_su FROM issues WHERE project_id = $1
	UNION SELECT closed_by_su FROM issues WHERE project_id = $1 AND closed_by_su IS NOT NULL
	UNION SELECT author_su FROM merge_requests WHERE project_id = $1
	UNION SELECT merged_by_su FROM merge_requests WHERE project_id = $1 AND merged_by_su IS NOT NULL
	UNION SELECT closed_by_su FROM merge_requests WHERE project_id = $1 AND closed_by_su IS NOT NULL
	UNION SELECT su_id FROM issuable_users WHERE project_id = $1
	UNION SELECT author_su FROM notes WHERE project_id = $1
	UNION SELECT resolved_by_su FROM notes WHERE project_id = $1 AND resolved_by_su IS NOT NULL
	UNION SELECT su_id FROM approvals WHERE project_id = $1
	UNION SELECT author_su FROM releases WHERE project_id = $1 AND author_su IS NOT NULL
	UNION SELECT user_su FROM award_emoji WHERE project_id = $1
	UNION SELECT user_su FROM resource_events WHERE project_id = $1
	UNION SELECT su_id FROM imported_members WHERE project_id = $1`

// ExportContributors returns the users a project's content shows as
// authors, assignees, approvers… (each source user's mapped user), with an
// id above after. With projectID 0 it returns none: groups hold no
// user-attributed content beyond their members.
func (tx *Tx) ExportContributors(ctx context.Context, projectID, after int64, limit int) ([]*ferry.User, error) {
	if projectID == 0 {
		return nil, nil
	}
	var out []*ferry.User
	err := tx.scanAll(ctx, "export contributors", func(row *sql.Rows) error {
		u, err := scanUser(row)
		if err == nil {
			out = append(out, u)
		}
		return err
	}, `SELECT `+userCols+` FROM users u WHERE u.id IN (SELECT su.mapped_user_id FROM source_users su WHERE su.id IN (`+contributorSUs+`))
		AND u.id > $2 ORDER BY u.id LIMIT $3`, projectID, after, limit)
	return out, err
}
