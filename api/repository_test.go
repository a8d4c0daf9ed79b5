package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/store"
)

// Files added on the "files" branch of group/private, beside the fixture.
var extraFiles = map[string]string{
	"docs/guide.md":   "# Guide\n\nSee README.\n",
	"a b.txt":         "space in the name\n",
	"100%.txt":        "percent in the name\n",
	"bin/data.bin":    "\x00\x01\x02binary\xff",
	"run.sh":          "#!/bin/sh\necho hi\n",
	"deep/a/b/c.json": `{"ok":true}` + "\n",
}

// shapeRepository adds to the fixture in group/private what the fixture
// lacks: branches with slashes, files in directories, odd names, binary and
// executable files, an annotated tag with trailers in its commit.
func shapeRepository(t *testing.T, w *gitWorld) string {
	t.Helper()
	bare := w.in.App.Git.Path(w.private.ID)
	work := filepath.Join(t.TempDir(), "work")
	gitOK(t, "", "clone", "--quiet", bare, work)
	gitOK(t, work, "checkout", "--quiet", "-b", "files")
	for name, content := range extraFiles {
		p := filepath.Join(work, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gitOK(t, work, "add", ".")
	gitOK(t, work, "update-index", "--chmod=+x", "run.sh")
	gitOK(t, work, "commit", "--quiet", "-m", "Add files\n\nWith a body.\n\nSigned-off-by: Tester <tester@example.com>\nCo-authored-by: A <a@example.com>\nCo-authored-by: B <b@example.com>")
	gitOK(t, work, "tag", "-a", "-m", "Release 1.0.0\n\nNotes.", "v1.0.0")
	gitOK(t, work, "tag", "v0.10.0", "HEAD~1")
	gitOK(t, work, "push", "--quiet", "origin", "files", "v1.0.0", "v0.10.0",
		w.bundleHeads["refs/pull/3/head"]+":refs/heads/feature/one",
		w.bundleHeads["refs/pull/4/head"]+":refs/heads/feature/two",
		"master:refs/heads/release-1")
	return bare
}

// gitCommit is a commit as git prints it.
type gitCommit struct {
	ID, Parents, AuthorName, AuthorEmail, AuthorDate, CommitterName, CommitterEmail, CommitterDate, Message string
}

// gitLog lists commits of rev (newest first) straight from git.
func gitLog(t *testing.T, bare string, args ...string) []gitCommit {
	t.Helper()
	out := gitOK(t, "", append([]string{"--git-dir=" + bare, "log", "-z", "--format=%H%x01%P%x01%an%x01%ae%x01%aI%x01%cn%x01%ce%x01%cI%x01%B"}, args...)...)
	var cs []gitCommit
	for _, rec := range strings.Split(strings.TrimSuffix(out, "\x00"), "\x00") {
		f := strings.Split(rec, "\x01")
		if len(f) != 9 {
			t.Fatalf("git log record %q", rec)
		}
		cs = append(cs, gitCommit{f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8]})
	}
	return cs
}

// checkCommit compares what the API says of a commit with git, field by
// field.
func checkCommit(t *testing.T, in *apptest.Instance, fullPath string, got *gitlab.Commit, want gitCommit) {
	t.Helper()
	if got == nil {
		t.Fatalf("no commit, want %s", want.ID)
	}
	title, _, _ := strings.Cut(want.Message, "\n")
	parents := strings.Fields(want.Parents)
	if parents == nil {
		parents = []string{}
	}
	checks := []struct {
		field     string
		got, want any
	}{
		{"id", got.ID, want.ID},
		{"short_id", got.ShortID, want.ID[:8]},
		{"title", got.Title, title},
		{"message", got.Message, want.Message},
		{"author_name", got.AuthorName, want.AuthorName},
		{"author_email", got.AuthorEmail, want.AuthorEmail},
		{"authored_date", got.AuthoredDate.Format(time.RFC3339), rfc3339(t, want.AuthorDate)},
		{"committer_name", got.CommitterName, want.CommitterName},
		{"committer_email", got.CommitterEmail, want.CommitterEmail},
		{"committed_date", got.CommittedDate.Format(time.RFC3339), rfc3339(t, want.CommitterDate)},
		{"created_at", got.CreatedAt.Format(time.RFC3339), rfc3339(t, want.CommitterDate)},
		{"parent_ids", got.ParentIDs, parents},
		{"web_url", got.WebURL, in.URL + "/" + fullPath + "/-/commit/" + want.ID},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("commit %.8s %s = %#v, want %#v", want.ID, c.field, c.got, c.want)
		}
	}
}

