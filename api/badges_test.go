package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/store"
)

// TestBadges serves imported badges in GitLab's shape (client-go reads
// them), with placeholders rendered for a project, a project listing its
// groups' badges, and a private group's badges hidden from outsiders.
func TestBadges(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, in *apptest.Instance) {
		ctx := context.Background()
		root := in.Client(t, in.RootToken)
		u := must(root.Users.CreateUser(&gitlab.CreateUserOptions{Username: gitlab.Ptr("outsider"), Name: gitlab.Ptr("Outsider"),
			Email: gitlab.Ptr("outsider@example.com"), Password: gitlab.Ptr("s3cret-pass")}))(t)
		tok := must(root.Users.CreatePersonalAccessToken(u.ID, &gitlab.CreatePersonalAccessTokenOptions{Name: gitlab.Ptr("t"), Scopes: &[]string{"api"}}))(t)
		outsider := in.Client(t, tok.Token)
		grp := must(root.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("Acme"), Path: gitlab.Ptr("acme"),
			Visibility: gitlab.Ptr(gitlab.PrivateVisibility)}))(t)
		proj := must(root.Projects.CreateProject(&gitlab.CreateProjectOptions{Name: gitlab.Ptr("Tool"), Path: gitlab.Ptr("tool"),
			NamespaceID: &grp.ID, Visibility: gitlab.Ptr(gitlab.PrivateVisibility)}))(t)
		src := func(id string) forge.SourceID {
			return forge.SourceID{Type: "gitlab", Host: "gitlab.example.com", ID: id}
		}
		err := in.App.Store.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.WriteGroupContent(ctx, grp.ID, []forge.Object{
				forge.Badge{SourceID: src("1"), Name: "pipeline", LinkURL: "https://ci.example.com/%{project_path}",
					ImageURL: "https://ci.example.com/%{project_path}/badges/%{default_branch}/pipeline.svg"},
				forge.Badge{SourceID: src("2"), Name: "docs", LinkURL: "https://docs.example.com", ImageURL: "https://img.example.com/docs.svg"},
			})
			if err != nil {
				return err
			}
			_, err = tx.WriteContent(ctx, proj.ID, []forge.Object{forge.Badge{SourceID: src("3"), Name: "own",
				LinkURL: "https://x.example.com/%{project_id}", ImageURL: "https://x.example.com/%{project_name}.svg"}})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}

		gbs := must(root.GroupBadges.ListGroupBadges(grp.ID, nil))(t)
		if len(gbs) != 2 || gbs[0].Name != "pipeline" || gbs[0].Kind != gitlab.GroupBadgeKind || gbs[1].Name != "docs" ||
			gbs[0].RenderedLinkURL != "https://ci.example.com/%{project_path}" {
			t.Fatalf("group badges: %+v", gbs)
		}
		one := must(root.GroupBadges.GetGroupBadge("acme", gbs[1].ID))(t)
		if one.ID != gbs[1].ID || one.LinkURL != "https://docs.example.com" || one.ImageURL != "https://img.example.com/docs.svg" {
			t.Fatalf("group badge: %+v", one)
		}
		named := must(root.GroupBadges.ListGroupBadges(grp.ID, &gitlab.ListGroupBadgesOptions{Name: gitlab.Ptr("docs")}))(t)
		if len(named) != 1 || named[0].Name != "docs" {
			t.Fatalf("by name: %+v", named)
		}

		pbs := must(root.ProjectBadges.ListProjectBadges(proj.ID, nil))(t)
		if len(pbs) != 3 {
			t.Fatalf("project badges: %+v", pbs)
		}
		byName := map[string]*gitlab.ProjectBadge{}
		for _, b := range pbs {
			byName[b.Name] = b
		}
		// No repository: no default branch, rendered empty as in GitLab.
		if b := byName["pipeline"]; b == nil || b.Kind != string(gitlab.GroupBadgeKind) || b.RenderedLinkURL != "https://ci.example.com/acme/tool" ||
			b.RenderedImageURL != "https://ci.example.com/acme/tool/badges//pipeline.svg" {
			t.Errorf("inherited badge: %+v", b)
		}
		if b := byName["own"]; b == nil || b.Kind != string(gitlab.ProjectBadgeKind) || b.RenderedLinkURL != fmt.Sprintf("https://x.example.com/%d", proj.ID) ||
			b.RenderedImageURL != "https://x.example.com/tool.svg" {
			t.Errorf("project badge: %+v", b)
		}
		if b := must(root.ProjectBadges.GetProjectBadge(proj.ID, byName["own"].ID))(t); b.Name != "own" {
			t.Errorf("project badge by id: %+v", b)
		}

		// Paginated as GitLab paginates.
		_, resp, err := root.GroupBadges.ListGroupBadges(grp.ID, &gitlab.ListGroupBadgesOptions{ListOptions: gitlab.ListOptions{PerPage: 1}})
		if err != nil || resp.TotalItems != 2 || resp.NextPage != 2 {
			t.Fatalf("page 1 of 1: %+v %v", resp, err)
		}

		// Outsiders and anonymous callers see a private group's badges as
		// GitLab does: not at all.
		for name, c := range map[string]*gitlab.Client{"outsider": outsider, "anonymous": in.Client(t, "")} {
			if _, _, err := c.GroupBadges.ListGroupBadges(grp.ID, nil); status(err) != http.StatusNotFound {
				t.Errorf("%s lists a private group's badges: %v", name, err)
			}
			if _, _, err := c.GroupBadges.GetGroupBadge(grp.ID, gbs[0].ID); status(err) != http.StatusNotFound {
				t.Errorf("%s gets a private group's badge: %v", name, err)
			}
			if _, _, err := c.ProjectBadges.ListProjectBadges(proj.ID, nil); status(err) != http.StatusNotFound {
				t.Errorf("%s lists a private project's badges: %v", name, err)
			}
		}

		// Bodies: an unknown badge, another owner's badge, a bad id.
		for _, c := range []struct {
			path, want string
			status     int
		}{
			{fmt.Sprintf("/groups/%d/badges/999999", grp.ID), `{"message":"404 Not found"}`, 404},
			{fmt.Sprintf("/groups/%d/badges/%d", grp.ID, byName["own"].ID), `{"message":"404 Not found"}`, 404},
			{fmt.Sprintf("/groups/%d/badges/abc", grp.ID), `{"error":"badge_id is invalid"}`, 400},
			{"/groups/999999/badges", `{"message":"404 Group Not Found"}`, 404},
		} {
			req, _ := http.NewRequest("GET", in.URL+"/api/v4"+c.path, nil)
			req.Header.Set("PRIVATE-TOKEN", in.RootToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status || strings.TrimSpace(string(body)) != c.want {
				t.Errorf("%s: %d %s, want %d %s", c.path, resp.StatusCode, body, c.status, c.want)
			}
		}
	})
}
