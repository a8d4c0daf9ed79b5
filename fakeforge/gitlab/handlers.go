package gitlab

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry/fakeforge/scenario"
)

func tp(t time.Time) *time.Time { return &t }

func (s *Server) webURL(path string) string { return s.base + "/" + path }

func (s *Server) basicUser(u scenario.User) *gl.BasicUser {
	return &gl.BasicUser{ID: u.ID, Username: u.Login, Name: u.Name, State: "active",
		CreatedAt: tp(scenario.Epoch()), AvatarURL: s.base + "/uploads/-/system/user/avatar/" + strconv.FormatInt(u.ID, 10) + "/avatar.png",
		WebURL: s.webURL(u.Login)}
}

// uploadSecret is the random-looking directory GitLab keeps a project's
// uploads under; bodies link to /uploads/<secret>/<file>.
func uploadSecret(p proj) string {
	sum := md5.Sum([]byte("uploads/" + p.FullPath))
	return hex.EncodeToString(sum[:])
}

// body puts the project's upload path in place of the scenario's
// attachment placeholder, as relative links, the way GitLab stores them.
func body(p proj, text string) string {
	return strings.ReplaceAll(text, scenario.AttachmentPrefix, "/uploads/"+uploadSecret(p))
}

// versionString is the version the instance reports (Options.Version).
func (s *Server) versionString() string {
	if s.opts.Version != "" {
		return s.opts.Version
	}
	return Version
}

func (s *Server) version(w http.ResponseWriter, _ *http.Request) {
	if s.opts.NoVersionEndpoint {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "404 Not Found"})
		return
	}
	writeJSON(w, http.StatusOK, &gl.Version{Version: s.versionString(), Revision: "fakeforge"})
}

func (s *Server) metadata(w http.ResponseWriter, _ *http.Request) {
	v := s.versionString()
	writeJSON(w, http.StatusOK, &gl.Metadata{Version: v, Revision: "fakeforge", Enterprise: strings.HasSuffix(v, "-ee"),
		KAS: gl.MetadataKAS{Enabled: false}})
}

func (s *Server) tokenSelf(w http.ResponseWriter, _ *http.Request) {
	scopes := s.opts.Scopes
	if scopes == nil {
		scopes = []string{"api", "read_api", "read_repository"}
	}
	writeJSON(w, http.StatusOK, &gl.PersonalAccessToken{ID: 1, Name: "fakeforge", Active: true, UserID: tokenUserID,
		Scopes: scopes, CreatedAt: tp(scenario.Epoch()),
		ExpiresAt: gl.Ptr(gl.ISOTime(scenario.Epoch().AddDate(10, 0, 0)))})
}

func (s *Server) currentUser(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, &gl.User{ID: tokenUserID, Username: "root", Name: "Administrator", State: "active",
		Email: "admin@example.test", PublicEmail: "admin@example.test", IsAdmin: true, CreatedAt: tp(scenario.Epoch()),
		WebURL: s.webURL("root")})
}

// user answers users/:id with the public e-mail importers map people by.
func (s *Server) user(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("uid"), 10, 64)
	if err != nil {
		notFound(w, "User")
		return
	}
	i := int(id) - int(s.sc.User(1).ID) + 1
	if i < 1 || i > s.sc.Config().Users {
		notFound(w, "User")
		return
	}
	u := s.sc.User(i)
	b := s.basicUser(u)
	writeJSON(w, http.StatusOK, &gl.User{ID: u.ID, Username: u.Login, Name: u.Name, State: "active",
		PublicEmail: u.Email, CreatedAt: b.CreatedAt, AvatarURL: b.AvatarURL, WebURL: b.WebURL})
}

// group embeds client-go's Group and overrides parent_id, which GitLab
// sends as null for a top-level group.
type group struct {
	*gl.Group
	ParentID *int64 `json:"parent_id"`
}

func (s *Server) groupObj(g scenario.Group) group {
	full := g.Name
	for p := g.Parent; p >= 0; p = s.groups[p].Parent {
		full = s.groups[p].Name + " / " + full
	}
	out := group{Group: &gl.Group{ID: g.ID, Name: g.Name, Path: g.Path, FullPath: g.FullPath, FullName: full,
		Description: "Simulated group " + g.FullPath, Visibility: gl.PrivateVisibility, LFSEnabled: true,
		RequestAccessEnabled: true, ShareWithGroupLock: false, ProjectCreationLevel: gl.DeveloperProjectCreation,
		SubGroupCreationLevel: gl.MaintainerSubGroupCreationLevelValue, EmailsEnabled: true, DefaultBranch: "main",
		WebURL: s.base + "/groups/" + g.FullPath, CreatedAt: tp(scenario.Epoch().Add(time.Duration(g.Index) * time.Minute))}}
	if g.Parent >= 0 {
		out.Group.ParentID = s.groups[g.Parent].ID
		out.ParentID = gl.Ptr(s.groups[g.Parent].ID)
	}
	return out
}

