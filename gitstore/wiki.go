package gitstore

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"sort"
	"strconv"
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

// MaxWikiContentBytes bounds what WikiContents reads in one call.
const MaxWikiContentBytes = 64 << 20

// WikiContents fills the Content of pages (from WikiPages of project id)
// with one git call; ErrTooLarge when together they exceed
// MaxWikiContentBytes.
func (s *Store) WikiContents(ctx context.Context, id int64, pages []WikiPage) error {
	if len(pages) == 0 {
		return nil
	}
	var in strings.Builder
	for _, pg := range pages {
		if !hexID.MatchString(pg.BlobID) {
			return fmt.Errorf("wiki contents %d: blob %q: %w", id, pg.BlobID, ErrInvalid)
		}
		in.WriteString(pg.BlobID + "\n")
	}
	out := &cappedBuffer{max: MaxWikiContentBytes}
	if _, err := s.run(ctx, gitCmd{Dir: s.WikiPath(id), Args: []string{"cat-file", "--batch"}, Stdin: strings.NewReader(in.String()), Stdout: out}); err != nil {
		return fmt.Errorf("wiki contents %d: %w", id, err)
	}
	if out.cut {
		return fmt.Errorf("wiki contents %d: %w", id, ErrTooLarge)
	}
	// "<oid> blob <size>\n<content>\n" per object, in the order asked.
	b := out.buf.Bytes()
	for i := range pages {
		nl := bytes.IndexByte(b, '\n')
		if nl < 0 {
			return fmt.Errorf("wiki contents %d: short output", id)
		}
		f := strings.Fields(string(b[:nl]))
		if len(f) != 3 || f[1] != "blob" {
			return fmt.Errorf("wiki contents %d: %q: %w", id, b[:nl], ErrNotFound)
		}
		size, err := strconv.Atoi(f[2])
		if err != nil || nl+1+size > len(b) {
			return fmt.Errorf("wiki contents %d: bad size %q", id, f[2])
		}
		pages[i].Content = b[nl+1 : nl+1+size : nl+1+size]
		b = b[min(nl+2+size, len(b)):]
	}
	return nil
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
		one := []WikiPage{pg}
		if err := s.WikiContents(ctx, id, one); err != nil {
			return WikiPage{}, fmt.Errorf("wiki page %q: %w", slug, err)
		}
		return one[0], nil
	}
	return WikiPage{}, fmt.Errorf("wiki page %d %q: %w", id, slug, ErrNotFound)
}
