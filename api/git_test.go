package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/gitstore"
	"github.com/ferry-import/ferry/internal/fixture"
)

// fixtureBundle is the shared real repository with refs/pull/*.
func fixtureBundle(t *testing.T) string { return fixture.Bundle(t) }

// gitRun runs the git client as a user would: isolated HOME and config, no
// prompts, C locale. It returns stdout and stderr.
func gitRun(t *testing.T, dir string, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
		"LC_ALL=C", "GIT_AUTHOR_NAME=Tester", "GIT_AUTHOR_EMAIL=tester@example.com",
		"GIT_COMMITTER_NAME=Tester", "GIT_COMMITTER_EMAIL=tester@example.com"}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

func gitOK(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, stderr, err := gitRun(t, dir, args...)
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return out
}

// cloneURL is the HTTP clone URL of a project, with oauth2:<token> basic
// auth when token is set.
func cloneURL(in *apptest.Instance, fullPath, token string) string {
	u, _ := url.Parse(in.URL + "/" + fullPath + ".git")
	if token != "" {
		u.User = url.UserPassword("oauth2", token)
	}
	return u.String()
}

// gitWorld is a ferry with the fixture imported into projects of every
// visibility and users in every relation to them.
type gitWorld struct {
	in                   *apptest.Instance
	root                 *gitlab.Client
	public, private      *gitlab.Project
	internal             *gitlab.Project
	member, maintainer   string // tokens: Reporter and Maintainer of group/private
	guest, outsider      string // Guest of group/private; no relation
	readAPI, readUser    string // the member's tokens with narrower scopes
	revoked              string
	bundleHeads          map[string]string // ref → sha, as git bundle list-heads
	memberID, outsiderID int64
}

func newGitWorld(t *testing.T, in *apptest.Instance) *gitWorld {
	t.Helper()
	w := &gitWorld{in: in, root: in.Client(t, in.RootToken)}
	grp := must(w.root.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("Group"), Path: gitlab.Ptr("group"),
		Visibility: gitlab.Ptr(gitlab.PublicVisibility)}))(t)
	project := func(path string, v gitlab.VisibilityValue) *gitlab.Project {
		p := must(w.root.Projects.CreateProject(&gitlab.CreateProjectOptions{Path: gitlab.Ptr(path), NamespaceID: &grp.ID,
			Visibility: gitlab.Ptr(v)}))(t)
		if err := in.App.Git.FetchBundle(context.Background(), p.ID, fixtureBundle(t), gitstore.GitHubRefspecs()...); err != nil {
			t.Fatal(err)
		}
		return p
	}
	w.public = project("public", gitlab.PublicVisibility)
	w.private = project("private", gitlab.PrivateVisibility)
	w.internal = project("internal", gitlab.InternalVisibility)

	user := func(name string) (int64, *gitlab.PersonalAccessToken) {
		u := must(w.root.Users.CreateUser(&gitlab.CreateUserOptions{Username: gitlab.Ptr(name), Name: gitlab.Ptr(name),
			Email: gitlab.Ptr(name + "@example.com"), Password: gitlab.Ptr("s3cret-pass")}))(t)
		tok := must(w.root.Users.CreatePersonalAccessToken(u.ID, &gitlab.CreatePersonalAccessTokenOptions{
			Name: gitlab.Ptr("git"), Scopes: &[]string{"api"}}))(t)
		return u.ID, tok
	}
	addMember := func(uid int64, level gitlab.AccessLevelValue) {
		must(w.root.ProjectMembers.AddProjectMember(w.private.ID, &gitlab.AddProjectMemberOptions{UserID: uid, AccessLevel: &level}))(t)
	}
	var tok *gitlab.PersonalAccessToken
	w.memberID, tok = user("member")
	w.member = tok.Token
	addMember(w.memberID, gitlab.ReporterPermissions)
	for _, s := range []struct {
		scope string
		dst   *string
	}{{"read_api", &w.readAPI}, {"read_user", &w.readUser}, {"api", &w.revoked}} {
		t := must(w.root.Users.CreatePersonalAccessToken(w.memberID, &gitlab.CreatePersonalAccessTokenOptions{
			Name: gitlab.Ptr(s.scope), Scopes: &[]string{s.scope}}))(t)
		*s.dst = t.Token
	}
	revoked := in.Client(t, w.revoked)
	if _, err := revoked.PersonalAccessTokens.RevokePersonalAccessTokenSelf(); err != nil {
		t.Fatal(err)
	}
	uid, tok := user("maintainer")
	w.maintainer = tok.Token
	addMember(uid, gitlab.MaintainerPermissions)
	uid, tok = user("guest")
	w.guest = tok.Token
	addMember(uid, gitlab.GuestPermissions)
	w.outsiderID, tok = user("outsider")
	w.outsider = tok.Token

	w.bundleHeads = map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(gitOK(t, "", "bundle", "list-heads", fixtureBundle(t))), "\n") {
		sha, ref, _ := strings.Cut(line, " ")
		w.bundleHeads[ref] = sha
	}
	return w
}

