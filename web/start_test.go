package web_test

import (
	"bytes"
	"context"
	"html"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/fakeforge"
	ffbbs "github.com/ferry-import/ferry/fakeforge/bitbucketserver"
	ffgithub "github.com/ferry-import/ferry/fakeforge/github"
	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/store"
	"github.com/ferry-import/ferry/store/storetest"
	"github.com/ferry-import/ferry/web"
)

// recorder is a browser that keeps every answer, to show afterwards that
// none of them carries a secret.
type recorder struct {
	*browser
	bodies []string
}

func (b *recorder) do(method, path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	res, body := b.browser.do(method, path, form)
	b.bodies = append(b.bodies, body)
	return res, body
}

func (b *recorder) neverShows(t *testing.T, secrets ...string) {
	t.Helper()
	for _, body := range b.bodies {
		for _, s := range secrets {
			if strings.Contains(body, s) {
				t.Errorf("a page shows the secret %q", s)
			}
		}
	}
}

var (
	sealedRE = regexp.MustCompile(`name="sealed_token" value="([^"]+)"`)
	alertRE  = regexp.MustCompile(`role="alert"[^>]*>([^<]*)<`)
)

func alert(page string) string {
	if m := alertRE.FindStringSubmatch(page); m != nil {
		return html.UnescapeString(m[1])
	}
	return ""
}

