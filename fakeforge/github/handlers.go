package github

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v92/github"

	"github.com/ferry-import/ferry/fakeforge/scenario"
)

func (s *Server) repoURL(api string) string { return fmt.Sprintf("%s/repos/%s/%s", api, Owner, Repo) }

func (s *Server) htmlURL(path string) string {
	return fmt.Sprintf("%s/%s/%s%s", s.base, Owner, Repo, path)
}

func (s *Server) body(text string) *string {
	return gh.Ptr(strings.ReplaceAll(text, scenario.AttachmentPrefix, s.base+"/user-attachments/assets"))
}

func (s *Server) userObj(api string, u scenario.User) *gh.User {
	return &gh.User{Login: gh.Ptr(u.Login), ID: gh.Ptr(u.ID), NodeID: gh.Ptr(userNodeID(u)),
		AvatarURL: gh.Ptr(fmt.Sprintf("%s/avatars/%s", s.base, u.Login)), HTMLURL: gh.Ptr(s.base + "/" + u.Login),
		URL: gh.Ptr(api + "/users/" + u.Login), Type: gh.Ptr("User"), SiteAdmin: gh.Ptr(false)}
}

func (s *Server) ownerObj(api string) *gh.User {
	return &gh.User{Login: gh.Ptr(Owner), ID: gh.Ptr(int64(1)), Type: gh.Ptr("Organization"),
		URL: gh.Ptr(api + "/users/" + Owner), HTMLURL: gh.Ptr(s.base + "/" + Owner)}
}

func (s *Server) repoObj(api string) *gh.Repository {
	c := s.sc.Config()
	return &gh.Repository{ID: gh.Ptr(int64(RepoID)), NodeID: gh.Ptr("R_4242"), Name: gh.Ptr(Repo),
		FullName: gh.Ptr(Owner + "/" + Repo), Owner: s.ownerObj(api), Private: gh.Ptr(true),
		Description: gh.Ptr("Simulated repository for ferry imports"), Fork: gh.Ptr(false),
		HTMLURL: gh.Ptr(s.htmlURL("")), URL: gh.Ptr(s.repoURL(api)),
		CloneURL: gh.Ptr(s.htmlURL(".git")), GitURL: gh.Ptr(s.htmlURL(".git")), SSHURL: gh.Ptr(fmt.Sprintf("git@fakeforge:%s/%s.git", Owner, Repo)),
		DefaultBranch: gh.Ptr("main"), HasIssues: gh.Ptr(true), HasWiki: gh.Ptr(true), HasProjects: gh.Ptr(false),
		Visibility: gh.Ptr("private"), OpenIssuesCount: gh.Ptr(c.Issues + c.PullRequests),
		CreatedAt: ts(scenario.Epoch()), UpdatedAt: ts(scenario.ItemCreated(s.sc.Items())), PushedAt: ts(scenario.ItemCreated(s.sc.Items())),
		Permissions: &gh.RepositoryPermissions{Admin: gh.Ptr(true), Maintain: gh.Ptr(true), Push: gh.Ptr(true), Triage: gh.Ptr(true), Pull: gh.Ptr(true)}}
}

func (s *Server) repository(w http.ResponseWriter, r *http.Request, api string) {
	respond(w, r, s.repoObj(api))
}

func (s *Server) labelObj(api string, l scenario.Label) *gh.Label {
	return &gh.Label{ID: l.ID, NodeID: fmt.Sprintf("LA_%d", l.ID), Name: l.Name,
		Color: l.Color, Description: gh.Ptr(l.Description), URL: s.repoURL(api) + "/labels/" + escapeBranch(l.Name)}
}

func (s *Server) labels(w http.ResponseWriter, r *http.Request, api string) {
	s.list(w, r, rangeSeq(1, s.sc.Config().Labels), func(i int) any { return s.labelObj(api, s.sc.Label(i)) })
}

func (s *Server) milestoneObj(api string, m scenario.Milestone) *gh.Milestone {
	state := "closed"
	var closed *gh.Timestamp
	if m.Open {
		state = "open"
	} else {
		closed = ts(m.Updated)
	}
	return &gh.Milestone{ID: gh.Ptr(m.ID), Number: gh.Ptr(m.Number), NodeID: gh.Ptr(fmt.Sprintf("MI_%d", m.ID)),
		Title: gh.Ptr(m.Title), Description: s.body(m.Description), State: gh.Ptr(state),
		Creator: s.userObj(api, s.sc.User(1)), OpenIssues: gh.Ptr(0), ClosedIssues: gh.Ptr(0),
		CreatedAt: ts(m.Created), UpdatedAt: ts(m.Updated), ClosedAt: closed, DueOn: ts(m.DueOn),
		URL: gh.Ptr(fmt.Sprintf("%s/milestones/%d", s.repoURL(api), m.Number)), HTMLURL: gh.Ptr(s.htmlURL(fmt.Sprintf("/milestone/%d", m.Number)))}
}

