package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/forge"
)

// Issuable is what an issue and a merge request share when read back, with
// users resolved to the ferry users they show as.
type Issuable struct {
	ID, ProjectID, IID int64
	Source             forge.SourceID
	Title, Description string
	State              string
	Locked             bool
	Author, ClosedBy   *ferry.User
	Assignees          []*ferry.User
	Reviewers          []*ferry.User // merge requests only
	Labels             []string
	MilestoneIID       int64
	Milestone          *Milestone
	CreatedAt          time.Time
	UpdatedAt          time.Time
	ClosedAt           *time.Time
	UserNotesCount     int
	Upvotes, Downvotes int
}

// Issue is an imported issue.
type Issue struct {
	Issuable
	Confidential bool
	DueDate      string // YYYY-MM-DD, "" for none
}

// MergeRequest is an imported merge request.
type MergeRequest struct {
	Issuable
	Draft                                      bool
	SourceBranch, TargetBranch                 string
	SourceSHA, TargetSHA, BaseSHA, MergeCommit string
	MergedBy                                   *ferry.User
	MergedAt                                   *time.Time
}

// IssuableFilter narrows ListIssues and ListMergeRequests.
type IssuableFilter struct {
	Viewer    Viewer
	ProjectID int64             // 0: every project the viewer can see
	Role      ferry.AccessLevel // the viewer's role on ProjectID
	Scope     string            // "all" (default), "created_by_me", "assigned_to_me"
	State     string            // opened, closed, merged, locked; "" or "all" for any
	Labels    []string          // every one of them; ["None"] = no label, ["Any"] = some label
	Milestone string            // a title, "None" or "Any"
	AuthorID  int64
	Author    string // username
	Assignee  string // a user id, "None" or "Any"
	Reviewer  string // a user id, "None" or "Any" (merge requests)
	Search    string // in title and description
	IIDs      []int64
	// Merge requests only.
	SourceBranch, TargetBranch string
	OrderBy                    string // created_at (default), updated_at, title
	Sort                       string // desc (default), asc
	// Time bounds, nil for none.
	CreatedAfter, CreatedBefore *time.Time
	UpdatedAfter, UpdatedBefore *time.Time
	// WithDueDate keeps only items with a due date: none, as imported
	// issues carry none.
	WithDueDate bool
	// MilestoneID is one milestone by its identity (its id in the store),
	// where Milestone is any milestone of that title: a project's and a
	// group's may share one.
	MilestoneID int64
}

// issuableKind is what differs between issues and merge requests.
type issuableKind[T any] struct {
	table, typ string
	cols       string // after the shared columns
	scan       func(row interface{ Scan(...any) error }, base []any, refs userRefs) (T, *Issuable, error)
}

const issuableCols = `x.id, x.project_id, x.iid, x.source_type, x.source_host, x.source_id, x.title, x.description, x.state,
 x.discussion_locked, x.author_su, x.closed_by_su, x.milestone_iid, x.created_at, x.updated_at, x.closed_at`

// baseDests are the scan targets of issuableCols; finish completes them.
func baseDests(is *Issuable, su *[2]sql.NullInt64, closed *sql.NullTime) []any {
	return []any{&is.ID, &is.ProjectID, &is.IID, &is.Source.Type, &is.Source.Host, &is.Source.ID, &is.Title, &is.Description,
		&is.State, &is.Locked, &su[0], &su[1], &is.MilestoneIID, &is.CreatedAt, &is.UpdatedAt, closed}
}

func scanIssuable(row interface{ Scan(...any) error }, is *Issuable, refs userRefs, extra ...any) error {
	var su [2]sql.NullInt64
	var closed sql.NullTime
	if err := row.Scan(append(baseDests(is, &su, &closed), extra...)...); err != nil {
		return err
	}
	refs.add(su[0], &is.Author)
	refs.add(su[1], &is.ClosedBy)
	is.ClosedAt, is.CreatedAt, is.UpdatedAt = timePtr(closed), is.CreatedAt.UTC(), is.UpdatedAt.UTC()
	return nil
}

var issueKind = issuableKind[*Issue]{table: "issues", typ: forge.OnIssue, cols: "x.confidential, x.due_date",
	scan: func(row interface{ Scan(...any) error }, _ []any, refs userRefs) (*Issue, *Issuable, error) {
		var it Issue
		err := scanIssuable(row, &it.Issuable, refs, &it.Confidential, &it.DueDate)
		return &it, &it.Issuable, err
	}}

