package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/cliclient"
	"github.com/ferry-import/ferry/fakeforge"
	ffgithub "github.com/ferry-import/ferry/fakeforge/github"
	fakegitlab "github.com/ferry-import/ferry/fakeforge/gitlab"
	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/fakeforge/traffic"
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/store/storetest"
)

// cli is one run of `ferry import …`.
type cli struct {
	code           int
	stdout, stderr string
}

// runImport runs the real binary's `ferry import args…` against in, with
// stdin, and returns its exit code and output.
func runImport(t *testing.T, in *apptest.Instance, stdin string, args ...string) cli {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, ferryBin, append([]string{"import"}, args...)...)
	cmd.Env = append(os.Environ(), "FERRY_URL="+in.URL, "FERRY_TOKEN="+in.RootToken)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	res := cli{stdout: out.String(), stderr: errOut.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	default:
		t.Fatalf("ferry import %s: %v", strings.Join(args, " "), err)
	}
	t.Logf("ferry import %s → exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), res.code, res.stdout, res.stderr)
	return res
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestImportCLI runs `ferry import` as a user would against a real ferry
// and fakeforge: progress lines naming relations, --json, exit codes,
// refused argv secrets, tokens never shown, and a batch.
func TestImportCLI(t *testing.T) {
	sc, err := scenario.Preset("small", 7)
	if err != nil {
		t.Fatal(err)
	}
	sc.Issues, sc.PullRequests, sc.Users = 12, 8, 6
	sc.Groups = scenario.GroupTree{Depth: 1, Breadth: 1, ProjectsPerGroup: 1}
	// GitLab withholds the first comment of every third issue while still
	// counting it: a migration from it finishes with verification failures.
	f, err := fakeforge.Start(context.Background(), fakeforge.Options{Scenario: sc, Sources: []string{scenario.GitHub, scenario.GitLab, scenario.BitbucketServer},
		GitLab: fakegitlab.Options{ExportDisabled: true, WithholdIssueNotes: 3}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	in := apptest.Start(t, storetest.Engines(t)[0], apptest.Options{AllowLocalNetwork: true, Workers: 4,
		EngineOverrides: func(c *importer.Config) { c.Slice = 500 * time.Millisecond }})
	if code, res := api(t, "POST", in.URL+"/api/v4/groups", in.RootToken, "name=clidest&path=clidest"); code != 201 {
		t.Fatalf("create group: %d %v", code, res)
	}
	ghToken := writeFile(t, "gh-token", f.GitHub.Token+"\n")
	bbToken := writeFile(t, "bb-token", f.BitbucketServer.Token)
	secrets := []string{f.GitHub.Token, f.GitLab.Token, f.BitbucketServer.Token, in.RootToken}
	gitlabProject := f.Scenario.Projects()[0].FullPath
	batch := writeFile(t, "repos.csv", fmt.Sprintf("source,repo,target,new_name\ngithub,%s/%s,root,batch-1\ngithub,%d,root,batch-2\ngithub,%s/%s,clidest,batch-3\n",
		ffgithub.Owner, ffgithub.Repo, ffgithub.RepoID, ffgithub.Owner, ffgithub.Repo))

	for _, c := range []struct {
		name     string
		stdin    string
		args     []string
		wantCode int
		check    func(t *testing.T, r cli)
	}{{
		name: "github clean finish",
		args: []string{"github", "--repo", ffgithub.Owner + "/" + ffgithub.Repo, "--target-namespace", "root", "--new-name", "cli-gh",
			"--github-hostname", f.GitHub.URL, "--source-token-file", ghToken, "--interval", "100ms"},
		check: func(t *testing.T, r cli) {
			for _, want := range []string{"started import of project", "root/cli-gh: issues ", "root/cli-gh: pull_requests ", "root/cli-gh: finished",
				"result: finished cleanly"} {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("stdout lacks %q", want)
				}
			}
			// The id printed is the project's; its status reads finished.
			var id int64
			if _, err := fmt.Sscanf(r.stdout[strings.Index(r.stdout, "started import of project"):], "started import of project %d", &id); err != nil {
				t.Fatal(err)
			}
			st := runImport(t, in, "", "status", strconv.FormatInt(id, 10), "--json")
			var m map[string]any
			if err := json.Unmarshal([]byte(st.stdout), &m); err != nil {
				t.Fatalf("--json: %v", err)
			}
			if st.code != 0 || m["import_status"] != "finished" || m["relations"] == nil {
				t.Errorf("status --json: exit %d, import_status %v, relations %v", st.code, m["import_status"], m["relations"])
			}
			if l := runImport(t, in, "", "list"); l.code != 0 || !strings.Contains(l.stdout, "root/cli-gh") {
				t.Errorf("list: exit %d", l.code)
			}
			// A finished import cannot be canceled: ferry's message is shown.
			if cn := runImport(t, in, "", "cancel", strconv.FormatInt(id, 10)); cn.code != 1 ||
				!strings.Contains(cn.stderr, "The import cannot be canceled because it is finished") {
				t.Errorf("cancel of a finished import: exit %d", cn.code)
			}
		},
	}, {
		name: "github --json",
		args: []string{"github", "--repo-id", strconv.Itoa(ffgithub.RepoID), "--target-namespace", "root", "--new-name", "cli-gh-json",
			"--github-hostname", f.GitHub.URL, "--source-token-file", ghToken, "--interval", "100ms", "--json"},
		check: func(t *testing.T, r cli) {
			var m map[string]any
			if err := json.Unmarshal([]byte(r.stdout), &m); err != nil {
				t.Fatalf("stdout is not one JSON object: %v", err)
			}
			if m["import_status"] != "finished" || m["path_with_namespace"] != "root/cli-gh-json" {
				t.Errorf("--json: import_status %v, path %v", m["import_status"], m["path_with_namespace"])
			}
			if !strings.Contains(r.stderr, "cli-gh-json: issues ") {
				t.Errorf("progress lines are not on stderr")
			}
		},
	}, {
		name: "github with progress bars",
		args: []string{"github", "--repo-id", strconv.Itoa(ffgithub.RepoID), "--target-namespace", "root", "--new-name", "cli-gh-bars",
			"--github-hostname", f.GitHub.URL, "--source-token-file", ghToken, "--interval", "100ms", "--progress", "bars"},
		check: func(t *testing.T, r cli) {
			for _, want := range []string{"root/cli-gh-bars: finished", "issue_comments", "] 40/? · done", "=] 12/? · done", "result: finished cleanly"} {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("stdout lacks %q", want)
				}
			}
		},
	}, {
		name: "bitbucket server clean finish",
		args: []string{"bitbucket-server", "--url-of-server", f.BitbucketServer.URL, "--username", f.BitbucketServer.Username, "--project", "ACME",
			"--repo", "widgets", "--target-namespace", "clidest", "--new-name", "cli-bb", "--source-token-file", bbToken, "--interval", "100ms"},
		check: func(t *testing.T, r cli) {
			for _, want := range []string{"clidest/cli-bb: finished", "clidest/cli-bb: pull_requests ", "result: finished cleanly"} {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("stdout lacks %q", want)
				}
			}
		},
	}, {
		name:     "gitlab migration with verification failures",
		stdin:    f.GitLab.Token,
		args:     []string{"gitlab", "--source-url", f.GitLab.URL, "--project", gitlabProject, "--to", "clidest", "--source-token-file", "-", "--interval", "100ms"},
		wantCode: 1,
		check: func(t *testing.T, r cli) {
			for _, want := range []string{"started migration", "verification: failed", "user_notes: expected", "VerificationError", "/-/issues/",
				"not clean"} {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("stdout lacks %q", want)
				}
			}
			var id int64
			if _, err := fmt.Sscanf(r.stdout, "started migration %d", &id); err != nil {
				t.Fatal(err)
			}
			st := runImport(t, in, "", "status", strconv.FormatInt(id, 10), "--kind", "migration", "--json")
			var m struct {
				BulkImport struct{ Status string } `json:"bulk_import"`
				Projects   []struct {
					Verification struct{ Status string }
				}
			}
			if err := json.Unmarshal([]byte(st.stdout), &m); err != nil {
				t.Fatalf("status --json: %v", err)
			}
			if st.code != 1 || m.BulkImport.Status != "finished" || len(m.Projects) != 1 || m.Projects[0].Verification.Status != "failed" {
				t.Errorf("status --kind migration --json: exit %d, %+v", st.code, m)
			}
		},
	}, {
		name:     "usage error",
		args:     []string{"github", "--target-namespace", "root", "--source-token-file", ghToken},
		wantCode: 2,
		check: func(t *testing.T, r cli) {
			if !strings.Contains(r.stderr, "--repo-id N or --repo OWNER/NAME") {
				t.Errorf("stderr does not say what is wrong")
			}
		},
	}, {
		name: "unknown flag", args: []string{"status", "1", "--bogus"}, wantCode: 2,
	}, {
		name: "status of no id", args: []string{"status", "abc"}, wantCode: 2,
	}, {
		name:     "source token in argv refused",
		args:     []string{"github", "--repo-id", "1", "--target-namespace", "root", "--source-token", f.GitHub.Token},
		wantCode: 2,
		check: func(t *testing.T, r cli) {
			if !strings.Contains(r.stderr, "--source-token is refused") || !strings.Contains(r.stderr, "--source-token-file") {
				t.Errorf("the refusal does not say why and what instead")
			}
		},
	}, {
		name:     "ferry token in argv refused",
		args:     []string{"list", "--token", in.RootToken},
		wantCode: 2,
	}, {
		name: "server error shown with its message",
		args: []string{"github", "--repo-id", strconv.Itoa(ffgithub.RepoID), "--target-namespace", "no-such-namespace",
			"--github-hostname", f.GitHub.URL, "--source-token-file", ghToken},
		wantCode: 1,
		check: func(t *testing.T, r cli) {
			if !strings.Contains(r.stderr, "ferry answered 422") {
				t.Errorf("the server's refusal is not shown")
			}
		},
	}, {
		name:  "batch of 3 with concurrency 2",
		stdin: f.GitHub.Token,
		args:  []string{"batch", batch, "--concurrency", "2", "--github-hostname", f.GitHub.URL, "--github-token-file", "-", "--interval", "100ms"},
		check: func(t *testing.T, r cli) {
			// At most two run at once: the third starts after one ended.
			third, firstEnd := strings.Index(r.stdout, "[3] started"), strings.Index(r.stdout, "] ended")
			if third < 0 || firstEnd < 0 || third < firstEnd {
				t.Errorf("the third import started before any ended (at %d, first end at %d)", third, firstEnd)
			}
			if n := strings.Count(r.stdout, "] started"); n != 3 {
				t.Errorf("%d imports started, want 3", n)
			}
			table := r.stdout[strings.Index(r.stdout, "#  SOURCE"):]
			for _, want := range []string{"root/batch-1", "root/batch-2", "clidest/batch-3"} {
				if !strings.Contains(table, want) {
					t.Errorf("summary lacks %s", want)
				}
			}
			if n := strings.Count(table, "finished  ok"); n != 3 {
				t.Errorf("summary has %d clean rows, want 3:\n%s", n, table)
			}
		},
	}} {
		t.Run(c.name, func(t *testing.T) {
			r := runImport(t, in, c.stdin, c.args...)
			if r.code != c.wantCode {
				t.Errorf("exit %d, want %d", r.code, c.wantCode)
			}
			for _, s := range secrets {
				if strings.Contains(r.stdout, s) || strings.Contains(r.stderr, s) {
					t.Errorf("a token appears in the output")
				}
			}
			if c.check != nil {
				c.check(t, r)
			}
		})
	}
}