func (s *Server) milestones(w http.ResponseWriter, r *http.Request, api string) {
	q := rangeSeq(1, s.sc.Config().Milestones)
	if st := r.URL.Query().Get("state"); st != "all" {
		open := st != "closed" // GitHub lists open milestones by default
		q = filter(q, func(i int) bool { return s.sc.Milestone(i).Open == open })
	}
	s.list(w, r, q, func(i int) any { return s.milestoneObj(api, s.sc.Milestone(i)) })
}

func (s *Server) reactionSummary(api string, number int, rs []scenario.Reaction) *gh.Reactions {
	counts := map[string]int{}
	for _, x := range rs {
		counts[x.Content]++
	}
	return &gh.Reactions{TotalCount: gh.Ptr(len(rs)), PlusOne: gh.Ptr(counts["+1"]), MinusOne: gh.Ptr(counts["-1"]),
		Laugh: gh.Ptr(counts["laugh"]), Confused: gh.Ptr(counts["confused"]), Heart: gh.Ptr(counts["heart"]),
		Hooray: gh.Ptr(counts["hooray"]), Rocket: gh.Ptr(counts["rocket"]), Eyes: gh.Ptr(counts["eyes"]),
		URL: gh.Ptr(fmt.Sprintf("%s/issues/%d/reactions", s.repoURL(api), number))}
}

func (s *Server) state(open bool) *string {
	if open {
		return gh.Ptr("open")
	}
	return gh.Ptr("closed")
}

func (s *Server) issueObj(api string, it scenario.Item) *gh.Issue {
	iss := &gh.Issue{ID: gh.Ptr(it.ID), NodeID: gh.Ptr(itemNodeID(it)), Number: gh.Ptr(it.Number),
		State: s.state(it.Open), Title: gh.Ptr(it.Title), Body: s.body(it.Body), Locked: gh.Ptr(it.Locked),
		User: s.userObj(api, it.Author), Comments: gh.Ptr(it.Comments), AuthorAssociation: gh.Ptr("MEMBER"),
		CreatedAt: ts(it.Created), UpdatedAt: ts(it.Updated), Labels: []*gh.Label{}, Assignees: []*gh.User{},
		URL:           gh.Ptr(fmt.Sprintf("%s/issues/%d", s.repoURL(api), it.Number)),
		RepositoryURL: gh.Ptr(s.repoURL(api)), HTMLURL: gh.Ptr(s.htmlURL(fmt.Sprintf("/issues/%d", it.Number))),
		CommentsURL: gh.Ptr(fmt.Sprintf("%s/issues/%d/comments", s.repoURL(api), it.Number)),
		EventsURL:   gh.Ptr(fmt.Sprintf("%s/issues/%d/events", s.repoURL(api), it.Number)),
		LabelsURL:   gh.Ptr(fmt.Sprintf("%s/issues/%d/labels{/name}", s.repoURL(api), it.Number)),
		Reactions:   s.reactionSummary(api, it.Number, it.Reactions)}
	for _, l := range it.Labels {
		iss.Labels = append(iss.Labels, s.labelObj(api, l))
	}
	for _, a := range it.Assignees {
		iss.Assignees = append(iss.Assignees, s.userObj(api, a))
	}
	if len(it.Assignees) > 0 {
		iss.Assignee = iss.Assignees[0]
	}
	if it.Milestone > 0 {
		iss.Milestone = s.milestoneObj(api, s.sc.Milestone(it.Milestone))
	}
	if !it.Open {
		iss.ClosedAt, iss.ClosedBy = ts(it.Closed), s.userObj(api, it.ClosedBy)
		iss.StateReason = gh.Ptr("completed")
	}
	if it.IsPR {
		pl := &gh.PullRequestLinks{URL: gh.Ptr(fmt.Sprintf("%s/pulls/%d", s.repoURL(api), it.Number)),
			HTMLURL: gh.Ptr(s.htmlURL(fmt.Sprintf("/pull/%d", it.Number))),
			DiffURL: gh.Ptr(s.htmlURL(fmt.Sprintf("/pull/%d.diff", it.Number))), PatchURL: gh.Ptr(s.htmlURL(fmt.Sprintf("/pull/%d.patch", it.Number)))}
		if it.Merged {
			pl.MergedAt = ts(it.Closed)
		}
		iss.PullRequestLinks = pl
		iss.HTMLURL = pl.HTMLURL
	}
	return iss
}

