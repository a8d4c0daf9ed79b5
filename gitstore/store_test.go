package gitstore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestLayoutIsGitLabHashedStorage(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	tests := []struct {
		id   int64
		want string // sha256 of the decimal id, as GitLab computes it
	}{
		{1, "6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b"},
		{42, "73475cb40a568e8da8a045ced110137e159f890ac4da883b6b17dc651b3a8049"},
	}
	for _, tt := range tests {
		dir := filepath.Join(s.Root(), "repositories", "@hashed", tt.want[:2], tt.want[2:4], tt.want)
		if got := s.Path(tt.id); got != dir+".git" {
			t.Errorf("Path(%d) = %s, want %s.git", tt.id, got, dir)
		}
		if got := s.WikiPath(tt.id); got != dir+".wiki.git" {
			t.Errorf("WikiPath(%d) = %s, want %s.wiki.git", tt.id, got, dir)
		}
	}
}

func TestCreateExistsDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	if s.Exists(1) {
		t.Fatal("exists before create")
	}
	if err := s.Create(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if !s.Exists(1) {
		t.Fatal("not exists after create")
	}
	if err := s.Create(ctx, 1); !errors.Is(err, ErrExists) {
		t.Fatalf("second create: %v, want ErrExists", err)
	}
	if err := s.CreateWiki(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if got := testGit(t, s.Path(1), "rev-parse", "--is-bare-repository"); strings.TrimSpace(got) != "true" {
		t.Fatalf("not bare: %q", got)
	}
	// No sample hooks: nothing in the repository can run.
	if _, err := os.Stat(filepath.Join(s.Path(1), "hooks")); !os.IsNotExist(err) {
		t.Errorf("hooks directory present: %v", err)
	}
	oid, content := lfsObjectFor("x")
	if err := s.PutLFSObject(ctx, oid, int64(len(content)), strings.NewReader(content)); err != nil {
		t.Fatal(err)
	}
	if err := s.LinkLFSObject(ctx, 1, oid); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if s.Exists(1) || s.WikiExists(1) || s.LFSLinked(1, oid) {
		t.Fatal("repository, wiki or LFS link left after delete")
	}
	if !s.HasLFSObject(oid) {
		t.Error("delete removed the shared LFS object")
	}
	if err := s.Delete(ctx, 1); err != nil {
		t.Fatalf("delete of missing project: %v", err)
	}
	left, _ := os.ReadDir(s.tmpDir())
	for _, e := range left {
		if e.Name() != "home" {
			t.Errorf("staging left in tmp: %s", e.Name())
		}
	}
}

func TestConcurrentCreateAndFetchSameID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	bundle := fixtureBundle(t)
	const n = 6
	var wg sync.WaitGroup
	createErrs := make([]error, n)
	fetchErrs := make([]error, n)
	for i := range n {
		wg.Add(2)
		go func() { defer wg.Done(); createErrs[i] = s.Create(ctx, 9) }()
		go func() { defer wg.Done(); fetchErrs[i] = s.FetchBundle(ctx, 9, bundle) }()
	}
	wg.Wait()
	for i, err := range fetchErrs {
		if err != nil {
			t.Errorf("fetch %d: %v", i, err)
		}
	}
	for i, err := range createErrs {
		if err != nil && !errors.Is(err, ErrExists) {
			t.Errorf("create %d: %v", i, err)
		}
	}
	testGit(t, s.Path(9), "fsck", "--strict", "--no-dangling")
	refs := testGit(t, s.Path(9), "for-each-ref", "--format=%(refname)")
	for _, want := range []string{"refs/heads/master", "refs/merge-requests/3/head", "refs/merge-requests/4/head", "refs/tags/v0.9.99"} {
		if !strings.Contains(refs, want+"\n") {
			t.Errorf("missing %s in\n%s", want, refs)
		}
	}
	if strings.Contains(refs, "refs/pull/") {
		t.Errorf("unmapped refs/pull left:\n%s", refs)
	}
}

func TestLockHonoursContext(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	unlock, err := s.lock(context.Background(), 3)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Create(ctx, 3); !errors.Is(err, context.Canceled) {
		t.Fatalf("create under held lock with cancelled ctx: %v", err)
	}
	unlock()
	if err := s.Create(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.locks) != 0 {
		t.Errorf("lock entries leaked: %d", len(s.locks))
	}
}
