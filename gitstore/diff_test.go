package gitstore

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/ferry-import/ferry/gitstore/archivetest"
)

// shapedRepo builds project id with real git: on main a.txt, old.txt,
// gone.txt, run.sh and docs/guide.md; on "feature" a change of a.txt, the
// rename old.txt → new.txt, the deletion of gone.txt, a new binary file,
// run.sh made executable and a large file. Its wiki has pages in four
// formats and an attachment. It returns the bare repository and the
// feature and main shas.
func shapedRepo(t *testing.T, s *Store, id int64) (bare, main, feature string) {
	t.Helper()
	ctx := context.Background()
	if err := s.Create(ctx, id); err != nil {
		t.Fatal(err)
	}
	bare = s.Path(id)
	work := filepath.Join(t.TempDir(), "work")
	gitWith(t, "", "init", "--quiet", "-b", "main", work)
	write := func(name, content string) {
		p := filepath.Join(work, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.txt", "one\ntwo\nthree\n")
	write("old.txt", strings.Repeat("a line that stays the same\n", 20))
	write("gone.txt", "bye\n")
	write("run.sh", "#!/bin/sh\n")
	write("docs/guide.md", "# Guide\n")
	gitWith(t, work, "add", ".")
	gitWith(t, work, "commit", "--quiet", "-m", "Initial")
	gitWith(t, work, "checkout", "--quiet", "-b", "feature")
	write("a.txt", "one\n2\nthree\n")
	gitWith(t, work, "mv", "old.txt", "new.txt")
	gitWith(t, work, "rm", "--quiet", "gone.txt")
	write("bin.dat", "\x00\x01\x02\xffbinary")
	write("big.txt", strings.Repeat("x", 1000)+"\n")
	gitWith(t, work, "add", ".")
	gitWith(t, work, "update-index", "--chmod=+x", "run.sh")
	gitWith(t, work, "commit", "--quiet", "-m", "Change")
	gitWith(t, work, "push", "--quiet", bare, "main", "feature")
	main = gitWith(t, bare, "rev-parse", "main")
	feature = gitWith(t, bare, "rev-parse", "feature")

	if err := s.CreateWiki(ctx, id); err != nil {
		t.Fatal(err)
	}
	wiki := filepath.Join(t.TempDir(), "wiki")
	gitWith(t, "", "init", "--quiet", "-b", "main", wiki)
	work = wiki
	write("home.md", "# Home\n")
	write("dir/Sub Page.md", "sub\n")
	write("notes.rdoc", "= Notes\n")
	write("manual.adoc", "= Manual\n")
	write("plan.org", "* Plan\n")
	write("uploads/logo.png", "\x89PNG")
	gitWith(t, wiki, "add", ".")
	gitWith(t, wiki, "commit", "--quiet", "-m", "Wiki")
	gitWith(t, wiki, "push", "--quiet", s.WikiPath(id), "main")
	return bare, main, feature
}

func TestDiff(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	_, main, feature := shapedRepo(t, s, 1)
	files, overflow, err := s.Diff(ctx, 1, main, feature, DiffLimits{MaxPatchBytes: 500})
	if err != nil || overflow {
		t.Fatalf("diff: overflow %v err %v", overflow, err)
	}
	byPath := map[string]DiffFile{}
	for _, f := range files {
		byPath[f.NewPath] = f
	}
	tests := []struct {
		path string
		want DiffFile
		diff string // prefix of the diff text
	}{
		{"a.txt", DiffFile{OldPath: "a.txt", NewPath: "a.txt", AMode: "100644", BMode: "100644"}, "@@ -1,3 +1,3 @@\n one\n-two\n+2\n"},
		{"new.txt", DiffFile{OldPath: "old.txt", NewPath: "new.txt", AMode: "100644", BMode: "100644", RenamedFile: true}, ""},
		{"gone.txt", DiffFile{OldPath: "gone.txt", NewPath: "gone.txt", AMode: "100644", BMode: "0", DeletedFile: true}, "@@ -1 +0,0 @@\n-bye\n"},
		{"bin.dat", DiffFile{OldPath: "bin.dat", NewPath: "bin.dat", AMode: "0", BMode: "100644", NewFile: true}, "Binary files /dev/null and b/bin.dat differ\n"},
		{"run.sh", DiffFile{OldPath: "run.sh", NewPath: "run.sh", AMode: "100644", BMode: "100755"}, ""},
		{"big.txt", DiffFile{OldPath: "big.txt", NewPath: "big.txt", AMode: "0", BMode: "100644", NewFile: true, TooLarge: true}, ""},
	}
	if len(files) != len(tests) {
		t.Errorf("%d files, want %d: %+v", len(files), len(tests), files)
	}
	for _, tt := range tests {
		got, ok := byPath[tt.path]
		if !ok {
			t.Errorf("%s: missing", tt.path)
			continue
		}
		if !strings.HasPrefix(got.Diff, tt.diff) || (tt.diff == "" && got.Diff != "") {
			t.Errorf("%s: diff %q, want %q…", tt.path, got.Diff, tt.diff)
		}
		got.Diff = ""
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.path, got, tt.want)
		}
	}

	// Limits: files past MaxFiles are cut; a cap on the whole output makes
	// the files it reaches too large.
	cut, overflow, err := s.Diff(ctx, 1, main, feature, DiffLimits{MaxFiles: 2})
	if err != nil || !overflow || len(cut) != 2 || cut[0].NewPath != files[0].NewPath || cut[0].Diff != files[0].Diff || cut[1].NewPath != files[1].NewPath {
		t.Errorf("max files: %d files overflow %v err %v", len(cut), overflow, err)
	}
	capped, _, err := s.Diff(ctx, 1, main, feature, DiffLimits{MaxBytes: 300})
	if err != nil || capped[0].TooLarge || !capped[len(capped)-1].TooLarge {
		t.Errorf("max bytes: %+v err %v", capped, err)
	}
	// From the empty tree: everything is new.
	root, _, err := s.Diff(ctx, 1, "", main, DiffLimits{})
	if err != nil || len(root) != 5 || !root[0].NewFile {
		t.Errorf("root diff: %+v err %v", root, err)
	}
	for _, bad := range []string{"--output=/tmp/x", "main..feature", "HEAD@{0}", "nope"} {
		if _, _, err := s.Diff(ctx, 1, bad, feature, DiffLimits{}); !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrInvalid) {
			t.Errorf("from %q: %v", bad, err)
		}
	}

	var raw bytes.Buffer
	if err := s.WriteRawDiff(ctx, 1, main, feature, &raw); err != nil || !strings.Contains(raw.String(), "diff --git a/old.txt b/new.txt\nsimilarity index 100%\nrename from old.txt\nrename to new.txt\n") {
		t.Errorf("raw diff: %v\n%s", err, raw.String())
	}
	if err := s.WriteRawDiff(ctx, 1, "-p", feature, io.Discard); !errors.Is(err, ErrInvalid) {
		t.Errorf("raw diff from -p: %v", err)
	}

	// A file that becomes a symlink is one entry (git prints it as two
	// patches), and the entries after it keep their own patches.
	work := filepath.Join(t.TempDir(), "tc")
	gitWith(t, "", "clone", "--quiet", "-b", "feature", s.Path(1), work)
	if err := os.Remove(filepath.Join(work, "a.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("new.txt", filepath.Join(work, "a.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "z.txt"), []byte("z\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitWith(t, work, "add", "-A")
	gitWith(t, work, "commit", "--quiet", "-m", "Symlink")
	gitWith(t, work, "push", "--quiet", "origin", "HEAD:refs/heads/symlink")
	tc, _, err := s.Diff(ctx, 1, feature, "symlink", DiffLimits{})
	if err != nil || len(tc) != 2 || tc[0].AMode != "100644" || tc[0].BMode != "120000" ||
		!strings.Contains(tc[0].Diff, "-one\n") || !strings.Contains(tc[0].Diff, "+new.txt\n") || tc[1].Diff != "@@ -0,0 +1 @@\n+z\n" {
		t.Errorf("type change: %+v err %v", tc, err)
	}

	cs, total, err := s.CommitsBetween(ctx, 1, main, feature, 0, 10)
	if err != nil || total != 1 || len(cs) != 1 || cs[0].ID != feature {
		t.Errorf("commits between: %d %v err %v", total, cs, err)
	}
	if mb, err := s.MergeBase(ctx, 1, "feature", "main"); err != nil || mb != main {
		t.Errorf("merge base %s err %v, want %s", mb, err, main)
	}
}

func TestTreeBlobArchive(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	_, _, feature := shapedRepo(t, s, 1)
	names := func(es []TreeEntry) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.Type+":"+e.Path)
		}
		return out
	}
	top, err := s.Tree(ctx, 1, "feature", "", false)
	if want := []string{"tree:docs", "blob:a.txt", "blob:big.txt", "blob:bin.dat", "blob:new.txt", "blob:run.sh"}; err != nil || !reflect.DeepEqual(names(top), want) {
		t.Errorf("tree: %v err %v, want %v", names(top), err, want)
	}
	rec, err := s.Tree(ctx, 1, "feature", "", true)
	if err != nil || len(rec) != 7 || names(rec)[0] != "tree:docs" || !strings.Contains(strings.Join(names(rec), " "), "blob:docs/guide.md") {
		t.Errorf("recursive tree: %v err %v", names(rec), err)
	}
	sub, err := s.Tree(ctx, 1, "feature", "docs", false)
	if err != nil || len(sub) != 1 || sub[0].Path != "docs/guide.md" || sub[0].Name != "guide.md" || sub[0].Mode != "100644" {
		t.Errorf("sub tree: %+v err %v", sub, err)
	}
	for _, bad := range []string{"a.txt", "nope", "../x", "/docs", "docs/../docs"} {
		if _, err := s.Tree(ctx, 1, "feature", bad, false); !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrInvalid) {
			t.Errorf("tree path %q: %v", bad, err)
		}
	}
	var binID string
	for _, e := range top {
		if e.Path == "bin.dat" {
			binID = e.ID
		}
	}
	b, err := s.ReadBlob(ctx, 1, binID[:10])
	if err != nil || b.ID != binID || string(b.Content) != "\x00\x01\x02\xffbinary" || b.Size != int64(len(b.Content)) {
		t.Errorf("blob: %+v err %v", b, err)
	}
	for _, bad := range []string{"-p", "feature", top[0].ID, "zzzz", strings.Repeat("0", 40)} {
		if _, err := s.ReadBlob(ctx, 1, bad); !errors.Is(err, ErrNotFound) {
			t.Errorf("blob %q: %v", bad, err)
		}
	}

	var tgz bytes.Buffer
	if err := s.Archive(ctx, 1, feature, ArchiveOptions{Format: "tar.gz", Prefix: "p-feature/"}, &tgz); err != nil {
		t.Fatal(err)
	}
	got := archivetest.Decode(t, "tar.gz", tgz.Bytes()).Order
	sort.Strings(got)
	want := []string{"p-feature/", "p-feature/a.txt", "p-feature/big.txt", "p-feature/bin.dat", "p-feature/docs/", "p-feature/docs/guide.md", "p-feature/new.txt", "p-feature/run.sh"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("tar.gz entries %v, want %v", got, want)
	}
	var zipped bytes.Buffer
	if err := s.Archive(ctx, 1, feature, ArchiveOptions{Format: "zip", SubPath: "docs", Prefix: "p/"}, &zipped); err != nil {
		t.Fatal(err)
	}
	got = archivetest.Decode(t, "zip", zipped.Bytes()).Order
	if want := []string{"p/", "p/docs/", "p/docs/guide.md"}; !reflect.DeepEqual(got, want) {
		t.Errorf("zip of docs: %v, want %v", got, want)
	}
	if err := s.Archive(ctx, 1, "feature", ArchiveOptions{Format: "tar", Prefix: "p/"}, io.Discard); !errors.Is(err, ErrInvalid) {
		t.Errorf("archive of a ref name, not a sha: %v", err)
	}
	if err := s.Archive(ctx, 1, feature, ArchiveOptions{Format: "tar.xz", Prefix: "p/"}, io.Discard); !errors.Is(err, ErrInvalid) {
		t.Errorf("archive in an unknown format: %v", err)
	}
	// Excluded paths, literally: "*.txt" names no file here, so excludes
	// nothing.
	var excl bytes.Buffer
	if err := s.Archive(ctx, 1, feature, ArchiveOptions{Format: "zip", Exclude: []string{"docs", "bin.dat", "*.txt"}}, &excl); err != nil {
		t.Fatal(err)
	}
	got = archivetest.Decode(t, "zip", excl.Bytes()).Order
	if want := []string{"a.txt", "big.txt", "new.txt", "run.sh"}; !reflect.DeepEqual(got, want) {
		t.Errorf("zip without docs and bin.dat: %v, want %v", got, want)
	}
	if err := s.Archive(ctx, 1, feature, ArchiveOptions{Format: "zip", Exclude: []string{"../x"}}, io.Discard); !errors.Is(err, ErrInvalid) {
		t.Errorf("exclude ../x: %v", err)
	}
	if ok, err := s.PathExists(ctx, 1, feature, "docs/guide.md"); !ok || err != nil {
		t.Errorf("path exists: %v %v", ok, err)
	}
	if ok, err := s.PathExists(ctx, 1, feature, "docs/nope"); ok || err != nil {
		t.Errorf("missing path exists: %v %v", ok, err)
	}
}

