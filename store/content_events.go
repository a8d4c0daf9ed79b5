package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/forge"
)

// invalidEvent reports a resource event the API could not show: one of
// the three types, with what its type needs.
func invalidEvent(e forge.ResourceEvent, bad func(string) error, on func(forge.Noteable) error) error {
	action := func() error {
		if e.Action != forge.ActionAdd && e.Action != forge.ActionRemove {
			return bad(fmt.Sprintf("action %q, not add or remove", e.Action))
		}
		return nil
	}
	switch e.Event {
	case forge.EventLabel:
		if e.Label == "" {
			return bad("a label event without a label")
		}
		if err := action(); err != nil {
			return err
		}
	case forge.EventMilestone:
		if e.MilestoneIID <= 0 && e.MilestoneTitle == "" {
			return bad("a milestone event without a milestone")
		}
		if err := action(); err != nil {
			return err
		}
	case forge.EventState:
		if e.State == "" {
			return bad("a state event without a state")
		}
	default:
		return bad(fmt.Sprintf("event type %q, not label, milestone or state", e.Event))
	}
	return on(e.On)
}

// ResourceEvent is an imported resource event read back. Label is the
// project's (or its groups') label of that name; when the label is gone it
// has ID 0 and the name and colour the event recorded. Milestone is nil
// when no milestone of the project answers the event's iid or title.
type ResourceEvent struct {
	ID         int64
	On         forge.Noteable
	ResourceID int64 // the or merge request's row id
	Event      string
	Action     string
	State      string
	Label      *Label
	Milestone  *Milestone
	User       *ferry.User
	CreatedAt  time.Time
	// What the event named, resolved or not (an export writes it again).
	MilestoneIID   int64
	MilestoneTitle string
}

// EventFilter selects the events of one type on one issue or merge request.
type EventFilter struct {
	ProjectID int64
	On        forge.Noteable
	Event     string // forge.EventLabel, EventState, EventMilestone
	ID        int64  // only this event
}

// ListResourceEvents returns one page of an issuable's events of one type,
// oldest first, as GitLab lists them.
func (tx *Tx) ListResourceEvents(ctx context.Context, f EventFilter, p Page) ([]*ResourceEvent, int, error) {
	args := []any{f.ProjectID, f.On.Type, f.On.IID, f.Event}
	cond := "e.project_id = $1 AND e.resource_type = $2 AND e.resource_iid = $3 AND e.event = $4"
	if f.ID != 0 {
		args = append(args, f.ID)
		cond += " AND e.id = $5"
	}
	total, err := tx.count(ctx, "resource events", `SELECT COUNT(*) FROM resource_events e WHERE `+cond, args...)
	if err != nil {
		return nil, 0, err
	}
	out, err := tx.resourceEvents(ctx, f.ProjectID, cond+fmt.Sprintf(` ORDER BY e.created_at, e.id LIMIT $%d OFFSET $%d`, len(args)+1, len(args)+2),
		append(args, p.PerPage, p.Offset())...)
	return out, total, err
}

// ExportResourceEvents returns the events of every type of the given
// issues or merge requests, by parent iid, then oldest first.
func (tx *Tx) ExportResourceEvents(ctx context.Context, projectID int64, typ string, iids []int64) ([]*ResourceEvent, error) {
	if len(iids) == 0 {
		return nil, nil
	}
	args := []any{projectID, typ}
	return tx.resourceEvents(ctx, projectID, `e.project_id = $1 AND e.resource_type = $2 AND e.resource_iid IN `+inList(&args, iids)+
		` ORDER BY e.resource_iid, e.created_at, e.id`, args...)
}

