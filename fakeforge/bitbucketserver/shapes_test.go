package bitbucketserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ferry-import/ferry/fakeforge/bitbucketserver"
	"github.com/ferry-import/ferry/fakeforge/gitrepo"
	"github.com/ferry-import/ferry/fakeforge/scenario"
)

const username, token = "admin", "bbs-test-token"

// forge is a simulated Bitbucket Server of a scenario on loopback, with
// its git repository on disk.
type forge struct {
	sc   *scenario.Scenario
	repo *gitrepo.Repo
	url  string

	mu    sync.Mutex
	files map[string][]string // "sha:path" → lines
}

var (
	smallOnce  sync.Once
	smallForge *forge
	smallErr   error
)

// small serves the small preset, built once for every test of the package.
func small(t *testing.T) *forge {
	t.Helper()
	smallOnce.Do(func() {
		c, err := scenario.Preset("small", 1)
		if err != nil {
			smallErr = err
			return
		}
		dir, err := os.MkdirTemp("", "bbs-shapes-")
		if err != nil {
			smallErr = err
			return
		}
		smallForge, smallErr = startForge(c, dir)
	})
	if smallErr != nil {
		t.Fatal(smallErr)
	}
	return smallForge
}

func TestMain(m *testing.M) {
	code := m.Run()
	if smallForge != nil {
		_ = os.RemoveAll(filepath.Dir(smallForge.repo.Path))
	}
	os.Exit(code)
}

func startForge(c scenario.Config, dir string) (*forge, error) {
	sc, err := scenario.New(c)
	if err != nil {
		return nil, err
	}
	repo, err := gitrepo.BuildBitbucket(context.Background(), sc, filepath.Join(dir, "widgets.git"), "ACME/widgets")
	if err != nil {
		return nil, err
	}
	ts := httptest.NewUnstartedServer(nil)
	base := "http://" + ts.Listener.Addr().String()
	ts.Config.Handler = bitbucketserver.New(bitbucketserver.Options{Scenario: sc, BaseURL: base, Username: username,
		Token: token, Git: repo})
	ts.Start()
	return &forge{sc: sc, repo: repo, url: base, files: map[string][]string{}}, nil
}

