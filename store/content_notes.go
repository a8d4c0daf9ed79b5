package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/forge"
)

// Note is an imported note read back.
type Note struct {
	ID           int64
	ProjectID    int64
	Source       forge.SourceID
	On           forge.Noteable
	NoteableID   int64 // the issue's or merge request's row id
	DiscussionID string
	Individual   bool
	Body         string
	Author       *ferry.User
	System       bool
	Internal     bool
	Resolvable   bool
	Resolved     bool
	ResolvedBy   *ferry.User
	ResolvedAt   *time.Time
	Position     *forge.DiffPosition
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Discussion is a thread of notes, oldest first.
type Discussion struct {
	ID         string
	Individual bool
	Notes      []*Note
}

// NoteFilter selects the notes of one issue or merge request.
type NoteFilter struct {
	ProjectID int64
	On        forge.Noteable
	Internal  bool   // include internal notes (reporters and up)
	Sort      string // asc, desc (default for notes; discussions are always oldest first)
	OrderBy   string // created_at (default), updated_at
	NoteID    int64  // only this note
	Thread    string // only this discussion
}

func (f NoteFilter) cond(args *[]any) string {
	*args = append(*args, f.ProjectID, f.On.Type, f.On.IID)
	c := "nt.project_id = $1 AND nt.noteable_type = $2 AND nt.noteable_iid = $3"
	if !f.Internal {
		c += " AND nt.internal = FALSE"
	}
	if f.NoteID != 0 {
		*args = append(*args, f.NoteID)
		c += fmt.Sprintf(" AND nt.id = $%d", len(*args))
	}
	if f.Thread != "" {
		*args = append(*args, f.Thread)
		c += fmt.Sprintf(" AND nt.discussion_id = $%d", len(*args))
	}
	return c
}

// issuableRowID is the SQL of the row id of the issue or merge request a
// row names by type and iid (0 when it is not stored): the API shows ids,
// children store iids.
func issuableRowID(alias, typeCol, iidCol string) string {
	on := func(table, typ string) string {
		return `(SELECT x.id FROM ` + table + ` x WHERE ` + alias + `.` + typeCol + ` = '` + typ + `' AND x.project_id = ` + alias +
			`.project_id AND x.iid = ` + alias + `.` + iidCol + `)`
	}
	return `COALESCE(` + on("issues", forge.OnIssue) + `, ` + on("merge_requests", forge.OnMergeRequest) + `, 0)`
}

var noteSelect = `nt.id, nt.project_id, nt.source_type, nt.source_host, nt.source_id, nt.noteable_type, nt.noteable_iid,
 ` + issuableRowID("nt", "noteable_type", "noteable_iid") + `,
 nt.discussion_id, nt.individual, nt.body, nt.author_su, nt.system, nt.internal, nt.resolvable, nt.resolved, nt.resolved_by_su,
 nt.resolved_at, nt.position_type, nt.base_sha, nt.start_sha, nt.head_sha, nt.old_path, nt.new_path, nt.old_line, nt.new_line,
 nt.line_range, nt.created_at, nt.updated_at`

func scanNote(row interface{ Scan(...any) error }, refs userRefs) (*Note, error) {
	var n Note
	var author, resolvedBy sql.NullInt64
	var resolvedAt sql.NullTime
	var pos forge.DiffPosition
	var lr string
	if err := row.Scan(&n.ID, &n.ProjectID, &n.Source.Type, &n.Source.Host, &n.Source.ID, &n.On.Type, &n.On.IID, &n.NoteableID,
		&n.DiscussionID, &n.Individual, &n.Body, &author, &n.System, &n.Internal, &n.Resolvable, &n.Resolved, &resolvedBy, &resolvedAt,
		&pos.Type, &pos.BaseSHA, &pos.StartSHA, &pos.HeadSHA, &pos.OldPath, &pos.NewPath, &pos.OldLine, &pos.NewLine, &lr,
		&n.CreatedAt, &n.UpdatedAt); err != nil {
		return nil, err
	}
	if pos.Type != "" {
		if lr != "" {
			pos.LineRange = &forge.LineRange{}
			if err := json.Unmarshal([]byte(lr), pos.LineRange); err != nil {
				return nil, fmt.Errorf("line range of note %d: %w", n.ID, err)
			}
		}
		n.Position = &pos
	}
	refs.add(author, &n.Author)
	refs.add(resolvedBy, &n.ResolvedBy)
	n.ResolvedAt, n.CreatedAt, n.UpdatedAt = timePtr(resolvedAt), n.CreatedAt.UTC(), n.UpdatedAt.UTC()
	return &n, nil
}

// ListNotes returns one page of the notes of an issue or merge request.
func (tx *Tx) ListNotes(ctx context.Context, f NoteFilter, p Page) ([]*Note, int, error) {
	args := []any{}
	cond := f.cond(&args)
	total, err := tx.count(ctx, "notes", `SELECT COUNT(*) FROM notes nt WHERE `+cond, args...)
	if err != nil {
		return nil, 0, err
	}
	order := "nt.created_at"
	if f.OrderBy == "updated_at" {
		order = "nt.updated_at"
	}
	dir := "DESC"
	if f.Sort == "asc" {
		dir = "ASC"
	}
	refs := userRefs{}
	var out []*Note
	err = tx.scanAll(ctx, "notes", func(row *sql.Rows) error {
		n, err := scanNote(row, refs)
		out = append(out, n)
		return err
	}, `SELECT `+noteSelect+` FROM notes nt WHERE `+cond+` ORDER BY `+order+` `+dir+`, nt.id `+dir+
		fmt.Sprintf(` LIMIT $%d OFFSET $%d`, len(args)+1, len(args)+2), append(args, p.PerPage, p.Offset())...)
	if err != nil {
		return nil, 0, err
	}
	return out, total, refs.resolve(ctx, tx)
}

// ListDiscussions returns one page of the threads of an issue or merge
// request, ordered by their first note.
func (tx *Tx) ListDiscussions(ctx context.Context, f NoteFilter, p Page) ([]*Discussion, int, error) {
	args := []any{}
	cond := f.cond(&args)
	total, err := tx.count(ctx, "discussions", `SELECT COUNT(DISTINCT nt.discussion_id) FROM notes nt WHERE `+cond, args...)
	if err != nil {
		return nil, 0, err
	}
	var out []*Discussion
	byID := map[string]*Discussion{}
	err = tx.scanAll(ctx, "discussions", func(row *sql.Rows) error {
		var d Discussion
		var first any // an aggregate: SQLite returns it as text
		var firstID int64
		if err := row.Scan(&d.ID, &first, &firstID); err != nil {
			return err
		}
		out = append(out, &d)
		byID[d.ID] = &d
		return nil
	}, `SELECT nt.discussion_id, MIN(nt.created_at) AS first, MIN(nt.id) AS first_id FROM notes nt WHERE `+cond+`
		GROUP BY nt.discussion_id ORDER BY first, first_id`+fmt.Sprintf(` LIMIT $%d OFFSET $%d`, len(args)+1, len(args)+2),
		append(args, p.PerPage, p.Offset())...)
	if err != nil || len(out) == 0 {
		return out, total, err
	}
	ids := make([]string, len(out))
	for i, d := range out {
		ids[i] = d.ID
	}
	args = args[:0]
	cond = f.cond(&args)
	refs := userRefs{}
	err = tx.scanAll(ctx, "discussion notes", func(row *sql.Rows) error {
		n, err := scanNote(row, refs)
		if err != nil {
			return err
		}
		d := byID[n.DiscussionID]
		d.Notes = append(d.Notes, n)
		d.Individual = n.Individual
		return nil
	}, `SELECT `+noteSelect+` FROM notes nt WHERE `+cond+` AND nt.discussion_id IN `+inList(&args, ids)+` ORDER BY nt.created_at, nt.id`, args...)
	if err != nil {
		return nil, 0, err
	}
	return out, total, refs.resolve(ctx, tx)
}

// AwardEmoji is an imported reaction read back.
type AwardEmoji struct {
	ID            int64
	Name          string
	User          *ferry.User
	AwardableID   int64
	AwardableType string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// ListAwardEmoji returns one page of the emoji on an issue or merge request
// or, with noteID (a note's row id) not 0, on one of its notes.
func (tx *Tx) ListAwardEmoji(ctx context.Context, projectID int64, on forge.Noteable, noteID int64, p Page) ([]*AwardEmoji, int, error) {
	args := []any{}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	table := "issues"
	if on.Type == forge.OnMergeRequest {
		table = "merge_requests"
	}
	typ, awardable := on.Type, `(SELECT x.id FROM `+table+` x WHERE x.project_id = e.project_id AND x.iid = e.awardable_iid)`
	cond := `e.project_id = ` + arg(projectID) + ` AND e.awardable_iid = ` + arg(on.IID)
	if noteID == 0 {
		cond += ` AND e.note_source_id = ''`
	} else {
		// An emoji on a note names the note by its source identity.
		typ, awardable = "Note", "nt.id"
		cond += ` AND nt.id = ` + arg(noteID)
	}
	cond += ` AND e.awardable_type = ` + arg(typ)
	from := ` FROM award_emoji e LEFT JOIN notes nt ON nt.project_id = e.project_id AND nt.source_type = e.source_type
		AND nt.source_host = e.source_host AND nt.source_id = e.note_source_id WHERE ` + cond
	total, err := tx.count(ctx, "award emoji", `SELECT COUNT(*)`+from, args...)
	if err != nil {
		return nil, 0, err
	}
	refs := userRefs{}
	var out []*AwardEmoji
	err = tx.scanAll(ctx, "award emoji", func(row *sql.Rows) error {
		var e AwardEmoji
		var su sql.NullInt64
		if err := row.Scan(&e.ID, &e.Name, &su, &e.AwardableID, &e.AwardableType, &e.CreatedAt, &e.UpdatedAt); err != nil {
			return err
		}
		refs.add(su, &e.User)
		e.CreatedAt, e.UpdatedAt = e.CreatedAt.UTC(), e.UpdatedAt.UTC()
		out = append(out, &e)
		return nil
	}, `SELECT e.id, e.name, e.user_su, COALESCE(`+awardable+`, 0), e.awardable_type, e.created_at, e.updated_at`+from+
		` ORDER BY e.created_at, e.id LIMIT `+arg(p.PerPage)+` OFFSET `+arg(p.Offset()), args...)
	if err != nil {
		return nil, 0, err
	}
	return out, total, refs.resolve(ctx, tx)
}

// Approval is one approver of a merge request.
type Approval struct {
	User       *ferry.User
	ApprovedAt time.Time
}

// ListApprovals returns a merge request's approvals, oldest first.
func (tx *Tx) ListApprovals(ctx context.Context, projectID, mrIID int64) ([]*Approval, error) {
	refs := userRefs{}
	var out []*Approval
	err := tx.scanAll(ctx, "approvals", func(row *sql.Rows) error {
		var a Approval
		var su sql.NullInt64
		if err := row.Scan(&su, &a.ApprovedAt); err != nil {
			return err
		}
		a.ApprovedAt = a.ApprovedAt.UTC()
		refs.add(su, &a.User)
		out = append(out, &a)
		return nil
	}, `SELECT su_id, approved_at FROM approvals WHERE project_id = $1 AND mr_iid = $2 ORDER BY approved_at, id`, projectID, mrIID)
	if err != nil {
		return nil, err
	}
	return out, refs.resolve(ctx, tx)
}

// Reviewer is a merge request's reviewer with GitLab's review state:
// unreviewed, reviewed, requested_changes or approved (the latest review).
type Reviewer struct {
	User      *ferry.User
	State     string
	CreatedAt time.Time
}

// ListReviewers returns the requested reviewers and everyone who reviewed,
// in that order.
func (tx *Tx) ListReviewers(ctx context.Context, projectID, mrIID int64) ([]*Reviewer, error) {
	refs := userRefs{}
	var out []*Reviewer
	bySU := map[int64]*Reviewer{}
	add := func(su int64, state string, at time.Time) {
		r := bySU[su]
		if r == nil {
			r = &Reviewer{State: "unreviewed", CreatedAt: at}
			bySU[su] = r
			out = append(out, r)
			refs.set(su, func(u *ferry.User) { r.User = u })
		}
		if state != "" {
			r.State = state
		}
	}
	var created time.Time
	if err := tx.q.QueryRowContext(ctx, `SELECT created_at FROM merge_requests WHERE project_id = $1 AND iid = $2`, projectID, mrIID).Scan(&created); err != nil &&
		!errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("merge request %d: %w", mrIID, err)
	}
	err := tx.scanAll(ctx, "reviewers", func(row *sql.Rows) error {
		var su int64
		if err := row.Scan(&su); err != nil {
			return err
		}
		add(su, "", created.UTC())
		return nil
	}, `SELECT su_id FROM issuable_users WHERE project_id = $1 AND target_type = 'MergeRequest' AND target_iid = $2 AND role = 'reviewer'
		ORDER BY position`, projectID, mrIID)
	if err != nil {
		return nil, err
	}
	states := map[string]string{forge.ReviewApproved: "approved", forge.ReviewChangesRequested: "requested_changes", forge.ReviewCommented: "reviewed"}
	err = tx.scanAll(ctx, "reviews", func(row *sql.Rows) error {
		var su int64
		var state string
		var at time.Time
		if err := row.Scan(&su, &state, &at); err != nil {
			return err
		}
		add(su, orDefault(states[state], "reviewed"), at.UTC())
		return nil
	}, `SELECT author_su, state, submitted_at FROM reviews WHERE project_id = $1 AND mr_iid = $2 ORDER BY submitted_at, id`, projectID, mrIID)
	if err != nil {
		return nil, err
	}
	return out, refs.resolve(ctx, tx)
}
