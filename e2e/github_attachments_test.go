package e2e

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry/app/apptest"
	ffgithub "github.com/ferry-import/ferry/fakeforge/github"
	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/fakeforge/traffic"
	"github.com/ferry-import/ferry/store/storetest"
)

// relayGitHub is a tiny GitHub in front of fakeforge's: it answers what
// fakeforge answers, under its own URL (links, clone URLs and attachment
// links in bodies included), and puts extra text at the start of every
// issue body of the issues list.
func relayGitHub(t *testing.T, upstream string, extra func(self string) string) *httptest.Server {
	t.Helper()
	up, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	issuesList := regexp.MustCompile(`/repos/[^/]+/[^/]+/issues$`)
	var self string
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(up)
			pr.Out.Header.Del("Accept-Encoding") // bodies are rewritten below
		},
		ModifyResponse: func(resp *http.Response) error {
			if l := resp.Header.Get("Link"); l != "" {
				resp.Header.Set("Link", strings.ReplaceAll(l, up.String(), self))
			}
			if !strings.Contains(resp.Header.Get("Content-Type"), "json") {
				return nil // git and attachments pass as they are
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return err
			}
			s := strings.ReplaceAll(string(b), up.String(), self)
			if issuesList.MatchString(resp.Request.URL.Path) {
				s = strings.ReplaceAll(s, `"body":"`, `"body":"`+extra(self))
			}
			resp.Body = io.NopCloser(strings.NewReader(s))
			resp.ContentLength = int64(len(s))
			resp.Header.Set("Content-Length", strconv.Itoa(len(s)))
			return nil
		},
	}
	srv := httptest.NewServer(rp)
	self = srv.URL
	t.Cleanup(srv.Close)
	return srv
}

// scenarioAttachments are the distinct attachment names the scenario's
// GitHub bodies link to: milestones, issues and pull requests, comments,
// review comments and releases.
func scenarioAttachments(sc *scenario.Scenario) map[string]bool {
	re := regexp.MustCompile(regexp.QuoteMeta(scenario.AttachmentPrefix) + `/([^)\s]+)`)
	out := map[string]bool{}
	add := func(body string) {
		for _, m := range re.FindAllStringSubmatch(body, -1) {
			out[m[1]] = true
		}
	}
	c := sc.Config()
	for i := 1; i <= c.Milestones; i++ {
		add(sc.Milestone(i).Description)
	}
	for n := 1; n <= sc.Items(); n++ {
		add(sc.Item(n).Body)
	}
	for i := 1; i <= sc.CommentCount(); i++ {
		add(sc.Comment(i).Body)
	}
	for i := 1; i <= sc.ReviewCommentCount(); i++ {
		add(sc.ReviewComment(i).Body)
	}
	for i := 1; i <= c.Releases; i++ {
		add(sc.Release(i).Body)
	}
	return out
}

