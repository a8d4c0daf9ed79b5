package gitstore

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The source credential: characters that URL and base64 encoding change,
// so the scrubber has to catch every form.
const (
	srcUser   = "importer"
	srcSecret = "s3cret-T0k/en+with=chars"
)

// upstream serves the fixture as a private project "src/repo" on a second
// handler, keeping the bundle's refs as GitHub has them (refs/pull/*), plus
// Bitbucket Server style refs/pull-requests/5/from.
func upstream(t *testing.T) (*Store, string, *testResolver) {
	t.Helper()
	u := newStore(t)
	importFixture(t, u, 1, "+refs/*:refs/*")
	testGit(t, u.Path(1), "update-ref", "refs/pull-requests/5/from", "refs/pull/4/head")
	testGit(t, u.Path(1), "update-ref", "refs/heads/doomed", "refs/heads/master")
	res := &testResolver{projects: map[string]project{"src/repo": {id: 1, members: []string{srcSecret}}}}
	srv, _ := serve(t, u, res)
	return u, srv.URL + "/src/repo.git", res
}

func refsOf(t *testing.T, dir string, prefixes ...string) string {
	t.Helper()
	return testGit(t, dir, append([]string{"for-each-ref", "--format=%(objectname) %(refname)"}, prefixes...)...)
}

func TestMirrorFromSmartHTTPWithCredentials(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	up, srcURL, res := upstream(t)
	s := newStore(t)
	cred := Credential{Username: srcUser, Password: srcSecret}

	if err := s.Mirror(ctx, 7, srcURL, cred); err != nil {
		t.Fatal(err)
	}
	src := up.Path(1)
	sha := func(ref string) string { return strings.TrimSpace(testGit(t, src, "rev-parse", ref)) }
	want := strings.Join([]string{
		sha("refs/heads/doomed") + " refs/heads/doomed",
		sha("refs/heads/master") + " refs/heads/master",
		sha("refs/pull/3/head") + " refs/merge-requests/3/head",
		sha("refs/pull/4/head") + " refs/merge-requests/4/head",
		sha("refs/tags/v0.9.99") + " refs/tags/v0.9.99",
	}, "\n") + "\n"
	if got := refsOf(t, s.Path(7)); got != want {
		t.Errorf("mirrored refs\n%s\nwant\n%s", got, want)
	}
	if b, _ := s.DefaultBranch(ctx, 7); b != "master" {
		t.Errorf("default branch %q", b)
	}
	var authed bool
	for _, c := range res.Calls() {
		authed = authed || c.authorization == basic(srcUser, srcSecret)
	}
	if !authed {
		t.Error("source never saw the credential")
	}
	testGit(t, s.Path(7), "fsck", "--strict")

	// A second mirror prunes what the source deleted.
	testGit(t, src, "update-ref", "-d", "refs/heads/doomed")
	if err := s.Mirror(ctx, 7, srcURL, cred); err != nil {
		t.Fatal(err)
	}
	if got := refsOf(t, s.Path(7), "refs/heads/"); strings.Contains(got, "doomed") {
		t.Errorf("deleted branch not pruned:\n%s", got)
	}
}

func TestMirrorRefspecMappings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	up, srcURL, _ := upstream(t)
	cred := Credential{Username: srcUser, Password: srcSecret}
	pr4 := strings.TrimSpace(testGit(t, up.Path(1), "rev-parse", "refs/pull/4/head"))
	tests := []struct {
		name     string
		refspecs []string
		want     string // merge request refs after the mirror
	}{
		{"bitbucket server", BitbucketServerRefspecs(), pr4 + " refs/merge-requests/5/head\n"},
		{"custom", []string{"+refs/heads/master:refs/heads/master", "+refs/pull/4/head:refs/merge-requests/40/head"}, pr4 + " refs/merge-requests/40/head\n"},
		{"gitlab (none on this source)", GitLabRefspecs(), ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			id := int64(10 + i)
			if err := s.Mirror(ctx, id, srcURL, cred, tt.refspecs...); err != nil {
				t.Fatal(err)
			}
			if got := refsOf(t, s.Path(id), "refs/merge-requests/"); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
			if got := refsOf(t, s.Path(id), "refs/pull/", "refs/pull-requests/"); got != "" {
				t.Errorf("unmapped source refs copied:\n%s", got)
			}
		})
	}
}

// assertNoSecret fails if text holds the secret in any form git, curl or an
// URL parser would print it.
func assertNoSecret(t *testing.T, text string, secrets ...string) {
	t.Helper()
	for _, sec := range secrets {
		for _, form := range []string{sec, url.QueryEscape(sec), url.PathEscape(sec), base64.StdEncoding.EncodeToString([]byte(sec)),
			base64.StdEncoding.EncodeToString([]byte(srcUser + ":" + sec))} {
			if strings.Contains(text, form) {
				t.Errorf("secret leaked as %q in: %s", form, text)
			}
		}
	}
}

