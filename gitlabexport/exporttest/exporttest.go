// Package exporttest seeds a store with a group and a project holding one
// of every kind of content a relation export carries, for the tests of
// package gitlabexport and of the export endpoints.
//
// It is test support only; production code must not import it.
package exporttest

import (
	"context"
	"testing"
	"time"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/forge/forgetest"
	"github.com/ferry-import/ferry/store"
)

// Fixture is what Seed created.
type Fixture struct {
	Owner        *ferry.User // owner of the group
	Maintainer   *ferry.User // maintainer of the project
	Developer    *ferry.User // developer of the project
	Group        *ferry.Namespace
	Project      *ferry.Project
	Content      []forge.Object // written to the project
	GroupContent []forge.Object // written to the group
}

// Counts of what Seed writes to the project.
const (
	Issues        = 6 // forgetest issues 1–5, and issue 10
	IssueNotes    = 2 // on each of issues 1–5
	MergeRequests = 1
)

func src(id string) forge.SourceID { s := forgetest.Source; s.ID = id; return s }

// Project content: forgetest's issues 1–5 (two notes each), issue 10 in
// milestone 1 closed by user 2, and merge request 100 with a diff thread
// (a multi-line diff note and a reply), an emoji on it and on its diff
// note, an approval, a reviewer, labels and a milestone; labels, a
// milestone, a release with a link, a protected branch, a member, and
// resource events on issue 10 and merge request 100.
func projectContent() []forge.Object {
	t0 := forgetest.T0
	due := time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC)
	closed := t0.Add(time.Hour)
	alice, bob, carol := forgetest.User(0), forgetest.User(1), forgetest.User(2)
	objs := []forge.Object{
		forge.Label{SourceID: src("l-bug"), Name: "bug", Color: "#ff0000", Description: "Broken", CreatedAt: t0, UpdatedAt: t0},
		forge.Label{SourceID: src("l-feature"), Name: "feature", Color: "#00ff00", CreatedAt: t0, UpdatedAt: t0},
		forge.Milestone{SourceID: src("m1"), IID: 1, Title: "v1", State: forge.MilestoneActive, DueDate: &due, CreatedAt: t0, UpdatedAt: t0},
	}
	objs = append(objs, forgetest.Issues(1, 5, IssueNotes, 3)...)
	objs = append(objs,
		forge.Issue{SourceID: src("issue-10"), IID: 10, Title: "In a milestone", Description: "closed", State: forge.StateClosed, Author: carol,
			Labels: []string{"feature"}, MilestoneIID: 1, CreatedAt: t0, UpdatedAt: closed, ClosedAt: &closed, ClosedBy: &carol},
		forge.MergeRequest{SourceID: src("pr-100"), IID: 100, Title: "Add a.go", Description: "PR body", State: forge.StateMerged,
			SourceBranch: "feature", TargetBranch: "main", SourceSHA: "1111111111111111111111111111111111111111",
			TargetSHA: "2222222222222222222222222222222222222222", BaseSHA: "3333333333333333333333333333333333333333",
			MergeCommitSHA: "4444444444444444444444444444444444444444", Author: alice, Assignees: []forge.SourceUser{alice},
			Reviewers: []forge.SourceUser{bob}, Labels: []string{"bug", "feature"}, MilestoneIID: 1, CreatedAt: t0, UpdatedAt: closed,
			MergedBy: &bob, MergedAt: &closed},
		forge.Discussion{SourceID: src("d-1"), On: forge.Noteable{Type: forge.OnMergeRequest, IID: 100}, Notes: []forge.Note{
			{SourceID: src("c-1"), Body: "Why this line?", Author: bob, Resolvable: true, CreatedAt: t0.Add(time.Minute), UpdatedAt: t0.Add(time.Minute),
				Position: &forge.DiffPosition{BaseSHA: "3333333333333333333333333333333333333333", StartSHA: "2222222222222222222222222222222222222222",
					HeadSHA: "1111111111111111111111111111111111111111", OldPath: "a.go", NewPath: "a.go", NewLine: 12, Type: "text",
					LineRange: &forge.LineRange{Start: forge.LinePosition{LineCode: "abc_10_10", Type: "new", NewLine: 10},
						End: forge.LinePosition{LineCode: "abc_12_12", Type: "new", NewLine: 12}}}},
			{SourceID: src("c-2"), Body: "Because.", Author: alice, CreatedAt: t0.Add(2 * time.Minute), UpdatedAt: t0.Add(2 * time.Minute)},
		}},
		forge.Approval{SourceID: src("a-1"), MergeRequestIID: 100, User: bob, ApprovedAt: closed},
		forge.AwardEmoji{SourceID: src("e-1"), On: forge.Noteable{Type: forge.OnMergeRequest, IID: 100}, Name: "tada", User: bob, CreatedAt: t0, UpdatedAt: t0},
		forge.AwardEmoji{SourceID: src("e-2"), On: forge.Noteable{Type: forge.OnMergeRequest, IID: 100}, NoteID: "c-1", Name: "thumbsup", User: alice,
			CreatedAt: t0, UpdatedAt: t0},
		forge.AwardEmoji{SourceID: src("e-3"), On: forge.Noteable{Type: forge.OnIssue, IID: 1}, Name: "thumbsdown", User: carol, CreatedAt: t0, UpdatedAt: t0},
		forge.Release{SourceID: src("rel-1"), TagName: "v1.0", Name: "One", Description: "First", Author: &alice,
			CommitSHA: "4444444444444444444444444444444444444444", CreatedAt: t0, ReleasedAt: &closed,
			Links: []forge.ReleaseLink{{Name: "bin", URL: "https://example.com/bin", LinkType: "package"}}},
		forge.ProtectedBranch{SourceID: src("pb-main"), Name: "main", PushAccessLevel: ferry.MaintainerAccess, MergeAccessLevel: ferry.DeveloperAccess},
		forge.Member{SourceID: src("mem-alice"), User: alice, AccessLevel: ferry.DeveloperAccess},
		// Resource events: issue 10 labelled, put in milestone 1 and closed
		// by carol; merge request 100 merged by bob.
		forge.ResourceEvent{SourceID: src("ev-1"), On: forge.Noteable{Type: forge.OnIssue, IID: 10}, Event: forge.EventLabel, Action: forge.ActionAdd,
			Label: "feature", Author: carol, CreatedAt: t0.Add(time.Minute)},
		forge.ResourceEvent{SourceID: src("ev-2"), On: forge.Noteable{Type: forge.OnIssue, IID: 10}, Event: forge.EventMilestone, Action: forge.ActionAdd,
			MilestoneIID: 1, State: forge.StateOpened, Author: carol, CreatedAt: t0.Add(2 * time.Minute)},
		forge.ResourceEvent{SourceID: src("ev-3"), On: forge.Noteable{Type: forge.OnIssue, IID: 10}, Event: forge.EventState, State: forge.StateClosed,
			Author: carol, CreatedAt: closed},
		forge.ResourceEvent{SourceID: src("ev-4"), On: forge.Noteable{Type: forge.OnMergeRequest, IID: 100}, Event: forge.EventState, State: forge.StateMerged,
			Author: bob, CreatedAt: closed},
	)
	return objs
}

