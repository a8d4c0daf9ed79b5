package bitbucketserver_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ferry-import/ferry/fakeforge/scenario"
)

// fields maps each object of a JSON document, by its path ("",
// "values[].fromRef", …), to its keys and the JSON kinds each key's
// values had.
type fields map[string]map[string]map[string]bool

// nested replies are one kind of object however deep they nest.
var nestedReplies = regexp.MustCompile(`(\.comments\[\])+`)

func (fs fields) add(v any, path string) {
	path = nestedReplies.ReplaceAllString(path, ".comments[]")
	switch v := v.(type) {
	case map[string]any:
		if fs[path] == nil {
			fs[path] = map[string]map[string]bool{}
		}
		for k, x := range v {
			if fs[path][k] == nil {
				fs[path][k] = map[string]bool{}
			}
			fs[path][k][kind(x)] = true
			fs.add(x, strings.TrimPrefix(path+"."+k, "."))
		}
	case []any:
		for _, x := range v {
			fs.add(x, path+"[]")
		}
	}
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case bool:
		return "bool"
	}
	return "number"
}

func fieldsOf(t *testing.T, docs ...[]byte) fields {
	t.Helper()
	fs := fields{}
	for _, d := range docs {
		var v any
		if err := json.Unmarshal(d, &v); err != nil {
			t.Fatalf("decode %.80s: %v", d, err)
		}
		fs.add(v, "")
	}
	return fs
}

// compatible reports whether a key's kinds agree: null stands for any
// kind (a real server's null where the fake has a value, or the other
// way round).
func compatible(real, fake map[string]bool) bool {
	for k := range real {
		if k != "null" && !fake[k] && !(len(fake) == 1 && fake["null"]) {
			return false
		}
	}
	for k := range fake {
		if k != "null" && !real[k] && !(len(real) == 1 && real["null"]) {
			return false
		}
	}
	return true
}

