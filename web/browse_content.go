package web

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/store"
)

// Project content pages: labels ("/-/labels"), milestones
// ("/-/milestones[/<iid>]", a milestone with its issues and merge
// requests) and releases ("/-/releases[/<tag>]"). They read what the
// API's lists read (store.ListLabels, ListMilestones, ListReleases), for
// whoever may see the project, as the API does.

const contentPage = 50 // labels, milestones and releases shown on a page

// hexColor is a label color the page may use as an SVG fill.
var hexColor = regexp.MustCompile(`^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$`)

// labelRow is a label as its list shows it.
type labelRow struct {
	Name, Color, Description string
	Group                    bool // a group's label, seen from one of its projects
	OpenIssues, ClosedIssues int
	OpenMergeRequests        int
	IssuesURL, MRsURL        string
}

func (h *Handler) labelsPage(w http.ResponseWriter, r *http.Request, pv *projectView) error {
	page := pageParam(r)
	var rows []labelRow
	var total int
	err := h.store.Read(r.Context(), func(tx *store.Tx) error {
		ls, n, err := tx.ListLabels(r.Context(), store.ContentFilter{ProjectID: pv.p.ID}, store.Page{Page: page, PerPage: contentPage})
		for _, l := range ls {
			row := labelRow{Name: l.Name, Description: l.Description, Group: l.GroupID != nil, OpenIssues: l.OpenIssues,
				ClosedIssues: l.ClosedIssues, OpenMergeRequests: l.OpenMergeRequests}
			if hexColor.MatchString(l.Color) {
				row.Color = l.Color
			}
			rows = append(rows, row)
		}
		total = n
		return err
	})
	if err != nil {
		return err
	}
	return h.page(w, r, pv, "labels", "Labels · "+pv.p.FullPath, map[string]any{"Rows": rows, "Pager": newPager(r, page, contentPage, total)})
}

// milestoneRow is a milestone as lists and its page show it.
type milestoneRow struct {
	IID                int64
	Title, State, URL  string
	Group              bool
	Start, Due         *time.Time
	Description        template.HTML
	OpenIssues, Issues int
}

func milestoneRowOf(pv *projectView, m *store.Milestone) milestoneRow {
	row := milestoneRow{IID: m.IID, Title: m.Title, State: m.State, Group: m.GroupID != nil, Start: m.StartDate, Due: m.DueDate}
	if !row.Group {
		row.URL = fmt.Sprintf("%s/-/milestones/%d", pv.URL(), m.IID)
	}
	return row
}

func (h *Handler) milestonesPage(w http.ResponseWriter, r *http.Request, pv *projectView) error {
	state := r.URL.Query().Get("state")
	if state != "active" && state != "closed" {
		state = "all"
	}
	f := store.ContentFilter{ProjectID: pv.p.ID}
	if state != "all" {
		f.State = state
	}
	page := pageParam(r)
	var rows []milestoneRow
	var total int
	err := h.store.Read(r.Context(), func(tx *store.Tx) error {
		ms, n, err := tx.ListMilestones(r.Context(), f, store.Page{Page: page, PerPage: contentPage})
		for _, m := range ms {
			rows = append(rows, milestoneRowOf(pv, m))
		}
		total = n
		return err
	})
	if err != nil {
		return err
	}
	return h.page(w, r, pv, "milestones", "Milestones · "+pv.p.FullPath, map[string]any{"Rows": rows, "State": state,
		"States": []string{"all", "active", "closed"}, "Pager": newPager(r, page, contentPage, total)})
}

// milestonePage is one of the project's own milestones with the issues and
// merge requests in it (the first listPage of each).
func (h *Handler) milestonePage(w http.ResponseWriter, r *http.Request, pv *projectView, iid int64) error {
	var m *store.Milestone
	var issues, mrs []issuableRow
	var nIssues, nMRs int
	err := h.store.Read(r.Context(), func(tx *store.Tx) error {
		ctx := r.Context()
		ms, _, err := tx.ListMilestones(ctx, store.ContentFilter{ProjectID: pv.p.ID, OwnOnly: true, IIDs: []int64{iid}}, store.Page{Page: 1, PerPage: 1})
		if err != nil {
			return err
		}
		if len(ms) == 0 {
			return errPageNotFound
		}
		m = ms[0]
		f := store.IssuableFilter{Viewer: viewerOf(pv.s), ProjectID: pv.p.ID, Role: pv.role, Milestone: m.Title, Sort: "desc"}
		pg := store.Page{Page: 1, PerPage: listPage}
		if issues, nIssues, err = h.issuableRows(ctx, tx, pv, forge.OnIssue, f, pg); err != nil {
			return err
		}
		mrs, nMRs, err = h.issuableRows(ctx, tx, pv, forge.OnMergeRequest, f, pg)
		return err
	})
	if err != nil {
		return err
	}
	row := milestoneRowOf(pv, m)
	row.Description = markdown(m.Description)
	return h.page(w, r, pv, "milestone", m.Title+" · Milestones · "+pv.p.FullPath, map[string]any{"M": row,
		"Issues": issues, "IssuesTotal": nIssues, "MRs": mrs, "MRsTotal": nMRs})
}

