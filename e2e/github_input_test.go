package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry/app/apptest"
	ffgithub "github.com/ferry-import/ferry/fakeforge/github"
	"github.com/ferry-import/ferry/fakeforge/traffic"
	"github.com/ferry-import/ferry/store/storetest"
)

// TestGitHubImportBadInput: every error row of POST /import/github, with
// GitLab's status and body, and nothing created by a refused request.
func TestGitHubImportBadInput(t *testing.T) {
	t.Parallel()
	f := forge(t, traffic.Faults{}, nil)
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			in := apptest.Start(t, e, apptest.Options{AllowLocalNetwork: true, EngineOverrides: fast})
			root := in.Client(t, in.RootToken)
			grp := must(root.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("dest"), Path: gitlab.Ptr("dest")}))(t)
			alice := must(root.Users.CreateUser(&gitlab.CreateUserOptions{Username: gitlab.Ptr("alice"), Name: gitlab.Ptr("Alice"),
				Email: gitlab.Ptr("alice@example.com"), Password: gitlab.Ptr("s3cret-pass")}))(t)
			aliceTok := must(root.Users.CreatePersonalAccessToken(alice.ID, &gitlab.CreatePersonalAccessTokenOptions{Name: gitlab.Ptr("t"), Scopes: &[]string{"api"}}))(t)
			must(root.GroupMembers.AddGroupMember(grp.ID, &gitlab.AddGroupMemberOptions{UserID: &alice.ID, AccessLevel: gitlab.Ptr(gitlab.DeveloperPermissions)}))(t)
			// A project already named "taken" in dest.
			must(root.Projects.CreateProject(&gitlab.CreateProjectOptions{Name: gitlab.Ptr("taken"), NamespaceID: &grp.ID}))(t)

			ok := func(over map[string]any) map[string]any {
				b := map[string]any{"personal_access_token": f.GitHub.Token, "repo_id": ffgithub.RepoID, "target_namespace": "dest", "github_hostname": f.GitHub.URL}
				for k, v := range over {
					if v == nil {
						delete(b, k)
					} else {
						b[k] = v
					}
				}
				return b
			}
			cases := []struct {
				name   string
				token  string
				body   map[string]any
				status int
				want   string
			}{
				{"missing everything", "", map[string]any{}, 400, `{"error":"personal_access_token is missing, repo_id is missing, target_namespace is missing"}`},
				{"repo_id not an integer", "", ok(map[string]any{"repo_id": "abc"}), 400, `{"error":"repo_id is invalid"}`},
				{"blank namespace", "", ok(map[string]any{"target_namespace": ""}), 400, `{"error":"target_namespace is empty"}`},
				{"bad timeout strategy", "", ok(map[string]any{"timeout_strategy": "whenever"}), 400, `{"error":"timeout_strategy does not have a valid value"}`},
				{"pagination_limit 0", "", ok(map[string]any{"pagination_limit": 0}), 400, `{"error":"pagination_limit does not have a valid value"}`},
				{"pagination_limit 101", "", ok(map[string]any{"pagination_limit": 101}), 400, `{"error":"pagination_limit does not have a valid value"}`},
				{"hostname not a URL", "", ok(map[string]any{"github_hostname": "ftp://github.example.com"}), 400, `{"errors":"Invalid URL: ftp://github.example.com"}`},
				{"metadata hostname", "", ok(map[string]any{"github_hostname": "http://169.254.169.254"}), 400, `{"errors":"Invalid URL: http://169.254.169.254"}`},
				{"namespace does not exist", "", ok(map[string]any{"target_namespace": "nowhere/at/all"}), 422, `{"errors":"Namespace or group to import repository into does not exist."}`},
				{"developer may not import", aliceTok.Token, ok(nil), 422, `{"errors":"You are not allowed to import projects in this namespace."}`},
				{"bad GitHub token", "", ok(map[string]any{"personal_access_token": "ghp_wrong"}), 401, `{"error":"Access denied to your GitHub account."}`},
				{"unknown repository", "", ok(map[string]any{"repo_id": 999999}), 422, ""},
				{"name taken", "", ok(map[string]any{"new_name": "taken"}), 422, `{"errors":"Name has already been taken, Path has already been taken"}`},
				{"no token at all", "-", ok(nil), 401, `{"message":"401 Unauthorized"}`},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					tok := in.RootToken
					switch c.token {
					case "-":
						tok = ""
					case "":
					default:
						tok = c.token
					}
					before := count(t, in, `SELECT COUNT(*) FROM projects`) + count(t, in, `SELECT COUNT(*) FROM imports`)
					code, body := postJSON(t, in.URL+"/api/v4/import/github", tok, c.body)
					got, _ := json.Marshal(body)
					if code != c.status || (c.want != "" && string(got) != c.want) {
						t.Fatalf("got %d %s, want %d %s", code, got, c.status, c.want)
					}
					if after := count(t, in, `SELECT COUNT(*) FROM projects`) + count(t, in, `SELECT COUNT(*) FROM imports`); after != before {
						t.Fatalf("a refused import created records")
					}
				})
			}
			// The unknown repository row carries GitHub's own answer.
			_, body := postJSON(t, in.URL+"/api/v4/import/github", in.RootToken, ok(map[string]any{"repo_id": 999999}))
			if msg, _ := body["errors"].(string); !strings.HasPrefix(msg, "Import failed because of a GitHub error: ") || !strings.HasSuffix(msg, "(HTTP 404)") {
				t.Errorf("unknown repository: %v", body)
			}
			// Gists are not modelled: a clear 501, not a pretend success.
			code, body := postJSON(t, in.URL+"/api/v4/import/github/gists", in.RootToken, map[string]any{"personal_access_token": "x"})
			if code != 501 || !strings.Contains(fmt.Sprint(body["message"]), "gists") {
				t.Errorf("gists: %d %v", code, body)
			}
		})
	}
}