// startForge starts the three simulated sources and a ferry that may
// reach them (and no other local address).
func startForge(t *testing.T, logs *logBuffer) (*fakeforge.Forge, *apptest.Instance) {
	t.Helper()
	sc, err := scenario.Preset("small", 3)
	if err != nil {
		t.Fatal(err)
	}
	sc.Issues, sc.PullRequests, sc.Users = 2, 1, 2
	sc.Groups = scenario.GroupTree{Depth: 1, Breadth: 1, ProjectsPerGroup: 1}
	f, err := fakeforge.Start(context.Background(), fakeforge.Options{Scenario: sc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	var allow []netip.AddrPort
	for _, e := range []*fakeforge.Endpoint{f.GitHub, f.BitbucketServer, f.GitLab} {
		u, _ := url.Parse(e.URL)
		allow = append(allow, netip.MustParseAddrPort(u.Host))
	}
	return f, apptest.Start(t, storetest.Engines(t)[0], apptest.Options{Workers: 2, AllowEndpoints: allow, Log: logs})
}

// logBuffer keeps ferry's log lines, to show that no token is logged.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestStartImports(t *testing.T) {
	t.Parallel()
	logs := &logBuffer{}
	f, in := startForge(t, logs)
	alice, tok := user(t, in, "alice")
	_, readTok := user(t, in, "reader", ferry.ScopeReadAPI)
	c := in.Client(t, tok.Token)
	if _, _, err := c.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("dest"), Path: gitlab.Ptr("dest")}); err != nil {
		t.Fatal(err)
	}
	secrets := []string{f.GitHub.Token, f.BitbucketServer.Token, f.GitLab.Token, tok.Token, readTok.Token}
	b := &recorder{browser: newBrowser(t, in)}
	b.signIn(tok.Token)

	// The history links the start pages; the chooser links the three forms.
	_, page := b.do("GET", "/-/imports", nil)
	if !strings.Contains(page, `href="/-/imports/new"`) {
		t.Errorf("the history has no New import link")
	}
	_, page = b.do("GET", "/-/imports/new", nil)
	for _, p := range []string{"/-/imports/new/github", "/-/imports/new/bitbucket_server", "/-/imports/new/gitlab"} {
		if !strings.Contains(page, `href="`+p+`"`) {
			t.Errorf("the chooser does not link %s", p)
		}
	}

	t.Run("github", func(t *testing.T) {
		res, page := b.do("GET", "/-/imports/new/github", nil)
		if res.StatusCode != 200 || !strings.Contains(page, `<label for="personal_access_token">`) || !strings.Contains(page, `type="password"`) {
			t.Fatalf("GitHub form: %d %s", res.StatusCode, page)
		}
		token := csrf(t, page)
		// Listing: errors are the API's, next to the form, the hostname kept.
		for _, c := range []struct {
			name, token, host string
			status            int
			alert             string
		}{
			{"bad token", "ghp_wrong0000000000000000000000000000000", f.GitHub.URL, http.StatusUnauthorized, "Access denied to your GitHub account."},
			{"no token", "", f.GitHub.URL, http.StatusUnprocessableEntity, "personal_access_token is missing"},
			{"address refused", f.GitHub.Token, "http://127.0.0.1:1", http.StatusBadRequest, "Invalid URL: http://127.0.0.1:1"},
		} {
			t.Run(c.name, func(t *testing.T) {
				res, page := b.do("POST", "/-/imports/new/github/repos", url.Values{"authenticity_token": {token},
					"personal_access_token": {c.token}, "github_hostname": {c.host}})
				if res.StatusCode == 200 || !strings.Contains(alert(page), c.alert) || !strings.Contains(page, `value="`+c.host+`"`) {
					t.Errorf("%d, alert %q, want %q and the hostname kept", res.StatusCode, alert(page), c.alert)
				}
			})
		}
		// Without the CSRF token: refused, nothing listed.
		if res, page := b.do("POST", "/-/imports/new/github/repos", url.Values{"personal_access_token": {f.GitHub.Token},
			"github_hostname": {f.GitHub.URL}}); res.StatusCode != http.StatusForbidden || strings.Contains(page, ffgithub.Repo) {
			t.Errorf("listing without CSRF: %d", res.StatusCode)
		}

		res, page = b.do("POST", "/-/imports/new/github/repos", url.Values{"authenticity_token": {token},
			"personal_access_token": {f.GitHub.Token}, "github_hostname": {f.GitHub.URL}})
		want := `value="` + strconv.Itoa(ffgithub.RepoID) + `"`
		if res.StatusCode != 200 || !strings.Contains(page, ffgithub.Owner+"/"+ffgithub.Repo) || !strings.Contains(page, want) ||
			!strings.Contains(page, `<option value="alice" selected>`) || !strings.Contains(page, `<option value="dest">`) {
			t.Fatalf("listing: %d %s", res.StatusCode, page)
		}
		m := sealedRE.FindStringSubmatch(page)
		if m == nil {
			t.Fatal("no sealed token in the listing")
		}
		sealed := m[1]
		start := func(over url.Values) (*http.Response, string) {
			form := url.Values{"authenticity_token": {token}, "sealed_token": {sealed}, "github_hostname": {f.GitHub.URL},
				"repo_id": {strconv.Itoa(ffgithub.RepoID)}, "target_namespace": {"alice"}, "new_name": {"from-web"},
				"optional_stages[attachments_import]": {"true"}}
			for k, v := range over {
				form[k] = v
			}
			return b.do("POST", "/-/imports/new/github", form)
		}
		// Refusals: the API's message, the listing again with what was typed.
		for _, c := range []struct {
			name  string
			over  url.Values
			alert string
		}{
			{"no namespace", url.Values{"target_namespace": {"nowhere"}}, "Namespace or group to import repository into does not exist."},
			{"bad name", url.Values{"new_name": {"bad name!"}}, "Name can contain only letters"},
			{"no repository", url.Values{"repo_id": {"999"}}, "Import failed because of a GitHub error"},
			{"sealed for nobody", url.Values{"sealed_token": {"AAAA" + sealed[4:]}}, "The list of repositories has expired"},
		} {
			t.Run(c.name, func(t *testing.T) {
				res, page := start(c.over)
				if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(alert(page), c.alert) {
					t.Errorf("%d, alert %q, want %q", res.StatusCode, alert(page), c.alert)
				}
				if nn := c.over.Get("new_name"); nn != "" && !strings.Contains(page, `value="`+nn+`"`) {
					t.Errorf("the form lost the name typed")
				}
			})
		}
		if res, _ := start(url.Values{"authenticity_token": {"forged"}}); res.StatusCode != http.StatusForbidden {
			t.Errorf("start with a forged CSRF token: %d", res.StatusCode)
		}

		res, _ = start(nil)
		loc := res.Header.Get("Location")
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/-/imports/") {
			t.Fatalf("start: %d %q", res.StatusCode, loc)
		}
		pid, _ := strconv.ParseInt(strings.TrimPrefix(loc, "/-/imports/"), 10, 64)
		if _, page := b.do("GET", loc, nil); !strings.Contains(page, "alice/from-web") {
			t.Errorf("the import page does not show alice/from-web")
		}
		// The import the API would have made: its source, options and user.
		ctx := context.Background()
		err := in.App.Store.Read(ctx, func(tx *store.Tx) error {
			im, err := tx.ImportByProject(ctx, pid)
			if err != nil {
				return err
			}
			if im.UserID != alice.ID || im.SourceType != "github" || im.SourceRef != strconv.Itoa(ffgithub.RepoID) ||
				!strings.Contains(im.Options, `"attachments_import":true`) || !strings.Contains(im.Options, `"collaborators_import":false`) {
				t.Errorf("import %+v", im)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// And it runs: the engine imports the repository from fakeforge.
		deadline := time.Now().Add(2 * time.Minute)
		for st := importStatus(t, in, pid); st != ferry.ImportFinished; st = importStatus(t, in, pid) {
			if st == ferry.ImportFailed || st == ferry.ImportCanceled || time.Now().After(deadline) {
				t.Fatalf("the import started from the web ended %s", st)
			}
			time.Sleep(100 * time.Millisecond)
		}
		// A sealed token does not open in another session.
		other := &recorder{browser: newBrowser(t, in)}
		other.signIn(tok.Token)
		_, page = other.do("GET", "/-/imports/new/github", nil)
		res, page = other.do("POST", "/-/imports/new/github/repos", url.Values{"authenticity_token": {csrf(t, page)}, "sealed_token": {sealed},
			"github_hostname": {f.GitHub.URL}})
		if res.StatusCode == 200 || !strings.Contains(alert(page), "enter the GitHub token or App again") {
			t.Errorf("a sealed token opened in another session: %d %q", res.StatusCode, alert(page))
		}
	})

	t.Run("bitbucket server", func(t *testing.T) {
		_, page := b.do("GET", "/-/imports/new/bitbucket_server", nil)
		token := csrf(t, page)
		form := func(over url.Values) url.Values {
			v := url.Values{"authenticity_token": {token}, "bitbucket_server_url": {f.BitbucketServer.URL},
				"bitbucket_server_username": {f.BitbucketServer.Username}, "personal_access_token": {f.BitbucketServer.Token},
				"bitbucket_server_project": {ffbbs.ProjectKey}, "bitbucket_server_repo": {ffbbs.RepoSlug}, "new_namespace": {"dest/bbs"},
				"new_name": {"bbs-widgets"}}
			for k, x := range over {
				v[k] = x
			}
			return v
		}
		for _, c := range []struct {
			name  string
			over  url.Values
			alert string
		}{
			{"bad project key", url.Values{"bitbucket_server_project": {"A/B"}}, "Missing or invalid project key"},
			{"bad token", url.Values{"personal_access_token": {"nope"}}, ""},
			{"no url", url.Values{"bitbucket_server_url": {""}}, "Invalid URL"},
		} {
			t.Run(c.name, func(t *testing.T) {
				res, page := b.do("POST", "/-/imports/new/bitbucket_server", form(c.over))
				if res.StatusCode < 400 || alert(page) == "" || !strings.Contains(alert(page), c.alert) {
					t.Errorf("%d, alert %q, want %q", res.StatusCode, alert(page), c.alert)
				}
				if !strings.Contains(page, `value="bbs-widgets"`) || !strings.Contains(page, `value="dest/bbs"`) {
					t.Errorf("the form lost what was typed")
				}
			})
		}
		if res, _ := b.do("POST", "/-/imports/new/bitbucket_server", form(url.Values{"authenticity_token": nil})); res.StatusCode != http.StatusForbidden {
			t.Errorf("without CSRF: %d", res.StatusCode)
		}
		res, _ := b.do("POST", "/-/imports/new/bitbucket_server", form(nil))
		if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/-/imports/") {
			t.Fatalf("start: %d %q", res.StatusCode, loc)
		}
		if _, _, err := c.Projects.GetProject("dest/bbs/bbs-widgets", nil); err != nil {
			t.Errorf("the project: %v", err)
		}
	})

	t.Run("gitlab migration", func(t *testing.T) {
		_, page := b.do("GET", "/-/imports/new/gitlab", nil)
		token := csrf(t, page)
		project := f.Scenario.Projects()[0].FullPath
		form := func(over url.Values) url.Values {
			v := url.Values{"authenticity_token": {token}, "configuration[url]": {f.GitLab.URL}, "configuration[access_token]": {f.GitLab.Token},
				"entities[0][source_type]": {"project_entity"}, "entities[0][source_full_path]": {project},
				"entities[0][destination_namespace]": {"dest"}, "entities[0][destination_slug]": {"migrated"},
				"entities[0][migrate_projects]": {"true"}, "entities[0][migrate_memberships]": {"true"},
				"entities[1][source_type]": {"group_entity"}}
			for k, x := range over {
				v[k] = x
			}
			return v
		}
		for _, c := range []struct {
			name  string
			over  url.Values
			alert string
		}{
			{"no entity", url.Values{"entities[0][source_full_path]": {""}, "entities[0][destination_slug]": {""}}, "entities is missing"},
			{"no access", url.Values{"entities[0][destination_namespace]": {"nowhere"}}, "Import failed. Destination 'nowhere' is invalid, or you don't have permission."},
			{"bad slug", url.Values{"entities[0][destination_slug]": {"-bad-"}}, "entities[0][destination_slug]"},
		} {
			t.Run(c.name, func(t *testing.T) {
				res, page := b.do("POST", "/-/imports/new/gitlab", form(c.over))
				if res.StatusCode < 400 || !strings.Contains(alert(page), c.alert) {
					t.Errorf("%d, alert %q, want %q", res.StatusCode, alert(page), c.alert)
				}
				if !strings.Contains(page, `value="`+f.GitLab.URL+`"`) {
					t.Errorf("the form lost the address typed")
				}
			})
		}
		res, _ := b.do("POST", "/-/imports/new/gitlab", form(nil))
		loc := res.Header.Get("Location")
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/-/migrations/") {
			t.Fatalf("start: %d %q", res.StatusCode, loc)
		}
		if res, page := b.do("GET", loc, nil); res.StatusCode != 200 || !strings.Contains(page, project) {
			t.Errorf("migration page: %d", res.StatusCode)
		}
	})

	t.Run("read-only session", func(t *testing.T) {
		r := &recorder{browser: newBrowser(t, in)}
		r.signIn(readTok.Token)
		_, page := r.do("GET", "/-/imports/new/bitbucket_server", nil)
		res, page := r.do("POST", "/-/imports/new/bitbucket_server", url.Values{"authenticity_token": {csrf(t, page)},
			"bitbucket_server_url": {f.BitbucketServer.URL}, "bitbucket_server_username": {f.BitbucketServer.Username},
			"personal_access_token": {f.BitbucketServer.Token}, "bitbucket_server_project": {ffbbs.ProjectKey},
			"bitbucket_server_repo": {ffbbs.RepoSlug}})
		if res.StatusCode != http.StatusForbidden || !strings.Contains(alert(page), "api scope") {
			t.Errorf("read-only start: %d %q", res.StatusCode, alert(page))
		}
		r.neverShows(t, secrets...)
	})

	b.neverShows(t, secrets...)
	for _, secret := range secrets {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log shows the secret %q", secret)
		}
	}
	if !strings.Contains(logs.String(), "import started from the web") {
		t.Errorf("no log line for the import started from the web")
	}
}

