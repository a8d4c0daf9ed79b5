package fakeforge_test

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-import/ferry/fakeforge"
	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/fakeforge/walk"
)

func TestBitbucketServerWalk(t *testing.T) {
	f := startForge(t, fakeforge.Options{Scenario: tinyScenario(5)})
	bb := f.BitbucketServer
	got, err := walk.BitbucketServer(context.Background(), walk.BitbucketTarget{URL: bb.URL, Username: bb.Username,
		Token: bb.Token, Project: "ACME", Repo: "widgets", PerPage: perPage})
	if err != nil {
		t.Fatalf("walk: %v", err)
	}
	want, _ := f.Scenario.Expected(scenario.BitbucketServer)
	if d := scenario.Counts(got).Diff(want); d != "" {
		t.Errorf("counts differ: %s", d)
	}
	for _, k := range []string{"inline_comments", "approvals", "merge_events", "decline_events"} {
		if want[k] == 0 {
			t.Errorf("scenario has no %s; the walk proves nothing about them", k)
		}
	}
	lower, _ := f.Scenario.LowerBoundCalls(scenario.BitbucketServer, perPage)
	if calls := bb.Stats().APIRequests; calls != lower {
		t.Errorf("walk made %d calls, lower bound %d", calls, lower)
	}
	if bb.Stats().Families["pull-requests/activities"].Requests <= f.Scenario.Config().PullRequests {
		t.Errorf("activities were not paged: %+v", bb.Stats().Families)
	}
}

func TestBitbucketServerErrorsAndPaging(t *testing.T) {
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
	t.Run("clone", func(t *testing.T) {
		dir := t.TempDir()
		gitCmd(t, dir, bb.Username, bb.Token, "clone", "--quiet", "--mirror", bb.Repos[0], "m.git")
		refs := gitCmd(t, filepath.Join(dir, "m.git"), "", "", "for-each-ref", "refs/pull-requests/1/from")
		if !strings.Contains(refs, f.Git.BranchSHA(f.Scenario.PRBranch(1))) {
			t.Errorf("refs/pull-requests/1/from missing or wrong: %q", refs)
		}
	})
}
