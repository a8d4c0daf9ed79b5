package gitstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// Store is a directory of bare repositories and LFS objects. Create it with
// New; the zero value is not usable.
type Store struct {
	root string
	git  string

	// checkURL vets every outbound URL (Mirror, FetchLFS and each LFS
	// href and redirect) before it is used. Nil allows all.
	checkURL func(ctx context.Context, u *url.URL) error
	client   *http.Client
	dial     func(ctx context.Context, network, addr string) (net.Conn, error)

	mu    sync.Mutex
	locks map[int64]*repoLock
}

// Options configures New. The zero value is valid.
type Options struct {
	// Git is the git executable; "" means "git" on PATH.
	Git string
	// CheckURL vets outbound URLs against SSRF (for example by resolving the
	// host and refusing private addresses). It is called for source
	// repository URLs, LFS batch endpoints, LFS download hrefs and HTTP
	// redirects. git itself is told never to follow redirects, so the URL it
	// is given is the only one it contacts. Nil allows every URL.
	CheckURL func(ctx context.Context, u *url.URL) error
	// DialContext, if set, makes every outbound connection: git's (through
	// a loopback proxy started for each remote operation) and, when
	// HTTPClient is nil, the LFS client's. Checking the dialled address here
	// is the SSRF defence that DNS rebinding cannot get around.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// HTTPClient is used for LFS downloads from sources. It should dial
	// through the same address checks. Nil means a new http.Client using
	// DialContext, with no timeout beyond the context's.
	HTTPClient *http.Client
}

// New opens (creating if needed) a store rooted at root.
func New(root string, opts Options) (*Store, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("gitstore root %q: %w", root, err)
	}
	s := &Store{root: abs, git: opts.Git, checkURL: opts.CheckURL, client: opts.HTTPClient, dial: opts.DialContext, locks: map[int64]*repoLock{}}
	if s.git == "" {
		s.git = "git"
	}
	if s.client == nil {
		// Not http.DefaultTransport: it honours *_PROXY from the environment
		// and would bypass the dialer.
		tr := &http.Transport{Proxy: nil, DialContext: opts.DialContext, ForceAttemptHTTP2: true,
			IdleConnTimeout: 90 * time.Second, TLSHandshakeTimeout: 10 * time.Second}
		s.client = &http.Client{Transport: tr}
	}
	for _, d := range []string{"repositories/@hashed", "lfs-objects", "lfs-links/@hashed", "tmp/home"} {
		if err := os.MkdirAll(filepath.Join(abs, d), 0o750); err != nil {
			return nil, fmt.Errorf("gitstore root %q: %w", root, err)
		}
	}
	return s, nil
}

// Root returns the absolute root directory.
func (s *Store) Root() string { return s.root }

func (s *Store) gitBinary() string { return s.git }

// homeDir is an empty directory used as git's HOME so that no user
// configuration (~/.gitconfig, ~/.git-credentials) is ever read.
func (s *Store) homeDir() string { return filepath.Join(s.root, "tmp", "home") }

func (s *Store) tmpDir() string { return filepath.Join(s.root, "tmp") }

// hashedPath is GitLab's hashed-storage location: @hashed/ab/cd/<sha256(id)>.
func hashedPath(id int64) string {
	sum := sha256.Sum256([]byte(strconv.FormatInt(id, 10)))
	h := hex.EncodeToString(sum[:])
	return filepath.Join("@hashed", h[0:2], h[2:4], h)
}

// Path is the bare repository of project id. It depends on nothing but id.
func (s *Store) Path(id int64) string {
	return filepath.Join(s.root, "repositories", hashedPath(id)+".git")
}

// WikiPath is the bare wiki repository of project id.
func (s *Store) WikiPath(id int64) string {
	return filepath.Join(s.root, "repositories", hashedPath(id)+".wiki.git")
}

func (s *Store) repoPath(id int64, wiki bool) string {
	if wiki {
		return s.WikiPath(id)
	}
	return s.Path(id)
}

