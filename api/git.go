package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/gitstore"
	"github.com/ferry-import/ferry/store"
)

// Git over HTTP: gitstore serves the protocol, this file decides who may
// read what, with the same tokens and visibility rules as the API.
//
// Credentials are taken as git and GitLab clients send them: HTTP basic
// auth with any user name and a personal access token as the password
// ("oauth2:<token>"), or a PRIVATE-TOKEN or "Authorization: Bearer" header.
// Query-string tokens are not accepted here: clone URLs end up in shell
// histories and remote configs.

// GitHandler returns the smart-HTTP and LFS handler for the repositories in
// Config.Git, with access decided by GitResolver, behind the API's request
// id, logging, metrics and panic recovery. The caller routes to it the
// paths gitstore.IsGitPath accepts.
func (s *Server) GitHandler(opts gitstore.HandlerOptions) (http.Handler, error) {
	if s.cfg.Git == nil {
		return nil, errors.New("api: git handler needs Config.Git")
	}
	if opts.Logger == nil {
		opts.Logger = s.log
	}
	h, err := gitstore.NewHandler(s.cfg.Git, s.GitResolver(), opts)
	if err != nil {
		return nil, fmt.Errorf("git handler: %w", err)
	}
	r := chi.NewRouter()
	r.Use(s.correlate, s.recoverer, s.checkQuery)
	r.Handle("/*", h)
	return r, nil
}

// GitResolver is the gitstore.Resolver of this server.
func (s *Server) GitResolver() gitstore.Resolver { return gitResolver{s} }

type gitResolver struct{ s *Server }

// Resolve decides like GitLab's Git access checks:
//
//   - bad, revoked or expired credentials, or a token without the api or
//     read_api scope: 401, so git reports "Authentication failed";
//   - a project that does not exist or that the caller may not see: 401 for
//     an anonymous caller (git retries with credentials, and nobody learns
//     which private projects exist), 404 for a signed-in one;
//   - a visible project whose code the caller may not read (a Guest of a
//     private project): 403;
//   - writes (push, LFS upload) need credentials, api scope and Developer;
//     gitstore then refuses them anyway, since ferry is read-only for now.
//
// A project that has no repository on disk yet (created through the API,
// not imported) gets an empty one here, so it clones as an empty
// repository, as on GitLab, instead of answering 404.
func (g gitResolver) Resolve(ctx context.Context, r *http.Request, fullPath string, wiki, write bool) (int64, error) {
	s := g.s
	var user *ferry.User
	var tok *ferry.PersonalAccessToken
	secret, given, ok := gitCredential(r)
	switch {
	case given && !ok:
		return 0, fmt.Errorf("git %s: malformed credentials: %w", fullPath, gitstore.ErrUnauthorized)
	case given:
		u, t, err := s.Authenticate(ctx, secret)
		if err != nil {
			if status, _ := errorBody(err); status == http.StatusUnauthorized || status == http.StatusForbidden {
				return 0, fmt.Errorf("git %s: token refused: %w", fullPath, gitstore.ErrUnauthorized)
			}
			return 0, fmt.Errorf("git %s: authenticate: %w", fullPath, err)
		}
		if !t.HasScope(ferry.ScopeAPI) && !t.HasScope(ferry.ScopeReadAPI) {
			return 0, fmt.Errorf("git %s: token scopes do not allow git: %w", fullPath, gitstore.ErrUnauthorized)
		}
		user, tok = u, t
	}
	if write && user == nil {
		return 0, fmt.Errorf("git %s: write needs credentials: %w", fullPath, gitstore.ErrUnauthorized)
	}
	hidden := gitstore.ErrNotFound
	if user == nil {
		hidden = gitstore.ErrUnauthorized
	}
	var p *ferry.Project
	var role ferry.AccessLevel
	err := s.store.Read(ctx, func(tx *store.Tx) error {
		var err error
		p, err = tx.ProjectByPath(ctx, fullPath)
		if ferry.ErrorCode(err) == ferry.ENOTFOUND {
			return fmt.Errorf("no such project: %w", hidden)
		} else if err != nil {
			return err
		}
		v := store.Viewer{}
		if user != nil {
			v = store.Viewer{UserID: user.ID, Admin: user.IsAdmin}
		}
		ok, err := tx.CanSeeProject(ctx, v, p)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("project hidden from caller: %w", hidden)
		}
		role, err = userProjectRole(ctx, tx, user, p)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("git %s: %w", fullPath, err)
	}
	// A wiki is read by whoever sees the project (GitLab's read_wiki, which
	// grants download_wiki_code: a Guest of a private project clones its
	// wiki but not its repository).
	if !wiki && !canReadCode(p, user, role) || wiki && write && !canReadCode(p, user, role) {
		return 0, fmt.Errorf("git %s: role %d may not read code: %w", fullPath, role, gitstore.ErrForbidden)
	}
	if write && (role < ferry.DeveloperAccess || !tok.HasScope(ferry.ScopeAPI)) {
		return 0, fmt.Errorf("git %s: may not write: %w", fullPath, gitstore.ErrForbidden)
	}
	if !wiki && !write && s.cfg.Git != nil && !s.cfg.Git.Exists(p.ID) {
		if err := s.cfg.Git.Create(ctx, p.ID); err != nil && !errors.Is(err, gitstore.ErrExists) {
			return 0, fmt.Errorf("git %s: create empty repository: %w", fullPath, err)
		}
	}
	return p.ID, nil
}

// gitCredential finds the token of a git request. given reports that the
// request carried credentials at all; ok that they had a usable form.
func gitCredential(r *http.Request) (secret string, given, ok bool) {
	if t := r.Header.Get("PRIVATE-TOKEN"); t != "" {
		return t, true, true
	}
	a := r.Header.Get("Authorization")
	if a == "" {
		return "", false, false
	}
	if len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		t := strings.TrimSpace(a[7:])
		return t, true, t != ""
	}
	// Any user name: GitLab documents "oauth2", git users type their own.
	if _, pw, isBasic := r.BasicAuth(); isBasic {
		return pw, true, pw != ""
	}
	return "", true, false
}

// userProjectRole is a user's role on a project: admins act as owners,
// anonymous callers have none.
func userProjectRole(ctx context.Context, tx *store.Tx, u *ferry.User, p *ferry.Project) (ferry.AccessLevel, error) {
	switch {
	case u == nil:
		return ferry.NoAccess, nil
	case u.IsAdmin:
		return ferry.OwnerAccess, nil
	}
	l, err := tx.ProjectAccess(ctx, u.ID, p.ID)
	if err != nil {
		return 0, fmt.Errorf("role on project %d: %w", p.ID, err)
	}
	return l, nil
}

// canReadCode is GitLab's download_code ability for a project the caller
// can already see: everyone on public projects, every signed-in user on
// internal ones, Reporter and above on private ones (a Guest sees the
// project but not its repository).
func canReadCode(p *ferry.Project, u *ferry.User, role ferry.AccessLevel) bool {
	switch {
	case p.Visibility == ferry.Public:
		return true
	case u == nil:
		return false
	case u.IsAdmin || p.Visibility == ferry.Internal:
		return true
	}
	return role >= ferry.ReporterAccess
}
