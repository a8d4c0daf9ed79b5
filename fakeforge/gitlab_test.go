package fakeforge_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry/fakeforge"
	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/fakeforge/traffic"
	"github.com/ferry-import/ferry/fakeforge/walk"
)

// gitlabScenario is tinyScenario with a group tree of three levels, so
// that group and project lists page too.
func gitlabScenario(seed int64) scenario.Config {
	c := tinyScenario(seed)
	c.Groups = scenario.GroupTree{Depth: 3, Breadth: 2, ProjectsPerGroup: 1}
	// Discussions and award emoji of one item span pages too.
	c.CommentsPerItem, c.ReviewCommentsPerPR, c.ReactionsPerItem = 4, 3, 4
	return c
}

// gitlabOnly starts just the GitLab forge of gitlabScenario(seed).
func gitlabOnly(seed int64) fakeforge.Options {
	return fakeforge.Options{Scenario: gitlabScenario(seed), Sources: []string{scenario.GitLab}}
}

func glClient(t *testing.T, f *fakeforge.Forge) *gl.Client {
	t.Helper()
	c, err := gl.NewClient(f.GitLab.Token, gl.WithBaseURL(f.GitLab.APIURL), gl.WithoutRetries())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestGitLabWalk walks the whole group tree with client-go, three or more
// objects a page, and checks counts and calls against the scenario.
func TestGitLabWalk(t *testing.T) {
	t.Parallel()
	f := startForge(t, gitlabOnly(1))
	want, err := f.Scenario.Expected(scenario.GitLab)
	if err != nil {
		t.Fatal(err)
	}
	got, err := walk.GitLab(context.Background(), walk.GitLabTarget{URL: f.GitLab.URL, Token: f.GitLab.Token,
		Group: "acme", PerPage: perPage})
	if err != nil {
		t.Fatalf("walk: %v", err)
	}
	if d := scenario.Counts(got).Diff(want); d != "" {
		t.Errorf("counts differ: %s", d)
	}
	for _, k := range []string{"groups", "projects", "diff_notes", "approvals", "award_emoji", "members"} {
		if want[k] <= perPage {
			t.Errorf("scenario has %d %s; the walk does not page through them", want[k], k)
		}
	}
	lower, _ := f.Scenario.LowerBoundCalls(scenario.GitLab, perPage)
	st := f.GitLab.Stats()
	if st.APIRequests != lower {
		t.Errorf("walk made %d calls, lower bound %d", st.APIRequests, lower)
	}
	for _, fam := range []struct {
		name  string
		items int
	}{
		{"issues/discussions", f.Scenario.Config().Issues}, {"merge_requests/discussions", f.Scenario.Config().PullRequests},
		{"issues/award_emoji", f.Scenario.Config().Issues},
	} {
		if calls := st.Families[fam.name].Requests; calls <= fam.items*len(f.Scenario.Projects()) {
			t.Errorf("%s were not paged: %d calls", fam.name, calls)
		}
	}
}

// TestGitLabEndpoints decodes, with client-go, every endpoint the walk
// does not use, reaching each by numeric id and by URL-encoded path.
func TestGitLabEndpoints(t *testing.T) {
	t.Parallel()
	f := startForge(t, gitlabOnly(2))
	c := glClient(t, f)
	sc := f.Scenario
	cfg := sc.Config()
	deep := sc.Projects()[len(sc.Projects())-1] // acme/sub-2/sub-2/widgets-1
	lo := func(p int64) gl.ListOptions { return gl.ListOptions{Page: p, PerPage: perPage} }
	checks := []struct {
		name string
		want int
		run  func() (int, error)
	}{
		{"metadata", 1, func() (int, error) {
			m, _, err := c.Metadata.GetMetadata()
			return btoi(m.Version != ""), err
		}},
		{"current user", 1, func() (int, error) {
			u, _, err := c.Users.CurrentUser()
			return btoi(u.Username == "root"), err
		}},
		{"user with public e-mail", 1, func() (int, error) {
			u, _, err := c.Users.GetUser(sc.User(2).ID, nil)
			return btoi(u.PublicEmail == sc.User(2).Email), err
		}},
		{"group by encoded path", 1, func() (int, error) {
			g, _, err := c.Groups.GetGroup("acme/sub-1", nil)
			return btoi(g.FullPath == "acme/sub-1" && g.ParentID == 100), err
		}},
		{"subgroups", cfg.Groups.Breadth, func() (int, error) {
			return count(func(p int64) ([]*gl.Group, *gl.Response, error) {
				return c.Groups.ListSubGroups("acme", &gl.ListSubGroupsOptions{ListOptions: lo(p)})
			})
		}},
		{"group projects without subgroups", cfg.Groups.ProjectsPerGroup, func() (int, error) {
			return count(func(p int64) ([]*gl.Project, *gl.Response, error) {
				return c.Groups.ListGroupProjects(100, &gl.ListGroupProjectsOptions{ListOptions: lo(p)})
			})
		}},
		{"group members", cfg.Users, func() (int, error) {
			return count(func(p int64) ([]*gl.GroupMember, *gl.Response, error) {
				return c.Groups.ListAllGroupMembers("acme", &gl.ListGroupMembersOptions{ListOptions: lo(p)})
			})
		}},
		{"project by encoded path", 1, func() (int, error) {
			p, _, err := c.Projects.GetProject(deep.FullPath, nil)
			return btoi(p.ID == deep.ID && p.Namespace.FullPath+"/"+p.Path == deep.FullPath), err
		}},
		{"direct members", cfg.Users, func() (int, error) {
			return count(func(p int64) ([]*gl.ProjectMember, *gl.Response, error) {
				return c.ProjectMembers.ListProjectMembers(deep.FullPath, &gl.ListProjectMembersOptions{ListOptions: lo(p)})
			})
		}},
		{"issue", 1, func() (int, error) {
			i, _, err := c.Issues.GetIssue(deep.ID, 3)
			return btoi(i.IID == 3 && i.References.Full == deep.FullPath+"#3"), err
		}},
		{"issue notes", cfg.CommentsPerItem, func() (int, error) {
			return count(func(p int64) ([]*gl.Note, *gl.Response, error) {
				return c.Notes.ListIssueNotes(deep.ID, 2, &gl.ListIssueNotesOptions{ListOptions: lo(p)})
			})
		}},
		{"merge request", 1, func() (int, error) {
			m, _, err := c.MergeRequests.GetMergeRequest(deep.FullPath, 2, nil)
			return btoi(m.DiffRefs.HeadSha == f.Git.BranchSHA(sc.PRBranch(2)) && m.DiffRefs.BaseSha != ""), err
		}},
		{"merge request notes", cfg.CommentsPerItem + cfg.ReviewCommentsPerPR, func() (int, error) {
			return count(func(p int64) ([]*gl.Note, *gl.Response, error) {
				return c.Notes.ListMergeRequestNotes(deep.ID, 2, &gl.ListMergeRequestNotesOptions{ListOptions: lo(p)})
			})
		}},
		{"merge request award emoji", cfg.ReactionsPerItem, func() (int, error) {
			return count(func(p int64) ([]*gl.AwardEmoji, *gl.Response, error) {
				return c.AwardEmoji.ListMergeRequestAwardEmoji(deep.ID, int64(reactedMR(sc)), &gl.ListAwardEmojiOptions{ListOptions: lo(p)})
			})
		}},
		{"issue note award emoji", 0, func() (int, error) {
			notes, _, err := c.Notes.ListIssueNotes(deep.ID, 1, nil)
			if err != nil {
				return -1, err
			}
			es, _, err := c.AwardEmoji.ListIssuesAwardEmojiOnNote(deep.ID, 1, notes[0].ID, nil)
			return len(es), err
		}},
		{"merge request note award emoji", 0, func() (int, error) {
			notes, _, err := c.Notes.ListMergeRequestNotes(deep.ID, 1, nil)
			if err != nil {
				return -1, err
			}
			es, _, err := c.AwardEmoji.ListMergeRequestAwardEmojiOnNote(deep.ID, 1, notes[0].ID, nil)
			return len(es), err
		}},
		{"release asset download", 1, func() (int, error) {
			rels, _, err := c.Releases.ListReleases(deep.ID, nil)
			if err != nil {
				return 0, err
			}
			link := rels[0].Assets.Links[0]
			req, _ := http.NewRequest(http.MethodGet, link.DirectAssetURL, nil)
			req.Header.Set("PRIVATE-TOKEN", f.GitLab.Token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return 0, err
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			rel := sc.Release(cfg.Releases) // newest first
			return btoi(resp.StatusCode == 200 && bytes.Equal(b, rel.Assets[0].Content) && rels[0].TagName == rel.Tag), nil
		}},
		{"upload linked from a body", 1, func() (int, error) {
			var rest string
			for iid := int64(1); rest == "" && iid <= 8; iid++ { // every fourth item links an attachment
				i, _, err := c.Issues.GetIssue(deep.ID, iid)
				if err != nil {
					return 0, err
				}
				_, rest, _ = strings.Cut(i.Description, "](/uploads/")
			}
			if rest == "" {
				return 0, fmt.Errorf("no upload link in the first issues")
			}
			path, _, _ := strings.Cut(rest, ")")
			resp, err := http.Get(f.GitLab.URL + "/" + deep.FullPath + "/uploads/" + path)
			if err != nil {
				return 0, err
			}
			resp.Body.Close()
			return btoi(resp.StatusCode == 200 && resp.Header.Get("Content-Type") == "image/png"), nil
		}},
	}
	for _, ck := range checks {
		t.Run(ck.name, func(t *testing.T) {
			n, err := ck.run()
			if err != nil {
				t.Fatalf("%v", err)
			}
			if n != ck.want {
				t.Errorf("got %d, want %d", n, ck.want)
			}
		})
	}
}

// reactedMR is the iid of the first merge request carrying award emoji.
func reactedMR(sc *scenario.Scenario) int {
	for j := 1; j <= sc.Config().PullRequests; j++ {
		if sc.HasReactions(sc.PRNumber(j)) {
			return j
		}
	}
	return 0
}

// count pages through a client-go list and counts what it decoded.
func count[T any](list func(page int64) ([]T, *gl.Response, error)) (int, error) {
	n := 0
	for page := int64(1); page != 0; {
		items, resp, err := list(page)
		if err != nil {
			return n, err
		}
		n += len(items)
		page = resp.NextPage
	}
	return n, nil
}

func glGet(t *testing.T, rawURL string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func TestGitLabAuthAndErrors(t *testing.T) {
	t.Parallel()
	f := startForge(t, gitlabOnly(3))
	api, tok := f.GitLab.APIURL, f.GitLab.Token
	tests := []struct {
		name, path string
		hdr        []string
		status     int
		body       string
	}{
		{"PRIVATE-TOKEN header", "/projects/1000", []string{"PRIVATE-TOKEN", tok}, 200, `"path_with_namespace":"acme/widgets"`},
		{"private_token query", "/projects/1000?private_token=" + tok, nil, 200, `"path_with_namespace":"acme/widgets"`},
		{"bearer", "/projects/1000", []string{"Authorization", "Bearer " + tok}, 200, `"id":1000`},
		{"no token", "/projects/1000", nil, 401, `{"message":"401 Unauthorized"}`},
		{"wrong header token", "/version", []string{"PRIVATE-TOKEN", "glpat-nope"}, 401, `{"message":"401 Unauthorized"}`},
		{"wrong query token", "/version?private_token=nope", nil, 401, `{"message":"401 Unauthorized"}`},
		{"unknown project id", "/projects/999", []string{"PRIVATE-TOKEN", tok}, 404, `{"message":"404 Project Not Found"}`},
		{"unknown project path", "/projects/acme%2Fgadgets/issues", []string{"PRIVATE-TOKEN", tok}, 404, `{"message":"404 Project Not Found"}`},
		{"unknown group", "/groups/nope", []string{"PRIVATE-TOKEN", tok}, 404, `{"message":"404 Group Not Found"}`},
		{"unknown issue", "/projects/1000/issues/9999", []string{"PRIVATE-TOKEN", tok}, 404, `{"message":"404 Issue Not Found"}`},
		{"unknown merge request", "/projects/1000/merge_requests/0/approvals", []string{"PRIVATE-TOKEN", tok}, 404, `{"message":"404 Merge Request Not Found"}`},
		{"unknown note", "/projects/1000/issues/1/notes/1/award_emoji", []string{"PRIVATE-TOKEN", tok}, 404, `{"message":"404 Note Not Found"}`},
		{"unknown route", "/projects/1000/pipelines", []string{"PRIVATE-TOKEN", tok}, 404, `{"error":"404 Not Found"}`},
		{"bad page", "/projects/1000/issues?page=x", []string{"PRIVATE-TOKEN", tok}, 400, `{"error":"page is invalid"}`},
		{"bad state", "/projects/1000/merge_requests?state=maybe", []string{"PRIVATE-TOKEN", tok}, 400, `{"error":"state does not have a valid value"}`},
		{"bad sort", "/projects/1000/issues?sort=sideways", []string{"PRIVATE-TOKEN", tok}, 400, `{"error":"sort does not have a valid value"}`},
		{"bad updated_after", "/projects/1000/issues?updated_after=yesterday", []string{"PRIVATE-TOKEN", tok}, 400, `{"error":"updated_after is invalid"}`},
		{"release asset through the API", "/projects/1000/releases/v1.0.0/downloads/widgets-v1.0.0-0.tar.gz", []string{"PRIVATE-TOKEN", tok}, 200, ""},
		{"unknown release asset", "/projects/1000/releases/v1.0.0/downloads/nope.zip", []string{"PRIVATE-TOKEN", tok}, 404, `{"message":"404 Not Found"}`},
		{"token scopes", "/personal_access_tokens/self", []string{"PRIVATE-TOKEN", tok}, 200, `"scopes":["api",`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := glGet(t, api+tt.path, tt.hdr...)
			if resp.StatusCode != tt.status || !strings.Contains(string(body), tt.body) {
				t.Errorf("got %d %s, want %d containing %s", resp.StatusCode, body, tt.status, tt.body)
			}
		})
	}
}

// TestGitLabPagination checks GitLab's headers on first, middle, last and
// past-the-end pages, and that the token never lands in a Link.
func TestGitLabPagination(t *testing.T) {
	t.Parallel()
	f := startForge(t, gitlabOnly(3))
	n := f.Scenario.Config().Issues // 40 issues, 10 a page: 4 pages
	tests := []struct {
		page                   int
		next, prev, total, per string
		rels                   []string
		items                  int
	}{
		{1, "2", "", "40", "10", []string{"next", "first", "last"}, 10},
		{2, "3", "1", "40", "10", []string{"prev", "next", "first", "last"}, 10},
		{4, "", "3", "40", "10", []string{"prev", "first", "last"}, 10},
		{9, "", "4", "40", "10", []string{"prev", "first", "last"}, 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint("page ", tt.page), func(t *testing.T) {
			resp, body := glGet(t, fmt.Sprintf("%s/projects/acme%%2Fwidgets/issues?state=all&per_page=10&page=%d&private_token=%s",
				f.GitLab.APIURL, tt.page, f.GitLab.Token))
			h := resp.Header
			if _, ok := h["X-Next-Page"]; !ok {
				t.Error("X-Next-Page missing; GitLab sends it empty on the last page")
			}
			if h.Get("X-Next-Page") != tt.next || h.Get("X-Prev-Page") != tt.prev || h.Get("X-Total") != tt.total ||
				h.Get("X-Per-Page") != tt.per || h.Get("X-Page") != fmt.Sprint(tt.page) || h.Get("X-Total-Pages") != fmt.Sprint((n+9)/10) {
				t.Errorf("headers %v", h)
			}
			link := h.Get("Link")
			for _, rel := range tt.rels {
				if !strings.Contains(link, `rel="`+rel+`"`) {
					t.Errorf("Link %q lacks rel=%s", link, rel)
				}
			}
			if strings.Contains(link, "private_token") {
				t.Errorf("Link leaks the token: %s", link)
			}
			var items []json.RawMessage
			if err := json.Unmarshal(body, &items); err != nil || len(items) != tt.items {
				t.Errorf("%d items (%v), want %d", len(items), err, tt.items)
			}
		})
	}
	t.Run("per_page capped at 100", func(t *testing.T) {
		resp, _ := glGet(t, f.GitLab.APIURL+"/projects/1000/issues?per_page=1000", "PRIVATE-TOKEN", f.GitLab.Token)
		if resp.Header.Get("X-Per-Page") != "100" {
			t.Errorf("X-Per-Page %q", resp.Header.Get("X-Per-Page"))
		}
	})
}

func TestGitLabListParameters(t *testing.T) {
	t.Parallel()
	f := startForge(t, gitlabOnly(3))
	sc := f.Scenario
	c := glClient(t, f)
	iids := func(opt *gl.ListProjectIssuesOptions) []int64 {
		t.Helper()
		opt.PerPage = 100
		is, _, err := c.Issues.ListProjectIssues(1000, opt)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, i := range is {
			out = append(out, i.IID)
		}
		return out
	}
	all := iids(&gl.ListProjectIssuesOptions{})
	if len(all) != sc.Config().Issues || all[0] != int64(sc.Config().Issues) {
		t.Errorf("default order should be newest first over every state: %v", all)
	}
	asc := iids(&gl.ListProjectIssuesOptions{Sort: gl.Ptr("asc")})
	if asc[0] != 1 {
		t.Errorf("sort=asc starts at %d", asc[0])
	}
	opened := iids(&gl.ListProjectIssuesOptions{State: gl.Ptr("opened")})
	closed := iids(&gl.ListProjectIssuesOptions{State: gl.Ptr("closed")})
	if len(opened)+len(closed) != len(all) || len(closed) == 0 {
		t.Errorf("%d opened + %d closed != %d", len(opened), len(closed), len(all))
	}
	cut := scenario.ItemUpdated(sc.IssueNumber(30))
	recent := iids(&gl.ListProjectIssuesOptions{UpdatedAfter: &cut, Sort: gl.Ptr("asc")})
	if len(recent) != sc.Config().Issues-29 || recent[0] != 30 {
		t.Errorf("updated_after kept %v", recent)
	}
	mrs, _, err := c.MergeRequests.ListProjectMergeRequests(1000, &gl.ListProjectMergeRequestsOptions{State: gl.Ptr("merged"), ListOptions: gl.ListOptions{PerPage: 100}})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mrs {
		if m.State != "merged" || m.MergedAt == nil || m.MergeUser == nil {
			t.Errorf("!%d in the merged list: state %s", m.IID, m.State)
		}
	}
	if len(mrs) == 0 {
		t.Error("no merged merge requests")
	}
}

// TestGitLabSameSeedSameBytes compares two forges from the same seed.
func TestGitLabSameSeedSameBytes(t *testing.T) {
	t.Parallel()
	a := startForge(t, gitlabOnly(42))
	b := startForge(t, gitlabOnly(42))
	c := startForge(t, gitlabOnly(43))
	paths := []string{"/projects/1000/issues?per_page=100", "/projects/acme%2Fsub-1%2Fwidgets-1/merge_requests?page=2&per_page=10",
		"/projects/1000/merge_requests/3/discussions", "/projects/1000/issues/5/discussions", "/projects/1000/releases",
		"/groups/acme/descendant_groups", "/projects/1000/merge_requests/4"}
	for _, p := range paths {
		get := func(f *fakeforge.Forge) []byte {
			_, body := glGet(t, f.GitLab.APIURL+p, "PRIVATE-TOKEN", f.GitLab.Token)
			return bytes.ReplaceAll(body, []byte(f.GitLab.URL), []byte("BASE"))
		}
		x, y, z := get(a), get(b), get(c)
		if !bytes.Equal(x, y) {
			t.Errorf("%s: same seed, different bytes", p)
		}
		if p != "/groups/acme/descendant_groups" && bytes.Equal(x, z) {
			t.Errorf("%s: different seeds, same bytes", p)
		}
	}
}

// TestGitLabDiffNotes checks a merge request's diff threads: positions on
// the feature file, replies in their root's discussion.
func TestGitLabDiffNotes(t *testing.T) {
	t.Parallel()
	f := startForge(t, gitlabOnly(4))
	c := glClient(t, f)
	sc := f.Scenario
	ds, _, err := c.Discussions.ListMergeRequestDiscussions("acme/widgets", 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	threads, replies := 0, 0
	for _, d := range ds {
		if d.IndividualNote {
			if len(d.Notes) != 1 || d.Notes[0].Type != "" {
				t.Errorf("individual discussion %s: %+v", d.ID, d.Notes)
			}
			continue
		}
		threads++
		root := d.Notes[0]
		if root.Type != gl.DiffNote || root.Position.NewPath != scenario.FeatureFilePath(sc.PRBranch(3)) || root.Position.NewLine == 0 {
			t.Errorf("thread %s root %+v", d.ID, root.Position)
		}
		if len(d.Notes) == 2 && d.Notes[1].Position.NewLine != root.Position.NewLine {
			t.Errorf("thread %s should hold its reply on the same line", d.ID)
		}
		replies += len(d.Notes) - 1
	}
	if per := sc.Config().ReviewCommentsPerPR; threads != (per+1)/2 || replies != per/2 {
		t.Errorf("%d diff threads with %d replies", threads, replies)
	}
	// A plain note's type is null on the wire, not "".
	_, body := glGet(t, f.GitLab.APIURL+"/projects/1000/issues/1/notes", "PRIVATE-TOKEN", f.GitLab.Token)
	if !strings.Contains(string(body), `"type":null`) {
		t.Errorf("plain note type is not null: %.200s", body)
	}
}

// TestGitLabDirectTransferSource follows what a destination GitLab asks a
// source for: version, GraphQL id lookup, export_relations, status polling
// and a gzipped NDJSON download with nested notes.
func TestGitLabDirectTransferSource(t *testing.T) {
	t.Parallel()
	f := startForge(t, gitlabOnly(5))
	sc := f.Scenario
	q := "private_token=" + url.QueryEscape(f.GitLab.Token)
	proj := f.GitLab.APIURL + "/projects/acme%2Fsub-1%2Fwidgets-1"
	do := func(method, u string, body io.Reader, hdr ...string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, u, body)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}

	graphql := func(query string, vars map[string]any) string {
		body, _ := json.Marshal(map[string]any{"query": query, "operationName": nil, "variables": vars})
		_, b := do(http.MethodPost, f.GitLab.URL+"/api/graphql", bytes.NewReader(body),
			"Authorization", "Bearer "+f.GitLab.Token, "Content-Type", "application/json")
		return string(b)
	}
	for _, tt := range []struct{ query, path, want string }{
		{`query($full_path: ID!) { group(fullPath: $full_path) { id name path fullPath } }`, "acme/sub-2", `"id":"gid://gitlab/Group/102"`},
		{`query($full_path: ID!) { project(fullPath: $full_path) { id } }`, "acme/sub-1/widgets-1", `"id":"gid://gitlab/Project/1001"`},
		{`query($full_path: ID!) { group(fullPath: $full_path) { id } }`, "acme/none", `{"data":{"group":null}}`},
		{`{ project(fullPath: "acme/widgets") { id } }`, "", `"gid://gitlab/Project/1000"`},
		{`{ currentUser { id } }`, "", `"errors":[{"message":`},
	} {
		if got := graphql(tt.query, map[string]any{"full_path": tt.path}); !strings.Contains(got, tt.want) {
			t.Errorf("%s with %q: %s, want %s", tt.query, tt.path, got, tt.want)
		}
	}

	// Before an export the list is empty (the setting is on) and one
	// relation's status is not found, as GitLab answers.
	if resp, b := do(http.MethodGet, proj+"/export_relations/status?"+q, nil); resp.StatusCode != 200 || string(b) != "[]" {
		t.Errorf("status before an export: %d %s", resp.StatusCode, b)
	}
	if resp, b := do(http.MethodGet, proj+"/export_relations/status?relation=issues&"+q, nil); resp.StatusCode != 404 || !strings.Contains(string(b), "404 Export Not Found") {
		t.Errorf("relation status before an export: %d %s", resp.StatusCode, b)
	}
	if resp, b := do(http.MethodPost, proj+"/export_relations?"+q, nil); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("start export: %d %s", resp.StatusCode, b)
	}
	resp, b := do(http.MethodGet, proj+"/export_relations/status?"+q, nil)
	var statuses []struct {
		Relation string `json:"relation"`
		Status   int    `json:"status"`
		Batched  bool   `json:"batched"`
	}
	if err := json.Unmarshal(b, &statuses); err != nil || resp.StatusCode != 200 || len(statuses) == 0 {
		t.Fatalf("status: %d %s %v", resp.StatusCode, b, err)
	}
	for _, s := range statuses {
		if s.Status != 1 || s.Batched {
			t.Errorf("relation %s: status %d batched %v, want 1 unbatched", s.Relation, s.Status, s.Batched)
		}
	}

	head, _ := do(http.MethodHead, proj+"/export_relations/download?relation=issues&"+q, nil)
	if head.Header.Get("Content-Type") != "application/gzip" || head.ContentLength <= 0 ||
		!strings.Contains(head.Header.Get("Content-Disposition"), `filename="issues.ndjson.gz"`) {
		t.Errorf("HEAD download: %v", head.Header)
	}
	resp, b = do(http.MethodGet, proj+"/export_relations/download?relation=issues&"+q, nil)
	if resp.StatusCode != 200 || int64(len(b)) != head.ContentLength {
		t.Fatalf("download: %d, %d bytes, HEAD said %d", resp.StatusCode, len(b), head.ContentLength)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	lines, notes := 0, 0
	rd := bufio.NewScanner(zr)
	rd.Buffer(nil, 1<<20)
	for rd.Scan() {
		var rec struct {
			IID        int               `json:"iid"`
			Notes      []json.RawMessage `json:"notes"`
			LabelLinks []struct {
				Label struct{ Title string } `json:"label"`
			} `json:"label_links"`
		}
		if err := json.Unmarshal(rd.Bytes(), &rec); err != nil {
			t.Fatalf("line %d: %v", lines+1, err)
		}
		lines++
		notes += len(rec.Notes)
		if rec.IID != lines {
			t.Errorf("line %d has iid %d", lines, rec.IID)
		}
	}
	if lines != sc.Config().Issues || notes != sc.Config().Issues*sc.Config().CommentsPerItem {
		t.Errorf("%d issues with %d notes", lines, notes)
	}
	for _, tt := range []struct {
		query  string
		status int
		body   string
	}{
		{"relation=pipelines", 400, "relation does not have a valid value"},
		{"", 400, "relation is missing"},
		{"relation=issues&batched=true&batch_number=1", 400, "Export is not batched"},
	} {
		if resp, b := do(http.MethodGet, proj+"/export_relations/download?"+tt.query+"&"+q, nil); resp.StatusCode != tt.status || !strings.Contains(string(b), tt.body) {
			t.Errorf("download?%s: %d %s", tt.query, resp.StatusCode, b)
		}
	}
	// Exports belong to the token that asked: another project has none.
	if resp, _ := do(http.MethodGet, f.GitLab.APIURL+"/projects/1000/export_relations/status?relation=issues&"+q, nil); resp.StatusCode != 404 {
		t.Errorf("another project's export status: %d", resp.StatusCode)
	}
}

func TestGitLabCloneWithMergeRequestRefs(t *testing.T) {
	t.Parallel()
	f := startForge(t, gitlabOnly(6))
	sc := f.Scenario
	dir := t.TempDir()
	deep := sc.Projects()[len(sc.Projects())-1]
	gitCmd(t, dir, "oauth2", f.GitLab.Token, "clone", "--quiet", "--mirror", f.GitLab.URL+"/"+deep.FullPath+".git", "mirror.git")
	refs := gitCmd(t, filepath.Join(dir, "mirror.git"), "", "", "for-each-ref", "--format=%(refname) %(objectname)")
	prs := sc.Config().PullRequests
	for _, want := range []string{
		"refs/heads/main " + f.Git.MainSHA(sc.Config().Commits-1),
		fmt.Sprintf("refs/merge-requests/1/head %s", f.Git.BranchSHA(sc.PRBranch(1))),
		fmt.Sprintf("refs/merge-requests/%d/head %s", prs, f.Git.BranchSHA(sc.PRBranch(prs))),
		"refs/tags/v1.0.0 ",
	} {
		if !strings.Contains(refs, want) {
			t.Errorf("mirror lacks %q:\n%s", want, refs)
		}
	}
	if n := strings.Count(refs, "refs/merge-requests/"); n != prs {
		t.Errorf("%d merge request refs, want %d", n, prs)
	}
	gitCmd(t, dir, "oauth2", f.GitLab.Token, "clone", "--quiet", f.GitLab.URL+"/"+deep.FullPath+".wiki.git", "wiki")
	if _, err := os.Stat(filepath.Join(dir, "wiki", "Home.md")); err != nil {
		t.Errorf("wiki clone: %v", err)
	}
	req, _ := http.NewRequest(http.MethodGet, f.GitLab.URL+"/acme/widgets.git/info/refs?service=git-upload-pack", nil)
	req.SetBasicAuth("oauth2", "wrong")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong token: %d, want 401", resp.StatusCode)
	}
	if st := f.GitLab.Stats(); st.Families["git"].Requests == 0 || st.APIRequests != 0 {
		t.Errorf("git traffic accounted as %+v", st)
	}
}

// TestStartSomeSources starts forges selectively; every forge's git
// repository has the same SHAs, so Git is set whichever starts.
func TestStartSomeSources(t *testing.T) {
	t.Parallel()
	all := startForge(t, fakeforge.Options{Scenario: tinyScenario(8)})
	for _, tt := range []struct {
		sources []string
		running []string
	}{
		{[]string{scenario.GitLab}, []string{scenario.GitLab}},
		{[]string{scenario.BitbucketServer, scenario.GitHub}, []string{scenario.GitHub, scenario.BitbucketServer}},
	} {
		f := startForge(t, fakeforge.Options{Scenario: tinyScenario(8), Sources: tt.sources})
		for _, src := range []string{scenario.GitHub, scenario.BitbucketServer, scenario.GitLab} {
			if want := slices.Contains(tt.running, src); (f.Endpoint(src) != nil) != want {
				t.Errorf("%v: %s running is %v", tt.sources, src, !want)
			}
		}
		if f.Git.BranchSHA(3) != all.Git.BranchSHA(3) || f.Git.MainSHA(0) != all.Git.MainSHA(0) {
			t.Errorf("%v: SHAs differ from a full start", tt.sources)
		}
	}
	if _, err := fakeforge.Start(context.Background(), fakeforge.Options{Scenario: tinyScenario(8), Sources: []string{"svn"}}); err == nil {
		t.Error("unknown source accepted")
	}
}

// fixedClock stands still, so a rate-limit window never resets mid-test.
type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

// TestGitLabLimitAnswers checks GitLab's own answers to the shared fault
// knobs: RateLimit-* headers, a bare 429 with Retry-After, JSON 5xx.
func TestGitLabLimitAnswers(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	opts := gitlabOnly(9)
	opts.Faults, opts.Clock = traffic.Faults{RateLimit: 2, RateLimitPeriod: time.Minute}, fixedClock{now}
	f := startForge(t, opts)
	var last *http.Response
	var body []byte
	for range 3 {
		last, body = glGet(t, f.GitLab.APIURL+"/version", "PRIVATE-TOKEN", f.GitLab.Token)
	}
	h := last.Header
	if last.StatusCode != http.StatusTooManyRequests || string(body) != "Retry later\n" || h.Get("Retry-After") != "60" ||
		h.Get("RateLimit-Remaining") != "0" || h.Get("RateLimit-Limit") != "2" || h.Get("RateLimit-Reset") != strconv.FormatInt(now.Add(time.Minute).Unix(), 10) {
		t.Errorf("over the limit: %d %q %v", last.StatusCode, body, h)
	}
	if st := f.GitLab.Stats().Families["version"]; st.RateLimited != 1 || st.Requests != 3 {
		t.Errorf("accounting %+v", st)
	}

	opts = gitlabOnly(9)
	opts.Faults = traffic.Faults{ErrorRate: 1}
	g := startForge(t, opts)
	resp, body := glGet(t, g.GitLab.APIURL+"/projects/1000", "PRIVATE-TOKEN", g.GitLab.Token)
	var e struct{ Message string }
	if err := json.Unmarshal(body, &e); err != nil || resp.StatusCode < 500 || e.Message != fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode)) {
		t.Errorf("injected error: %d %s", resp.StatusCode, body)
	}
}
