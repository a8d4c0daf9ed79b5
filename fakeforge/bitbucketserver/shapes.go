package bitbucketserver

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/ferry-import/ferry/fakeforge/scenario"
)

// The shapes below follow Bitbucket Server's REST 1.0 documentation.

type link struct {
	Href string `json:"href"`
	Name string `json:"name,omitempty"`
}

type links struct {
	Self  []link `json:"self,omitempty"`
	Clone []link `json:"clone,omitempty"`
}

// User is a Bitbucket Server user.
type User struct {
	Name         string `json:"name"`
	EmailAddress string `json:"emailAddress"`
	ID           int64  `json:"id"`
	DisplayName  string `json:"displayName"`
	Active       bool   `json:"active"`
	Slug         string `json:"slug"`
	Type         string `json:"type"`
	Links        links  `json:"links"`
}

// Project is a Bitbucket Server project.
type Project struct {
	Key         string `json:"key"`
	ID          int    `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Public      bool   `json:"public"`
	Type        string `json:"type"`
	Links       links  `json:"links"`
}

// Repository is a Bitbucket Server repository.
type Repository struct {
	Slug          string  `json:"slug"`
	ID            int     `json:"id"`
	Name          string  `json:"name"`
	Description   string  `json:"description"`
	HierarchyID   string  `json:"hierarchyId"`
	ScmID         string  `json:"scmId"`
	State         string  `json:"state"`
	StatusMessage string  `json:"statusMessage"`
	Forkable      bool    `json:"forkable"`
	Project       Project `json:"project"`
	Public        bool    `json:"public"`
	Links         links   `json:"links"`
}

// Ref is one side of a pull request.
type Ref struct {
	ID           string     `json:"id"`
	DisplayID    string     `json:"displayId"`
	LatestCommit string     `json:"latestCommit"`
	Repository   Repository `json:"repository"`
}

// Participant is an author, reviewer or participant of a pull request.
type Participant struct {
	User     User   `json:"user"`
	Role     string `json:"role"`
	Approved bool   `json:"approved"`
	Status   string `json:"status"`
}

// PullRequest is a Bitbucket Server pull request.
type PullRequest struct {
	ID           int            `json:"id"`
	Version      int            `json:"version"`
	Title        string         `json:"title"`
	Description  string         `json:"description"`
	State        string         `json:"state"`
	Open         bool           `json:"open"`
	Closed       bool           `json:"closed"`
	CreatedDate  int64          `json:"createdDate"`
	UpdatedDate  int64          `json:"updatedDate"`
	ClosedDate   int64          `json:"closedDate,omitempty"`
	FromRef      Ref            `json:"fromRef"`
	ToRef        Ref            `json:"toRef"`
	Locked       bool           `json:"locked"`
	Author       Participant    `json:"author"`
	Reviewers    []Participant  `json:"reviewers"`
	Participants []Participant  `json:"participants"`
	Properties   map[string]int `json:"properties"`
	Links        links          `json:"links"`
}

// Comment is a pull-request comment with its nested replies.
type Comment struct {
	Properties  map[string]int `json:"properties"`
	ID          int64          `json:"id"`
	Version     int            `json:"version"`
	Text        string         `json:"text"`
	Author      User           `json:"author"`
	CreatedDate int64          `json:"createdDate"`
	UpdatedDate int64          `json:"updatedDate"`
	Comments    []Comment      `json:"comments"`
	Tasks       []any          `json:"tasks"`
	Severity    string         `json:"severity"`
	State       string         `json:"state"`
}

// CommentAnchor places an inline comment.
type CommentAnchor struct {
	FromHash string `json:"fromHash"`
	ToHash   string `json:"toHash"`
	Line     int    `json:"line"`
	LineType string `json:"lineType"`
	FileType string `json:"fileType"`
	Path     string `json:"path"`
	DiffType string `json:"diffType"`
	Orphaned bool   `json:"orphaned"`
}

// DiffLine is one line of a diff segment.
type DiffLine struct {
	Destination int     `json:"destination"`
	Source      int     `json:"source"`
	Line        string  `json:"line"`
	Truncated   bool    `json:"truncated"`
	CommentIDs  []int64 `json:"commentIds,omitempty"`
}

// DiffSegment is a run of lines of one type.
type DiffSegment struct {
	Type      string     `json:"type"`
	Lines     []DiffLine `json:"lines"`
	Truncated bool       `json:"truncated"`
}

// DiffHunk is one hunk of a diff.
type DiffHunk struct {
	SourceLine      int           `json:"sourceLine"`
	SourceSpan      int           `json:"sourceSpan"`
	DestinationLine int           `json:"destinationLine"`
	DestinationSpan int           `json:"destinationSpan"`
	Segments        []DiffSegment `json:"segments"`
	Truncated       bool          `json:"truncated"`
}

// Path is Bitbucket's split file path.
type Path struct {
	Components []string `json:"components"`
	Parent     string   `json:"parent"`
	Name       string   `json:"name"`
	Extension  string   `json:"extension,omitempty"`
	ToString   string   `json:"toString"`
}

// Diff is the file diff attached to an inline comment's activity.
type Diff struct {
	Source      *Path             `json:"source"`
	Destination Path              `json:"destination"`
	Hunks       []DiffHunk        `json:"hunks"`
	Truncated   bool              `json:"truncated"`
	Properties  map[string]string `json:"properties"`
}

// Person is a commit author or committer.
type Person struct {
	Name         string `json:"name"`
	EmailAddress string `json:"emailAddress"`
	DisplayName  string `json:"displayName,omitempty"`
	Slug         string `json:"slug,omitempty"`
}

// Commit is the merge commit of a MERGED activity.
type Commit struct {
	ID                 string `json:"id"`
	DisplayID          string `json:"displayId"`
	Author             Person `json:"author"`
	AuthorTimestamp    int64  `json:"authorTimestamp"`
	Committer          Person `json:"committer"`
	CommitterTimestamp int64  `json:"committerTimestamp"`
	Message            string `json:"message"`
	Parents            []struct {
		ID string `json:"id"`
	} `json:"parents"`
}

// Activity is one entry of a pull request's activity stream.
type Activity struct {
	ID               int64          `json:"id"`
	CreatedDate      int64          `json:"createdDate"`
	User             User           `json:"user"`
	Action           string         `json:"action"`
	CommentAction    string         `json:"commentAction,omitempty"`
	Comment          *Comment       `json:"comment,omitempty"`
	CommentAnchor    *CommentAnchor `json:"commentAnchor,omitempty"`
	Diff             *Diff          `json:"diff,omitempty"`
	Commit           *Commit        `json:"commit,omitempty"`
	FromHash         string         `json:"fromHash,omitempty"`
	PreviousFromHash string         `json:"previousFromHash,omitempty"`
	ToHash           string         `json:"toHash,omitempty"`
	PreviousToHash   string         `json:"previousToHash,omitempty"`
}

// Page is Bitbucket's paged envelope, as clients decode it.
type Page[T any] struct {
	Size          int  `json:"size"`
	Limit         int  `json:"limit"`
	Start         int  `json:"start"`
	IsLastPage    bool `json:"isLastPage"`
	NextPageStart int  `json:"nextPageStart"`
	Values        []T  `json:"values"`
}

func (s *Server) userObj(u scenario.User) User {
	return User{Name: u.Login, EmailAddress: u.Email, ID: u.ID, DisplayName: u.Name, Active: true, Slug: u.Login,
		Type: "NORMAL", Links: links{Self: []link{{Href: s.base + "/users/" + u.Login}}}}
}

func (s *Server) projectObj() Project {
	return Project{Key: ProjectKey, ID: 1, Name: "Acme", Description: "Simulated project", Type: "NORMAL",
		Links: links{Self: []link{{Href: s.base + "/projects/" + ProjectKey}}}}
}

func (s *Server) repoObj() Repository {
	return Repository{Slug: RepoSlug, ID: repoID, Name: RepoSlug, Description: "Simulated repository",
		HierarchyID: "e3c939f9ef4a7fae272e", ScmID: "git", State: "AVAILABLE", StatusMessage: "Available", Forkable: true,
		Project: s.projectObj(), Links: links{
			Clone: []link{{Href: s.base + "/scm/" + strings.ToLower(ProjectKey) + "/" + RepoSlug + ".git", Name: "http"},
				{Href: "ssh://git@fakeforge:7999/" + strings.ToLower(ProjectKey) + "/" + RepoSlug + ".git", Name: "ssh"}},
			Self: []link{{Href: s.base + "/projects/" + ProjectKey + "/repos/" + RepoSlug + "/browse"}}}}
}

func (s *Server) repository(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.repoObj())
}

func (s *Server) repos(w http.ResponseWriter, r *http.Request) {
	n := 1
	if name := r.URL.Query().Get("name"); name != "" && !strings.Contains(RepoSlug, strings.ToLower(name)) {
		n = 0
	}
	page(w, r, n, func(int) any { return s.repoObj() })
}

func (s *Server) prObj(j int) PullRequest {
	sc := s.sc
	it := sc.Item(sc.PRNumber(j))
	b := sc.PRBranch(j)
	pr := PullRequest{ID: j, Version: 1, Title: it.Title, Description: s.text(it.Body), State: "OPEN", Open: it.Open,
		Closed: !it.Open, CreatedDate: ms(it.Created), UpdatedDate: ms(it.Updated), Locked: false,
		FromRef: Ref{ID: "refs/heads/" + sc.Branch(b).Name, DisplayID: sc.Branch(b).Name, LatestCommit: s.opts.Git.BranchSHA(b), Repository: s.repoObj()},
		ToRef:   Ref{ID: "refs/heads/main", DisplayID: "main", LatestCommit: s.opts.Git.BranchSHA(0), Repository: s.repoObj()},
		Author:  Participant{User: s.userObj(it.Author), Role: "AUTHOR", Status: "UNAPPROVED"}, Reviewers: []Participant{},
		Participants: []Participant{}, Properties: map[string]int{"commentCount": it.Comments + sc.Config().ReviewCommentsPerPR, "openTaskCount": 0},
		Links: links{Self: []link{{Href: fmt.Sprintf("%s/projects/%s/repos/%s/pull-requests/%d", s.base, ProjectKey, RepoSlug, j)}}}}
	switch {
	case it.Merged:
		pr.State, pr.ClosedDate = "MERGED", ms(it.Closed)
	case !it.Open:
		pr.State, pr.ClosedDate = "DECLINED", ms(it.Closed)
	}
	for _, u := range sc.RequestedReviewers(j) {
		pr.Reviewers = append(pr.Reviewers, Participant{User: s.userObj(u), Role: "REVIEWER", Status: "UNAPPROVED"})
	}
	return pr
}

func (s *Server) text(t string) string {
	return strings.ReplaceAll(t, scenario.AttachmentPrefix, s.base+"/attachments")
}

// pullRequests lists pull requests; state=ALL lists every one, otherwise
// Bitbucket's default is OPEN only.
func (s *Server) pullRequests(w http.ResponseWriter, r *http.Request) {
	idx := make([]int, 0)
	all := strings.EqualFold(r.URL.Query().Get("state"), "ALL")
	n := s.sc.Config().PullRequests
	if all {
		page(w, r, n, func(i int) any { return s.prObj(n - i) }) // newest first
		return
	}
	want := strings.ToUpper(r.URL.Query().Get("state"))
	if want == "" {
		want = "OPEN"
	}
	for j := n; j >= 1; j-- {
		if s.prObj(j).State == want {
			idx = append(idx, j)
		}
	}
	page(w, r, len(idx), func(i int) any { return s.prObj(idx[i]) })
}

func (s *Server) prFromPath(w http.ResponseWriter, r *http.Request) (int, bool) {
	j, err := strconv.Atoi(r.PathValue("id"))
	if err != nil || j < 1 || j > s.sc.Config().PullRequests {
		writeError(w, http.StatusNotFound, "com.atlassian.bitbucket.pull.NoSuchPullRequestException",
			fmt.Sprintf("Pull request %s does not exist in %s/%s.", r.PathValue("id"), ProjectKey, RepoSlug))
		return 0, false
	}
	return j, true
}

func (s *Server) pullRequest(w http.ResponseWriter, r *http.Request) {
	if j, ok := s.prFromPath(w, r); ok {
		writeJSON(w, http.StatusOK, s.prObj(j))
	}
}

func (s *Server) activities(w http.ResponseWriter, r *http.Request) {
	j, ok := s.prFromPath(w, r)
	if !ok {
		return
	}
	acts := s.sc.BBSActivities(j)
	page(w, r, len(acts), func(i int) any { return s.activityObj(j, acts[i]) })
}

func (s *Server) commentObj(n scenario.Note, replies []scenario.Note) *Comment {
	c := &Comment{Properties: map[string]int{"repositoryId": repoID}, ID: n.ID, Version: 0, Text: s.text(n.Text),
		Author: s.userObj(n.Author), CreatedDate: ms(n.Created), UpdatedDate: ms(n.Created), Comments: []Comment{},
		Tasks: []any{}, Severity: "NORMAL", State: "OPEN"}
	// Replies nest: each one answers the one before it.
	if len(replies) > 0 {
		c.Comments = append(c.Comments, *s.commentObj(replies[0], replies[1:]))
	}
	return c
}

func (s *Server) activityObj(j int, a scenario.Activity) Activity {
	out := Activity{ID: a.ID, CreatedDate: ms(a.Created), User: s.userObj(a.User), Action: a.Action}
	b := s.sc.PRBranch(j)
	from, to := s.opts.Git.BranchSHA(b), s.opts.Git.BranchSHA(0)
	switch a.Action {
	case "COMMENTED":
		out.CommentAction = "ADDED"
		out.Comment = s.commentObj(*a.Comment, a.Replies)
		if a.Inline {
			out.CommentAnchor = &CommentAnchor{FromHash: to, ToHash: from, Line: a.Line, LineType: "ADDED", FileType: "TO",
				Path: a.Path, DiffType: "EFFECTIVE"}
			out.Diff = s.diff(b, a.Path, a.Line, a.Comment.ID, from, to)
		}
	case "MERGED":
		it := s.sc.Item(s.sc.PRNumber(j))
		p := Person{Name: a.User.Login, EmailAddress: a.User.Email, DisplayName: a.User.Name, Slug: a.User.Login}
		out.Commit = &Commit{ID: from, DisplayID: from[:11], Author: p, AuthorTimestamp: ms(it.Closed), Committer: p,
			CommitterTimestamp: ms(it.Closed), Message: fmt.Sprintf("Merge pull request #%d", j)}
	case "RESCOPED":
		out.FromHash, out.PreviousFromHash, out.ToHash, out.PreviousToHash = from, to, to, to
	}
	return out
}

// diff is the new file's single hunk, with the commented line marked.
func (s *Server) diff(b int, path string, line int, commentID int64, from, to string) *Diff {
	lines := make([]DiffLine, scenario.FeatureFileLines)
	for l := range lines {
		lines[l] = DiffLine{Destination: l + 1, Source: 0, Line: scenario.FeatureFileLine(b, l+1)}
	}
	lines[line-1].CommentIDs = []int64{commentID}
	dir, name, _ := strings.Cut(path, "/")
	return &Diff{Destination: Path{Components: strings.Split(path, "/"), Parent: dir, Name: name, Extension: "txt", ToString: path},
		Hunks: []DiffHunk{{SourceLine: 0, SourceSpan: 0, DestinationLine: 1, DestinationSpan: scenario.FeatureFileLines,
			Segments: []DiffSegment{{Type: "ADDED", Lines: lines}}}},
		Properties: map[string]string{"fromHash": to, "toHash": from, "current": "true"}}
}

// permissions lists the project's users with roles.
func (s *Server) permissions(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.PathValue("key"), ProjectKey) {
		writeError(w, http.StatusNotFound, "com.atlassian.bitbucket.project.NoSuchProjectException",
			fmt.Sprintf("Project %s does not exist.", r.PathValue("key")))
		return
	}
	roles := [...]string{"PROJECT_ADMIN", "PROJECT_WRITE", "PROJECT_READ"}
	page(w, r, s.sc.Config().Users, func(i int) any {
		return map[string]any{"user": s.userObj(s.sc.User(i + 1)), "permission": roles[i%len(roles)]}
	})
}

func (s *Server) users(w http.ResponseWriter, r *http.Request) {
	page(w, r, s.sc.Config().Users, func(i int) any { return s.userObj(s.sc.User(i + 1)) })
}

func (s *Server) user(w http.ResponseWriter, r *http.Request) {
	u, ok := s.sc.UserByLogin(r.PathValue("slug"))
	if !ok {
		writeError(w, http.StatusNotFound, "com.atlassian.bitbucket.user.NoSuchUserException",
			fmt.Sprintf("User %s does not exist.", r.PathValue("slug")))
		return
	}
	writeJSON(w, http.StatusOK, s.userObj(u))
}
