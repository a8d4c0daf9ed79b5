package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/store"
	"github.com/ferry-import/ferry/store/storetest"
)

// bulkFixture is a user with a migration of two requested groups.
type bulkFixture struct {
	user     *ferry.User
	bulk     *ferry.BulkImport
	entities []*ferry.BulkEntity
}

func newBulk(t *testing.T, s *store.Store, username string) *bulkFixture {
	t.Helper()
	ctx := context.Background()
	f := &bulkFixture{user: &ferry.User{Username: username, Name: username}}
	f.bulk = &ferry.BulkImport{SourceType: "gitlab", SourceURL: "https://gitlab.example", SourceVersion: "17.5.0", SourceEnterprise: true,
		SealedCredential: "sealed"}
	f.entities = []*ferry.BulkEntity{
		{SourceType: ferry.GroupEntity, SourceFullPath: "src/a", DestinationSlug: "a", MigrateProjects: true, MigrateMemberships: true},
		{SourceType: ferry.ProjectEntity, SourceFullPath: "src/b/p", DestinationSlug: "p", DestinationNamespace: "dst"},
	}
	mustWrite(t, s, func(tx *store.Tx) error {
		if err := tx.CreateUser(ctx, f.user); err != nil {
			return err
		}
		f.bulk.UserID = f.user.ID
		return tx.CreateBulkImport(ctx, f.bulk, f.entities)
	})
	return f
}

func TestBulkImportCreateAndRead(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		f := newBulk(t, s, "alice")
		if f.bulk.ID == 0 || f.bulk.Status != ferry.BulkCreated || f.bulk.CreatedAt.IsZero() {
			t.Fatalf("created bulk import: %+v", f.bulk)
		}
		for _, e := range f.entities {
			if e.ID == 0 || e.BulkImportID != f.bulk.ID || e.Status != ferry.BulkCreated || e.CreatedAt.IsZero() {
				t.Fatalf("created entity: %+v", e)
			}
		}
		_ = s.Read(ctx, func(tx *store.Tx) error {
			b, err := tx.BulkImportByID(ctx, f.bulk.ID)
			if err != nil || b.UserID != f.user.ID || b.SourceURL != "https://gitlab.example" || b.SourceVersion != "17.5.0" ||
				!b.SourceEnterprise || b.SealedCredential != "sealed" || b.HasFailures || !b.CreatedAt.Equal(f.bulk.CreatedAt) {
				t.Fatalf("read back: %+v %v", b, err)
			}
			if _, err := tx.BulkImportByID(ctx, f.bulk.ID+100); ferry.ErrorCode(err) != ferry.ENOTFOUND {
				t.Fatalf("missing bulk import: %v, want ENOTFOUND", err)
			}
			all, err := tx.BulkEntitiesOf(ctx, f.bulk.ID)
			if err != nil || len(all) != 2 || all[0].ID != f.entities[0].ID || all[1].DestinationNamespace != "dst" ||
				!all[0].MigrateProjects || all[1].MigrateMemberships || all[0].ParentID != 0 {
				t.Fatalf("entities: %+v %v", all, err)
			}
			e, err := tx.BulkEntityByID(ctx, f.bulk.ID, f.entities[1].ID)
			if err != nil || e.SourceFullPath != "src/b/p" || e.SourceType != ferry.ProjectEntity {
				t.Fatalf("entity by id: %+v %v", e, err)
			}
			if _, err := tx.BulkEntityByID(ctx, f.bulk.ID+1, f.entities[1].ID); ferry.ErrorCode(err) != ferry.ENOTFOUND {
				t.Fatalf("entity of another import: %v, want ENOTFOUND", err)
			}
			return nil
		})
		mustWrite(t, s, func(tx *store.Tx) error {
			b, err := tx.LockBulkImport(ctx, f.bulk.ID)
			if err != nil || b.ID != f.bulk.ID {
				t.Fatalf("lock: %+v %v", b, err)
			}
			if _, err := tx.LockBulkImport(ctx, f.bulk.ID+100); ferry.ErrorCode(err) != ferry.ENOTFOUND {
				t.Fatalf("lock missing: %v, want ENOTFOUND", err)
			}
			return nil
		})
		// The same entity twice in one request is refused, nothing kept.
		before := countBulk(t, s)
		err := s.Write(ctx, func(tx *store.Tx) error {
			return tx.CreateBulkImport(ctx, &ferry.BulkImport{UserID: f.user.ID, SourceType: "gitlab", SourceURL: "https://x"}, []*ferry.BulkEntity{
				{SourceType: ferry.GroupEntity, SourceFullPath: "g", DestinationSlug: "g"},
				{SourceType: ferry.GroupEntity, SourceFullPath: "g", DestinationSlug: "h"}})
		})
		if ferry.ErrorCode(err) != ferry.EUNPROCESSABLE || countBulk(t, s) != before {
			t.Fatalf("duplicate entity: %v", err)
		}
	})
}

