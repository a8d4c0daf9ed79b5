package app

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/api"
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/netguard"
	"github.com/ferry-import/ferry/source/github"
	"github.com/ferry-import/ferry/sourcehttp"
)

// githubChecks is api.GitHubSource: the import endpoint's checks against
// GitHub, made through the engine's guarded, governed client so they obey
// the same address policy and share the token's rate-limit budget.
type githubChecks struct{ e *importer.Engine }

func (g githubChecks) APIBase(hostname string) (string, error) { return github.APIBase(hostname) }

func (g githubChecks) CheckURL(ctx context.Context, apiBase string) error {
	u, err := url.Parse(apiBase)
	if err != nil {
		return ferry.Errorf(ferry.EINVALID, "invalid URL")
	}
	return g.e.Guard().CheckURL(ctx, u)
}

func (g githubChecks) Lookup(ctx context.Context, apiBase, token string, repoID int64) (*api.SourceRepo, error) {
	client, _, err := g.e.HTTPClient(github.Type, apiBase, token, nil)
	if err != nil {
		return nil, err
	}
	info, err := github.Lookup(ctx, client, apiBase, token, repoID)
	if err != nil {
		return nil, sourceError(err)
	}
	rem, lim := -1, -1
	if info.Rate.Limit > 0 {
		rem, lim = info.Rate.Remaining, info.Rate.Limit
	}
	return &api.SourceRepo{FullName: info.FullName, Name: info.Name, Description: info.Description, Private: info.Private,
		HTMLURL: info.HTMLURL, RateRemaining: rem, RateLimit: lim}, nil
}

func (g githubChecks) CheckCollaborators(ctx context.Context, apiBase, token, fullName string) error {
	client, _, err := g.e.HTTPClient(github.Type, apiBase, token, nil)
	if err != nil {
		return err
	}
	return sourceError(github.CheckCollaborators(ctx, client, apiBase, token, fullName))
}

// sourceError maps the GitHub adapter's errors onto the API's.
func sourceError(err error) error {
	var apiErr *github.APIError
	var wait *sourcehttp.WaitError
	var blocked *netguard.BlockedError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &blocked):
		// The address itself is refused (DNS answering otherwise than
		// CheckURL saw): the API answers Invalid URL. Only the refusal
		// travels, not the request it stopped.
		return fmt.Errorf("%w: %w", api.ErrSourceBlocked, blocked)
	case errors.Is(err, github.ErrUnauthorized):
		return api.ErrSourceUnauthorized
	case errors.Is(err, github.ErrForbidden):
		return api.ErrSourceForbidden
	case errors.Is(err, github.ErrRateLimited), errors.As(err, &wait):
		return api.ErrSourceRateLimited
	case errors.As(err, &apiErr):
		return &api.SourceAPIError{Status: apiErr.Status, Body: apiErr.Body}
	}
	return fmt.Errorf("github: %w", err)
}
