package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry/app/apptest"
	ffgithub "github.com/ferry-import/ferry/fakeforge/github"
	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/fakeforge/traffic"
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/netguard"
	"github.com/ferry-import/ferry/netguard/netguardtest"
	"github.com/ferry-import/ferry/store/storetest"
)

// redirectRepoBase: GET /repositories/<redirectRepoBase+i> on a trap relay
// redirects to the i-th trap spelling.
const redirectRepoBase = 9000

// trapRelay is a forge in front of fakeforge's, on its own loopback
// endpoint (one of the few local addresses the ferry under test may
// reach), that points further hops of an import at a trap, each time in
// another spelling (startTrapRelay for GitHub, startGitLabRelay).
type trapRelay struct {
	srv       *httptest.Server
	upstream  string
	spellings []netguardtest.Spelling
	next      atomic.Int64

	mu          sync.Mutex
	attachments map[string]int // attachment path → requests
}

// relayHooks are what a relay does besides passing requests on to its
// upstream with the upstream's URL turned into its own in JSON answers,
// and redirecting /lfs-redirect/<oid> (see lfsHrefs) to a trap.
type relayHooks struct {
	// serve answers r itself (true) or leaves it to the relay (false).
	serve func(tr *trapRelay, w http.ResponseWriter, r *http.Request) bool
	// header rewrites the headers of every answer, JSON or not.
	header func(tr *trapRelay, resp *http.Response)
	// body rewrites the JSON answer s to a request for path p.
	body func(tr *trapRelay, p, s string) string
}

// startRelay starts a relay in front of upstream that points at the trap
// spellings as h says.
func startRelay(t *testing.T, upstream string, spellings []netguardtest.Spelling, h relayHooks) *trapRelay {
	t.Helper()
	up, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	tr := &trapRelay{upstream: up.String(), spellings: spellings, attachments: map[string]int{}}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(up)
			pr.Out.Header.Del("Accept-Encoding") // bodies are rewritten below
		},
		ModifyResponse: func(resp *http.Response) error {
			if h.header != nil {
				h.header(tr, resp)
			}
			if !strings.Contains(resp.Header.Get("Content-Type"), "json") {
				return nil // git passes as it is
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return err
			}
			s := strings.ReplaceAll(string(b), tr.upstream, tr.srv.URL)
			if h.body != nil {
				s = h.body(tr, resp.Request.URL.Path, s)
			}
			resp.Body = io.NopCloser(strings.NewReader(s))
			resp.ContentLength = int64(len(s))
			resp.Header.Set("Content-Length", strconv.Itoa(len(s)))
			return nil
		},
	}
	tr.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		switch {
		case h.serve != nil && h.serve(tr, w, r):
		case strings.HasPrefix(p, "/lfs-redirect/"):
			http.Redirect(w, r, tr.spelling().URL+"/lfs/objects/"+strings.TrimPrefix(p, "/lfs-redirect/"), http.StatusTemporaryRedirect)
		default:
			rp.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(tr.srv.Close)
	return tr
}

var pagedList = regexp.MustCompile(`^/api/v3/repos/[^/]+/[^/]+/(labels|milestones|releases)$`)

