package github

import (
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