func countBulk(t *testing.T, s *store.Store) int {
	t.Helper()
	var n int
	_ = s.Read(context.Background(), func(tx *store.Tx) error {
		_, total, err := tx.ListBulkImports(context.Background(), store.BulkFilter{}, store.Page{Page: 1, PerPage: 1})
		if err != nil {
			t.Fatal(err)
		}
		n = total
		return nil
	})
	return n
}

func TestBulkEntityAddIsIdempotentAndUpdates(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		f := newBulk(t, s, "alice")
		child := func() *ferry.BulkEntity {
			return &ferry.BulkEntity{BulkImportID: f.bulk.ID, ParentID: f.entities[0].ID, SourceType: ferry.ProjectEntity, SourceFullPath: "src/a/x",
				DestinationSlug: "x", DestinationNamespace: "a", MigrateMemberships: true}
		}
		first := child()
		mustWrite(t, s, func(tx *store.Tx) error {
			added, err := tx.AddBulkEntity(ctx, first)
			if err != nil || !added || first.ID == 0 || first.Status != ferry.BulkCreated {
				t.Fatalf("first add: %v %v %+v", added, err, first)
			}
			first.Status, first.SourceID = ferry.BulkStarted, 77
			return tx.UpdateBulkEntity(ctx, first)
		})
		again := child()
		mustWrite(t, s, func(tx *store.Tx) error {
			added, err := tx.AddBulkEntity(ctx, again)
			if err != nil || added || again.ID != first.ID || again.Status != ferry.BulkStarted || again.SourceID != 77 || again.ParentID != f.entities[0].ID {
				t.Fatalf("second add: %v %v %+v", added, err, again)
			}
			return nil
		})
		if err := s.Write(ctx, func(tx *store.Tx) error {
			return tx.UpdateBulkEntity(ctx, &ferry.BulkEntity{ID: first.ID + 100, Status: ferry.BulkFailed})
		}); ferry.ErrorCode(err) != ferry.ENOTFOUND {
			t.Fatalf("update missing entity: %v", err)
		}
	})
}

