package gitstore

import (
	"context"
	"fmt"
	"io"

	"github.com/dsnet/compress/bzip2"
)

// ArchiveFormats are the formats Archive writes, by the names GitLab's
// archive endpoint takes, each mapped to its canonical extension (the one
// GitLab names the file with): tar.gz, tar.bz2, tar or zip.
var ArchiveFormats = map[string]string{
	"tar.gz": "tar.gz", "tgz": "tar.gz", "gz": "tar.gz",
	"tar.bz2": "tar.bz2", "tbz": "tar.bz2", "tbz2": "tar.bz2", "tb2": "tar.bz2", "bz2": "tar.bz2",
	"tar": "tar",
	"zip": "zip",
}

// ArchiveOptions say what Archive writes.
type ArchiveOptions struct {
	// Format is a key of ArchiveFormats.
	Format string
	// SubPath, when set, archives only that file or directory.
	SubPath string
	// Prefix is put before every entry; it should end with "/".
	Prefix string
	// Exclude are paths left out (literal, no globs).
	Exclude []string
	// LFSBlobs puts the content of the project's LFS objects in the
	// archive instead of their pointers (GitLab's include_lfs_blobs).
	LFSBlobs bool
}

// Archive streams an archive of commit sha (a full id from ResolveCommit)
// of project id to w, as o says. Nothing is buffered: an error after the
// first bytes leaves w with a truncated archive, so callers check sha and
// o.SubPath first (PathExists).
//
// git archive writes tar, tar.gz and zip itself; tar.bz2 is git's tar
// compressed here. With o.LFSBlobs, when the project has LFS objects, the
// archive is rewritten from git's tar on the way (archiveLFS).
func (s *Store) Archive(ctx context.Context, id int64, sha string, o ArchiveOptions, w io.Writer) error {
	dir, err := s.openRepo(id)
	if err != nil {
		return err
	}
	kind, ok := ArchiveFormats[o.Format]
	if !ok || !hexID.MatchString(sha) || len(sha) < 40 {
		return fmt.Errorf("archive %d: format %q sha %q: %w", id, o.Format, sha, ErrInvalid)
	}
	specs, err := archiveSpecs(o.SubPath, o.Exclude)
	if err != nil {
		return fmt.Errorf("archive %d: %w", id, err)
	}
	if o.LFSBlobs {
		oids, err := s.LFSObjects(id)
		if err != nil {
			return fmt.Errorf("archive %d: %w", id, err)
		}
		if len(oids) > 0 {
			return s.archiveLFS(ctx, id, dir, sha, kind, o.Prefix, specs, oids, w)
		}
	}
	gitFormat, out := kind, w
	var bz *bzip2.Writer
	if kind == "tar.bz2" {
		if bz, err = bzip2.NewWriter(w, nil); err != nil {
			return fmt.Errorf("archive %d: %w", id, err)
		}
		gitFormat, out = "tar", bz
	}
	if _, err := s.run(ctx, gitCmd{Dir: dir, Args: archiveArgs(gitFormat, o.Prefix, sha, specs), Stdout: out}); err != nil {
		return fmt.Errorf("archive %d: %w", id, err)
	}
	if bz != nil {
		if err := bz.Close(); err != nil {
			return fmt.Errorf("archive %d: %w", id, err)
		}
	}
	return nil
}

// archiveSpecs are git archive's pathspecs for subPath and exclude: literal
// (no globs) but for the exclude magic.
func archiveSpecs(subPath string, exclude []string) ([]string, error) {
	var specs []string
	if subPath != "" {
		p, err := cleanRepoPath(subPath)
		if err != nil {
			return nil, err
		}
		specs = append(specs, ":(literal)"+p)
	}
	for _, x := range exclude {
		p, err := cleanRepoPath(x)
		if err != nil {
			return nil, fmt.Errorf("exclude: %w", err)
		}
		if len(specs) == 0 {
			specs = append(specs, ":(literal).")
		}
		specs = append(specs, ":(exclude,literal)"+p)
	}
	return specs, nil
}

func archiveArgs(gitFormat, prefix, sha string, specs []string) []string {
	args := []string{"archive", "--format=" + gitFormat, "--prefix=" + prefix, sha}
	if len(specs) > 0 {
		args = append(append(args, "--"), specs...)
	}
	return args
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
