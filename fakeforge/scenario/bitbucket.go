package scenario

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// This file is the Bitbucket Server (Data Center) view of the scenario:
// its users (with a `root`, people without e-mail and deactivated people),
// pull requests (OPEN, MERGED, DECLINED, declined then reopened, drafts)
// with reviewers, and each pull request's activity stream: comment threads
// whose replies nest several levels, inline threads anchored on every
// line type and file side GitLab positions, tasks, edits, approvals,
// needs-work reviews, withdrawn approvals, rescopes, merges and declines.
//
// Pull requests come from two kinds of branch. Odd ones come from the
// shared feature branch b, which only adds FeatureFilePath(b); a few of
// them (BBSFork) from a fork of the repository. Even ones come from
// BBSReworkBranch(b), a Bitbucket-only branch one commit ahead of feature
// branch b that also edits README.md, so their diffs carry removed and
// context lines; their activity starts with a RESCOPED that added that
// commit. Everything here is a pure function of the seed and
// the indexes, like the rest of the scenario.

// Readme is README.md on main, in every forge's repository.
const Readme = "# widgets\n\nA repository simulated by fakeforge.\n"

// ReadmePath is where Readme lives.
const ReadmePath = "README.md"

// BBSReworkBranch names the Bitbucket-only branch of feature branch b.
func (s *Scenario) BBSReworkBranch(b int) string { return s.Branch(b).Name + "-v2" }

// BBSReworkReadme is README.md on BBSReworkBranch(b).
func BBSReworkReadme(b int) string {
	return fmt.Sprintf("# widgets\nFeature %d reworked this introduction.\n\nA repository simulated by fakeforge, with feature %d.\n", b, b)
}

// readmeEdit is the edit from Readme to BBSReworkReadme: '=' keeps a
// line, '-' removes one, '+' adds one.
const readmeEdit = "=+=-+"

// BBSReworkMessage is the message of the rework commit of branch b.
func BBSReworkMessage(b int) string { return fmt.Sprintf("Rework the README for feature %d", b) }

// BBSReworkTime is when the rework commit of branch b was made: after
// every commit of the shared history.
func (s *Scenario) BBSReworkTime(b int) time.Time {
	return epoch.Add(time.Duration(s.cfg.Commits+s.cfg.Branches+b) * time.Hour)
}

// BBSMergeMessage is the message of the merge commit of pull request j of
// repository repoName ("ACME/widgets"), as Bitbucket words it.
func (s *Scenario) BBSMergeMessage(j int, repoName string) string {
	from := s.Branch(s.PRBranch(j)).Name
	if s.BBSRework(j) {
		from = s.BBSReworkBranch(s.PRBranch(j))
	}
	return fmt.Sprintf("Merge pull request #%d in %s from %s to main", j, repoName, from)
}

// BBSRev names a commit of the repository without knowing its SHA.
type BBSRev int

// The commits a pull request's diffs run between.
const (
	RevMain    BBSRev = iota // main's tip, every pull request's target
	RevFeature               // feature branch b's commit, "Add feature b"
	RevRework                // the rework commit on BBSReworkBranch(b)
)

// BBSDiffLine is a line of a Bitbucket diff segment. Source and Destination
// are numbered as Bitbucket numbers them: an added line carries the source
// line it comes before, a removed line the destination line it would
// come before.
type BBSDiffLine struct {
	Source, Destination int
	Text                string
}

// BBSDiffSegment is a run of lines of one type: ADDED, REMOVED or CONTEXT.
type BBSDiffSegment struct {
	Type  string
	Lines []BBSDiffLine
}

// BBSDiffHunk is one hunk of a file diff.
type BBSDiffHunk struct {
	SourceLine, SourceSpan, DestinationLine, DestinationSpan int
	Segments                                                 []BBSDiffSegment
}

// BBSFileDiff is the diff of one file between two commits. Added means the
// file is new (no source side).
type BBSFileDiff struct {
	Path  string
	Added bool
	Hunks []BBSDiffHunk
}

// Line finds the line of type lineType whose number on fileType's side
// (FROM: source, TO: destination) is line.
func (d BBSFileDiff) Line(lineType, fileType string, line int) (BBSDiffLine, bool) {
	for _, h := range d.Hunks {
		for _, sg := range h.Segments {
			if sg.Type != lineType {
				continue
			}
			for _, l := range sg.Lines {
				if (fileType == "FROM" && l.Source == line) || (fileType == "TO" && l.Destination == line) {
					return l, true
				}
			}
		}
	}
	return BBSDiffLine{}, false
}