// An entity's import: found by import, its failures and stats, and the
// migration's has_failures.
func TestBulkEntityImportFailuresAndStats(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		f := newBulk(t, s, "alice")
		g := &ferry.Namespace{Kind: ferry.KindGroup, Name: "A", Path: "a", Visibility: ferry.Private}
		im := &ferry.Import{UserID: f.user.ID, SourceType: "gitlab", SourceURL: "https://gitlab.example", SourceRef: "src/a", Options: "{}", CorrelationID: "c"}
		e := f.entities[0]
		mustWrite(t, s, func(tx *store.Tx) error {
			if err := tx.CreateNamespace(ctx, g); err != nil {
				return err
			}
			im.NamespaceID = g.ID
			if err := tx.CreateImport(ctx, im); err != nil {
				return err
			}
			e.NamespaceID, e.ImportID, e.Status = g.ID, im.ID, ferry.BulkStarted
			return tx.UpdateBulkEntity(ctx, e)
		})
		_ = s.Read(ctx, func(tx *store.Tx) error {
			stats, err := tx.BulkEntityStats(ctx, f.entities[1])
			if err != nil || stats == nil || len(stats) != 0 {
				t.Fatalf("stats without import: %v %v", stats, err)
			}
			fails, total, err := tx.BulkEntityFailures(ctx, f.entities[1], store.Page{Page: 1, PerPage: 20})
			if err != nil || total != 0 || len(fails) != 0 {
				t.Fatalf("failures without import: %v %d %v", fails, total, err)
			}
			return nil
		})
		// An entity that failed to start lists its reason, read back.
		failed := *f.entities[1]
		failed.Status, failed.Error = ferry.BulkFailed, "look up source/nope at the source: not found"
		mustWrite(t, s, func(tx *store.Tx) error { return tx.UpdateBulkEntity(ctx, &failed) })
		_ = s.Read(ctx, func(tx *store.Tx) error {
			back, err := tx.BulkEntityByID(ctx, failed.BulkImportID, failed.ID)
			if err != nil || back.Error != failed.Error {
				t.Fatalf("entity error read back: %+v %v", back, err)
			}
			fails, total, err := tx.BulkEntityFailures(ctx, back, store.Page{Page: 1, PerPage: 20})
			if err != nil || total != 1 || len(fails) != 1 || fails[0].Relation != "entity" || fails[0].ExceptionMessage != failed.Error {
				t.Fatalf("failures of an entity that could not start: %+v %d %v", fails, total, err)
			}
			return nil
		})
		mustWrite(t, s, func(tx *store.Tx) error {
			back := *f.entities[1]
			return tx.UpdateBulkEntity(ctx, &back) // as it was: the tests below use it
		})
		_ = s.Read(ctx, func(tx *store.Tx) error {
			got, err := tx.BulkEntityByImport(ctx, im.ID)
			if err != nil || got.ID != e.ID || got.NamespaceID != g.ID {
				t.Fatalf("entity by import: %+v %v", got, err)
			}
			if _, err := tx.BulkEntityByImport(ctx, im.ID+100); ferry.ErrorCode(err) != ferry.ENOTFOUND {
				t.Fatalf("entity of another import: %v", err)
			}
			return nil
		})
		mustWrite(t, s, func(tx *store.Tx) error {
			if err := tx.StartStage(ctx, im.ID, 0, "content", []string{"labels", "milestones"}); err != nil {
				return err
			}
			if _, err := tx.Checkpoint(ctx, im.ID, "labels", "", "", 10, 9, 1, 12, true); err != nil {
				return err
			}
			if _, err := tx.Checkpoint(ctx, im.ID, "milestones", "", "p2", 4, 4, 0, -1, false); err != nil {
				return err
			}
			for _, rel := range []string{"labels", "labels", "labels"} {
				if err := tx.AddFailure(ctx, &ferry.ImportFailure{ImportID: im.ID, Relation: rel, ExceptionClass: "E", ExceptionMessage: "m", CorrelationID: "c"}); err != nil {
					return err
				}
			}
			return nil
		})
		_ = s.Read(ctx, func(tx *store.Tx) error {
			stats, err := tx.BulkEntityStats(ctx, e)
			want := map[string]ferry.BulkStat{"labels": {Source: 12, Fetched: 10, Imported: 9}, "milestones": {Source: 4, Fetched: 4, Imported: 4}}
			if err != nil || len(stats) != 2 || stats["labels"] != want["labels"] || stats["milestones"] != want["milestones"] {
				t.Fatalf("stats: %v %v", stats, err)
			}
			fails, total, err := tx.BulkEntityFailures(ctx, e, store.Page{Page: 2, PerPage: 2})
			if err != nil || total != 3 || len(fails) != 1 || fails[0].Relation != "labels" {
				t.Fatalf("failures page 2: %+v %d %v", fails, total, err)
			}
			b, err := tx.BulkImportByID(ctx, f.bulk.ID)
			if err != nil || !b.HasFailures {
				t.Fatalf("has_failures with import failures: %+v %v", b, err)
			}
			return nil
		})
		// What the source exported and ferry does not model shows in the
		// stats as its own entry, nothing fetched or imported; a title not
		// in that shape, or naming a relation read, adds nothing.
		mustWrite(t, s, func(tx *store.Tx) error {
			for _, title := range []string{ferry.NotMigratedTitle("ci_pipelines", 12), ferry.NotMigratedTitle("labels", 99), "boards: many"} {
				if err := tx.AddFailure(ctx, &ferry.ImportFailure{ImportID: im.ID, Relation: ferry.NotMigratedRelation, SourceTitle: title,
					ExceptionClass: "E", ExceptionMessage: "not modelled", CorrelationID: "c"}); err != nil {
					return err
				}
			}
			return nil
		})
		_ = s.Read(ctx, func(tx *store.Tx) error {
			stats, err := tx.BulkEntityStats(ctx, e)
			if err != nil || len(stats) != 3 || stats["ci_pipelines"] != (ferry.BulkStat{Source: 12}) || stats["labels"].Source != 12 {
				t.Fatalf("stats with relations not migrated: %v %v", stats, err)
			}
			return nil
		})
	})
}