func (s *Server) group(w http.ResponseWriter, _ *http.Request, g scenario.Group) {
	writeJSON(w, http.StatusOK, s.groupObj(g))
}

func (s *Server) groupList(w http.ResponseWriter, r *http.Request, gs []scenario.Group) {
	s.list(w, r, rangeSeq(0, len(gs)-1), func(i int) any { return s.groupObj(gs[i]) })
}

func (s *Server) subgroups(w http.ResponseWriter, r *http.Request, g scenario.Group) {
	s.groupList(w, r, s.sc.Children(g.Index))
}

func (s *Server) descendantGroups(w http.ResponseWriter, r *http.Request, g scenario.Group) {
	s.groupList(w, r, s.sc.Descendants(g.Index))
}

// groupProjects lists the group's projects, and with include_subgroups
// those of every descendant; newest first unless sort=asc, as GitLab does.
func (s *Server) groupProjects(w http.ResponseWriter, r *http.Request, g scenario.Group) {
	in := map[int]bool{g.Index: true}
	if v, _ := strconv.ParseBool(r.URL.Query().Get("include_subgroups")); v {
		for _, d := range s.sc.Descendants(g.Index) {
			in[d.Index] = true
		}
	}
	q := filter(rangeSeq(0, len(s.projects)-1), func(i int) bool { return in[s.projects[i].Group] })
	q, ok := ordered(w, r, q, "desc")
	if !ok {
		return
	}
	s.list(w, r, q, func(i int) any { return s.projectObj(s.proj(s.projects[i])) })
}

func (s *Server) projectObj(p proj) *gl.Project {
	g := s.groups[p.Group]
	c := s.sc.Config()
	var parent int64
	if g.Parent >= 0 {
		parent = s.groups[g.Parent].ID
	}
	created := scenario.Epoch().Add(time.Duration(p.Index) * time.Minute)
	groupName := s.groupObj(g).FullName
	return &gl.Project{ID: p.ID, Name: p.Name, Path: p.Path, PathWithNamespace: p.FullPath,
		NameWithNamespace: groupName + " / " + p.Name, Description: "Simulated project " + p.FullPath,
		DefaultBranch: "main", Visibility: gl.PrivateVisibility, WebURL: s.webURL(p.FullPath),
		HTTPURLToRepo: s.webURL(p.FullPath + ".git"), SSHURLToRepo: "git@fakeforge:" + p.FullPath + ".git",
		ReadmeURL: s.webURL(p.FullPath + "/-/blob/main/README.md"), Topics: []string{},
		Namespace: &gl.ProjectNamespace{ID: g.ID, Name: g.Name, Path: g.Path, Kind: "group", FullPath: g.FullPath,
			ParentID: parent, WebURL: s.base + "/groups/" + g.FullPath},
		CreatedAt: tp(created), UpdatedAt: tp(scenario.ItemUpdated(s.sc.Items())),
		LastActivityAt: tp(scenario.ItemUpdated(s.sc.Items())), CreatorID: tokenUserID,
		OpenIssuesCount: int64(c.Issues - c.Issues/3), LFSEnabled: true, RequestAccessEnabled: true,
		Permissions: &gl.Permissions{ProjectAccess: &gl.ProjectAccess{AccessLevel: gl.OwnerPermissions}}}
}

func (s *Server) project(w http.ResponseWriter, _ *http.Request, p proj) {
	writeJSON(w, http.StatusOK, s.projectObj(p))
}

func (s *Server) labelObj(p proj, l scenario.Label) *gl.Label {
	return &gl.Label{ID: p.off + l.ID, Name: l.Name, Color: "#" + l.Color, TextColor: "#FFFFFF",
		Description: l.Description, IsProjectLabel: true}
}

func (s *Server) labels(w http.ResponseWriter, r *http.Request, p proj) {
	s.list(w, r, rangeSeq(1, s.sc.Config().Labels), func(i int) any { return s.labelObj(p, s.sc.Label(i)) })
}

func (s *Server) milestoneObj(p proj, m scenario.Milestone) *gl.Milestone {
	state := "closed"
	if m.Open {
		state = "active"
	}
	return &gl.Milestone{ID: p.off + m.ID, IID: int64(m.Number), ProjectID: p.ID, Title: m.Title,
		Description: body(p, m.Description), State: state, StartDate: gl.Ptr(gl.ISOTime(m.Created)),
		DueDate: gl.Ptr(gl.ISOTime(m.DueOn)), CreatedAt: tp(m.Created), UpdatedAt: tp(m.Updated),
		Expired: gl.Ptr(false), WebURL: s.webURL(fmt.Sprintf("%s/-/milestones/%d", p.FullPath, m.Number))}
}

