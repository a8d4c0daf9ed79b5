package web_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/store"
)

// browser is a cookie-keeping client that does not follow redirects.
type browser struct {
	t   *testing.T
	c   *http.Client
	url string
}

func newBrowser(t *testing.T, in *apptest.Instance) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, url: in.URL, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(method, path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.url+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res, string(raw)
}

var csrfRE = regexp.MustCompile(`name="authenticity_token" value="([^"]+)"`)

func csrf(t *testing.T, page string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF field in the page:\n%s", page)
	}
	return m[1]
}

// signIn signs b in with token through the form.
func (b *browser) signIn(token string) *http.Response {
	b.t.Helper()
	_, page := b.do("GET", "/users/sign_in", nil)
	res, _ := b.do("POST", "/users/sign_in", url.Values{"authenticity_token": {csrf(b.t, page)}, "token": {token}})
	if res.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("sign-in: %d, want 303", res.StatusCode)
	}
	return res
}

// user makes a ferry user and an api-scoped token for them.
func user(t *testing.T, in *apptest.Instance, name string, scopes ...string) (*ferry.User, *ferry.PersonalAccessToken) {
	t.Helper()
	if len(scopes) == 0 {
		scopes = []string{ferry.ScopeAPI}
	}
	u := &ferry.User{Username: name, Name: name, Email: name + "@example.com"}
	tok := &ferry.PersonalAccessToken{Name: "web", Scopes: scopes}
	err := in.App.Store.Write(context.Background(), func(tx *store.Tx) error {
		if err := tx.CreateUser(context.Background(), u); err != nil {
			return err
		}
		tok.UserID = u.ID
		return tx.CreateToken(context.Background(), tok)
	})
	if err != nil {
		t.Fatal(err)
	}
	return u, tok
}

