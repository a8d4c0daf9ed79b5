package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/fakeforge"
	fakegitlab "github.com/ferry-import/ferry/fakeforge/gitlab"
	"github.com/ferry-import/ferry/store/storetest"
)

// TestGitLabMigrationSourceRefusals: POST /bulk_imports against real
// (fake) sources that refuse, one per step of GitLab's validate!: 422 with
// GitLab's message exactly, nothing created, the token in no answer. A
// source with direct transfer off is not refused (ferry migrates through
// its REST API instead; README).
func TestGitLabMigrationSourceRefusals(t *testing.T) {
	t.Parallel()
	plain := forgeWith(t, fakeforge.Options{}, oneProjectTree)
	old := forgeWith(t, fakeforge.Options{GitLab: fakegitlab.Options{Version: "13.12.15"}}, oneProjectTree)
	readOnly := forgeWith(t, fakeforge.Options{GitLab: fakegitlab.Options{Scopes: []string{"read_api"}}}, oneProjectTree)
	off := forgeWith(t, fakeforge.Options{GitLab: fakegitlab.Options{ExportDisabled: true}}, oneProjectTree)
	notGitLab := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(notGitLab.Close)
	up, _ := url.Parse(plain.GitLab.URL)
	proxy := httputil.NewSingleHostReverseProxy(up)
	forbidden := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/export_relations") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"message":"403 Forbidden"}`)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(forbidden.Close)

	const creds = "Check that the source instance base URL and the personal access token meet the necessary requirements."
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			in := apptest.Start(t, e, apptest.Options{AllowLocalNetwork: true, EngineOverrides: fast})
			root := in.Client(t, in.RootToken)
			if code, res := postJSON(t, in.URL+"/api/v4/groups", in.RootToken, map[string]any{"name": "dst", "path": "dst"}); code != 201 {
				t.Fatalf("create group: %d %v", code, res)
			}
			records := func() int {
				return count(t, in, `SELECT COUNT(*) FROM bulk_imports`) + count(t, in, `SELECT COUNT(*) FROM bulk_import_entities`) +
					count(t, in, `SELECT COUNT(*) FROM imports`)
			}
			for i, c := range []struct {
				name, url, token, path string
				code                   int
				want                   string
			}{
				{"wrong token", plain.GitLab.URL, "glpat-wrong", "acme", 422, creds},
				{"not a GitLab", notGitLab.URL, plain.GitLab.Token, "acme", 422,
					"Invalid source URL. Enter only the base URL of the source GitLab instance."},
				{"GitLab 13", old.GitLab.URL, old.GitLab.Token, "acme", 422, "Unsupported GitLab version. Minimum supported version is '14'."},
				{"token without api", readOnly.GitLab.URL, readOnly.GitLab.Token, "acme", 422, creds},
				{"no such group", plain.GitLab.URL, plain.GitLab.Token, "nope", 422, "Import failed. 'nope' not found."},
				{"export forbidden", forbidden.URL, plain.GitLab.Token, "acme", 422, "Import failed. You don't have permission to export 'acme'."},
				{"direct transfer off: migrated through REST", off.GitLab.URL, off.GitLab.Token, "acme", 201, ""},
			} {
				t.Run(c.name, func(t *testing.T) {
					// A user each: six requests a minute per user.
					name := fmt.Sprintf("refused%d", i)
					u := must(root.Users.CreateUser(&gitlab.CreateUserOptions{Username: gitlab.Ptr(name), Name: gitlab.Ptr(name),
						Email: gitlab.Ptr(name + "@example.com"), Password: gitlab.Ptr("s3cret-pass")}))(t)
					tok := must(root.Users.CreatePersonalAccessToken(u.ID, &gitlab.CreatePersonalAccessTokenOptions{Name: gitlab.Ptr("t"),
						Scopes: &[]string{"api"}}))(t).Token
					before := records()
					code, body := postJSON(t, in.URL+"/api/v4/bulk_imports", tok, map[string]any{
						"configuration": map[string]any{"url": c.url, "access_token": c.token},
						"entities": []map[string]any{{"source_type": "group_entity", "source_full_path": c.path, "destination_slug": name + "-dst",
							"destination_namespace": ""}},
					})
					if fmt.Sprint(body) != "" && strings.Contains(fmt.Sprint(body), c.token) {
						t.Errorf("the answer shows the token: %v", body)
					}
					if c.code == 201 {
						if code != 201 {
							t.Fatalf("%d %v, want 201", code, body)
						}
						return
					}
					if code != c.code || body["message"] != c.want || len(body) != 1 {
						t.Errorf("%d %v, want %d {\"message\":%q}", code, body, c.code, c.want)
					}
					if records() != before {
						t.Errorf("a refused migration created records")
					}
				})
			}
		})
	}
}
