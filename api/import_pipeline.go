package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/netguard"
	"github.com/ferry-import/ferry/store"
)

// ImportSource is one source's part of the import pipeline every import
// endpoint runs (importHandler). The wiring (app) gives the server one per
// source it takes imports from (Config.Sources), whether or not the engine
// has that source's importer yet (Imports.HasSource).
type ImportSource interface {
	// Type is the import_type ("github", "bitbucket_server"); it names the
	// engine's source too.
	Type() string
	// APIBase turns the source address the request gave (github_hostname,
	// bitbucket_server_url; "" when none was given) into the base URL the
	// import will use. An address that is no usable http(s) URL is an
	// error; the pipeline answers Invalid URL.
	APIBase(address string) (string, error)
	// Check validates the credential and looks the repository up at the
	// source, through the engine's guarded client. Its errors are:
	//   - a *netguard.BlockedError (wrapped or not) when the address guard
	//     refused a connection (DNS answering otherwise than when the
	//     pipeline checked the address): the pipeline answers Invalid URL;
	//   - a *ferry.Error for whatever the source said, with GitLab's message
	//     for that source: EUNAUTHORIZED (credential refused, where GitLab
	//     answers 401), EUNPROCESSABLE (no access, not found, another
	//     error answer), EBADREQUEST (the source failed), ERATELIMIT
	//     (ErrSourceRateLimited). No message ever contains the credential;
	//   - any other error for a failure of ferry's own (500, logged).
	Check(ctx context.Context, req *SourceRequest) (*SourceRepo, error)
}

// SourceRequest is what a check is given: what the import will be given
// when it runs (importer.Env's SourceURL, SourceRef, Options, Credential).
type SourceRequest struct {
	APIBase string // from APIBase, allowed by the address policy
	// Ref is the repository at the source: GitHub's repository id,
	// Bitbucket Server's KEY/slug.
	Ref string
	// Options are the import's source options, as they will be stored.
	Options json.RawMessage
	// Credential is the source token: never log or echo it.
	Credential string
}

// SourceRepo is the neutral answer of a check, whatever the source.
type SourceRepo struct {
	// FullName is the import_source: GitHub's owner/name, Bitbucket
	// Server's "project name/repository name".
	FullName string
	// Name is the new project's name and path unless new_name is given.
	Name        string
	Description string
	// Private makes a private project; otherwise the project takes the
	// namespace's visibility.
	Private  bool
	WebURL   string // the repository's page: provider_link
	CloneURL string
	// RateLimit is the credential's requests an hour as the check saw
	// them (0: unknown), for a dry run's estimate.
	RateLimit int
}

// ErrSourceRateLimited answers an import whose source token has (next to)
// no rate-limit budget left: the pipeline refuses with it when the budget
// is known to be spent before any call, and a check returns it when its
// calls find so.
var ErrSourceRateLimited = ferry.Errorf(ferry.ERATELIMIT, "Too Many Requests")

// importEndpoint is what one import endpoint brings to the pipeline.
type importEndpoint struct {
	// sourceType picks the ImportSource and the engine's source, and is the
	// import_type of what it creates.
	sourceType string
	// title names the source in ferry's own messages ("GitHub").
	title string
	// envelope renders the service's errors (respond.go).
	envelope envelope
	// parse reads the request's parameters in GitLab's order: Grape's
	// declarations first (EINVALID, all problems in one message), then
	// the service's own checks of its input.
	parse func(p *params) (*importRequest, error)
	// target resolves the namespace to import into: existingNamespace or
	// findOrCreateNamespace.
	target func(s *Server, r *http.Request, tx *store.Tx, path string) (*importTarget, error)
	// errNotAllowed answers a caller who may not import into the target.
	errNotAllowed error
}

// importRequest is one request as its endpoint read it.
type importRequest struct {
	address    string // the source address as given, for "Invalid URL: <address>"
	ref        string // SourceRequest.Ref, the import's SourceRef
	credential string
	namespace  string // the target namespace's path ("" for none)
	newName    string // "" keeps the source repository's name
	timeout    string // timeout_strategy
	options    sourceOptions
	// dryRun (dry_run=true, a ferry extension) checks the request as a
	// real one and answers an estimate instead of creating anything.
	dryRun bool
	// additional are more credentials of other accounts (a ferry
	// extension): each is checked as credential is, and the import
	// spends all their budgets. The first additionalTokens of them are
	// additional_access_tokens, the rest additional_github_apps.
	additional       []string
	additionalTokens int
}