// diffOf builds the one-hunk diff from old to new following edit.
func diffOf(path string, old, new []string, edit string) BBSFileDiff {
	d := BBSFileDiff{Path: path, Added: len(old) == 0}
	h := BBSDiffHunk{SourceLine: 1, SourceSpan: len(old), DestinationLine: 1, DestinationSpan: len(new)}
	if d.Added {
		h.SourceLine = 0
	}
	src, dst, o, n := h.SourceLine, 1, 0, 0
	for _, op := range edit {
		typ, l := map[rune]string{'=': "CONTEXT", '-': "REMOVED", '+': "ADDED"}[op], BBSDiffLine{Source: src, Destination: dst}
		switch op {
		case '=':
			l.Text = old[o]
			o, n, src, dst = o+1, n+1, src+1, dst+1
		case '-':
			l.Text = old[o]
			o, src = o+1, src+1
		case '+':
			l.Text = new[n]
			n, dst = n+1, dst+1
		}
		if k := len(h.Segments) - 1; k >= 0 && h.Segments[k].Type == typ {
			h.Segments[k].Lines = append(h.Segments[k].Lines, l)
		} else {
			h.Segments = append(h.Segments, BBSDiffSegment{Type: typ, Lines: []BBSDiffLine{l}})
		}
	}
	d.Hunks = []BBSDiffHunk{h}
	return d
}

func lines(text string) []string { return strings.Split(strings.TrimSuffix(text, "\n"), "\n") }

// BBSDiff is the diff of path on branch b between two commits, and false
// when path does not change between them. Feature branch b adds its
// feature file; the rework commit edits README.md.
func BBSDiff(b int, path string, from, to BBSRev) (BBSFileDiff, bool) {
	if from >= to {
		return BBSFileDiff{}, false
	}
	switch {
	case path == FeatureFilePath(b) && from == RevMain:
		var body []string
		for l := 1; l <= FeatureFileLines; l++ {
			body = append(body, FeatureFileLine(b, l))
		}
		return diffOf(path, nil, body, strings.Repeat("+", FeatureFileLines)), true
	case path == ReadmePath && to == RevRework:
		return diffOf(path, lines(Readme), lines(BBSReworkReadme(b)), readmeEdit), true
	}
	return BBSFileDiff{}, false
}

// BBSDiffPaths lists the files that change between two commits of branch b.
func BBSDiffPaths(b int, from, to BBSRev) []string {
	var out []string
	for _, p := range []string{ReadmePath, FeatureFilePath(b)} {
		if _, ok := BBSDiff(b, p, from, to); ok {
			out = append(out, p)
		}
	}
	return out
}

// BBSUser is a scenario person as Bitbucket Server knows them. Name is the
// login and Slug its URL form; they differ when the name has characters a
// slug cannot hold. Email is empty for people without one.
type BBSUser struct {
	User
	Name, Slug string
	Active     bool
}

// The fixed people of the Bitbucket Server view.
const (
	// BBSRootUser is the person whose Bitbucket name and slug are "root":
	// an importer must map them like anyone else, never to its own root.
	BBSRootUser = 2
	// BBSOddSlugUser has a name with an "@", so their slug differs.
	BBSOddSlugUser = 6
)

// BBSUserOf returns the Bitbucket view of user u: every fourth person
// (3, 7, 11, …) has no e-mail address and every fifth (4, 9, 14, …) is
// deactivated.
func (s *Scenario) BBSUserOf(u User) BBSUser {
	b := BBSUser{User: u, Name: u.Login, Slug: u.Login, Active: u.Index%5 != 4}
	switch u.Index {
	case BBSRootUser:
		b.Name, b.Slug = "root", "root"
	case BBSOddSlugUser:
		b.Name, b.Slug = u.Login+"@corp", u.Login+"_corp"
	}
	if u.Index%4 == 3 {
		b.Email = ""
	}
	return b
}

// BBSUser returns user i (1-based) as Bitbucket Server knows them.
func (s *Scenario) BBSUser(i int) BBSUser { return s.BBSUserOf(s.User(i)) }