func (s *Server) milestones(w http.ResponseWriter, r *http.Request, p proj) {
	q := rangeSeq(1, s.sc.Config().Milestones)
	switch st := r.URL.Query().Get("state"); st {
	case "":
	case "active", "closed":
		q = filter(q, func(i int) bool { return s.sc.Milestone(i).Open == (st == "active") })
	default:
		badRequest(w, "state does not have a valid value")
		return
	}
	s.list(w, r, q, func(i int) any { return s.milestoneObj(p, s.sc.Milestone(i)) })
}

// GitLab's award emoji names for GitHub's reactions.
var emojiNames = map[string]string{"+1": "thumbsup", "-1": "thumbsdown", "laugh": "laughing", "confused": "confused",
	"heart": "heart", "hooray": "tada", "rocket": "rocket", "eyes": "eyes"}

func votes(it scenario.Item) (up, down int64) {
	for _, x := range it.Reactions {
		switch x.Content {
		case "+1":
			up++
		case "-1":
			down++
		}
	}
	return up, down
}

func (s *Server) itemLabels(it scenario.Item) gl.Labels {
	out := gl.Labels{}
	for _, l := range it.Labels {
		out = append(out, l.Name)
	}
	return out
}

func (s *Server) issueObj(p proj, j int) *gl.Issue {
	it := s.sc.Item(s.sc.IssueNumber(j))
	up, down := votes(it)
	iss := &gl.Issue{ID: p.off + it.ID, IID: int64(j), ProjectID: p.ID, Title: it.Title, Description: body(p, it.Body),
		State: "opened", Author: (*gl.IssueAuthor)(s.issueUser(it.Author)), Assignees: []*gl.IssueAssignee{},
		CreatedAt: tp(it.Created), UpdatedAt: tp(it.Updated), Labels: s.itemLabels(it), Upvotes: up, Downvotes: down,
		DiscussionLocked: it.Locked, UserNotesCount: int64(it.Comments), IssueType: gl.Ptr("issue"), DueDate: IssueDueDate(j),
		WebURL:               s.webURL(fmt.Sprintf("%s/-/issues/%d", p.FullPath, j)),
		References:           &gl.IssueReferences{Short: fmt.Sprintf("#%d", j), Relative: fmt.Sprintf("#%d", j), Full: fmt.Sprintf("%s#%d", p.FullPath, j)},
		TimeStats:            &gl.TimeStats{HumanTimeEstimate: "", HumanTotalTimeSpent: ""},
		TaskCompletionStatus: &gl.TasksCompletionStatus{Count: 2, CompletedCount: 1},
		Links: &gl.IssueLinks{Self: fmt.Sprintf("%s/api/v4/projects/%d/issues/%d", s.base, p.ID, j),
			Notes:      fmt.Sprintf("%s/api/v4/projects/%d/issues/%d/notes", s.base, p.ID, j),
			AwardEmoji: fmt.Sprintf("%s/api/v4/projects/%d/issues/%d/award_emoji", s.base, p.ID, j),
			Project:    fmt.Sprintf("%s/api/v4/projects/%d", s.base, p.ID)}}
	for _, a := range it.Assignees {
		iss.Assignees = append(iss.Assignees, (*gl.IssueAssignee)(s.issueUser(a)))
	}
	if len(iss.Assignees) > 0 {
		iss.Assignee = iss.Assignees[0]
	}
	if it.Milestone > 0 {
		iss.Milestone = s.milestoneObj(p, s.sc.Milestone(it.Milestone))
	}
	if !it.Open {
		iss.State, iss.ClosedAt, iss.ClosedBy = "closed", tp(it.Closed), (*gl.IssueCloser)(s.issueUser(it.ClosedBy))
	}
	return iss
}

// issueUser is the user shape issues embed; IssueAuthor, IssueAssignee and
// IssueCloser share it.
func (s *Server) issueUser(u scenario.User) *gl.IssueAuthor {
	b := s.basicUser(u)
	return &gl.IssueAuthor{ID: b.ID, State: b.State, WebURL: b.WebURL, Name: b.Name, AvatarURL: b.AvatarURL, Username: b.Username}
}

// itemSeq applies GitLab's state, created_after, updated_after, order_by
// and sort to iids 1…n whose item numbers (so times) grow with the iid.
func (s *Server) itemSeq(w http.ResponseWriter, r *http.Request, n int, number func(j int) int, states map[string]func(sc *scenario.Scenario, n int) bool) (seq, bool) {
	q := rangeSeq(1, n)
	var ok bool
	if q, ok = after(w, r, q, "created_after", func(j int) time.Time { return scenario.ItemCreated(number(j)) }); !ok {
		return q, false
	}
	if q, ok = after(w, r, q, "updated_after", func(j int) time.Time { return scenario.ItemUpdated(number(j)) }); !ok {
		return q, false
	}
	st := r.URL.Query().Get("state")
	if st != "" && st != "all" {
		keep, known := states[st]
		if !known {
			badRequest(w, "state does not have a valid value")
			return q, false
		}
		q = filter(q, func(j int) bool { return keep(s.sc, number(j)) })
	}
	switch r.URL.Query().Get("order_by") {
	case "", "created_at", "updated_at", "id", "iid":
	default:
		badRequest(w, "order_by does not have a valid value")
		return q, false
	}
	return ordered(w, r, q, "desc")
}

