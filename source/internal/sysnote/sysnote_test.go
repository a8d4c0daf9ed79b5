package sysnote

import (
	"strings"
	"testing"

	"github.com/ferry-import/ferry/forge"
)

// TestWording pins each note to GitLab's text (gitlabhq: app/models/
// state_note.rb, label_note.rb, milestone_note.rb; app/services/
// system_notes/{issuables,merge_requests,commit}_service.rb).
func TestWording(t *testing.T) {
	const sha = "570e7b2abdd848b95f2f578043fc23bd6f6fd24d"
	for _, tt := range []struct{ got, want string }{
		{Closed(""), "closed"},
		{Closed(sha), "closed with commit " + sha},
		{Reopened(), "reopened"},
		{Merged(""), "merged"},
		{Merged(sha), "merged manually"},
		{Approved(), "approved this merge request"},
		{Unapproved(), "unapproved this merge request"},
		{RequestedChanges(), "requested changes"},
		{AddedLabel("bug"), "added ~bug label"},
		{RemovedLabel("good first issue"), `removed ~"good first issue" label`},
		{ChangedMilestone("v1.0"), `changed milestone to %"v1.0"`},
		{RemovedMilestone("Q3"), "removed milestone %Q3"},
		{Assigned("octo"), "assigned to @octo"},
		{Unassigned("octo"), "unassigned @octo"},
		{RequestedReview("octo"), "requested review from @octo"},
		{RemovedReviewRequest("octo"), "removed review request for @octo"},
		{ChangedTitle("a", "b"), "changed title from **a** to **b**"},
		{MentionedInCommit(sha), "mentioned in commit " + sha},
		{Locked(forge.OnMergeRequest), "locked the discussion in this merge request"},
		{Unlocked(forge.OnIssue), "unlocked the discussion in this issue"},
	} {
		if tt.got != tt.want {
			t.Errorf("%q, want %q", tt.got, tt.want)
		}
	}
}

func TestCommits(t *testing.T) {
	a := Commit{SHA: "570e7b2abdd848b95f2f578043fc23bd6f6fd24d", Message: "Change some files\n\nSigned-off-by: D"}
	b := Commit{SHA: "6f6d7e7ed97bb5f0054f2b1df789b39ca89b6ff9", Message: `Use <b> & "quotes"`}
	for _, tt := range []struct{ got, want string }{
		{AddedCommits(1, []Commit{a}), "added 1 commit\n\n<ul><li>570e7b2a - Change some files</li></ul>"},
		{AddedCommits(2, []Commit{a, b}), "added 2 commits\n\n<ul><li>570e7b2a - Change some files</li>" +
			"<li>6f6d7e7e - Use &lt;b&gt; &amp; &quot;quotes&quot;</li></ul>"},
		{AddedCommits(30, nil), "added 30 commits"},
		{AddedCommits(0, []Commit{a}), "added 1 commit\n\n<ul><li>570e7b2a - Change some files</li></ul>"},
		{RemovedCommits(2, []Commit{a}), "removed 2 commits\n\n<ul><li>570e7b2a - Change some files</li></ul>"},
	} {
		if tt.got != tt.want {
			t.Errorf("%q\nwant %q", tt.got, tt.want)
		}
	}
}

// TestCommitTitle follows GitLab's Commit#title: the first line, cut
// with truncate(81, separator: ' ', omission: '...') from 100 characters.
func TestCommitTitle(t *testing.T) {
	words := strings.Repeat("word ", 30) // 150 characters
	for _, tt := range []struct{ msg, want string }{
		{"Title\nbody", "Title"},
		{"Title\r\nbody", "Title"},
		{"  \n", "No commit message"},
		{"", "No commit message"},
		{strings.Repeat("x", 99), strings.Repeat("x", 99)},
		{strings.Repeat("x", 100), strings.Repeat("x", 78) + "..."},
		{words, words[:74] + "..."}, // cut at the last space at or before index 78
		{strings.Repeat("é", 120), strings.Repeat("é", 78) + "..."},
	} {
		if got := CommitTitle(tt.msg); got != tt.want {
			t.Errorf("CommitTitle(%q) = %q, want %q", tt.msg, got, tt.want)
		}
	}
}
