package scenario

import (
	"fmt"
	"maps"
	"slices"
)

// Source names, as ferry's import API spells them.
const (
	GitHub          = "github"
	BitbucketServer = "bitbucket_server"
	GitLab          = "gitlab"
)

// Counts maps an object kind ("issues", "review_comments", …) to how many
// of them a complete import of one source finds.
type Counts map[string]int

// Total sums every kind.
func (c Counts) Total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// Kinds returns the kinds in a stable order.
func (c Counts) Kinds() []string { return slices.Sorted(maps.Keys(c)) }

// Diff lists the kinds whose counts differ from want, "" when they agree.
func (c Counts) Diff(want Counts) string {
	var out string
	for _, k := range slices.Sorted(maps.Keys(maps.Collect(func(yield func(string, int) bool) {
		for k, v := range c {
			yield(k, v)
		}
		for k, v := range want {
			yield(k, v)
		}
	}))) {
		if c[k] != want[k] {
			out += fmt.Sprintf("%s: got %d, want %d; ", k, c[k], want[k])
		}
	}
	return out
}

// Expected returns what a complete import from source finds.
//
// For BitbucketServer the kinds are what an import lands, so an importer's
// tests can compare their counts exactly:
//
//   - merge_requests; merge_requests_opened, _merged and _closed (GitLab's
//     states, BBSMergeRequestState) and merge_requests_draft;
//   - notes: every comment of a thread without an anchor, replies included
//     (GitLab flattens nested replies into notes), and note_replies of them;
//   - diff_notes: every comment of an anchored thread (replies share the
//     thread's position), diff_note_replies of them, and per anchor
//     DiffNoteKind(lineType, fileType): diff_notes_added_to,
//     diff_notes_removed_from, diff_notes_context_from, diff_notes_context_to;
//   - edited_notes (version > 0), tasks (severity BLOCKER) and
//     tasks_resolved, counted among the notes and diff notes above;
//   - one system note per activity by its BBSSystemNotes kind
//     (system_notes_approved, _unapproved, _requested_changes, _closed,
//     _reopened, _merged, _added_commits), whose Text is GitLab's wording
//     and GitLab says whether GitLab's own importer writes it;
//   - approvals (reviewers whose final status is APPROVED: an approval
//     withdrawn by an UNAPPROVED is none) and reviewers;
//   - users (the project's user permissions) and placeholder_users (the
//     distinct people a complete import attributes something to: pull
//     request authors, reviewers, comment authors and activity users).
func (s *Scenario) Expected(source string) (Counts, error) {
	c := s.cfg
	switch source {
	case GitHub:
		return Counts{
			"labels": c.Labels, "milestones": c.Milestones, "releases": c.Releases,
			"release_assets": c.Releases * c.AssetsPerRelease, "issues": c.Issues,
			"pull_requests": c.PullRequests, "issue_comments": s.CommentCount(),
			"review_comments": s.ReviewCommentCount(), "reviews": c.PullRequests * c.ReviewsPerPR,
			"requested_reviewers": s.requestedReviewerCount(), "issue_events": s.EventCount(),
			"reactions": s.ReactedItems() * c.ReactionsPerItem, "collaborators": c.Users,
			"branches": s.BranchCount(), "protected_branches": c.ProtectedBranches, "users": c.Users,
		}, nil
	case BitbucketServer:
		return s.bbsExpected(), nil
	case GitLab:
		np := len(s.Projects())
		return Counts{"groups": len(s.groups), "projects": np,
			"labels": np * c.Labels, "milestones": np * c.Milestones, "issues": np * c.Issues,
			"merge_requests": np * c.PullRequests, "releases": np * c.Releases,
			"notes":      np * (s.CommentCount() + s.ReviewCommentCount()),
			"diff_notes": np * s.ReviewCommentCount(), "approvals": np * s.approvalCount(),
			"members": np * c.Users, "award_emoji": np * s.ReactedItems() * c.ReactionsPerItem,
			"resource_events": np * s.gitLabEventCount(),
		}, nil
	}
	return nil, fmt.Errorf("unknown source %q", source)
}

func (s *Scenario) requestedReviewerCount() int {
	n := 0
	for j := 1; j <= s.cfg.PullRequests; j++ {
		n += len(s.RequestedReviewers(j))
	}
	return n
}

func (s *Scenario) approvalCount() int {
	n := 0
	for r := 1; r <= s.cfg.PullRequests*s.cfg.ReviewsPerPR; r++ {
		if s.Review(r).State == "APPROVED" {
			n++
		}
	}
	return n
}

// pages is how many list calls it takes to read n objects, perPage at a
// time; an empty list still costs one call.
func pages(n, perPage int) int { return max(1, (n+perPage-1)/perPage) }

