package store_test

import (
	"context"
	"testing"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/store"
	"github.com/ferry-import/ferry/store/storetest"
)

// TestImportTargetsAProjectOrAGroup: an import writes to exactly one
// project or one group; a group's import is found by its group, ends
// without touching any project, and goes when the group is deleted.
func TestImportTargetsAProjectOrAGroup(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		u := &ferry.User{Username: "u", Name: "U"}
		g := &ferry.Namespace{Kind: ferry.KindGroup, Name: "G", Path: "g", Visibility: ferry.Private}
		mustWrite(t, s, func(tx *store.Tx) error {
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			return tx.CreateNamespace(ctx, g)
		})
		newImport := func() *ferry.Import {
			return &ferry.Import{UserID: u.ID, SourceType: "gitlab", SourceURL: "https://gitlab.example", SourceRef: "src/group", Options: "{}", CorrelationID: "c"}
		}
		for _, c := range []struct {
			name               string
			project, namespace int64
		}{{"neither", 0, 0}, {"both", 1, g.ID}} {
			im := newImport()
			im.ProjectID, im.NamespaceID = c.project, c.namespace
			err := s.Write(ctx, func(tx *store.Tx) error { return tx.CreateImport(ctx, im) })
			if ferry.ErrorCode(err) != ferry.EINVALID {
				t.Fatalf("%s target: %v, want EINVALID", c.name, err)
			}
		}
		im := newImport()
		im.NamespaceID = g.ID
		mustWrite(t, s, func(tx *store.Tx) error { return tx.CreateImport(ctx, im) })
		mustWrite(t, s, func(tx *store.Tx) error {
			if _, err := tx.WriteGroupContent(ctx, g.ID, []forge.Object{forge.Label{SourceID: forge.SourceID{Type: "gitlab", Host: "gitlab.example", ID: "1"},
				Name: "bug", Color: "#ff0000"}}); err != nil {
				return err
			}
			return tx.SetImportStatus(ctx, im, ferry.ImportFinished, "")
		})
		_ = s.Read(ctx, func(tx *store.Tx) error {
			got, err := tx.ImportByNamespace(ctx, g.ID)
			if err != nil || got.ID != im.ID || got.ProjectID != 0 || got.NamespaceID != g.ID || got.Status != ferry.ImportFinished {
				t.Fatalf("import of the group: %+v %v", got, err)
			}
			return nil
		})
		mustWrite(t, s, func(tx *store.Tx) error { _, err := tx.DeleteNamespace(ctx, g.ID); return err })
		_ = s.Read(ctx, func(tx *store.Tx) error {
			if _, err := tx.ImportByID(ctx, im.ID); ferry.ErrorCode(err) != ferry.ENOTFOUND {
				t.Fatalf("import of a deleted group: %v, want ENOTFOUND", err)
			}
			return nil
		})
	})
}
