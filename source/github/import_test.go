package github

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/fakeforge"
	ffgithub "github.com/ferry-import/ferry/fakeforge/github"
	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/forge"
)

// TestImport runs whole imports against the simulated GitHub, at the
// root and under /api/v3, with repo-wide and per-item comment lists, and
// checks what came out against the scenario field by field and the calls
// against the lower bound.
func TestImport(t *testing.T) {
	f := startForge(t, tiny())
	sc := f.Scenario
	id := strconv.Itoa(ffgithub.RepoID)
	for _, tt := range []struct {
		name string
		run  runOpts
		// lookups: repository lookups beyond callsFor: without a path the
		// relation jobs that need one ask once each (all but repository,
		// users and lfs_objects).
		lookups bool
	}{
		{"github.com", runOpts{apiBase: f.GitHub.APIURL + "/", sourceRef: id,
			options: Options{CollaboratorsImport: true, PaginationLimit: perPage, FullName: "acme/widgets"}}, false},
		{"enterprise by path", runOpts{apiBase: f.GitHub.URL + "/api/v3/", sourceRef: "acme/widgets",
			options: Options{CollaboratorsImport: true, PaginationLimit: perPage}}, false},
		{"id without full_name", runOpts{apiBase: f.GitHub.APIURL, sourceRef: id,
			options: Options{CollaboratorsImport: true, PaginationLimit: perPage}}, true},
		{"single endpoint notes", runOpts{apiBase: f.GitHub.APIURL + "/", sourceRef: id,
			options: Options{CollaboratorsImport: true, SingleEndpointNotesImport: true, PaginationLimit: perPage, FullName: "acme/widgets"}}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f.GitHub.ResetStats()
			got := runImport(t, f, tt.run)
			checkContent(t, f, got)
			checkGit(t, f, got)
			want := callsFor(t, sc, tt.run.options)
			if tt.lookups {
				want += len(got.Pages) - 3
			} else if len(got.Repeats()) > 0 {
				t.Errorf("requests made more than once: %v", got.Repeats())
			}
			if calls := f.GitHub.Stats().APIRequests; calls != want {
				t.Errorf("made %d API calls, want %d (%v)", calls, want, f.GitHub.Stats().Families)
			}
			t.Logf("%d API calls; lower bound %d", f.GitHub.Stats().APIRequests, lowerBound(t, sc))
		})
	}
}

