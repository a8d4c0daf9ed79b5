package web_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/store"
)

const hostile = `<script>alert("x")</script>`

func runGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=T",
		"GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// browseWorld is a project with a repository, an issue with a hostile
// note and a merge request with diff notes on both sides of its diff.
func browseWorld(t *testing.T, in *apptest.Instance, owner *ferry.User, path string, vis gitlab.VisibilityValue) int64 {
	t.Helper()
	ctx := context.Background()
	root := in.Client(t, in.RootToken)
	p, _, err := root.Projects.CreateProject(&gitlab.CreateProjectOptions{Path: gitlab.Ptr(path), Description: gitlab.Ptr("About " + hostile),
		Visibility: gitlab.Ptr(vis)})
	if err != nil {
		t.Fatal(err)
	}
	if owner != nil {
		if _, _, err := root.ProjectMembers.AddProjectMember(p.ID, &gitlab.AddProjectMemberOptions{UserID: owner.ID,
			AccessLevel: gitlab.Ptr(gitlab.ReporterPermissions)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := in.App.Git.Create(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(t.TempDir(), "work")
	runGit(t, "", "init", "--quiet", "-b", "main", work)
	write := func(name, content string) {
		f := filepath.Join(work, filepath.FromSlash(name))
		_ = os.MkdirAll(filepath.Dir(f), 0o755)
		if err := os.WriteFile(f, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("README.md", "# Hello\n\n"+hostile+"\n")
	write("a.txt", "one\ntwo\nthree\n")
	write("docs/guide.md", "guide <b>bold</b>\n")
	write("bin.dat", "\x00\x01\x02binary")
	runGit(t, work, "add", ".")
	runGit(t, work, "commit", "--quiet", "-m", "Initial")
	runGit(t, work, "checkout", "--quiet", "-b", "feature/x")
	write("a.txt", "one\n2\nthree\n")
	runGit(t, work, "commit", "--quiet", "-am", "Change")
	runGit(t, work, "push", "--quiet", in.App.Git.Path(p.ID), "main", "feature/x")
	rev := func(r string) string { return strings.TrimSpace(runGit(t, work, "rev-parse", r)) }
	mainSHA, featSHA := rev("main"), rev("feature/x")
	octo := forge.SourceUser{SourceID: forge.SourceID{ID: "501"}, Login: "octo", Name: "Octo Cat"}
	id := func(s string) forge.SourceID { return forge.SourceID{Type: "github", Host: "github.com", ID: s} }
	t0 := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	newPos := &forge.DiffPosition{BaseSHA: mainSHA, StartSHA: mainSHA, HeadSHA: featSHA, OldPath: "a.txt", NewPath: "a.txt", NewLine: 2}
	oldPos := &forge.DiffPosition{BaseSHA: mainSHA, StartSHA: mainSHA, HeadSHA: featSHA, OldPath: "a.txt", NewPath: "a.txt", OldLine: 2}
	err = in.App.Store.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.WriteContent(ctx, p.ID, []forge.Object{
			forge.Issue{SourceID: id("I1"), IID: 1, Title: "Crash " + hostile, Description: "It crashes", State: forge.StateOpened, Author: octo,
				CreatedAt: t0, UpdatedAt: t0},
			forge.Note{SourceID: id("C1"), On: forge.Noteable{Type: forge.OnIssue, IID: 1}, Body: "Note **bold** " + hostile + " [click](javascript:alert(1))", Author: octo, CreatedAt: t0, UpdatedAt: t0},
			forge.Note{SourceID: id("C2"), On: forge.Noteable{Type: forge.OnIssue, IID: 1}, Body: "closed", System: true, Author: octo, CreatedAt: t0, UpdatedAt: t0},
			forge.AwardEmoji{SourceID: id("E1"), On: forge.Noteable{Type: forge.OnIssue, IID: 1}, Name: "thumbsup", User: octo, CreatedAt: t0, UpdatedAt: t0},
			forge.MergeRequest{SourceID: id("P2"), IID: 2, Title: "Change a", State: forge.StateOpened, SourceBranch: "feature/x", TargetBranch: "main",
				SourceSHA: featSHA, TargetSHA: mainSHA, Author: octo, CreatedAt: t0, UpdatedAt: t0},
			forge.Discussion{SourceID: id("RC1"), On: forge.Noteable{Type: forge.OnMergeRequest, IID: 2}, Notes: []forge.Note{
				{SourceID: id("RC1"), Body: "Why 2? " + hostile, Author: octo, Position: newPos, CreatedAt: t0, UpdatedAt: t0}}},
			forge.Discussion{SourceID: id("RC2"), On: forge.Noteable{Type: forge.OnMergeRequest, IID: 2}, Notes: []forge.Note{
				{SourceID: id("RC2"), Body: "two was fine", Author: octo, Position: oldPos, CreatedAt: t0, UpdatedAt: t0}}},
			forge.Note{SourceID: id("C3"), On: forge.Noteable{Type: forge.OnMergeRequest, IID: 2}, Body: "Looks good", Author: octo, CreatedAt: t0, UpdatedAt: t0},
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return int64(p.ID)
}

func TestBrowse(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{Workers: 1}, func(t *testing.T, in *apptest.Instance) {
		reader, rtok := user(t, in, "reader")
		_, stok := user(t, in, "stranger")
		browseWorld(t, in, reader, "secret", gitlab.PrivateVisibility)
		browseWorld(t, in, nil, "open", gitlab.PublicVisibility)
		b := newBrowser(t, in)
		b.signIn(rtok.Token)
		stranger := newBrowser(t, in)
		stranger.signIn(stok.Token)
		anon := newBrowser(t, in)
		base := "/root/secret"

		get := func(b *browser, path string, status int, want ...string) string {
			t.Helper()
			res, page := b.do("GET", path, nil)
			if res.StatusCode != status {
				t.Fatalf("GET %s: %d, want %d\n%s", path, res.StatusCode, status, page)
			}
			for _, w := range want {
				if !strings.Contains(page, w) {
					t.Errorf("GET %s: no %q in\n%s", path, w, page)
				}
			}
			if strings.Contains(page, hostile) {
				t.Errorf("GET %s: unescaped hostile content", path)
			}
			return page
		}
		esc := `&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;`

		// Project page: name, description, default branch, README, links.
		get(b, base, 200, `<h1 id="project-name">secret</h1>`, "About "+esc, `<dd id="default-branch">main</dd>`,
			`<div class="markdown" id="readme"><h1>Hello</h1>`, "<!-- raw HTML omitted -->",
			`href="/root/secret/-/issues"`, `href="/root/secret/-/merge_requests"`, `href="/root/secret/-/tree/main/docs"`,
			`href="/root/secret/-/blob/main/a.txt"`)
		// Tree and file views; a ref with a slash; binary files say so.
		get(b, base+"/-/tree/main/docs", 200, `href="/root/secret/-/blob/main/docs/guide.md"`)
		get(b, base+"/-/blob/main/docs/guide.md", 200, `<pre class="blob" id="blob">guide &lt;b&gt;bold&lt;/b&gt;`)
		get(b, base+"/-/blob/feature/x/a.txt", 200, "one\n2\nthree")
		get(b, base+"/-/blob/main/bin.dat", 200, `id="binary"`)
		get(b, base+"/-/blob/main/nope.txt", 404)
		get(b, base+"/-/tree/nobranch", 404)

		// Issues: list, one with its notes, system notes and emoji, escaped.
		get(b, base+"/-/issues", 200, `href="/root/secret/-/issues/1"`, "Crash "+esc)
		// Markdown is rendered; raw HTML and javascript: links are not.
		page := get(b, base+"/-/issues/1", 200, "<p>Note <strong>bold</strong> <!-- raw HTML omitted -->", `class="note system"`, ":thumbsup:")
		if strings.Contains(page, "javascript:") || strings.Contains(page, "<script") {
			t.Errorf("a hostile note got through:\n%s", page)
		}
		get(b, base+"/-/issues/9", 404)

		// Merge requests: the diff, each diff note at its line.
		get(b, base+"/-/merge_requests", 200, `href="/root/secret/-/merge_requests/2"`, "feature/x → main")
		page = get(b, base+"/-/merge_requests/2", 200, "Looks good")
		i := strings.Index(page, `data-new="2"`)
		j := strings.Index(page, "Why 2? <!-- raw HTML omitted -->")
		k := strings.Index(page, `data-new="3" data-old="3"`)
		if i < 0 || j < i || k < j {
			t.Errorf("the new-side note is not right after new line 2 (%d %d %d):\n%s", i, j, k, page)
		}
		i = strings.Index(page, `data-old="2"`)
		j = strings.Index(page, "two was fine")
		if i < 0 || j < i || j > strings.Index(page, `data-new="2"`) {
			t.Errorf("the old-side note is not right after old line 2 (%d %d):\n%s", i, j, page)
		}

		// A stranger and a signed-out user: the private project is not
		// there (the API's JSON 404), the public one is.
		for _, who := range []*browser{stranger, anon} {
			for _, p := range []string{base, base + "/-/issues/1", base + "/-/merge_requests/2", base + "/-/blob/main/a.txt"} {
				res, body := who.do("GET", p, nil)
				if res.StatusCode != 404 || strings.Contains(body, "Why 2?") || strings.Contains(body, "secret") && strings.Contains(body, "<h1") {
					t.Errorf("GET %s by an outsider: %d %s", p, res.StatusCode, body)
				}
			}
			get(who, "/root/open", 200, `<h1 id="project-name">open</h1>`)
			get(who, "/root/open/-/merge_requests/2", 200, "Why 2?")
		}

		// Not shadowed: the API, git, unknown paths and sub-pages, other methods.
		if res, body := b.do("GET", "/api/v4/projects/root%2Fopen", nil); res.StatusCode != 200 || !strings.Contains(body, `"path_with_namespace":"root/open"`) {
			t.Errorf("API: %d %s", res.StatusCode, body)
		}
		for _, p := range []string{"/root/secret/-/wikis", "/root/nope", "/root/secret.git"} {
			if res, body := b.do("GET", p, nil); res.StatusCode != 404 || strings.Contains(body, "<html") {
				t.Errorf("GET %s: %d %s", p, res.StatusCode, body)
			}
		}
		if res, body := b.do("POST", base, nil); strings.Contains(body, "<html") {
			t.Errorf("POST %s: %d %s", base, res.StatusCode, body)
		}
	})
}