// LowerBoundCalls is the fewest API calls that import everything Expected
// counts from source, reading perPage objects per list call: the widest list
// endpoints plus the per-item calls that no list endpoint avoids.
//
// GitHub: repository, labels, milestones, releases, issues (which include
// pull requests), pulls, repo-wide issue comments, repo-wide review comments,
// repo-wide issue events, collaborators, branches; then per protected branch
// its protection, per pull request its reviews and requested reviewers, per
// item that has reactions (the issue list carries reactions.total_count) its
// reactions, and per user users/:login (for the e-mail).
//
// Bitbucket Server: repository, pull requests (state=ALL), project user
// permissions; then per pull request its activities, at most
// BBSPageMaxActivities a page.
//
// GitLab: version, token self-check, top-level group, descendant groups,
// projects with include_subgroups; per project: project, labels, milestones,
// issues, merge requests, releases, members; per issue and merge request
// its discussions, its award emoji (GitLab's REST entities count only
// thumbs up and down, so no list shows which items carry any) and its
// three resource event lists (label, milestone, state: no project-wide
// list exists), and per merge request its approvals.
func (s *Scenario) LowerBoundCalls(source string, perPage int) (int, error) {
	if perPage < 1 {
		return 0, fmt.Errorf("perPage must be positive, got %d", perPage)
	}
	c := s.cfg
	p := func(n int) int { return pages(n, perPage) }
	switch source {
	case GitHub:
		n := 1 + p(c.Labels) + p(c.Milestones) + p(c.Releases) + p(s.Items()) + p(c.PullRequests) +
			p(s.CommentCount()) + p(s.ReviewCommentCount()) + p(s.EventCount()) + p(c.Users) + p(s.BranchCount())
		n += c.ProtectedBranches
		// Reviews are the one per-PR list; requested reviewers come with the
		// pulls list and merged_by with the repo-wide issue events.
		n += c.PullRequests * p(c.ReviewsPerPR)
		n += s.ReactedItems() * p(c.ReactionsPerItem)
		n += c.Users
		return n, nil
	case BitbucketServer:
		// Bitbucket caps every page at its page.max.* setting.
		list := func(n, most int) int { return pages(n, min(perPage, most)) }
		n := 1 + list(c.PullRequests, BBSPageMax) + list(c.Users, BBSPageMax)
		for j := 1; j <= c.PullRequests; j++ {
			n += list(len(s.BBSActivities(j)), BBSPageMaxActivities)
		}
		return n, nil
	case GitLab:
		projects := len(s.Projects())
		n := 3 + p(len(s.groups)-1) + p(projects)
		per := 1 + p(c.Labels) + p(c.Milestones) + p(c.Issues) + p(c.PullRequests) + p(c.Releases) + p(c.Users)
		per += c.Issues * p(c.CommentsPerItem)
		per += c.PullRequests * (p(s.MRDiscussionCount()) + 1)
		per += s.ReactedItems()*p(c.ReactionsPerItem) + s.Items() - s.ReactedItems()
		per += 3 * s.Items() * p(c.EventsPerItem) // each list holds at most EventsPerItem
		return n + projects*per, nil
	}
	return 0, fmt.Errorf("unknown source %q", source)
}

// MRDiscussionCount is the number of discussions on every merge request:
// each conversation comment is its own discussion, and review comments form
// threads of two.
func (s *Scenario) MRDiscussionCount() int {
	return s.cfg.CommentsPerItem + (s.cfg.ReviewCommentsPerPR+1)/2
}

// GitLab resource event kinds (GitLabEventKind).
const (
	GitLabLabelEvent     = "label"
	GitLabMilestoneEvent = "milestone"
	GitLabStateEvent     = "state"
)

// GitLabEventKind is what issue event e is among GitLab's resource events:
// labeled and unlabeled are label events, milestoned a milestone event
// (when the scenario has milestones), closed and merged state events; ""
// for the events GitLab keeps none of.
func (s *Scenario) GitLabEventKind(e Event) string {
	switch e.Event {
	case "labeled", "unlabeled":
		return GitLabLabelEvent
	case "milestoned":
		if s.cfg.Milestones > 0 {
			return GitLabMilestoneEvent
		}
	case "closed", "merged":
		return GitLabStateEvent
	}
	return ""
}

// gitLabEventCount is how many resource events one GitLab project holds.
func (s *Scenario) gitLabEventCount() int {
	n := 0
	for e := 1; e <= s.EventCount(); e++ {
		if s.GitLabEventKind(s.Event(e)) != "" {
			n++
		}
	}
	return n
}

// SourceCounts is what the repository holds as the source tells it, for a
// call model (source/github's Counts name the same kinds): Expected's
// counts, and the subjects that carry reactions (reacted_items: the lists
// carry reactions.total_count, so only these cost calls; reacted_comments:
// none in a scenario).
func (s *Scenario) SourceCounts(source string) (Counts, error) {
	c, err := s.Expected(source)
	if err != nil {
		return nil, err
	}
	if source == GitHub {
		c["reacted_items"] = s.ReactedItems()
		c["reacted_comments"] = 0
		c["lfs_objects"] = s.cfg.LFSObjects
		// What the model does not take: kinds that come inside other lists.
		for _, k := range []string{"release_assets", "requested_reviewers", "branches"} {
			delete(c, k)
		}
	}
	return c, nil
}