// imported makes a private project of token's user with an import in
// status, one relation with figures and a failure.
func imported(t *testing.T, in *apptest.Instance, token, path, status string) int64 {
	t.Helper()
	c := in.Client(t, token)
	p, _, err := c.Projects.CreateProject(&gitlab.CreateProjectOptions{Path: gitlab.Ptr(path), Visibility: gitlab.Ptr(gitlab.PrivateVisibility)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	err = in.App.Store.Write(ctx, func(tx *store.Tx) error {
		u, err := tx.UserByUsername(ctx, p.Namespace.Path)
		if err != nil {
			return err
		}
		im := &ferry.Import{ProjectID: int64(p.ID), UserID: u.ID, SourceType: "github", SourceURL: "https://api.github.example", SourceRef: "42",
			Status: ferry.ImportScheduled, CorrelationID: "corr-" + path}
		if err := tx.CreateImport(ctx, im); err != nil {
			return err
		}
		if err := tx.SetImportStatus(ctx, im, ferry.ImportStarted, ""); err != nil {
			return err
		}
		if err := tx.StartStage(ctx, im.ID, 0, "issues", []string{"issues"}); err != nil {
			return err
		}
		if _, err := tx.Checkpoint(ctx, im.ID, "issues", "", "cursor-2", 7, 6, 1, 20, false); err != nil {
			return err
		}
		if err := tx.AddFailure(ctx, &ferry.ImportFailure{ImportID: im.ID, Relation: "issues", SourceURL: "https://github.example/o/r/issues/3",
			SourceTitle: "Issue three", ExceptionClass: "ValidationError", ExceptionMessage: "title is too long"}); err != nil {
			return err
		}
		if status != ferry.ImportStarted {
			return tx.SetImportStatus(ctx, im, status, "")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return int64(p.ID)
}

func TestSignIn(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{Workers: 1}, func(t *testing.T, in *apptest.Instance) {
		_, tok := user(t, in, "alice")
		b := newBrowser(t, in)

		// Signed out, / is the sign-in form.
		res, page := b.do("GET", "/", nil)
		if res.StatusCode != 200 || !strings.Contains(page, `<label for="token">Personal access token</label>`) ||
			!strings.Contains(res.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("GET / signed out: %d %s", res.StatusCode, page)
		}
		// Other non-API paths stay the API's JSON 404.
		if res, body := b.do("GET", "/no/such/page", nil); res.StatusCode != 404 || !strings.Contains(body, `"404 Not Found"`) {
			t.Errorf("GET /no/such/page: %d %s", res.StatusCode, body)
		}

		// A wrong token: the form again, a clear message, the token not echoed.
		wrong := "glpat-wrongwrongwrong123"
		res, page = b.do("POST", "/users/sign_in", url.Values{"authenticity_token": {csrf(t, page)}, "token": {wrong}})
		if res.StatusCode != http.StatusUnauthorized || !strings.Contains(page, "That token is not valid") || strings.Contains(page, wrong) {
			t.Errorf("wrong token: %d %s", res.StatusCode, page)
		}
		for _, c := range res.Cookies() {
			if c.Name == "_ferry_session" {
				t.Errorf("a session for a wrong token: %v", c)
			}
		}

		// The right token: a session cookie, HttpOnly, SameSite=Lax, not
		// Secure over plain HTTP, without the token.
		res = b.signIn(tok.Token)
		var sess *http.Cookie
		for _, c := range res.Cookies() {
			if c.Name == "_ferry_session" {
				sess = c
			}
		}
		if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteLaxMode || sess.Secure || strings.Contains(sess.Value, tok.Token) ||
			res.Header.Get("Location") != "/" {
			t.Fatalf("session cookie %+v, location %q", sess, res.Header.Get("Location"))
		}
		res, page = b.do("GET", "/", nil)
		if res.StatusCode != 200 || !strings.Contains(page, "<h1>Imports</h1>") || !strings.Contains(page, "Signed in as <strong>alice</strong>") {
			t.Fatalf("GET / signed in: %d %s", res.StatusCode, page)
		}
		for h, want := range map[string]string{"X-Frame-Options": "DENY", "Cache-Control": "no-store"} {
			if res.Header.Get(h) != want {
				t.Errorf("%s = %q, want %q", h, res.Header.Get(h), want)
			}
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'nonce-") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("CSP %q", csp)
		}

		// A forged cookie is no session.
		forged := newBrowser(t, in)
		u, _ := url.Parse(in.URL)
		forged.c.Jar.SetCookies(u, []*http.Cookie{{Name: "_ferry_session", Value: strings.Replace(sess.Value, fmt.Sprintf("v1.%d.", tok.UserID), "v1.1.", 1)}})
		if _, page := forged.do("GET", "/", nil); !strings.Contains(page, "Sign in to ferry") {
			t.Errorf("forged session accepted")
		}

		// Sign out needs the CSRF token; with it the session ends.
		if res, _ := b.do("POST", "/users/sign_out", url.Values{"authenticity_token": {"nope"}}); res.StatusCode != http.StatusForbidden {
			t.Errorf("sign out without CSRF: %d", res.StatusCode)
		}
		if res, _ := b.do("POST", "/users/sign_out", url.Values{"authenticity_token": {csrf(t, page)}}); res.StatusCode != http.StatusSeeOther {
			t.Errorf("sign out: %d", res.StatusCode)
		}
		if _, page := b.do("GET", "/", nil); !strings.Contains(page, "Sign in to ferry") {
			t.Errorf("still signed in after sign out")
		}

		// Revoking the token ends its sessions.
		b.signIn(tok.Token)
		if _, page := b.do("GET", "/-/imports", nil); !strings.Contains(page, "<h1>Imports</h1>") {
			t.Fatal("not signed in")
		}
		if err := in.App.Store.Write(context.Background(), func(tx *store.Tx) error { return tx.RevokeToken(context.Background(), tok.ID) }); err != nil {
			t.Fatal(err)
		}
		if res, _ := b.do("GET", "/-/imports", nil); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/users/sign_in" {
			t.Errorf("revoked token's session: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
	})
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{Workers: 1}, func(t *testing.T, in *apptest.Instance) {
		_, tok := user(t, in, "alice")
		pid := imported(t, in, tok.Token, "running", ferry.ImportStarted)
		b := newBrowser(t, in)
		// Sign-in without the form's token (a cross-site login).
		if res, _ := b.do("POST", "/users/sign_in", url.Values{"token": {tok.Token}}); res.StatusCode != http.StatusForbidden {
			t.Errorf("sign-in without CSRF: %d", res.StatusCode)
		}
		b.signIn(tok.Token)
		path := fmt.Sprintf("/-/imports/%d/cancel", pid)
		for _, form := range []url.Values{{}, {"authenticity_token": {"forged"}}} {
			if res, _ := b.do("POST", path, form); res.StatusCode != http.StatusForbidden {
				t.Errorf("cancel with %v: %d, want 403", form, res.StatusCode)
			}
		}
		// Another session's token does not fit this one.
		other := newBrowser(t, in)
		other.signIn(tok.Token)
		_, page := other.do("GET", fmt.Sprintf("/-/imports/%d", pid), nil)
		if res, _ := b.do("POST", path, url.Values{"authenticity_token": {csrf(t, page)}}); res.StatusCode != http.StatusForbidden {
			t.Errorf("cancel with another session's token: %d, want 403", res.StatusCode)
		}
		st := importStatus(t, in, pid)
		if st != ferry.ImportStarted {
			t.Errorf("import %s after refused cancels", st)
		}
	})
}

func importStatus(t *testing.T, in *apptest.Instance, pid int64) string {
	t.Helper()
	var st string
	err := in.App.Store.Read(context.Background(), func(tx *store.Tx) error {
		im, err := tx.ImportByProject(context.Background(), pid)
		if err == nil {
			st = im.Status
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestImportPagesAndCancel(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{Workers: 1}, func(t *testing.T, in *apptest.Instance) {
		_, alice := user(t, in, "alice")
		_, bob := user(t, in, "bob")
		running := imported(t, in, alice.Token, "running", ferry.ImportStarted)
		done := imported(t, in, alice.Token, "done", ferry.ImportFinished)
		a, bb := newBrowser(t, in), newBrowser(t, in)
		a.signIn(alice.Token)
		bb.signIn(bob.Token)

		// History: alice sees both, filtered by status; bob sees none.
		_, page := a.do("GET", "/-/imports", nil)
		for _, want := range []string{"alice/running", "alice/done", "https://api.github.example 42", `status-started`, `status-finished`} {
			if !strings.Contains(page, want) {
				t.Errorf("history lacks %q:\n%s", want, page)
			}
		}
		_, page = a.do("GET", "/-/imports?status=finished", nil)
		if !strings.Contains(page, "alice/done") || strings.Contains(page, "alice/running") || !strings.Contains(page, `<option value="finished" selected>`) {
			t.Errorf("history filtered to finished:\n%s", page)
		}
		if _, page := bb.do("GET", "/-/imports", nil); strings.Contains(page, "alice/") || !strings.Contains(page, "No project imports") {
			t.Errorf("bob's history shows alice's imports:\n%s", page)
		}

		// One import: progress, failures, live script, cancel button.
		res, page := a.do("GET", fmt.Sprintf("/-/imports/%d", running), nil)
		for _, want := range []string{"<h1>Import of alice/running</h1>", `<progress class="fetched" max="20" value="7"`,
			`<span class="n-total">20</span>`, "title is too long", "ValidationError", "Issue three", "Cancel import",
			`<noscript><meta http-equiv="refresh" content="5"></noscript>`, "status.json"} {
			if !strings.Contains(page, want) {
				t.Errorf("import page lacks %q", want)
			}
		}
		if res.StatusCode != 200 {
			t.Fatalf("import page: %d\n%s", res.StatusCode, page)
		}
		res, js := a.do("GET", fmt.Sprintf("/-/imports/%d/status.json", running), nil)
		if res.StatusCode != 200 || !strings.Contains(js, `"status":"started"`) || !strings.Contains(js, `"fetched":7`) {
			t.Errorf("status.json: %d %s", res.StatusCode, js)
		}

		// Another user's import is 404, page and JSON, and bob cannot cancel it.
		for _, p := range []string{fmt.Sprintf("/-/imports/%d", running), fmt.Sprintf("/-/imports/%d/status.json", running), "/-/imports/999999"} {
			if res, _ := bb.do("GET", p, nil); res.StatusCode != 404 {
				t.Errorf("bob GET %s: %d, want 404", p, res.StatusCode)
			}
		}
		_, bpage := bb.do("GET", "/-/imports", nil)
		if res, _ := bb.do("POST", fmt.Sprintf("/-/imports/%d/cancel", running), url.Values{"authenticity_token": {csrf(t, bpage)}}); res.StatusCode != 404 {
			t.Errorf("bob cancels alice's import: %d, want 404", res.StatusCode)
		}

		// A rate-limit wait shows with its end.
		until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
		err := in.App.Store.Write(context.Background(), func(tx *store.Tx) error {
			im, err := tx.ImportByProject(context.Background(), running)
			if err != nil {
				return err
			}
			return tx.SetRateLimitWait(context.Background(), im.ID, &until)
		})
		if err != nil {
			t.Fatal(err)
		}
		_, page = a.do("GET", fmt.Sprintf("/-/imports/%d", running), nil)
		if !strings.Contains(page, `<p id="ratelimit" class="notice">Waiting for the rate limit until`) ||
			!strings.Contains(page, until.Format("2006-01-02 15:04:05 UTC")) {
			t.Errorf("no rate-limit wait until %v on the page:\n%s", until, page)
		}

		// Cancel.
		res, _ = a.do("POST", fmt.Sprintf("/-/imports/%d/cancel", running), url.Values{"authenticity_token": {csrf(t, page)}})
		if res.StatusCode != http.StatusSeeOther || importStatus(t, in, running) != ferry.ImportCanceled {
			t.Fatalf("cancel: %d, import %s", res.StatusCode, importStatus(t, in, running))
		}
		_, page = a.do("GET", fmt.Sprintf("/-/imports/%d", running), nil)
		if !strings.Contains(page, `status-canceled`) || strings.Contains(page, "Cancel import") || strings.Contains(page, "status.json") {
			t.Errorf("canceled import's page:\n%s", page)
		}
		if res, page := a.do("POST", fmt.Sprintf("/-/imports/%d/cancel", done), url.Values{"authenticity_token": {csrf(t, page)}}); res.StatusCode != 400 ||
			!strings.Contains(page, "cannot be canceled because it is finished") {
			t.Errorf("cancel a finished import: %d %s", res.StatusCode, page)
		}

		// A read_api token may look but not cancel.
		other := imported(t, in, alice.Token, "other", ferry.ImportStarted)
		ro := &ferry.PersonalAccessToken{UserID: alice.UserID, Name: "read", Scopes: []string{ferry.ScopeReadAPI}}
		if err := in.App.Store.Write(context.Background(), func(tx *store.Tx) error { return tx.CreateToken(context.Background(), ro) }); err != nil {
			t.Fatal(err)
		}
		r := newBrowser(t, in)
		r.signIn(ro.Token)
		_, page = r.do("GET", fmt.Sprintf("/-/imports/%d", other), nil)
		if strings.Contains(page, "Cancel import") || !strings.Contains(page, "alice/other") {
			t.Errorf("read_api session's import page:\n%s", page)
		}
		if res, _ := r.do("POST", fmt.Sprintf("/-/imports/%d/cancel", other), url.Values{"authenticity_token": {csrf(t, page)}}); res.StatusCode != 403 ||
			importStatus(t, in, other) != ferry.ImportStarted {
			t.Errorf("read_api cancel: %d", res.StatusCode)
		}
	})
}

// TestSecureCookieOverTLS: behind TLS the session cookie is Secure.
func TestSecureCookieOverTLS(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{Workers: 1}, func(t *testing.T, in *apptest.Instance) {
		_, tok := user(t, in, "alice")
		h := in.App.Handler()
		get := httptest.NewRequest("GET", "https://ferry.example/users/sign_in", nil)
		get.TLS = &tls.ConnectionState{}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, get)
		nonce := rec.Result().Cookies()
		post := httptest.NewRequest("POST", "https://ferry.example/users/sign_in",
			strings.NewReader(url.Values{"authenticity_token": {csrf(t, rec.Body.String())}, "token": {tok.Token}}.Encode()))
		post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		post.TLS = &tls.ConnectionState{}
		for _, c := range nonce {
			if !c.Secure {
				t.Errorf("cookie %s not Secure over TLS", c.Name)
			}
			post.AddCookie(c)
		}
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, post)
		found := false
		for _, c := range rec.Result().Cookies() {
			if c.Name == "_ferry_session" {
				found = true
				if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
					t.Errorf("session cookie over TLS: %+v", c)
				}
			}
		}
		if rec.Code != http.StatusSeeOther || !found {
			t.Errorf("sign-in over TLS: %d %v", rec.Code, rec.Result().Cookies())
		}
	})
}

func TestMigrations(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{Workers: 1}, func(t *testing.T, in *apptest.Instance) {
		alice, atok := user(t, in, "alice")
		_, btok := user(t, in, "bob")
		b := &ferry.BulkImport{UserID: alice.ID, SourceType: "gitlab", SourceURL: "https://gitlab.example", Status: ferry.BulkStarted}
		err := in.App.Store.Write(context.Background(), func(tx *store.Tx) error {
			return tx.CreateBulkImport(context.Background(), b, []*ferry.BulkEntity{
				{SourceType: ferry.GroupEntity, SourceFullPath: "src/team", DestinationSlug: "team", DestinationNamespace: "", MigrateProjects: true},
				{SourceType: ferry.ProjectEntity, SourceFullPath: "src/team/app", DestinationSlug: "app", DestinationNamespace: "team"}})
		})
		if err != nil {
			t.Fatal(err)
		}
		a, bb := newBrowser(t, in), newBrowser(t, in)
		a.signIn(atok.Token)
		bb.signIn(btok.Token)
		_, page := a.do("GET", "/-/imports", nil)
		for _, want := range []string{fmt.Sprintf(`<a href="/-/migrations/%d">Migration %d</a>`, b.ID, b.ID), "https://gitlab.example", "src/team/app", "team/app"} {
			if !strings.Contains(page, want) {
				t.Errorf("history lacks %q:\n%s", want, page)
			}
		}
		if _, page := a.do("GET", "/-/imports?status=finished", nil); strings.Contains(page, "/-/migrations/") {
			t.Errorf("a started migration under status finished")
		}
		if _, page := bb.do("GET", "/-/imports", nil); strings.Contains(page, "/-/migrations/") {
			t.Errorf("bob sees alice's migration")
		}
		path := fmt.Sprintf("/-/migrations/%d", b.ID)
		if res, page := a.do("GET", path, nil); res.StatusCode != 200 || !strings.Contains(page, "src/team/app") {
			t.Errorf("alice GET %s: %d\n%s", path, res.StatusCode, page)
		}
		if res, _ := bb.do("GET", path, nil); res.StatusCode != 404 {
			t.Errorf("bob GET %s: %d, want 404", path, res.StatusCode)
		}
	})
}
