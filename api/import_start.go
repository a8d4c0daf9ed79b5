package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/netguard"
	"github.com/ferry-import/ferry/store"
)

// This file is the API's import pipeline offered in process, for the web
// forms: the same parameters (as form values), the same checks in the same
// order, the same messages and the same records as POST /import/github,
// POST /import/bitbucket_server and POST /bulk_imports; and likewise the
// group placeholder reassignment endpoints. The web never sees the
// sources, and nothing here is a second copy of a rule.

// RepoLister is an ImportSource that can list the repositories a
// credential reads, so a person can pick one rather than know its id.
type RepoLister interface {
	// ListRepos reads page (1-based) of the repositories req.Credential
	// may read at req.APIBase (req.Ref is empty), through the same guarded
	// client as Check, with Check's errors. next is the following page, 0
	// on the last.
	ListRepos(ctx context.Context, req *SourceRequest, page int) (repos []ListedRepo, next int, err error)
}

// ListedRepo is one repository a credential may import.
type ListedRepo struct {
	Ref         string // what the import endpoint takes: GitHub's repo_id
	FullName    string
	Description string
	Private     bool
}

// importEndpoints are the endpoints StartImport runs, by import_type.
var importEndpoints = map[string]*importEndpoint{
	githubImport.sourceType:          githubImport,
	bitbucketServerImport.sourceType: bitbucketServerImport,
}

// listAddress names, per source that lists repositories, the parameter
// that carries the source's address (as the import endpoint names it).
var listAddress = map[string]string{githubImport.sourceType: "github_hostname"}

// inProcess is a request as the API's handlers expect it, for user, with
// form as its urlencoded body and a new correlation id (the web request
// it comes from did not pass through the API's middleware).
func (s *Server) inProcess(ctx context.Context, u *ferry.User, path string, form url.Values) (*http.Request, error) {
	if u == nil {
		return nil, errUnauthorized
	}
	if requestID(ctx) == "" {
		ctx = context.WithValue(ctx, keyRequestID, newCorrelationID())
	}
	ctx = context.WithValue(ctx, keyPrincipal, &principal{user: u})
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, "/api/v4"+path, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r, nil
}

// StartImport runs the pipeline of POST /import/<sourceType> for user with
// form as the request's parameters (personal_access_token, repo_id,
// target_namespace, optional_stages[…] …), and returns the new project's
// id. Its errors carry the endpoint's messages (ferry.ErrorMessage); an
// EINTERNAL error is ferry's own failure, to be logged, never shown. The
// caller has checked that user may write (the api scope).
func (s *Server) StartImport(ctx context.Context, u *ferry.User, sourceType string, form url.Values) (int64, error) {
	ep, ok := importEndpoints[sourceType]
	if !ok {
		return 0, ferry.Errorf(ferry.ENOTFOUND, "Unknown import source %q", sourceType)
	}
	r, err := s.inProcess(ctx, u, "/import/"+sourceType, form)
	if err != nil {
		return 0, err
	}
	pr, _, err := s.runImport(r, ep)
	if err != nil {
		return 0, inProcessError(err)
	}
	s.log.InfoContext(r.Context(), "import started from the web", "correlation_id", requestID(r.Context()), "import_type", sourceType,
		"project_id", pr.ID, "user", u.Username)
	return pr.ID, nil
}

// StartBulkImport runs POST /bulk_imports for user with form as its
// parameters (configuration[url], configuration[access_token],
// entities[<i>][…]) and returns the migration's id; errors as StartImport.
func (s *Server) StartBulkImport(ctx context.Context, u *ferry.User, form url.Values) (int64, error) {
	r, err := s.inProcess(ctx, u, "/bulk_imports", form)
	if err != nil {
		return 0, err
	}
	b, err := s.runBulkImport(r)
	if err != nil {
		return 0, inProcessError(err)
	}
	s.log.InfoContext(r.Context(), "migration started from the web", "correlation_id", requestID(r.Context()), "bulk_import_id", b.ID,
		"user", u.Username)
	return b.ID, nil
}

// ListSourceRepos lists one page of the repositories a source credential
// reads (form: personal_access_token or, for GitHub, an App installation's
// three parameters; the source's address parameter; page), with the import's checks before any call: the address policy
// (Invalid URL) and a budget known to be spent. The credential is only
// used for the call.
func (s *Server) ListSourceRepos(ctx context.Context, u *ferry.User, sourceType string, form url.Values) ([]ListedRepo, int, error) {
	ep, ok := importEndpoints[sourceType]
	src, enabled := s.sources[sourceType]
	lister, lists := src.(RepoLister)
	if !ok || !enabled || !lists || s.cfg.Imports == nil {
		title := sourceType
		if ep != nil {
			title = ep.title
		}
		return nil, 0, ferry.Errorf(ferry.ENOTIMPLEMENTED, "501 %s repositories cannot be listed", title)
	}
	r, err := s.inProcess(ctx, u, "/import/"+sourceType+"/repos", form)
	if err != nil {
		return nil, 0, err
	}
	token, err := listCredential(sourceType, form)
	if err != nil {
		return nil, 0, err
	}
	page := 1
	if n, err := parsePage(form.Get("page")); err == nil {
		page = n
	}
	address := form.Get(listAddress[sourceType])
	apiBase, err := src.APIBase(address)
	if err == nil {
		err = s.cfg.Imports.CheckURL(r.Context(), apiBase)
	}
	if err != nil {
		return nil, 0, s.invalidSourceURL(r, address, err)
	}
	if !s.cfg.Imports.RateLimitedUntil(apiBase, token).IsZero() {
		return nil, 0, ErrSourceRateLimited
	}
	repos, next, err := lister.ListRepos(r.Context(), &SourceRequest{APIBase: apiBase, Credential: token}, page)
	var blocked *netguard.BlockedError
	if errors.As(err, &blocked) {
		return nil, 0, s.invalidSourceURL(r, address, blocked)
	} else if err != nil {
		return nil, 0, inProcessError(err)
	}
	return repos, next, nil
}

