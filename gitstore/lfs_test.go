package gitstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// lfsObjectFor returns the oid of content.
func lfsObjectFor(content string) (string, string) {
	sum := sha256.Sum256([]byte(content))
	return hex.EncodeToString(sum[:]), content
}

func pointerFor(oid string, size int) string {
	return fmt.Sprintf("version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n", oid, size)
}

func TestPutLFSObject(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	oid, content := lfsObjectFor(strings.Repeat("large file ", 1000))
	otherOID, _ := lfsObjectFor("other")
	tests := []struct {
		name    string
		oid     string
		size    int64
		content string
		want    error
	}{
		{"wrong sha", otherOID, int64(len(content)), content, ErrInvalid},
		{"short body", oid, int64(len(content)) + 1, content, ErrInvalid},
		{"long body", oid, int64(len(content)) - 1, content, ErrInvalid},
		{"uppercase oid", strings.ToUpper(oid), int64(len(content)), content, ErrInvalid},
		{"short oid", oid[:40], int64(len(content)), content, ErrInvalid},
		{"traversal oid", "../../../../etc/passwd" + oid[22:], int64(len(content)), content, ErrInvalid},
		{"negative size", oid, -1, content, ErrInvalid},
		{"good", oid, int64(len(content)), content, nil},
		{"again", oid, int64(len(content)), content, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.PutLFSObject(ctx, tt.oid, tt.size, strings.NewReader(tt.content))
			if !errors.Is(err, tt.want) || (err != nil) != (tt.want != nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if tt.want != nil && s.HasLFSObject(tt.oid) {
				t.Error("refused object stored")
			}
		})
	}
	f, err := s.OpenLFSObject(oid)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(f)
	f.Close()
	if string(got) != content {
		t.Error("content differs")
	}
	if want := filepath.Join(s.Root(), "lfs-objects", oid[:2], oid[2:4], oid); !fileExists(want) {
		t.Errorf("object not at %s", want)
	}
	if _, err := s.OpenLFSObject(otherOID); !errors.Is(err, ErrNotFound) {
		t.Errorf("open missing: %v", err)
	}
	left, _ := os.ReadDir(s.tmpDir())
	if len(left) != 1 {
		t.Errorf("staging files left: %v", left)
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func TestParseLFSPointer(t *testing.T) {
	t.Parallel()
	oid, _ := lfsObjectFor("x")
	tests := []struct {
		name string
		in   string
		ok   bool
		size int64
	}{
		{"spec", pointerFor(oid, 12345), true, 12345},
		{"with ext", "version https://git-lfs.github.com/spec/v1\next-0-foo sha256:" + oid + "\noid sha256:" + oid + "\nsize 1\n", true, 1},
		{"no newline", strings.TrimSuffix(pointerFor(oid, 7), "\n"), true, 7},
		{"other version", strings.Replace(pointerFor(oid, 1), "git-lfs.github.com", "example.com", 1), false, 0},
		{"bad oid", pointerFor(oid[:63]+"g", 1), false, 0},
		{"no size", "version https://git-lfs.github.com/spec/v1\noid sha256:" + oid + "\n", false, 0},
		{"negative size", pointerFor(oid, -1), false, 0},
		{"plain text", "hello\n", false, 0},
		{"too big", pointerFor(oid, 1) + strings.Repeat("x", 1024), false, 0},
	}
	for _, tt := range tests {
		p, ok := ParseLFSPointer([]byte(tt.in))
		if ok != tt.ok || ok && (p.OID != oid || p.Size != tt.size) {
			t.Errorf("%s: got %+v %v", tt.name, p, ok)
		}
	}
}

// commitFiles commits name→content files (as blobs at the root) on branch.
func commitFiles(t *testing.T, s *Store, dir, branch string, files map[string]string) {
	t.Helper()
	var entries []string
	for name, content := range files {
		out, err := s.run(context.Background(), gitCmd{Dir: dir, Args: []string{"hash-object", "-w", "--stdin"}, Stdin: strings.NewReader(content)})
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, "100644 blob "+strings.TrimSpace(string(out))+"\t"+name)
	}
	tree := mktree(t, dir, entries...)
	commit := gitWith(t, dir, "commit-tree", "-m", "files", tree)
	testGit(t, dir, "update-ref", "refs/heads/"+branch, commit)
}

func TestLFSPointers(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	importFixture(t, s, 1)
	a, _ := lfsObjectFor("a")
	b, _ := lfsObjectFor("b")
	commitFiles(t, s, s.Path(1), "lfs", map[string]string{
		"a.bin": pointerFor(a, 100), "a-copy.bin": pointerFor(a, 100), "b.bin": pointerFor(b, 5<<30),
		"notes.txt": "not a pointer\n", "big.txt": strings.Repeat("version https://git-lfs.github.com/spec/v1\n", 100),
	})
	ps, err := s.LFSPointers(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	want := []LFSPointer{{a, 100}, {b, 5 << 30}}
	if a > b {
		want[0], want[1] = want[1], want[0]
	}
	if fmt.Sprint(ps) != fmt.Sprint(want) {
		t.Errorf("pointers %v, want %v", ps, want)
	}
}

// lfsServed serves the fixture as group/public (1) and group/private (2);
// object "linked" is linked to both, "stored" is stored but linked to none.
func lfsServed(t *testing.T) (s *Store, base, linked, stored, content string) {
	t.Helper()
	ctx := context.Background()
	s, base, _, _ = servedFixture(t)
	linked, content = lfsObjectFor(strings.Repeat("lfs payload\n", 4096))
	stored, storedContent := lfsObjectFor("not linked")
	for oid, c := range map[string]string{linked: content, stored: storedContent} {
		if err := s.PutLFSObject(ctx, oid, int64(len(c)), strings.NewReader(c)); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []int64{1, 2} {
		if err := s.LinkLFSObject(ctx, id, linked); err != nil {
			t.Fatal(err)
		}
	}
	return s, base, linked, stored, content
}

func lfsPost(t *testing.T, url, auth string, req lfsBatchRequest) (*http.Response, lfsBatchResponse) {
	t.Helper()
	body, _ := json.Marshal(req)
	hr, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	hr.Header.Set("Accept", lfsMediaType)
	hr.Header.Set("Content-Type", lfsMediaType)
	if auth != "" {
		hr.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out lfsBatchResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("decode batch answer (%d): %v", resp.StatusCode, err)
	}
	return resp, out
}

func TestLFSBatchDownloadRoundTrip(t *testing.T) {
	t.Parallel()
	_, base, linked, stored, content := lfsServed(t)
	member := basic("oauth2", "tok-member")
	batchURL := base + "/group/private.git/info/lfs/objects/batch"
	resp, out := lfsPost(t, batchURL, member, lfsBatchRequest{Operation: "download", Transfers: []string{"basic"},
		Objects: []lfsObjectSpec{{linked, int64(len(content))}, {stored, 10}, {"NOT-AN-OID", 1}}})
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != lfsMediaType {
		t.Fatalf("batch: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if len(out.Objects) != 3 {
		t.Fatalf("objects: %+v", out.Objects)
	}
	if e := out.Objects[1].Error; e == nil || e.Code != 404 {
		t.Errorf("unlinked object: %+v", out.Objects[1])
	}
	if e := out.Objects[2].Error; e == nil || e.Code != 422 {
		t.Errorf("bad oid: %+v", out.Objects[2])
	}
	dl, ok := out.Objects[0].Actions["download"]
	if !ok || out.Objects[0].Error != nil {
		t.Fatalf("no download action: %+v", out.Objects[0])
	}
	if want := base + "/group/private.git/info/lfs/objects/" + linked; dl.Href != want {
		t.Errorf("href %s, want %s", dl.Href, want)
	}

	get := func(url string, header map[string]string) (int, string) {
		req, _ := http.NewRequest("GET", url, nil)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	tests := []struct {
		name       string
		url        string
		header     map[string]string
		wantStatus int
	}{
		{"href with action header", dl.Href, dl.Header, 200},
		{"member basic auth", dl.Href, map[string]string{"Authorization": member}, 200},
		{"anonymous on private", dl.Href, nil, 401},
		{"outsider", dl.Href, map[string]string{"Authorization": basic("oauth2", "tok-outsider")}, 404},
		{"token for another oid", base + "/group/private.git/info/lfs/objects/" + stored, dl.Header, 401},
		{"forged token", dl.Href, map[string]string{lfsTokenHeader: "MTo" + strings.Repeat("x", 40) + ".AAAA"}, 401},
		{"public anonymous", base + "/group/public.git/info/lfs/objects/" + linked, nil, 200},
		{"unlinked on public", base + "/group/public.git/info/lfs/objects/" + stored, nil, 404},
		{"bad oid", base + "/group/public.git/info/lfs/objects/" + strings.ToUpper(linked), nil, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := get(tt.url, tt.header)
			if status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %.200s", status, tt.wantStatus, body)
			}
			if status == 200 && body != content {
				t.Error("downloaded bytes differ")
			}
		})
	}

	batchTests := []struct {
		name, url, auth, op string
		wantStatus          int
	}{
		{"anonymous on private", batchURL, "", "download", 401},
		{"outsider on private", batchURL, basic("oauth2", "tok-outsider"), "download", 404},
		{"upload by member", batchURL, member, "upload", 403},
		{"upload anonymous", base + "/group/public.git/info/lfs/objects/batch", "", "upload", 401},
		{"unknown operation", batchURL, member, "delete", 422},
	}
	for _, tt := range batchTests {
		t.Run("batch "+tt.name, func(t *testing.T) {
			resp, out := lfsPost(t, tt.url, tt.auth, lfsBatchRequest{Operation: tt.op, Objects: []lfsObjectSpec{{linked, 1}}})
			if resp.StatusCode != tt.wantStatus || out.Message == "" {
				t.Errorf("status %d message %q, want %d", resp.StatusCode, out.Message, tt.wantStatus)
			}
			if tt.wantStatus == 401 && resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("no challenge")
			}
		})
	}
}

func TestLFSTokenExpires(t *testing.T) {
	t.Parallel()
	h, err := NewHandler(newStore(t), nil, HandlerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	oid, _ := lfsObjectFor("x")
	now := time.Now()
	tok := h.signToken(7, oid, now.Add(time.Minute))
	if id, ok := h.verifyToken(tok, oid, now); !ok || id != 7 {
		t.Fatalf("fresh token: %d %v", id, ok)
	}
	if _, ok := h.verifyToken(tok, oid, now.Add(2*time.Minute)); ok {
		t.Error("expired token accepted")
	}
	other, _ := NewHandler(newStore(t), nil, HandlerOptions{})
	if _, ok := other.verifyToken(tok, oid, now); ok {
		t.Error("token accepted under another key")
	}
}

func TestFetchLFS(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	up, srcURL, _ := upstream(t)
	oid, content := lfsObjectFor(strings.Repeat("source object ", 500))
	missing, _ := lfsObjectFor("nowhere")
	if err := up.PutLFSObject(ctx, oid, int64(len(content)), strings.NewReader(content)); err != nil {
		t.Fatal(err)
	}
	if err := up.LinkLFSObject(ctx, 1, oid); err != nil {
		t.Fatal(err)
	}
	ptrs := []LFSPointer{{oid, int64(len(content))}}

	s := newStore(t)
	const wrong = "wr0ng/T0ken+X="
	err := s.FetchLFS(ctx, 7, srcURL, Credential{Username: srcUser, Password: wrong}, ptrs)
	if err == nil {
		t.Fatal("fetch with a bad credential succeeded")
	}
	assertNoSecret(t, err.Error(), wrong)
	if s.HasLFSObject(oid) {
		t.Fatal("object stored without access")
	}

	cred := Credential{Username: srcUser, Password: srcSecret}
	err = s.FetchLFS(ctx, 7, srcURL, cred, append(ptrs, LFSPointer{missing, 7}))
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing object not reported: %v", err)
	}
	assertNoSecret(t, fmt.Sprint(err), srcSecret)
	if !s.LFSLinked(7, oid) {
		t.Fatal("object not fetched and linked")
	}
	f, err := s.OpenLFSObject(oid)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(f)
	f.Close()
	if string(got) != content {
		t.Error("fetched bytes differ")
	}
	// Already stored: linked to another project without a download.
	if err := s.FetchLFS(ctx, 8, "http://127.0.0.1:1/unreachable.git", cred, ptrs); err != nil {
		t.Fatal(err)
	}
	if !s.LFSLinked(8, oid) {
		t.Error("stored object not linked")
	}
}

// TestGitLFSClone clones with the real git-lfs client: the batch API and the
// download endpoint must satisfy it.
func TestGitLFSClone(t *testing.T) {
	t.Parallel()
	if _, _, err := testGitRun(t, "", nil, "lfs", "version"); err != nil {
		t.Skip("git lfs is not installed (Debian package git-lfs): skipping the real git-lfs clone")
	}
	s, base, linked, _, content := lfsServed(t)
	for _, id := range []int64{1, 2} {
		commitFiles(t, s, s.Path(id), "master", map[string]string{
			".gitattributes": "*.bin filter=lfs diff=lfs merge=lfs -text\n",
			"data.bin":       pointerFor(linked, len(content)),
		})
	}
	lfs := []string{"-c", "filter.lfs.smudge=git-lfs smudge -- %f", "-c", "filter.lfs.process=git-lfs filter-process",
		"-c", "filter.lfs.required=true", "-c", "lfs.locksverify=false"}
	tests := []struct {
		name string
		url  string
	}{
		{"public anonymous", base + "/group/public.git"},
		{"private with token", withUser(base+"/group/private.git", "oauth2", "tok-member")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "clone")
			_, stderr, err := testGitRun(t, "", nil, append(lfs, "clone", "--quiet", tt.url, dst)...)
			if err != nil {
				t.Fatalf("clone: %v\n%s", err, stderr)
			}
			got, err := os.ReadFile(filepath.Join(dst, "data.bin"))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != content {
				t.Errorf("data.bin is %d bytes, not the LFS object (%.80q)", len(got), got)
			}
		})
	}
}
