package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/fakeforge"
	ffbbs "github.com/ferry-import/ferry/fakeforge/bitbucketserver"
	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/fakeforge/traffic"
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/netguard"
	"github.com/ferry-import/ferry/store/storetest"
)

const bbsPath = "/api/v4/import/bitbucket_server"

// bbsForge starts the simulated Bitbucket Server alone.
func bbsForge(t *testing.T, faults traffic.Faults) *fakeforge.Endpoint {
	t.Helper()
	sc, err := scenario.Preset("small", 7)
	if err != nil {
		t.Fatal(err)
	}
	f, err := fakeforge.Start(context.Background(), fakeforge.Options{Scenario: sc, Faults: faults, Sources: []string{scenario.BitbucketServer}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f.BitbucketServer
}

// bbsRequest is the spec's curl example pointed at bb, changed by over
// (a nil value drops the key).
func bbsRequest(bb *fakeforge.Endpoint, over map[string]any) map[string]any {
	b := map[string]any{"bitbucket_server_url": bb.URL, "bitbucket_server_username": bb.Username, "personal_access_token": bb.Token,
		"bitbucket_server_project": ffbbs.ProjectKey, "bitbucket_server_repo": ffbbs.RepoSlug}
	maps.Copy(b, over)
	maps.DeleteFunc(b, func(_ string, v any) bool { return v == nil })
	return b
}

// answers sends requests and remembers every answer, to show later that
// none of them carries a secret.
type answers struct {
	base   string
	bodies []string
}

func (a *answers) post(t *testing.T, token, ctype, body string) (int, string) {
	t.Helper()
	code, got, _ := do(t, a.base, map[string]string{"t": token}, call{"POST", bbsPath, map[bool]string{true: "t"}[token != ""], ctype, body})
	a.bodies = append(a.bodies, got)
	return code, got
}

func (a *answers) postJSON(t *testing.T, token string, body map[string]any) (int, string) {
	t.Helper()
	b, _ := json.Marshal(body)
	return a.post(t, token, jsonCT, string(b))
}

// neverShow fails when an answer carries secret.
func (a *answers) neverShow(t *testing.T, secret string) {
	t.Helper()
	for _, b := range a.bodies {
		if strings.Contains(b, secret) {
			t.Fatalf("an answer shows the source token: %s", b)
		}
	}
}

// records renders what a refused import must not leave behind.
func records(t *testing.T, in *apptest.Instance) string {
	t.Helper()
	var imports, jobs int
	db := in.App.Store.DB()
	if err := db.QueryRow(`SELECT COUNT(*) FROM imports`).Scan(&imports); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT COUNT(*) FROM river_job WHERE kind LIKE 'import_%' AND kind <> 'import_watchdog'`).Scan(&jobs); err != nil {
		t.Fatal(err)
	}
	return snapshot(t, in.App.Store) + fmt.Sprintf("imports %d, import jobs %d\n", imports, jobs)
}

// bbsFixtures: group dest (alice a Developer in it) holding a project
// "taken", and a private group hidden from alice. It returns alice's token.
func bbsFixtures(t *testing.T, in *apptest.Instance) string {
	t.Helper()
	root := in.Client(t, in.RootToken)
	dest := must(root.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("dest"), Path: gitlab.Ptr("dest")}))(t)
	must(root.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("hidden"), Path: gitlab.Ptr("hidden")}))(t)
	must(root.Projects.CreateProject(&gitlab.CreateProjectOptions{Name: gitlab.Ptr("taken"), NamespaceID: &dest.ID}))(t)
	alice := must(root.Users.CreateUser(&gitlab.CreateUserOptions{Username: gitlab.Ptr("alice"), Name: gitlab.Ptr("Alice"),
		Email: gitlab.Ptr("alice@example.com"), Password: gitlab.Ptr("s3cret-pass")}))(t)
	tok := must(root.Users.CreatePersonalAccessToken(alice.ID, &gitlab.CreatePersonalAccessTokenOptions{Name: gitlab.Ptr("t"), Scopes: &[]string{"api"}}))(t)
	must(root.GroupMembers.AddGroupMember(dest.ID, &gitlab.AddGroupMemberOptions{UserID: &alice.ID, AccessLevel: gitlab.Ptr(gitlab.DeveloperPermissions)}))(t)
	return tok.Token
}

// TestBitbucketServerImportErrors: every error row of POST
// /import/bitbucket_server in GitLab's order, with its status and exact
// body, and nothing created by a refused request, up to the last step: with
// no Bitbucket Server importer registered, a request that passes every
// check is refused there, even when it would have created groups.
func TestBitbucketServerImportErrors(t *testing.T) {
	t.Parallel()
	bb := bbsForge(t, traffic.Faults{})
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"errors":[{"message":"You are not permitted to access this resource","exceptionName":"com.atlassian.bitbucket.AuthorisationException"}]}`)
	}))
	defer refusing.Close()
	// Without the Bitbucket Server importer registered, so the last rows
	// show the one switch that refuses (501) after every check passed.
	withoutBBS := func(c *importer.Config) {
		c.Sources = slices.DeleteFunc(slices.Clone(c.Sources), func(s importer.Source) bool { return s.Type() == "bitbucket_server" })
	}
	apptest.Each(t, apptest.Options{AllowLocalNetwork: true, EngineOverrides: withoutBBS}, func(t *testing.T, in *apptest.Instance) {
		alice := bbsFixtures(t, in)
		a := &answers{base: in.URL}
		req := func(over map[string]any) map[string]any { return bbsRequest(bb, over) }
		const notAllowed = `{"message":{"error":"You don't have permissions to import this project"}}`
		const failed = `{"message":{"error":"Import failed due to a BitBucket Server error"}}`
		cases := []struct {
			name   string
			token  string // "" root, "-" none
			body   map[string]any
			status int
			want   string
		}{
			{"no token at all", "-", req(nil), 401, `{"message":"401 Unauthorized"}`},
			{"missing everything", "", map[string]any{}, 400,
				`{"error":"bitbucket_server_url is missing, bitbucket_server_username is missing, personal_access_token is missing, bitbucket_server_project is missing, bitbucket_server_repo is missing"}`},
			{"null repository", "", req(map[string]any{"bitbucket_server_repo": nil}), 400, `{"error":"bitbucket_server_repo is missing"}`},
			{"bad timeout strategy", "", req(map[string]any{"timeout_strategy": "whenever"}), 400, `{"error":"timeout_strategy does not have a valid value"}`},
			{"blank project key", "", req(map[string]any{"bitbucket_server_project": ""}), 422, `{"message":{"error":"Missing or invalid project key"}}`},
			{"project key with a slash", "", req(map[string]any{"bitbucket_server_project": "../admin"}), 422, `{"message":{"error":"Missing or invalid project key"}}`},
			{"key and slug both invalid", "", req(map[string]any{"bitbucket_server_project": "A?", "bitbucket_server_repo": "b?"}), 422,
				`{"message":{"error":"Missing or invalid project key"}}`},
			{"blank project key, spaces", "", req(map[string]any{"bitbucket_server_project": "  "}), 422, `{"message":{"error":"Missing or invalid project key"}}`},
			{"blank slug", "", req(map[string]any{"bitbucket_server_repo": " "}), 422, `{"message":{"error":"Missing or invalid repository slug"}}`},
			{"slug with a query", "", req(map[string]any{"bitbucket_server_repo": "widgets?limit=1"}), 422, `{"message":{"error":"Missing or invalid repository slug"}}`},
			{"blank URL", "", req(map[string]any{"bitbucket_server_url": ""}), 400, `{"message":{"error":"Invalid URL: "}}`},
			{"URL not http", "", req(map[string]any{"bitbucket_server_url": "ftp://bbs.example.com"}), 400, `{"message":{"error":"Invalid URL: ftp://bbs.example.com"}}`},
			{"URL with credentials", "", req(map[string]any{"bitbucket_server_url": "http://admin:pw@bbs.example.com"}), 400,
				`{"message":{"error":"Invalid URL: http://admin:pw@bbs.example.com"}}`},
			{"metadata address", "", req(map[string]any{"bitbucket_server_url": "http://169.254.169.254"}), 400, `{"message":{"error":"Invalid URL: http://169.254.169.254"}}`},
			{"developer may not import", alice, req(map[string]any{"new_namespace": "dest"}), 401, notAllowed},
			{"a group hidden from the caller", alice, req(map[string]any{"new_namespace": "hidden"}), 401, notAllowed},
			{"bad Bitbucket token", "", req(map[string]any{"personal_access_token": "wrong-token"}), 400, failed},
			{"bad Bearer token", "", req(map[string]any{"bitbucket_server_username": "", "personal_access_token": "wrong-token"}), 400, failed},
			{"server refuses", "", req(map[string]any{"bitbucket_server_url": refusing.URL}), 400, failed},
			{"unknown repository", "", req(map[string]any{"bitbucket_server_repo": "gadgets"}), 422, `{"message":{"error":"Project ACME/gadgets could not be found"}}`},
			{"unknown project", "", req(map[string]any{"bitbucket_server_project": "~nobody"}), 422, `{"message":{"error":"Project ~nobody/widgets could not be found"}}`},
			{"name taken", "", req(map[string]any{"new_namespace": "dest", "new_name": "taken"}), 422,
				`{"message":{"error":"Name has already been taken, Path has already been taken"}}`},
			{"invalid name", "", req(map[string]any{"new_namespace": "dest", "new_name": "-bad"}), 422, ""},
			{"no importer yet", "", req(map[string]any{"new_namespace": "dest"}), 501,
				`{"message":"501 Not Implemented - Bitbucket Server imports are not available yet"}`},
			{"no importer yet, groups to create", "", req(map[string]any{"new_namespace": "fresh/sub"}), 501,
				`{"message":"501 Not Implemented - Bitbucket Server imports are not available yet"}`},
			{"no importer yet, alice's own namespace", alice, req(nil), 501,
				`{"message":"501 Not Implemented - Bitbucket Server imports are not available yet"}`},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				tok := map[string]string{"": in.RootToken, "-": ""}[c.token]
				if tok == "" && c.token != "-" {
					tok = c.token
				}
				before := records(t, in)
				code, body := a.postJSON(t, tok, c.body)
				if code != c.status || (c.want != "" && body != c.want) {
					t.Fatalf("got %d %s\nwant %d %s", code, body, c.status, c.want)
				}
				if after := records(t, in); after != before {
					t.Fatalf("a refused import changed stored records:\n%s\nbecame\n%s", before, after)
				}
			})
		}
		// The invalid name says what is wrong with it, as GitLab joins
		// the project's errors.
		if _, body := a.postJSON(t, in.RootToken, req(map[string]any{"new_namespace": "dest", "new_name": "-bad"})); !strings.HasPrefix(body, `{"message":{"error":"Name can contain only `) {
			t.Errorf("invalid name: %s", body)
		}
		// A form-encoded body reads the same (curl -d).
		form := url.Values{"bitbucket_server_url": {bb.URL}, "bitbucket_server_username": {bb.Username}, "personal_access_token": {bb.Token},
			"bitbucket_server_project": {ffbbs.ProjectKey}, "bitbucket_server_repo": {"gadgets"}}
		if code, body := a.post(t, in.RootToken, "application/x-www-form-urlencoded", form.Encode()); code != 422 ||
			body != `{"message":{"error":"Project ACME/gadgets could not be found"}}` {
			t.Errorf("form body: %d %s", code, body)
		}
		a.neverShow(t, bb.Token)
		a.neverShow(t, "wrong-token")
	})
}

