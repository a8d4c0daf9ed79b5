package web

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"path"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/gitstore"
	"github.com/ferry-import/ferry/store"
)

// Browse pages: what was imported, read-only, at GitLab's web paths
// ("/<full_path>", "/<full_path>/-/tree/<ref>/<path>", "/-/blob/…",
// "/-/issues[/<iid>]", "/-/merge_requests[/<iid>]"; lists take ?page=;
// the sub-pages of browse_repo.go and browse_content.go; a group's pages
// when no project has the path, groups.go), so the API's web_url values
// lead somewhere. They read as the API reads: a project the viewer
// may not see is not routed here at all (the API's JSON 404 answers, as
// for a path that names nothing), and code needs the API's read_code rule.

const (
	listPage     = 100       // issues and merge requests shown on a list page
	maxBlobShown = 512 << 10 // bytes of a file shown as text
	maxReadme    = 256 << 10
)

// browsePages are the templates that share templates/browse.html.
var browsePages = map[string]bool{"project": true, "tree": true, "blob": true, "issuables": true, "issuable": true,
	"commits": true, "commit": true, "branches": true, "tags": true, "labels": true, "milestones": true, "milestone": true, "releases": true,
	"group": true, "placeholders": true}

// browseSubs are the project sub-pages served after "/-/".
var browseSubs = map[string]bool{"tree": true, "blob": true, "issues": true, "merge_requests": true,
	"commits": true, "commit": true, "branches": true, "tags": true, "labels": true, "milestones": true, "releases": true,
	"group_members": true} // group_members: groups only (placeholders.go)

// splitProjectPath cuts an URL path into a project's full path and what
// follows "/-/" ("" for the project page); ok is false for paths that are
// never a project's pages.
func splitProjectPath(p string) (full, sub string, ok bool) {
	if !strings.HasPrefix(p, "/") || p == "/" {
		return "", "", false
	}
	for _, pre := range []string{"/-/", "/api/", "/users/", "/uploads/", "/oauth/", "/import/"} {
		if strings.HasPrefix(p, pre) {
			return "", "", false
		}
	}
	p = p[1:]
	if i := strings.Index(p, "/-/"); i >= 0 {
		full, sub = p[:i], p[i+3:]
		seg, _, _ := strings.Cut(sub, "/")
		if !browseSubs[seg] {
			return "", "", false
		}
	} else {
		full = strings.TrimSuffix(p, "/")
	}
	if full == "" || strings.HasSuffix(full, ".git") || strings.Contains(full, ".git/") || strings.Contains(full, "//") {
		return "", "", false
	}
	for _, s := range strings.Split(full, "/") {
		if s == "." || s == ".." || s == "" {
			return "", "", false
		}
	}
	return full, sub, true
}

// viewerOf is the session's identity for the store's visibility rules.
func viewerOf(s *session) store.Viewer {
	if s == nil {
		return store.Viewer{}
	}
	return store.Viewer{UserID: s.user.ID, Admin: s.user.IsAdmin}
}

// findProject resolves full to a project the session may see, with its
// role there (admins act as owners); ENOTFOUND otherwise.
func (h *Handler) findProject(ctx context.Context, tx *store.Tx, s *session, full string) (*ferry.Project, ferry.AccessLevel, error) {
	p, err := tx.ProjectByPath(ctx, full)
	if err != nil {
		return nil, 0, err
	}
	ok, err := tx.CanSeeProject(ctx, viewerOf(s), p)
	if err != nil {
		return nil, 0, err
	}
	if !ok {
		return nil, 0, ferry.Errorf(ferry.ENOTFOUND, "project not found")
	}
	role := ferry.NoAccess
	if s != nil {
		if s.user.IsAdmin {
			role = ferry.OwnerAccess
		} else if role, err = tx.ProjectAccess(ctx, s.user.ID, p.ID); err != nil {
			return nil, 0, err
		}
	}
	return p, role, nil
}

