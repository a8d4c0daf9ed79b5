package store_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/store"
	"github.com/ferry-import/ferry/store/storetest"
)

func mustWrite(t *testing.T, s *store.Store, fn func(tx *store.Tx) error) {
	t.Helper()
	if err := s.Write(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func TestCoreRecords(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		alice := &ferry.User{Username: "alice", Name: "Alice", Email: "Alice@Example.com"}
		bob := &ferry.User{Username: "bob", Name: "Bob"}
		mustWrite(t, s, func(tx *store.Tx) error {
			if err := tx.CreateUser(ctx, alice); err != nil {
				return err
			}
			return tx.CreateUser(ctx, bob)
		})
		// Usernames are unique regardless of case, and claim the namespace path.
		err := s.Write(ctx, func(tx *store.Tx) error { return tx.CreateUser(ctx, &ferry.User{Username: "ALICE", Name: "x"}) })
		if ferry.ErrorCode(err) != ferry.ECONFLICT {
			t.Fatalf("duplicate username: got %v, want conflict", err)
		}

		grp := &ferry.Namespace{Kind: ferry.KindGroup, Name: "Group", Path: "group", Visibility: ferry.Private}
		sub := &ferry.Namespace{Kind: ferry.KindGroup, Name: "Sub", Path: "sub", Visibility: ferry.Private}
		proj := &ferry.Project{Name: "Proj", Path: "proj", Visibility: ferry.Private, CreatorID: alice.ID}
		mustWrite(t, s, func(tx *store.Tx) error {
			if err := tx.CreateNamespace(ctx, grp); err != nil {
				return err
			}
			if err := tx.AddMember(ctx, &ferry.Member{SourceKind: store.MemberOfNamespace, SourceID: grp.ID, UserID: alice.ID, AccessLevel: ferry.OwnerAccess}); err != nil {
				return err
			}
			sub.ParentID = &grp.ID
			if err := tx.CreateNamespace(ctx, sub); err != nil {
				return err
			}
			proj.NamespaceID = sub.ID
			return tx.CreateProject(ctx, proj)
		})
		if proj.FullPath != "group/sub/proj" || proj.FullName != "Group / Sub / Proj" {
			t.Fatalf("project path %q name %q", proj.FullPath, proj.FullName)
		}
		// A project path cannot clash with a subgroup's full path.
		err = s.Write(ctx, func(tx *store.Tx) error {
			return tx.CreateProject(ctx, &ferry.Project{Name: "sub", Path: "sub", NamespaceID: grp.ID, Visibility: ferry.Private, CreatorID: alice.ID})
		})
		if ferry.ErrorCode(err) != ferry.ECONFLICT {
			t.Fatalf("project over subgroup path: got %v", err)
		}

		var aliceAccess, bobAccess ferry.AccessLevel
		_ = s.Read(ctx, func(tx *store.Tx) error {
			var err error
			if aliceAccess, err = tx.ProjectAccess(ctx, alice.ID, proj.ID); err != nil {
				return err
			}
			bobAccess, err = tx.ProjectAccess(ctx, bob.ID, proj.ID)
			return err
		})
		if aliceAccess != ferry.OwnerAccess || bobAccess != ferry.NoAccess {
			t.Fatalf("inherited access: alice %d bob %d", aliceAccess, bobAccess)
		}

		list := func(v store.Viewer) []string {
			var names []string
			_ = s.Read(ctx, func(tx *store.Tx) error {
				ps, total, err := tx.ListProjects(ctx, store.ProjectFilter{Viewer: v}, store.Page{Page: 1, PerPage: 20})
				if err != nil {
					t.Fatal(err)
				}
				if total != len(ps) {
					t.Fatalf("total %d, rows %d", total, len(ps))
				}
				for _, p := range ps {
					names = append(names, p.FullPath)
				}
				return nil
			})
			return names
		}
		if got := list(store.Viewer{UserID: alice.ID}); len(got) != 1 {
			t.Fatalf("alice sees %v", got)
		}
		if got := list(store.Viewer{UserID: bob.ID}); len(got) != 0 {
			t.Fatalf("bob sees private %v", got)
		}

		// Renaming the top group moves every full path below it.
		mustWrite(t, s, func(tx *store.Tx) error {
			grp.Path, grp.Name = "renamed", "Renamed"
			return tx.UpdateNamespace(ctx, grp)
		})
		_ = s.Read(ctx, func(tx *store.Tx) error {
			p, err := tx.ProjectByPath(ctx, "Renamed/Sub/PROJ")
			if err != nil {
				t.Fatalf("by new path: %v", err)
			}
			if p.FullName != "Renamed / Sub / Proj" {
				t.Fatalf("full name %q", p.FullName)
			}
			if _, err := tx.ProjectByPath(ctx, "group/sub/proj"); ferry.ErrorCode(err) != ferry.ENOTFOUND {
				t.Fatalf("old path still resolves: %v", err)
			}
			return nil
		})

		// Members/all: bob added on the subgroup, alice inherited.
		mustWrite(t, s, func(tx *store.Tx) error {
			return tx.AddMember(ctx, &ferry.Member{SourceKind: store.MemberOfNamespace, SourceID: sub.ID, UserID: bob.ID, AccessLevel: ferry.DeveloperAccess})
		})
		_ = s.Read(ctx, func(tx *store.Tx) error {
			ms, total, err := tx.ListMembers(ctx, store.MemberFilter{Kind: store.MemberOfProject, SourceID: proj.ID, All: true}, store.Page{Page: 1, PerPage: 20})
			if err != nil {
				t.Fatal(err)
			}
			if total != 2 || len(ms) != 2 || !ms[0].Inherited || ms[0].AccessLevel != ferry.OwnerAccess || ms[1].AccessLevel != ferry.DeveloperAccess {
				t.Fatalf("members/all: total %d %+v", total, ms)
			}
			return nil
		})

		// Tokens are stored as digests and found by secret.
		tok := &ferry.PersonalAccessToken{UserID: alice.ID, Name: "t", Scopes: []string{"api"}}
		mustWrite(t, s, func(tx *store.Tx) error { return tx.CreateToken(ctx, tok) })
		var stored string
		if err := s.DB().QueryRowContext(ctx, `SELECT digest FROM personal_access_tokens WHERE id = $1`, tok.ID).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(stored, tok.Token) || stored != store.TokenDigest(tok.Token) {
			t.Fatalf("token stored as %q", stored)
		}
		_ = s.Read(ctx, func(tx *store.Tx) error {
			got, err := tx.TokenBySecret(ctx, tok.Token)
			if err != nil || got.ID != tok.ID {
				t.Fatalf("by secret: %v %v", got, err)
			}
			if _, err := tx.TokenBySecret(ctx, tok.Token+"x"); ferry.ErrorCode(err) != ferry.EUNAUTHORIZED {
				t.Fatalf("wrong secret: %v", err)
			}
			return nil
		})

		// Deleting the group deletes everything under it.
		var removed []int64
		mustWrite(t, s, func(tx *store.Tx) error {
			var err error
			removed, err = tx.DeleteNamespace(ctx, grp.ID)
			return err
		})
		if len(removed) != 1 || removed[0] != proj.ID {
			t.Fatalf("removed %v", removed)
		}
		_ = s.Read(ctx, func(tx *store.Tx) error {
			if _, err := tx.NamespaceByID(ctx, sub.ID); ferry.ErrorCode(err) != ferry.ENOTFOUND {
				t.Fatalf("subgroup survived: %v", err)
			}
			return nil
		})
	})
}