// TestImportCLIRateLimitWait: a GitHub whose budget (8 calls per 3 s) is
// smaller than the import: the progress says it waits for the rate limit
// and until when, and the import still finishes cleanly.
func TestImportCLIRateLimitWait(t *testing.T) {
	f, in, tok := limitedGitHub(t, 8)
	r := runImport(t, in, "", "github", "--repo-id", strconv.Itoa(ffgithub.RepoID), "--target-namespace", "root", "--new-name", "limited",
		"--github-hostname", f.GitHub.URL, "--source-token-file", tok, "--interval", "100ms")
	if r.code != 0 || !strings.Contains(r.stdout, "result: finished cleanly") {
		t.Fatalf("exit %d", r.code)
	}
	if !strings.Contains(r.stdout, "root/limited: waiting for the rate limit until ") || !strings.Contains(r.stdout, " UTC\n") {
		t.Errorf("the progress never said it waits for the rate limit")
	}
	if strings.Contains(r.stdout, f.GitHub.Token) || strings.Contains(r.stderr, f.GitHub.Token) {
		t.Errorf("the token appears in the output")
	}
}

// TestImportCLIDetachAndInterrupt: --detach returns at once with the id
// while the import goes on; Ctrl-C while watching leaves the import
// running, says how to follow it again and exits 3; watching again sees
// it to a clean finish.
func TestImportCLIDetachAndInterrupt(t *testing.T) {
	// 6 calls per 3 s makes the import outlast the steps.
	f, in, tok := limitedGitHub(t, 6)
	r := runImport(t, in, "", "github", "--repo-id", strconv.Itoa(ffgithub.RepoID), "--target-namespace", "root", "--new-name", "detached",
		"--github-hostname", f.GitHub.URL, "--source-token-file", tok, "--detach")
	var id int64
	if i := strings.Index(r.stdout+r.stderr, "started import of project"); r.code != 0 || i < 0 {
		t.Fatalf("--detach: exit %d", r.code)
	} else if _, err := fmt.Sscanf((r.stdout + r.stderr)[i:], "started import of project %d", &id); err != nil {
		t.Fatal(err)
	}
	if st := runImport(t, in, "", "status", strconv.FormatInt(id, 10)); st.code != 3 {
		t.Fatalf("status right after --detach: exit %d, want 3 (still running)", st.code)
	}

	// Watch until the first progress line, then Ctrl-C.
	cmd := exec.Command(ferryBin, "import", "status", strconv.FormatInt(id, 10), "--watch", "--interval", "100ms")
	cmd.Env = append(os.Environ(), "FERRY_URL="+in.URL, "FERRY_TOKEN="+in.RootToken)
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	for lines.Scan() && !strings.Contains(lines.Text(), "root/detached: ") {
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	for lines.Scan() {
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 ||
		!strings.Contains(errOut.String(), fmt.Sprintf("the import goes on in ferry. Follow it again with: ferry import status %d --watch", id)) {
		t.Fatalf("Ctrl-C while watching: %v, stderr %q", err, errOut.String())
	}

	// The import went on: watched again, it finishes cleanly.
	if w := runImport(t, in, "", "status", strconv.FormatInt(id, 10), "--watch", "--interval", "100ms"); w.code != 0 ||
		!strings.Contains(w.stdout, "result: finished cleanly") {
		t.Fatalf("watch after Ctrl-C: exit %d", w.code)
	}
}

// limitedGitHub is a simulated GitHub (small scenario) whose REST budget is
// budget calls per 3 s — the import makes ~22 REST calls, GraphQL reading
// the per-item data — a ferry that may reach it, and a file with its token.
func limitedGitHub(t *testing.T, budget int) (*fakeforge.Forge, *apptest.Instance, string) {
	t.Helper()
	sc, err := scenario.Preset("small", 7)
	if err != nil {
		t.Fatal(err)
	}
	f, err := fakeforge.Start(context.Background(), fakeforge.Options{Scenario: sc, Sources: []string{scenario.GitHub},
		Faults: traffic.Faults{RateLimit: budget, RateLimitPeriod: 3 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	in := apptest.Start(t, storetest.Engines(t)[0], apptest.Options{AllowLocalNetwork: true, Workers: 4,
		EngineOverrides: func(c *importer.Config) { c.Slice = 500 * time.Millisecond }})
	return f, in, writeFile(t, "gh-token", f.GitHub.Token)
}

// TestImportCLIGitHubApp: `ferry import github` as a GitHub App
// installation (the key from stdin, then from a file) with another
// account's token: a clean finish, the status text shows a budget line per
// credential, and neither the key nor any token or installation token is
// ever printed; a key on argv, a token with an App and half an App are
// usage errors.
func TestImportCLIGitHubApp(t *testing.T) {
	sc, err := scenario.Preset("small", 7)
	if err != nil {
		t.Fatal(err)
	}
	const second = "ghp_secondaccount00000000000000000000000"
	f, err := fakeforge.Start(context.Background(), fakeforge.Options{Scenario: sc, Sources: []string{scenario.GitHub},
		GitHub: ffgithub.Options{Tokens: []string{second}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	in := apptest.Start(t, storetest.Engines(t)[0], apptest.Options{AllowLocalNetwork: true, Workers: 4,
		EngineOverrides: func(c *importer.Config) { c.Slice = 500 * time.Millisecond }})
	gh := f.GitHub
	if gh.AppPrivateKeyPEM == "" {
		t.Fatal("fakeforge serves no GitHub App")
	}
	keyFile := writeFile(t, "app.pem", gh.AppPrivateKeyPEM)
	extra := writeFile(t, "second-token", second+"\n")
	tokFile := writeFile(t, "gh-token", gh.Token)
	appID, instID := strconv.FormatInt(gh.AppID, 10), strconv.FormatInt(gh.InstallationID, 10)
	// A line of the key's body: were any of the key printed, it would be.
	keyLines := strings.Split(strings.TrimSpace(gh.AppPrivateKeyPEM), "\n")
	keyLine := keyLines[len(keyLines)/2]
	noSecrets := func(t *testing.T, r cli) {
		t.Helper()
		for _, s := range append([]string{keyLine, gh.Token, second, in.RootToken}, gh.InstallationTokens()...) {
			if strings.Contains(r.stdout, s) || strings.Contains(r.stderr, s) {
				t.Errorf("a secret appears in the output")
			}
		}
	}

	// The key from stdin, the repository by name (its id looked up with an
	// installation token the CLI mints), one more account's token.
	r := runImport(t, in, gh.AppPrivateKeyPEM, "github", "--repo", ffgithub.Owner+"/"+ffgithub.Repo, "--target-namespace", "root",
		"--new-name", "cli-app", "--github-hostname", gh.URL, "--github-app-id", appID, "--github-app-installation-id", instID,
		"--github-app-private-key-file", "-", "--additional-token-file", extra, "--interval", "100ms")
	noSecrets(t, r)
	if r.code != 0 || !strings.Contains(r.stdout, "result: finished cleanly") {
		t.Fatalf("App import: exit %d", r.code)
	}
	var id int64
	if _, err := fmt.Sscanf(r.stdout[strings.Index(r.stdout, "started import of project"):], "started import of project %d", &id); err != nil {
		t.Fatal(err)
	}
	if st := gh.AppStats(); st.Minted == 0 || st.Accepted == 0 {
		t.Errorf("the import did not go as the installation: %+v", st)
	}
	st := runImport(t, in, "", "status", strconv.FormatInt(id, 10))
	noSecrets(t, st)
	// fakeforge limits no REST budget here, so what is seen is GraphQL's.
	for _, want := range []string{"credential 1 (github_app " + appID + "/" + instID + ") graphql: ", "credential 2 (personal_access_token) graphql: "} {
		if st.code != 0 || !strings.Contains(st.stdout, want) {
			t.Errorf("status text (exit %d) lacks %q", st.code, want)
		}
	}
	if !strings.Contains(st.stdout, " left, resets ") {
		t.Errorf("status text shows no budget left and its reset")
	}
	var m struct {
		Budgets []struct{ Kind string } `json:"rate_limit_budgets"`
	}
	js := runImport(t, in, "", "status", strconv.FormatInt(id, 10), "--json")
	if err := json.Unmarshal([]byte(js.stdout), &m); err != nil || len(m.Budgets) < 2 {
		t.Errorf("status --json: %v, budgets %+v", err, m.Budgets)
	}

	// The key from a file, the repository by id, detached.
	r = runImport(t, in, "", "github", "--repo-id", strconv.Itoa(ffgithub.RepoID), "--target-namespace", "root", "--new-name", "cli-app-2",
		"--github-hostname", gh.URL, "--github-app-id", appID, "--github-app-installation-id", instID, "--github-app-private-key-file", keyFile,
		"--interval", "100ms", "--json")
	noSecrets(t, r)
	if !strings.Contains(r.stdout, `"import_status": "finished"`) && !strings.Contains(r.stdout, `"import_status":"finished"`) || r.code != 0 {
		t.Errorf("App import with the key from a file: exit %d", r.code)
	}

	// A batch of github rows as the App, with the other account's budget.
	batch := writeFile(t, "repos.csv", fmt.Sprintf("source,repo,target,new_name\ngithub,%s/%s,root,batch-app-1\ngithub,%d,root,batch-app-2\n",
		ffgithub.Owner, ffgithub.Repo, ffgithub.RepoID))
	r = runImport(t, in, gh.AppPrivateKeyPEM, "batch", batch, "--concurrency", "2", "--github-hostname", gh.URL, "--github-app-id", appID,
		"--github-app-installation-id", instID, "--github-app-private-key-file", "-", "--additional-token-file", extra, "--interval", "100ms")
	noSecrets(t, r)
	if r.code != 0 || strings.Count(r.stdout, "finished  ok") != 2 {
		t.Errorf("batch as the App: exit %d", r.code)
	}
	if r := runImport(t, in, "", "batch", batch, "--github-token-file", tokFile, "--github-app-id", appID, "--github-app-installation-id", instID,
		"--github-app-private-key-file", keyFile); r.code != 2 || !strings.Contains(r.stderr, "--github-token-file and --github-app-id") {
		t.Errorf("batch with a token and an App: exit %d", r.code)
	}

	for _, c := range []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"key on argv", "", []string{"--github-app-id", appID, "--github-app-installation-id", instID, "--github-app-private-key", gh.AppPrivateKeyPEM},
			"--github-app-private-key is refused"},
		{"key as an argument", "", []string{gh.AppPrivateKeyPEM}, "looks like a private key"},
		{"token and App", "", []string{"--source-token-file", tokFile, "--github-app-id", appID, "--github-app-installation-id", instID,
			"--github-app-private-key-file", keyFile}, "mutually exclusive"},
		{"half an App", "", []string{"--github-app-id", appID, "--github-app-private-key-file", keyFile}, "a GitHub App needs --github-app-id, --github-app-installation-id and --github-app-private-key-file"},
		{"no credential", "", nil, "--source-token-file is required"},
		{"not a key", "", []string{"--github-app-id", appID, "--github-app-installation-id", instID, "--github-app-private-key-file", tokFile}, "want the App's private key in PEM"},
		{"stdin twice", gh.AppPrivateKeyPEM, []string{"--github-app-id", appID, "--github-app-installation-id", instID, "--github-app-private-key-file", "-",
			"--additional-token-file", "-"}, "stdin is already read"},
		{"two tokens in one file", "", []string{"--source-token-file", tokFile, "--additional-token-file", writeFile(t, "two", second+"\n"+gh.Token+"\n")},
			"want one token on one line"},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"github", "--repo-id", strconv.Itoa(ffgithub.RepoID), "--target-namespace", "root", "--github-hostname", gh.URL}, c.args...)
			r := runImport(t, in, c.stdin, args...)
			noSecrets(t, r)
			if r.code != 2 || !strings.Contains(r.stderr, c.want) {
				t.Errorf("exit %d, want 2 and %q", r.code, c.want)
			}
		})
	}
}

// TestBudgetText: a budget line per credential, figures grouped by
// thousands, the reset in UTC; a budget not seen yet says so.
func TestBudgetText(t *testing.T) {
	n := func(v int64) *int64 { return &v }
	reset := time.Date(2026, 12, 7, 6, 30, 0, 0, time.FixedZone("CET", 3600))
	for _, c := range []struct {
		b    cliclient.RateLimitBudget
		want string
	}{
		{cliclient.RateLimitBudget{Credential: 2, Kind: "personal_access_token", Budget: "api", Remaining: n(4321), Limit: n(5000), ResetAt: &reset},
			"credential 2 (personal_access_token) api: 4,321/5,000 left, resets 05:30 UTC"},
		{cliclient.RateLimitBudget{Credential: 1, Kind: "github_app 7/8", Budget: "graphql", Remaining: n(1234567)},
			"credential 1 (github_app 7/8) graphql: 1,234,567 left"},
		{cliclient.RateLimitBudget{Credential: 3, Kind: "personal_access_token", Budget: "api", Remaining: n(12), Limit: n(100)},
			"credential 3 (personal_access_token) api: 12/100 left"},
		{cliclient.RateLimitBudget{Credential: 1, Kind: "personal_access_token", Budget: "api"}, "credential 1 (personal_access_token) api: not seen yet"},
	} {
		if got := budgetText(c.b); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}