// The state filters of issues and merge requests, on item numbers.
var issueStates = map[string]func(*scenario.Scenario, int) bool{
	"opened": func(_ *scenario.Scenario, n int) bool { return scenario.ItemOpen(n) },
	"closed": func(_ *scenario.Scenario, n int) bool { return !scenario.ItemOpen(n) },
}

var mrStates = map[string]func(*scenario.Scenario, int) bool{
	"opened": func(_ *scenario.Scenario, n int) bool { return scenario.ItemOpen(n) },
	"closed": func(sc *scenario.Scenario, n int) bool { return !scenario.ItemOpen(n) && !sc.ItemMerged(n) },
	"merged": func(sc *scenario.Scenario, n int) bool { return sc.ItemMerged(n) },
	"locked": func(*scenario.Scenario, int) bool { return false },
}

func (s *Server) issues(w http.ResponseWriter, r *http.Request, p proj) {
	if q, ok := s.itemSeq(w, r, s.sc.Config().Issues, s.sc.IssueNumber, issueStates); ok {
		s.list(w, r, q, func(j int) any { return s.issueObj(p, j) })
	}
}

// iidFromPath reads {iid} within 1…n, or answers GitLab's 404 for what.
func iidFromPath(w http.ResponseWriter, r *http.Request, n int, what string) (int, bool) {
	j, err := strconv.Atoi(r.PathValue("iid"))
	if err != nil || j < 1 || j > n {
		notFound(w, what)
		return 0, false
	}
	return j, true
}

func (s *Server) issue(w http.ResponseWriter, r *http.Request, p proj) {
	if j, ok := iidFromPath(w, r, s.sc.Config().Issues, "Issue"); ok {
		writeJSON(w, http.StatusOK, s.issueObj(p, j))
	}
}

func (s *Server) mrObj(p proj, j int) *gl.MergeRequest {
	num := s.sc.PRNumber(j)
	it := s.sc.Item(num)
	c := s.sc.Config()
	branch := s.sc.PRBranch(j)
	head, base := s.git.BranchSHA(branch), s.git.MainSHA(c.Commits-1)
	up, down := votes(it)
	mr := &gl.MergeRequest{BasicMergeRequest: gl.BasicMergeRequest{ID: p.off + 900_000_000 + int64(j), IID: int64(j),
		TargetBranch: "main", SourceBranch: s.sc.Branch(branch).Name, ProjectID: p.ID, SourceProjectID: p.ID, TargetProjectID: p.ID,
		Title: it.Title, Description: body(p, it.Body), State: "opened", CreatedAt: tp(it.Created), UpdatedAt: tp(it.Updated),
		Upvotes: up, Downvotes: down, Author: s.basicUser(it.Author), Assignees: []*gl.BasicUser{}, Reviewers: []*gl.BasicUser{},
		Labels: s.itemLabels(it), Draft: j%11 == 0, DetailedMergeStatus: "mergeable", SHA: head,
		UserNotesCount: int64(it.Comments + c.ReviewCommentsPerPR), DiscussionLocked: it.Locked,
		WebURL:     s.webURL(fmt.Sprintf("%s/-/merge_requests/%d", p.FullPath, j)),
		References: &gl.IssueReferences{Short: fmt.Sprintf("!%d", j), Relative: fmt.Sprintf("!%d", j), Full: fmt.Sprintf("%s!%d", p.FullPath, j)},
		TimeStats:  &gl.TimeStats{}, TaskCompletionStatus: &gl.TasksCompletionStatus{Count: 2, CompletedCount: 1},
		BlockingDiscussionsResolved: true},
		DiffRefs: gl.MergeRequestDiffRefs{BaseSha: base, HeadSha: head, StartSha: base}, ChangesCount: "1",
		User: gl.MergeRequestUser{CanMerge: true}}
	for _, a := range it.Assignees {
		mr.Assignees = append(mr.Assignees, s.basicUser(a))
	}
	if len(mr.Assignees) > 0 {
		mr.Assignee = mr.Assignees[0]
	}
	for _, u := range s.sc.RequestedReviewers(j) {
		mr.Reviewers = append(mr.Reviewers, s.basicUser(u))
	}
	if it.Milestone > 0 {
		mr.Milestone = s.milestoneObj(p, s.sc.Milestone(it.Milestone))
	}
	switch {
	case it.Merged:
		mr.State, mr.MergedAt, mr.MergeUser, mr.MergedBy = "merged", tp(it.Closed), s.basicUser(it.ClosedBy), s.basicUser(it.ClosedBy)
		mr.MergeCommitSHA, mr.DetailedMergeStatus = head, "not_open"
	case !it.Open:
		mr.State, mr.ClosedAt, mr.ClosedBy, mr.DetailedMergeStatus = "closed", tp(it.Closed), s.basicUser(it.ClosedBy), "not_open"
	}
	return mr
}

