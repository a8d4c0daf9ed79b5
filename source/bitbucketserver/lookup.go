package bitbucketserver

import (
	"context"
	"fmt"

	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/source/internal/paging"
	"github.com/ferry-import/ferry/sourcehttp"
)

// RepoInfo is what the import endpoint needs of a repository.
type RepoInfo struct {
	// FullName is "<project name>/<name>", GitLab's import_source.
	FullName    string
	Name        string
	Description string
	// Private: neither the repository nor its project is public, as the
	// repository relation decides the project's visibility.
	Private bool
	WebURL  string // the repository's page (links.self)
	// CloneURL is the HTTP clone link the import will mirror; empty when
	// the repository has none on the server (the import will fail).
	CloneURL string
}

// Lookup reads the repository an import given env would import, as the
// repository relation does: env holds what the import will be given
// (SourceURL, SourceRef, Options, Credential, HTTP). An error answer is a
// *sourcehttp.StatusError (404: no such project or repository; 401: the
// credential was refused) from this adapter's one boundary; an answer cut
// short is read again, as GitHub's lookup does, so that one bad body does
// not refuse an import.
func Lookup(ctx context.Context, env *importer.Env) (*RepoInfo, error) {
	r, err := newRun(env)
	if err != nil {
		return nil, err
	}
	var repo repository
	err = sourcehttp.Retry(ctx, nil, paging.DefaultItemAttempts, paging.Unusable, func() error {
		repo = repository{}
		return r.get(ctx, r.repoPath(), &repo)
	})
	if err != nil {
		return nil, err
	}
	if repo.Slug == "" {
		return nil, fmt.Errorf("bitbucket server: the answer for %s is not a repository", env.SourceRef)
	}
	info := &RepoInfo{FullName: repo.Project.Name + "/" + repo.Name, Name: repo.Name, Description: repo.Description,
		Private: !repo.Public && !repo.Project.Public}
	if len(repo.Links.Self) > 0 {
		info.WebURL = repo.Links.Self[0].Href
	}
	info.CloneURL, _ = r.cloneURL(repo)
	return info, nil
}
