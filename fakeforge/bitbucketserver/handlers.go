package bitbucketserver

import (
	"fmt"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/ferry-import/ferry/fakeforge/scenario"
)

// repoName is the full name merge commit messages carry: both projects
// serve the one repository built for ACME.
const repoName = ProjectKey + "/" + RepoSlug

func (s *Server) userObj(u scenario.User) User {
	b := s.sc.BBSUserOf(u)
	return User{Name: b.Name, EmailAddress: b.Email, ID: u.ID, DisplayName: u.Name, Active: b.Active, Slug: b.Slug,
		Type: "NORMAL", Links: links{Self: []link{{Href: s.base + "/users/" + b.Slug}}}}
}

func (s *Server) projectObj(p project) Project {
	return Project{Key: p.key, ID: p.id, Name: p.name, Description: p.description, Public: p.public, Type: "NORMAL",
		Links: links{Self: []link{{Href: s.base + "/projects/" + p.key}}}}
}

func (s *Server) repoObj(p project) Repository { return s.repoNamed(p, RepoSlug, p.repoID) }

// forkObj is the fork of the project's repository.
func (s *Server) forkObj(p project) Repository {
	r, origin := s.repoNamed(p, ForkSlug, p.repoID+100), s.repoObj(p)
	r.Origin, r.Description = &origin, "A fork of widgets"
	return r
}

func (s *Server) repoNamed(p project, slug string, id int) Repository {
	host := "fakeforge"
	if u, err := url.Parse(s.base); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	scm := "/scm/" + strings.ToLower(p.key) + "/" + slug + ".git"
	// An authenticated answer's http clone link carries the caller's name.
	httpClone := strings.Replace(s.base, "://", "://"+s.opts.Username+"@", 1) + scm
	return Repository{Slug: slug, ID: id, Name: slug, Description: "Widgets, simulated by fakeforge",
		HierarchyID: fmt.Sprintf("e3c939f9ef4a7fae27%02d", p.repoID), ScmID: "git", State: "AVAILABLE",
		StatusMessage: "Available", Forkable: true, Project: s.projectObj(p), Public: p.public, Links: links{
			Clone: []link{{Href: "ssh://git@" + host + ":7999" + strings.TrimPrefix(scm, "/scm"), Name: "ssh"}, {Href: httpClone, Name: "http"}},
			Self:  []link{{Href: s.base + "/projects/" + p.key + "/repos/" + slug + "/browse"}}}}
}

// mention is an @-mention of a scenario login.
var mention = regexp.MustCompile(`@user([0-9]+)\b`)

// text turns the scenario's @-mentions of logins into mentions of
// Bitbucket names (@root, @"user6@corp") and its attachment links into
// Bitbucket's attachment:<repository id>/<attachment id>%2F<file name>
// form.
func (s *Server) text(t string, p project) string {
	t = mention.ReplaceAllStringFunc(t, func(m string) string {
		u, ok := s.sc.UserByLogin(m[1:])
		if !ok {
			return m
		}
		name := s.sc.BBSUserOf(u).Name
		if strings.ContainsAny(name, "@ ") {
			name = `"` + name + `"`
		}
		return "@" + name
	})
	prefix := scenario.AttachmentPrefix + "/"
	var b strings.Builder
	for {
		i := strings.Index(t, prefix)
		if i < 0 {
			b.WriteString(t)
			return b.String()
		}
		b.WriteString(t[:i])
		t = t[i+len(prefix):]
		end := strings.IndexAny(t, ") \n")
		if end < 0 {
			end = len(t)
		}
		name := t[:end]
		fmt.Fprintf(&b, "attachment:%d/%s%%2F%s", p.repoID, strings.TrimSuffix(name, path.Ext(name)), name)
		t = t[end:]
	}
}

