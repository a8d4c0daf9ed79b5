package api_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/gitstore"
	"github.com/ferry-import/ferry/store"
)

// GitLab's model validation messages (lib/gitlab/regex.rb,
// lib/gitlab/path_regex.rb, app/models/member.rb).
const (
	msgProjectName = "can contain only letters, digits, emoji, '_', '.', '+', dashes, or spaces. It must start with a letter, digit, emoji, or '_'."
	msgGroupName   = "can contain only letters, digits, emoji, '_', '.', dash, space, parenthesis. It must start with letter, digit, emoji or '_'."
	msgOCIPath     = "can only include non-accented letters, digits, '_', '-' and '.'. It must not start with '-', '_', or '.', nor end with '-', '_', '.', '.git', or '.atom'."
	msgGroupPath   = "can contain only letters, digits, '_', '-' and '.'. Cannot start with '-' or end in '.', '.git' or '.atom'."
	msgProjectPath = "can contain only letters, digits, '_', '-' and '.'. Cannot start with '-', end in '.git' or end in '.atom'"
)

// fieldBody is GitLab's render_validation_error! body for one attribute.
func fieldBody(field string, msgs ...string) string {
	return fmt.Sprintf(`{"message":{%q:["%s"]}}`, field, strings.Join(msgs, `","`))
}

// withRepository gives project id a real repository with branches main
// (HEAD) and feature, made with git and brought in as an import would.
func withRepository(t *testing.T, in *apptest.Instance, id int64) {
	t.Helper()
	work := t.TempDir()
	gitOK(t, work, "init", "--quiet", "-b", "main")
	gitOK(t, work, "commit", "--quiet", "--allow-empty", "-m", "first")
	gitOK(t, work, "branch", "feature")
	bundle := filepath.Join(t.TempDir(), "repo.bundle")
	gitOK(t, work, "bundle", "create", "--quiet", bundle, "--all")
	ctx := context.Background()
	if err := in.App.Git.FetchBundle(ctx, id, bundle, gitstore.GitHubRefspecs()...); err != nil {
		t.Fatal(err)
	}
	if err := in.App.Git.SetDefaultBranch(ctx, id, "main"); err != nil {
		t.Fatal(err)
	}
}

