package api_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/store"
)

// putUpload stores content as an upload of project pid linked from an
// issue and returns the issue's relinked upload path.
func putUpload(t *testing.T, in *apptest.Instance, pid int64, name, ctype string, content []byte) string {
	t.Helper()
	ctx := context.Background()
	sum, size, err := in.App.Uploads.Put(ctx, bytes.NewReader(content), "")
	if err != nil {
		t.Fatal(err)
	}
	src := "https://gh.example/user-attachments/assets/" + name
	sid := forge.SourceID{Type: "github", Host: "gh.example", ID: src}
	objs := []forge.Object{
		forge.Issue{SourceID: forge.SourceID{Type: "github", Host: "gh.example", ID: "issue-" + name}, IID: int64(len(name)), Title: name,
			Description: "![" + name + "](" + src + ")", Author: forge.SourceUser{Login: "octo"}},
		forge.Upload{SourceID: sid, URL: src, Filename: name, ContentType: ctype, Size: size, SHA256: sum},
	}
	if err := in.App.Store.Write(ctx, func(tx *store.Tx) error { _, err := tx.WriteContent(ctx, pid, objs); return err }); err != nil {
		t.Fatal(err)
	}
	var body string
	if err := in.App.Store.DB().QueryRow(`SELECT description FROM issues WHERE project_id = $1 AND iid = $2`, pid, len(name)).Scan(&body); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`\((/uploads/[0-9a-f]{32}/[^)]+)\)`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("issue body not relinked: %q", body)
	}
	return m[1]
}

func TestServeUploads(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{}, func(t *testing.T, in *apptest.Instance) {
		root := in.Client(t, in.RootToken)
		grp := must(root.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("Att"), Path: gitlab.Ptr("att"),
			Visibility: gitlab.Ptr(gitlab.PublicVisibility)}))(t)
		project := func(path string, v gitlab.VisibilityValue) *gitlab.Project {
			return must(root.Projects.CreateProject(&gitlab.CreateProjectOptions{Path: gitlab.Ptr(path), NamespaceID: &grp.ID, Visibility: gitlab.Ptr(v)}))(t)
		}
		public, private := project("public", gitlab.PublicVisibility), project("private", gitlab.PrivateVisibility)
		user := func(name string, scope string) (int64, string) {
			u := must(root.Users.CreateUser(&gitlab.CreateUserOptions{Username: gitlab.Ptr(name), Name: gitlab.Ptr(name),
				Email: gitlab.Ptr(name + "@example.com"), Password: gitlab.Ptr("s3cret-pass")}))(t)
			tok := must(root.Users.CreatePersonalAccessToken(u.ID, &gitlab.CreatePersonalAccessTokenOptions{Name: gitlab.Ptr("t"),
				Scopes: &[]string{scope}}))(t)
			return u.ID, tok.Token
		}
		memberID, member := user("member", "read_api")
		must(root.ProjectMembers.AddProjectMember(private.ID, &gitlab.AddProjectMemberOptions{UserID: memberID,
			AccessLevel: gitlab.Ptr(gitlab.GuestPermissions)}))(t)
		_, outsider := user("outsider", "api")

		png := []byte("\x89PNG\r\n\x1a\n" + strings.Repeat("x", 100))
		html := []byte("<html><script>alert(document.cookie)</script></html>")
		pubPNG := putUpload(t, in, public.ID, "shot.png", "image/png", png)
		privPNG := putUpload(t, in, private.ID, "secret.png", "image/png", png)
		privHTML := putUpload(t, in, private.ID, "page.html", "text/html; charset=utf-8", html)

		get := func(method, path, token string) (*http.Response, []byte) {
			t.Helper()
			req, _ := http.NewRequest(method, in.URL+path, nil)
			if token != "" {
				req.Header.Set("PRIVATE-TOKEN", token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp, b
		}
		for _, c := range []struct {
			name, method, path, token string
			status                    int
			body                      []byte
			ctype, disposition        string
		}{
			{"public anonymous", "GET", "/att/public" + pubPNG, "", 200, png, "image/png", "inline"},
			{"public outsider", "GET", "/att/public" + pubPNG, outsider, 200, png, "image/png", "inline"},
			{"head", "HEAD", "/att/public" + pubPNG, "", 200, nil, "image/png", "inline"},
			{"private member", "GET", "/att/private" + privPNG, member, 200, png, "image/png", "inline"},
			{"private root", "GET", "/att/private" + privPNG, in.RootToken, 200, png, "image/png", "inline"},
			{"private anonymous", "GET", "/att/private" + privPNG, "", 404, nil, "", ""},
			{"private outsider", "GET", "/att/private" + privPNG, outsider, 404, nil, "", ""},
			{"bad token", "GET", "/att/public" + pubPNG, "nope", 401, nil, "", ""},
			{"html downloads", "GET", "/att/private" + privHTML, member, 200, html, "text/html; charset=utf-8", "attachment"},
			{"other project's upload", "GET", "/att/public" + privPNG, in.RootToken, 404, nil, "", ""},
			{"wrong file name", "GET", "/att/public" + strings.TrimSuffix(pubPNG, "shot.png") + "other.png", "", 404, nil, "", ""},
			{"traversal", "GET", "/att/public" + strings.TrimSuffix(pubPNG, "shot.png") + "..%2F..%2Fetc%2Fpasswd", "", 404, nil, "", ""},
			{"no project", "GET", "/att/absent" + pubPNG, "", 404, nil, "", ""},
			// GitLab 17.4's API route, which a destination migrating from
			// ferry downloads from: by id or by encoded path, same access.
			{"api by id, member", "GET", fmt.Sprintf("/api/v4/projects/%d%s", private.ID, privPNG), member, 200, png, "image/png", "inline"},
			{"api by path", "GET", "/api/v4/projects/att%2Fpublic" + pubPNG, "", 200, png, "image/png", "inline"},
			{"api by id, outsider", "GET", fmt.Sprintf("/api/v4/projects/%d%s", private.ID, privPNG), outsider, 404, nil, "", ""},
			{"api other project's upload", "GET", fmt.Sprintf("/api/v4/projects/%d%s", public.ID, privPNG), in.RootToken, 404, nil, "", ""},
		} {
			t.Run(c.name, func(t *testing.T) {
				resp, body := get(c.method, c.path, c.token)
				if resp.StatusCode != c.status {
					t.Fatalf("%s %s: %d %s, want %d", c.method, c.path, resp.StatusCode, body, c.status)
				}
				if c.status != 200 {
					if bytes.Contains(body, png) || bytes.Contains(body, html) {
						t.Error("refused answer carries the content")
					}
					return
				}
				if c.method == "GET" && !bytes.Equal(body, c.body) {
					t.Errorf("body %q, want %q", body, c.body)
				}
				h := resp.Header
				if h.Get("Content-Type") != c.ctype || !strings.HasPrefix(h.Get("Content-Disposition"), c.disposition+";") ||
					h.Get("X-Content-Type-Options") != "nosniff" {
					t.Errorf("headers: Content-Type %q, Content-Disposition %q, X-Content-Type-Options %q",
						h.Get("Content-Type"), h.Get("Content-Disposition"), h.Get("X-Content-Type-Options"))
				}
			})
		}
	})
}