// itemSeq applies GitHub's state, since, sort and direction parameters to
// the object indexes lo…hi, whose update times grow with the index.
func itemSeq(r *http.Request, lo, hi int, open func(int) bool, updated func(int) time.Time, defaultDesc bool) (seq, error) {
	qs := r.URL.Query()
	q, err := since(rangeSeq(lo, hi), r, updated)
	if err != nil {
		return q, err
	}
	switch st := qs.Get("state"); st {
	case "all":
	case "", "open", "closed":
		want := st != "closed"
		q = filter(q, func(i int) bool { return open(i) == want })
	default:
		return q, fmt.Errorf("state %q is not one of open, closed, all", st)
	}
	desc := defaultDesc
	switch qs.Get("direction") {
	case "asc":
		desc = false
	case "desc":
		desc = true
	}
	if desc {
		q = reverse(q)
	}
	return q, nil
}

func (s *Server) issues(w http.ResponseWriter, r *http.Request, api string) {
	q, err := itemSeq(r, 1, s.sc.Items(), scenario.ItemOpen,
		scenario.ItemUpdated, true)
	if err != nil {
		badRequest(w, err)
		return
	}
	s.repoList(w, r, q, func(n int) any { return s.issueObj(api, s.sc.Item(n)) })
}

func (s *Server) itemFromPath(w http.ResponseWriter, r *http.Request) (scenario.Item, bool) {
	n, ok := pathNumber(r)
	if !ok || n < 1 || n > s.sc.Items() {
		notFound(w)
		return scenario.Item{}, false
	}
	return s.sc.Item(n), true
}

func (s *Server) issue(w http.ResponseWriter, r *http.Request, api string) {
	if it, ok := s.itemFromPath(w, r); ok {
		respond(w, r, s.issueObj(api, it))
	}
}

func (s *Server) commentObj(api string, c scenario.Comment) *gh.IssueComment {
	return &gh.IssueComment{ID: gh.Ptr(c.ID), NodeID: gh.Ptr(commentNodeID(c.ID)), Body: s.body(c.Body),
		User: s.userObj(api, c.Author), CreatedAt: ts(c.Created), UpdatedAt: ts(c.Updated), AuthorAssociation: gh.Ptr("MEMBER"),
		URL:      gh.Ptr(fmt.Sprintf("%s/issues/comments/%d", s.repoURL(api), c.ID)),
		HTMLURL:  gh.Ptr(s.htmlURL(fmt.Sprintf("/issues/%d#issuecomment-%d", c.Item, c.ID))),
		IssueURL: gh.Ptr(fmt.Sprintf("%s/issues/%d", s.repoURL(api), c.Item))}
}

func (s *Server) commentList(w http.ResponseWriter, r *http.Request, api string, lo, hi int, serve listFunc) {
	q, err := since(rangeSeq(lo, hi), r, func(c int) time.Time { return s.sc.Comment(c).Updated })
	if err != nil {
		badRequest(w, err)
		return
	}
	if r.URL.Query().Get("direction") == "desc" {
		q = reverse(q)
	}
	serve(w, r, q, func(c int) any { return s.commentObj(api, s.sc.Comment(c)) })
}

// listFunc is Server.list or Server.repoList.
type listFunc func(w http.ResponseWriter, r *http.Request, q seq, build func(idx int) any)

func (s *Server) repoComments(w http.ResponseWriter, r *http.Request, api string) {
	s.commentList(w, r, api, 1, s.sc.CommentCount(), s.repoList)
}

func (s *Server) issueComments(w http.ResponseWriter, r *http.Request, api string) {
	if it, ok := s.itemFromPath(w, r); ok {
		lo, hi := s.sc.ItemComments(it.Number)
		s.commentList(w, r, api, lo, hi, s.list)
	}
}

