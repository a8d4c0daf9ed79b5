package store_test

import (
	"context"
	"slices"
	"testing"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/store"
	"github.com/ferry-import/ferry/store/storetest"
)

// TestListProjectImports: the imports of the projects a viewer is a
// member of (every one for administrators), newest first, by status,
// paged, with their relations' sums and failure counts in the same rows.
func TestListProjectImports(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		alice := &ferry.User{Username: "alice", Name: "A"}
		bob := &ferry.User{Username: "bob", Name: "B"}
		carol := &ferry.User{Username: "carol", Name: "C"}
		admin := &ferry.User{Username: "admin", Name: "Admin", IsAdmin: true}
		g := &ferry.Namespace{Kind: ferry.KindGroup, Name: "g", Path: "g", Visibility: ferry.Private}
		ids := map[string]int64{}
		mustWrite(t, s, func(tx *store.Tx) error {
			for _, u := range []*ferry.User{alice, bob, carol, admin} {
				if err := tx.CreateUser(ctx, u); err != nil {
					return err
				}
			}
			if err := tx.CreateNamespace(ctx, g); err != nil {
				return err
			}
			return tx.AddMember(ctx, &ferry.Member{SourceKind: store.MemberOfNamespace, SourceID: g.ID, UserID: bob.ID, AccessLevel: ferry.DeveloperAccess})
		})
		for _, c := range []struct {
			path, importType, status string
			ns                       int64
		}{
			{"a", "github", ferry.ImportFinished, g.ID},
			{"b", "github", ferry.ImportStarted, g.ID},
			{"mig", "gitlab_project", ferry.ImportFinished, g.ID},
			{"x", "bitbucket_server", ferry.ImportFailed, alice.NamespaceID},
		} {
			mustWrite(t, s, func(tx *store.Tx) error {
				p := &ferry.Project{Name: c.path, Path: c.path, Visibility: ferry.Private, NamespaceID: c.ns, CreatorID: admin.ID,
					ImportType: c.importType, ImportSource: "src/" + c.path}
				if err := tx.CreateProject(ctx, p); err != nil {
					return err
				}
				im := &ferry.Import{ProjectID: p.ID, UserID: admin.ID, SourceType: c.importType, SourceURL: "https://src.example", SourceRef: c.path,
					Options: "{}", CorrelationID: "c-" + c.path}
				if err := tx.CreateImport(ctx, im); err != nil {
					return err
				}
				ids[c.path] = im.ID
				if err := tx.SetImportStatus(ctx, im, ferry.ImportStarted, ""); err != nil {
					return err
				}
				if c.path == "a" {
					if err := tx.StartStage(ctx, im.ID, 0, "issues", []string{"issues", "notes"}); err != nil {
						return err
					}
					if _, err := tx.Checkpoint(ctx, im.ID, "issues", "", "n", 7, 6, 1, 20, false); err != nil {
						return err
					}
					if _, err := tx.Checkpoint(ctx, im.ID, "notes", "", "n", 3, 3, 0, -1, false); err != nil {
						return err
					}
					for range 2 {
						if err := tx.AddFailure(ctx, &ferry.ImportFailure{ImportID: im.ID, Relation: "issues", ExceptionClass: "E", ExceptionMessage: "m"}); err != nil {
							return err
						}
					}
				}
				if c.status != ferry.ImportStarted {
					return tx.SetImportStatus(ctx, im, c.status, "")
				}
				return nil
			})
		}
		list := func(f store.ImportFilter, pg store.Page) ([]string, int, []*store.ImportRow) {
			t.Helper()
			var rows []*store.ImportRow
			var total int
			_ = s.Read(ctx, func(tx *store.Tx) error {
				var err error
				rows, total, err = tx.ListProjectImports(ctx, f, pg)
				if err != nil {
					t.Fatal(err)
				}
				return nil
			})
			var paths []string
			for _, r := range rows {
				paths = append(paths, r.ProjectFullPath)
			}
			return paths, total, rows
		}
		all := store.Page{Page: 1, PerPage: 20}
		for _, c := range []struct {
			name  string
			f     store.ImportFilter
			pg    store.Page
			want  []string
			total int
		}{
			{"a member of the group", store.ImportFilter{Viewer: store.Viewer{UserID: bob.ID}, SkipImportType: "gitlab_project"}, all, []string{"g/b", "g/a"}, 2},
			{"with the migration's project", store.ImportFilter{Viewer: store.Viewer{UserID: bob.ID}}, all, []string{"g/mig", "g/b", "g/a"}, 3},
			{"by status", store.ImportFilter{Viewer: store.Viewer{UserID: bob.ID}, Status: ferry.ImportFinished, SkipImportType: "gitlab_project"}, all, []string{"g/a"}, 1},
			{"the personal namespace's owner", store.ImportFilter{Viewer: store.Viewer{UserID: alice.ID}}, all, []string{"alice/x"}, 1},
			{"no member", store.ImportFilter{Viewer: store.Viewer{UserID: carol.ID}}, all, nil, 0},
			{"anonymous", store.ImportFilter{}, all, nil, 0},
			{"admin", store.ImportFilter{Viewer: store.Viewer{UserID: admin.ID, Admin: true}}, all, []string{"alice/x", "g/mig", "g/b", "g/a"}, 4},
			{"admin, page 2", store.ImportFilter{Viewer: store.Viewer{UserID: admin.ID, Admin: true}}, store.Page{Page: 2, PerPage: 3}, []string{"g/a"}, 4},
			{"admin, failed", store.ImportFilter{Viewer: store.Viewer{UserID: admin.ID, Admin: true}, Status: ferry.ImportFailed}, all, []string{"alice/x"}, 1},
		} {
			got, total, _ := list(c.f, c.pg)
			if !slices.Equal(got, c.want) || total != c.total {
				t.Errorf("%s: %v (total %d), want %v (%d)", c.name, got, total, c.want, c.total)
			}
		}
		_, _, rows := list(store.ImportFilter{Viewer: store.Viewer{UserID: bob.ID}, Status: ferry.ImportFinished}, all)
		r := rows[len(rows)-1]
		if r.Import.ID != ids["a"] || r.Import.Status != ferry.ImportFinished || r.ImportSource != "src/a" || r.Fetched != 10 || r.Imported != 9 ||
			r.Failures != 2 || r.Import.CorrelationID != "c-a" || r.Import.StartedAt == nil {
			t.Errorf("row of g/a: %+v %+v", r, r.Import)
		}
	})
}