// bbsStub stands in for the Bitbucket Server importer that comes next: once
// a source of that type is registered, the endpoint schedules imports with
// no other change. It tells what each import is given, and its one
// relation holds until the test ends, so the import can be canceled.
type bbsStub struct {
	given   chan bbsGiven
	release chan struct{}
}

// bbsGiven is what an import of the stub was given.
type bbsGiven struct{ sourceURL, sourceRef, options, credential string }

func newBBSStub(t *testing.T) *bbsStub {
	s := &bbsStub{given: make(chan bbsGiven, 64), release: make(chan struct{})}
	t.Cleanup(func() { close(s.release) })
	return s
}

func (s *bbsStub) Type() string { return "bitbucket_server" }

func (s *bbsStub) Stages(ctx context.Context, env *importer.Env) ([]importer.Stage, error) {
	select {
	case s.given <- bbsGiven{env.SourceURL, env.SourceRef, string(env.Options), env.Credential}:
	default:
	}
	return []importer.Stage{{Name: "repository", Relations: []importer.Relation{holdRelation{s.release}}}}, nil
}

type holdRelation struct{ release chan struct{} }

func (holdRelation) Name() string { return "repository" }

func (h holdRelation) Fetch(ctx context.Context, cursor string) (importer.Page, error) {
	select {
	case <-ctx.Done():
		return importer.Page{}, ctx.Err()
	case <-h.release:
		return importer.Page{}, nil
	}
}