func (s *Server) eventObj(api string, e scenario.Event) *gh.IssueEvent {
	ev := &gh.IssueEvent{ID: gh.Ptr(e.ID), Actor: s.userObj(api, e.Actor), Event: gh.Ptr(e.Event), CreatedAt: ts(e.Created),
		URL: gh.Ptr(fmt.Sprintf("%s/issues/events/%d", s.repoURL(api), e.ID))}
	switch e.Event {
	case "labeled", "unlabeled":
		ev.Label = s.labelObj(api, e.Label)
	case "assigned":
		ev.Assignee, ev.Assigner = s.userObj(api, e.Actor), s.userObj(api, e.Actor)
	case "renamed":
		ev.Rename = &gh.Rename{From: gh.Ptr("Old title"), To: gh.Ptr(s.sc.Item(e.Item).Title)}
	case "referenced":
		ev.CommitID = gh.Ptr(s.git.MainSHA(0))
	case "milestoned":
		ev.Milestone = &gh.Milestone{Title: gh.Ptr("v1.0")}
	}
	return ev
}

// withNodeID is an issue event with GitHub's node_id, which go-github's
// IssueEvent does not carry: the id of the same event in GraphQL.
type withNodeID struct {
	*gh.IssueEvent
	NodeID string `json:"node_id"`
}

// repoEvents lists the repository's issue events newest first, as GitHub
// does (it takes no since, sort or direction).
func (s *Server) repoEvents(w http.ResponseWriter, r *http.Request, api string) {
	s.repoList(w, r, reverse(rangeSeq(1, s.sc.EventCount())), func(e int) any {
		ev := s.eventObj(api, s.sc.Event(e))
		ev.Issue = s.issueObj(api, s.sc.Item(s.sc.Event(e).Item))
		return withNodeID{ev, eventNodeID(s.sc.Event(e))}
	})
}

func (s *Server) itemEvents(n int) (lo, hi int) {
	per := s.sc.Config().EventsPerItem
	return (n-1)*per + 1, n * per
}

func (s *Server) issueEvents(w http.ResponseWriter, r *http.Request, api string) {
	if it, ok := s.itemFromPath(w, r); ok {
		lo, hi := s.itemEvents(it.Number)
		s.list(w, r, rangeSeq(lo, hi), func(e int) any { return withNodeID{s.eventObj(api, s.sc.Event(e)), eventNodeID(s.sc.Event(e))} })
	}
}

// timeline lists an item's events followed by its comments, as GitHub's
// timeline does for items whose events precede their comments.
func (s *Server) timeline(w http.ResponseWriter, r *http.Request, api string) {
	it, ok := s.itemFromPath(w, r)
	if !ok {
		return
	}
	elo, ehi := s.itemEvents(it.Number)
	clo, chi := s.sc.ItemComments(it.Number)
	nev := max(0, ehi-elo+1)
	s.list(w, r, rangeSeq(0, nev+max(0, chi-clo+1)-1), func(k int) any {
		if k < nev {
			e := s.eventObj(api, s.sc.Event(elo+k))
			return &gh.Timeline{ID: e.ID, URL: e.URL, Actor: e.Actor, Event: e.Event, CreatedAt: e.CreatedAt,
				Label: e.Label, Assignee: e.Assignee, Assigner: e.Assigner, Rename: e.Rename, CommitID: e.CommitID, Milestone: e.Milestone}
		}
		c := s.commentObj(api, s.sc.Comment(clo+k-nev))
		return &gh.Timeline{ID: c.ID, URL: c.URL, Actor: c.User, User: c.User, Event: gh.Ptr("commented"),
			Body: c.Body, CreatedAt: c.CreatedAt}
	})
}

func (s *Server) reactions(w http.ResponseWriter, r *http.Request, api string) {
	it, ok := s.itemFromPath(w, r)
	if !ok {
		return
	}
	s.list(w, r, rangeSeq(0, len(it.Reactions)-1), func(k int) any {
		x := it.Reactions[k]
		return &gh.Reaction{ID: gh.Ptr(x.ID), NodeID: gh.Ptr(fmt.Sprintf("REA_%d", x.ID)), User: s.userObj(api, x.User),
			Content: gh.Ptr(x.Content), CreatedAt: ts(x.Created)}
	})
}

func (s *Server) branchRef(api string, b int, sha string) *gh.PullRequestBranch {
	name := s.sc.Branch(b).Name
	return &gh.PullRequestBranch{Label: gh.Ptr(Owner + ":" + name), Ref: gh.Ptr(name), SHA: gh.Ptr(sha),
		User: s.ownerObj(api), Repo: s.repoObj(api)}
}

