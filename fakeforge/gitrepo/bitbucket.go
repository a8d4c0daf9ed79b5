package gitrepo

import (
	"bytes"
	"context"
	"fmt"

	"github.com/ferry-import/ferry/fakeforge/scenario"
)

// HiddenMergeRef is where a Bitbucket Server repository keeps the merge
// commit of merged pull request %d. On a real server that commit is on
// the target branch; here main is shared by every forge and never moves,
// so the commit sits under a ref that upload-pack hides: a clone does not
// bring it, a fetch by its SHA does.
const HiddenMergeRef = "refs/fakeforge/merged/%d"

// BuildBitbucket writes the Bitbucket Server repository: the shared
// history of Build (so every SHA of main, the feature branches and the
// tags is the same), and on top of it what only Bitbucket has
//
//   - per feature branch b, branch scenario.BBSReworkBranch(b), one commit
//     ahead of it, editing README.md;
//   - per open pull request j, refs/pull-requests/j/from at its source
//     commit and refs/pull-requests/j/merge at a merge of it into main, as
//     Bitbucket keeps them for open pull requests only (merged and declined
//     ones lose theirs);
//   - per merged pull request, its merge commit by the person who merged
//     it, under HiddenMergeRef.
//
// repoName ("ACME/widgets") goes into merge commit messages.
func BuildBitbucket(ctx context.Context, sc *scenario.Scenario, path, repoName string) (*Repo, error) {
	if err := initBare(ctx, path); err != nil {
		return nil, err
	}
	for _, kv := range [][2]string{{"uploadpack.hideRefs", "refs/fakeforge"}, {"uploadpack.allowTipSHA1InWant", "true"}} {
		if out, err := git(ctx, path, nil, "config", kv[0], kv[1]); err != nil {
			return nil, fmt.Errorf("git config in %s: %w: %s", path, err, out)
		}
	}
	c := sc.Config()
	var s bytes.Buffer
	h := writeShared(&s, sc)
	mainTip := h.main[c.Commits-1]
	rework := make([]int, c.Branches+1)
	for b := 1; b <= c.Branches; b++ {
		rework[b] = h.commit(&s, "refs/heads/"+sc.BBSReworkBranch(b), []int{h.branch[b]}, Identity, sc.BBSReworkTime(b),
			scenario.BBSReworkMessage(b), map[string]string{scenario.ReadmePath: scenario.BBSReworkReadme(b)})
	}
	merges := make([]int, c.PullRequests+1)
	for j := 1; j <= c.PullRequests; j++ {
		b := sc.PRBranch(j)
		tip, files := h.branch[b], map[string]string{scenario.FeatureFilePath(b): featureFile(b)}
		if sc.BBSRework(j) {
			tip = rework[b]
			files[scenario.ReadmePath] = scenario.BBSReworkReadme(b)
		}
		msg := sc.BBSMergeMessage(j, repoName)
		switch sc.BBSState(j) {
		case "OPEN":
			fmt.Fprintf(&s, "reset refs/pull-requests/%d/from\nfrom :%d\n\n", j, tip)
			merges[j] = h.commit(&s, fmt.Sprintf("refs/pull-requests/%d/merge", j), []int{mainTip, tip}, Identity,
				scenario.ItemCreated(sc.PRNumber(j)), msg, files)
		case "MERGED":
			p := sc.BBSPullRequest(j)
			u := sc.BBSUserOf(p.Closer)
			merges[j] = h.commit(&s, fmt.Sprintf(HiddenMergeRef, j), []int{mainTip, tip},
				fmt.Sprintf("%s <%s>", u.User.Name, u.Email), p.Closed, msg, files)
		}
	}
	marks, err := fastImport(ctx, path, &s)
	if err != nil {
		return nil, err
	}
	r := h.repo(path, marks)
	r.rework = make([]string, len(rework))
	for b, m := range rework[1:] {
		r.rework[b+1] = marks[m]
	}
	r.merge = make([]string, len(merges))
	for j, m := range merges {
		if m != 0 {
			r.merge[j] = marks[m]
		}
	}
	return r, nil
}

// ReworkSHA is the SHA of the head of scenario.BBSReworkBranch(b)
// (Bitbucket Server repositories only).
func (r *Repo) ReworkSHA(b int) string { return r.rework[b] }

// MergeSHA is the merge commit of pull request j: the merge preview of an
// open one, the merge of a merged one, "" for a declined one (Bitbucket
// Server repositories only).
func (r *Repo) MergeSHA(j int) string { return r.merge[j] }
