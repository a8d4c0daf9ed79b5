package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/fakeforge"
	ffgithub "github.com/ferry-import/ferry/fakeforge/github"
	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/store/storetest"
)

// TestGitHubAppImportEndToEnd: the small scenario imported with a GitHub
// App installation as the credential (github_app_id,
// github_app_installation_id, github_app_private_key), its installation
// tokens lasting 62 s so that ghinstallation renews them a second or two
// after each mint, all through the import: it finishes with everything,
// the repository and its LFS objects included; GitHub minted more than
// one token, and never saw an expired one (the fake refuses those, so no
// request can have succeeded with one); neither the key nor any
// installation token shows in ferry's log, answers or database.
func TestGitHubAppImportEndToEnd(t *testing.T) {
	t.Parallel()
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			f := forgeWith(t, fakeforge.Options{Sources: []string{scenario.GitHub},
				GitHub: ffgithub.Options{App: ffgithub.AppOptions{TokenLifetime: 62 * time.Second}}}, nil)
			gh := f.GitHub
			logs := &logBuffer{}
			in := apptest.Start(t, e, apptest.Options{AllowLocalNetwork: true, EngineOverrides: fast, Log: logs, Workers: 4})
			grp := newGroup(t, in.Client(t, in.RootToken), "group")
			f.GitHub.ResetStats()
			code, body := postJSON(t, in.URL+"/api/v4/import/github", in.RootToken, map[string]any{
				"github_app_id":              gh.AppID,
				"github_app_installation_id": gh.InstallationID,
				"github_app_private_key":     gh.AppPrivateKeyPEM,
				"repo_id":                    ffgithub.RepoID,
				"target_namespace":           "group",
				"new_name":                   "NEW-NAME",
				"github_hostname":            gh.URL,
			})
			if code != 201 {
				t.Fatalf("POST /import/github with an app: %d %v", code, body)
			}
			answers := []map[string]any{body}
			id := int64(body["id"].(float64))
			st := finishedWithEverything(t, in, f, id, grp.ID, func(st map[string]any) { answers = append(answers, st) })
			answers = append(answers, st)

			// The repository and its LFS objects came through.
			checkClone(t, in, f, "group/NEW-NAME")
			lfs := ""
			for _, x := range st["relations"].([]any) {
				if rel := x.(map[string]any); rel["name"] == "lfs_objects" {
					lfs = fmt.Sprintf("%v/%v", rel["imported"], rel["failed"])
				}
			}
			if want := fmt.Sprintf("%d/0", f.Scenario.Config().LFSObjects); lfs != want {
				t.Errorf("LFS objects imported/failed %q, want %s", lfs, want)
			}

			// Tokens were minted and renewed; none was used past its expiry.
			as := gh.AppStats()
			t.Logf("app: %+v; source calls %d", as, gh.Stats().APIRequests)
			if as.Minted < 2 || as.Expired != 0 || as.Refused != 0 || as.Accepted == 0 {
				t.Errorf("app stats %+v: want more than one token minted, none refused, none used expired", as)
			}
			if n := gh.Stats().Families["app"].Requests; n != as.Minted {
				t.Errorf("%d requests to /app/, %d tokens minted", n, as.Minted)
			}

			// Neither the key nor an installation token anywhere: log,
			// answers, database.
			keyLine := strings.Split(gh.AppPrivateKeyPEM, "\n")[1]
			secrets := append([]string{keyLine, "PRIVATE KEY"}, gh.InstallationTokens()...)
			answers = append(answers, status(t, in, id))
			raw, _ := json.Marshal(answers)
			db, log := databaseText(t, in), logs.String()
			for _, s := range secrets {
				for where, text := range map[string]string{"an API answer": string(raw), "the log": log, "the database": db} {
					if strings.Contains(text, s) {
						t.Errorf("a secret (%.8s…) in %s", s, where)
					}
				}
			}
		})
	}
}

// databaseText is every row of every table, as text, for looking for
// secrets (checkNoSecret's dump, once for many secrets).
func databaseText(t *testing.T, in *apptest.Instance) string {
	t.Helper()
	var b strings.Builder
	for _, text := range databaseTables(t, in) {
		b.WriteString(text)
	}
	return b.String()
}
