package bitbucketserver

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/importer"
)

func testRun(t *testing.T, server string) *run {
	t.Helper()
	r, err := newRun(&importer.Env{SourceURL: server, SourceRef: "PRJ/my-repo", Credential: "tok", HTTP: &http.Client{}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func decodeFile(t *testing.T, name string, v any) {
	t.Helper()
	raw, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// Real server answers decode into what the importer needs.
func TestRealAnswers(t *testing.T) {
	r := testRun(t, "http://example.com:7990")
	var repo repository
	decodeFile(t, "repo.json", &repo)
	clone, err := r.cloneURL(repo)
	if err != nil || clone != "http://example.com:7990/scm/prj/my-repo.git" {
		t.Errorf("clone URL %q, %v (the viewer's name dropped, the server's host kept)", clone, err)
	}
	if repo.Public || repo.Project.Public || repo.ScmID != "git" {
		t.Errorf("repository %+v", repo)
	}
	if _, err := testRun(t, "http://other.example.com").cloneURL(repo); err == nil {
		t.Error("a clone link on another host was accepted")
	}

	var pr pullRequest
	decodeFile(t, "pr.json", &pr)
	b := r.builder()
	mr := b.mergeRequest(pr)
	if mr.IID != 1 || mr.Title != "Updated Files" || mr.State != forge.StateOpened || mr.SourceBranch != "feature/x" ||
		mr.TargetBranch != "master" || mr.SourceSHA != "131cb13f4aed12e725177bc4b7c28db67839bf9f" || mr.TargetSHA == "" ||
		mr.Author.Login != "jcitizen" || mr.Author.Email != "jane@example.com" || mr.CreatedAt.UnixMilli() != 1530766870981 {
		t.Errorf("merge request %+v", mr)
	}
	var profiles int
	for _, o := range b.Objects() {
		if u, ok := o.(forge.SourceUser); ok && u.Source().ID == "jcitizen" && u.Email == "jane@example.com" {
			profiles++
		}
	}
	if profiles != 1 {
		t.Errorf("%d profiles of the author on the page, want 1", profiles)
	}
}

// inlineActivity is an inline comment with a reply, anchored on a line
// of a diff whose hunk marks the comment's line.
func inlineActivity(lineType, fileType string, src, dst int64) activity {
	return activity{ID: 50, Action: "COMMENTED", CommentAction: "ADDED",
		Comment: &comment{ID: 7, Text: "why?", Author: user{Slug: "bob", DisplayName: "Bob"}, CreatedDate: 1000,
			Comments: []comment{{ID: 8, Text: "because", Author: user{Slug: "amy"}, CreatedDate: 2000}}},
		CommentAnchor: &commentAnchor{Path: "src/a.go", SrcPath: "src/old.go", Line: max(src, dst), LineType: lineType, FileType: fileType},
		Diff: &diff{Hunks: []struct {
			Segments []struct {
				Type  string     `json:"type"`
				Lines []diffLine `json:"lines"`
			} `json:"segments"`
		}{{Segments: []struct {
			Type  string     `json:"type"`
			Lines []diffLine `json:"lines"`
		}{{Type: lineType, Lines: []diffLine{{Source: 1, Destination: 1}, {Source: src, Destination: dst, CommentIDs: []int64{7}}}}}}}}}
}

func notes(b *builder) []forge.Note {
	var out []forge.Note
	for _, o := range b.Objects() {
		if n, ok := o.(forge.Note); ok {
			out = append(out, n)
		}
	}
	return out
}

// Inline comments become diff notes on the side their line type names,
// replies in the same thread at the same position.
func TestInlinePositions(t *testing.T) {
	r := testRun(t, "http://bbs.example.com")
	for _, c := range []struct {
		lineType, fileType string
		src, dst           int64
		old, new           int64
	}{
		{"ADDED", "TO", 0, 12, 0, 12},
		{"REMOVED", "FROM", 9, 0, 9, 0},
		{"CONTEXT", "FROM", 4, 6, 4, 6},
		{"CONTEXT", "TO", 4, 6, 4, 6},
	} {
		b := r.builder()
		b.activity(3, inlineActivity(c.lineType, c.fileType, c.src, c.dst), false)
		ns := notes(b)
		if len(ns) != 2 {
			t.Fatalf("%s/%s: %d notes, want the comment and its reply", c.lineType, c.fileType, len(ns))
		}
		for _, n := range ns {
			p := n.Position
			if p == nil || p.OldLine != c.old || p.NewLine != c.new || p.OldPath != "src/old.go" || p.NewPath != "src/a.go" {
				t.Errorf("%s/%s: note %s at %+v, want old %d new %d", c.lineType, c.fileType, n.ID, p, c.old, c.new)
			}
			if n.DiscussionID != "comment/7" || n.On != (forge.Noteable{Type: forge.OnMergeRequest, IID: 3}) {
				t.Errorf("%s/%s: note %s in %q on %+v", c.lineType, c.fileType, n.ID, n.DiscussionID, n.On)
			}
		}
	}
	// A line the diff does not show: a plain thread saying where it was.
	a := inlineActivity("ADDED", "TO", 0, 12)
	a.Diff = nil
	b := r.builder()
	b.activity(3, a, false)
	ns := notes(b)
	if len(ns) != 2 || ns[0].Position != nil || !strings.HasPrefix(ns[0].Body, "*Comment on src/a.go:12*\n\nwhy?") {
		t.Errorf("orphaned comment: %+v", ns)
	}
}

// An inline comment whose line the diff does not give is a plain thread
// saying where it was, each side only when known (GitLab's fallback note).
func TestInlineFallback(t *testing.T) {
	r := testRun(t, "http://bbs.example.com")
	for _, c := range []struct {
		name string
		edit func(*activity)
		want string
	}{
		{"not in the diff, new side", func(a *activity) { a.Diff = nil; a.CommentAnchor.LineType = "CONTEXT"; a.CommentAnchor.Line = 40 },
			"*Comment on src/a.go:40*"},
		{"not in the diff, old side", func(a *activity) {
			a.Diff = nil
			a.CommentAnchor.LineType, a.CommentAnchor.FileType, a.CommentAnchor.Line = "REMOVED", "FROM", 41
		}, "*Comment on src/old.go:41*"},
		{"orphaned context line", func(a *activity) { a.CommentAnchor.Orphaned = true }, "*Comment on src/old.go:4 --> src/a.go:6*"},
		{"nowhere", func(a *activity) { a.Diff = nil; a.CommentAnchor.Line = 0 }, "*Comment on src/a.go*"},
	} {
		a := inlineActivity("CONTEXT", "TO", 4, 6)
		c.edit(&a)
		b := r.builder()
		b.activity(3, a, false)
		ns := notes(b)
		if len(ns) != 2 || ns[0].Position != nil || ns[0].Body != c.want+"\n\nwhy?" {
			t.Errorf("%s: %+v, want a plain thread starting %q", c.name, ns, c.want)
		}
	}
}

// Nested replies form one discussion; a reply to a reply quotes what it
// answers; a BLOCKER comment is a resolvable thread.
func TestThreads(t *testing.T) {
	r := testRun(t, "http://bbs.example.com")
	long := strings.Repeat("x", 90)
	a := activity{ID: 60, Action: "COMMENTED", Comment: &comment{ID: 1, Text: "root", Author: user{Slug: "bob"}, Severity: "BLOCKER", State: "RESOLVED",
		CreatedDate: 1000, UpdatedDate: 5000, Version: 2,
		Comments: []comment{{ID: 2, Text: long, Author: user{Slug: "amy"},
			Comments: []comment{{ID: 3, Text: "deep", Author: user{Slug: "bob"}}}},
			{ID: 4, Text: "second", Author: user{Slug: "root", EmailAddress: "root@bbs.example.com"}}}}}
	b := r.builder()
	b.activity(5, a, false)
	ns := notes(b)
	want := []struct{ id, body string }{
		{"comment/1", "root"}, {"comment/2", long}, {"comment/3", "> " + strings.Repeat("x", 80) + " ...\n\ndeep"}, {"comment/4", "second"},
	}
	if len(ns) != len(want) {
		t.Fatalf("%d notes, want %d", len(ns), len(want))
	}
	for i, w := range want {
		if ns[i].ID != w.id || ns[i].Body != w.body || ns[i].DiscussionID != "comment/1" || ns[i].System {
			t.Errorf("note %d: %s %q in %s, want %s %q", i, ns[i].ID, ns[i].Body, ns[i].DiscussionID, w.id, w.body)
		}
	}
	if !ns[0].Resolvable || !ns[0].Resolved || ns[0].UpdatedAt.UnixMilli() != 5000 {
		t.Errorf("task comment: resolvable %v resolved %v updated %v", ns[0].Resolvable, ns[0].Resolved, ns[0].UpdatedAt)
	}
	if ns[3].Author.Login != "root" || ns[3].Author.Email != "root@bbs.example.com" {
		t.Errorf("a Bitbucket user called root is a source user like any other: %+v", ns[3].Author)
	}
}

// Events become what GitLab shows: merged_by from the merge commit,
// closures, approvals and system notes in GitLab's words.
func TestEvents(t *testing.T) {
	r := testRun(t, "http://bbs.example.com")
	for _, c := range []struct {
		a      activity
		system string
		check  func(*testing.T, []forge.Object)
	}{
		{activity{ID: 1, Action: "MERGED", User: user{Slug: "amy"}, CreatedDate: 1000,
			Commit: &commit{ID: "abc123", Committer: person{Slug: "carl", Name: "carl"}, CommitterTimestamp: 7000}},
			"merged manually", func(t *testing.T, objs []forge.Object) { // GitLab's StateNote for a merge by a commit
				for _, o := range objs {
					if cl, ok := o.(forge.Closure); ok && (!cl.Merged || cl.By.Login != "carl" || cl.At.UnixMilli() != 7000) {
						t.Errorf("closure %+v", cl)
					}
				}
			}},
		{activity{ID: 2, Action: "DECLINED", User: user{Slug: "amy"}, CreatedDate: 2000}, "closed", nil},
		{activity{ID: 6, Action: "MERGED", User: user{Slug: "amy"}, CreatedDate: 1000}, "merged", nil},
		{activity{ID: 7, Action: "UNAPPROVED", User: user{Slug: "amy"}}, "unapproved this merge request", nil},
		{activity{ID: 8, Action: "REVIEWED", User: user{Slug: "amy"}}, "requested changes", nil},
		{activity{ID: 9, Action: "RESCOPED", User: user{Slug: "amy"}, Added: &commitList{}, Removed: &commitList{Total: 3, Commits: []struct {
			ID      string `json:"id"`
			Message string `json:"message"`
		}{{ID: "0123456789ab", Message: "Use <b> & 'quotes'"}}}},
			"removed 3 commits\n\n<ul><li>01234567 - Use &lt;b&gt; &amp; &#39;quotes&#39;</li></ul>", nil},
		{activity{ID: 3, Action: "REOPENED", User: user{Slug: "amy"}}, "reopened", nil},
		{activity{ID: 4, Action: "APPROVED", User: user{Slug: "amy"}, CreatedDate: 4000}, "approved this merge request",
			func(t *testing.T, objs []forge.Object) {
				for _, o := range objs {
					if rv, ok := o.(forge.Review); ok && (rv.State != forge.ReviewApproved || rv.Author.Login != "amy" || rv.MergeRequestIID != 9) {
						t.Errorf("review %+v", rv)
					}
				}
			}},
		{activity{ID: 5, Action: "RESCOPED", User: user{Slug: "amy"}, Added: &commitList{Total: 2, Commits: []struct {
			ID      string `json:"id"`
			Message string `json:"message"`
		}{{ID: "0123456789ab", Message: "Fix it\n\nbody"}, {ID: "fedcba987654", Message: "Test it"}}}},
			"added 2 commits\n\n<ul><li>01234567 - Fix it</li><li>fedcba98 - Test it</li></ul>", nil},
	} {
		b := r.builder()
		b.activity(9, c.a, true)
		var sys []string
		for _, n := range notes(b) {
			if n.System {
				sys = append(sys, n.Body)
			}
		}
		if len(sys) != 1 || sys[0] != c.system {
			t.Errorf("%s: system notes %q, want %q", c.a.Action, sys, c.system)
		}
		if c.check != nil {
			c.check(t, b.Objects())
		}
	}
}

// MERGED, DECLINED and REOPENED activities are state events too, by the
// merger (the merge commit's committer when the server says) and at the
// time the closure and system note show.
func TestStateEvents(t *testing.T) {
	r := testRun(t, "http://bbs.example.com")
	for _, c := range []struct {
		a     activity
		state string // "" = no state event
		by    string
		at    int64
	}{
		{activity{ID: 1, Action: "MERGED", User: user{Slug: "amy"}, CreatedDate: 1000,
			Commit: &commit{ID: "abc123", Committer: person{Slug: "carl", Name: "carl"}, CommitterTimestamp: 7000}}, "merged", "carl", 7000},
		{activity{ID: 2, Action: "MERGED", User: user{Slug: "amy"}, CreatedDate: 1000}, "merged", "amy", 1000},
		{activity{ID: 3, Action: "DECLINED", User: user{Slug: "amy"}, CreatedDate: 2000}, "closed", "amy", 2000},
		{activity{ID: 4, Action: "REOPENED", User: user{Slug: "bob"}, CreatedDate: 3000}, "reopened", "bob", 3000},
		{activity{ID: 5, Action: "APPROVED", User: user{Slug: "amy"}, CreatedDate: 4000}, "", "", 0},
		{activity{ID: 6, Action: "UNAPPROVED", User: user{Slug: "amy"}, CreatedDate: 4000}, "", "", 0},
	} {
		b := r.builder()
		b.activity(9, c.a, true)
		var got []forge.ResourceEvent
		for _, o := range b.Objects() {
			if e, ok := o.(forge.ResourceEvent); ok {
				got = append(got, e)
			}
		}
		if c.state == "" {
			if len(got) != 0 {
				t.Errorf("%s: resource events %+v, want none", c.a.Action, got)
			}
			continue
		}
		if len(got) != 1 {
			t.Fatalf("%s: %d resource events, want 1", c.a.Action, len(got))
		}
		e := got[0]
		if e.Event != forge.EventState || e.State != c.state || e.Author.Login != c.by || e.CreatedAt.UnixMilli() != c.at ||
			e.On != (forge.Noteable{Type: forge.OnMergeRequest, IID: 9}) || e.ID == "" {
			t.Errorf("%s: %+v, want %s by %s at %d", c.a.Action, e, c.state, c.by, c.at)
		}
	}
}