func TestBulkImportHasFailuresFromAFailedEntity(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		f := newBulk(t, s, "alice")
		f.entities[1].Status = ferry.BulkFailed
		mustWrite(t, s, func(tx *store.Tx) error { return tx.UpdateBulkEntity(ctx, f.entities[1]) })
		_ = s.Read(ctx, func(tx *store.Tx) error {
			list, _, err := tx.ListBulkImports(ctx, store.BulkFilter{UserID: f.user.ID}, store.Page{Page: 1, PerPage: 20})
			if err != nil || len(list) != 1 || !list[0].HasFailures {
				t.Fatalf("has_failures: %+v %v", list, err)
			}
			return nil
		})
	})
}

func TestBulkImportStatusAndCancel(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		f := newBulk(t, s, "alice")
		mustWrite(t, s, func(tx *store.Tx) error { return tx.SetBulkImportStatus(ctx, f.bulk.ID, ferry.BulkStarted) })
		read := func(id int64) *ferry.BulkImport {
			var b *ferry.BulkImport
			_ = s.Read(ctx, func(tx *store.Tx) error {
				var err error
				if b, err = tx.BulkImportByID(ctx, id); err != nil {
					t.Fatal(err)
				}
				return nil
			})
			return b
		}
		if b := read(f.bulk.ID); b.Status != ferry.BulkStarted || b.SealedCredential != "sealed" {
			t.Fatalf("started: %+v", b)
		}
		mustWrite(t, s, func(tx *store.Tx) error { return tx.SetBulkImportStatus(ctx, f.bulk.ID, ferry.BulkFinished) })
		if b := read(f.bulk.ID); b.Status != ferry.BulkFinished || b.SealedCredential != "" {
			t.Fatalf("finished: %+v", b)
		}
		err := s.Write(ctx, func(tx *store.Tx) error { return tx.SetBulkImportStatus(ctx, f.bulk.ID, ferry.BulkStarted) })
		if !errors.Is(err, store.ErrBulkEnded) {
			t.Fatalf("leaving a final status: %v, want ErrBulkEnded", err)
		}
		err = s.Write(ctx, func(tx *store.Tx) error { return tx.SetBulkImportStatus(ctx, f.bulk.ID+100, ferry.BulkStarted) })
		if ferry.ErrorCode(err) != ferry.ENOTFOUND {
			t.Fatalf("status of a missing import: %v", err)
		}

		// Cancel: any status, unfinished entities only, credential gone.
		g := newBulk(t, s, "bob")
		g.entities[0].Status = ferry.BulkFinished
		mustWrite(t, s, func(tx *store.Tx) error { return tx.UpdateBulkEntity(ctx, g.entities[0]) })
		mustWrite(t, s, func(tx *store.Tx) error {
			b, err := tx.CancelBulkImport(ctx, g.bulk.ID)
			if err != nil || b.Status != ferry.BulkCanceled || b.SealedCredential != "" {
				t.Fatalf("cancel: %+v %v", b, err)
			}
			all, err := tx.BulkEntitiesOf(ctx, g.bulk.ID)
			if err != nil || all[0].Status != ferry.BulkFinished || all[1].Status != ferry.BulkCanceled {
				t.Fatalf("entities after cancel: %+v %v", all, err)
			}
			if _, err := tx.CancelBulkImport(ctx, g.bulk.ID+100); ferry.ErrorCode(err) != ferry.ENOTFOUND {
				t.Fatalf("cancel missing: %v", err)
			}
			b, err = tx.CancelBulkImport(ctx, f.bulk.ID) // finished → canceled, as GitLab's cancel event
			if err != nil || b.Status != ferry.BulkCanceled {
				t.Fatalf("cancel finished: %+v %v", b, err)
			}
			return nil
		})
	})
}

