package gitlab

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// GitLab's offset pagination: page and per_page (default 20, at most 100).
const (
	defaultPerPage = 20
	maxPerPage     = 100
	// countLimit is the size above which GitLab stops counting: it omits
	// X-Total, X-Total-Pages and the "last" link for performance.
	countLimit = 10_000
)

// errInvalidPage carries GitLab's (Grape's) 400 message for a parameter
// that is not an integer.
type errInvalidPage struct{ param string }

func (e errInvalidPage) Error() string { return e.param + " is invalid" }

// pageParams reads page and per_page as GitLab does: non-integers are 400,
// a page below 1 is page 1, a per_page below 1 is the default and above 100
// is 100.
func pageParams(q url.Values) (page, perPage int, err error) {
	page, perPage = 1, defaultPerPage
	if v := q.Get("page"); v != "" {
		n, convErr := strconv.Atoi(strings.TrimSpace(v))
		if convErr != nil {
			return 0, 0, errInvalidPage{"page"}
		}
		page = max(n, 1)
	}
	if v := q.Get("per_page"); v != "" {
		n, convErr := strconv.Atoi(strings.TrimSpace(v))
		if convErr != nil {
			return 0, 0, errInvalidPage{"per_page"}
		}
		if n >= 1 {
			perPage = min(n, maxPerPage)
		}
	}
	return page, perPage, nil
}

// window is the part of a list of n objects that page covers.
type window struct {
	page, perPage int
	first, end    int // object positions [first, end)
	lastPage      int // 1 for an empty list
}

// pageWindow places page within n objects without overflowing however
// large the page number is: a page past the end is empty.
func pageWindow(page, perPage, n int) window {
	last := max(1, (n+perPage-1)/perPage)
	w := window{page: page, perPage: perPage, lastPage: last, first: n, end: n}
	if page <= last {
		w.first = (page - 1) * perPage
		w.end = min(w.first+perPage, n)
	}
	return w
}

// pageHeaders writes GitLab's pagination headers for w on a list of n
// objects requested at reqURL, whose links are made absolute with base.
// The token never goes into the links.
func pageHeaders(h http.Header, base string, reqURL *url.URL, w window, n int) {
	link := func(page int, rel string) string {
		u := *reqURL
		q := u.Query()
		q.Del("private_token")
		q.Set("page", strconv.Itoa(page))
		q.Set("per_page", strconv.Itoa(w.perPage))
		u.RawQuery = q.Encode()
		return fmt.Sprintf(`<%s%s>; rel="%s"`, base, u.RequestURI(), rel)
	}
	var links []string
	next, prev := "", ""
	if w.page > 1 {
		p := min(w.page-1, w.lastPage)
		prev = strconv.Itoa(p)
		links = append(links, link(p, "prev"))
	}
	if w.page < w.lastPage {
		next = strconv.Itoa(w.page + 1)
		links = append(links, link(w.page+1, "next"))
	}
	links = append(links, link(1, "first"))
	if n <= countLimit {
		links = append(links, link(w.lastPage, "last"))
		h.Set("X-Total", strconv.Itoa(n))
		h.Set("X-Total-Pages", strconv.Itoa(w.lastPage))
	}
	h.Set("Link", strings.Join(links, ", "))
	h.Set("X-Page", strconv.Itoa(w.page))
	h.Set("X-Per-Page", strconv.Itoa(w.perPage))
	h.Set("X-Next-Page", next)
	h.Set("X-Prev-Page", prev)
}

// parseLinks reads a Link header into rel → URL. It is what a client does
// with pageHeaders' output, so the fuzz target can check they agree.
func parseLinks(header string) (map[string]string, error) {
	out := map[string]string{}
	if header == "" {
		return out, nil
	}
	for part := range strings.SplitSeq(header, ", ") {
		target, params, ok := strings.Cut(part, ">; ")
		if !ok || !strings.HasPrefix(target, "<") {
			return nil, fmt.Errorf("link %q is not <url>; rel=…", part)
		}
		rel, ok := strings.CutPrefix(params, `rel="`)
		if !ok || !strings.HasSuffix(rel, `"`) {
			return nil, fmt.Errorf("link %q has no rel", part)
		}
		out[strings.TrimSuffix(rel, `"`)] = target[1:]
	}
	if len(out) == 0 {
		return nil, errors.New("empty Link header")
	}
	return out, nil
}