// BBSUserBySlug finds a person by Bitbucket slug.
func (s *Scenario) BBSUserBySlug(slug string) (BBSUser, bool) {
	for _, i := range []int{BBSRootUser, BBSOddSlugUser} {
		if i <= s.cfg.Users && s.BBSUser(i).Slug == slug {
			return s.BBSUser(i), true
		}
	}
	u, ok := s.UserByLogin(slug)
	if !ok || s.BBSUserOf(u).Slug != slug {
		return BBSUser{}, false
	}
	return s.BBSUserOf(u), true
}

// BBSPullRequest is a Bitbucket Server pull request. It shares its title,
// description, author and creation time with scenario item Number.
type BBSPullRequest struct {
	ID     int
	Number int
	Author User
	// State is OPEN, MERGED or DECLINED. A Reopened pull request is OPEN
	// after a DECLINED and a REOPENED activity. Drafts are open and have
	// no reviews yet.
	State           string
	Reopened, Draft bool
	Rework          bool // from BBSReworkBranch(Branch), else feature branch Branch
	// Fork pull requests come from a fork of the repository in the same
	// project, whose branches are the repository's.
	Fork             bool
	Branch           int
	Created, Updated time.Time
	Closed           time.Time // zero unless MERGED or DECLINED
	Closer           User      // who merged or declined; zero when nobody did
	Reviewers        []BBSReviewer
	// Participants commented without being the author or a reviewer.
	Participants []User
	// Version counts the updates of the pull request itself.
	Version int
}

// FromBranch is the name of the branch the pull request comes from.
func (p BBSPullRequest) FromBranch(s *Scenario) string {
	if p.Rework {
		return s.BBSReworkBranch(p.Branch)
	}
	return s.Branch(p.Branch).Name
}

// Tip is the commit the pull request's source branch points at.
func (p BBSPullRequest) Tip() BBSRev {
	if p.Rework {
		return RevRework
	}
	return RevFeature
}

// BBSReviewer is a reviewer with their final status: APPROVED, NEEDS_WORK
// or UNAPPROVED.
type BBSReviewer struct {
	User     User
	Status   string
	Reviewed bool // approved or asked for work at some point
}

// BBSComment is one comment of a thread. Parent is the index of the
// comment it replies to in the thread, -1 for the thread's first comment.
type BBSComment struct {
	ID      int64
	Seq     int // its number among all Bitbucket comments, for its text
	Parent  int
	Depth   int
	Author  User
	Created time.Time
	// Edited comments have Version > 0 and Updated after Created.
	Updated time.Time
	Version int
	// Severity BLOCKER makes the comment a task; State is OPEN or RESOLVED.
	Severity string
	State    string
	Resolver User
	Resolved time.Time
}

// BBSAnchor places an inline thread: on Line of the file on FileType's
// side (FROM: the source, TO: the destination) of the diff of Path from
// From to To, a line of type LineType.
type BBSAnchor struct {
	Path     string
	Line     int
	LineType string // ADDED, REMOVED or CONTEXT
	FileType string // FROM or TO
	DiffType string // EFFECTIVE, COMMIT or RANGE
	From, To BBSRev
}

// BBSCommit is a commit an activity names: the rework commit a RESCOPED
// added.
type BBSCommit struct {
	Rev, Parent BBSRev
	Message     string
}

// Activity is one entry of a pull request's activity stream: OPENED,
// COMMENTED (a thread, inline when Anchor is set), APPROVED, UNAPPROVED,
// REVIEWED (needs work), RESCOPED, DECLINED, REOPENED or MERGED.
type Activity struct {
	ID      int64
	Action  string
	User    User
	Created time.Time
	// COMMENTED: the thread, its first comment first, replies in the
	// order they were written.
	Thread []BBSComment
	Anchor *BBSAnchor
	// RESCOPED: the source branch moved from PreviousFrom to From.
	PreviousFrom, From BBSRev
	Added              []BBSCommit
}

// BBS ID spaces: activity and comment IDs are unique on the server.
const (
	activityIDBase   = 90_000_000
	bbsCommentIDBase = 300_000_000
)

// Reviewer outcomes, cycled through by pull request and reviewer.
const (
	outcomeApproved = iota
	outcomeNeedsWork
	outcomeNone
	outcomeWithdrawn // approved, then unapproved
	outcomes
)

// Reply shapes of a thread, cycled through by thread: each entry is the
// parent of the next reply. Shape 2 nests two levels and branches; shape 3
// nests three levels.
var threadShapes = [...][]int{{}, {0}, {0, 1, 0}, {0, 1, 2}}

