package e2e

import (
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/fakeforge"
	fakegitlab "github.com/ferry-import/ferry/fakeforge/gitlab"
	"github.com/ferry-import/ferry/store/storetest"
)

// facts is what a client reads back of one migrated project through the
// API, field by field, for comparing two ferry instances' copies: values
// must be equal, and people (who differ by name between instances: each
// makes its own placeholder users) must correspond one to one.
type facts struct {
	values  map[string]string
	users   map[string]string // key → username
	uploads map[string]bool   // upload links bodies carry
}

func newFacts() *facts {
	return &facts{values: map[string]string{}, users: map[string]string{}, uploads: map[string]bool{}}
}

// uploadLink is a project upload link in a body; its secret differs
// between copies, so facts hold it as SECRET and compare the file itself.
var uploadLink = regexp.MustCompile(`/uploads/[0-9a-f]{32}/([^)\s"]+)`)

func (f *facts) set(key string, v any) {
	switch x := v.(type) {
	case *time.Time:
		if x == nil {
			v = "-"
		} else {
			v = x.UTC().Format(time.RFC3339)
		}
	case time.Time:
		v = x.UTC().Format(time.RFC3339)
	case []string:
		s := append([]string(nil), x...)
		sort.Strings(s)
		v = strings.Join(s, ",")
	}
	text := fmt.Sprint(v)
	for _, l := range uploadLink.FindAllString(text, -1) {
		f.uploads[l] = true
	}
	f.values[key] = uploadLink.ReplaceAllString(text, "/uploads/SECRET/$1")
}

// replace rewrites old as new in every value.
func (f *facts) replace(old, new string) {
	for k, v := range f.values {
		f.values[k] = strings.ReplaceAll(v, old, new)
	}
}

func (f *facts) user(key string, u *gitlab.BasicUser) {
	if u == nil {
		f.users[key] = "-"
		return
	}
	f.users[key] = u.Username
}

func (f *facts) userList(key string, us []*gitlab.BasicUser) {
	for i, u := range us {
		f.user(fmt.Sprintf("%s[%d]", key, i), u)
	}
	f.set(key+" count", len(us))
}

