package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"testing"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/store"
)

// TestProjectsImported: GET /projects?imported=true lists the projects the
// caller imported (GitLab's: created by them, with an import type), paged
// in the query so the paging headers count only those; another user's
// import, even one the caller can see, is not listed; the value is read
// as the handler's other booleans are.
func TestProjectsImported(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{}, func(t *testing.T, in *apptest.Instance) {
		ctx := context.Background()
		tokens := map[string]string{"root": in.RootToken}
		err := in.App.Store.Write(ctx, func(tx *store.Tx) error {
			users := map[string]*ferry.User{}
			for _, name := range []string{"alice", "bob"} {
				u := &ferry.User{Username: name, Name: name, Email: name + "@example.com"}
				if err := tx.CreateUser(ctx, u); err != nil {
					return err
				}
				tok := &ferry.PersonalAccessToken{UserID: u.ID, Name: "api", Scopes: []string{"read_api"}}
				if err := tx.CreateToken(ctx, tok); err != nil {
					return err
				}
				users[name], tokens[name] = u, tok.Token
			}
			// Public, so that alice sees bob's projects: only the filter
			// keeps his import out of her list.
			for _, p := range []struct {
				owner, path, typ, status string
			}{
				{"alice", "gh-one", "github", ferry.ImportFinished},
				{"alice", "plain", "", "none"},
				{"alice", "bbs-two", "bitbucket_server", ferry.ImportFailed},
				{"bob", "bobs-import", "github", ferry.ImportFinished},
				{"alice", "gh-three", "github", ferry.ImportStarted},
				{"bob", "bobs-plain", "", "none"},
			} {
				u := users[p.owner]
				pr := &ferry.Project{Name: p.path, Path: p.path, NamespaceID: u.NamespaceID, CreatorID: u.ID, Visibility: ferry.Public,
					ImportType: p.typ, ImportStatus: p.status}
				if err := tx.CreateProject(ctx, pr); err != nil {
					return fmt.Errorf("project %s: %w", p.path, err)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}

		type page struct {
			paths                 []string
			total, pages, nextPge string
		}
		list := func(t *testing.T, token, query string) (int, string, page) {
			t.Helper()
			status, body, h := do(t, in.URL, tokens, call{"GET", "/api/v4/projects" + query, token, "", ""})
			var got page
			if status == http.StatusOK {
				var ps []struct {
					ID                int64  `json:"id"`
					PathWithNamespace string `json:"path_with_namespace"`
				}
				if err := json.Unmarshal([]byte(body), &ps); err != nil {
					t.Fatalf("%s: %v in %s", query, err, body)
				}
				got.paths = []string{}
				for _, p := range ps {
					got.paths = append(got.paths, p.PathWithNamespace)
				}
			}
			got.total, got.pages, got.nextPge = h.Get("X-Total"), h.Get("X-Total-Pages"), h.Get("X-Next-Page")
			return status, body, got
		}
		for _, c := range []struct {
			name, token, query string
			want               page
		}{
			{"alice's imports, first page", "alice", "?imported=true&order_by=id&sort=asc&per_page=2",
				page{[]string{"alice/gh-one", "alice/bbs-two"}, "3", "2", "2"}},
			{"alice's imports, last page", "alice", "?imported=true&order_by=id&sort=asc&per_page=2&page=2",
				page{[]string{"alice/gh-three"}, "3", "2", ""}},
			{"one page", "alice", "?imported=true&order_by=id&sort=asc",
				page{[]string{"alice/gh-one", "alice/bbs-two", "alice/gh-three"}, "3", "1", ""}},
			{"Grape's spelling of true", "alice", "?imported=1&order_by=id&sort=asc",
				page{[]string{"alice/gh-one", "alice/bbs-two", "alice/gh-three"}, "3", "1", ""}},
			{"bob's", "bob", "?imported=true", page{[]string{"bob/bobs-import"}, "1", "1", ""}},
			{"an admin lists only their own", "root", "?imported=true", page{[]string{}, "0", "1", ""}},
			{"anonymous imported nothing", "", "?imported=true", page{[]string{}, "0", "1", ""}},
			{"false filters nothing", "alice", "?imported=false&order_by=id&sort=asc",
				page{[]string{"alice/gh-one", "alice/plain", "alice/bbs-two", "bob/bobs-import", "alice/gh-three", "bob/bobs-plain"}, "6", "1", ""}},
			{"with another filter", "alice", "?imported=true&search=gh&order_by=id&sort=asc",
				page{[]string{"alice/gh-one", "alice/gh-three"}, "2", "1", ""}},
		} {
			status, body, got := list(t, c.token, c.query)
			if status != http.StatusOK || !reflect.DeepEqual(got, c.want) {
				t.Errorf("%s: GET /projects%s as %q: %d %+v, want 200 %+v\n%s", c.name, c.query, c.token, status, got, c.want, body)
			}
		}
		for _, v := range []string{"maybe", "2", "tru"} {
			status, body, _ := list(t, "alice", "?imported="+v)
			if want := `{"error":"imported is invalid"}`; status != http.StatusBadRequest || body != want {
				t.Errorf("imported=%s: %d %s, want 400 %s", v, status, body, want)
			}
		}
	})
}
