package gitstore

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

var identity = []string{"GIT_AUTHOR_NAME=Ann Author", "GIT_AUTHOR_EMAIL=ann@example.com", "GIT_COMMITTER_NAME=Cy Committer",
	"GIT_COMMITTER_EMAIL=cy@example.com", "GIT_AUTHOR_DATE=2021-06-18T09:45:55+02:00", "GIT_COMMITTER_DATE=2021-06-19T10:00:00Z"}

// gitWith runs git with a fixed identity (stdin is empty).
func gitWith(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, stderr, err := testGitRun(t, dir, identity, args...)
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, stderr)
	}
	return strings.TrimSpace(out)
}

// commitFromGit reads a commit field by field with git show, independently
// of the store's parser.
func commitFromGit(t *testing.T, dir, rev string) Commit {
	t.Helper()
	field := func(f string) string {
		return strings.TrimSuffix(testGit(t, dir, "show", "-s", "--format="+f, rev), "\n")
	}
	date := func(f string) time.Time {
		d, err := time.Parse(time.RFC3339, field(f))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	msg := testGit(t, dir, "show", "-s", "--format=%B", rev)
	msg = strings.TrimSuffix(msg, "\n") // git show ends the record with a newline
	return Commit{
		ID: field("%H"), ParentIDs: strings.Fields(field("%P")), Title: field("%s"), Message: msg,
		AuthorName: field("%an"), AuthorEmail: field("%ae"), AuthoredDate: date("%aI"),
		CommitterName: field("%cn"), CommitterEmail: field("%ce"), CommittedDate: date("%cI"),
	}
}

func assertCommit(t *testing.T, what string, got, want Commit) {
	t.Helper()
	// git log -z keeps the message's final newline, git show's record adds one
	// more; compare without trailing newlines.
	got.Message = strings.TrimRight(got.Message, "\n")
	want.Message = strings.TrimRight(want.Message, "\n")
	checks := []struct {
		name      string
		got, want string
	}{
		{"id", got.ID, want.ID},
		{"parents", strings.Join(got.ParentIDs, " "), strings.Join(want.ParentIDs, " ")},
		{"title", got.Title, want.Title},
		{"message", got.Message, want.Message},
		{"author name", got.AuthorName, want.AuthorName},
		{"author email", got.AuthorEmail, want.AuthorEmail},
		{"authored", got.AuthoredDate.Format(time.RFC3339), want.AuthoredDate.Format(time.RFC3339)},
		{"committer name", got.CommitterName, want.CommitterName},
		{"committer email", got.CommitterEmail, want.CommitterEmail},
		{"committed", got.CommittedDate.Format(time.RFC3339), want.CommittedDate.Format(time.RFC3339)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: %s = %q, want %q", what, c.name, c.got, c.want)
		}
	}
}

func TestBranchesAgainstGit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	importFixture(t, s, 1)
	dir := s.Path(1)
	// A second branch, so sorting and Default mean something.
	testGit(t, dir, "update-ref", "refs/heads/feature", "refs/merge-requests/4/head")

	bs, err := s.Branches(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Fields(testGit(t, dir, "for-each-ref", "--format=%(refname:short)", "refs/heads/"))
	if len(bs) != len(want) {
		t.Fatalf("got %d branches, want %v", len(bs), want)
	}
	def := strings.TrimSpace(testGit(t, dir, "symbolic-ref", "--short", "HEAD"))
	if def != "master" {
		t.Fatalf("fixture HEAD is %q, want master (from the bundle's HEAD)", def)
	}
	for i, b := range bs {
		if b.Name != want[i] {
			t.Errorf("branch %d = %s, want %s", i, b.Name, want[i])
		}
		if b.Default != (b.Name == def) {
			t.Errorf("branch %s default = %v", b.Name, b.Default)
		}
		assertCommit(t, "branch "+b.Name, b.Commit, commitFromGit(t, dir, "refs/heads/"+b.Name))
	}
}

func TestTagsAgainstGit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	importFixture(t, s, 1)
	dir := s.Path(1)
	gitWith(t, dir, "tag", "-a", "-m", "Release 1.0\n\nNotes here.", "v1.0", "master")

	ts, err := s.Tags(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, message string
		annotated     bool
	}{
		{"v0.9.99", "", false},
		{"v1.0", "Release 1.0\n\nNotes here.", true},
	}
	if len(ts) != len(tests) {
		t.Fatalf("got %d tags: %+v", len(ts), ts)
	}
	for i, tt := range tests {
		got := ts[i]
		if got.Name != tt.name {
			t.Fatalf("tag %d = %s, want %s", i, got.Name, tt.name)
		}
		target := strings.TrimSpace(testGit(t, dir, "rev-parse", "refs/tags/"+tt.name))
		if got.Target != target {
			t.Errorf("%s target = %s, want %s", tt.name, got.Target, target)
		}
		if typ := strings.TrimSpace(testGit(t, dir, "cat-file", "-t", target)); (typ == "tag") != tt.annotated {
			t.Errorf("%s: object type %s", tt.name, typ)
		}
		if got.Message != tt.message {
			t.Errorf("%s message = %q, want %q", tt.name, got.Message, tt.message)
		}
		assertCommit(t, "tag "+tt.name, got.Commit, commitFromGit(t, dir, "refs/tags/"+tt.name+"^{commit}"))
	}
}