// rfc3339 normalises git's strict ISO date as Go prints it ("Z" for UTC),
// keeping the offset, which GitLab shows.
func rfc3339(t *testing.T, iso string) string {
	t.Helper()
	d, err := time.Parse(time.RFC3339, iso)
	if err != nil {
		t.Fatalf("git date %q: %v", iso, err)
	}
	return d.Format(time.RFC3339)
}

// apiGet sends a GET with a token and returns status, headers and body.
func apiGet(t *testing.T, in *apptest.Instance, token, path string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", in.URL+path, nil)
	if token != "" {
		req.Header.Set("PRIVATE-TOKEN", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, body
}

func TestRepositoryBranches(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{}, func(t *testing.T, in *apptest.Instance) {
		w := newGitWorld(t, in)
		bare := shapeRepository(t, w)
		c := in.Client(t, w.member)
		pid := w.private.ID

		names := strings.Fields(gitOK(t, "", "--git-dir="+bare, "for-each-ref", "--format=%(refname:lstrip=2)", "refs/heads/"))
		var got []*gitlab.Branch
		opt := &gitlab.ListBranchesOptions{ListOptions: gitlab.ListOptions{PerPage: 2}}
		for {
			page, resp, err := c.Branches.ListBranches(pid, opt)
			if err != nil {
				t.Fatal(err)
			}
			if resp.TotalItems != int64(len(names)) || resp.TotalPages != int64((len(names)+1)/2) {
				t.Fatalf("X-Total %d X-Total-Pages %d, want %d branches", resp.TotalItems, resp.TotalPages, len(names))
			}
			got = append(got, page...)
			if resp.NextPage == 0 {
				break
			}
			opt.Page = resp.NextPage
		}
		if len(got) != len(names) {
			t.Fatalf("%d branches, want %v", len(got), names)
		}
		for i, b := range got {
			if b.Name != names[i] {
				t.Errorf("branch %d is %q, want %q (git's order)", i, b.Name, names[i])
			}
			checkCommit(t, in, "group/private", b.Commit, gitLog(t, bare, "-1", "refs/heads/"+b.Name)[0])
			if b.Default != (b.Name == "master") || b.CanPush || b.Merged || b.Protected {
				t.Errorf("branch %s flags: default %v can_push %v merged %v protected %v", b.Name, b.Default, b.CanPush, b.Merged, b.Protected)
			}
			if want := in.URL + "/group/private/-/tree/" + b.Name; b.WebURL != want {
				t.Errorf("branch %s web_url %q, want %q", b.Name, b.WebURL, want)
			}
		}

		searches := []struct {
			search string
			want   []string
		}{
			{"feature", []string{"feature/one", "feature/two"}},
			{"FEATURE/T", []string{"feature/two"}},
			{"^re", []string{"release-1"}},
			{"er$", []string{"master"}},
			{"^master$", []string{"master"}},
			{"nothing", nil},
		}
		for _, tt := range searches {
			bs := must(c.Branches.ListBranches(pid, &gitlab.ListBranchesOptions{Search: gitlab.Ptr(tt.search)}))(t)
			var names []string
			for _, b := range bs {
				names = append(names, b.Name)
			}
			if !reflect.DeepEqual(names, tt.want) {
				t.Errorf("search %q: %v, want %v", tt.search, names, tt.want)
			}
		}

		// client-go escapes the slash; ferry must find the branch.
		b := must(c.Branches.GetBranch(pid, "feature/one"))(t)
		checkCommit(t, in, "group/private", b.Commit, gitLog(t, bare, "-1", "refs/heads/feature/one")[0])
		if b.Name != "feature/one" || b.Default {
			t.Errorf("feature/one: %+v", b)
		}
		status, _, body := apiGet(t, in, w.member, fmt.Sprintf("/api/v4/projects/%d/repository/branches/nope", pid))
		if status != 404 || strings.TrimSpace(string(body)) != `{"message":"404 Branch Not Found"}` {
			t.Errorf("missing branch: %d %s", status, body)
		}
	})
}

func TestRepositoryTags(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{}, func(t *testing.T, in *apptest.Instance) {
		w := newGitWorld(t, in)
		bare := shapeRepository(t, w)
		c := in.Client(t, w.member)
		pid := w.private.ID

		orders := []struct {
			name string
			opt  *gitlab.ListTagsOptions
			want []string
		}{
			// Default: most recently updated (commit date) first.
			{"default", nil, []string{"v1.0.0", "v0.10.0", "v0.9.99"}},
			{"name asc", &gitlab.ListTagsOptions{OrderBy: gitlab.Ptr("name"), Sort: gitlab.Ptr("asc")}, []string{"v0.10.0", "v0.9.99", "v1.0.0"}},
			{"version asc", &gitlab.ListTagsOptions{OrderBy: gitlab.Ptr("version"), Sort: gitlab.Ptr("asc")}, []string{"v0.9.99", "v0.10.0", "v1.0.0"}},
			{"search", &gitlab.ListTagsOptions{Search: gitlab.Ptr("^v0")}, []string{"v0.10.0", "v0.9.99"}},
		}
		for _, tt := range orders {
			ts := must(c.Tags.ListTags(pid, tt.opt))(t)
			var names []string
			for _, tag := range ts {
				names = append(names, tag.Name)
			}
			if !reflect.DeepEqual(names, tt.want) {
				t.Errorf("%s: %v, want %v", tt.name, names, tt.want)
			}
		}

		for _, name := range []string{"v1.0.0", "v0.10.0", "v0.9.99"} {
			tag := must(c.Tags.GetTag(pid, name))(t)
			target := strings.TrimSpace(gitOK(t, "", "--git-dir="+bare, "rev-parse", "refs/tags/"+name))
			message := strings.TrimSpace(gitOK(t, "", "--git-dir="+bare, "for-each-ref", "--format=%(contents)", "refs/tags/"+name))
			if gitOK(t, "", "--git-dir="+bare, "cat-file", "-t", target) == "commit\n" {
				message = "" // a lightweight tag has no message of its own
			}
			if tag.Name != name || tag.Target != target || tag.Message != message || tag.Release != nil || tag.Protected {
				t.Errorf("tag %s: name %q target %q message %q release %v; want target %s message %q", name, tag.Name, tag.Target, tag.Message, tag.Release, target, message)
			}
			checkCommit(t, in, "group/private", tag.Commit, gitLog(t, bare, "-1", "refs/tags/"+name+"^{commit}")[0])
		}
		if tag := must(c.Tags.GetTag(pid, "v1.0.0"))(t); tag.Message != "Release 1.0.0\n\nNotes." {
			t.Errorf("annotated message %q", tag.Message)
		}
		status, _, body := apiGet(t, in, w.member, fmt.Sprintf("/api/v4/projects/%d/repository/tags/v9", pid))
		if status != 404 || strings.TrimSpace(string(body)) != `{"message":"404 Tag Not Found"}` {
			t.Errorf("missing tag: %d %s", status, body)
		}
	})
}

