package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/store"
)

// fixture content, written as an importer would: GitHub user "octo" has no
// ferry account (a placeholder), "alice-gh" shares alice's e-mail (mapped).
var (
	t0      = time.Date(2024, 5, 6, 7, 8, 9, 123000000, time.UTC)
	octo    = forge.SourceUser{SourceID: forge.SourceID{ID: "501"}, Login: "octo", Name: "Octo Cat"}
	aliceGH = forge.SourceUser{SourceID: forge.SourceID{ID: "502"}, Login: "alice-gh", Name: "Alice GH", Email: "Alice@Example.com"}
)

func gh(id string) forge.SourceID { return forge.SourceID{Type: "github", Host: "github.com", ID: id} }

func at(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }

func ptr[T any](v T) *T { return &v }

func fixtureContent() []forge.Object {
	due := time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC)
	pos := &forge.DiffPosition{BaseSHA: "b000", StartSHA: "s000", HeadSHA: "h000", OldPath: "main.go", NewPath: "main.go", NewLine: 12,
		LineRange: &forge.LineRange{Start: forge.LinePosition{LineCode: "abc_10_10", Type: "new", NewLine: 10},
			End: forge.LinePosition{LineCode: "abc_12_12", Type: "new", NewLine: 12}}}
	return []forge.Object{
		forge.Label{SourceID: gh("L1"), Name: "bug", Color: "#d9534f", Description: "Something is broken"},
		forge.Label{SourceID: gh("L2"), Name: "feature", Color: "#5cb85c"},
		forge.Milestone{SourceID: gh("M1"), IID: 1, Title: "v1", Description: "First", State: forge.MilestoneActive, DueDate: &due,
			CreatedAt: at(0), UpdatedAt: at(1)},
		forge.Issue{SourceID: gh("I1"), IID: 1, Title: "Crash on start", Description: "It crashes", State: forge.StateOpened, Author: octo,
			Assignees: []forge.SourceUser{aliceGH}, Labels: []string{"bug"}, MilestoneIID: 1, CreatedAt: at(10), UpdatedAt: at(11)},
		forge.Issue{SourceID: gh("I2"), IID: 2, Title: "Add docs", State: forge.StateClosed, Author: aliceGH, CreatedAt: at(20),
			UpdatedAt: at(22), ClosedAt: ptr(at(22)), ClosedBy: &octo},
		forge.MergeRequest{SourceID: gh("P3"), IID: 3, Title: "Fix crash", Description: "Fixes #1", State: forge.StateMerged,
			SourceBranch: "fix", TargetBranch: "main", SourceSHA: "h000", TargetSHA: "s000", BaseSHA: "b000", MergeCommitSHA: "m000",
			Author: aliceGH, Reviewers: []forge.SourceUser{octo}, Labels: []string{"feature"}, CreatedAt: at(30), UpdatedAt: at(40),
			MergedBy: &octo, MergedAt: ptr(at(40))},
		forge.Note{SourceID: gh("C1"), On: forge.Noteable{Type: forge.OnIssue, IID: 1}, Body: "Confirmed", Author: octo,
			CreatedAt: at(12), UpdatedAt: at(12)},
		forge.Discussion{SourceID: gh("RC1"), On: forge.Noteable{Type: forge.OnMergeRequest, IID: 3}, Notes: []forge.Note{
			{SourceID: gh("RC1"), Body: "Check nil here", Author: octo, Position: pos, Resolvable: true, Resolved: true,
				ResolvedBy: &aliceGH, ResolvedAt: ptr(at(35)), CreatedAt: at(32), UpdatedAt: at(32)},
			{SourceID: gh("RC2"), Body: "Done", Author: aliceGH, Position: pos, Resolvable: true, Resolved: true, CreatedAt: at(34), UpdatedAt: at(34)},
		}},
		forge.Review{SourceID: gh("R0"), MergeRequestIID: 3, State: forge.ReviewChangesRequested, Author: octo, SubmittedAt: at(33)},
		forge.Review{SourceID: gh("R1"), MergeRequestIID: 3, State: forge.ReviewApproved, Author: octo, SubmittedAt: at(39)},
		forge.Review{SourceID: gh("R2"), MergeRequestIID: 3, State: forge.ReviewCommented, Author: aliceGH, SubmittedAt: at(36)},
		forge.AwardEmoji{SourceID: gh("E1"), On: forge.Noteable{Type: forge.OnIssue, IID: 1}, Name: "thumbsup", User: aliceGH, CreatedAt: at(13), UpdatedAt: at(13)},
		forge.AwardEmoji{SourceID: gh("E2"), On: forge.Noteable{Type: forge.OnMergeRequest, IID: 3}, Name: "tada", User: octo, CreatedAt: at(41), UpdatedAt: at(41)},
		forge.AwardEmoji{SourceID: gh("E3"), On: forge.Noteable{Type: forge.OnMergeRequest, IID: 3}, NoteID: "RC1", Name: "eyes", User: aliceGH,
			CreatedAt: at(42), UpdatedAt: at(42)},
		forge.Release{SourceID: gh("REL1"), TagName: "v1.0", Name: "One", Description: "First release", Author: &octo, CommitSHA: "m000",
			CreatedAt: at(50), ReleasedAt: ptr(at(51)), Links: []forge.ReleaseLink{{Name: "linux", URL: "https://example.com/ferry-linux", LinkType: "package"}}},
		forge.ProtectedBranch{SourceID: gh("main"), Name: "main", PushAccessLevel: 40, MergeAccessLevel: 30, AllowForcePush: false},
	}
}