func TestCommitsAgainstGit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	importFixture(t, s, 1)
	dir := s.Path(1)
	tests := []struct {
		ref           string
		page, perPage int
	}{
		{"", 1, 2},
		{"master", 2, 2},
		{"master", 3, 2},
		{"refs/merge-requests/4/head", 1, 100},
		{"v0.9.99", 1, 20},
	}
	for _, tt := range tests {
		t.Run(tt.ref+"/"+strconv.Itoa(tt.page), func(t *testing.T) {
			rev := tt.ref
			if rev == "" {
				rev = "HEAD"
			}
			want := strings.Fields(testGit(t, dir, "log", "--format=%H", "--skip="+strconv.Itoa((tt.page-1)*tt.perPage),
				"--max-count="+strconv.Itoa(tt.perPage), rev))
			cs, err := s.Commits(ctx, 1, tt.ref, "", tt.page, tt.perPage)
			if err != nil {
				t.Fatal(err)
			}
			if len(cs) != len(want) {
				t.Fatalf("got %d commits, want %d", len(cs), len(want))
			}
			for i, c := range cs {
				assertCommit(t, want[i], c, commitFromGit(t, dir, want[i]))
			}
			n, err := s.CommitCount(ctx, 1, tt.ref, "")
			if err != nil {
				t.Fatal(err)
			}
			if want := strings.TrimSpace(testGit(t, dir, "rev-list", "--count", rev)); strconv.Itoa(n) != want {
				t.Errorf("count = %d, want %s", n, want)
			}
		})
	}
}

func TestRefArgumentsRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	importFixture(t, s, 1)
	tests := []struct {
		ref  string
		want error
	}{
		{"--output=/tmp/pwned", ErrInvalid},
		{"-n", ErrInvalid},
		{"master:README.md", ErrInvalid},
		{"master..v0.9.99", ErrInvalid},
		{"master@{1}", ErrInvalid},
		{"master^", ErrInvalid},
		{"mas ter", ErrInvalid},
		{"no-such-branch", ErrNotFound},
		{"0000000000000000000000000000000000000000", ErrNotFound},
	}
	for _, tt := range tests {
		if _, err := s.Commits(ctx, 1, tt.ref, "", 1, 10); !errors.Is(err, tt.want) {
			t.Errorf("Commits(%q) = %v, want %v", tt.ref, err, tt.want)
		}
		if _, err := s.ReadFile(ctx, 1, tt.ref, "README.md"); !errors.Is(err, tt.want) {
			t.Errorf("ReadFile(%q) = %v, want %v", tt.ref, err, tt.want)
		}
	}
	if _, err := s.Commits(ctx, 2, "master", "", 1, 10); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing repository: %v", err)
	}
}

func TestDefaultBranch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	importFixture(t, s, 1)
	testGit(t, s.Path(1), "update-ref", "refs/heads/develop", "refs/heads/master")
	if b, err := s.DefaultBranch(ctx, 1); err != nil || b != "master" {
		t.Fatalf("DefaultBranch = %q, %v", b, err)
	}
	if err := s.SetDefaultBranch(ctx, 1, "develop"); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(testGit(t, s.Path(1), "symbolic-ref", "HEAD")); got != "refs/heads/develop" {
		t.Errorf("HEAD = %s", got)
	}
	for _, bad := range []string{"nope", "--quiet", "refs/heads/master", "../HEAD"} {
		if err := s.SetDefaultBranch(ctx, 1, bad); err == nil {
			t.Errorf("SetDefaultBranch(%q) accepted", bad)
		}
	}
}

func TestReadFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	importFixture(t, s, 1)
	dir := s.Path(1)
	// A commit with a directory, an executable, a symlink and a submodule,
	// built with plumbing since the fixture is flat.
	blob := gitWith(t, dir, "hash-object", "-w", "--stdin", "--path=x") // empty blob: stdin is empty
	sub := strings.TrimSpace(testGit(t, dir, "rev-parse", "master"))
	inner := mktree(t, dir, "100644 blob "+blob+"\tfile.txt")
	root := mktree(t, dir,
		"040000 tree "+inner+"\tdir",
		"100755 blob "+blob+"\trun.sh",
		"120000 blob "+blob+"\tlink",
		"160000 commit "+sub+"\tsub",
		"100644 blob "+blob+"\t*.md",
	)
	commit := gitWith(t, dir, "commit-tree", "-m", "layout", root)
	testGit(t, dir, "update-ref", "refs/heads/layout", commit)

	readme := testGit(t, dir, "cat-file", "blob", "master:README.md")
	tests := []struct {
		ref, path string
		want      error
		mode      string
		content   *string
	}{
		{"master", "README.md", nil, "100644", &readme},
		{"", "README.md", nil, "100644", &readme},
		{"v0.9.99", "LICENSE", nil, "100644", nil},
		{"refs/merge-requests/4/head", "LICENSE", nil, "100644", nil},
		{"layout", "dir/file.txt", nil, "100644", nil},
		{"layout", "run.sh", nil, "100755", nil},
		{"layout", "link", nil, "120000", nil},
		{"layout", "*.md", nil, "100644", nil},
		{"layout", "dir", ErrNotFound, "", nil},
		{"layout", "sub", ErrNotFound, "", nil},
		{"layout", "dir/", ErrInvalid, "", nil},
		{"layout", "*", ErrNotFound, "", nil},
		{"master", "missing.txt", ErrNotFound, "", nil},
		{"master", "../README.md", ErrInvalid, "", nil},
		{"master", "dir/../README.md", ErrInvalid, "", nil},
		{"master", "./README.md", ErrInvalid, "", nil},
		{"master", "/etc/passwd", ErrInvalid, "", nil},
		{"master", "", ErrInvalid, "", nil},
		{"master", "README.md\x00", ErrInvalid, "", nil},
		{"master", "..\\README.md", ErrInvalid, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.ref+":"+tt.path, func(t *testing.T) {
			f, err := s.ReadFile(ctx, 1, tt.ref, tt.path)
			if !errors.Is(err, tt.want) || (err != nil) != (tt.want != nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if err != nil {
				return
			}
			rev := tt.ref
			if rev == "" {
				rev = "HEAD"
			}
			wantBlob := strings.TrimSpace(testGit(t, dir, "rev-parse", rev+":"+tt.path))
			if f.BlobID != wantBlob || f.Mode != tt.mode || f.Path != tt.path {
				t.Errorf("got blob %s mode %s path %s, want %s %s %s", f.BlobID, f.Mode, f.Path, wantBlob, tt.mode, tt.path)
			}
			if want := strings.TrimSpace(testGit(t, dir, "rev-parse", rev+"^{commit}")); f.CommitID != want {
				t.Errorf("commit = %s, want %s", f.CommitID, want)
			}
			if tt.content != nil && string(f.Content) != *tt.content {
				t.Errorf("content = %q", f.Content)
			}
			if f.Size != int64(len(f.Content)) {
				t.Errorf("size %d for %d bytes", f.Size, len(f.Content))
			}
		})
	}
}

// mktree writes a tree from ls-tree lines, through a temporary index-free
// plumbing call.
func mktree(t *testing.T, dir string, entries ...string) string {
	t.Helper()
	s := newStore(t) // only for its runner: stdin support with a clean env
	out, err := s.run(context.Background(), gitCmd{Dir: dir, Args: []string{"mktree"}, Stdin: strings.NewReader(strings.Join(entries, "\n") + "\n")})
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}
