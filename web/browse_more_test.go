package web_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/store"
)

// browseExtras adds to a browseWorld project: an annotated tag, a branch
// of 45 commits (two pages), 105 more issues (two pages), a label, a
// milestone with an issue in it and a release with a hostile asset link.
func browseExtras(t *testing.T, in *apptest.Instance, pid int64) {
	t.Helper()
	ctx := context.Background()
	bare := in.App.Git.Path(pid)
	runGit(t, bare, "tag", "-a", "-m", "First "+hostile, "v1.0", "main")
	work := filepath.Join(t.TempDir(), "long")
	runGit(t, "", "clone", "--quiet", "--branch", "main", bare, work)
	for i := 1; i <= 45; i++ {
		runGit(t, work, "commit", "--quiet", "--allow-empty", "-m", fmt.Sprintf("Step %d", i))
	}
	runGit(t, work, "push", "--quiet", "origin", "HEAD:refs/heads/long")
	mainSHA := strings.TrimSpace(runGit(t, bare, "rev-parse", "main"))

	id := func(s string) forge.SourceID { return forge.SourceID{Type: "github", Host: "github.com", ID: s} }
	octo := forge.SourceUser{SourceID: forge.SourceID{ID: "501"}, Login: "octo", Name: "Octo Cat"}
	t0 := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	due := time.Date(2024, 9, 30, 0, 0, 0, 0, time.UTC)
	objs := []forge.Object{
		forge.Label{SourceID: id("L1"), Name: "bug", Color: "#d9534f", Description: "Broken " + hostile, CreatedAt: t0, UpdatedAt: t0},
		forge.Label{SourceID: id("L2"), Name: "odd", Color: "red;x", CreatedAt: t0, UpdatedAt: t0},
		forge.Milestone{SourceID: id("M1"), IID: 7, Title: "Version one", Description: "Ship **it**", State: forge.MilestoneActive, DueDate: &due, CreatedAt: t0, UpdatedAt: t0},
		forge.Issue{SourceID: id("I3"), IID: 3, Title: "In the milestone", State: forge.StateOpened, Author: octo, Labels: []string{"bug"}, MilestoneIID: 7,
			CreatedAt: t0, UpdatedAt: t0},
		forge.Release{SourceID: id("R1"), TagName: "v1.0", Name: "One " + hostile, Description: "Notes *here*", Author: &octo, CommitSHA: mainSHA,
			CreatedAt: t0, ReleasedAt: &t0, Links: []forge.ReleaseLink{{Name: "bin", URL: "https://example.com/bin"}, {Name: "evil", URL: "javascript:alert(1)"}}},
	}
	for i := 100; i < 205; i++ {
		objs = append(objs, forge.Issue{SourceID: id(fmt.Sprintf("IX%d", i)), IID: int64(i), Title: fmt.Sprintf("Filler %d", i), State: forge.StateClosed,
			Author: octo, CreatedAt: t0.Add(time.Duration(i) * time.Minute), UpdatedAt: t0})
	}
	if err := in.App.Store.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.WriteContent(ctx, pid, objs)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// pageCase is a page, who asks for it, and what it must (or must not) show.
type pageCase struct {
	name   string
	who    *browser
	path   string
	status int
	want   []string
	not    []string
}

func checkPages(t *testing.T, cases []pageCase) {
	t.Helper()
	for _, c := range cases {
		res, page := c.who.do("GET", c.path, nil)
		if res.StatusCode != c.status {
			t.Errorf("%s: GET %s: %d, want %d\n%s", c.name, c.path, res.StatusCode, c.status, page)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(page, w) {
				t.Errorf("%s: GET %s: no %q in\n%s", c.name, c.path, w, page)
			}
		}
		for _, w := range append(c.not, hostile, "javascript:") {
			if strings.Contains(page, w) {
				t.Errorf("%s: GET %s: %q in\n%s", c.name, c.path, w, page)
			}
		}
	}
}

func TestBrowseRepoAndContent(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{Workers: 1}, func(t *testing.T, in *apptest.Instance) {
		reader, rtok := user(t, in, "reader")
		_, stok := user(t, in, "stranger")
		pid := browseWorld(t, in, reader, "secret", gitlab.PrivateVisibility)
		browseExtras(t, in, pid)
		b := newBrowser(t, in)
		b.signIn(rtok.Token)
		stranger := newBrowser(t, in)
		stranger.signIn(stok.Token)
		anon := newBrowser(t, in)
		base := "/root/secret"
		mainSHA := strings.TrimSpace(runGit(t, in.App.Git.Path(pid), "rev-parse", "main"))
		featSHA := strings.TrimSpace(runGit(t, in.App.Git.Path(pid), "rev-parse", "feature/x"))
		esc := `&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;`

		cases := []pageCase{
			// Sub-navigation on every project page, the current one marked.
			{"nav", b, base + "/-/labels", 200, []string{`<nav aria-label="Project"`, `href="/root/secret/-/commits"`, `href="/root/secret/-/branches"`,
				`href="/root/secret/-/tags"`, `href="/root/secret/-/milestones"`, `href="/root/secret/-/releases"`,
				`href="/root/secret/-/labels" aria-current="page"`, `href="/root/secret/-/tree/main"`}, nil},
			// Commits: the default branch, a ref with a slash, paging.
			{"commits", b, base + "/-/commits", 200, []string{"<code>main</code>", `href="/root/secret/-/commit/` + mainSHA + `"`,
				"<code>" + mainSHA[:8] + "</code>", "Initial", `<th scope="col">Author</th>`, "1 commit on main"}, nil},
			{"commits of a ref with a slash", b, base + "/-/commits/feature/x", 200, []string{"Change", "Initial", featSHA[:8]}, nil},
			{"commits page 1", b, base + "/-/commits/long", 200, []string{"Step 45", "Step 6<", `<nav aria-label="Pages"`,
				`rel="next" href="/root/secret/-/commits/long?page=2"`, "Page 1 of 2", "46 commits"}, []string{"Step 5<", `rel="prev"`}},
			{"commits page 2", b, base + "/-/commits/long?page=2", 200, []string{"Step 5<", "Initial", `rel="prev" href="/root/secret/-/commits/long"`},
				[]string{"Step 6<", `rel="next"`}},
			{"commits past the end", b, base + "/-/commits/long?page=9", 404, nil, nil},
			{"commits of no ref", b, base + "/-/commits/nobranch", 404, nil, nil},
			// The history of one path: feature/x changed a.txt, not README.md.
			{"commits of a path", b, base + "/-/commits/feature/x/README.md", 200, []string{`<code id="history-path">README.md</code>`, "Initial",
				"1 commit on feature/x"}, []string{"Change"}},
			{"commits of another path", b, base + "/-/commits/feature/x/a.txt", 200, []string{"Change"}, nil},
			{"tree links its history", b, base + "/-/tree/feature/x", 200, []string{`href="/root/secret/-/commits/feature/x"`}, nil},
			// One commit: message, parent, its diff.
			{"commit", b, base + "/-/commit/" + featSHA, 200, []string{`<h1 id="title">Change</h1>`, featSHA,
				`href="/root/secret/-/commit/` + mainSHA + `"`, `class="difffile" data-path="a.txt"`, `data-new="2"`, `<td class="code">+2</td>`}, nil},
			{"root commit", b, base + "/-/commit/" + mainSHA, 200, []string{"none (root commit)", `data-path="README.md"`, `<span class="kind">new</span>`}, nil},
			{"short sha", b, base + "/-/commit/" + featSHA[:10], 200, []string{featSHA}, nil},
			{"unknown commit", b, base + "/-/commit/" + strings.Repeat("0", 40), 404, nil, nil},
			// Branches and tags link to their files and commits.
			{"branches", b, base + "/-/branches", 200, []string{`href="/root/secret/-/tree/feature/x"`, `href="/root/secret/-/tree/main"`,
				`<span class="kind">default</span>`, `href="/root/secret/-/commits/long"`, "Step 45"}, nil},
			{"tags", b, base + "/-/tags", 200, []string{`href="/root/secret/-/tree/v1.0"`, "First " + esc, mainSHA[:8]}, nil},
			// Labels: color swatch only for a hex color, counts.
			{"labels", b, base + "/-/labels", 200, []string{`fill="#d9534f"`, `<span class="label">bug</span>`, "Broken " + esc,
				`<span class="label">odd</span>`, "2 labels by name"}, []string{"red;x"}},
			// Milestones: the list, a state filter, one with its issue.
			{"milestones", b, base + "/-/milestones", 200, []string{`href="/root/secret/-/milestones/7"`, "Version one", "2024-09-30",
				`<label for="state">State</label>`}, nil},
			{"closed milestones", b, base + "/-/milestones?state=closed", 200, []string{"No milestones."}, []string{"Version one"}},
			{"milestone", b, base + "/-/milestones/7", 200, []string{`<h1 id="title">Version one`, "<strong>it</strong>",
				`href="/root/secret/-/issues/3"`, "In the milestone", "1 issue in this milestone"}, []string{"Filler"}},
			{"unknown milestone", b, base + "/-/milestones/8", 404, nil, nil},
			// Releases: rendered notes, tag and commit links, safe asset links.
			{"releases", b, base + "/-/releases", 200, []string{"One " + esc, "<em>here</em>", `href="/root/secret/-/tree/v1.0"`,
				`href="/root/secret/-/commit/` + mainSHA + `"`, `href="https://example.com/bin"`, "octo", `evil <span class="kind">link not shown</span>`}, []string{"ZgotmplZ"}},
			{"release", b, base + "/-/releases/v1.0", 200, []string{"Release One " + esc, `href="/root/secret/-/releases"`}, nil},
			{"unknown release", b, base + "/-/releases/v9", 404, nil, nil},
			{"tag path leads to its files", b, base + "/-/tags/v1.0", 303, nil, nil},
			// Issues page past 100, keeping the state filter.
			{"issues page 1", b, base + "/-/issues?state=closed", 200, []string{"105 Issues", "Filler 204", "Page 1 of 2",
				`rel="next" href="/root/secret/-/issues?page=2&amp;state=closed"`}, []string{"Filler 104<"}},
			{"issues page 2", b, base + "/-/issues?state=closed&page=2", 200, []string{"Filler 104<", "Filler 100<",
				`rel="prev" href="/root/secret/-/issues?state=closed"`}, []string{"Filler 105<", "In the milestone"}},
			{"merge requests one page", b, base + "/-/merge_requests", 200, []string{"Change a"}, []string{`<nav aria-label="Pages"`}},
		}
		// Outsiders: none of these pages exist for them.
		for _, who := range []*browser{stranger, anon} {
			for _, p := range []string{"/-/commits", "/-/commit/" + mainSHA, "/-/branches", "/-/tags", "/-/labels", "/-/milestones", "/-/milestones/7",
				"/-/releases", "/-/releases/v1.0", "/-/issues?page=2"} {
				cases = append(cases, pageCase{"outsider", who, base + p, 404, nil, []string{"Version one", "Step 45", "bug"}})
			}
		}
		checkPages(t, cases)
	})
}

