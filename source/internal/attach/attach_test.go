package attach

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/source/internal/paging"
	"github.com/ferry-import/ferry/uploads"
)

// testSource takes https://files.example/att/… for its attachments, with
// a token under /att/private/.
func testSource(env *importer.Env, host string) *Source {
	return &Source{Env: env, Upload: forge.SourceID{Type: "test", Host: "files.example"},
		Attachment: func(u *url.URL) (func(*http.Request), bool) {
			if u.Host != host || !strings.HasPrefix(u.Path, "/att/") {
				return nil, false
			}
			if strings.HasPrefix(u.Path, "/att/private/") {
				return func(r *http.Request) { r.Header.Set("Authorization", "Bearer s3cr3t") }, true
			}
			return nil, true
		}}
}

func TestLinks(t *testing.T) {
	s := testSource(&importer.Env{}, "files.example")
	const a, b = "https://files.example/att/a.png", "https://files.example/att/private/b.pdf"
	for _, tt := range []struct {
		name, body string
		want       []string
	}{
		{"markdown and html, in order, each once", "![a](" + a + `) <a href="` + b + `">b</a> ![a](` + a + ")", []string{a, b}},
		{"kept as written, judged unescaped", `<img src="` + a + `?x=1&amp;y=2">`, []string{a + "?x=1&amp;y=2"}},
		{"not the source's", "![x](https://elsewhere.example/att/a.png) ![y](https://files.example/other/a.png)", nil},
		{"relative", "![x](/att/a.png)", nil},
		{"credentials", "![x](https://u:p@files.example/att/a.png)", nil},
		{"bare URL", "see " + a, nil},
		{"too long", "![x](" + a + strings.Repeat("a", forge.MaxUploadURL) + ")", nil},
	} {
		if got := s.Links(tt.body); !slices.Equal(got, tt.want) {
			t.Errorf("%s: Links = %q, want %q", tt.name, got, tt.want)
		}
	}
	b1 := paging.NewBuilder()
	if got := s.Follow(b1, "![a]("+a+") ![a]("+a+")"); got != "![a]("+a+") ![a]("+a+")" {
		t.Errorf("Follow changed the body: %q", got)
	}
	if objs := b1.Objects(); len(objs) != 1 || objs[0] != (importer.Followup{Relation: Relation, Key: a}) {
		t.Errorf("Follow queued %v", objs)
	}
}

// TestDownload fetches from a simulated attachment store: bytes land in
// the upload store named and typed from their content, the credential
// goes only where the source says, and what cannot be had is a failed
// item, permanent unless retrying could help.
func TestDownload(t *testing.T) {
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{7}, 600)...)
	var mu sync.Mutex
	auth := map[string]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auth[r.URL.Path] = r.Header.Get("Authorization")
		mu.Unlock()
		switch r.URL.Path {
		case "/att/shot.png", "/att/private/0d2f5a4c", "/att/page.html":
			_, _ = w.Write(png)
		case "/att/notes":
			_, _ = w.Write([]byte("plain words"))
		case "/att/big.zip":
			w.Header().Set("Content-Length", "4096")
			_, _ = w.Write(bytes.Repeat([]byte("z"), 4096))
		case "/att/streamed.bin":
			w.(http.Flusher).Flush() // no Content-Length: the store's cap decides
			_, _ = w.Write(bytes.Repeat([]byte("z"), 4096))
		case "/att/busy.png":
			http.Error(w, "busy", http.StatusServiceUnavailable)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	files, err := uploads.New(t.TempDir(), uploads.Options{MaxSize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	defer files.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	s := testSource(&importer.Env{Downloads: srv.Client(), Uploads: files}, host)
	sum := sha256.Sum256(png)
	for _, tt := range []struct {
		path, name, ctype, auth string
	}{
		{"/att/shot.png", "shot.png", "image/png", ""},
		{"/att/private/0d2f5a4c", "0d2f5a4c.png", "image/png", "Bearer s3cr3t"}, // no extension: from the content
		{"/att/page.html", "page.html", "image/png", ""},                        // the bytes, not the name, give the type
		{"/att/notes", "notes.txt", "text/plain; charset=utf-8", ""},
	} {
		link := srv.URL + tt.path
		b := paging.NewBuilder()
		if err := s.Each(context.Background(), b, link); err != nil {
			t.Fatalf("%s: %v", tt.path, err)
		}
		p := b.Page("")
		if len(p.Objects) != 1 || len(p.Failures) != 0 || p.Items != 1 {
			t.Fatalf("%s: objects %v, failures %v, items %d", tt.path, p.Objects, p.Failures, p.Items)
		}
		up := p.Objects[0].(forge.Upload)
		if up.URL != link || up.SourceID != (forge.SourceID{Type: "test", Host: "files.example", ID: link}) ||
			up.Filename != tt.name || up.ContentType != tt.ctype || !files.Has(up.SHA256) {
			t.Errorf("%s: upload %+v", tt.path, up)
		}
		if tt.ctype == "image/png" && (up.Size != int64(len(png)) || up.SHA256 != hex.EncodeToString(sum[:])) {
			t.Errorf("%s: size %d, sha256 %s", tt.path, up.Size, up.SHA256)
		}
		mu.Lock()
		if got := auth[tt.path]; got != tt.auth {
			t.Errorf("%s: Authorization %q, want %q", tt.path, got, tt.auth)
		}
		mu.Unlock()
	}
	for _, tt := range []struct {
		link      string
		permanent bool
		tooLarge  bool
	}{
		{srv.URL + "/att/gone.png", true, false},
		{srv.URL + "/att/busy.png", false, false},
		{srv.URL + "/att/big.zip", true, true},
		{srv.URL + "/att/streamed.bin", true, true},
		{srv.URL + "/elsewhere/x.png", true, false}, // not the source's: never fetched
	} {
		b := paging.NewBuilder()
		if err := s.Each(context.Background(), b, tt.link); err != nil {
			t.Fatalf("%s: %v", tt.link, err)
		}
		p := b.Page("")
		if len(p.Objects) != 0 || len(p.Failures) != 1 || p.Items != 1 {
			t.Fatalf("%s: objects %v, failures %v, items %d", tt.link, p.Objects, p.Failures, p.Items)
		}
		var perm *importer.Permanent
		if f := p.Failures[0]; f.SourceURL != tt.link || errors.As(f.Err, &perm) != tt.permanent ||
			errors.Is(f.Err, uploads.ErrTooLarge) != tt.tooLarge || strings.Contains(f.Err.Error(), "s3cr3t") {
			t.Errorf("%s: failure %+v", tt.link, f)
		}
	}
	mu.Lock()
	if _, ok := auth["/elsewhere/x.png"]; ok {
		t.Error("a link that is no attachment was fetched")
	}
	mu.Unlock()
	var perm *importer.Permanent
	if _, err := testSource(&importer.Env{}, host).Download(context.Background(), srv.URL+"/att/shot.png"); !errors.As(err, &perm) {
		t.Errorf("without an upload store: %v, want a permanent error", err)
	}
}