// Inline anchors on a rework pull request, cycled through by thread: every
// line type on every side GitLab positions. A plain pull request only adds
// its feature file, so its threads sit on ADDED lines of it.
var reworkAnchors = [...]struct {
	readme             bool
	line               int
	lineType, fileType string
}{
	{true, 2, "ADDED", "TO"},
	{true, 3, "REMOVED", "FROM"},
	{true, 2, "CONTEXT", "FROM"},
	{true, 3, "CONTEXT", "TO"},
	{false, 0, "ADDED", "TO"},
}

// BBSState is pull request j's state without building it: MERGED,
// DECLINED or OPEN.
func (s *Scenario) BBSState(j int) string {
	n := s.PRNumber(j)
	switch {
	case s.ItemMerged(n):
		return "MERGED"
	case !ItemOpen(n):
		return "DECLINED"
	}
	return "OPEN"
}

// BBSReopened reports whether open pull request j was declined and reopened.
func (s *Scenario) BBSReopened(j int) bool { return s.BBSState(j) == "OPEN" && j%5 == 2 }

// BBSRework reports whether pull request j comes from a rework branch.
func (s *Scenario) BBSRework(j int) bool { return j%2 == 0 }

// BBSFork reports whether pull request j comes from the fork.
func (s *Scenario) BBSFork(j int) bool { return j%10 == 3 }

// BBSDraft reports whether pull request j is a draft.
func (s *Scenario) BBSDraft(j int) bool {
	return s.BBSState(j) == "OPEN" && !s.BBSReopened(j) && j%7 == 4
}

// BBSPullRequest returns pull request j (1-based id).
func (s *Scenario) BBSPullRequest(j int) BBSPullRequest {
	p, _ := s.BBS(j)
	return p
}

// BBSActivities returns pull request j's activities, newest first as
// Bitbucket Server lists them. Replies come inside their thread's
// COMMENTED activity, never as activities of their own.
func (s *Scenario) BBSActivities(j int) []Activity {
	_, acts := s.BBS(j)
	return acts
}

// BBSCommentText is the text of a comment, with attachment links and
// @-mentions as in every other body of the scenario.
func (s *Scenario) BBSCommentText(c BBSComment, pr int) string {
	return s.text(kindBBSComment, c.Seq, s.PRNumber(pr))
}

