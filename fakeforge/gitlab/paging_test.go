package gitlab

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// FuzzPaging feeds page, per_page, the request path and the list size
// through the one pagination helper's pieces: parsing never panics, the
// window stays inside the list, and the headers a client reads back agree
// with each other and never carry the token.
func FuzzPaging(f *testing.F) {
	for _, s := range []struct {
		page, perPage, path string
		n                   uint32
	}{
		{"", "", "1", 0}, {"2", "3", "acme%2Fwidgets", 10}, {"-1", "0", "1", 5}, {"9223372036854775807", "100", "x", 20000},
		{"x", "", "1", 1}, {" 3", "101", "a, b>; rel=\"next\"", 250}, {"4", "10", "1", 40}, {"5", "10", "1", 40},
	} {
		f.Add(s.page, s.perPage, s.path, s.n)
	}
	f.Fuzz(func(t *testing.T, page, perPage, path string, n32 uint32) {
		n := int(n32 % 50_000)
		q := url.Values{"page": {page}, "per_page": {perPage}, "private_token": {"s3cret"}, "state": {"all"}}
		p, pp, err := pageParams(q)
		if err != nil {
			var inv errInvalidPage
			if !errors.As(err, &inv) {
				t.Fatalf("error %v is not Grape's invalid-parameter error", err)
			}
			return
		}
		if p < 1 || pp < 1 || pp > maxPerPage {
			t.Fatalf("page %d per_page %d out of range", p, pp)
		}
		w := pageWindow(p, pp, n)
		if w.first < 0 || w.first > w.end || w.end > n || w.end-w.first > pp {
			t.Fatalf("window %+v outside %d objects", w, n)
		}
		h := http.Header{}
		u := &url.URL{Path: "/api/v4/projects/" + path + "/issues", RawQuery: q.Encode()}
		pageHeaders(h, "http://fakeforge.test", u, w, n)
		link := h.Get("Link")
		if strings.Contains(link, "s3cret") {
			t.Fatalf("Link leaks the token: %s", link)
		}
		links, err := parseLinks(link)
		if err != nil {
			t.Fatalf("Link %q does not parse: %v", link, err)
		}
		relPage := func(rel string) string {
			lu, err := url.Parse(links[rel])
			if err != nil {
				t.Fatalf("%s link %q: %v", rel, links[rel], err)
			}
			return lu.Query().Get("page")
		}
		if next := h.Get("X-Next-Page"); next != "" {
			if relPage("next") != next {
				t.Fatalf("X-Next-Page %s, next link %s", next, links["next"])
			}
		} else if _, ok := links["next"]; ok || w.page < w.lastPage {
			t.Fatalf("no X-Next-Page on page %d of %d, links %v", w.page, w.lastPage, links)
		}
		if _, counted := h["X-Total"]; counted != (n <= countLimit) {
			t.Fatalf("X-Total present %v with %d objects", counted, n)
		}
		if n <= countLimit && relPage("last") != strconv.Itoa(w.lastPage) {
			t.Fatalf("last link %s, want page %d", links["last"], w.lastPage)
		}
	})
}

// FuzzFamily routes arbitrary paths into endpoint families without panicking.
func FuzzFamily(f *testing.F) {
	for _, p := range []string{"/api/v4/projects/1/issues/2/notes/3/award_emoji", "/api/v4/groups/acme%2Fsub/subgroups",
		"/api/v4", "/api/v4/", "/acme/widgets.git/info/refs", "/api/graphql", "/acme/widgets/uploads/x/y.png", ""} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, path string) {
		r := &http.Request{URL: &url.URL{Path: path}}
		if fam, _, _ := Family(r); fam == "" && !strings.HasPrefix(path, "/api/v4/") {
			t.Fatalf("no family for %q", path)
		}
	})
}

// FuzzParseLookup checks the GraphQL lookup parser: any query is safe, and
// a quoted full path always comes back as it was.
func FuzzParseLookup(f *testing.F) {
	for _, s := range [][2]string{
		{`query($full_path: ID!) { group(fullPath: $full_path) { id } }`, "acme/sub-1"},
		{`{ project(fullPath: "acme/widgets") { id } }`, `we"ird\path`},
		{`{ group(fullPath: $x) { id } }`, ""},
		{`{ project(fullPath: "\x") }`, "日本語"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, query, path string) {
		_, _, _ = parseLookup(query, map[string]any{"full_path": path, "x": 1})
		kind, got, err := parseLookup(`query { project(fullPath: `+strconv.Quote(path)+`) { id } }`, nil)
		if err != nil || kind != "project" || got != path {
			t.Fatalf("quoted %q came back as %s %q, %v", path, kind, got, err)
		}
		kind, got, err = parseLookup(`query($p: ID!) { group(fullPath: $p) { id } }`, map[string]any{"p": path})
		if err != nil || kind != "group" || got != path {
			t.Fatalf("variable %q came back as %s %q, %v", path, kind, got, err)
		}
	})
}
