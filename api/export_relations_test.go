package api_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/api"
	"github.com/ferry-import/ferry/forge/gitlabndjson"
	"github.com/ferry-import/ferry/gitlabexport"
	"github.com/ferry-import/ferry/gitlabexport/exporttest"
	"github.com/ferry-import/ferry/store"
	"github.com/ferry-import/ferry/store/storetest"
)

// exportServer serves the API with an export service (or none) on
// loopback.
func exportServer(t *testing.T, s *store.Store, exports *gitlabexport.Service) string {
	t.Helper()
	srv, err := api.New(api.Config{Store: s, Exports: exports})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts.URL
}

func exportToken(t *testing.T, s *store.Store, u *ferry.User) string {
	t.Helper()
	tok := &ferry.PersonalAccessToken{Name: "export", Scopes: []string{ferry.ScopeAPI}}
	if err := s.Write(context.Background(), func(tx *store.Tx) error { return tx.CreateValidToken(context.Background(), tok, u) }); err != nil {
		t.Fatal(err)
	}
	return tok.Token
}

// send makes one request and returns the status, body and headers.
func send(t *testing.T, method, url, token string, body any) (int, []byte, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b, resp.Header
}

// gunzipLines decodes a downloaded relation into Ts, one per line.
func gunzipLines[T any](t *testing.T, b []byte) []T {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	plain, err := io.ReadAll(gz)
	if err != nil {
		t.Fatal(err)
	}
	var out []T
	for _, line := range strings.Split(strings.TrimSuffix(string(plain), "\n"), "\n") {
		if line == "" {
			continue
		}
		var v T
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		out = append(out, v)
	}
	return out
}

