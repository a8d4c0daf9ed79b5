package gitstore

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"
)

// WikiPage is a page of a project's wiki repository, named as GitLab names
// pages after their files.
type WikiPage struct {
	Path   string // file path in the wiki repository
	Slug   string // Path without its extension, spaces as '-'
	Title  string // the file's base name without its extension
	Format string // "markdown", "rdoc", "asciidoc" or "org"
	BlobID string
	// Content is filled by WikiPageAt only.
	Content []byte
}

// wikiFormats maps the extensions GitLab recognises as wiki pages to their
// format; files with other extensions are attachments, not pages.
var wikiFormats = map[string]string{
	"md": "markdown", "markdown": "markdown", "mdown": "markdown", "mkd": "markdown", "mkdn": "markdown",
	"rdoc": "rdoc", "adoc": "asciidoc", "asciidoc": "asciidoc", "org": "org",
}

// wikiPageOf makes a page of a file path, or reports it is no page.
func wikiPageOf(p string) (WikiPage, bool) {
	ext := path.Ext(p)
	format, ok := wikiFormats[strings.ToLower(strings.TrimPrefix(ext, "."))]
	if !ok || len(p) == len(ext) {
		return WikiPage{}, false
	}
	noExt := strings.TrimSuffix(p, ext)
	return WikiPage{Path: p, Slug: strings.ReplaceAll(noExt, " ", "-"), Title: path.Base(noExt), Format: format}, true
}

// WikiPages lists the pages of the wiki of project id at ref ("" for the
// wiki's default branch), sorted by slug. A project without a wiki, or
// with an empty one, has none.
func (s *Store) WikiPages(ctx context.Context, id int64, ref string) ([]WikiPage, error) {
	if !s.WikiExists(id) {
		return nil, nil
	}
	if ref == "" {
		if _, err := s.run(ctx, gitCmd{Dir: s.WikiPath(id), Args: []string{"rev-parse", "--verify", "--quiet", "HEAD^{commit}"}}); err != nil {
			return nil, nil // no commit yet
		}
	}
	entries, err := s.tree(ctx, id, true, ref, "", true)
	if err != nil {
		return nil, fmt.Errorf("wiki pages: %w", err)
	}
	var pages []WikiPage
	for _, e := range entries {
		if e.Type != "blob" || !strings.HasPrefix(e.Mode, "100") {
			continue
		}
		if pg, ok := wikiPageOf(e.Path); ok {
			pg.BlobID = e.ID
			pages = append(pages, pg)
		}
	}
	sortPages(pages)
	return pages, nil
}

func sortPages(pages []WikiPage) {
	sort.SliceStable(pages, func(i, j int) bool { return pages[i].Slug < pages[j].Slug })
}

// WikiPageAt reads the page of the wiki of project id whose slug is slug,
// at ref ("" for the default branch); ErrNotFound when there is none.
func (s *Store) WikiPageAt(ctx context.Context, id int64, slug, ref string) (WikiPage, error) {
	pages, err := s.WikiPages(ctx, id, ref)
	if err != nil {
		return WikiPage{}, err
	}
	for _, pg := range pages {
		if pg.Slug != slug {
			continue
		}
		content, err := s.run(ctx, gitCmd{Dir: s.WikiPath(id), Args: []string{"cat-file", "blob", pg.BlobID}})
		if err != nil {
			return WikiPage{}, fmt.Errorf("wiki page %d %q: %w", id, slug, err)
		}
		pg.Content = content
		return pg, nil
	}
	return WikiPage{}, fmt.Errorf("wiki page %d %q: %w", id, slug, ErrNotFound)
}
