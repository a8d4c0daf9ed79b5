package web

import (
	"net/http"
	"net/url"
	"strconv"
)

// maxPage bounds ?page= so a hand-typed number cannot ask the database
// or git to skip millions of rows.
const maxPage = 10000

// pageParam is the 1-based ?page= of r (1 when absent or invalid).
func pageParam(r *http.Request) int { return pageParamOf(r, "page") }

// pageParamOf is the 1-based page that query parameter key names.
func pageParamOf(r *http.Request, key string) int {
	n, err := strconv.Atoi(r.URL.Query().Get(key))
	if err != nil || n < 1 {
		return 1
	}
	return min(n, maxPage)
}

// pager is the previous/next navigation of a paged list (templates/
// pager.html); its links keep the request's other query parameters (the
// state or status filter).
type pager struct {
	Page, Pages, Total int
	Prev, Next         string
	Label              string // the navigation's name when a page has two
}

// labeled names the navigation (for a page with two paged lists).
func (p *pager) labeled(l string) *pager {
	p.Label = l
	return p
}

// newPager is the navigation of page (1-based) of total rows shown
// perPage at a time.
func newPager(r *http.Request, page, perPage, total int) *pager {
	return newPagerOf(r, "page", page, perPage, total)
}

// newPagerOf is newPager for a list paged by query parameter key (a page
// with two paged lists).
func newPagerOf(r *http.Request, key string, page, perPage, total int) *pager {
	pages := max(1, (total+perPage-1)/perPage)
	p := &pager{Page: page, Pages: pages, Total: total}
	link := func(n int) string {
		q := r.URL.Query()
		if n == 1 {
			q.Del(key)
		} else {
			q.Set(key, strconv.Itoa(n))
		}
		u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
		return u.String()
	}
	if page > 1 {
		p.Prev = link(min(page-1, pages))
	}
	if page < pages {
		p.Next = link(page + 1)
	}
	return p
}