// sourceOptions are an endpoint's source options, stored as the import's
// Options JSON; checked is told the repository before they are stored.
type sourceOptions interface {
	checked(repo *SourceRepo)
}

// importTarget is where an import goes: ns, or when create is not empty,
// the groups still to be made (outermost first) under ns (nil: at the top
// level).
type importTarget struct {
	ns     *ferry.Namespace
	create []string
}

// importHandler is the one pipeline of every import endpoint, in GitLab's
// order: authenticate; read and check the parameters (ep.parse); check the
// source address (Invalid URL); resolve the target namespace (ep.target);
// check the caller may import there; refuse a token whose rate-limit
// budget is known to be spent; check the request against the source
// (ImportSource.Check); then, in one transaction, create any groups the
// namespace needs and the project, and schedule the import. Every error
// after authentication is rendered with the endpoint's envelope.
func (s *Server) importHandler(ep *importEndpoint) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if _, err := requireUser(r); err != nil {
			return err
		}
		if err := s.startImport(w, r, ep); err != nil {
			return &serviceError{envelope: ep.envelope, err: err}
		}
		return nil
	}
}

func (s *Server) startImport(w http.ResponseWriter, r *http.Request, ep *importEndpoint) error {
	c, err := s.checkImport(r, ep)
	if err != nil {
		return err
	}
	if c.req.dryRun {
		return s.answerDryRun(w, r, c) // import_dryrun.go: nothing created
	}
	pr, err := s.createImport(r, ep, c.req, c.apiBase, c.target, c.repo)
	if err != nil {
		return projectSaveError(err)
	}
	writeJSON(w, http.StatusCreated, s.renderImportEntity(r, pr, c.repo.WebURL))
	return nil
}

// runImport is the pipeline after authentication, for the endpoints and
// for StartImport (the web's forms) alike: the project made and the
// source's repository, or the error the endpoint answers.
func (s *Server) runImport(r *http.Request, ep *importEndpoint) (*ferry.Project, *SourceRepo, error) {
	c, err := s.checkImport(r, ep)
	if err != nil {
		return nil, nil, err
	}
	pr, err := s.createImport(r, ep, c.req, c.apiBase, c.target, c.repo)
	if err != nil {
		return nil, nil, projectSaveError(err)
	}
	return pr, c.repo, nil
}

// checkedImport is a request the pipeline checked, before anything is
// created: what createImport (or a dry run) needs.
type checkedImport struct {
	src     ImportSource
	req     *importRequest
	apiBase string
	options []byte // the source options the check was given
	target  *importTarget
	repo    *SourceRepo
}

