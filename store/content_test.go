package store_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/forge/forgetest"
	"github.com/ferry-import/ferry/store"
	"github.com/ferry-import/ferry/store/storetest"
)

// contentProject creates an owner, a group and a private project in it.
func contentProject(t *testing.T, s *store.Store) (*ferry.User, *ferry.Project) {
	t.Helper()
	ctx := context.Background()
	owner := &ferry.User{Username: "importer", Name: "Importer", Email: "importer@example.com"}
	grp := &ferry.Namespace{Kind: ferry.KindGroup, Name: "Org", Path: "org", Visibility: ferry.Private}
	proj := &ferry.Project{Name: "Repo", Path: "repo", Visibility: ferry.Private}
	mustWrite(t, s, func(tx *store.Tx) error {
		if err := tx.CreateUser(ctx, owner); err != nil {
			return err
		}
		if err := tx.CreateNamespace(ctx, grp); err != nil {
			return err
		}
		proj.NamespaceID, proj.CreatorID = grp.ID, owner.ID
		return tx.CreateProject(ctx, proj)
	})
	return owner, proj
}

// counts returns the number of rows of each content table.
func counts(t *testing.T, s *store.Store) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, table := range []string{"issues", "notes", "issuable_users", "issuable_labels", "source_users", "merge_requests", "reviews",
		"approvals", "labels", "milestones", "releases", "award_emoji", "protected_branches", "imported_members", "repository_meta"} {
		var n int
		if err := s.DB().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
			t.Fatalf("count %s: %v", table, err)
		}
		out[table] = n
	}
	var n int
	if err := s.DB().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM users WHERE placeholder = TRUE`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	out["placeholder users"] = n
	return out
}

// everyKind is one object of each kind, on top of the generated issues.
func everyKind() []forge.Object {
	src := func(id string) forge.SourceID { s := forgetest.Source; s.ID = id; return s }
	alice := forgetest.User(0)
	return []forge.Object{
		forge.Repository{SourceID: src("repo"), Description: "imported", DefaultBranch: "main", Topics: []string{"go"}},
		forge.Label{SourceID: src("l1"), Name: "bug", Color: "#ff0000"},
		forge.Milestone{SourceID: src("m1"), IID: 1, Title: "v1"},
		forge.MergeRequest{SourceID: src("pr1"), IID: 100, Title: "PR", Author: alice, Reviewers: []forge.SourceUser{forgetest.User(1)}},
		forge.Discussion{SourceID: src("d1"), On: forge.Noteable{Type: forge.OnMergeRequest, IID: 100}, Notes: []forge.Note{
			{SourceID: src("c1"), Body: "root", Author: alice, Position: &forge.DiffPosition{NewPath: "a.go", NewLine: 3}},
			{SourceID: src("c2"), Body: "reply", Author: forgetest.User(1)}}},
		forge.Review{SourceID: src("r1"), MergeRequestIID: 100, State: forge.ReviewApproved, Author: forgetest.User(1)},
		forge.Approval{SourceID: src("a1"), MergeRequestIID: 100, User: forgetest.User(1)}, // same approver: one approval
		forge.Release{SourceID: src("rel1"), TagName: "v1.0", Name: "One"},
		forge.AwardEmoji{SourceID: src("e1"), On: forge.Noteable{Type: forge.OnIssue, IID: 1}, Name: "thumbsup", User: alice},
		forge.ProtectedBranch{SourceID: src("pb1"), Name: "main", PushAccessLevel: 40, MergeAccessLevel: 30},
		forge.Member{SourceID: src("mem1"), User: alice, AccessLevel: 30},
	}
}

func TestWriteContentIdempotent(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		_, proj := contentProject(t, s)
		objs := append(forgetest.Issues(1, 30, 3, 4), everyKind()...)
		write := func(objs []forge.Object) {
			t.Helper()
			mustWrite(t, s, func(tx *store.Tx) error {
				n, err := tx.WriteContent(ctx, proj.ID, objs)
				if err == nil && n != len(objs) {
					t.Errorf("written %d of %d", n, len(objs))
				}
				return err
			})
		}
		write(objs)
		want := map[string]int{"issues": 30, "notes": 92, "issuable_users": 31, "issuable_labels": 30, "source_users": 4,
			"placeholder users": 4, "merge_requests": 1, "reviews": 1, "approvals": 1, "labels": 1, "milestones": 1, "releases": 1,
			"award_emoji": 1, "protected_branches": 1, "imported_members": 1, "repository_meta": 1}
		first := counts(t, s)
		for k, v := range want {
			if first[k] != v {
				t.Errorf("%s: %d rows, want %d", k, first[k], v)
			}
		}

		// The same batch again, and an update of one issue: still one copy.
		write(objs)
		changed := forgetest.Issues(5, 1, 0, 4)
		is := changed[0].(forge.Issue)
		is.Title, is.Labels, is.Assignees = "Renamed", []string{"bug", "p1"}, nil
		write([]forge.Object{is})
		second := counts(t, s)
		second["issuable_users"]++  // issue 5 lost its assignee
		second["issuable_labels"]-- // and gained a label
		for k, v := range first {
			if second[k] != v {
				t.Errorf("after rewrite %s: %d rows, want %d", k, second[k], v)
			}
		}
		var title string
		if err := s.DB().QueryRowContext(ctx, `SELECT title FROM issues WHERE project_id = $1 AND iid = 5`, proj.ID).Scan(&title); err != nil || title != "Renamed" {
			t.Fatalf("updated title %q, %v", title, err)
		}

		// Deleting the project deletes its content.
		mustWrite(t, s, func(tx *store.Tx) error { return tx.DeleteProject(ctx, proj.ID) })
		for k, v := range counts(t, s) {
			if v != 0 && k != "source_users" && k != "placeholder users" {
				t.Errorf("after delete: %d rows in %s", v, k)
			}
		}
	})
}

// TestWriteContentRace has writers race with the same page: whatever the
// interleaving and order, each object and each source user exists once.
func TestWriteContentRace(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		_, proj := contentProject(t, s)
		objs := append(forgetest.Issues(1, 50, 2, 7), everyKind()...)
		const writers = 4
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for w := 0; w < writers; w++ {
			// Half the writers see the page in reverse: lock order must not
			// depend on the order objects arrive in.
			page := slices.Clone(objs)
			if w%2 == 1 {
				slices.Reverse(page)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- s.Write(ctx, func(tx *store.Tx) error { _, err := tx.WriteContent(ctx, proj.ID, page); return err })
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		got := counts(t, s)
		for k, v := range map[string]int{"issues": 50, "notes": 102, "source_users": 7, "placeholder users": 7, "approvals": 1} {
			if got[k] != v {
				t.Errorf("%s: %d rows, want %d", k, got[k], v)
			}
		}
	})
}

// TestWriteContentRefusesUnkeyable: objects the store could not find again
// are EINVALID, so the engine records them as failed items.
func TestWriteContentRefusesUnkeyable(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		_, proj := contentProject(t, s)
		src := forgetest.Source
		src.ID = "x"
		for _, c := range []struct {
			name string
			obj  forge.Object
		}{
			{"no source", forge.Issue{IID: 1}},
			{"issue without iid", forge.Issue{SourceID: src}},
			{"note on nothing", forge.Note{SourceID: src}},
			{"emoji without name", forge.AwardEmoji{SourceID: src, On: forge.Noteable{Type: forge.OnIssue, IID: 1}}},
			{"release without tag", forge.Release{SourceID: src}},
			{"review off a merge request", forge.Review{SourceID: src}},
		} {
			err := s.Write(ctx, func(tx *store.Tx) error { _, err := tx.WriteContent(ctx, proj.ID, []forge.Object{c.obj}); return err })
			if ferry.ErrorCode(err) != ferry.EINVALID {
				t.Errorf("%s: %v, want EINVALID", c.name, err)
			}
		}
		err := s.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.WriteGroupContent(ctx, proj.NamespaceID, forgetest.Issues(1, 1, 0, 1))
			return err
		})
		if ferry.ErrorCode(err) != ferry.EINVALID {
			t.Errorf("issue in a group: %v", err)
		}
	})
}