// lsRemote maps ref → sha as the server advertises them.
func lsRemote(t *testing.T, remote string, patterns ...string) map[string]string {
	t.Helper()
	out := gitOK(t, "", append([]string{"ls-remote", remote}, patterns...)...)
	refs := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if sha, ref, ok := strings.Cut(line, "\t"); ok {
			refs[ref] = sha
		}
	}
	return refs
}

// TestGitClone clones the imported fixture with git over real HTTP using
// oauth2:<token>, fetches the merge request heads, and clones the wiki.
func TestGitClone(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{}, func(t *testing.T, in *apptest.Instance) {
		w := newGitWorld(t, in)
		master := w.bundleHeads["refs/heads/master"]

		for _, proto := range []string{"0", "2"} {
			t.Run("protocol v"+proto, func(t *testing.T) {
				dst := filepath.Join(t.TempDir(), "clone")
				gitOK(t, "", "-c", "protocol.version="+proto, "clone", "--quiet", cloneURL(in, "group/private", w.member), dst)
				if got := strings.TrimSpace(gitOK(t, dst, "rev-parse", "HEAD")); got != master {
					t.Errorf("HEAD %s, want master %s", got, master)
				}
				if got := strings.TrimSpace(gitOK(t, dst, "rev-parse", "--abbrev-ref", "HEAD")); got != "master" {
					t.Errorf("checked out %q, want master", got)
				}
				gitOK(t, dst, "-c", "protocol.version="+proto, "fetch", "--quiet", "origin",
					"+refs/merge-requests/*/head:refs/remotes/origin/merge-requests/*")
				for _, n := range []string{"3", "4"} {
					want := w.bundleHeads["refs/pull/"+n+"/head"]
					got := strings.TrimSpace(gitOK(t, dst, "rev-parse", "refs/remotes/origin/merge-requests/"+n))
					if got != want {
						t.Errorf("merge request %s head %s, want %s", n, got, want)
					}
				}
				if got := strings.TrimSpace(gitOK(t, dst, "rev-parse", "v0.9.99^{commit}")); got != strings.TrimSpace(gitOK(t, dst, "rev-parse", w.bundleHeads["refs/tags/v0.9.99"]+"^{commit}")) {
					t.Errorf("tag v0.9.99 resolves to %s", got)
				}
			})
		}

		// The advertisement maps refs/pull/N/head and nothing else of
		// refs/pull (GitHub's synthetic merge refs are not kept).
		refs := lsRemote(t, cloneURL(in, "group/private", w.member))
		want := map[string]string{
			"HEAD": master, "refs/heads/master": master,
			"refs/merge-requests/3/head": w.bundleHeads["refs/pull/3/head"],
			"refs/merge-requests/4/head": w.bundleHeads["refs/pull/4/head"],
			"refs/tags/v0.9.99":          w.bundleHeads["refs/tags/v0.9.99"],
		}
		for ref, sha := range want {
			if refs[ref] != sha {
				t.Errorf("advertised %s = %q, want %s", ref, refs[ref], sha)
			}
		}
		for ref := range refs {
			if strings.HasPrefix(ref, "refs/pull/") {
				t.Errorf("advertised unmapped %s", ref)
			}
		}

		t.Run("wiki", func(t *testing.T) {
			if err := in.App.Git.CreateWiki(context.Background(), w.private.ID); err != nil {
				t.Fatal(err)
			}
			dst := filepath.Join(t.TempDir(), "wiki")
			_, stderr, err := gitRun(t, "", "clone", cloneURL(in, "group/private.wiki", w.member), dst)
			if err != nil || !strings.Contains(stderr, "empty repository") {
				t.Fatalf("clone wiki: %v\n%s", err, stderr)
			}
			if _, stderr, err := gitRun(t, "", "ls-remote", cloneURL(in, "group/private.wiki", "")); err == nil {
				t.Errorf("anonymous reads the private wiki\n%s", stderr)
			}
			// GitLab's read_wiki grants download_wiki_code: a Guest, who may
			// not clone the repository, clones the wiki.
			if _, stderr, err := gitRun(t, "", "clone", cloneURL(in, "group/private.wiki", w.guest), filepath.Join(t.TempDir(), "guest-wiki")); err != nil {
				t.Errorf("a guest clones the private wiki: %v\n%s", err, stderr)
			}
		})
	})
}

