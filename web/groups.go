package web

import (
	"context"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/store"
)

// Group pages: "/<group_full_path>" and "/groups/<group_full_path>" (the
// API's group web_url) show a group's description, the subgroups and the
// projects in it that the viewer may see; "/-/labels" and
// "/-/milestones[/<iid>]" after either are the group's own labels and
// milestones (the API's group milestone web_url). A group the viewer may
// not see is not routed here, as for projects.

const groupPage = 50 // subgroups, and projects, shown on a page

// findGroup resolves full ("groups/<path>" or "<path>") to a group the
// session may see; ENOTFOUND otherwise (user namespaces too).
func (h *Handler) findGroup(ctx context.Context, tx *store.Tx, s *session, full string) (*ferry.Namespace, error) {
	full = strings.TrimPrefix(full, "groups/")
	if full == "" {
		return nil, errPageNotFound
	}
	g, err := tx.NamespaceByPath(ctx, full)
	if err != nil {
		return nil, err
	}
	if g.Kind != ferry.KindGroup {
		return nil, errPageNotFound
	}
	ok, err := tx.CanSeeNamespace(ctx, viewerOf(s), g.ID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errPageNotFound
	}
	return g, nil
}

// groupSub reports whether sub (what follows "/-/", "" for none) is a
// group page.
func groupSub(sub string) bool {
	seg, rest, _ := strings.Cut(strings.TrimSuffix(sub, "/"), "/")
	switch seg {
	case "":
		return sub == ""
	case "labels":
		return rest == ""
	case "milestones":
		return true
	case "group_members": // placeholders.go
		return rest == ""
	}
	return false
}

// groupRow is a subgroup or a project in a group's lists.
type groupRow struct {
	Name, Path, URL, Visibility, Description string
}

// groupPage serves a group's page or one of its sub-pages.
func (h *Handler) groupPage(w http.ResponseWriter, r *http.Request, s *session, full, sub string) {
	var g *ferry.Namespace
	err := h.store.Read(r.Context(), func(tx *store.Tx) (err error) {
		g, err = h.findGroup(r.Context(), tx, s, full)
		return err
	})
	if err == nil {
		seg, rest, _ := strings.Cut(strings.TrimSuffix(sub, "/"), "/")
		switch seg {
		case "":
			err = h.groupHome(w, r, s, g)
		case "labels":
			err = h.groupLabels(w, r, s, g)
		case "milestones":
			err = h.groupMilestones(w, r, s, g, rest)
		case "group_members":
			err = h.placeholdersPage(w, r, s, g)
		default:
			err = errPageNotFound
		}
	}
	if err != nil {
		h.browseFail(w, r, s, err)
	}
}

// groupURL is the group's page.
func groupURL(g *ferry.Namespace) string { return "/groups/" + g.FullPath }

// groupRender renders a group page with what the group navigation needs.
func (h *Handler) groupRender(w http.ResponseWriter, r *http.Request, s *session, g *ferry.Namespace, tmpl, nav, title string, data map[string]any) error {
	h.groupRenderStatus(w, r, s, g, http.StatusOK, tmpl, nav, title, data)
	return nil
}

// groupRenderStatus is groupRender with a status.
func (h *Handler) groupRenderStatus(w http.ResponseWriter, r *http.Request, s *session, g *ferry.Namespace, status int, tmpl, nav, title string,
	data map[string]any) {
	crumbs := []crumb{}
	acc := ""
	for _, seg := range strings.Split(g.FullPath, "/") {
		if acc != "" {
			acc += "/"
		}
		acc += seg
		crumbs = append(crumbs, crumb{Name: seg, URL: "/groups/" + acc})
	}
	data["Title"], data["Group"], data["GroupURL"], data["GroupCrumbs"], data["Nav"] = title, g, groupURL(g), crumbs, nav
	// The owners of a top-level group are shown its placeholders tab.
	if g.ParentID == nil && s != nil && h.placeholders != nil {
		err := h.store.Read(r.Context(), func(tx *store.Tx) error {
			ok, err := groupOwner(r.Context(), tx, s, g)
			if ok {
				data["PlaceholdersURL"] = placeholdersURL(g)
			}
			return err
		})
		if err != nil {
			h.log.WarnContext(r.Context(), "web group role", "group", g.FullPath, "error", err)
		}
	}
	h.render(w, r, status, tmpl, s, data)
}