func TestMirrorFailuresDoNotLeakCredentials(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, srcURL, res := upstream(t)
	const wrong = "wr0ng/T0ken+X="
	tests := []struct {
		name    string
		url     string
		cred    Credential
		opts    Options
		want    error  // errors.Is
		contain string // in the error text
	}{
		{name: "bad password", url: srcURL, cred: Credential{Username: srcUser, Password: wrong}, want: ErrUnauthorized, contain: "refused the credential"},
		{name: "bad bearer", url: srcURL, cred: Credential{Bearer: wrong}, want: ErrUnauthorized},
		{name: "no credential", url: srcURL, want: ErrUnauthorized},
		{name: "credential in URL", url: strings.Replace(srcURL, "http://", "http://"+srcUser+":"+url.QueryEscape(wrong)+"@", 1), want: ErrInvalid},
		{name: "unparsable URL with credential", url: "http://" + srcUser + ":" + wrong + "@127.0.0.1:bad/\x7f", want: ErrInvalid},
		{name: "not http", url: "file:///etc", want: ErrInvalid},
		{name: "ext transport", url: "ext::sh -c touch% /tmp/pwned", want: ErrInvalid},
		{name: "missing repository", url: strings.Replace(srcURL, "src/repo", "src/nope", 1), cred: Credential{Username: srcUser, Password: wrong}, want: ErrNotFound},
		{name: "vetted away", url: srcURL, cred: Credential{Password: wrong},
			opts: Options{CheckURL: func(ctx context.Context, u *url.URL) error { return errors.New("loopback address refused") }}, contain: "loopback address refused"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(t.TempDir(), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			before := len(res.Calls())
			id := int64(20 + i)
			err = s.Mirror(ctx, id, tt.url, tt.cred)
			if err == nil {
				t.Fatal("mirror succeeded")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.contain) {
				t.Errorf("err %q lacks %q", err, tt.contain)
			}
			assertNoSecret(t, err.Error(), wrong, srcSecret)
			if s.Exists(id) {
				t.Error("failed mirror left a repository")
			}
			if tt.opts.CheckURL != nil && len(res.Calls()) != before {
				t.Error("vetted URL was contacted")
			}
		})
	}
}

func TestMirrorDoesNotFollowRedirects(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, srcURL, res := upstream(t)
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, srcURL+strings.TrimPrefix(r.URL.RequestURI(), "/other/repo.git"), http.StatusFound)
	}))
	t.Cleanup(redirector.Close)
	s := newStore(t)
	err := s.Mirror(ctx, 1, redirector.URL+"/other/repo.git", Credential{Username: srcUser, Password: srcSecret})
	if err == nil {
		t.Fatal("mirror followed a redirect")
	}
	assertNoSecret(t, err.Error(), srcSecret)
	if n := len(res.Calls()); n != 0 {
		t.Errorf("redirect target contacted %d times", n)
	}
}

func TestMirrorWikiMissing(t *testing.T) {
	t.Parallel()
	_, srcURL, _ := upstream(t)
	s := newStore(t)
	wikiURL := strings.TrimSuffix(srcURL, ".git") + ".wiki.git"
	err := s.MirrorWiki(context.Background(), 1, wikiURL, Credential{Username: srcUser, Password: srcSecret})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	if s.WikiExists(1) {
		t.Error("wiki created for a missing source wiki")
	}
}

func TestConcurrentMirrorsSameID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, srcURL, _ := upstream(t)
	s := newStore(t)
	cred := Credential{Username: srcUser, Password: srcSecret}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Mirror(ctx, 5, srcURL, cred)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	testGit(t, s.Path(5), "fsck", "--strict", "--no-dangling")
	if got := refsOf(t, s.Path(5), "refs/merge-requests/"); strings.Count(got, "\n") != 2 {
		t.Errorf("merge request refs:\n%s", got)
	}
}