var mergeRequestKind = issuableKind[*MergeRequest]{table: "merge_requests", typ: forge.OnMergeRequest,
	cols: "x.draft, x.source_branch, x.target_branch, x.source_sha, x.target_sha, x.base_sha, x.merge_commit_sha, x.merged_by_su, x.merged_at",
	scan: func(row interface{ Scan(...any) error }, _ []any, refs userRefs) (*MergeRequest, *Issuable, error) {
		var mr MergeRequest
		var mergedBy sql.NullInt64
		var mergedAt sql.NullTime
		err := scanIssuable(row, &mr.Issuable, refs, &mr.Draft, &mr.SourceBranch, &mr.TargetBranch, &mr.SourceSHA, &mr.TargetSHA,
			&mr.BaseSHA, &mr.MergeCommit, &mergedBy, &mergedAt)
		refs.add(mergedBy, &mr.MergedBy)
		mr.MergedAt = timePtr(mergedAt)
		return &mr, &mr.Issuable, err
	}}

// ListIssues returns one page of issues and the total.
func (tx *Tx) ListIssues(ctx context.Context, f IssuableFilter, p Page) ([]*Issue, int, error) {
	return listIssuables(ctx, tx, issueKind, f, p)
}

// ListMergeRequests returns one page of merge requests and the total.
func (tx *Tx) ListMergeRequests(ctx context.Context, f IssuableFilter, p Page) ([]*MergeRequest, int, error) {
	return listIssuables(ctx, tx, mergeRequestKind, f, p)
}

// IssueByIID returns one issue the filter allows (Viewer, Role) or ENOTFOUND.
func (tx *Tx) IssueByIID(ctx context.Context, f IssuableFilter, iid int64) (*Issue, error) {
	return oneIssuable(ctx, tx, issueKind, f, iid, "404 Issue Not Found")
}

// MergeRequestByIID returns one merge request or ENOTFOUND.
func (tx *Tx) MergeRequestByIID(ctx context.Context, f IssuableFilter, iid int64) (*MergeRequest, error) {
	return oneIssuable(ctx, tx, mergeRequestKind, f, iid, "404 Merge Request Not Found")
}

func oneIssuable[T any](ctx context.Context, tx *Tx, k issuableKind[T], f IssuableFilter, iid int64, missing string) (T, error) {
	f.IIDs, f.State, f.Scope = []int64{iid}, "", ""
	list, _, err := listIssuables(ctx, tx, k, f, Page{Page: 1, PerPage: 1})
	if err == nil && len(list) == 0 {
		err = ferry.Errorf(ferry.ENOTFOUND, "%s", missing)
	}
	if err != nil {
		var zero T
		return zero, err
	}
	return list[0], nil
}

// mappedUser is the ferry user a source user column shows as.
func mappedUser(col string) string {
	return `(SELECT su.mapped_user_id FROM source_users su WHERE su.id = ` + col + `)`
}

