package gitlab

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	ffgl "github.com/ferry-import/ferry/fakeforge/gitlab"
	"github.com/ferry-import/ferry/fakeforge/scenario"
)

const testToken = "glpat-lookup-test"

// instance serves a simulated GitLab with opts (Scenario, BaseURL and
// Tokens filled in) behind wrap, and counts requests by path.
type instance struct {
	URL   string
	mu    sync.Mutex
	calls map[string]int
}

func (in *instance) called(path string) int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.calls[path]
}

func serveGitLab(t *testing.T, opts ffgl.Options, wrap func(http.Handler) http.Handler) *instance {
	t.Helper()
	c, err := scenario.Preset("small", 3)
	if err != nil {
		t.Fatal(err)
	}
	c.Issues, c.PullRequests = 2, 1
	c.Groups = scenario.GroupTree{Depth: 2, Breadth: 2, ProjectsPerGroup: 1}
	sc, err := scenario.New(c)
	if err != nil {
		t.Fatal(err)
	}
	in := &instance{calls: map[string]int{}}
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in.mu.Lock()
		in.calls[r.URL.Path]++
		in.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	opts.Scenario, opts.BaseURL, opts.Tokens = sc, srv.URL, []string{testToken}
	h = ffgl.New(opts)
	if wrap != nil {
		h = wrap(h)
	}
	in.URL = srv.URL
	return in
}

// answer makes every request whose path contains part answer status.
func answer(part string, status int) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, part) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(status)
				fmt.Fprintf(w, `{"message":"%d %s"}`, status, http.StatusText(status))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func TestCheckInstance(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name  string
		opts  ffgl.Options
		wrap  func(http.Handler) http.Handler
		token string
		base  string // appended to the server's URL
		want  Instance
		err   error
		// scopeChecks is how often the token's scopes were read.
		scopeChecks int
	}{
		{name: "current", want: Instance{Version: ffgl.Version, Major: 17, Minor: 11}, scopeChecks: 1},
		{name: "enterprise via metadata", opts: ffgl.Options{Version: "16.8.2-ee", NoVersionEndpoint: true},
			want: Instance{Version: "16.8.2-ee", Major: 16, Minor: 8, Enterprise: true}, scopeChecks: 1},
		{name: "bad token", token: "wrong", err: ErrCredentials},
		{name: "version forbidden", wrap: answer("/version", 403), err: ErrCredentials},
		{name: "no api scope", opts: ffgl.Options{Scopes: []string{"read_api", "read_repository"}}, err: ErrCredentials, scopeChecks: 1},
		{name: "token self-check refused", wrap: answer("/personal_access_tokens/self", 401), err: ErrCredentials, scopeChecks: 1},
		{name: "before 15.5 scopes are not checked", opts: ffgl.Options{Version: "15.4.6", Scopes: []string{"read_api"}},
			want: Instance{Version: "15.4.6", Major: 15, Minor: 4}},
		{name: "15.5 checks scopes", opts: ffgl.Options{Version: "15.5.0", Scopes: []string{"read_api"}}, err: ErrCredentials, scopeChecks: 1},
		{name: "old version", opts: ffgl.Options{Version: "13.12.15"}, err: ErrUnsupportedVersion},
		{name: "unparseable version", opts: ffgl.Options{Version: "unknown"}, err: ErrInvalidURL},
		{name: "not GitLab: version and metadata 404", wrap: answer("/api/v4/", 404), err: ErrInvalidURL},
		{name: "base URL with /api/v4", base: "/api/v4", err: ErrInvalidURL},
		{name: "server error", wrap: answer("/version", 502), err: errServer},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := serveGitLab(t, tt.opts, tt.wrap)
			token := tt.token
			if token == "" {
				token = testToken
			}
			got, err := CheckInstance(ctx, http.DefaultClient, in.URL+tt.base, token)
			switch {
			case tt.err == errServer:
				if err == nil || errors.Is(err, ErrInvalidURL) || errors.Is(err, ErrCredentials) || !strings.Contains(err.Error(), "502") {
					t.Errorf("error %v, want the 502 passed on", err)
				}
			case !errors.Is(err, tt.err):
				t.Errorf("error %v, want %v", err, tt.err)
			case tt.err == nil && got != tt.want:
				t.Errorf("instance %+v, want %+v", got, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), token) {
				t.Errorf("error shows the token: %v", err)
			}
			if n := in.called("/api/v4/personal_access_tokens/self"); n != tt.scopeChecks {
				t.Errorf("token scopes read %d times, want %d", n, tt.scopeChecks)
			}
		})
	}
}

// errServer marks a case whose error is the source's, not a sentinel.
var errServer = errors.New("server error")

func TestInstanceAtLeast(t *testing.T) {
	in := Instance{Major: 16, Minor: 2}
	for _, tt := range []struct {
		major, minor int
		want         bool
	}{{16, 2, true}, {16, 1, true}, {15, 9, true}, {16, 3, false}, {17, 0, false}} {
		if got := in.AtLeast(tt.major, tt.minor); got != tt.want {
			t.Errorf("16.2 at least %d.%d: %v", tt.major, tt.minor, got)
		}
	}
}

