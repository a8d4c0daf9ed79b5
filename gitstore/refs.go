package gitstore

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"
)

// Commit is what the read API shows of a commit.
type Commit struct {
	ID             string
	ParentIDs      []string
	Title          string // first line of Message
	Message        string // full raw message
	AuthorName     string
	AuthorEmail    string
	AuthoredDate   time.Time
	CommitterName  string
	CommitterEmail string
	CommittedDate  time.Time
}

// Branch is a ref under refs/heads.
type Branch struct {
	Name    string
	Default bool
	Commit  Commit
}

// Tag is a ref under refs/tags that peels to a commit.
type Tag struct {
	Name string
	// Target is what the ref points at: the tag object of an annotated tag,
	// the commit of a lightweight one (GitLab's "target").
	Target string
	// Message is the annotated tag's message; "" for lightweight tags.
	Message string
	Commit  Commit
}

// commitFormat prints the fields of Commit separated by NUL; with -z git also
// ends each commit with NUL, so the output is a flat list of fields.
const commitFormat = "%H%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B"

const commitFields = 9

func parseCommits(out []byte) ([]Commit, error) {
	if len(out) == 0 {
		return nil, nil
	}
	f := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	if len(f)%commitFields != 0 {
		return nil, fmt.Errorf("parse git log: %d fields", len(f))
	}
	var cs []Commit
	for i := 0; i < len(f); i += commitFields {
		ad, err := time.Parse(time.RFC3339, f[i+4])
		if err != nil {
			return nil, fmt.Errorf("parse author date of %s: %w", f[i], err)
		}
		cd, err := time.Parse(time.RFC3339, f[i+7])
		if err != nil {
			return nil, fmt.Errorf("parse committer date of %s: %w", f[i], err)
		}
		msg := f[i+8]
		title, _, _ := strings.Cut(msg, "\n")
		cs = append(cs, Commit{
			ID: f[i], ParentIDs: strings.Fields(f[i+1]),
			AuthorName: f[i+2], AuthorEmail: f[i+3], AuthoredDate: ad,
			CommitterName: f[i+5], CommitterEmail: f[i+6], CommittedDate: cd,
			Title: title, Message: msg,
		})
	}
	return cs, nil
}

// openRepo returns the repository directory or ErrNotFound.
func (s *Store) openRepo(id int64) (string, error) {
	dir := s.Path(id)
	if !isRepo(dir) {
		return "", fmt.Errorf("repository %d: %w", id, ErrNotFound)
	}
	return dir, nil
}

// commitsByID loads the commits named by ids (full hex) in one git call.
func (s *Store) commitsByID(ctx context.Context, dir string, ids []string) (map[string]Commit, error) {
	m := map[string]Commit{}
	if len(ids) == 0 {
		return m, nil
	}
	out, err := s.run(ctx, gitCmd{Dir: dir, Args: []string{"log", "--no-walk=unsorted", "--stdin", "-z", "--format=" + commitFormat},
		Stdin: strings.NewReader(strings.Join(ids, "\n") + "\n")})
	if err != nil {
		return nil, err
	}
	cs, err := parseCommits(out)
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		m[c.ID] = c
	}
	return m, nil
}

// Branches lists the branches of project id, sorted by name.
func (s *Store) Branches(ctx context.Context, id int64) ([]Branch, error) {
	dir, err := s.openRepo(id)
	if err != nil {
		return nil, err
	}
	out, err := s.run(ctx, gitCmd{Dir: dir, Args: []string{"for-each-ref", "--format=%(refname:lstrip=2)%00%(objectname)%00%(objecttype)", "refs/heads/"}})
	if err != nil {
		return nil, fmt.Errorf("branches %d: %w", id, err)
	}
	def, _ := s.defaultBranch(ctx, dir)
	var bs []Branch
	var ids []string
	for _, line := range lines(out) {
		f := strings.Split(line, "\x00")
		if len(f) != 3 || f[2] != "commit" {
			continue
		}
		bs = append(bs, Branch{Name: f[0], Default: f[0] == def, Commit: Commit{ID: f[1]}})
		ids = append(ids, f[1])
	}
	commits, err := s.commitsByID(ctx, dir, ids)
	if err != nil {
		return nil, fmt.Errorf("branches %d: %w", id, err)
	}
	for i := range bs {
		bs[i].Commit = commits[bs[i].Commit.ID]
	}
	return bs, nil
}

