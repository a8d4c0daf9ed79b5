package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/store"
	"github.com/ferry-import/ferry/store/storetest"
)

// fakeBulk is a BulkImporter: its checks answer checkErr, and Create
// stores as the runner does (without a queue).
type fakeBulk struct {
	mu       sync.Mutex
	checkErr error
	checks   []*BulkRequest
	canceled []int64
}

func (f *fakeBulk) Check(_ context.Context, req *BulkRequest) (*BulkSource, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checks = append(f.checks, req)
	if f.checkErr != nil {
		return nil, f.checkErr
	}
	return &BulkSource{Version: "17.5.0", Enterprise: false}, nil
}

func (f *fakeBulk) Create(ctx context.Context, tx *store.Tx, b *ferry.BulkImport, entities []*ferry.BulkEntity, token string) error {
	b.SealedCredential = "sealed:" + token
	return tx.CreateBulkImport(ctx, b, entities)
}

func (f *fakeBulk) Cancel(_ context.Context, _ *store.Tx, b *ferry.BulkImport) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.canceled = append(f.canceled, b.ID)
	return nil
}

type bulkEnv struct {
	t      *testing.T
	st     *store.Store
	url    string
	fake   *fakeBulk
	now    time.Time
	mu     sync.Mutex
	tokens map[string]string // username → token
	users  map[string]*ferry.User
}

func (e *bulkEnv) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *bulkEnv) advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = e.now.Add(d)
}

// newBulkEnv serves the API with migrations on (or off) over a store with
// users alice, bob and admin, and alice's group dst (bob is a Developer
// there) with subgroup dst/taken and project dst/proj.
func newBulkEnv(t *testing.T, s *store.Store, enabled bool) *bulkEnv {
	t.Helper()
	ctx := context.Background()
	env := &bulkEnv{t: t, st: s, fake: &fakeBulk{}, now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), tokens: map[string]string{},
		users: map[string]*ferry.User{}}
	err := s.Write(ctx, func(tx *store.Tx) error {
		for _, name := range []string{"alice", "bob", "admin"} {
			u := &ferry.User{Username: name, Name: name, Email: name + "@example.com", IsAdmin: name == "admin"}
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			tok := &ferry.PersonalAccessToken{UserID: u.ID, Name: "t", Scopes: []string{"api"}}
			if err := tx.CreateToken(ctx, tok); err != nil {
				return err
			}
			env.users[name], env.tokens[name] = u, tok.Token
		}
		dst := &ferry.Namespace{Kind: ferry.KindGroup, Name: "dst", Path: "dst", Visibility: ferry.Private}
		if err := createOwnedGroup(ctx, tx, dst, env.users["alice"]); err != nil {
			return err
		}
		if err := tx.AddMember(ctx, &ferry.Member{SourceKind: store.MemberOfNamespace, SourceID: dst.ID, UserID: env.users["bob"].ID,
			AccessLevel: ferry.DeveloperAccess}); err != nil {
			return err
		}
		taken := &ferry.Namespace{Kind: ferry.KindGroup, Name: "taken", Path: "taken", Visibility: ferry.Private, ParentID: &dst.ID}
		if err := tx.CreateNamespace(ctx, taken); err != nil {
			return err
		}
		return tx.CreateProject(ctx, &ferry.Project{Name: "proj", Path: "proj", NamespaceID: dst.ID, Visibility: ferry.Private,
			CreatorID: env.users["alice"].ID})
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Store: s, Now: env.clock}
	if enabled {
		cfg.BulkImports = env.fake
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	env.url = ts.URL + "/api/v4"
	return env
}

// do sends a request as user ("" anonymous) and returns status, body and
// headers.
func (e *bulkEnv) do(user, method, path, ct, body string) (int, string, http.Header) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if user != "" {
		req.Header.Set("PRIVATE-TOKEN", e.tokens[user])
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b)), resp.Header
}

func (e *bulkEnv) post(user, body string) (int, string) {
	e.t.Helper()
	status, b, _ := e.do(user, http.MethodPost, "/bulk_imports", "application/json", body)
	return status, b
}

func (e *bulkEnv) count() int {
	e.t.Helper()
	var n int
	_ = e.st.Read(context.Background(), func(tx *store.Tx) error {
		_, total, err := tx.ListBulkImports(context.Background(), store.BulkFilter{}, store.Page{Page: 1, PerPage: 1})
		if err != nil {
			e.t.Fatal(err)
		}
		n = total
		return nil
	})
	return n
}

