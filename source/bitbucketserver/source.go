package bitbucketserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/gitstore"
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/source/internal/paging"
)

// Type is the import_type of this source.
const Type = "bitbucket_server"

// DefaultPageSize asks for Bitbucket Server's largest page (its
// page.max default); a server that allows fewer says so with
// nextPageStart, which the relations follow.
const DefaultPageSize = 1000

// Relation names.
const (
	relRepository   = "repository"
	relPullRequests = "pull_requests"
	relActivities   = "pull_request_activities"
	relLFSObjects   = "lfs_objects"
)

// Options are the source-specific options of an import (Env.Options).
type Options struct {
	// Username goes with the token as HTTP basic auth, as GitLab's
	// importer sends it; empty sends the token as a bearer token
	// (Bitbucket's HTTP access tokens).
	Username string `json:"username,omitempty"`
	// PageSize is the limit of list calls, 1–1000; 0 means 1000.
	PageSize int `json:"page_size,omitempty"`
}

func parseOptions(raw json.RawMessage) (Options, error) {
	var o Options
	if err := paging.DecodeOptions(raw, &o, "bitbucket server"); err != nil {
		return o, err
	}
	var err error
	o.PageSize, err = paging.PageSize(o.PageSize, DefaultPageSize, "bitbucket server", "page_size")
	if err != nil {
		return o, err
	}
	return o, nil
}

// Source imports one Bitbucket Server repository. The zero value is
// ready to use.
type Source struct{}

// New returns the Bitbucket Server source.
func New() *Source { return &Source{} }

// Type implements importer.Source.
func (*Source) Type() string { return Type }

// Stages implements importer.Source. Env.SourceURL is the server's base
// URL (what bitbucket_server_url gave), Env.SourceRef "PROJECT/repo".
func (*Source) Stages(_ context.Context, env *importer.Env) ([]importer.Stage, error) {
	r, err := newRun(env)
	if err != nil {
		return nil, err
	}
	return []importer.Stage{
		{Name: "repository", Relations: []importer.Relation{paging.Critical(relRepository, r.repository)}},
		{Name: "pull_requests", Relations: []importer.Relation{r.pullRequests()}},
		{Name: "notes", Relations: []importer.Relation{r.activities()}},
		{Name: "lfs_objects", Relations: []importer.Relation{r.lfsObjects()}},
	}, nil
}

// ObjectType names objects in the import stats as GitLab's Bitbucket
// Server importer counts them.
func (*Source) ObjectType(_ string, o forge.Object) string {
	switch x := o.(type) {
	case forge.MergeRequest:
		return "pull_request"
	case forge.Note:
		switch {
		case x.Position != nil:
			return "diff_note"
		case x.System:
			return "system_note"
		}
		return "note"
	case forge.Review:
		if x.State == forge.ReviewApproved {
			return "approval"
		}
		return "review"
	case forge.Closure:
		if x.Merged {
			return "merge_event"
		}
		return "decline_event"
	case forge.ResourceEvent:
		return "state_event"
	case forge.SourceUser:
		return "user"
	}
	return ""
}

// run is one job run's view of an import.
type run struct {
	env     *importer.Env
	opts    Options
	server  *url.URL // the server's base URL, with a trailing slash
	api     *url.URL // server + rest/api/1.0/
	host    string   // forge.SourceID.Host
	project string
	slug    string
}

func newRun(env *importer.Env) (*run, error) {
	if env == nil {
		return nil, errors.New("bitbucket server: no import environment")
	}
	opts, err := parseOptions(env.Options)
	if err != nil {
		return nil, err
	}
	project, slug, ok := strings.Cut(env.SourceRef, "/")
	if !ok || project == "" || slug == "" || strings.Contains(slug, "/") || project == ".." || slug == ".." {
		return nil, fmt.Errorf("bitbucket server: repository reference %q is not PROJECT/repo", env.SourceRef)
	}
	if env.HTTP == nil {
		return nil, errors.New("bitbucket server: no HTTP client")
	}
	if env.Credential == "" {
		return nil, errors.New("bitbucket server: no access token")
	}
	server, err := ServerURL(env.SourceURL)
	if err != nil {
		return nil, err
	}
	api := server.JoinPath("rest", "api", "1.0")
	api.Path += "/"
	return &run{env: env, opts: opts, server: server, api: api, host: strings.ToLower(server.Host), project: project, slug: slug}, nil
}

// ServerURL checks and normalises a Bitbucket Server base URL: http(s),
// a host, no credentials, query or fragment; a trailing slash.
func ServerURL(raw string) (*url.URL, error) {
	return paging.BaseURL(strings.TrimSpace(raw), "bitbucket server:")
}