// TestFieldSetsMatchRealServers decodes recorded answers of real
// Bitbucket Servers and fakeforge's answers to the same requests into
// generic JSON and compares them object by object: fakeforge has every
// field the real server sends, with the same JSON kind, and any field more
// is one the test names (a field of Bitbucket 7.x/8.x, or one the recorded
// answer happens not to show).
func TestFieldSetsMatchRealServers(t *testing.T) {
	f := small(t)
	open, merged := 0, 0
	for j := 1; j <= f.sc.Config().PullRequests; j++ {
		switch s := f.sc.BBSState(j); {
		case s == "OPEN" && f.sc.BBSRework(j) && open == 0:
			open = j
		case s == "MERGED" && merged == 0:
			merged = j
		}
	}
	prPath := func(j int) string {
		return fmt.Sprintf("/rest/api/1.0/projects/ACME/repos/widgets/pull-requests/%d", j)
	}
	body := func(path string) func(t *testing.T) []byte {
		return func(t *testing.T) []byte {
			status, b := f.get(t, path)
			if status != http.StatusOK {
				t.Fatalf("GET %s: %d %s", path, status, b)
			}
			return b
		}
	}
	// activityPart is one part of the first activity of pull request j
	// with action.
	activityPart := func(j int, action string, part func(map[string]any) any) func(t *testing.T) []byte {
		return func(t *testing.T) []byte {
			var p struct{ Values []map[string]any }
			if err := json.Unmarshal(body(prPath(j)+"/activities?limit=500")(t), &p); err != nil {
				t.Fatal(err)
			}
			for _, a := range p.Values {
				if a["action"] == action {
					b, _ := json.Marshal(part(a))
					return b
				}
			}
			t.Fatalf("pull request %d has no %s activity", j, action)
			return nil
		}
	}
	repoExtra := []string{"description", "hierarchyId", "archived"}
	refExtra := []string{"type"}
	prExtra := slices.Concat(repoExtra, refExtra, []string{"draft", "properties", "commentCount", "nextPageStart"})
	commentExtra := []string{"severity", "state", "threadResolved", "resolver", "resolvedDate", "transitionable"}
	for _, tt := range []struct {
		name     string
		fixtures []string
		fake     func(t *testing.T) []byte
		extra    []string
	}{
		{"repository", []string{"drone-go-scm-stash/repo.json", "jenkins-bitbucket-branch-source/1.0-projects-amuniz-repos-test-repos.json"},
			body("/rest/api/1.0/projects/ACME/repos/widgets"), repoExtra},
		{"repositories", []string{"drone-go-scm-stash/repos.json"}, body("/rest/api/1.0/repos"), append(repoExtra, "origin")},
		{"project", []string{"jenkins-bitbucket-branch-source/1.0-projects-amuniz.json"}, body("/rest/api/1.0/projects/ACME"), nil},
		{"pull request", []string{"drone-go-scm-stash/pr.json", "jenkins-bitbucket-branch-source/1.0-projects-amuniz-repos-test-repos-pull-requests-1.json"},
			body(prPath(open)), prExtra},
		{"pull requests", []string{"drone-go-scm-stash/prs.json", "jenkins-bitbucket-branch-source/1.0-projects-amuniz-repos-test-repos-pull-requests_start_0_limit_200.json"},
			body("/rest/api/1.0/projects/ACME/repos/widgets/pull-requests?state=ALL&limit=1000"), slices.Concat(prExtra, []string{"closedDate", "mergeCommit", "lastReviewedCommit"})},
		{"activities", []string{"drone-go-scm-stash/pr_comments.json"}, body(prPath(merged) + "/activities"),
			slices.Concat(commentExtra, []string{"commentAnchor", "diff", "commit", "fromHash", "previousFromHash", "toHash", "previousToHash", "added", "removed", "nextPageStart"})},
		{"comment", []string{"drone-go-scm-stash/pr_comment.json"},
			activityPart(open, "COMMENTED", func(a map[string]any) any { return a["comment"] }), commentExtra},
		{"merge commit", []string{"drone-go-scm-stash/commit.json"},
			activityPart(merged, "MERGED", func(a map[string]any) any { return a["commit"] }), nil},
		{"user", []string{"drone-go-scm-stash/user.json"}, body("/rest/api/1.0/users/user1"), nil},
		{"branches", []string{"drone-go-scm-stash/branches.json", "jenkins-bitbucket-branch-source/1.0-projects-amuniz-repos-test-repos-branches_start_0_limit_200.json"},
			body("/rest/api/1.0/projects/ACME/repos/widgets/branches?limit=3"), []string{"nextPageStart"}},
		{"default branch", []string{"drone-go-scm-stash/default_branch.json"}, body("/rest/api/1.0/projects/ACME/repos/widgets/branches/default"), nil},
		{"tags", []string{"drone-go-scm-stash/tags.json", "jenkins-bitbucket-branch-source/1.0-projects-amuniz-repos-test-repos-tags_start_0_limit_200.json"},
			body("/rest/api/1.0/projects/ACME/repos/widgets/tags"), nil},
		{"pull request diff", []string{"drone-go-scm-stash/pr_file_diff.json"}, body(prPath(open) + "/diff/" + scenario.ReadmePath),
			// The recorded diff keeps only the line texts.
			[]string{"fromHash", "toHash", "contextLines", "whitespace", "truncated", "components", "parent", "name", "extension",
				"destination", "source", "commentIds", "lineComments"}},
		{"error", []string{"drone-go-scm-stash/error.json"}, func(t *testing.T) []byte {
			status, b := f.get(t, "/rest/api/1.0/projects/NOPE/repos/widgets")
			if status != http.StatusNotFound {
				t.Fatalf("status %d", status)
			}
			return b
		}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var docs [][]byte
			for _, name := range tt.fixtures {
				b, err := os.ReadFile(filepath.Join("testdata", name))
				if err != nil {
					t.Fatal(err)
				}
				docs = append(docs, b)
			}
			real, fake := fieldsOf(t, docs...), fieldsOf(t, tt.fake(t))
			for _, path := range slices.Sorted(maps.Keys(real)) {
				got, ok := fake[path]
				if !ok {
					t.Errorf("%q: fakeforge has no such object", path)
					continue
				}
				for _, k := range slices.Sorted(maps.Keys(real[path])) {
					switch {
					case got[k] == nil:
						t.Errorf("%q: fakeforge lacks %q", path, k)
					case !compatible(real[path][k], got[k]):
						t.Errorf("%q.%s: real kinds %v, fakeforge's %v", path, k, slices.Sorted(maps.Keys(real[path][k])), slices.Sorted(maps.Keys(got[k])))
					}
				}
				for _, k := range slices.Sorted(maps.Keys(got)) {
					if real[path][k] == nil && !slices.Contains(tt.extra, k) {
						t.Errorf("%q: fakeforge has %q, which no recorded answer has", path, k)
					}
				}
			}
		})
	}
}

