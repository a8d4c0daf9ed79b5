package cliclient_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/cliclient"
	"github.com/ferry-import/ferry/store"
)

// TestImportedProjects: against a real ferry, ImportedProjects returns
// every project the caller imported, oldest first, over more than one
// page of 100, and neither their other projects nor another user's
// imports they can see.
func TestImportedProjects(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{}, func(t *testing.T, in *apptest.Instance) {
		ctx := context.Background()
		var token string
		var want []string
		err := in.App.Store.Write(ctx, func(tx *store.Tx) error {
			users := map[string]*ferry.User{}
			for _, name := range []string{"alice", "bob"} {
				u := &ferry.User{Username: name, Name: name, Email: name + "@example.com"}
				if err := tx.CreateUser(ctx, u); err != nil {
					return err
				}
				users[name] = u
			}
			tok := &ferry.PersonalAccessToken{UserID: users["alice"].ID, Name: "cli", Scopes: []string{"read_api"}}
			if err := tx.CreateToken(ctx, tok); err != nil {
				return err
			}
			token = tok.Token
			project := func(owner, path, typ, status string) error {
				u := users[owner]
				return tx.CreateProject(ctx, &ferry.Project{Name: path, Path: path, NamespaceID: u.NamespaceID, CreatorID: u.ID,
					Visibility: ferry.Public, ImportType: typ, ImportStatus: status})
			}
			for i := 1; i <= 103; i++ {
				path := fmt.Sprintf("imp-%03d", i)
				if err := project("alice", path, "github", cliclient.StatusFinished); err != nil {
					return err
				}
				want = append(want, "alice/"+path)
				if i%50 == 0 { // interleaved, so that the filter is not the order's
					if err := project("alice", fmt.Sprintf("plain-%d", i), "", cliclient.StatusNone); err != nil {
						return err
					}
					if err := project("bob", fmt.Sprintf("bobs-%d", i), "github", cliclient.StatusFinished); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		c, err := cliclient.New(in.URL, token)
		if err != nil {
			t.Fatal(err)
		}
		ps, err := c.ImportedProjects(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range ps {
			got = append(got, p.PathWithNamespace)
			if p.ImportType == nil || *p.ImportType != "github" || p.ImportStatus != cliclient.StatusFinished {
				t.Errorf("%s: import_type %v, import_status %q", p.PathWithNamespace, p.ImportType, p.ImportStatus)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("ImportedProjects: %d projects %v\nwant %d %v", len(got), got, len(want), want)
		}
	})
}
