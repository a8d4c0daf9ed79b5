package github

import (
	"encoding/json"
	"testing"

	"github.com/ferry-import/ferry/fakeforge"
	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/importer/sourcetest"
)

// imported is what a run produced (the conformance suite's result).
type imported = sourcetest.Result

// runOpts shape one simulated import.
type runOpts struct {
	apiBase   string // Env.SourceURL
	sourceRef string
	options   Options
}

// suite is the conformance suite's configuration for one import of f.
func suite(t *testing.T, f *fakeforge.Forge, o runOpts) sourcetest.Config {
	t.Helper()
	opts, err := json.Marshal(o.options)
	if err != nil {
		t.Fatal(err)
	}
	return sourcetest.Config{Source: New(), Env: func() importer.Env {
		return importer.Env{SourceURL: o.apiBase, SourceRef: o.sourceRef, Options: opts, Credential: f.GitHub.Token}
	}}
}

// runImport drives every stage of a GitHub import to the end the way the
// engine does (sourcetest.Run).
func runImport(t *testing.T, f *fakeforge.Forge, o runOpts) *imported {
	t.Helper()
	return sourcetest.Run(t, suite(t, f, o))
}

// tiny keeps every list several pages long at perPage and gives some pull
// requests more reviews than fit on one page.
func tiny() scenario.Config {
	c, err := scenario.Preset("small", 7)
	if err != nil {
		panic(err)
	}
	c.Issues, c.PullRequests, c.Users = 40, 25, 7
	c.CommentsPerItem, c.ReviewCommentsPerPR, c.ReviewsPerPR = 1, 4, 4
	c.Branches, c.Commits, c.Labels, c.Milestones = 9, 5, 7, 7
	c.ReactionsEvery = 5
	return c
}

const perPage = 3

func startForge(t *testing.T, c scenario.Config) *fakeforge.Forge {
	return sourcetest.StartForge(t, c, scenario.GitHub)
}