// groupHome shows a group: ?page= pages through its projects (and its
// subgroups, listed first on each page while there are more).
func (h *Handler) groupHome(w http.ResponseWriter, r *http.Request, s *session, g *ferry.Namespace) error {
	page := pageParam(r)
	var subgroups, projects []groupRow
	var nSub, nProj int
	err := h.store.Read(r.Context(), func(tx *store.Tx) error {
		ctx := r.Context()
		pg := store.Page{Page: page, PerPage: groupPage}
		subs, n, err := tx.ListNamespaces(ctx, store.NamespaceFilter{Viewer: viewerOf(s), Kind: ferry.KindGroup, ParentID: &g.ID, OrderBy: "name"}, pg)
		if err != nil {
			return err
		}
		nSub = n
		for _, sg := range subs {
			subgroups = append(subgroups, groupRow{Name: sg.Name, Path: sg.FullPath, URL: groupURL(sg),
				Visibility: string(sg.Visibility), Description: sg.Description})
		}
		ps, n, err := tx.ListProjects(ctx, store.ProjectFilter{Viewer: viewerOf(s), NamespaceID: &g.ID, OrderBy: "name", Sort: "asc"}, pg)
		if err != nil {
			return err
		}
		nProj = n
		for _, p := range ps {
			projects = append(projects, groupRow{Name: p.Name, Path: p.FullPath, URL: "/" + p.FullPath,
				Visibility: string(p.Visibility), Description: p.Description})
		}
		return nil
	})
	if err != nil {
		return err
	}
	var desc template.HTML
	if g.Description != "" {
		desc = markdown(g.Description)
	}
	return h.groupRender(w, r, s, g, "group", "group", g.FullName, map[string]any{
		"Description": desc, "Subgroups": subgroups, "SubgroupsTotal": nSub, "Projects": projects, "ProjectsTotal": nProj,
		"Pager": newPager(r, page, groupPage, max(nSub, nProj))})
}

// groupLabels lists the group's own labels.
func (h *Handler) groupLabels(w http.ResponseWriter, r *http.Request, s *session, g *ferry.Namespace) error {
	page := pageParam(r)
	var rows []labelRow
	var total int
	err := h.store.Read(r.Context(), func(tx *store.Tx) (err error) {
		rows, total, err = labelRows(r.Context(), tx, store.ContentFilter{GroupID: g.ID}, page)
		return err
	})
	if err != nil {
		return err
	}
	return h.groupRender(w, r, s, g, "labels", "labels", "Labels · "+g.FullPath, map[string]any{"Rows": rows, "Pager": newPager(r, page, contentPage, total)})
}

// groupMilestones lists the group's own milestones, or shows one.
func (h *Handler) groupMilestones(w http.ResponseWriter, r *http.Request, s *session, g *ferry.Namespace, rest string) error {
	if rest != "" {
		iid, err := strconv.ParseInt(rest, 10, 64)
		if err != nil || iid <= 0 {
			return errPageNotFound
		}
		var m *store.Milestone
		err = h.store.Read(r.Context(), func(tx *store.Tx) error {
			ms, _, err := tx.ListMilestones(r.Context(), store.ContentFilter{GroupID: g.ID, IIDs: []int64{iid}}, store.Page{Page: 1, PerPage: 1})
			if err == nil && len(ms) == 0 {
				err = errPageNotFound
			}
			if err == nil {
				m = ms[0]
			}
			return err
		})
		if err != nil {
			return err
		}
		row := milestoneRow{IID: m.IID, Title: m.Title, State: m.State, Group: true, Start: m.StartDate, Due: m.DueDate, Description: markdown(m.Description)}
		return h.groupRender(w, r, s, g, "milestone", "milestones", m.Title+" · Milestones · "+g.FullPath, map[string]any{"M": row})
	}
	state, f := milestoneState(r)
	f.GroupID = g.ID
	page := pageParam(r)
	var rows []milestoneRow
	var total int
	err := h.store.Read(r.Context(), func(tx *store.Tx) (err error) {
		rows, total, err = milestoneRows(r.Context(), tx, s, groupURL(g), f, page)
		return err
	})
	if err != nil {
		return err
	}
	return h.groupRender(w, r, s, g, "milestones", "milestones", "Milestones · "+g.FullPath, map[string]any{"Rows": rows, "State": state,
		"States": milestoneStates, "Pager": newPager(r, page, contentPage, total)})
}

// projectGroup adds the project's group (GroupPath, GroupURL) to a project
// page's data when the viewer may see that group.
func (h *Handler) projectGroup(ctx context.Context, pv *projectView, data map[string]any) error {
	ns := pv.p.Namespace
	if ns == nil || ns.Kind != ferry.KindGroup {
		return nil
	}
	return h.store.Read(ctx, func(tx *store.Tx) error {
		ok, err := tx.CanSeeNamespace(ctx, viewerOf(pv.s), ns.ID)
		if ok {
			data["GroupPath"], data["GroupURL"] = ns.FullPath, groupURL(ns)
		}
		return err
	})
}