// projectFacts reads labels, milestones, issues and merge requests with
// their discussions, award emoji, approvals and resource events, releases
// and protected branches of project pid.
func projectFacts(t *testing.T, in *apptest.Instance, token string, pid int64) *facts {
	t.Helper()
	c := in.Client(t, token)
	f := newFacts()
	for _, l := range all(t, func(o gitlab.ListOptions) ([]*gitlab.Label, *gitlab.Response, error) {
		return c.Labels.ListLabels(pid, &gitlab.ListLabelsOptions{ListOptions: o, IncludeAncestorGroups: gitlab.Ptr(false)})
	}) {
		f.set("label "+l.Name, l.Color+" "+l.Description)
	}
	for _, m := range all(t, func(o gitlab.ListOptions) ([]*gitlab.Milestone, *gitlab.Response, error) {
		return c.Milestones.ListMilestones(pid, &gitlab.ListMilestonesOptions{ListOptions: o})
	}) {
		f.set(fmt.Sprintf("milestone %d", m.IID), fmt.Sprintf("%s|%s|%s|%v|%v", m.Title, m.Description, m.State, m.StartDate, m.DueDate))
	}
	for _, is := range all(t, func(o gitlab.ListOptions) ([]*gitlab.Issue, *gitlab.Response, error) {
		return c.Issues.ListProjectIssues(pid, &gitlab.ListProjectIssuesOptions{ListOptions: o})
	}) {
		k := fmt.Sprintf("issue %d", is.IID)
		f.set(k, fmt.Sprintf("%s|%s|%s|%v|%v|%v", is.Title, is.Description, is.State, is.Confidential, is.DiscussionLocked, is.DueDate))
		f.set(k+" labels", []string(is.Labels))
		f.set(k+" created", is.CreatedAt)
		f.set(k+" closed", is.ClosedAt)
		if is.Milestone != nil {
			f.set(k+" milestone", is.Milestone.IID)
		}
		if is.Author != nil {
			f.user(k+" author", &gitlab.BasicUser{Username: is.Author.Username})
		}
		f.userList(k+" assignees", issueAssignees(is))
		if is.ClosedBy != nil {
			f.user(k+" closed by", &gitlab.BasicUser{Username: is.ClosedBy.Username})
		}
		emoji(t, f, k, func(o gitlab.ListOptions) ([]*gitlab.AwardEmoji, *gitlab.Response, error) {
			return c.AwardEmoji.ListIssueAwardEmoji(pid, is.IID, &gitlab.ListAwardEmojiOptions{ListOptions: o})
		})
		discussions(t, f, k, all(t, func(o gitlab.ListOptions) ([]*gitlab.Discussion, *gitlab.Response, error) {
			return c.Discussions.ListIssueDiscussions(pid, is.IID, &gitlab.ListIssueDiscussionsOptions{ListOptions: o})
		}), func(nid int64) func(o gitlab.ListOptions) ([]*gitlab.AwardEmoji, *gitlab.Response, error) {
			return func(o gitlab.ListOptions) ([]*gitlab.AwardEmoji, *gitlab.Response, error) {
				return c.AwardEmoji.ListIssuesAwardEmojiOnNote(pid, is.IID, nid, &gitlab.ListAwardEmojiOptions{ListOptions: o})
			}
		})
	}
	for _, b := range all(t, func(o gitlab.ListOptions) ([]*gitlab.BasicMergeRequest, *gitlab.Response, error) {
		return c.MergeRequests.ListProjectMergeRequests(pid, &gitlab.ListProjectMergeRequestsOptions{ListOptions: o})
	}) {
		mr, _, err := c.MergeRequests.GetMergeRequest(pid, b.IID, nil)
		if err != nil {
			t.Fatal(err)
		}
		k := fmt.Sprintf("merge request %d", mr.IID)
		f.set(k, fmt.Sprintf("%s|%s|%s|%v|%v|%s>%s|%s|%s", mr.Title, mr.Description, mr.State, mr.Draft, mr.DiscussionLocked,
			mr.SourceBranch, mr.TargetBranch, mr.SHA, mr.MergeCommitSHA))
		f.set(k+" diff refs", fmt.Sprintf("%s %s %s", mr.DiffRefs.BaseSha, mr.DiffRefs.StartSha, mr.DiffRefs.HeadSha))
		f.set(k+" labels", []string(mr.Labels))
		f.set(k+" created", mr.CreatedAt)
		f.set(k+" merged", mr.MergedAt)
		f.set(k+" closed", mr.ClosedAt)
		if mr.Milestone != nil {
			f.set(k+" milestone", mr.Milestone.IID)
		}
		f.user(k+" author", mr.Author)
		f.userList(k+" assignees", mr.Assignees)
		f.userList(k+" reviewers", mr.Reviewers)
		if mr.MergeUser != nil {
			f.user(k+" merged by", mr.MergeUser)
		}
		if mr.ClosedBy != nil {
			f.user(k+" closed by", mr.ClosedBy)
		}
		ap, _, err := c.MergeRequestApprovals.GetConfiguration(pid, mr.IID)
		if err != nil {
			t.Fatal(err)
		}
		var approvers []*gitlab.BasicUser
		for _, a := range ap.ApprovedBy {
			approvers = append(approvers, a.User)
		}
		sort.Slice(approvers, func(i, j int) bool { return approvers[i].Username < approvers[j].Username })
		f.set(k+" approvals", len(approvers))
		emoji(t, f, k, func(o gitlab.ListOptions) ([]*gitlab.AwardEmoji, *gitlab.Response, error) {
			return c.AwardEmoji.ListMergeRequestAwardEmoji(pid, mr.IID, &gitlab.ListAwardEmojiOptions{ListOptions: o})
		})
		discussions(t, f, k, all(t, func(o gitlab.ListOptions) ([]*gitlab.Discussion, *gitlab.Response, error) {
			return c.Discussions.ListMergeRequestDiscussions(pid, mr.IID, &gitlab.ListMergeRequestDiscussionsOptions{ListOptions: o})
		}), func(nid int64) func(o gitlab.ListOptions) ([]*gitlab.AwardEmoji, *gitlab.Response, error) {
			return func(o gitlab.ListOptions) ([]*gitlab.AwardEmoji, *gitlab.Response, error) {
				return c.AwardEmoji.ListMergeRequestAwardEmojiOnNote(pid, mr.IID, nid, &gitlab.ListAwardEmojiOptions{ListOptions: o})
			}
		})
	}
	for _, r := range all(t, func(o gitlab.ListOptions) ([]*gitlab.Release, *gitlab.Response, error) {
		return c.Releases.ListReleases(pid, &gitlab.ListReleasesOptions{ListOptions: o})
	}) {
		k := "release " + r.TagName
		f.set(k, fmt.Sprintf("%s|%s|%s", r.Name, r.Description, r.Commit.ID))
		f.set(k+" released", r.ReleasedAt)
		var links []string
		for _, l := range r.Assets.Links {
			links = append(links, l.Name+"="+l.URL+"("+string(l.LinkType)+")")
		}
		f.set(k+" links", links)
		f.user(k+" author", &r.Author)
	}
	for _, p := range all(t, func(o gitlab.ListOptions) ([]*gitlab.ProtectedBranch, *gitlab.Response, error) {
		return c.ProtectedBranches.ListProtectedBranches(pid, &gitlab.ListProtectedBranchesOptions{ListOptions: o})
	}) {
		level := func(ds []*gitlab.BranchAccessDescription) string {
			var s []string
			for _, d := range ds {
				s = append(s, fmt.Sprint(d.AccessLevel))
			}
			sort.Strings(s)
			return strings.Join(s, ",")
		}
		f.set("protected branch "+p.Name, fmt.Sprintf("push %s merge %s force %v owners %v", level(p.PushAccessLevels),
			level(p.MergeAccessLevels), p.AllowForcePush, p.CodeOwnerApprovalRequired))
	}
	// Every upload a body links is served, with the same bytes.
	proj, _, err := c.Projects.GetProject(pid, nil)
	if err != nil {
		t.Fatal(err)
	}
	for link := range f.uploads {
		req, _ := http.NewRequest("GET", in.URL+"/"+proj.PathWithNamespace+link, nil)
		req.Header.Set("PRIVATE-TOKEN", token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		f.set("upload "+uploadLink.ReplaceAllString(link, "$1"), fmt.Sprintf("%d %x", resp.StatusCode, sha256.Sum256(body)))
	}
	f.set("uploads linked", len(f.uploads))
	// The repository: every ref and where it points (branches, tags, merge
	// request heads), and the wiki's.
	remote := strings.Replace(in.URL, "http://", "http://oauth2:"+token+"@", 1) + "/" + proj.PathWithNamespace
	for _, repo := range []string{".git", ".wiki.git"} {
		out := git(t, t.TempDir(), "ls-remote", remote+repo)
		refs := 0
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if sha, ref, ok := strings.Cut(line, "\t"); ok {
				f.set("ref "+repo+" "+ref, sha)
				refs++
			}
		}
		f.set("refs "+repo, refs)
	}
	resourceEventFacts(t, c, pid, f)
	return f
}

