package api_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/store"
)

// readWorld is a private project whose repository and wiki are built with
// real git, and merge requests that compare its branches.
type readWorld struct {
	pid                     int64
	bare                    string
	main, feature, two, big string // branch heads
	member, guest, outsider string // tokens
	binID                   string
}

func newReadWorld(t *testing.T, in *apptest.Instance) *readWorld {
	t.Helper()
	ctx := context.Background()
	root := in.Client(t, in.RootToken)
	grp := must(root.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("Team"), Path: gitlab.Ptr("team")}))(t)
	p := must(root.Projects.CreateProject(&gitlab.CreateProjectOptions{Path: gitlab.Ptr("app"), NamespaceID: &grp.ID,
		Visibility: gitlab.Ptr(gitlab.PrivateVisibility)}))(t)
	w := &readWorld{pid: p.ID}
	user := func(name string, level gitlab.AccessLevelValue) string {
		u := must(root.Users.CreateUser(&gitlab.CreateUserOptions{Username: gitlab.Ptr(name), Name: gitlab.Ptr(name),
			Email: gitlab.Ptr(name + "@example.com"), Password: gitlab.Ptr("s3cret-pass")}))(t)
		if level > 0 {
			must(root.ProjectMembers.AddProjectMember(p.ID, &gitlab.AddProjectMemberOptions{UserID: u.ID, AccessLevel: &level}))(t)
		}
		return must(root.Users.CreatePersonalAccessToken(u.ID, &gitlab.CreatePersonalAccessTokenOptions{
			Name: gitlab.Ptr("t"), Scopes: &[]string{"read_api"}}))(t).Token
	}
	w.member = user("reader", gitlab.ReporterPermissions)
	w.guest = user("visitor", gitlab.GuestPermissions)
	w.outsider = user("stranger", 0)

	if err := in.App.Git.Create(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	w.bare = in.App.Git.Path(p.ID)
	work := filepath.Join(t.TempDir(), "work")
	gitOK(t, "", "init", "--quiet", "-b", "main", work)
	write := func(dir, name, content string) {
		f := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(work, "a.txt", "one\ntwo\nthree\n")
	write(work, "old.txt", strings.Repeat("a line that stays the same\n", 20))
	write(work, "gone.txt", "bye\n")
	write(work, "docs/guide.md", "# Guide\n")
	gitOK(t, work, "add", ".")
	gitOK(t, work, "commit", "--quiet", "-m", "Initial")
	gitOK(t, work, "checkout", "--quiet", "-b", "feature")
	write(work, "a.txt", "one\n2\nthree\n")
	gitOK(t, work, "mv", "old.txt", "new.txt")
	gitOK(t, work, "rm", "--quiet", "gone.txt")
	write(work, "bin.dat", "\x00\x01\x02\xffbinary")
	gitOK(t, work, "add", ".")
	gitOK(t, work, "commit", "--quiet", "-m", "Rename, delete, add a binary")
	write(work, "docs/more.md", "more\n")
	gitOK(t, work, "add", ".")
	gitOK(t, work, "commit", "--quiet", "-m", "More docs")
	gitOK(t, work, "checkout", "--quiet", "-b", "two", "main")
	write(work, "two.txt", "2\n")
	gitOK(t, work, "add", ".")
	gitOK(t, work, "commit", "--quiet", "-m", "Two")
	gitOK(t, work, "checkout", "--quiet", "-b", "big", "main")
	write(work, "big.txt", strings.Repeat("a long line of text to make a patch over 200 KiB\n", 5000))
	gitOK(t, work, "add", ".")
	gitOK(t, work, "commit", "--quiet", "-m", "Big")
	gitOK(t, work, "push", "--quiet", w.bare, "main", "feature", "big", "two:refs/merge-requests/2/head")
	rev := func(r string) string { return strings.TrimSpace(gitOK(t, "", "--git-dir="+w.bare, "rev-parse", r)) }
	w.main, w.feature, w.two, w.big = rev("main"), rev("feature"), rev("refs/merge-requests/2/head"), rev("big")
	w.binID = rev("feature:bin.dat")

	if err := in.App.Git.CreateWiki(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	wiki := filepath.Join(t.TempDir(), "wiki")
	gitOK(t, "", "init", "--quiet", "-b", "main", wiki)
	write(wiki, "home.md", "# Home\n")
	write(wiki, "dir/Sub Page.md", "sub\n")
	write(wiki, "notes.rdoc", "= Notes\n")
	write(wiki, "manual.adoc", "= Manual\n")
	write(wiki, "plan.org", "* Plan\n")
	write(wiki, "uploads/logo.png", "\x89PNG")
	gitOK(t, wiki, "add", ".")
	gitOK(t, wiki, "commit", "--quiet", "-m", "Wiki")
	gitOK(t, wiki, "push", "--quiet", in.App.Git.WikiPath(p.ID), "main")

	// 1 compares feature with main by its SHAs, 2 has no SHAs (its head
	// is refs/merge-requests/2/head, its base the merge base with main),
	// 3 names commits that were never imported, 4 "SHAs" that are ref
	// names (which must not be resolved).
	err := in.App.Store.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.WriteContent(ctx, p.ID, []forge.Object{
			forge.MergeRequest{SourceID: gh("P1"), IID: 1, Title: "Feature", State: forge.StateOpened, SourceBranch: "feature",
				TargetBranch: "main", SourceSHA: w.feature, TargetSHA: w.main, Author: octo, CreatedAt: at(1), UpdatedAt: at(1)},
			forge.MergeRequest{SourceID: gh("P2"), IID: 2, Title: "Two", State: forge.StateMerged, SourceBranch: "two",
				TargetBranch: "main", Author: octo, CreatedAt: at(2), UpdatedAt: at(2)},
			forge.MergeRequest{SourceID: gh("P3"), IID: 3, Title: "Lost", State: forge.StateClosed, SourceBranch: "lost",
				TargetBranch: "gone", SourceSHA: strings.Repeat("1", 40), TargetSHA: strings.Repeat("2", 40), Author: octo,
				CreatedAt: at(3), UpdatedAt: at(3), ClosedAt: ptr(at(3))},
			forge.MergeRequest{SourceID: gh("P5"), IID: 5, Title: "Big", State: forge.StateOpened, SourceBranch: "big",
				TargetBranch: "main", SourceSHA: w.big, TargetSHA: w.main, Author: octo, CreatedAt: at(5), UpdatedAt: at(5)},
			forge.MergeRequest{SourceID: gh("P4"), IID: 4, Title: "Named", State: forge.StateOpened, SourceBranch: "feature",
				TargetBranch: "main", SourceSHA: "feature", TargetSHA: "HEAD", Author: octo, CreatedAt: at(4), UpdatedAt: at(4)},
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// wantDiffs is what main..feature changes, by new path.
var wantDiffs = []struct {
	old, new, aMode, bMode  string
	added, renamed, deleted bool
	diff                    string // the whole diff field
}{
	{"a.txt", "a.txt", "100644", "100644", false, false, false, "@@ -1,3 +1,3 @@\n one\n-two\n+2\n three\n"},
	{"bin.dat", "bin.dat", "0", "100644", true, false, false, "Binary files /dev/null and b/bin.dat differ\n"},
	{"docs/more.md", "docs/more.md", "0", "100644", true, false, false, "@@ -0,0 +1 @@\n+more\n"},
	{"gone.txt", "gone.txt", "100644", "0", false, false, true, "@@ -1 +0,0 @@\n-bye\n"},
	{"old.txt", "new.txt", "100644", "100644", false, true, false, ""},
}

func checkDiffs(t *testing.T, what string, got []*gitlab.MergeRequestDiff) {
	t.Helper()
	if len(got) != len(wantDiffs) {
		t.Fatalf("%s: %d diffs, want %d", what, len(got), len(wantDiffs))
	}
	for i, d := range got {
		w := wantDiffs[i]
		if d.OldPath != w.old || d.NewPath != w.new || d.AMode != w.aMode || d.BMode != w.bMode || d.NewFile != w.added ||
			d.RenamedFile != w.renamed || d.DeletedFile != w.deleted || d.Diff != w.diff || d.TooLarge || d.Collapsed {
			t.Errorf("%s: diff %d = %+v, want %+v", what, i, d, w)
		}
	}
}

func TestMergeRequestCommitsAndDiffs(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{}, func(t *testing.T, in *apptest.Instance) {
		w := newReadWorld(t, in)
		c := in.Client(t, w.member)

		// Commits: newest first, paginated, field by field as git says.
		want := gitLog(t, w.bare, "main..feature")
		var got []*gitlab.Commit
		opt := &gitlab.GetMergeRequestCommitsOptions{ListOptions: gitlab.ListOptions{PerPage: 1}}
		for {
			page, resp, err := c.MergeRequests.GetMergeRequestCommits(w.pid, 1, opt)
			if err != nil {
				t.Fatal(err)
			}
			if resp.TotalItems != 2 || resp.TotalPages != 2 {
				t.Errorf("commits: X-Total %d X-Total-Pages %d", resp.TotalItems, resp.TotalPages)
			}
			got = append(got, page...)
			if resp.NextPage == 0 {
				break
			}
			opt.Page = resp.NextPage
		}
		if len(got) != len(want) {
			t.Fatalf("%d commits, want %d", len(got), len(want))
		}
		for i := range got {
			checkCommit(t, in, "team/app", got[i], want[i])
		}
		two := must(c.MergeRequests.GetMergeRequestCommits(w.pid, 2, nil))(t)
		if len(two) != 1 || two[0].ID != w.two {
			t.Errorf("merge request 2 (head from refs/merge-requests): %v", two)
		}
		for _, iid := range []int64{3, 4} {
			if lost := must(c.MergeRequests.GetMergeRequestCommits(w.pid, iid, nil))(t); len(lost) != 0 {
				t.Errorf("merge request %d without imported commits: %v", iid, lost)
			}
		}

		// Diffs, paginated.
		var diffs []*gitlab.MergeRequestDiff
		dopt := &gitlab.ListMergeRequestDiffsOptions{ListOptions: gitlab.ListOptions{PerPage: 2}}
		for {
			page, resp, err := c.MergeRequests.ListMergeRequestDiffs(w.pid, 1, dopt)
			if err != nil {
				t.Fatal(err)
			}
			if resp.TotalItems != int64(len(wantDiffs)) {
				t.Errorf("diffs: X-Total %d", resp.TotalItems)
			}
			diffs = append(diffs, page...)
			if resp.NextPage == 0 {
				break
			}
			dopt.Page = resp.NextPage
		}
		checkDiffs(t, "diffs", diffs)
		uni := must(c.MergeRequests.ListMergeRequestDiffs(w.pid, 1, &gitlab.ListMergeRequestDiffsOptions{Unidiff: gitlab.Ptr(true)}))(t)
		if len(uni) != len(wantDiffs) || uni[0].Diff != "--- a/a.txt\n+++ b/a.txt\n"+wantDiffs[0].diff || !strings.HasPrefix(uni[3].Diff, "--- a/gone.txt\n+++ /dev/null\n") {
			t.Errorf("unidiff: %+v", uni)
		}
		if d := must(c.MergeRequests.ListMergeRequestDiffs(w.pid, 2, nil))(t); len(d) != 1 || d[0].NewPath != "two.txt" || !d[0].NewFile {
			t.Errorf("merge request 2 diffs: %+v", d)
		}
		if d := must(c.MergeRequests.ListMergeRequestDiffs(w.pid, 3, nil))(t); len(d) != 0 {
			t.Errorf("merge request 3 diffs: %+v", d)
		}

		// A patch over GitLab's 200 KiB is too_large, its diff left out,
		// unless the raw diffs are asked for.
		big := must(c.MergeRequests.ListMergeRequestDiffs(w.pid, 5, nil))(t)
		if len(big) != 1 || !big[0].TooLarge || big[0].Diff != "" || big[0].NewPath != "big.txt" {
			t.Errorf("big diff: %+v", big)
		}
		status, h, body := apiGet(t, in, w.member, fmt.Sprintf("/api/v4/projects/%d/merge_requests/5/changes?access_raw_diffs=true", w.pid))
		if status != 200 || !strings.Contains(string(body), `"too_large":false`) || len(body) < 200<<10 {
			t.Errorf("big changes with raw diffs: %d %.300s", status, body)
		}

		// Changes: the merge request and its diffs.
		mr := must(c.MergeRequests.GetMergeRequestChanges(w.pid, 1, nil))(t)
		if mr.IID != 1 || mr.Title != "Feature" || mr.ChangesCount != "5" || mr.DiffRefs.HeadSha != w.feature || mr.DiffRefs.StartSha != w.main {
			t.Errorf("changes: merge request %+v", mr)
		}
		status, h, body = apiGet(t, in, w.member, fmt.Sprintf("/api/v4/projects/%d/merge_requests/1/changes", w.pid))
		var changes struct {
			IID      int64                      `json:"iid"`
			Changes  []*gitlab.MergeRequestDiff `json:"changes"`
			Overflow *bool                      `json:"overflow"`
		}
		if err := json.Unmarshal(body, &changes); status != 200 || err != nil {
			t.Fatalf("changes: %d %v %s", status, err, body)
		}
		checkDiffs(t, "changes", changes.Changes)
		if changes.Overflow == nil || *changes.Overflow {
			t.Errorf("changes: overflow %v", changes.Overflow)
		}

		// Raw diffs: git's patch, headers and all.
		status, h, body = apiGet(t, in, w.member, fmt.Sprintf("/api/v4/projects/%d/merge_requests/1/raw_diffs", w.pid))
		wantRaw := gitOK(t, "", "--git-dir="+w.bare, "diff-tree", "-r", "-p", "-M", "--full-index", "--no-commit-id", w.main, w.feature)
		if status != 200 || string(body) != wantRaw || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
			t.Errorf("raw diffs: %d %q\n%s\nwant\n%s", status, h.Get("Content-Type"), body, wantRaw)
		}

		// Versions: one, the diff of today.
		versions := must(c.MergeRequests.GetMergeRequestDiffVersions(w.pid, 1, nil))(t)
		if len(versions) != 1 || versions[0].HeadCommitSHA != w.feature || versions[0].BaseCommitSHA != w.main ||
			versions[0].StartCommitSHA != w.main || versions[0].State != "collected" || versions[0].RealSize != "5" || versions[0].MergeRequestID != versions[0].ID {
			t.Fatalf("versions: %+v", versions)
		}
		v := must(c.MergeRequests.GetSingleMergeRequestDiffVersion(w.pid, 1, versions[0].ID, nil))(t)
		if len(v.Commits) != 2 || v.Commits[0].ID != w.feature || len(v.Diffs) != len(wantDiffs) || v.Diffs[4].NewPath != "new.txt" || !v.Diffs[4].RenamedFile {
			t.Errorf("version: %+v", v)
		}
		if vs := must(c.MergeRequests.GetMergeRequestDiffVersions(w.pid, 3, nil))(t); len(vs) != 0 {
			t.Errorf("versions of merge request 3: %+v", vs)
		}
		if code, _, body := apiGet(t, in, w.member, fmt.Sprintf("/api/v4/projects/%d/merge_requests/1/versions/%d", w.pid, versions[0].ID+1000)); code != 404 {
			t.Errorf("missing version: %d %s", code, body)
		}

		for _, path := range []string{"commits", "changes", "diffs", "raw_diffs", "versions"} {
			status, _, body := apiGet(t, in, w.member, fmt.Sprintf("/api/v4/projects/%d/merge_requests/99/%s", w.pid, path))
			if status != 404 || strings.TrimSpace(string(body)) != `{"message":"404 Merge Request Not Found"}` {
				t.Errorf("missing merge request %s: %d %s", path, status, body)
			}
		}
	})
}

func TestRepositoryTreeCompareBlobs(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{}, func(t *testing.T, in *apptest.Instance) {
		w := newReadWorld(t, in)
		c := in.Client(t, w.member)
		node := func(n *gitlab.TreeNode) string { return n.Type + ":" + n.Path }

		// Tree: trees first; recursive lists every entry, pages and all.
		top := must(c.Repositories.ListTree(w.pid, &gitlab.ListTreeOptions{Ref: gitlab.Ptr("feature")}))(t)
		var names []string
		for _, n := range top {
			names = append(names, node(n))
		}
		if want := []string{"tree:docs", "blob:a.txt", "blob:bin.dat", "blob:new.txt"}; !reflect.DeepEqual(names, want) {
			t.Errorf("tree %v, want %v", names, want)
		}
		for _, n := range top {
			if n.Path == "bin.dat" && (n.ID != w.binID || n.Mode != "100644" || n.Name != "bin.dat") {
				t.Errorf("bin.dat node %+v", n)
			}
		}
		lsTree := strings.Fields(gitOK(t, "", "--git-dir="+w.bare, "ls-tree", "-r", "-t", "--name-only", "feature"))
		var all []string
		opt := &gitlab.ListTreeOptions{Ref: gitlab.Ptr("feature"), Recursive: gitlab.Ptr(true), ListOptions: gitlab.ListOptions{PerPage: 2}}
		for {
			page, resp, err := c.Repositories.ListTree(w.pid, opt)
			if err != nil {
				t.Fatal(err)
			}
			if resp.TotalItems != int64(len(lsTree)) {
				t.Errorf("recursive tree X-Total %d, want %d", resp.TotalItems, len(lsTree))
			}
			for _, n := range page {
				all = append(all, n.Path)
			}
			if resp.NextPage == 0 {
				break
			}
			opt.Page = resp.NextPage
		}
		sort.Strings(all)
		sort.Strings(lsTree)
		if !reflect.DeepEqual(all, lsTree) {
			t.Errorf("recursive tree %v, want %v", all, lsTree)
		}
		docs := must(c.Repositories.ListTree(w.pid, &gitlab.ListTreeOptions{Ref: gitlab.Ptr("feature"), Path: gitlab.Ptr("docs")}))(t)
		if len(docs) != 2 || docs[0].Path != "docs/guide.md" || docs[1].Path != "docs/more.md" {
			t.Errorf("docs tree %v", docs)
		}
		// Default branch without ref.
		if mainTree := must(c.Repositories.ListTree(w.pid, nil))(t); len(mainTree) != 4 || node(mainTree[3]) != "blob:old.txt" {
			t.Errorf("default branch tree: %v", mainTree)
		}

		// Keyset pagination: follow Link rel="next" to the end.
		next := fmt.Sprintf("/api/v4/projects/%d/repository/tree?ref=feature&recursive=true&pagination=keyset&per_page=3", w.pid)
		var keyset []string
		for pages := 0; next != "" && pages < 10; pages++ {
			status, h, body := apiGet(t, in, w.member, next)
			var page []*gitlab.TreeNode
			if err := json.Unmarshal(body, &page); status != 200 || err != nil {
				t.Fatalf("keyset %s: %d %s", next, status, body)
			}
			for _, n := range page {
				keyset = append(keyset, n.Path)
			}
			next = ""
			if l := h.Get("Link"); l != "" {
				u := strings.TrimPrefix(strings.Split(l, ">")[0], "<")
				next = strings.TrimPrefix(u, in.URL)
				if !strings.Contains(l, `rel="next"`) || !strings.Contains(u, "page_token=") {
					t.Errorf("keyset Link %q", l)
				}
			}
		}
		// An object id as page_token (GitLab's first documented token).
		status, _, body := apiGet(t, in, w.member, fmt.Sprintf("/api/v4/projects/%d/repository/tree?ref=feature&pagination=keyset&page_token=%s", w.pid, w.binID))
		var after []*gitlab.TreeNode
		if err := json.Unmarshal(body, &after); status != 200 || err != nil || len(after) != 1 || after[0].Path != "new.txt" {
			t.Errorf("keyset after an object id: %d %s", status, body)
		}
		// pagination=none: the whole recursive tree.
		status, h, body := apiGet(t, in, w.member, fmt.Sprintf("/api/v4/projects/%d/repository/tree?ref=feature&recursive=true&pagination=none", w.pid))
		var whole []*gitlab.TreeNode
		if err := json.Unmarshal(body, &whole); status != 200 || err != nil || len(whole) != len(lsTree) || h.Get("Link") != "" {
			t.Errorf("pagination=none: %d %s", status, body)
		}
		sort.Strings(keyset)
		if !reflect.DeepEqual(keyset, lsTree) {
			t.Errorf("keyset tree %v, want %v", keyset, lsTree)
		}

		// Compare.
		cmp := must(c.Repositories.Compare(w.pid, &gitlab.CompareOptions{From: gitlab.Ptr("main"), To: gitlab.Ptr("feature")}))(t)
		want := gitLog(t, w.bare, "--reverse", "main..feature")
		if len(cmp.Commits) != len(want) || cmp.Commit == nil || cmp.Commit.ID != w.feature || cmp.CompareSameRef || cmp.CompareTimeout {
			t.Fatalf("compare: %+v", cmp)
		}
		for i := range want {
			checkCommit(t, in, "team/app", cmp.Commits[i], want[i])
		}
		if len(cmp.Diffs) != len(wantDiffs) || cmp.Diffs[4].OldPath != "old.txt" || !cmp.Diffs[4].RenamedFile || cmp.Diffs[0].Diff != wantDiffs[0].diff {
			t.Errorf("compare diffs: %+v", cmp.Diffs)
		}
		if cmp.WebURL != in.URL+"/team/app/-/compare/main...feature" {
			t.Errorf("compare web_url %q", cmp.WebURL)
		}
		// From the merge request 2 head: three dots diff from the merge
		// base (main), two dots also undo two.txt.
		mr2 := "refs/merge-requests/2/head"
		cmp = must(c.Repositories.Compare(w.pid, &gitlab.CompareOptions{From: gitlab.Ptr(mr2), To: gitlab.Ptr("feature")}))(t)
		straight := must(c.Repositories.Compare(w.pid, &gitlab.CompareOptions{From: gitlab.Ptr(mr2), To: gitlab.Ptr("feature"), Straight: gitlab.Ptr(true)}))(t)
		if len(cmp.Diffs) != len(wantDiffs) || len(straight.Diffs) != len(wantDiffs)+1 || len(straight.Commits) != 2 {
			t.Errorf("compare three dots %d diffs, two dots %d diffs %d commits", len(cmp.Diffs), len(straight.Diffs), len(straight.Commits))
		}
		same := must(c.Repositories.Compare(w.pid, &gitlab.CompareOptions{From: gitlab.Ptr("main"), To: gitlab.Ptr(w.main)}))(t)
		if !same.CompareSameRef || same.Commit != nil || len(same.Commits) != 0 || len(same.Diffs) != 0 {
			t.Errorf("compare same: %+v", same)
		}

		// Blobs.
		raw := must(c.Repositories.Blob(w.pid, w.binID))(t)
		var blob struct {
			Size     int64  `json:"size"`
			Encoding string `json:"encoding"`
			Content  string `json:"content"`
			SHA      string `json:"sha"`
		}
		if err := json.Unmarshal(raw, &blob); err != nil {
			t.Fatal(err)
		}
		content, _ := base64.StdEncoding.DecodeString(blob.Content)
		if blob.SHA != w.binID || blob.Encoding != "base64" || string(content) != "\x00\x01\x02\xffbinary" || blob.Size != 10 {
			t.Errorf("blob %+v", blob)
		}
		if b := must(c.Repositories.RawBlobContent(w.pid, w.binID[:12]))(t); string(b) != "\x00\x01\x02\xffbinary" {
			t.Errorf("raw blob %q", b)
		}
		_, h, _ = apiGet(t, in, w.member, fmt.Sprintf("/api/v4/projects/%d/repository/blobs/%s/raw", w.pid, w.binID))
		if h.Get("Content-Type") != "application/octet-stream" || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("raw blob headers %v", h)
		}

		// What is refused, with GitLab's texts.
		bad := []struct {
			path   string
			status int
			body   string
		}{
			{"repository/tree?path=nope", 404, `{"message":"404 Tree Not Found"}`},
			{"repository/tree?path=a.txt&ref=feature", 404, `{"message":"404 Tree Not Found"}`},
			{"repository/tree?path=../x", 404, `{"message":"404 Tree Not Found"}`},
			{"repository/tree?ref=--output%3D%2Ftmp%2Fx", 404, `{"message":"404 Tree Not Found"}`},
			{"repository/tree?ref=main..feature", 404, `{"message":"404 Tree Not Found"}`},
			{"repository/tree?pagination=other", 400, `{"error":"pagination does not have a valid value"}`},
			{"repository/tree?pagination=keyset&page_token=0000", 400, ""},
			{"repository/compare?from=main", 400, `{"error":"to is missing"}`},
			{"repository/compare?from=-p&to=main", 404, `{"message":"404 Ref Not Found"}`},
			{"repository/compare?from=nope&to=main", 404, `{"message":"404 Ref Not Found"}`},
			{"repository/compare?from=main&to=feature&from_project_id=99999", 400,
				fmt.Sprintf(`{"message":"Target project id:99999 is not a fork of project id:%d"}`, w.pid)},
			{"repository/tree?pagination=none", 400, `{"error":"pagination cannot be \"none\" unless \"recursive\" is true"}`},
			{"repository/blobs/-p", 404, `{"message":"404 Blob Not Found"}`},
			{"repository/blobs/main", 404, `{"message":"404 Blob Not Found"}`},
			{"repository/blobs/" + w.feature, 404, `{"message":"404 Blob Not Found"}`},
			{"repository/blobs/" + strings.Repeat("0", 40) + "/raw", 404, `{"message":"404 Blob Not Found"}`},
		}
		for _, tt := range bad {
			status, _, body := apiGet(t, in, w.member, fmt.Sprintf("/api/v4/projects/%d/%s", w.pid, tt.path))
			if status != tt.status || (tt.body != "" && strings.TrimSpace(string(body)) != tt.body) {
				t.Errorf("%s: %d %s, want %d %s", tt.path, status, body, tt.status, tt.body)
			}
		}
	})
}

func TestRepositoryArchive(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{}, func(t *testing.T, in *apptest.Instance) {
		w := newReadWorld(t, in)
		c := in.Client(t, w.member)
		var tgz bytes.Buffer
		resp, err := c.Repositories.StreamArchive(w.pid, &tgz, &gitlab.ArchiveOptions{SHA: gitlab.Ptr("feature")})
		if err != nil {
			t.Fatal(err)
		}
		prefix := "app-feature-" + w.feature
		if cd := resp.Header.Get("Content-Disposition"); cd != `attachment; filename="`+prefix+`.tar.gz"` {
			t.Errorf("Content-Disposition %q", cd)
		}
		zr, err := gzip.NewReader(&tgz)
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(zr)
		files := map[string]string{}
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if h.Typeflag == tar.TypeReg {
				b, _ := io.ReadAll(tr)
				files[h.Name] = string(b)
			}
		}
		want := map[string]string{prefix + "/a.txt": "one\n2\nthree\n", prefix + "/bin.dat": "\x00\x01\x02\xffbinary",
			prefix + "/new.txt": strings.Repeat("a line that stays the same\n", 20), prefix + "/docs/guide.md": "# Guide\n", prefix + "/docs/more.md": "more\n"}
		if !reflect.DeepEqual(files, want) {
			t.Errorf("tar.gz files %v, want %v", files, want)
		}

		zipped := must(c.Repositories.Archive(w.pid, &gitlab.ArchiveOptions{Format: gitlab.Ptr("zip"), SHA: gitlab.Ptr(w.main), Path: gitlab.Ptr("docs")}))(t)
		zf, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, f := range zf.File {
			names = append(names, f.Name)
		}
		p := "app-" + w.main + "-" + w.main + "-docs/" // append_sha, as the API asks
		if want := []string{p, p + "docs/", p + "docs/guide.md"}; !reflect.DeepEqual(names, want) {
			t.Errorf("zip of docs %v, want %v", names, want)
		}
		// exclude_paths, comma-separated.
		code, _, excl := apiGet(t, in, w.member, fmt.Sprintf("/api/v4/projects/%d/repository/archive.zip?sha=feature&exclude_paths=docs,bin.dat", w.pid))
		if code != 200 {
			t.Fatalf("archive with exclude_paths: %d %s", code, excl)
		}
		zf, err = zip.NewReader(bytes.NewReader(excl), int64(len(excl)))
		if err != nil {
			t.Fatal(err)
		}
		names = nil
		for _, f := range zf.File {
			names = append(names, strings.TrimPrefix(f.Name, prefix))
		}
		if want := []string{"/", "/a.txt", "/new.txt"}; !reflect.DeepEqual(names, want) {
			t.Errorf("zip without docs and bin.dat: %v, want %v", names, want)
		}
		for _, bad := range []string{"archive?exclude_paths=../x", "archive?sha=nope", "archive?sha=-x", "archive?path=../x", "archive?path=missing", "archive.tar.xz", "archive.exe"} {
			status, _, body := apiGet(t, in, w.member, fmt.Sprintf("/api/v4/projects/%d/repository/%s", w.pid, bad))
			if status != 404 || strings.TrimSpace(string(body)) != `{"message":"404 File Not Found"}` {
				t.Errorf("%s: %d %s", bad, status, body)
			}
		}
	})
}