// TestBrowseCodeHidden: a guest of a private project sees its labels,
// milestones and releases but not its code pages, nor code links.
func TestBrowseCodeHidden(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{Workers: 1}, func(t *testing.T, in *apptest.Instance) {
		guest, gtok := user(t, in, "guest")
		pid := browseWorld(t, in, nil, "secret", gitlab.PrivateVisibility)
		browseExtras(t, in, pid)
		root := in.Client(t, in.RootToken)
		if _, _, err := root.ProjectMembers.AddProjectMember(int(pid), &gitlab.AddProjectMemberOptions{UserID: guest.ID,
			AccessLevel: gitlab.Ptr(gitlab.GuestPermissions)}); err != nil {
			t.Fatal(err)
		}
		b := newBrowser(t, in)
		b.signIn(gtok.Token)
		base := "/root/secret"
		cases := []pageCase{
			{"releases without code links", b, base + "/-/releases", 200, []string{"<code>v1.0</code>"},
				[]string{`href="/root/secret/-/tree/v1.0"`, "/-/commit/", `href="/root/secret/-/commits"`}},
			{"labels", b, base + "/-/labels", 200, []string{"bug"}, []string{`href="/root/secret/-/branches"`}},
		}
		for _, p := range []string{"/-/commits", "/-/commits/main", "/-/branches", "/-/tags", "/-/tags/v1.0"} {
			cases = append(cases, pageCase{"code page", b, base + p, 404, nil, []string{"Step 45"}})
		}
		checkPages(t, cases)
	})
}
