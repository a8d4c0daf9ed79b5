package store_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/forge/forgetest"
	"github.com/ferry-import/ferry/store"
	"github.com/ferry-import/ferry/store/storetest"
)

var uploadLink = regexp.MustCompile(`/uploads/([0-9a-f]{32})/([^)"'\s>]+)`)

func TestUploadsRelinkAndServeLookup(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		_, proj := contentProject(t, s)
		src := func(id string) forge.SourceID { x := forgetest.Source; x.ID = id; return x }
		const att = "https://gh.example/user-attachments/assets/k1-4.png"
		const other = "https://gh.example/user-attachments/assets/k1-40.png"
		body := "![shot](" + att + ") and ![other](" + other + ")"
		sha := strings.Repeat("ab", 32)
		up := forge.Upload{SourceID: src(att), URL: att, Filename: "k1-4.png", ContentType: "image/png", Size: 10, SHA256: sha}
		write := func(objs ...forge.Object) {
			t.Helper()
			mustWrite(t, s, func(tx *store.Tx) error { _, err := tx.WriteContent(ctx, proj.ID, objs); return err })
		}
		// Bodies first, then the upload: every stored body is relinked.
		write(forge.Issue{SourceID: src("i1"), IID: 1, Title: "I", Description: body, Author: forgetest.User(0)},
			forge.MergeRequest{SourceID: src("p2"), IID: 2, Title: "P", Description: body, Author: forgetest.User(0)},
			forge.Note{SourceID: src("n1"), On: forge.Noteable{Type: forge.OnIssue, IID: 1}, Body: body, Author: forgetest.User(0)},
			forge.Review{SourceID: src("r1"), MergeRequestIID: 2, State: forge.ReviewCommented, Body: body, Author: forgetest.User(0)},
			forge.Release{SourceID: src("rel"), TagName: "v1", Description: body},
			forge.Milestone{SourceID: src("m1"), IID: 1, Title: "M", Description: body})
		write(up)
		// A body written after the upload is relinked as it is written.
		write(forge.Note{SourceID: src("n2"), On: forge.Noteable{Type: forge.OnIssue, IID: 1}, Body: body, Author: forgetest.User(0)})
		// Writing the upload again keeps its link.
		write(up)

		var secret string
		for _, q := range []string{`SELECT description FROM issues`, `SELECT description FROM merge_requests`, `SELECT body FROM notes`,
			`SELECT body FROM reviews`, `SELECT description FROM releases`, `SELECT description FROM milestones`} {
			rows, err := s.DB().QueryContext(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var got string
				if err := rows.Scan(&got); err != nil {
					t.Fatal(err)
				}
				m := uploadLink.FindStringSubmatch(got)
				if m == nil || strings.Contains(got, att+")") || !strings.Contains(got, other) || m[2] != "k1-4.png" {
					t.Errorf("%s: %q not relinked (or other link touched)", q, got)
					continue
				}
				if secret == "" {
					secret = m[1]
				} else if m[1] != secret {
					t.Errorf("%s: secret %s, elsewhere %s", q, m[1], secret)
				}
			}
			rows.Close()
		}

		err := s.Read(ctx, func(tx *store.Tx) error {
			n, err := tx.CountUploads(ctx, proj.ID)
			if err != nil || n != 1 {
				t.Errorf("CountUploads = %d, %v; want 1", n, err)
			}
			u, err := tx.UploadByPath(ctx, proj.ID, secret, "k1-4.png")
			if err != nil {
				return err
			}
			if u.SHA256 != sha || u.SourceURL != att || u.ContentType != "image/png" || u.Path() != "/uploads/"+secret+"/k1-4.png" {
				t.Errorf("upload = %+v", u)
			}
			for _, c := range [][2]string{{secret, "other.png"}, {strings.Repeat("0", 32), "k1-4.png"}, {secret, "../k1-4.png"}} {
				if _, err := tx.UploadByPath(ctx, proj.ID, c[0], c[1]); ferry.ErrorCode(err) != ferry.ENOTFOUND {
					t.Errorf("UploadByPath(%s, %s) = %v, want ENOTFOUND", c[0], c[1], err)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}

		// The bodies that still await an upload are remembered for the link
		// that has none (7 rows), not for the one relinked.
		refs := func() (n int, urls string) {
			t.Helper()
			if err := s.DB().QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(MIN(source_url), '') || ' ' || COALESCE(MAX(source_url), '') FROM upload_refs`).Scan(&n, &urls); err != nil {
				t.Fatal(err)
			}
			return n, urls
		}
		if n, urls := refs(); n != 7 || urls != other+" "+other {
			t.Errorf("upload_refs: %d rows for %q; want 7 for %s", n, urls, other)
		}

		// Deleting the project removes its uploads and what awaited them.
		mustWrite(t, s, func(tx *store.Tx) error { return tx.DeleteProject(ctx, proj.ID) })
		var n int
		if err := s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM uploads`).Scan(&n); err != nil || n != 0 {
			t.Errorf("uploads after project deletion: %d, %v", n, err)
		}
		if n, _ := refs(); n != 0 {
			t.Errorf("upload_refs after project deletion: %d", n)
		}
	})
}

func TestUploadRefused(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		_, proj := contentProject(t, s)
		const u = "https://gh.example/user-attachments/assets/x.png"
		ok := forge.Upload{SourceID: forge.SourceID{Type: "github", Host: "gh.example", ID: u}, URL: u, Filename: "x.png",
			SHA256: strings.Repeat("ab", 32)}
		for _, c := range []struct {
			name string
			mod  func(*forge.Upload)
		}{
			{"path traversal", func(x *forge.Upload) { x.Filename = "../../etc/passwd" }},
			{"dot dot", func(x *forge.Upload) { x.Filename = ".." }},
			{"slash", func(x *forge.Upload) { x.Filename = "a/b.png" }},
			{"empty name", func(x *forge.Upload) { x.Filename = "" }},
			{"bad digest", func(x *forge.Upload) { x.SHA256 = "../objects" }},
			{"no URL", func(x *forge.Upload) { x.URL = "" }},
			{"long URL", func(x *forge.Upload) { x.URL = u + strings.Repeat("a", forge.MaxUploadURL) }},
		} {
			x := ok
			c.mod(&x)
			err := s.Write(ctx, func(tx *store.Tx) error { _, err := tx.WriteContent(ctx, proj.ID, []forge.Object{x}); return err })
			if ferry.ErrorCode(err) != ferry.EINVALID {
				t.Errorf("%s: err = %v, want EINVALID", c.name, err)
			}
		}
	})
}