func TestWikis(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{}, func(t *testing.T, in *apptest.Instance) {
		w := newReadWorld(t, in)
		c := in.Client(t, w.member)
		pages := must(c.Wikis.ListWikis(w.pid, nil))(t)
		var got []string
		for _, p := range pages {
			got = append(got, p.Slug+"|"+p.Title+"|"+string(p.Format)+"|"+p.Content)
		}
		want := []string{"dir/Sub-Page|Sub Page|markdown|", "home|home|markdown|", "manual|manual|asciidoc|", "notes|notes|rdoc|", "plan|plan|org|"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("wikis %v, want %v", got, want)
		}
		_, _, body := apiGet(t, in, w.member, fmt.Sprintf("/api/v4/projects/%d/wikis", w.pid))
		if bytes.Contains(body, []byte(`"content"`)) || bytes.Contains(body, []byte(`"encoding"`)) {
			t.Errorf("list without content: %s", body)
		}
		full := must(c.Wikis.ListWikis(w.pid, &gitlab.ListWikisOptions{WithContent: gitlab.Ptr(true)}))(t)
		if len(full) != 5 || full[1].Content != "# Home\n" || full[1].Encoding != "UTF-8" {
			t.Errorf("wikis with content: %+v", full)
		}
		page := must(c.Wikis.GetWikiPage(w.pid, "dir/Sub-Page", nil))(t)
		if page.Slug != "dir/Sub-Page" || page.Title != "Sub Page" || page.Content != "sub\n" || page.Format != gitlab.WikiFormatMarkdown || page.Encoding != "UTF-8" {
			t.Errorf("wiki page %+v", page)
		}
		// version: the page as of a commit of the wiki.
		first := strings.TrimSpace(gitOK(t, "", "--git-dir="+in.App.Git.WikiPath(w.pid), "rev-parse", "HEAD"))
		if pg := must(c.Wikis.GetWikiPage(w.pid, "home", &gitlab.GetWikiPageOptions{Version: gitlab.Ptr(first)}))(t); pg.Content != "# Home\n" {
			t.Errorf("home at %s: %+v", first, pg)
		}
		for _, slug := range []string{"nope", "uploads%2Flogo", "..%2Fhome", "home?version=nope", "home?version=--all"} {
			status, _, body := apiGet(t, in, w.member, fmt.Sprintf("/api/v4/projects/%d/wikis/%s", w.pid, slug))
			if status != 404 || strings.TrimSpace(string(body)) != `{"message":"404 Wiki Page Not Found"}` {
				t.Errorf("wiki %s: %d %s", slug, status, body)
			}
		}
	})
}

