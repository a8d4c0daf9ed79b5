package gitstore

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// DiffFile is one file's change between two commits, as GitLab's diff
// entries show it.
type DiffFile struct {
	OldPath, NewPath string
	// AMode and BMode are the octal modes before and after; "0" when the
	// file did not exist on that side (GitLab's "0").
	AMode, BMode                      string
	NewFile, RenamedFile, DeletedFile bool
	// Diff is the patch from its first hunk header on ("@@ …"), git's
	// "Binary files … differ" line for binary files, "" for a change of
	// mode or a pure rename. It is "" when TooLarge.
	Diff string
	// TooLarge: the patch exceeded DiffLimits.MaxPatchBytes, or the whole
	// diff exceeded MaxBytes before this file; its text is left out.
	TooLarge bool

	typeChange bool // raw status T: git prints two patches for it
}

// DiffLimits bound a diff. The zero value means GitLab's defaults.
type DiffLimits struct {
	// MaxFiles is how many files are listed (GitLab's diff_max_files,
	// default 1000); the rest is cut and Overflow set.
	MaxFiles int
	// MaxPatchBytes is the largest single patch shown (GitLab's
	// diff_max_patch_bytes, default 200 KiB); a larger one is TooLarge.
	MaxPatchBytes int
	// MaxBytes bounds the patch text read from git for the whole diff
	// (default 16 MiB); files past it are TooLarge.
	MaxBytes int
}

func (l DiffLimits) withDefaults() DiffLimits {
	if l.MaxFiles <= 0 {
		l.MaxFiles = 1000
	}
	if l.MaxPatchBytes <= 0 {
		l.MaxPatchBytes = 200 << 10
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = 16 << 20
	}
	return l
}

// Diff compares two commits of project id (from may be "" for the empty
// tree, as the diff of a root commit). from and to are refs or shas;
// renames are detected as git does by default (-M). overflow reports that
// files were cut by MaxFiles.
func (s *Store) Diff(ctx context.Context, id int64, from, to string, limits DiffLimits) (files []DiffFile, overflow bool, err error) {
	dir, err := s.openRepo(id)
	if err != nil {
		return nil, false, err
	}
	limits = limits.withDefaults()
	toSHA, err := s.resolveCommit(ctx, dir, to)
	if err != nil {
		return nil, false, fmt.Errorf("diff %d: %w", id, err)
	}
	fromSHA := emptyTree
	if from != "" {
		if fromSHA, err = s.resolveCommit(ctx, dir, from); err != nil {
			return nil, false, fmt.Errorf("diff %d: %w", id, err)
		}
	}
	raw, err := s.run(ctx, gitCmd{Dir: dir, Args: []string{"diff-tree", "-r", "-z", "-M", "--raw", "--no-commit-id", fromSHA, toSHA, "--"}})
	if err != nil {
		return nil, false, fmt.Errorf("diff %d: %w", id, err)
	}
	files, err = parseRawDiff(raw)
	if err != nil {
		return nil, false, fmt.Errorf("diff %d: %w", id, err)
	}
	if len(files) > limits.MaxFiles {
		files, overflow = files[:limits.MaxFiles], true
	}
	if len(files) == 0 {
		return files, overflow, nil
	}
	// The patches of the listed files, in the same order; the output is
	// capped so a huge diff never sits whole in memory.
	args := []string{"diff-tree", "-r", "-p", "-M", "--full-index", "--no-commit-id", "--no-color", "--no-ext-diff", "--no-textconv", fromSHA, toSHA, "--"}
	if overflow {
		for _, f := range files {
			args = append(args, f.OldPath)
			if f.NewPath != f.OldPath {
				args = append(args, f.NewPath)
			}
		}
	}
	out := &cappedBuffer{max: limits.MaxBytes}
	if _, err := s.run(ctx, gitCmd{Dir: dir, Args: args, Stdout: out, Env: []string{"GIT_LITERAL_PATHSPECS=1"}}); err != nil {
		return nil, false, fmt.Errorf("diff %d: %w", id, err)
	}
	patches := splitPatches(out.buf.Bytes())
	pi := 0
	for i := range files {
		// A change between file, symlink and submodule is printed as a
		// deletion and a creation: two patches for one entry.
		n := 1
		if files[i].typeChange {
			n = 2
		}
		complete := pi+n <= len(patches) && (!out.cut || pi+n < len(patches))
		text := ""
		if complete {
			text = strings.Join(patches[pi:pi+n], "")
		}
		pi += n
		switch {
		case !complete, len(text) > limits.MaxPatchBytes:
			files[i].TooLarge = true
		default:
			files[i].Diff = text
		}
	}
	return files, overflow, nil
}