// TestProjectTopicsFromImportedRepository: topics written with the
// repository's metadata come back on the project.
func TestProjectTopicsFromImportedRepository(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		u := &ferry.User{Username: "u", Name: "U"}
		p := &ferry.Project{Name: "p", Path: "p", Visibility: ferry.Private}
		mustWrite(t, s, func(tx *store.Tx) error {
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			p.NamespaceID, p.CreatorID = u.NamespaceID, u.ID
			if err := tx.CreateProject(ctx, p); err != nil {
				return err
			}
			_, err := tx.WriteContent(ctx, p.ID, []forge.Object{forge.Repository{SourceID: forge.SourceID{Type: "github", Host: "h", ID: "1"},
				Description: "imported", Topics: []string{"go", "forge"}}})
			return err
		})
		_ = s.Read(ctx, func(tx *store.Tx) error {
			got, err := tx.ProjectByID(ctx, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got.Topics, ",") != "go,forge" || got.Description != "imported" {
				t.Fatalf("topics %v description %q", got.Topics, got.Description)
			}
			return nil
		})
	})
}

// TestFirstFinalImportStatusWins: once an import is canceled, a stage
// worker holding a stale copy cannot move it to started or finished.
func TestFirstFinalImportStatusWins(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		u := &ferry.User{Username: "u", Name: "U"}
		p := &ferry.Project{Name: "p", Path: "p", Visibility: ferry.Private}
		im := &ferry.Import{SourceType: "github", SourceURL: "https://api.github.com/", SourceRef: "1", Options: "{}", CorrelationID: "c"}
		mustWrite(t, s, func(tx *store.Tx) error {
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			p.NamespaceID, p.CreatorID = u.NamespaceID, u.ID
			if err := tx.CreateProject(ctx, p); err != nil {
				return err
			}
			im.ProjectID, im.UserID = p.ID, u.ID
			return tx.CreateImport(ctx, im)
		})
		stale := *im // a worker's copy, read before the cancel
		mustWrite(t, s, func(tx *store.Tx) error { return tx.SetImportStatus(ctx, im, ferry.ImportCanceled, "") })
		for _, status := range []string{ferry.ImportStarted, ferry.ImportFinished, ferry.ImportFailed} {
			err := s.Write(ctx, func(tx *store.Tx) error { return tx.SetImportStatus(ctx, &stale, status, "x") })
			if err != store.ErrImportEnded {
				t.Fatalf("%s after cancel: %v, want ErrImportEnded", status, err)
			}
		}
		_ = s.Read(ctx, func(tx *store.Tx) error {
			got, err := tx.ImportByID(ctx, im.ID)
			if err != nil || got.Status != ferry.ImportCanceled {
				t.Fatalf("status %v %v", got, err)
			}
			pr, _ := tx.ProjectByID(ctx, p.ID)
			if pr.ImportStatus != ferry.ImportCanceled {
				t.Fatalf("project import_status %s", pr.ImportStatus)
			}
			return nil
		})
	})
}