// TestBitbucketServerImportSchedules: with an importer registered, client-go's
// and python-gitlab's requests create the project, and groups on the fly,
// and schedule an import given the server, KEY/slug, user and token; a
// namespace the caller cannot create falls back to their own; the import
// is canceled as GitHub's are; no answer shows the token.
func TestBitbucketServerImportSchedules(t *testing.T) {
	t.Parallel()
	bb := bbsForge(t, traffic.Faults{})
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			stub := newBBSStub(t)
			in := apptest.Start(t, e, apptest.Options{AllowLocalNetwork: true, EngineOverrides: func(c *importer.Config) {
				c.Sources = append(c.Sources, stub)
			}})
			alice := bbsFixtures(t, in)
			root := in.Client(t, in.RootToken)
			a := &answers{base: in.URL}
			db := in.App.Store.DB()

			// client-go into groups that do not exist yet.
			imp, resp, err := root.Import.ImportRepositoryFromBitbucketServer(&gitlab.ImportRepositoryFromBitbucketServerOptions{
				BitbucketServerURL: gitlab.Ptr(bb.URL), BitbucketServerUsername: gitlab.Ptr(bb.Username), PersonalAccessToken: gitlab.Ptr(bb.Token),
				BitbucketServerProject: gitlab.Ptr(ffbbs.ProjectKey), BitbucketServerRepo: gitlab.Ptr(ffbbs.RepoSlug), NewName: gitlab.Ptr("repo2"),
				NewNamespace: gitlab.Ptr("fresh/sub"), TimeoutStrategy: gitlab.Ptr("optimistic")})
			if err != nil || resp.StatusCode != 201 {
				t.Fatalf("ImportRepositoryFromBitbucketServer: %v %v", resp, err)
			}
			if imp.Name != "repo2" || imp.FullPath != "/fresh/sub/repo2" || imp.RefsURL != "/fresh/sub/repo2/refs" || imp.FullName != "fresh / sub / repo2" {
				t.Errorf("client-go's answer: %+v", imp)
			}
			for _, path := range []string{"fresh", "fresh/sub"} {
				g := must(root.Groups.GetGroup(path, nil))(t)
				members := must(root.Groups.ListGroupMembers(g.ID, nil))(t)
				if g.Visibility != gitlab.PrivateVisibility || len(members) != 1 || members[0].Username != "root" || members[0].AccessLevel != gitlab.OwnerPermissions {
					t.Errorf("group %s made on the fly: %+v, members %+v", path, g, members)
				}
			}
			p := must(root.Projects.GetProject(imp.ID, nil))(t)
			if p.Visibility != gitlab.PrivateVisibility || p.Description != bbsDescription(t, bb, ffbbs.ProjectKey) || p.ImportStatus == "" {
				t.Errorf("imported project: visibility %s description %q import status %q", p.Visibility, p.Description, p.ImportStatus)
			}
			select {
			case got := <-stub.given:
				want := bbsGiven{bb.URL + "/", ffbbs.ProjectKey + "/" + ffbbs.RepoSlug, `{"username":"admin"}`, bb.Token}
				if got != want {
					t.Errorf("the importer was given %+v, want %+v", got, want)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("the import never ran")
			}
			var strategy, sealed, source string
			if err := db.QueryRow(`SELECT timeout_strategy, sealed_credential, source_type FROM imports WHERE project_id = $1`, imp.ID).Scan(&strategy, &sealed, &source); err != nil {
				t.Fatal(err)
			}
			if strategy != "optimistic" || source != "bitbucket_server" || sealed == "" || strings.Contains(sealed, bb.Token) {
				t.Errorf("stored import: strategy %q source %q, token sealed: %v", strategy, source, !strings.Contains(sealed, bb.Token))
			}
			is := must(root.ProjectImportExport.ImportStatus(imp.ID))(t)
			if is.ImportType != "bitbucket_server" || is.CorrelationID == "" {
				t.Errorf("import status: %+v", is)
			}

			// python-gitlab: target_namespace (which wins over new_namespace).
			code, body := a.postJSON(t, in.RootToken, bbsRequest(bb, map[string]any{"new_name": "widgets-py", "target_namespace": "dest",
				"new_namespace": "elsewhere"}))
			if code != 201 || !strings.Contains(body, `"full_path":"/dest/widgets-py"`) || !strings.Contains(body, `"import_source":"Acme/widgets"`) ||
				!strings.Contains(body, `"import_status":"scheduled"`) || !strings.Contains(body, `"provider_link":"`+bb.URL+`/projects/ACME/repos/widgets/browse"`) {
				t.Errorf("python-gitlab's request: %d %s", code, body)
			}
			// The same as a form, with a Bearer token (no user).
			form := url.Values{"bitbucket_server_url": {bb.URL}, "bitbucket_server_username": {""}, "personal_access_token": {bb.Token},
				"bitbucket_server_project": {ffbbs.ProjectKey}, "bitbucket_server_repo": {ffbbs.RepoSlug}, "target_namespace": {"dest"}, "new_name": {"widgets-form"}}
			if code, body := a.post(t, in.RootToken, "application/x-www-form-urlencoded", form.Encode()); code != 201 || !strings.Contains(body, `"full_path":"/dest/widgets-form"`) {
				t.Errorf("form request: %d %s", code, body)
			}

			// A public project's repository takes the namespace's
			// visibility; a private one stays private.
			must(root.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("open"), Path: gitlab.Ptr("open"),
				Visibility: gitlab.Ptr(gitlab.PublicVisibility)}))(t)
			for _, c := range []struct {
				key, name string
				want      gitlab.VisibilityValue
			}{{ffbbs.PublicProjectKey, "oss", gitlab.PublicVisibility}, {ffbbs.ProjectKey, "acme", gitlab.PrivateVisibility}} {
				code, body := a.postJSON(t, in.RootToken, bbsRequest(bb, map[string]any{"bitbucket_server_project": c.key, "new_name": c.name,
					"new_namespace": "open"}))
				if code != 201 {
					t.Fatalf("%s into a public group: %d %s", c.key, code, body)
				}
				if p := must(root.Projects.GetProject("open/"+c.name, nil))(t); p.Visibility != c.want {
					t.Errorf("%s into a public group: %s, want %s", c.key, p.Visibility, c.want)
				}
			}

			// Where alice may not create the group, or names a user's
			// namespace or none, the project lands in her own.
			for i, ns := range []any{"hidden/sub", "root", "alice/sub", "bad path!", nil} {
				name := fmt.Sprintf("fallback%d", i)
				code, body := a.postJSON(t, alice, bbsRequest(bb, map[string]any{"new_namespace": ns, "new_name": name}))
				if code != 201 || !strings.Contains(body, `"full_path":"/alice/`+name+`"`) {
					t.Errorf("alice into %v: %d %s", ns, code, body)
				}
			}
			if _, _, err := root.Groups.GetGroup("hidden/sub", nil); status(err) != http.StatusNotFound {
				t.Errorf("a group alice may not create was created: %v", err)
			}

			// Cancel, with GitHub's cancel codes and bodies.
			cancel := func(token string, id int64) (int, string) {
				code, body, _ := do(t, in.URL, map[string]string{"t": token}, call{"POST", bbsPath + "/cancel", "t", jsonCT, fmt.Sprintf(`{"project_id":%d}`, id)})
				a.bodies = append(a.bodies, body)
				return code, body
			}
			if code, body := cancel(in.RootToken, imp.ID); code != 200 || !strings.Contains(body, `"import_status":"canceled"`) ||
				!strings.Contains(body, `"full_path":"/fresh/sub/repo2"`) {
				t.Errorf("cancel: %d %s", code, body)
			}
			if code, body := cancel(in.RootToken, imp.ID); code != 400 || body != `{"message":"The import cannot be canceled because it is canceled"}` {
				t.Errorf("cancel again: %d %s", code, body)
			}
			pyID := must(root.Projects.GetProject("dest/widgets-py", nil))(t).ID
			if code, body := cancel(alice, pyID); code != 403 || body != `{"message":"Unauthorized access"}` {
				t.Errorf("cancel by a developer: %d %s", code, body)
			}
			if code, body := cancel(in.RootToken, imp.ID+1000); code != 404 || body != `{"message":"404 Not found"}` {
				t.Errorf("cancel of an unknown project: %d %s", code, body)
			}
			taken := must(root.Projects.GetProject("dest/taken", nil))(t).ID
			if code, body := cancel(in.RootToken, taken); code != 404 || body != `{"message":"404 Not found"}` {
				t.Errorf("cancel of a project not imported from Bitbucket Server: %d %s", code, body)
			}
			if code, body, _ := do(t, in.URL, map[string]string{"t": in.RootToken}, call{"POST", "/api/v4/import/github/cancel", "t", jsonCT,
				fmt.Sprintf(`{"project_id":%d}`, pyID)}); code != 404 {
				t.Errorf("GitHub's cancel of a Bitbucket Server import: %d %s", code, body)
			}
			a.neverShow(t, bb.Token)
		})
	}
}

