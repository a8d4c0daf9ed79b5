package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/fakeforge"
	fakegitlab "github.com/ferry-import/ferry/fakeforge/gitlab"
	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/netguard"
	"github.com/ferry-import/ferry/netguard/netguardtest"
	"github.com/ferry-import/ferry/store/storetest"
)

// gitlabRelay modes: what a relay in front of fakeforge's GitLab points
// at a trap.
const (
	relayRedirect = "redirect" // every request, redirected
	relayClone    = "clone"    // projects' http_url_to_repo
	relayHops     = "hops"     // LFS download hrefs and upload downloads (redirected)
)

var projectAnswer = regexp.MustCompile(`^/api/v4/projects/[^/]+$`)

// startGitLabRelay is a GitLab relay that points further hops of a
// migration at a trap, as mode says.
func startGitLabRelay(t *testing.T, upstream string, spellings []netguardtest.Spelling, mode string) *trapRelay {
	t.Helper()
	return startRelay(t, upstream, spellings, relayHooks{
		serve: func(tr *trapRelay, w http.ResponseWriter, r *http.Request) bool {
			switch {
			case mode == relayRedirect:
			case mode == relayHops && strings.Contains(r.URL.Path, "/uploads/"):
				tr.attachment(r.URL.Path)
			default:
				return false
			}
			http.Redirect(w, r, tr.spelling().URL+r.URL.RequestURI(), http.StatusFound)
			return true
		},
		body: func(tr *trapRelay, p, s string) string {
			switch {
			case mode == relayClone && projectAnswer.MatchString(p):
				return strings.ReplaceAll(s, `"http_url_to_repo":"`+tr.srv.URL, `"http_url_to_repo":"`+tr.spelling().URL)
			case mode == relayHops && strings.HasSuffix(p, "/info/lfs/objects/batch"):
				return tr.lfsHrefs(t, s)
			}
			return s
		},
	})
}

