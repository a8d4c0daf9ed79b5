package paging

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func TestLinkRelNext(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		{`<https://api.github.com/repos/a/b/issues?page=2>; rel="next", <https://api.github.com/repos/a/b/issues?page=9>; rel="last"`,
			"https://api.github.com/repos/a/b/issues?page=2"},
		{`<https://x/?page=9>; rel="last", <https://x/?page=1>; rel="first", <https://x/?page=3>; rel="next"`, "https://x/?page=3"},
		{`<https://x/?page=1>; rel="prev"`, ""},
		{`<https://x/?after=Y3Vyc29y>; rel=next`, "https://x/?after=Y3Vyc29y"},
		{`<https://x/?a=1,2>; rel="next"`, "https://x/?a=1,2"},
		{`<https://x/1>; title="a, b"; rel="prev", <https://x/2>; rel="prev next"`, "https://x/2"},
		{`<https://x/1>; REL="Next"`, "https://x/1"},
		{`https://x/1; rel="next"`, ""},
		{`<https://x/1; rel="next"`, ""},
	} {
		if got := LinkRel(tt.in, "next"); got != tt.want {
			t.Errorf("LinkRel(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzLinkRel(f *testing.F) {
	f.Add(`<https://api.github.com/x?page=2>; rel="next", <https://api.github.com/x?page=5>; rel="last"`)
	f.Add(`<a>; rel="next prev"; title="x,y"`)
	f.Fuzz(func(t *testing.T, h string) {
		if got := LinkRel(h, "next"); got != "" && !strings.Contains(h, "<"+got+">") {
			t.Errorf("LinkRel(%q) = %q, not a target of the header", h, got)
		}
	})
}

func TestPagesAfter(t *testing.T) {
	base := "http://h/api/v3/repos/o/r/issues?page=%d&per_page=100&state=all"
	u := func(p int) string { return fmt.Sprintf(base, p) }
	cases := []struct {
		next, last string
		n          int
		want       []int
	}{
		{u(2), u(5), 7, []int{3, 4, 5}},
		{u(2), u(50), 3, []int{3, 4, 5}},
		{u(5), u(5), 7, nil},
		{u(2), "", 7, nil},
		{"http://h/api/v3/repos/o/r/issues?after=abc", u(9), 7, nil},
		{u(2), "http://h/api/v3/repos/o/r/pulls?page=9", 7, nil},
	}
	for _, c := range cases {
		got := PagesAfter(c.next, c.last, "page", c.n)
		if len(got) != len(c.want) {
			t.Errorf("%s → %s: %v", c.next, c.last, got)
			continue
		}
		for i, p := range c.want {
			if pu, _ := url.Parse(got[i]); pu.Query().Get("page") != fmt.Sprint(p) || pu.Query().Get("state") != "all" {
				t.Errorf("%s: page %d is %s", c.next, i, got[i])
			}
		}
	}
}