func TestLookup(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name, kind, path string
		wrap             func(http.Handler) http.Handler
		token            string
		want             Entity
		err              error
	}{
		{name: "group", kind: KindGroup, path: "acme",
			want: Entity{Kind: KindGroup, ID: 100, FullPath: "acme", Path: "acme", Name: "Acme", Description: "Simulated group acme", Visibility: "private"}},
		{name: "subgroup", kind: KindGroup, path: "acme/sub-2",
			want: Entity{Kind: KindGroup, ID: 102, FullPath: "acme/sub-2", Path: "sub-2", Name: "Acme Sub 2", Description: "Simulated group acme/sub-2", Visibility: "private"}},
		{name: "project", kind: KindProject, path: "acme/sub-1/widgets-1",
			want: Entity{Kind: KindProject, ID: 1001, FullPath: "acme/sub-1/widgets-1", Path: "widgets-1", Name: "Widgets 2",
				Description: "Simulated project acme/sub-1/widgets-1", Visibility: "private"}},
		{name: "missing group", kind: KindGroup, path: "acme/none", err: ErrNotFound},
		{name: "a project is not a group", kind: KindGroup, path: "acme/widgets", err: ErrNotFound},
		{name: "bad token", kind: KindProject, path: "acme/widgets", token: "wrong", err: ErrCredentials},
		{name: "REST details gone", kind: KindProject, path: "acme/widgets", wrap: answer("/api/v4/projects/", 404), err: ErrNotFound},
		{name: "no GraphQL", kind: KindGroup, path: "acme", wrap: answer("/api/graphql", 404), err: ErrInvalidURL},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := serveGitLab(t, ffgl.Options{}, tt.wrap)
			token := tt.token
			if token == "" {
				token = testToken
			}
			got, err := Lookup(ctx, http.DefaultClient, in.URL, token, tt.kind, tt.path)
			if !errors.Is(err, tt.err) {
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			if got != tt.want {
				t.Errorf("entity %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCheckExport(t *testing.T) {
	ctx := context.Background()
	project := Entity{Kind: KindProject, ID: 1000, FullPath: "acme/widgets"}
	group := Entity{Kind: KindGroup, ID: 100, FullPath: "acme"}
	for _, tt := range []struct {
		name   string
		opts   ffgl.Options
		wrap   func(http.Handler) http.Handler
		entity Entity
		token  string
		err    error
	}{
		{name: "project enabled", entity: project},
		{name: "group enabled", entity: group},
		{name: "by path", entity: Entity{Kind: KindProject, FullPath: "acme/widgets"}},
		{name: "project disabled", opts: ffgl.Options{ExportDisabled: true}, entity: project, err: ErrExportDisabled},
		{name: "group disabled", opts: ffgl.Options{ExportDisabled: true}, entity: group, err: ErrExportDisabled},
		{name: "forbidden", wrap: answer("/export_relations/", 403), entity: group, err: ErrExportForbidden},
		{name: "bad token", entity: project, token: "wrong", err: ErrCredentials},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := serveGitLab(t, tt.opts, tt.wrap)
			token := tt.token
			if token == "" {
				token = testToken
			}
			if err := CheckExport(ctx, http.DefaultClient, in.URL, token, tt.entity); !errors.Is(err, tt.err) {
				t.Errorf("error %v, want %v", err, tt.err)
			}
		})
	}
}

func TestChildren(t *testing.T) {
	ctx := context.Background()
	in := serveGitLab(t, ffgl.Options{}, nil)
	got, err := Children(ctx, http.DefaultClient, in.URL, testToken, 100)
	if err != nil {
		t.Fatal(err)
	}
	want := []Child{
		{Kind: KindGroup, ID: 101, FullPath: "acme/sub-1", Path: "sub-1", Name: "Acme Sub 1"},
		{Kind: KindGroup, ID: 102, FullPath: "acme/sub-2", Path: "sub-2", Name: "Acme Sub 2"},
		{Kind: KindProject, ID: 1000, FullPath: "acme/widgets", Path: "widgets", Name: "Widgets 1"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("children %+v, want %+v", got, want)
	}
	if got, err := Children(ctx, http.DefaultClient, in.URL, testToken, 101); err != nil || len(got) != 1 || got[0].FullPath != "acme/sub-1/widgets-1" {
		t.Errorf("children of acme/sub-1: %+v, %v", got, err)
	}
	if _, err := Children(ctx, http.DefaultClient, in.URL, testToken, 999); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown group: %v", err)
	}
	if _, err := Children(ctx, http.DefaultClient, in.URL, "wrong", 100); !errors.Is(err, ErrCredentials) {
		t.Errorf("bad token: %v", err)
	}
}

// TestMessages checks the texts the API answers with, the path added as
// the package doc says.
func TestMessages(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("Import failed. '%s' %w.", "acme/widgets", ErrNotFound), "Import failed. 'acme/widgets' not found."},
		{fmt.Errorf("Import failed. %w '%s'.", ErrExportForbidden, "acme"), "Import failed. You don't have permission to export 'acme'."},
		{ErrCredentials, "Check that the source instance base URL and the personal access token meet the necessary requirements."},
		{ErrInvalidURL, "Invalid source URL. Enter only the base URL of the source GitLab instance."},
		{ErrUnsupportedVersion, "Unsupported GitLab version. Minimum supported version is '14'."},
		{ErrExportDisabled, "Migration by direct transfer disabled on source or destination instance. Ask an administrator to enable it on both instances and try again."},
	} {
		if tt.err.Error() != tt.want {
			t.Errorf("%q, want %q", tt.err, tt.want)
		}
	}
}
