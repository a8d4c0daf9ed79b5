package api_test

import (
	"context"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/store"
)

// TestContentAccess: on a public project, confidential issues and internal
// notes are for reporters and up, as in GitLab.
func TestContentAccess(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{}, func(t *testing.T, in *apptest.Instance) {
		ctx := context.Background()
		root := in.Client(t, in.RootToken)
		user := func(name string) (*gitlab.User, *gitlab.Client) {
			u := must(root.Users.CreateUser(&gitlab.CreateUserOptions{Username: gitlab.Ptr(name), Name: gitlab.Ptr(name),
				Email: gitlab.Ptr(name + "@example.com"), Password: gitlab.Ptr("s3cret-pass")}))(t)
			tok := must(root.Users.CreatePersonalAccessToken(u.ID, &gitlab.CreatePersonalAccessTokenOptions{Name: gitlab.Ptr("t"), Scopes: &[]string{"api"}}))(t)
			return u, in.Client(t, tok.Token)
		}
		reporter, rc := user("reporter")
		_, gc := user("guest")
		grp := must(root.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("Pub"), Path: gitlab.Ptr("pub"),
			Visibility: gitlab.Ptr(gitlab.PublicVisibility)}))(t)
		proj := must(root.Projects.CreateProject(&gitlab.CreateProjectOptions{Name: gitlab.Ptr("Open"), NamespaceID: &grp.ID,
			Visibility: gitlab.Ptr(gitlab.PublicVisibility)}))(t)
		must(root.ProjectMembers.AddProjectMember(proj.ID, &gitlab.AddProjectMemberOptions{UserID: reporter.ID, AccessLevel: gitlab.Ptr(gitlab.ReporterPermissions)}))(t)
		objs := []forge.Object{
			forge.Issue{SourceID: gh("I1"), IID: 1, Title: "Secret", Confidential: true, Author: octo, CreatedAt: at(1), UpdatedAt: at(1)},
			forge.Issue{SourceID: gh("I2"), IID: 2, Title: "Open", Author: octo, CreatedAt: at(2), UpdatedAt: at(2)},
			forge.Note{SourceID: gh("N1"), On: forge.Noteable{Type: forge.OnIssue, IID: 2}, Body: "public", Author: octo, CreatedAt: at(3), UpdatedAt: at(3)},
			forge.Note{SourceID: gh("N2"), On: forge.Noteable{Type: forge.OnIssue, IID: 2}, Body: "internal", Internal: true, Author: octo, CreatedAt: at(4), UpdatedAt: at(4)},
		}
		if err := in.App.Store.Write(ctx, func(tx *store.Tx) error { _, err := tx.WriteContent(ctx, proj.ID, objs); return err }); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name          string
			client        *gitlab.Client
			issues, notes int
		}{
			{"anonymous", in.Client(t, ""), 1, 1},
			{"guest", gc, 1, 1},
			{"reporter", rc, 2, 2},
			{"admin", root, 2, 2},
		} {
			is := must(c.client.Issues.ListProjectIssues(proj.ID, nil))(t)
			all := must(c.client.Issues.ListIssues(&gitlab.ListIssuesOptions{Scope: gitlab.Ptr("all")}))(t)
			ns := must(c.client.Notes.ListIssueNotes(proj.ID, 2, nil))(t)
			ds := must(c.client.Discussions.ListIssueDiscussions(proj.ID, 2, nil))(t)
			if len(is) != c.issues || len(all) != c.issues || len(ns) != c.notes || len(ds) != c.notes {
				t.Errorf("%s: %d issues, %d across projects, %d notes, %d discussions; want %d issues, %d notes",
					c.name, len(is), len(all), len(ns), len(ds), c.issues, c.notes)
			}
			_, _, err := c.client.Issues.GetIssue(proj.ID, 1)
			if visible := err == nil; visible != (c.issues == 2) {
				t.Errorf("%s gets the confidential issue: %v", c.name, err)
			}
		}
	})
}
