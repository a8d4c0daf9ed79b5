package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/forge/forgetest"
	"github.com/ferry-import/ferry/store"
	"github.com/ferry-import/ferry/store/storetest"
)

// eventObjects is an issue and a merge request with events of every type:
// labels that exist and one deleted on the source, a milestone named by
// iid and one by title.
func eventObjects() []forge.Object {
	src := func(id string) forge.SourceID { s := forgetest.Source; s.ID = id; return s }
	issue, mr := forge.Noteable{Type: forge.OnIssue, IID: 1}, forge.Noteable{Type: forge.OnMergeRequest, IID: 7}
	at := func(m int) time.Time { return forgetest.T0.Add(time.Duration(m) * time.Minute) }
	alice, bob := forgetest.User(0), forgetest.User(1)
	return append(forgetest.Issues(1, 1, 0, 2),
		forge.Label{SourceID: src("l-bug"), Name: "bug", Color: "#ff0000", Description: "broken"},
		forge.Milestone{SourceID: src("m1"), IID: 1, Title: "v1"},
		forge.Milestone{SourceID: src("m2"), IID: 2, Title: "v2"},
		forge.MergeRequest{SourceID: src("pr7"), IID: 7, Title: "PR", Author: alice},
		forge.ResourceEvent{SourceID: src("ev1"), On: issue, Event: forge.EventLabel, Action: forge.ActionAdd, Label: "Bug", Author: alice, CreatedAt: at(1)},
		forge.ResourceEvent{SourceID: src("ev2"), On: issue, Event: forge.EventLabel, Action: forge.ActionAdd, Label: "gone", LabelColor: "#00ff00",
			Author: bob, CreatedAt: at(2)},
		forge.ResourceEvent{SourceID: src("ev3"), On: issue, Event: forge.EventLabel, Action: forge.ActionRemove, Label: "bug", Author: bob, CreatedAt: at(3)},
		forge.ResourceEvent{SourceID: src("ev4"), On: issue, Event: forge.EventState, State: forge.StateClosed, Author: alice, CreatedAt: at(4)},
		forge.ResourceEvent{SourceID: src("ev5"), On: issue, Event: forge.EventState, State: forge.StateReopened, Author: bob, CreatedAt: at(5)},
		forge.ResourceEvent{SourceID: src("ev6"), On: issue, Event: forge.EventMilestone, Action: forge.ActionAdd, MilestoneIID: 1, Author: alice, CreatedAt: at(6)},
		forge.ResourceEvent{SourceID: src("ev7"), On: issue, Event: forge.EventMilestone, Action: forge.ActionRemove, MilestoneTitle: "v2", Author: alice, CreatedAt: at(7)},
		forge.ResourceEvent{SourceID: src("ev8"), On: issue, Event: forge.EventMilestone, Action: forge.ActionAdd, MilestoneTitle: "nowhere", Author: alice, CreatedAt: at(8)},
		forge.ResourceEvent{SourceID: src("ev9"), On: mr, Event: forge.EventState, State: forge.StateMerged, Author: bob, CreatedAt: at(9)},
	)
}

