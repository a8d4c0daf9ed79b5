package gitstore

import (
	"context"
	"fmt"
	"io"
)

// ArchiveFormats are the formats Archive writes, by the names GitLab's
// archive endpoint takes; each maps to git archive's --format.
var ArchiveFormats = map[string]string{
	"tar.gz": "tar.gz", "tgz": "tar.gz", "gz": "tar.gz",
	"tar": "tar",
	"zip": "zip",
}

// Archive streams an archive of commit sha (a full id from ResolveCommit)
// of project id to w: the whole tree, or only subPath, every entry under
// prefix (which should end with "/"). Nothing is buffered: an error after
// the first bytes leaves w with a truncated archive, so callers check sha
// and subPath first (ArchivePathExists).
func (s *Store) Archive(ctx context.Context, id int64, sha, subPath, format, prefix string, w io.Writer) error {
	dir, err := s.openRepo(id)
	if err != nil {
		return err
	}
	gitFormat, ok := ArchiveFormats[format]
	if !ok || !hexID.MatchString(sha) || len(sha) < 40 {
		return fmt.Errorf("archive %d: format %q sha %q: %w", id, format, sha, ErrInvalid)
	}
	args := []string{"archive", "--format=" + gitFormat, "--prefix=" + prefix, sha}
	env := []string{}
	if subPath != "" {
		p, err := cleanRepoPath(subPath)
		if err != nil {
			return fmt.Errorf("archive %d: %w", id, err)
		}
		args = append(args, "--", p)
		env = append(env, "GIT_LITERAL_PATHSPECS=1")
	}
	if _, err := s.run(ctx, gitCmd{Dir: dir, Args: args, Env: env, Stdout: w}); err != nil {
		return fmt.Errorf("archive %d: %w", id, err)
	}
	return nil
}

// PathExists tells whether subPath names a file or directory in commit sha
// of project id.
func (s *Store) PathExists(ctx context.Context, id int64, sha, subPath string) (bool, error) {
	dir, err := s.openRepo(id)
	if err != nil {
		return false, err
	}
	p, err := cleanRepoPath(subPath)
	if err != nil {
		return false, err
	}
	if !hexID.MatchString(sha) {
		return false, fmt.Errorf("path exists %d: sha %q: %w", id, sha, ErrInvalid)
	}
	out, err := s.run(ctx, gitCmd{Dir: dir, Args: []string{"ls-tree", "-z", "--full-tree", "--name-only", sha, "--", p},
		Env: []string{"GIT_LITERAL_PATHSPECS=1"}})
	if err != nil {
		return false, fmt.Errorf("path exists %d: %w", id, err)
	}
	return string(out) == p+"\x00", nil
}