func listIssuables[T any](ctx context.Context, tx *Tx, k issuableKind[T], f IssuableFilter, p Page) ([]T, int, error) {
	where, args := []string{}, []any{}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	// The viewer and the clock become arguments only when a condition uses
	// them: PostgreSQL refuses parameters it cannot type.
	var me, now string
	viewerArg := func() string {
		if me == "" {
			me = arg(f.Viewer.UserID)
		}
		return me
	}
	access := func() string {
		if now == "" {
			now = arg(tx.Now())
		}
		return projectAccessSQL(viewerArg(), now)
	}
	child := func(table string) string {
		return `SELECT 1 FROM ` + table + ` c WHERE c.project_id = x.project_id AND c.target_type = '` + k.typ + `' AND c.target_iid = x.iid`
	}
	userFilter := func(role, v string) {
		base := child("issuable_users") + ` AND c.role = '` + role + `'`
		switch strings.ToLower(v) {
		case "":
		case "none":
			where = append(where, "NOT EXISTS ("+base+")")
		case "any":
			where = append(where, "EXISTS ("+base+")")
		default:
			id, _ := strconv.ParseInt(v, 10, 64)
			where = append(where, "EXISTS ("+base+" AND "+mappedUser("c.su_id")+" = "+arg(id)+")")
		}
	}
	if f.ProjectID != 0 {
		where = append(where, "x.project_id = "+arg(f.ProjectID))
	} else if !f.Viewer.Admin {
		vis := "p.visibility = 'public'"
		if f.Viewer.UserID != 0 {
			vis = "(p.visibility IN ('public', 'internal') OR " + access() + " > 0)"
		}
		where = append(where, "x.project_id IN (SELECT p.id FROM projects p JOIN namespaces n ON n.id = p.namespace_id WHERE "+vis+")")
	}
	// Confidential issues: reporters and up, their author and assignees.
	if k.typ == forge.OnIssue && !f.Viewer.Admin && (f.ProjectID == 0 || f.Role < ferry.ReporterAccess) {
		if f.Viewer.UserID == 0 {
			where = append(where, "x.confidential = FALSE")
		} else {
			u := viewerArg()
			conf := "x.confidential = FALSE OR " + mappedUser("x.author_su") + " = " + u + " OR EXISTS (" + child("issuable_users") +
				" AND c.role = 'assignee' AND " + mappedUser("c.su_id") + " = " + u + ")"
			if f.ProjectID == 0 {
				conf += " OR (SELECT " + access() + " FROM projects p JOIN namespaces n ON n.id = p.namespace_id WHERE p.id = x.project_id) >= 20"
			}
			where = append(where, "("+conf+")")
		}
	}
	switch f.Scope {
	case "created_by_me", "created-by-me":
		where = append(where, mappedUser("x.author_su")+" = "+viewerArg())
	case "assigned_to_me", "assigned-to-me":
		userFilter("assignee", strconv.FormatInt(f.Viewer.UserID, 10))
	}
	if f.State != "" && f.State != "all" {
		where = append(where, "x.state = "+arg(f.State))
	}
	for _, l := range f.Labels {
		switch strings.ToLower(l) {
		case "none":
			where = append(where, "NOT EXISTS ("+child("issuable_labels")+")")
		case "any":
			where = append(where, "EXISTS ("+child("issuable_labels")+")")
		default:
			where = append(where, "EXISTS ("+child("issuable_labels")+" AND lower(c.label_name) = lower("+arg(l)+"))")
		}
	}
	switch strings.ToLower(f.Milestone) {
	case "":
	case "none":
		where = append(where, "x.milestone_iid = 0")
	case "any":
		where = append(where, "x.milestone_iid <> 0")
	default:
		where = append(where, "x.milestone_iid IN (SELECT m.iid FROM milestones m WHERE m.project_id = x.project_id AND m.title = "+arg(f.Milestone)+")")
	}
	if f.MilestoneID != 0 {
		// An item names its milestone by iid among its project's.
		where = append(where, "x.milestone_iid = (SELECT m.iid FROM milestones m WHERE m.id = "+arg(f.MilestoneID)+" AND m.project_id = x.project_id)")
	}
	if f.AuthorID != 0 {
		where = append(where, mappedUser("x.author_su")+" = "+arg(f.AuthorID))
	}
	if f.Author != "" {
		where = append(where, mappedUser("x.author_su")+" = (SELECT id FROM users WHERE lower(username) = lower("+arg(f.Author)+"))")
	}
	userFilter("assignee", f.Assignee)
	userFilter("reviewer", f.Reviewer)
	if f.Search != "" {
		s := arg("%" + likeEscape(strings.ToLower(f.Search)) + "%")
		where = append(where, fmt.Sprintf(`(lower(x.title) LIKE %[1]s ESCAPE '\' OR lower(x.description) LIKE %[1]s ESCAPE '\')`, s))
	}
	if len(f.IIDs) > 0 {
		where = append(where, "x.iid IN "+inList(&args, f.IIDs))
	}
	if f.SourceBranch != "" {
		where = append(where, "x.source_branch = "+arg(f.SourceBranch))
	}
	if f.TargetBranch != "" {
		where = append(where, "x.target_branch = "+arg(f.TargetBranch))
	}
	where = append(where, timeBounds(arg, "x.created_at", f.CreatedAfter, f.CreatedBefore)...)
	where = append(where, timeBounds(arg, "x.updated_at", f.UpdatedAfter, f.UpdatedBefore)...)
	if f.WithDueDate {
		where = append(where, "1=0")
	}
	cond := "1=1"
	if len(where) > 0 {
		cond = strings.Join(where, " AND ")
	}
	total, err := tx.count(ctx, k.table, `SELECT COUNT(*) FROM `+k.table+` x WHERE `+cond, args...)
	if err != nil {
		return nil, 0, err
	}
	order := map[string]string{"updated_at": "x.updated_at", "title": "lower(x.title)"}[f.OrderBy]
	if order == "" {
		order = "x.created_at"
	}
	dir := "DESC"
	if strings.EqualFold(f.Sort, "asc") {
		dir = "ASC"
	}
	var out []T
	var items []*Issuable
	refs := userRefs{}
	err = tx.scanAll(ctx, k.table, func(row *sql.Rows) error {
		it, base, err := k.scan(row, nil, refs)
		if err == nil {
			out, items = append(out, it), append(items, base)
		}
		return err
	}, `SELECT `+issuableCols+`, `+k.cols+` FROM `+k.table+` x WHERE `+cond+` ORDER BY `+order+` `+dir+`, x.id `+dir+
		` LIMIT `+arg(p.PerPage)+` OFFSET `+arg(p.Offset()), args...)
	if err != nil {
		return nil, 0, err
	}
	if err := tx.loadIssuables(ctx, k.typ, items, refs); err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// loadIssuables fills in a page's users, labels, milestones and counts.
func (tx *Tx) loadIssuables(ctx context.Context, typ string, items []*Issuable, refs userRefs) error {
	if len(items) == 0 {
		return refs.resolve(ctx, tx)
	}
	type pk struct{ project, iid int64 }
	byKey := map[pk]*Issuable{}
	var projects, iids []int64
	for _, it := range items {
		byKey[pk{it.ProjectID, it.IID}] = it
		projects, iids = append(projects, it.ProjectID), append(iids, it.IID)
	}
	scope := func(args *[]any) string {
		*args = append(*args, typ)
		return fmt.Sprintf("target_type = $%d AND project_id IN %s AND target_iid IN %s", len(*args), inList(args, projects), inList(args, iids))
	}
	// Assignees and reviewers, in source order.
	args := []any{}
	err := tx.scanAll(ctx, "issuable users", func(row *sql.Rows) error {
		var project, iid, su int64
		var role string
		var pos int
		if err := row.Scan(&project, &iid, &role, &su, &pos); err != nil {
			return err
		}
		it := byKey[pk{project, iid}]
		if it == nil {
			return nil
		}
		list := &it.Assignees
		if role == "reviewer" {
			list = &it.Reviewers
		}
		i := len(*list)
		*list = append(*list, nil)
		refs.set(su, func(u *ferry.User) { (*list)[i] = u })
		return nil
	}, `SELECT project_id, target_iid, role, su_id, position FROM issuable_users WHERE `+scope(&args)+` ORDER BY position`, args...)
	if err != nil {
		return err
	}
	args = []any{}
	err = tx.scanAll(ctx, "issuable labels", func(row *sql.Rows) error {
		var project, iid int64
		var name string
		if err := row.Scan(&project, &iid, &name); err != nil {
			return err
		}
		if it := byKey[pk{project, iid}]; it != nil {
			it.Labels = append(it.Labels, name)
		}
		return nil
	}, `SELECT project_id, target_iid, label_name FROM issuable_labels WHERE `+scope(&args)+` ORDER BY label_name`, args...)
	if err != nil {
		return err
	}
	// Counts GitLab shows on every issuable: user notes and thumbs.
	args = []any{typ}
	err = tx.scanAll(ctx, "note counts", func(row *sql.Rows) error {
		var project, iid int64
		var n int
		if err := row.Scan(&project, &iid, &n); err != nil {
			return err
		}
		if it := byKey[pk{project, iid}]; it != nil {
			it.UserNotesCount = n
		}
		return nil
	}, `SELECT project_id, noteable_iid, COUNT(*) FROM notes WHERE noteable_type = $1 AND system = FALSE AND project_id IN `+
		inList(&args, projects)+` AND noteable_iid IN `+inList(&args, iids)+` GROUP BY project_id, noteable_iid`, args...)
	if err != nil {
		return err
	}
	args = []any{typ}
	err = tx.scanAll(ctx, "award counts", func(row *sql.Rows) error {
		var project, iid int64
		var name string
		var n int
		if err := row.Scan(&project, &iid, &name, &n); err != nil {
			return err
		}
		if it := byKey[pk{project, iid}]; it != nil {
			if name == "thumbsup" {
				it.Upvotes = n
			} else {
				it.Downvotes = n
			}
		}
		return nil
	}, `SELECT project_id, awardable_iid, name, COUNT(*) FROM award_emoji WHERE awardable_type = $1 AND note_source_id = ''
		AND name IN ('thumbsup', 'thumbsdown') AND project_id IN `+inList(&args, projects)+` AND awardable_iid IN `+inList(&args, iids)+`
		GROUP BY project_id, awardable_iid, name`, args...)
	if err != nil {
		return err
	}
	// Milestones, by the iid each issuable names.
	var ms []int64
	for _, it := range items {
		if it.MilestoneIID != 0 {
			ms = append(ms, it.MilestoneIID)
		}
	}
	if len(ms) > 0 {
		args = []any{}
		found := map[pk]*Milestone{}
		err = tx.scanAll(ctx, "milestones", func(row *sql.Rows) error {
			m, err := scanMilestone(row)
			if err == nil {
				found[pk{*m.ProjectID, m.IID}] = m
			}
			return err
		}, `SELECT `+milestoneSelect+` FROM milestones m WHERE m.project_id IN `+inList(&args, projects)+` AND m.iid IN `+inList(&args, ms), args...)
		if err != nil {
			return err
		}
		for _, it := range items {
			it.Milestone = found[pk{it.ProjectID, it.MilestoneIID}]
		}
	}
	return refs.resolve(ctx, tx)
}
