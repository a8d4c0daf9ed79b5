package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/forge/forgetest"
	"github.com/ferry-import/ferry/store"
	"github.com/ferry-import/ferry/store/storetest"
)

func TestListUploads(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		_, proj := contentProject(t, s)
		var objs []forge.Object
		for i := range 5 {
			url := fmt.Sprintf("https://gh.example/user-attachments/assets/f%d.png", i)
			src := forgetest.Source
			src.ID = url
			objs = append(objs, forge.Upload{SourceID: src, URL: url, Filename: fmt.Sprintf("f%d.png", i), ContentType: "image/png",
				Size: int64(i), SHA256: strings.Repeat(fmt.Sprintf("%02x", i), 32)})
		}
		mustWrite(t, s, func(tx *store.Tx) error { _, err := tx.WriteContent(ctx, proj.ID, objs); return err })

		var got []store.Upload
		var after int64
		for {
			var page []store.Upload
			if err := s.Read(ctx, func(tx *store.Tx) (err error) {
				page, err = tx.ListUploads(ctx, proj.ID, after, 2)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if len(page) > 2 {
				t.Fatalf("page of %d, limit 2", len(page))
			}
			if len(page) == 0 {
				break
			}
			got = append(got, page...)
			after = page[len(page)-1].ID
		}
		if len(got) != 5 {
			t.Fatalf("%d uploads, want 5", len(got))
		}
		for i, u := range got {
			if i > 0 && u.ID <= got[i-1].ID {
				t.Errorf("not in id order: %d after %d", u.ID, got[i-1].ID)
			}
			if u.ProjectID != proj.ID || u.Filename != fmt.Sprintf("f%d.png", i) || u.Size != int64(i) || len(u.Secret) != 32 ||
				u.SHA256 != strings.Repeat(fmt.Sprintf("%02x", i), 32) || u.Path() != "/uploads/"+u.Secret+"/"+u.Filename {
				t.Errorf("upload %d: %+v", i, u)
			}
			var byPath *store.Upload
			if err := s.Read(ctx, func(tx *store.Tx) (err error) {
				byPath, err = tx.UploadByPath(ctx, proj.ID, u.Secret, u.Filename)
				return err
			}); err != nil || *byPath != u {
				t.Errorf("upload %d listed %+v, by path %+v (%v)", i, u, byPath, err)
			}
		}
		// Another project's uploads are not listed.
		if err := s.Read(ctx, func(tx *store.Tx) error {
			other, err := tx.ListUploads(ctx, proj.ID+1000, 0, 10)
			if err == nil && len(other) != 0 {
				t.Errorf("another project: %+v", other)
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
	})
}