func TestRepositoryCommits(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{}, func(t *testing.T, in *apptest.Instance) {
		w := newGitWorld(t, in)
		bare := shapeRepository(t, w)
		c := in.Client(t, w.member)
		pid := w.private.ID

		for _, ref := range []string{"", "master", "files", "feature/two", "v0.9.99"} {
			rev := ref
			if rev == "" {
				rev = "HEAD"
			}
			want := gitLog(t, bare, rev)
			var got []*gitlab.Commit
			opt := &gitlab.ListCommitsOptions{ListOptions: gitlab.ListOptions{PerPage: 2}}
			if ref != "" {
				opt.RefName = gitlab.Ptr(ref)
			}
			for {
				page, resp, err := c.Commits.ListCommits(pid, opt)
				if err != nil {
					t.Fatal(err)
				}
				if resp.TotalItems != int64(len(want)) {
					t.Errorf("ref %q: X-Total %d, want %d", ref, resp.TotalItems, len(want))
				}
				got = append(got, page...)
				if resp.NextPage == 0 {
					break
				}
				opt.Page = resp.NextPage
			}
			if len(got) != len(want) {
				t.Fatalf("ref %q: %d commits, want %d", ref, len(got), len(want))
			}
			for i := range want {
				checkCommit(t, in, "group/private", got[i], want[i])
			}
		}

		// Trailers of the commit on "files": parsed only when the list is
		// asked for them, as on GitLab (whose extended_trailers client-go
		// cannot decode, hence raw JSON).
		wantTrailers := map[string]string{"Signed-off-by": "Tester <tester@example.com>", "Co-authored-by": "B <b@example.com>"}
		wantExtended := map[string][]string{"Signed-off-by": {"Tester <tester@example.com>"}, "Co-authored-by": {"A <a@example.com>", "B <b@example.com>"}}
		trailerTests := []struct {
			name, path       string
			list             bool
			trailers         map[string]string
			extendedTrailers map[string][]string
		}{
			{"list with trailers", "commits?ref_name=files&per_page=1&trailers=true", true, wantTrailers, wantExtended},
			{"list without", "commits?ref_name=files&per_page=1", true, map[string]string{}, map[string][]string{}},
			{"single commit", "commits/files", false, map[string]string{}, map[string][]string{}},
		}
		type trailered struct {
			Trailers         map[string]string   `json:"trailers"`
			ExtendedTrailers map[string][]string `json:"extended_trailers"`
			ProjectID        *int64              `json:"project_id"`
		}
		for _, tt := range trailerTests {
			status, _, body := apiGet(t, in, w.member, fmt.Sprintf("/api/v4/projects/%d/repository/%s", pid, tt.path))
			var got trailered
			var err error
			if tt.list {
				var list []trailered
				if err = json.Unmarshal(body, &list); err == nil && len(list) == 1 {
					got = list[0]
				}
			} else {
				err = json.Unmarshal(body, &got)
			}
			if status != 200 || err != nil {
				t.Fatalf("%s: %d %v %s", tt.name, status, err, body)
			}
			if !reflect.DeepEqual(got.Trailers, tt.trailers) || !reflect.DeepEqual(got.ExtendedTrailers, tt.extendedTrailers) {
				t.Errorf("%s: trailers %v extended %v", tt.name, got.Trailers, got.ExtendedTrailers)
			}
			if !tt.list && (got.ProjectID == nil || *got.ProjectID != pid) {
				t.Errorf("%s: project_id %v", tt.name, got.ProjectID)
			}
		}

		// Single commits by sha, short sha, branch and tag; the fixture's
		// master commit keeps its committer's +02:00 offset.
		master := w.bundleHeads["refs/heads/master"]
		for _, ref := range []string{master, master[:10], "master", "v0.9.99"} {
			got := must(c.Commits.GetCommit(pid, ref, nil))(t)
			checkCommit(t, in, "group/private", got, gitLog(t, bare, "-1", ref)[0])
		}
		_, _, body := apiGet(t, in, w.member, fmt.Sprintf("/api/v4/projects/%d/repository/commits/%s", pid, master))
		if !bytes.Contains(body, []byte(`"committed_date":"2019-11-12T23:39:27.000+02:00"`)) {
			t.Errorf("committed_date not in GitLab's form with the commit's offset: %s", body)
		}
		for _, ref := range []string{"0000000000000000000000000000000000000000", "nope", "master~1", "--all", "master..files"} {
			status, _, body := apiGet(t, in, w.member, fmt.Sprintf("/api/v4/projects/%d/repository/commits/%s", pid, url.PathEscape(ref)))
			if status != 404 || strings.TrimSpace(string(body)) != `{"message":"404 Commit Not Found"}` {
				t.Errorf("commit %q: %d %s", ref, status, body)
			}
		}
		// path: the commits that touch a file, as git log -- path.
		// (the file the branch's last commit changed, a leading slash, none).
		changed := strings.Fields(gitOK(t, "", "--git-dir="+bare, "diff-tree", "--no-commit-id", "--name-only", "-r", "files"))[0]
		if all, some := gitLog(t, bare, "files"), gitLog(t, bare, "files", "--", changed); len(some) >= len(all) {
			t.Fatalf("%s is in every commit of files: the path would filter nothing", changed)
		}
		for _, path := range []string{changed, "/" + changed, "no/such/file"} {
			var want []gitCommit
			if path != "no/such/file" {
				want = gitLog(t, bare, "files", "--", changed)
			}
			cs, resp, err := c.Commits.ListCommits(pid, &gitlab.ListCommitsOptions{RefName: gitlab.Ptr("files"), Path: gitlab.Ptr(path),
				ListOptions: gitlab.ListOptions{PerPage: 100}})
			if err != nil || len(cs) != len(want) || resp.TotalItems != int64(len(want)) {
				t.Fatalf("commits of path %q: %d (X-Total %d), %v; want %d", path, len(cs), resp.TotalItems, err, len(want))
			}
			for i := range want {
				checkCommit(t, in, "group/private", cs[i], want[i])
			}
		}
		// A ref that does not exist lists nothing.
		cs, resp, err := c.Commits.ListCommits(pid, &gitlab.ListCommitsOptions{RefName: gitlab.Ptr("nope")})
		if err != nil || len(cs) != 0 || resp.TotalItems != 0 {
			t.Errorf("commits of a missing ref: %v %d %v", cs, resp.TotalItems, err)
		}
	})
}