// TestGitHubImportRateLimitNearlySpent: GitLab answers 429 when the token
// has next to no budget left, instead of starting an import that stalls.
func TestGitHubImportRateLimitNearlySpent(t *testing.T) {
	t.Parallel()
	f := forge(t, traffic.Faults{RateLimit: 1, RateLimitPeriod: 3600e9}, nil)
	e := storetest.Engines(t)[0]
	in := apptest.Start(t, e, apptest.Options{AllowLocalNetwork: true})
	must(in.Client(t, in.RootToken).Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("dest"), Path: gitlab.Ptr("dest")}))(t)
	code, body := postJSON(t, in.URL+"/api/v4/import/github", in.RootToken, map[string]any{"personal_access_token": f.GitHub.Token,
		"repo_id": ffgithub.RepoID, "target_namespace": "dest", "github_hostname": f.GitHub.URL})
	if code != 429 || body["error"] != "Too Many Requests" {
		t.Fatalf("got %d %v", code, body)
	}
}

// TestGitHubImportSSRF: without --allow-local-network no import reaches a
// loopback, private, link-local or metadata address, whatever the form.
func TestGitHubImportSSRF(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	trap := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer trap.Close()
	port := trap.URL[strings.LastIndex(trap.URL, ":")+1:]
	e := storetest.Engines(t)[0]
	in := apptest.Start(t, e, apptest.Options{})
	must(in.Client(t, in.RootToken).Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("dest"), Path: gitlab.Ptr("dest")}))(t)
	// hint: the answer names --allow-local-network, which the address
	// needs; metadata endpoints are refused whatever the setting, so no
	// hint.
	for _, c := range []struct {
		host string
		hint bool
	}{
		{trap.URL, true}, {"http://localhost:" + port, true}, {"http://[::1]:" + port, true}, {"http://[::1%25lo]:" + port, true},
		{"http://[::127.0.0.1]:" + port, true}, {"http://10.0.0.7", true}, {"http://192.168.1.1", true},
		{"http://172.16.0.1", true}, {"http://169.254.169.254", false}, {"http://169.254.10.10", true},
		{"http://0.0.0.0:" + port, true}, {"http://127.1:" + port, true}, // also: write it 127.0.0.1
	} {
		code, body := postJSON(t, in.URL+"/api/v4/import/github", in.RootToken, map[string]any{"personal_access_token": "ghp_x",
			"repo_id": 1, "target_namespace": "dest", "github_hostname": c.host})
		want := "Invalid URL: " + c.host
		if c.hint {
			want += " (local network imports are disabled; see --allow-local-network)"
		}
		if code != 400 || body["errors"] != want {
			t.Errorf("%s: got %d %v, want 400 %q", c.host, code, body, want)
		}
	}
	if hits.Load() != 0 {
		t.Fatalf("a blocked host was contacted %d times", hits.Load())
	}
}

// TestGitHubImportSourcePointingElsewhere: with local imports allowed (so
// the source itself is reachable), a redirect, a pagination link or a
// clone URL pointing at another host must not take the token there.
func TestGitHubImportSourcePointingElsewhere(t *testing.T) {
	t.Parallel()
	var leaked atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Add(1)
		t.Errorf("other host contacted: %s %s (with credentials: %v)", r.Method, r.URL, r.Header.Get("Authorization") != "")
	}))
	defer other.Close()
	var src *httptest.Server
	src = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		p := strings.TrimPrefix(r.URL.Path, "/api/v3")
		switch {
		case p == "/repositories/1":
			fmt.Fprintf(w, `{"id":1,"name":"evil","full_name":"mallory/evil","private":false,"html_url":%q,"clone_url":%q,"default_branch":"main"}`,
				src.URL+"/mallory/evil", other.URL+"/mallory/evil.git")
		case p == "/repositories/2":
			http.Redirect(w, r, other.URL+"/api/v3/repositories/2", http.StatusFound)
		default:
			fmt.Fprint(w, `[]`)
		}
	}))
	defer src.Close()
	e := storetest.Engines(t)[0]
	in := apptest.Start(t, e, apptest.Options{AllowLocalNetwork: true, EngineOverrides: fast})
	must(in.Client(t, in.RootToken).Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("dest"), Path: gitlab.Ptr("dest")}))(t)

	// A redirect to another host: refused, not followed.
	code, body := postJSON(t, in.URL+"/api/v4/import/github", in.RootToken, map[string]any{"personal_access_token": "ghp_secret",
		"repo_id": 2, "target_namespace": "dest", "github_hostname": src.URL})
	if code != 422 {
		t.Errorf("redirecting source: %d %v", code, body)
	}
	// A clone URL on another host: the other host never sees a request.
	code, body = postJSON(t, in.URL+"/api/v4/import/github", in.RootToken, map[string]any{"personal_access_token": "ghp_secret",
		"repo_id": 1, "target_namespace": "dest", "github_hostname": src.URL})
	if code != 201 {
		t.Fatalf("import: %d %v", code, body)
	}
	st := waitImport(t, in, int64(body["id"].(float64)), nil)
	if leaked.Load() != 0 {
		t.Fatalf("the other host got %d requests", leaked.Load())
	}
	// The repository is critical: a clone URL elsewhere fails the import,
	// saying why. (A foreign pagination link is refused by the source
	// client's host check, sourcehttp.TestOtherHostsRefused.)
	if msg, _ := st["import_error"].(string); st["import_status"] != "failed" || !strings.Contains(msg, "clone URL") {
		t.Errorf("import ended %v: %v", st["import_status"], st["import_error"])
	}
}
