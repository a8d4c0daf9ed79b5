package gitlabexport_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ferry-import/ferry/forge/gitlabndjson"
	"github.com/ferry-import/ferry/gitlabexport"
	"github.com/ferry-import/ferry/gitlabexport/exporttest"
	"github.com/ferry-import/ferry/store"
	"github.com/ferry-import/ferry/store/storetest"
)

// records reads a finished relation file into Ts.
func records[T any](t *testing.T, svc *gitlabexport.Service, p gitlabexport.Portable, user int64, rel string, batched bool, batch int) []T {
	t.Helper()
	f, err := svc.Open(p, user, rel, batched, batch)
	if err != nil {
		t.Fatalf("open %s: %v", rel, err)
	}
	in, err := os.Open(f.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var out []T
	if err := gitlabndjson.EachRecord(in, func(r T, _ int) error { out = append(out, r); return nil }); err != nil {
		t.Fatalf("read %s: %v", rel, err)
	}
	return out
}

func newService(t *testing.T, s *store.Store, dir string, batch int) *gitlabexport.Service {
	t.Helper()
	svc, err := gitlabexport.New(gitlabexport.Config{Store: s, Dir: dir, BatchSize: batch, PageSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	return svc
}

func TestProjectExport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		fx := exporttest.Seed(t, s)
		svc := newService(t, s, t.TempDir(), 0)
		p := gitlabexport.Portable{Kind: gitlabexport.KindProject, ID: fx.Project.ID}
		user := fx.Maintainer.ID
		if sts, err := svc.Status(p, user, ""); err != nil || len(sts) != 0 {
			t.Fatalf("statuses before export: %v, %v; want none", sts, err)
		}
		if _, err := svc.Status(p, user, "labels"); err != gitlabexport.ErrExportNotFound {
			t.Fatalf("status of labels before export: %v", err)
		}
		if err := svc.Start(ctx, p, user, false); err != nil {
			t.Fatal(err)
		}
		svc.Wait()
		sts, err := svc.Status(p, user, "")
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, st := range sts {
			names = append(names, st.Relation)
			if st.Status != gitlabexport.StatusFinished || st.Batched {
				t.Errorf("%s: %+v", st.Relation, st)
			}
		}
		if !slices.Equal(names, gitlabexport.Relations(gitlabexport.KindProject)) {
			t.Errorf("relations %v", names)
		}

		self := records[gitlabndjson.ProjectSelf](t, svc, p, user, "self", false, 0)
		if len(self) != 1 || self[0].Path != "repo" || self[0].VisibilityLevel != gitlabndjson.VisibilityPrivate || self[0].DefaultBranch != "main" {
			t.Errorf("self %+v", self)
		}
		labels := records[gitlabndjson.Label](t, svc, p, user, "labels", false, 0)
		if len(labels) != 2 || labels[0].Title != "bug" || labels[0].Color != "#ff0000" || labels[0].Description != "Broken" ||
			labels[0].Type != gitlabndjson.ProjectLabel || labels[1].Title != "feature" {
			t.Errorf("labels %+v", labels)
		}
		ms := records[gitlabndjson.Milestone](t, svc, p, user, "milestones", false, 0)
		if len(ms) != 1 || ms[0].IID != 1 || ms[0].Title != "v1" || ms[0].DueDate == nil || *ms[0].DueDate != "2024-06-30" || ms[0].StartDate != nil {
			t.Errorf("milestones %+v", ms)
		}

		contributors := records[gitlabndjson.UserContribution](t, svc, p, user, "user_contributions", false, 0)
		byID := map[int64]gitlabndjson.UserContribution{}
		for _, c := range contributors {
			byID[c.ID] = c
			if c.PublicEmail != "" || !strings.Contains(c.Name, "Octo Cat ") {
				t.Errorf("contributor %+v", c)
			}
		}
		if len(byID) != 3 {
			t.Errorf("contributors %+v", contributors)
		}
		known := func(what string, id int64) {
			t.Helper()
			if _, ok := byID[id]; !ok {
				t.Errorf("%s: user %d not in user_contributions", what, id)
			}
		}

		issues := records[gitlabndjson.Issue](t, svc, p, user, "issues", false, 0)
		if len(issues) != exporttest.Issues {
			t.Fatalf("%d issues", len(issues))
		}
		for _, is := range issues {
			known("issue author", is.AuthorID)
			switch is.IID {
			case 10:
				if is.State != "closed" || is.ClosedAt == nil || is.ClosedByID == nil || is.Milestone == nil || is.Milestone.IID != 1 ||
					len(is.LabelLinks) != 1 || is.LabelLinks[0].Label.Title != "feature" || len(is.Notes) != 0 {
					t.Errorf("issue 10 %+v", is)
				}
				known("closed by", *is.ClosedByID)
				le, me, se := is.ResourceLabelEvents, is.ResourceMilestoneEvents, is.ResourceStateEvents
				if len(le) != 1 || le[0].Action != "add" || le[0].Label == nil || le[0].Label.Title != "feature" || le[0].Label.Color != "#00ff00" ||
					len(me) != 1 || me[0].Milestone == nil || me[0].Milestone.IID != 1 || me[0].Milestone.Title != "v1" || me[0].State != "opened" ||
					len(se) != 1 || se[0].State != "closed" || se[0].UserID != *is.ClosedByID || !se[0].CreatedAt.Equal(is.ClosedAt.Time) {
					t.Errorf("issue 10 resource events: labels %+v milestones %+v states %+v", le, me, se)
				}
				known("label event user", le[0].UserID)
			default:
				if len(is.Notes) != exporttest.IssueNotes || is.Notes[0].Note != "Comment 0 on issue "+itoa(is.IID) || is.Notes[0].NoteableType != "Issue" ||
					is.Notes[0].Type != nil || len(is.LabelLinks) != 1 || is.LabelLinks[0].Label.Title != "bug" || len(is.IssueAssignees) != 1 {
					t.Errorf("issue %d %+v", is.IID, is)
				}
				for _, n := range is.Notes {
					known("note author", n.AuthorID)
					if n.Author.Name == "" {
						t.Errorf("note author name missing: %+v", n)
					}
				}
			}
			if wantEmoji := is.IID == 1; wantEmoji != (len(is.AwardEmoji) == 1) || wantEmoji && is.AwardEmoji[0].Name != "thumbsdown" {
				t.Errorf("issue %d emoji %+v", is.IID, is.AwardEmoji)
			}
		}
		var iids []int64
		for _, is := range issues {
			iids = append(iids, is.IID)
		}
		if slices.Sort(iids); !slices.Equal(iids, []int64{1, 2, 3, 4, 5, 10}) {
			t.Errorf("issue iids %v", iids)
		}

		mrs := records[gitlabndjson.MergeRequest](t, svc, p, user, "merge_requests", false, 0)
		if len(mrs) != exporttest.MergeRequests {
			t.Fatalf("%d merge requests", len(mrs))
		}
		mr := mrs[0]
		if mr.IID != 100 || mr.State != "merged" || mr.SourceBranch != "feature" || mr.TargetBranch != "main" ||
			mr.DiffHeadSHA != "1111111111111111111111111111111111111111" || mr.MergeCommitSHA == nil ||
			mr.MergeRequestDiff.BaseCommitSHA != "3333333333333333333333333333333333333333" || mr.Metrics.MergedByID == nil ||
			mr.Metrics.MergedAt == nil || len(mr.LabelLinks) != 2 || mr.Milestone == nil || len(mr.MergeRequestReviewers) != 1 ||
			len(mr.MergeRequestAssignees) != 1 || len(mr.Approvals) != 1 || len(mr.AwardEmoji) != 1 || mr.AwardEmoji[0].Name != "tada" {
			t.Errorf("merge request %+v", mr)
		}
		known("approver", mr.Approvals[0].UserID)
		if se := mr.ResourceStateEvents; len(se) != 1 || se[0].State != "merged" || se[0].UserID != *mr.Metrics.MergedByID ||
			mr.ResourceLabelEvents == nil || len(mr.ResourceLabelEvents) != 0 || mr.ResourceMilestoneEvents == nil {
			t.Errorf("merge request resource events: %+v", mr.ResourceEvents)
		}
		if len(mr.Notes) != 2 {
			t.Fatalf("notes %+v", mr.Notes)
		}
		diff, reply := mr.Notes[0], mr.Notes[1]
		pos := diff.Position
		if diff.Type == nil || *diff.Type != gitlabndjson.DiffNote || pos == nil || pos.NewPath != "a.go" || pos.NewLine == nil || *pos.NewLine != 12 ||
			pos.OldLine != nil || pos.HeadSHA != "1111111111111111111111111111111111111111" || pos.PositionType != "text" ||
			pos.LineRange == nil || pos.LineRange.Start.NewLine == nil || *pos.LineRange.Start.NewLine != 10 || pos.LineRange.End.LineCode != "abc_12_12" ||
			diff.Original == nil || len(diff.AwardEmoji) != 1 || diff.AwardEmoji[0].Name != "thumbsup" || diff.AwardEmoji[0].AwardableType != "Note" {
			t.Errorf("diff note %+v position %+v", diff, pos)
		}
		if reply.Type == nil || *reply.Type != gitlabndjson.DiscussionNote || reply.DiscussionID != diff.DiscussionID || reply.DiscussionID == "" ||
			reply.Note != "Because." || reply.Position != nil {
			t.Errorf("reply %+v", reply)
		}

		rels := records[gitlabndjson.Release](t, svc, p, user, "releases", false, 0)
		if len(rels) != 1 || rels[0].Tag != "v1.0" || rels[0].AuthorID == nil || len(rels[0].Links) != 1 || rels[0].Links[0].LinkType != "package" {
			t.Errorf("releases %+v", rels)
		}
		pbs := records[gitlabndjson.ProtectedBranch](t, svc, p, user, "protected_branches", false, 0)
		if len(pbs) != 1 || pbs[0].Name != "main" || pbs[0].PushAccessLevels[0].AccessLevel != 40 || pbs[0].MergeAccessLevels[0].AccessLevel != 30 {
			t.Errorf("protected branches %+v", pbs)
		}
		members := records[gitlabndjson.Member](t, svc, p, user, "project_members", false, 0)
		if len(members) != 2 || members[0].User.Username != "maint" || members[0].AccessLevel != 40 || members[0].SourceType != "Project" ||
			members[1].User.Username != "dev" || members[1].User.PublicEmail != "dev@example.com" {
			t.Errorf("members %+v", members)
		}
		if got := records[gitlabndjson.Label](t, svc, p, user, "boards", false, 0); len(got) != 0 {
			t.Errorf("boards %+v", got)
		}

		// Exports are the requesting user's.
		if sts, err := svc.Status(p, fx.Developer.ID, ""); err != nil || len(sts) != 0 {
			t.Errorf("another user's statuses: %v, %v; want none", sts, err)
		}
		if _, err := svc.Status(p, fx.Developer.ID, "labels"); err != gitlabexport.ErrExportNotFound {
			t.Errorf("another user's status of labels: %v", err)
		}
		for _, c := range []struct {
			rel     string
			batched bool
			want    error
		}{
			{"issues", true, gitlabexport.ErrNotBatched},
			{"nope", false, gitlabexport.ErrExportNotFound},
		} {
			if _, err := svc.Open(p, user, c.rel, c.batched, 1); err != c.want {
				t.Errorf("open %s batched=%v: %v, want %v", c.rel, c.batched, err, c.want)
			}
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestBatchedGroupExport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		fx := exporttest.Seed(t, s)
		dir := t.TempDir()
		svc := newService(t, s, dir, 2)
		proj := gitlabexport.Portable{Kind: gitlabexport.KindProject, ID: fx.Project.ID}
		grp := gitlabexport.Portable{Kind: gitlabexport.KindGroup, ID: fx.Group.ID}
		for _, p := range []gitlabexport.Portable{proj, grp} {
			if err := svc.Start(ctx, p, fx.Owner.ID, true); err != nil {
				t.Fatal(err)
			}
		}
		svc.Wait()

		// Issues in batches of two; self is never batched.
		sts, err := svc.Status(proj, fx.Owner.ID, "issues")
		if err != nil {
			t.Fatal(err)
		}
		st := sts[0]
		if len(sts) != 1 || !st.Batched || st.BatchesCount != 3 || st.TotalObjectsCount != exporttest.Issues || len(st.Batches) != 3 ||
			st.Batches[2].ObjectsCount != 2 || st.Batches[2].Status != gitlabexport.StatusFinished {
			t.Fatalf("issues status %+v", sts)
		}
		var iids []int64
		for b := 1; b <= 3; b++ {
			for _, is := range records[gitlabndjson.Issue](t, svc, proj, fx.Owner.ID, "issues", true, b) {
				iids = append(iids, is.IID)
			}
		}
		if slices.Sort(iids); !slices.Equal(iids, []int64{1, 2, 3, 4, 5, 10}) {
			t.Errorf("batched iids %v", iids)
		}
		if sts, _ := svc.Status(proj, fx.Owner.ID, "self"); sts[0].Batched {
			t.Errorf("self batched")
		}
		if st, _ := svc.Status(proj, fx.Owner.ID, "releases"); st[0].BatchesCount != 1 || st[0].TotalObjectsCount != 1 {
			t.Errorf("releases %+v", st[0])
		}
		if st, _ := svc.Status(proj, fx.Owner.ID, "snippets"); st[0].BatchesCount != 0 || st[0].Status != gitlabexport.StatusFinished {
			t.Errorf("empty relation %+v", st[0])
		}
		for _, c := range []struct {
			rel     string
			batched bool
			batch   int
			want    error
		}{
			{"issues", false, 0, gitlabexport.ErrBatched},
			{"issues", true, 4, gitlabexport.ErrBatchNotFound},
			{"self", true, 1, gitlabexport.ErrNotBatched},
		} {
			if _, err := svc.Open(proj, fx.Owner.ID, c.rel, c.batched, c.batch); err != c.want {
				t.Errorf("open %s batched=%v %d: %v, want %v", c.rel, c.batched, c.batch, err, c.want)
			}
		}

		// The group's own labels, milestones and members, not the project's.
		if got := records[gitlabndjson.GroupSelf](t, svc, grp, fx.Owner.ID, "self", false, 0); len(got) != 1 || got[0].Path != "org" {
			t.Errorf("group self %+v", got)
		}
		labels := records[gitlabndjson.Label](t, svc, grp, fx.Owner.ID, "labels", true, 1)
		if len(labels) != 1 || labels[0].Title != "group-label" || labels[0].Type != gitlabndjson.GroupLabel {
			t.Errorf("group labels %+v", labels)
		}
		ms := records[gitlabndjson.Milestone](t, svc, grp, fx.Owner.ID, "milestones", true, 1)
		if len(ms) != 1 || ms[0].IID != 7 || ms[0].State != "closed" {
			t.Errorf("group milestones %+v", ms)
		}
		// Its members include the one the import granted.
		members := records[gitlabndjson.Member](t, svc, grp, fx.Owner.ID, "members", true, 1)
		if len(members) != 2 || members[0].User.Username != "owner" || members[0].AccessLevel != 50 || members[0].SourceType != "Namespace" ||
			members[1].User.Username != "maint" || members[1].AccessLevel != 30 {
			t.Errorf("group members %+v", members)
		}
		badges := records[gitlabndjson.Badge](t, svc, grp, fx.Owner.ID, "badges", true, 1)
		if len(badges) != 1 || badges[0].Name != "pipeline" || badges[0].Type != "GroupBadge" ||
			badges[0].LinkURL != "https://ci.example.com/%{project_path}" {
			t.Errorf("group badges %+v", badges)
		}

		// A restart marks what a dead process left started as failed.
		path := filepath.Join(dir, "group", itoa(fx.Group.ID), "user-"+itoa(fx.Owner.ID), "labels", "status.json")
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(strings.Replace(string(b), `"status":1`, `"status":0`, 1)), 0o600); err != nil {
			t.Fatal(err)
		}
		svc2 := newService(t, s, dir, 2)
		if st, err := svc2.Status(grp, fx.Owner.ID, "labels"); err != nil || st[0].Status != gitlabexport.StatusFailed || st[0].Error != "Export interrupted" {
			t.Errorf("after restart %+v %v", st, err)
		}
	})
}