// commitToBare adds files on a new branch of a bare repository, through a
// scratch clone (as a push would, but straight to disk).
func commitToBare(t *testing.T, bare, branch string, files map[string]string) {
	t.Helper()
	work := filepath.Join(t.TempDir(), "work")
	gitOK(t, "", "clone", "--quiet", bare, work)
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(work, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		gitOK(t, work, "add", name)
	}
	gitOK(t, work, "commit", "--quiet", "-m", "add "+branch)
	gitOK(t, work, "push", "--quiet", "origin", "HEAD:refs/heads/"+branch)
}

// TestGitLFSRoundTrip stores an LFS object for a project, commits its
// pointer, and clones with the real git-lfs client, which must get the
// object through the batch API with oauth2:<token>.
func TestGitLFSRoundTrip(t *testing.T) {
	t.Parallel()
	if _, _, err := gitRun(t, "", "lfs", "version"); err != nil {
		t.Skip("git lfs is not installed (Debian package git-lfs): skipping the LFS round trip")
	}
	apptest.Each(t, apptest.Options{}, func(t *testing.T, in *apptest.Instance) {
		w := newGitWorld(t, in)
		ctx := context.Background()
		content := strings.Repeat("ferry lfs payload\n", 5000)
		sum := sha256.Sum256([]byte(content))
		oid := hex.EncodeToString(sum[:])
		if err := in.App.Git.PutLFSObject(ctx, oid, int64(len(content)), strings.NewReader(content)); err != nil {
			t.Fatal(err)
		}
		if err := in.App.Git.LinkLFSObject(ctx, w.private.ID, oid); err != nil {
			t.Fatal(err)
		}
		commitToBare(t, in.App.Git.Path(w.private.ID), "lfs", map[string]string{
			".gitattributes": "*.bin filter=lfs diff=lfs merge=lfs -text\n",
			"data.bin":       fmt.Sprintf("version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n", oid, len(content)),
		})
		lfs := []string{"-c", "filter.lfs.smudge=git-lfs smudge -- %f", "-c", "filter.lfs.process=git-lfs filter-process",
			"-c", "filter.lfs.required=true", "-c", "lfs.locksverify=false"}

		dst := filepath.Join(t.TempDir(), "clone")
		gitOK(t, "", append(lfs, "clone", "--quiet", "--branch", "lfs", cloneURL(in, "group/private", w.member), dst)...)
		got, err := os.ReadFile(filepath.Join(dst, "data.bin"))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != content {
			t.Errorf("data.bin is %d bytes, not the %d-byte LFS object (%.60q)", len(got), len(content), got)
		}

		// The raw file API serves the pointer, or with lfs=true the object.
		for _, tt := range []struct{ query, want string }{
			{"?ref=lfs", fmt.Sprintf("version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n", oid, len(content))},
			{"?ref=lfs&lfs=true", content},
		} {
			status, _, body := apiGet(t, in, w.member, fmt.Sprintf("/api/v4/projects/%d/repository/files/data.bin/raw%s", w.private.ID, tt.query))
			if status != 200 || string(body) != tt.want {
				t.Errorf("raw data.bin%s: %d, %d bytes (%.60q)", tt.query, status, len(body), body)
			}
		}

		// An outsider learns nothing, neither from git nor from the batch API.
		dst = filepath.Join(t.TempDir(), "outsider")
		if _, stderr, err := gitRun(t, "", append(lfs, "clone", "--quiet", "--branch", "lfs", cloneURL(in, "group/private", w.outsider), dst)...); err == nil {
			t.Errorf("outsider cloned the private project\n%s", stderr)
		}
		batch := `{"operation":"download","transfers":["basic"],"objects":[{"oid":"` + oid + `","size":1}]}`
		req, _ := http.NewRequest("POST", in.URL+"/group/private.git/info/lfs/objects/batch", strings.NewReader(batch))
		req.Header.Set("Content-Type", "application/vnd.git-lfs+json")
		req.SetBasicAuth("oauth2", w.outsider)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("outsider's batch request: %d, want 404", resp.StatusCode)
		}
	})
}

