package gitstore

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// servedFixture serves the fixture as a public project (id 1, group/public)
// and a private one (id 2, group/private, member token "tok-member"); a
// second token "tok-outsider" is valid but belongs to neither.
func servedFixture(t *testing.T) (*Store, string, *testResolver, *statusRecorder) {
	t.Helper()
	s := newStore(t)
	importFixture(t, s, 1)
	importFixture(t, s, 2)
	res := &testResolver{projects: map[string]project{
		"group/public":   {id: 1, public: true, members: []string{"tok-member"}},
		"group/private":  {id: 2, members: []string{"tok-member"}},
		"group/sub/both": {id: 3, members: []string{"tok-outsider"}},
	}}
	srv, rec := serve(t, s, res)
	return s, srv.URL, res, rec
}

func TestCloneOverHTTP(t *testing.T) {
	t.Parallel()
	s, _, _, _ := servedFixture(t)
	wantRefs := testGit(t, s.Path(1), "for-each-ref", "--format=%(objectname) %(refname)", "refs/heads/", "refs/tags/")
	tests := []struct {
		name       string
		path       string
		token      string // "" clones anonymously, else as oauth2:<token>
		wantStatus int    // a status the server must have answered
		wantErr    string // in git's stderr; "" means clone succeeds
	}{
		{"public anonymous", "/group/public.git", "", 200, ""},
		{"public with token", "/group/public.git", "tok-member", 200, ""},
		{"private with oauth2 token", "/group/private.git", "tok-member", 200, ""},
		{"private anonymous", "/group/private.git", "", 401, "could not read Username"},
		{"private bad token", "/group/private.git", "wrong", 401, "Authentication failed"},
		{"private outsider", "/group/private.git", "tok-outsider", 404, "not found"},
		{"unknown project", "/group/nope.git", "", 404, "not found"},
		{"project without repository", "/group/sub/both.git", "tok-outsider", 404, "not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A fresh server per case, so its status log is this case's.
			res := &testResolver{projects: map[string]project{
				"group/public":   {id: 1, public: true, members: []string{"tok-member"}},
				"group/private":  {id: 2, members: []string{"tok-member"}},
				"group/sub/both": {id: 3, members: []string{"tok-outsider"}},
			}}
			srv, rec := serve(t, s, res)
			u := srv.URL + tt.path
			if tt.token != "" {
				u = withUser(u, "oauth2", tt.token)
			}
			dst := filepath.Join(t.TempDir(), "clone")
			_, stderr, err := testGitRun(t, "", nil, "clone", "--quiet", u, dst)
			if !rec.saw(tt.wantStatus) {
				t.Errorf("server never answered %d (statuses %v)", tt.wantStatus, rec)
			}
			if tt.wantErr != "" {
				if err == nil {
					t.Fatal("clone succeeded")
				}
				if !strings.Contains(stderr, tt.wantErr) {
					t.Errorf("stderr %q lacks %q", stderr, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("clone: %v\n%s", err, stderr)
			}
			got := testGit(t, dst, "for-each-ref", "--format=%(objectname) %(refname)", "refs/remotes/origin/master", "refs/tags/")
			want := strings.Replace(wantRefs, "refs/heads/master", "refs/remotes/origin/master", 1)
			if got != want {
				t.Errorf("cloned refs\n%s\nwant\n%s", got, want)
			}
			// The merge request heads mapped from the bundle's refs/pull/*.
			testGit(t, dst, "fetch", "--quiet", "origin", "refs/merge-requests/*/head:refs/remotes/origin/mr/*")
			mrs := testGit(t, dst, "for-each-ref", "--format=%(objectname) %(refname)", "refs/remotes/origin/mr/")
			wantMRs := "076160cf0b039f13e5eff19619932d181269414b refs/remotes/origin/mr/3\n" +
				"2be9101c543658591222acbee3eb799edfc3853d refs/remotes/origin/mr/4\n"
			if mrs != wantMRs {
				t.Errorf("merge request refs\n%s\nwant\n%s", mrs, wantMRs)
			}
			testGit(t, dst, "fsck", "--strict")
		})
	}
}

func TestCloneProtocolVersions(t *testing.T) {
	t.Parallel()
	s, base, _, _ := servedFixture(t)
	want := testGit(t, s.Path(1), "rev-parse", "master")
	for _, v := range []string{"0", "1", "2"} {
		t.Run("v"+v, func(t *testing.T) {
			out := testGit(t, "", "-c", "protocol.version="+v, "ls-remote", base+"/group/public.git", "refs/heads/master")
			if !strings.HasPrefix(out, strings.TrimSpace(want)+"\trefs/heads/master") {
				t.Errorf("ls-remote = %q", out)
			}
			dst := filepath.Join(t.TempDir(), "c")
			testGit(t, "", "-c", "protocol.version="+v, "clone", "--quiet", "--bare", base+"/group/public.git", dst)
		})
	}
}

func TestWikiServedSeparately(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, base, res, _ := servedFixture(t)
	if _, _, err := testGitRun(t, "", nil, "ls-remote", base+"/group/public.wiki.git"); err == nil {
		t.Fatal("wiki served before it exists")
	}
	if err := s.CreateWiki(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.FetchBundle(ctx, 1, fixtureBundle(t)); err != nil {
		t.Fatal(err)
	}
	// Fill the wiki from the project itself through the local transport.
	if _, err := s.run(ctx, gitCmd{Dir: s.WikiPath(1), Args: []string{"fetch", "--quiet", s.Path(1), "+refs/heads/*:refs/heads/*"},
		Env: []string{"GIT_ALLOW_PROTOCOL=file"}}); err != nil {
		t.Fatal(err)
	}
	out := testGit(t, "", "ls-remote", base+"/group/public.wiki.git")
	if !strings.Contains(out, "refs/heads/master") || strings.Contains(out, "merge-requests") {
		t.Errorf("wiki refs: %q", out)
	}
	calls := res.Calls()
	if last := calls[len(calls)-1]; !last.wiki || last.path != "group/public" {
		t.Errorf("resolver saw %+v", last)
	}
}

func TestPushRefused(t *testing.T) {
	t.Parallel()
	_, base, res, _ := servedFixture(t)
	dst := filepath.Join(t.TempDir(), "clone")
	u := withUser(base+"/group/private.git", "oauth2", "tok-member")
	testGit(t, "", "clone", "--quiet", u, dst)
	gitWith(t, dst, "commit", "--allow-empty", "-m", "try")
	_, stderr, err := testGitRun(t, dst, nil, "push", "origin", "HEAD:refs/heads/pushed")
	if err == nil || !strings.Contains(stderr, "403") {
		t.Fatalf("push: err %v, stderr %q", err, stderr)
	}
	var sawWrite bool
	for _, c := range res.Calls() {
		sawWrite = sawWrite || c.write
	}
	if !sawWrite {
		t.Error("push was not resolved with write access")
	}

	tests := []struct {
		name, method, path, auth string
		wantStatus               int
	}{
		{"advertise anonymous", "GET", "/group/private.git/info/refs?service=git-receive-pack", "", 401},
		{"advertise member", "GET", "/group/private.git/info/refs?service=git-receive-pack", basic("oauth2", "tok-member"), 403},
		{"pack member", "POST", "/group/private.git/git-receive-pack", basic("oauth2", "tok-member"), 403},
		{"advertise outsider", "GET", "/group/private.git/info/refs?service=git-receive-pack", basic("oauth2", "tok-outsider"), 404},
		{"dumb http", "GET", "/group/public.git/info/refs", "", 403},
		{"dumb object", "GET", "/group/public.git/objects/info/packs", "", 404},
		{"upload-pack GET", "GET", "/group/public.git/git-upload-pack", "", 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, base+tt.path, nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, body)
			}
			if tt.wantStatus == 401 && resp.Header.Get("WWW-Authenticate") != `Basic realm="GitLab"` {
				t.Errorf("WWW-Authenticate = %q", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

// rawRequest sends a request line verbatim, so that paths reach the server
// exactly as an attacker would write them.
func rawRequest(t *testing.T, base, method, target string) int {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", method, target)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestPathTraversalRefused(t *testing.T) {
	t.Parallel()
	_, base, res, _ := servedFixture(t)
	const svc = "/info/refs?service=git-upload-pack"
	tests := []struct {
		name, target string
	}{
		{"dotdot", "/group/../group/public.git" + svc},
		{"dotdot in repo", "/group/public/../../etc.git" + svc},
		{"encoded dotdot", "/group/%2e%2e/public.git" + svc},
		{"encoded upper", "/group/%2E%2E/public.git" + svc},
		{"encoded slash", "/group%2fpublic.git" + svc},
		{"encoded NUL", "/group/public%00.git" + svc},
		{"double slash", "//group/public.git" + svc},
		{"absolute in path", "//etc/passwd.git" + svc},
		{"dot segment", "/group/./public.git" + svc},
		{"backslash", "/group\\..\\public.git" + svc},
		{"trailing dot", "/group/public..git" + svc},
		{"single segment", "/public.git" + svc},
		{"no .git", "/group/public/info/refs?service=git-upload-pack"},
		{"absolute URI form", "http://x/group/../../public.git" + svc},
		{"lfs object traversal", "/group/public.git/info/lfs/objects/../../../etc/passwd"},
		{"lfs encoded", "/group/public.git/info/lfs/objects/%2e%2e%2fconfig"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(res.Calls())
			status := rawRequest(t, base, "GET", tt.target)
			if status < 400 || status >= 500 {
				t.Errorf("status %d", status)
			}
			if after := len(res.Calls()); after != before {
				t.Errorf("resolver was consulted for %q", tt.target)
			}
		})
	}
	// Sanity: the same machinery accepts the honest path.
	if status := rawRequest(t, base, "GET", "/group/public.git"+svc); status != 200 {
		t.Errorf("honest path: %d", status)
	}
}

// TestUploadPackGzipBody sends a protocol v2 ls-refs request gzipped, as git
// does for large negotiations.
func TestUploadPackGzipBody(t *testing.T) {
	t.Parallel()
	s, base, _, _ := servedFixture(t)
	var req bytes.Buffer
	req.WriteString(pktLine("command=ls-refs\n") + "0001" + pktLine("ref-prefix refs/merge-requests/\n") + "0000")
	for _, gz := range []bool{false, true} {
		body := bytes.NewReader(req.Bytes())
		var encoded bytes.Buffer
		if gz {
			zw := gzip.NewWriter(&encoded)
			zw.Write(req.Bytes())
			zw.Close()
			body = bytes.NewReader(encoded.Bytes())
		}
		hr, _ := http.NewRequest("POST", base+"/group/public.git/git-upload-pack", body)
		hr.Header.Set("Content-Type", "application/x-git-upload-pack-request")
		hr.Header.Set("Git-Protocol", "version=2")
		if gz {
			hr.Header.Set("Content-Encoding", "gzip")
		}
		resp, err := http.DefaultClient.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-git-upload-pack-result" {
			t.Fatalf("gzip=%v: %d %s", gz, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		mr3 := strings.TrimSpace(testGit(t, s.Path(1), "rev-parse", "refs/merge-requests/3/head"))
		if !strings.Contains(string(out), mr3+" refs/merge-requests/3/head") || strings.Contains(string(out), "refs/heads/") {
			t.Errorf("gzip=%v: ls-refs answer %q", gz, out)
		}
	}
}

func TestPartialClone(t *testing.T) {
	t.Parallel()
	_, base, _, _ := servedFixture(t)
	dst := filepath.Join(t.TempDir(), "c")
	testGit(t, "", "clone", "--quiet", "--bare", "--filter=blob:none", base+"/group/public.git", dst)
	if got := strings.TrimSpace(testGit(t, dst, "config", "remote.origin.promisor")); got != "true" {
		t.Errorf("not a partial clone: promisor=%q", got)
	}
}

func TestIsGitPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path string
		want bool
	}{
		{"/g/p.git/info/refs", true},
		{"/g/p.wiki.git/git-upload-pack", true},
		{"/g/p.git/git-receive-pack", true},
		{"/g/p.git/info/lfs/objects/batch", true},
		{"/api/v4/projects/1", false},
		{"/g/p.git", false},
		{"/g/p.git/objects/info/packs", false},
	}
	for _, tt := range tests {
		if got := IsGitPath(tt.path); got != tt.want {
			t.Errorf("IsGitPath(%q) = %v", tt.path, got)
		}
	}
}

// TestUploadPackBadRequest: a request body git cannot parse is the client's
// error, 400 with a fixed text that says nothing of the server's paths.
func TestUploadPackBadRequest(t *testing.T) {
	t.Parallel()
	s, base, _, _ := servedFixture(t)
	gz := func(b string) string {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write([]byte(b))
		zw.Close()
		raw := buf.Bytes()
		// Keep the gzip header, corrupt the deflate stream behind it.
		for i := 10; i < len(raw); i++ {
			raw[i] = 0xff
		}
		return string(raw)
	}
	tests := []struct {
		name, protocol, encoding, body string
	}{
		{"garbage", "", "", "garbage that is no pkt-line"},
		{"garbage, v2", "version=2", "", "garbage that is no pkt-line"},
		{"bad length digits", "", "", "zzzz"},
		{"empty want line", "", "", "0004"},
		{"unknown v2 command", "version=2", "", pktLine("command=frobnicate\n") + "0000"},
		{"truncated packet", "", "", "00ffwant"},
		{"corrupt gzip stream", "", "gzip", gz(pktLine("command=ls-refs\n") + "0000")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hr, _ := http.NewRequest("POST", base+"/group/public.git/git-upload-pack", strings.NewReader(tc.body))
			hr.Header.Set("Content-Type", "application/x-git-upload-pack-request")
			if tc.protocol != "" {
				hr.Header.Set("Git-Protocol", tc.protocol)
			}
			if tc.encoding != "" {
				hr.Header.Set("Content-Encoding", tc.encoding)
			}
			resp, err := http.DefaultClient.Do(hr)
			if err != nil {
				t.Fatal(err)
			}
			out, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || string(out) != "invalid git-upload-pack request\n" {
				t.Fatalf("got %d %q, want 400 invalid git-upload-pack request", resp.StatusCode, out)
			}
			if strings.Contains(string(out), s.Path(1)) {
				t.Fatalf("the answer names the repository's path: %q", out)
			}
		})
	}
}
