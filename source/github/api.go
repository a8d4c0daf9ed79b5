package github

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	gh "github.com/google/go-github/v92/github"

	"github.com/ferry-import/ferry/source/internal/paging"
	"github.com/ferry-import/ferry/sourcehttp"
)

const githubAPI = "https://api.github.com/"

// Errors of Lookup and CheckCollaborators, for the API layer to map onto
// GitLab's answers. None of them, nor any other error of this package,
// contains the token.
var (
	// ErrInvalidURL: github_hostname is not an http(s) URL.
	ErrInvalidURL = errors.New("github: invalid URL")
	// ErrUnauthorized: GitHub answered 401 (bad or revoked token).
	ErrUnauthorized = errors.New("github: bad credentials")
	// ErrForbidden: GitHub answered 403 for another reason than a rate
	// limit (token without the scope or access).
	ErrForbidden = errors.New("github: forbidden")
	// ErrRateLimited: GitHub refused for a primary or secondary rate limit.
	ErrRateLimited = errors.New("github: rate limit exceeded")
)

// APIError is any other GitHub error answer, for GitLab's
// "Import failed because of a GitHub error: <body> (HTTP <status>)".
type APIError struct {
	Status int
	Body   string // the answer's body as GitHub sent it (at most a few KiB)
}

func (e *APIError) Error() string { return fmt.Sprintf("github: HTTP %d: %s", e.Status, e.Body) }

// APIBase returns the REST API base URL, with a trailing slash, for an
// import's github_hostname: api.github.com when empty (or github.com), and
// for GitHub Enterprise the host with /api/v3 appended unless its path
// already has /api/.
func APIBase(hostname string) (string, error) {
	hostname = strings.TrimSpace(hostname)
	if hostname == "" {
		return githubAPI, nil
	}
	u, err := url.Parse(hostname)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.Opaque != "" {
		return "", ErrInvalidURL
	}
	switch strings.ToLower(u.Hostname()) {
	case "github.com", "www.github.com", "api.github.com":
		return githubAPI, nil
	}
	p := strings.TrimRight(u.Path, "/")
	if !strings.Contains(p+"/", "/api/") {
		p += "/api/v3"
	}
	u.Path, u.RawPath, u.RawQuery, u.Fragment = p+"/", "", "", ""
	return u.String(), nil
}

// RepoInfo is what the import endpoint needs of the repository.
type RepoInfo struct {
	ID            int64
	FullName      string // owner/name: GitLab's import_source
	Name          string
	Description   string
	Private       bool
	Visibility    string // public, private or internal
	CloneURL      string
	HTMLURL       string
	DefaultBranch string
	HasWiki       bool
	// Rate is the token's core budget as the answer stated it; Limit is 0
	// when the server does not limit (GitHub Enterprise may not).
	Rate RateLimit
}

// RateLimit is a rate-limit window.
type RateLimit struct {
	Limit, Remaining int
	Reset            time.Time
}

// Lookup reads repository repoID with token through httpClient, which
// decides which addresses may be dialled.
func Lookup(ctx context.Context, httpClient *http.Client, apiBase, token string, repoID int64) (*RepoInfo, error) {
	c, _, _, err := newClient(httpClient, apiBase, token, nil)
	if err != nil {
		return nil, err
	}
	// An answer cut short or not JSON is retried a few times: the import
	// endpoint should not refuse an import for one bad body (the transport
	// already retries what HTTP itself shows as transient).
	var repo *gh.Repository
	var resp *gh.Response
	err = sourcehttp.Retry(ctx, nil, paging.DefaultItemAttempts, paging.Unusable, func() (err error) {
		repo, resp, err = c.Repositories.GetByID(ctx, repoID)
		return err
	})
	if err != nil {
		return nil, lookupError(err, ErrUnauthorized)
	}
	info := &RepoInfo{ID: repo.GetID(), FullName: repo.GetFullName(), Name: repo.GetName(), Description: repo.GetDescription(),
		Private: repo.GetPrivate(), Visibility: repo.GetVisibility(), CloneURL: repo.GetCloneURL(), HTMLURL: repo.GetHTMLURL(),
		DefaultBranch: repo.GetDefaultBranch(), HasWiki: repo.GetHasWiki()}
	if info.Visibility == "" {
		info.Visibility = map[bool]string{true: "private", false: "public"}[info.Private]
	}
	if resp != nil && resp.Rate.Limit > 0 {
		info.Rate = RateLimit{Limit: resp.Rate.Limit, Remaining: resp.Rate.Remaining, Reset: resp.Rate.Reset.UTC()}
	}
	return info, nil
}

// CheckCollaborators tells whether token may list the collaborators of the
// repository fullName (owner/name, as Lookup gave it): GitLab's
// collaborators_import check. 401 and 403 are ErrForbidden. One call.
func CheckCollaborators(ctx context.Context, httpClient *http.Client, apiBase, token, fullName string) error {
	c, _, _, err := newClient(httpClient, apiBase, token, nil)
	if err != nil {
		return err
	}
	owner, name, ok := strings.Cut(fullName, "/")
	if !ok {
		return &APIError{Status: http.StatusNotFound, Body: "repository " + fullName + " is not owner/name"}
	}
	_, _, err = c.Repositories.ListCollaborators(ctx, owner, name, &gh.ListCollaboratorsOptions{Affiliation: "direct",
		ListOptions: gh.ListOptions{PerPage: 1}})
	if err != nil {
		return lookupError(err, ErrForbidden)
	}
	return nil
}

// lookupError maps a GitHub answer onto this package's errors; on401 is
// what a 401 means to the caller.
func lookupError(err error, on401 error) error {
	var rl *gh.RateLimitError
	var abuse *gh.AbuseRateLimitError
	if errors.As(err, &rl) || errors.As(err, &abuse) {
		return ErrRateLimited
	}
	// A GitHub App's installation token was refused (mintError's cause,
	// reached here through the transport): the app's id, key or
	// installation is the credential GitHub refused.
	var mint *ghinstallation.HTTPError
	if errors.As(err, &mint) && mint.Response != nil {
		st := mint.Response.StatusCode
		if st == http.StatusUnauthorized {
			return on401
		} else if st == http.StatusForbidden {
			return ErrForbidden
		}
		body := fmt.Sprintf("GitHub refused an installation token for installation %d", mint.InstallationID)
		if mint.Response.Body != nil {
			b, rerr := io.ReadAll(io.LimitReader(mint.Response.Body, 4096))
			if s := strings.TrimSpace(string(b)); rerr == nil && s != "" {
				body = s
			}
			_ = mint.Response.Body.Close()
		}
		return &APIError{Status: st, Body: body}
	}
	var er *gh.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil {
		return err
	}
	switch st := er.Response.StatusCode; st {
	case http.StatusUnauthorized:
		return on401
	case http.StatusForbidden:
		return ErrForbidden
	default:
		return &APIError{Status: st, Body: errorBody(er)}
	}
}

// errorBody is the raw answer go-github kept for us, else its message.
func errorBody(er *gh.ErrorResponse) string {
	if er.Response.Body != nil {
		b, err := io.ReadAll(io.LimitReader(er.Response.Body, 4096))
		if s := strings.TrimSpace(string(b)); err == nil && s != "" {
			return s
		}
	}
	if er.Message != "" {
		return er.Message
	}
	return http.StatusText(er.Response.StatusCode)
}