// attachment serves a comment attachment by its id.
func (s *Server) attachment(w http.ResponseWriter, r *http.Request, _ project) {
	content, ok := s.sc.Attachment(r.PathValue("id") + ".png")
	if !ok {
		writeError(w, http.StatusNotFound, "com.atlassian.bitbucket.attachment.NoSuchAttachmentException",
			fmt.Sprintf("Attachment %s does not exist.", r.PathValue("id")))
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Content-Length", strconv.Itoa(len(content)))
	_, _ = w.Write(content)
}

// sha is the SHA of a scenario commit of feature branch b.
func (s *Server) sha(rev scenario.BBSRev, b int) string {
	switch rev {
	case scenario.RevFeature:
		return s.git.BranchSHA(b)
	case scenario.RevRework:
		return s.git.ReworkSHA(b)
	}
	return s.git.BranchSHA(0)
}

func short(sha string) string { return sha[:min(11, len(sha))] }

// repository answers the project's repository or its fork.
func (s *Server) repository(w http.ResponseWriter, r *http.Request, p project) {
	switch r.PathValue("slug") {
	case RepoSlug:
		writeJSON(w, http.StatusOK, s.repoObj(p))
	case ForkSlug:
		writeJSON(w, http.StatusOK, s.forkObj(p))
	default:
		writeError(w, http.StatusNotFound, "com.atlassian.bitbucket.repository.NoSuchRepositoryException",
			fmt.Sprintf("Repository %s/%s does not exist.", r.PathValue("key"), r.PathValue("slug")))
	}
}

func (s *Server) project(w http.ResponseWriter, _ *http.Request, p project) {
	writeJSON(w, http.StatusOK, s.projectObj(p))
}

func (s *Server) projectRepos(w http.ResponseWriter, r *http.Request, p project) {
	list := []Repository{s.repoObj(p), s.forkObj(p)}
	page(w, r, len(list), scenario.BBSPageMax, func(i int) any { return list[i] })
}

// repos lists every repository the caller can see, filtered by name
// (case-insensitive), projectname and visibility (public or private).
func (s *Server) repos(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	name, proj := strings.ToLower(strings.TrimSpace(q.Get("name"))), strings.ToLower(q.Get("projectname"))
	var match []Repository
	for _, p := range projects {
		for _, repo := range []Repository{s.repoObj(p), s.forkObj(p)} {
			switch {
			case name != "" && !strings.Contains(repo.Slug, name),
				proj != "" && !strings.Contains(strings.ToLower(p.name), proj),
				q.Get("visibility") == "public" && !p.public, q.Get("visibility") == "private" && p.public:
				continue
			}
			match = append(match, repo)
		}
	}
	page(w, r, len(match), scenario.BBSPageMax, func(i int) any { return match[i] })
}

// branchList is main, the feature branches and the rework branches,
// newest commit first (Bitbucket's MODIFICATION order) or by name
// (orderBy=ALPHABETICAL), filtered by filterText.
func (s *Server) branchList(r *http.Request) []Branch {
	c := s.sc.Config()
	out := []Branch{}
	add := func(name, sha string) {
		if f := r.URL.Query().Get("filterText"); f == "" || strings.Contains(strings.ToLower(name), strings.ToLower(f)) {
			out = append(out, Branch{ID: "refs/heads/" + name, DisplayID: name, Type: "BRANCH", LatestCommit: sha,
				LatestChangeset: sha, IsDefault: name == "main"})
		}
	}
	for b := c.Branches; b >= 1; b-- {
		add(s.sc.BBSReworkBranch(b), s.git.ReworkSHA(b))
	}
	for b := c.Branches; b >= 1; b-- {
		add(s.sc.Branch(b).Name, s.git.BranchSHA(b))
	}
	add("main", s.git.BranchSHA(0))
	if strings.EqualFold(r.URL.Query().Get("orderBy"), "ALPHABETICAL") {
		slices.SortFunc(out, func(a, b Branch) int { return strings.Compare(a.DisplayID, b.DisplayID) })
	}
	return out
}

func (s *Server) branches(w http.ResponseWriter, r *http.Request, _ project) {
	list := s.branchList(r)
	page(w, r, len(list), scenario.BBSPageMax, func(i int) any { return list[i] })
}

func (s *Server) defaultBranch(w http.ResponseWriter, _ *http.Request, _ project) {
	sha := s.git.BranchSHA(0)
	writeJSON(w, http.StatusOK, Branch{ID: "refs/heads/main", DisplayID: "main", Type: "BRANCH", LatestCommit: sha,
		LatestChangeset: sha, IsDefault: true})
}

// tags lists the release tags by name; they are lightweight, so hash is null.
func (s *Server) tags(w http.ResponseWriter, r *http.Request, _ project) {
	out := []Tag{}
	f := strings.ToLower(r.URL.Query().Get("filterText"))
	for i := 1; i <= s.sc.Config().Releases; i++ {
		name, sha := scenario.ReleaseTag(i), s.git.MainSHA(s.sc.Release(i).Commit)
		if strings.Contains(strings.ToLower(name), f) {
			out = append(out, Tag{ID: "refs/tags/" + name, DisplayID: name, Type: "TAG", LatestCommit: sha, LatestChangeset: sha})
		}
	}
	slices.SortFunc(out, func(a, b Tag) int { return strings.Compare(a.DisplayID, b.DisplayID) })
	page(w, r, len(out), scenario.BBSPageMax, func(i int) any { return out[i] })
}

func ref(repo Repository, branch, sha string) Ref {
	return Ref{ID: "refs/heads/" + branch, DisplayID: branch, LatestCommit: sha, Type: "BRANCH", Repository: repo}
}

func (s *Server) prObj(p project, j int) PullRequest {
	pr, acts := s.sc.BBS(j)
	it := s.sc.Item(pr.Number)
	tip, from := s.sha(pr.Tip(), pr.Branch), s.repoObj(p)
	if pr.Fork {
		from = s.forkObj(p)
	}
	out := PullRequest{ID: j, Version: pr.Version, Title: it.Title, Description: s.text(it.Body, p), State: pr.State,
		Open: pr.State == "OPEN", Closed: pr.State != "OPEN", Draft: pr.Draft, CreatedDate: ms(pr.Created),
		UpdatedDate: ms(pr.Updated), FromRef: ref(from, pr.FromBranch(s.sc), tip), ToRef: ref(s.repoObj(p), "main", s.git.BranchSHA(0)),
		Author:       Participant{User: s.userObj(pr.Author), Role: "AUTHOR", Status: "UNAPPROVED"},
		Reviewers:    []Participant{},
		Participants: []Participant{},
		Links:        links{Self: []link{{Href: fmt.Sprintf("%s/projects/%s/repos/%s/pull-requests/%d", s.base, p.key, RepoSlug, j)}}}}
	if !pr.Closed.IsZero() {
		out.ClosedDate = ms(pr.Closed)
	}
	for _, r := range pr.Reviewers {
		pa := Participant{User: s.userObj(r.User), Role: "REVIEWER", Approved: r.Status == "APPROVED", Status: r.Status}
		if r.Reviewed {
			pa.LastReviewedCommit = tip
		}
		out.Reviewers = append(out.Reviewers, pa)
	}
	for _, u := range pr.Participants {
		out.Participants = append(out.Participants, Participant{User: s.userObj(u), Role: "PARTICIPANT", Status: "UNAPPROVED"})
	}
	for _, a := range acts {
		for _, cm := range a.Thread {
			out.Properties.CommentCount++
			if cm.Severity == "BLOCKER" && cm.State == "RESOLVED" {
				out.Properties.ResolvedTaskCount++
			} else if cm.Severity == "BLOCKER" {
				out.Properties.OpenTaskCount++
			}
		}
	}
	switch pr.State {
	case "OPEN":
		out.Properties.MergeResult = &MergeResult{Outcome: "CLEAN", Current: true}
	case "MERGED":
		sha := s.git.MergeSHA(j)
		out.Properties.MergeCommit = &CommitRef{ID: sha, DisplayID: short(sha)}
	}
	return out
}

// pullRequests lists pull requests, newest first (order=OLDEST: oldest
// first); state=ALL lists every one, otherwise only those in state (OPEN
// by default, as on Bitbucket).
func (s *Server) pullRequests(w http.ResponseWriter, r *http.Request, p project) {
	q := r.URL.Query()
	want := strings.ToUpper(q.Get("state"))
	if want == "" {
		want = "OPEN"
	}
	n := s.sc.Config().PullRequests
	ids := make([]int, 0, n)
	for j := n; j >= 1; j-- {
		if want == "ALL" || s.sc.BBSState(j) == want {
			ids = append(ids, j)
		}
	}
	if strings.EqualFold(q.Get("order"), "OLDEST") {
		slices.Reverse(ids)
	}
	page(w, r, len(ids), scenario.BBSPageMax, func(i int) any { return s.prObj(p, ids[i]) })
}

func (s *Server) pullRequest(w http.ResponseWriter, _ *http.Request, p project, j int) {
	writeJSON(w, http.StatusOK, s.prObj(p, j))
}

func (s *Server) activities(w http.ResponseWriter, r *http.Request, p project, j int) {
	pr, acts := s.sc.BBS(j)
	page(w, r, len(acts), scenario.BBSPageMaxActivities, func(i int) any { return s.activityObj(p, pr, acts[i]) })
}

// commentObj is comment i of a thread with its replies nested under it.
func (s *Server) commentObj(p project, pr int, thread []scenario.BBSComment, i int) Comment {
	cm := thread[i]
	out := Comment{Properties: CommentProperties{RepositoryID: p.repoID}, ID: cm.ID, Version: cm.Version,
		Text: s.text(s.sc.BBSCommentText(cm, pr), p), Author: s.userObj(cm.Author), CreatedDate: ms(cm.Created),
		UpdatedDate: ms(cm.Updated), Comments: []Comment{}, Tasks: []any{}, Severity: cm.Severity, State: cm.State,
		PermittedOperations: PermittedOperations{Transitionable: cm.Severity == "BLOCKER", Deletable: true}}
	if cm.State == "RESOLVED" {
		u := s.userObj(cm.Resolver)
		out.Resolver, out.ResolvedDate = &u, ms(cm.Resolved)
	}
	for k := range thread {
		if thread[k].Parent == i {
			out.Comments = append(out.Comments, s.commentObj(p, pr, thread, k))
		}
	}
	return out
}

func pathObj(p string) *Path {
	dir, name := path.Split(p)
	out := &Path{Components: strings.Split(p, "/"), Parent: strings.TrimSuffix(dir, "/"), Name: name, ToString: p}
	if ext := path.Ext(name); ext != "" {
		out.Extension = ext[1:]
	}
	return out
}

// diffObj renders a file diff; comments maps "<line type>:<source>:<destination>"
// to the comment ids on that line.
func diffObj(fd scenario.BBSFileDiff, comments map[string][]int64) Diff {
	d := Diff{Destination: pathObj(fd.Path), Hunks: []DiffHunk{}}
	if !fd.Added {
		d.Source = pathObj(fd.Path)
	}
	for _, h := range fd.Hunks {
		dh := DiffHunk{SourceLine: h.SourceLine, SourceSpan: h.SourceSpan, DestinationLine: h.DestinationLine,
			DestinationSpan: h.DestinationSpan, Segments: []DiffSegment{}}
		for _, sg := range h.Segments {
			ds := DiffSegment{Type: sg.Type, Lines: []DiffLine{}}
			for _, l := range sg.Lines {
				ds.Lines = append(ds.Lines, DiffLine{Destination: l.Destination, Source: l.Source, Line: l.Text,
					CommentIDs: comments[lineKey(sg.Type, l)]})
			}
			dh.Segments = append(dh.Segments, ds)
		}
		d.Hunks = append(d.Hunks, dh)
	}
	return d
}

func lineKey(typ string, l scenario.BBSDiffLine) string {
	return fmt.Sprintf("%s:%d:%d", typ, l.Source, l.Destination)
}

func (s *Server) activityObj(p project, pr scenario.BBSPullRequest, a scenario.Activity) Activity {
	out := Activity{ID: a.ID, CreatedDate: ms(a.Created), User: s.userObj(a.User), Action: a.Action}
	b := pr.Branch
	switch a.Action {
	case "COMMENTED":
		root := s.commentObj(p, pr.ID, a.Thread, 0)
		out.CommentAction, out.Comment = "ADDED", &root
		if an := a.Anchor; an != nil {
			from, to := s.sha(an.From, b), s.sha(an.To, b)
			out.CommentAnchor = &CommentAnchor{FromHash: from, ToHash: to, Line: an.Line, LineType: an.LineType,
				FileType: an.FileType, Path: an.Path, DiffType: an.DiffType}
			fd, _ := scenario.BBSDiff(b, an.Path, an.From, an.To)
			if !fd.Added {
				out.CommentAnchor.SrcPath = an.Path
			}
			l, _ := fd.Line(an.LineType, an.FileType, an.Line)
			d := diffObj(fd, map[string][]int64{lineKey(an.LineType, l): {root.ID}})
			// The diff of an activity names no source, as real servers answer.
			d.Source, d.Properties = nil, &DiffProperties{Current: true, FromHash: from, ToHash: to}
			out.Diff = &d
		}
	case "MERGED":
		// Bitbucket made the merge commit as the person who merged.
		u := s.userObj(a.User)
		c := s.commitObj(s.git.MergeSHA(pr.ID), true)
		c.Author, c.Committer = u, u
		out.Commit = &c
	case "RESCOPED":
		main := s.git.BranchSHA(0)
		out.FromHash, out.PreviousFromHash, out.ToHash, out.PreviousToHash = s.sha(a.From, b), s.sha(a.PreviousFrom, b), main, main
		out.Added, out.Removed = &Commits{Commits: []Commit{}}, &Commits{Commits: []Commit{}}
		for _, c := range a.Added {
			out.Added.Commits = append(out.Added.Commits, s.commitObj(s.sha(c.Rev, b), true))
		}
		out.Added.Total = len(out.Added.Commits)
	}
	return out
}

// commitObj renders a commit of the repository; with parents, its parents
// too (whose own parents are only named), as Bitbucket renders them.
func (s *Server) commitObj(sha string, parents bool) Commit {
	c, _ := s.git.Commit(sha)
	who := GitPerson{Name: c.Name, EmailAddress: c.Email}
	out := Commit{ID: sha, DisplayID: short(sha), Author: who, AuthorTimestamp: ms(c.When), Committer: who,
		CommitterTimestamp: ms(c.When), Message: c.Message, Parents: []Commit{}}
	for _, p := range c.Parents {
		if parents {
			out.Parents = append(out.Parents, s.commitObj(p, false))
		} else {
			out.Parents = append(out.Parents, Commit{ID: p, DisplayID: short(p)})
		}
	}
	return out
}

// diff answers a pull request's diff (every file, or the one at
// {path}) from main to the pull request's source commit, with the
// comments of threads anchored on that diff.
func (s *Server) diff(w http.ResponseWriter, r *http.Request, p project, j int) {
	pr, acts := s.sc.BBS(j)
	b := pr.Branch
	out := Diffs{FromHash: s.git.BranchSHA(0), ToHash: s.sha(pr.Tip(), b), ContextLines: 10, Whitespace: "SHOW",
		Diffs: []Diff{}}
	if v, err := strconv.Atoi(r.URL.Query().Get("contextLines")); err == nil {
		out.ContextLines = v
	}
	withComments := r.URL.Query().Get("withComments") != "false"
	paths := scenario.BBSDiffPaths(b, scenario.RevMain, pr.Tip())
	if want := r.PathValue("path"); want != "" {
		paths = slices.DeleteFunc(paths, func(p string) bool { return p != want })
	}
	for _, fp := range paths {
		fd, _ := scenario.BBSDiff(b, fp, scenario.RevMain, pr.Tip())
		ids, roots := map[string][]int64{}, []Comment{}
		for _, a := range acts {
			if an := a.Anchor; withComments && an != nil && an.Path == fp && an.From == scenario.RevMain && an.To == pr.Tip() {
				l, _ := fd.Line(an.LineType, an.FileType, an.Line)
				ids[lineKey(an.LineType, l)] = append(ids[lineKey(an.LineType, l)], a.Thread[0].ID)
				roots = append(roots, s.commentObj(p, j, a.Thread, 0))
			}
		}
		d := diffObj(fd, ids)
		if len(roots) > 0 {
			d.LineComments = roots
		}
		out.Diffs = append(out.Diffs, d)
	}
	writeJSON(w, http.StatusOK, out)
}

// permissions lists the project's users with their project roles.
func (s *Server) permissions(w http.ResponseWriter, r *http.Request, _ project) {
	roles := [...]string{"PROJECT_ADMIN", "PROJECT_WRITE", "PROJECT_READ"}
	page(w, r, s.sc.Config().Users, scenario.BBSPageMax, func(i int) any {
		return Permission{User: s.userObj(s.sc.User(i + 1)), Permission: roles[i%len(roles)]}
	})
}

// users lists every user, filtered (filter=) by name, slug, display name
// or e-mail.
func (s *Server) users(w http.ResponseWriter, r *http.Request) {
	f := strings.ToLower(r.URL.Query().Get("filter"))
	var match []User
	for i := 1; i <= s.sc.Config().Users; i++ {
		u := s.userObj(s.sc.User(i))
		if f == "" || strings.Contains(strings.ToLower(u.Name+"\n"+u.Slug+"\n"+u.DisplayName+"\n"+u.EmailAddress), f) {
			match = append(match, u)
		}
	}
	page(w, r, len(match), scenario.BBSPageMax, func(i int) any { return match[i] })
}

func (s *Server) user(w http.ResponseWriter, r *http.Request) {
	u, ok := s.sc.BBSUserBySlug(r.PathValue("slug"))
	if !ok {
		writeError(w, http.StatusNotFound, "com.atlassian.bitbucket.user.NoSuchUserException",
			fmt.Sprintf("User %s does not exist.", r.PathValue("slug")))
		return
	}
	writeJSON(w, http.StatusOK, s.userObj(u.User))
}
