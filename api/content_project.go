package api

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/ferry-import/ferry/store"
)

// contentOwner resolves {id} to the project or group whose content is
// listed, with its web URL (for milestone links).
func (s *Server) contentOwner(r *http.Request, tx *store.Tx, group bool) (store.ContentFilter, string, error) {
	if group {
		g, _, err := s.findGroup(r, tx)
		if err != nil {
			return store.ContentFilter{}, "", err
		}
		return store.ContentFilter{GroupID: g.ID}, s.baseURL(r) + "/groups/" + g.FullPath, nil
	}
	p, _, err := s.FindProject(r, tx)
	if err != nil {
		return store.ContentFilter{}, "", err
	}
	return store.ContentFilter{ProjectID: p.ID}, s.baseURL(r) + "/" + p.FullPath, nil
}

func (s *Server) listLabels(group bool) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := s.params(r)
		if err != nil {
			return err
		}
		pg := page(p)
		search, _ := p.search("search")
		ancestors, given := p.optBool("include_ancestor_groups")
		if err := p.err(); err != nil {
			return err
		}
		var labels []*store.Label
		var total int
		err = s.store.Read(r.Context(), func(tx *store.Tx) error {
			f, _, err := s.contentOwner(r, tx, group)
			if err != nil {
				return err
			}
			f.Search, f.OwnOnly = search, given && !ancestors
			labels, total, err = tx.ListLabels(r.Context(), f, pg)
			return err
		})
		if err != nil {
			return err
		}
		writePage(s, w, r, pg, total, labels, renderLabel)
		return nil
	}
}

func (s *Server) listMilestones(group bool) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := s.params(r)
		if err != nil {
			return err
		}
		pg := page(p)
		var f store.ContentFilter
		f.Search, _ = p.search("search")
		f.Title, _ = p.str("title")
		f.State, _ = p.enum("state", "active", "closed")
		if iids, ok := p.filterList("iids"); ok {
			for _, v := range iids {
				n, err := parseID(v)
				if err != nil {
					p.fail("iids", "is invalid")
					break
				}
				f.IIDs = append(f.IIDs, n)
			}
		}
		if err := p.err(); err != nil {
			return err
		}
		var ms []*store.Milestone
		var total int
		var web string
		err = s.store.Read(r.Context(), func(tx *store.Tx) error {
			owner, w, err := s.contentOwner(r, tx, group)
			if err != nil {
				return err
			}
			f.ProjectID, f.GroupID, web = owner.ProjectID, owner.GroupID, w
			ms, total, err = tx.ListMilestones(r.Context(), f, pg)
			return err
		})
		if err != nil {
			return err
		}
		writePage(s, w, r, pg, total, ms, func(m *store.Milestone) *milestoneEntity { return s.renderMilestone(r, m, web) })
		return nil
	}
}

func (s *Server) listReleases(w http.ResponseWriter, r *http.Request) error {
	p, err := s.params(r)
	if err != nil {
		return err
	}
	pg := page(p)
	orderBy, sort := p.orderBy("released_at", "created_at"), p.sortDir()
	if err := p.err(); err != nil {
		return err
	}
	var rels []*store.Release
	var total int
	var ref projectRef
	err = s.store.Read(r.Context(), func(tx *store.Tx) error {
		pr, _, err := s.FindProject(r, tx)
		if err != nil {
			return err
		}
		ref = projectRef{id: pr.ID, fullPath: pr.FullPath}
		rels, total, err = tx.ListReleases(r.Context(), pr.ID, orderBy, sort, pg)
		return err
	})
	if err != nil {
		return err
	}
	writePage(s, w, r, pg, total, rels, func(rel *store.Release) releaseEntity { return s.renderRelease(r, rel, ref) })
	return nil
}

func (s *Server) getRelease(w http.ResponseWriter, r *http.Request) error {
	tag := chi.URLParam(r, "tag_name")
	if v, err := url.PathUnescape(tag); err == nil {
		tag = v
	}
	var rel *store.Release
	var ref projectRef
	err := s.store.Read(r.Context(), func(tx *store.Tx) error {
		pr, _, err := s.FindProject(r, tx)
		if err != nil {
			return err
		}
		ref = projectRef{id: pr.ID, fullPath: pr.FullPath}
		rel, err = tx.ReleaseByTag(r.Context(), pr.ID, strings.TrimSpace(tag))
		return err
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.renderRelease(r, rel, ref))
	return nil
}

func (s *Server) listProtectedBranches(w http.ResponseWriter, r *http.Request) error {
	p, err := s.params(r)
	if err != nil {
		return err
	}
	pg := page(p)
	search, _ := p.search("search")
	if err := p.err(); err != nil {
		return err
	}
	var list []*store.ProtectedBranch
	var total int
	err = s.store.Read(r.Context(), func(tx *store.Tx) error {
		pr, _, err := s.FindProject(r, tx)
		if err != nil {
			return err
		}
		list, total, err = tx.ListProtectedBranches(r.Context(), pr.ID, search, pg)
		return err
	})
	if err != nil {
		return err
	}
	writePage(s, w, r, pg, total, list, renderProtectedBranch)
	return nil
}
