package github

import (
	"fmt"
	"net/url"
	"testing"
)

func TestCheckCloneURL(t *testing.T) {
	cases := []struct {
		api, clone string
		ok         bool
	}{
		{"https://api.github.com/", "https://github.com/acme/widgets.git", true},
		{"https://ghe.example.com/api/v3/", "https://ghe.example.com/acme/widgets.git", true},
		{"http://127.0.0.1:8080/api/v3/", "http://127.0.0.1:8080/acme/widgets.git", true},
		{"https://ghe.example.com/api/v3/", "https://evil.example.net/acme/widgets.git", false},
		{"http://127.0.0.1:8080/api/v3/", "http://127.0.0.1:9090/acme/widgets.git", false},
		{"https://ghe.example.com/api/v3/", "http://ghe.example.com/acme/widgets.git", false},
		{"https://ghe.example.com/api/v3/", "https://user:pw@ghe.example.com/acme/widgets.git", false},
		{"https://ghe.example.com/api/v3/", "ssh://git@ghe.example.com/acme/widgets.git", false},
		{"https://api.github.com/", "https://api.github.com.evil.net/x.git", false},
	}
	for _, c := range cases {
		if err := checkCloneURL(c.api, c.clone); (err == nil) != c.ok {
			t.Errorf("api %s clone %s: err %v, want ok=%v", c.api, c.clone, err, c.ok)
		}
	}
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
		got := pagesAfter(c.next, c.last, c.n)
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