// BBS returns pull request j and its activities (newest first), built
// together.
func (s *Scenario) BBS(j int) (BBSPullRequest, []Activity) {
	c := s.cfg
	n := s.PRNumber(j)
	p := BBSPullRequest{ID: j, Number: n, Author: s.User(1 + n%c.Users), State: s.BBSState(j),
		Reopened: s.BBSReopened(j), Draft: s.BBSDraft(j), Rework: s.BBSRework(j), Fork: s.BBSFork(j), Branch: s.PRBranch(j),
		Created: ItemCreated(n)}
	threads := c.CommentsPerItem + c.ReviewCommentsPerPR
	maxComments := threads * (1 + len(threadShapes[2]))
	var acts []Activity
	add := func(a Activity) {
		a.ID = int64(activityIDBase) + int64(j-1)*int64(threads+16) + int64(len(acts)) + 1
		acts = append(acts, a)
	}
	minute := func(k int) time.Time { return p.Created.Add(time.Duration(k) * time.Minute) }
	add(Activity{Action: "OPENED", User: p.Author, Created: p.Created})
	if p.Rework {
		p.Version++
		add(Activity{Action: "RESCOPED", User: p.Author, Created: minute(1), PreviousFrom: RevFeature, From: RevRework,
			Added: []BBSCommit{{Rev: RevRework, Parent: RevFeature, Message: BBSReworkMessage(p.Branch)}}})
	}
	seq := 0
	for k := range threads {
		// g numbers the thread among all general or all inline threads.
		a, g := Activity{Action: "COMMENTED", Created: minute(2 + k)}, (j-1)*c.CommentsPerItem+k
		if k >= c.CommentsPerItem {
			a.Anchor = s.bbsAnchor(p, j, k-c.CommentsPerItem)
			g = (j-1)*c.ReviewCommentsPerPR + k - c.CommentsPerItem
		}
		parents := append([]int{-1}, threadShapes[g%len(threadShapes)]...)
		for i, parent := range parents {
			seq++
			cm := BBSComment{ID: int64(bbsCommentIDBase) + int64(j-1)*int64(maxComments) + int64(seq),
				Seq: (j-1)*maxComments + seq, Parent: parent, Author: s.User(1 + s.pick(kindBBSComment, j, seq, c.Users)),
				Created: a.Created.Add(time.Duration(i) * 10 * time.Second), Severity: "NORMAL", State: "OPEN"}
			cm.Updated = cm.Created
			if parent >= 0 {
				cm.Depth = a.Thread[parent].Depth + 1
			}
			if (j+2*seq)%4 == 1 {
				cm.Version, cm.Updated = 1+(j+seq)%2, cm.Created.Add(5*time.Minute)
			}
			if (j+seq)%6 == 3 {
				cm.Severity = "BLOCKER"
				if (j+seq)%12 == 9 {
					cm.State, cm.Resolver, cm.Resolved = "RESOLVED", p.Author, cm.Created.Add(3*time.Minute)
				}
			}
			a.Thread = append(a.Thread, cm)
		}
		a.User = a.Thread[0].Author
		add(a)
	}
	at := 2 + threads
	for k, u := range s.bbsReviewerUsers(j, n, p.Author) {
		o := (j + k) % outcomes
		if p.Draft {
			o = outcomeNone
		}
		r := BBSReviewer{User: u, Status: "UNAPPROVED"}
		switch o {
		case outcomeApproved:
			r.Status, r.Reviewed = "APPROVED", true
			add(Activity{Action: "APPROVED", User: u, Created: minute(at + k)})
		case outcomeNeedsWork:
			r.Status, r.Reviewed = "NEEDS_WORK", true
			add(Activity{Action: "REVIEWED", User: u, Created: minute(at + k)})
		case outcomeWithdrawn:
			r.Reviewed = true
			add(Activity{Action: "APPROVED", User: u, Created: minute(at + k)})
			add(Activity{Action: "UNAPPROVED", User: u, Created: minute(at + k).Add(30 * time.Second)})
		}
		p.Reviewers = append(p.Reviewers, r)
	}
	end := minute(at + 1 + len(p.Reviewers))
	closer := s.User(1 + (n+1)%c.Users)
	switch {
	case p.State == "MERGED":
		p.Version++
		p.Closed, p.Closer = end, closer
		add(Activity{Action: "MERGED", User: closer, Created: end})
	case p.State == "DECLINED":
		p.Version++
		p.Closed, p.Closer = end, closer
		add(Activity{Action: "DECLINED", User: closer, Created: end})
	case p.Reopened:
		p.Version += 2
		add(Activity{Action: "DECLINED", User: closer, Created: end})
		add(Activity{Action: "REOPENED", User: p.Author, Created: end.Add(time.Minute)})
	}
	p.Participants = s.bbsParticipants(p, acts)
	for _, a := range acts {
		if a.Created.After(p.Updated) {
			p.Updated = a.Created
		}
	}
	slices.SortStableFunc(acts, func(a, b Activity) int {
		if c := b.Created.Compare(a.Created); c != 0 {
			return c
		}
		return int(b.ID - a.ID)
	})
	return p, acts
}

// bbsAnchor places inline thread k of pull request j.
func (s *Scenario) bbsAnchor(p BBSPullRequest, j, k int) *BBSAnchor {
	t := (j-1)*s.cfg.ReviewCommentsPerPR + k // this inline thread's number among all inline threads
	a := &BBSAnchor{Path: FeatureFilePath(p.Branch), Line: 1 + (t*5)%FeatureFileLines, LineType: "ADDED",
		FileType: "TO", DiffType: "EFFECTIVE", From: RevMain, To: p.Tip()}
	if p.Rework {
		r := reworkAnchors[(j/2+k)%len(reworkAnchors)]
		if r.readme {
			a.Path, a.Line, a.LineType, a.FileType = ReadmePath, r.line, r.lineType, r.fileType
		}
	}
	// Some threads were written on one commit's diff or on the diff of
	// the rescope, whose lines are the same as the pull request's.
	if (t/len(reworkAnchors))%3 == 1 {
		switch {
		case a.Path == ReadmePath:
			a.DiffType, a.From, a.To = "RANGE", RevFeature, RevRework
		default:
			a.DiffType, a.From, a.To = "COMMIT", RevMain, RevFeature
		}
	}
	return a
}

// bbsReviewerUsers picks one to three reviewers of pull request j, never
// its author.
func (s *Scenario) bbsReviewerUsers(j, n int, author User) []User {
	var out []User
	for k := 0; len(out) < min(1+j%3, s.cfg.Users-1); k++ {
		if u := s.User(1 + (n+2+k)%s.cfg.Users); u.Index != author.Index {
			out = append(out, u)
		}
	}
	return out
}

