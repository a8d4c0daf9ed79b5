package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/store"
	"github.com/ferry-import/ferry/store/storetest"
)

// TestLateEmailMapsSourceUser: an author first seen by login only becomes
// the real user whose e-mail the source gives later (GitHub's users stage
// runs last), and the placeholder takes the display name.
func TestLateEmailMapsSourceUser(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		real := &ferry.User{Username: "octo", Name: "Octo", Email: "octo@example.com"}
		grp := &ferry.Namespace{Kind: ferry.KindGroup, Name: "g", Path: "g", Visibility: ferry.Private}
		p := &ferry.Project{Name: "p", Path: "p", Visibility: ferry.Private}
		sid := func(id string) forge.SourceID { return forge.SourceID{Type: "github", Host: "github.com", ID: id} }
		author := forge.SourceUser{SourceID: sid("u1"), Login: "octocat"}
		mustWrite(t, s, func(tx *store.Tx) error {
			if err := tx.CreateUser(ctx, real); err != nil {
				return err
			}
			if err := tx.CreateNamespace(ctx, grp); err != nil {
				return err
			}
			p.NamespaceID, p.CreatorID = grp.ID, real.ID
			if err := tx.CreateProject(ctx, p); err != nil {
				return err
			}
			at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
			_, err := tx.WriteContent(ctx, p.ID, []forge.Object{forge.Issue{SourceID: sid("i1"), IID: 1, Title: "t", State: forge.StateOpened,
				Author: author, CreatedAt: at, UpdatedAt: at}})
			return err
		})
		mapped := func() (int64, string, string) {
			var m int64
			var status, phName string
			if err := s.DB().QueryRow(`SELECT su.mapped_user_id, su.status, u.name FROM source_users su JOIN users u ON u.id = su.placeholder_user_id
				WHERE su.source_user_id = 'u1'`).Scan(&m, &status, &phName); err != nil {
				t.Fatal(err)
			}
			return m, status, phName
		}
		if m, status, _ := mapped(); m == real.ID || status != store.SourceUserPending {
			t.Fatalf("mapped before the e-mail was known: %d %s", m, status)
		}
		// The users stage: name and e-mail arrive.
		mustWrite(t, s, func(tx *store.Tx) error {
			_, err := tx.WriteContent(ctx, p.ID, []forge.Object{forge.SourceUser{SourceID: sid("u1"), Login: "octocat", Name: "Octo Cat", Email: "Octo@Example.com"}})
			return err
		})
		if m, status, ph := mapped(); m != real.ID || status != store.SourceUserCompleted || ph != "Placeholder Octo Cat" {
			t.Fatalf("after the e-mail: mapped %d (want %d) %s, placeholder %q", m, real.ID, status, ph)
		}
	})
}

// TestImportedMembershipsFollowMapping: a collaborator becomes a ferry
// project member once mapped to a real user (e-mail or reassignment),
// never as a placeholder, and a role someone gave is left alone.
func TestImportedMembershipsFollowMapping(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		ann := &ferry.User{Username: "ann", Name: "Ann", Email: "ann@example.com"}
		bob := &ferry.User{Username: "bob", Name: "Bob", Email: "bob@example.com"}
		cat := &ferry.User{Username: "cat", Name: "Cat", Email: "cat@example.com"}
		grp := &ferry.Namespace{Kind: ferry.KindGroup, Name: "g", Path: "g", Visibility: ferry.Private}
		p := &ferry.Project{Name: "p", Path: "p", Visibility: ferry.Private}
		sid := func(id string) forge.SourceID { return forge.SourceID{Type: "github", Host: "github.com", ID: id} }
		mustWrite(t, s, func(tx *store.Tx) error {
			for _, u := range []*ferry.User{ann, bob, cat} {
				if err := tx.CreateUser(ctx, u); err != nil {
					return err
				}
			}
			if err := tx.CreateNamespace(ctx, grp); err != nil {
				return err
			}
			p.NamespaceID, p.CreatorID = grp.ID, ann.ID
			if err := tx.CreateProject(ctx, p); err != nil {
				return err
			}
			// Cat already is a Reporter; the import says Maintainer.
			if err := tx.AddMember(ctx, &ferry.Member{SourceKind: store.MemberOfProject, SourceID: p.ID, UserID: cat.ID, AccessLevel: ferry.ReporterAccess}); err != nil {
				return err
			}
			_, err := tx.WriteContent(ctx, p.ID, []forge.Object{
				forge.Member{SourceID: sid("m-ann"), User: forge.SourceUser{SourceID: sid("ann"), Login: "ann-gh", Email: "ann@example.com"}, AccessLevel: 30},
				forge.Member{SourceID: sid("m-x"), User: forge.SourceUser{SourceID: sid("x"), Login: "stranger"}, AccessLevel: 40},
				forge.Member{SourceID: sid("m-cat"), User: forge.SourceUser{SourceID: sid("cat"), Login: "cat-gh", Email: "cat@example.com"}, AccessLevel: 40},
			})
			return err
		})
		level := func(userID int64) int {
			var l int
			err := s.DB().QueryRow(`SELECT access_level FROM members WHERE source_kind = 'project' AND source_id = $1 AND user_id = $2`, p.ID, userID).Scan(&l)
			if err != nil {
				return 0
			}
			return l
		}
		if level(ann.ID) != 30 || level(cat.ID) != int(ferry.ReporterAccess) {
			t.Fatalf("ann %d (want 30), cat %d (want her own 20)", level(ann.ID), level(cat.ID))
		}
		var placeholders int
		if err := s.DB().QueryRow(`SELECT COUNT(*) FROM members m JOIN users u ON u.id = m.user_id WHERE u.placeholder = TRUE`).Scan(&placeholders); err != nil || placeholders != 0 {
			t.Fatalf("placeholder memberships: %d %v", placeholders, err)
		}
		// The stranger is reassigned to Bob: Bob becomes a Maintainer.
		mustWrite(t, s, func(tx *store.Tx) error {
			var suID int64
			if err := s.DB().QueryRow(`SELECT id FROM source_users WHERE source_user_id = 'x'`).Scan(&suID); err != nil {
				return err
			}
			_, err := tx.ReassignSourceUser(ctx, grp.ID, suID, bob.ID, ann.ID)
			return err
		})
		if level(bob.ID) != 40 {
			t.Fatalf("bob after reassignment: %d, want 40", level(bob.ID))
		}
	})
}

