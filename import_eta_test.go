package ferry

import (
	"testing"
	"time"
)

func TestSecondsLeft(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	now := t0.Add(100 * time.Second)
	started := t0.Add(60 * time.Second) // the transfer began 40 s ago
	rel := func(state string, fetched, total int64, tr Transfer) *ImportRelation {
		return &ImportRelation{State: state, Fetched: fetched, Total: total, Transfer: tr}
	}
	tests := []struct {
		name   string
		status string
		rels   []*ImportRelation
		wait   time.Duration // a rate-limit wait still ahead
		want   int64         // -1: none
	}{
		{"nothing known", ImportStarted, []*ImportRelation{rel(RelationPending, 0, -1, Transfer{})}, 0, -1},
		{"items at the rate so far", ImportStarted, []*ImportRelation{rel(RelationDone, 50, 50, Transfer{}), rel(RelationPending, 0, 100, Transfer{})}, 0, 200},
		{"a transfer alone: 20 of 100 objects in 40 s", ImportStarted,
			[]*ImportRelation{rel(RelationPending, 0, -1, Transfer{Done: 20, Total: 100, StartedAt: &started}), rel(RelationPending, 0, -1, Transfer{})}, 0, 160},
		{"the longest of two transfers", ImportStarted, []*ImportRelation{
			rel(RelationPending, 0, -1, Transfer{Done: 20, Total: 100, StartedAt: &started}),
			rel(RelationPending, 0, -1, Transfer{Done: 10, Total: 20, StartedAt: &started})}, 0, 160},
		{"items and a transfer add up", ImportStarted, []*ImportRelation{
			rel(RelationDone, 50, 50, Transfer{}), rel(RelationPending, 0, 100, Transfer{}),
			rel(RelationPending, 0, -1, Transfer{Done: 20, Total: 100, StartedAt: &started})}, 0, 360},
		{"a finished relation's transfer counts no more", ImportStarted,
			[]*ImportRelation{rel(RelationDone, 1, 1, Transfer{Done: 20, Total: 100, StartedAt: &started}), rel(RelationPending, 0, 3, Transfer{})}, 0, 300},
		{"a transfer not started yet", ImportStarted, []*ImportRelation{rel(RelationPending, 0, -1, Transfer{Done: 0, Total: 100, StartedAt: &started})}, 0, -1},
		{"plus the rate-limit wait", ImportStarted,
			[]*ImportRelation{rel(RelationPending, 0, -1, Transfer{Done: 20, Total: 100, StartedAt: &started})}, 30 * time.Second, 190},
		{"an ended import has none", ImportFinished,
			[]*ImportRelation{rel(RelationPending, 0, -1, Transfer{Done: 20, Total: 100, StartedAt: &started})}, 0, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			im := &Import{Status: tt.status, StartedAt: &t0}
			if tt.wait > 0 {
				until := now.Add(tt.wait)
				im.RateLimitUntil = &until
			}
			got := im.SecondsLeft(tt.rels, now)
			switch {
			case tt.want < 0 && got != nil:
				t.Errorf("got %d, want none", *got)
			case tt.want >= 0 && (got == nil || *got != tt.want):
				t.Errorf("got %v, want %d", got, tt.want)
			}
		})
	}
}