func jsonBody(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const sourceFullPathMsg = "must be a relative path and not include protocol, sub-domain, or domain information. For example, 'source/full/path' not 'https://example.com/source/full/path'"
const destNamespaceMsg = "must be a relative path and not include protocol, sub-domain, or domain information. For example, 'destination/full/path' not 'https://example.com/destination/full/path'"
const slugMsg = "can only include non-accented letters, digits, '_', '-' and '.'. It must not start with '-', '_', or '.', nor end with '-', '_', '.', '.git', or '.atom'. For example, 'destination_namespace' not 'destination/namespace'"

func TestBulkImportParamValidation(t *testing.T) {
	t.Parallel()
	env := newBulkEnv(t, storetest.Open(t, storetest.Engines(t)[0]), true)
	conf := map[string]any{"url": "https://src.example", "access_token": "srctok"}
	entity := func(kv ...any) map[string]any {
		m := map[string]any{"source_type": "group_entity", "source_full_path": "src/g", "destination_slug": "new", "destination_namespace": "dst"}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(m, kv[i].(string))
				continue
			}
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	for _, c := range []struct {
		name string
		body string
		want string
	}{
		{"nothing", `{}`, "configuration is missing, configuration[url] is missing, configuration[access_token] is missing, entities is missing"},
		{"no url", jsonBody(t, map[string]any{"configuration": map[string]any{"access_token": "x"}, "entities": []any{entity()}}),
			"configuration[url] is missing"},
		{"no token", jsonBody(t, map[string]any{"configuration": map[string]any{"url": "https://x"}, "entities": []any{entity()}}),
			"configuration[access_token] is missing"},
		{"configuration not a hash", jsonBody(t, map[string]any{"configuration": "x", "entities": []any{entity()}}), "configuration is invalid"},
		{"no entities", jsonBody(t, map[string]any{"configuration": conf}), "entities is missing"},
		{"entities not a list", jsonBody(t, map[string]any{"configuration": conf, "entities": "x"}), "entities is invalid"},
		{"empty entities", jsonBody(t, map[string]any{"configuration": conf, "entities": []any{}}), "entities is empty"},
		{"no source_type", jsonBody(t, map[string]any{"configuration": conf, "entities": []any{entity("source_type", nil)}}),
			"entities[0][source_type] is missing, entities[0][source_full_path] " + sourceFullPathMsg},
		{"bad source_type", jsonBody(t, map[string]any{"configuration": conf, "entities": []any{entity("source_type", "user_entity")}}),
			"entities[0][source_type] does not have a valid value, entities[0][source_full_path] " + sourceFullPathMsg},
		{"no source_full_path", jsonBody(t, map[string]any{"configuration": conf, "entities": []any{entity("source_full_path", nil)}}),
			"entities[0][source_full_path] is missing"},
		{"source_full_path a URL", jsonBody(t, map[string]any{"configuration": conf, "entities": []any{entity(), entity("source_full_path", "https://gitlab.com/g")}}),
			"entities[1][source_full_path] " + sourceFullPathMsg},
		{"project path of one segment", jsonBody(t, map[string]any{"configuration": conf, "entities": []any{entity("source_type", "project_entity", "source_full_path", "p")}}),
			"entities[0][source_full_path] " + sourceFullPathMsg},
		{"no destination_namespace", jsonBody(t, map[string]any{"configuration": conf, "entities": []any{entity("destination_namespace", nil)}}),
			"entities[0][destination_namespace] is missing"},
		{"destination_namespace a URL", jsonBody(t, map[string]any{"configuration": conf, "entities": []any{entity("destination_namespace", "http://x/y")}}),
			"entities[0][destination_namespace] " + destNamespaceMsg},
		{"slug with a slash", jsonBody(t, map[string]any{"configuration": conf, "entities": []any{entity("destination_slug", "a/b")}}),
			"entities[0][destination_slug] " + slugMsg},
		{"name with a slash", jsonBody(t, map[string]any{"configuration": conf, "entities": []any{entity("destination_slug", nil, "destination_name", "-a")}}),
			"entities[0][destination_name] " + slugMsg},
		{"slug and name", jsonBody(t, map[string]any{"configuration": conf, "entities": []any{entity("destination_name", "n")}}),
			"entities[0][destination_slug], entities[0][destination_name] are mutually exclusive"},
		{"neither slug nor name", jsonBody(t, map[string]any{"configuration": conf, "entities": []any{entity("destination_slug", nil)}}),
			"entities[0][destination_slug], entities[0][destination_name] are missing, at least one parameter must be provided"},
		{"bad boolean", jsonBody(t, map[string]any{"configuration": conf, "entities": []any{entity("migrate_projects", "maybe")}}),
			"entities[0][migrate_projects] is invalid"},
		{"errors of every entity in Grape's order", jsonBody(t, map[string]any{"configuration": conf,
			"entities": []any{entity("source_type", nil), entity("source_type", "x", "destination_slug", nil)}}),
			"entities[0][source_type] is missing, entities[1][source_type] does not have a valid value, entities[0][source_full_path] " + sourceFullPathMsg +
				", entities[1][source_full_path] " + sourceFullPathMsg +
				", entities[1][destination_slug], entities[1][destination_name] are missing, at least one parameter must be provided"},
		{"form body", "configuration[url]=https://x&entities[][source_type]=group_entity&entities[][destination_slug]=a",
			"configuration[access_token] is missing, entities[0][source_full_path] is missing, entities[0][destination_namespace] is missing"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ct := "application/json"
			if !strings.HasPrefix(c.body, "{") {
				ct = "application/x-www-form-urlencoded"
			}
			status, body, _ := env.do("alice", http.MethodPost, "/bulk_imports", ct, c.body)
			want := jsonBody(t, map[string]string{"error": c.want})
			if status != http.StatusBadRequest || body != want {
				t.Fatalf("got %d %s\nwant 400 %s", status, body, want)
			}
		})
	}
	if env.count() != 0 || len(env.fake.checks) != 0 {
		t.Fatalf("a refused request created %d imports, checked %d times", env.count(), len(env.fake.checks))
	}
}

