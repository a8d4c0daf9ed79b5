package fakeforge_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-import/ferry/fakeforge"
	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/fakeforge/traffic"
	"github.com/ferry-import/ferry/fakeforge/walk"
)

// TestBitbucketServerWalk walks both projects' repository three objects a
// page, as GitLab's importer does, and checks counts and calls against
// the scenario.
func TestBitbucketServerWalk(t *testing.T) {
	t.Parallel()
	f := startForge(t, fakeforge.Options{Scenario: tinyScenario(5), Sources: []string{scenario.BitbucketServer}})
	bb := f.BitbucketServer
	want, _ := f.Scenario.Expected(scenario.BitbucketServer)
	for _, k := range []string{"notes", "note_replies", "diff_notes", "diff_note_replies", "edited_notes", "tasks",
		"approvals", "reviewers", "merge_requests_merged", "merge_requests_closed", "system_notes_approved",
		"system_notes_closed", "system_notes_requested_changes", "system_notes_unapproved", "system_notes_added_commits",
		scenario.DiffNoteKind("REMOVED", "FROM"), scenario.DiffNoteKind("CONTEXT", "TO")} {
		if want[k] == 0 {
			t.Errorf("scenario has no %s; the walk proves nothing about them", k)
		}
	}
	lower, _ := f.Scenario.LowerBoundCalls(scenario.BitbucketServer, perPage)
	for _, project := range []string{"ACME", "OSS"} {
		t.Run(project, func(t *testing.T) {
			bb.ResetStats()
			got, err := walk.BitbucketServer(context.Background(), walk.BitbucketTarget{URL: bb.URL, Username: bb.Username,
				Token: bb.Token, Project: project, Repo: "widgets", PerPage: perPage})
			if err != nil {
				t.Fatalf("walk: %v", err)
			}
			if d := scenario.Counts(got).Diff(want); d != "" {
				t.Errorf("counts differ: %s", d)
			}
			if calls := bb.Stats().APIRequests; calls != lower {
				t.Errorf("walk made %d calls, lower bound %d", calls, lower)
			}
			if bb.Stats().Families["pull-requests/activities"].Requests <= f.Scenario.Config().PullRequests {
				t.Errorf("activities were not paged: %+v", bb.Stats().Families)
			}
		})
	}
}