// TestGitAccess checks who may fetch what, over the first request of a
// clone (the ref advertisement) with every way of giving credentials.
func TestGitAccess(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{}, func(t *testing.T, in *apptest.Instance) {
		w := newGitWorld(t, in)
		basic := func(token string) map[string]string {
			return map[string]string{"Authorization": "Basic " + base64Std("oauth2:"+token)}
		}
		const upload, receive = "/info/refs?service=git-upload-pack", "/info/refs?service=git-receive-pack"
		tests := []struct {
			name    string
			repo    string
			service string
			header  map[string]string
			want    int
		}{
			{"public anonymous", "group/public", upload, nil, 200},
			{"internal anonymous", "group/internal", upload, nil, 401},
			{"private anonymous", "group/private", upload, nil, 401},
			{"missing anonymous", "group/nothing", upload, nil, 401},
			{"private wiki anonymous", "group/private.wiki", upload, nil, 401},
			{"private member basic", "group/private", upload, basic(w.member), 200},
			{"private member any user name", "group/private", upload, map[string]string{"Authorization": "Basic " + base64Std("member:"+w.member)}, 200},
			{"private member PRIVATE-TOKEN", "group/private", upload, map[string]string{"PRIVATE-TOKEN": w.member}, 200},
			{"private member bearer", "group/private", upload, map[string]string{"Authorization": "Bearer " + w.member}, 200},
			{"private member read_api", "group/private", upload, basic(w.readAPI), 200},
			{"private member read_user", "group/private", upload, basic(w.readUser), 401},
			{"private member revoked", "group/private", upload, basic(w.revoked), 401},
			{"private wrong token", "group/private", upload, basic("glpat-not-a-token"), 401},
			{"private empty password", "group/private", upload, map[string]string{"Authorization": "Basic " + base64Std("oauth2:")}, 401},
			{"private unknown scheme", "group/private", upload, map[string]string{"Authorization": "Digest x"}, 401},
			{"public wrong token", "group/public", upload, basic("glpat-not-a-token"), 401},
			{"private outsider", "group/private", upload, basic(w.outsider), 404},
			{"private wiki outsider", "group/private.wiki", upload, basic(w.outsider), 404},
			{"missing outsider", "group/nothing", upload, basic(w.outsider), 404},
			{"private guest", "group/private", upload, basic(w.guest), 403},
			{"private admin", "group/private", upload, basic(in.RootToken), 200},
			{"internal outsider", "group/internal", upload, basic(w.outsider), 200},
			{"public outsider", "group/public", upload, basic(w.outsider), 200},
			{"push anonymous", "group/public", receive, nil, 401},
			{"push outsider on private", "group/private", receive, basic(w.outsider), 404},
			{"push reporter", "group/private", receive, basic(w.member), 403},
			{"push maintainer", "group/private", receive, basic(w.maintainer), 403},
			{"push with read_api token", "group/private", receive, basic(w.readAPI), 403},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				req, _ := http.NewRequest("GET", in.URL+"/"+tt.repo+".git"+tt.service, nil)
				for k, v := range tt.header {
					req.Header.Set(k, v)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tt.want {
					t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.want, body)
				}
				if tt.want == 401 && resp.Header.Get("WWW-Authenticate") == "" {
					t.Error("401 without a challenge: git would not retry with credentials")
				}
				for _, tok := range []string{w.member, w.readUser, w.revoked, w.outsider, w.guest} {
					if bytes.Contains(body, []byte(tok)) {
						t.Error("response echoes a token")
					}
				}
			})
		}

		// The same through git itself.
		gitTests := []struct {
			name    string
			url     string
			wantErr string // "" for success
		}{
			{"public anonymous", cloneURL(in, "group/public", ""), ""},
			// git asks for credentials after the 401; with prompts off it gives up.
			{"private anonymous", cloneURL(in, "group/private", ""), "could not read Username"},
			{"private outsider", cloneURL(in, "group/private", w.outsider), "not found"},
			{"private revoked", cloneURL(in, "group/private", w.revoked), "Authentication failed"},
			{"private member", cloneURL(in, "group/private", w.member), ""},
		}
		for _, tt := range gitTests {
			t.Run("git "+tt.name, func(t *testing.T) {
				_, stderr, err := gitRun(t, "", "ls-remote", tt.url)
				switch {
				case tt.wantErr == "" && err != nil:
					t.Fatalf("ls-remote: %v\n%s", err, stderr)
				case tt.wantErr != "" && (err == nil || !strings.Contains(stderr, tt.wantErr)):
					t.Fatalf("ls-remote: err %v, stderr %q, want %q", err, stderr, tt.wantErr)
				}
			})
		}

		t.Run("git push refused", func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "clone")
			gitOK(t, "", "clone", "--quiet", cloneURL(in, "group/private", w.maintainer), dst)
			gitOK(t, dst, "commit", "--quiet", "--allow-empty", "-m", "try to push")
			_, stderr, err := gitRun(t, dst, "push", "origin", "HEAD:refs/heads/pushed")
			if err == nil || !strings.Contains(stderr, "403") {
				t.Fatalf("push: err %v, stderr %q", err, stderr)
			}
			if refs := lsRemote(t, cloneURL(in, "group/private", w.maintainer), "refs/heads/pushed"); len(refs) != 0 {
				t.Errorf("pushed ref exists: %v", refs)
			}
		})
	})
}

