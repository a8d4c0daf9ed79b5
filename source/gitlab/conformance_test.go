package gitlab

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/ferry-import/ferry/fakeforge"
	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/importer/sourcetest"
)

// tiny keeps every list several pages long at pageSize, in a group tree
// of one project (the scenario's counts are then one project's).
func tiny() scenario.Config {
	c, err := scenario.Preset("small", 11)
	if err != nil {
		panic(err)
	}
	c.Issues, c.PullRequests, c.Users, c.Labels, c.Milestones = 10, 8, 7, 5, 4
	c.CommentsPerItem, c.ReviewCommentsPerPR, c.ReviewsPerPR = 4, 3, 2
	c.ReactionsPerItem, c.ReactionsEvery = 4, 3
	c.Releases, c.ProtectedBranches = 4, 3
	c.Groups = scenario.GroupTree{Depth: 1, Breadth: 0, ProjectsPerGroup: 1}
	return c
}

const pageSize = 3

func startForge(t *testing.T, c scenario.Config) *fakeforge.Forge {
	return sourcetest.StartForge(t, c, scenario.GitLab)
}

func suite(t *testing.T, f *fakeforge.Forge, ref string, o Options, group bool) sourcetest.Config {
	t.Helper()
	opts, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	return sourcetest.Config{Source: New(), Env: func() importer.Env {
		e := importer.Env{SourceURL: f.GitLab.URL, SourceRef: ref, Options: opts, Credential: f.GitLab.Token}
		if group {
			e.NamespaceID = 3
		}
		return e
	}}
}

// counts is what a project run produced, as scenario.Expected names it.
func counts(im *sourcetest.Result) scenario.Counts {
	n := scenario.Counts{}
	for _, k := range []string{forge.KindLabel, forge.KindMilestone, forge.KindIssue, forge.KindRelease, forge.KindMember, forge.KindApproval,
		forge.KindAwardEmoji, forge.KindResourceEvent} {
		if c := len(im.Kind(k)); c > 0 {
			n[map[string]string{forge.KindLabel: "labels", forge.KindMilestone: "milestones", forge.KindIssue: "issues",
				forge.KindRelease: "releases", forge.KindMember: "members", forge.KindApproval: "approvals",
				forge.KindAwardEmoji: "award_emoji", forge.KindResourceEvent: "resource_events"}[k]] = c
		}
	}
	iids := map[int64]bool{}
	for _, mr := range sourcetest.Of[forge.MergeRequest](im, forge.KindMergeRequest) {
		iids[mr.IID] = true
	}
	n["merge_requests"] = len(iids)
	for _, note := range sourcetest.Of[forge.Note](im, forge.KindNote) {
		if note.System {
			continue
		}
		n["notes"]++
		if note.Position != nil {
			n["diff_notes"]++
		}
	}
	return n
}

// expected is the scenario's counts for one project: no groups or
// projects (the import is of one project), the rest as they are.
func expected(t *testing.T, sc *scenario.Scenario) scenario.Counts {
	t.Helper()
	want, err := sc.Expected(scenario.GitLab)
	if err != nil {
		t.Fatal(err)
	}
	if want["projects"] != 1 {
		t.Fatalf("scenario has %d projects, want 1", want["projects"])
	}
	delete(want, "groups")
	delete(want, "projects")
	return want
}

// uploadRef is a GitLab upload link in a body.
var uploadRef = regexp.MustCompile(`\((/uploads/[0-9a-f]{32}/[^)]+)\)`)

// transports are the two ways an entity's content is read; each passes
// the same suite and lands the same content.
var transports = []string{TransportREST, TransportExport}

// TestConformance runs the suite every source adapter passes against
// fakeforge's GitLab, a project import with memberships, three objects a
// page so that every list pages, through the REST API and through the
// project's export.
func TestConformance(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) { conformance(t, tr) })
	}
}

