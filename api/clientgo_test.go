package api_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry/app/apptest"
)

func status(err error) int {
	var e *gitlab.ErrorResponse
	if errors.As(err, &e) {
		return e.StatusCode
	}
	return 0
}

// must turns a client call's results into a value, failing the test on
// error: must(c.Users.CurrentUser())(t).
func must[T any](v T, _ *gitlab.Response, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// TestClientGo drives users, tokens, groups, subgroups, projects, members
// and pagination with GitLab's official Go client.
func TestClientGo(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{}, func(t *testing.T, in *apptest.Instance) {
		root := in.Client(t, in.RootToken)

		me := must(root.Users.CurrentUser())(t)
		if me.Username != "root" || !me.IsAdmin {
			t.Fatalf("current user: %+v", me)
		}

		// An admin creates a user and a token for them.
		alice := must(root.Users.CreateUser(&gitlab.CreateUserOptions{
			Username: gitlab.Ptr("alice"), Name: gitlab.Ptr("Alice"), Email: gitlab.Ptr("alice@example.com"), Password: gitlab.Ptr("s3cret-pass")}))(t)
		if alice.Username != "alice" || alice.Email != "alice@example.com" {
			t.Fatalf("created user: %+v", alice)
		}
		tok := must(root.Users.CreatePersonalAccessToken(alice.ID, &gitlab.CreatePersonalAccessTokenOptions{
			Name: gitlab.Ptr("cli"), Scopes: &[]string{"api"}}))(t)
		if tok.Token == "" || tok.UserID != alice.ID || !tok.Active {
			t.Fatalf("token: %+v", tok)
		}
		ac := in.Client(t, tok.Token)
		if u := must(ac.Users.CurrentUser())(t); u.ID != alice.ID {
			t.Fatalf("alice's token authenticates %d", u.ID)
		}
		self := must(ac.PersonalAccessTokens.GetSinglePersonalAccessToken())(t)
		if self.ID != tok.ID || self.Name != "cli" {
			t.Fatalf("token self: %+v", self)
		}

		// Groups, a subgroup and a project in it.
		grp := must(root.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("Group"), Path: gitlab.Ptr("group")}))(t)
		sub := must(root.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("Sub"), Path: gitlab.Ptr("subgroup"), ParentID: &grp.ID}))(t)
		if sub.FullPath != "group/subgroup" || sub.ParentID != grp.ID || sub.Visibility != gitlab.PrivateVisibility {
			t.Fatalf("subgroup: %+v", sub)
		}
		proj := must(root.Projects.CreateProject(&gitlab.CreateProjectOptions{Name: gitlab.Ptr("Project"), NamespaceID: &sub.ID}))(t)
		if proj.PathWithNamespace != "group/subgroup/project" || proj.NameWithNamespace != "Group / Sub / Project" {
			t.Fatalf("project: %+v", proj)
		}
		got := must(root.Projects.GetProject("group/subgroup/project", nil))(t)
		if got.ID != proj.ID || got.Namespace.FullPath != "group/subgroup" {
			t.Fatalf("project by path: %+v", got)
		}
		if g := must(root.Groups.GetGroup("group/subgroup", nil))(t); g.ID != sub.ID || len(g.Projects) != 1 {
			t.Fatalf("group by path: %+v", g)
		}
		subs := must(root.Groups.ListSubGroups(grp.ID, nil))(t)
		desc := must(root.Groups.ListDescendantGroups("group", nil))(t)
		if len(subs) != 1 || subs[0].ID != sub.ID || len(desc) != 1 {
			t.Fatalf("subgroups %v descendants %v", subs, desc)
		}
		gp := must(root.Groups.ListGroupProjects(grp.ID, &gitlab.ListGroupProjectsOptions{IncludeSubGroups: gitlab.Ptr(true)}))(t)
		if len(gp) != 1 || gp[0].ID != proj.ID {
			t.Fatalf("group projects with subgroups: %v", gp)
		}

		// Alice cannot see the private project until she is a member.
		if _, _, err := ac.Projects.GetProject(proj.ID, nil); status(err) != http.StatusNotFound {
			t.Fatalf("outsider sees private project: %v", err)
		}
		m := must(root.GroupMembers.AddGroupMember(grp.ID, &gitlab.AddGroupMemberOptions{UserID: &alice.ID, AccessLevel: gitlab.Ptr(gitlab.DeveloperPermissions)}))(t)
		if m.AccessLevel != gitlab.DeveloperPermissions || m.Username != "alice" {
			t.Fatalf("member: %+v", m)
		}
		if p := must(ac.Projects.GetProject(proj.ID, nil))(t); p.Permissions == nil || p.Permissions.GroupAccess == nil ||
			p.Permissions.GroupAccess.AccessLevel != gitlab.DeveloperPermissions {
			t.Fatalf("inherited permissions: %+v", p.Permissions)
		}
		all := must(root.ProjectMembers.ListAllProjectMembers(proj.ID, nil))(t)
		if len(all) != 2 {
			t.Fatalf("project members/all: %d", len(all))
		}
		direct := must(root.ProjectMembers.ListProjectMembers(proj.ID, nil))(t)
		if len(direct) != 0 {
			t.Fatalf("direct project members: %d", len(direct))
		}
		// A developer may not delete the project or add members.
		if _, err := ac.Projects.DeleteProject(proj.ID, nil); status(err) != http.StatusForbidden {
			t.Fatalf("developer deletes project: %v", err)
		}
		if _, _, err := ac.GroupMembers.AddGroupMember(grp.ID, &gitlab.AddGroupMemberOptions{UserID: &me.ID, AccessLevel: gitlab.Ptr(gitlab.GuestPermissions)}); status(err) != http.StatusForbidden {
			t.Fatalf("developer adds member: %v", err)
		}
		m = must(root.GroupMembers.EditGroupMember(grp.ID, alice.ID, &gitlab.EditGroupMemberOptions{AccessLevel: gitlab.Ptr(gitlab.MaintainerPermissions)}))(t)
		if m.AccessLevel != gitlab.MaintainerPermissions {
			t.Fatalf("edited member: %+v", m)
		}
		groups := must(ac.Groups.ListGroups(nil))(t)
		if len(groups) != 2 {
			t.Fatalf("alice's groups: %d", len(groups))
		}
		ns := must(ac.Namespaces.ListNamespaces(nil))(t)
		if len(ns) != 3 { // her own and the two groups
			t.Fatalf("alice's namespaces: %d", len(ns))
		}

		// 250 projects page as 3 pages of 100 with GitLab's headers.
		for i := 0; i < 249; i++ {
			must(root.Projects.CreateProject(&gitlab.CreateProjectOptions{Name: gitlab.Ptr(fmt.Sprintf("p%03d", i)), NamespaceID: &grp.ID}))(t)
		}
		seen := map[int64]bool{}
		opt := &gitlab.ListProjectsOptions{ListOptions: gitlab.ListOptions{PerPage: 100, Page: 1}}
		pages := 0
		for {
			ps, resp, err := root.Projects.ListProjects(opt)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			if resp.TotalItems != 250 || resp.TotalPages != 3 || resp.ItemsPerPage != 100 || resp.CurrentPage != int64(pages) {
				t.Fatalf("page %d headers: %+v", pages, resp)
			}
			for _, p := range ps {
				if seen[p.ID] {
					t.Fatalf("project %d on two pages", p.ID)
				}
				seen[p.ID] = true
			}
			if resp.NextPage == 0 {
				break
			}
			opt.Page = resp.NextPage
		}
		if pages != 3 || len(seen) != 250 {
			t.Fatalf("paged %d pages, %d projects", pages, len(seen))
		}

		// Renaming the group moves its projects' paths; deleting it removes them.
		must(root.Groups.UpdateGroup(grp.ID, &gitlab.UpdateGroupOptions{Path: gitlab.Ptr("moved")}))(t)
		if p := must(root.Projects.GetProject("moved/subgroup/project", nil))(t); p.ID != proj.ID {
			t.Fatalf("moved project: %+v", p)
		}
		if _, err := root.Groups.DeleteGroup(grp.ID, nil); err != nil {
			t.Fatal(err)
		}
		if _, _, err := root.Projects.GetProject(proj.ID, nil); status(err) != http.StatusNotFound {
			t.Fatalf("project of deleted group: %v", err)
		}

		// Revoked tokens stop working.
		if _, err := ac.PersonalAccessTokens.RevokePersonalAccessTokenSelf(); err != nil {
			t.Fatal(err)
		}
		if _, _, err := ac.Users.CurrentUser(); status(err) != http.StatusUnauthorized {
			t.Fatalf("revoked token: %v", err)
		}
	})
}
