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
	// Bitbucket Server only (BuildBitbucket).
	rework []string // heads of the rework branches, index 1…Branches
	merge  []string // merge commits of pull requests, by id
	// commits are the commits written, by SHA.
	commits map[string]Commit
}

// Commit is a commit the repository was built with.
type Commit struct {
	SHA         string
	Message     string
	Name, Email string // author and committer
	When        time.Time
	Parents     []string
}

// Commit returns a commit of the repository by SHA.
func (r *Repo) Commit(sha string) (Commit, bool) {
	c, ok := r.commits[sha]
	return c, ok
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

// PullRef names the ref a forge keeps every pull request's head under, as
// a format with the pull request's number: GitHub "refs/pull/%d/head",
// GitLab "refs/merge-requests/%d/head". Bitbucket Server keeps
// refs/pull-requests/%d/from for open pull requests only: BuildBitbucket
// writes them.
type PullRef string

// Ref formats of GitHub and GitLab.
const (
	GitHubPullRef PullRef = "refs/pull/%d/head"
	GitLabPullRef PullRef = "refs/merge-requests/%d/head"
)

// Build writes a bare repository at path with the scenario's history:
// main, feature branches, release tags, one pull-request ref per pull
// request (numbered with number(j) for the j-th), and LFS pointers.
func Build(ctx context.Context, sc *scenario.Scenario, path string, ref PullRef, number func(j int) int) (*Repo, error) {
	if err := initBare(ctx, path); err != nil {
		return nil, err
	}
	var s bytes.Buffer
	h := writeShared(&s, sc)
	for j := 1; j <= sc.Config().PullRequests; j++ {
		fmt.Fprintf(&s, "reset "+string(ref)+"\nfrom :%d\n\n", number(j), h.branch[sc.PRBranch(j)])
	}
	marks, err := fastImport(ctx, path, &s)
	if err != nil {
		return nil, err
	}
	return h.repo(path, marks), nil
}

// history holds the fast-import marks of the history every forge shares,
// and what each commit it wrote is.
type history struct {
	mark    int
	main    []int // main's commits, oldest first
	branch  []int // feature branch heads, 1…Branches
	commits map[int]Commit
	parents map[int][]int
}

func (h *history) next() int { h.mark++; return h.mark }

// commit writes a commit by who ("Name <e-mail>") on ref with parents (the
// first one's tree changed by files) and returns its mark.
func (h *history) commit(s *bytes.Buffer, ref string, parents []int, who string, when time.Time, msg string, files map[string]string) int {
	m := h.next()
	writeCommitBy(s, ref, m, parents, who, when, msg, files)
	name, email, _ := strings.Cut(strings.TrimSuffix(who, ">"), " <")
	h.commits[m], h.parents[m] = Commit{Message: msg, Name: name, Email: email, When: when}, parents
	return m
}

func (h *history) repo(path string, marks map[int]string) *Repo {
	r := &Repo{Path: path, main: make([]string, len(h.main)), branch: make([]string, len(h.branch)),
		commits: make(map[string]Commit, len(h.commits))}
	for i, m := range h.main {
		r.main[i] = marks[m]
	}
	for b := 1; b < len(h.branch); b++ {
		r.branch[b] = marks[h.branch[b]]
	}
	for m, c := range h.commits {
		c.SHA = marks[m]
		for _, p := range h.parents[m] {
			c.Parents = append(c.Parents, marks[p])
		}
		r.commits[c.SHA] = c
	}
	return r
}

// writeShared writes main, the feature branches and the release tags:
// the same stream, so the same SHAs, for every forge.
func writeShared(s *bytes.Buffer, sc *scenario.Scenario) *history {
	c := sc.Config()
	h := &history{main: make([]int, c.Commits), branch: make([]int, c.Branches+1), commits: map[int]Commit{}, parents: map[int][]int{}}
	for i := range c.Commits {
		files := map[string]string{fmt.Sprintf("docs/change-%03d.md", i): fmt.Sprintf("# Change %d\n\nSeed %d.\n", i, c.Seed)}
		if i == 0 {
			files[scenario.ReadmePath] = scenario.Readme
			if c.LFSObjects > 0 {
				files[".gitattributes"] = "assets/*.bin filter=lfs diff=lfs merge=lfs -text\n"
			}
			for k := 1; k <= c.LFSObjects; k++ {
				o := sc.LFSObject(k)
				files[o.Path] = Pointer(o.OID, len(o.Content))
			}
		}
		var parents []int
		if i > 0 {
			parents = []int{h.main[i-1]}
		}
		h.main[i] = h.commit(s, "refs/heads/main", parents, Identity, commitTime(i), fmt.Sprintf("Change %d", i), files)
	}
	tip := h.main[c.Commits-1]
	for b := 1; b <= c.Branches; b++ {
		h.branch[b] = h.commit(s, "refs/heads/"+sc.Branch(b).Name, []int{tip}, Identity, commitTime(c.Commits+b),
			fmt.Sprintf("Add feature %d", b), map[string]string{scenario.FeatureFilePath(b): featureFile(b)})
	}
	for i := 1; i <= c.Releases; i++ {
		fmt.Fprintf(s, "reset refs/tags/%s\nfrom :%d\n\n", scenario.ReleaseTag(i), h.main[sc.Release(i).Commit])
	}
	return h
}

func featureFile(b int) string {
	var body strings.Builder
	for l := 1; l <= scenario.FeatureFileLines; l++ {
		body.WriteString(scenario.FeatureFileLine(b, l) + "\n")
	}
	return body.String()
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

// writeCommit appends one fast-import commit by Identity; files are
// written in sorted order so the stream, and so the SHAs, never depend on
// map order.
func writeCommit(s *bytes.Buffer, ref string, mark, from int, when time.Time, msg string, files map[string]string) {
	var parents []int
	if from != 0 {
		parents = []int{from}
	}
	writeCommitBy(s, ref, mark, parents, Identity, when, msg, files)
}

// writeCommitBy appends a commit by who ("Name <e-mail>") with parents,
// the first one's tree changed by files.
func writeCommitBy(s *bytes.Buffer, ref string, mark int, parents []int, who string, when time.Time, msg string, files map[string]string) {
	stamp := fmt.Sprintf("%s %d +0000", who, when.Unix())
	fmt.Fprintf(s, "commit %s\nmark :%d\nauthor %s\ncommitter %s\ndata %d\n%s\n", ref, mark, stamp, stamp, len(msg), msg)
	for k, p := range parents {
		fmt.Fprintf(s, "%s :%d\n", map[bool]string{true: "from", false: "merge"}[k == 0], p)
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
