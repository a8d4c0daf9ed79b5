package cliclient

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestErrorMessages: ferry's refusals come back with GitLab's message,
// whatever its envelope, and never carry the request's secrets.
func TestErrorMessages(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{`{"message":"404 Project Not Found"}`, "404 Project Not Found"},
		{`{"error":"repo_id is missing"}`, "repo_id is missing"},
		{`{"errors":"Namespace does not exist"}`, "Namespace does not exist"},
		{`{"message":{"error":"Missing or invalid project key"}}`, "Missing or invalid project key"},
		{`{"message":{"name":["can't be blank"]}}`, `{"name":["can't be blank"]}`},
		{`upstream down`, "upstream down"},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(422)
			_, _ = w.Write([]byte(c.body))
		}))
		cl, err := New(srv.URL, "ferry-secret")
		if err != nil {
			t.Fatal(err)
		}
		_, err = cl.ImportGitHub(context.Background(), GitHubImport{Token: "source-secret", RepoID: 1, TargetNamespace: "x"})
		srv.Close()
		var fe *Error
		if !errors.As(err, &fe) || fe.Status != 422 || fe.Message != c.want {
			t.Errorf("%s: got %v, want 422 %q", c.body, err, c.want)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: the error shows a secret: %v", c.body, err)
		}
	}
}

func TestNewURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:8080":           "http://127.0.0.1:8080/api/v4",
		"https://ferry.example.com/":      "https://ferry.example.com/api/v4",
		"https://x.example/api/v4/":       "https://x.example/api/v4",
		"https://u:p@x.example/sub?q=1#f": "https://x.example/sub/api/v4",
	} {
		c, err := New(in, "")
		if err != nil || c.base != want {
			t.Errorf("New(%q) = %v, %v; want %s", in, c, err, want)
		}
	}
	for _, bad := range []string{"", "ferry.example.com", "ftp://x"} {
		if _, err := New(bad, ""); err == nil {
			t.Errorf("New(%q) accepted", bad)
		}
	}
}