// emptyTree is git's well-known id of the empty tree (SHA-1 repositories).
const emptyTree = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

// parseRawDiff reads `git diff-tree -r -z --raw` output:
// ":<amode> <bmode> <asha> <bsha> <status>\0<path>\0[<path>\0]".
func parseRawDiff(raw []byte) ([]DiffFile, error) {
	f := strings.Split(strings.TrimSuffix(string(raw), "\x00"), "\x00")
	var files []DiffFile
	for i := 0; i < len(f); {
		if f[i] == "" {
			i++
			continue
		}
		meta := strings.Fields(strings.TrimPrefix(f[i], ":"))
		if len(meta) != 5 || i+1 >= len(f) {
			return nil, fmt.Errorf("parse raw diff: %q", f[i])
		}
		d := DiffFile{AMode: gitlabMode(meta[0]), BMode: gitlabMode(meta[1]), OldPath: f[i+1], NewPath: f[i+1]}
		i += 2
		switch meta[4][0] {
		case 'A':
			d.NewFile = true
		case 'D':
			d.DeletedFile = true
		case 'T':
			d.typeChange = true
		case 'R', 'C':
			if i >= len(f) {
				return nil, fmt.Errorf("parse raw diff: rename without target")
			}
			d.NewPath = f[i]
			d.RenamedFile = meta[4][0] == 'R'
			d.NewFile = meta[4][0] == 'C'
			i++
		}
		files = append(files, d)
	}
	return files, nil
}

// gitlabMode shows a raw diff mode as GitLab does: "0" for no file.
func gitlabMode(m string) string {
	if strings.Trim(m, "0") == "" {
		return "0"
	}
	return m
}

// splitPatches cuts `git diff -p` output into one patch per file and keeps
// of each what GitLab's diff field holds: from the first hunk header (or
// the "Binary files" line) on. A file header always starts a line with
// "diff --git ", which no hunk line can (they start with ' ', '+', '-' or
// '\').
func splitPatches(out []byte) []string {
	var patches []string
	for len(out) > 0 {
		if !bytes.HasPrefix(out, []byte("diff --git ")) {
			break
		}
		next := bytes.Index(out[1:], []byte("\ndiff --git "))
		var one []byte
		if next < 0 {
			one, out = out, nil
		} else {
			one, out = out[:next+2], out[next+2:]
		}
		patches = append(patches, patchBody(one))
	}
	return patches
}

// patchBody drops the extended header lines of one file's patch.
func patchBody(p []byte) string {
	for off := 0; off < len(p); {
		line := p[off:]
		if bytes.HasPrefix(line, []byte("@@")) || bytes.HasPrefix(line, []byte("Binary files ")) {
			return string(p[off:])
		}
		nl := bytes.IndexByte(line, '\n')
		if nl < 0 {
			break
		}
		off += nl + 1
	}
	return ""
}

// cappedBuffer keeps the first max bytes written and discards the rest,
// remembering that it did.
type cappedBuffer struct {
	buf bytes.Buffer
	max int
	cut bool
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	room := b.max - b.buf.Len()
	if len(p) > room {
		b.cut = true
		if room > 0 {
			b.buf.Write(p[:room])
		}
		return len(p), nil
	}
	b.buf.Write(p)
	return len(p), nil
}