func (s *Server) prObj(api string, j int) *gh.PullRequest {
	it := s.sc.Item(s.sc.PRNumber(j))
	iss := s.issueObj(api, it)
	c := s.sc.Config()
	branch := s.sc.PRBranch(j)
	pr := &gh.PullRequest{ID: gh.Ptr(prDatabaseID(j)), NodeID: gh.Ptr(prNodeID(j)), Number: iss.Number,
		State: iss.State, Locked: iss.Locked, Title: iss.Title, Body: iss.Body, CreatedAt: iss.CreatedAt, UpdatedAt: iss.UpdatedAt,
		ClosedAt: iss.ClosedAt, Labels: iss.Labels, User: iss.User, Draft: gh.Ptr(j%11 == 0),
		Assignee: iss.Assignee, Assignees: iss.Assignees, Milestone: iss.Milestone, AuthorAssociation: iss.AuthorAssociation,
		URL: iss.PullRequestLinks.URL, HTMLURL: iss.PullRequestLinks.HTMLURL, DiffURL: iss.PullRequestLinks.DiffURL,
		PatchURL: iss.PullRequestLinks.PatchURL, IssueURL: iss.URL,
		CommentsURL:        iss.CommentsURL,
		ReviewCommentsURL:  gh.Ptr(fmt.Sprintf("%s/pulls/%d/comments", s.repoURL(api), it.Number)),
		CommitsURL:         gh.Ptr(fmt.Sprintf("%s/pulls/%d/commits", s.repoURL(api), it.Number)),
		Head:               s.branchRef(api, branch, s.git.BranchSHA(branch)),
		Base:               s.branchRef(api, 0, s.git.MainSHA(c.Commits-1)),
		RequestedReviewers: []*gh.User{}, Merged: gh.Ptr(it.Merged),
		Comments: gh.Ptr(it.Comments), ReviewComments: gh.Ptr(c.ReviewCommentsPerPR), Commits: gh.Ptr(1),
		Additions: gh.Ptr(scenario.FeatureFileLines), Deletions: gh.Ptr(0), ChangedFiles: gh.Ptr(1)}
	for _, u := range s.sc.RequestedReviewers(j) {
		pr.RequestedReviewers = append(pr.RequestedReviewers, s.userObj(api, u))
	}
	if it.Merged {
		pr.MergedAt, pr.MergedBy = ts(it.Closed), s.userObj(api, it.ClosedBy)
		pr.MergeCommitSHA = gh.Ptr(s.git.BranchSHA(branch))
	}
	return pr
}

func (s *Server) pulls(w http.ResponseWriter, r *http.Request, api string) {
	q, err := itemSeq(r, 1, s.sc.Config().PullRequests, func(j int) bool { return scenario.ItemOpen(s.sc.PRNumber(j)) },
		func(j int) time.Time { return scenario.ItemUpdated(s.sc.PRNumber(j)) }, true)
	if err != nil {
		badRequest(w, err)
		return
	}
	s.repoList(w, r, q, func(j int) any { return s.prObj(api, j) })
}

// prFromPath resolves a pull-request number to its index; issues that are
// not pull requests are 404, as on GitHub.
func (s *Server) prFromPath(w http.ResponseWriter, r *http.Request) (int, bool) {
	n, ok := pathNumber(r)
	if !ok || n < 1 || n > s.sc.Items() || !s.sc.IsPR(n) {
		notFound(w)
		return 0, false
	}
	return (n * s.sc.Config().PullRequests) / s.sc.Items(), true
}

func (s *Server) pull(w http.ResponseWriter, r *http.Request, api string) {
	if j, ok := s.prFromPath(w, r); ok {
		respond(w, r, s.prObj(api, j))
	}
}

func (s *Server) reviews(w http.ResponseWriter, r *http.Request, api string) {
	j, ok := s.prFromPath(w, r)
	if !ok {
		return
	}
	lo, hi := s.sc.PRReviews(j)
	num := s.sc.PRNumber(j)
	s.list(w, r, rangeSeq(lo, hi), func(k int) any {
		rv := s.sc.Review(k)
		return &gh.PullRequestReview{ID: gh.Ptr(rv.ID), NodeID: gh.Ptr(reviewNodeID(rv.ID)), User: s.userObj(api, rv.Author),
			Body: gh.Ptr(rv.Body), State: gh.Ptr(rv.State), SubmittedAt: ts(rv.Submitted), CommitID: gh.Ptr(s.git.BranchSHA(s.sc.PRBranch(j))),
			HTMLURL:           gh.Ptr(s.htmlURL(fmt.Sprintf("/pull/%d#pullrequestreview-%d", num, rv.ID))),
			PullRequestURL:    gh.Ptr(fmt.Sprintf("%s/pulls/%d", s.repoURL(api), num)),
			AuthorAssociation: gh.Ptr("MEMBER")}
	})
}