// bbsDescription is the description bb serves for project key's
// repository.
func bbsDescription(t *testing.T, bb *fakeforge.Endpoint, key string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", bb.URL+"/rest/api/1.0/projects/"+key+"/repos/"+ffbbs.RepoSlug, nil)
	req.SetBasicAuth(bb.Username, bb.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var repo struct{ Description string }
	if err := json.NewDecoder(resp.Body).Decode(&repo); err != nil || repo.Description == "" {
		t.Fatalf("the simulated repository of %s: %+v %v", key, repo, err)
	}
	return repo.Description
}

// TestBitbucketServerImportSSRF: without --allow-local-network,
// bitbucket_server_url on a loopback, private, link-local or metadata
// address, however spelled, is refused as a blocked github_hostname is,
// in Bitbucket's envelope, before anything reaches it.
func TestBitbucketServerImportSSRF(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	trap := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer trap.Close()
	port := trap.URL[strings.LastIndex(trap.URL, ":")+1:]
	in := apptest.Start(t, storetest.Engines(t)[0], apptest.Options{})
	a := &answers{base: in.URL}
	const token = "bbs-secret-token-0042"
	// hint: the answer names --allow-local-network, which the address
	// needs, as the GitHub endpoint's does; a metadata address is refused
	// whatever the setting.
	for _, c := range []struct {
		host string
		hint bool
	}{
		{trap.URL, true}, {"http://localhost:" + port, true}, {"http://localhost.:" + port, true}, {"http://[::1]:" + port, true},
		{"http://10.0.0.7", true}, {"http://192.168.1.1", true}, {"http://172.16.0.1", true}, {"http://169.254.169.254", false},
		{"http://0.0.0.0:" + port, true}, {"http://127.1:" + port, true}, {"http://2130706433:" + port, true},
		{"http://[::ffff:127.0.0.1]:" + port, true},
	} {
		before := records(t, in)
		code, body := a.postJSON(t, in.RootToken, map[string]any{"bitbucket_server_url": c.host, "bitbucket_server_username": "admin",
			"personal_access_token": token, "bitbucket_server_project": "ACME", "bitbucket_server_repo": "widgets"})
		msg := "Invalid URL: " + c.host
		if c.hint {
			msg += " (" + netguard.LocalHint + ")"
		}
		want, _ := json.Marshal(map[string]any{"message": map[string]string{"error": msg}})
		if code != 400 || body != string(want) {
			t.Errorf("%s: got %d %s, want %s", c.host, code, body, want)
		}
		if records(t, in) != before {
			t.Errorf("%s: a refused import changed stored records", c.host)
		}
	}
	if hits.Load() != 0 {
		t.Fatalf("a blocked address was contacted %d times", hits.Load())
	}
	a.neverShow(t, token)
}

// TestBitbucketServerImportRateLimited: a server that refuses for its rate
// limit gets 429 in Bitbucket's envelope, and while the refusal lasts the
// next request is answered without calling the server at all.
func TestBitbucketServerImportRateLimited(t *testing.T) {
	t.Parallel()
	bb := bbsForge(t, traffic.Faults{RateLimit: 1, RateLimitPeriod: time.Hour})
	in := apptest.Start(t, storetest.Engines(t)[0], apptest.Options{AllowLocalNetwork: true})
	a := &answers{base: in.URL}
	// The one call of the window passes and the import is scheduled.
	code, body := a.postJSON(t, in.RootToken, bbsRequest(bb, nil))
	if code != 201 {
		t.Fatalf("first request: %d %s", code, body)
	}
	// Its job calls the server too, and is refused: once it waits for the
	// window, only the requests below can call the server.
	var created struct{ ID int64 }
	if err := json.Unmarshal([]byte(body), &created); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_, _, st := apiGet(t, in, in.RootToken, fmt.Sprintf("/api/v4/projects/%d/import", created.ID))
		var s struct {
			Wait *string `json:"waiting_for_rate_limit_until"`
		}
		if err := json.Unmarshal(st, &s); err != nil {
			t.Fatal(err)
		}
		if s.Wait != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the import never waited for the rate limit: %s", st)
		}
	}
	for i := range 2 {
		before := bb.Stats().APIRequests
		code, body := a.postJSON(t, in.RootToken, bbsRequest(bb, nil))
		if code != 429 || body != `{"message":{"error":"Too Many Requests"}}` {
			t.Fatalf("request %d past the budget: %d %s", i+2, code, body)
		}
		if calls := bb.Stats().APIRequests - before; i == 1 && calls != 0 {
			t.Errorf("with the budget known to be spent, the server still got %d calls", calls)
		}
	}
}
