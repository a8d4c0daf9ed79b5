package api_test

import (
	"context"
	"net/http"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/store"
)

// TestIssueLinks: client-go lists an imported issue's links (none: no
// source brings them) after the issue's own visibility checks; a missing
// issue, a stranger to the private project and an unknown link are 404.
func TestIssueLinks(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{}, func(t *testing.T, in *apptest.Instance) {
		ctx := context.Background()
		root := in.Client(t, in.RootToken)
		eve := must(root.Users.CreateUser(&gitlab.CreateUserOptions{Username: gitlab.Ptr("eve"), Name: gitlab.Ptr("Eve"),
			Email: gitlab.Ptr("eve@example.com"), Password: gitlab.Ptr("s3cret-pass")}))(t)
		eveTok := must(root.Users.CreatePersonalAccessToken(eve.ID, &gitlab.CreatePersonalAccessTokenOptions{Name: gitlab.Ptr("t"), Scopes: &[]string{"api"}}))(t)
		proj := must(root.Projects.CreateProject(&gitlab.CreateProjectOptions{Name: gitlab.Ptr("Repo"), Visibility: gitlab.Ptr(gitlab.PrivateVisibility)}))(t)
		if err := in.App.Store.Write(ctx, func(tx *store.Tx) error { _, err := tx.WriteContent(ctx, proj.ID, eventContent()); return err }); err != nil {
			t.Fatal(err)
		}
		links, resp, err := root.IssueLinks.ListIssueRelations(proj.ID, 1)
		if err != nil || resp.StatusCode != 200 || links == nil || len(links) != 0 {
			t.Fatalf("links of issue 1: %v %v (status %v)", links, err, resp)
		}
		for _, c := range []struct {
			name string
			call func() (*gitlab.Response, error)
		}{
			{"missing issue", func() (*gitlab.Response, error) {
				_, r, err := root.IssueLinks.ListIssueRelations(proj.ID, 99)
				return r, err
			}},
			{"stranger", func() (*gitlab.Response, error) {
				_, r, err := in.Client(t, eveTok.Token).IssueLinks.ListIssueRelations(proj.ID, 1)
				return r, err
			}},
			{"unknown link", func() (*gitlab.Response, error) {
				_, r, err := root.IssueLinks.GetIssueLink(proj.ID, 1, 5)
				return r, err
			}},
		} {
			if r, err := c.call(); err == nil || r == nil || r.StatusCode != http.StatusNotFound {
				t.Errorf("%s: %v, want 404", c.name, err)
			}
		}
	})
}
