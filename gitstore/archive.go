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
// prefix (which should end with "/"), leaving out the paths in exclude.
// Nothing is buffered: an error after the first bytes leaves w with a
// truncated archive, so callers check sha and subPath first (PathExists).
func (s *Store) Archive(ctx context.Context, id int64, sha, subPath, format, prefix string, exclude []string, w io.Writer) error {
	dir, err := s.openRepo(id)
	if err != nil {
		return err
	}
	gitFormat, ok := ArchiveFormats[format]
	if !ok || !hexID.MatchString(sha) || len(sha) < 40 {
		return fmt.Errorf("archive %d: format %q sha %q: %w", id, format, sha, ErrInvalid)
	}
	args := []string{"archive", "--format=" + gitFormat, "--prefix=" + prefix, sha}
	// Pathspecs are literal (no globs) but for the exclude magic.
	var specs []string
	if subPath != "" {
		p, err := cleanRepoPath(subPath)
		if err != nil {
			return fmt.Errorf("archive %d: %w", id, err)
		}
		specs = append(specs, ":(literal)"+p)
	}
	for _, x := range exclude {
		p, err := cleanRepoPath(x)
		if err != nil {
			return fmt.Errorf("archive %d: exclude: %w", id, err)
		}
		if len(specs) == 0 {
			specs = append(specs, ":(literal).")
		}
		specs = append(specs, ":(exclude,literal)"+p)
	}
	if len(specs) > 0 {
		args = append(append(args, "--"), specs...)
	}
	if _, err := s.run(ctx, gitCmd{Dir: dir, Args: args, Stdout: w}); err != nil {
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