// listCredential is the credential a listing reads with: the
// personal_access_token, or for GitHub an App installation given as the
// import endpoint takes it (github_app_id, github_app_installation_id,
// github_app_private_key; the same rules and messages, never the key).
func listCredential(sourceType string, form url.Values) (string, error) {
	app := false
	for _, n := range githubAppParams {
		app = app || form.Has(n)
	}
	if !app || sourceType != githubImport.sourceType {
		token := strings.TrimSpace(form.Get("personal_access_token"))
		if token == "" {
			return "", ferry.Errorf(ferry.EINVALID, "personal_access_token is missing")
		}
		return token, nil
	}
	p := &params{values: map[string]any{}, read: map[string]bool{}}
	if err := mergeForm(p.values, form.Encode()); err != nil {
		return "", err
	}
	_, a := githubCredential(p)
	if err := p.err(); err != nil {
		return "", err
	}
	if err := a.Validate(); err != nil {
		return "", ferry.Errorf(ferry.EINVALID, "%s", err.Error())
	}
	return a.Encode(), nil
}

// parsePage reads a 1-based page number.
func parsePage(v string) (int, error) {
	var n int
	if _, err := fmt.Sscanf(v, "%d", &n); err != nil || n < 1 || n > 100000 {
		return 0, errors.New("bad page")
	}
	return n, nil
}

// inProcessError is an endpoint's error as a *ferry.Error with the message
// the endpoint's body carries, for errors that are not one already
// (GitLab-shaped bodies such as the bulk rate limit's); anything else
// stays ferry's own failure.
func inProcessError(err error) error {
	var he *httpError
	if !errors.As(err, &he) {
		return err
	}
	switch he {
	case errBulkRateLimited:
		return ferry.Errorf(ferry.ERATELIMIT, "This endpoint has been requested too many times. Try again later.")
	}
	if m, ok := he.body.(map[string]string); ok {
		if msg := m["error"]; msg != "" {
			return ferry.Errorf(ferry.EINVALID, "%s", msg)
		}
	}
	return err
}

// ---- placeholder reassignment, for the web's group page ----

// inGroup is inProcess for a /groups/{id}/… route: the group's id as the
// route's {id}, as the router would give it.
func (s *Server) inGroup(ctx context.Context, u *ferry.User, groupID int64, form url.Values) (*http.Request, error) {
	id := strconv.FormatInt(groupID, 10)
	r, err := s.inProcess(ctx, u, "/groups/"+id+"/placeholder_reassignments", form)
	if err != nil {
		return nil, err
	}
	rctx := chi.NewRouteContext()
	rctx.URLParams.Add("id", id)
	return r.WithContext(context.WithValue(r.Context(), chi.RouteCtxKey, rctx)), nil
}

// GroupPlaceholders is GET /groups/:id/placeholder_reassignments for u:
// one page of the group's source users, under the endpoint's rule (the
// group's owners and admins; anyone else EFORBIDDEN, a group u may not
// see ENOTFOUND).
func (s *Server) GroupPlaceholders(ctx context.Context, u *ferry.User, groupID int64, pg store.Page) ([]*store.SourceUser, int, error) {
	r, err := s.inGroup(ctx, u, groupID, url.Values{})
	if err != nil {
		return nil, 0, err
	}
	var list []*store.SourceUser
	var total int
	err = s.store.Read(r.Context(), func(tx *store.Tx) error {
		g, err := s.ownedGroup(r, tx)
		if err != nil {
			return err
		}
		list, total, err = tx.ListSourceUsers(r.Context(), g.ID, "", pg)
		return err
	})
	return list, total, err
}

// ReassignPlaceholder is POST /groups/:id/placeholder_reassignments for u
// with source_user_id and reassign_to_username: the endpoint itself, its
// rules (owners only; someone else's consent awaited) and messages.
func (s *Server) ReassignPlaceholder(ctx context.Context, u *ferry.User, groupID, sourceUserID int64, username string) error {
	r, err := s.inGroup(ctx, u, groupID, url.Values{"source_user_id": {strconv.FormatInt(sourceUserID, 10)}, "reassign_to_username": {username}})
	if err != nil {
		return err
	}
	if err := s.reassignPlaceholder(discard{}, r); err != nil {
		return inProcessError(err)
	}
	s.log.InfoContext(r.Context(), "placeholder reassigned from the web", "correlation_id", requestID(r.Context()), "group_id", groupID,
		"source_user_id", sourceUserID, "user", u.Username)
	return nil
}

// discard is a ResponseWriter for an endpoint whose answer the in-process
// caller does not need.
type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}