// TestClosureSetsWhoMergedOrClosed: a closure changes only who merged or
// closed an item already stored.
func TestClosureSetsWhoMergedOrClosed(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		u := &ferry.User{Username: "u", Name: "U"}
		p := &ferry.Project{Name: "p", Path: "p", Visibility: ferry.Private}
		sid := func(id string) forge.SourceID { return forge.SourceID{Type: "github", Host: "github.com", ID: id} }
		at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		merger := forge.SourceUser{SourceID: sid("m"), Login: "merger"}
		mustWrite(t, s, func(tx *store.Tx) error {
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			p.NamespaceID, p.CreatorID = u.NamespaceID, u.ID
			if err := tx.CreateProject(ctx, p); err != nil {
				return err
			}
			author := forge.SourceUser{SourceID: sid("a"), Login: "author"}
			_, err := tx.WriteContent(ctx, p.ID, []forge.Object{
				forge.MergeRequest{SourceID: sid("mr1"), IID: 1, Title: "t", State: forge.StateMerged, Author: author, SourceBranch: "f", TargetBranch: "main", CreatedAt: at, UpdatedAt: at, MergedAt: &at},
				forge.Issue{SourceID: sid("i2"), IID: 2, Title: "i", State: forge.StateClosed, Author: author, CreatedAt: at, UpdatedAt: at, ClosedAt: &at},
			})
			if err != nil {
				return err
			}
			_, err = tx.WriteContent(ctx, p.ID, []forge.Object{
				forge.Closure{SourceID: sid("c1"), On: forge.Noteable{Type: forge.OnMergeRequest, IID: 1}, Merged: true, By: merger, At: at},
				forge.Closure{SourceID: sid("c2"), On: forge.Noteable{Type: forge.OnIssue, IID: 2}, By: merger, At: at},
			})
			return err
		})
		var mergedBy, closedBy string
		if err := s.DB().QueryRow(`SELECT su.source_username FROM merge_requests m JOIN source_users su ON su.id = m.merged_by_su WHERE m.iid = 1`).Scan(&mergedBy); err != nil {
			t.Fatal(err)
		}
		if err := s.DB().QueryRow(`SELECT su.source_username FROM issues i JOIN source_users su ON su.id = i.closed_by_su WHERE i.iid = 2`).Scan(&closedBy); err != nil {
			t.Fatal(err)
		}
		if mergedBy != "merger" || closedBy != "merger" {
			t.Fatalf("merged by %q, closed by %q", mergedBy, closedBy)
		}
		// A merge closure on an issue is refused.
		err := s.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.WriteContent(ctx, p.ID, []forge.Object{forge.Closure{SourceID: sid("c3"), On: forge.Noteable{Type: forge.OnIssue, IID: 2}, Merged: true, By: merger}})
			return err
		})
		if ferry.ErrorCode(err) != ferry.EINVALID {
			t.Fatalf("merged issue closure: %v", err)
		}
	})
}