// TestCommandConstruction checks the built exec.Cmd: credentials only in
// environment config, never argv; no inherited variable that could redirect
// or trace git.
func TestCommandConstruction(t *testing.T) {
	t.Setenv("GIT_DIR", "/tmp/elsewhere")
	t.Setenv("GIT_TRACE_CURL", "1")
	t.Setenv("GIT_SSH_COMMAND", "touch /tmp/pwned")
	t.Setenv("HOME", "/root/with/gitconfig")
	s := newStore(t)
	cred := Credential{Username: srcUser, Password: srcSecret}
	cmd := s.buildCmd(context.Background(), gitCmd{
		Args:    []string{"fetch", "--end-of-options", "https://example.com/o/r.git", "+refs/heads/*:refs/heads/*"},
		Config:  cred.remoteConfig(),
		Env:     []string{"GIT_ALLOW_PROTOCOL=https"},
		Secrets: cred.secrets(),
	})
	argv := strings.Join(cmd.Args, " ")
	assertNoSecret(t, argv, srcSecret)
	env := map[string]string{}
	for _, e := range cmd.Env {
		k, v, _ := strings.Cut(e, "=")
		env[k] = v // later wins, as in exec
	}
	for _, k := range []string{"GIT_DIR", "GIT_TRACE_CURL", "GIT_SSH_COMMAND"} {
		if _, ok := env[k]; ok {
			t.Errorf("%s inherited", k)
		}
	}
	want := map[string]string{
		"HOME": s.homeDir(), "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null",
		"GIT_TERMINAL_PROMPT": "0", "GIT_ALLOW_PROTOCOL": "https",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	config := map[string]string{}
	for i := 0; ; i++ {
		k, ok := env["GIT_CONFIG_KEY_"+strconv.Itoa(i)]
		if !ok {
			if strconv.Itoa(i) != env["GIT_CONFIG_COUNT"] {
				t.Errorf("GIT_CONFIG_COUNT %s, %d keys", env["GIT_CONFIG_COUNT"], i)
			}
			break
		}
		config[k] = env["GIT_CONFIG_VALUE_"+strconv.Itoa(i)]
	}
	if config["http.extraHeader"] != "Authorization: "+basic(srcUser, srcSecret) {
		t.Errorf("extraHeader = %q", config["http.extraHeader"])
	}
	if config["http.followRedirects"] != "false" {
		t.Errorf("followRedirects = %q", config["http.followRedirects"])
	}
}

// TestRunScrubsStderr makes git print the credential header (as a bad
// config value) and checks the error carries only the redacted form.
func TestRunScrubsStderr(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	for _, cred := range []Credential{{Username: srcUser, Password: srcSecret}, {Bearer: srcSecret}} {
		_, err := s.run(context.Background(), gitCmd{
			Args:    []string{"config", "--get", "--type=int", "http.extraHeader"},
			Config:  cred.remoteConfig(),
			Secrets: cred.secrets(),
		})
		if err == nil {
			t.Fatal("git accepted a header as an int")
		}
		if !strings.Contains(err.Error(), "[REDACTED]") {
			t.Errorf("git did not echo the value, test proves nothing: %v", err)
		}
		assertNoSecret(t, err.Error(), srcSecret)
	}
}

// A closed pull request's ref is gone at the source but its commits are
// not: FetchCommits brings them by id into the refs asked for, sets refs
// of commits already here without a fetch, and lists (does not fail on)
// a commit the source will not give.
func TestFetchCommits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	up, srcURL, _ := upstream(t)
	cred := Credential{Username: srcUser, Password: srcSecret}
	src := up.Path(1)
	pr3 := strings.TrimSpace(testGit(t, src, "rev-parse", "refs/pull/3/head"))
	master := strings.TrimSpace(testGit(t, src, "rev-parse", "refs/heads/master"))
	s := newStore(t)
	if err := s.Mirror(ctx, 7, srcURL, cred, "+refs/heads/*:refs/heads/*"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := testGitRun(t, s.Path(7), nil, "cat-file", "-e", pr3+"^{commit}"); err == nil {
		t.Fatal("the mirror already has the pull request's commit: nothing to show")
	}
	absent := strings.Repeat("ab", 20)
	missing, err := s.FetchCommits(ctx, 7, srcURL, cred, map[string]string{
		"refs/merge-requests/3/head":  pr3,
		"refs/merge-requests/30/head": pr3, // two pull requests, one commit
		"refs/keep-around/" + master:  master,
		"refs/keep-around/" + absent:  absent,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) != 1 || missing[0] != absent {
		t.Errorf("missing %v, want [%s]", missing, absent)
	}
	want := master + " refs/keep-around/" + master + "\n" + pr3 + " refs/merge-requests/3/head\n" + pr3 + " refs/merge-requests/30/head\n"
	if got := refsOf(t, s.Path(7), "refs/keep-around/", "refs/merge-requests/"); got != want {
		t.Errorf("refs\n%s\nwant\n%s", got, want)
	}
	for _, bad := range []map[string]string{{"refs/x": "HEAD"}, {"refs/../x": pr3}, {"heads/x": pr3}} {
		if _, err := s.FetchCommits(ctx, 7, srcURL, cred, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%v: %v, want ErrInvalid", bad, err)
		}
	}
}