func (s *Server) reviewCommentObj(api string, rc scenario.ReviewComment) *gh.PullRequestComment {
	num := s.sc.PRNumber(rc.PR)
	sha := s.git.BranchSHA(s.sc.PRBranch(rc.PR))
	c := &gh.PullRequestComment{ID: gh.Ptr(rc.ID), NodeID: gh.Ptr(reviewCommentNodeID(rc.ID)), Body: s.body(rc.Body),
		Path: gh.Ptr(rc.Path), DiffHunk: gh.Ptr(rc.DiffHunk), Position: gh.Ptr(rc.Position), OriginalPosition: gh.Ptr(rc.Position),
		Line: gh.Ptr(rc.Line), OriginalLine: gh.Ptr(rc.Line), Side: gh.Ptr("RIGHT"), CommitID: gh.Ptr(sha), OriginalCommitID: gh.Ptr(sha),
		User: s.userObj(api, rc.Author), CreatedAt: ts(rc.Created), UpdatedAt: ts(rc.Created), AuthorAssociation: gh.Ptr("MEMBER"),
		SubjectType:    gh.Ptr("line"),
		URL:            gh.Ptr(fmt.Sprintf("%s/pulls/comments/%d", s.repoURL(api), rc.ID)),
		HTMLURL:        gh.Ptr(s.htmlURL(fmt.Sprintf("/pull/%d#discussion_r%d", num, rc.ID))),
		PullRequestURL: gh.Ptr(fmt.Sprintf("%s/pulls/%d", s.repoURL(api), num))}
	if rc.Review != 0 {
		c.PullRequestReviewID = gh.Ptr(rc.Review)
	}
	if rc.InReplyTo != 0 {
		c.InReplyTo = gh.Ptr(rc.InReplyTo)
	}
	return c
}

// withheldReviewComment reports whether review comment k (1-based) is
// one Options.WithholdReviewComments keeps out of the REST lists.
func (s *Server) withheldReviewComment(k int) bool {
	n, per := s.opts.WithholdReviewComments, s.sc.Config().ReviewCommentsPerPR
	return n > 0 && per > 0 && k%per == 0 && (k/per)%n == 0
}

// reviewCommentSeq is review comments lo…hi as REST lists them.
func (s *Server) reviewCommentSeq(lo, hi int) seq {
	q := rangeSeq(lo, hi)
	if s.opts.WithholdReviewComments <= 0 {
		return q
	}
	return filter(q, func(k int) bool { return !s.withheldReviewComment(k) })
}

func (s *Server) reviewCommentList(w http.ResponseWriter, r *http.Request, api string, lo, hi int, serve listFunc) {
	q, err := since(s.reviewCommentSeq(lo, hi), r, func(k int) time.Time { return s.sc.ReviewComment(k).Created })
	if err != nil {
		badRequest(w, err)
		return
	}
	if r.URL.Query().Get("direction") == "desc" {
		q = reverse(q)
	}
	serve(w, r, q, func(k int) any { return s.reviewCommentObj(api, s.sc.ReviewComment(k)) })
}

func (s *Server) repoReviewComments(w http.ResponseWriter, r *http.Request, api string) {
	s.reviewCommentList(w, r, api, 1, s.sc.ReviewCommentCount(), s.repoList)
}

func (s *Server) pullComments(w http.ResponseWriter, r *http.Request, api string) {
	if j, ok := s.prFromPath(w, r); ok {
		per := s.sc.Config().ReviewCommentsPerPR
		s.reviewCommentList(w, r, api, (j-1)*per+1, j*per, s.list)
	}
}

func (s *Server) requestedReviewers(w http.ResponseWriter, r *http.Request, api string) {
	j, ok := s.prFromPath(w, r)
	if !ok {
		return
	}
	out := &gh.Reviewers{Users: []*gh.User{}, Teams: []*gh.Team{}}
	for _, u := range s.sc.RequestedReviewers(j) {
		out.Users = append(out.Users, s.userObj(api, u))
	}
	respond(w, r, out)
}