// startTrapRelay is a GitHub relay that points every further hop of an
// import at a trap: redirects, pagination links (labels, milestones,
// releases), LFS download hrefs (directly and through a redirect),
// attachment downloads (through a redirect) and, with cloneURL, the clone
// URL.
func startTrapRelay(t *testing.T, upstream string, spellings []netguardtest.Spelling, cloneURL bool) *trapRelay {
	t.Helper()
	return startRelay(t, upstream, spellings, relayHooks{
		serve: func(tr *trapRelay, w http.ResponseWriter, r *http.Request) bool {
			p := r.URL.Path
			if id, ok := strings.CutPrefix(p, "/api/v3/repositories/"); ok {
				if n, err := strconv.Atoi(id); err == nil && n >= redirectRepoBase {
					http.Redirect(w, r, tr.spellings[(n-redirectRepoBase)%len(tr.spellings)].URL+"/api/v3/repositories/"+strconv.Itoa(ffgithub.RepoID), http.StatusFound)
					return true
				}
			}
			if !strings.HasPrefix(p, "/user-attachments/") {
				return false
			}
			tr.attachment(p)
			http.Redirect(w, r, tr.spelling().URL+p, http.StatusFound)
			return true
		},
		header: func(tr *trapRelay, resp *http.Response) {
			if l := resp.Header.Get("Link"); l != "" {
				resp.Header.Set("Link", strings.ReplaceAll(l, tr.upstream, tr.srv.URL))
			}
			if p := resp.Request.URL.Path; pagedList.MatchString(p) {
				// One page more, at a trap.
				at := tr.spelling().URL + p
				resp.Header.Set("Link", fmt.Sprintf(`<%s?page=2&per_page=100>; rel="next", <%s?page=3&per_page=100>; rel="last"`, at, at))
			}
		},
		body: func(tr *trapRelay, p, s string) string {
			switch {
			case cloneURL && strings.HasPrefix(p, "/api/v3/repositories/"):
				return strings.ReplaceAll(s, `"clone_url":"`+tr.srv.URL, `"clone_url":"`+tr.spelling().URL)
			case strings.HasSuffix(p, "/info/lfs/objects/batch"):
				return tr.lfsHrefs(t, s)
			}
			return s
		},
	})
}

// attachment counts a request for the attachment at path p.
func (tr *trapRelay) attachment(p string) {
	tr.mu.Lock()
	tr.attachments[p]++
	tr.mu.Unlock()
}

// spelling is the next trap spelling, round robin.
func (tr *trapRelay) spelling() netguardtest.Spelling {
	return tr.spellings[int(tr.next.Add(1)-1)%len(tr.spellings)]
}

// lfsHrefs points the download of every second object at a trap spelling
// and of the others at a redirect (on the relay itself) to one.
func (tr *trapRelay) lfsHrefs(t *testing.T, body string) string {
	var batch map[string]any
	if err := json.Unmarshal([]byte(body), &batch); err != nil {
		t.Errorf("LFS batch answer: %v", err)
		return body
	}
	objs, _ := batch["objects"].([]any)
	for i, o := range objs {
		obj, _ := o.(map[string]any)
		actions, _ := obj["actions"].(map[string]any)
		dl, _ := actions["download"].(map[string]any)
		if dl == nil {
			continue
		}
		if i%2 == 0 {
			dl["href"] = tr.spelling().URL + "/lfs/objects/" + fmt.Sprint(obj["oid"])
		} else {
			dl["href"] = tr.srv.URL + "/lfs-redirect/" + fmt.Sprint(obj["oid"])
		}
	}
	out, _ := json.Marshal(batch)
	return string(out)
}

