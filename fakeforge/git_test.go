package fakeforge_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-import/ferry/fakeforge"
)

// gitCmd runs git with credentials in an extra header, never in the URL.
func gitCmd(t *testing.T, dir, user, password string, args ...string) string {
	t.Helper()
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	full := append([]string{"-c", "http.extraHeader=Authorization: Basic " + auth}, args...)
	cmd := exec.Command("git", full...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0", "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestGitHubCloneOverSmartHTTP(t *testing.T) {
	t.Parallel()
	f := startForge(t, fakeforge.Options{Scenario: tinyScenario(3)})
	sc := f.Scenario
	dir := t.TempDir()
	gitCmd(t, dir, "x-access-token", f.GitHub.Token, "clone", "--quiet", "--mirror", f.GitHub.URL+"/acme/widgets.git", "mirror.git")
	refs := gitCmd(t, filepath.Join(dir, "mirror.git"), "", "", "for-each-ref", "--format=%(refname) %(objectname)")
	for _, want := range []string{
		"refs/heads/main " + f.Git.MainSHA(sc.Config().Commits-1),
		"refs/heads/feature/branch-1 " + f.Git.BranchSHA(1),
		fmt.Sprintf("refs/pull/%d/head %s", sc.PRNumber(1), f.Git.BranchSHA(sc.PRBranch(1))),
		fmt.Sprintf("refs/pull/%d/head %s", sc.PRNumber(sc.Config().PullRequests), f.Git.BranchSHA(sc.PRBranch(sc.Config().PullRequests))),
		"refs/tags/v1.0.0 ",
	} {
		if !strings.Contains(refs, want) {
			t.Errorf("mirror lacks %q:\n%s", want, refs)
		}
	}
	if n := strings.Count(refs, "refs/pull/"); n != sc.Config().PullRequests {
		t.Errorf("%d pull refs, want %d", n, sc.Config().PullRequests)
	}
	gitCmd(t, dir, "x-access-token", f.GitHub.Token, "clone", "--quiet", f.GitHub.URL+"/acme/widgets.wiki.git", "wiki")
	if _, err := os.Stat(filepath.Join(dir, "wiki", "Home.md")); err != nil {
		t.Errorf("wiki clone: %v", err)
	}

	// The same seed gives the same SHAs.
	g := startForge(t, fakeforge.Options{Scenario: tinyScenario(3)})
	if g.Git.BranchSHA(2) != f.Git.BranchSHA(2) || g.Git.MainSHA(0) != f.Git.MainSHA(0) {
		t.Error("same seed, different commit SHAs")
	}

	for _, tt := range []struct{ name, user, password string }{
		{"no credentials", "", ""}, {"wrong token", "x-access-token", "wrong"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, f.GitHub.URL+"/acme/widgets.git/info/refs?service=git-upload-pack", nil)
			if tt.user != "" {
				req.SetBasicAuth(tt.user, tt.password)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("status %d, want 401 with a Basic challenge", resp.StatusCode)
			}
		})
	}
}

// TestLFSBatchAPI fetches every LFS object through the batch API directly,
// as an importer does, whether or not git-lfs is installed, from GitHub's
// repository and from Bitbucket Server's.
func TestLFSBatchAPI(t *testing.T) {
	t.Parallel()
	f := startForge(t, fakeforge.Options{Scenario: tinyScenario(3)})
	sc := f.Scenario
	type obj struct {
		OID  string `json:"oid"`
		Size int    `json:"size"`
	}
	var objs []obj
	for k := 1; k <= sc.Config().LFSObjects; k++ {
		o := sc.LFSObject(k)
		objs = append(objs, obj{o.OID, len(o.Content)})
	}
	objs = append(objs, obj{strings.Repeat("0", 64), 1})
	body, _ := json.Marshal(map[string]any{"operation": "download", "transfers": []string{"basic"}, "objects": objs})
	for _, tt := range []struct{ name, repo, user, password string }{
		{"github", f.GitHub.URL + "/acme/widgets.git", "x-access-token", f.GitHub.Token},
		{"bitbucket server", f.BitbucketServer.Repos[0], f.BitbucketServer.Username, f.BitbucketServer.Token},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, tt.repo+"/info/lfs/objects/batch", bytes.NewReader(body))
			req.Header.Set("Accept", "application/vnd.git-lfs+json")
			req.Header.Set("Content-Type", "application/vnd.git-lfs+json")
			req.SetBasicAuth(tt.user, tt.password)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var batch struct {
				Objects []struct {
					OID     string `json:"oid"`
					Actions map[string]struct {
						Href   string            `json:"href"`
						Header map[string]string `json:"header"`
					} `json:"actions"`
					Error *struct{ Code int } `json:"error"`
				} `json:"objects"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&batch); err != nil || resp.StatusCode != 200 {
				t.Fatalf("batch: %d %v", resp.StatusCode, err)
			}
			if len(batch.Objects) != len(objs) || batch.Objects[len(objs)-1].Error == nil || batch.Objects[len(objs)-1].Error.Code != 404 {
				t.Fatalf("batch answer %+v: want every object, the unknown one with a 404 error", batch.Objects)
			}
			for k, o := range batch.Objects[:len(objs)-1] {
				dl := o.Actions["download"]
				req, _ := http.NewRequest(http.MethodGet, dl.Href, nil)
				for h, v := range dl.Header {
					req.Header.Set(h, v)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if !bytes.Equal(got, sc.LFSObject(k+1).Content) {
					t.Errorf("object %d: %d bytes differ from the scenario's", k+1, len(got))
				}
			}
		})
	}
}

// TestLFSClone clones with git-lfs smudging the objects, when git-lfs is here.
func TestLFSClone(t *testing.T) {
	t.Parallel()
	if err := exec.Command("git", "lfs", "version").Run(); err != nil {
		t.Skip("git-lfs is not installed; TestLFSBatchAPI covers the LFS API over HTTP")
	}
	f := startForge(t, fakeforge.Options{Scenario: tinyScenario(3)})
	dir := t.TempDir()
	gitCmd(t, dir, "x-access-token", f.GitHub.Token, "-c", "filter.lfs.smudge=git-lfs smudge -- %f",
		"-c", "filter.lfs.process=git-lfs filter-process", "-c", "filter.lfs.required=true",
		"clone", "--quiet", f.GitHub.URL+"/acme/widgets.git", "work")
	o := f.Scenario.LFSObject(1)
	got, err := os.ReadFile(filepath.Join(dir, "work", o.Path))
	if err != nil || !bytes.Equal(got, o.Content) {
		t.Errorf("LFS file %s not smudged to its content (%d bytes, %v)", o.Path, len(got), err)
	}
}