func base64Std(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// TestProjectRepositoryLifecycle: a project made through the API clones as
// an empty repository; deleting the project removes its repository, wiki
// and LFS links once the delete_project_data job has run.
func TestProjectRepositoryLifecycle(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{}, func(t *testing.T, in *apptest.Instance) {
		ctx := context.Background()
		root := in.Client(t, in.RootToken)
		p := must(root.Projects.CreateProject(&gitlab.CreateProjectOptions{Path: gitlab.Ptr("doomed")}))(t)
		dst := filepath.Join(t.TempDir(), "clone")
		if _, stderr, err := gitRun(t, "", "clone", cloneURL(in, p.PathWithNamespace, in.RootToken), dst); err != nil || !strings.Contains(stderr, "empty repository") {
			t.Fatalf("clone new project: %v\n%s", err, stderr)
		}
		if err := in.App.Git.FetchBundle(ctx, p.ID, fixtureBundle(t), gitstore.GitHubRefspecs()...); err != nil {
			t.Fatal(err)
		}
		if err := in.App.Git.CreateWiki(ctx, p.ID); err != nil {
			t.Fatal(err)
		}
		content := "lfs"
		sum := sha256.Sum256([]byte(content))
		oid := hex.EncodeToString(sum[:])
		if err := in.App.Git.PutLFSObject(ctx, oid, int64(len(content)), strings.NewReader(content)); err != nil {
			t.Fatal(err)
		}
		if err := in.App.Git.LinkLFSObject(ctx, p.ID, oid); err != nil {
			t.Fatal(err)
		}
		// Another project's data must survive.
		other := must(root.Projects.CreateProject(&gitlab.CreateProjectOptions{Path: gitlab.Ptr("survivor")}))(t)
		if err := in.App.Git.FetchBundle(ctx, other.ID, fixtureBundle(t), gitstore.GitHubRefspecs()...); err != nil {
			t.Fatal(err)
		}

		events, stop := in.App.Queue.Subscribe(river.EventKindJobCompleted)
		defer stop()
		if _, err := root.Projects.DeleteProject(p.ID, nil); err != nil {
			t.Fatal(err)
		}
		for done := false; !done; {
			select {
			case ev := <-events:
				done = ev.Job.Kind == "delete_project_data"
			case <-time.After(30 * time.Second):
				t.Fatal("delete_project_data did not complete")
			}
		}
		for _, dir := range []string{in.App.Git.Path(p.ID), in.App.Git.WikiPath(p.ID)} {
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("%s still there after delete: %v", dir, err)
			}
		}
		if in.App.Git.LFSLinked(p.ID, oid) {
			t.Error("LFS link survived the delete")
		}
		if !in.App.Git.HasLFSObject(oid) {
			t.Error("shared LFS object removed with one project")
		}
		if !in.App.Git.Exists(other.ID) {
			t.Error("another project's repository removed")
		}
		if _, stderr, err := gitRun(t, "", "ls-remote", cloneURL(in, p.PathWithNamespace, in.RootToken)); err == nil {
			t.Errorf("deleted project still clones\n%s", stderr)
		}
	})
}
