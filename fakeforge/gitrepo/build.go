// Package gitrepo makes the scenario's git repositories with the real git
// CLI and serves them over smart HTTP (git http-backend) with the Git LFS
// batch API beside them.
//
// Repositories are written by one `git fast-import` stream with fixed names
// and dates, so the same scenario always gives the same commit SHAs. The
// package knows the scenario's branches, commits, releases, pull requests
// and LFS objects, and nothing about forge APIs, faults or ferry.
package gitrepo

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ferry-import/ferry/fakeforge/scenario"
)

// Identity is the fixed author and committer of every generated commit.
const Identity = "Fake Forge <forge@example.test>"

// Repo is a generated bare repository.
type Repo struct {
	Path   string
	main   []string // SHAs of main commits, oldest first
	branch []string // SHAs of feature branch heads, index 1…Branches
}

// MainSHA is the SHA of main commit i (0-based).
func (r *Repo) MainSHA(i int) string { return r.main[i] }

// BranchSHA is the SHA of feature branch b's head (b ≥ 1); 0 is main's tip.
func (r *Repo) BranchSHA(b int) string {
	if b == 0 {
		return r.main[len(r.main)-1]
	}
	return r.branch[b]
}

// PullRef names the ref each forge keeps a pull request's head under, as a
// format with the pull request's number or id: GitHub "refs/pull/%d/head",
// GitLab "refs/merge-requests/%d/head", Bitbucket Server
// "refs/pull-requests/%d/from".
type PullRef string

// Ref formats of the three forges.
const (
	GitHubPullRef    PullRef = "refs/pull/%d/head"
	GitLabPullRef    PullRef = "refs/merge-requests/%d/head"
	BitbucketPullRef PullRef = "refs/pull-requests/%d/from"
)

// Build writes a bare repository at path with the scenario's history:
// main, feature branches, release tags, one pull-request ref per pull
// request (numbered with number(j) for the j-th), and LFS pointers.
func Build(ctx context.Context, sc *scenario.Scenario, path string, ref PullRef, number func(j int) int) (*Repo, error) {
	if err := initBare(ctx, path); err != nil {
		return nil, err
	}
	c := sc.Config()
	var s bytes.Buffer
	mark := 0
	next := func() int { mark++; return mark }
	mainMarks := make([]int, c.Commits)
	for i := range c.Commits {
		mainMarks[i] = next()
		files := map[string]string{fmt.Sprintf("docs/change-%03d.md", i): fmt.Sprintf("# Change %d\n\nSeed %d.\n", i, c.Seed)}
		if i == 0 {
			files["README.md"] = "# widgets\n\nA repository simulated by fakeforge.\n"
			if c.LFSObjects > 0 {
				files[".gitattributes"] = "assets/*.bin filter=lfs diff=lfs merge=lfs -text\n"
			}
			for k := 1; k <= c.LFSObjects; k++ {
				o := sc.LFSObject(k)
				files[o.Path] = Pointer(o.OID, len(o.Content))
			}
		}
		from := 0
		if i > 0 {
			from = mainMarks[i-1]
		}
		writeCommit(&s, "refs/heads/main", mainMarks[i], from, commitTime(i), fmt.Sprintf("Change %d", i), files)
	}
	tip := mainMarks[c.Commits-1]
	branchMarks := make([]int, c.Branches+1)
	for b := 1; b <= c.Branches; b++ {
		branchMarks[b] = next()
		var body strings.Builder
		for l := 1; l <= scenario.FeatureFileLines; l++ {
			body.WriteString(scenario.FeatureFileLine(b, l) + "\n")
		}
		writeCommit(&s, "refs/heads/"+sc.Branch(b).Name, branchMarks[b], tip, commitTime(c.Commits+b),
			fmt.Sprintf("Add feature %d", b), map[string]string{scenario.FeatureFilePath(b): body.String()})
	}
	for i := 1; i <= c.Releases; i++ {
		fmt.Fprintf(&s, "reset refs/tags/%s\nfrom :%d\n\n", scenario.ReleaseTag(i), mainMarks[sc.Release(i).Commit])
	}
	for j := 1; j <= c.PullRequests; j++ {
		fmt.Fprintf(&s, "reset "+string(ref)+"\nfrom :%d\n\n", number(j), branchMarks[sc.PRBranch(j)])
	}
	marks, err := fastImport(ctx, path, &s)
	if err != nil {
		return nil, err
	}
	r := &Repo{Path: path, main: make([]string, c.Commits), branch: make([]string, c.Branches+1)}
	for i, m := range mainMarks {
		r.main[i] = marks[m]
	}
	for b := 1; b <= c.Branches; b++ {
		r.branch[b] = marks[branchMarks[b]]
	}
	return r, nil
}

