package api

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/store"
)

// idParam returns the {id} path parameter decoded: a number or a full path
// ("group%2Fsub" arrives still escaped because chi routes on RawPath).
func idParam(r *http.Request) string {
	raw := chi.URLParam(r, "id")
	if v, err := url.PathUnescape(raw); err == nil {
		return v
	}
	return raw
}

// lookupNamespace resolves a numeric id or a full path.
func lookupNamespace(r *http.Request, tx *store.Tx, ref string) (*ferry.Namespace, error) {
	if n, err := strconv.ParseInt(ref, 10, 64); err == nil {
		return tx.NamespaceByID(r.Context(), n)
	}
	return tx.NamespaceByPath(r.Context(), ref)
}

// findGroup returns the group in {id} if the caller may see it, with the
// caller's role on it; anything else is GitLab's 404.
func (s *Server) findGroup(r *http.Request, tx *store.Tx) (*ferry.Namespace, ferry.AccessLevel, error) {
	gone := notFound("Group")
	n, err := lookupNamespace(r, tx, idParam(r))
	if ferry.ErrorCode(err) == ferry.ENOTFOUND || (err == nil && n.Kind != ferry.KindGroup) {
		return nil, 0, gone
	} else if err != nil {
		return nil, 0, err
	}
	v := viewer(r)
	ok, err := tx.CanSeeNamespace(r.Context(), v, n.ID)
	if err != nil {
		return nil, 0, err
	}
	if !ok {
		return nil, 0, gone
	}
	return n, s.namespaceRole(r, tx, n), nil
}

// namespaceRole is the caller's role on a namespace; admins act as owners.
func (s *Server) namespaceRole(r *http.Request, tx *store.Tx, n *ferry.Namespace) ferry.AccessLevel {
	return s.role(r, "namespace", func(ctx context.Context, userID int64) (ferry.AccessLevel, error) {
		return tx.NamespaceAccess(ctx, userID, n.ID)
	})
}

// role is the caller's role as lookup tells it: none for anonymous callers,
// Owner for admins; a failed lookup is logged and counts as no access.
func (s *Server) role(r *http.Request, what string, lookup func(ctx context.Context, userID int64) (ferry.AccessLevel, error)) ferry.AccessLevel {
	u := currentUser(r)
	if u == nil {
		return ferry.NoAccess
	}
	if u.IsAdmin {
		return ferry.OwnerAccess
	}
	l, err := lookup(r.Context(), u.ID)
	if err != nil {
		s.log.ErrorContext(r.Context(), what+" access", "error", err)
		return ferry.NoAccess
	}
	return l
}

// groupListFilter reads the filters GET /groups and the subgroup lists share.
func groupListFilter(r *http.Request, p *params) store.NamespaceFilter {
	v := viewer(r)
	f := store.NamespaceFilter{Viewer: v, Kind: ferry.KindGroup}
	f.Search, _ = p.search("search")
	if owned, _ := p.optBool("owned"); owned {
		f.MemberOnly, f.MinAccessLevel = true, ferry.OwnerAccess
	}
	if l, ok := p.optInt("min_access_level"); ok {
		if !ferry.ValidMemberAccess(ferry.AccessLevel(l)) {
			p.fail("min_access_level", "does not have a valid value")
		}
		f.MemberOnly, f.MinAccessLevel = true, max(f.MinAccessLevel, ferry.AccessLevel(l))
	}
	if v, ok := p.enum("visibility", "public", "internal", "private"); ok {
		f.Visibility = ferry.Visibility(v)
	}
	// GitLab's values; similarity ranks search matches, which ferry's
	// substring search does not score, so it keeps the default order.
	f.OrderBy = p.orderBy("name", "path", "id", "similarity")
	if f.OrderBy == "similarity" {
		f.OrderBy = ""
	}
	f.Sort = p.sortDir()
	return f
}

func (s *Server) listGroups(w http.ResponseWriter, r *http.Request) error {
	p, err := s.params(r)
	if err != nil {
		return err
	}
	f := groupListFilter(r, p)
	f.TopLevelOnly, _ = p.optBool("top_level_only")
	// GitLab: all_available defaults to false for signed-in non-admins, who
	// then see only the groups they belong to.
	all, given := p.optBool("all_available")
	if f.Viewer.UserID != 0 && !f.Viewer.Admin && !(given && all) && !f.MemberOnly {
		f.MemberOnly, f.MinAccessLevel = true, ferry.MinimalAccess
	}
	return s.writeNamespaces(w, r, p, f, true)
}

