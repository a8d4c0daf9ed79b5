package bitbucketserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	ffbbs "github.com/ferry-import/ferry/fakeforge/bitbucketserver"
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/sourcehttp"
)

// lookupEnv is what the import endpoint gives Lookup.
func lookupEnv(server, ref, username, token string, hc *http.Client) *importer.Env {
	opts, _ := json.Marshal(Options{Username: username})
	return &importer.Env{SourceURL: server, SourceRef: ref, Options: opts, Credential: token, HTTP: hc}
}

// TestLookup: the repository of the simulated Bitbucket Server, with HTTP
// Basic and with a Bearer token, and its error answers mapped to the
// shared status errors, none of them naming the token.
func TestLookup(t *testing.T) {
	f := startForge(t, tiny())
	bb := f.BitbucketServer
	ctx := context.Background()
	ref := ffbbs.ProjectKey + "/" + ffbbs.RepoSlug
	// The description is whatever the server says.
	var served struct{ Description string }
	if err := json.Unmarshal(fetchRaw(t, bb.URL+"/rest/api/1.0/projects/ACME/repos/widgets", bb.Username, bb.Token), &served); err != nil || served.Description == "" {
		t.Fatalf("the simulated repository: %+v %v", served, err)
	}
	want := RepoInfo{FullName: "Acme/" + ffbbs.RepoSlug, Name: ffbbs.RepoSlug, Description: served.Description, Private: true,
		WebURL: bb.URL + "/projects/ACME/repos/widgets/browse", CloneURL: bb.URL + "/scm/acme/widgets.git"}
	for _, user := range []string{bb.Username, ""} {
		got, err := Lookup(ctx, lookupEnv(bb.URL, ref, user, bb.Token, http.DefaultClient))
		if err != nil || *got != want {
			t.Errorf("as %q: Lookup = %+v, %v\nwant %+v", user, got, err, want)
		}
	}
	// A public project's repository is not private.
	if got, err := Lookup(ctx, lookupEnv(bb.URL, ffbbs.PublicProjectKey+"/"+ffbbs.RepoSlug, bb.Username, bb.Token, http.DefaultClient)); err != nil || got.Private {
		t.Errorf("the public project's repository: %+v, %v", got, err)
	}
	const wrong = "not-the-token-4711"
	for _, tt := range []struct {
		name, user, token, ref string
		status                 int
	}{
		{"bad token", bb.Username, wrong, ref, 401},
		{"bad bearer token", "", wrong, ref, 401},
		{"no such repository", bb.Username, bb.Token, ffbbs.ProjectKey + "/gadgets", 404},
		{"no such project", bb.Username, bb.Token, "NOPE/" + ffbbs.RepoSlug, 404},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Lookup(ctx, lookupEnv(bb.URL, tt.ref, tt.user, tt.token, http.DefaultClient))
			var perm *importer.Permanent
			if sourcehttp.StatusOf(err) != tt.status || !errors.As(err, &perm) {
				t.Fatalf("Lookup: %v; want a permanent %d", err, tt.status)
			}
			if strings.Contains(err.Error(), wrong) || strings.Contains(err.Error(), bb.Token) {
				t.Fatalf("the error shows the token: %v", err)
			}
		})
	}
}

// fetchRaw reads url as user with token.
func fetchRaw(t *testing.T, url, user, token string) []byte {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.SetBasicAuth(user, token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return b
}

// TestLookupAnswers: a body cut short is read again; a body that is not
// Bitbucket's error JSON still gives its status; an answer that is not a
// repository is refused; a key and slug with spaces stay in their path
// segments.
func TestLookupAnswers(t *testing.T) {
	var calls atomic.Int32
	var first atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		first.CompareAndSwap(nil, r.URL.EscapedPath())
		switch {
		case strings.Contains(r.URL.Path, "/repos/proxied"):
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, "<html>bad gateway</html>")
		case strings.Contains(r.URL.Path, "/repos/empty"):
			fmt.Fprint(w, "null")
		case n == 1:
			fmt.Fprint(w, `{"slug":"my repo","name":"My Repo","project":{"key":"K","na`)
		default:
			fmt.Fprint(w, `{"slug":"my repo","name":"My Repo","project":{"key":"K","name":"Kay","public":true}}`)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	got, err := Lookup(ctx, lookupEnv(srv.URL, "~K Y/my repo", "u", "t", srv.Client()))
	if err != nil || got.Name != "My Repo" || got.Private || got.FullName != "Kay/My Repo" || calls.Load() != 2 {
		t.Fatalf("Lookup after a cut body = %+v, %v after %d calls", got, err, calls.Load())
	}
	if p := first.Load(); p != "/rest/api/1.0/projects/~K%20Y/repos/my%20repo" {
		t.Errorf("requested %v", p)
	}
	if _, err = Lookup(ctx, lookupEnv(srv.URL, "K/proxied", "u", "t", srv.Client())); sourcehttp.StatusOf(err) != http.StatusBadGateway ||
		!strings.Contains(err.Error(), "Bad Gateway") {
		t.Errorf("a proxy's error page: %v", err)
	}
	if _, err = Lookup(ctx, lookupEnv(srv.URL, "K/empty", "u", "t", srv.Client())); err == nil || sourcehttp.StatusOf(err) != 0 {
		t.Errorf("an answer that is no repository: %v", err)
	}
}