func TestRepositoryFiles(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{}, func(t *testing.T, in *apptest.Instance) {
		w := newGitWorld(t, in)
		bare := shapeRepository(t, w)
		c := in.Client(t, w.member)
		pid := w.private.ID

		files := map[string]string{"README.md": "", "LICENSE": "", ".gitignore": ""}
		for name := range files {
			files[name] = gitOK(t, "", "--git-dir="+bare, "show", "master:"+name)
		}
		for name, content := range files {
			got := must(c.RepositoryFiles.GetRawFile(pid, name, &gitlab.GetRawFileOptions{Ref: gitlab.Ptr("master")}))(t)
			if string(got) != content {
				t.Errorf("raw %s on master: %q, want %q", name, got, content)
			}
		}
		// No ref: the default branch.
		if got := must(c.RepositoryFiles.GetRawFile(pid, "README.md", nil))(t); string(got) != files["README.md"] {
			t.Errorf("raw README.md without ref: %q", got)
		}
		commit := strings.TrimSpace(gitOK(t, "", "--git-dir="+bare, "rev-parse", "files"))
		for name, content := range extraFiles {
			got := must(c.RepositoryFiles.GetRawFile(pid, name, &gitlab.GetRawFileOptions{Ref: gitlab.Ptr("files")}))(t)
			if string(got) != content {
				t.Errorf("raw %s: %q, want %q", name, got, content)
			}
			f := must(c.RepositoryFiles.GetFile(pid, name, &gitlab.GetFileOptions{Ref: gitlab.Ptr("files")}))(t)
			decoded, err := base64.StdEncoding.DecodeString(f.Content)
			sum := sha256.Sum256([]byte(content))
			blob := strings.TrimSpace(gitOK(t, "", "--git-dir="+bare, "rev-parse", "files:"+name))
			if err != nil || string(decoded) != content || f.Encoding != "base64" || f.FilePath != name || f.FileName != filepath.Base(name) ||
				f.Size != int64(len(content)) || f.SHA256 != hex.EncodeToString(sum[:]) || f.BlobID != blob || f.CommitID != commit ||
				f.Ref != "files" || f.ExecuteFilemode != (name == "run.sh") {
				t.Errorf("file %s: %+v (blob %s commit %s)", name, f, blob, commit)
			}
		}

		raw := func(path, query string) (int, http.Header, []byte) {
			return apiGet(t, in, w.member, fmt.Sprintf("/api/v4/projects/%d/repository/files/%s/raw%s", pid, path, query))
		}
		_, h, _ := raw("bin%2Fdata.bin", "?ref=files")
		if h.Get("Content-Type") != "application/octet-stream" || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("binary raw headers: %v", h)
		}
		_, h, _ = raw("docs%2Fguide.md", "?ref=files")
		if h.Get("Content-Type") != "text/plain; charset=utf-8" || h.Get("X-Gitlab-File-Path") != "docs/guide.md" {
			t.Errorf("text raw headers: %v", h)
		}

		errs := []struct {
			name, path, query string
			status            int
			body              string
		}{
			{"missing file", "nope.txt", "?ref=master", 404, `{"message":"404 File Not Found"}`},
			{"file of another branch", "run.sh", "?ref=master", 404, `{"message":"404 File Not Found"}`},
			{"directory", "docs", "?ref=files", 404, `{"message":"404 File Not Found"}`},
			{"missing ref", "README.md", "?ref=nope", 404, `{"message":"404 Commit Not Found"}`},
			{"option as ref", "README.md", "?ref=--output%3D%2Ftmp%2Fx", 404, `{"message":"404 Commit Not Found"}`},
			{"dot dot", "..%2F..%2Fetc%2Fpasswd", "?ref=master", 400, `{"error":"file_path should be a valid file path"}`},
			{"encoded dots", "%2E%2E%2F%2E%2E%2Fetc%2Fpasswd", "?ref=master", 400, `{"error":"file_path should be a valid file path"}`},
			{"dot dot inside", "docs%2F..%2F..%2FREADME.md", "?ref=files", 400, `{"error":"file_path should be a valid file path"}`},
			// Unencoded, ".." is resolved by HTTP path cleaning before routing.
			{"dot dot unencoded", "..", "?ref=master", 404, `{"error":"404 Not Found"}`},
			{"absolute", "%2Fetc%2Fpasswd", "?ref=master", 400, `{"error":"file_path should be a valid file path"}`},
			{"dot segment", "docs%2F.%2Fguide.md", "?ref=files", 400, `{"error":"file_path should be a valid file path"}`},
			{"backslash", "..%5C..%5Cetc%5Cpasswd", "?ref=master", 400, `{"error":"file_path should be a valid file path"}`},
			{"nul", "README.md%00.txt", "?ref=master", 400, `{"error":"file_path should be a valid file path"}`},
			// Decoded once only: "%252F" is a file named "..%2F..", which does not exist.
			{"double encoded", "..%252F..%252Fetc%252Fpasswd", "?ref=master", 404, `{"message":"404 File Not Found"}`},
		}
		for _, tt := range errs {
			status, _, body := raw(tt.path, tt.query)
			if status != tt.status || strings.TrimSpace(string(body)) != tt.body {
				t.Errorf("raw %s: %d %s, want %d %s", tt.name, status, body, tt.status, tt.body)
			}
			status, _, body = apiGet(t, in, w.member, fmt.Sprintf("/api/v4/projects/%d/repository/files/%s%s", pid, tt.path, tt.query))
			if status != tt.status || strings.TrimSpace(string(body)) != tt.body {
				t.Errorf("file %s: %d %s, want %d %s", tt.name, status, body, tt.status, tt.body)
			}
		}
		status, _, body := apiGet(t, in, w.member, fmt.Sprintf("/api/v4/projects/%d/repository/files/README.md", pid))
		if status != 400 || strings.TrimSpace(string(body)) != `{"error":"ref is missing"}` {
			t.Errorf("file without ref: %d %s", status, body)
		}
	})
}