func TestWikiPages(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	shapedRepo(t, s, 1)
	pages, err := s.WikiPages(ctx, 1, "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range pages {
		got = append(got, p.Slug+"|"+p.Title+"|"+p.Format)
	}
	want := []string{"dir/Sub-Page|Sub Page|markdown", "home|home|markdown", "manual|manual|asciidoc", "notes|notes|rdoc", "plan|plan|org"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("pages %v, want %v", got, want)
	}
	pg, err := s.WikiPageAt(ctx, 1, "dir/Sub-Page", "")
	if err != nil || string(pg.Content) != "sub\n" || pg.Path != "dir/Sub Page.md" {
		t.Errorf("page: %+v err %v", pg, err)
	}
	if err := s.WikiContents(ctx, 1, pages); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"sub\n", "# Home\n", "= Manual\n", "= Notes\n", "* Plan\n"} {
		if string(pages[i].Content) != want {
			t.Errorf("page %s content %q, want %q", pages[i].Slug, pages[i].Content, want)
		}
	}
	if _, err := s.WikiPageAt(ctx, 1, "uploads/logo", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("attachment as a page: %v", err)
	}
	if pages, err := s.WikiPages(ctx, 2, ""); err != nil || len(pages) != 0 {
		t.Errorf("no wiki: %v %v", pages, err)
	}
}
