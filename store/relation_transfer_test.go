package store_test

import (
	"context"
	"testing"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/store"
	"github.com/ferry-import/ferry/store/storetest"
)

// A transfer in flight is recorded beside a relation's counters without
// moving them, keeps its start until a new transfer begins, and is left
// alone once the relation has ended.
func TestSetRelationTransfer(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		var im *ferry.Import
		mustWrite(t, s, func(tx *store.Tx) error {
			u := &ferry.User{Username: "u", Name: "U"}
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			p := &ferry.Project{Name: "p", Path: "p", Visibility: ferry.Private, NamespaceID: u.NamespaceID, CreatorID: u.ID}
			if err := tx.CreateProject(ctx, p); err != nil {
				return err
			}
			im = &ferry.Import{ProjectID: p.ID, UserID: u.ID, SourceType: "github", SourceURL: "https://src.example", SourceRef: "o/r", Options: "{}"}
			if err := tx.CreateImport(ctx, im); err != nil {
				return err
			}
			return tx.StartStage(ctx, im.ID, 0, "repository", []string{"repository", "wiki"})
		})
		rel := func(name string) *ferry.ImportRelation {
			t.Helper()
			var r *ferry.ImportRelation
			if err := s.Read(ctx, func(tx *store.Tx) (err error) { r, err = tx.Relation(ctx, im.ID, name); return }); err != nil {
				t.Fatal(err)
			}
			return r
		}
		set := func(name string, done, total int64, restart bool) {
			t.Helper()
			mustWrite(t, s, func(tx *store.Tx) error { return tx.SetRelationTransfer(ctx, im.ID, name, done, total, restart) })
		}
		if r := rel("repository"); r.Transfer.Total != 0 || r.Transfer.StartedAt != nil {
			t.Fatalf("new relation has a transfer: %+v", r.Transfer)
		}
		set("repository", 10, 100, true)
		first := rel("repository").Transfer
		if first.Done != 10 || first.Total != 100 || first.StartedAt == nil {
			t.Fatalf("transfer %+v, want 10 of 100 with a start", first)
		}
		set("repository", 60, 100, false)
		r := rel("repository")
		if r.Transfer.Done != 60 || !r.Transfer.StartedAt.Equal(*first.StartedAt) {
			t.Errorf("transfer went on as %+v, want 60 with the first start %v", r.Transfer, *first.StartedAt)
		}
		if r.Fetched != 0 || r.Total != -1 || r.Cursor != "" || r.State != ferry.RelationPending {
			t.Errorf("counters moved: %+v", r)
		}
		if w := rel("wiki").Transfer; w.Total != 0 {
			t.Errorf("another relation got the transfer: %+v", w)
		}
		set("repository", 5, 200, true)
		if tr := rel("repository").Transfer; tr.Done != 5 || tr.Total != 200 || tr.StartedAt.Before(*first.StartedAt) {
			t.Errorf("restarted transfer %+v", tr)
		}
		mustWrite(t, s, func(tx *store.Tx) error {
			_, err := tx.Checkpoint(ctx, im.ID, "repository", "", "", 1, 1, 0, 1, true)
			return err
		})
		set("repository", 7, 300, false)
		if tr := rel("repository").Transfer; tr.Done != 5 || tr.Total != 200 {
			t.Errorf("an ended relation's transfer changed: %+v", tr)
		}
	})
}
