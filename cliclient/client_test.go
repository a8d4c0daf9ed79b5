package cliclient

import (
	"context"
	"encoding/json"
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

// TestGitHubAppRequest: an App import sends the API's app parameters and
// the additional tokens, and no empty personal_access_token; the status
// reads rate_limit_budgets.
func TestGitHubAppRequest(t *testing.T) {
	var got map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodGet {
			_, _ = w.Write([]byte(`{"id":5,"import_status":"started","rate_limit_budgets":[` +
				`{"credential":1,"kind":"github_app 7/8","budget":"api","remaining":12000,"limit":12500,"reset_at":"2026-12-07T06:30:00.000Z"},` +
				`{"credential":2,"kind":"personal_access_token","budget":"graphql","remaining":null,"limit":null,"reset_at":null}]}`))
			return
		}
		_ = json.NewDecoder(r.Body).Decode(&got)
		w.WriteHeader(201)
		_, _ = w.Write([]byte(`{"id":5,"full_path":"/root/x"}`))
	}))
	defer srv.Close()
	cl, err := New(srv.URL, "ferry")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := cl.ImportGitHub(ctx, GitHubImport{AppID: 7, InstallationID: 8, PrivateKey: "PEM", AdditionalTokens: []string{"a", "b"},
		RepoID: 1, TargetNamespace: "root"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := got["personal_access_token"]; ok || got["github_app_id"] != 7.0 || got["github_app_installation_id"] != 8.0 ||
		got["github_app_private_key"] != "PEM" || len(got["additional_access_tokens"].([]any)) != 2 {
		t.Errorf("request %v", got)
	}
	st, err := cl.ProjectImportStatus(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	b := st.RateLimitBudgets
	if len(b) != 2 || b[0].Kind != "github_app 7/8" || *b[0].Remaining != 12000 || *b[0].Limit != 12500 || b[0].ResetAt.Hour() != 6 ||
		b[1].Budget != "graphql" || b[1].Remaining != nil || b[1].ResetAt != nil {
		t.Errorf("budgets %+v", b)
	}
}