// TestReadAPIAccess: the new reads follow the repository's rules: private
// projects are 404 to strangers and anonymous callers, 403 to a Guest for
// code but not for the wiki.
func TestReadAPIAccess(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{}, func(t *testing.T, in *apptest.Instance) {
		w := newReadWorld(t, in)
		paths := []string{"merge_requests/1/commits", "merge_requests/1/changes", "merge_requests/1/diffs", "merge_requests/1/raw_diffs", "merge_requests/1/versions",
			"repository/tree", "repository/compare?from=main&to=feature", "repository/blobs/" + w.binID,
			"repository/blobs/" + w.binID + "/raw", "repository/archive", "repository/archive.zip", "wikis", "wikis/home"}
		for _, tt := range []struct {
			name   string
			token  string
			status int
		}{
			{"anonymous", "", 404}, {"outsider", w.outsider, 404}, {"member", w.member, 200}, {"admin", in.RootToken, 200},
		} {
			for _, p := range paths {
				status, _, body := apiGet(t, in, tt.token, fmt.Sprintf("/api/v4/projects/%d/%s", w.pid, p))
				if status != tt.status {
					t.Errorf("%s: %s: %d, want %d: %.200s", tt.name, p, status, tt.status, body)
				}
				if status == 404 && !bytes.Contains(body, []byte("404 Project Not Found")) {
					t.Errorf("%s: %s: 404 body %s", tt.name, p, body)
				}
			}
		}
		// A Guest sees the project, not its code: the merge request's
		// commits and diffs are code too. The wiki is not code: GitLab's
		// read_wiki is a Guest's.
		for _, p := range paths {
			want := 403
			if strings.HasPrefix(p, "wikis") {
				want = 200
			}
			if status, _, body := apiGet(t, in, w.guest, fmt.Sprintf("/api/v4/projects/%d/%s", w.pid, p)); status != want {
				t.Errorf("guest: %s: %d, want %d: %s", p, status, want, body)
			}
		}
	})
}