func conformance(t *testing.T, transport string) {
	f := startForge(t, tiny())
	sc := f.Scenario
	cfg := suite(t, f, "acme/widgets", Options{Entity: KindProject, MigrateMemberships: true, PageSize: pageSize, Transport: transport}, false)
	cfg.Expected, cfg.Count = expected(t, sc), counts
	for _, k := range cfg.Expected.Kinds() {
		if cfg.Expected[k] == 0 {
			t.Errorf("the scenario has no %s: the comparison would prove nothing", k)
		}
	}
	im := sourcetest.Exercise(t, cfg)
	ctx := context.Background()

	repos := sourcetest.Of[forge.Repository](im, forge.KindRepository)
	if len(repos) != 1 || repos[0].DefaultBranch != "main" || repos[0].Visibility != "private" || repos[0].Description == "" {
		t.Errorf("repository: %+v", repos)
	}
	if got := len(im.Kind(forge.KindProtectedBranch)); got != sc.Config().ProtectedBranches {
		t.Errorf("%d protected branches, want %d", got, sc.Config().ProtectedBranches)
	}
	for _, pb := range sourcetest.Of[forge.ProtectedBranch](im, forge.KindProtectedBranch) {
		if pb.PushAccessLevel != 40 || (pb.Name == "main") != (pb.MergeAccessLevel == 30) || pb.AllowForcePush == (pb.Name == "main") {
			t.Errorf("protected branch %+v", pb)
		}
	}
	// Every merge request's head is in the mirror under GitLab's own ref,
	// and its SHAs come from diff_refs.
	for _, mr := range sourcetest.Of[forge.MergeRequest](im, forge.KindMergeRequest) {
		ref := fmt.Sprintf("refs/merge-requests/%d/head", mr.IID)
		c, err := im.Git.Commit(ctx, 7, ref)
		if err != nil || c.ID != mr.SourceSHA {
			t.Errorf("%s: %+v, %v; want %s", ref, c.ID, err, mr.SourceSHA)
		}
		if mr.BaseSHA == "" || mr.TargetSHA == "" || mr.Author.ID == "" {
			t.Errorf("merge request %d: base %q target %q author %+v", mr.IID, mr.BaseSHA, mr.TargetSHA, mr.Author)
		}
		if mr.State == forge.StateMerged && (mr.MergedBy == nil || mr.MergedAt == nil || mr.MergeCommitSHA == "") {
			t.Errorf("merged merge request %d: %+v", mr.IID, mr)
		}
	}
	threads := map[string]int{}
	for _, n := range sourcetest.Of[forge.Note](im, forge.KindNote) {
		if p := n.Position; p != nil {
			if p.HeadSHA == "" || p.BaseSHA == "" || p.NewPath == "" || p.NewLine == 0 || n.On.Type != forge.OnMergeRequest || n.DiscussionID == "" {
				t.Errorf("diff note %s: %+v on %+v in %q", n.ID, p, n.On, n.DiscussionID)
			}
			threads[n.DiscussionID]++
		}
	}
	replies := 0
	for _, c := range threads {
		replies += c - 1
	}
	if want := sc.Config().PullRequests * (sc.Config().ReviewCommentsPerPR / 2); replies != want {
		t.Errorf("%d diff note replies in threads, want %d", replies, want)
	}
	checkResourceEvents(t, sc, sourcetest.Of[forge.ResourceEvent](im, forge.KindResourceEvent))
	for _, is := range sourcetest.Of[forge.Issue](im, forge.KindIssue) {
		if is.State == forge.StateClosed && (is.ClosedAt == nil || is.ClosedBy == nil) {
			t.Errorf("closed issue %d: %+v", is.IID, is)
		}
	}
	for _, rel := range sourcetest.Of[forge.Release](im, forge.KindRelease) {
		if len(rel.Links) != sc.Config().AssetsPerRelease || rel.CommitSHA == "" {
			t.Errorf("release %s: %d links, commit %q", rel.TagName, len(rel.Links), rel.CommitSHA)
		}
	}
	// Every upload a body links is downloaded once, as a forge.Upload keyed
	// by the link as the body has it (what relinking matches).
	linked := map[string]bool{}
	bodies := []string{}
	for _, is := range sourcetest.Of[forge.Issue](im, forge.KindIssue) {
		bodies = append(bodies, is.Description)
	}
	for _, mr := range sourcetest.Of[forge.MergeRequest](im, forge.KindMergeRequest) {
		bodies = append(bodies, mr.Description)
	}
	for _, n := range sourcetest.Of[forge.Note](im, forge.KindNote) {
		bodies = append(bodies, n.Body)
	}
	for _, r := range sourcetest.Of[forge.Release](im, forge.KindRelease) {
		bodies = append(bodies, r.Description)
	}
	for _, m := range sourcetest.Of[forge.Milestone](im, forge.KindMilestone) {
		bodies = append(bodies, m.Description)
	}
	for _, b := range bodies {
		for _, m := range uploadRef.FindAllStringSubmatch(b, -1) {
			linked[m[1]] = true
		}
	}
	ups := sourcetest.Of[forge.Upload](im, forge.KindUpload)
	got := map[string]bool{}
	for _, u := range ups {
		got[u.URL] = true
		if u.Size == 0 || u.SHA256 == "" || u.ContentType != "image/png" {
			t.Errorf("upload %+v", u)
		}
	}
	if len(linked) == 0 || len(ups) != len(linked) || len(got) != len(linked) {
		t.Errorf("%d uploads (%d distinct) for %d distinct upload links in bodies", len(ups), len(got), len(linked))
	}
	for l := range linked {
		if !got[l] {
			t.Errorf("upload %s linked, not downloaded", l)
		}
	}
	if im.Items[relLFSObjects] != sc.Config().LFSObjects {
		t.Errorf("%d LFS objects, want %d", im.Items[relLFSObjects], sc.Config().LFSObjects)
	}
	// No token in any URL: it goes in the PRIVATE-TOKEN header.
	for u := range im.Calls {
		if strings.Contains(u, f.GitLab.Token) {
			t.Errorf("token in URL %s", u)
		}
	}
}

