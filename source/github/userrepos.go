package github

import (
	"context"
	"net/http"

	gh "github.com/google/go-github/v92/github"
)

// UserRepos is one page of the repositories credential can read, for
// choosing what to import, and the number of the next page (0 on the
// last): a token's are GET /user/repos; a GitHub App installation's
// (ferry.GitHubApp's encoded credential) are GET
// /installation/repositories, read with an installation token minted by
// the same machinery the import uses (an installation token has no user,
// so /user/repos would refuse it). Errors are Lookup's: ErrUnauthorized
// (a refused token, app or key), ErrForbidden, ErrRateLimited,
// *APIError, or the client's own (a refused address stays as the guard
// returned it).
func UserRepos(ctx context.Context, httpClient *http.Client, apiBase, credential string, page, perPage int) ([]*RepoInfo, int, error) {
	c, _, a, err := newClient(httpClient, apiBase, credential, nil)
	if err != nil {
		return nil, 0, err
	}
	lo := gh.ListOptions{Page: page, PerPage: perPage}
	var repos []*gh.Repository
	var resp *gh.Response
	if a.app != nil {
		var list *gh.ListRepositories
		list, resp, err = c.Apps.ListRepos(ctx, &lo)
		if list != nil {
			repos = list.Repositories
		}
	} else {
		repos, resp, err = c.Repositories.ListByAuthenticatedUser(ctx, &gh.RepositoryListByAuthenticatedUserOptions{Sort: "full_name", ListOptions: lo})
	}
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