func lowerBound(t *testing.T, sc *scenario.Scenario) int {
	n, err := sc.LowerBoundCalls(scenario.GitHub, perPage)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func pages(n int) int { return max(1, (n+perPage-1)/perPage) }

// callsFor is the number of API calls an import makes. With repo-wide
// comment lists it is the scenario's lower bound less what the lists
// already carry:
//   - requested reviewers are in the pulls list: no call per pull request;
//   - only merged pull requests need GET pulls/:n (for merged_by);
//   - branches?protected=true lists the protected branches only.
//
// With single_endpoint_notes_import the repo-wide comment lists give way to
// one list per item with comments and one per pull request.
func callsFor(t *testing.T, sc *scenario.Scenario, o Options) int {
	c := sc.Config()
	merged := 0
	for j := 1; j <= c.PullRequests; j++ {
		if sc.Item(sc.PRNumber(j)).Merged {
			merged++
		}
	}
	_ = merged // merged_by comes with the issue events: no per-PR call
	n := lowerBound(t, sc) - (pages(sc.BranchCount()) - pages(c.ProtectedBranches))
	if o.SingleEndpointNotesImport {
		n -= pages(sc.CommentCount()) + pages(sc.ReviewCommentCount())
		n += sc.Items()*pages(c.CommentsPerItem) + c.PullRequests*pages(c.ReviewCommentsPerPR)
	}
	return n
}

func logins(us []forge.SourceUser) []string {
	out := []string{}
	for _, u := range us {
		out = append(out, u.Login)
	}
	return out
}

func scLogins(us []scenario.User) []string {
	out := []string{}
	for _, u := range us {
		out = append(out, u.Login)
	}
	return out
}

func scLabels(ls []scenario.Label) []string {
	out := []string{}
	for _, l := range ls {
		out = append(out, l.Name)
	}
	return out
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// byKind gathers objects of one Go type.
func byKind[T forge.Object](im *imported, kind string) []T {
	var out []T
	for _, o := range im.Kind(kind) {
		out = append(out, o.(T))
	}
	return out
}

// checkContent compares every object with the scenario it came from.
func checkContent(t *testing.T, f *fakeforge.Forge, im *imported) {
	t.Helper()
	sc := f.Scenario
	c := sc.Config()
	want := expected(t, sc)
	for _, k := range []string{forge.KindSourceUser, forge.KindLabel, forge.KindMilestone, forge.KindIssue, forge.KindNote,
		forge.KindReview, forge.KindRelease, forge.KindAwardEmoji, forge.KindProtectedBranch, forge.KindMember, forge.KindRepository} {
		for _, o := range im.Kind(k) {
			if s := o.Source(); s.Type != Type || s.Host == "" || s.ID == "" {
				t.Fatalf("%s has source id %+v", k, s)
			}
		}
	}

	got := counts(im)
	got["branches"] = want["branches"] // checked in git by checkGit
	comments, diffNotes, system := splitNotes(im)
	mrs := map[int64]forge.MergeRequest{}
	for _, mr := range byKind[forge.MergeRequest](im, forge.KindMergeRequest) {
		mrs[mr.IID] = mr // GET pulls/:n, later, completes the list's
	}
	if d := got.Diff(want); d != "" {
		t.Errorf("counts differ from the scenario: %s", d)
	}
	if n := len(im.Kind(forge.KindRepository)); n != 1 {
		t.Errorf("%d repository objects, want 1", n)
	}

	for _, l := range byKind[forge.Label](im, forge.KindLabel) {
		i, _ := strconv.Atoi(l.ID)
		w := sc.Label(i - 2_000_000)
		if l.Name != w.Name || l.Color != "#"+w.Color || l.Description != w.Description {
			t.Errorf("label %s = %+v, want %+v", l.ID, l, w)
		}
	}
	for _, m := range byKind[forge.Milestone](im, forge.KindMilestone) {
		w := sc.Milestone(int(m.IID))
		st := map[bool]string{true: forge.MilestoneActive, false: forge.MilestoneClosed}[w.Open]
		if m.Title != w.Title || m.State != st || m.DueDate == nil || !m.DueDate.Equal(w.DueOn.Truncate(24*3600e9)) ||
			!m.CreatedAt.Equal(w.Created) {
			t.Errorf("milestone %d = %+v, want %+v", m.IID, m, w)
		}
	}
	for _, r := range byKind[forge.Release](im, forge.KindRelease) {
		i, _ := strconv.Atoi(r.ID)
		w := sc.Release(i - 70_000_000)
		if r.TagName != w.Tag || r.Name != w.Name || len(r.Links) != len(w.Assets) || r.Author == nil || r.ReleasedAt == nil {
			t.Errorf("release %s = %+v, want %+v", r.ID, r, w)
			continue
		}
		for k, a := range w.Assets {
			if l := r.Links[k]; l.Name != a.Name || !strings.HasSuffix(l.URL, "/releases/download/"+w.Tag+"/"+a.Name) {
				t.Errorf("release %s link %d = %+v, want %s", r.ID, k, l, a.Name)
			}
		}
	}

	// Issues and merge requests keep their numbers, states and people.
	issues := byKind[forge.Issue](im, forge.KindIssue)
	for _, is := range issues {
		w := sc.Item(int(is.IID))
		if w.IsPR {
			t.Errorf("issue %d is a pull request", is.IID)
			continue
		}
		checkItem(t, "issue", is.IID, w, is.Title, is.State, is.Labels, is.Assignees, is.MilestoneIID, is.Author)
		if !w.Open && (is.ClosedBy == nil || is.ClosedBy.Login != w.ClosedBy.Login || is.ClosedAt == nil || !is.ClosedAt.Equal(w.Closed)) {
			t.Errorf("issue %d closed by %+v at %v, want %s at %v", is.IID, is.ClosedBy, is.ClosedAt, w.ClosedBy.Login, w.Closed)
		}
		if is.Locked != w.Locked {
			t.Errorf("issue %d locked = %v", is.IID, is.Locked)
		}
	}
	for j := 1; j <= c.PullRequests; j++ {
		num := sc.PRNumber(j)
		mr, ok := mrs[int64(num)]
		if !ok {
			t.Errorf("pull request %d missing", num)
			continue
		}
		w := sc.Item(num)
		st := mr.State
		if st == forge.StateMerged {
			st = forge.StateClosed // checkItem knows open and closed
		}
		checkItem(t, "merge request", mr.IID, w, mr.Title, st, mr.Labels, mr.Assignees, mr.MilestoneIID, mr.Author)
		branch := sc.Branch(sc.PRBranch(j)).Name
		if mr.SourceBranch != branch || mr.TargetBranch != "main" || mr.SourceSHA != f.Git.BranchSHA(sc.PRBranch(j)) ||
			mr.TargetSHA == "" || mr.Draft != (j%11 == 0) {
			t.Errorf("merge request %d = %s@%s → %s@%s draft %v", num, mr.SourceBranch, mr.SourceSHA, mr.TargetBranch, mr.TargetSHA, mr.Draft)
		}
		if w.Merged != (mr.State == forge.StateMerged) {
			t.Errorf("merge request %d state %s, merged %v", num, mr.State, w.Merged)
		}
		if w.Merged && (mr.MergedBy == nil || mr.MergedBy.Login != w.ClosedBy.Login || mr.MergedAt == nil || mr.MergeCommitSHA == "") {
			t.Errorf("merge request %d merged by %+v at %v (%q), want %s", num, mr.MergedBy, mr.MergedAt, mr.MergeCommitSHA, w.ClosedBy.Login)
		}
		if !w.Merged && !w.Open && mr.ClosedAt == nil {
			t.Errorf("merge request %d closed without closed_at", num)
		}
		if g, w := logins(mr.Reviewers), scLogins(sc.RequestedReviewers(j)); !slices.Equal(g, w) {
			t.Errorf("merge request %d reviewers %v, want %v", num, g, w)
		}
	}

	// Conversation comments on the right issue or merge request.
	for _, n := range comments {
		ci, _ := strconv.Atoi(strings.TrimPrefix(n.ID, kindIssueComment+"/"))
		w := sc.Comment(ci - 20_000_000)
		typ := map[bool]string{true: forge.OnMergeRequest, false: forge.OnIssue}[sc.IsPR(w.Item)]
		if n.On != (forge.Noteable{Type: typ, IID: int64(w.Item)}) || n.Author.Login != w.Author.Login || n.DiscussionID != "" ||
			!n.CreatedAt.Equal(w.Created) || n.Body == "" {
			t.Errorf("comment %s on %+v by %s, want %s %d by %s", n.ID, n.On, n.Author.Login, typ, w.Item, w.Author.Login)
		}
	}

	// Diff notes: position and thread.
	for _, n := range diffNotes {
		ri, _ := strconv.Atoi(strings.TrimPrefix(n.ID, kindReviewComment+"/"))
		w := sc.ReviewComment(ri - 40_000_000)
		root := w.ID
		if w.InReplyTo != 0 {
			root = w.InReplyTo
		}
		p := n.Position
		if n.On != (forge.Noteable{Type: forge.OnMergeRequest, IID: int64(sc.PRNumber(w.PR))}) ||
			n.DiscussionID != noteID(kindReviewComment, root) || !n.Resolvable || n.Author.Login != w.Author.Login {
			t.Errorf("diff note %s on %+v in %s, want !%d in %d", n.ID, n.On, n.DiscussionID, sc.PRNumber(w.PR), root)
		}
		if p.NewPath != w.Path || p.OldPath != w.Path || p.NewLine != int64(w.Line) || p.OldLine != 0 ||
			p.HeadSHA != f.Git.BranchSHA(sc.PRBranch(w.PR)) || p.LineRange != nil || p.Type != "text" {
			t.Errorf("diff note %s position %+v, want %s new line %d", n.ID, p, w.Path, w.Line)
		}
	}
	threads := map[string]int{}
	for _, n := range diffNotes {
		threads[n.DiscussionID]++
	}
	if want := (c.ReviewCommentsPerPR + 1) / 2 * c.PullRequests; len(threads) != want {
		t.Errorf("%d diff-note threads, want %d", len(threads), want)
	}

	// Events become system notes by their actor.
	for _, n := range system {
		ei, _ := strconv.Atoi(strings.TrimPrefix(n.ID, kindEvent+"/"))
		w := sc.Event(ei - 50_000_000)
		prefix := map[string]string{"labeled": "added ~", "unlabeled": "removed ~", "assigned": "assigned to @" + w.Actor.Login,
			"renamed": "changed title from **Old title** to **", "referenced": "mentioned in commit " + f.Git.MainSHA(0),
			"milestoned": "changed milestone to %"}[w.Event]
		typ := map[bool]string{true: forge.OnMergeRequest, false: forge.OnIssue}[sc.IsPR(w.Item)]
		if !strings.HasPrefix(n.Body, prefix) || n.Author.Login != w.Actor.Login || n.On != (forge.Noteable{Type: typ, IID: int64(w.Item)}) {
			t.Errorf("event %d (%s) → %q by %s on %+v", w.ID, w.Event, n.Body, n.Author.Login, n.On)
		}
		if strings.Contains(w.Event, "labeled") && !strings.Contains(n.Body, w.Label.Name) {
			t.Errorf("event %d: %q does not name label %q", w.ID, n.Body, w.Label.Name)
		}
	}

	// Who merged or closed each closed item comes from its events.
	closures := map[int64]forge.Closure{}
	for _, c := range byKind[forge.Closure](im, forge.KindClosure) {
		closures[c.On.IID] = c
	}
	for n := 1; n <= sc.Items(); n++ {
		w, got := sc.Item(n), closures[int64(n)]
		if w.Open {
			continue
		}
		if got.By.Login != w.ClosedBy.Login || got.Merged != w.Merged {
			t.Errorf("item %d closure %+v, want merged=%v by %s", n, got, w.Merged, w.ClosedBy.Login)
		}
	}

	// Reviews, approvals among them.
	states := map[string]string{"APPROVED": forge.ReviewApproved, "COMMENTED": forge.ReviewCommented, "CHANGES_REQUESTED": forge.ReviewChangesRequested}
	for _, rv := range byKind[forge.Review](im, forge.KindReview) {
		ri, _ := strconv.Atoi(rv.ID)
		w := sc.Review(ri - 30_000_000)
		if rv.MergeRequestIID != int64(sc.PRNumber(w.PR)) || rv.State != states[w.State] || rv.Author.Login != w.Author.Login ||
			rv.Body != w.Body || !rv.SubmittedAt.Equal(w.Submitted) {
			t.Errorf("review %s = %+v, want %+v", rv.ID, rv, w)
		}
	}
	// Their bodies as notes on the merge request, by the reviewer.
	words := map[string]string{"APPROVED": "Approved", "COMMENTED": "Commented", "CHANGES_REQUESTED": "Changes requested"}
	for _, n := range reviewBodyNotes(im) {
		ri, _ := strconv.Atoi(strings.TrimPrefix(n.ID, kindReviewBody+"/"))
		w := sc.Review(ri - 30_000_000)
		if n.On != (forge.Noteable{Type: forge.OnMergeRequest, IID: int64(sc.PRNumber(w.PR))}) || n.Author.Login != w.Author.Login ||
			n.Body != "**Review:** "+words[w.State]+"\n\n"+w.Body || n.System || !n.CreatedAt.Equal(w.Submitted) || !n.UpdatedAt.Equal(w.Submitted) {
			t.Errorf("review body note %s = %+v, want review %+v", n.ID, n, w)
		}
	}

	// Reactions as award emoji, on the item that has them.
	emoji := map[string]string{"+1": "thumbsup", "-1": "thumbsdown", "laugh": "laughing", "hooray": "tada",
		"confused": "confused", "heart": "heart", "rocket": "rocket", "eyes": "eyes"}
	awards := map[string]forge.AwardEmoji{}
	for _, a := range byKind[forge.AwardEmoji](im, forge.KindAwardEmoji) {
		awards[a.ID] = a
	}
	for n := 1; n <= sc.Items(); n++ {
		for _, x := range sc.ItemReactions(n) {
			a, ok := awards[strconv.FormatInt(x.ID, 10)]
			typ := map[bool]string{true: forge.OnMergeRequest, false: forge.OnIssue}[sc.IsPR(n)]
			if !ok || a.Name != emoji[x.Content] || a.User.Login != x.User.Login || a.On != (forge.Noteable{Type: typ, IID: int64(n)}) || a.NoteID != "" {
				t.Errorf("reaction %d (%s by %s on %d) → %+v", x.ID, x.Content, x.User.Login, n, a)
			}
		}
	}

	// Collaborators with GitLab's role map, protected branches.
	levels := map[string]ferry.AccessLevel{"read": ferry.GuestAccess, "triage": ferry.ReporterAccess, "write": ferry.DeveloperAccess,
		"maintain": ferry.MaintainerAccess, "admin": ferry.OwnerAccess}
	for _, m := range byKind[forge.Member](im, forge.KindMember) {
		u, ok := sc.UserByLogin(m.User.Login)
		if !ok || m.AccessLevel != levels[sc.Permission(u.Index)] {
			t.Errorf("member %s at %d, want %s", m.User.Login, m.AccessLevel, sc.Permission(u.Index))
		}
	}
	for _, pb := range byKind[forge.ProtectedBranch](im, forge.KindProtectedBranch) {
		br, ok := sc.BranchByName(pb.Name)
		if !ok || !br.Protected || pb.PushAccessLevel != ferry.NoAccess || pb.MergeAccessLevel != ferry.MaintainerAccess ||
			pb.CodeOwnerApprovalRequired != (br.Index == 0) || pb.AllowForcePush {
			t.Errorf("protected branch %+v", pb)
		}
	}

	// Users once each, with name and public e-mail for placeholder mapping.
	seen := map[string]bool{}
	for _, u := range byKind[forge.SourceUser](im, forge.KindSourceUser) {
		w, ok := sc.UserByLogin(u.Login)
		if !ok || seen[u.Login] || u.ID != strconv.FormatInt(w.ID, 10) || u.Name != w.Name || u.Email != w.Email {
			t.Errorf("user %+v, want %+v (seen before: %v)", u, w, seen[u.Login])
		}
		seen[u.Login] = true
	}

	repo := im.Kind(forge.KindRepository)[0].(forge.Repository)
	if repo.ID != strconv.Itoa(ffgithub.RepoID) || repo.DefaultBranch != "main" || repo.Visibility != "private" || repo.Description == "" {
		t.Errorf("repository %+v", repo)
	}
}

// checkItem compares what issues and merge requests share.
func checkItem(t *testing.T, what string, iid int64, w scenario.Item, title, st string, labels []string,
	assignees []forge.SourceUser, milestone int64, author forge.SourceUser) {
	t.Helper()
	wst := map[bool]string{true: forge.StateOpened, false: forge.StateClosed}[w.Open]
	if title != w.Title || st != wst || author.Login != w.Author.Login || author.ID != strconv.FormatInt(w.Author.ID, 10) ||
		milestone != int64(w.Milestone) || !slices.Equal(orEmpty(labels), scLabels(w.Labels)) ||
		!slices.Equal(logins(assignees), scLogins(w.Assignees)) {
		t.Errorf("%s %d = %q %s by %s, labels %v, assignees %v, milestone %d; want %q %s by %s, %v, %v, %d", what, iid,
			title, st, author.Login, labels, logins(assignees), milestone,
			w.Title, wst, w.Author.Login, scLabels(w.Labels), scLogins(w.Assignees), w.Milestone)
	}
}

// checkGit looks at the mirrored repository: every branch, pull request
// heads under refs/merge-requests, the wiki and the LFS objects.
func checkGit(t *testing.T, f *fakeforge.Forge, im *imported) {
	t.Helper()
	sc := f.Scenario
	git := im.Git
	ctx := context.Background()
	branches, err := git.Branches(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	if len(branches) != sc.BranchCount() {
		t.Errorf("%d branches, want %d", len(branches), sc.BranchCount())
	}
	out, err := exec.Command("git", "--git-dir", git.Path(7), "for-each-ref", "--format=%(refname) %(objectname)", "refs/merge-requests/").Output()
	if err != nil {
		t.Fatal(err)
	}
	heads := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		ref, sha, _ := strings.Cut(l, " ")
		heads[ref] = sha
	}
	for j := 1; j <= sc.Config().PullRequests; j++ {
		ref := fmt.Sprintf("refs/merge-requests/%d/head", sc.PRNumber(j))
		if heads[ref] != f.Git.BranchSHA(sc.PRBranch(j)) {
			t.Errorf("%s = %q, want %s", ref, heads[ref], f.Git.BranchSHA(sc.PRBranch(j)))
		}
	}
	if !git.WikiExists(7) {
		t.Error("wiki not mirrored")
	}
	lfs, err := git.LFSObjects(7)
	if err != nil || len(lfs) != sc.Config().LFSObjects {
		t.Errorf("%d LFS objects (%v), want %d", len(lfs), err, sc.Config().LFSObjects)
	}
	if im.Items[relLFSObjects] != sc.Config().LFSObjects {
		t.Errorf("lfs_objects covered %d items", im.Items[relLFSObjects])
	}
}

// TestPresetCalls imports the named presets at 100 per page and compares
// the calls with the scenario's lower bound. medium runs only with
// FERRY_GITHUB_MEDIUM=1 (it makes a few thousand calls).
func TestPresetCalls(t *testing.T) {
	presets := []string{"small"}
	if os.Getenv("FERRY_GITHUB_MEDIUM") != "" {
		presets = append(presets, "medium")
	}
	for _, name := range presets {
		t.Run(name, func(t *testing.T) {
			c, err := scenario.Preset(name, 1)
			if err != nil {
				t.Fatal(err)
			}
			f := startForge(t, c)
			sc := f.Scenario
			opts := Options{CollaboratorsImport: true, FullName: "acme/widgets"}
			got := runImport(t, f, runOpts{apiBase: f.GitHub.APIURL + "/", sourceRef: strconv.Itoa(ffgithub.RepoID), options: opts})
			checkContent(t, f, got)
			lower, err := sc.LowerBoundCalls(scenario.GitHub, DefaultPerPage)
			if err != nil {
				t.Fatal(err)
			}
			merged := 0
			for j := 1; j <= c.PullRequests; j++ {
				if sc.Item(sc.PRNumber(j)).Merged {
					merged++
				}
			}
			p := func(n int) int { return max(1, (n+DefaultPerPage-1)/DefaultPerPage) }
			// The lower bound counts no per-PR GET (merged_by is in the issue
			// events); the adapter spends one on each merged pull request.
			_ = merged // merged_by comes with the issue events: no per-PR call
			want := lower - (p(sc.BranchCount()) - p(c.ProtectedBranches))
			calls := f.GitHub.Stats().APIRequests
			if calls != want {
				t.Errorf("%d API calls, want %d", calls, want)
			}
			t.Logf("%s: %d API calls, lower bound %d (%.3f×)", name, calls, lower, float64(calls)/float64(lower))
		})
	}
}

// counts is what a run produced per kind, as scenario.Expected names them
// (branches aside: they are in git).
func counts(im *imported) scenario.Counts {
	comments, diffNotes, system := splitNotes(im)
	mrs := map[int64]forge.MergeRequest{}
	for _, mr := range byKind[forge.MergeRequest](im, forge.KindMergeRequest) {
		mrs[mr.IID] = mr // GET pulls/:n, later, completes the list's
	}
	requested := 0
	for _, mr := range mrs {
		requested += len(mr.Reviewers)
	}
	links := 0
	for _, r := range byKind[forge.Release](im, forge.KindRelease) {
		links += len(r.Links)
	}
	return scenario.Counts{
		"labels": len(im.Kind(forge.KindLabel)), "milestones": len(im.Kind(forge.KindMilestone)),
		"releases": len(im.Kind(forge.KindRelease)), "release_assets": links, "issues": len(im.Kind(forge.KindIssue)),
		"pull_requests": len(mrs), "issue_comments": len(comments), "review_comments": len(diffNotes),
		"reviews": len(im.Kind(forge.KindReview)), "review_bodies": len(reviewBodyNotes(im)), "requested_reviewers": requested, "issue_events": len(system),
		"reactions": len(im.Kind(forge.KindAwardEmoji)), "collaborators": len(im.Kind(forge.KindMember)),
		"protected_branches": len(im.Kind(forge.KindProtectedBranch)), "users": len(im.Kind(forge.KindSourceUser)),
	}
}

// splitNotes sorts notes into conversation comments, diff notes and
// system notes; review bodies (reviewBodyNotes) are none of them.
func splitNotes(im *imported) (comments, diffNotes, system []forge.Note) {
	for _, n := range byKind[forge.Note](im, forge.KindNote) {
		switch {
		case strings.HasPrefix(n.ID, kindReviewBody+"/"):
		case n.System:
			system = append(system, n)
		case n.Position != nil:
			diffNotes = append(diffNotes, n)
		default:
			comments = append(comments, n)
		}
	}
	return comments, diffNotes, system
}

// reviewBodyNotes are the notes reviews' bodies became.
func reviewBodyNotes(im *imported) []forge.Note {
	var out []forge.Note
	for _, n := range byKind[forge.Note](im, forge.KindNote) {
		if strings.HasPrefix(n.ID, kindReviewBody+"/") {
			out = append(out, n)
		}
	}
	return out
}

// expected is what a complete import of sc finds, named as counts names
// it: the scenario's counts, and review_bodies, one note per submitted
// review with a body (spec/mapping.md §1.6).
func expected(t *testing.T, sc *scenario.Scenario) scenario.Counts {
	t.Helper()
	want, err := sc.Expected(scenario.GitHub)
	if err != nil {
		t.Fatal(err)
	}
	c := sc.Config()
	bodies := 0
	for r := 1; r <= c.PullRequests*c.ReviewsPerPR; r++ {
		if rv := sc.Review(r); rv.State != "PENDING" && strings.TrimSpace(rv.Body) != "" {
			bodies++
		}
	}
	want["review_bodies"] = bodies
	return want
}