// canReadCode is the API's rule for the repository: public projects to
// all, internal ones to signed-in users, private ones to reporters and up.
func canReadCode(p *ferry.Project, s *session, role ferry.AccessLevel) bool {
	switch {
	case p.Visibility == ferry.Public:
		return true
	case s == nil:
		return false
	case s.user.IsAdmin || p.Visibility == ferry.Internal:
		return true
	}
	return role >= ferry.ReporterAccess
}

// Browses reports whether r is a GET or HEAD of a project page, or a
// group page (groups.go), the session may see. Everything else (unknown paths, projects the viewer
// may not see, other methods) stays where it goes without the web UI.
func (h *Handler) Browses(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	full, sub, ok := splitProjectPath(r.URL.Path)
	if !ok {
		return false
	}
	s := h.session(r)
	err := h.store.Read(r.Context(), func(tx *store.Tx) error {
		_, _, err := h.findProject(r.Context(), tx, s, full)
		if ferry.ErrorCode(err) == ferry.ENOTFOUND && groupSub(sub) {
			_, err = h.findGroup(r.Context(), tx, s, full) // groups.go
		}
		return err
	})
	if err != nil && ferry.ErrorCode(err) != ferry.ENOTFOUND {
		h.log.ErrorContext(r.Context(), "web browse lookup", "path", r.URL.Path, "error", err)
	}
	return err == nil
}

// browse serves a project page or one of its sub-pages.
func (h *Handler) browse(w http.ResponseWriter, r *http.Request) {
	full, sub, ok := splitProjectPath(r.URL.Path)
	s := h.session(r)
	if !ok {
		h.notFound(w, r, s)
		return
	}
	var p *ferry.Project
	var role ferry.AccessLevel
	if err := h.store.Read(r.Context(), func(tx *store.Tx) (err error) {
		p, role, err = h.findProject(r.Context(), tx, s, full)
		return err
	}); ferry.ErrorCode(err) == ferry.ENOTFOUND && groupSub(sub) {
		h.groupPage(w, r, s, full, sub)
		return
	} else if err != nil {
		h.browseFail(w, r, s, err)
		return
	}
	pv := &projectView{p: p, role: role, s: s, git: h.git}
	seg, rest, _ := strings.Cut(sub, "/")
	var err error
	switch {
	case sub == "":
		err = h.projectPage(w, r, pv)
	case seg == "tree":
		err = h.treePage(w, r, pv, rest)
	case seg == "blob":
		err = h.blobPage(w, r, pv, rest)
	case seg == "issues" && rest == "":
		err = h.issuableList(w, r, pv, forge.OnIssue)
	case seg == "merge_requests" && rest == "":
		err = h.issuableList(w, r, pv, forge.OnMergeRequest)
	case seg == "issues" || seg == "merge_requests":
		typ := forge.OnIssue
		if seg == "merge_requests" {
			typ = forge.OnMergeRequest
		}
		iid, perr := strconv.ParseInt(strings.TrimSuffix(rest, "/"), 10, 64)
		if perr != nil || iid <= 0 {
			err = errPageNotFound
		} else {
			err = h.issuablePage(w, r, pv, typ, iid)
		}
	default:
		err = h.browseMore(w, r, pv, seg, rest) // browse_repo.go, browse_content.go
	}
	if err != nil {
		h.browseFail(w, r, s, err)
	}
}

var errPageNotFound = ferry.Errorf(ferry.ENOTFOUND, "no such page")

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request, s *session) {
	h.render(w, r, http.StatusNotFound, "error", s, map[string]any{"Title": "Not found", "Message": "There is no such page, or you may not see it."})
}