// Tags lists the tags of project id that point (directly or through a tag
// object) at a commit, sorted by name.
func (s *Store) Tags(ctx context.Context, id int64) ([]Tag, error) {
	dir, err := s.openRepo(id)
	if err != nil {
		return nil, err
	}
	// Records end with \x01 because a tag message spans lines.
	out, err := s.run(ctx, gitCmd{Dir: dir, Args: []string{"for-each-ref",
		"--format=%(refname:lstrip=2)%00%(objectname)%00%(objecttype)%00%(*objectname)%00%(*objecttype)%00%(contents)%01", "refs/tags/"}})
	if err != nil {
		return nil, fmt.Errorf("tags %d: %w", id, err)
	}
	var ts []Tag
	var ids []string
	for _, rec := range strings.Split(string(out), "\x01") {
		rec = strings.TrimPrefix(rec, "\n")
		f := strings.Split(rec, "\x00")
		if len(f) != 6 {
			continue
		}
		t := Tag{Name: f[0], Target: f[1]}
		switch {
		case f[2] == "commit":
			t.Commit.ID = f[1]
		case f[2] == "tag" && f[4] == "commit":
			t.Commit.ID = f[3]
			t.Message = strings.TrimRight(f[5], "\n")
		default:
			continue // a tag of a tree or blob has no commit to show
		}
		ts = append(ts, t)
		ids = append(ids, t.Commit.ID)
	}
	commits, err := s.commitsByID(ctx, dir, ids)
	if err != nil {
		return nil, fmt.Errorf("tags %d: %w", id, err)
	}
	for i := range ts {
		ts[i].Commit = commits[ts[i].Commit.ID]
	}
	return ts, nil
}

// Commits lists the history of ref (newest first, as git log), page being
// 1-based; with path, only the commits that touch it (a file or a
// directory, taken literally). An empty ref means the default branch.
func (s *Store) Commits(ctx context.Context, id int64, ref, path string, page, perPage int) ([]Commit, error) {
	dir, err := s.openRepo(id)
	if err != nil {
		return nil, err
	}
	if page < 1 || perPage < 1 {
		return nil, fmt.Errorf("commits %d: page %d per_page %d: %w", id, page, perPage, ErrInvalid)
	}
	sha, err := s.resolveCommit(ctx, dir, ref)
	if err != nil {
		return nil, fmt.Errorf("commits %d: %w", id, err)
	}
	spec, err := historyPath(path)
	if err != nil {
		return nil, fmt.Errorf("commits %d: %w", id, err)
	}
	out, err := s.run(ctx, gitCmd{Dir: dir, Args: append([]string{"log", "-z", "--format=" + commitFormat,
		"--skip=" + strconv.Itoa((page-1)*perPage), "--max-count=" + strconv.Itoa(perPage), sha, "--"}, spec...)})
	if err != nil {
		return nil, fmt.Errorf("commits %d: %w", id, err)
	}
	cs, err := parseCommits(out)
	if err != nil {
		return nil, fmt.Errorf("commits %d: %w", id, err)
	}
	return cs, nil
}