// TestBadInputValidation: what GitLab's models refuse is refused with
// GitLab's status and message, and a refused request changes nothing, in
// the database or in the repository's HEAD.
func TestBadInputValidation(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{}, func(t *testing.T, in *apptest.Instance) {
		ctx := context.Background()
		st := in.App.Store
		tokens := map[string]string{"root": in.RootToken}
		ids := map[string]int64{}
		err := st.Write(ctx, func(tx *store.Tx) error {
			alice := &ferry.User{Username: "alice", Name: "alice", Email: "alice@example.com"}
			if err := tx.CreateUser(ctx, alice); err != nil {
				return err
			}
			tok := &ferry.PersonalAccessToken{UserID: alice.ID, Name: "api", Scopes: []string{"api"}}
			if err := tx.CreateToken(ctx, tok); err != nil {
				return err
			}
			tokens["alice"] = tok.Token
			ghost := &ferry.User{Username: "ghost_placeholder_user_1", Name: "Placeholder ghost", Email: "ghost@placeholder.invalid", Placeholder: true}
			if err := tx.CreateUser(ctx, ghost); err != nil {
				return err
			}
			g := &ferry.Namespace{Kind: ferry.KindGroup, Name: "Valid Group", Path: "vgroup", Visibility: ferry.Private}
			if err := tx.CreateNamespace(ctx, g); err != nil {
				return err
			}
			if err := tx.AddMember(ctx, &ferry.Member{SourceKind: store.MemberOfNamespace, SourceID: g.ID, UserID: 1, AccessLevel: ferry.OwnerAccess}); err != nil {
				return err
			}
			for _, name := range []string{"empty", "repo"} {
				p := &ferry.Project{Name: name, Path: name, NamespaceID: g.ID, Visibility: ferry.Private, CreatorID: 1}
				if err := tx.CreateProject(ctx, p); err != nil {
					return err
				}
				ids[name] = p.ID
			}
			ids["alice"], ids["ghost"], ids["vgroup"] = alice.ID, ghost.ID, g.ID
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// A placeholder's membership from before the rule, written behind
		// the store's back, so that PUT on it can be tried.
		if _, err := st.DB().ExecContext(ctx, `INSERT INTO members (source_kind, source_id, user_id, access_level, created_at, updated_at)
			VALUES ('project', $1, $2, 30, $3, $3)`, ids["repo"], ids["ghost"], st.Now()); err != nil {
			t.Fatal(err)
		}
		withRepository(t, in, ids["repo"])
		vg, empty, repo, alice, ghost := ids["vgroup"], ids["empty"], ids["repo"], ids["alice"], ids["ghost"]
		long := func(n int) string { return strings.Repeat("a", n) }
		head := func() string {
			b, err := in.App.Git.DefaultBranch(ctx, repo)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		notBranch := `{"message":{"base":["Could not change HEAD: branch '%s' does not exist"]}}`

		cases := []struct {
			name       string
			call       call
			wantStatus int
			wantBody   string
		}{
			// 1. default_branch
			{"default branch: path traversal, repository with branches", call{"PUT", fmt.Sprintf("/api/v4/projects/%d", repo), "root", jsonCT, `{"default_branch":"../../x"}`}, 400, fmt.Sprintf(notBranch, "../../x")},
			{"default branch: no such branch", call{"PUT", fmt.Sprintf("/api/v4/projects/%d", repo), "root", jsonCT, `{"default_branch":"nosuch"}`}, 400, fmt.Sprintf(notBranch, "nosuch")},
			{"default branch: a tag-like ref is no branch", call{"PUT", fmt.Sprintf("/api/v4/projects/%d", repo), "root", jsonCT, `{"default_branch":"refs/heads/main"}`}, 400, fmt.Sprintf(notBranch, "refs/heads/main")},
			{"default branch: with a valid rename, nothing is renamed", call{"PUT", fmt.Sprintf("/api/v4/projects/%d", repo), "root", jsonCT, `{"name":"renamed","default_branch":"nosuch"}`}, 400, fmt.Sprintf(notBranch, "nosuch")},
			{"default branch: invalid name, empty repository", call{"PUT", fmt.Sprintf("/api/v4/projects/%d", empty), "root", jsonCT, `{"default_branch":"../../x"}`}, 400, fieldBody("default_branch", "is invalid")},
			{"default branch: lock suffix, empty repository", call{"PUT", fmt.Sprintf("/api/v4/projects/%d", empty), "root", jsonCT, `{"default_branch":"main.lock"}`}, 400, fieldBody("default_branch", "is invalid")},
			{"default branch: invalid name on create", call{"POST", "/api/v4/projects", "root", jsonCT, fmt.Sprintf(`{"name":"newproj","namespace_id":%d,"default_branch":"bad..name"}`, vg)}, 400, fieldBody("default_branch", "is invalid")},
			{"default branch: space on create", call{"POST", "/api/v4/projects", "root", jsonCT, fmt.Sprintf(`{"name":"newproj","namespace_id":%d,"default_branch":"a b"}`, vg)}, 400, fieldBody("default_branch", "is invalid")},
			// 2. name and path formats
			{"project: name with a slash", call{"POST", "/api/v4/projects", "root", jsonCT, fmt.Sprintf(`{"name":"../x","namespace_id":%d}`, vg)}, 400, fieldBody("name", msgProjectName)},
			{"project: path with a slash", call{"POST", "/api/v4/projects", "root", jsonCT, fmt.Sprintf(`{"name":"ok","path":"../x","namespace_id":%d}`, vg)}, 400, fieldBody("path", msgProjectPath, msgOCIPath)},
			{"project: path ending in .git", call{"POST", "/api/v4/projects", "root", jsonCT, fmt.Sprintf(`{"name":"ok","path":"foo.git","namespace_id":%d}`, vg)}, 400, fieldBody("path", msgProjectPath)},
			{"project: path with consecutive specials", call{"POST", "/api/v4/projects", "root", jsonCT, fmt.Sprintf(`{"name":"ok","path":"a--b","namespace_id":%d}`, vg)}, 400, fieldBody("path", msgOCIPath)},
			{"project: reserved path", call{"POST", "/api/v4/projects", "root", jsonCT, fmt.Sprintf(`{"name":"ok","path":"api","namespace_id":%d}`, vg)}, 400, fieldBody("path", "api is a reserved name")},
			{"project: name with a slash on edit", call{"PUT", fmt.Sprintf("/api/v4/projects/%d", empty), "root", jsonCT, `{"name":"../x"}`}, 400, fieldBody("name", msgProjectName)},
			{"project: path starting with a dash on edit", call{"PUT", fmt.Sprintf("/api/v4/projects/%d", empty), "root", jsonCT, `{"path":"-x"}`}, 400, fieldBody("path", msgProjectPath, msgOCIPath)},
			{"project: blank path on edit", call{"PUT", fmt.Sprintf("/api/v4/projects/%d", empty), "root", jsonCT, `{"path":" "}`}, 400, `{"error":"path is empty"}`},
			{"group: name with a slash", call{"POST", "/api/v4/groups", "root", jsonCT, `{"name":"../x","path":"x1"}`}, 400, fieldBody("name", msgGroupName)},
			{"group: name with a plus", call{"POST", "/api/v4/groups", "root", jsonCT, `{"name":"a+b","path":"x1"}`}, 400, fieldBody("name", msgGroupName)},
			{"group: path starting with a dash", call{"POST", "/api/v4/groups", "root", jsonCT, `{"name":"x","path":"-x"}`}, 400, fieldBody("path", msgOCIPath, msgGroupPath)},
			{"group: path with a slash", call{"POST", "/api/v4/groups", "root", jsonCT, `{"name":"x","path":"../x"}`}, 400, fieldBody("path", msgOCIPath, msgGroupPath)},
			{"group: reserved path", call{"POST", "/api/v4/groups", "root", jsonCT, `{"name":"x","path":"api"}`}, 400, fieldBody("path", "api is a reserved name")},
			{"group: path ending in .atom on edit", call{"PUT", fmt.Sprintf("/api/v4/groups/%d", vg), "root", jsonCT, `{"path":"feed.atom"}`}, 400, fieldBody("path", msgGroupPath)},
			{"group: name with a slash on edit", call{"PUT", fmt.Sprintf("/api/v4/groups/%d", vg), "root", jsonCT, `{"name":"a/b"}`}, 400, fieldBody("name", msgGroupName)},
			// 3. parent_id=0
			{"group: parent_id 0", call{"POST", "/api/v4/groups", "root", jsonCT, `{"name":"x","path":"x1","parent_id":0}`}, 404, `{"message":"404 Group Not Found"}`},
			{"group: parent_id 0 as a form value", call{"POST", "/api/v4/groups", "root", "application/x-www-form-urlencoded", `name=x&path=x1&parent_id=0`}, 404, `{"message":"404 Group Not Found"}`},
			// 4. placeholders as members
			{"member: placeholder into a project", call{"POST", fmt.Sprintf("/api/v4/projects/%d/members", empty), "root", jsonCT, fmt.Sprintf(`{"user_id":%d,"access_level":30}`, ghost)}, 400, fieldBody("user_id", ferry.MemberPlaceholderMessage)},
			{"member: placeholder into a group as Owner", call{"POST", fmt.Sprintf("/api/v4/groups/%d/members", vg), "root", jsonCT, fmt.Sprintf(`{"user_id":%d,"access_level":50}`, ghost)}, 400, fieldBody("user_id", ferry.MemberPlaceholderMessage)},
			{"member: placeholder by username", call{"POST", fmt.Sprintf("/api/v4/groups/%d/members", vg), "root", jsonCT, `{"username":"ghost_placeholder_user_1","access_level":10}`}, 400, fieldBody("user_id", ferry.MemberPlaceholderMessage)},
			{"member: placeholder's old membership changed", call{"PUT", fmt.Sprintf("/api/v4/projects/%d/members/%d", repo, ghost), "root", jsonCT, `{"access_level":40}`}, 400, fieldBody("user_id", ferry.MemberPlaceholderMessage)},
			{"member: impossible expiry date", call{"PUT", fmt.Sprintf("/api/v4/projects/%d/members/%d", repo, ghost), "root", jsonCT, `{"access_level":30,"expires_at":"2024-13-45"}`}, 400, `{"error":"expires_at is invalid"}`},
			// 5. lengths
			{"token: name of 1 MB", call{"POST", fmt.Sprintf("/api/v4/users/%d/personal_access_tokens", alice), "root", jsonCT, `{"name":"` + long(1<<20) + `","scopes":["api"]}`}, 422, `{"message":"Name is too long (maximum is 255 characters)"}`},
			{"token: name of 256", call{"POST", fmt.Sprintf("/api/v4/users/%d/personal_access_tokens", alice), "root", jsonCT, `{"name":"` + long(256) + `","scopes":["api"]}`}, 422, `{"message":"Name is too long (maximum is 255 characters)"}`},
			{"token: impossible expiry date", call{"POST", fmt.Sprintf("/api/v4/users/%d/personal_access_tokens", alice), "root", jsonCT, `{"name":"t","scopes":["api"],"expires_at":"2024-13-45"}`}, 400, `{"error":"expires_at is invalid"}`},
			{"token: past expiry", call{"POST", fmt.Sprintf("/api/v4/users/%d/personal_access_tokens", alice), "root", jsonCT, `{"name":"t","scopes":["api"],"expires_at":"2020-01-01"}`}, 400, `{"message":"400 Bad request - Expiration date must be in the future"}`},
			{"token: for a placeholder", call{"POST", fmt.Sprintf("/api/v4/users/%d/personal_access_tokens", ghost), "root", jsonCT, `{"name":"t","scopes":["api"]}`}, 400, `{"message":"400 Bad request - placeholder users cannot have tokens"}`},
			{"project: description of 2001", call{"POST", "/api/v4/projects", "root", jsonCT, fmt.Sprintf(`{"name":"newproj","namespace_id":%d,"description":"%s"}`, vg, long(2001))}, 400, fieldBody("description", "is too long (maximum is 2000 characters)")},
			{"project: description of 2001 on edit", call{"PUT", fmt.Sprintf("/api/v4/projects/%d", empty), "root", jsonCT, fmt.Sprintf(`{"description":"%s"}`, long(2001))}, 400, fieldBody("description", "is too long (maximum is 2000 characters)")},
			{"project: name of 256", call{"POST", "/api/v4/projects", "root", jsonCT, fmt.Sprintf(`{"name":"%s","path":"longname","namespace_id":%d}`, long(256), vg)}, 400, fieldBody("name", "is too long (maximum is 255 characters)")},
			{"group: description of 501", call{"POST", "/api/v4/groups", "root", jsonCT, fmt.Sprintf(`{"name":"x","path":"x1","description":"%s"}`, long(501))}, 400, fieldBody("description", "is too long (maximum is 500 characters)")},
			{"group: description of 501 on edit", call{"PUT", fmt.Sprintf("/api/v4/groups/%d", vg), "root", jsonCT, fmt.Sprintf(`{"description":"%s"}`, long(501))}, 400, fieldBody("description", "is too long (maximum is 500 characters)")},
			{"group: name of 256", call{"POST", "/api/v4/groups", "root", jsonCT, fmt.Sprintf(`{"name":"%s","path":"x1"}`, long(256))}, 400, fieldBody("name", "is too long (maximum is 255 characters)")},
			{"user: name of 256", call{"POST", "/api/v4/users", "root", jsonCT, fmt.Sprintf(`{"username":"u1","name":"%s","email":"u1@example.com","password":"s3cret-pass"}`, long(256))}, 400, fieldBody("name", "is too long (maximum is 255 characters)")},
			{"user: username of 256", call{"POST", "/api/v4/users", "root", jsonCT, fmt.Sprintf(`{"username":"%s","name":"u1","email":"u1@example.com","password":"s3cret-pass"}`, long(256))}, 400, fieldBody("username", "is too long (maximum is 255 characters)")},
			{"user: password of 7", call{"POST", "/api/v4/users", "root", jsonCT, `{"username":"u1","name":"u1","email":"u1@example.com","password":"1234567"}`}, 400, fieldBody("password", "is too short (minimum is 8 characters)")},
			{"user: password of 129 on edit", call{"PUT", fmt.Sprintf("/api/v4/users/%d", alice), "root", jsonCT, fmt.Sprintf(`{"password":"%s"}`, long(129))}, 400, fieldBody("password", "is too long (maximum is 128 characters)")},
			{"user: email of 256 on edit", call{"PUT", fmt.Sprintf("/api/v4/users/%d", alice), "root", jsonCT, fmt.Sprintf(`{"email":"%s@example.com"}`, long(256-len("@example.com")+1))}, 400, fieldBody("email", "is too long (maximum is 255 characters)")},
			// 6. dates and enums of the lists
			{"users: bad order_by", call{"GET", "/api/v4/users?order_by=stars", "root", "", ""}, 400, `{"error":"order_by does not have a valid value"}`},
			{"users: bad sort", call{"GET", "/api/v4/users?sort=up", "root", "", ""}, 400, `{"error":"sort does not have a valid value"}`},
			{"users: both, in order", call{"GET", "/api/v4/users?order_by=x&sort=y", "root", "", ""}, 400, `{"error":"order_by does not have a valid value, sort does not have a valid value"}`},
			{"users: bad created_after", call{"GET", "/api/v4/users?created_after=garbage", "root", "", ""}, 400, `{"error":"created_after is invalid"}`},
			{"projects: impossible updated_before", call{"GET", "/api/v4/projects?updated_before=2024-13-45", "root", "", ""}, 400, `{"error":"updated_before is invalid"}`},
			{"projects: bad last_activity_after", call{"GET", "/api/v4/projects?last_activity_after=yesterday", "root", "", ""}, 400, `{"error":"last_activity_after is invalid"}`},
			{"projects: sort in capitals", call{"GET", "/api/v4/projects?sort=DESC", "root", "", ""}, 400, `{"error":"sort does not have a valid value"}`},
			{"groups: sort in capitals", call{"GET", "/api/v4/groups?sort=ASC", "root", "", ""}, 400, `{"error":"sort does not have a valid value"}`},
			{"groups: bad visibility", call{"GET", "/api/v4/groups?visibility=secret", "root", "", ""}, 400, `{"error":"visibility does not have a valid value"}`},
			{"subgroups: bad order_by", call{"GET", fmt.Sprintf("/api/v4/groups/%d/subgroups?order_by=size", vg), "root", "", ""}, 400, `{"error":"order_by does not have a valid value"}`},
			{"issues: bad created_after", call{"GET", "/api/v4/issues?created_after=garbage", "root", "", ""}, 400, `{"error":"created_after is invalid"}`},
			{"issues: bad updated_before", call{"GET", fmt.Sprintf("/api/v4/projects/%d/issues?updated_before=2024-02-30", repo), "root", "", ""}, 400, `{"error":"updated_before is invalid"}`},
			{"issues: bad due_date", call{"GET", fmt.Sprintf("/api/v4/projects/%d/issues?due_date=someday", repo), "root", "", ""}, 400, `{"error":"due_date does not have a valid value"}`},
			{"issues: bad scope", call{"GET", "/api/v4/issues?scope=mine", "root", "", ""}, 400, `{"error":"scope does not have a valid value"}`},
			{"merge requests: bad state", call{"GET", fmt.Sprintf("/api/v4/projects/%d/merge_requests?state=open", repo), "root", "", ""}, 400, `{"error":"state does not have a valid value"}`},
			{"releases: bad order_by", call{"GET", fmt.Sprintf("/api/v4/projects/%d/releases?order_by=name", repo), "root", "", ""}, 400, `{"error":"order_by does not have a valid value"}`},
			{"releases: bad sort", call{"GET", fmt.Sprintf("/api/v4/projects/%d/releases?sort=newest", repo), "root", "", ""}, 400, `{"error":"sort does not have a valid value"}`},
			{"milestones: bad state", call{"GET", fmt.Sprintf("/api/v4/projects/%d/milestones?state=open", repo), "root", "", ""}, 400, `{"error":"state does not have a valid value"}`},
			{"tokens: bad created_before", call{"GET", "/api/v4/personal_access_tokens?created_before=nope", "root", "", ""}, 400, `{"error":"created_before is invalid"}`},
			{"tokens: bad state", call{"GET", "/api/v4/personal_access_tokens?state=dead", "root", "", ""}, 400, `{"error":"state does not have a valid value"}`},
			{"tokens: bad last_used_after", call{"GET", "/api/v4/personal_access_tokens?last_used_after=2024-00-01", "root", "", ""}, 400, `{"error":"last_used_after is invalid"}`},
			{"branches: bad sort", call{"GET", fmt.Sprintf("/api/v4/projects/%d/repository/branches?sort=name_desc", repo), "root", "", ""}, 400, `{"error":"sort does not have a valid value"}`},
			{"tags: bad order_by", call{"GET", fmt.Sprintf("/api/v4/projects/%d/repository/tags?order_by=date", repo), "root", "", ""}, 400, `{"error":"order_by does not have a valid value"}`},
			{"placeholders: bad status", call{"GET", fmt.Sprintf("/api/v4/groups/%d/placeholder_reassignments?status=done", vg), "root", "", ""}, 400, `{"error":"status does not have a valid value"}`},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				before, headBefore := snapshot(t, st), head()
				status, body, _ := do(t, in.URL, tokens, c.call)
				if status != c.wantStatus || body != c.wantBody {
					if len(body) > 300 {
						body = body[:300] + "…"
					}
					t.Fatalf("got %d %s\nwant %d %s", status, body, c.wantStatus, c.wantBody)
				}
				if after := snapshot(t, st); after != before {
					t.Fatalf("a refused request changed stored records")
				}
				if h := head(); h != headBefore {
					t.Fatalf("a refused request moved HEAD from %s to %s", headBefore, h)
				}
			})
		}

		// The rules refuse only what GitLab refuses.
		for _, c := range []struct {
			name       string
			call       call
			wantStatus int
			wantInBody string
		}{
			{"default branch: an existing branch moves HEAD", call{"PUT", fmt.Sprintf("/api/v4/projects/%d", repo), "root", jsonCT, `{"default_branch":"feature"}`}, 200, `"default_branch":"feature"`},
			{"default branch: any valid name for an empty repository", call{"PUT", fmt.Sprintf("/api/v4/projects/%d", empty), "root", jsonCT, `{"default_branch":"release/v1"}`}, 200, `"default_branch":"release/v1"`},
			{"default branch: a valid name on create", call{"POST", "/api/v4/projects", "root", jsonCT, fmt.Sprintf(`{"name":"Fresh + Co","path":"fresh","namespace_id":%d,"default_branch":"develop"}`, vg)}, 201, `"default_branch":"develop"`},
			{"group: parentheses in a name, dots in a path", call{"POST", "/api/v4/groups", "root", jsonCT, `{"name":"Team (A)","path":"team.a"}`}, 201, `"full_path":"team.a"`},
			{"project: the path derived from a name with runs of specials", call{"POST", "/api/v4/projects", "root", jsonCT, fmt.Sprintf(`{"name":"My  Project","namespace_id":%d}`, vg)}, 201, `"path":"my-project"`},
			{"project: a stored name is not re-checked when another field changes", call{"PUT", fmt.Sprintf("/api/v4/projects/%d", empty), "root", jsonCT, `{"description":"fine"}`}, 200, `"description":"fine"`},
			{"users: a valid date filter", call{"GET", "/api/v4/users?created_after=2000-01-01T00:00:00Z&order_by=username&sort=asc", "root", "", ""}, 200, ""},
			{"issues: no due date is every issue", call{"GET", fmt.Sprintf("/api/v4/projects/%d/issues?due_date=0", repo), "root", "", ""}, 200, ""},
		} {
			t.Run("accepted: "+c.name, func(t *testing.T) {
				status, body, _ := do(t, in.URL, tokens, c.call)
				if status != c.wantStatus || !strings.Contains(body, c.wantInBody) {
					t.Fatalf("got %d %s, want %d with %s", status, body, c.wantStatus, c.wantInBody)
				}
			})
		}
		if h := head(); h != "feature" {
			t.Fatalf("HEAD after changing the default branch: %s, want feature", h)
		}

		// The date filters filter.
		for _, tc := range []struct{ query, total string }{
			{"/api/v4/users?created_before=2000-01-01", "0"},
			{"/api/v4/users?created_after=2000-01-01&username=alice", "1"},
			{"/api/v4/projects?updated_after=2999-01-01T00:00:00Z", "0"},
		} {
			status, _, h := do(t, in.URL, tokens, call{"GET", tc.query, "root", "", ""})
			if status != http.StatusOK || h.Get("X-Total") != tc.total {
				t.Errorf("%s: %d X-Total %q, want %s", tc.query, status, h.Get("X-Total"), tc.total)
			}
		}
	})
}