// TestPageLimits checks Bitbucket's paging: limit 25 by default, a larger
// limit than page.max.* cut down and the page saying so.
func TestPageLimits(t *testing.T) {
	f := small(t)
	for _, tt := range []struct {
		path             string
		limit, size      int
		last, nextPageOK bool
	}{
		{"/projects/ACME/repos/widgets/pull-requests?state=ALL", 25, 25, false, true},
		{"/projects/ACME/repos/widgets/pull-requests?state=ALL&limit=5000", scenario.BBSPageMax, f.sc.Config().PullRequests, true, false},
		{"/projects/ACME/repos/widgets/pull-requests?state=ALL&limit=0", 25, 25, false, true},
		{"/projects/ACME/repos/widgets/pull-requests/2/activities?limit=1000", scenario.BBSPageMaxActivities, len(f.sc.BBSActivities(2)), true, false},
		{"/users?limit=100000", scenario.BBSPageMax, f.sc.Config().Users, true, false},
		{"/projects/ACME/repos/widgets/pull-requests?state=ALL&start=79&limit=5", 5, 1, true, false},
	} {
		t.Run(tt.path, func(t *testing.T) {
			var p struct {
				Size, Limit   int
				IsLastPage    bool
				NextPageStart *int
			}
			f.api(t, tt.path, &p)
			if p.Limit != tt.limit || p.Size != tt.size || p.IsLastPage != tt.last || (p.NextPageStart != nil) != tt.nextPageOK {
				t.Errorf("page %+v, want limit %d size %d last %v", p, tt.limit, tt.size, tt.last)
			}
		})
	}
}

// TestSameSeedSameBytes compares the answers of servers of the same seed.
func TestSameSeedSameBytes(t *testing.T) {
	c, _ := scenario.Preset("small", 42)
	c.PullRequests, c.Issues = 12, 20
	var forges []*forge
	for _, seed := range []int64{42, 42, 43} {
		c.Seed = seed
		g, err := startForge(c, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		forges = append(forges, g)
	}
	for _, p := range []string{"/projects/ACME/repos/widgets/pull-requests?state=ALL", "/projects/ACME/repos/widgets/pull-requests/4/activities",
		"/projects/ACME/repos/widgets/pull-requests/6/diff", "/projects/ACME/repos/widgets/branches", "/users"} {
		get := func(g *forge) []byte {
			_, b := g.get(t, "/rest/api/1.0"+p)
			return bytes.ReplaceAll(b, []byte(strings.TrimPrefix(g.url, "http://")), []byte("HOST"))
		}
		x, y, z := get(forges[0]), get(forges[1]), get(forges[2])
		if !bytes.Equal(x, y) {
			t.Errorf("%s: same seed, different bytes", p)
		}
		if p != "/users" && bytes.Equal(x, z) {
			t.Errorf("%s: different seeds, same bytes", p)
		}
	}
}
