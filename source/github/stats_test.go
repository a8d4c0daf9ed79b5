package github

import (
	"testing"

	"github.com/ferry-import/ferry/forge"
)

func TestObjectType(t *testing.T) {
	s := New()
	cases := []struct {
		relation string
		o        forge.Object
		want     string
	}{
		{"pull_requests", forge.MergeRequest{}, "pull_request"},
		{relPullRequestDetails, forge.MergeRequest{}, "pull_request_merged_by"},
		{relPullRequestDetails, forge.Review{}, "pull_request_review"},
		{"review_comments", forge.Note{Position: &forge.DiffPosition{}}, "diff_note"},
		{"issue_events", forge.Note{System: true}, "issue_event"},
		{"issue_comments", forge.Note{}, ""},
		{relPullRequestDetails, forge.Note{}, "pull_request_review_body"},
		{"reactions", forge.AwardEmoji{}, "reaction"},
		{"issue_events", forge.Closure{Merged: true}, "pull_request_merged_by"},
		{"issue_events", forge.Closure{}, "closed_by"},
		{"issues", forge.Issue{}, ""},
	}
	for _, c := range cases {
		if got := s.ObjectType(c.relation, c.o); got != c.want {
			t.Errorf("%s %T: %q, want %q", c.relation, c.o, got, c.want)
		}
	}
}
