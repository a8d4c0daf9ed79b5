package bulk

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/queue"
	"github.com/ferry-import/ferry/secret"
	"github.com/ferry-import/ferry/store"
	"github.com/ferry-import/ferry/store/storetest"
)

// clock is the store's injected clock, moved by the test.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// timeoutHarness is a runner on a store whose clock the test moves, with
// an insert-only queue: the sweep is called directly, so nothing races it.
type timeoutHarness struct {
	s     *store.Store
	clock *clock
	r     *Runner
	user  *ferry.User
}

func newTimeoutHarness(t *testing.T, e storetest.Engine) *timeoutHarness {
	t.Helper()
	ctx := context.Background()
	c := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s, err := store.Open(ctx, store.Config{URL: e.URL, DataDir: e.DataDir, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	box, _ := secret.New("test key")
	eng, err := importer.New(importer.Config{Store: s, Secrets: box})
	if err != nil {
		t.Fatal(err)
	}
	r := New(Config{Store: s, Engine: eng, Secrets: box, SourceType: "gitlab", StaleAfter: 24 * time.Hour, EntityStaleAfter: 8 * time.Hour})
	workers := river.NewWorkers()
	eng.Register(workers)
	r.Register(workers)
	q, err := queue.Open(ctx, queue.Config{Store: s, Workers: workers})
	if err != nil {
		t.Fatal(err)
	}
	eng.SetQueue(q)
	eng.OnEnd(r.Ended)
	r.SetQueue(q)
	h := &timeoutHarness{s: s, clock: c, r: r, user: &ferry.User{Username: "mover", Name: "Mover"}}
	h.write(t, func(tx *store.Tx) error { return tx.CreateUser(ctx, h.user) })
	return h
}

func (h *timeoutHarness) write(t *testing.T, fn func(tx *store.Tx) error) {
	t.Helper()
	if err := h.s.Write(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

// migration creates a started migration of the given entities, now.
func (h *timeoutHarness) migration(t *testing.T, entities ...*ferry.BulkEntity) *ferry.BulkImport {
	t.Helper()
	ctx := context.Background()
	b := &ferry.BulkImport{UserID: h.user.ID, SourceType: "gitlab", SourceURL: "https://gitlab.example", SealedCredential: "sealed"}
	h.write(t, func(tx *store.Tx) error {
		if err := tx.CreateBulkImport(ctx, b, entities); err != nil {
			return err
		}
		return tx.SetBulkImportStatus(ctx, b.ID, ferry.BulkStarted)
	})
	return b
}

// startEntity gives a created entity a group and a running import.
func (h *timeoutHarness) startEntity(t *testing.T, e *ferry.BulkEntity) *ferry.Import {
	t.Helper()
	ctx := context.Background()
	im := &ferry.Import{UserID: h.user.ID, SourceType: "gitlab", SourceURL: "https://gitlab.example", SourceRef: e.SourceFullPath,
		Status: ferry.ImportStarted, CorrelationID: "corr" + e.DestinationSlug}
	h.write(t, func(tx *store.Tx) error {
		g := &ferry.Namespace{Kind: ferry.KindGroup, Name: e.DestinationSlug, Path: e.DestinationSlug, Visibility: ferry.Private}
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
	return im
}

func group(slug string) *ferry.BulkEntity {
	return &ferry.BulkEntity{SourceType: ferry.GroupEntity, SourceFullPath: "src/" + slug, DestinationSlug: slug}
}

type readBack struct {
	b        *ferry.BulkImport
	entities []*ferry.BulkEntity
	imports  map[int64]*ferry.Import
	failures map[int64][]*ferry.ImportFailure // by entity id
}

func (h *timeoutHarness) read(t *testing.T, id int64) readBack {
	t.Helper()
	ctx := context.Background()
	out := readBack{imports: map[int64]*ferry.Import{}, failures: map[int64][]*ferry.ImportFailure{}}
	err := h.s.Read(ctx, func(tx *store.Tx) (err error) {
		if out.b, err = tx.BulkImportByID(ctx, id); err != nil {
			return err
		}
		if out.entities, err = tx.BulkEntitiesOf(ctx, id); err != nil {
			return err
		}
		for _, e := range out.entities {
			if e.ImportID != 0 {
				if out.imports[e.ID], err = tx.ImportByID(ctx, e.ImportID); err != nil {
					return err
				}
			}
			if out.failures[e.ID], _, err = tx.BulkEntityFailures(ctx, e, store.Page{Page: 1, PerPage: 100}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (h *timeoutHarness) sweep(t *testing.T) {
	t.Helper()
	if err := h.r.timeOutStale(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestTimeoutStaleEntities: an entity not finished EntityStaleAfter after
// it was created times out, its running import failed with the reason
// listed among the entity's failures; younger entities go on; when the
// last one ends the migration concludes, has_failures true.
func TestTimeoutStaleEntities(t *testing.T) {
	t.Parallel()
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			h := newTimeoutHarness(t, e)
			old, young, done := group("old"), group("young"), group("done")
			b := h.migration(t, old, done)
			im := h.startEntity(t, old)
			h.startEntity(t, done)
			h.write(t, func(tx *store.Tx) error {
				done.Status = ferry.BulkFinished
				return tx.UpdateBulkEntity(context.Background(), done)
			})
			h.clock.advance(7 * time.Hour)
			// young is added later, as a group's child would be.
			h.write(t, func(tx *store.Tx) error {
				young.BulkImportID = b.ID
				_, err := tx.AddBulkEntity(context.Background(), young)
				return err
			})
			h.sweep(t)
			if got := h.read(t, b.ID); got.entities[0].Status != ferry.BulkStarted || got.b.Status != ferry.BulkStarted {
				t.Fatalf("after 7h: %s, entity %s; nothing is stale yet", got.b.Status, got.entities[0].Status)
			}

			h.clock.advance(time.Hour + time.Second)
			h.sweep(t)
			got := h.read(t, b.ID)
			if got.b.Status != ferry.BulkStarted || !got.b.HasFailures {
				t.Fatalf("migration after its first entity timed out: %s, has_failures %v", got.b.Status, got.b.HasFailures)
			}
			want := "Migration timed out: entity not finished 8h after it was created"
			byID := map[int64]*ferry.BulkEntity{}
			for _, en := range got.entities {
				byID[en.ID] = en
			}
			if s := byID[old.ID].Status; s != ferry.BulkTimeout {
				t.Fatalf("stale entity: %s, want timeout", s)
			}
			if s := byID[young.ID].Status; s != ferry.BulkCreated {
				t.Fatalf("young entity: %s, want created", s)
			}
			if s := byID[done.ID].Status; s != ferry.BulkFinished {
				t.Fatalf("finished entity: %s", s)
			}
			if gi := got.imports[old.ID]; gi.Status != ferry.ImportFailed || gi.Error != want || gi.ID != im.ID {
				t.Fatalf("stale entity's import: %s %q, want failed %q", gi.Status, gi.Error, want)
			}
			fs := got.failures[old.ID]
			if len(fs) != 1 || fs[0].ExceptionMessage != want || fs[0].Relation != "entity" || fs[0].ExceptionClass != "TimeoutError" ||
				fs[0].SourceURL != "https://gitlab.example/src/old" || fs[0].SourceTitle != "src/old" || fs[0].CorrelationID != "corrold" {
				t.Fatalf("stale entity's failures: %+v", fs)
			}
			h.sweep(t) // again: nothing more happens
			if fs := h.read(t, b.ID).failures[old.ID]; len(fs) != 1 {
				t.Fatalf("a second sweep listed the timeout again: %+v", fs)
			}

			// young times out 8h after it was added, without an import:
			// the migration has nothing left running and concludes.
			h.clock.advance(7 * time.Hour)
			h.sweep(t)
			got = h.read(t, b.ID)
			if got.b.Status != ferry.BulkFinished || !got.b.HasFailures || got.b.SealedCredential != "" {
				t.Fatalf("migration: %s, has_failures %v, credential %q; want finished with failures, credential wiped",
					got.b.Status, got.b.HasFailures, got.b.SealedCredential)
			}
			for _, en := range got.entities {
				if en.ID == young.ID && (en.Status != ferry.BulkTimeout || len(got.failures[en.ID]) != 1 ||
					got.failures[en.ID][0].ExceptionMessage != want) {
					t.Fatalf("young entity: %s %+v", en.Status, got.failures[en.ID])
				}
			}
		})
	}
}

// TestTimeoutStaleMigration: a migration not updated for StaleAfter times
// out with every entity not ended, whatever their age, and reads timeout
// with has_failures; one whose entities all time out reads timeout too.
func TestTimeoutStaleMigration(t *testing.T) {
	t.Parallel()
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			h := newTimeoutHarness(t, e)
			// Both the migration and its entities are stale: the
			// migration's reason is the one given.
			a, p := group("a"), group("p")
			b := h.migration(t, a, p)
			h.clock.advance(25 * time.Hour)
			im := h.startEntity(t, a)
			h.sweep(t)
			got := h.read(t, b.ID)
			if got.b.Status != ferry.BulkTimeout || !got.b.HasFailures || got.b.SealedCredential != "" {
				t.Fatalf("migration: %s, has_failures %v", got.b.Status, got.b.HasFailures)
			}
			want := "Migration timed out after 24h without an update"
			for _, en := range got.entities {
				fs := got.failures[en.ID]
				if en.Status != ferry.BulkTimeout || len(fs) != 1 || fs[0].ExceptionMessage != want {
					t.Fatalf("entity %s: %s %+v", en.SourceFullPath, en.Status, fs)
				}
			}
			if gi := got.imports[a.ID]; gi.ID != im.ID || gi.Status != ferry.ImportFailed || !strings.Contains(gi.Error, "timed out") {
				t.Fatalf("import: %+v", gi)
			}
		})
	}
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{24 * time.Hour: "24h", 8 * time.Hour: "8h", 90 * time.Minute: "1h30m",
		5 * time.Minute: "5m", 2 * time.Second: "2s", 1500 * time.Millisecond: "1.5s"} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%s) = %q, want %q", d, got, want)
		}
	}
}
