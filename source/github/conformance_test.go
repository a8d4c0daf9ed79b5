package github

import (
	"strconv"
	"strings"
	"testing"

	ffgithub "github.com/ferry-import/ferry/fakeforge/github"
	"github.com/ferry-import/ferry/importer/sourcetest"
)

// TestConformance runs the suite every source adapter passes against
// fakeforge, with every optional stage on.
func TestConformance(t *testing.T) {
	f := startForge(t, tiny())
	want := expected(t, f.Scenario)
	delete(want, "branches") // in git, not objects: checkGit
	cfg := suite(t, f, runOpts{apiBase: f.GitHub.APIURL + "/", sourceRef: strconv.Itoa(ffgithub.RepoID),
		options: Options{CollaboratorsImport: true, PaginationLimit: perPage, FullName: ffgithub.Owner + "/" + ffgithub.Repo}})
	cfg.Expected, cfg.Count = want, counts
	im := sourcetest.Exercise(t, cfg)
	if !strings.Contains(strings.Join(im.Stages, ","), "users") {
		t.Errorf("stages %v", im.Stages)
	}
}