func TestBulkImportLists(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a1 := newBulk(t, s, "alice")
		b1 := newBulk(t, s, "bob")
		a2 := &ferry.BulkImport{UserID: a1.user.ID, SourceType: "gitlab", SourceURL: "https://y"}
		mustWrite(t, s, func(tx *store.Tx) error {
			if err := tx.CreateBulkImport(ctx, a2, []*ferry.BulkEntity{{SourceType: ferry.GroupEntity, SourceFullPath: "z", DestinationSlug: "z"}}); err != nil {
				return err
			}
			return tx.SetBulkImportStatus(ctx, a2.ID, ferry.BulkStarted)
		})
		pg := store.Page{Page: 1, PerPage: 20}
		for _, c := range []struct {
			name string
			f    store.BulkFilter
			want []int64
		}{
			{"alice asc", store.BulkFilter{UserID: a1.user.ID}, []int64{a1.bulk.ID, a2.ID}},
			{"alice desc", store.BulkFilter{UserID: a1.user.ID, Desc: true}, []int64{a2.ID, a1.bulk.ID}},
			{"alice started", store.BulkFilter{UserID: a1.user.ID, Status: ferry.BulkStarted}, []int64{a2.ID}},
			{"bob", store.BulkFilter{UserID: b1.user.ID}, []int64{b1.bulk.ID}},
			{"everyone", store.BulkFilter{}, []int64{a1.bulk.ID, b1.bulk.ID, a2.ID}},
		} {
			_ = s.Read(ctx, func(tx *store.Tx) error {
				got, total, err := tx.ListBulkImports(ctx, c.f, pg)
				if err != nil || total != len(c.want) || len(got) != len(c.want) {
					t.Fatalf("%s: %d %v", c.name, total, err)
				}
				for i := range got {
					if got[i].ID != c.want[i] {
						t.Fatalf("%s: item %d is %d, want %d", c.name, i, got[i].ID, c.want[i])
					}
				}
				return nil
			})
		}
		for _, c := range []struct {
			name string
			f    store.EntityFilter
			want []int64
		}{
			{"alice", store.EntityFilter{UserID: a1.user.ID}, []int64{a1.entities[0].ID, a1.entities[1].ID, 0}},
			{"alice desc page", store.EntityFilter{UserID: a1.user.ID, Desc: true}, []int64{0, a1.entities[1].ID, a1.entities[0].ID}},
			{"one import", store.EntityFilter{BulkImportID: b1.bulk.ID}, []int64{b1.entities[0].ID, b1.entities[1].ID}},
			{"bob's import as alice", store.EntityFilter{UserID: a1.user.ID, BulkImportID: b1.bulk.ID}, nil},
			{"status", store.EntityFilter{UserID: a1.user.ID, Status: ferry.BulkFailed}, nil},
		} {
			_ = s.Read(ctx, func(tx *store.Tx) error {
				got, total, err := tx.ListBulkEntities(ctx, c.f, pg)
				if err != nil || total != len(c.want) || len(got) != len(c.want) {
					t.Fatalf("%s: %d %d %v", c.name, total, len(got), err)
				}
				for i := range got {
					if c.want[i] != 0 && got[i].ID != c.want[i] {
						t.Fatalf("%s: item %d is %d, want %d", c.name, i, got[i].ID, c.want[i])
					}
				}
				return nil
			})
		}
		_ = s.Read(ctx, func(tx *store.Tx) error {
			got, total, err := tx.ListBulkEntities(ctx, store.EntityFilter{UserID: a1.user.ID}, store.Page{Page: 2, PerPage: 2})
			if err != nil || total != 3 || len(got) != 1 || got[0].SourceFullPath != "z" {
				t.Fatalf("page 2: %+v %d %v", got, total, err)
			}
			return nil
		})
	})
}

