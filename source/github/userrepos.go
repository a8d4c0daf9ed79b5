package github

import (
	"context"
	"net/http"

	gh "github.com/google/go-github/v92/github"
)

// UserRepos is one page of the repositories token can read (GET
// /user/repos), for choosing what to import, and the number of the next
// page (0 on the last). Errors are Lookup's: ErrUnauthorized,
// ErrForbidden, ErrRateLimited, *APIError, or the client's own (a
// refused address stays as the guard returned it).
func UserRepos(ctx context.Context, httpClient *http.Client, apiBase, token string, page, perPage int) ([]*RepoInfo, int, error) {
	c, _, _, err := newClient(httpClient, apiBase, token, nil)
	if err != nil {
		return nil, 0, err
	}
	repos, resp, err := c.Repositories.ListByAuthenticatedUser(ctx, &gh.RepositoryListByAuthenticatedUserOptions{Sort: "full_name",
		ListOptions: gh.ListOptions{Page: page, PerPage: perPage}})
	if err != nil {
		return nil, 0, lookupError(err, ErrUnauthorized)
	}
	out := make([]*RepoInfo, 0, len(repos))
	for _, r := range repos {
		out = append(out, &RepoInfo{ID: r.GetID(), FullName: r.GetFullName(), Name: r.GetName(), Description: r.GetDescription(),
			Private: r.GetPrivate(), Visibility: r.GetVisibility(), CloneURL: r.GetCloneURL(), HTMLURL: r.GetHTMLURL(),
			DefaultBranch: r.GetDefaultBranch()})
	}
	next := 0
	if resp != nil {
		next = resp.NextPage
	}
	return out, next, nil
}
