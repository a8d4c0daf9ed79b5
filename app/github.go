package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/api"
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/source/github"
	"github.com/ferry-import/ferry/sourcehttp"
)

// githubSource is GitHub's part of the import pipeline (api.ImportSource):
// the repository lookup and, with collaborators_import, the collaborators
// check, made through the engine's guarded, governed client so they obey
// the address policy and share the token's rate-limit budget.
type githubSource struct{ e *importer.Engine }

func (githubSource) Type() string { return github.Type }

func (githubSource) APIBase(hostname string) (string, error) { return github.APIBase(hostname) }

func (g githubSource) Check(ctx context.Context, req *api.SourceRequest) (*api.SourceRepo, error) {
	var opts struct {
		CollaboratorsImport bool `json:"collaborators_import"`
	}
	if err := json.Unmarshal(req.Options, &opts); err != nil {
		return nil, fmt.Errorf("github options: %w", err)
	}
	repoID, err := strconv.ParseInt(req.Ref, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("github repository id %q: %w", req.Ref, err)
	}
	client, _, err := g.e.HTTPClient(github.Type, req.APIBase, req.Credential, nil)
	if err != nil {
		return nil, err
	}
	info, err := github.Lookup(ctx, client, req.APIBase, req.Credential, repoID)
	if err != nil {
		return nil, checkError(err, githubError(false))
	}
	// GitLab's GitHub client raises RateLimitError when a window has next
	// to nothing left, rather than start an import that stalls at once.
	if sourcehttp.NearlySpent(info.Rate.Remaining, info.Rate.Limit) {
		return nil, api.ErrSourceRateLimited
	}
	if opts.CollaboratorsImport {
		if err := github.CheckCollaborators(ctx, client, req.APIBase, req.Credential, info.FullName); err != nil {
			return nil, checkError(err, githubError(true))
		}
	}
	return &api.SourceRepo{FullName: info.FullName, Name: info.Name, Description: info.Description, Private: info.Private,
		WebURL: info.HTMLURL, CloneURL: info.CloneURL, RateLimit: info.Rate.Limit}, nil
}

// Estimate answers a dry run (api.ImportEstimator): the repository's
// counts from one GraphQL query (github.RepoCounts), through the same
// guarded, governed client as the check, and the importer's call model
// at the credential's budgets as GitHub stated them (a person's when it
// did not).
func (g githubSource) Estimate(ctx context.Context, req *api.SourceRequest, repo *api.SourceRepo) (*api.ImportEstimate, error) {
	o, err := github.EstimateOptionsFor(req.Options)
	if err != nil {
		return nil, fmt.Errorf("github options: %w", err)
	}
	// The count query spends GraphQL points, under GraphQL's governor;
	// the lists counted through REST, under REST's.
	gql, err := g.e.BudgetClient(github.Type, req.APIBase, req.Credential, github.GraphQLBudget)
	if err != nil {
		return nil, err
	}
	rest, err := g.e.BudgetClient(github.Type, req.APIBase, req.Credential, "")
	if err != nil {
		return nil, err
	}
	rc, err := github.RepoCounts(ctx, rest, gql, req.APIBase, req.Credential, repo.FullName)
	if err != nil {
		return nil, checkError(err, githubError(false))
	}
	o.RESTPerHour, o.GraphQLPointsPerHour = repo.RateLimit, rc.GraphQLPointsPerHour
	o.GraphQL = !rc.NoGraphQL
	if o.RESTPerHour <= 0 {
		o.RESTPerHour = github.UserRESTPerHour
	}
	if o.GraphQLPointsPerHour <= 0 {
		o.GraphQLPointsPerHour = github.UserGraphQLPerHour
	}
	e := github.EstimateImport(rc.Counts, o)
	return &api.ImportEstimate{RESTCalls: e.RESTCalls, GraphQLRequests: e.GraphQLRequests, GraphQLPoints: e.GraphQLPoints,
		Hours: e.Hours, Binding: e.Binding, RESTPerHour: o.RESTPerHour, GraphQLPointsPerHour: o.GraphQLPointsPerHour,
		Counts: rc.Counts.Map(), Assumed: rc.Assumed}, nil
}

// githubError is GitLab's answer to a failed GitHub check (the endpoint's
// rescues and Import::GithubService's messages), for the lookup or, with
// collaborators, for the collaborators check.
func githubError(collaborators bool) func(error) error {
	return func(err error) error {
		var apiErr *github.APIError
		switch {
		case errors.Is(err, github.ErrRateLimited):
			return api.ErrSourceRateLimited
		case errors.Is(err, github.ErrUnauthorized) && !collaborators:
			return ferry.Errorf(ferry.EUNAUTHORIZED, "Access denied to your GitHub account.")
		case (errors.Is(err, github.ErrUnauthorized) || errors.Is(err, github.ErrForbidden)) && collaborators:
			return ferry.Errorf(ferry.EUNPROCESSABLE, "Your GitHub personal access token does not have read access to collaborators. Please use a classic GitHub personal access token with the `read:org` scope. Fine-grained tokens are not supported.")
		case errors.Is(err, github.ErrForbidden):
			return ferry.Errorf(ferry.EUNPROCESSABLE, "Your GitHub personal access token does not have read access to the repository. Please use a classic GitHub personal access token with the `repo` scope. Fine-grained tokens are not supported.")
		case errors.As(err, &apiErr):
			body := apiErr.Body
			if len(body) > 500 {
				body = body[:500]
			}
			return ferry.Errorf(ferry.EUNPROCESSABLE, "Import failed because of a GitHub error: %s (HTTP %d)", strings.TrimSpace(body), apiErr.Status)
		}
		return ferry.Errorf(ferry.EUNPROCESSABLE, "Import failed because of a GitHub error: github: %s", err.Error())
	}
}

// ListRepos lists the repositories the token reads (api.RepoLister),
// through the same guarded, governed client as Check, with Check's
// answers to a refused token or a rate limit.
func (g githubSource) ListRepos(ctx context.Context, req *api.SourceRequest, page int) ([]api.ListedRepo, int, error) {
	client, _, err := g.e.HTTPClient(github.Type, req.APIBase, req.Credential, nil)
	if err != nil {
		return nil, 0, err
	}
	repos, next, err := github.UserRepos(ctx, client, req.APIBase, req.Credential, page, 100)
	if err != nil {
		return nil, 0, checkError(err, githubError(false))
	}
	out := make([]api.ListedRepo, len(repos))
	for i, r := range repos {
		out[i] = api.ListedRepo{Ref: strconv.FormatInt(r.ID, 10), FullName: r.FullName, Description: r.Description, Private: r.Private}
	}
	return out, next, nil
}
