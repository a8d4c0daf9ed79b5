package github

import (
	"net/url"
	"testing"
	"time"

	gh "github.com/google/go-github/v92/github"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/importer"
)

func testRun() *run {
	base, _ := url.Parse("https://api.github.com/")
	return &run{base: base, host: "github.com", env: &importer.Env{}}
}

func TestSourceBranch(t *testing.T) {
	repo := func(id int64) *gh.Repository { return &gh.Repository{ID: gh.Ptr(id)} }
	for _, tt := range []struct {
		name string
		head *gh.PullRequestBranch
		want string
	}{
		{"same repository", &gh.PullRequestBranch{Ref: gh.Ptr("feature"), Repo: repo(1), User: &gh.User{Login: gh.Ptr("acme")}}, "feature"},
		{"fork", &gh.PullRequestBranch{Ref: gh.Ptr("feature"), Repo: repo(2), User: &gh.User{Login: gh.Ptr("octo")}}, "github/fork/octo/feature"},
		{"deleted fork", &gh.PullRequestBranch{Ref: gh.Ptr("feature"), User: &gh.User{Login: gh.Ptr("octo")}}, "github/fork/octo/feature"},
		{"head is the target", &gh.PullRequestBranch{Ref: gh.Ptr("main"), Repo: repo(1), User: &gh.User{Login: gh.Ptr("acme")}}, "main-7"},
	} {
		p := &gh.PullRequest{Number: gh.Ptr(7), Head: tt.head, Base: &gh.PullRequestBranch{Ref: gh.Ptr("main"), Repo: repo(1)}}
		if got := sourceBranch(p); got != tt.want {
			t.Errorf("%s: sourceBranch = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestAccessLevel(t *testing.T) {
	perms := func(admin, maintain, push, triage, pull bool) *gh.RepositoryPermissions {
		return &gh.RepositoryPermissions{Admin: &admin, Maintain: &maintain, Push: &push, Triage: &triage, Pull: &pull}
	}
	for _, tt := range []struct {
		role  string
		perms *gh.RepositoryPermissions
		want  ferry.AccessLevel // GitLab's numbers, as mapping.md §1.14 gives them
		ok    bool
	}{
		{"read", nil, 10, true}, {"triage", nil, 20, true}, {"write", nil, 30, true},
		{"maintain", nil, 40, true}, {"admin", nil, 50, true},
		{"security-reviewer", perms(false, false, true, true, true), 30, true}, // custom role on write
		{"auditor", perms(false, false, false, false, true), 10, true},
		{"", perms(true, true, true, true, true), 50, true},
		{"mystery", nil, 0, false},
	} {
		got, ok := accessLevel(&gh.User{RoleName: gh.Ptr(tt.role), Permissions: tt.perms})
		if got != tt.want || ok != tt.ok {
			t.Errorf("accessLevel(%q, %+v) = %d, %v; want %d, %v", tt.role, tt.perms, got, ok, tt.want, tt.ok)
		}
	}
}

func TestEventNote(t *testing.T) {
	octo := &gh.User{Login: gh.Ptr("octo"), ID: gh.Ptr(int64(5))}
	issue := &gh.Issue{Number: gh.Ptr(3)}
	pull := &gh.Issue{Number: gh.Ptr(4), PullRequestLinks: &gh.PullRequestLinks{URL: gh.Ptr("x")}}
	for _, tt := range []struct {
		e    gh.IssueEvent
		on   forge.Noteable
		body string // "" = not imported
	}{
		{gh.IssueEvent{Event: gh.Ptr("closed"), Issue: issue}, forge.Noteable{Type: forge.OnIssue, IID: 3}, "closed"},
		{gh.IssueEvent{Event: gh.Ptr("closed"), CommitID: gh.Ptr("abc"), Issue: issue}, forge.Noteable{Type: forge.OnIssue, IID: 3}, "closed with commit abc"},
		{gh.IssueEvent{Event: gh.Ptr("reopened"), Issue: pull}, forge.Noteable{Type: forge.OnMergeRequest, IID: 4}, "reopened"},
		{gh.IssueEvent{Event: gh.Ptr("merged"), CommitID: gh.Ptr("abc"), Issue: pull}, forge.Noteable{Type: forge.OnMergeRequest, IID: 4}, "merged manually"},
		{gh.IssueEvent{Event: gh.Ptr("merged"), Issue: pull}, forge.Noteable{Type: forge.OnMergeRequest, IID: 4}, "merged"},
		{gh.IssueEvent{Event: gh.Ptr("labeled"), Label: &gh.Label{Name: "bug"}, Issue: issue}, forge.Noteable{Type: forge.OnIssue, IID: 3}, "added ~bug label"},
		{gh.IssueEvent{Event: gh.Ptr("unlabeled"), Label: &gh.Label{Name: "good first issue"}, Issue: issue}, forge.Noteable{Type: forge.OnIssue, IID: 3}, `removed ~"good first issue" label`},
		{gh.IssueEvent{Event: gh.Ptr("assigned"), Assignee: octo, Issue: issue}, forge.Noteable{Type: forge.OnIssue, IID: 3}, "assigned to @octo"},
		{gh.IssueEvent{Event: gh.Ptr("unassigned"), Assignee: octo, Issue: issue}, forge.Noteable{Type: forge.OnIssue, IID: 3}, "unassigned @octo"},
		{gh.IssueEvent{Event: gh.Ptr("renamed"), Rename: &gh.Rename{From: gh.Ptr("a"), To: gh.Ptr("b")}, Issue: issue}, forge.Noteable{Type: forge.OnIssue, IID: 3}, "changed title from **a** to **b**"},
		{gh.IssueEvent{Event: gh.Ptr("milestoned"), Milestone: &gh.Milestone{Title: gh.Ptr("v1.0")}, Issue: issue}, forge.Noteable{Type: forge.OnIssue, IID: 3}, `changed milestone to %"v1.0"`},
		{gh.IssueEvent{Event: gh.Ptr("demilestoned"), Milestone: &gh.Milestone{Title: gh.Ptr("Q3")}, Issue: issue}, forge.Noteable{Type: forge.OnIssue, IID: 3}, "removed milestone %Q3"},
		{gh.IssueEvent{Event: gh.Ptr("referenced"), CommitID: gh.Ptr("abc"), Issue: issue}, forge.Noteable{Type: forge.OnIssue, IID: 3}, "mentioned in commit abc"},
		{gh.IssueEvent{Event: gh.Ptr("referenced"), Issue: issue}, forge.Noteable{}, ""},
		{gh.IssueEvent{Event: gh.Ptr("review_requested"), RequestedReviewer: octo, Issue: pull}, forge.Noteable{Type: forge.OnMergeRequest, IID: 4}, "requested review from @octo"},
		{gh.IssueEvent{Event: gh.Ptr("review_request_removed"), RequestedReviewer: octo, Issue: pull}, forge.Noteable{Type: forge.OnMergeRequest, IID: 4}, "removed review request for @octo"},
		{gh.IssueEvent{Event: gh.Ptr("locked"), Issue: pull}, forge.Noteable{Type: forge.OnMergeRequest, IID: 4}, "locked the discussion in this merge request"},
		{gh.IssueEvent{Event: gh.Ptr("subscribed"), Issue: issue}, forge.Noteable{}, ""},
		{gh.IssueEvent{Event: gh.Ptr("closed")}, forge.Noteable{}, ""},
	} {
		b := testRun().builder()
		e := tt.e
		e.ID, e.Actor = gh.Ptr(int64(99)), octo
		n, ok := b.eventNote(&e)
		if ok != (tt.body != "") || (ok && (n.Body != tt.body || n.On != tt.on || !n.System || n.ID != "event/99" || n.Author.Login != "octo")) {
			t.Errorf("%s: eventNote = %+v, %v; want %q on %+v", e.GetEvent(), n, ok, tt.body, tt.on)
		}
	}
}

func TestResourceEvent(t *testing.T) {
	octo := &gh.User{Login: gh.Ptr("octo"), ID: gh.Ptr(int64(5))}
	issue := &gh.Issue{Number: gh.Ptr(3)}
	pull := &gh.Issue{Number: gh.Ptr(4), PullRequestLinks: &gh.PullRequestLinks{URL: gh.Ptr("x")}}
	onIssue, onPull := forge.Noteable{Type: forge.OnIssue, IID: 3}, forge.Noteable{Type: forge.OnMergeRequest, IID: 4}
	for _, tt := range []struct {
		e    gh.IssueEvent
		want *forge.ResourceEvent // nil = none
	}{
		{gh.IssueEvent{Event: gh.Ptr("labeled"), Label: &gh.Label{Name: "bug", Color: "d73a4a"}, Issue: issue},
			&forge.ResourceEvent{On: onIssue, Event: forge.EventLabel, Action: forge.ActionAdd, Label: "bug", LabelColor: "#d73a4a"}},
		{gh.IssueEvent{Event: gh.Ptr("unlabeled"), Label: &gh.Label{Name: "bug"}, Issue: pull},
			&forge.ResourceEvent{On: onPull, Event: forge.EventLabel, Action: forge.ActionRemove, Label: "bug"}},
		{gh.IssueEvent{Event: gh.Ptr("milestoned"), Milestone: &gh.Milestone{Title: gh.Ptr("v1.0")}, Issue: issue},
			&forge.ResourceEvent{On: onIssue, Event: forge.EventMilestone, Action: forge.ActionAdd, MilestoneTitle: "v1.0"}},
		{gh.IssueEvent{Event: gh.Ptr("demilestoned"), Milestone: &gh.Milestone{Title: gh.Ptr("Q3")}, Issue: pull},
			&forge.ResourceEvent{On: onPull, Event: forge.EventMilestone, Action: forge.ActionRemove, MilestoneTitle: "Q3"}},
		{gh.IssueEvent{Event: gh.Ptr("closed"), Issue: issue}, &forge.ResourceEvent{On: onIssue, Event: forge.EventState, State: "closed"}},
		{gh.IssueEvent{Event: gh.Ptr("reopened"), Issue: pull}, &forge.ResourceEvent{On: onPull, Event: forge.EventState, State: "reopened"}},
		{gh.IssueEvent{Event: gh.Ptr("merged"), Issue: pull}, &forge.ResourceEvent{On: onPull, Event: forge.EventState, State: "merged"}},
		{gh.IssueEvent{Event: gh.Ptr("merged"), Issue: issue}, nil}, // only pull requests merge
		{gh.IssueEvent{Event: gh.Ptr("labeled"), Issue: issue}, nil},
		{gh.IssueEvent{Event: gh.Ptr("milestoned"), Issue: issue}, nil},
		{gh.IssueEvent{Event: gh.Ptr("assigned"), Assignee: octo, Issue: issue}, nil}, // a system note only
		{gh.IssueEvent{Event: gh.Ptr("locked"), Issue: pull}, nil},
		{gh.IssueEvent{Event: gh.Ptr("closed")}, nil},
	} {
		b := testRun().builder()
		e := tt.e
		e.ID, e.Actor, e.CreatedAt = gh.Ptr(int64(99)), octo, &gh.Timestamp{Time: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}
		got, ok := b.resourceEvent(&e)
		if ok != (tt.want != nil) {
			t.Errorf("%s: resourceEvent = %+v, %v", e.GetEvent(), got, ok)
			continue
		}
		if !ok {
			continue
		}
		want := *tt.want
		want.SourceID, want.Author, want.CreatedAt = got.SourceID, got.Author, got.CreatedAt
		if got != want || got.ID != "resource_event/99" || got.Author.Login != "octo" || !got.CreatedAt.Equal(e.CreatedAt.Time) {
			t.Errorf("%s: resourceEvent = %+v, want %+v", e.GetEvent(), got, want)
		}
	}
}

func TestReviewStates(t *testing.T) {
	for state, want := range map[string]string{"APPROVED": forge.ReviewApproved, "CHANGES_REQUESTED": forge.ReviewChangesRequested,
		"COMMENTED": forge.ReviewCommented, "DISMISSED": forge.ReviewCommented, "PENDING": ""} {
		rv, ok := testRun().builder().review(&gh.PullRequestReview{ID: gh.Ptr(int64(1)), State: gh.Ptr(state)}, 4)
		if ok != (want != "") || rv.State != want {
			t.Errorf("review %s → %q, %v; want %q", state, rv.State, ok, want)
		}
	}
}

// TestUserFollowups queues each person once per page, never organisations
// or the missing (deleted) user.
func TestUserFollowups(t *testing.T) {
	b := testRun().builder()
	octo := &gh.User{Login: gh.Ptr("octo"), ID: gh.Ptr(int64(5)), Type: gh.Ptr("User")}
	b.user(octo)
	b.user(octo)
	b.user(&gh.User{Login: gh.Ptr("acme"), Type: gh.Ptr("Organization")})
	if g := b.user(nil); g.Login != "ghost" {
		t.Errorf("nil user = %+v", g)
	}
	b.optUser(nil)
	if objs := b.Objects(); len(objs) != 1 || objs[0] != (importer.Followup{Relation: relUsers, Key: "octo"}) {
		t.Errorf("followups %+v", objs)
	}
}

func TestKeys(t *testing.T) {
	on, rest, err := parseNoteableKey("MergeRequest/12/review_comment/77")
	if err != nil || on != (forge.Noteable{Type: forge.OnMergeRequest, IID: 12}) || rest != "review_comment/77" {
		t.Errorf("parseNoteableKey = %+v %q %v", on, rest, err)
	}
	for _, bad := range []string{"", "Issue", "Issue/x", "Epic/1", "Issue/0", "Issue/-3"} {
		if _, _, err := parseNoteableKey(bad); err == nil {
			t.Errorf("parseNoteableKey(%q) accepted", bad)
		}
	}
	for key, want := range map[string]struct {
		n      int
		merged bool
	}{"12": {12, false}, "13:merged": {13, true}} {
		n, merged, err := parseDetailsKey(key)
		if err != nil || n != want.n || merged != want.merged || detailsKey(n, merged) != key {
			t.Errorf("parseDetailsKey(%q) = %d %v %v", key, n, merged, err)
		}
	}
	for key, want := range map[string]struct {
		n       int
		merged  bool
		updated int64
	}{"12@1700000000": {12, false, 1700000000}, "13:merged@1700000001": {13, true, 1700000001}, "14": {14, false, 0}} {
		n, merged, err := parseDetailsKey(key)
		u := detailsUpdated(key)
		if err != nil || n != want.n || merged != want.merged || (want.updated == 0) != u.IsZero() || (want.updated != 0 && u.Unix() != want.updated) ||
			withUpdated(detailsKey(n, merged), u) != key {
			t.Errorf("parseDetailsKey(%q) = %d %v %v, updated %v", key, n, merged, err, u)
		}
	}
	if u := testRun().itemURL(relPullRequestDetails, "13:merged@1700000001"); u != "https://api.github.com/#pull_request_details/13:merged" {
		t.Errorf("item URL %q", u)
	}
	for _, bad := range []string{"", "x", "0", "12:open", "12:merged:x", "12@x", "12@"} {
		if _, _, err := parseDetailsKey(bad); err == nil {
			t.Errorf("parseDetailsKey(%q) accepted", bad)
		}
	}
}