func validBulkBody(slug, ns string) string {
	return `{"configuration":{"url":"https://src.example","access_token":"srctok"},"entities":[{"source_type":"group_entity",` +
		`"source_full_path":"src/g","destination_slug":"` + slug + `","destination_namespace":"` + ns + `"}]}`
}

// The source's refusals and the destination checks, in order: 422 with
// GitLab's message, nothing created.
func TestBulkImportRefusals(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := newBulkEnv(t, s, true)
		for _, c := range []struct {
			name     string
			user     string
			checkErr error
			body     string
			status   int
			want     string
		}{
			{"source refuses", "alice", &BulkRefusal{Message: "Import failed. 'src/g' not found."}, validBulkBody("new", "dst"), 422,
				`{"message":"Import failed. 'src/g' not found."}`},
			{"source rate limited", "alice", ErrSourceRateLimited, validBulkBody("new", "dst"), 429, `{"message":"Too Many Requests"}`},
			{"importer fails", "alice", ferry.Errorf(ferry.EBADREQUEST, "something internal"), validBulkBody("new", "dst"), 500,
				`{"message":"500 Internal Server Error"}`},
			{"no such namespace", "alice", nil, validBulkBody("new", "nowhere"), 422,
				`{"message":"Import failed. Destination 'nowhere' is invalid, or you don't have permission."}`},
			{"a Developer may not", "bob", nil, validBulkBody("new", "dst"), 422,
				`{"message":"Import failed. Destination 'dst' is invalid, or you don't have permission."}`},
			{"group path taken", "alice", nil, validBulkBody("taken", "dst"), 422,
				`{"message":"Import failed. 'dst/taken' already exists. Change the destination and try again."}`},
			{"top-level path taken", "alice", nil, validBulkBody("dst", ""), 422,
				`{"message":"Import failed. 'dst' already exists. Change the destination and try again."}`},
			{"project path taken", "alice", nil, `{"configuration":{"url":"https://s","access_token":"t"},"entities":[{"source_type":"project_entity",` +
				`"source_full_path":"src/p","destination_slug":"proj","destination_namespace":"dst"}]}`, 422,
				`{"message":"Import failed. 'dst/proj' already exists. Change the destination and try again."}`},
			{"into itself", "alice", nil, `{"configuration":{"url":"https://s","access_token":"t"},"entities":[{"source_type":"group_entity",` +
				`"source_full_path":"dst","destination_slug":"copy","destination_namespace":"dst/taken"}]}`, 422,
				`{"message":"Validation failed: Import failed: Destination cannot be a subgroup of the source group. Change the destination and try again."}`},
			{"second entity refused", "alice", nil, `{"configuration":{"url":"https://s","access_token":"t"},"entities":[` +
				`{"source_type":"group_entity","source_full_path":"src/a","destination_slug":"a","destination_namespace":"dst"},` +
				`{"source_type":"group_entity","source_full_path":"src/b","destination_slug":"taken","destination_namespace":"dst"}]}`, 422,
				`{"message":"Import failed. 'dst/taken' already exists. Change the destination and try again."}`},
		} {
			t.Run(c.name, func(t *testing.T) {
				env.fake.checkErr = c.checkErr
				env.advance(time.Minute) // a fresh rate-limit window
				status, body := env.post(c.user, c.body)
				if status != c.status || body != c.want {
					t.Fatalf("got %d %s\nwant %d %s", status, body, c.status, c.want)
				}
				if strings.Contains(body, "srctok") {
					t.Fatalf("the token is echoed: %s", body)
				}
				if n := env.count(); n != 0 {
					t.Fatalf("%d imports created", n)
				}
			})
		}
	})
}

