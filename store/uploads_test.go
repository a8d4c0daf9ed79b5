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

		// Deleting the project removes its uploads.
		mustWrite(t, s, func(tx *store.Tx) error { return tx.DeleteProject(ctx, proj.ID) })
		var n int
		if err := s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM uploads`).Scan(&n); err != nil || n != 0 {
			t.Errorf("uploads after project deletion: %d, %v", n, err)
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