// get fetches an API path and returns the status and body.
func (f *forge) get(t *testing.T, path string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(username, token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

// api decodes GET /rest/api/1.0<path> into v, failing on anything but 200.
func (f *forge) api(t *testing.T, path string, v any) {
	t.Helper()
	status, body := f.get(t, "/rest/api/1.0"+path)
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// file returns the lines of path at commit sha, read with git.
func (f *forge) file(t *testing.T, sha, path string) []string {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	key := sha + ":" + path
	if lines, ok := f.files[key]; ok {
		return lines
	}
	out := f.git(t, "show", key)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	f.files[key] = lines
	return lines
}

func (f *forge) git(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"--git-dir", f.repo.Path}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %s: %v", strings.Join(args, " "), err)
	}
	return string(out)
}

// The wire shapes a client decodes.

type user struct {
	Name         string  `json:"name"`
	EmailAddress *string `json:"emailAddress"`
	ID           int64   `json:"id"`
	DisplayName  string  `json:"displayName"`
	Active       bool    `json:"active"`
	Slug         string  `json:"slug"`
	Type         string  `json:"type"`
}

type comment struct {
	ID           int64     `json:"id"`
	Version      int       `json:"version"`
	Text         string    `json:"text"`
	Author       user      `json:"author"`
	CreatedDate  int64     `json:"createdDate"`
	UpdatedDate  int64     `json:"updatedDate"`
	Comments     []comment `json:"comments"`
	Severity     string    `json:"severity"`
	State        string    `json:"state"`
	Resolver     *user     `json:"resolver"`
	ResolvedDate int64     `json:"resolvedDate"`
}

type diffLine struct {
	Source      int     `json:"source"`
	Destination int     `json:"destination"`
	Line        string  `json:"line"`
	CommentIDs  []int64 `json:"commentIds"`
}

type diff struct {
	Source      *struct{ ToString string } `json:"source"`
	Destination *struct{ ToString string } `json:"destination"`
	Hunks       []struct {
		SourceLine      int `json:"sourceLine"`
		SourceSpan      int `json:"sourceSpan"`
		DestinationLine int `json:"destinationLine"`
		DestinationSpan int `json:"destinationSpan"`
		Segments        []struct {
			Type  string     `json:"type"`
			Lines []diffLine `json:"lines"`
		} `json:"segments"`
	} `json:"hunks"`
	Properties *struct {
		FromHash string `json:"fromHash"`
		ToHash   string `json:"toHash"`
	} `json:"properties"`
	LineComments []comment `json:"lineComments"`
}

type commit struct {
	ID                 string   `json:"id"`
	Message            string   `json:"message"`
	Committer          user     `json:"committer"`
	CommitterTimestamp int64    `json:"committerTimestamp"`
	Parents            []commit `json:"parents"`
}

type activity struct {
	ID            int64    `json:"id"`
	CreatedDate   int64    `json:"createdDate"`
	User          user     `json:"user"`
	Action        string   `json:"action"`
	CommentAction string   `json:"commentAction"`
	Comment       *comment `json:"comment"`
	CommentAnchor *struct {
		FromHash string `json:"fromHash"`
		ToHash   string `json:"toHash"`
		Line     int    `json:"line"`
		LineType string `json:"lineType"`
		FileType string `json:"fileType"`
		Path     string `json:"path"`
		SrcPath  string `json:"srcPath"`
		DiffType string `json:"diffType"`
	} `json:"commentAnchor"`
	Diff             *diff   `json:"diff"`
	Commit           *commit `json:"commit"`
	FromHash         string  `json:"fromHash"`
	PreviousFromHash string  `json:"previousFromHash"`
	Added            *struct {
		Commits []commit `json:"commits"`
		Total   int      `json:"total"`
	} `json:"added"`
	Removed *struct {
		Commits []commit `json:"commits"`
	} `json:"removed"`
}

type participant struct {
	User     user   `json:"user"`
	Role     string `json:"role"`
	Approved bool   `json:"approved"`
	Status   string `json:"status"`
}

type pullRequest struct {
	ID          int    `json:"id"`
	State       string `json:"state"`
	Open        bool   `json:"open"`
	Closed      bool   `json:"closed"`
	Draft       bool   `json:"draft"`
	Description string `json:"description"`
	CreatedDate int64  `json:"createdDate"`
	UpdatedDate int64  `json:"updatedDate"`
	ClosedDate  int64  `json:"closedDate"`
	FromRef     struct {
		ID           string `json:"id"`
		LatestCommit string `json:"latestCommit"`
		Repository   struct {
			Slug   string `json:"slug"`
			Origin *struct {
				Slug string `json:"slug"`
			} `json:"origin"`
		} `json:"repository"`
	} `json:"fromRef"`
	ToRef struct {
		LatestCommit string `json:"latestCommit"`
	} `json:"toRef"`
	Author       participant   `json:"author"`
	Reviewers    []participant `json:"reviewers"`
	Participants []participant `json:"participants"`
	Properties   struct {
		MergeCommit       *struct{ ID string } `json:"mergeCommit"`
		OpenTaskCount     int                  `json:"openTaskCount"`
		ResolvedTaskCount int                  `json:"resolvedTaskCount"`
		CommentCount      int                  `json:"commentCount"`
	} `json:"properties"`
}

type page[T any] struct {
	Size       int  `json:"size"`
	Limit      int  `json:"limit"`
	IsLastPage bool `json:"isLastPage"`
	Values     []T  `json:"values"`
}

// shapes walks every endpoint of the small scenario, checks what must
// hold of each answer, and returns the shapes it saw.
func shapes(t *testing.T, f *forge) map[string]bool {
	seen := map[string]bool{}
	for _, key := range []string{bitbucketserver.ProjectKey, bitbucketserver.PublicProjectKey} {
		var repo struct {
			Public      bool   `json:"public"`
			Description string `json:"description"`
			Project     struct {
				Public bool `json:"public"`
			} `json:"project"`
			Links struct {
				Clone []struct{ Href, Name string } `json:"clone"`
			} `json:"links"`
		}
		f.api(t, "/projects/"+key+"/repos/widgets", &repo)
		seen[fmt.Sprintf("repository public=%v", repo.Public)] = repo.Public == repo.Project.Public && repo.Description != ""
		for _, l := range repo.Links.Clone {
			seen["clone "+l.Name] = strings.HasSuffix(l.Href, "/"+strings.ToLower(key)+"/widgets.git")
		}
	}

	var users page[user]
	f.api(t, "/users?limit=1000", &users)
	for _, u := range users.Values {
		var one user
		f.api(t, "/users/"+u.Slug, &one)
		if !reflect.DeepEqual(one, u) {
			t.Errorf("users/%s = %+v, listed as %+v", u.Slug, one, u)
		}
		seen["user root"] = seen["user root"] || u.Name == "root" && u.Slug == "root"
		seen["user without e-mail"] = seen["user without e-mail"] || u.EmailAddress == nil
		seen["user deactivated"] = seen["user deactivated"] || !u.Active
		seen["user whose slug is not their name"] = seen["user whose slug is not their name"] || u.Slug != u.Name
	}

	var prs page[pullRequest]
	f.api(t, "/projects/ACME/repos/widgets/pull-requests?state=ALL&limit=1000", &prs)
	if len(prs.Values) != f.sc.Config().PullRequests || !prs.IsLastPage {
		t.Fatalf("%d pull requests on one page, want all %d", len(prs.Values), f.sc.Config().PullRequests)
	}
	for _, pr := range prs.Values {
		var one pullRequest
		f.api(t, fmt.Sprintf("/projects/ACME/repos/widgets/pull-requests/%d", pr.ID), &one)
		if !reflect.DeepEqual(one, pr) {
			t.Errorf("pull request %d alone differs from its list entry", pr.ID)
		}
		var acts page[activity]
		f.api(t, fmt.Sprintf("/projects/ACME/repos/widgets/pull-requests/%d/activities?limit=500", pr.ID), &acts)
		if !acts.IsLastPage {
			t.Fatalf("pull request %d: activities on more than one page", pr.ID)
		}
		checkPullRequest(t, f, pr, acts.Values, seen)
		var d struct {
			FromHash, ToHash string
			Diffs            []diff
		}
		f.api(t, fmt.Sprintf("/projects/ACME/repos/widgets/pull-requests/%d/diff", pr.ID), &d)
		if d.FromHash != pr.ToRef.LatestCommit || d.ToHash != pr.FromRef.LatestCommit || len(d.Diffs) == 0 {
			t.Errorf("pull request %d: diff %s..%s with %d files", pr.ID, d.FromHash, d.ToHash, len(d.Diffs))
		}
		for _, fd := range d.Diffs {
			checkDiff(t, f, fmt.Sprintf("pull request %d diff", pr.ID), d.FromHash, d.ToHash, fd, true)
			seen["diff endpoint line comments"] = seen["diff endpoint line comments"] || len(fd.LineComments) > 0
		}
	}
	return seen
}

// checkPullRequest checks a pull request against its activities and
// records its shapes.
func checkPullRequest(t *testing.T, f *forge, pr pullRequest, acts []activity, seen map[string]bool) {
	t.Helper()
	where := fmt.Sprintf("pull request %d", pr.ID)
	seen["pull request "+pr.State] = true
	seen["draft pull request"] = seen["draft pull request"] || pr.Draft
	if r := pr.FromRef.Repository; r.Slug != "widgets" {
		seen["pull request from a fork"] = r.Origin != nil && r.Origin.Slug == "widgets"
	}
	if pr.Open != (pr.State == "OPEN") || pr.Closed == pr.Open || (pr.ClosedDate != 0) != pr.Closed {
		t.Errorf("%s: state %s, open %v, closed %v, closedDate %d", where, pr.State, pr.Open, pr.Closed, pr.ClosedDate)
	}
	if pr.Author.Role != "AUTHOR" {
		t.Errorf("%s: author role %q", where, pr.Author.Role)
	}
	for _, r := range pr.Reviewers {
		seen["reviewer "+r.Status] = true
		if r.Role != "REVIEWER" || r.Approved != (r.Status == "APPROVED") {
			t.Errorf("%s: reviewer %+v", where, r)
		}
	}
	for _, p := range pr.Participants {
		seen["participant"] = true
		if p.Role != "PARTICIPANT" {
			t.Errorf("%s: participant %+v", where, p)
		}
	}
	actions := map[string]int{}
	ids := map[int64]bool{}
	comments, openTasks, resolvedTasks := 0, 0, 0
	for k, a := range acts {
		actions[a.Action]++
		seen["activity "+a.Action] = true
		if ids[a.ID] || (k > 0 && a.CreatedDate > acts[k-1].CreatedDate) {
			t.Errorf("%s: activity %d repeated or out of order (newest first)", where, a.ID)
		}
		ids[a.ID] = true
		switch a.Action {
		case "COMMENTED":
			if a.Comment == nil || a.CommentAction != "ADDED" || a.Comment.Author.Slug != a.User.Slug {
				t.Fatalf("%s: COMMENTED activity %d without its comment", where, a.ID)
			}
			kind := "general"
			if a.CommentAnchor != nil {
				kind = "inline"
				checkAnchor(t, f, where, a, seen)
			}
			var walk func(c comment, depth int)
			walk = func(c comment, depth int) {
				comments++
				seen[fmt.Sprintf("%s reply depth %d", kind, depth)] = true
				if (c.Version > 0) != (c.UpdatedDate > c.CreatedDate) {
					t.Errorf("%s: comment %d version %d created %d updated %d", where, c.ID, c.Version, c.CreatedDate, c.UpdatedDate)
				}
				seen["edited comment"] = seen["edited comment"] || c.Version > 0
				switch {
				case c.Severity == "BLOCKER" && c.State == "RESOLVED":
					resolvedTasks++
					if c.Resolver == nil || c.ResolvedDate < c.CreatedDate {
						t.Errorf("%s: resolved task %d without resolver", where, c.ID)
					}
				case c.Severity == "BLOCKER":
					openTasks++
				case c.Severity != "NORMAL" || c.State != "OPEN":
					t.Errorf("%s: comment %d severity %q state %q", where, c.ID, c.Severity, c.State)
				}
				if c.Severity == "BLOCKER" {
					seen["task "+c.State] = true
				}
				for _, s := range []string{"attachment link|attachment:", "mention of root|@root\n", `mention of a name with an @|@"user6@corp"`} {
					what, text, _ := strings.Cut(s, "|")
					seen[what] = seen[what] || strings.Contains(c.Text, text)
				}
				if m := loginMention.FindString(c.Text); m != "" {
					t.Errorf("%s: comment %d mentions %s by login, not by Bitbucket name", where, c.ID, m)
				}
				for _, r := range c.Comments {
					walk(r, depth+1)
				}
			}
			walk(*a.Comment, 0)
		case "MERGED":
			c := a.Commit
			if c == nil || c.Committer.Slug != a.User.Slug || c.CommitterTimestamp != a.CreatedDate ||
				pr.Properties.MergeCommit == nil || pr.Properties.MergeCommit.ID != c.ID || len(c.Parents) != 2 ||
				c.Parents[0].ID != pr.ToRef.LatestCommit || c.Parents[1].ID != pr.FromRef.LatestCommit {
				t.Errorf("%s: MERGED activity %+v, merge commit %+v", where, c, pr.Properties.MergeCommit)
			} else if got := f.git(t, "log", "-1", "--format=%H %P %s", c.ID); got != fmt.Sprintf("%s %s %s %s\n", c.ID, c.Parents[0].ID, c.Parents[1].ID, c.Message) {
				t.Errorf("%s: merge commit in git: %q", where, got)
			}
		case "RESCOPED":
			if a.FromHash != pr.FromRef.LatestCommit || a.Added == nil || a.Removed == nil || a.Added.Total != len(a.Added.Commits) ||
				len(a.Added.Commits) != 1 || a.Added.Commits[0].ID != a.FromHash || a.Added.Commits[0].Parents[0].ID != a.PreviousFromHash {
				t.Errorf("%s: RESCOPED %+v", where, a)
			}
			seen["rescope that added commits"] = true
		}
	}
	if actions["OPENED"] != 1 || acts[len(acts)-1].Action != "OPENED" {
		t.Errorf("%s: OPENED is not its first activity: %v", where, actions)
	}
	if pr.State != "OPEN" && actions[pr.State] != 1 {
		t.Errorf("%s: %s without its activity: %v", where, pr.State, actions)
	}
	if pr.State == "OPEN" && actions["DECLINED"] > 0 {
		seen["pull request declined then reopened"] = actions["REOPENED"] == actions["DECLINED"] && acts[0].Action == "REOPENED"
	}
	if pr.Properties.CommentCount != comments || pr.Properties.OpenTaskCount != openTasks || pr.Properties.ResolvedTaskCount != resolvedTasks {
		t.Errorf("%s: properties %+v, counted %d comments, %d open and %d resolved tasks", where, pr.Properties, comments, openTasks, resolvedTasks)
	}
	if pr.Draft && (actions["APPROVED"]+actions["REVIEWED"] > 0 || pr.State != "OPEN") {
		t.Errorf("%s: a draft with reviews or closed", where)
	}
}

// checkAnchor checks an inline comment: the line of its activity's diff
// that carries its id has the anchor's type and number, and the diff is
// the file's content in git at the anchor's commits.
func checkAnchor(t *testing.T, f *forge, where string, a activity, seen map[string]bool) {
	t.Helper()
	an := a.CommentAnchor
	seen[fmt.Sprintf("anchor %s on %s", an.LineType, an.FileType)] = true
	seen["diffType "+an.DiffType] = true
	if a.Diff == nil || a.Diff.Properties == nil || a.Diff.Properties.FromHash != an.FromHash || a.Diff.Properties.ToHash != an.ToHash {
		t.Fatalf("%s: inline comment %d without the diff of its anchor", where, a.Comment.ID)
	}
	if a.Diff.Destination == nil || a.Diff.Destination.ToString != an.Path || (an.SrcPath != "" && an.SrcPath != an.Path) {
		t.Errorf("%s: anchor on %q (from %q), diff of %+v", where, an.Path, an.SrcPath, a.Diff.Destination)
	}
	found := 0
	for _, h := range a.Diff.Hunks {
		for _, sg := range h.Segments {
			for _, l := range sg.Lines {
				if !slices.Contains(l.CommentIDs, a.Comment.ID) {
					continue
				}
				found++
				side := l.Destination
				if an.FileType == "FROM" {
					side = l.Source
				}
				if sg.Type != an.LineType || side != an.Line {
					t.Errorf("%s: comment %d anchored on %s %s line %d sits on %s %d→%d", where, a.Comment.ID,
						an.LineType, an.FileType, an.Line, sg.Type, l.Source, l.Destination)
				}
			}
		}
	}
	if found != 1 {
		t.Errorf("%s: comment %d is on %d diff lines, want 1", where, a.Comment.ID, found)
	}
	checkDiff(t, f, fmt.Sprintf("%s comment %d", where, a.Comment.ID), an.FromHash, an.ToHash, *a.Diff, false)
}

// loginMention mentions root or user6@corp by login instead of name.
var loginMention = regexp.MustCompile(`@user(2|6)\b`)

var hunkHeader = regexp.MustCompile(`(?m)^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@`)

// checkDiff checks a Bitbucket file diff against git: the hunk header is
// git's, every line not added is the source file's line at its source
// number, every line not removed the destination file's at its
// destination number.
func checkDiff(t *testing.T, f *forge, where, from, to string, d diff, withSource bool) {
	t.Helper()
	path := d.Destination.ToString
	// An activity's diff names no source; a pull request's names the
	// source of a file that is not new.
	if (d.Source != nil) != (withSource && path == scenario.ReadmePath) {
		t.Errorf("%s: source %+v of %s", where, d.Source, path)
	}
	m := hunkHeader.FindAllStringSubmatch(f.git(t, "diff", "-U10", from, to, "--", path), -1)
	if len(m) != len(d.Hunks) {
		t.Fatalf("%s: %d hunks, git has %d", where, len(d.Hunks), len(m))
	}
	atoi := func(s string) int {
		if s == "" {
			return 1
		}
		var n int
		fmt.Sscan(s, &n)
		return n
	}
	var src, dst []string
	for k, h := range d.Hunks {
		if got := [4]int{h.SourceLine, h.SourceSpan, h.DestinationLine, h.DestinationSpan}; got != [4]int{atoi(m[k][1]), atoi(m[k][2]), atoi(m[k][3]), atoi(m[k][4])} {
			t.Errorf("%s: hunk %v, git says %s", where, got, m[k][0])
		}
		if h.SourceSpan > 0 && src == nil {
			src = f.file(t, from, path)
		}
		if dst == nil {
			dst = f.file(t, to, path)
		}
		for _, sg := range h.Segments {
			for _, l := range sg.Lines {
				if sg.Type != "ADDED" && (l.Source < 1 || l.Source > len(src) || src[l.Source-1] != l.Line) {
					t.Errorf("%s: %s line %q is not line %d of %s at %s", where, sg.Type, l.Line, l.Source, path, from)
				}
				if sg.Type != "REMOVED" && (l.Destination < 1 || l.Destination > len(dst) || dst[l.Destination-1] != l.Line) {
					t.Errorf("%s: %s line %q is not line %d of %s at %s", where, sg.Type, l.Line, l.Destination, path, to)
				}
			}
		}
	}
}

// TestEveryShapeOccurs walks the whole API of the small scenario and
// checks that every shape an importer must handle occurs in it.
func TestEveryShapeOccurs(t *testing.T) {
	f := small(t)
	seen := shapes(t, f)
	for _, want := range []string{
		"repository public=false", "repository public=true", "clone http", "clone ssh",
		"pull request OPEN", "pull request MERGED", "pull request DECLINED", "pull request declined then reopened", "draft pull request", "pull request from a fork",
		"reviewer APPROVED", "reviewer NEEDS_WORK", "reviewer UNAPPROVED", "participant",
		"activity OPENED", "activity COMMENTED", "activity APPROVED", "activity UNAPPROVED", "activity REVIEWED",
		"activity RESCOPED", "activity MERGED", "activity DECLINED", "activity REOPENED", "rescope that added commits",
		"general reply depth 1", "general reply depth 2", "general reply depth 3", "inline reply depth 2",
		"anchor ADDED on TO", "anchor REMOVED on FROM", "anchor CONTEXT on FROM", "anchor CONTEXT on TO",
		"diffType EFFECTIVE", "diffType COMMIT", "diffType RANGE", "diff endpoint line comments",
		"edited comment", "task OPEN", "task RESOLVED", "attachment link", "mention of root", "mention of a name with an @",
		"user root", "user without e-mail", "user deactivated", "user whose slug is not their name",
	} {
		t.Run(want, func(t *testing.T) {
			if !seen[want] {
				t.Errorf("the small scenario has no %s", want)
			}
		})
	}
}
