package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/store"
)

// TestImportStatusShowsTransfer: while a repository is being fetched, GET
// /projects/:id/import shows the transfer on its relation and an ETA from
// it, before the relation has written anything; once the relation has
// ended the transfer is gone from it.
func TestImportStatusShowsTransfer(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{}, func(t *testing.T, in *apptest.Instance) {
		ctx := context.Background()
		root := in.Client(t, in.RootToken)
		proj := must(root.Projects.CreateProject(&gitlab.CreateProjectOptions{Name: gitlab.Ptr("Repo")}))(t)
		var im *ferry.Import
		write := func(fn func(tx *store.Tx) error) {
			t.Helper()
			if err := in.App.Store.Write(ctx, fn); err != nil {
				t.Fatal(err)
			}
		}
		write(func(tx *store.Tx) error {
			im = &ferry.Import{ProjectID: proj.ID, UserID: 1, SourceType: "github", SourceURL: "https://github.example", SourceRef: "o/r", Options: "{}"}
			if err := tx.CreateImport(ctx, im); err != nil {
				return err
			}
			if err := tx.SetImportStatus(ctx, im, ferry.ImportStarted, ""); err != nil {
				return err
			}
			if err := tx.StartStage(ctx, im.ID, 0, "repository", []string{"repository"}); err != nil {
				return err
			}
			return tx.SetRelationTransfer(ctx, im.ID, "repository", 25, 100, true)
		})
		type status struct {
			ETA       *int64 `json:"estimated_seconds_remaining"`
			Relations []struct {
				Name     string `json:"name"`
				Transfer *struct {
					Unit        string `json:"unit"`
					Done, Total int64
				} `json:"transfer"`
			} `json:"relations"`
		}
		get := func() status {
			t.Helper()
			req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v4/projects/%d/import", in.URL, proj.ID), nil)
			req.Header.Set("PRIVATE-TOKEN", in.RootToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var st status
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
				t.Fatal(err)
			}
			return st
		}
		st := get()
		if len(st.Relations) != 1 || st.Relations[0].Transfer == nil || *st.Relations[0].Transfer != (struct {
			Unit        string `json:"unit"`
			Done, Total int64
		}{"objects", 25, 100}) {
			t.Fatalf("relations %+v, want the repository's transfer of 25/100 objects", st.Relations)
		}
		if st.ETA == nil {
			t.Error("no ETA during the transfer")
		}
		write(func(tx *store.Tx) error {
			_, err := tx.Checkpoint(ctx, im.ID, "repository", "", "", 1, 1, 0, 1, true)
			return err
		})
		if st := get(); len(st.Relations) != 1 || st.Relations[0].Transfer != nil {
			t.Errorf("relations after the repository: %+v, want no transfer", st.Relations)
		}
	})
}