func TestBulkImportRateLimit(t *testing.T) {
	t.Parallel()
	env := newBulkEnv(t, storetest.Open(t, storetest.Engines(t)[0]), true)
	for i := 1; i <= 6; i++ {
		env.advance(time.Second)
		if status, body := env.post("alice", validBulkBody("n"+string(rune('0'+i)), "dst")); status != http.StatusCreated {
			t.Fatalf("request %d: %d %s", i, status, body)
		}
	}
	status, body := env.post("alice", validBulkBody("n7", "dst"))
	if want := `{"message":{"error":"This endpoint has been requested too many times. Try again later."}}`; status != http.StatusTooManyRequests || body != want {
		t.Fatalf("7th request: %d %s", status, body)
	}
	if status, _ := env.post("bob", validBulkBody("n7", "")); status != http.StatusCreated {
		t.Fatalf("another user is limited too: %d", status)
	}
	env.advance(time.Minute)
	if status, body := env.post("alice", validBulkBody("n8", "dst")); status != http.StatusCreated {
		t.Fatalf("after a minute: %d %s", status, body)
	}
	if n := env.count(); n != 8 {
		t.Fatalf("%d imports, want 8", n)
	}
}

func TestBulkImportDisabled(t *testing.T) {
	t.Parallel()
	env := newBulkEnv(t, storetest.Open(t, storetest.Engines(t)[0]), false)
	for _, c := range []struct{ user, method, path string }{
		{"alice", http.MethodPost, "/bulk_imports"}, {"alice", http.MethodGet, "/bulk_imports"}, {"", http.MethodGet, "/bulk_imports"},
		{"alice", http.MethodGet, "/bulk_imports/entities"}, {"alice", http.MethodGet, "/bulk_imports/1"},
		{"alice", http.MethodGet, "/bulk_imports/1/entities"}, {"alice", http.MethodGet, "/bulk_imports/1/entities/1"},
		{"alice", http.MethodGet, "/bulk_imports/1/entities/1/failures"}, {"admin", http.MethodPost, "/bulk_imports/1/cancel"},
	} {
		status, body, _ := env.do(c.user, c.method, c.path, "application/json", validBulkBody("n", "dst"))
		if status != http.StatusNotFound || body != `{"message":"404 Not Found"}` {
			t.Fatalf("%s %s: %d %s", c.method, c.path, status, body)
		}
	}
	if status, _, _ := newBulkEnv(t, storetest.Open(t, storetest.Engines(t)[0]), true).do("", http.MethodGet, "/bulk_imports", "", ""); status != http.StatusUnauthorized {
		t.Fatalf("anonymous with migrations on: %d", status)
	}
}