// resourceEvents reads the events of a project's query (a WHERE condition
// and its ORDER BY…) with their labels, milestones and users.
func (tx *Tx) resourceEvents(ctx context.Context, projectID int64, where string, args ...any) ([]*ResourceEvent, error) {
	refs := userRefs{}
	var out []*ResourceEvent
	var labelNames []string
	err := tx.scanAll(ctx, "resource events", func(row *sql.Rows) error {
		var e ResourceEvent
		var su int64
		var label Label
		if err := row.Scan(&e.ID, &e.On.Type, &e.On.IID, &e.ResourceID, &e.Event, &e.Action, &label.Name, &label.Color,
			&e.MilestoneIID, &e.MilestoneTitle, &e.State, &su, &e.CreatedAt); err != nil {
			return err
		}
		if e.Event == forge.EventLabel {
			e.Label = &label
			labelNames = append(labelNames, strings.ToLower(label.Name))
		}
		e.CreatedAt = e.CreatedAt.UTC()
		refs.set(su, func(u *ferry.User) { e.User = u })
		out = append(out, &e)
		return nil
	}, `SELECT e.id, e.resource_type, e.resource_iid, `+issuableRowID("e", "resource_type", "resource_iid")+`, e.event, e.action,
		e.label_name, e.label_color, e.milestone_iid, e.milestone_title, e.state, e.user_su, e.created_at
		FROM resource_events e WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	if err := tx.eventLabels(ctx, projectID, out, labelNames); err != nil {
		return nil, err
	}
	if err := tx.eventMilestones(ctx, projectID, out); err != nil {
		return nil, err
	}
	return out, refs.resolve(ctx, tx)
}

// eventLabels swaps the labels events name for the labels the project sees
// by that name (case-insensitive, as issuables' labels match), its own
// before its groups'.
func (tx *Tx) eventLabels(ctx context.Context, projectID int64, events []*ResourceEvent, names []string) error {
	if len(names) == 0 {
		return nil
	}
	args := []any{}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	owner := ContentFilter{ProjectID: projectID}.owner(arg, "l")
	found := map[string]*Label{}
	err := tx.scanAll(ctx, "event labels", func(row *sql.Rows) error {
		var l Label
		var project, group sql.NullInt64
		if err := row.Scan(&l.ID, &project, &group, &l.Name, &l.Color, &l.Description); err != nil {
			return err
		}
		l.ProjectID, l.GroupID = int64Ptr(project), int64Ptr(group)
		if k := strings.ToLower(l.Name); found[k] == nil {
			found[k] = &l
		}
		return nil
	}, `SELECT l.id, l.project_id, l.group_id, l.name, l.color, l.description FROM labels l WHERE `+owner+
		` AND lower(l.name) IN `+inList(&args, names)+` ORDER BY CASE WHEN l.project_id IS NULL THEN 1 ELSE 0 END, l.id`, args...)
	if err != nil {
		return err
	}
	for _, e := range events {
		if e.Label == nil {
			continue
		}
		if l := found[strings.ToLower(e.Label.Name)]; l != nil {
			e.Label = l
		}
	}
	return nil
}

// eventMilestones finds the milestones events name: by iid among the
// project's own (as issuables' milestones), by title among those it sees.
func (tx *Tx) eventMilestones(ctx context.Context, projectID int64, events []*ResourceEvent) error {
	var iids []int64
	var titles []string
	for _, e := range events {
		switch {
		case e.Event != forge.EventMilestone:
		case e.MilestoneIID > 0:
			iids = append(iids, e.MilestoneIID)
		default:
			titles = append(titles, e.MilestoneTitle)
		}
	}
	if len(iids)+len(titles) == 0 {
		return nil
	}
	byIID, byTitle := map[int64]*Milestone{}, map[string]*Milestone{}
	if len(iids) > 0 {
		args := []any{projectID}
		err := tx.scanAll(ctx, "event milestones", func(row *sql.Rows) error {
			m, err := scanMilestone(row)
			if err == nil {
				byIID[m.IID] = m
			}
			return err
		}, `SELECT `+milestoneSelect+` FROM milestones m WHERE m.project_id = $1 AND m.iid IN `+inList(&args, iids), args...)
		if err != nil {
			return err
		}
	}
	if len(titles) > 0 {
		args := []any{}
		arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
		owner := ContentFilter{ProjectID: projectID}.owner(arg, "m")
		err := tx.scanAll(ctx, "event milestones", func(row *sql.Rows) error {
			m, err := scanMilestone(row)
			if err == nil && byTitle[m.Title] == nil {
				byTitle[m.Title] = m
			}
			return err
		}, `SELECT `+milestoneSelect+` FROM milestones m WHERE `+owner+` AND m.title IN `+inList(&args, titles)+
			` ORDER BY CASE WHEN m.project_id IS NULL THEN 1 ELSE 0 END, m.id`, args...)
		if err != nil {
			return err
		}
	}
	for _, e := range events {
		if e.Event != forge.EventMilestone {
			continue
		}
		if e.MilestoneIID > 0 {
			e.Milestone = byIID[e.MilestoneIID]
		} else {
			e.Milestone = byTitle[e.MilestoneTitle]
		}
	}
	return nil
}