func (h *Handler) browseFail(w http.ResponseWriter, r *http.Request, s *session, err error) {
	switch {
	case ferry.ErrorCode(err) == ferry.ENOTFOUND, errors.Is(err, gitstore.ErrNotFound), errors.Is(err, gitstore.ErrInvalid):
		h.notFound(w, r, s)
	case errors.Is(err, errNoCode):
		h.render(w, r, http.StatusNotFound, "error", s, map[string]any{"Title": "Not found", "Message": "You may not see this project's repository."})
	case errors.Is(err, gitstore.ErrTooLarge):
		h.render(w, r, http.StatusRequestEntityTooLarge, "error", s, map[string]any{"Title": "Too large", "Message": "This tree is too large to list: open a folder inside it."})
	default:
		h.log.ErrorContext(r.Context(), "web browse", "path", r.URL.Path, "error", err)
		h.render(w, r, http.StatusInternalServerError, "error", s, map[string]any{"Title": "Error", "Message": "Internal error."})
	}
}

var errNoCode = errors.New("web: no access to the repository")

// projectView is the project a page is about, for the templates.
type projectView struct {
	p    *ferry.Project
	role ferry.AccessLevel
	s    *session
	git  *gitstore.Store
}

func (v *projectView) FullPath() string    { return v.p.FullPath }
func (v *projectView) Name() string        { return v.p.Name }
func (v *projectView) FullName() string    { return v.p.FullName }
func (v *projectView) Description() string { return v.p.Description }
func (v *projectView) Visibility() string  { return string(v.p.Visibility) }
func (v *projectView) URL() string         { return "/" + v.p.FullPath }

// repo reports whether the session may read the project's code and it
// has a repository; errNoCode when it may not.
func (h *Handler) repo(pv *projectView) (bool, error) {
	if !canReadCode(pv.p, pv.s, pv.role) {
		return false, errNoCode
	}
	return h.git != nil && h.git.Exists(pv.p.ID), nil
}

func (h *Handler) page(w http.ResponseWriter, r *http.Request, pv *projectView, tmpl, title string, data map[string]any) error {
	data["Title"], data["Project"] = title, pv
	if _, ok := data["Nav"]; !ok {
		data["Nav"] = tmpl // the sub-navigation's current link
	}
	h.render(w, r, http.StatusOK, tmpl, pv.s, data)
	return nil
}

func (h *Handler) projectPage(w http.ResponseWriter, r *http.Request, pv *projectView) error {
	data := map[string]any{}
	if err := h.projectGroup(r.Context(), pv, data); err != nil { // groups.go
		return err
	}
	ok, err := h.repo(pv)
	if err != nil && !errors.Is(err, errNoCode) {
		return err
	}
	data["CodeHidden"] = errors.Is(err, errNoCode)
	if ok {
		branch := pv.p.DefaultBranch
		if b, err := h.git.DefaultBranch(r.Context(), pv.p.ID); err == nil && b != "" {
			branch = b
		}
		data["Branch"] = branch
		if entries, err := h.git.Tree(r.Context(), pv.p.ID, branch, "", false); err == nil {
			data["Entries"] = treeRows(pv, branch, entries)
			for _, e := range entries {
				if e.Type == "blob" && strings.HasPrefix(strings.ToLower(e.Name), "readme") {
					if f, err := h.git.ReadFile(r.Context(), pv.p.ID, branch, e.Path); err == nil {
						data["ReadmeName"] = e.Name
						data["Readme"] = textOf(f.Content, maxReadme)
						if rt := data["Readme"].(fileText); isMarkdown(e.Name) && !rt.Binary {
							data["ReadmeHTML"] = markdown(rt.Text)
						}
					}
					break
				}
			}
		}
	} else if pv.p.DefaultBranch != "" {
		data["Branch"] = pv.p.DefaultBranch
	}
	return h.page(w, r, pv, "project", pv.p.FullName, data)
}

// fileText is a file's content as the page shows it.
type fileText struct {
	Text      string
	Binary    bool
	Truncated bool
}

func textOf(b []byte, max int) fileText {
	head := b
	if len(head) > 8000 {
		head = head[:8000]
	}
	if strings.IndexByte(string(head), 0) >= 0 {
		return fileText{Binary: true}
	}
	out := fileText{}
	if len(b) > max {
		b, out.Truncated = b[:max], true
		for len(b) > 0 && !utf8.Valid(b) { // do not cut a rune in half
			b = b[:len(b)-1]
		}
	}
	if !utf8.Valid(b) {
		return fileText{Binary: true}
	}
	out.Text = string(b)
	return out
}