func (s *Server) assetObj(api string, rel scenario.Release, a scenario.Asset) *gh.ReleaseAsset {
	return &gh.ReleaseAsset{ID: gh.Ptr(a.ID), NodeID: gh.Ptr(fmt.Sprintf("RA_%d", a.ID)), Name: gh.Ptr(a.Name), Label: gh.Ptr(""),
		State: gh.Ptr("uploaded"), ContentType: gh.Ptr(a.ContentType), Size: gh.Ptr(len(a.Content)), DownloadCount: gh.Ptr(0),
		CreatedAt: ts(rel.Created), UpdatedAt: ts(rel.Created), Uploader: s.userObj(api, s.sc.User(1)),
		URL:                gh.Ptr(fmt.Sprintf("%s/releases/assets/%d", s.repoURL(api), a.ID)),
		BrowserDownloadURL: gh.Ptr(s.htmlURL(fmt.Sprintf("/releases/download/%s/%s", rel.Tag, a.Name)))}
}

func (s *Server) releases(w http.ResponseWriter, r *http.Request, api string) {
	n := s.sc.Config().Releases
	// Newest first, as GitHub lists them.
	s.list(w, r, reverse(rangeSeq(1, n)), func(i int) any {
		rel := s.sc.Release(i)
		out := &gh.RepositoryRelease{ID: rel.ID, NodeID: fmt.Sprintf("RE_%d", rel.ID), TagName: rel.Tag, TargetCommitish: "main",
			Name: gh.Ptr(rel.Name), Body: s.body(rel.Body), CreatedAt: gh.Timestamp{Time: rel.Created}, PublishedAt: ts(rel.Created),
			Author: s.userObj(api, s.sc.User(1)), Assets: []*gh.ReleaseAsset{},
			URL: fmt.Sprintf("%s/releases/%d", s.repoURL(api), rel.ID), HTMLURL: s.htmlURL("/releases/tag/" + rel.Tag),
			AssetsURL:  fmt.Sprintf("%s/releases/%d/assets", s.repoURL(api), rel.ID),
			UploadURL:  fmt.Sprintf("%s/releases/%d/assets{?name,label}", s.repoURL(api), rel.ID),
			TarballURL: gh.Ptr(fmt.Sprintf("%s/tarball/%s", s.repoURL(api), rel.Tag)),
			ZipballURL: gh.Ptr(fmt.Sprintf("%s/zipball/%s", s.repoURL(api), rel.Tag))}
		for _, a := range rel.Assets {
			out.Assets = append(out.Assets, s.assetObj(api, rel, a))
		}
		return out
	})
}

// asset answers the API asset URL: metadata as JSON, or with
// Accept: application/octet-stream a redirect to the download, as GitHub does.
func (s *Server) asset(w http.ResponseWriter, r *http.Request, api string) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	rel, a, ok := s.sc.AssetByID(id)
	if err != nil || !ok {
		notFound(w)
		return
	}
	obj := s.assetObj(api, rel, a)
	if r.Header.Get("Accept") == "application/octet-stream" {
		http.Redirect(w, r, obj.GetBrowserDownloadURL(), http.StatusFound)
		return
	}
	respond(w, r, obj)
}

func (s *Server) assetDownload(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("owner") != Owner || r.PathValue("repo") != Repo {
		notFound(w)
		return
	}
	for i := 1; i <= s.sc.Config().Releases; i++ {
		rel := s.sc.Release(i)
		if rel.Tag != r.PathValue("tag") {
			continue
		}
		for _, a := range rel.Assets {
			if a.Name == r.PathValue("name") {
				w.Header().Set("Content-Type", a.ContentType)
				w.Header().Set("Content-Length", strconv.Itoa(len(a.Content)))
				_, _ = w.Write(a.Content)
				return
			}
		}
	}
	notFound(w)
}

