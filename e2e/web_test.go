package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/fakeforge"
	ffgithub "github.com/ferry-import/ferry/fakeforge/github"
	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/store/storetest"
)

// chromium finds Debian's chromium (or another Chromium/Chrome on PATH).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium found: install Debian's (apt-get install -y chromium; .ci/run does) to run the browser test")
	return ""
}

// screenshotDir is $FERRY_SCREENSHOTS (made if missing) or a temporary
// directory of the test.
func screenshotDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("FERRY_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// TestWebImportInBrowser drives the web pages in a real, headless
// chromium: sign in with a password through the form, start a GitHub
// import from fakeforge through the start forms, watch its page reach
// "finished" (the page's own polling script reloads it), then read the
// verification result and find the import in the history.
func TestWebImportInBrowser(t *testing.T) {
	t.Parallel()
	bin := chromium(t)
	shots := screenshotDir(t)
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			f := forgeWith(t, fakeforge.Options{Sources: []string{scenario.GitHub}}, nil)
			in := apptest.Start(t, e, apptest.Options{AllowLocalNetwork: true, EngineOverrides: fast, Workers: 4})
			root := in.Client(t, in.RootToken)
			must(root.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("group"), Path: gitlab.Ptr("group")}))(t)
			// A password for root, set as an admin's script would.
			const password = "browser's password"
			if _, _, err := root.Users.ModifyUser(1, &gitlab.ModifyUserOptions{Password: gitlab.Ptr(password)}); err != nil {
				t.Fatal(err)
			}

			alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
				chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
				chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
				chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
				chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true))
			defer cancelAlloc()
			browser, cancelBrowser := chromedp.NewContext(alloc, chromedp.WithLogf(t.Logf))
			defer cancelBrowser()
			// The first call starts the browser: no timeout on it (that
			// would stop the browser); the steps after it are bounded.
			if err := chromedp.Do(browser, chromedp.Navigate(in.URL+"/")); err != nil {
				t.Fatalf("start chromium: %v", err)
			}
			ctx, cancel := context.WithTimeout(browser, 4*time.Minute)
			defer cancel()
			shot := func(name string) chromedp.Action[chromedp.Void] {
				return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
					png, err := chromedp.FullScreenshot(100)(ctx, tg)
					if err != nil {
						return err
					}
					p := filepath.Join(shots, e.Name+"-"+name+".png")
					t.Logf("screenshot %s", p)
					return os.WriteFile(p, png, 0o644)
				})
			}
			text := func(sel string) string {
				t.Helper()
				v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
				if err != nil {
					t.Fatalf("text of %s: %v", sel, err)
				}
				return strings.TrimSpace(v)
			}
			step := func(what string, steps ...chromedp.Action[chromedp.Void]) {
				t.Helper()
				if err := chromedp.Do(ctx, steps...); err != nil {
					t.Fatalf("%s: %v", what, err)
				}
			}

			// Signed out, / is the sign-in form; a wrong password brings it
			// back with a message; the right one signs in.
			step("sign-in form", chromedp.WaitVisible(chromedp.CSS(`#login`)), shot("1-sign-in"),
				chromedp.SendKeys(chromedp.CSS(`#login`), "root"), chromedp.SendKeys(chromedp.CSS(`#password`), "not the password"),
				chromedp.Submit(chromedp.CSS(`#password`)), chromedp.WaitVisible(chromedp.CSS(`#signin-error`)))
			if msg := text(`#signin-error`); !strings.Contains(msg, "Invalid login or password") {
				t.Errorf("wrong password message %q", msg)
			}
			step("sign in", chromedp.SetValue(chromedp.CSS(`#login`), "root"), chromedp.SendKeys(chromedp.CSS(`#password`), password),
				chromedp.Submit(chromedp.CSS(`#password`)), chromedp.WaitVisible(chromedp.CSS(`form.signout`)))
			if h := text(`h1`); h != "Imports" {
				t.Errorf("signed in, heading %q", h)
			}

			// Start the import through the forms: the token lists the
			// repositories it reads, one is picked with a namespace and a
			// name, and the browser lands on the import's page.
			step("GitHub form", chromedp.Navigate(in.URL+"/-/imports/new/github"), chromedp.WaitVisible(chromedp.CSS(`#personal_access_token`)),
				chromedp.SendKeys(chromedp.CSS(`#personal_access_token`), f.GitHub.Token), chromedp.SetValue(chromedp.CSS(`#github_hostname`), f.GitHub.URL),
				chromedp.Submit(chromedp.CSS(`#personal_access_token`)), chromedp.WaitVisible(chromedp.CSS(`#repos`)), shot("2-repositories"))
			if repos := text(`#repos`); !strings.Contains(repos, ffgithub.Owner+"/"+ffgithub.Repo) {
				t.Errorf("repositories listed: %q", repos)
			}
			step("start the import", chromedp.Click(chromedp.CSS(`#repos input[type=radio]`)), chromedp.SetValue(chromedp.CSS(`#target_namespace`), "group"),
				chromedp.SendKeys(chromedp.CSS(`#new_name`), "NEW-NAME"), chromedp.Submit(chromedp.CSS(`#new_name`)),
				chromedp.WaitVisible(chromedp.CSS(`#status`)))
			page, err := chromedp.Run(ctx, chromedp.Location())
			if err != nil {
				t.Fatal(err)
			}
			id, err := strconv.ParseInt(page[strings.LastIndex(page, "/")+1:], 10, 64)
			if err != nil || !strings.HasPrefix(page, in.URL+"/-/imports/") {
				t.Fatalf("after starting, the browser is at %q", page)
			}
			t.Logf("import page opened while the import was %q", text(`#status`))
			step("screenshot", shot("3-import-opened"))
			// No reload from here: the page's script polls every 2 s and
			// reloads the page itself when the import ends.
			step("watch the import finish", chromedp.WaitVisible(chromedp.CSS(`#status.status-finished`)),
				chromedp.WaitVisible(chromedp.CSS(`#verification`)), shot("4-import-finished"))
			if st, v := text(`#status`), text(`#verification`); st != "finished" || v != "passed" {
				t.Errorf("status %q, verification %q", st, v)
			}
			if p := must(root.Projects.GetProject(id, nil))(t); p.ImportStatus != "finished" || p.PathWithNamespace != "group/NEW-NAME" {
				t.Errorf("the project the form started: %s, import %s", p.PathWithNamespace, p.ImportStatus)
			}
			step("history", chromedp.Navigate(in.URL+"/-/imports?status=finished"), chromedp.WaitVisible(chromedp.CSS(`#imports`)),
				shot("5-history"))
			if h := text(`#imports`); !strings.Contains(h, "group/NEW-NAME") || !strings.Contains(h, "finished") {
				t.Errorf("history %q", h)
			}

			// Browse what was imported: the project from the history, then
			// a merge request with a diff note, the note under its line.
			step("open the project from the history", chromedp.Click(chromedp.CSS(`#imports a.project`)),
				chromedp.WaitVisible(chromedp.CSS(`#project-name`)), shot("6-project"))
			if h := text(`#project-name`); h != "NEW-NAME" {
				t.Errorf("project page heading %q", h)
			}
			pid, iid, path, line, body := diffNote(t, in, f.Scenario)
			step("open the merge requests", chromedp.Click(chromedp.CSS(`nav.projnav a[href$="/-/merge_requests"]`)),
				chromedp.WaitVisible(chromedp.CSS(`#issuables`)))
			mrLink := fmt.Sprintf(`#issuables a[href="/group/NEW-NAME/-/merge_requests/%d"]`, iid)
			lineSel := fmt.Sprintf(`section.difffile[data-path=%q] tr.line[data-new="%d"]`, path, line)
			step("open the merge request with a diff note", chromedp.Click(chromedp.CSS(mrLink)),
				chromedp.WaitVisible(chromedp.CSS(lineSel+" + tr.diffnotes")), chromedp.ScrollIntoView(chromedp.CSS(lineSel)), shot("7-merge-request-diff-note"))
			if got, want := strings.Join(strings.Fields(text(lineSel+" + tr.diffnotes .note .body")), " "), strings.Join(strings.Fields(body), " "); !strings.Contains(got, want) {
				t.Errorf("project %d !%d: the note at %s:%d reads %q, want %q", pid, iid, path, line, got, want)
			}
			t.Logf("!%d: diff note on %s new line %d shown under its line: %q", iid, path, line, text(lineSel+" td.code"))

			// The form as a GitHub App installation: the installation's
			// repositories are listed (fakeforge refuses its tokens on
			// /user/repos), the key never shown back.
			step("GitHub form as an App", chromedp.Navigate(in.URL+"/-/imports/new/github"), chromedp.WaitVisible(chromedp.CSS(`#github_app_id`)),
				chromedp.SendKeys(chromedp.CSS(`#github_app_id`), strconv.FormatInt(f.GitHub.AppID, 10)),
				chromedp.SendKeys(chromedp.CSS(`#github_app_installation_id`), strconv.FormatInt(f.GitHub.InstallationID, 10)),
				chromedp.SetValue(chromedp.CSS(`#github_app_private_key`), f.GitHub.AppPrivateKeyPEM),
				chromedp.SetValue(chromedp.CSS(`#github_hostname`), f.GitHub.URL), shot("8-github-app-form"),
				chromedp.Submit(chromedp.CSS(`#github_app_id`)), chromedp.WaitVisible(chromedp.CSS(`#repos`)), shot("9-github-app-repositories"))
			if repos := text(`#repos`); !strings.Contains(repos, ffgithub.Owner+"/"+ffgithub.Repo) || !strings.Contains(repos, "the installation can read") {
				t.Errorf("repositories listed for the App: %q", repos)
			}
			html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS(`html`)))
			if keyLines := strings.Split(strings.TrimSpace(f.GitHub.AppPrivateKeyPEM), "\n"); err != nil || strings.Contains(html, keyLines[len(keyLines)/2]) {
				t.Errorf("the listing shows the App's key (%v)", err)
			}
		})
	}
}

// diffNote finds, through the API, the first diff note (on a new line) of
// the imported project's first pull request with review comments.
func diffNote(t *testing.T, in *apptest.Instance, sc *scenario.Scenario) (pid, iid int64, path string, line int64, body string) {
	t.Helper()
	c := in.Client(t, in.RootToken)
	p := must(c.Projects.GetProject("group/NEW-NAME", nil))(t)
	for j := 1; j <= 3; j++ {
		n := int64(sc.PRNumber(j))
		ds := must(c.Discussions.ListMergeRequestDiscussions(p.ID, n, &gitlab.ListMergeRequestDiscussionsOptions{ListOptions: gitlab.ListOptions{PerPage: 100}}))(t)
		for _, d := range ds {
			if len(d.Notes) > 0 && d.Notes[0].Position != nil && d.Notes[0].Position.NewLine > 0 {
				first := d.Notes[0]
				// Its first line, as rendered Markdown shows it (a heading
				// without its "#"s).
				b, _, _ := strings.Cut(strings.TrimSpace(first.Body), "\n")
				return p.ID, n, first.Position.NewPath, first.Position.NewLine, strings.TrimLeft(b, "# ")
			}
		}
	}
	t.Fatal("no diff note on the first pull requests")
	return
}
