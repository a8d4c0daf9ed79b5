package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/store"
)

// limitsFixture adds, beside root: alice and bob (plain users; bob owns the
// private group bobgroup and its project secret), boss (an administrator),
// frozen (blocked), and the public group pub with the public project open
// holding three issues and a merge request. Tokens: alice, bob and boss
// with api; alice_sudo (api+sudo on a non-admin, made behind the API's
// back), boss_sudo (api+sudo), boss_ro_sudo (read_api+sudo).
func limitsFixture(t *testing.T, in *apptest.Instance) (map[string]string, map[string]int64) {
	t.Helper()
	ctx := context.Background()
	tokens := map[string]string{"root": in.RootToken}
	ids := map[string]int64{}
	err := in.App.Store.Write(ctx, func(tx *store.Tx) error {
		for _, u := range []*ferry.User{
			{Username: "alice", Name: "Alice", Email: "alice@example.com"},
			{Username: "bob", Name: "Bob", Email: "bob@example.com"},
			{Username: "boss", Name: "Boss", Email: "boss@example.com", IsAdmin: true},
			{Username: "frozen", Name: "Frozen", Email: "frozen@example.com", State: "blocked"},
		} {
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			ids[u.Username] = u.ID
		}
		for name, tok := range map[string]*ferry.PersonalAccessToken{
			"alice":        {UserID: ids["alice"], Name: "api", Scopes: []string{"api"}},
			"alice_sudo":   {UserID: ids["alice"], Name: "sudo", Scopes: []string{"api", "sudo"}},
			"bob":          {UserID: ids["bob"], Name: "api", Scopes: []string{"api"}},
			"boss":         {UserID: ids["boss"], Name: "api", Scopes: []string{"api"}},
			"boss_sudo":    {UserID: ids["boss"], Name: "sudo", Scopes: []string{"api", "sudo"}},
			"boss_ro_sudo": {UserID: ids["boss"], Name: "ro sudo", Scopes: []string{"read_api", "sudo"}},
		} {
			if err := tx.CreateToken(ctx, tok); err != nil {
				return err
			}
			tokens[name] = tok.Token
		}
		for _, g := range []struct {
			path, project string
			owner         int64
			vis           ferry.Visibility
		}{{"bobgroup", "secret", ids["bob"], ferry.Private}, {"pub", "open", 1, ferry.Public}} {
			n := &ferry.Namespace{Kind: ferry.KindGroup, Name: g.path, Path: g.path, Visibility: g.vis}
			if err := tx.CreateNamespace(ctx, n); err != nil {
				return err
			}
			if err := tx.AddMember(ctx, &ferry.Member{SourceKind: store.MemberOfNamespace, SourceID: n.ID, UserID: g.owner, AccessLevel: ferry.OwnerAccess}); err != nil {
				return err
			}
			p := &ferry.Project{Name: g.project, Path: g.project, NamespaceID: n.ID, Visibility: g.vis, CreatorID: g.owner}
			if err := tx.CreateProject(ctx, p); err != nil {
				return err
			}
			ids[g.path], ids[g.project] = n.ID, p.ID
		}
		_, err := tx.WriteContent(ctx, ids["open"], []forge.Object{
			forge.Label{SourceID: gh("L1"), Name: "bug", Color: "#d9534f"},
			forge.Issue{SourceID: gh("I1"), IID: 1, Title: "One", Description: longDescription, State: forge.StateOpened, Author: octo, Labels: []string{"bug"},
				CreatedAt: at(1), UpdatedAt: at(1)},
			forge.Issue{SourceID: gh("I2"), IID: 2, Title: "Two", Description: longDescription, State: forge.StateOpened, Author: octo, Labels: []string{"bug"},
				CreatedAt: at(2), UpdatedAt: at(2)},
			forge.Issue{SourceID: gh("I3"), IID: 3, Title: "Three", State: forge.StateClosed, Author: octo, CreatedAt: at(3), UpdatedAt: at(3), ClosedAt: ptr(at(3))},
			forge.MergeRequest{SourceID: gh("P4"), IID: 4, Title: "Four", State: forge.StateOpened, SourceBranch: "f", TargetBranch: "main",
				Author: octo, CreatedAt: at(4), UpdatedAt: at(4)},
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return tokens, ids
}

// longDescription is that of the open issues: a search for 3000 o's
// matches both.
var longDescription = "Long " + strings.Repeat("o", 3000)

// repeat joins n copies of item with sep.
func repeat(item, sep string, n int) string {
	return strings.TrimSuffix(strings.Repeat(item+sep, n), sep)
}

// TestBadInputLimits: oversized or unparseable requests get GitLab's 4xx
// with a clear message, never a 500, and change nothing stored.
func TestBadInputLimits(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{}, func(t *testing.T, in *apptest.Instance) {
		tokens, ids := limitsFixture(t, in)
		open, pub, bg := ids["open"], ids["pub"], ids["bobgroup"]
		long := strings.Repeat("x", 50000)
		const tooLong = `{"error":"search is too long (maximum is 4096 characters)"}`
		const tooManyTerms = `{"error":"search has too many search terms (maximum is 64)"}`
		terms65 := repeat("ab", "+", 65)
		labels1000 := make([]string, 1000)
		for i := range labels1000 {
			labels1000[i] = fmt.Sprintf("label-%d", i)
		}
		sudoForbidden := `{"message":"403 Forbidden - Must be admin to use sudo"}`
		insufficient := func(scope string) string {
			return `{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token.","scope":"` + scope + `"}`
		}
		form := "application/x-www-form-urlencoded"

		cases := []struct {
			name       string
			call       call
			wantStatus int
			wantBody   string // exact JSON object; "" checks the status only
		}{
			// 1. search: Gitlab::Search::Params's limits, on every list.
			{"search: users, anonymous", call{"GET", "/api/v4/users?search=" + long, "", "", ""}, 400, tooLong},
			{"search: projects", call{"GET", "/api/v4/projects?search=" + long, "", "", ""}, 400, tooLong},
			{"search: groups", call{"GET", "/api/v4/groups?search=" + long, "", "", ""}, 400, tooLong},
			{"search: subgroups", call{"GET", fmt.Sprintf("/api/v4/groups/%d/subgroups?search=%s", pub, long), "", "", ""}, 400, tooLong},
			{"search: group projects", call{"GET", fmt.Sprintf("/api/v4/groups/%d/projects?search=%s", pub, long), "", "", ""}, 400, tooLong},
			{"search: namespaces", call{"GET", "/api/v4/namespaces?search=" + long, "root", "", ""}, 400, tooLong},
			{"search: project issues", call{"GET", fmt.Sprintf("/api/v4/projects/%d/issues?search=%s", open, long), "", "", ""}, 400, tooLong},
			{"search: all issues", call{"GET", "/api/v4/issues?scope=all&search=" + long, "root", "", ""}, 400, tooLong},
			{"search: project merge requests", call{"GET", fmt.Sprintf("/api/v4/projects/%d/merge_requests?search=%s", open, long), "", "", ""}, 400, tooLong},
			{"search: all merge requests", call{"GET", "/api/v4/merge_requests?scope=all&search=" + long, "root", "", ""}, 400, tooLong},
			{"search: project labels", call{"GET", fmt.Sprintf("/api/v4/projects/%d/labels?search=%s", open, long), "", "", ""}, 400, tooLong},
			{"search: group labels", call{"GET", fmt.Sprintf("/api/v4/groups/%d/labels?search=%s", pub, long), "", "", ""}, 400, tooLong},
			{"search: project milestones", call{"GET", fmt.Sprintf("/api/v4/projects/%d/milestones?search=%s", open, long), "", "", ""}, 400, tooLong},
			{"search: group milestones", call{"GET", fmt.Sprintf("/api/v4/groups/%d/milestones?search=%s", pub, long), "", "", ""}, 400, tooLong},
			{"search: protected branches", call{"GET", fmt.Sprintf("/api/v4/projects/%d/protected_branches?search=%s", open, long), "root", "", ""}, 400, tooLong},
			{"search: branches", call{"GET", fmt.Sprintf("/api/v4/projects/%d/repository/branches?search=%s", open, long), "root", "", ""}, 400, tooLong},
			{"search: tags", call{"GET", fmt.Sprintf("/api/v4/projects/%d/repository/tags?search=%s", open, long), "root", "", ""}, 400, tooLong},
			{"search: project members", call{"GET", fmt.Sprintf("/api/v4/projects/%d/members?query=%s", open, long), "", "", ""}, 400,
				`{"error":"query is too long (maximum is 4096 characters)"}`},
			{"search: inherited group members", call{"GET", fmt.Sprintf("/api/v4/groups/%d/members/all?query=%s", pub, long), "root", "", ""}, 400,
				`{"error":"query is too long (maximum is 4096 characters)"}`},
			{"search: characters, not bytes, are counted", call{"GET", "/api/v4/projects?search=" + strings.Repeat("%C3%A9", 4097), "", "", ""}, 400, tooLong},
			{"search: 4096 characters is fine", call{"GET", "/api/v4/projects?search=" + strings.Repeat("%C3%A9", 4096), "", "", ""}, 200, ""},
			{"search: too many terms, issues", call{"GET", fmt.Sprintf("/api/v4/projects/%d/issues?search=%s", open, terms65), "", "", ""}, 400, tooManyTerms},
			{"search: too many terms, merge requests", call{"GET", "/api/v4/merge_requests?scope=all&search=" + terms65, "root", "", ""}, 400, tooManyTerms},
			{"search: 64 terms is fine", call{"GET", fmt.Sprintf("/api/v4/projects/%d/issues?search=%s", open, repeat("ab", "+", 64)), "", "", ""}, 200, ""},

			// 2. list filters: at most 100 items, whichever way they come.
			{"labels: 1000 comma-separated", call{"GET", fmt.Sprintf("/api/v4/projects/%d/issues?labels=%s", open, strings.Join(labels1000, ",")), "", "", ""}, 400,
				`{"error":"labels must contain at most 100 items"}`},
			{"labels: 101 repeated keys", call{"GET", "/api/v4/issues?scope=all&" + repeat("labels[]=bug", "&", 101), "root", "", ""}, 400,
				`{"error":"labels must contain at most 100 items"}`},
			{"labels: merge requests", call{"GET", fmt.Sprintf("/api/v4/projects/%d/merge_requests?labels=%s", open, strings.Join(labels1000, ",")), "", "", ""}, 400,
				`{"error":"labels must contain at most 100 items"}`},
			{"labels: 100 is fine", call{"GET", fmt.Sprintf("/api/v4/projects/%d/issues?labels=%s", open, strings.Join(labels1000[:100], ",")), "", "", ""}, 200, ""},
			{"iids: 101", call{"GET", fmt.Sprintf("/api/v4/projects/%d/issues?%s", open, repeat("iids[]=1", "&", 101)), "", "", ""}, 400,
				`{"error":"iids must contain at most 100 items"}`},
			{"iids: merge requests", call{"GET", fmt.Sprintf("/api/v4/projects/%d/merge_requests?%s", open, repeat("iids[]=1", "&", 101)), "", "", ""}, 400,
				`{"error":"iids must contain at most 100 items"}`},
			{"iids: milestones", call{"GET", fmt.Sprintf("/api/v4/projects/%d/milestones?%s", open, repeat("iids[]=1", "&", 101)), "", "", ""}, 400,
				`{"error":"iids must contain at most 100 items"}`},
			{"iids: 100 is fine", call{"GET", fmt.Sprintf("/api/v4/projects/%d/issues?%s", open, repeat("iids[]=1", "&", 100)), "", "", ""}, 200, ""},
			{"user_ids: members", call{"GET", fmt.Sprintf("/api/v4/projects/%d/members?user_ids=%s", open, repeat("1", ",", 101)), "", "", ""}, 400,
				`{"error":"user_ids must contain at most 100 items"}`},

			// 3. a query or form that does not parse is refused, not half-read.
			{"query: 10001 parameters", call{"GET", fmt.Sprintf("/api/v4/projects/%d/issues?state=closed&%s", open, repeat("x=1", "&", 10000)), "", "", ""}, 400,
				`{"error":"too many parameters in query string (10001, maximum is 4096)"}`},
			{"query: 4097 parameters", call{"GET", "/api/v4/users?" + repeat("x=1", "&", 4097), "", "", ""}, 400,
				`{"error":"too many parameters in query string (4097, maximum is 4096)"}`},
			{"query: 4096 parameters is fine", call{"GET", "/api/v4/users?" + repeat("x=1", "&", 4096), "", "", ""}, 200, ""},
			{"query: bad %-encoding", call{"GET", "/api/v4/projects?search=%zz", "", "", ""}, 400, `{"error":"invalid %-encoding in query string (%zz)"}`},
			{"query: truncated %-encoding", call{"GET", "/api/v4/projects?search=a%4", "", "", ""}, 400, `{"error":"invalid %-encoding in query string (%4)"}`},
			{"query: semicolon separator", call{"GET", fmt.Sprintf("/api/v4/projects/%d/issues?state=closed;labels=bug", open), "", "", ""}, 400,
				`{"error":"invalid semicolon separator in query string"}`},
			{"query: bad query on a write", call{"POST", "/api/v4/groups?x=%zz", "root", jsonCT, `{"name":"x","path":"x"}`}, 400,
				`{"error":"invalid %-encoding in query string (%zz)"}`},
			{"query: on a git path", call{"GET", "/pub/open.git/info/refs?service=git-upload-pack&x=%zz", "", "", ""}, 400,
				`{"error":"invalid %-encoding in query string (%zz)"}`},
			{"query: on an upload path", call{"GET", "/pub/open/uploads/0123456789abcdef0123456789abcdef/a.png?x=%zz", "", "", ""}, 400,
				`{"error":"invalid %-encoding in query string (%zz)"}`},
			{"form: too many parameters", call{"POST", "/api/v4/groups", "root", form, "name=x&path=x&" + strings.Repeat("&", 5000)}, 400,
				`{"error":"too many parameters in request body (5003, maximum is 4096)"}`},
			{"form: bad %-encoding", call{"POST", "/api/v4/groups", "root", form, "name=%zz&path=x"}, 400, `{"error":"invalid %-encoding in request body (%zz)"}`},
			{"form: semicolon separator", call{"POST", "/api/v4/groups", "root", form, "name=x;path=x"}, 400, `{"error":"invalid semicolon separator in request body"}`},

			// 7. Sudo: an administrator's token with the sudo scope only.
			{"sudo: anonymous", call{"GET", "/api/v4/user?sudo=alice", "", "", ""}, 401, `{"message":"401 Unauthorized"}`},
			{"sudo: non-admin", call{"GET", "/api/v4/user?sudo=bob", "alice", "", ""}, 403, sudoForbidden},
			{"sudo: non-admin with the sudo scope", call{"GET", "/api/v4/user?sudo=bob", "alice_sudo", "", ""}, 403, sudoForbidden},
			{"sudo: admin without the sudo scope", call{"GET", "/api/v4/user?sudo=alice", "root", "", ""}, 403, insufficient("sudo")},
			{"sudo: sudo scope without api, writing", call{"POST", "/api/v4/groups?sudo=alice", "boss_ro_sudo", jsonCT, `{"name":"x","path":"x"}`}, 403, insufficient("api")},
			{"sudo: unknown username", call{"GET", "/api/v4/user?sudo=nobody", "boss_sudo", "", ""}, 404, `{"message":"404 User with ID or username 'nobody' Not Found"}`},
			{"sudo: unknown id", call{"GET", "/api/v4/user?sudo=99999", "boss_sudo", "", ""}, 404, `{"message":"404 User with ID or username '99999' Not Found"}`},
			{"sudo: blocked user", call{"GET", "/api/v4/user?sudo=frozen", "boss_sudo", "", ""}, 403,
				`{"message":"403 Forbidden - You cannot impersonate a user who cannot log in"}`},
			{"sudo: acts with the user's rights, reading", call{"GET", "/api/v4/projects/bobgroup%2Fsecret?sudo=alice", "boss_sudo", "", ""}, 404,
				`{"message":"404 Project Not Found"}`},
			{"sudo: acts with the user's rights, writing", call{"POST", "/api/v4/groups?sudo=alice", "boss_sudo", jsonCT,
				fmt.Sprintf(`{"name":"x","path":"x","parent_id":%d}`, bg)}, 404, `{"message":"404 Group Not Found"}`},
			{"sudo: scope only for administrators", call{"POST", fmt.Sprintf("/api/v4/users/%d/personal_access_tokens", ids["alice"]), "root", jsonCT,
				`{"name":"t","scopes":["api","sudo"]}`}, 400, `{"error":"scopes does not have a valid value"}`},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				before := snapshot(t, in.App.Store)
				status, body, _ := do(t, in.URL, tokens, c.call)
				if status != c.wantStatus || (c.wantBody != "" && body != c.wantBody) {
					t.Fatalf("got %d %.300s\nwant %d %s", status, body, c.wantStatus, c.wantBody)
				}
				if status >= 400 {
					if after := snapshot(t, in.App.Store); after != before {
						t.Fatalf("a refused request changed stored records")
					}
				}
			})
		}

		// The filters of a query that parses do apply (they were silently
		// dropped past Go's parameter limit).
		status, body, _ := do(t, in.URL, tokens, call{"GET", fmt.Sprintf("/api/v4/projects/%d/issues?state=closed&%s", open, repeat("x=1", "&", 4000)), "", "", ""})
		if status != 200 || strings.Count(body, `"iid":`) != 1 || !strings.Contains(body, `"iid":3`) {
			t.Errorf("state=closed among 4001 parameters: %d %.300s", status, body)
		}
	})
}

// TestPaginationLinks: Link carries what the endpoint read, not the raw
// query: no ignored parameter, no credential, and no header larger than a
// few kilobytes.
func TestPaginationLinks(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{}, func(t *testing.T, in *apptest.Instance) {
		tokens, ids := limitsFixture(t, in)
		issues := fmt.Sprintf("/api/v4/projects/%d/issues", ids["open"])
		junk := strings.Repeat("j", 60000)
		tests := []struct {
			name, token, query string
			want, wantNot      []string // substrings of the next link
			noLink             bool
		}{
			{"read filters kept, ignored ones dropped", "", "state=opened&labels[]=bug&per_page=1&junk=" + junk,
				[]string{"labels%5B%5D=bug", "state=opened", "page=2", "per_page=1"}, []string{"junk"}, false},
			{"credentials never echoed", "", "per_page=1&state=opened&private_token=" + tokens["alice"],
				[]string{"state=opened"}, []string{"private_token", tokens["alice"]}, false},
			{"sudo kept, so the next page acts as the same user", "boss_sudo", "per_page=1&state=opened&sudo=alice",
				[]string{"sudo=alice"}, nil, false},
			{"a read parameter too long for a link: no Link", "", "per_page=1&state=opened&search=" + strings.Repeat("o", 3000),
				nil, nil, true},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				status, body, h := do(t, in.URL, tokens, call{"GET", issues + "?" + tc.query, tc.token, "", ""})
				if status != 200 {
					t.Fatalf("%d %.300s", status, body)
				}
				if h.Get("X-Next-Page") != "2" || h.Get("X-Total") != "2" {
					t.Errorf("X-Next-Page %q X-Total %q, want 2 and 2", h.Get("X-Next-Page"), h.Get("X-Total"))
				}
				link := h.Get("Link")
				if tc.noLink {
					if link != "" {
						t.Errorf("Link of %d bytes, want none", len(link))
					}
					return
				}
				if len(link) > 4*2048+1024 {
					t.Errorf("Link is %d bytes", len(link))
				}
				var next string
				for _, l := range strings.Split(link, ", ") {
					if strings.HasSuffix(l, `rel="next"`) {
						next = l
					}
				}
				for _, w := range tc.want {
					if !strings.Contains(next, w) {
						t.Errorf("next link %q lacks %q", next, w)
					}
				}
				for _, w := range tc.wantNot {
					if strings.Contains(link, w) {
						t.Errorf("Link %.200q contains %.40q", link, w)
					}
				}
				// Following it gives the second page of the same list.
				u := strings.TrimSuffix(strings.TrimPrefix(next, "<"), `>; rel="next"`)
				if _, err := url.Parse(u); err != nil {
					t.Fatalf("next link %q: %v", u, err)
				}
				status, body, _ = do(t, "", tokens, call{"GET", u, tc.token, "", ""})
				if status != 200 || strings.Count(body, `"iid":`) != 1 || !strings.Contains(body, `"iid":1`) {
					t.Errorf("next page: %d %.300s", status, body)
				}
			})
		}
	})
}

