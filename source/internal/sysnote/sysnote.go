// Package sysnote words system notes as GitLab writes them, so every
// source adapter that turns a source's events into notes says the same
// thing GitLab would: state changes as GitLab renders its resource state
// events (StateNote), approvals and reviews as SystemNotes::
// MergeRequestsService, commits as SystemNotes::CommitService#add_commits,
// labels and milestones as its LabelNote and MilestoneNote, assignees,
// reviewers, titles, cross-references and locks as SystemNotes::
// IssuablesService.
//
// GitLab refers to labels and milestones by id; imported notes refer by
// name (~bug, ~"good first issue", %v1), which GitLab's Markdown resolves
// alike. Where GitLab has no note for an event, the function says so.
//
// It knows GitLab's wording and the forge model's noteable types; it must
// not know any source forge's API or events.
package sysnote

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/ferry-import/ferry/forge"
)

// Closed: "closed", or "closed with commit <sha>" when a commit closed it.
func Closed(sha string) string {
	if sha != "" {
		return "closed with commit " + sha
	}
	return "closed"
}

// Reopened is GitLab's "reopened".
func Reopened() string { return "reopened" }

// Merged: "merged", or, when the source names the commit that merged it,
// "merged manually", as GitLab (17.0 on) renders a merge whose source is a
// commit rather than its own merge.
func Merged(sha string) string {
	if sha != "" {
		return "merged manually"
	}
	return "merged"
}

// Approved is SystemNotes::MergeRequestsService#approve_mr.
func Approved() string { return "approved this merge request" }

// Unapproved is SystemNotes::MergeRequestsService#unapprove_mr.
func Unapproved() string { return "unapproved this merge request" }

// RequestedChanges is the note of a review that requests changes
// (SystemNotes::MergeRequestsService#requested_changes, GitLab 17.0).
func RequestedChanges() string { return "requested changes" }

// Commit is one commit listed in a commits note.
type Commit struct{ SHA, Message string }

// AddedCommits is SystemNotes::CommitService#add_commits: "added N
// commit(s)" and a list of short SHA and title. GitLab's link to compare
// with the previous version is left out (there is no version to compare
// with); total counts commits the list may not show.
func AddedCommits(total int, listed []Commit) string { return commits("added", total, listed) }

// RemovedCommits words commits taken out of a merge request (Bitbucket's
// rescope) like AddedCommits; GitLab itself writes no such note.
func RemovedCommits(total int, listed []Commit) string { return commits("removed", total, listed) }

func commits(verb string, total int, listed []Commit) string {
	total = max(total, len(listed))
	s := fmt.Sprintf("%s %d commit", verb, total)
	if total != 1 {
		s += "s"
	}
	if len(listed) == 0 {
		return s
	}
	var b strings.Builder
	for _, c := range listed {
		b.WriteString("<li>" + escape(ShortSHA(c.SHA)+" - "+CommitTitle(c.Message)) + "</li>")
	}
	return s + "\n\n<ul>" + b.String() + "</ul>"
}

// ShortSHA is GitLab's Commit#short_id: the first 8 characters.
func ShortSHA(sha string) string {
	if len(sha) > 8 {
		return sha[:8]
	}
	return sha
}

// CommitTitle is GitLab's Commit#title: the message's first line, cut
// after 78 characters at a space with "..." when it has 100 or more, "No
// commit message" when it is blank.
func CommitTitle(message string) string {
	if strings.TrimSpace(message) == "" {
		return "No commit message"
	}
	title, _, _ := strings.Cut(strings.ReplaceAll(message, "\r", "\n"), "\n")
	if utf8.RuneCountInString(title) < 100 {
		return title
	}
	r := []rune(title)[:79] // room for the omission, and the space that may end it
	stop := 78
	if i := strings.LastIndex(string(r), " "); i >= 0 {
		stop = utf8.RuneCountInString(string(r)[:i])
	}
	return string([]rune(title)[:stop]) + "..."
}

// escape is Rails' html_escape, which content_tag applies.
var escape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;").Replace

// AddedLabel and RemovedLabel are GitLab's LabelNote for one label.
func AddedLabel(name string) string   { return "added " + LabelRef(name) + " label" }
func RemovedLabel(name string) string { return "removed " + LabelRef(name) + " label" }

// ChangedMilestone and RemovedMilestone are GitLab's MilestoneNote.
func ChangedMilestone(title string) string { return "changed milestone to " + MilestoneRef(title) }
func RemovedMilestone(title string) string { return "removed milestone " + MilestoneRef(title) }

// Assigned and Unassigned are SystemNotes::IssuablesService#
// change_issuable_assignees for one user.
func Assigned(login string) string   { return "assigned to @" + login }
func Unassigned(login string) string { return "unassigned @" + login }

// RequestedReview and RemovedReviewRequest are
// SystemNotes::IssuablesService#change_issuable_reviewers for one user.
func RequestedReview(login string) string      { return "requested review from @" + login }
func RemovedReviewRequest(login string) string { return "removed review request for @" + login }

// ChangedTitle is SystemNotes::IssuablesService#change_title, without the
// inline-diff marks GitLab adds around the changed words.
func ChangedTitle(from, to string) string {
	return fmt.Sprintf("changed title from **%s** to **%s**", from, to)
}

// MentionedInCommit is SystemNotes::IssuablesService#cross_reference for a
// commit.
func MentionedInCommit(sha string) string { return "mentioned in commit " + sha }

// Locked and Unlocked are SystemNotes::IssuablesService#discussion_lock on
// an issue or merge request (forge.OnIssue, forge.OnMergeRequest).
func Locked(on string) string   { return "locked the discussion in this " + noun(on) }
func Unlocked(on string) string { return "unlocked the discussion in this " + noun(on) }

func noun(on string) string {
	if on == forge.OnMergeRequest {
		return "merge request"
	}
	return "issue"
}

var plainRef = regexp.MustCompile(`^[A-Za-z0-9_\-]+$`)

// LabelRef and MilestoneRef refer to a label (~) or milestone (%) by name,
// quoted when the name has more than word characters.
func LabelRef(name string) string      { return reference("~", name) }
func MilestoneRef(title string) string { return reference("%", title) }

func reference(sigil, name string) string {
	if plainRef.MatchString(name) {
		return sigil + name
	}
	return sigil + `"` + name + `"`
}
