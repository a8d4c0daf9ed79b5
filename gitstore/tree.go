package gitstore

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// MaxTreeBytes bounds the listing Tree reads from git (some 500,000
// entries); a larger tree is ErrTooLarge, to be listed by its subtrees.
const MaxTreeBytes = 64 << 20

// TreeEntry is one entry of a tree, GitLab's TreeNode.
type TreeEntry struct {
	ID   string
	Name string
	Type string // "tree", "blob" or "commit" (a submodule)
	Path string // from the root of the repository
	Mode string // octal, as ls-tree prints it ("040000", "100644"…)
}

// Tree lists the tree at treePath ("" for the root) of ref in project id,
// the whole subtree when recursive (trees included), trees first and then
// everything else, each group in git's order (GitLab's TREES_FIRST).
// ErrNotFound when ref or treePath does not exist or is not a tree.
func (s *Store) Tree(ctx context.Context, id int64, ref, treePath string, recursive bool) ([]TreeEntry, error) {
	return s.tree(ctx, id, false, ref, treePath, recursive)
}

func (s *Store) tree(ctx context.Context, id int64, wiki bool, ref, treePath string, recursive bool) ([]TreeEntry, error) {
	dir := s.repoPath(id, wiki)
	if !isRepo(dir) {
		return nil, fmt.Errorf("repository %d: %w", id, ErrNotFound)
	}
	sha, err := s.resolveCommit(ctx, dir, ref)
	if err != nil {
		return nil, fmt.Errorf("tree %d: %w", id, err)
	}
	tree := sha + "^{tree}"
	prefix := ""
	if treePath != "" {
		p, err := cleanRepoPath(treePath)
		if err != nil {
			return nil, fmt.Errorf("tree %d: %w", id, err)
		}
		// The entry of the path itself, read literally (no rev:path
		// syntax, so no suffix of the path is parsed as a peel).
		out, err := s.run(ctx, gitCmd{Dir: dir, Args: []string{"ls-tree", "-z", "--full-tree", sha, "--", p},
			Env: []string{"GIT_LITERAL_PATHSPECS=1"}})
		if err != nil {
			return nil, fmt.Errorf("tree %d: %w", id, err)
		}
		meta, name, _ := strings.Cut(strings.TrimSuffix(string(out), "\x00"), "\t")
		f := strings.Fields(meta)
		if name != p || len(f) != 3 || f[1] != "tree" {
			return nil, fmt.Errorf("tree %d %q: %w", id, p, ErrNotFound)
		}
		tree, prefix = f[2], p+"/"
	}
	args := []string{"ls-tree", "-z"}
	if recursive {
		args = append(args, "-r", "-t")
	}
	capped := &cappedBuffer{max: MaxTreeBytes}
	if _, err := s.run(ctx, gitCmd{Dir: dir, Args: append(args, tree), Stdout: capped}); err != nil {
		return nil, fmt.Errorf("tree %d: %w", id, err)
	}
	if capped.cut {
		return nil, fmt.Errorf("tree %d %q: %w", id, treePath, ErrTooLarge)
	}
	var entries []TreeEntry
	for _, rec := range strings.Split(strings.TrimSuffix(capped.buf.String(), "\x00"), "\x00") {
		meta, name, ok := strings.Cut(rec, "\t")
		f := strings.Fields(meta)
		if !ok || len(f) != 3 {
			continue
		}
		base := name[strings.LastIndexByte(name, '/')+1:]
		entries = append(entries, TreeEntry{ID: f[2], Name: base, Type: f[1], Path: prefix + name, Mode: f[0]})
	}
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].Type == "tree" && entries[j].Type != "tree" })
	return entries, nil
}

// Blob is a blob read by its id.
type Blob struct {
	ID      string
	Size    int64
	Content []byte
}

// hexID is a full or abbreviated object id.
var hexID = regexp.MustCompile(`^[0-9a-fA-F]{4,64}$`)

// MaxBlobBytes is the largest blob ReadBlob returns whole; larger blobs
// are refused with ErrTooLarge, to be streamed with WriteBlob.
const MaxBlobBytes = 32 << 20

// ErrTooLarge: the object is larger than this call returns.
var ErrTooLarge = fmt.Errorf("too large")

// BlobSize is the size of blob sha (hex, full or abbreviated) of project
// id; ErrNotFound when it is no blob of that repository.
func (s *Store) BlobSize(ctx context.Context, id int64, sha string) (full string, size int64, err error) {
	dir, err := s.openRepo(id)
	if err != nil {
		return "", 0, err
	}
	if !hexID.MatchString(sha) {
		return "", 0, fmt.Errorf("blob %d %q: %w", id, sha, ErrNotFound)
	}
	out, err := s.run(ctx, gitCmd{Dir: dir, Args: []string{"cat-file", "--batch-check=%(objectname) %(objecttype) %(objectsize)"},
		Stdin: strings.NewReader(sha + "\n")})
	if err != nil {
		return "", 0, fmt.Errorf("blob %d: %w", id, err)
	}
	f := strings.Fields(string(out))
	if len(f) != 3 || f[1] != "blob" {
		return "", 0, fmt.Errorf("blob %d %q: %w", id, sha, ErrNotFound)
	}
	size, err = strconv.ParseInt(f[2], 10, 64)
	if err != nil {
		return "", 0, fmt.Errorf("blob %d: %w", id, err)
	}
	return f[0], size, nil
}

// ReadBlob reads blob sha of project id whole (at most MaxBlobBytes).
func (s *Store) ReadBlob(ctx context.Context, id int64, sha string) (Blob, error) {
	full, size, err := s.BlobSize(ctx, id, sha)
	if err != nil {
		return Blob{}, err
	}
	if size > MaxBlobBytes {
		return Blob{}, fmt.Errorf("blob %d %s: %d bytes: %w", id, full, size, ErrTooLarge)
	}
	content, err := s.run(ctx, gitCmd{Dir: s.Path(id), Args: []string{"cat-file", "blob", full}})
	if err != nil {
		return Blob{}, fmt.Errorf("blob %d %s: %w", id, full, err)
	}
	return Blob{ID: full, Size: size, Content: content}, nil
}

// WriteBlob streams blob full (a full id checked with BlobSize) to w.
func (s *Store) WriteBlob(ctx context.Context, id int64, full string, w io.Writer) error {
	if !hexID.MatchString(full) {
		return fmt.Errorf("blob %d %q: %w", id, full, ErrInvalid)
	}
	if _, err := s.run(ctx, gitCmd{Dir: s.Path(id), Args: []string{"cat-file", "blob", full}, Stdout: w}); err != nil {
		return fmt.Errorf("blob %d %s: %w", id, full, err)
	}
	return nil
}