// Deleting a user takes their migrations; deleting a created group or
// project leaves the entity without it.
func TestBulkImportForeignKeys(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		f := newBulk(t, s, "alice")
		g := &ferry.Namespace{Kind: ferry.KindGroup, Name: "A", Path: "a", Visibility: ferry.Private}
		mustWrite(t, s, func(tx *store.Tx) error {
			if err := tx.CreateNamespace(ctx, g); err != nil {
				return err
			}
			f.entities[0].NamespaceID = g.ID
			return tx.UpdateBulkEntity(ctx, f.entities[0])
		})
		mustWrite(t, s, func(tx *store.Tx) error { _, err := tx.DeleteNamespace(ctx, g.ID); return err })
		_ = s.Read(ctx, func(tx *store.Tx) error {
			e, err := tx.BulkEntityByID(ctx, f.bulk.ID, f.entities[0].ID)
			if err != nil || e.NamespaceID != 0 {
				t.Fatalf("entity of a deleted group: %+v %v", e, err)
			}
			return nil
		})
		mustWrite(t, s, func(tx *store.Tx) error { return tx.Exec(ctx, `DELETE FROM users WHERE id = $1`, f.user.ID) })
		_ = s.Read(ctx, func(tx *store.Tx) error {
			if _, err := tx.BulkImportByID(ctx, f.bulk.ID); ferry.ErrorCode(err) != ferry.ENOTFOUND {
				t.Fatalf("bulk import of a deleted user: %v", err)
			}
			if all, err := tx.BulkEntitiesOf(ctx, f.bulk.ID); err != nil || len(all) != 0 {
				t.Fatalf("entities of a deleted user's import: %+v %v", all, err)
			}
			return nil
		})
	})
}

// TestStaleBulkImports: a migration not ended is stale when not updated
// since the first cut, or when an entity not ended was created before the
// second; ended migrations and ended entities never are.
func TestStaleBulkImports(t *testing.T) {
	t.Parallel()
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			s, err := store.Open(ctx, store.Config{URL: e.URL, DataDir: e.DataDir, Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			old := newBulk(t, s, "old")        // created at t0
			ended := newBulk(t, s, "ended")    // created at t0, finished
			entityEnded := newBulk(t, s, "ee") // its entities end
			mustWrite(t, s, func(tx *store.Tx) error {
				if err := tx.SetBulkImportStatus(ctx, ended.bulk.ID, ferry.BulkFinished); err != nil {
					return err
				}
				for _, en := range entityEnded.entities {
					en.Status = ferry.BulkFinished
					if err := tx.UpdateBulkEntity(ctx, en); err != nil {
						return err
					}
				}
				return nil
			})
			now = now.Add(time.Hour)
			young := newBulk(t, s, "young") // created at t0+1h
			stale := func(importsBefore, entitiesBefore time.Time) []int64 {
				t.Helper()
				var ids []int64
				_ = s.Read(ctx, func(tx *store.Tx) (err error) {
					ids, err = tx.StaleBulkImports(ctx, importsBefore, entitiesBefore)
					if err != nil {
						t.Fatal(err)
					}
					return nil
				})
				return ids
			}
			t0 := now.Add(-time.Hour)
			for _, c := range []struct {
				name                          string
				importsBefore, entitiesBefore time.Time
				want                          []int64
			}{
				{"nothing stale", t0, t0, nil},
				// entityEnded's update time is t0 too: stale as a whole.
				{"not updated since t0", t0.Add(time.Minute), t0, []int64{old.bulk.ID, entityEnded.bulk.ID}},
				{"entities created before t0+1m", t0, t0.Add(time.Minute), []int64{old.bulk.ID}},
				{"entities created before now+1m", t0, now.Add(time.Minute), []int64{old.bulk.ID, young.bulk.ID}},
			} {
				if got := stale(c.importsBefore, c.entitiesBefore); fmt.Sprint(got) != fmt.Sprint(c.want) {
					t.Errorf("%s: %v, want %v", c.name, got, c.want)
				}
			}
		})
	}
}
