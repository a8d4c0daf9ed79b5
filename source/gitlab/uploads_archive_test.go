package gitlab

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/uploads"
)

// tarGz builds an uploads archive; a zero Typeflag is a regular file.
func tarGz(t *testing.T, entries []tar.Header, bodies map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, h := range entries {
		body := bodies[h.Name]
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(body))
		}
		h.Mode = 0o644
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestUploadsArchive: through an export, uploads are answered from the
// source's uploads archive, downloaded once per batch for the whole
// project; what the archive does not hold safely (links, other paths,
// avatars, files over the cap) is never stored from it, a file over the
// cap is refused, and a link the archive lacks goes to the upload API. A
// source that exports no uploads sends every link to the API.
func TestUploadsArchive(t *testing.T) {
	const (
		s1 = "0123456789abcdef0123456789abcdef"
		s2 = "fedcba9876543210fedcba9876543210"
	)
	png := "\x89PNG\r\n\x1a\nimage bytes"
	batch1 := tarGz(t, []tar.Header{
		{Name: s1 + "/", Typeflag: tar.TypeDir},
		{Name: s1 + "/shot.png"},
		{Name: s1 + "/link.png", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"},
		{Name: "../" + s1 + "/escape.png"},
		{Name: "avatar/avatar.png"},
		{Name: "./" + s2 + "/big.bin"},
	}, map[string]string{s1 + "/shot.png": png, "../" + s1 + "/escape.png": "no", "avatar/avatar.png": "no",
		"./" + s2 + "/big.bin": strings.Repeat("x", 200)})
	batch2 := tarGz(t, []tar.Header{{Name: s2 + "/notes.txt"}}, map[string]string{s2 + "/notes.txt": "plain text"})

	var mu sync.Mutex
	calls := map[string]int{}
	exported := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		key := r.URL.Path + "?" + r.URL.Query().Get("batch_number")
		calls[key]++
		on := exported
		mu.Unlock()
		q := r.URL.Query()
		switch {
		case strings.HasSuffix(r.URL.Path, "/export_relations/status") && q.Get("relation") == "uploads" && on:
			_, _ = io.WriteString(w, `{"relation":"uploads","status":1,"batched":true,"batches_count":2,"total_objects_count":3}`)
		case strings.HasSuffix(r.URL.Path, "/export_relations/status"):
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":"relation does not have a valid value"}`)
		case strings.HasSuffix(r.URL.Path, "/export_relations/download") && q.Get("batch_number") == "1":
			_, _ = w.Write(batch1)
		case strings.HasSuffix(r.URL.Path, "/export_relations/download") && q.Get("batch_number") == "2":
			_, _ = w.Write(batch2)
		case strings.HasPrefix(r.URL.Path, "/api/v4/projects/5/uploads/"):
			_, _ = io.WriteString(w, "from the API "+r.URL.Path)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	store, err := uploads.New(t.TempDir(), uploads.Options{MaxSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	raw, _ := json.Marshal(Options{Entity: KindProject, SourceID: 5, Transport: TransportExport})
	src := New()
	for _, c := range []struct {
		exported bool
		importID int64
		api      []string // links downloaded through the upload API
	}{
		{true, 1, []string{"/uploads/" + s1 + "/missing.png"}},
		{false, 2, []string{"/uploads/" + s1 + "/shot.png", "/uploads/" + s1 + "/missing.png", "/uploads/" + s2 + "/notes.txt"}},
	} {
		mu.Lock()
		exported = c.exported
		clear(calls)
		mu.Unlock()
		env := &importer.Env{ImportID: c.importID, ProjectID: 7, SourceURL: srv.URL, SourceRef: "acme/widgets", Options: raw, Credential: "t",
			HTTP: srv.Client(), Uploads: store}
		if _, err := src.Stages(context.Background(), env); err != nil {
			t.Fatal(err)
		}
		r, err := newRun(env)
		if err != nil {
			t.Fatal(err)
		}
		r.spools, r.archives = src.spoolCache(), src.archives
		att := r.attachments()
		ctx := context.Background()
		fromAPI := map[string]bool{}
		for _, l := range c.api {
			fromAPI[l] = true
		}
		for _, link := range []string{"/uploads/" + s1 + "/shot.png", "/uploads/" + s2 + "/notes.txt", "/uploads/" + s1 + "/missing.png"} {
			up, err := att.Download(ctx, link)
			if err != nil {
				t.Fatalf("exported %v: %s: %v", c.exported, link, err)
			}
			want := map[string]string{"/uploads/" + s1 + "/shot.png": png, "/uploads/" + s2 + "/notes.txt": "plain text"}[link]
			if fromAPI[link] {
				want = "from the API /api/v4/projects/5" + link
			}
			sum := sha256.Sum256([]byte(want))
			if up.SHA256 != hex.EncodeToString(sum[:]) || up.Size != int64(len(want)) || up.URL != link {
				t.Errorf("exported %v: %s = %+v, want the bytes %q", c.exported, link, up, want)
			}
		}
		if c.exported {
			// The file over the cap is refused for good, from the archive.
			_, err := att.Download(ctx, "/uploads/"+s2+"/big.bin")
			var perm *importer.Permanent
			if !errors.As(err, &perm) || !errors.Is(err, uploads.ErrTooLarge) {
				t.Errorf("big.bin: %v, want a permanent too-large error", err)
			}
			// Entries that are not plain upload files answer nothing.
			for _, l := range []string{"/uploads/" + s1 + "/link.png", "/uploads/" + s1 + "/escape.png"} {
				if up, err := att.Download(ctx, l); err != nil || !strings.HasPrefix(string(mustOpen(t, store, up.SHA256)), "from the API") {
					t.Errorf("%s: %+v, %v; want it from the API", l, up, err)
				}
			}
		}
		mu.Lock()
		got := fmt.Sprint(calls["/api/v4/projects/5/export_relations/status?"], calls["/api/v4/projects/5/export_relations/download?1"],
			calls["/api/v4/projects/5/export_relations/download?2"])
		mu.Unlock()
		want := "1 1 1"
		if !c.exported {
			want = "1 0 0"
		}
		if got != want {
			t.Errorf("exported %v: status, batch 1, batch 2 calls = %s, want %s (once per import)", c.exported, got, want)
		}
	}
}

func mustOpen(t *testing.T, s *uploads.Store, sum string) []byte {
	t.Helper()
	f, err := s.Open(sum)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