// treeRow is one entry of a tree listing.
type treeRow struct {
	Name, Type, URL string
}

func treeRows(pv *projectView, ref string, entries []gitstore.TreeEntry) []treeRow {
	out := make([]treeRow, 0, len(entries))
	for _, e := range entries {
		row := treeRow{Name: e.Name, Type: e.Type}
		switch e.Type {
		case "tree":
			row.URL = pv.URL() + "/-/tree/" + ref + "/" + e.Path
		case "blob":
			row.URL = pv.URL() + "/-/blob/" + ref + "/" + e.Path
		}
		out = append(out, row)
	}
	return out
}

// splitRef cuts "<ref>/<path>" where the ref itself may hold slashes: the
// longest prefix (up to a few segments) that names a commit wins.
func (h *Handler) splitRef(ctx context.Context, id int64, rest string) (ref, p string, err error) {
	segs := strings.Split(strings.Trim(rest, "/"), "/")
	if len(segs) == 0 || segs[0] == "" {
		return "", "", errPageNotFound
	}
	n := len(segs)
	if n > 6 {
		n = 6
	}
	for i := n; i >= 1; i-- {
		cand := strings.Join(segs[:i], "/")
		if _, err := h.git.ResolveCommit(ctx, id, cand); err == nil {
			return cand, strings.Join(segs[i:], "/"), nil
		}
	}
	return "", "", errPageNotFound
}

// crumb is one link of a path's breadcrumbs.
type crumb struct{ Name, URL string }

func crumbs(pv *projectView, ref, p string) []crumb {
	out := []crumb{{Name: pv.p.Path, URL: pv.URL() + "/-/tree/" + ref}}
	if p == "" {
		return out
	}
	acc := ""
	for _, s := range strings.Split(p, "/") {
		acc = path.Join(acc, s)
		out = append(out, crumb{Name: s, URL: pv.URL() + "/-/tree/" + ref + "/" + acc})
	}
	return out
}

// repoRef is the ref and path a tree or blob page names, in a project
// whose repository the viewer may read (else the page is not found).
func (h *Handler) repoRef(r *http.Request, pv *projectView, rest string) (ref, p string, err error) {
	ok, err := h.repo(pv)
	if err != nil {
		return "", "", err
	}
	if !ok {
		return "", "", errPageNotFound
	}
	return h.splitRef(r.Context(), pv.p.ID, rest)
}

func (h *Handler) treePage(w http.ResponseWriter, r *http.Request, pv *projectView, rest string) error {
	ref, p, err := h.repoRef(r, pv, rest)
	if err != nil {
		return err
	}
	entries, err := h.git.Tree(r.Context(), pv.p.ID, ref, p, false)
	if err != nil {
		return err
	}
	return h.page(w, r, pv, "tree", path.Join(pv.p.FullPath, p)+" at "+ref, map[string]any{
		"Ref": ref, "Path": p, "Crumbs": crumbs(pv, ref, p), "Entries": treeRows(pv, ref, entries)})
}

func (h *Handler) blobPage(w http.ResponseWriter, r *http.Request, pv *projectView, rest string) error {
	ref, p, err := h.repoRef(r, pv, rest)
	if err != nil {
		return err
	}
	if p == "" {
		return errPageNotFound
	}
	f, err := h.git.ReadFile(r.Context(), pv.p.ID, ref, p)
	if err != nil {
		return err
	}
	dir := path.Dir(p)
	if dir == "." {
		dir = ""
	}
	return h.page(w, r, pv, "blob", p+" at "+ref, map[string]any{
		"Ref": ref, "Path": p, "Crumbs": crumbs(pv, ref, dir), "Name": path.Base(p), "Size": f.Size,
		"Symlink": f.Mode == "120000", "File": textOf(f.Content, maxBlobShown)})
}

