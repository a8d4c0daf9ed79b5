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
	"github.com/ferry-import/ferry/forge/mdlink"
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/source/internal/attach"
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
		{"too long", dotcom, "![x](" + img + strings.Repeat("a", forge.MaxUploadURL) + ")", nil},
	} {
		if got := c.r.attachments().Links(c.body); !slices.Equal(got, c.want) {
			t.Errorf("%s: Links = %q, want %q", c.name, got, c.want)
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
			if f, ok := o.(importer.Followup); ok && f.Relation == attach.Relation {
				got++
			}
		}
		if want := map[bool]int{false: 0, true: 1}[on]; got != want {
			t.Errorf("attachments_import %v: %d followups, want %d", on, got, want)
		}
	}
}

// TestDownloadAttachments downloads from a simulated GitHub Enterprise
// (package attach tests downloading itself): an attachment on the
// instance host is fetched with the token and stored as the source's
// upload; a link that is not GitHub's attachment is never fetched.
func TestDownloadAttachments(t *testing.T) {
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{7}, 600)...)
	var authSeen atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		authSeen.Store(r.URL.Path + " " + r.Header.Get("Authorization"))
		_, _ = w.Write(png)
	}))
	defer srv.Close()
	files, err := uploads.New(t.TempDir(), uploads.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer files.Close()
	base, _ := url.Parse(srv.URL + "/api/v3/")
	r := &run{base: base, host: strings.ToLower(base.Host), opts: Options{AttachmentsImport: true}, auth: &auth{token: "s3cr3t"},
		env: &importer.Env{Credential: "s3cr3t", Downloads: srv.Client(), Uploads: files}}
	a := r.attachments()
	link := srv.URL + "/user-attachments/assets/0d2f5a4c"
	up, err := a.Download(context.Background(), link)
	sum := sha256.Sum256(png)
	if err != nil || up.SourceID != r.sid(link) || up.URL != link || up.Filename != "0d2f5a4c.png" ||
		up.SHA256 != hex.EncodeToString(sum[:]) || !files.Has(up.SHA256) {
		t.Fatalf("upload %+v, %v", up, err)
	}
	if got := authSeen.Load(); got != "/user-attachments/assets/0d2f5a4c Bearer s3cr3t" {
		t.Errorf("request %q, want the token on the instance host", got)
	}
	for _, l := range []string{"http://127.0.0.1:1/user-attachments/assets/x.png", srv.URL + "/acme/widgets/blob/main/x.png"} {
		var perm *importer.Permanent
		if _, err := a.Download(context.Background(), l); !errors.As(err, &perm) {
			t.Errorf("%s: %v, want a permanent refusal", l, err)
		}
	}
	if got := authSeen.Load(); got != "/user-attachments/assets/0d2f5a4c Bearer s3cr3t" {
		t.Errorf("a link that is no attachment was fetched: %q", got)
	}
}

// FuzzAttachmentLinks checks what is queued against what the store
// relinks: every link queued is an attachment of the source, and one of
// the links of the grammar the store relinks by (mdlink), which finds it
// in the body, so no queued attachment is left linked to the source.
func FuzzAttachmentLinks(f *testing.F) {
	for _, s := range []string{
		"![shot](https://github.com/user-attachments/assets/abc)",
		`<img src="https://user-images.githubusercontent.com/1/2.png?a=1&amp;b=2">`,
		`[f](https://github.com/acme/w/files/1/a.zip "t") [g](<https://github.com/user-attachments/files/2/b.txt>)`,
		"![a](https://github.com/user-attachments/assets/a)![a](https://github.com/user-attachments/assets/a0)",
	} {
		f.Add(s)
	}
	a := testRun().attachments()
	f.Fuzz(func(t *testing.T, body string) {
		links := mdlink.Links(body)
		for _, l := range a.Links(body) {
			if !a.Is(l) {
				t.Fatalf("queued %q, which is no attachment", l)
			}
			if !slices.Contains(links, l) || mdlink.Relink(body, l, "/uploads/x/y") == body {
				t.Fatalf("queued %q, which relinking cannot find in %q", l, body)
			}
		}
	})
}