func issueAssignees(is *gitlab.Issue) []*gitlab.BasicUser {
	var out []*gitlab.BasicUser
	for _, a := range is.Assignees {
		out = append(out, &gitlab.BasicUser{Username: a.Username})
	}
	return out
}

func emoji(t *testing.T, f *facts, k string, list func(o gitlab.ListOptions) ([]*gitlab.AwardEmoji, *gitlab.Response, error)) {
	t.Helper()
	es := all(t, list)
	// Ties in time go by name: ids and usernames differ between copies.
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i], es[j]
		return a.CreatedAt.Before(*b.CreatedAt) || (a.CreatedAt.Equal(*b.CreatedAt) && a.Name < b.Name)
	})
	f.set(k+" emoji", len(es))
	for i, e := range es {
		f.set(fmt.Sprintf("%s emoji[%d]", k, i), e.Name+" "+e.CreatedAt.UTC().Format(time.RFC3339))
		f.user(fmt.Sprintf("%s emoji[%d] by", k, i), &e.User)
	}
}

// discussions records an item's threads in order: each note's body,
// author, date, system flag and diff position, and each user note's award
// emoji; notes are keyed by their place, since ids differ between copies.
func discussions(t *testing.T, f *facts, k string, ds []*gitlab.Discussion,
	noteEmoji func(nid int64) func(o gitlab.ListOptions) ([]*gitlab.AwardEmoji, *gitlab.Response, error)) {
	t.Helper()
	f.set(k+" discussions", len(ds))
	for i, d := range ds {
		f.set(fmt.Sprintf("%s discussion[%d]", k, i), fmt.Sprintf("individual %v notes %d", d.IndividualNote, len(d.Notes)))
		for j, n := range d.Notes {
			nk := fmt.Sprintf("%s discussion[%d] note[%d]", k, i, j)
			f.set(nk, fmt.Sprintf("%s|system %v|internal %v|resolvable %v|resolved %v", n.Body, n.System, n.Internal, n.Resolvable, n.Resolved))
			f.set(nk+" created", n.CreatedAt)
			f.user(nk+" author", &gitlab.BasicUser{Username: n.Author.Username})
			if p := n.Position; p != nil {
				f.set(nk+" position", fmt.Sprintf("%s %s %s %s:%d %s:%d %s", p.BaseSHA, p.StartSHA, p.HeadSHA, p.OldPath, p.OldLine,
					p.NewPath, p.NewLine, p.PositionType))
			}
			if !n.System {
				emoji(t, f, nk, noteEmoji(n.ID))
			}
		}
	}
}