// checkImport is the pipeline up to the source check: every validation
// of a real request, nothing created.
func (s *Server) checkImport(r *http.Request, ep *importEndpoint) (*checkedImport, error) {
	src, ok := s.sources[ep.sourceType]
	if !ok || s.cfg.Imports == nil {
		return nil, ferry.Errorf(ferry.ENOTIMPLEMENTED, "501 %s import is not enabled", ep.title)
	}
	p, err := s.params(r)
	if err != nil {
		return nil, err
	}
	req, err := ep.parse(p)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	apiBase, err := src.APIBase(req.address)
	if err == nil {
		err = s.cfg.Imports.CheckURL(ctx, apiBase)
	}
	if err != nil {
		return nil, s.invalidSourceURL(r, req.address, err)
	}
	var target *importTarget
	err = s.store.Read(ctx, func(tx *store.Tx) error {
		t, err := ep.target(s, r, tx, req.namespace)
		if err != nil {
			return err
		}
		if len(t.create) == 0 && s.namespaceRole(r, tx, t.ns) < ferry.MaintainerAccess {
			return ep.errNotAllowed
		}
		target = t
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !s.cfg.Imports.RateLimitedUntil(apiBase, req.credential).IsZero() {
		return nil, ErrSourceRateLimited
	}
	options, err := json.Marshal(req.options)
	if err != nil {
		return nil, err
	}
	repo, err := src.Check(ctx, &SourceRequest{APIBase: apiBase, Ref: req.ref, Options: options, Credential: req.credential})
	var blocked *netguard.BlockedError
	if errors.As(err, &blocked) {
		return nil, s.invalidSourceURL(r, req.address, blocked)
	} else if err != nil {
		return nil, err
	}
	// Every additional credential must read the same repository: a call
	// it cannot make would fail wherever the pool sends it.
	for i, cred := range req.additional {
		if _, err := src.Check(ctx, &SourceRequest{APIBase: apiBase, Ref: req.ref, Options: options, Credential: cred}); err != nil {
			if code := ferry.ErrorCode(err); code != ferry.EINTERNAL {
				return nil, ferry.Errorf(code, "%s: %s", additionalName(i, req.additionalTokens), ferry.ErrorMessage(err))
			}
			return nil, fmt.Errorf("%s: %w", additionalName(i, req.additionalTokens), err)
		}
	}
	return &checkedImport{src: src, req: req, apiBase: apiBase, options: options, target: target, repo: repo}, nil
}

// createImport is the pipeline's last step: in one transaction, the groups
// target still needs, the project, and the import scheduled.
func (s *Server) createImport(r *http.Request, ep *importEndpoint, req *importRequest, apiBase string, target *importTarget,
	repo *SourceRepo) (*ferry.Project, error) {
	req.options.checked(repo)
	options, err := json.Marshal(req.options)
	if err != nil {
		return nil, err
	}
	name := req.newName
	if name == "" {
		name = repo.Name
	}
	if err := ferry.ValidateProject(&ferry.Project{Name: name, Path: name}, nil); err != nil {
		return nil, err
	}
	ctx := r.Context()
	pr := &ferry.Project{Name: name, Path: name, Description: repo.Description, ImportType: ep.sourceType, ImportSource: repo.FullName,
		ImportStatus: ferry.ImportScheduled}
	im := &ferry.Import{UserID: currentUser(r).ID, SourceType: ep.sourceType, SourceURL: apiBase, SourceRef: req.ref, Options: string(options),
		TimeoutStrategy: req.timeout, CorrelationID: requestID(ctx)}
	err = s.store.Write(ctx, func(tx *store.Tx) error {
		ns, err := s.makeTarget(r, tx, target)
		if err != nil {
			return err
		}
		pr.Visibility = ns.Visibility
		if repo.Private {
			pr.Visibility = ferry.Private
		}
		if err := s.CreateProjectIn(r, tx, ns, pr, ferry.MaintainerAccess); err != nil {
			return err
		}
		// The one switch for a source whose importer is not registered
		// yet: refused here, after every check passed, and the
		// transaction takes back the groups and project just made.
		if !s.cfg.Imports.HasSource(ep.sourceType) {
			return ferry.Errorf(ferry.ENOTIMPLEMENTED, "501 Not Implemented - %s imports are not available yet", ep.title)
		}
		im.ProjectID = pr.ID
		return s.cfg.Imports.Schedule(ctx, tx, im, ferry.JoinCredentials(append([]string{req.credential}, req.additional...)))
	})
	return pr, err
}

// invalidSourceURL is GitLab's answer to a source URL it will not reach:
// 400 "Invalid URL: <as given>", nothing created, nothing retried. For an
// address local network imports would allow, the answer says so (the
// user gave that address; the hint names the administrator's switch).
// Why goes to the log; err names the host only, never the token.
func (s *Server) invalidSourceURL(r *http.Request, given string, err error) error {
	s.log.InfoContext(r.Context(), "import refused: source URL not allowed", "correlation_id", requestID(r.Context()), "error", err.Error())
	msg := "Invalid URL: " + given
	var blocked *netguard.BlockedError
	if errors.As(err, &blocked) && blocked.Local {
		msg += " (" + netguard.LocalHint + ")"
	}
	return ferry.Errorf(ferry.EBADREQUEST, "%s", msg)
}

var errNoImportNamespace = ferry.Errorf(ferry.EUNPROCESSABLE, "Namespace or group to import repository into does not exist.")

// existingNamespace is the GitHub import's rule: the namespace at path
// must exist and be visible to the caller.
func (s *Server) existingNamespace(r *http.Request, tx *store.Tx, path string) (*importTarget, error) {
	n, err := tx.NamespaceByPath(r.Context(), strings.Trim(path, "/"))
	if ferry.ErrorCode(err) == ferry.ENOTFOUND {
		return nil, errNoImportNamespace
	} else if err != nil {
		return nil, err
	}
	if ok, err := tx.CanSeeNamespace(r.Context(), viewer(r), n.ID); err != nil {
		return nil, err
	} else if !ok {
		return nil, errNoImportNamespace
	}
	return &importTarget{ns: n}, nil
}

// findOrCreateNamespace is the Bitbucket Server import's rule
// (Import::BaseService#find_or_create_namespace): the caller's own
// namespace for a blank path or their own; else the group at path, with
// the groups missing along it to be created by makeTarget when the caller
// may create them; failing that, as GitLab does without a word, the
// caller's own namespace (ferry logs why).
func (s *Server) findOrCreateNamespace(r *http.Request, tx *store.Tx, path string) (*importTarget, error) {
	ctx := r.Context()
	own, err := tx.NamespaceByID(ctx, currentUser(r).NamespaceID)
	if err != nil {
		return nil, err
	}
	personal := func(why string) (*importTarget, error) {
		s.log.InfoContext(ctx, "import goes to the personal namespace", "correlation_id", requestID(ctx), "namespace", path, "reason", why)
		return &importTarget{ns: own}, nil
	}
	path = strings.Trim(path, "/")
	if path == "" || path == own.FullPath {
		return &importTarget{ns: own}, nil
	}
	segments := strings.Split(path, "/")
	var parent *ferry.Namespace
	for i := range segments {
		n, err := tx.NamespaceByPath(ctx, strings.Join(segments[:i+1], "/"))
		switch {
		case ferry.ErrorCode(err) == ferry.ENOTFOUND:
			why, err := s.cannotCreateGroups(r, tx, parent, segments[i:])
			if err != nil {
				return nil, err
			} else if why != "" {
				return personal(why)
			}
			return &importTarget{ns: parent, create: segments[i:]}, nil
		case err != nil:
			return nil, err
		case n.Kind != ferry.KindGroup:
			return personal(n.FullPath + " is a user's namespace, not a group")
		}
		parent = n
	}
	return &importTarget{ns: parent}, nil
}

// cannotCreateGroups tells why the caller may not create groups paths
// (outermost first) under parent (nil: at the top level), "" when they may:
// as POST /groups, a Maintainer of a visible parent, and valid paths.
func (s *Server) cannotCreateGroups(r *http.Request, tx *store.Tx, parent *ferry.Namespace, paths []string) (string, error) {
	if parent != nil {
		if ok, err := tx.CanSeeNamespace(r.Context(), viewer(r), parent.ID); err != nil {
			return "", err
		} else if !ok || s.namespaceRole(r, tx, parent) < ferry.MaintainerAccess {
			return "may not create groups in " + parent.FullPath, nil
		}
	}
	for _, p := range paths {
		if err := ferry.ValidateGroup(&ferry.Namespace{Kind: ferry.KindGroup, Name: p, Path: p, Visibility: ferry.Private}, nil); err != nil {
			return "cannot create group " + p + ": " + err.Error(), nil
		}
	}
	return "", nil
}

// makeTarget creates the groups t still needs, private and owned by the
// caller, and returns the namespace to import into.
func (s *Server) makeTarget(r *http.Request, tx *store.Tx, t *importTarget) (*ferry.Namespace, error) {
	ns := t.ns
	for _, path := range t.create {
		g := &ferry.Namespace{Kind: ferry.KindGroup, Name: path, Path: path, Visibility: ferry.Private}
		if ns != nil {
			g.ParentID = &ns.ID
		}
		if err := createOwnedGroup(r.Context(), tx, g, currentUser(r)); err != nil {
			return nil, err
		}
		ns = g
	}
	return ns, nil
}