// TestGitHubImportAttachments imports with attachments_import: every
// distinct attachment becomes one upload, fetched once; no body links the
// source's attachment store any more; a relinked URL serves the bytes the
// source served, to those who may see the project; a link to another host
// is never fetched, and an attachment gone at the source is a failed item
// of a finished import.
func TestGitHubImportAttachments(t *testing.T) {
	t.Parallel()
	f := forge(t, traffic.Faults{}, nil)
	sc := f.Scenario
	want := scenarioAttachments(sc)
	if len(want) == 0 {
		t.Fatal("the scenario links no attachments")
	}
	var trapped atomic.Int64
	trap := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		trapped.Add(1)
		_, _ = w.Write([]byte("\x89PNG\r\n\x1a\ntrap"))
	}))
	defer trap.Close()
	// Links elsewhere (same attachment paths on another host, an HTML
	// image, a file link) and one attachment the source no longer has.
	extra := func(self string) string {
		return `![trap](` + trap.URL + `/user-attachments/assets/trap.png) \u003cimg src=\"` + trap.URL + `/x.png\"\u003e ` +
			`[file](` + trap.URL + `/acme/widgets/files/1/a.zip) ![gone](` + self + `/user-attachments/assets/missing.png)\n\n`
	}
	relay := relayGitHub(t, f.GitHub.URL, extra)

	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			in := apptest.Start(t, e, apptest.Options{AllowLocalNetwork: true, EngineOverrides: fast, Workers: 4})
			root := in.Client(t, in.RootToken)
			must(root.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("att"), Path: gitlab.Ptr("att")}))(t)
			f.GitHub.ResetStats()
			trapped.Store(0)
			code, body := postJSON(t, in.URL+"/api/v4/import/github", in.RootToken, map[string]any{
				"personal_access_token": f.GitHub.Token, "repo_id": ffgithub.RepoID, "target_namespace": "att", "new_name": "widgets",
				"github_hostname": relay.URL, "optional_stages": map[string]bool{"attachments_import": true},
			})
			if code != 201 {
				t.Fatalf("POST /import/github: %d %v", code, body)
			}
			pid := int64(body["id"].(float64))
			st := waitImport(t, in, pid, nil)
			if st["import_status"] != "finished" {
				t.Fatalf("import ended %v: %v", st["import_status"], st["import_error"])
			}
			// The attachment gone at the source is the one failed item.
			fr := st["failed_relations"].([]any)
			if len(fr) != 1 || fr[0].(map[string]any)["relation_name"] != "attachments" ||
				!strings.HasSuffix(fr[0].(map[string]any)["source_url"].(string), "/missing.png") {
				t.Errorf("failed relations: %v, want the missing attachment only", fr)
			}

			// One upload per distinct attachment, each fetched once (and
			// the missing one asked for once).
			if got := count(t, in, `SELECT COUNT(*) FROM uploads WHERE project_id = $1`, pid); got != len(want) {
				t.Errorf("%d uploads, the scenario links %d distinct attachments", got, len(want))
			} else {
				t.Logf("%d uploads for the scenario's %d distinct attachments", got, len(want))
			}
			if got := f.GitHub.Stats().Families["attachments"].Requests; got != len(want)+1 {
				t.Errorf("%d attachment downloads, want %d (each once, and the missing one)", got, len(want)+1)
			}
			if n := trapped.Load(); n != 0 {
				t.Errorf("the trap host was asked %d times", n)
			}

			// No body links the source's attachment store any more.
			for _, q := range []string{`SELECT COUNT(*) FROM issues WHERE project_id = $1 AND description LIKE $2`,
				`SELECT COUNT(*) FROM merge_requests WHERE project_id = $1 AND description LIKE $2`,
				`SELECT COUNT(*) FROM notes WHERE project_id = $1 AND body LIKE $2`,
				`SELECT COUNT(*) FROM releases WHERE project_id = $1 AND description LIKE $2`,
				`SELECT COUNT(*) FROM milestones WHERE project_id = $1 AND description LIKE $2`} {
				for _, pat := range []string{"%/user-attachments/assets/k%", "%" + scenario.AttachmentPrefix + "%", "%" + f.GitHub.URL + "%"} {
					if n := count(t, in, q, pid, pat); n != 0 {
						t.Errorf("%s %q: %d", q, pat, n)
					}
				}
			}
			if n := count(t, in, `SELECT COUNT(*) FROM notes WHERE project_id = $1 AND body LIKE '%](/uploads/%'`, pid); n == 0 {
				t.Error("no note links an upload")
			}

			// A relinked URL, read through the API and served like GitLab.
			issues := all(t, func(o gitlab.ListOptions) ([]*gitlab.Issue, *gitlab.Response, error) {
				return root.Issues.ListProjectIssues(pid, &gitlab.ListProjectIssuesOptions{ListOptions: o, State: gitlab.Ptr("all")})
			})
			link := regexp.MustCompile(`!\[screenshot\]\((/uploads/[0-9a-f]{32}/([^)]+))\)`)
			var m []string
			for _, is := range issues {
				if m = link.FindStringSubmatch(is.Description); m != nil {
					if !strings.Contains(is.Description, trap.URL) {
						t.Errorf("issue #%d lost the link to the other host", is.IID)
					}
					break
				}
			}
			if m == nil {
				t.Fatal("no issue links an upload")
			}
			wantBytes, ok := sc.Attachment(m[2])
			if !ok {
				t.Fatalf("relinked to %q, which is no attachment of the scenario", m[2])
			}
			get := func(token string) (*http.Response, []byte) {
				req, _ := http.NewRequest("GET", in.URL+"/att/widgets"+m[1], nil)
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
			resp, got := get(in.RootToken)
			if resp.StatusCode != 200 || !bytes.Equal(got, wantBytes) || resp.Header.Get("Content-Type") != "image/png" ||
				resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("GET %s: %d %s, %d bytes (want the %d the source serves)", m[1], resp.StatusCode, resp.Header, len(got), len(wantBytes))
			}
			// The source repository is private, and so is the project.
			if resp, _ := get(""); resp.StatusCode != 404 {
				t.Errorf("anonymous GET %s: %d, want 404", m[1], resp.StatusCode)
			}
		})
	}
}
