package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/ferry-import/ferry/store"
)

// Pagination limits, as GitLab's defaults.
const (
	defaultPerPage = 20
	maxPerPage     = 100
)

// page reads page and per_page. Like GitLab (Kaminari), out-of-range values
// are clamped rather than refused: page < 1 is 1, per_page > 100 is 100;
// only non-integers are invalid.
func page(p *params) store.Page {
	pg := store.Page{Page: 1, PerPage: defaultPerPage}
	if n, ok := p.optInt("page"); ok && n > 1 {
		pg.Page = int(min(n, 1<<30))
	}
	if n, ok := p.optInt("per_page"); ok && n > 0 {
		pg.PerPage = int(min(n, maxPerPage))
	}
	return pg
}

// setPageHeaders writes GitLab's offset pagination headers and Link.
func (s *Server) setPageHeaders(w http.ResponseWriter, r *http.Request, pg store.Page, total int) {
	pages := (total + pg.PerPage - 1) / pg.PerPage
	if pages < 1 {
		pages = 1
	}
	h := w.Header()
	h.Set("X-Page", strconv.Itoa(pg.Page))
	h.Set("X-Per-Page", strconv.Itoa(pg.PerPage))
	h.Set("X-Total", strconv.Itoa(total))
	h.Set("X-Total-Pages", strconv.Itoa(pages))
	h.Set("X-Next-Page", "")
	h.Set("X-Prev-Page", "")
	// Links carry the parameters the endpoint read, not the raw query: an
	// ignored or oversized parameter must not be echoed four times.
	base := s.baseURL(r) + r.URL.EscapedPath()
	fits := true
	link := func(n int, rel string) string {
		q, ok := linkQuery(r, n, pg.PerPage)
		fits = fits && ok
		return fmt.Sprintf(`<%s?%s>; rel="%s"`, base, q, rel)
	}
	var links []string
	if pg.Page > 1 {
		prev := min(pg.Page-1, pages)
		h.Set("X-Prev-Page", strconv.Itoa(prev))
		links = append(links, link(prev, "prev"))
	}
	if pg.Page < pages {
		h.Set("X-Next-Page", strconv.Itoa(pg.Page+1))
		links = append(links, link(pg.Page+1, "next"))
	}
	links = append(links, link(1, "first"), link(pages, "last"))
	if fits {
		h.Set("Link", strings.Join(links, ", "))
	}
}

// writePage renders one page of a list with its headers.
func writePage[T any, E any](s *Server, w http.ResponseWriter, r *http.Request, pg store.Page, total int, items []T, render func(T) E) {
	s.setPageHeaders(w, r, pg, total)
	out := make([]E, 0, len(items))
	for _, it := range items {
		out = append(out, render(it))
	}
	writeJSON(w, http.StatusOK, out)
}

// parseID parses a positive integer id.
func parseID(s string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err == nil && n <= 0 {
		err = strconv.ErrRange
	}
	return n, err
}