// TestImportTimeoutStrategyIsStored: the strategy is a column of the
// import, pessimistic unless said otherwise.
func TestImportTimeoutStrategyIsStored(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		u := &ferry.User{Username: "u", Name: "U"}
		mustWrite(t, s, func(tx *store.Tx) error { return tx.CreateUser(ctx, u) })
		for i, given := range []string{"", ferry.TimeoutOptimistic} {
			p := &ferry.Project{Name: "p" + strconv.Itoa(i), Path: "p" + strconv.Itoa(i), Visibility: ferry.Private, NamespaceID: u.NamespaceID, CreatorID: u.ID}
			im := &ferry.Import{UserID: u.ID, SourceType: "github", SourceURL: "https://api.github.com/", SourceRef: "1", Options: "{}",
				CorrelationID: "c", TimeoutStrategy: given}
			mustWrite(t, s, func(tx *store.Tx) error {
				if err := tx.CreateProject(ctx, p); err != nil {
					return err
				}
				im.ProjectID = p.ID
				return tx.CreateImport(ctx, im)
			})
			want := given
			if want == "" {
				want = ferry.TimeoutPessimistic
			}
			_ = s.Read(ctx, func(tx *store.Tx) error {
				if got, err := tx.ImportByID(ctx, im.ID); err != nil || got.TimeoutStrategy != want {
					t.Fatalf("given %q: read back %+v %v, want %q", given, got, err, want)
				}
				return nil
			})
		}
	})
}

// TestExpiredMembershipShowsNothing: a membership past its expiry no
// longer reveals a private group.
func TestExpiredMembershipShowsNothing(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		u := &ferry.User{Username: "u", Name: "U"}
		g := &ferry.Namespace{Kind: ferry.KindGroup, Name: "g", Path: "g", Visibility: ferry.Private}
		mustWrite(t, s, func(tx *store.Tx) error {
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			if err := tx.CreateNamespace(ctx, g); err != nil {
				return err
			}
			past := tx.Now().Add(-24 * time.Hour)
			return tx.AddMember(ctx, &ferry.Member{SourceKind: store.MemberOfNamespace, SourceID: g.ID, UserID: u.ID, AccessLevel: ferry.DeveloperAccess, ExpiresAt: &past})
		})
		_ = s.Read(ctx, func(tx *store.Tx) error {
			if ok, err := tx.CanSeeNamespace(ctx, store.Viewer{UserID: u.ID}, g.ID); err != nil || ok {
				t.Fatalf("expired member sees the private group: %v %v", ok, err)
			}
			return nil
		})
	})
}