// sameFacts compares two copies: every fact of one is in the other with
// the same value, and the people correspond one to one.
func sameFacts(t *testing.T, what string, a, b *facts) {
	t.Helper()
	var diffs []string
	for k, va := range a.values {
		if vb, ok := b.values[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s: %q only in the first", k, va))
		} else if va != vb {
			diffs = append(diffs, fmt.Sprintf("%s: %q vs %q", k, va, vb))
		}
	}
	for k, vb := range b.values {
		if _, ok := a.values[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s: %q only in the second", k, vb))
		}
	}
	fwd, back := map[string]string{}, map[string]string{}
	for k, ua := range a.users {
		ub, ok := b.users[k]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("%s: %s only in the first", k, ua))
		case (ua == "-") != (ub == "-"):
			diffs = append(diffs, fmt.Sprintf("%s: %s vs %s", k, ua, ub))
		case fwd[ua] != "" && fwd[ua] != ub:
			diffs = append(diffs, fmt.Sprintf("%s: %s is %s here but %s elsewhere", k, ua, ub, fwd[ua]))
		case back[ub] != "" && back[ub] != ua:
			diffs = append(diffs, fmt.Sprintf("%s: %s stands for %s here but for %s elsewhere", k, ub, ua, back[ub]))
		default:
			fwd[ua], back[ub] = ub, ua
		}
	}
	for k := range b.users {
		if _, ok := a.users[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s: a person only in the second", k))
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Errorf("%s: %d differences (of %d facts, %d people), first ones:\n%s", what, len(diffs), len(a.values), len(a.users),
			strings.Join(diffs[:min(len(diffs), 25)], "\n"))
	}
	if len(a.values) == 0 || len(fwd) == 0 {
		t.Errorf("%s: nothing compared (%d facts, %d people)", what, len(a.values), len(fwd))
	}
}

// TestGitLabTransportsLandTheSame: one source tree migrated through
// export_relations and the same tree migrated through the REST API (the
// source with direct transfer off) land the same content, field by field:
// issues, merge requests, notes and their positions, emoji, approvals,
// releases, protected branches, uploads, git refs, people one to one.
func TestGitLabTransportsLandTheSame(t *testing.T) {
	t.Parallel()
	viaExport := forgeWith(t, fakeforge.Options{GitLab: fakegitlab.Options{ExportBatchSize: 7, ExportPendingPolls: 1}}, smallTree)
	viaREST := forgeWith(t, fakeforge.Options{GitLab: fakegitlab.Options{ExportDisabled: true}}, smallTree)
	in := apptest.Start(t, storetest.Engines(t)[0], apptest.Options{AllowLocalNetwork: true, EngineOverrides: fast, Workers: 4})
	ids := map[string]int64{"export": startMigration(t, in, viaExport, "byexport"), "rest": startMigration(t, in, viaREST, "byrest")}
	for way, id := range ids {
		if done := waitBulkImport(t, in, id); done["status"] != "finished" || done["has_failures"] != false {
			logEntities(t, in, id)
			t.Fatalf("migration through %s ended %v (has_failures %v)", way, done["status"], done["has_failures"])
		}
	}
	for _, en := range getList(t, fmt.Sprintf("%s/api/v4/bulk_imports/%d/entities?per_page=100", in.URL, ids["export"]), in.RootToken) {
		if en["migrated_through"] != "export_relations" {
			t.Errorf("entity %v migrated through %v", en["source_full_path"], en["migrated_through"])
		}
	}
	root := in.Client(t, in.RootToken)
	projects := migratedProjects(t, in, ids["export"])
	if len(projects) != len(viaExport.Scenario.Projects()) {
		t.Fatalf("%d projects through the export, the source has %d", len(projects), len(viaExport.Scenario.Projects()))
	}
	for _, pid := range projects {
		p, _, err := root.Projects.GetProject(pid, nil)
		if err != nil {
			t.Fatal(err)
		}
		twin, _, err := root.Projects.GetProject("byrest/"+strings.TrimPrefix(p.PathWithNamespace, "byexport/"), nil)
		if err != nil {
			t.Fatalf("the REST twin of %s: %v", p.PathWithNamespace, err)
		}
		// Release links point at their source, which differs by address.
		fr, fe := projectFacts(t, in, in.RootToken, twin.ID), projectFacts(t, in, in.RootToken, pid)
		fr.replace(viaREST.GitLab.URL, "SOURCE")
		fe.replace(viaExport.GitLab.URL, "SOURCE")
		sameFacts(t, p.PathWithNamespace, fr, fe)
	}
}