// TestSudo: an administrator's token with the sudo scope acts as the user
// named by the Sudo header or the sudo parameter, by username or id.
func TestSudo(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{}, func(t *testing.T, in *apptest.Instance) {
		tokens, ids := limitsFixture(t, in)
		get := func(path string, hdr map[string]string) (int, string) {
			t.Helper()
			req, _ := http.NewRequest("GET", in.URL+path, nil)
			req.Header.Set("PRIVATE-TOKEN", tokens["boss_sudo"])
			for k, v := range hdr {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		for _, tc := range []struct {
			name, path string
			hdr        map[string]string
			want       string
		}{
			{"header, username", "/api/v4/user", map[string]string{"Sudo": "alice"}, `"username":"alice"`},
			{"header, username in another case", "/api/v4/user", map[string]string{"Sudo": "ALICE"}, `"username":"alice"`},
			{"header, id", "/api/v4/user", map[string]string{"Sudo": fmt.Sprint(ids["bob"])}, `"username":"bob"`},
			{"parameter", "/api/v4/user?sudo=bob", nil, `"username":"bob"`},
			{"parameter wins over header", "/api/v4/user?sudo=bob", map[string]string{"Sudo": "alice"}, `"username":"bob"`},
			{"no sudo: the administrator", "/api/v4/user", nil, `"username":"boss"`},
			{"as bob, bob's private project", "/api/v4/projects/bobgroup%2Fsecret", map[string]string{"Sudo": "bob"}, `"path_with_namespace":"bobgroup/secret"`},
			{"the token is still the administrator's", "/api/v4/personal_access_tokens/self", map[string]string{"Sudo": "alice"},
				fmt.Sprintf(`"user_id":%d`, ids["boss"])},
		} {
			t.Run(tc.name, func(t *testing.T) {
				status, body := get(tc.path, tc.hdr)
				if status != 200 || !strings.Contains(body, tc.want) {
					t.Fatalf("%d %.300s, want 200 with %s", status, body, tc.want)
				}
			})
		}

		// Writing as alice: the group is hers.
		status, body, _ := do(t, in.URL, tokens, call{"POST", "/api/v4/groups?sudo=alice", "boss_sudo", jsonCT, `{"name":"Alices","path":"alices"}`})
		if status != 201 {
			t.Fatalf("create group as alice: %d %s", status, body)
		}
		status, body, _ = do(t, in.URL, tokens, call{"GET", "/api/v4/groups/alices/members", "alice", "", ""})
		if status != 200 || !strings.Contains(body, `"username":"alice"`) || !strings.Contains(body, `"access_level":50`) {
			t.Fatalf("members of the group created as alice: %d %s", status, body)
		}

		// An administrator may be given a sudo token through the API.
		status, body, _ = do(t, in.URL, tokens, call{"POST", fmt.Sprintf("/api/v4/users/%d/personal_access_tokens", ids["boss"]), "root", jsonCT,
			`{"name":"sudo","scopes":["api","sudo"]}`})
		if status != 201 || !strings.Contains(body, `"scopes":["api","sudo"]`) {
			t.Fatalf("sudo token for an administrator: %d %s", status, body)
		}
	})
}