func TestExportRelations(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		fx := exporttest.Seed(t, s)
		svc, err := gitlabexport.New(gitlabexport.Config{Store: s, Dir: t.TempDir(), BatchSize: 4})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { svc.Close() })
		base := exportServer(t, s, svc) + "/api/v4"
		owner, maint, dev := exportToken(t, s, fx.Owner), exportToken(t, s, fx.Maintainer), exportToken(t, s, fx.Developer)
		proj := base + "/projects/org%2Frepo/export_relations"
		grp := base + "/groups/" + strconv.FormatInt(fx.Group.ID, 10) + "/export_relations"

		expect := func(name, method, url, token string, wantStatus int, wantBody string) {
			t.Helper()
			st, body, _ := send(t, method, url, token, nil)
			if st != wantStatus || wantBody != "" && strings.TrimSpace(string(body)) != wantBody {
				t.Errorf("%s: %d %s, want %d %s", name, st, body, wantStatus, wantBody)
			}
		}
		// GitLab lists the user's exports (none yet) with 200, which is how a
		// destination tells that direct transfer is on; one relation's
		// status is 404 until it is exported.
		expect("statuses before any export", "GET", proj+"/status", maint, 200, `[]`)
		expect("status of a relation before any export", "GET", proj+"/status?relation=issues", maint, 404, `{"message":"Export not found"}`)
		expect("developer starts", "POST", proj, dev, 403, `{"message":"403 Forbidden"}`)
		expect("anonymous starts", "POST", proj, "", 401, `{"message":"401 Unauthorized"}`)
		expect("maintainer starts", "POST", proj, maint, 202, "")
		expect("project maintainer on the group (sees it, is no owner)", "POST", grp, maint, 403, `{"message":"403 Forbidden"}`)
		expect("owner starts the group, batched", "POST", grp+"?batched=true", owner, 202, "")
		svc.Wait()

		// Status: every relation finished, as GitLab's integers.
		st, body, _ := send(t, "GET", proj+"/status", maint, nil)
		var all []map[string]any
		if err := json.Unmarshal(body, &all); st != 200 || err != nil || len(all) != len(gitlabexport.Relations(gitlabexport.KindProject)) {
			t.Fatalf("status %d %s", st, body)
		}
		for _, e := range all {
			if e["status"] != float64(1) || e["error"] != nil || e["batched"] != false {
				t.Errorf("relation status %v", e)
			}
		}
		st, body, _ = send(t, "GET", proj+"/status?relation=issues", maint, nil)
		var one map[string]any
		if err := json.Unmarshal(body, &one); st != 200 || err != nil || one["relation"] != "issues" || one["total_objects_count"] != float64(exporttest.Issues) {
			t.Errorf("issues status %d %s", st, body)
		}
		expect("another user's exports", "GET", proj+"/status", owner, 200, `[]`)
		expect("another user's export of a relation", "GET", proj+"/status?relation=issues", owner, 404, `{"message":"Export not found"}`)

		// HEAD first, as the importer does, then the file.
		st, _, h := send(t, "HEAD", proj+"/download?relation=merge_requests", maint, nil)
		if st != 200 || h.Get("Content-Type") != "application/octet-stream" || h.Get("Content-Length") == "" ||
			!strings.Contains(h.Get("Content-Disposition"), `filename="merge_requests.ndjson.gz"`) {
			t.Errorf("HEAD %d %v", st, h)
		}
		st, body, _ = send(t, "GET", proj+"/download?relation=merge_requests", maint, nil)
		mrs := gunzipLines[gitlabndjson.MergeRequest](t, body)
		if st != 200 || len(mrs) != 1 || mrs[0].IID != 100 || len(mrs[0].Notes) != 2 || mrs[0].Notes[0].Position == nil ||
			*mrs[0].Notes[0].Position.NewLine != 12 || mrs[0].Notes[0].Position.LineRange == nil || len(mrs[0].Approvals) != 1 {
			t.Errorf("merge requests %d %+v", st, mrs)
		}
		_, body, _ = send(t, "GET", proj+"/download?relation=issues", maint, nil)
		var iids []int64
		for _, is := range gunzipLines[gitlabndjson.Issue](t, body) {
			iids = append(iids, is.IID)
		}
		if slices.Sort(iids); !slices.Equal(iids, []int64{1, 2, 3, 4, 5, 10}) {
			t.Errorf("issue iids %v", iids)
		}
		_, body, _ = send(t, "GET", proj+"/download?relation=self", maint, nil)
		if self := gunzipLines[gitlabndjson.ProjectSelf](t, body); len(self) != 1 || self[0].Name != "Repo" {
			t.Errorf("self %+v", self)
		}

		// Parameters and batches, with GitLab's errors.
		for _, c := range []struct {
			name, url string
			status    int
			body      string
		}{
			{"no relation", proj + "/download", 400, `{"error":"relation is missing"}`},
			{"unknown relation", proj + "/download?relation=secrets", 400, `{"error":"relation does not have a valid value"}`},
			{"batched without number", proj + "/download?relation=issues&batched=true", 400,
				`{"error":"batched, batch_number provide all or none of parameters"}`},
			{"batch of an unbatched export", proj + "/download?relation=issues&batched=true&batch_number=1", 400, `{"message":"Export is not batched"}`},
			{"whole of a batched export", grp + "/download?relation=labels", 400, `{"message":"Export is batched"}`},
			{"missing batch", grp + "/download?relation=labels&batched=true&batch_number=5", 404, `{"message":"Batch not found"}`},
		} {
			token := maint
			if strings.HasPrefix(c.url, grp) {
				token = owner
			}
			expect(c.name, "GET", c.url, token, c.status, c.body)
		}
		st, body, _ = send(t, "GET", grp+"/status?relation=labels", owner, nil)
		if err := json.Unmarshal(body, &one); st != 200 || err != nil || one["batched"] != true || one["batches_count"] != float64(1) ||
			len(one["batches"].([]any)) != 1 {
			t.Errorf("group labels status %d %s", st, body)
		}
		st, body, _ = send(t, "GET", grp+"/download?relation=labels&batched=true&batch_number=1", owner, nil)
		if labels := gunzipLines[gitlabndjson.Label](t, body); st != 200 || len(labels) != 1 || labels[0].Title != "group-label" {
			t.Errorf("group labels %d %+v", st, labels)
		}

		// Without an export service, GitLab with bulk import disabled.
		off := exportServer(t, s, nil) + "/api/v4"
		expect("exports off", "POST", off+"/projects/org%2Frepo/export_relations", maint, 404, `{"message":"404 Not Found"}`)
	})
}