// pagingStarter lists two pages of repositories and remembers the tokens
// it was given.
type pagingStarter struct {
	mu     sync.Mutex
	tokens []string
}

func (p *pagingStarter) StartImport(context.Context, *ferry.User, string, url.Values) (int64, error) {
	return 0, ferry.Errorf(ferry.EUNPROCESSABLE, "not in this test")
}

func (p *pagingStarter) StartMigration(context.Context, *ferry.User, url.Values) (int64, error) {
	return 0, ferry.Errorf(ferry.EUNPROCESSABLE, "not in this test")
}

func (p *pagingStarter) ListRepos(_ context.Context, _ *ferry.User, _ string, form url.Values) ([]web.SourceRepo, int, error) {
	p.mu.Lock()
	p.tokens = append(p.tokens, form.Get("personal_access_token"))
	p.mu.Unlock()
	if form.Get("page") == "2" {
		return []web.SourceRepo{{Ref: "3", FullName: "o/third"}}, 0, nil
	}
	return []web.SourceRepo{{Ref: "1", FullName: "o/first"}, {Ref: "2", FullName: "o/second", Private: true}}, 2, nil
}

// TestGitHubRepositoryPages: the listing pages through the token's
// repositories with the token sealed, never shown.
func TestGitHubRepositoryPages(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, storetest.Engines(t)[0], apptest.Options{Workers: 1})
	_, tok := user(t, in, "alice")
	st := &pagingStarter{}
	h, err := web.New(web.Config{Store: in.App.Store, SessionKey: bytes.Repeat([]byte("k"), 32), Starter: st})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	b := &recorder{browser: newBrowser(t, in)}
	b.url = srv.URL
	b.signIn(tok.Token)
	const secret = "ghp_paging000000000000000000000000000000"
	_, page := b.do("GET", "/-/imports/new/github", nil)
	token := csrf(t, page)
	_, page = b.do("POST", "/-/imports/new/github/repos", url.Values{"authenticity_token": {token}, "personal_access_token": {secret}})
	if !strings.Contains(page, "o/first") || !strings.Contains(page, "o/second") || !strings.Contains(page, ">More repositories</button>") ||
		strings.Contains(page, "Previous repositories") {
		t.Fatalf("page 1: %s", page)
	}
	// The "More repositories" form: page 2 with the sealed token.
	more := regexp.MustCompile(`(?s)<form method="post" action="/-/imports/new/github/repos">(.*?)</form>`).FindAllStringSubmatch(page, -1)
	if len(more) != 1 {
		t.Fatalf("%d paging forms", len(more))
	}
	fields := url.Values{}
	for _, m := range regexp.MustCompile(`name="([^"]+)" value="([^"]*)"`).FindAllStringSubmatch(more[0][1], -1) {
		fields.Set(m[1], html.UnescapeString(m[2]))
	}
	if fields.Get("page") != "2" || fields.Get("sealed_token") == "" {
		t.Fatalf("paging form fields %v", fields)
	}
	_, page = b.do("POST", "/-/imports/new/github/repos", fields)
	if !strings.Contains(page, "o/third") || strings.Contains(page, "o/first") || !strings.Contains(page, ">Previous repositories</button>") ||
		strings.Contains(page, "More repositories") {
		t.Fatalf("page 2: %s", page)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.tokens) != 2 || st.tokens[0] != secret || st.tokens[1] != secret {
		t.Errorf("tokens given to the lister: %q", st.tokens)
	}
	b.neverShows(t, secret, tok.Token)
}

