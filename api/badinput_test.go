package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/store"
	"github.com/ferry-import/ferry/store/storetest"
)

// snapshot renders every row of the tables a failed request must not
// touch, so a test can show nothing was created or changed.
func snapshot(t *testing.T, s *store.Store) string {
	t.Helper()
	var b strings.Builder
	for _, table := range []string{"users", "namespaces", "namespace_ancestors", "projects", "routes", "members"} {
		rows, err := s.DB().QueryContext(context.Background(), "SELECT * FROM "+table+" ORDER BY 1, 2")
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%s %v\n", table, vals)
		}
		rows.Close()
	}
	var tokens int
	if err := s.DB().QueryRow("SELECT COUNT(*) FROM personal_access_tokens WHERE revoked = FALSE").Scan(&tokens); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "active tokens %d\n", tokens)
	return b.String()
}

type call struct {
	method, path string
	token        string // a key of the tokens map, "" for none
	ctype        string
	body         string
}

// do sends one request and returns status, decoded-and-re-encoded body and headers.
func do(t *testing.T, base string, tokens map[string]string, c call) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(c.method, base+c.path, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("PRIVATE-TOKEN", tokens[c.token])
	}
	if c.ctype != "" {
		req.Header.Set("Content-Type", c.ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var v any
	if json.Unmarshal(raw, &v) == nil {
		if m, ok := v.(map[string]any); ok {
			canon, _ := json.Marshal(m)
			return resp.StatusCode, string(canon), resp.Header
		}
	}
	return resp.StatusCode, string(raw), resp.Header
}

const jsonCT = "application/json"

func TestBadInput(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{}, func(t *testing.T, in *apptest.Instance) {
		ctx := context.Background()
		st := in.App.Store
		tokens := map[string]string{"root": in.RootToken, "bad": "glpat-doesnotexist00000"}
		ids := map[string]int64{}
		// Fixtures: alice (tokens of every kind), bob with a private group and project.
		err := st.Write(ctx, func(tx *store.Tx) error {
			for _, name := range []string{"alice", "bob"} {
				u := &ferry.User{Username: name, Name: name, Email: name + "@example.com"}
				if err := tx.CreateUser(ctx, u); err != nil {
					return err
				}
				ids[name] = u.ID
				tok := &ferry.PersonalAccessToken{UserID: u.ID, Name: "api", Scopes: []string{"api"}}
				if err := tx.CreateToken(ctx, tok); err != nil {
					return err
				}
				tokens[name] = tok.Token
			}
			past := tx.Now().Add(-48 * time.Hour)
			for name, tok := range map[string]*ferry.PersonalAccessToken{
				"readapi": {UserID: ids["alice"], Name: "ro", Scopes: []string{"read_api"}},
				"expired": {UserID: ids["alice"], Name: "old", Scopes: []string{"api"}, ExpiresAt: &past},
				"revoked": {UserID: ids["alice"], Name: "gone", Scopes: []string{"api"}},
			} {
				if err := tx.CreateToken(ctx, tok); err != nil {
					return err
				}
				tokens[name] = tok.Token
				if name == "revoked" {
					if err := tx.RevokeToken(ctx, tok.ID); err != nil {
						return err
					}
				}
			}
			rootTok, err := tx.TokenBySecret(ctx, in.RootToken)
			if err != nil {
				return err
			}
			ids["root_token"] = rootTok.ID
			g := &ferry.Namespace{Kind: ferry.KindGroup, Name: "Bob Group", Path: "bobgroup", Visibility: ferry.Private}
			if err := tx.CreateNamespace(ctx, g); err != nil {
				return err
			}
			if err := tx.AddMember(ctx, &ferry.Member{SourceKind: store.MemberOfNamespace, SourceID: g.ID, UserID: ids["bob"], AccessLevel: ferry.OwnerAccess}); err != nil {
				return err
			}
			p := &ferry.Project{Name: "secret", Path: "secret", NamespaceID: g.ID, Visibility: ferry.Private, CreatorID: ids["bob"]}
			if err := tx.CreateProject(ctx, p); err != nil {
				return err
			}
			ids["bobgroup"], ids["secret"] = g.ID, p.ID
			return tx.AddMember(ctx, &ferry.Member{SourceKind: store.MemberOfNamespace, SourceID: g.ID, UserID: 1, AccessLevel: ferry.OwnerAccess})
		})
		if err != nil {
			t.Fatal(err)
		}
		bg, secret := ids["bobgroup"], ids["secret"]

		cases := []struct {
			name       string
			call       call
			wantStatus int
			wantBody   string // exact JSON object
		}{
			{"group: missing name and path", call{"POST", "/api/v4/groups", "root", jsonCT, `{}`}, 400, `{"error":"name is missing, path is missing"}`},
			{"group: blank name", call{"POST", "/api/v4/groups", "root", jsonCT, `{"name":"  ","path":"x"}`}, 400, `{"error":"name is empty"}`},
			{"group: invalid path", call{"POST", "/api/v4/groups", "root", jsonCT, `{"name":"x","path":"bad path!"}`}, 400, `{"message":{"path":["can only include non-accented letters, digits, '_', '-' and '.'. It must not start with '-', '_', or '.', nor end with '-', '_', '.', '.git', or '.atom'.","can contain only letters, digits, '_', '-' and '.'. Cannot start with '-' or end in '.', '.git' or '.atom'."]}}`},
			{"group: path taken", call{"POST", "/api/v4/groups", "root", jsonCT, `{"name":"x","path":"BobGroup"}`}, 400, `{"message":{"path":["has already been taken"]}}`},
			{"group: bad visibility", call{"POST", "/api/v4/groups", "root", jsonCT, `{"name":"x","path":"x","visibility":"secretive"}`}, 400, `{"error":"visibility does not have a valid value"}`},
			{"group: non-integer parent", call{"POST", "/api/v4/groups", "root", jsonCT, `{"name":"x","path":"x","parent_id":"abc"}`}, 400, `{"error":"parent_id is invalid"}`},
			{"group: unknown parent", call{"POST", "/api/v4/groups", "root", jsonCT, `{"name":"x","path":"x","parent_id":99999}`}, 404, `{"message":"404 Group Not Found"}`},
			{"group: subgroup of another's private group", call{"POST", "/api/v4/groups", "alice", jsonCT, fmt.Sprintf(`{"name":"x","path":"x","parent_id":%d}`, bg)}, 404, `{"message":"404 Group Not Found"}`},
			{"group: unknown id", call{"GET", "/api/v4/groups/99999", "root", "", ""}, 404, `{"message":"404 Group Not Found"}`},
			{"group: unknown path", call{"GET", "/api/v4/groups/no%2Fsuch", "root", "", ""}, 404, `{"message":"404 Group Not Found"}`},
			{"group: another's private group", call{"GET", "/api/v4/groups/bobgroup", "alice", "", ""}, 404, `{"message":"404 Group Not Found"}`},
			{"group: another's private group, anonymous", call{"GET", fmt.Sprintf("/api/v4/groups/%d", bg), "", "", ""}, 404, `{"message":"404 Group Not Found"}`},
			{"group: rename another's", call{"PUT", fmt.Sprintf("/api/v4/groups/%d", bg), "alice", jsonCT, `{"name":"mine"}`}, 404, `{"message":"404 Group Not Found"}`},
			{"group: delete another's", call{"DELETE", fmt.Sprintf("/api/v4/groups/%d", bg), "alice", "", ""}, 404, `{"message":"404 Group Not Found"}`},
			{"group: invalid path on edit", call{"PUT", fmt.Sprintf("/api/v4/groups/%d", bg), "root", jsonCT, `{"visibility":"private","path":"bad path"}`}, 400, `{"message":{"path":["can only include non-accented letters, digits, '_', '-' and '.'. It must not start with '-', '_', or '.', nor end with '-', '_', '.', '.git', or '.atom'.","can contain only letters, digits, '_', '-' and '.'. Cannot start with '-' or end in '.', '.git' or '.atom'."]}}`},
			{"project: unknown id", call{"GET", "/api/v4/projects/99999", "root", "", ""}, 404, `{"message":"404 Project Not Found"}`},
			{"project: unknown path", call{"GET", "/api/v4/projects/a%2Fb", "root", "", ""}, 404, `{"message":"404 Project Not Found"}`},
			{"project: another's private project", call{"GET", "/api/v4/projects/bobgroup%2Fsecret", "alice", "", ""}, 404, `{"message":"404 Project Not Found"}`},
			{"project: edit another's", call{"PUT", fmt.Sprintf("/api/v4/projects/%d", secret), "alice", jsonCT, `{"name":"pwned"}`}, 404, `{"message":"404 Project Not Found"}`},
			{"project: missing name and path", call{"POST", "/api/v4/projects", "root", jsonCT, `{"description":"x"}`}, 400, `{"error":"name, path are missing, at least one parameter must be provided"}`},
			{"project: name and path taken", call{"POST", "/api/v4/projects", "root", jsonCT, fmt.Sprintf(`{"name":"secret","namespace_id":%d}`, bg)}, 400, `{"message":{"name":["has already been taken"],"path":["has already been taken"]}}`},
			{"project: public in a private group", call{"POST", "/api/v4/projects", "root", jsonCT, fmt.Sprintf(`{"name":"open","namespace_id":%d,"visibility":"public"}`, bg)}, 400, `{"message":{"visibility_level":["public is not allowed since the group has a private visibility."]}}`},
			{"project: unknown namespace", call{"POST", "/api/v4/projects", "root", jsonCT, `{"name":"x","namespace_id":99999}`}, 404, `{"message":"404 Namespace Not Found"}`},
			{"project: into another's private group", call{"POST", "/api/v4/projects", "alice", jsonCT, fmt.Sprintf(`{"name":"x","namespace_id":%d}`, bg)}, 404, `{"message":"404 Namespace Not Found"}`},
			{"project: blank name on edit", call{"PUT", fmt.Sprintf("/api/v4/projects/%d", secret), "root", jsonCT, `{"name":""}`}, 400, `{"error":"name is empty"}`},
			{"project: malformed JSON", call{"POST", "/api/v4/projects", "root", jsonCT, `{"name": "x",`}, 400, `{"error":"message body does not match declared format"}`},
			{"project: wrong content type", call{"POST", "/api/v4/projects", "root", "text/plain", `name=x`}, 415, `{"error":"The provided content-type 'text/plain' is not supported."}`},
			{"project: oversized body", call{"POST", "/api/v4/projects", "root", jsonCT, `{"name":"` + strings.Repeat("x", 9<<20) + `"}`}, 413, `{"message":"413 Request Entity Too Large"}`},
			{"list: page not an integer", call{"GET", "/api/v4/projects?page=abc", "root", "", ""}, 400, `{"error":"page is invalid"}`},
			{"list: per_page not an integer", call{"GET", "/api/v4/groups?per_page=lots", "root", "", ""}, 400, `{"error":"per_page is invalid"}`},
			{"list: bad order_by", call{"GET", "/api/v4/projects?order_by=stars", "root", "", ""}, 400, `{"error":"order_by does not have a valid value"}`},
			{"auth: no token writing", call{"POST", "/api/v4/groups", "", jsonCT, `{"name":"x","path":"x"}`}, 401, `{"message":"401 Unauthorized"}`},
			{"auth: unknown token", call{"GET", "/api/v4/projects", "bad", "", ""}, 401, `{"message":"401 Unauthorized"}`},
			{"auth: revoked token", call{"POST", "/api/v4/groups", "revoked", jsonCT, `{"name":"x","path":"x"}`}, 401, `{"error":"invalid_token","error_description":"Token was revoked. You have to re-authorize from the user."}`},
			{"auth: expired token", call{"POST", "/api/v4/groups", "expired", jsonCT, `{"name":"x","path":"x"}`}, 401, `{"error":"invalid_token","error_description":"Token has expired."}`},
			{"auth: read_api token writing", call{"POST", "/api/v4/groups", "readapi", jsonCT, `{"name":"x","path":"x"}`}, 403, `{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token.","scope":"api"}`},
			{"user: non-admin creates", call{"POST", "/api/v4/users", "alice", jsonCT, `{"username":"x","name":"x","email":"x@example.com","password":"s3cret-pass"}`}, 403, `{"message":"403 Forbidden"}`},
			{"user: no password option", call{"POST", "/api/v4/users", "root", jsonCT, `{"username":"x","name":"x","email":"x@example.com"}`}, 400, `{"error":"password, reset_password, force_random_password are missing, at least one parameter must be provided"}`},
			{"user: missing fields", call{"POST", "/api/v4/users", "root", jsonCT, `{"password":"s3cret-pass"}`}, 400, `{"error":"email is missing, name is missing, username is missing"}`},
			{"user: username taken", call{"POST", "/api/v4/users", "root", jsonCT, `{"username":"Alice","name":"x","email":"x@example.com","password":"s3cret-pass"}`}, 409, `{"message":"Username has already been taken"}`},
			{"user: email taken", call{"POST", "/api/v4/users", "root", jsonCT, `{"username":"x","name":"x","email":"ALICE@example.com","password":"s3cret-pass"}`}, 409, `{"message":"Email has already been taken"}`},
			{"user: invalid email", call{"POST", "/api/v4/users", "root", jsonCT, `{"username":"x","name":"x","email":"nope","password":"s3cret-pass"}`}, 400, `{"error":"email is invalid"}`},
			{"user: unknown id", call{"GET", "/api/v4/users/99999", "root", "", ""}, 404, `{"message":"404 User Not Found"}`},
			{"user: non-numeric id", call{"GET", "/api/v4/users/abc", "root", "", ""}, 404, `{"message":"404 User Not Found"}`},
			{"user: edit to taken username", call{"PUT", fmt.Sprintf("/api/v4/users/%d", ids["alice"]), "root", jsonCT, `{"username":"bob"}`}, 409, `{"message":"Username has already been taken"}`},
			{"token: bad scope", call{"POST", fmt.Sprintf("/api/v4/users/%d/personal_access_tokens", ids["alice"]), "root", jsonCT, `{"name":"t","scopes":["sudo"]}`}, 400, `{"error":"scopes does not have a valid value"}`},
			{"token: missing scopes", call{"POST", fmt.Sprintf("/api/v4/users/%d/personal_access_tokens", ids["alice"]), "root", jsonCT, `{"name":"t"}`}, 400, `{"error":"scopes is missing"}`},
			{"token: revoke another's", call{"DELETE", fmt.Sprintf("/api/v4/personal_access_tokens/%d", ids["root_token"]), "alice", "", ""}, 404, `{"message":"404 Not Found"}`},
			{"member: bad access level", call{"POST", fmt.Sprintf("/api/v4/groups/%d/members", bg), "root", jsonCT, fmt.Sprintf(`{"user_id":%d,"access_level":15}`, ids["alice"])}, 400, `{"error":"access_level does not have a valid value"}`},
			{"member: missing access level", call{"POST", fmt.Sprintf("/api/v4/groups/%d/members", bg), "root", jsonCT, fmt.Sprintf(`{"user_id":%d}`, ids["alice"])}, 400, `{"error":"access_level is missing"}`},
			{"member: already exists", call{"POST", fmt.Sprintf("/api/v4/groups/%d/members", bg), "root", jsonCT, fmt.Sprintf(`{"user_id":%d,"access_level":30}`, ids["bob"])}, 409, `{"message":"Member already exists"}`},
			{"member: unknown user", call{"POST", fmt.Sprintf("/api/v4/projects/%d/members", secret), "root", jsonCT, `{"user_id":99999,"access_level":30}`}, 404, `{"message":"404 User Not Found"}`},
			{"member: demote one of two owners", call{"PUT", fmt.Sprintf("/api/v4/groups/%d/members/%d", bg, ids["bob"]), "bob", jsonCT, `{"access_level":30}`}, 200, ""},
			{"member: demote the last owner", call{"PUT", fmt.Sprintf("/api/v4/groups/%d/members/1", bg), "root", jsonCT, `{"access_level":30}`}, 403, `{"message":"403 Forbidden - A group must have at least one owner"}`},
			{"member: developer removes another", call{"DELETE", fmt.Sprintf("/api/v4/groups/%d/members/1", bg), "bob", "", ""}, 403, `{"message":"403 Forbidden"}`},
			{"route: unknown", call{"GET", "/api/v4/nothing/here", "root", "", ""}, 404, `{"error":"404 Not Found"}`},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				before := snapshot(t, st)
				status, body, _ := do(t, in.URL, tokens, c.call)
				if status != c.wantStatus || (c.wantBody != "" && body != c.wantBody) {
					t.Fatalf("got %d %s\nwant %d %s", status, body, c.wantStatus, c.wantBody)
				}
				if status >= 400 {
					if after := snapshot(t, st); after != before {
						t.Fatalf("a failed request changed stored records")
					}
				}
			})
		}

		// Out-of-range paging is clamped as GitLab does, not refused.
		for _, tc := range []struct{ query, header, want string }{
			{"per_page=1000", "X-Per-Page", "100"},
			{"per_page=0", "X-Per-Page", "20"},
			{"page=-1", "X-Page", "1"},
		} {
			status, _, h := do(t, in.URL, tokens, call{"GET", "/api/v4/projects?" + tc.query, "root", "", ""})
			if status != 200 || h.Get(tc.header) != tc.want {
				t.Errorf("%s: status %d %s=%q, want %s", tc.query, status, tc.header, h.Get(tc.header), tc.want)
			}
		}

		// A form-encoded body works like JSON (python-gitlab, curl -d).
		status, body, _ := do(t, in.URL, tokens, call{"POST", "/api/v4/groups", "root", "application/x-www-form-urlencoded", "name=Form+Group&path=form-group&visibility=internal"})
		if status != 201 || !strings.Contains(body, `"full_path":"form-group"`) || !strings.Contains(body, `"visibility":"internal"`) {
			t.Fatalf("form body: %d %s", status, body)
		}
		// curl --data '{…}' without a Content-Type, as GitLab's own
		// examples do: a body that is one JSON object is read as JSON.
		for _, tc := range []struct{ body, want string }{
			{`{"name": "Curl Group", "path": "curl-group"}`, `"full_path":"curl-group"`},
			{` {"name": "Curl Group 2", "path": "curl-group-2"} `, `"full_path":"curl-group-2"`},
		} {
			status, body, _ := do(t, in.URL, tokens, call{"POST", "/api/v4/groups", "root", "application/x-www-form-urlencoded", tc.body})
			if status != 201 || !strings.Contains(body, tc.want) {
				t.Errorf("JSON labelled as a form %s: %d %s", tc.body, status, body)
			}
		}
		// Anything else stays a form: a form key that merely starts with "{".
		status, body, _ = do(t, in.URL, tokens, call{"POST", "/api/v4/groups", "root", "application/x-www-form-urlencoded", `{"name":"x"}{"path":"y"}`})
		if status != 400 {
			t.Errorf("two JSON objects as a form: %d %s, want 400 (read as a form: name and path missing)", status, body)
		}
	})
}

// TestHeadServesGetRoutes: curl -I works on GET routes, as on GitLab.
func TestHeadServesGetRoutes(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, storetest.Engines(t)[0], apptest.Options{})
	req, _ := http.NewRequest("HEAD", in.URL+"/api/v4/projects", nil)
	req.Header.Set("PRIVATE-TOKEN", in.RootToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Total") == "" {
		t.Fatalf("HEAD /projects: %d %v", resp.StatusCode, resp.Header)
	}
}