// TestUploadsRelinkedInOneBatch: several uploads written in one batch (an
// attachments page) relink every stored body in one pass, each link to its
// own upload, a link that extends another's URL included; a body that
// merely shares the prefix is left alone.
func TestUploadsRelinkedInOneBatch(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		_, proj := contentProject(t, s)
		src := func(id string) forge.SourceID { x := forgetest.Source; x.ID = id; return x }
		const a, b = "/uploads/0123456789abcdef0123456789abcdef/k1-4.png", "/uploads/0123456789abcdef0123456789abcdef/k1-4.png.zip"
		body := "![a](" + a + ") [b](" + b + ") <img src=\"" + a + "\"> plain /uploads/ text"
		sha := strings.Repeat("cd", 32)
		write := func(objs ...forge.Object) {
			t.Helper()
			mustWrite(t, s, func(tx *store.Tx) error { _, err := tx.WriteContent(ctx, proj.ID, objs); return err })
		}
		write(forge.Issue{SourceID: src("i1"), IID: 1, Title: "I", Description: body, Author: forgetest.User(0)},
			forge.Note{SourceID: src("n1"), On: forge.Noteable{Type: forge.OnIssue, IID: 1}, Body: body, Author: forgetest.User(0)},
			forge.Note{SourceID: src("n2"), On: forge.Noteable{Type: forge.OnIssue, IID: 1}, Body: "nothing to relink /uploads/", Author: forgetest.User(0)})
		write(forge.Upload{SourceID: src(a), URL: a, Filename: "k1-4.png", ContentType: "image/png", Size: 1, SHA256: sha},
			forge.Upload{SourceID: src(b), URL: b, Filename: "k1-4.png.zip", ContentType: "application/zip", Size: 1, SHA256: sha})
		var got []string
		for _, q := range []string{`SELECT description FROM issues`, `SELECT body FROM notes ORDER BY id`} {
			rows, err := s.DB().QueryContext(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var x string
				if err := rows.Scan(&x); err != nil {
					t.Fatal(err)
				}
				got = append(got, x)
			}
			rows.Close()
		}
		if len(got) != 3 || got[2] != "nothing to relink /uploads/" {
			t.Fatalf("bodies %q", got)
		}
		for _, g := range got[:2] {
			links := uploadLink.FindAllStringSubmatch(g, -1)
			if len(links) != 3 || strings.Contains(g, "0123456789abcdef0123456789abcdef") || links[0][2] != "k1-4.png" ||
				links[1][2] != "k1-4.png.zip" || links[2][1] != links[0][1] || links[0][1] == links[1][1] || !strings.HasSuffix(g, " plain /uploads/ text") {
				t.Errorf("not relinked link by link: %q", g)
			}
		}
	})
}
