package github

import (
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"testing"

	gh "github.com/google/go-github/v92/github"

	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/source/internal/diffpos"
)

// TestNextURL keeps pagination on the API base: a Link elsewhere would
// take the token with it.
func TestNextURL(t *testing.T) {
	base, _ := url.Parse("https://ghe.example.com/api/v3/")
	r := &run{base: base}
	for _, tt := range []struct {
		link, want string
		bad        bool
	}{
		{`<https://ghe.example.com/api/v3/repos/a/b/issues?page=2>; rel="next"`, "https://ghe.example.com/api/v3/repos/a/b/issues?page=2", false},
		{`</api/v3/repos/a/b/issues?page=2>; rel="next"`, "https://ghe.example.com/api/v3/repos/a/b/issues?page=2", false},
		{`<https://ghe.example.com/api/v3/x>; rel="last"`, "", false},
		{`<https://evil.example.com/api/v3/repos/a/b/issues?page=2>; rel="next"`, "", true},
		{`<http://ghe.example.com/api/v3/repos?page=2>; rel="next"`, "", true},
		{`<https://ghe.example.com/other/x?page=2>; rel="next"`, "", true},
		{`<https://u:p@ghe.example.com/api/v3/x>; rel="next"`, "", true},
		{`<https://169.254.169.254/latest/meta-data>; rel="next"`, "", true},
	} {
		got, err := r.nextURL(tt.link)
		var perm *importer.Permanent
		if tt.bad != (err != nil) || (err != nil && !errors.As(err, &perm)) || got != tt.want {
			t.Errorf("nextURL(%q) = %q, %v; want %q (refused: %v)", tt.link, got, err, tt.want, tt.bad)
		}
	}
}

func ip(n int) *int { return &n }

// TestDiffPosition anchors review comments from GitHub's fields and hunk.
func TestDiffPosition(t *testing.T) {
	const path = "a/b.go"
	hunk := "@@ -10,4 +10,5 @@ func f() {\n context10\n-old11\n+new11\n+new12\n context12"
	// GitLab's line codes: a line on one side carries the other side's
	// running number (diffpos).
	code := func(o, n int64) string { return diffpos.LineCode(path, o, n) }
	for _, tt := range []struct {
		name string
		c    gh.PullRequestComment
		want forge.DiffPosition
	}{
		{"added line", gh.PullRequestComment{Line: ip(12), Side: gh.Ptr("RIGHT"), CommitID: gh.Ptr("h1"), DiffHunk: gh.Ptr(hunk)},
			forge.DiffPosition{NewLine: 12, HeadSHA: "h1"}},
		{"context line gets both sides", gh.PullRequestComment{Line: ip(13), Side: gh.Ptr("RIGHT"), CommitID: gh.Ptr("h1"), DiffHunk: gh.Ptr(hunk)},
			forge.DiffPosition{OldLine: 12, NewLine: 13, HeadSHA: "h1"}},
		{"removed line", gh.PullRequestComment{Line: ip(11), Side: gh.Ptr("LEFT"), CommitID: gh.Ptr("h1"), DiffHunk: gh.Ptr(hunk)},
			forge.DiffPosition{OldLine: 11, HeadSHA: "h1"}},
		{"no side is the old side, as GitLab", gh.PullRequestComment{Line: ip(11), CommitID: gh.Ptr("h1"), DiffHunk: gh.Ptr(hunk)},
			forge.DiffPosition{OldLine: 11, HeadSHA: "h1"}},
		{"outdated: original line on the original commit", gh.PullRequestComment{OriginalLine: ip(11), Side: gh.Ptr("RIGHT"),
			CommitID: gh.Ptr("h2"), OriginalCommitID: gh.Ptr("h1"), DiffHunk: gh.Ptr(hunk)},
			forge.DiffPosition{NewLine: 11, HeadSHA: "h1"}},
		{"line outside the hunk", gh.PullRequestComment{Line: ip(40), Side: gh.Ptr("RIGHT"), CommitID: gh.Ptr("h1"), DiffHunk: gh.Ptr(hunk)},
			forge.DiffPosition{NewLine: 40, HeadSHA: "h1"}},
		{"multi-line", gh.PullRequestComment{StartLine: ip(10), Line: ip(12), StartSide: gh.Ptr("RIGHT"), Side: gh.Ptr("RIGHT"),
			CommitID: gh.Ptr("h1"), DiffHunk: gh.Ptr(hunk)},
			forge.DiffPosition{NewLine: 12, HeadSHA: "h1", LineRange: &forge.LineRange{
				Start: forge.LinePosition{LineCode: code(10, 10), OldLine: 10, NewLine: 10},
				End:   forge.LinePosition{LineCode: code(12, 12), Type: "new", NewLine: 12}}}},
		{"multi-line from the old side", gh.PullRequestComment{StartLine: ip(11), Line: ip(11), StartSide: gh.Ptr("LEFT"), Side: gh.Ptr("RIGHT"),
			CommitID: gh.Ptr("h1"), DiffHunk: gh.Ptr(hunk)},
			forge.DiffPosition{NewLine: 11, HeadSHA: "h1", LineRange: &forge.LineRange{
				Start: forge.LinePosition{LineCode: code(11, 11), Type: "old", OldLine: 11},
				End:   forge.LinePosition{LineCode: code(12, 11), Type: "new", NewLine: 11}}}},
		{"file comment", gh.PullRequestComment{SubjectType: gh.Ptr("file"), CommitID: gh.Ptr("h1"), DiffHunk: gh.Ptr(hunk)},
			forge.DiffPosition{Type: "file", HeadSHA: "h1"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.c
			c.Path = gh.Ptr(path)
			got := diffPosition(&c)
			want := tt.want
			want.OldPath, want.NewPath = path, path
			if want.Type == "" {
				want.Type = "text"
			}
			if !reflect.DeepEqual(got, &want) {
				t.Errorf("got  %s\nwant %s", pretty(got), pretty(&want))
			}
		})
	}
}

func pretty(p *forge.DiffPosition) string {
	s := fmtAny(*p)
	if p.LineRange != nil {
		s += " " + fmtAny(*p.LineRange)
	}
	return s
}

func fmtAny(v any) string { return fmt.Sprintf("%+v", v) }

// FuzzDiffPosition feeds any hunk to diffPosition: it never panics and
// never puts a line on a side its kind is not on.
func FuzzDiffPosition(f *testing.F) {
	f.Add("@@ -0,0 +1,3 @@\n+a\n+b\n+c")
	f.Add("@@ -10,4 +10,5 @@ func\n x\n-y\n+z")
	f.Fuzz(func(t *testing.T, h string) {
		line := 3
		p := diffPosition(&gh.PullRequestComment{Path: gh.Ptr("p"), DiffHunk: &h, Line: &line, StartLine: gh.Ptr(1), Side: gh.Ptr("RIGHT")})
		if r := p.LineRange; r != nil && ((r.End.Type == "new" && r.End.OldLine != 0) || (r.End.Type == "old" && r.End.NewLine != 0)) {
			t.Fatalf("hunk %q: range end %+v", h, r.End)
		}
	})
}