// CommitsBetween lists the commits reachable from head and not from base,
// newest first (a merge request's commits), at most max of them; base ""
// lists all of head's history.
func (s *Store) CommitsBetween(ctx context.Context, id int64, base, head string, skip, max int) ([]Commit, int, error) {
	dir, err := s.openRepo(id)
	if err != nil {
		return nil, 0, err
	}
	headSHA, err := s.resolveCommit(ctx, dir, head)
	if err != nil {
		return nil, 0, fmt.Errorf("commits between %d: %w", id, err)
	}
	revs := []string{headSHA}
	if base != "" {
		baseSHA, err := s.resolveCommit(ctx, dir, base)
		if err != nil {
			return nil, 0, fmt.Errorf("commits between %d: %w", id, err)
		}
		revs = append(revs, "^"+baseSHA)
	}
	cnt, err := s.run(ctx, gitCmd{Dir: dir, Args: append([]string{"rev-list", "--count"}, append(revs, "--")...)})
	if err != nil {
		return nil, 0, fmt.Errorf("commits between %d: %w", id, err)
	}
	total, err := strconv.Atoi(strings.TrimSpace(string(cnt)))
	if err != nil {
		return nil, 0, fmt.Errorf("commits between %d: %w", id, err)
	}
	args := append([]string{"log", "-z", "--format=" + commitFormat, "--skip=" + strconv.Itoa(skip), "--max-count=" + strconv.Itoa(max)}, revs...)
	out, err := s.run(ctx, gitCmd{Dir: dir, Args: append(args, "--")})
	if err != nil {
		return nil, 0, fmt.Errorf("commits between %d: %w", id, err)
	}
	cs, err := parseCommits(out)
	if err != nil {
		return nil, 0, fmt.Errorf("commits between %d: %w", id, err)
	}
	return cs, total, nil
}

// MergeBase is the best common ancestor of two commits; ErrNotFound when
// they share no history.
func (s *Store) MergeBase(ctx context.Context, id int64, a, b string) (string, error) {
	dir, err := s.openRepo(id)
	if err != nil {
		return "", err
	}
	aSHA, err := s.resolveCommit(ctx, dir, a)
	if err != nil {
		return "", fmt.Errorf("merge base %d: %w", id, err)
	}
	bSHA, err := s.resolveCommit(ctx, dir, b)
	if err != nil {
		return "", fmt.Errorf("merge base %d: %w", id, err)
	}
	out, err := s.run(ctx, gitCmd{Dir: dir, Args: []string{"merge-base", aSHA, bSHA}})
	if err != nil {
		return "", fmt.Errorf("merge base %d %.8s %.8s: %w", id, aSHA, bSHA, ErrNotFound)
	}
	return strings.TrimSpace(string(out)), nil
}

// ResolveCommit turns a ref or sha of project id into a full commit id.
func (s *Store) ResolveCommit(ctx context.Context, id int64, ref string) (string, error) {
	dir, err := s.openRepo(id)
	if err != nil {
		return "", err
	}
	sha, err := s.resolveCommit(ctx, dir, ref)
	if err != nil {
		return "", fmt.Errorf("resolve %d: %w", id, err)
	}
	return sha, nil
}

// WriteRawDiff streams the full patch between two commits of project id
// (from "" for the empty tree) to w, as `git diff` prints it, headers and
// all: GitLab's raw_diffs. Both are resolved first, so an error before
// anything is written means a missing commit.
func (s *Store) WriteRawDiff(ctx context.Context, id int64, from, to string, w io.Writer) error {
	dir, err := s.openRepo(id)
	if err != nil {
		return err
	}
	toSHA, err := s.resolveCommit(ctx, dir, to)
	if err != nil {
		return fmt.Errorf("raw diff %d: %w", id, err)
	}
	fromSHA := emptyTree
	if from != "" {
		if fromSHA, err = s.resolveCommit(ctx, dir, from); err != nil {
			return fmt.Errorf("raw diff %d: %w", id, err)
		}
	}
	args := []string{"diff-tree", "-r", "-p", "-M", "--full-index", "--no-commit-id", "--no-color", "--no-ext-diff", "--no-textconv", fromSHA, toSHA, "--"}
	if _, err := s.run(ctx, gitCmd{Dir: dir, Args: args, Stdout: w}); err != nil {
		return fmt.Errorf("raw diff %d: %w", id, err)
	}
	return nil
}