func TestGraphQLLookups(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		fx := exporttest.Seed(t, s)
		other := &ferry.Project{Name: "Other", Path: "other", Visibility: ferry.Private, NamespaceID: fx.Group.ID, CreatorID: fx.Owner.ID}
		if err := s.Write(ctx, func(tx *store.Tx) error { return tx.CreateProject(ctx, other) }); err != nil {
			t.Fatal(err)
		}
		url := exportServer(t, s, nil) + "/api/graphql"
		owner := exportToken(t, s, fx.Owner)
		query := func(token, q string, vars map[string]any) map[string]any {
			t.Helper()
			st, body, _ := send(t, "POST", url, token, map[string]any{"query": q, "operationName": nil, "variables": vars})
			var out map[string]any
			if err := json.Unmarshal(body, &out); st != 200 || err != nil {
				t.Fatalf("graphql %d %s", st, body)
			}
			return out
		}
		const groupQ = `query($full_path: ID!, $cursor: String) {
			group(fullPath: $full_path) { id name path fullPath visibility projectCreationLevel __typename
				projects(includeSubgroups: false, notAimedForDeletion: true, first: 1, after: $cursor) {
					pageInfo { endCursor hasNextPage } nodes { id name path fullPath } } }
			project(fullPath: "org/repo") { id fullPath } }`
		got := query(owner, groupQ, map[string]any{"full_path": "org"})
		data := got["data"].(map[string]any)
		g := data["group"].(map[string]any)
		if g["id"] != "gid://gitlab/Group/"+strconv.FormatInt(fx.Group.ID, 10) || g["fullPath"] != "org" || g["visibility"] != "private" ||
			g["__typename"] != "Group" || g["projectCreationLevel"] != "developer" {
			t.Errorf("group %v", g)
		}
		if p := data["project"].(map[string]any); p["id"] != "gid://gitlab/Project/"+strconv.FormatInt(fx.Project.ID, 10) {
			t.Errorf("project %v", p)
		}
		// Paging through the group's projects, one at a time.
		var paths []string
		cursor := any(nil)
		for i := 0; i < 3; i++ {
			page := query(owner, groupQ, map[string]any{"full_path": "org", "cursor": cursor})["data"].(map[string]any)["group"].(map[string]any)["projects"].(map[string]any)
			for _, n := range page["nodes"].([]any) {
				paths = append(paths, n.(map[string]any)["fullPath"].(string))
			}
			info := page["pageInfo"].(map[string]any)
			if info["hasNextPage"] != true {
				break
			}
			cursor = info["endCursor"]
		}
		if !slices.Equal(paths, []string{"org/repo", "org/other"}) {
			t.Errorf("projects %v", paths)
		}

		// Invisible is null; unknown fields and bad syntax are GraphQL errors.
		if anon := query("", groupQ, map[string]any{"full_path": "org"})["data"].(map[string]any); anon["group"] != nil || anon["project"] != nil {
			t.Errorf("anonymous sees %v", anon)
		}
		for _, c := range []struct{ q, want string }{
			{`{ group(fullPath: "org") { id bogus } }`, "Field 'bogus' doesn't exist on type 'Group'"},
			{`{ group(fullPath: "org") { id `, "Expected Name, found <EOF>"},
			{`mutation { group(fullPath: "org") { id } }`, "Only queries are supported"},
		} {
			errs, _ := query(owner, c.q, nil)["errors"].([]any)
			if len(errs) != 1 || !strings.Contains(errs[0].(map[string]any)["message"].(string), c.want) {
				t.Errorf("%s: errors %v, want %q", c.q, errs, c.want)
			}
		}
	})
}