func TestBitbucketServerErrorsAndPaging(t *testing.T) {
	t.Parallel()
	f := startForge(t, fakeforge.Options{Scenario: tinyScenario(5)})
	bb := f.BitbucketServer
	api := bb.APIURL
	tests := []struct {
		name, path, user, token string
		status                  int
		message                 string
	}{
		{"bad password", "/projects/ACME/repos/widgets", bb.Username, "nope", 401, "Authentication failed"},
		{"unknown project", "/projects/NOPE/repos/widgets", bb.Username, bb.Token, 404, "Project NOPE does not exist."},
		{"unknown repository", "/projects/ACME/repos/gadgets", bb.Username, bb.Token, 404, "Repository ACME/gadgets does not exist."},
		{"unknown pull request", "/projects/ACME/repos/widgets/pull-requests/9999", bb.Username, bb.Token, 404, "Pull request 9999 does not exist"},
		{"user", "/users/user3", bb.Username, bb.Token, 200, ""},
		{"root", "/users/root", bb.Username, bb.Token, 200, ""},
		{"root's login is no slug", "/users/user2", bb.Username, bb.Token, 404, "User user2 does not exist."},
		{"fork", "/projects/ACME/repos/widgets-fork", bb.Username, bb.Token, 200, ""},
		{"public project", "/projects/OSS/repos/widgets/pull-requests/2/activities", bb.Username, bb.Token, 200, ""},
		{"diff of a file", "/projects/ACME/repos/widgets/pull-requests/2/diff/README.md", bb.Username, bb.Token, 200, ""},
		{"default branch", "/projects/ACME/repos/widgets/branches/default", bb.Username, bb.Token, 200, ""},
		{"no pull requests in a fork", "/projects/ACME/repos/widgets-fork/pull-requests", bb.Username, bb.Token, 404, "Repository ACME/widgets-fork does not exist."},
		{"pull request", "/projects/ACME/repos/widgets/pull-requests/1", bb.Username, bb.Token, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, api+tt.path, nil)
			req.SetBasicAuth(tt.user, tt.token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Errors []struct{ Message string } `json:"errors"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.message != "" && (len(body.Errors) != 1 || !strings.Contains(body.Errors[0].Message, tt.message)) {
				t.Errorf("errors %+v, want %q", body.Errors, tt.message)
			}
		})
	}
	t.Run("paging envelope", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, api+"/projects/ACME/repos/widgets/pull-requests?state=ALL&start=3&limit=3", nil)
		req.SetBasicAuth(bb.Username, bb.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var p struct {
			Size, Limit, Start, NextPageStart int
			IsLastPage                        bool
			Values                            []struct{ ID int }
		}
		if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
			t.Fatal(err)
		}
		n := f.Scenario.Config().PullRequests
		if p.Size != 3 || p.Start != 3 || p.NextPageStart != 6 || p.IsLastPage || p.Values[0].ID != n-3 {
			t.Errorf("page %+v", p)
		}
	})
}

// TestBitbucketServerClone mirrors the repository as an importer does:
// refs/pull-requests/<id>/from and /merge for open pull requests only, the
// rework branches, merge commits fetched by SHA, the public project's
// clone URL. TestLFSBatchAPI fetches its LFS objects.
func TestBitbucketServerClone(t *testing.T) {
	t.Parallel()
	f := startForge(t, fakeforge.Options{Scenario: tinyScenario(5), Sources: []string{scenario.BitbucketServer}})
	bb, sc, repo := f.BitbucketServer, f.Scenario, f.BitbucketServer.Git
	dir := t.TempDir()
	gitCmd(t, dir, bb.Username, bb.Token, "clone", "--quiet", "--mirror", bb.Repos[0], "m.git")
	mirror := filepath.Join(dir, "m.git")
	refs := gitCmd(t, mirror, "", "", "for-each-ref", "--format=%(refname) %(objectname)")
	for j := 1; j <= sc.Config().PullRequests; j++ {
		p := sc.BBSPullRequest(j)
		tip := repo.BranchSHA(p.Branch)
		if p.Rework {
			tip = repo.ReworkSHA(p.Branch)
		}
		from, merge := fmt.Sprintf("refs/pull-requests/%d/from %s\n", j, tip), fmt.Sprintf("refs/pull-requests/%d/merge %s\n", j, repo.MergeSHA(j))
		if open := p.State == "OPEN"; strings.Contains(refs, from) != open || strings.Contains(refs, merge) != open ||
			!open && strings.Contains(refs, fmt.Sprintf("refs/pull-requests/%d/", j)) {
			t.Errorf("pull request %d (%s): refs\n%s", j, p.State, refs)
		}
		if p.State == "OPEN" {
			parents := gitCmd(t, mirror, "", "", "log", "-1", "--format=%P", repo.MergeSHA(j))
			if parents != repo.MainSHA(sc.Config().Commits-1)+" "+tip+"\n" {
				t.Errorf("pull request %d: merge ref's parents %q", j, parents)
			}
		}
		if p.State == "MERGED" {
			// Not on any branch here: a clone lacks it, a fetch by SHA brings it.
			if _, err := exec.Command("git", "--git-dir", mirror, "cat-file", "-e", repo.MergeSHA(j)).CombinedOutput(); err == nil {
				t.Errorf("pull request %d: the clone has merge commit %s", j, repo.MergeSHA(j))
			}
			gitCmd(t, mirror, bb.Username, bb.Token, "fetch", "--quiet", "origin", repo.MergeSHA(j))
			gitCmd(t, mirror, "", "", "cat-file", "-e", repo.MergeSHA(j))
		}
	}
	for b := 1; b <= sc.Config().Branches; b++ {
		if want := fmt.Sprintf("refs/heads/%s %s\n", sc.BBSReworkBranch(b), repo.ReworkSHA(b)); !strings.Contains(refs, want) {
			t.Errorf("no %q in\n%s", want, refs)
		}
	}
	if public := gitCmd(t, dir, bb.Username, bb.Token, "ls-remote", bb.Repos[1]); !strings.Contains(public, repo.BranchSHA(0)+"\trefs/heads/main\n") {
		t.Errorf("public project's clone URL %s serves another repository:\n%s", bb.Repos[1], public)
	}
}

// TestBitbucketServerLimitAnswers checks Bitbucket's answers to the shared
// fault knobs: 429 with Retry-After and an {"errors":[…]} body, rate
// headers, JSON 5xx.
func TestBitbucketServerLimitAnswers(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	opts := fakeforge.Options{Scenario: tinyScenario(9), Sources: []string{scenario.BitbucketServer}, Clock: fixedClock{now},
		Faults: traffic.Faults{RateLimit: 2, RateLimitPeriod: time.Minute}}
	f := startForge(t, opts)
	bb := f.BitbucketServer
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(bb.Username+":"+bb.Token))
	var last *http.Response
	var body []byte
	for range 3 {
		last, body = glGet(t, bb.APIURL+"/projects/ACME/repos/widgets", "Authorization", auth)
	}
	var e struct {
		Errors []struct{ Message, ExceptionName string }
	}
	h := last.Header
	if err := json.Unmarshal(body, &e); err != nil || last.StatusCode != http.StatusTooManyRequests || h.Get("Retry-After") != "60" ||
		h.Get("X-RateLimit-Limit") != "2" || h.Get("X-RateLimit-Remaining") != "0" || len(e.Errors) != 1 ||
		!strings.HasSuffix(e.Errors[0].ExceptionName, "RateLimitedException") {
		t.Errorf("over the limit: %d %s %v", last.StatusCode, body, h)
	}
	if st := bb.Stats().Families["repository"]; st.RateLimited != 1 || st.Requests != 3 {
		t.Errorf("accounting %+v", st)
	}

	opts.Faults, opts.Clock = traffic.Faults{ErrorRate: 1}, nil
	g := startForge(t, opts)
	resp, body := glGet(t, g.BitbucketServer.APIURL+"/projects/ACME/repos/widgets/pull-requests", "Authorization", auth)
	if err := json.Unmarshal(body, &e); err != nil || resp.StatusCode < 500 || len(e.Errors) != 1 || e.Errors[0].Message == "" {
		t.Errorf("injected error: %d %s", resp.StatusCode, body)
	}
}
