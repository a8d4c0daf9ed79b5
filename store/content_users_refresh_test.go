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