func (s *Server) mergeRequests(w http.ResponseWriter, r *http.Request, p proj) {
	if q, ok := s.itemSeq(w, r, s.sc.Config().PullRequests, s.sc.PRNumber, mrStates); ok {
		// Lists carry the basic shape, without diff_refs and the like.
		s.list(w, r, q, func(j int) any { return &s.mrObj(p, j).BasicMergeRequest })
	}
}

func (s *Server) mergeRequest(w http.ResponseWriter, r *http.Request, p proj) {
	if j, ok := iidFromPath(w, r, s.sc.Config().PullRequests, "Merge Request"); ok {
		writeJSON(w, http.StatusOK, s.mrObj(p, j))
	}
}

// note embeds client-go's Note and overrides type, which GitLab sends as
// null for a plain comment.
type note struct {
	*gl.Note
	Type *string `json:"type"`
}

// discussion is client-go's Discussion with notes in the shape above.
type discussion struct {
	ID             string `json:"id"`
	IndividualNote bool   `json:"individual_note"`
	Notes          []note `json:"notes"`
}

// noteable is the issue or merge request notes hang off.
type noteable struct {
	kind string // "Issue" or "MergeRequest"
	id   int64
	iid  int
}

func (s *Server) noteAuthor(u scenario.User) gl.NoteAuthor {
	b := s.basicUser(u)
	return gl.NoteAuthor{ID: b.ID, Username: b.Username, Name: b.Name, State: b.State, AvatarURL: b.AvatarURL, WebURL: b.WebURL}
}

func (s *Server) commentNote(p proj, on noteable, c int) note {
	cm := s.sc.Comment(c)
	return note{Note: &gl.Note{ID: p.off + cm.ID, Body: body(p, cm.Body), Author: s.noteAuthor(cm.Author),
		CreatedAt: tp(cm.Created), UpdatedAt: tp(cm.Updated), NoteableID: on.id, NoteableType: on.kind,
		NoteableIID: int64(on.iid), ProjectID: p.ID}}
}

// diffNote is review comment rc of merge request j as a DiffNote on the
// new file's line; replies stay in the thread of the comment they answer.
func (s *Server) diffNote(p proj, j, rc int) note {
	c := s.sc.ReviewComment(rc)
	mr := noteable{kind: "MergeRequest", id: p.off + 900_000_000 + int64(j), iid: j}
	head, base := s.git.BranchSHA(s.sc.PRBranch(j)), s.git.MainSHA(s.sc.Config().Commits-1)
	n := note{Note: &gl.Note{ID: p.off + c.ID, Type: "DiffNote", Body: body(p, c.Body), Author: s.noteAuthor(c.Author),
		CreatedAt: tp(c.Created), UpdatedAt: tp(c.Created), NoteableID: mr.id, NoteableType: mr.kind, NoteableIID: int64(j),
		ProjectID: p.ID, Resolvable: true, CommitID: head,
		Position: &gl.NotePosition{BaseSHA: base, StartSHA: base, HeadSHA: head, PositionType: "text",
			NewPath: c.Path, NewLine: int64(c.Line), OldPath: c.Path}}}
	n.Type = gl.Ptr("DiffNote")
	return n
}

func (s *Server) issueNoteable(p proj, j int) noteable {
	return noteable{kind: "Issue", id: p.off + s.sc.Item(s.sc.IssueNumber(j)).ID, iid: j}
}

func (s *Server) issueNotes(w http.ResponseWriter, r *http.Request, p proj) {
	j, ok := iidFromPath(w, r, s.sc.Config().Issues, "Issue")
	if !ok {
		return
	}
	lo, hi := s.issueComments(j)
	on := s.issueNoteable(p, j)
	if q, ok := ordered(w, r, rangeSeq(lo, hi), "desc"); ok {
		s.list(w, r, q, func(c int) any { return s.commentNote(p, on, c) })
	}
}

// issueComments is the range of issue j's comments the REST lists give
// (Options.WithholdIssueNotes).
func (s *Server) issueComments(j int) (lo, hi int) {
	lo, hi = s.sc.ItemComments(s.sc.IssueNumber(j))
	if n := s.opts.WithholdIssueNotes; n > 0 && j%n == 0 && lo <= hi {
		lo++
	}
	return lo, hi
}

