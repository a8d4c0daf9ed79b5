package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/gitstore"
	"github.com/ferry-import/ferry/store"
)

// Project wikis, read from the imported wiki repository beside the
// project's (gitstore.WikiPages): every file with a page extension
// (markdown: md, markdown, mdown, mkd, mkdn; rdoc; asciidoc: adoc,
// asciidoc; org) is a page whose slug is its path without the extension
// (spaces as '-') and whose title is its base name. Whoever sees the
// project reads its wiki (GitLab's read_wiki: a Guest of a private project
// too, who may not read its repository). Not served: front matter
// titles, render_html (content is always the raw markup), and writes.

var errWikiNotFound = notFound("Wiki Page")

// wikiPageEntity is GitLab's Entities::WikiPage; the list without
// with_content is Entities::WikiPageBasic (no content, no encoding).
type wikiPageEntity struct {
	Format   string  `json:"format"`
	Slug     string  `json:"slug"`
	Title    string  `json:"title"`
	Content  *string `json:"content,omitempty"`
	Encoding *string `json:"encoding,omitempty"`
}

func renderWikiPage(pg gitstore.WikiPage, withContent bool) wikiPageEntity {
	out := wikiPageEntity{Format: pg.Format, Slug: pg.Slug, Title: pg.Title}
	if withContent {
		content, enc := string(pg.Content), "UTF-8"
		out.Content, out.Encoding = &content, &enc
	}
	return out
}

func (s *Server) listWikis(w http.ResponseWriter, r *http.Request) error {
	p, err := s.params(r)
	if err != nil {
		return err
	}
	withContent, _ := p.optBool("with_content")
	if err := p.err(); err != nil {
		return err
	}
	pr, err := s.wikiProject(r)
	if err != nil {
		return err
	}
	out := []wikiPageEntity{}
	if s.cfg.Git == nil {
		writeJSON(w, http.StatusOK, out)
		return nil
	}
	pages, err := s.cfg.Git.WikiPages(r.Context(), pr.ID, "")
	if err != nil {
		return fmt.Errorf("wiki of project %d: %w", pr.ID, err)
	}
	if withContent {
		if err := s.cfg.Git.WikiContents(r.Context(), pr.ID, pages); err != nil {
			return fmt.Errorf("wiki of project %d: %w", pr.ID, err)
		}
	}
	for _, pg := range pages {
		out = append(out, renderWikiPage(pg, withContent))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getWikiPage(w http.ResponseWriter, r *http.Request) error {
	p, err := s.params(r)
	if err != nil {
		return err
	}
	version, _ := p.str("version")
	_, _ = p.optBool("render_html")
	if err := p.err(); err != nil {
		return err
	}
	slug, ok := pathParam(r, "slug")
	pr, err := s.wikiProject(r)
	if err != nil {
		return err
	}
	if !ok || slug == "" || s.cfg.Git == nil {
		return errWikiNotFound
	}
	pg, err := s.cfg.Git.WikiPageAt(r.Context(), pr.ID, slug, version)
	if errors.Is(err, gitstore.ErrNotFound) || errors.Is(err, gitstore.ErrInvalid) {
		return errWikiNotFound
	} else if err != nil {
		return fmt.Errorf("wiki page of project %d: %w", pr.ID, err)
	}
	writeJSON(w, http.StatusOK, renderWikiPage(pg, true))
	return nil
}

// wikiProject is the project the request names, for a viewer who may read
// its wiki: anyone FindProject lets see it.
func (s *Server) wikiProject(r *http.Request) (p *ferry.Project, err error) {
	err = s.store.Read(r.Context(), func(tx *store.Tx) (err error) {
		p, _, err = s.FindProject(r, tx)
		return err
	})
	return p, err
}