// BuildWiki writes a bare wiki repository with a few pages.
func BuildWiki(ctx context.Context, sc *scenario.Scenario, path string) error {
	if err := initBare(ctx, path); err != nil {
		return err
	}
	var s bytes.Buffer
	writeCommit(&s, "refs/heads/main", 1, 0, commitTime(0), "Create wiki", map[string]string{
		"Home.md":         "# Home\n\nWelcome to the widgets wiki.\n",
		"Installation.md": fmt.Sprintf("# Installation\n\nSeed %d.\n", sc.Config().Seed),
	})
	_, err := fastImport(ctx, path, &s)
	return err
}

// Pointer is the Git LFS pointer file for an object.
func Pointer(oid string, size int) string {
	return fmt.Sprintf("version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n", oid, size)
}

func commitTime(i int) time.Time { return scenario.Epoch().Add(time.Duration(i) * time.Hour) }

// writeCommit appends one fast-import commit; files are written in sorted
// order so the stream, and so the SHAs, never depend on map order.
func writeCommit(s *bytes.Buffer, ref string, mark, from int, when time.Time, msg string, files map[string]string) {
	stamp := fmt.Sprintf("%s %d +0000", Identity, when.Unix())
	fmt.Fprintf(s, "commit %s\nmark :%d\nauthor %s\ncommitter %s\ndata %d\n%s\n", ref, mark, stamp, stamp, len(msg), msg)
	if from != 0 {
		fmt.Fprintf(s, "from :%d\n", from)
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		fmt.Fprintf(s, "M 100644 inline %s\ndata %d\n%s\n", name, len(files[name]), files[name])
	}
	s.WriteString("\n")
}

func initBare(ctx context.Context, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	if out, err := git(ctx, "", nil, "init", "--bare", "--quiet", "--initial-branch=main", path); err != nil {
		return fmt.Errorf("git init %s: %w: %s", path, err, out)
	}
	// Let clients fetch PR heads by SHA, as GitHub allows.
	if out, err := git(ctx, path, nil, "config", "uploadpack.allowReachableSHA1InWant", "true"); err != nil {
		return fmt.Errorf("git config in %s: %w: %s", path, err, out)
	}
	return nil
}

func fastImport(ctx context.Context, path string, stream *bytes.Buffer) (map[int]string, error) {
	marksFile := filepath.Join(path, "fakeforge-marks")
	out, err := git(ctx, path, stream, "fast-import", "--quiet", "--export-marks="+marksFile)
	if err != nil {
		return nil, fmt.Errorf("git fast-import into %s: %w: %s", path, err, out)
	}
	f, err := os.Open(marksFile)
	if err != nil {
		return nil, fmt.Errorf("read marks: %w", err)
	}
	defer f.Close()
	marks := map[int]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m int
		var sha string
		if _, err := fmt.Sscanf(sc.Text(), ":%d %s", &m, &sha); err != nil {
			return nil, fmt.Errorf("parse mark %q: %w", sc.Text(), err)
		}
		marks[m] = sha
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read marks: %w", err)
	}
	return marks, os.Remove(marksFile)
}

// git runs the git CLI with a clean, fixed environment so that nothing from
// the user's configuration changes the result.
func git(ctx context.Context, dir string, stdin *bytes.Buffer, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	if dir != "" {
		cmd.Dir = dir
	}
	if stdin != nil {
		cmd.Stdin = stdin
	}
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "HOME="+os.TempDir(),
		"GIT_AUTHOR_NAME=Fake Forge", "GIT_AUTHOR_EMAIL=forge@example.test", "GIT_COMMITTER_NAME=Fake Forge",
		"GIT_COMMITTER_EMAIL=forge@example.test", "GIT_AUTHOR_DATE=2020-01-02T03:04:05Z", "GIT_COMMITTER_DATE=2020-01-02T03:04:05Z")
	return cmd.CombinedOutput()
}
