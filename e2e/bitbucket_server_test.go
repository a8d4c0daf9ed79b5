package e2e

import (
	"context"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/fakeforge"
	ffbbs "github.com/ferry-import/ferry/fakeforge/bitbucketserver"
	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/source/bitbucketserver"
	"github.com/ferry-import/ferry/store/storetest"
)

// TestBitbucketServerImportWithTheAdapter: with the Bitbucket Server
// adapter registered, as app/sources.go will list it, client-go's request
// to POST /import/bitbucket_server runs to a finished import with every
// pull request: what the endpoint stores is what the adapter reads.
func TestBitbucketServerImportWithTheAdapter(t *testing.T) {
	sc, err := scenario.Preset("small", 7)
	if err != nil {
		t.Fatal(err)
	}
	f, err := fakeforge.Start(context.Background(), fakeforge.Options{Scenario: sc, Sources: []string{scenario.BitbucketServer}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	want, err := f.Scenario.Expected(scenario.BitbucketServer)
	if err != nil {
		t.Fatal(err)
	}
	bb := f.BitbucketServer
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			in := apptest.Start(t, e, apptest.Options{AllowLocalNetwork: true, EngineOverrides: func(c *importer.Config) {
				fast(c)
				c.Sources = append(c.Sources, bitbucketserver.New())
			}})
			root := in.Client(t, in.RootToken)
			imp := must(root.Import.ImportRepositoryFromBitbucketServer(&gitlab.ImportRepositoryFromBitbucketServerOptions{
				BitbucketServerURL: gitlab.Ptr(bb.URL), BitbucketServerUsername: gitlab.Ptr(bb.Username), PersonalAccessToken: gitlab.Ptr(bb.Token),
				BitbucketServerProject: gitlab.Ptr(ffbbs.ProjectKey), BitbucketServerRepo: gitlab.Ptr(ffbbs.RepoSlug), NewNamespace: gitlab.Ptr("bbs/team")}))(t)
			if imp.FullPath != "/bbs/team/widgets" {
				t.Errorf("client-go's answer: %+v", imp)
			}
			st := waitImport(t, in, imp.ID, nil)
			if st["import_status"] != "finished" {
				t.Fatalf("import ended %v: %v (failed relations %v)", st["import_status"], st["import_error"], st["failed_relations"])
			}
			if fr, _ := st["failed_relations"].([]any); len(fr) != 0 {
				t.Errorf("failed relations: %v", fr)
			}
			if n := count(t, in, `SELECT COUNT(*) FROM merge_requests WHERE project_id = $1`, imp.ID); n != want["pull_requests"] {
				t.Errorf("merge requests: %d, the server has %d pull requests", n, want["pull_requests"])
			}
		})
	}
}