// CommitCount is the number of commits reachable from ref (touching path,
// when given), for pagination totals.
func (s *Store) CommitCount(ctx context.Context, id int64, ref, path string) (int, error) {
	dir, err := s.openRepo(id)
	if err != nil {
		return 0, err
	}
	sha, err := s.resolveCommit(ctx, dir, ref)
	if err != nil {
		return 0, fmt.Errorf("commit count %d: %w", id, err)
	}
	spec, err := historyPath(path)
	if err != nil {
		return 0, fmt.Errorf("commit count %d: %w", id, err)
	}
	out, err := s.run(ctx, gitCmd{Dir: dir, Args: append([]string{"rev-list", "--count", sha, "--"}, spec...)})
	if err != nil {
		return 0, fmt.Errorf("commit count %d: %w", id, err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		return 0, fmt.Errorf("commit count %d: %w", id, err)
	}
	return n, nil
}

// Commit returns one commit by ref or sha.
func (s *Store) Commit(ctx context.Context, id int64, ref string) (Commit, error) {
	cs, err := s.Commits(ctx, id, ref, "", 1, 1)
	if err != nil {
		return Commit{}, err
	}
	if len(cs) == 0 {
		return Commit{}, fmt.Errorf("commit %d %q: %w", id, ref, ErrNotFound)
	}
	return cs[0], nil
}

// validRef accepts branch and tag names, full ref names and hex ids, and
// nothing git would read as an option, a range, a reflog or tree lookup.
func validRef(ref string) bool {
	if ref == "" || len(ref) > 1024 || strings.HasPrefix(ref, "-") || strings.Contains(ref, "..") || strings.Contains(ref, "@{") {
		return false
	}
	for _, r := range ref {
		if r <= ' ' || r == 0x7f || strings.ContainsRune(":^~?*[\\", r) {
			return false
		}
	}
	return true
}

// resolveCommit turns a user-supplied ref into a full commit id, so that
// later git calls only ever see hex.
func (s *Store) resolveCommit(ctx context.Context, dir, ref string) (string, error) {
	if ref == "" {
		ref = "HEAD"
	}
	if !validRef(ref) {
		return "", fmt.Errorf("ref %q: %w", ref, ErrInvalid)
	}
	out, err := s.run(ctx, gitCmd{Dir: dir, Args: []string{"rev-parse", "--verify", "--quiet", "--end-of-options", ref + "^{commit}"}})
	if err != nil {
		return "", fmt.Errorf("ref %q: %w", ref, ErrNotFound)
	}
	return strings.TrimSpace(string(out)), nil
}

// DefaultBranch is the branch HEAD points to ("" if HEAD is detached).
func (s *Store) DefaultBranch(ctx context.Context, id int64) (string, error) {
	dir, err := s.openRepo(id)
	if err != nil {
		return "", err
	}
	b, err := s.defaultBranch(ctx, dir)
	if err != nil {
		return "", fmt.Errorf("default branch %d: %w", id, err)
	}
	return b, nil
}

func (s *Store) defaultBranch(ctx context.Context, dir string) (string, error) {
	out, err := s.run(ctx, gitCmd{Dir: dir, Args: []string{"symbolic-ref", "--quiet", "HEAD"}})
	if err != nil {
		return "", nil // detached
	}
	return strings.TrimPrefix(strings.TrimSpace(string(out)), "refs/heads/"), nil
}

// SetDefaultBranch points HEAD at an existing branch.
func (s *Store) SetDefaultBranch(ctx context.Context, id int64, branch string) error {
	dir, err := s.openRepo(id)
	if err != nil {
		return err
	}
	unlock, err := s.lock(ctx, id)
	if err != nil {
		return fmt.Errorf("set default branch %d: %w", id, err)
	}
	defer unlock()
	if err := s.setHead(ctx, dir, branch); err != nil {
		return fmt.Errorf("set default branch %d: %w", id, err)
	}
	return nil
}

func (s *Store) setHead(ctx context.Context, dir, branch string) error {
	if !validRef(branch) || strings.HasPrefix(branch, "refs/") {
		return fmt.Errorf("branch %q: %w", branch, ErrInvalid)
	}
	ref := "refs/heads/" + branch
	if _, err := s.run(ctx, gitCmd{Dir: dir, Args: []string{"show-ref", "--verify", "--quiet", ref}}); err != nil {
		return fmt.Errorf("branch %q: %w", branch, ErrNotFound)
	}
	_, err := s.run(ctx, gitCmd{Dir: dir, Args: []string{"symbolic-ref", "HEAD", ref}})
	return err
}

// File is a blob read at a path of a commit.
type File struct {
	Path     string
	Mode     string // "100644", "100755" or "120000" (symlink: Content is the target)
	BlobID   string
	CommitID string
	Size     int64
	Content  []byte
}

// ReadFile reads the blob at filePath in ref. It refuses path traversal,
// absolute paths and anything that is not a blob (trees, submodules).
func (s *Store) ReadFile(ctx context.Context, id int64, ref, filePath string) (File, error) {
	dir, err := s.openRepo(id)
	if err != nil {
		return File{}, err
	}
	p, err := cleanRepoPath(filePath)
	if err != nil {
		return File{}, fmt.Errorf("read file %d: %w", id, err)
	}
	sha, err := s.resolveCommit(ctx, dir, ref)
	if err != nil {
		return File{}, fmt.Errorf("read file %d: %w", id, err)
	}
	// Literal pathspecs: a path with '*' names that file, not a pattern.
	out, err := s.run(ctx, gitCmd{Dir: dir, Args: []string{"ls-tree", "-z", "--full-tree", "--long", sha, "--", p},
		Env: []string{"GIT_LITERAL_PATHSPECS=1"}})
	if err != nil {
		return File{}, fmt.Errorf("read file %d: %w", id, err)
	}
	// "<mode> SP <type> SP <object> SP+ <size> TAB <path> NUL"
	meta, name, ok := strings.Cut(strings.TrimSuffix(string(out), "\x00"), "\t")
	f := strings.Fields(meta)
	if !ok || name != p || len(f) != 4 {
		return File{}, fmt.Errorf("read file %d %q: %w", id, p, ErrNotFound)
	}
	if f[1] != "blob" {
		return File{}, fmt.Errorf("read file %d %q is a %s: %w", id, p, f[1], ErrNotFound)
	}
	content, err := s.run(ctx, gitCmd{Dir: dir, Args: []string{"cat-file", "blob", f[2]}})
	if err != nil {
		return File{}, fmt.Errorf("read file %d %q: %w", id, p, err)
	}
	return File{Path: p, Mode: f[0], BlobID: f[2], CommitID: sha, Size: int64(len(content)), Content: content}, nil
}

// cleanRepoPath validates a path inside a tree: relative, no "." or ".."
// segments, no NUL or backslash, not empty.
func cleanRepoPath(p string) (string, error) {
	if p == "" || strings.HasPrefix(p, "/") || strings.ContainsAny(p, "\x00\\") {
		return "", fmt.Errorf("path %q: %w", p, ErrInvalid)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", fmt.Errorf("path %q: %w", p, ErrInvalid)
		}
	}
	if path.Clean(p) != p {
		return "", fmt.Errorf("path %q: %w", p, ErrInvalid)
	}
	return p, nil
}

func lines(b []byte) []string {
	b = bytes.TrimRight(b, "\n")
	if len(b) == 0 {
		return nil
	}
	return strings.Split(string(b), "\n")
}

// historyPath is the pathspec limiting a history to path ("" none): a
// clean repository path, taken literally.
func historyPath(path string) ([]string, error) {
	path = strings.Trim(path, "/")
	if path == "" {
		return nil, nil
	}
	p, err := cleanRepoPath(path)
	if err != nil {
		return nil, err
	}
	return []string{":(literal)" + p}, nil
}
