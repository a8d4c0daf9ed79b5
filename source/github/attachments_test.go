package github

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
	"sync/atomic"
	"testing"

	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/store"
	"github.com/ferry-import/ferry/uploads"
)

func TestAttachmentLinks(t *testing.T) {
	dotcom := testRun()
	ghe := testRun()
	ghe.base, _ = url.Parse("https://ghe.example:8443/api/v3/")
	ghe.host = "ghe.example:8443"
	const (
		asset = "https://github.com/user-attachments/assets/0d2f5a4c-1b2e-4c1a-9d7e-0123456789ab"
		file  = "https://github.com/user-attachments/files/123/report.pdf"
		repo  = "https://github.com/acme/widgets/assets/12/0d2f5a4c-1b2e-4c1a-9d7e-0123456789ab"
		img   = "https://user-images.githubusercontent.com/1/2-abc.png"
		gheA  = "https://ghe.example:8443/user-attachments/assets/k1-4.png"
		gheS  = "https://ghe.example:8443/storage/user/1/files/abc"
	)
	for _, c := range []struct {
		name string
		r    *run
		body string
		want []string
	}{
		{"markdown image", dotcom, "see ![shot](" + asset + ") here", []string{asset}},
		{"markdown image with title", dotcom, `![shot](` + img + ` "a title")`, []string{img}},
		{"markdown image in angle brackets", dotcom, "![shot](<" + img + ">)", []string{img}},
		{"markdown file link", dotcom, "[report.pdf](" + file + ")", []string{file}},
		{"repository assets", dotcom, "![x](" + repo + ")", []string{repo}},
		{"html img", dotcom, `<img width="300" alt="x" src="` + asset + `">`, []string{asset}},
		{"html img single quotes", dotcom, `<IMG SRC='` + img + `'/>`, []string{img}},
		{"html link", dotcom, `<a href="` + file + `">report</a>`, []string{file}},
		{"query string kept as written", dotcom, "![x](" + img + "?raw=true)", []string{img + "?raw=true"}},
		{"html escaped query", dotcom, `<img src="` + img + `?a=1&amp;b=2">`, []string{img + "?a=1&amp;b=2"}},
		{"each link once, in order", dotcom, "![a](" + img + ") ![b](" + asset + ") ![c](" + img + ")", []string{img, asset}},
		{"other host", dotcom, "![x](https://evil.example/user-attachments/assets/x.png) ![y](https://imgur.com/a.png)", nil},
		{"blob on github is no attachment", dotcom, "[code](https://github.com/acme/widgets/blob/main/assets/x.png)", nil},
		{"github page is no attachment", dotcom, "[pr](https://github.com/acme/widgets/pull/3)", nil},
		{"plain http refused", dotcom, "![x](http://github.com/user-attachments/assets/abc)", nil},
		{"credentials in URL refused", dotcom, "![x](https://user:pw@user-images.githubusercontent.com/1/2.png)", nil},
		{"relative URL", dotcom, "![x](/user-attachments/assets/abc) ![y](assets/x.png)", nil},
		{"bare URL", dotcom, "look: " + asset, nil},
		{"inline code", dotcom, "`" + asset + "`", nil},
		{"ghe instance host", ghe, "![x](" + gheA + ") ![y](" + gheS + ")", []string{gheA, gheS}},
		{"ghe other port", ghe, "![x](https://ghe.example/user-attachments/assets/k1-4.png)", nil},
		{"ghe ignores github.com", ghe, "![x](" + asset + ")", nil},
		{"ghe loopback trap", ghe, "![x](http://127.0.0.1:1/user-attachments/assets/x.png)", nil},
		{"too long", dotcom, "![x](" + img + strings.Repeat("a", maxAttachmentURL) + ")", nil},
	} {
		if got := c.r.attachmentLinks(c.body); !slices.Equal(got, c.want) {
			t.Errorf("%s: attachmentLinks = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestAttachmentFollowupsOnlyWhenImported(t *testing.T) {
	body := "![x](https://github.com/user-attachments/assets/abc)"
	for _, on := range []bool{false, true} {
		r := testRun()
		r.opts.AttachmentsImport = on
		b := r.builder()
		b.attach(body)
		got := 0
		for _, o := range b.Objects() {
			if f, ok := o.(importer.Followup); ok && f.Relation == relAttachments {
				got++
			}
		}
		if want := map[bool]int{false: 0, true: 1}[on]; got != want {
			t.Errorf("attachments_import %v: %d followups, want %d", on, got, want)
		}
	}
}

// TestDownloadAttachments downloads from a simulated GitHub Enterprise:
// the token goes to the instance host only, the bytes land in the upload
// store, and what cannot be had becomes a failed item.
func TestDownloadAttachments(t *testing.T) {
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{7}, 600)...)
	var authSeen atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		authSeen.Store(r.Header.Get("Authorization"))
		switch r.URL.Path {
		case "/user-attachments/assets/shot.png", "/user-attachments/assets/0d2f5a4c":
			_, _ = w.Write(png)
		case "/user-attachments/files/9/big.zip":
			_, _ = w.Write(bytes.Repeat([]byte("z"), 2048))
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
	base, _ := url.Parse(srv.URL + "/api/v3/")
	r := &run{base: base, host: strings.ToLower(base.Host), opts: Options{AttachmentsImport: true},
		env: &importer.Env{Credential: "s3cr3t", Downloads: srv.Client(), Uploads: files}}
	each := func(key string) importer.Page {
		t.Helper()
		b := r.builder()
		if err := r.attachment(context.Background(), b, key); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		return b.Page("")
	}
	sum := sha256.Sum256(png)
	for _, c := range []struct{ key, name string }{
		{srv.URL + "/user-attachments/assets/shot.png", "shot.png"},
		{srv.URL + "/user-attachments/assets/0d2f5a4c", "0d2f5a4c.png"}, // no extension: from the content
	} {
		b := each(c.key)
		if len(b.Objects) != 1 || len(b.Failures) != 0 {
			t.Fatalf("%s: objects %v, failures %v", c.key, b.Objects, b.Failures)
		}
		up := b.Objects[0].(forge.Upload)
		if up.URL != c.key || up.ID != c.key || up.Filename != c.name || up.ContentType != "image/png" ||
			up.Size != int64(len(png)) || up.SHA256 != hex.EncodeToString(sum[:]) || !files.Has(up.SHA256) {
			t.Errorf("%s: upload %+v", c.key, up)
		}
		if got := authSeen.Load(); got != "Bearer s3cr3t" {
			t.Errorf("%s: Authorization %q", c.key, got)
		}
	}
	for _, c := range []struct {
		key       string
		permanent bool
	}{
		{srv.URL + "/user-attachments/assets/gone.png", true},
		{srv.URL + "/user-attachments/files/9/big.zip", true},      // over the limit
		{"http://127.0.0.1:1/user-attachments/assets/x.png", true}, // not this source: never fetched
	} {
		b := each(c.key)
		if len(b.Objects) != 0 || len(b.Failures) != 1 || b.Items != 1 {
			t.Fatalf("%s: objects %v, failures %v, items %d", c.key, b.Objects, b.Failures, b.Items)
		}
		var perm *importer.Permanent
		if f := b.Failures[0]; f.SourceURL != c.key || errors.As(f.Err, &perm) != c.permanent ||
			strings.Contains(f.Err.Error(), "s3cr3t") {
			t.Errorf("%s: failure %+v", c.key, f)
		}
	}
}

// FuzzAttachmentLinks checks extraction against relinking: every link
// queued is an attachment of the source, and the store's relinking finds
// it in the body, so no queued attachment is left linked to the source.
func FuzzAttachmentLinks(f *testing.F) {
	for _, s := range []string{
		"![shot](https://github.com/user-attachments/assets/abc)",
		`<img src="https://user-images.githubusercontent.com/1/2.png?a=1&amp;b=2">`,
		`[f](https://github.com/acme/w/files/1/a.zip "t") [g](<https://github.com/user-attachments/files/2/b.txt>)`,
		"![a](https://github.com/user-attachments/assets/a)![a](https://github.com/user-attachments/assets/a0)",
	} {
		f.Add(s)
	}
	r := testRun()
	f.Fuzz(func(t *testing.T, body string) {
		for _, l := range r.attachmentLinks(body) {
			if _, _, ok := r.attachmentURL(l); !ok {
				t.Fatalf("queued %q, which is no attachment", l)
			}
			if store.Relink(body, l, "/uploads/x/y") == body {
				t.Fatalf("queued %q, which relinking cannot find in %q", l, body)
			}
		}
	})
}