func (s *Server) issueDiscussions(w http.ResponseWriter, r *http.Request, p proj) {
	j, ok := iidFromPath(w, r, s.sc.Config().Issues, "Issue")
	if !ok {
		return
	}
	lo, hi := s.issueComments(j)
	on := s.issueNoteable(p, j)
	s.list(w, r, rangeSeq(lo, hi), func(c int) any {
		n := s.commentNote(p, on, c)
		return discussion{ID: discussionID(p, "issue", n.ID), IndividualNote: true, Notes: []note{n}}
	})
}

// mrThreads is how many diff threads merge request j has: review comments
// pair up, each second one replying to the one before.
func (s *Server) mrThreads() int { return (s.sc.Config().ReviewCommentsPerPR + 1) / 2 }

// mrNoteAt returns note k (0-based, in creation order) of merge request j:
// its review comments, then its conversation comments.
func (s *Server) mrNoteAt(p proj, j, k int) note {
	per := s.sc.Config().ReviewCommentsPerPR
	if k < per {
		return s.diffNote(p, j, (j-1)*per+1+k)
	}
	lo, _ := s.sc.ItemComments(s.sc.PRNumber(j))
	return s.commentNote(p, noteable{kind: "MergeRequest", id: p.off + 900_000_000 + int64(j), iid: j}, lo+k-per)
}

func (s *Server) mrNotes(w http.ResponseWriter, r *http.Request, p proj) {
	j, ok := iidFromPath(w, r, s.sc.Config().PullRequests, "Merge Request")
	if !ok {
		return
	}
	n := s.sc.Config().ReviewCommentsPerPR + s.sc.Config().CommentsPerItem
	if q, ok := ordered(w, r, rangeSeq(0, n-1), "desc"); ok {
		s.list(w, r, q, func(k int) any { return s.mrNoteAt(p, j, k) })
	}
}

// mrDiscussions lists diff threads (oldest first, as they were created
// first) and then each conversation comment as an individual note.
func (s *Server) mrDiscussions(w http.ResponseWriter, r *http.Request, p proj) {
	j, ok := iidFromPath(w, r, s.sc.Config().PullRequests, "Merge Request")
	if !ok {
		return
	}
	per := s.sc.Config().ReviewCommentsPerPR
	threads := s.mrThreads()
	s.list(w, r, rangeSeq(0, threads+s.sc.Config().CommentsPerItem-1), func(d int) any {
		if d < threads {
			root := s.mrNoteAt(p, j, 2*d)
			out := discussion{ID: discussionID(p, "mr", root.ID), Notes: []note{root}}
			if 2*d+1 < per {
				out.Notes = append(out.Notes, s.mrNoteAt(p, j, 2*d+1))
			}
			return out
		}
		n := s.mrNoteAt(p, j, per+d-threads)
		return discussion{ID: discussionID(p, "mr", n.ID), IndividualNote: true, Notes: []note{n}}
	})
}

func (s *Server) approvals(w http.ResponseWriter, r *http.Request, p proj) {
	j, ok := iidFromPath(w, r, s.sc.Config().PullRequests, "Merge Request")
	if !ok {
		return
	}
	mr := s.mrObj(p, j)
	out := &gl.MergeRequestApprovals{ID: mr.ID, IID: mr.IID, ProjectID: p.ID, Title: mr.Title, Description: mr.Description,
		State: mr.State, CreatedAt: mr.CreatedAt, UpdatedAt: mr.UpdatedAt, MergeStatus: "can_be_merged",
		ApprovedBy: []*gl.MergeRequestApproverUser{}, SuggestedApprovers: []*gl.BasicUser{},
		Approvers: []*gl.MergeRequestApproverUser{}, ApproverGroups: []*gl.MergeRequestApproverGroup{}, UserCanApprove: true}
	lo, hi := s.sc.PRReviews(j)
	for k := lo; k <= hi; k++ {
		if rv := s.sc.Review(k); rv.State == "APPROVED" {
			out.ApprovedBy = append(out.ApprovedBy, &gl.MergeRequestApproverUser{User: s.basicUser(rv.Author), ApprovedAt: tp(rv.Submitted)})
		}
	}
	out.Approved = len(out.ApprovedBy) > 0
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) awardEmoji(w http.ResponseWriter, r *http.Request, p proj, it scenario.Item, on noteable) {
	s.list(w, r, rangeSeq(0, len(it.Reactions)-1), func(k int) any {
		x := it.Reactions[k]
		return &gl.AwardEmoji{ID: p.off + x.ID, Name: emojiNames[x.Content], User: *s.basicUser(x.User),
			CreatedAt: tp(x.Created), UpdatedAt: tp(x.Created), AwardableID: on.id, AwardableType: on.kind}
	})
}

