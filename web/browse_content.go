package web

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
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
// whoever may see the project, as the API does. Groups have their labels
// and milestones pages too (groups.go), from the same templates.

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
	err := h.store.Read(r.Context(), func(tx *store.Tx) (err error) {
		rows, total, err = labelRows(r.Context(), tx, store.ContentFilter{ProjectID: pv.p.ID}, page)
		return err
	})
	if err != nil {
		return err
	}
	return h.page(w, r, pv, "labels", "Labels · "+pv.p.FullPath, map[string]any{"Rows": rows, "Pager": newPager(r, page, contentPage, total)})
}

// labelRows is one page of a project's or group's labels.
func labelRows(ctx context.Context, tx *store.Tx, f store.ContentFilter, page int) ([]labelRow, int, error) {
	ls, total, err := tx.ListLabels(ctx, f, store.Page{Page: page, PerPage: contentPage})
	rows := make([]labelRow, 0, len(ls))
	for _, l := range ls {
		row := labelRow{Name: l.Name, Description: l.Description, Group: f.ProjectID != 0 && l.GroupID != nil, OpenIssues: l.OpenIssues,
			ClosedIssues: l.ClosedIssues, OpenMergeRequests: l.OpenMergeRequests}
		if hexColor.MatchString(l.Color) {
			row.Color = l.Color
		}
		rows = append(rows, row)
	}
	return rows, total, err
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

var milestoneStates = []string{"all", "active", "closed"}

// milestoneState is the list's ?state= and the filter it makes.
func milestoneState(r *http.Request) (string, store.ContentFilter) {
	state := r.URL.Query().Get("state")
	if state != "active" && state != "closed" {
		return "all", store.ContentFilter{}
	}
	return state, store.ContentFilter{State: state}
}

// milestoneRows is one page of the milestones f selects. A project's list
// holds its groups' milestones too: they link to their group's page when
// the viewer may see that group.
func milestoneRows(ctx context.Context, tx *store.Tx, s *session, projectURL string, f store.ContentFilter, page int) ([]milestoneRow, int, error) {
	ms, total, err := tx.ListMilestones(ctx, f, store.Page{Page: page, PerPage: contentPage})
	if err != nil {
		return nil, 0, err
	}
	groups := map[int64]string{} // group id: its page, "" if not shown
	rows := make([]milestoneRow, 0, len(ms))
	for _, m := range ms {
		row := milestoneRow{IID: m.IID, Title: m.Title, State: m.State, Group: f.ProjectID != 0 && m.GroupID != nil, Start: m.StartDate, Due: m.DueDate}
		switch {
		case m.GroupID == nil:
			row.URL = fmt.Sprintf("%s/-/milestones/%d", projectURL, m.IID)
		case f.GroupID != 0:
			row.URL = fmt.Sprintf("%s/-/milestones/%d", projectURL, m.IID) // projectURL is the group's
		default:
			gu, ok := groups[*m.GroupID]
			if !ok {
				if seen, err := tx.CanSeeNamespace(ctx, viewerOf(s), *m.GroupID); err != nil {
					return nil, 0, err
				} else if seen {
					g, err := tx.NamespaceByID(ctx, *m.GroupID)
					if err != nil {
						return nil, 0, err
					}
					gu = groupURL(g)
				}
				groups[*m.GroupID] = gu
			}
			if gu != "" {
				row.URL = fmt.Sprintf("%s/-/milestones/%d", gu, m.IID)
			}
		}
		rows = append(rows, row)
	}
	return rows, total, nil
}

func (h *Handler) milestonesPage(w http.ResponseWriter, r *http.Request, pv *projectView) error {
	state, f := milestoneState(r)
	f.ProjectID = pv.p.ID
	page := pageParam(r)
	var rows []milestoneRow
	var total int
	err := h.store.Read(r.Context(), func(tx *store.Tx) (err error) {
		rows, total, err = milestoneRows(r.Context(), tx, pv.s, pv.URL(), f, page)
		return err
	})
	if err != nil {
		return err
	}
	return h.page(w, r, pv, "milestones", "Milestones · "+pv.p.FullPath, map[string]any{"Rows": rows, "State": state,
		"States": milestoneStates, "Pager": newPager(r, page, contentPage, total)})
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
		// By the milestone itself, not its title: a group's milestone or
		// another of the project's may have the same one.
		f := store.IssuableFilter{Viewer: viewerOf(pv.s), ProjectID: pv.p.ID, Role: pv.role, MilestoneID: m.ID, Sort: "desc"}
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
	row := milestoneRow{IID: m.IID, Title: m.Title, State: m.State, Start: m.StartDate, Due: m.DueDate, Description: markdown(m.Description)}
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
	Links             []releaseLink
	Anchor            string
}

// releaseLink is a release's asset link; URL is "" (the name shown
// without a link) unless it is an http or https address.
type releaseLink struct {
	Name, URL, Type string
}

func releaseLinks(ls []forge.ReleaseLink) []releaseLink {
	out := make([]releaseLink, 0, len(ls))
	for _, l := range ls {
		rl := releaseLink{Name: l.Name, Type: l.LinkType}
		if u, err := url.Parse(l.URL); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
			rl.URL = l.URL
		}
		out = append(out, rl)
	}
	return out
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
			Description: markdown(rel.Description), Links: releaseLinks(rel.Links), Anchor: "release-" + strconv.Itoa(i+1)}
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
