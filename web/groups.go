package web

import (
	"context"
	"html/template"
	"net/http"
	"strings"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/store"
)

// Group pages: "/<group_full_path>" and "/groups/<group_full_path>" (the
// API's group web_url) show a group's description, the subgroups and the
// projects in it that the viewer may see. A group the viewer may not see
// is not routed here, as for projects.

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

// groupRow is a subgroup or a project in a group's lists.
type groupRow struct {
	Name, Path, URL, Visibility, Description string
}

// groupPage shows a group: ?page= pages through its projects (and its
// subgroups, listed first on each page while there are more).
func (h *Handler) groupPage(w http.ResponseWriter, r *http.Request, s *session, full string) {
	page := pageParam(r)
	var g *ferry.Namespace
	var subgroups, projects []groupRow
	var nSub, nProj int
	err := h.store.Read(r.Context(), func(tx *store.Tx) error {
		ctx := r.Context()
		var err error
		if g, err = h.findGroup(ctx, tx, s, full); err != nil {
			return err
		}
		pg := store.Page{Page: page, PerPage: groupPage}
		subs, n, err := tx.ListNamespaces(ctx, store.NamespaceFilter{Viewer: viewerOf(s), Kind: ferry.KindGroup, ParentID: &g.ID, OrderBy: "name"}, pg)
		if err != nil {
			return err
		}
		nSub = n
		for _, sg := range subs {
			subgroups = append(subgroups, groupRow{Name: sg.Name, Path: sg.FullPath, URL: "/groups/" + sg.FullPath,
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
		h.browseFail(w, r, s, err)
		return
	}
	crumbs := []crumb{}
	acc := ""
	for _, seg := range strings.Split(g.FullPath, "/") {
		if acc != "" {
			acc += "/"
		}
		acc += seg
		crumbs = append(crumbs, crumb{Name: seg, URL: "/groups/" + acc})
	}
	var desc template.HTML
	if g.Description != "" {
		desc = markdown(g.Description)
	}
	h.render(w, r, http.StatusOK, "group", s, map[string]any{"Title": g.FullName, "Group": g, "Crumbs": crumbs,
		"Description": desc, "Subgroups": subgroups, "SubgroupsTotal": nSub, "Projects": projects, "ProjectsTotal": nProj,
		"Pager": newPager(r, page, groupPage, max(nSub, nProj))})
}