func (s *Server) issueAwardEmoji(w http.ResponseWriter, r *http.Request, p proj) {
	if j, ok := iidFromPath(w, r, s.sc.Config().Issues, "Issue"); ok {
		s.awardEmoji(w, r, p, s.sc.Item(s.sc.IssueNumber(j)), s.issueNoteable(p, j))
	}
}

func (s *Server) mrAwardEmoji(w http.ResponseWriter, r *http.Request, p proj) {
	if j, ok := iidFromPath(w, r, s.sc.Config().PullRequests, "Merge Request"); ok {
		s.awardEmoji(w, r, p, s.sc.Item(s.sc.PRNumber(j)), noteable{kind: "MergeRequest", id: p.off + 900_000_000 + int64(j), iid: j})
	}
}

// noteAwardEmoji answers a note's award emoji: notes carry none in the
// scenario, but an unknown note is 404 as on GitLab.
func (s *Server) noteAwardEmoji(w http.ResponseWriter, r *http.Request, known func(id int64) bool) {
	id, err := strconv.ParseInt(r.PathValue("nid"), 10, 64)
	if err != nil || !known(id) {
		notFound(w, "Note")
		return
	}
	s.list(w, r, seq{}, nil)
}

func (s *Server) issueNoteAwardEmoji(w http.ResponseWriter, r *http.Request, p proj) {
	j, ok := iidFromPath(w, r, s.sc.Config().Issues, "Issue")
	if !ok {
		return
	}
	lo, hi := s.sc.ItemComments(s.sc.IssueNumber(j))
	s.noteAwardEmoji(w, r, func(id int64) bool {
		return lo <= hi && id >= p.off+s.sc.Comment(lo).ID && id <= p.off+s.sc.Comment(hi).ID
	})
}

func (s *Server) mrNoteAwardEmoji(w http.ResponseWriter, r *http.Request, p proj) {
	j, ok := iidFromPath(w, r, s.sc.Config().PullRequests, "Merge Request")
	if !ok {
		return
	}
	n := s.sc.Config().ReviewCommentsPerPR + s.sc.Config().CommentsPerItem
	s.noteAwardEmoji(w, r, func(id int64) bool {
		for k := range n {
			if s.mrNoteAt(p, j, k).ID == id {
				return true
			}
		}
		return false
	})
}

func (s *Server) assetURL(p proj, tag, name string) string {
	return s.webURL(fmt.Sprintf("%s/-/releases/%s/downloads/%s", p.FullPath, url.PathEscape(tag), url.PathEscape(name)))
}

func (s *Server) releaseObj(p proj, i int) *gl.Release {
	rel := s.sc.Release(i)
	sha := s.git.MainSHA(rel.Commit)
	out := &gl.Release{TagName: rel.Tag, Name: rel.Name, Description: body(p, rel.Body), CreatedAt: tp(rel.Created),
		ReleasedAt: tp(rel.Created), Author: *s.basicUser(s.sc.User(1)),
		Commit: gl.Commit{ID: sha, ShortID: sha[:8], Title: fmt.Sprintf("Change %d", rel.Commit), Message: fmt.Sprintf("Change %d", rel.Commit),
			AuthorName: "Fake Forge", AuthorEmail: "forge@example.test", CommitterName: "Fake Forge", CommitterEmail: "forge@example.test",
			CreatedAt: tp(scenario.Epoch().Add(time.Duration(rel.Commit) * time.Hour)), ParentIDs: []string{},
			WebURL: s.webURL(p.FullPath + "/-/commit/" + sha)},
		Milestones: []*gl.ReleaseMilestone{}, Evidences: []*gl.ReleaseEvidence{},
		CommitPath: "/" + p.FullPath + "/-/commit/" + sha, TagPath: "/" + p.FullPath + "/-/tags/" + rel.Tag,
		Links: gl.ReleaseLinks{Self: s.webURL(p.FullPath + "/-/releases/" + rel.Tag),
			EditURL: s.webURL(p.FullPath + "/-/releases/" + rel.Tag + "/edit")}}
	for _, f := range []string{"zip", "tar.gz", "tar.bz2", "tar"} {
		out.Assets.Sources = append(out.Assets.Sources, gl.ReleaseAssetsSource{Format: f,
			URL: s.webURL(fmt.Sprintf("%s/-/archive/%s/%s-%s.%s", p.FullPath, rel.Tag, p.Path, rel.Tag, f))})
	}
	out.Assets.Links = []*gl.ReleaseLink{}
	for _, a := range rel.Assets {
		u := s.assetURL(p, rel.Tag, a.Name)
		out.Assets.Links = append(out.Assets.Links, &gl.ReleaseLink{ID: p.off + a.ID, Name: a.Name, URL: u,
			DirectAssetURL: u, LinkType: gl.PackageLinkType})
	}
	out.Assets.Count = int64(len(out.Assets.Sources) + len(out.Assets.Links))
	return out
}