// The seed's curl examples (doc/api/bulk_imports.md) and client-go's
// request, as JSON, as curl --data sends JSON (labelled a form), and as a
// Rack form.
func TestBulkImportSeedBodies(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := newBulkEnv(t, s, true)
		ctx := context.Background()
		if err := s.Write(ctx, func(tx *store.Tx) error {
			parent, err := tx.NamespaceByPath(ctx, "dst")
			if err != nil {
				return err
			}
			for _, path := range []string{"destination", "namespace", "path"} {
				g := &ferry.Namespace{Kind: ferry.KindGroup, Name: path, Path: path, Visibility: ferry.Private}
				if parent.Path != "dst" {
					g.ParentID = &parent.ID
				}
				if err := createOwnedGroup(ctx, tx, g, env.users["alice"]); err != nil {
					return err
				}
				parent = g
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		curl := `{ "configuration": { "url": "http://gitlab.example/", "access_token": "access_token" }, "entities": [ { "source_full_path": "source/full/path", "source_type": "group_entity", "destination_name": "destination_name", "destination_namespace": "destination/namespace/path" } ] }`
		clientGo, err := os.ReadFile("testdata/gitlab-bulk-imports/post_bulk_imports_request.json")
		if err != nil {
			t.Fatal(err)
		}
		form := "configuration%5Burl%5D=http%3A%2F%2Fgitlab.example%2F&configuration%5Baccess_token%5D=access_token" +
			"&entities[][source_type]=group_entity&entities[][source_full_path]=source/full/path&entities[][destination_slug]=one" +
			"&entities[][destination_namespace]=destination/namespace/path&entities[][migrate_memberships]=false" +
			"&entities[][source_type]=project_entity&entities[][source_full_path]=source/full/p&entities[][destination_name]=two" +
			"&entities[][destination_namespace]=destination/namespace/path"
		for _, c := range []struct {
			name, ct, body string
			want           []ferry.BulkEntity
		}{
			{"curl JSON", "application/json", curl, []ferry.BulkEntity{{SourceType: ferry.GroupEntity, SourceFullPath: "source/full/path",
				DestinationSlug: "destination_name", DestinationNamespace: "destination/namespace/path", MigrateProjects: true, MigrateMemberships: true}}},
			{"curl --data", "application/x-www-form-urlencoded", strings.Replace(curl, `: "destination_name"`, `: "dn2"`, 1), []ferry.BulkEntity{{
				SourceType: ferry.GroupEntity, SourceFullPath: "source/full/path", DestinationSlug: "dn2", DestinationNamespace: "destination/namespace/path",
				MigrateProjects: true, MigrateMemberships: true}}},
			{"client-go", "application/json", string(clientGo), []ferry.BulkEntity{{SourceType: ferry.GroupEntity, SourceFullPath: "gitlab-org/gitlab",
				DestinationSlug: "destination_slug", DestinationNamespace: "destination/namespace/path", MigrateProjects: true, MigrateMemberships: true}}},
			{"form", "application/x-www-form-urlencoded", form, []ferry.BulkEntity{
				{SourceType: ferry.GroupEntity, SourceFullPath: "source/full/path", DestinationSlug: "one", DestinationNamespace: "destination/namespace/path",
					MigrateProjects: true, MigrateMemberships: false},
				{SourceType: ferry.ProjectEntity, SourceFullPath: "source/full/p", DestinationSlug: "two", DestinationNamespace: "destination/namespace/path",
					MigrateProjects: true, MigrateMemberships: true}}},
		} {
			t.Run(c.name, func(t *testing.T) {
				env.advance(time.Minute)
				status, body, _ := env.do("alice", http.MethodPost, "/bulk_imports", c.ct, c.body)
				if status != http.StatusCreated {
					t.Fatalf("%d %s", status, body)
				}
				var got map[string]any
				if err := json.Unmarshal([]byte(body), &got); err != nil {
					t.Fatal(err)
				}
				if got["status"] != "created" || got["source_type"] != "gitlab" || got["has_failures"] != false || got["id"] == nil ||
					got["created_at"] == nil || got["updated_at"] == nil || len(got) != 7 {
					t.Fatalf("response: %s", body)
				}
				id := int64(got["id"].(float64))
				_ = s.Read(ctx, func(tx *store.Tx) error {
					b, err := tx.BulkImportByID(ctx, id)
					if err != nil || b.UserID != env.users["alice"].ID || b.SourceVersion != "17.5.0" || b.SealedCredential == "" {
						t.Fatalf("stored: %+v %v", b, err)
					}
					if got["source_url"] != b.SourceURL {
						t.Fatalf("source_url %v, stored %s", got["source_url"], b.SourceURL)
					}
					entities, err := tx.BulkEntitiesOf(ctx, id)
					if err != nil || len(entities) != len(c.want) {
						t.Fatalf("entities: %+v %v", entities, err)
					}
					for i, e := range entities {
						w := c.want[i]
						if e.SourceType != w.SourceType || e.SourceFullPath != w.SourceFullPath || e.DestinationSlug != w.DestinationSlug ||
							e.DestinationNamespace != w.DestinationNamespace || e.MigrateProjects != w.MigrateProjects ||
							e.MigrateMemberships != w.MigrateMemberships || e.Status != ferry.BulkCreated {
							t.Fatalf("entity %d: %+v, want %+v", i, e, w)
						}
					}
					return nil
				})
			})
		}
	})
}

func TestNormalizeParamRack(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ raw, want string }{
		{"a=1&a=2", `{"a":"2"}`},
		{"a[]=1&a[]=2", `{"a":["1","2"]}`},
		{"a[b]=1&a[c][d]=2", `{"a":{"b":"1","c":{"d":"2"}}}`},
		{"e[][x]=1&e[][y]=2&e[][x]=3", `{"e":[{"x":"1","y":"2"},{"x":"3"}]}`},
		{"e[][x][y]=1&e[][x][z]=2&e[][x][y]=3", `{"e":[{"x":{"y":"1","z":"2"}},{"x":{"y":"3"}}]}`},
		{"[]=1&=2&x", `{"x":""}`},
	} {
		m := map[string]any{}
		if err := mergeForm(m, c.raw); err != nil {
			t.Fatalf("%s: %v", c.raw, err)
		}
		if got := jsonBody(t, m); got != c.want {
			t.Fatalf("%s: %s, want %s", c.raw, got, c.want)
		}
	}
	if err := mergeForm(map[string]any{}, "a"+strings.Repeat("[b]", maxParamDepth+1)+"=1"); ferry.ErrorCode(err) != ferry.EINVALID {
		t.Fatalf("too deep: %v", err)
	}
}