// TestConformanceGroup imports a group: its labels, milestones, badges
// and members, none failed; through REST and through the group's export.
func TestConformanceGroup(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) { conformanceGroup(t, tr) })
	}
}

func conformanceGroup(t *testing.T, transport string) {
	f := startForge(t, tiny())
	sc := f.Scenario
	cfg := suite(t, f, "acme", Options{Entity: KindGroup, MigrateMemberships: true, PageSize: pageSize, Transport: transport}, true)
	cfg.Count = func(im *sourcetest.Result) scenario.Counts {
		n := scenario.Counts{}
		for k, objs := range im.Objects {
			if k != forge.KindSourceUser { // who is who (user_contributions), not the group's content
				n[k] = len(objs)
			}
		}
		return n
	}
	cfg.Expected = scenario.Counts{forge.KindLabel: sc.Config().Labels, forge.KindMilestone: sc.Config().Milestones,
		forge.KindBadge: 1, forge.KindMember: sc.Config().Users}
	im := sourcetest.Exercise(t, cfg)
	if n := len(im.Failures[relBadges]) + len(im.Failures[relMembers]); n != 0 {
		t.Errorf("%d failed badges and members", n)
	}
	for _, b := range sourcetest.Of[forge.Badge](im, forge.KindBadge) {
		if b.Name != "pipeline" || !strings.HasSuffix(b.ImageURL, "/badges/main/pipeline.svg") || !strings.HasPrefix(b.LinkURL, "http") || b.ID == "" {
			t.Errorf("badge %+v", b)
		}
	}
	for _, m := range sourcetest.Of[forge.Member](im, forge.KindMember) {
		if m.AccessLevel == 0 || m.User.ID == "" || m.ID == "" {
			t.Errorf("member %+v", m)
		}
	}
	for _, m := range sourcetest.Of[forge.Milestone](im, forge.KindMilestone) {
		if m.IID == 0 || m.DueDate == nil || !strings.HasPrefix(m.Title, "Group ") {
			t.Errorf("group milestone %+v", m)
		}
	}
}

// checkResourceEvents compares the resource events read with the
// scenario's issue events: the export nests them in every item, the REST
// path lists them per item.
func checkResourceEvents(t *testing.T, sc *scenario.Scenario, got []forge.ResourceEvent) {
	t.Helper()
	want := map[string]int{}
	for e := 1; e <= sc.EventCount(); e++ {
		if k := sc.GitLabEventKind(sc.Event(e)); k != "" {
			want[k]++ // the scenario's kinds are forge's event types
		}
	}
	if want[forge.EventLabel] == 0 || want[forge.EventState] == 0 || want[forge.EventMilestone] == 0 {
		t.Errorf("the scenario lacks label, milestone or state events: the comparison would prove little")
	}
	have := map[string]int{}
	for _, e := range got {
		have[e.Event]++
		if e.Author.ID == "" || e.CreatedAt.IsZero() || e.On.IID == 0 || (e.Event == forge.EventLabel && e.Label == "") ||
			(e.Event == forge.EventMilestone && e.MilestoneIID == 0) {
			t.Errorf("resource event %+v", e)
		}
	}
	if fmt.Sprint(have) != fmt.Sprint(want) {
		t.Errorf("resource events by type %v, want %v", have, want)
	}
}
