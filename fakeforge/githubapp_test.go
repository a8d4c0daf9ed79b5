package fakeforge_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	gh "github.com/google/go-github/v92/github"

	"github.com/ferry-import/ferry/fakeforge"
	"github.com/ferry-import/ferry/fakeforge/github"
	"github.com/ferry-import/ferry/fakeforge/scenario"
)

// TestGitHubAppThroughGhinstallation: a started forge's app, driven by
// the library ferry uses, mints installation tokens that read the API,
// clone over smart HTTP and ask the LFS batch API; ghinstallation renews
// a token a minute before it expires, so a lifetime of 60 s is renewed at
// every use: each use mints, whatever the time between them (no sleeps).
func TestGitHubAppThroughGhinstallation(t *testing.T) {
	f := startForge(t, fakeforge.Options{Scenario: tinyScenario(1), Sources: []string{scenario.GitHub},
		GitHub: github.Options{App: github.AppOptions{TokenLifetime: 60 * time.Second}}})
	e := f.GitHub
	if e.AppID != fakeforge.GitHubAppID || e.InstallationID != fakeforge.GitHubInstallationID || e.AppPrivateKeyPEM == "" {
		t.Fatalf("app %d installation %d, key given %v", e.AppID, e.InstallationID, e.AppPrivateKeyPEM != "")
	}
	itr, err := ghinstallation.New(http.DefaultTransport, e.AppID, e.InstallationID, []byte(e.AppPrivateKeyPEM))
	if err != nil {
		t.Fatal(err)
	}
	itr.BaseURL = e.APIURL
	c, err := gh.NewClient(gh.WithHTTPClient(&http.Client{Transport: itr}), gh.WithURLs(gh.Ptr(e.APIURL+"/"), nil))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	repo, _, err := c.Repositories.GetByID(ctx, github.RepoID)
	if err != nil || repo.GetFullName() != "acme/widgets" {
		t.Fatalf("repository through the app: %v %v", repo.GetFullName(), err)
	}
	tok, err := itr.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ method, path, ctype, body string }{
		{http.MethodGet, "/acme/widgets.git/info/refs?service=git-upload-pack", "", ""},
		{http.MethodPost, "/acme/widgets.git/info/lfs/objects/batch", "application/vnd.git-lfs+json", `{"operation":"download","objects":[]}`},
	} {
		req, _ := http.NewRequest(tt.method, e.URL+tt.path, bytes.NewReader([]byte(tt.body)))
		req.SetBasicAuth("x-access-token", tok)
		if tt.ctype != "" {
			req.Header.Set("Content-Type", tt.ctype)
			req.Header.Set("Accept", tt.ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s %s with an installation token: %d", tt.method, tt.path, resp.StatusCode)
		}
	}
	if _, _, err := c.Repositories.GetByID(ctx, github.RepoID); err != nil { // renewed again
		t.Fatal(err)
	}
	if st := e.AppStats(); st.Minted != 3 || st.Expired != 0 || st.Refused != 0 {
		t.Errorf("app stats %+v, want 3 minted (one per use), nothing expired or refused", st)
	}
	if s := e.Stats(); s.Families["app"].Requests != 3 {
		t.Errorf("app family: %+v", s.Families["app"])
	}
}