// writeNamespaces lists namespaces as groups (or as namespaces).
func (s *Server) writeNamespaces(w http.ResponseWriter, r *http.Request, p *params, f store.NamespaceFilter, asGroups bool) error {
	pg := page(p)
	if err := p.err(); err != nil {
		return err
	}
	var list []*ferry.Namespace
	var total int
	if err := s.store.Read(r.Context(), func(tx *store.Tx) (err error) { list, total, err = tx.ListNamespaces(r.Context(), f, pg); return }); err != nil {
		return err
	}
	if asGroups {
		writePage(s, w, r, pg, total, list, func(n *ferry.Namespace) groupEntity { return s.renderGroup(r, n) })
	} else {
		writePage(s, w, r, pg, total, list, func(n *ferry.Namespace) namespaceEntity { return s.renderNamespace(r, n) })
	}
	return nil
}

func (s *Server) listSubgroups(w http.ResponseWriter, r *http.Request) error {
	return s.listBelow(w, r, false)
}
func (s *Server) listDescendantGroups(w http.ResponseWriter, r *http.Request) error {
	return s.listBelow(w, r, true)
}

func (s *Server) listBelow(w http.ResponseWriter, r *http.Request, deep bool) error {
	p, err := s.params(r)
	if err != nil {
		return err
	}
	var g *ferry.Namespace
	if err := s.store.Read(r.Context(), func(tx *store.Tx) (err error) { g, _, err = s.findGroup(r, tx); return }); err != nil {
		return err
	}
	f := groupListFilter(r, p)
	if deep {
		f.DescendantOf = &g.ID
	} else {
		f.ParentID = &g.ID
	}
	return s.writeNamespaces(w, r, p, f, true)
}

type groupWithProjects struct {
	groupEntity
	Projects       []projectEntity `json:"projects"`
	SharedProjects []projectEntity `json:"shared_projects"`
}

