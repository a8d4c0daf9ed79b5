package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/store"
)

// TestGroupPages: a group's page at "/<path>" and at the API's web_url
// ("/groups/<path>") shows its description and the subgroups and projects
// the viewer may see; a group they may not see is not there.
func TestGroupPages(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{Workers: 1}, func(t *testing.T, in *apptest.Instance) {
		reader, rtok := user(t, in, "reader")
		_, stok := user(t, in, "stranger")
		root := in.Client(t, in.RootToken)
		group := func(path string, parent *int64, vis gitlab.VisibilityValue) *gitlab.Group {
			t.Helper()
			name := path
			if i := strings.LastIndex(path, "/"); i >= 0 {
				name = path[i+1:]
			}
			g, _, err := root.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr(strings.ToUpper(name[:1]) + name[1:]), Path: gitlab.Ptr(name),
				ParentID: parent, Visibility: gitlab.Ptr(vis), Description: gitlab.Ptr("About **" + name + "** " + hostile)})
			if err != nil {
				t.Fatal(err)
			}
			return g
		}
		project := func(g *gitlab.Group, path string, vis gitlab.VisibilityValue) *gitlab.Project {
			t.Helper()
			p, _, err := root.Projects.CreateProject(&gitlab.CreateProjectOptions{Path: gitlab.Ptr(path), NamespaceID: gitlab.Ptr(g.ID),
				Visibility: gitlab.Ptr(vis), Description: gitlab.Ptr("Project " + path)})
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		team := group("team", nil, gitlab.PrivateVisibility)
		sub := group("sub", &team.ID, gitlab.PrivateVisibility)
		group("covert", &team.ID, gitlab.PrivateVisibility)
		app := project(team, "app", gitlab.PrivateVisibility)
		project(team, "other", gitlab.PrivateVisibility)
		project(sub, "deep", gitlab.PrivateVisibility)
		pub := group("pub", nil, gitlab.PublicVisibility)
		project(pub, "site", gitlab.PublicVisibility)
		project(pub, "inner", gitlab.PrivateVisibility)
		if _, _, err := root.ProjectMembers.AddProjectMember(app.ID, &gitlab.AddProjectMemberOptions{UserID: reader.ID,
			AccessLevel: gitlab.Ptr(gitlab.ReporterPermissions)}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := root.GroupMembers.AddGroupMember(sub.ID, &gitlab.AddGroupMemberOptions{UserID: gitlab.Ptr(reader.ID),
			AccessLevel: gitlab.Ptr(gitlab.GuestPermissions)}); err != nil {
			t.Fatal(err)
		}
		// The group's own label and milestone; the project sees them too.
		ctx := context.Background()
		gid := func(s string) forge.SourceID { return forge.SourceID{Type: "gitlab", Host: "gitlab.example", ID: s} }
		if err := in.App.Store.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.WriteGroupContent(ctx, int64(team.ID), []forge.Object{
				forge.Label{SourceID: gid("GL1"), Name: "team-label", Color: "#00ff00", Description: "For the team"},
				forge.Milestone{SourceID: gid("GM1"), IID: 4, Title: "Team goal", Description: "Do *it* " + hostile, State: forge.MilestoneActive},
			})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v4/groups/%d/milestones", in.URL, team.ID), nil)
		req.Header.Set("PRIVATE-TOKEN", in.RootToken)
		var ms []struct {
			WebURL string `json:"web_url"`
		}
		if res, err := http.DefaultClient.Do(req); err != nil {
			t.Fatal(err)
		} else {
			err = json.NewDecoder(res.Body).Decode(&ms)
			res.Body.Close()
			if err != nil || len(ms) != 1 {
				t.Fatalf("group milestones: %v %v", ms, err)
			}
		}
		milestonePath := strings.TrimPrefix(ms[0].WebURL, in.URL)
		if milestonePath != "/groups/team/-/milestones/4" {
			t.Fatalf("group milestone web_url %q", ms[0].WebURL)
		}
		// Enough projects in pub for two pages (50 a page) for anonymous viewers: site and these.
		if err := in.App.Store.Write(ctx, func(tx *store.Tx) error {
			for i := 1; i <= 50; i++ {
				name := fmt.Sprintf("z%02d", i)
				if err := tx.CreateProject(ctx, &ferry.Project{Name: name, Path: name, Visibility: ferry.Public, NamespaceID: int64(pub.ID), CreatorID: 1}); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		// The API's web_url of a group is a page.
		g, _, err := root.Groups.GetGroup(team.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		webPath := strings.TrimPrefix(g.WebURL, in.URL)
		if webPath != "/groups/team" {
			t.Fatalf("group web_url %q", g.WebURL)
		}
		b := newBrowser(t, in)
		b.signIn(rtok.Token)
		stranger := newBrowser(t, in)
		stranger.signIn(stok.Token)
		anon := newBrowser(t, in)
		teamPage := []string{`<h1 id="group-name">Team</h1>`, "About <strong>team</strong>", `href="/team/app"`,
			`href="/groups/team/sub"`, `id="projects"`, `<nav aria-label="Group path"`}
		cases := []pageCase{
			{"web_url", b, webPath, 200, teamPage, []string{"other", "covert", "deep"}},
			{"full path", b, "/team", 200, teamPage, []string{"other", "covert"}},
			{"subgroup", b, "/groups/team/sub", 200, []string{`<h1 id="group-name">Sub</h1>`, `href="/groups/team"`, `href="/team/sub/deep"`}, nil},
			{"subgroup by full path", b, "/team/sub", 200, []string{`<h1 id="group-name">Sub</h1>`}, nil},
			{"a subgroup they may not see", b, "/groups/team/covert", 404, nil, []string{"Covert"}},
			{"public group, anonymous", anon, "/pub", 200, []string{`href="/pub/site"`}, []string{"inner"}},
			{"public group web_url, anonymous", anon, "/groups/pub", 200, []string{`<h1 id="group-name">Pub</h1>`, "51 projects you may see",
				`rel="next" href="/groups/pub?page=2"`, `href="/pub/site"`, `href="/pub/z49"`}, []string{"inner", `href="/pub/z50"`}},
			{"public group, page 2", anon, "/groups/pub?page=2", 200, []string{`href="/pub/z50"`, `rel="prev" href="/groups/pub"`},
				[]string{`href="/pub/site"`, `href="/pub/z49"`}},
			{"a user namespace is no group", b, "/root", 404, nil, nil},
			{"unknown group", b, "/groups/nope", 404, nil, nil},
			{"group sub-page that is not", b, "/team/-/issues", 404, nil, nil},
			{"group labels", b, "/groups/team/-/labels", 200, []string{`<nav aria-label="Group"`, `href="/groups/team/-/labels" aria-current="page"`,
				"team-label", `fill="#00ff00"`, "1 label by name<"}, nil},
			{"group milestones", b, "/team/-/milestones", 200, []string{`href="/groups/team/-/milestones/4"`, "Team goal"}, nil},
			{"group milestone web_url", b, milestonePath, 200, []string{`<h1 id="title">Team goal`, "<em>it</em>"}, []string{"issues-h"}},
			{"unknown group milestone", b, "/groups/team/-/milestones/5", 404, nil, nil},
			{"the project's milestones link the group's", b, "/team/app/-/milestones", 200, []string{`href="/groups/team/-/milestones/4"`,
				`<span class="kind">group</span>`}, nil},
			{"the project links its group", b, "/team/app", 200, []string{`<dd id="group"><a href="/groups/team">team</a></dd>`}, nil},
			{"the project's labels hold the group's", b, "/team/app/-/labels", 200, []string{"team-label", `<span class="kind">group</span>`}, nil},
		}
		for _, who := range []*browser{stranger, anon} {
			for _, p := range []string{"/team", "/groups/team", "/groups/team/sub", "/team/sub", "/groups/team/-/labels", "/team/-/milestones", milestonePath} {
				cases = append(cases, pageCase{"outsider", who, p, 404, nil, []string{"About", "app", "Team goal", "team-label"}})
			}
		}
		checkPages(t, cases)
		// Not routed to the web: the API's JSON 404 answers.
		if res, body := stranger.do("GET", "/team", nil); res.StatusCode != 404 || strings.Contains(body, "<html") {
			t.Errorf("GET /team by a stranger: %d %s", res.StatusCode, body)
		}
	})
}