// releases lists newest first (released_at desc), GitLab's default.
func (s *Server) releases(w http.ResponseWriter, r *http.Request, p proj) {
	if q, ok := ordered(w, r, rangeSeq(1, s.sc.Config().Releases), "desc"); ok {
		s.list(w, r, q, func(i int) any { return s.releaseObj(p, i) })
	}
}

func (s *Server) serveAsset(w http.ResponseWriter, tag, name string) {
	for i := 1; i <= s.sc.Config().Releases; i++ {
		rel := s.sc.Release(i)
		if rel.Tag != tag {
			continue
		}
		for _, a := range rel.Assets {
			if a.Name == name {
				w.Header().Set("Content-Type", a.ContentType)
				w.Header().Set("Content-Length", strconv.Itoa(len(a.Content)))
				w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", a.Name))
				_, _ = w.Write(a.Content)
				return
			}
		}
	}
	writeJSON(w, http.StatusNotFound, map[string]string{"message": "404 Not Found"})
}

func (s *Server) assetDownload(w http.ResponseWriter, r *http.Request, _ proj) {
	s.serveAsset(w, r.PathValue("tag"), r.PathValue("name"))
}

// webAssetDownload serves <project>/-/releases/<tag>/downloads/<name>,
// the direct asset URL, for a token in any of GitLab's places.
func (s *Server) webAssetDownload(w http.ResponseWriter, r *http.Request) {
	projPath, rest, _ := strings.Cut(r.URL.Path, "/-/releases/")
	tag, name, ok := strings.Cut(rest, "/downloads/")
	if _, found := s.findProject(strings.TrimPrefix(projPath, "/")); !found || !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "404 Not Found"})
		return
	}
	s.authed(func(w http.ResponseWriter, _ *http.Request) { s.serveAsset(w, tag, name) })(w, r)
}

// upload serves <project>/uploads/<secret>/<file> and
// -/project/<id>/uploads/<secret>/<file>, GitLab's two upload paths.
func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	prefix, rest, _ := strings.Cut(r.URL.Path, "/uploads/")
	ref := strings.TrimPrefix(prefix, "/")
	if id, isID := strings.CutPrefix(ref, "-/project/"); isID {
		ref = id
	}
	p, found := s.findProject(ref)
	secret, name, ok := strings.Cut(rest, "/")
	if !found || !ok || secret != uploadSecret(p) {
		http.NotFound(w, r)
		return
	}
	b, ok := s.sc.Attachment(name)
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	_, _ = w.Write(b)
}

// apiUpload serves GET /projects/:id/uploads/:secret/:filename (GitLab
// 17.4 and later): an upload by its secret and file name.
func (s *Server) apiUpload(w http.ResponseWriter, r *http.Request, p proj) {
	b, ok := s.sc.Attachment(r.PathValue("name"))
	if r.PathValue("secret") != uploadSecret(p) || !ok {
		notFound(w, "File")
		return
	}
	w.Header().Set("Content-Type", "image/png")
	_, _ = w.Write(b)
}

// accessLevel maps the scenario's GitHub-style roles onto GitLab's.
func accessLevel(role string) gl.AccessLevelValue {
	return map[string]gl.AccessLevelValue{"admin": gl.OwnerPermissions, "maintain": gl.MaintainerPermissions,
		"write": gl.DeveloperPermissions, "triage": gl.ReporterPermissions, "read": gl.GuestPermissions}[role]
}

func (s *Server) memberObj(i int) *gl.ProjectMember {
	u := s.sc.User(i)
	b := s.basicUser(u)
	return &gl.ProjectMember{ID: u.ID, Username: u.Login, Name: u.Name, State: "active", CreatedAt: tp(scenario.Epoch()),
		AccessLevel: accessLevel(s.sc.Permission(i)), WebURL: b.WebURL, AvatarURL: b.AvatarURL,
		CreatedBy: &gl.MemberCreatedBy{ID: tokenUserID, Username: "root", Name: "Administrator", State: "active"}}
}

func (s *Server) members(w http.ResponseWriter, r *http.Request) {
	s.list(w, r, rangeSeq(1, s.sc.Config().Users), func(i int) any { return s.memberObj(i) })
}

func (s *Server) projectMembers(w http.ResponseWriter, r *http.Request, _ proj) { s.members(w, r) }

func (s *Server) groupMembers(w http.ResponseWriter, r *http.Request, _ scenario.Group) {
	s.members(w, r)
}

// IssueDueDate is issue j's due date: every third issue is due, on a day
// that depends only on j.
func IssueDueDate(j int) *gl.ISOTime {
	if j%3 != 0 {
		return nil
	}
	d := gl.ISOTime(time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, j))
	return &d
}