// issuableRow is a line of an issue or merge request list.
type issuableRow struct {
	IID               int64
	Title, State, URL string
	Author            string
	Labels            []string
	Notes             int
	Source, Target    string
}

func userName(u *ferry.User) string {
	if u == nil {
		return "ghost"
	}
	return u.Username
}

func kindOf(typ string) (seg, plural, one string) {
	if typ == forge.OnMergeRequest {
		return "merge_requests", "Merge requests", "Merge request"
	}
	return "issues", "Issues", "Issue"
}

func (h *Handler) issuableList(w http.ResponseWriter, r *http.Request, pv *projectView, typ string) error {
	state := r.URL.Query().Get("state")
	switch state {
	case "opened", "closed", "merged", "all":
	default:
		state = "all"
	}
	seg, plural, _ := kindOf(typ)
	f := store.IssuableFilter{Viewer: viewerOf(pv.s), ProjectID: pv.p.ID, Role: pv.role, State: state, Sort: "desc"}
	page := pageParam(r)
	var rows []issuableRow
	var total int
	err := h.store.Read(r.Context(), func(tx *store.Tx) (err error) {
		rows, total, err = h.issuableRows(r.Context(), tx, pv, typ, f, store.Page{Page: page, PerPage: listPage})
		return err
	})
	if err != nil {
		return err
	}
	states := []string{"all", "opened", "closed"}
	if typ == forge.OnMergeRequest {
		states = append(states, "merged")
	}
	return h.page(w, r, pv, "issuables", plural+" · "+pv.p.FullPath, map[string]any{
		"Nav": seg, "Kind": plural, "Seg": seg, "Rows": rows, "Total": total, "State": state, "States": states,
		"MR": typ == forge.OnMergeRequest, "Pager": newPager(r, page, listPage, total)})
}

// noteView is a note as the page shows it.
type noteView struct {
	ID       int64
	Author   string
	Body     template.HTML // rendered Markdown
	System   bool
	Internal bool
	Resolved bool
	Created  string
	Where    string // "path line N" for a diff note shown outside its diff
	Emoji    []string
}

// discussionView is a thread.
type discussionView struct {
	ID    string
	Notes []noteView
}

// diffLine is one line of a hunk, numbered on both sides.
type diffLine struct {
	Kind        string // "ctx", "add", "del", "hunk", "meta"
	Old, New    int64
	Text        string
	Discussions []discussionView
}

// diffFileView is one file of the merge request's diff.
type diffFileView struct {
	OldPath, NewPath      string
	New, Deleted, Renamed bool
	TooLarge, Binary      bool
	Lines                 []diffLine
}

var hunkRE = regexp.MustCompile(`^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@`)

// parseHunks numbers a file's patch lines.
func parseHunks(patch string) []diffLine {
	var out []diffLine
	var o, n int64
	for _, l := range strings.Split(strings.TrimSuffix(patch, "\n"), "\n") {
		switch {
		case strings.HasPrefix(l, "@@"):
			if m := hunkRE.FindStringSubmatch(l); m != nil {
				o, _ = strconv.ParseInt(m[1], 10, 64)
				n, _ = strconv.ParseInt(m[2], 10, 64)
			}
			out = append(out, diffLine{Kind: "hunk", Text: l})
		case strings.HasPrefix(l, "+"):
			out = append(out, diffLine{Kind: "add", New: n, Text: l[1:]})
			n++
		case strings.HasPrefix(l, "-"):
			out = append(out, diffLine{Kind: "del", Old: o, Text: l[1:]})
			o++
		case strings.HasPrefix(l, " "):
			out = append(out, diffLine{Kind: "ctx", Old: o, New: n, Text: l[1:]})
			o++
			n++
		default: // "\ No newline at end of file", "Binary files … differ"
			out = append(out, diffLine{Kind: "meta", Text: l})
		}
	}
	return out
}