// createBulkFor stores a migration of user with entities directly.
func createBulkFor(t *testing.T, s *store.Store, user *ferry.User, paths ...string) (*ferry.BulkImport, []*ferry.BulkEntity) {
	t.Helper()
	ctx := context.Background()
	b := &ferry.BulkImport{UserID: user.ID, SourceType: "gitlab", SourceURL: "https://src.example", SealedCredential: "x"}
	var es []*ferry.BulkEntity
	for _, p := range paths {
		es = append(es, &ferry.BulkEntity{SourceType: ferry.GroupEntity, SourceFullPath: p, DestinationSlug: strings.ReplaceAll(p, "/", "-"),
			DestinationNamespace: "dst", MigrateProjects: true, MigrateMemberships: true})
	}
	if err := s.Write(ctx, func(tx *store.Tx) error { return tx.CreateBulkImport(ctx, b, es) }); err != nil {
		t.Fatal(err)
	}
	return b, es
}

// listCase is a list of migrations or entities alice asks for, and what
// it must answer.
type listCase struct {
	path   string
	want   []int64 // the ids in order; 0: any
	total  string  // X-Total ("": not checked)
	header string  // a Link relation expected ("": none checked)
}

// listRow is an entry of a migrations or entities list.
type listRow struct {
	ID          int64 `json:"id"`
	HasFailures bool  `json:"has_failures"`
}

// checkList asks for c's list and fails the test unless the answer is
// c's; it returns the list's entries.
func (e *bulkEnv) checkList(c listCase) []listRow {
	t := e.t
	t.Helper()
	status, body, h := e.do("alice", http.MethodGet, c.path, "", "")
	var rows []listRow
	if err := json.Unmarshal([]byte(body), &rows); err != nil || status != http.StatusOK || len(rows) != len(c.want) ||
		(c.total != "" && h.Get("X-Total") != c.total) {
		t.Fatalf("%s: %d %s (X-Total %s), want ids %v (X-Total %q)", c.path, status, body, h.Get("X-Total"), c.want, c.total)
	}
	for i, r := range rows {
		if c.want[i] != 0 && r.ID != c.want[i] {
			t.Fatalf("%s: %s, want ids %v", c.path, body, c.want)
		}
	}
	if c.header != "" && !strings.Contains(h.Get("Link"), c.header) {
		t.Fatalf("%s: Link %q", c.path, h.Get("Link"))
	}
	return rows
}

