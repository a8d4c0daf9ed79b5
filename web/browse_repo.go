package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-import/ferry/gitstore"
)

// Repository pages: a ref's commits ("/-/commits/<ref>", paged), one
// commit with its diff ("/-/commit/<sha>"), the branches and the tags.
// Like the tree, they need the API's read_code rule; a project whose
// code the viewer may not read has no such pages.

const commitsPage = 40 // commits shown on a page

// browseMore serves the sub-pages past the project, tree, file, issue and
// merge request pages.
func (h *Handler) browseMore(w http.ResponseWriter, r *http.Request, pv *projectView, seg, rest string) error {
	rest = strings.TrimSuffix(rest, "/")
	switch seg {
	case "commits":
		return h.commitsPage(w, r, pv, rest)
	case "commit":
		return h.commitPage(w, r, pv, rest)
	case "branches":
		if rest != "" {
			return errPageNotFound
		}
		return h.branchesPage(w, r, pv)
	case "tags":
		return h.tagsPage(w, r, pv, rest)
	case "labels":
		if rest != "" {
			return errPageNotFound
		}
		return h.labelsPage(w, r, pv)
	case "milestones":
		if rest == "" {
			return h.milestonesPage(w, r, pv)
		}
		iid, err := strconv.ParseInt(rest, 10, 64)
		if err != nil || iid <= 0 {
			return errPageNotFound
		}
		return h.milestonePage(w, r, pv, iid)
	case "releases":
		return h.releasesPage(w, r, pv, rest)
	}
	return errPageNotFound
}

// Code reports whether the viewer may read the project's repository (the
// sub-navigation's code links).
func (v *projectView) Code() bool { return canReadCode(v.p, v.s, v.role) }

// DefaultBranch is the project's recorded default branch, else its
// repository's ("" when the viewer may not read the code).
func (v *projectView) DefaultBranch() string {
	if v.p.DefaultBranch != "" || v.git == nil || !v.Code() {
		return v.p.DefaultBranch
	}
	b, _ := v.git.DefaultBranch(context.Background(), v.p.ID)
	return b
}

// commitRow is a commit as lists show it.
type commitRow struct {
	SHA, Short, Title, Author, URL string
	Date                           time.Time
}

func commitRowOf(pv *projectView, c gitstore.Commit) commitRow {
	return commitRow{SHA: c.ID, Short: shortSHA(c.ID), Title: c.Title, Author: c.AuthorName, Date: c.AuthoredDate,
		URL: pv.URL() + "/-/commit/" + c.ID}
}

func shortSHA(s string) string { return s[:min(8, len(s))] }

// codeRepo is nil when the viewer may read the project's repository and
// it exists, else the page's error.
func (h *Handler) codeRepo(pv *projectView) error {
	ok, err := h.repo(pv)
	if err != nil {
		return err
	}
	if !ok {
		return errPageNotFound
	}
	return nil
}

func (h *Handler) commitsPage(w http.ResponseWriter, r *http.Request, pv *projectView, rest string) error {
	if err := h.codeRepo(pv); err != nil {
		return err
	}
	ctx := r.Context()
	ref, p := "", ""
	if rest != "" {
		// "<ref>[/<path>]": the history of the path, or of the whole ref.
		var err error
		if ref, p, err = h.splitRef(ctx, pv.p.ID, rest); err != nil {
			return err
		}
	} else if b, err := h.git.DefaultBranch(ctx, pv.p.ID); err == nil && b != "" {
		ref = b
	} else {
		return errPageNotFound // no branch: nothing to list
	}
	total, err := h.git.CommitCount(ctx, pv.p.ID, ref, p)
	if err != nil {
		return err
	}
	page := pageParam(r)
	cs, err := h.git.Commits(ctx, pv.p.ID, ref, p, page, commitsPage)
	if err != nil {
		return err
	}
	if len(cs) == 0 && page > 1 {
		return errPageNotFound
	}
	rows := make([]commitRow, 0, len(cs))
	for _, c := range cs {
		rows = append(rows, commitRowOf(pv, c))
	}
	return h.page(w, r, pv, "commits", "Commits · "+ref+" · "+pv.p.FullPath, map[string]any{
		"Ref": ref, "Path": p, "Rows": rows, "Pager": newPager(r, page, commitsPage, total)})
}

func (h *Handler) commitPage(w http.ResponseWriter, r *http.Request, pv *projectView, sha string) error {
	if err := h.codeRepo(pv); err != nil {
		return err
	}
	if sha == "" || strings.Contains(sha, "/") {
		return errPageNotFound
	}
	ctx := r.Context()
	c, err := h.git.Commit(ctx, pv.p.ID, sha)
	if err != nil {
		return err
	}
	from := "" // a root commit: against the empty tree
	if len(c.ParentIDs) > 0 {
		from = c.ParentIDs[0]
	}
	raw, overflow, err := h.git.Diff(ctx, pv.p.ID, from, c.ID, gitstore.DiffLimits{})
	if err != nil {
		return err
	}
	files, note := diffViews(raw, overflow)
	var parents []commitRow
	for _, p := range c.ParentIDs {
		parents = append(parents, commitRow{SHA: p, Short: shortSHA(p), URL: pv.URL() + "/-/commit/" + p})
	}
	_, body, _ := strings.Cut(c.Message, "\n")
	return h.page(w, r, pv, "commit", c.Title+" · "+shortSHA(c.ID)+" · "+pv.p.FullPath, map[string]any{
		"Ref": c.ID, "Commit": c, "Short": shortSHA(c.ID), "Body": strings.TrimSpace(body), "Parents": parents,
		"Files": files, "DiffNote": note})
}

// refRow is a branch or tag as its list shows it.
type refRow struct {
	Name, TreeURL, CommitsURL string
	Default                   bool
	Message                   string
	Commit                    commitRow
}

func (h *Handler) branchesPage(w http.ResponseWriter, r *http.Request, pv *projectView) error {
	if err := h.codeRepo(pv); err != nil {
		return err
	}
	bs, err := h.git.Branches(r.Context(), pv.p.ID)
	if err != nil {
		return err
	}
	rows := make([]refRow, 0, len(bs))
	for _, b := range bs {
		rows = append(rows, refRow{Name: b.Name, Default: b.Default, TreeURL: pv.URL() + "/-/tree/" + b.Name,
			CommitsURL: pv.URL() + "/-/commits/" + b.Name, Commit: commitRowOf(pv, b.Commit)})
	}
	return h.page(w, r, pv, "branches", "Branches · "+pv.p.FullPath, map[string]any{"Rows": rows})
}

// tagsPage lists the tags; "/-/tags/<name>" (a release's tag_path) leads
// to the tag's files.
func (h *Handler) tagsPage(w http.ResponseWriter, r *http.Request, pv *projectView, name string) error {
	if err := h.codeRepo(pv); err != nil {
		return err
	}
	ts, err := h.git.Tags(r.Context(), pv.p.ID)
	if err != nil {
		return err
	}
	rows := make([]refRow, 0, len(ts))
	for _, t := range ts {
		row := refRow{Name: t.Name, Message: t.Message, TreeURL: pv.URL() + "/-/tree/" + t.Name,
			CommitsURL: pv.URL() + "/-/commits/" + t.Name, Commit: commitRowOf(pv, t.Commit)}
		if name != "" && t.Name == name {
			http.Redirect(w, r, row.TreeURL, http.StatusSeeOther)
			return nil
		}
		rows = append(rows, row)
	}
	if name != "" {
		return errPageNotFound
	}
	return h.page(w, r, pv, "tags", "Tags · "+pv.p.FullPath, map[string]any{"Rows": rows})
}