func TestResourceEvents(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		_, proj := contentProject(t, s)
		objs := eventObjects()
		// Written twice, as a page redone after a crash: one copy.
		for range 2 {
			mustWrite(t, s, func(tx *store.Tx) error { _, err := tx.WriteContent(ctx, proj.ID, objs); return err })
		}
		var rows int
		if err := s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM resource_events`).Scan(&rows); err != nil || rows != 9 {
			t.Fatalf("%d resource_events rows (%v), want 9", rows, err)
		}

		list := func(f store.EventFilter, p store.Page) ([]*store.ResourceEvent, int) {
			t.Helper()
			var out []*store.ResourceEvent
			var total int
			err := s.Read(ctx, func(tx *store.Tx) error {
				var err error
				out, total, err = tx.ListResourceEvents(ctx, f, p)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return out, total
		}
		issue := forge.Noteable{Type: forge.OnIssue, IID: 1}
		all := store.Page{Page: 1, PerPage: 20}

		labels, total := list(store.EventFilter{ProjectID: proj.ID, On: issue, Event: forge.EventLabel}, all)
		if total != 3 || len(labels) != 3 {
			t.Fatalf("label events: %d of %d, want 3", len(labels), total)
		}
		for i, want := range []struct {
			action, name, color string
			stored              bool
			user                string
		}{
			{"add", "bug", "#ff0000", true, "octo0"}, // the project's label, matched whatever its case
			{"add", "gone", "#00ff00", false, "octo1"},
			{"remove", "bug", "#ff0000", true, "octo1"},
		} {
			e := labels[i]
			if e.Action != want.action || e.Label == nil || e.Label.Name != want.name || e.Label.Color != want.color ||
				(e.Label.ID != 0) != want.stored {
				t.Errorf("label event %d: %s %+v, want %+v", i, e.Action, e.Label, want)
			}
			if e.User == nil || !e.User.Placeholder || e.ResourceID == 0 || e.On != issue {
				t.Errorf("label event %d: user %+v, resource %d %+v", i, e.User, e.ResourceID, e.On)
			}
		}
		if labels[0].Label.Description != "broken" {
			t.Errorf("label description %q", labels[0].Label.Description)
		}

		states, _ := list(store.EventFilter{ProjectID: proj.ID, On: issue, Event: forge.EventState}, all)
		if len(states) != 2 || states[0].State != "closed" || states[1].State != "reopened" {
			t.Errorf("state events %+v", states)
		}
		mrStates, _ := list(store.EventFilter{ProjectID: proj.ID, On: forge.Noteable{Type: forge.OnMergeRequest, IID: 7}, Event: forge.EventState}, all)
		if len(mrStates) != 1 || mrStates[0].State != "merged" || mrStates[0].ResourceID == 0 {
			t.Errorf("merge request state events %+v", mrStates)
		}

		ms, _ := list(store.EventFilter{ProjectID: proj.ID, On: issue, Event: forge.EventMilestone}, all)
		if len(ms) != 3 {
			t.Fatalf("%d milestone events, want 3", len(ms))
		}
		if ms[0].Milestone == nil || ms[0].Milestone.Title != "v1" || ms[1].Milestone == nil || ms[1].Milestone.IID != 2 ||
			ms[2].Milestone != nil || ms[1].Action != "remove" {
			t.Errorf("milestones of events: %+v %+v %+v", ms[0].Milestone, ms[1].Milestone, ms[2].Milestone)
		}

		// Pages, and one event by id (only under its own issuable and type).
		page2, total := list(store.EventFilter{ProjectID: proj.ID, On: issue, Event: forge.EventLabel}, store.Page{Page: 2, PerPage: 2})
		if total != 3 || len(page2) != 1 || page2[0].ID != labels[2].ID {
			t.Errorf("page 2: %d events of %d", len(page2), total)
		}
		one, _ := list(store.EventFilter{ProjectID: proj.ID, On: issue, Event: forge.EventLabel, ID: labels[1].ID}, all)
		if len(one) != 1 || one[0].ID != labels[1].ID {
			t.Errorf("by id: %+v", one)
		}
		if other, _ := list(store.EventFilter{ProjectID: proj.ID, On: issue, Event: forge.EventState, ID: labels[1].ID}, all); len(other) != 0 {
			t.Errorf("a label event's id found among state events")
		}
	})
}

func TestResourceEventInvalid(t *testing.T) {
	t.Parallel()
	src := forgetest.Source
	src.ID = "bad"
	on := forge.Noteable{Type: forge.OnIssue, IID: 1}
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		_, proj := contentProject(t, s)
		for _, tc := range []struct {
			name string
			e    forge.ResourceEvent
		}{
			{"no type", forge.ResourceEvent{SourceID: src, On: on}},
			{"unknown type", forge.ResourceEvent{SourceID: src, On: on, Event: "weight"}},
			{"label without name", forge.ResourceEvent{SourceID: src, On: on, Event: forge.EventLabel, Action: forge.ActionAdd}},
			{"label without action", forge.ResourceEvent{SourceID: src, On: on, Event: forge.EventLabel, Label: "bug"}},
			{"milestone without milestone", forge.ResourceEvent{SourceID: src, On: on, Event: forge.EventMilestone, Action: forge.ActionAdd}},
			{"state without state", forge.ResourceEvent{SourceID: src, On: on, Event: forge.EventState}},
			{"not on an issuable", forge.ResourceEvent{SourceID: src, Event: forge.EventState, State: forge.StateClosed}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := s.Write(ctx, func(tx *store.Tx) error {
					_, err := tx.WriteContent(ctx, proj.ID, []forge.Object{tc.e})
					return err
				})
				var fe *ferry.Error
				if !errors.As(err, &fe) || fe.Code != ferry.EINVALID {
					t.Errorf("error %v, want EINVALID", err)
				}
			})
		}
	})
}
