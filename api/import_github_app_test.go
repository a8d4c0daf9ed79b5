package api_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/fakeforge"
	ffgithub "github.com/ferry-import/ferry/fakeforge/github"
	"github.com/ferry-import/ferry/fakeforge/scenario"
)

// TestGitHubAppImportInput: POST /import/github with a GitHub App
// installation (github_app_id, github_app_installation_id,
// github_app_private_key, a ferry extension) instead of a token: every
// refusal in GitLab's error format, in JSON and form bodies, nothing
// created, the key never in an answer; a good app schedules the import
// with the credential sealed, not the key in clear.
func TestGitHubAppImportInput(t *testing.T) {
	t.Parallel()
	c, err := scenario.Preset("small", 1)
	if err != nil {
		t.Fatal(err)
	}
	f, err := fakeforge.Start(context.Background(), fakeforge.Options{Scenario: c, Sources: []string{scenario.GitHub}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	gh := f.GitHub
	otherKey, _, err := ffgithub.GenerateAppKey()
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	ecPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}))
	// keyBody is a line of the key's PEM body: what would show were the
	// key echoed or stored in clear.
	keyBody := func(k string) string { return strings.Split(k, "\n")[1] }

	apptest.Each(t, apptest.Options{AllowLocalNetwork: true, Workers: 1}, func(t *testing.T, in *apptest.Instance) {
		tokens := map[string]string{"root": in.RootToken}
		app := func(over map[string]any) map[string]any {
			b := map[string]any{"github_app_id": gh.AppID, "github_app_installation_id": gh.InstallationID, "github_app_private_key": gh.AppPrivateKeyPEM,
				"repo_id": ffgithub.RepoID, "target_namespace": "root", "github_hostname": gh.URL}
			for k, v := range over {
				if v == nil {
					delete(b, k)
				} else {
					b[k] = v
				}
			}
			return b
		}
		for _, tt := range []struct {
			name   string
			body   map[string]any
			form   bool // sent as an urlencoded form instead of JSON
			status int
			want   string
		}{
			{"neither a token nor an app", app(map[string]any{"github_app_id": nil, "github_app_installation_id": nil, "github_app_private_key": nil}),
				false, 400, `{"error":"personal_access_token is missing"}`},
			{"a token and an app id", app(map[string]any{"personal_access_token": "ghp_x", "github_app_installation_id": nil, "github_app_private_key": nil}),
				false, 400, `{"error":"personal_access_token, github_app_id are mutually exclusive"}`},
			{"a token and a whole app", app(map[string]any{"personal_access_token": "ghp_x"}),
				false, 400, `{"error":"personal_access_token, github_app_id, github_app_installation_id, github_app_private_key are mutually exclusive"}`},
			{"a token and a key, as a form", app(map[string]any{"personal_access_token": "ghp_x", "github_app_id": nil, "github_app_installation_id": nil}),
				true, 400, `{"error":"personal_access_token, github_app_private_key are mutually exclusive"}`},
			{"no installation", app(map[string]any{"github_app_installation_id": nil}), false, 400, `{"error":"github_app_installation_id is missing"}`},
			{"only an app id", app(map[string]any{"github_app_installation_id": nil, "github_app_private_key": nil}),
				false, 400, `{"error":"github_app_installation_id is missing, github_app_private_key is missing"}`},
			{"no key, as a form", app(map[string]any{"github_app_private_key": nil}), true, 400, `{"error":"github_app_private_key is missing"}`},
			{"blank key", app(map[string]any{"github_app_private_key": " "}), false, 400, `{"error":"github_app_private_key is empty"}`},
			{"app id not a number", app(map[string]any{"github_app_id": "abc"}), false, 400, `{"error":"github_app_id is invalid"}`},
			{"app id zero", app(map[string]any{"github_app_id": 0}), false, 400, `{"error":"github_app_id is invalid"}`},
			{"installation negative, as a form", app(map[string]any{"github_app_installation_id": -3}), true, 400, `{"error":"github_app_installation_id is invalid"}`},
			{"key not PEM", app(map[string]any{"github_app_private_key": "MIIEowIBAAKCAQEAsecret"}), false, 400,
				`{"error":"github_app_private_key is invalid: not a PEM block"}`},
			{"key not RSA", app(map[string]any{"github_app_private_key": ecPEM}), false, 400,
				`{"error":"github_app_private_key is invalid: not an RSA private key"}`},
			{"another app's key", app(map[string]any{"github_app_private_key": otherKey}), false, 401, `{"error":"Access denied to your GitHub account."}`},
			{"another app", app(map[string]any{"github_app_id": gh.AppID + 1}), false, 401, `{"error":"Access denied to your GitHub account."}`},
			{"unknown installation", app(map[string]any{"github_app_installation_id": gh.InstallationID + 1}), false, 422, ""},
		} {
			t.Run(tt.name, func(t *testing.T) {
				before := snapshot(t, in.App.Store)
				c := call{method: "POST", path: "/api/v4/import/github", token: "root", ctype: jsonCT}
				if tt.form {
					v := url.Values{}
					for k, x := range tt.body {
						switch x := x.(type) {
						case string:
							v.Set(k, x)
						case int64:
							v.Set(k, strconv.FormatInt(x, 10))
						case int:
							v.Set(k, strconv.Itoa(x))
						}
					}
					c.ctype, c.body = "application/x-www-form-urlencoded", v.Encode()
				} else {
					raw, _ := json.Marshal(tt.body)
					c.body = string(raw)
				}
				code, body, _ := do(t, in.URL, tokens, c)
				if code != tt.status || (tt.want != "" && body != tt.want) {
					t.Fatalf("got %d %s, want %d %s", code, body, tt.status, tt.want)
				}
				if tt.want == "" && (!strings.HasPrefix(body, `{"errors":"Import failed because of a GitHub error: `) || !strings.Contains(body, "(HTTP 404)")) {
					t.Errorf("unknown installation: %s", body)
				}
				for _, k := range []string{gh.AppPrivateKeyPEM, otherKey, ecPEM} {
					if strings.Contains(body, keyBody(k)) {
						t.Errorf("a private key echoed: %s", body)
					}
				}
				if after := snapshot(t, in.App.Store); after != before {
					t.Errorf("a refused import changed records")
				}
			})
		}

		// A good app, as JSON and as a form: scheduled, the credential
		// sealed as a token's is.
		for i, form := range []bool{false, true} {
			c := call{method: "POST", path: "/api/v4/import/github", token: "root", ctype: jsonCT}
			body := app(map[string]any{"new_name": "by-app-" + strconv.Itoa(i)})
			if form {
				v := url.Values{}
				for k, x := range body {
					switch x := x.(type) {
					case string:
						v.Set(k, x)
					default:
						raw, _ := json.Marshal(x)
						v.Set(k, string(raw))
					}
				}
				c.ctype, c.body = "application/x-www-form-urlencoded", v.Encode()
			} else {
				raw, _ := json.Marshal(body)
				c.body = string(raw)
			}
			code, answer, _ := do(t, in.URL, tokens, c)
			if code != 201 || !strings.Contains(answer, `"import_status":"scheduled"`) || strings.Contains(answer, keyBody(gh.AppPrivateKeyPEM)) {
				t.Fatalf("good app (form %v): %d %s", form, code, answer)
			}
		}
		rows, err := in.App.Store.DB().Query(`SELECT sealed_credential, status FROM imports`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			var sealed, status string
			if err := rows.Scan(&sealed, &status); err != nil {
				t.Fatal(err)
			}
			n++
			// A finished import has let go of its credential.
			if (sealed == "" && status != "finished" && status != "failed") || strings.Contains(sealed, keyBody(gh.AppPrivateKeyPEM)) || strings.Contains(sealed, "PRIVATE KEY") || strings.Contains(sealed, "github-app:") {
				t.Errorf("the app credential is not sealed: %.60s…", sealed)
			}
		}
		if n != 2 {
			t.Errorf("%d imports stored, want 2", n)
		}
	})
}