func (r *run) sid(id string) forge.SourceID { return forge.SourceID{Type: Type, Host: r.host, ID: id} }

// repoPath is the repository's path under the API.
func (r *run) repoPath() string {
	return "projects/" + url.PathEscape(r.project) + "/repos/" + url.PathEscape(r.slug)
}

// credential is how git authenticates: the user name and token as basic
// auth, or the token as a bearer token.
func (r *run) credential() gitstore.Credential {
	if r.opts.Username == "" {
		return gitstore.Credential{Bearer: r.env.Credential}
	}
	return gitstore.Credential{Username: r.opts.Username, Password: r.env.Credential}
}

// get reads one API answer at u (relative to the API base) into v. It is
// this adapter's one error boundary: an error status becomes a
// sourcehttp.StatusError carrying Bitbucket's first error message, never
// the token.
func (r *run) get(ctx context.Context, u string, v any) error {
	ref, err := url.Parse(u)
	if err != nil {
		return &importer.Permanent{Err: fmt.Errorf("bad request URL %q", u)}
	}
	full := r.api.ResolveReference(ref)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, full.String(), nil)
	if err != nil {
		return &importer.Permanent{Err: err}
	}
	req.Header.Set("Accept", "application/json")
	if r.opts.Username != "" {
		req.SetBasicAuth(r.opts.Username, r.env.Credential)
	} else {
		req.Header.Set("Authorization", "Bearer "+r.env.Credential)
	}
	resp, err := r.env.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return statusError(resp)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("decode %s: %w", full.Path, err)
	}
	return nil
}

// statusError reads Bitbucket's {"errors":[{"message":…}]} body, as
// GitLab's client does ("Error <code>: <message>").
func statusError(resp *http.Response) error {
	msg := http.StatusText(resp.StatusCode)
	var eb errorBody
	if raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10)); err == nil && json.Unmarshal(raw, &eb) == nil &&
		len(eb.Errors) > 0 && eb.Errors[0].Message != "" {
		msg = eb.Errors[0].Message
	}
	return paging.FromStatus(resp.StatusCode, fmt.Errorf("Error %d: %s", resp.StatusCode, msg))
}

// getPage reads one page of a list at path (relative to the API base)
// from start, and returns the next start ("" on the last page).
func getPage[T any](ctx context.Context, r *run, path string, q url.Values, start string) (paging.Fetched[T], error) {
	if q == nil {
		q = url.Values{}
	}
	if start == "" {
		start = "0"
	}
	if n, err := strconv.Atoi(start); err != nil || n < 0 {
		return paging.Fetched[T]{}, &importer.Permanent{Err: fmt.Errorf("bad page start %q", start)}
	}
	q.Set("start", start)
	q.Set("limit", strconv.Itoa(r.opts.PageSize))
	var p page[T]
	if err := r.get(ctx, path+"?"+q.Encode(), &p); err != nil {
		return paging.Fetched[T]{}, err
	}
	out := paging.Fetched[T]{Items: p.Values}
	// A missing isLastPage counts as the last page, as in GitLab's client.
	if p.IsLastPage != nil && !*p.IsLastPage {
		cur, _ := strconv.Atoi(start)
		if p.NextPageStart <= cur {
			return out, &importer.Permanent{Err: fmt.Errorf("%s: nextPageStart %d does not move past start %d", path, p.NextPageStart, cur)}
		}
		out.Next = strconv.Itoa(p.NextPageStart)
	}
	return out, nil
}

// all reads every page of a list (one pull request's activities).
func all[T any](ctx context.Context, r *run, path string, q url.Values) ([]T, error) {
	var out []T
	for start := "0"; start != ""; {
		got, err := getPage[T](ctx, r, path, q, start)
		if err != nil {
			return nil, err
		}
		out = append(out, got.Items...)
		start = got.Next
	}
	return out, nil
}

// cloneURL picks the repository's HTTP clone link, which must be on the
// server the import was started with: credentials go with it.
func (r *run) cloneURL(repo repository) (string, error) {
	for _, l := range repo.Links.Clone {
		if !strings.HasPrefix(l.Name, "http") {
			continue
		}
		u, err := url.Parse(l.Href)
		if err != nil || u.Scheme != r.server.Scheme || !strings.EqualFold(u.Host, r.server.Host) {
			return "", &importer.Permanent{Err: fmt.Errorf("clone URL of %s is not on the server %s", r.env.SourceRef, r.server.Host)}
		}
		// Bitbucket puts the viewer's name in its clone links; the
		// credential goes separately.
		u.User = nil
		return u.String(), nil
	}
	return "", &importer.Permanent{Err: errors.New("repository has no HTTP clone link")}
}