func check(t *testing.T, what string, got, want any) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func TestContentReadBack(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{}, func(t *testing.T, in *apptest.Instance) {
		ctx := context.Background()
		root := in.Client(t, in.RootToken)
		alice := must(root.Users.CreateUser(&gitlab.CreateUserOptions{Username: gitlab.Ptr("alice"), Name: gitlab.Ptr("Alice"),
			Email: gitlab.Ptr("alice@example.com"), Password: gitlab.Ptr("s3cret-pass")}))(t)
		bob := must(root.Users.CreateUser(&gitlab.CreateUserOptions{Username: gitlab.Ptr("bob"), Name: gitlab.Ptr("Bob"),
			Email: gitlab.Ptr("bob@example.com"), Password: gitlab.Ptr("s3cret-pass")}))(t)
		token := func(u *gitlab.User) *gitlab.Client {
			tok := must(root.Users.CreatePersonalAccessToken(u.ID, &gitlab.CreatePersonalAccessTokenOptions{Name: gitlab.Ptr("t"), Scopes: &[]string{"api"}}))(t)
			return in.Client(t, tok.Token)
		}
		ac, bc := token(alice), token(bob)
		grp := must(root.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("Org"), Path: gitlab.Ptr("org")}))(t)
		proj := must(root.Projects.CreateProject(&gitlab.CreateProjectOptions{Name: gitlab.Ptr("Repo"), NamespaceID: &grp.ID}))(t)
		must(root.ProjectMembers.AddProjectMember(proj.ID, &gitlab.AddProjectMemberOptions{UserID: alice.ID, AccessLevel: gitlab.Ptr(gitlab.DeveloperPermissions)}))(t)
		if err := in.App.Store.Write(ctx, func(tx *store.Tx) error { _, err := tx.WriteContent(ctx, proj.ID, fixtureContent()); return err }); err != nil {
			t.Fatal(err)
		}

		// Issues, field by field.
		issues := must(root.Issues.ListProjectIssues(proj.ID, &gitlab.ListProjectIssuesOptions{OrderBy: gitlab.Ptr("created_at"), Sort: gitlab.Ptr("asc")}))(t)
		if len(issues) != 2 {
			t.Fatalf("issues: %d", len(issues))
		}
		i1, i2 := issues[0], issues[1]
		check(t, "iid", i1.IID, int64(1))
		check(t, "project_id", i1.ProjectID, proj.ID)
		check(t, "title", i1.Title, "Crash on start")
		check(t, "description", i1.Description, "It crashes")
		check(t, "state", i1.State, "opened")
		check(t, "author is a placeholder", i1.Author.Name, "Placeholder Octo Cat")
		if len(i1.Assignees) != 1 || i1.Assignees[0].ID != alice.ID || i1.Assignee == nil || i1.Assignee.ID != alice.ID {
			t.Errorf("assignees (alice by e-mail): %+v", i1.Assignees)
		}
		if len(i1.Labels) != 1 || i1.Labels[0] != "bug" {
			t.Errorf("labels %v", i1.Labels)
		}
		if i1.Milestone == nil || i1.Milestone.Title != "v1" || i1.Milestone.IID != 1 || i1.Milestone.DueDate.String() != "2024-12-31" {
			t.Errorf("milestone %+v", i1.Milestone)
		}
		check(t, "created_at", i1.CreatedAt.Equal(at(10)), true)
		check(t, "updated_at", i1.UpdatedAt.Equal(at(11)), true)
		check(t, "upvotes", i1.Upvotes, int64(1))
		check(t, "user_notes_count", i1.UserNotesCount, int64(1))
		check(t, "references.full", i1.References.Full, "org/repo#1")
		check(t, "web_url", i1.WebURL, in.URL+"/org/repo/-/issues/1")
		check(t, "closed state", i2.State, "closed")
		check(t, "closed_at", i2.ClosedAt != nil && i2.ClosedAt.Equal(at(22)), true)
		check(t, "closed_by", i2.ClosedBy != nil && i2.ClosedBy.Name == "Placeholder Octo Cat", true)
		check(t, "author by e-mail", i2.Author.ID, alice.ID)

		// Filters.
		filters := []struct {
			name string
			opt  *gitlab.ListProjectIssuesOptions
			want []int64
		}{
			{"state", &gitlab.ListProjectIssuesOptions{State: gitlab.Ptr("closed")}, []int64{2}},
			{"labels", &gitlab.ListProjectIssuesOptions{Labels: &gitlab.LabelOptions{"bug"}}, []int64{1}},
			{"milestone", &gitlab.ListProjectIssuesOptions{Milestone: gitlab.Ptr("v1")}, []int64{1}},
			{"author", &gitlab.ListProjectIssuesOptions{AuthorID: &alice.ID}, []int64{2}},
			{"assignee", &gitlab.ListProjectIssuesOptions{AssigneeID: gitlab.AssigneeID(alice.ID)}, []int64{1}},
			{"no assignee", &gitlab.ListProjectIssuesOptions{AssigneeID: gitlab.AssigneeID(gitlab.UserIDNone)}, []int64{2}},
			{"search", &gitlab.ListProjectIssuesOptions{Search: gitlab.Ptr("DOCS")}, []int64{2}},
			{"iids", &gitlab.ListProjectIssuesOptions{IIDs: &[]int64{1}}, []int64{1}},
			{"order", &gitlab.ListProjectIssuesOptions{OrderBy: gitlab.Ptr("updated_at")}, []int64{2, 1}},
		}
		for _, f := range filters {
			got := must(root.Issues.ListProjectIssues(proj.ID, f.opt))(t)
			var iids []int64
			for _, i := range got {
				iids = append(iids, i.IID)
			}
			if len(iids) != len(f.want) || (len(iids) > 0 && iids[0] != f.want[0]) {
				t.Errorf("filter %s: %v, want %v", f.name, iids, f.want)
			}
		}
		if one := must(root.Issues.GetIssue("org/repo", 1))(t); one.ID != i1.ID || one.Title != i1.Title {
			t.Errorf("single issue %+v", one)
		}

		// Notes, discussions and emoji of the issue.
		notes := must(root.Notes.ListIssueNotes(proj.ID, 1, nil))(t)
		if len(notes) != 1 || notes[0].Body != "Confirmed" || notes[0].NoteableType != "Issue" || notes[0].NoteableID != i1.ID ||
			notes[0].NoteableIID != 1 || notes[0].System || notes[0].Author.Name != "Placeholder Octo Cat" || !notes[0].CreatedAt.Equal(at(12)) {
			t.Errorf("issue notes %+v", notes)
		}
		ds := must(root.Discussions.ListIssueDiscussions(proj.ID, 1, nil))(t)
		if len(ds) != 1 || !ds[0].IndividualNote || len(ds[0].ID) != 40 || len(ds[0].Notes) != 1 || ds[0].Notes[0].ID != notes[0].ID {
			t.Errorf("issue discussions %+v", ds)
		}
		emoji := must(root.AwardEmoji.ListIssueAwardEmoji(proj.ID, 1, nil))(t)
		if len(emoji) != 1 || emoji[0].Name != "thumbsup" || emoji[0].User.ID != alice.ID || emoji[0].AwardableType != "Issue" ||
			emoji[0].AwardableID != i1.ID {
			t.Errorf("issue emoji %+v", emoji)
		}

		// The merge request.
		mrs := must(root.MergeRequests.ListProjectMergeRequests(proj.ID, &gitlab.ListProjectMergeRequestsOptions{State: gitlab.Ptr("merged")}))(t)
		if len(mrs) != 1 {
			t.Fatalf("merged MRs: %d", len(mrs))
		}
		mr := must(root.MergeRequests.GetMergeRequest(proj.ID, 3, nil))(t)
		check(t, "mr iid", mr.IID, int64(3))
		check(t, "mr state", mr.State, "merged")
		check(t, "mr branches", mr.SourceBranch+">"+mr.TargetBranch, "fix>main")
		check(t, "mr sha", mr.SHA, "h000")
		check(t, "mr merge commit", mr.MergeCommitSHA, "m000")
		check(t, "mr author", mr.Author.ID, alice.ID)
		check(t, "mr merged_by", mr.MergeUser != nil && mr.MergeUser.Name == "Placeholder Octo Cat", true)
		check(t, "mr merged_at", mr.MergedAt != nil && mr.MergedAt.Equal(at(40)), true)
		check(t, "mr reviewers", len(mr.Reviewers) == 1 && mr.Reviewers[0].Name == "Placeholder Octo Cat", true)
		check(t, "mr labels", len(mr.Labels) == 1 && mr.Labels[0] == "feature", true)
		check(t, "mr diff refs", mr.DiffRefs.BaseSha+mr.DiffRefs.StartSha+mr.DiffRefs.HeadSha, "b000s000h000")
		check(t, "mr notes count", mr.UserNotesCount, int64(2))

		mds := must(root.Discussions.ListMergeRequestDiscussions(proj.ID, 3, nil))(t)
		if len(mds) != 1 || mds[0].IndividualNote || len(mds[0].Notes) != 2 {
			t.Fatalf("MR discussions %+v", mds)
		}
		root0, reply := mds[0].Notes[0], mds[0].Notes[1]
		check(t, "diff note type", string(root0.Type), "DiffNote")
		check(t, "diff note body", root0.Body+"/"+reply.Body, "Check nil here/Done")
		check(t, "resolved", root0.Resolvable && root0.Resolved && root0.ResolvedBy.ID == alice.ID, true)
		p := root0.Position
		if p == nil || p.BaseSHA != "b000" || p.StartSHA != "s000" || p.HeadSHA != "h000" || p.OldPath != "main.go" || p.NewPath != "main.go" ||
			p.NewLine != 12 || p.OldLine != 0 || p.PositionType != "text" || p.LineRange == nil || p.LineRange.StartRange.NewLine != 10 ||
			p.LineRange.EndRange.LineCode != "abc_12_12" {
			t.Errorf("position %+v", p)
		}
		if mn := must(root.Notes.ListMergeRequestNotes(proj.ID, 3, nil))(t); len(mn) != 2 {
			t.Errorf("MR notes: %d", len(mn))
		}
		if n := must(root.Notes.GetMergeRequestNote(proj.ID, 3, root0.ID))(t); n.Body != root0.Body || n.Position == nil {
			t.Errorf("single note %+v", n)
		}
		if d := must(root.Discussions.GetMergeRequestDiscussion(proj.ID, 3, mds[0].ID))(t); len(d.Notes) != 2 {
			t.Errorf("single discussion %+v", d)
		}
		ne := must(root.AwardEmoji.ListMergeRequestAwardEmojiOnNote(proj.ID, 3, root0.ID, nil))(t)
		if len(ne) != 1 || ne[0].Name != "eyes" || ne[0].AwardableType != "Note" || ne[0].AwardableID != root0.ID || ne[0].User.ID != alice.ID {
			t.Errorf("emoji on a note %+v", ne)
		}
		if e := must(root.AwardEmoji.ListMergeRequestAwardEmojiOnNote(proj.ID, 3, reply.ID, nil))(t); len(e) != 0 {
			t.Errorf("emoji on the reply %+v", e)
		}
		if _, _, err := root.Notes.GetMergeRequestNote(proj.ID, 3, 999999); status(err) != http.StatusNotFound {
			t.Errorf("missing note: %v", err)
		}
		appr := must(root.MergeRequests.GetMergeRequestApprovals(proj.ID, 3))(t)
		if len(appr.ApprovedBy) != 1 || appr.ApprovedBy[0].User.Name != "Placeholder Octo Cat" || appr.IID != 3 {
			t.Errorf("approvals %+v", appr)
		}
		rv := must(root.MergeRequests.GetMergeRequestReviewers(proj.ID, 3))(t)
		if len(rv) != 2 || rv[0].User.Name != "Placeholder Octo Cat" || rv[0].State != "approved" || rv[1].User.ID != alice.ID || rv[1].State != "reviewed" {
			t.Errorf("reviewers %+v", rv)
		}
		if e := must(root.AwardEmoji.ListMergeRequestAwardEmoji(proj.ID, 3, nil))(t); len(e) != 1 || e[0].Name != "tada" || e[0].AwardableType != "MergeRequest" {
			t.Errorf("MR emoji %+v", e)
		}

		// Labels, milestones, releases, protected branches.
		labels := must(root.Labels.ListLabels(proj.ID, nil))(t)
		if len(labels) != 2 || labels[0].Name != "bug" || labels[0].Color != "#d9534f" || labels[0].Description != "Something is broken" ||
			labels[0].OpenIssuesCount != 1 || labels[1].OpenMergeRequestsCount != 0 || !labels[0].IsProjectLabel {
			t.Errorf("labels %+v", labels)
		}
		ms := must(root.Milestones.ListMilestones(proj.ID, nil))(t)
		if len(ms) != 1 || ms[0].IID != 1 || ms[0].Title != "v1" || ms[0].Description != "First" || ms[0].State != "active" ||
			ms[0].ProjectID != proj.ID || ms[0].DueDate.String() != "2024-12-31" || ms[0].StartDate != nil {
			t.Errorf("milestones %+v", ms)
		}
		rels := must(root.Releases.ListReleases(proj.ID, nil))(t)
		rel := must(root.Releases.GetRelease(proj.ID, "v1.0"))(t)
		if len(rels) != 1 || rel.Name != "One" || rel.Description != "First release" || rel.Author.Name != "Placeholder Octo Cat" ||
			!rel.ReleasedAt.Equal(at(51)) || !rel.CreatedAt.Equal(at(50)) || rel.Commit.ID != "m000" || len(rel.Assets.Links) != 1 ||
			rel.Assets.Links[0].URL != "https://example.com/ferry-linux" || rel.Assets.Links[0].LinkType != "package" {
			t.Errorf("release %+v", rel)
		}
		if _, _, err := root.Releases.GetRelease(proj.ID, "v9"); status(err) != http.StatusNotFound {
			t.Errorf("missing release: %v", err)
		}
		pbs := must(root.ProtectedBranches.ListProtectedBranches(proj.ID, nil))(t)
		if len(pbs) != 1 || pbs[0].Name != "main" || pbs[0].PushAccessLevels[0].AccessLevel != gitlab.MaintainerPermissions ||
			pbs[0].MergeAccessLevels[0].AccessLevel != gitlab.DeveloperPermissions || pbs[0].AllowForcePush {
			t.Errorf("protected branches %+v", pbs)
		}

		// Across projects: alice's own by default, everything visible with scope=all.
		mine := must(ac.MergeRequests.ListMergeRequests(nil))(t)
		all := must(ac.Issues.ListIssues(&gitlab.ListIssuesOptions{Scope: gitlab.Ptr("all")}))(t)
		if len(mine) != 1 || mine[0].IID != 3 || len(all) != 2 {
			t.Errorf("alice's MRs %d, all issues %d", len(mine), len(all))
		}

		// An outsider and an anonymous caller get GitLab's 404s.
		anon := in.Client(t, "")
		for name, c := range map[string]*gitlab.Client{"outsider": bc, "anonymous": anon} {
			if _, _, err := c.Issues.ListProjectIssues(proj.ID, nil); status(err) != http.StatusNotFound {
				t.Errorf("%s lists issues: %v", name, err)
			}
			if _, _, err := c.Issues.GetIssue(proj.ID, 1); status(err) != http.StatusNotFound {
				t.Errorf("%s gets issue: %v", name, err)
			}
			if _, _, err := c.Discussions.ListMergeRequestDiscussions(proj.ID, 3, nil); status(err) != http.StatusNotFound {
				t.Errorf("%s lists discussions: %v", name, err)
			}
			if got := must(c.Issues.ListIssues(&gitlab.ListIssuesOptions{Scope: gitlab.Ptr("all")}))(t); len(got) != 0 {
				t.Errorf("%s sees %d issues across projects", name, len(got))
			}
		}
		if _, _, err := root.Issues.GetIssue(proj.ID, 99); status(err) != http.StatusNotFound {
			t.Errorf("missing issue: %v", err)
		}
	})
}
