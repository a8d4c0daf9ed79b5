package gitlab

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry/fakeforge/scenario"
)

func testServer(t *testing.T, opts Options) (*httptest.Server, *scenario.Scenario) {
	t.Helper()
	c, err := scenario.Preset("small", 2)
	if err != nil {
		t.Fatal(err)
	}
	c.Issues, c.PullRequests = 2, 1
	sc, err := scenario.New(c)
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	opts.Scenario, opts.BaseURL, opts.Tokens = sc, srv.URL, []string{"tok"}
	h = New(opts)
	return srv, sc
}

func get(t *testing.T, u string, v any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("PRIVATE-TOKEN", "tok")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK && v != nil {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("%s: %v", u, err)
		}
	}
	return resp.StatusCode
}

// TestOptions checks what Options change: the version, a missing
// /version, the token's scopes and direct transfer turned off.
func TestOptions(t *testing.T) {
	srv, _ := testServer(t, Options{Version: "16.1.0-ee", NoVersionEndpoint: true, Scopes: []string{"read_api"}, ExportDisabled: true})
	api := srv.URL + "/api/v4"
	if st := get(t, api+"/version", nil); st != http.StatusNotFound {
		t.Errorf("/version: %d, want 404", st)
	}
	var md gl.Metadata
	if st := get(t, api+"/metadata", &md); st != 200 || md.Version != "16.1.0-ee" || !md.Enterprise {
		t.Errorf("/metadata: %d %+v", st, md)
	}
	var tok gl.PersonalAccessToken
	if st := get(t, api+"/personal_access_tokens/self", &tok); st != 200 || strings.Join(tok.Scopes, ",") != "read_api" {
		t.Errorf("token scopes: %d %v", st, tok.Scopes)
	}
	for _, p := range []string{"/projects/1000/export_relations/status", "/groups/100/export_relations/status",
		"/projects/1000/export_relations/download?relation=issues"} {
		if st := get(t, api+p, nil); st != http.StatusNotFound {
			t.Errorf("%s with direct transfer off: %d, want 404", p, st)
		}
	}

	srv, sc := testServer(t, Options{})
	api = srv.URL + "/api/v4"
	var v gl.Version
	if st := get(t, api+"/version", &v); st != 200 || v.Version != Version {
		t.Errorf("/version: %d %+v", st, v)
	}
	var statuses []json.RawMessage
	if st := get(t, api+"/groups/100/export_relations/status", &statuses); st != 200 || len(statuses) != 0 {
		t.Errorf("group export status: %d %v", st, statuses)
	}
	var labels []gl.GroupLabel
	if st := get(t, api+"/groups/acme/labels?per_page=100", &labels); st != 200 || len(labels) != sc.Config().Labels || labels[0].ID <= 1_000_000_000 {
		t.Errorf("group labels: %d %+v", st, labels)
	}
	var ms []gl.GroupMilestone
	if st := get(t, api+"/groups/100/milestones?state=active", &ms); st != 200 || len(ms) != (sc.Config().Milestones+1)/2 || ms[0].GroupID != 100 {
		t.Errorf("group milestones: %d %+v", st, ms)
	}
	var badges []gl.GroupBadge
	if st := get(t, api+"/groups/100/badges", &badges); st != 200 || len(badges) != 1 || badges[0].Kind != gl.GroupBadgeKind {
		t.Errorf("group badges: %d %+v", st, badges)
	}
	var pbs []gl.ProtectedBranch
	if st := get(t, api+"/projects/1000/protected_branches", &pbs); st != 200 || len(pbs) != sc.Config().ProtectedBranches || pbs[0].Name != "main" ||
		pbs[0].MergeAccessLevels[0].AccessLevel != gl.DeveloperPermissions || pbs[0].AllowForcePush {
		t.Errorf("protected branches: %d %+v", st, pbs)
	}
}