func TestBulkImportReads(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := newBulkEnv(t, s, true)
		ctx := context.Background()
		a1, a1e := createBulkFor(t, s, env.users["alice"], "src/a", "src/b")
		a2, _ := createBulkFor(t, s, env.users["alice"], "src/c")
		b1, b1e := createBulkFor(t, s, env.users["bob"], "src/z")
		// a1's first entity started: a group, an import with a failure
		// and stats; its second failed.
		var g *ferry.Namespace
		if err := s.Write(ctx, func(tx *store.Tx) error {
			var err error
			if g, err = tx.NamespaceByPath(ctx, "dst/taken"); err != nil {
				return err
			}
			im := &ferry.Import{UserID: env.users["alice"].ID, NamespaceID: g.ID, SourceType: "gitlab", SourceURL: "https://src.example",
				SourceRef: "src/a", Options: "{}", CorrelationID: "c"}
			if err := tx.CreateImport(ctx, im); err != nil {
				return err
			}
			if err := tx.StartStage(ctx, im.ID, 0, "content", []string{"labels"}); err != nil {
				return err
			}
			if _, err := tx.Checkpoint(ctx, im.ID, "labels", "", "", 10, 9, 1, 10, true); err != nil {
				return err
			}
			if err := tx.AddFailure(ctx, &ferry.ImportFailure{ImportID: im.ID, Relation: "labels", SourceURL: "https://src.example/l/1",
				SourceTitle: "bug", ExceptionClass: "StandardError", ExceptionMessage: strings.Repeat("x", 80), CorrelationID: "corr"}); err != nil {
				return err
			}
			a1e[0].Status, a1e[0].NamespaceID, a1e[0].ImportID = ferry.BulkStarted, g.ID, im.ID
			if err := tx.UpdateBulkEntity(ctx, a1e[0]); err != nil {
				return err
			}
			a1e[1].Status = ferry.BulkFailed
			if err := tx.UpdateBulkEntity(ctx, a1e[1]); err != nil {
				return err
			}
			return tx.SetBulkImportStatus(ctx, a2.ID, ferry.BulkStarted)
		}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []listCase{
			{"/bulk_imports", []int64{a2.ID, a1.ID}, "2", ""},
			{"/bulk_imports?sort=asc", []int64{a1.ID, a2.ID}, "2", ""},
			{"/bulk_imports?status=started", []int64{a2.ID}, "1", ""},
			{"/bulk_imports?per_page=1&page=2", []int64{a1.ID}, "2", `rel="prev"`},
			{"/bulk_imports/entities", []int64{0, a1e[1].ID, a1e[0].ID}, "3", ""},
			{"/bulk_imports/entities?status=failed", []int64{a1e[1].ID}, "1", ""},
			{"/bulk_imports/entities?sort=asc&per_page=2", []int64{a1e[0].ID, a1e[1].ID}, "3", `rel="next"`},
			{"/bulk_imports/" + itoa(a1.ID) + "/entities", []int64{a1e[0].ID, a1e[1].ID}, "2", ""},
			{"/bulk_imports/" + itoa(a1.ID) + "/entities?status=started", []int64{a1e[0].ID}, "1", ""},
		} {
			env.checkList(c)
		}
		status, body, _ := env.do("alice", http.MethodGet, "/bulk_imports/"+itoa(a1.ID), "", "")
		var bi map[string]any
		_ = json.Unmarshal([]byte(body), &bi)
		if status != http.StatusOK || bi["has_failures"] != true || bi["status"] != "created" || bi["source_url"] != "https://src.example" {
			t.Fatalf("GET import: %d %s", status, body)
		}
		status, body, _ = env.do("alice", http.MethodGet, "/bulk_imports/"+itoa(a1.ID)+"/entities/"+itoa(a1e[0].ID), "", "")
		want := `{"id":` + itoa(a1e[0].ID) + `,"bulk_import_id":` + itoa(a1.ID) + `,"status":"started","entity_type":"group","source_full_path":"src/a",` +
			`"destination_full_path":"dst/taken","destination_name":"src-a","destination_slug":"src-a","destination_namespace":"dst","parent_id":null,` +
			`"namespace_id":` + itoa(g.ID) + `,"project_id":null,"created_at":"2026-01-02T03:04:05.000Z","updated_at":"2026-01-02T03:04:05.000Z",` +
			`"failures":[{"relation":"labels","exception_message":"` + strings.Repeat("x", 69) + `...","exception_class":"StandardError",` +
			`"correlation_id_value":"corr","source_url":"https://src.example/l/1","source_title":"bug"}],"migrate_projects":true,` +
			`"migrate_memberships":true,"has_failures":true,"stats":{"labels":{"source":10,"fetched":10,"imported":9}}}`
		if status != http.StatusOK || !sameJSON(t, dropTimes(t, body), dropTimes(t, want)) || !strings.Contains(body, `"created_at":"`+
			a1e[0].CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z")+`"`) {
			t.Fatalf("GET entity: %d\n%s\nwant\n%s", status, body, want)
		}
		status, body, _ = env.do("alice", http.MethodGet, "/bulk_imports/"+itoa(a1.ID)+"/entities/"+itoa(a1e[1].ID), "", "")
		if status != http.StatusOK || !strings.Contains(body, `"destination_full_path":null`) || !strings.Contains(body, `"stats":{}`) ||
			!strings.Contains(body, `"failures":[]`) || !strings.Contains(body, `"has_failures":true`) {
			t.Fatalf("GET failed entity: %d %s", status, body)
		}
		status, body, h := env.do("alice", http.MethodGet, "/bulk_imports/"+itoa(a1.ID)+"/entities/"+itoa(a1e[0].ID)+"/failures", "", "")
		if status != http.StatusOK || h.Get("X-Total") != "1" || !strings.HasPrefix(body, `[{"relation":"labels"`) {
			t.Fatalf("failures: %d %s", status, body)
		}
		for _, c := range []struct {
			user, path string
			status     int
			body       string
		}{
			{"alice", "/bulk_imports/" + itoa(b1.ID), 404, `{"message":"404 Not found"}`},
			{"admin", "/bulk_imports/" + itoa(b1.ID), 404, `{"message":"404 Not found"}`},
			{"alice", "/bulk_imports/" + itoa(b1.ID) + "/entities", 404, `{"message":"404 Not found"}`},
			{"alice", "/bulk_imports/" + itoa(b1.ID) + "/entities/" + itoa(b1e[0].ID), 404, `{"message":"404 Not found"}`},
			{"alice", "/bulk_imports/" + itoa(a1.ID) + "/entities/" + itoa(b1e[0].ID), 404, `{"message":"404 Not found"}`},
			{"alice", "/bulk_imports/" + itoa(b1.ID) + "/entities/" + itoa(b1e[0].ID) + "/failures", 404, `{"message":"404 Not found"}`},
			{"alice", "/bulk_imports/9999", 404, `{"message":"404 Not found"}`},
			{"alice", "/bulk_imports/abc", 400, `{"error":"import_id is invalid"}`},
			{"alice", "/bulk_imports/1/entities/x", 400, `{"error":"entity_id is invalid"}`},
			{"alice", "/bulk_imports?status=done", 400, `{"error":"status does not have a valid value"}`},
			{"alice", "/bulk_imports?sort=up", 400, `{"error":"sort does not have a valid value"}`},
			{"alice", "/bulk_imports/entities?page=x", 400, `{"error":"page is invalid"}`},
			{"alice", "/bulk_imports/entities?status=nope", 400, `{"error":"status does not have a valid value"}`},
		} {
			status, body, _ := env.do(c.user, http.MethodGet, c.path, "", "")
			if status != c.status || body != c.body {
				t.Fatalf("%s as %s: %d %s, want %d %s", c.path, c.user, status, body, c.status, c.body)
			}
		}
	})
}

// Every status GitLab's code accepts filters the lists, timeout and
// canceled included (the docs list only four); a timed-out entity has
// failures.
func TestBulkImportStatusFilters(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := newBulkEnv(t, s, true)
		ctx := context.Background()
		timedOut, te := createBulkFor(t, s, env.users["alice"], "src/t", "src/u")
		canceled, ce := createBulkFor(t, s, env.users["alice"], "src/c")
		if err := s.Write(ctx, func(tx *store.Tx) error {
			te[0].Status = ferry.BulkTimeout
			if err := tx.UpdateBulkEntity(ctx, te[0]); err != nil {
				return err
			}
			if err := tx.SetBulkImportStatus(ctx, timedOut.ID, ferry.BulkTimeout); err != nil {
				return err
			}
			_, err := tx.CancelBulkImport(ctx, canceled.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []listCase{
			{path: "/bulk_imports?status=timeout", want: []int64{timedOut.ID}},
			{path: "/bulk_imports?status=canceled", want: []int64{canceled.ID}},
			{path: "/bulk_imports?status=finished"},
			{path: "/bulk_imports/entities?status=timeout", want: []int64{te[0].ID}},
			{path: "/bulk_imports/entities?status=canceled", want: []int64{ce[0].ID}},
			{path: "/bulk_imports/entities?status=created", want: []int64{te[1].ID}},
			{path: "/bulk_imports/" + itoa(timedOut.ID) + "/entities?status=timeout", want: []int64{te[0].ID}},
			{path: "/bulk_imports/" + itoa(timedOut.ID) + "/entities?status=canceled"},
		} {
			for _, x := range env.checkList(c) {
				if strings.Contains(c.path, "status=timeout") && !x.HasFailures {
					t.Fatalf("%s: id %d: a timeout without has_failures", c.path, x.ID)
				}
			}
		}
	})
}

func TestBulkImportCancel(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := newBulkEnv(t, s, true)
		a1, _ := createBulkFor(t, s, env.users["alice"], "src/a")
		b1, _ := createBulkFor(t, s, env.users["bob"], "src/z")
		for _, c := range []struct {
			user   string
			id     int64
			status int
			body   string
		}{
			{"bob", a1.ID, 403, `{"message":"403 Forbidden"}`},
			{"alice", 9999, 404, `{"message":"404 Not Found"}`},
			{"alice", a1.ID, 200, `"status":"canceled"`},
			{"admin", b1.ID, 200, `"status":"canceled"`},
		} {
			status, body, _ := env.do(c.user, http.MethodPost, "/bulk_imports/"+itoa(c.id)+"/cancel", "application/json", "")
			if status != c.status || !strings.Contains(body, c.body) {
				t.Fatalf("cancel %d as %s: %d %s", c.id, c.user, status, body)
			}
		}
		if len(env.fake.canceled) != 2 || env.fake.canceled[0] != a1.ID || env.fake.canceled[1] != b1.ID {
			t.Fatalf("engine told to cancel %v", env.fake.canceled)
		}
		_ = s.Read(context.Background(), func(tx *store.Tx) error {
			for _, id := range []int64{a1.ID, b1.ID} {
				b, err := tx.BulkImportByID(context.Background(), id)
				if err != nil || b.Status != ferry.BulkCanceled || b.SealedCredential != "" {
					t.Fatalf("after cancel: %+v %v", b, err)
				}
				es, err := tx.BulkEntitiesOf(context.Background(), id)
				if err != nil || es[0].Status != ferry.BulkCanceled {
					t.Fatalf("entities after cancel: %+v %v", es, err)
				}
			}
			return nil
		})
	})
}

func itoa(n int64) string { return strings.TrimSpace(jsonNumber(n)) }

func jsonNumber(n int64) string { b, _ := json.Marshal(n); return string(b) }

func sameJSON(t *testing.T, a, b string) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal([]byte(a), &x); err != nil {
		t.Fatalf("%v: %s", err, a)
	}
	if err := json.Unmarshal([]byte(b), &y); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return jsonBody(t, x) == jsonBody(t, y)
}

// dropTimes removes an object's created_at and updated_at (the store's
// clock is the real one).
func dropTimes(t *testing.T, body string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	delete(m, "created_at")
	delete(m, "updated_at")
	return jsonBody(t, m)
}