// bbsParticipants lists the commenters who are neither author nor
// reviewer, in order of first comment.
func (s *Scenario) bbsParticipants(p BBSPullRequest, acts []Activity) []User {
	seen := map[int]bool{p.Author.Index: true}
	for _, r := range p.Reviewers {
		seen[r.User.Index] = true
	}
	var out []User
	for _, a := range acts {
		for _, cm := range a.Thread {
			if !seen[cm.Author.Index] {
				seen[cm.Author.Index] = true
				out = append(out, cm.Author)
			}
		}
	}
	return out
}

// Bitbucket Server's default page.max.* settings: the largest limit a
// list honours (a larger one is cut down, and the page's limit says so).
const (
	BBSPageMax           = 1000 // pull requests, users, permissions, branches, tags, repositories
	BBSPageMaxActivities = 500  // page.max.pullrequest.activities
)

// BBSSystemNote is what a merge request shows for one kind of activity:
// the Expected kind that counts it and GitLab's wording of the system
// note (SystemNoteService). GitLab's own Bitbucket Server importer writes
// only the notes marked GitLab (mapping.md §2.3): an approval and a
// decline's status change; the others are what a fuller import lands.
type BBSSystemNote struct {
	Kind   string
	Text   string // the note's text, or how it starts ("added 1 commit…")
	GitLab bool
}

// BBSSystemNotes maps activity actions to their system notes.
var BBSSystemNotes = map[string]BBSSystemNote{
	"APPROVED":   {"system_notes_approved", "approved this merge request", true},
	"UNAPPROVED": {"system_notes_unapproved", "unapproved this merge request", false},
	"REVIEWED":   {"system_notes_requested_changes", "requested changes", false},
	"DECLINED":   {"system_notes_closed", "closed", true},
	"REOPENED":   {"system_notes_reopened", "reopened", false},
	"MERGED":     {"system_notes_merged", "merged", false},
	"RESCOPED":   {"system_notes_added_commits", "added 1 commit", false},
}

// BBSMergeRequestState is GitLab's state of a Bitbucket pull request
// state: MERGED → merged, DECLINED → closed, anything else → opened.
func BBSMergeRequestState(state string) string {
	switch state {
	case "MERGED":
		return "merged"
	case "DECLINED":
		return "closed"
	}
	return "opened"
}

// DiffNoteKind is the Expected kind that counts the diff notes of a
// thread anchored on a lineType line on fileType's side, such as
// "diff_notes_context_from".
func DiffNoteKind(lineType, fileType string) string {
	return "diff_notes_" + strings.ToLower(lineType) + "_" + strings.ToLower(fileType)
}

// bbsExpected is Expected(BitbucketServer).
func (s *Scenario) bbsExpected() Counts {
	n := Counts{"merge_requests": s.cfg.PullRequests, "users": s.cfg.Users}
	people := map[int]bool{}
	for j := 1; j <= s.cfg.PullRequests; j++ {
		p, acts := s.BBS(j)
		n["merge_requests_"+BBSMergeRequestState(p.State)]++
		if p.Draft {
			n["merge_requests_draft"]++
		}
		people[p.Author.Index] = true
		for _, r := range p.Reviewers {
			people[r.User.Index] = true
			n["reviewers"]++
			if r.Status == "APPROVED" {
				n["approvals"]++
			}
		}
		for _, a := range acts {
			people[a.User.Index] = true
			if sn, ok := BBSSystemNotes[a.Action]; ok {
				n[sn.Kind]++
			}
			kind, replies := "notes", "note_replies"
			if a.Anchor != nil {
				kind, replies = "diff_notes", "diff_note_replies"
				n[DiffNoteKind(a.Anchor.LineType, a.Anchor.FileType)] += len(a.Thread)
			}
			for _, cm := range a.Thread {
				people[cm.Author.Index] = true
				n[kind]++
				if cm.Parent >= 0 {
					n[replies]++
				}
				if cm.Version > 0 {
					n["edited_notes"]++
				}
				if cm.Severity == "BLOCKER" {
					n["tasks"]++
					if cm.State == "RESOLVED" {
						n["tasks_resolved"]++
					}
				}
			}
		}
	}
	n["placeholder_users"] = len(people)
	return n
}
