package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/forge/forgetest"
	"github.com/ferry-import/ferry/store"
	"github.com/ferry-import/ferry/store/storetest"
)

// TestVerify: what landed is counted per item and per kind of count
// (source id prefix, user notes only, one emoji name, award emoji on a
// note), declarations of one type from two relations add up, an item
// holding more than declared does not hide another's shortfall, and each
// shortfall is one failure naming its item.
func TestVerify(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		owner, proj := contentProject(t, s)
		im := &ferry.Import{UserID: owner.ID, ProjectID: proj.ID, SourceType: "github", SourceURL: "https://gh.example", SourceRef: "o/r",
			Options: "{}", CorrelationID: "corr"}
		mustWrite(t, s, func(tx *store.Tx) error { return tx.CreateImport(ctx, im) })
		src := func(id string) forge.SourceID { x := forgetest.Source; x.ID = id; return x }
		issue := func(iid int64) forge.Noteable { return forge.Noteable{Type: forge.OnIssue, IID: iid} }
		note := func(id string, on forge.Noteable, system bool) forge.Note {
			return forge.Note{SourceID: src(id), On: on, Body: "b", System: system, Author: forgetest.User(0)}
		}
		award := func(id, noteID, name string, on forge.Noteable) forge.AwardEmoji {
			return forge.AwardEmoji{SourceID: src(id), On: on, NoteID: noteID, Name: name, User: forgetest.User(1)}
		}
		mustWrite(t, s, func(tx *store.Tx) error {
			_, err := tx.WriteContent(ctx, proj.ID, []forge.Object{
				forge.Issue{SourceID: src("i1"), IID: 1, Title: "one", Author: forgetest.User(0)},
				forge.Issue{SourceID: src("i2"), IID: 2, Title: "two", Author: forgetest.User(0)},
				// Issue 1: two comments, a system note, a review-ish note of
				// another prefix; issue 2: one comment.
				note("c/1", issue(1), false), note("c/2", issue(1), false), note("c/3", issue(1), true), note("r/1", issue(1), false),
				note("c/4", issue(2), false),
				award("a/1", "", "thumbsup", issue(1)), award("a/2", "", "heart", issue(1)), award("a/3", "c/1", "heart", issue(1)),
			})
			return err
		})
		exp := func(typ string, iid int64, noteID, kind, prefix string, user bool, emoji string, n int64) ferry.Expectation {
			return ferry.Expectation{Type: typ, OnType: forge.OnIssue, OnIID: iid, NoteID: noteID, Kind: kind, Prefix: prefix, UserOnly: user,
				Emoji: emoji, Count: n, Title: fmt.Sprintf("issue #%d", iid), SourceURL: fmt.Sprintf("https://gh.example/o/r/issues/%d", iid)}
		}
		mustWrite(t, s, func(tx *store.Tx) error {
			if err := tx.AddExpectations(ctx, im.ID, "issues", []ferry.Expectation{
				exp("comments", 1, "", forge.KindNote, "c/", false, "", 3), // 3 with the system note: matched
				exp("comments", 2, "", forge.KindNote, "c/", false, "", 3), // 1 landed: 2 missing
				exp("user_notes", 1, "", forge.KindNote, "", true, "", 2),  // c/1, c/2, r/1: more than declared
				exp("thumbs", 1, "", forge.KindAwardEmoji, "a/", false, "thumbsup", 1),
				exp("reactions", 1, "c/1", forge.KindAwardEmoji, "", false, "", 2), // 1 landed on the note
				exp("ignored", 1, "", "label", "", false, "", 9),                   // not a kind that is counted
				// A whole list: two issues landed of three.
				{Type: "issues", Kind: forge.KindIssue, Count: 3, Title: "issues the source lists"},
				{Type: "bad list", Kind: forge.KindIssue, OnType: forge.OnIssue, OnIID: 1, Count: 3}, // a list is not on an item
				// The repository's refs, counted by the caller: branches all
				// landed, one tag short; refs outside refs/ are not declared.
				{Type: "branches", Kind: ferry.KindGitRefs, Prefix: "refs/heads/", Count: 4, Title: "repository branches"},
				{Type: "tags", Kind: ferry.KindGitRefs, Prefix: "refs/tags/", Count: 3, Title: "repository tags"},
				{Type: "odd", Kind: ferry.KindGitRefs, Prefix: "HEAD", Count: 1},
			}); err != nil {
				return err
			}
			// Another relation declares one more user note on issue 2.
			return tx.AddExpectations(ctx, im.ID, "reviews", []ferry.Expectation{exp("user_notes", 2, "", forge.KindNote, "", true, "", 2)})
		})
		var checks []ferry.VerificationCheck
		mustWrite(t, s, func(tx *store.Tx) error {
			var err error
			checks, err = tx.Verify(ctx, im, func(_ context.Context, prefix string) (int64, error) {
				return map[string]int64{"refs/heads/": 4, "refs/tags/": 2}[prefix], nil
			})
			return err
		})
		got := fmt.Sprint(checks)
		want := "[{branches 4 4 0} {comments 6 4 2} {issues 3 2 1} {reactions 2 1 1} {tags 3 2 1} {thumbs 1 1 0} {user_notes 4 3 1}]"
		if got != want {
			t.Errorf("checks %s, want %s", got, want)
		}
		var stored []ferry.VerificationCheck
		var fails []*ferry.ImportFailure
		err := s.Read(ctx, func(tx *store.Tx) error {
			var err error
			if stored, err = tx.Verification(ctx, im.ID); err != nil {
				return err
			}
			fails, err = tx.Failures(ctx, im.ID, 100)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(stored) != want {
			t.Errorf("stored checks %v, want %s", stored, want)
		}
		var lines []string
		for _, f := range fails {
			if f.Relation != "verification" || f.ExceptionClass != "VerificationError" || f.CorrelationID != "corr" {
				t.Errorf("failure %+v", f)
			}
			lines = append(lines, f.SourceTitle+": "+f.ExceptionMessage)
		}
		wantLines := []string{
			"issue #2: comments: the source declares 3, 1 landed: 2 missing",
			"issues the source lists: issues: the source declares 3, 2 landed: 1 missing",
			"issue #1: reactions: the source declares 2, 1 landed: 1 missing",
			"repository tags: tags: the source declares 3, 2 landed: 1 missing",
			"issue #2: user_notes: the source declares 2, 1 landed: 1 missing",
		}
		if strings.Join(lines, "\n") != strings.Join(wantLines, "\n") {
			t.Errorf("failures:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(wantLines, "\n"))
		}
	})
}