// TestRepositoryAccess: the repository API follows the project's
// visibility and GitLab's download_code ability.
func TestRepositoryAccess(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{}, func(t *testing.T, in *apptest.Instance) {
		w := newGitWorld(t, in)
		paths := []string{"repository/branches", "repository/branches/master", "repository/tags", "repository/tags/v0.9.99",
			"repository/commits", "repository/commits/master", "repository/files/README.md/raw?ref=master", "repository/files/README.md?ref=master"}
		tests := []struct {
			name    string
			project int64
			token   string
			status  int
		}{
			{"public anonymous", w.public.ID, "", 200},
			{"internal anonymous", w.internal.ID, "", 404},
			{"internal outsider", w.internal.ID, w.outsider, 200},
			{"private anonymous", w.private.ID, "", 404},
			{"private outsider", w.private.ID, w.outsider, 404},
			{"private guest", w.private.ID, w.guest, 403},
			{"private reporter", w.private.ID, w.member, 200},
			{"private reporter read_api", w.private.ID, w.readAPI, 200},
			{"private admin", w.private.ID, in.RootToken, 200},
			{"private revoked", w.private.ID, w.revoked, 401},
		}
		for _, tt := range tests {
			for _, p := range paths {
				status, _, body := apiGet(t, in, tt.token, fmt.Sprintf("/api/v4/projects/%d/%s", tt.project, p))
				if status != tt.status {
					t.Errorf("%s: %s: %d, want %d: %s", tt.name, p, status, tt.status, body)
				}
				if status == 404 && !bytes.Contains(body, []byte("404 Project Not Found")) {
					t.Errorf("%s: %s: 404 body %s", tt.name, p, body)
				}
			}
		}
	})
}