func (tr *trapRelay) addrPort(t *testing.T) netip.AddrPort {
	ap, err := netip.ParseAddrPort(strings.TrimPrefix(tr.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	return ap
}

// TestImportNeverReachesBlockedAddresses: without --allow-local-network,
// no URL an import takes reaches a loopback trap (on 127.0.0.1 and [::1]),
// in any spelling: github_hostname through the API (400 Invalid URL,
// nothing created), a hostname whose DNS turns to loopback after the
// check, a redirect of the repository lookup, the clone URL, pagination
// links, LFS download hrefs and their redirects, and attachment downloads
// redirected there. The only local address ferry may reach is the relay
// the test serves as GitHub (apptest.Options.AllowEndpoints). The GitHub
// token appears in no answer, import status or log line.
//
// Bitbucket Server's bitbucket_server_url has its rows in
// api/TestBitbucketServerImportSSRF, GitLab's configuration[url] and the
// URLs a migration leads to in TestGitLabMigrationNeverReachesBlockedAddresses.
func TestImportNeverReachesBlockedAddresses(t *testing.T) {
	t.Parallel()
	trap := netguardtest.NewTrap(t)
	t.Log(trap)
	spellings := trap.Spellings()
	f := forge(t, traffic.Faults{}, func(c *scenario.Config) {
		c.Issues, c.PullRequests, c.CommentsPerItem, c.ReviewCommentsPerPR = 12, 6, 1, 1
		c.Users, c.Labels, c.Milestones, c.Releases = 4, 3, 2, 1
		c.LFSObjects, c.Attachments = 3, true
	})
	token := f.GitHub.Token
	hops := startTrapRelay(t, f.GitHub.URL, spellings, false)
	clone := startTrapRelay(t, f.GitHub.URL, spellings, true)
	rebind := "rebind.test"

	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			// rebind.test resolves to a public address when first asked
			// (CheckURL), to the trap's loopback afterwards (the dial).
			var asked [2]atomic.Int32
			res := netguardtest.Resolver(func(name string, qtype uint16) ([]netip.Addr, bool) {
				if name != rebind {
					return nil, false
				}
				i := map[uint16]int{netguardtest.TypeA: 0, netguardtest.TypeAAAA: 1}[qtype]
				if asked[i].Add(1) == 1 {
					return []netip.Addr{netip.MustParseAddr("93.184.216.34")}, true
				}
				return []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")}, true
			})
			logs := &logBuffer{}
			in := apptest.Start(t, e, apptest.Options{Workers: 4, Log: logs,
				AllowEndpoints: []netip.AddrPort{hops.addrPort(t), clone.addrPort(t)},
				EngineOverrides: func(c *importer.Config) {
					fast(c)
					c.Guard.Resolver = res
				}})
			logOnFailure(t, logs)
			must(in.Client(t, in.RootToken).Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("ssrf"), Path: gitlab.Ptr("ssrf")}))(t)
			records := func() int {
				return count(t, in, `SELECT COUNT(*) FROM projects`) + count(t, in, `SELECT COUNT(*) FROM imports`)
			}
			post := func(t *testing.T, hostname string, repoID int, over map[string]any) (int, map[string]any, string) {
				t.Helper()
				b := map[string]any{"personal_access_token": token, "repo_id": repoID, "target_namespace": "ssrf", "github_hostname": hostname}
				for k, v := range over {
					b[k] = v
				}
				code, body := postJSON(t, in.URL+"/api/v4/import/github", in.RootToken, b)
				raw, _ := json.Marshal(body)
				if strings.Contains(string(raw), token) {
					t.Errorf("%s: the answer shows the token: %s", hostname, raw)
				}
				return code, body, string(raw)
			}
			refused := func(t *testing.T, hostname string, repoID int, wantCode int, wantBody string) {
				t.Helper()
				before := records()
				code, body, raw := post(t, hostname, repoID, map[string]any{"optional_stages": map[string]bool{"collaborators_import": true}})
				if code != wantCode || (wantBody != "" && (!sameRefusal(body["errors"], wantBody) || len(body) != 1)) {
					t.Errorf("%s: got %d %s, want %d %q", hostname, code, raw, wantCode, wantBody)
				}
				if records() != before {
					t.Errorf("%s: a refused import created records", hostname)
				}
			}
			// imported runs an import of the repository through the relay
			// at hostname to its end; its status shows no token.
			imported := func(t *testing.T, hostname string, over map[string]any) (map[string]any, []byte) {
				t.Helper()
				code, body, raw := post(t, hostname, ffgithub.RepoID, over)
				if code != 201 {
					t.Fatalf("import: %d %s", code, raw)
				}
				st := waitImport(t, in, int64(body["id"].(float64)), nil)
				stJSON, _ := json.Marshal(st)
				if strings.Contains(string(stJSON), token) {
					t.Errorf("the import status shows the token: %s", stJSON)
				}
				return st, stJSON
			}

			t.Run("github_hostname", func(t *testing.T) {
				for _, s := range spellings {
					refused(t, s.URL, ffgithub.RepoID, 400, "Invalid URL: "+s.URL)
					refused(t, s.URL+"/api/v3", ffgithub.RepoID, 400, "Invalid URL: "+s.URL+"/api/v3")
				}
				trapUntouched(t, trap, "github_hostname")
			})

			t.Run("DNS turning to loopback after the check", func(t *testing.T) {
				host := "http://" + rebind + ":" + strconv.Itoa(trap.Port)
				refused(t, host, ffgithub.RepoID, 400, "Invalid URL: "+host)
				if asked[0].Load() < 2 {
					t.Errorf("the name was resolved %d times: the dial did not ask again", asked[0].Load())
				}
				trapUntouched(t, trap, "rebinding")
			})

			t.Run("redirect", func(t *testing.T) {
				for i, s := range spellings {
					// The lookup is redirected off the source: refused as
					// GitHub misbehaving, not followed.
					before := records()
					code, body, raw := post(t, hops.srv.URL, redirectRepoBase+i, nil)
					msg, _ := body["errors"].(string)
					if code != 422 || !strings.Contains(msg, netguard.ErrBlocked.Error()) {
						t.Errorf("%s: got %d %s", s.URL, code, raw)
					}
					if records() != before {
						t.Errorf("%s: a refused import created records", s.URL)
					}
				}
				trapUntouched(t, trap, "redirect")
			})

			t.Run("clone URL", func(t *testing.T) {
				st, _ := imported(t, clone.srv.URL, map[string]any{"new_name": "cloned"})
				if msg, _ := st["import_error"].(string); st["import_status"] != "failed" || !strings.Contains(msg, "clone URL") {
					t.Errorf("import ended %v: %v", st["import_status"], st["import_error"])
				}
				trapUntouched(t, trap, "clone URL")
			})

			t.Run("pagination, LFS and attachments", func(t *testing.T) {
				hops.mu.Lock()
				clear(hops.attachments) // the relay serves every engine's run
				hops.mu.Unlock()
				st, stJSON := imported(t, hops.srv.URL, map[string]any{"new_name": "hops",
					"optional_stages": map[string]bool{"attachments_import": true}})
				if st["import_status"] != "finished" {
					t.Fatalf("import ended %v: %v", st["import_status"], st["import_error"])
				}
				failed := map[string][]map[string]any{}
				for _, fr := range st["failed_relations"].([]any) {
					m := fr.(map[string]any)
					failed[m["relation_name"].(string)] = append(failed[m["relation_name"].(string)], m)
				}
				for _, rel := range []string{"labels", "milestones", "releases", "lfs_objects", "attachments"} {
					if len(failed[rel]) == 0 {
						t.Errorf("%s: no failure recorded; failed relations: %s", rel, stJSON)
					}
				}
				for _, m := range failed["attachments"] {
					msg, _ := m["exception_message"].(string)
					if m["exception_class"] != "PermanentError" || !strings.Contains(msg, netguard.ErrBlocked.Error()) || !strings.Contains(msg, netguard.LocalHint) {
						t.Errorf("attachment failure: %v", m)
					}
				}
				if msg := fmt.Sprint(failed["lfs_objects"]); !strings.Contains(msg, netguard.ErrBlocked.Error()) {
					t.Errorf("LFS failure: %s", msg)
				}
				// Each attachment asked for once: a refusal is not retried.
				hops.mu.Lock()
				for p, n := range hops.attachments {
					if n != 1 {
						t.Errorf("attachment %s requested %d times", p, n)
					}
				}
				if len(hops.attachments) == 0 {
					t.Error("no attachment was downloaded: the row tests nothing")
				}
				hops.mu.Unlock()
				trapUntouched(t, trap, "pagination, LFS, attachments")
			})

			checkRefusalLog(t, logs, token)
		})
	}
}

// trapUntouched fails t, at what, if a connection reached the trap.
func trapUntouched(t *testing.T, trap *netguardtest.Trap, what string) {
	t.Helper()
	if n := trap.Accepted(t); n != 0 {
		t.Fatalf("%s: %d connections reached the trap", what, n)
	}
}

// logOnFailure shows the instance's log when t fails.
func logOnFailure(t *testing.T, logs *logBuffer) {
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(logs.String())
		}
	})
}

// checkRefusalLog: the log never shows the source's token, and a refusal
// in it names --allow-local-network.
func checkRefusalLog(t *testing.T, logs *logBuffer, token string) {
	t.Helper()
	if strings.Contains(logs.String(), token) {
		t.Error("the log shows the token")
	}
	if !strings.Contains(logs.String(), netguard.LocalHint) {
		t.Error("no refusal in the log names --allow-local-network")
	}
}

// sameRefusal reports got is want, or want with the hint that names
// --allow-local-network (given for an address local imports would allow).
func sameRefusal(got any, want string) bool {
	return got == want || got == want+" ("+netguard.LocalHint+")"
}