// TestGitLabMigrationNeverReachesBlockedAddresses: without
// --allow-local-network, no URL a migration takes reaches a loopback trap
// (127.0.0.1 and [::1]) in any spelling: configuration[url] itself (422
// Invalid source URL, nothing created), a source redirecting its API
// there (the same), a project whose http_url_to_repo points there (its
// repository refused, the token never sent), LFS download hrefs and their
// redirects, and upload downloads redirected there (listed failures). The
// only local addresses ferry may reach are the relays the test serves as
// GitLab. The source token appears in no answer and no log line.
func TestGitLabMigrationNeverReachesBlockedAddresses(t *testing.T) {
	t.Parallel()
	trap := netguardtest.NewTrap(t)
	spellings := trap.Spellings()
	// Direct transfer off at the source: the REST path, which downloads
	// uploads one by one.
	f := forgeWith(t, fakeforge.Options{GitLab: fakegitlab.Options{ExportDisabled: true}}, func(c *scenario.Config) {
		oneProjectTree(c)
		c.LFSObjects, c.Attachments = 2, true
	})
	token := f.GitLab.Token
	redirect := startGitLabRelay(t, f.GitLab.URL, spellings, relayRedirect)
	clone := startGitLabRelay(t, f.GitLab.URL, spellings, relayClone)
	hops := startGitLabRelay(t, f.GitLab.URL, spellings, relayHops)

	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			logs := &logBuffer{}
			in := apptest.Start(t, e, apptest.Options{Workers: 4, Log: logs, EngineOverrides: func(c *importer.Config) { fast(c) },
				AllowEndpoints: []netip.AddrPort{redirect.addrPort(t), clone.addrPort(t), hops.addrPort(t)}})
			logOnFailure(t, logs)
			for _, dest := range []string{"clone", "hops"} {
				if code, res := postJSON(t, in.URL+"/api/v4/groups", in.RootToken, map[string]any{"name": dest, "path": dest}); code != 201 {
					t.Fatalf("create group %s: %d %v", dest, code, res)
				}
			}
			records := func() int {
				return count(t, in, `SELECT COUNT(*) FROM bulk_imports`) + count(t, in, `SELECT COUNT(*) FROM imports`)
			}
			// Six requests a minute per user: the refused ones come from
			// users of their own, five each.
			root := in.Client(t, in.RootToken)
			var caller string
			posted := 0
			poster := func(t *testing.T) string {
				if posted%5 == 0 {
					name := fmt.Sprintf("ssrf%d", posted/5)
					u := must(root.Users.CreateUser(&gitlab.CreateUserOptions{Username: gitlab.Ptr(name), Name: gitlab.Ptr(name),
						Email: gitlab.Ptr(name + "@example.com"), Password: gitlab.Ptr("s3cret-pass")}))(t)
					caller = must(root.Users.CreatePersonalAccessToken(u.ID, &gitlab.CreatePersonalAccessTokenOptions{Name: gitlab.Ptr("t"),
						Scopes: &[]string{"api"}}))(t).Token
				}
				posted++
				return caller
			}
			post := func(t *testing.T, source, dest string) (int, map[string]any) {
				t.Helper()
				as := in.RootToken
				if dest == "" {
					as = poster(t)
					dest = "clone"
				}
				code, body := postJSON(t, in.URL+"/api/v4/bulk_imports", as, map[string]any{
					"configuration": map[string]any{"url": source, "access_token": token},
					"entities": []map[string]any{{"source_type": "group_entity", "source_full_path": "acme", "destination_slug": "acme",
						"destination_namespace": dest}},
				})
				if raw, _ := json.Marshal(body); strings.Contains(string(raw), token) {
					t.Errorf("%s: the answer shows the token: %s", source, raw)
				}
				return code, body
			}
			// migrate runs a migration from source into dest to its end.
			migrate := func(t *testing.T, source, dest string) (int64, map[string]any) {
				t.Helper()
				code, body := post(t, source, dest)
				if code != 201 {
					t.Fatalf("POST /bulk_imports: %d %v", code, body)
				}
				id := int64(body["id"].(float64))
				return id, waitBulkImport(t, in, id)
			}
			const invalidURL = "Invalid source URL. Enter only the base URL of the source GitLab instance."

			t.Run("configuration[url] and redirects", func(t *testing.T) {
				before := records()
				for _, s := range spellings {
					if code, body := post(t, s.URL, ""); code != 422 || body["message"] != invalidURL || len(body) != 1 {
						t.Errorf("%s: %d %v, want 422 %q", s.URL, code, body, invalidURL)
					}
				}
				// A redirect off the source is refused as an address that
				// may not be reached.
				for range spellings {
					if code, body := post(t, redirect.srv.URL, ""); code != 422 || body["message"] != invalidURL || len(body) != 1 {
						t.Errorf("redirected: %d %v, want 422 %q", code, body, invalidURL)
					}
				}
				if records() != before {
					t.Errorf("a refused migration created records")
				}
				trapUntouched(t, trap, "configuration[url]")
			})

			t.Run("clone URL", func(t *testing.T) {
				id, done := migrate(t, clone.srv.URL, "clone")
				if done["has_failures"] != true {
					t.Errorf("migration ended %v without failures", done["status"])
				}
				for _, en := range getList(t, fmt.Sprintf("%s/api/v4/bulk_imports/%d/entities?per_page=100", in.URL, id), in.RootToken) {
					if en["entity_type"] != "project" {
						continue
					}
					if got := fmt.Sprint(en["failures"]); en["status"] != "failed" || !strings.Contains(got, "clone URL host") {
						t.Errorf("project entity %v: %v, failures %s; want failed, its clone URL refused", en["source_full_path"], en["status"], got)
					}
				}
				trapUntouched(t, trap, "clone URL")
			})

			t.Run("LFS and uploads", func(t *testing.T) {
				id, done := migrate(t, hops.srv.URL, "hops")
				if done["status"] != "finished" || done["has_failures"] != true {
					logEntities(t, in, id)
					t.Errorf("migration ended %v, has_failures %v; want finished with failures", done["status"], done["has_failures"])
				}
				// The API cuts exception_message at 72 characters, as
				// GitLab: the whole message is in the database.
				blocked := map[string]bool{}
				rows, err := in.App.Store.DB().Query(`SELECT f.relation, f.exception_message FROM import_failures f
					JOIN bulk_import_entities e ON e.import_id = f.import_id WHERE e.bulk_import_id = $1`, id)
				if err != nil {
					t.Fatal(err)
				}
				for rows.Next() {
					var rel, msg string
					if err := rows.Scan(&rel, &msg); err != nil {
						t.Fatal(err)
					}
					if strings.Contains(msg, netguard.ErrBlocked.Error()) {
						blocked[rel] = true
					}
				}
				rows.Close()
				for _, rel := range []string{"lfs_objects", "attachments"} {
					if !blocked[rel] {
						logEntities(t, in, id)
						t.Errorf("%s: no failure says the address was blocked (%v)", rel, blocked)
					}
				}
				hops.mu.Lock()
				if len(hops.attachments) == 0 {
					t.Error("no upload was downloaded: the row tests nothing")
				}
				hops.mu.Unlock()
				trapUntouched(t, trap, "LFS and uploads")
			})

			checkRefusalLog(t, logs, token)
		})
	}
}
