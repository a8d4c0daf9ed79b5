package main

import (
	"context"
	"fmt"

	"github.com/ferry-import/ferry/fakeforge"
	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/fakeforge/walk"
)

// sourceOnly fetches everything an importer would, with the real clients,
// and fails unless the counts match the scenario exactly.
func sourceOnly(ctx context.Context, f *fakeforge.Forge, cfg config) (int, error) {
	var got walk.Counts
	var err error
	switch cfg.source {
	case scenario.GitHub:
		got, err = walk.GitHub(ctx, walk.GitHubTarget{APIURL: f.GitHub.APIURL, Token: f.GitHub.Token,
			Owner: "acme", Repo: "widgets", PerPage: pageSize(cfg.source)})
	case scenario.BitbucketServer:
		bb := f.BitbucketServer
		got, err = walk.BitbucketServer(ctx, walk.BitbucketTarget{URL: bb.URL, Username: bb.Username, Token: bb.Token,
			Project: "ACME", Repo: "widgets", PerPage: pageSize(cfg.source)})
	case scenario.GitLab:
		got, err = walk.GitLab(ctx, walk.GitLabTarget{URL: f.GitLab.URL, Token: f.GitLab.Token,
			Group: f.Scenario.Groups()[0].FullPath, PerPage: int64(pageSize(cfg.source))})
	default:
		return 0, fmt.Errorf("source-only mode does not walk %q", cfg.source)
	}
	if err != nil {
		return 0, fmt.Errorf("walk %s: %w", cfg.source, err)
	}
	want, err := f.Scenario.Expected(cfg.source)
	if err != nil {
		return 0, err
	}
	if d := scenario.Counts(got).Diff(want); d != "" {
		return 0, fmt.Errorf("walk found other counts than the scenario: %s", d)
	}
	return scenario.Counts(got).Total(), nil
}