// Exists reports whether the repository of project id has been created.
func (s *Store) Exists(id int64) bool { return isRepo(s.Path(id)) }

// WikiExists reports whether the wiki repository of project id exists.
func (s *Store) WikiExists(id int64) bool { return isRepo(s.WikiPath(id)) }

func isRepo(dir string) bool {
	fi, err := os.Stat(filepath.Join(dir, "HEAD"))
	return err == nil && fi.Mode().IsRegular()
}

// Create makes an empty bare repository for project id. It returns an error
// wrapping ErrExists if there already is one.
func (s *Store) Create(ctx context.Context, id int64) error {
	return s.create(ctx, id, false)
}

// CreateWiki makes an empty bare wiki repository for project id.
func (s *Store) CreateWiki(ctx context.Context, id int64) error {
	return s.create(ctx, id, true)
}

func (s *Store) create(ctx context.Context, id int64, wiki bool) error {
	unlock, err := s.lock(ctx, id)
	if err != nil {
		return fmt.Errorf("create %d: %w", id, err)
	}
	defer unlock()
	if isRepo(s.repoPath(id, wiki)) {
		return fmt.Errorf("create %d: %w", id, ErrExists)
	}
	if err := s.initRepo(ctx, s.repoPath(id, wiki)); err != nil {
		return fmt.Errorf("create %d: %w", id, err)
	}
	return nil
}

// initRepo initialises a bare repository in a staging directory and renames
// it into place, so a half-made repository is never visible at dir. The
// caller holds the repository lock.
func (s *Store) initRepo(ctx context.Context, dir string) error {
	stage, err := os.MkdirTemp(s.tmpDir(), "init-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage)
	repo := filepath.Join(stage, "repo.git")
	// --template= skips the sample hooks and description: nothing to copy,
	// nothing that could run.
	if _, err := s.run(ctx, gitCmd{Args: []string{"init", "--bare", "--quiet", "--template=", repo}}); err != nil {
		return err
	}
	// Reads may run concurrently with fetches; keep git from repacking in
	// the background of a request.
	if _, err := s.run(ctx, gitCmd{Dir: repo, Args: []string{"config", "gc.autoDetach", "false"}}); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o750); err != nil {
		return err
	}
	return os.Rename(repo, dir)
}

// Delete removes the repository, the wiki and the LFS links of project id.
// LFS objects themselves stay: other projects may link them. Deleting a
// project that does not exist is not an error.
func (s *Store) Delete(ctx context.Context, id int64) error {
	unlock, err := s.lock(ctx, id)
	if err != nil {
		return fmt.Errorf("delete %d: %w", id, err)
	}
	defer unlock()
	for _, dir := range []string{s.Path(id), s.WikiPath(id), s.linkDir(id)} {
		if err := s.removeDir(dir); err != nil {
			return fmt.Errorf("delete %d: %w", id, err)
		}
	}
	return nil
}

// removeDir renames dir out of the way first so that readers see it either
// whole or gone, then removes it.
func (s *Store) removeDir(dir string) error {
	trash, err := os.MkdirTemp(s.tmpDir(), "delete-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(trash)
	if err := os.Rename(dir, filepath.Join(trash, "x")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// repoLock serialises writers of one project (repository, wiki and LFS
// links). It is a channel so that waiting honours the context.
type repoLock struct {
	ch   chan struct{}
	refs int
}

// lock takes the per-project write lock. It serialises writers inside this
// process only; readers (upload-pack, ref listing) never take it because git
// updates refs atomically.
func (s *Store) lock(ctx context.Context, id int64) (unlock func(), err error) {
	s.mu.Lock()
	l := s.locks[id]
	if l == nil {
		l = &repoLock{ch: make(chan struct{}, 1)}
		s.locks[id] = l
	}
	l.refs++
	s.mu.Unlock()

	release := func() {
		s.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(s.locks, id)
		}
		s.mu.Unlock()
	}
	select {
	case l.ch <- struct{}{}:
		return func() { <-l.ch; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}