// TestRepositoryEmpty: a project created through the API reads as an empty
// repository before anyone clones it, and after.
func TestRepositoryEmpty(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{}, func(t *testing.T, in *apptest.Instance) {
		root := in.Client(t, in.RootToken)
		p := must(root.Projects.CreateProject(&gitlab.CreateProjectOptions{Path: gitlab.Ptr("empty")}))(t)
		if !p.EmptyRepo {
			t.Errorf("new project: empty_repo false")
		}
		check := func(when string) {
			bs, resp, err := root.Branches.ListBranches(p.ID, nil)
			if err != nil || len(bs) != 0 || resp.TotalItems != 0 {
				t.Errorf("%s: branches %v total %d err %v", when, bs, resp.TotalItems, err)
			}
			cs, resp, err := root.Commits.ListCommits(p.ID, nil)
			if err != nil || len(cs) != 0 || resp.TotalItems != 0 {
				t.Errorf("%s: commits %v total %d err %v", when, cs, resp.TotalItems, err)
			}
			if ts := must(root.Tags.ListTags(p.ID, nil))(t); len(ts) != 0 {
				t.Errorf("%s: tags %v", when, ts)
			}
			status, _, body := apiGet(t, in, in.RootToken, fmt.Sprintf("/api/v4/projects/%d/repository/files/README.md/raw", p.ID))
			if status != 404 || strings.TrimSpace(string(body)) != `{"message":"404 Commit Not Found"}` {
				t.Errorf("%s: raw file: %d %s", when, status, body)
			}
			if status, _, _ := apiGet(t, in, in.RootToken, fmt.Sprintf("/api/v4/projects/%d/repository/branches/main", p.ID)); status != 404 {
				t.Errorf("%s: branch: %d", when, status)
			}
		}
		check("before clone")
		if in.App.Git.Exists(p.ID) {
			t.Fatal("repository made before anyone needed it")
		}
		dst := filepath.Join(t.TempDir(), "clone")
		if _, stderr, err := gitRun(t, "", "clone", cloneURL(in, p.PathWithNamespace, in.RootToken), dst); err != nil || !strings.Contains(stderr, "empty repository") {
			t.Fatalf("clone empty project: %v\n%s", err, stderr)
		}
		if !in.App.Git.Exists(p.ID) {
			t.Fatal("clone did not create the repository")
		}
		check("after clone")

		// What the project entity should show of the repository.
		state := func() (string, bool) {
			var pr *ferry.Project
			err := in.App.Store.Read(context.Background(), func(tx *store.Tx) (err error) {
				pr, err = tx.ProjectByID(context.Background(), p.ID)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			branch, empty, err := in.App.API.RepositoryState(context.Background(), pr)
			if err != nil {
				t.Fatal(err)
			}
			return branch, empty
		}
		if branch, empty := state(); branch != "" || !empty {
			t.Errorf("empty repository state: %q %v", branch, empty)
		}
		if err := in.App.Git.FetchBundle(context.Background(), p.ID, fixtureBundle(t)); err != nil {
			t.Fatal(err)
		}
		if branch, empty := state(); branch != "master" || empty {
			t.Errorf("imported repository state: %q %v", branch, empty)
		}
	})
}
