package github

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ferry-import/ferry/fakeforge"
	ffgithub "github.com/ferry-import/ferry/fakeforge/github"
	"github.com/ferry-import/ferry/importer"
)

func TestAPIBase(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		err      bool
	}{
		{"", "https://api.github.com/", false},
		{"  ", "https://api.github.com/", false},
		{"https://github.com", "https://api.github.com/", false},
		{"https://api.github.com/", "https://api.github.com/", false},
		{"https://github.example.com", "https://github.example.com/api/v3/", false},
		{"https://github.example.com/", "https://github.example.com/api/v3/", false},
		{"http://ghe.local:8080", "http://ghe.local:8080/api/v3/", false},
		{"https://github.example.com/api/v3", "https://github.example.com/api/v3/", false},
		{"https://github.example.com/api/v3/", "https://github.example.com/api/v3/", false},
		{"https://example.com/ghe", "https://example.com/ghe/api/v3/", false},
		{"https://example.com/ghe/api/v3/", "https://example.com/ghe/api/v3/", false},
		{"https://github.example.com?x=1#y", "https://github.example.com/api/v3/", false},
		{"github.example.com", "", true},
		{"ftp://github.example.com", "", true},
		{"file:///etc/passwd", "", true},
		{"https://user:secret@github.example.com", "", true},
		{"https://", "", true},
		{"javascript:alert(1)", "", true},
		{"http://[::1", "", true},
	} {
		got, err := APIBase(tt.in)
		if tt.err {
			if !errors.Is(err, ErrInvalidURL) {
				t.Errorf("APIBase(%q) = %q, %v; want ErrInvalidURL", tt.in, got, err)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("APIBase(%q) error shows the password: %v", tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("APIBase(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestLookup(t *testing.T) {
	f := startForge(t, tiny())
	ctx := context.Background()
	hc := &http.Client{}
	// A stand-in for answers fakeforge does not give.
	canned := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/v3/repositories/403":
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"message":"Resource not accessible by personal access token"}`))
		case "/api/v3/repositories/429":
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Reset", "1700000000")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"message":"API rate limit exceeded"}`))
		case "/api/v3/repositories/500":
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write([]byte(`{"message":"Server Error"}`))
		}
	}))
	t.Cleanup(canned.Close)

	root, ghe := f.GitHub.APIURL+"/", f.GitHub.URL+"/api/v3/"
	const bad = "ghp_wrongwrongwrongwrongwrongwrongwrong00"
	for _, tt := range []struct {
		name   string
		base   string
		token  string
		id     int64
		check  func(error) bool
		status int
	}{
		{"ok", root, f.GitHub.Token, ffgithub.RepoID, nil, 0},
		{"ok enterprise", ghe, f.GitHub.Token, ffgithub.RepoID, nil, 0},
		{"bad token", root, bad, ffgithub.RepoID, func(err error) bool { return errors.Is(err, ErrUnauthorized) }, 0},
		{"unknown id", ghe, f.GitHub.Token, 99, nil, http.StatusNotFound},
		{"forbidden", canned.URL + "/api/v3/", bad, 403, func(err error) bool { return errors.Is(err, ErrForbidden) }, 0},
		{"rate limited", canned.URL + "/api/v3/", bad, 429, func(err error) bool { return errors.Is(err, ErrRateLimited) }, 0},
		{"server error", canned.URL + "/api/v3/", bad, 500, nil, http.StatusBadGateway},
	} {
		t.Run(tt.name, func(t *testing.T) {
			info, err := Lookup(ctx, hc, tt.base, tt.token, tt.id)
			if err != nil && strings.Contains(err.Error(), tt.token) {
				t.Errorf("error shows the token: %v", err)
			}
			switch {
			case tt.check != nil:
				if !tt.check(err) {
					t.Errorf("Lookup = %+v, %v", info, err)
				}
			case tt.status != 0:
				var ae *APIError
				if !errors.As(err, &ae) || ae.Status != tt.status || !strings.Contains(ae.Body, `"message"`) {
					t.Errorf("Lookup = %+v, %v; want APIError %d with GitHub's body", info, err, tt.status)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				want := RepoInfo{ID: ffgithub.RepoID, FullName: "acme/widgets", Name: "widgets", Private: true, Visibility: "private",
					CloneURL: f.GitHub.URL + "/acme/widgets.git", HasWiki: true, DefaultBranch: "main"}
				got := *info
				got.Description, got.HTMLURL, got.Rate = "", "", RateLimit{}
				if got != want {
					t.Errorf("Lookup = %+v, want %+v", got, want)
				}
			}
		})
	}
}

func TestCheckCollaborators(t *testing.T) {
	f := startForge(t, tiny())
	ctx := context.Background()
	if err := CheckCollaborators(ctx, &http.Client{}, f.GitHub.APIURL, f.GitHub.Token, ffgithub.Owner+"/"+ffgithub.Repo); err != nil {
		t.Errorf("with the right token: %v", err)
	}
	if err := CheckCollaborators(ctx, &http.Client{}, f.GitHub.APIURL, "nope", ffgithub.Owner+"/"+ffgithub.Repo); !errors.Is(err, ErrForbidden) {
		t.Errorf("with a bad token: %v, want ErrForbidden", err)
	}
}

// TestStagesPlanOnly checks Stages is a pure plan: no call, same answer
// every time, the optional stages where the options put them.
func TestStagesPlanOnly(t *testing.T) {
	noCalls := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		t.Errorf("Stages called %s", r.URL)
		return nil, errors.New("no calls")
	})}
	plan := func(opts string) []string {
		env := envFor(noCalls, opts)
		stages, err := New().Stages(context.Background(), env)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, st := range stages {
			names := []string{}
			for _, r := range st.Relations {
				names = append(names, r.Name())
			}
			out = append(out, st.Name+": "+strings.Join(names, ","))
		}
		return out
	}
	want := []string{
		"repository: repository",
		"base_data: labels,milestones,releases,protected_branches",
		"pull_requests: pull_requests",
		"issues_and_notes: issues,issue_comments,review_comments",
		"details: pull_request_details,reactions,issue_events",
		"users: users",
		"lfs_objects: lfs_objects",
	}
	if got := plan(`{}`); strings.Join(got, "\n") != strings.Join(want, "\n") || strings.Join(plan(`{}`), "") != strings.Join(got, "") {
		t.Errorf("plan:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	got := strings.Join(plan(`{"single_endpoint_notes_import":true,"collaborators_import":true}`), "\n")
	for _, s := range []string{"protected_branches,collaborators", "issues_and_notes: issues\n", "details: pull_request_details,reactions,issue_events\n", "notes: item_comments,item_review_comments"} {
		if !strings.Contains(got+"\n", s) {
			t.Errorf("plan with optional stages lacks %q:\n%s", s, got)
		}
	}
	for _, bad := range []string{`{"pagination_limit":101}`, `{"pagination_limit":-1}`, `{"full_name":"a/b/c"}`, `[1]`} {
		if _, err := New().Stages(context.Background(), envFor(noCalls, bad)); err == nil {
			t.Errorf("options %s accepted", bad)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func envFor(hc *http.Client, opts string) *importer.Env {
	return &importer.Env{SourceURL: "https://api.github.com/", SourceRef: "4242", Options: []byte(opts), Credential: fakeforge.GitHubToken, HTTP: hc}
}
