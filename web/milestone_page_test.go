package web_test

import (
	"context"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/store"
)

// TestMilestonePageByIdentity: milestones that share one title (two of a
// project's, from a source that allows it, and its group's) each list
// only their own issues and merge requests: a milestone's page selects
// them by the milestone, not by its title.
func TestMilestonePageByIdentity(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{Workers: 1}, func(t *testing.T, in *apptest.Instance) {
		ctx := context.Background()
		reader, rtok := user(t, in, "reader")
		root := in.Client(t, in.RootToken)
		team, _, err := root.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("Team"), Path: gitlab.Ptr("team"),
			Visibility: gitlab.Ptr(gitlab.PrivateVisibility)})
		if err != nil {
			t.Fatal(err)
		}
		app, _, err := root.Projects.CreateProject(&gitlab.CreateProjectOptions{Path: gitlab.Ptr("app"), NamespaceID: gitlab.Ptr(team.ID),
			Visibility: gitlab.Ptr(gitlab.PrivateVisibility)})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := root.GroupMembers.AddGroupMember(team.ID, &gitlab.AddGroupMemberOptions{UserID: gitlab.Ptr(reader.ID),
			AccessLevel: gitlab.Ptr(gitlab.ReporterPermissions)}); err != nil {
			t.Fatal(err)
		}
		id := func(s string) forge.SourceID { return forge.SourceID{Type: "gitlab", Host: "gitlab.example", ID: s} }
		octo := forge.SourceUser{SourceID: forge.SourceID{ID: "501"}, Login: "octo", Name: "Octo Cat"}
		err = in.App.Store.Write(ctx, func(tx *store.Tx) error {
			if _, err := tx.WriteContent(ctx, int64(app.ID), []forge.Object{
				forge.Milestone{SourceID: id("M7"), IID: 7, Title: "Shared title", Description: "Seventh of the project", State: forge.MilestoneActive},
				forge.Milestone{SourceID: id("M8"), IID: 8, Title: "Shared title", Description: "Eighth of the project", State: forge.MilestoneActive},
				forge.Issue{SourceID: id("I1"), IID: 1, Title: "Issue of seven", State: forge.StateOpened, Author: octo, MilestoneIID: 7},
				forge.Issue{SourceID: id("I2"), IID: 2, Title: "Issue of eight", State: forge.StateOpened, Author: octo, MilestoneIID: 8},
				forge.Issue{SourceID: id("I3"), IID: 3, Title: "Issue of none", State: forge.StateOpened, Author: octo},
				forge.MergeRequest{SourceID: id("MR10"), IID: 10, Title: "Change of seven", State: forge.StateOpened, Author: octo, MilestoneIID: 7},
				forge.MergeRequest{SourceID: id("MR11"), IID: 11, Title: "Change of eight", State: forge.StateOpened, Author: octo, MilestoneIID: 8},
			}); err != nil {
				return err
			}
			_, err := tx.WriteGroupContent(ctx, int64(team.ID), []forge.Object{
				forge.Milestone{SourceID: id("GM7"), IID: 7, Title: "Shared title", Description: "Of the group", State: forge.MilestoneActive},
			})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		b := newBrowser(t, in)
		b.signIn(rtok.Token)
		all := []string{"Issue of seven", "Issue of eight", "Issue of none", "Change of seven", "Change of eight"}
		without := func(keep ...string) []string {
			var out []string
			for _, s := range all {
				drop := true
				for _, k := range keep {
					drop = drop && s != k
				}
				if drop {
					out = append(out, s)
				}
			}
			return out
		}
		checkPages(t, []pageCase{
			{"the project's seventh", b, "/team/app/-/milestones/7", 200, []string{"Seventh of the project", `href="/team/app/-/issues/1"`,
				"Issue of seven", `href="/team/app/-/merge_requests/10"`, "Change of seven", "1 issue in this milestone",
				"1 merge request in this milestone"}, without("Issue of seven", "Change of seven")},
			{"the project's eighth", b, "/team/app/-/milestones/8", 200, []string{"Eighth of the project", `href="/team/app/-/issues/2"`,
				"Issue of eight", `href="/team/app/-/merge_requests/11"`, "Change of eight", "1 issue in this milestone",
				"1 merge request in this milestone"}, without("Issue of eight", "Change of eight")},
			{"the group's", b, "/groups/team/-/milestones/7", 200, []string{"Of the group", "Shared title"}, all},
		})
	})
}