func (s *Server) getGroup(w http.ResponseWriter, r *http.Request) error {
	p, err := s.params(r)
	if err != nil {
		return err
	}
	withProjects := true
	if v, ok := p.optBool("with_projects"); ok {
		withProjects = v
	}
	if err := p.err(); err != nil {
		return err
	}
	var g *ferry.Namespace
	var projects []*ferry.Project
	err = s.store.Read(r.Context(), func(tx *store.Tx) (err error) {
		if g, _, err = s.findGroup(r, tx); err != nil || !withProjects {
			return err
		}
		projects, _, err = tx.ListProjects(r.Context(), store.ProjectFilter{Viewer: viewer(r), NamespaceID: &g.ID}, store.Page{Page: 1, PerPage: maxPerPage})
		return err
	})
	if err != nil {
		return err
	}
	out := groupWithProjects{groupEntity: s.renderGroup(r, g), Projects: []projectEntity{}, SharedProjects: []projectEntity{}}
	for _, pr := range projects {
		out.Projects = append(out.Projects, s.renderProject(r, pr))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// visibilityFits enforces that a child is never more open than its parent.
func visibilityFits(child, parent ferry.Visibility) bool { return child.Rank() <= parent.Rank() }

func visibilityError(v, parent ferry.Visibility, what string) error {
	return &ferry.Error{Code: ferry.ECONFLICT, Message: "visibility not allowed", Fields: map[string][]string{
		"visibility_level": {string(v) + " is not allowed since " + what + " has a " + string(parent) + " visibility."}}}
}

// createOwnedGroup creates g with me as its owner.
func createOwnedGroup(ctx context.Context, tx *store.Tx, g *ferry.Namespace, me *ferry.User) error {
	if err := tx.CreateNamespace(ctx, g); err != nil {
		return err
	}
	return tx.AddMember(ctx, &ferry.Member{SourceKind: store.MemberOfNamespace, SourceID: g.ID, UserID: me.ID, AccessLevel: ferry.OwnerAccess, CreatedByID: &me.ID})
}

func (s *Server) createGroup(w http.ResponseWriter, r *http.Request) error {
	me, err := requireUser(r)
	if err != nil {
		return err
	}
	p, err := s.params(r)
	if err != nil {
		return err
	}
	g := &ferry.Namespace{Kind: ferry.KindGroup, Visibility: ferry.Private}
	g.Name = p.requireStr("name")
	g.Path = p.requireStr("path")
	if v, ok := p.visibility("visibility"); ok {
		g.Visibility = v
	}
	g.Description, _ = p.str("description")
	parentID, hasParent := p.optInt("parent_id")
	if err := p.err(); err != nil {
		return err
	}
	if err := ferry.ValidateGroup(g, nil); err != nil {
		return err
	}
	err = s.store.Write(r.Context(), func(tx *store.Tx) error {
		// GitLab looks up any given parent_id, 0 included: find_group!(0)
		// is 404, never a top-level group.
		if hasParent {
			parent, err := tx.NamespaceByID(r.Context(), parentID)
			if err != nil || parent.Kind != ferry.KindGroup {
				return notFound("Group")
			}
			if ok, err := tx.CanSeeNamespace(r.Context(), viewer(r), parent.ID); err != nil {
				return err
			} else if !ok {
				return notFound("Group")
			}
			if s.namespaceRole(r, tx, parent) < ferry.MaintainerAccess {
				return errForbidden
			}
			if !visibilityFits(g.Visibility, parent.Visibility) {
				return visibilityError(g.Visibility, parent.Visibility, "the parent group")
			}
			g.ParentID = &parent.ID
		}
		return createOwnedGroup(r.Context(), tx, g, me)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, s.renderGroup(r, g))
	return nil
}

func (s *Server) updateGroup(w http.ResponseWriter, r *http.Request) error {
	if _, err := requireUser(r); err != nil {
		return err
	}
	p, err := s.params(r)
	if err != nil {
		return err
	}
	var g *ferry.Namespace
	err = s.store.Write(r.Context(), func(tx *store.Tx) error {
		var role ferry.AccessLevel
		if g, role, err = s.findGroup(r, tx); err != nil {
			return err
		}
		if role < ferry.OwnerAccess {
			return errForbidden
		}
		old := *g
		p.renameFields(&g.Name, &g.Path, &g.Description)
		vis, visGiven := p.visibility("visibility")
		if err := p.err(); err != nil {
			return err
		}
		if err := ferry.ValidateGroup(g, &old); err != nil {
			return err
		}
		if visGiven {
			if g.ParentID != nil {
				parent, err := tx.NamespaceByID(r.Context(), *g.ParentID)
				if err != nil {
					return err
				}
				if !visibilityFits(vis, parent.Visibility) {
					return visibilityError(vis, parent.Visibility, "the parent group")
				}
			}
			below, err := tx.MaxDescendantVisibility(r.Context(), g.ID)
			if err != nil {
				return err
			}
			if !visibilityFits(below, vis) {
				return &ferry.Error{Code: ferry.ECONFLICT, Message: "visibility not allowed", Fields: map[string][]string{
					"visibility_level": {string(vis) + " is not allowed since there are sub-groups or projects with higher visibility."}}}
			}
			g.Visibility = vis
		}
		return tx.UpdateNamespace(r.Context(), g)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.renderGroup(r, g))
	return nil
}

func (s *Server) deleteGroup(w http.ResponseWriter, r *http.Request) error {
	if _, err := requireUser(r); err != nil {
		return err
	}
	var removed []int64
	err := s.store.Write(r.Context(), func(tx *store.Tx) error {
		g, role, err := s.findGroup(r, tx)
		if err != nil {
			return err
		}
		if role < ferry.OwnerAccess {
			return errForbidden
		}
		if removed, err = tx.DeleteNamespace(r.Context(), g.ID); err != nil {
			return err
		}
		return s.projectsDeleted(r, tx, removed)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"message": "202 Accepted"})
	return nil
}

// listNamespaces is GET /namespaces: the caller's own namespace and the
// groups they belong to; everything for an admin.
func (s *Server) listNamespaces(w http.ResponseWriter, r *http.Request) error {
	u, err := requireUser(r)
	if err != nil {
		return err
	}
	p, err := s.params(r)
	if err != nil {
		return err
	}
	f := store.NamespaceFilter{Viewer: viewer(r), OrderBy: "id", Sort: "asc"}
	f.Search, _ = p.search("search")
	if owned, _ := p.optBool("owned_only"); owned || !u.IsAdmin {
		f.MemberOnly, f.MinAccessLevel = true, ferry.MinimalAccess
		if owned {
			f.MinAccessLevel = ferry.OwnerAccess
		}
	}
	return s.writeNamespaces(w, r, p, f, false)
}

func (s *Server) getNamespace(w http.ResponseWriter, r *http.Request) error {
	u, err := requireUser(r)
	if err != nil {
		return err
	}
	var n *ferry.Namespace
	err = s.store.Read(r.Context(), func(tx *store.Tx) (err error) {
		n, err = lookupNamespace(r, tx, idParam(r))
		if err != nil {
			return err
		}
		// Only namespaces the user belongs to (or any, for an admin).
		if !u.IsAdmin && s.namespaceRole(r, tx, n) == ferry.NoAccess {
			return notFound("Namespace")
		}
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.renderNamespace(r, n))
	return nil
}