// place puts a diff discussion at its line: new_line on the new side
// (added or context lines), else old_line on the old side; false when the
// line is not in the diff shown.
func place(files []diffFileView, pos *forge.DiffPosition, d discussionView) bool {
	for fi := range files {
		f := &files[fi]
		if pos.NewPath != f.NewPath && pos.OldPath != f.OldPath {
			continue
		}
		for li := range f.Lines {
			l := &f.Lines[li]
			if (pos.NewLine != 0 && l.New == pos.NewLine && (l.Kind == "add" || l.Kind == "ctx")) ||
				(pos.NewLine == 0 && pos.OldLine != 0 && l.Old == pos.OldLine && (l.Kind == "del" || l.Kind == "ctx")) {
				l.Discussions = append(l.Discussions, d)
				return true
			}
		}
	}
	return false
}

func (h *Handler) issuablePage(w http.ResponseWriter, r *http.Request, pv *projectView, typ string, iid int64) error {
	seg, plural, one := kindOf(typ)
	f := store.IssuableFilter{Viewer: viewerOf(pv.s), ProjectID: pv.p.ID, Role: pv.role, IIDs: []int64{iid}}
	on := forge.Noteable{Type: typ, IID: iid}
	var base *store.Issuable
	var mr *store.MergeRequest
	var confidential bool
	var ds []*store.Discussion
	var emoji []*store.AwardEmoji
	noteEmoji := map[int64][]string{}
	err := h.store.Read(r.Context(), func(tx *store.Tx) error {
		ctx := r.Context()
		if typ == forge.OnIssue {
			list, _, err := tx.ListIssues(ctx, f, store.Page{Page: 1, PerPage: 1})
			if err != nil {
				return err
			}
			if len(list) == 0 {
				return errPageNotFound
			}
			base, confidential = &list[0].Issuable, list[0].Confidential
		} else {
			list, _, err := tx.ListMergeRequests(ctx, f, store.Page{Page: 1, PerPage: 1})
			if err != nil {
				return err
			}
			if len(list) == 0 {
				return errPageNotFound
			}
			mr = list[0]
			base = &mr.Issuable
		}
		var err error
		nf := store.NoteFilter{ProjectID: pv.p.ID, On: on, Internal: pv.role >= ferry.ReporterAccess}
		if ds, _, err = tx.ListDiscussions(ctx, nf, store.Page{Page: 1, PerPage: 500}); err != nil {
			return err
		}
		if emoji, _, err = tx.ListAwardEmoji(ctx, pv.p.ID, on, 0, store.Page{Page: 1, PerPage: 100}); err != nil {
			return err
		}
		for _, d := range ds {
			for _, n := range d.Notes {
				if n.System {
					continue
				}
				es, _, err := tx.ListAwardEmoji(ctx, pv.p.ID, on, n.ID, store.Page{Page: 1, PerPage: 100})
				if err != nil {
					return err
				}
				for _, e := range es {
					noteEmoji[n.ID] = append(noteEmoji[n.ID], ":"+e.Name+": "+userName(e.User))
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	data := map[string]any{"Nav": seg, "Kind": one, "Plural": plural, "Seg": seg, "IID": iid, "Item": base, "Author": userName(base.Author),
		"Confidential": confidential, "MR": mr,
		"Description": markdown(base.Description),
		"Created":     base.CreatedAt.UTC().Format("2006-01-02 15:04 UTC")}
	var em []string
	for _, e := range emoji {
		em = append(em, ":"+e.Name+": "+userName(e.User))
	}
	data["Emoji"] = em

	var files []diffFileView
	if mr != nil {
		var derr error
		files, data["DiffNote"], derr = h.mrDiff(r.Context(), pv, mr)
		if derr != nil && !errors.Is(derr, errNoCode) {
			return derr
		}
		data["DiffHidden"] = errors.Is(derr, errNoCode)
	}
	var general []discussionView
	for _, d := range ds {
		dv := discussionView{ID: d.ID}
		var pos *forge.DiffPosition
		for i, n := range d.Notes {
			nv := noteView{ID: n.ID, Author: userName(n.Author), Body: markdown(n.Body), System: n.System, Internal: n.Internal,
				Resolved: n.Resolved, Created: n.CreatedAt.UTC().Format("2006-01-02 15:04 UTC"), Emoji: noteEmoji[n.ID]}
			if i == 0 && n.Position != nil {
				pos = n.Position
			}
			dv.Notes = append(dv.Notes, nv)
		}
		if pos != nil && len(dv.Notes) > 0 {
			if place(files, pos, dv) {
				continue
			}
			line := pos.NewLine
			if line == 0 {
				line = pos.OldLine
			}
			p := pos.NewPath
			if p == "" {
				p = pos.OldPath
			}
			dv.Notes[0].Where = fmt.Sprintf("%s line %d", p, line)
		}
		general = append(general, dv)
	}
	data["Discussions"], data["Files"] = general, files
	return h.page(w, r, pv, "issuable", base.Title+" ("+one+" !"+strconv.FormatInt(iid, 10)+")", data)
}

// mrDiff is the merge request's diff as the API's changes endpoint finds
// it: its stored source SHA (else refs/merge-requests/<iid>/head) against
// its stored base SHA, else the merge base with the target, else the
// head's first parent. note says why there is none.
func (h *Handler) mrDiff(ctx context.Context, pv *projectView, mr *store.MergeRequest) ([]diffFileView, string, error) {
	ok, err := h.repo(pv)
	if err != nil {
		return nil, "", err
	}
	if !ok {
		return nil, "The repository was not imported.", nil
	}
	id := pv.p.ID
	resolve := func(refs ...string) string {
		for _, x := range refs {
			if x == "" {
				continue
			}
			if sha, err := h.git.ResolveCommit(ctx, id, x); err == nil {
				return sha
			}
		}
		return ""
	}
	sha := func(x string) string {
		if fullSHA.MatchString(x) {
			return x
		}
		return ""
	}
	head := resolve(sha(mr.SourceSHA), "refs/merge-requests/"+strconv.FormatInt(mr.IID, 10)+"/head")
	if head == "" {
		return nil, "The merge request's commits are not in the repository.", nil
	}
	base := resolve(sha(mr.BaseSHA))
	if base == "" {
		for _, t := range []string{sha(mr.TargetSHA), "refs/heads/" + mr.TargetBranch} {
			if t := resolve(t); t != "" {
				if mb, err := h.git.MergeBase(ctx, id, t, head); err == nil {
					base = mb
					break
				}
			}
		}
	}
	if base == "" {
		if c, err := h.git.Commit(ctx, id, head); err == nil && len(c.ParentIDs) > 0 {
			base = c.ParentIDs[0]
		}
	}
	raw, overflow, err := h.git.Diff(ctx, id, base, head, gitstore.DiffLimits{})
	if err != nil {
		return nil, "", fmt.Errorf("diff of merge request %d: %w", mr.ID, err)
	}
	out, note := diffViews(raw, overflow)
	return out, note, nil
}

// diffViews numbers the lines of a diff's files for the page; note says
// when files were left out.
func diffViews(raw []gitstore.DiffFile, overflow bool) ([]diffFileView, string) {
	out := make([]diffFileView, 0, len(raw))
	for _, d := range raw {
		fv := diffFileView{OldPath: d.OldPath, NewPath: d.NewPath, New: d.NewFile, Deleted: d.DeletedFile, Renamed: d.RenamedFile, TooLarge: d.TooLarge}
		if strings.HasPrefix(d.Diff, "Binary files") {
			fv.Binary = true
		} else if d.Diff != "" && !d.TooLarge {
			fv.Lines = parseHunks(d.Diff)
		}
		out = append(out, fv)
	}
	note := ""
	if overflow {
		note = "Only the first files of the diff are shown."
	}
	return out, note
}

var fullSHA = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)
