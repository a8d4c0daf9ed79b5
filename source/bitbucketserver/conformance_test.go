package bitbucketserver

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/ferry-import/ferry/fakeforge"
	ffbbs "github.com/ferry-import/ferry/fakeforge/bitbucketserver"
	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/importer/sourcetest"
)

// tiny keeps every list several pages long at pageSize.
func tiny() scenario.Config {
	c, err := scenario.Preset("small", 7)
	if err != nil {
		panic(err)
	}
	c.Issues, c.PullRequests, c.Users = 10, 25, 7
	c.CommentsPerItem, c.ReviewCommentsPerPR, c.ReviewsPerPR = 2, 3, 2
	return c
}

const pageSize = 3

func startForge(t *testing.T, c scenario.Config) *fakeforge.Forge {
	return sourcetest.StartForge(t, c, scenario.BitbucketServer)
}

func suite(t *testing.T, f *fakeforge.Forge, o Options) sourcetest.Config {
	t.Helper()
	opts, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	return sourcetest.Config{Source: New(), Env: func() importer.Env {
		return importer.Env{SourceURL: f.BitbucketServer.URL, SourceRef: ffbbs.ProjectKey + "/" + ffbbs.RepoSlug,
			Options: opts, Credential: f.BitbucketServer.Token}
	}}
}

// counts is what a run produced, as scenario.Expected names it. CONTEXT
// lines have both sides, so which side an anchor named is not kept: the
// two context kinds are compared as their sum (contextKinds).
func counts(im *sourcetest.Result) scenario.Counts {
	n := scenario.Counts{}
	for _, mr := range sourcetest.Of[forge.MergeRequest](im, forge.KindMergeRequest) {
		n["merge_requests"]++
		n["merge_requests_"+mr.State]++
		if mr.Draft {
			n["merge_requests_draft"]++
		}
		n["reviewers"] += len(mr.Reviewers)
	}
	system := map[string]string{"approved this merge request": "system_notes_approved", "unapproved this merge request": "system_notes_unapproved",
		"requested changes": "system_notes_requested_changes", "closed": "system_notes_closed", "reopened": "system_notes_reopened"}
	for _, note := range sourcetest.Of[forge.Note](im, forge.KindNote) {
		switch {
		case note.System && strings.HasPrefix(note.Body, "merged"):
			n["system_notes_merged"]++
		case note.System && strings.HasPrefix(note.Body, "added "):
			n["system_notes_added_commits"]++
		case note.System:
			n[system[note.Body]]++
		default:
			kind, replies := "notes", "note_replies"
			if p := note.Position; p != nil {
				kind, replies = "diff_notes", "diff_note_replies"
				switch {
				case p.OldLine == 0:
					n["diff_notes_added_to"]++
				case p.NewLine == 0:
					n["diff_notes_removed_from"]++
				default:
					n[contextKinds]++
				}
			}
			n[kind]++
			if note.DiscussionID != note.ID {
				n[replies]++
			}
			if note.UpdatedAt.After(note.CreatedAt) {
				n["edited_notes"]++
			}
			if note.Resolvable {
				n["tasks"]++
			}
			if note.Resolved {
				n["tasks_resolved"]++
			}
		}
	}
	for _, r := range sourcetest.Of[forge.Review](im, forge.KindReview) {
		if r.State == forge.ReviewApproved {
			n["approvals"]++
		}
	}
	users := map[string]bool{}
	for _, u := range sourcetest.Of[forge.SourceUser](im, forge.KindSourceUser) {
		users[u.ID] = true
	}
	n["placeholder_users"] = len(users)
	return n
}

const contextKinds = "diff_notes_context"

// expected is the scenario's counts in counts' terms: the context kinds
// summed, and no "users" (the project's permission list, which the import
// does not read: people come inline with their e-mail).
func expected(t *testing.T, sc *scenario.Scenario) scenario.Counts {
	t.Helper()
	want, err := sc.Expected(scenario.BitbucketServer)
	if err != nil {
		t.Fatal(err)
	}
	want[contextKinds] = want["diff_notes_context_from"] + want["diff_notes_context_to"]
	delete(want, "diff_notes_context_from")
	delete(want, "diff_notes_context_to")
	delete(want, "users")
	return want
}

// TestConformance runs the suite every source adapter passes against
// fakeforge's Bitbucket Server, with basic auth and with a bearer token.
func TestConformance(t *testing.T) {
	f := startForge(t, tiny())
	want := expected(t, f.Scenario)
	for name, o := range map[string]Options{
		"basic auth": {Username: f.BitbucketServer.Username, PageSize: pageSize},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := suite(t, f, o)
			cfg.Expected, cfg.Count = want, counts
			im := sourcetest.Exercise(t, cfg)
			// Every merge request's head is in the mirror, closed ones too
			// (their refs are gone at the source: fetched by commit).
			closed := 0
			for _, mr := range sourcetest.Of[forge.MergeRequest](im, forge.KindMergeRequest) {
				ref := fmt.Sprintf("refs/merge-requests/%d/head", mr.IID)
				c, err := im.Git.Commit(context.Background(), 7, ref)
				if err != nil || c.ID != mr.SourceSHA {
					t.Errorf("%s (%s): %+v, %v; want %s", ref, mr.State, c.ID, err, mr.SourceSHA)
				}
				if mr.State != forge.StateOpened {
					closed++
				}
				if mr.MergeCommitSHA != "" {
					if _, err := im.Git.Commit(context.Background(), 7, "refs/keep-around/"+mr.MergeCommitSHA); err != nil {
						t.Errorf("merge commit of %d not kept: %v", mr.IID, err)
					}
				}
			}
			if closed == 0 {
				t.Error("no closed merge request in the scenario")
			}
		})
	}
}
