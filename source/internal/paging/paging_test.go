package paging

import "testing"

func TestBaseURL(t *testing.T) {
	for _, tt := range []struct{ raw, want string }{
		{"https://ghe.example/api/v3", "https://ghe.example/api/v3/"},
		{"http://bbs.example:7990/?x=1#f", "http://bbs.example:7990/"},
		{"https://bbs.example/context/", "https://bbs.example/context/"},
		{"https://u:p@bbs.example/", ""},
		{"ftp://bbs.example/", ""},
		{"/relative", ""},
		{"https://", ""},
		{"%zz", ""},
	} {
		u, err := BaseURL(tt.raw, "test:")
		got := ""
		if err == nil {
			got = u.String()
		} else if err.Error() != "test: URL must be http(s)://host[/path] without credentials" {
			t.Errorf("BaseURL(%q): error %q", tt.raw, err)
		}
		if got != tt.want {
			t.Errorf("BaseURL(%q) = %q, want %q", tt.raw, got, tt.want)
		}
	}
}