// issuableRows is one page of the project's issues or merge requests as
// their lists show them.
func (h *Handler) issuableRows(ctx context.Context, tx *store.Tx, pv *projectView, typ string, f store.IssuableFilter, pg store.Page) ([]issuableRow, int, error) {
	var rows []issuableRow
	var total int
	var err error
	if typ == forge.OnIssue {
		var list []*store.Issue
		list, total, err = tx.ListIssues(ctx, f, pg)
		for _, it := range list {
			rows = append(rows, issuableRow{IID: it.IID, Title: it.Title, State: it.State, Author: userName(it.Author), Labels: it.Labels, Notes: it.UserNotesCount})
		}
	} else {
		var list []*store.MergeRequest
		list, total, err = tx.ListMergeRequests(ctx, f, pg)
		for _, it := range list {
			rows = append(rows, issuableRow{IID: it.IID, Title: it.Title, State: it.State, Author: userName(it.Author), Labels: it.Labels,
				Notes: it.UserNotesCount, Source: it.SourceBranch, Target: it.TargetBranch})
		}
	}
	seg, _, _ := kindOf(typ)
	for i := range rows {
		rows[i].URL = fmt.Sprintf("%s/-/%s/%d", pv.URL(), seg, rows[i].IID)
	}
	return rows, total, err
}

// releaseRow is a release as its list shows it.
type releaseRow struct {
	Tag, Name, Author string
	TagURL, CommitURL string
	Short             string
	Released          *time.Time
	Description       template.HTML
	Links             []forge.ReleaseLink
	Anchor            string
}

// releasesPage lists the releases, newest first; "/-/releases/<tag>" (a
// release's links.self) is the list's entry for that tag.
func (h *Handler) releasesPage(w http.ResponseWriter, r *http.Request, pv *projectView, tag string) error {
	page := pageParam(r)
	var list []*store.Release
	var total int
	err := h.store.Read(r.Context(), func(tx *store.Tx) error {
		if tag != "" {
			rel, err := tx.ReleaseByTag(r.Context(), pv.p.ID, tag)
			list, total = []*store.Release{rel}, 1
			return err
		}
		var err error
		list, total, err = tx.ListReleases(r.Context(), pv.p.ID, "released_at", "desc", store.Page{Page: page, PerPage: contentPage})
		return err
	})
	if err != nil {
		return err
	}
	code := pv.Code()
	rows := make([]releaseRow, 0, len(list))
	for i, rel := range list {
		row := releaseRow{Tag: rel.TagName, Name: rel.Name, Author: userName(rel.Author), Released: rel.ReleasedAt,
			Description: markdown(rel.Description), Links: rel.Links, Anchor: "release-" + strconv.Itoa(i+1)}
		if row.Name == "" {
			row.Name = rel.TagName
		}
		if row.Released == nil {
			c := rel.CreatedAt
			row.Released = &c
		}
		if code {
			row.TagURL = pv.URL() + "/-/tree/" + rel.TagName
			if fullSHA.MatchString(rel.CommitSHA) {
				row.CommitURL, row.Short = pv.URL()+"/-/commit/"+rel.CommitSHA, shortSHA(rel.CommitSHA)
			}
		}
		rows = append(rows, row)
	}
	title := "Releases · " + pv.p.FullPath
	if tag != "" {
		title = rows[0].Name + " · " + title
	}
	data := map[string]any{"Rows": rows, "One": tag != ""}
	if tag == "" {
		data["Pager"] = newPager(r, page, contentPage, total)
	}
	return h.page(w, r, pv, "releases", title, data)
}