func groupContent() []forge.Object {
	t0 := forgetest.T0
	return []forge.Object{
		forge.Label{SourceID: src("gl-1"), Name: "group-label", Color: "#0000ff", CreatedAt: t0, UpdatedAt: t0},
		forge.Milestone{SourceID: src("gm-1"), IID: 7, Title: "Q3", State: forge.MilestoneClosed, CreatedAt: t0, UpdatedAt: t0},
		forge.Badge{SourceID: src("gb-1"), Name: "pipeline", LinkURL: "https://ci.example.com/%{project_path}",
			ImageURL: "https://ci.example.com/%{project_path}/pipeline.svg"},
		// The maintainer, by e-mail: granted Developer on the group.
		forge.Member{SourceID: src("gmem-maint"), User: forge.SourceUser{SourceID: src("maint-src"), Login: "maint-src",
			Email: "maint@example.com"}, AccessLevel: ferry.DeveloperAccess},
	}
}

// Seed creates three users, a private group "org" owned by the first, a
// project "org/repo" in it with a maintainer and a developer, and writes
// the project's and the group's content (which makes the maintainer, by
// e-mail, a Developer of the group).
func Seed(t testing.TB, s *store.Store) *Fixture {
	t.Helper()
	ctx := context.Background()
	f := &Fixture{
		Owner:      &ferry.User{Username: "owner", Name: "Owner", Email: "owner@example.com"},
		Maintainer: &ferry.User{Username: "maint", Name: "Maintainer", Email: "maint@example.com"},
		Developer:  &ferry.User{Username: "dev", Name: "Developer", Email: "dev@example.com"},
		Group:      &ferry.Namespace{Kind: ferry.KindGroup, Name: "Org", Path: "org", Visibility: ferry.Private},
		Project:    &ferry.Project{Name: "Repo", Path: "repo", Visibility: ferry.Private, DefaultBranch: "main"},
		Content:    projectContent(), GroupContent: groupContent(),
	}
	err := s.Write(ctx, func(tx *store.Tx) error {
		for _, u := range []*ferry.User{f.Owner, f.Maintainer, f.Developer} {
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
		}
		if err := tx.CreateNamespace(ctx, f.Group); err != nil {
			return err
		}
		f.Project.NamespaceID, f.Project.CreatorID = f.Group.ID, f.Owner.ID
		if err := tx.CreateProject(ctx, f.Project); err != nil {
			return err
		}
		now := tx.Now()
		for _, m := range []*ferry.Member{
			{SourceKind: "namespace", SourceID: f.Group.ID, UserID: f.Owner.ID, AccessLevel: ferry.OwnerAccess, CreatedAt: now},
			{SourceKind: "project", SourceID: f.Project.ID, UserID: f.Maintainer.ID, AccessLevel: ferry.MaintainerAccess, CreatedAt: now},
			{SourceKind: "project", SourceID: f.Project.ID, UserID: f.Developer.ID, AccessLevel: ferry.DeveloperAccess, CreatedAt: now},
		} {
			if err := tx.AddMember(ctx, m); err != nil {
				return err
			}
		}
		if _, err := tx.WriteContent(ctx, f.Project.ID, f.Content); err != nil {
			return err
		}
		_, err := tx.WriteGroupContent(ctx, f.Group.ID, f.GroupContent)
		return err
	})
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	return f
}