func (s *Server) attachment(w http.ResponseWriter, r *http.Request) {
	b, ok := s.sc.Attachment(r.PathValue("name"))
	if !ok {
		notFound(w)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	_, _ = w.Write(b)
}

func (s *Server) collaborators(w http.ResponseWriter, r *http.Request, api string) {
	s.list(w, r, rangeSeq(1, s.sc.Config().Users), func(i int) any {
		u := s.userObj(api, s.sc.User(i))
		role := s.sc.Permission(i)
		rank := map[string]int{"read": 1, "triage": 2, "write": 3, "maintain": 4, "admin": 5}[role]
		u.Permissions = &gh.RepositoryPermissions{Pull: gh.Ptr(rank >= 1), Triage: gh.Ptr(rank >= 2), Push: gh.Ptr(rank >= 3),
			Maintain: gh.Ptr(rank >= 4), Admin: gh.Ptr(rank >= 5)}
		u.RoleName = gh.Ptr(role)
		return u
	})
}

func (s *Server) branchSHA(b int) string {
	if b == 0 {
		return s.git.MainSHA(s.sc.Config().Commits - 1)
	}
	return s.git.BranchSHA(b)
}

func (s *Server) branchObj(api string, b int) *gh.Branch {
	br := s.sc.Branch(b)
	sha := s.branchSHA(b)
	return &gh.Branch{Name: gh.Ptr(br.Name), Protected: gh.Ptr(br.Protected),
		Commit:        &gh.RepositoryCommit{SHA: gh.Ptr(sha), URL: gh.Ptr(s.repoURL(api) + "/commits/" + sha)},
		ProtectionURL: gh.Ptr(s.repoURL(api) + "/branches/" + escapeBranch(br.Name) + "/protection")}
}

func (s *Server) branches(w http.ResponseWriter, r *http.Request, api string) {
	q := rangeSeq(0, s.sc.BranchCount()-1)
	if r.URL.Query().Get("protected") == "true" {
		q = filter(q, func(b int) bool { return s.sc.Branch(b).Protected })
	}
	s.list(w, r, q, func(b int) any { return s.branchObj(api, b) })
}

// branch serves branches/{name} and branches/{name}/protection; branch
// names contain slashes, so the tail is parsed here.
func (s *Server) branch(w http.ResponseWriter, r *http.Request, api string) {
	rest := r.PathValue("rest")
	name, protection := strings.CutSuffix(rest, "/protection")
	br, ok := s.sc.BranchByName(name)
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Branch not found", "documentation_url": docsURL})
		return
	}
	if !protection {
		respond(w, r, s.branchObj(api, br.Index))
		return
	}
	if !br.Protected {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Branch not protected", "documentation_url": docsURL})
		return
	}
	u := s.repoURL(api) + "/branches/" + escapeBranch(br.Name) + "/protection"
	respond(w, r, &gh.Protection{URL: gh.Ptr(u),
		RequiredStatusChecks: &gh.RequiredStatusChecks{Strict: true, Contexts: &[]string{"ci/build"}},
		RequiredPullRequestReviews: &gh.PullRequestReviewsEnforcement{RequiredApprovingReviewCount: 1 + br.Index%2,
			RequireCodeOwnerReviews: br.Index == 0, DismissStaleReviews: true},
		EnforceAdmins:        &gh.AdminEnforcement{URL: gh.Ptr(u + "/enforce_admins"), Enabled: br.Index == 0},
		AllowForcePushes:     &gh.AllowForcePushes{Enabled: false},
		AllowDeletions:       &gh.AllowDeletions{Enabled: false},
		RequireLinearHistory: &gh.RequireLinearHistory{Enabled: br.Index == 0}})
}

func (s *Server) user(w http.ResponseWriter, r *http.Request) {
	u, ok := s.sc.UserByLogin(r.PathValue("login"))
	if !ok {
		notFound(w)
		return
	}
	api := s.apiBase(r)
	obj := s.userObj(api, u)
	obj.Name, obj.Email = gh.Ptr(u.Name), gh.Ptr(u.Email)
	obj.CreatedAt, obj.UpdatedAt = ts(scenario.Epoch()), ts(scenario.Epoch())
	respond(w, r, obj)
}

// rateLimit reports the budget headers the middleware set on this response.
func (s *Server) rateLimit(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	limit, _ := strconv.Atoi(h.Get("X-RateLimit-Limit"))
	remaining, _ := strconv.Atoi(h.Get("X-RateLimit-Remaining"))
	reset, _ := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64)
	if limit == 0 { // unlimited: report GitHub's default generously
		limit, remaining, reset = 5000, 5000, scenario.Epoch().Unix()
	}
	core := &gh.Rate{Limit: limit, Remaining: remaining, Used: limit - remaining, Reset: gh.Timestamp{Time: time.Unix(reset, 0).UTC()}, Resource: "core"}
	respond(w, r, map[string]any{"resources": map[string]*gh.Rate{"core": core}, "rate": core})
}