// TestStartGitHubApp: the GitHub form as an App installation with another
// account's token: the installation's repositories are listed (fakeforge
// refuses an installation token on /user/repos), the import starts with
// both credentials and finishes, and neither the key nor a token reaches a
// page or the log; the API's refusals of an App come back to the form.
func TestStartGitHubApp(t *testing.T) {
	t.Parallel()
	sc, err := scenario.Preset("small", 3)
	if err != nil {
		t.Fatal(err)
	}
	sc.Issues, sc.PullRequests, sc.Users = 2, 1, 2
	const second = "ghp_webaccount000000000000000000000000000"
	f, err := fakeforge.Start(context.Background(), fakeforge.Options{Scenario: sc, Sources: []string{scenario.GitHub},
		GitHub: ffgithub.Options{Tokens: []string{second}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	u, _ := url.Parse(f.GitHub.URL)
	logs := &logBuffer{}
	in := apptest.Start(t, storetest.Engines(t)[0], apptest.Options{Workers: 2, AllowEndpoints: []netip.AddrPort{netip.MustParseAddrPort(u.Host)}, Log: logs})
	_, tok := user(t, in, "alice")
	gh := f.GitHub
	appID, instID := strconv.FormatInt(gh.AppID, 10), strconv.FormatInt(gh.InstallationID, 10)
	keyLines := strings.Split(strings.TrimSpace(gh.AppPrivateKeyPEM), "\n")
	b := &recorder{browser: newBrowser(t, in)}
	b.signIn(tok.Token)

	res, page := b.do("GET", "/-/imports/new/github", nil)
	for _, want := range []string{`<label for="github_app_id">`, `<label for="github_app_installation_id">`, `<label for="github_app_private_key">`,
		`<textarea id="github_app_private_key" name="github_app_private_key"`, `<label for="additional_access_tokens">`,
		`<textarea id="additional_access_tokens" name="additional_access_tokens"`, `<h2>Or a GitHub App installation</h2>`} {
		if res.StatusCode != 200 || !strings.Contains(page, want) {
			t.Errorf("the GitHub form lacks %s", want)
		}
	}
	token := csrf(t, page)
	list := func(over url.Values) (*http.Response, string) {
		form := url.Values{"authenticity_token": {token}, "github_hostname": {gh.URL}, "github_app_id": {appID},
			"github_app_installation_id": {instID}, "github_app_private_key": {gh.AppPrivateKeyPEM}, "additional_access_tokens": {"\n" + second + "\r\n\n"}}
		for k, v := range over {
			form[k] = v
		}
		return b.do("POST", "/-/imports/new/github/repos", form)
	}
	// The API's refusals, with the ids kept and the key not.
	for _, c := range []struct {
		name  string
		over  url.Values
		alert string
	}{
		{"token and App", url.Values{"personal_access_token": {gh.Token}}, "personal_access_token, github_app_id, github_app_installation_id, github_app_private_key are mutually exclusive"},
		{"no installation", url.Values{"github_app_installation_id": {""}}, "github_app_installation_id is invalid"},
		{"not a key", url.Values{"github_app_private_key": {"nope"}}, "github_app_private_key is invalid: not a PEM block"},
		{"another installation", url.Values{"github_app_installation_id": {"999"}}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, page := list(c.over)
			if res.StatusCode == 200 || alert(page) == "" || !strings.Contains(alert(page), c.alert) || !strings.Contains(page, `value="`+appID+`"`) {
				t.Errorf("%d, alert %q, want %q and the app id kept", res.StatusCode, alert(page), c.alert)
			}
		})
	}

	res, page = list(nil)
	if res.StatusCode != 200 || !strings.Contains(page, ffgithub.Owner+"/"+ffgithub.Repo) || !strings.Contains(page, "Repositories the installation can read") ||
		!strings.Contains(page, "as the GitHub App installation "+instID+", with the rate limits of 1 more account.") {
		t.Fatalf("listing as the App: %d %s", res.StatusCode, page)
	}
	m := sealedRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no sealed credentials in the listing")
	}
	start := func(sealed, name string) (*http.Response, string) {
		return b.do("POST", "/-/imports/new/github", url.Values{"authenticity_token": {token}, "sealed_token": {sealed}, "github_hostname": {gh.URL},
			"repo_id": {strconv.Itoa(ffgithub.RepoID)}, "target_namespace": {"alice"}, "new_name": {name}})
	}
	// A refused additional token: the API's message, on the listing again.
	_, bad := list(url.Values{"additional_access_tokens": {second + "\nghp_nobody"}})
	if badSealed := sealedRE.FindStringSubmatch(bad); badSealed == nil {
		t.Error("no sealed credentials in the listing with a bad token")
	} else if res, page := start(badSealed[1], "refused"); res.StatusCode == http.StatusSeeOther || !strings.Contains(alert(page), "additional_access_tokens[1]: ") {
		t.Errorf("a refused additional token: %d, alert %q", res.StatusCode, alert(page))
	}

	res, _ = start(m[1], "from-app")
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/-/imports/") {
		t.Fatalf("start: %d %q", res.StatusCode, loc)
	}
	pid, _ := strconv.ParseInt(strings.TrimPrefix(loc, "/-/imports/"), 10, 64)
	deadline := time.Now().Add(2 * time.Minute)
	for st := importStatus(t, in, pid); st != ferry.ImportFinished; st = importStatus(t, in, pid) {
		if st == ferry.ImportFailed || st == ferry.ImportCanceled || time.Now().After(deadline) {
			t.Fatalf("the import started as the App ended %s", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// It ran as the installation and the other account.
	var budgets []ferry.ImportBudget
	err = in.App.Store.Read(context.Background(), func(tx *store.Tx) error {
		im, err := tx.ImportByProject(context.Background(), pid)
		if err != nil {
			return err
		}
		budgets, err = tx.ImportBudgets(context.Background(), im.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, bu := range budgets {
		kinds[strconv.Itoa(bu.Credential)+" "+bu.Kind] = true
	}
	if !kinds["1 github_app "+appID+"/"+instID] || !kinds["2 personal_access_token"] {
		t.Errorf("budgets seen: %v", kinds)
	}
	if st := gh.AppStats(); st.Minted == 0 {
		t.Errorf("no installation token was minted: %+v", st)
	}
	secrets := append([]string{keyLines[len(keyLines)/2], gh.Token, second, tok.Token}, gh.InstallationTokens()...)
	b.neverShows(t, secrets...)
	for _, s := range secrets {
		if strings.Contains(logs.String(), s) {
			t.Errorf("the log shows a secret")
		}
	}
}
