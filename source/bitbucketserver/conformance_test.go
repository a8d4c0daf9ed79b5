package bitbucketserver

import (
	"encoding/json"
	"testing"

	"github.com/ferry-import/ferry/fakeforge"
	ffbbs "github.com/ferry-import/ferry/fakeforge/bitbucketserver"
	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/importer/sourcetest"
)

// tiny keeps every list several pages long at pageSize.
func tiny() scenario.Config {
	c, err := scenario.Preset("small", 7)
	if err != nil {
		panic(err)
	}
	c.Issues, c.PullRequests, c.Users = 10, 25, 7
	c.CommentsPerItem, c.ReviewCommentsPerPR, c.ReviewsPerPR = 2, 3, 2
	return c
}

const pageSize = 3

func startForge(t *testing.T, c scenario.Config) *fakeforge.Forge {
	return sourcetest.StartForge(t, c, scenario.BitbucketServer)
}

func suite(t *testing.T, f *fakeforge.Forge, o Options) sourcetest.Config {
	t.Helper()
	opts, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	return sourcetest.Config{Source: New(), Env: func() importer.Env {
		return importer.Env{SourceURL: f.BitbucketServer.URL, SourceRef: ffbbs.ProjectKey + "/" + ffbbs.RepoSlug,
			Options: opts, Credential: f.BitbucketServer.Token}
	}}
}

// counts is what a run produced, as scenario.Expected names it.
func counts(im *sourcetest.Result) scenario.Counts {
	var comments, inline int
	for _, n := range sourcetest.Of[forge.Note](im, forge.KindNote) {
		if n.System {
			continue
		}
		comments++
		if n.Position != nil {
			inline++
		}
	}
	var merges, declines int
	for _, c := range sourcetest.Of[forge.Closure](im, forge.KindClosure) {
		if c.Merged {
			merges++
		} else {
			declines++
		}
	}
	approvals := 0
	for _, r := range sourcetest.Of[forge.Review](im, forge.KindReview) {
		if r.State == forge.ReviewApproved {
			approvals++
		}
	}
	users := map[string]bool{}
	for _, u := range sourcetest.Of[forge.SourceUser](im, forge.KindSourceUser) {
		users[u.ID] = true
	}
	return scenario.Counts{"pull_requests": len(im.Kind(forge.KindMergeRequest)), "activities": im.Items[relActivities],
		"comments": comments, "inline_comments": inline, "approvals": approvals,
		"merge_events": merges, "decline_events": declines, "users": len(users)}
}

// TestConformance runs the suite every source adapter passes against
// fakeforge's Bitbucket Server, with basic auth and with a bearer token.
func TestConformance(t *testing.T) {
	f := startForge(t, tiny())
	want, err := f.Scenario.Expected(scenario.BitbucketServer)
	if err != nil {
		t.Fatal(err)
	}
	for name, o := range map[string]Options{
		"basic auth": {Username: f.BitbucketServer.Username, PageSize: pageSize},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := suite(t, f, o)
			cfg.Expected, cfg.Count = want, counts
			im := sourcetest.Exercise(t, cfg)
			t.Logf("counts %v, calls %d", counts(im), len(im.Calls))
		})
	}
}
