package api

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/store"
)

// Badges (lib/api/badges.rb), read-only: GET /groups/:id/badges[/:badge_id]
// and GET /projects/:id/badges[/:badge_id]. They are as visible as their
// group or project; a project lists its groups' badges too (Project#badges).

func (s *Server) badgeRoutes(r chi.Router) {
	for _, group := range []bool{true, false} {
		base := "/projects/{id}/badges"
		if group {
			base = "/groups/{id}/badges"
		}
		r.Get(base, s.wrap(s.listBadges(group)))
		r.Get(base+"/{badge_id}", s.wrap(s.getBadge(group)))
	}
}

// badgeEntity is GitLab's Entities::Badge.
type badgeEntity struct {
	ID               int64  `json:"id"`
	Name             string `json:"name"`
	LinkURL          string `json:"link_url"`
	ImageURL         string `json:"image_url"`
	RenderedLinkURL  string `json:"rendered_link_url"`
	RenderedImageURL string `json:"rendered_image_url"`
	Kind             string `json:"kind"`
}

// badgeOwner resolves {id} to the badge filter of the group or project
// the caller may see (404 otherwise), and the placeholder values a
// project's badges render with: GitLab renders placeholders only for a
// project (a group's badges show their URLs as written).
func (s *Server) badgeOwner(r *http.Request, tx *store.Tx, group bool) (store.BadgeFilter, map[string]string, error) {
	if group {
		g, _, err := s.findGroup(r, tx)
		if err != nil {
			return store.BadgeFilter{}, nil, err
		}
		return store.BadgeFilter{GroupID: g.ID}, nil, nil
	}
	p, _, err := s.FindProject(r, tx)
	if err != nil {
		return store.BadgeFilter{}, nil, err
	}
	return store.BadgeFilter{ProjectID: p.ID}, s.badgeValues(r, tx, p), nil
}

// badgeValues are Badge::PLACEHOLDERS for a project. %{commit_sha} and
// %{latest_tag} are left as written: they would need the repository.
func (s *Server) badgeValues(r *http.Request, tx *store.Tx, p *ferry.Project) map[string]string {
	ns, group := "", ""
	if p.Namespace != nil {
		ns = p.Namespace.FullPath
		if p.Namespace.Kind == ferry.KindGroup {
			group = p.Namespace.FullPath
		}
	}
	host := ""
	if u, err := url.Parse(s.baseURL(r)); err == nil {
		host = u.Host
	}
	return map[string]string{"project_path": p.FullPath, "project_title": p.Name, "project_name": p.Path,
		"project_id": strconv.FormatInt(p.ID, 10), "project_namespace": ns, "group_name": group, "gitlab_server": host,
		"default_branch": p.DefaultBranch}
}

func renderBadge(b *store.Badge, vals map[string]string) badgeEntity {
	link, image := b.LinkURL, b.ImageURL
	if vals != nil {
		link, image = store.RenderBadgeURL(link, vals), store.RenderBadgeURL(image, vals)
	}
	return badgeEntity{ID: b.ID, Name: b.Name, LinkURL: b.LinkURL, ImageURL: b.ImageURL, RenderedLinkURL: link,
		RenderedImageURL: image, Kind: b.Kind()}
}

func (s *Server) listBadges(group bool) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := s.params(r)
		if err != nil {
			return err
		}
		pg := page(p)
		name, _ := p.str("name")
		if err := p.err(); err != nil {
			return err
		}
		var list []*store.Badge
		var total int
		var vals map[string]string
		err = s.store.Read(r.Context(), func(tx *store.Tx) error {
			f, v, err := s.badgeOwner(r, tx, group)
			if err != nil {
				return err
			}
			vals, f.Name = v, name
			list, total, err = tx.ListBadges(r.Context(), f, pg)
			return err
		})
		if err != nil {
			return err
		}
		writePage(s, w, r, pg, total, list, func(b *store.Badge) badgeEntity { return renderBadge(b, vals) })
		return nil
	}
}

func (s *Server) getBadge(group bool) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := parseID(chi.URLParam(r, "badge_id"))
		if err != nil {
			return ferry.Errorf(ferry.EINVALID, "badge_id is invalid")
		}
		var b *store.Badge
		var vals map[string]string
		err = s.store.Read(r.Context(), func(tx *store.Tx) error {
			f, v, err := s.badgeOwner(r, tx, group)
			if err != nil {
				return err
			}
			vals = v
			b, err = tx.Badge(r.Context(), f, id)
			return err
		})
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, renderBadge(b, vals))
		return nil
	}
}
