package github

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/bradleyfalzon/ghinstallation/v2"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/gitstore"
	"github.com/ferry-import/ferry/source/internal/paging"
	"github.com/ferry-import/ferry/sourcehttp"
)

// A source credential is a token, or a GitHub App installation
// (ferry.GitHubApp) whose installation tokens bradleyfalzon/ghinstallation
// mints with the app's key and renews a minute before they expire. API
// calls, GraphQL queries, git and LFS all authenticate with the token of
// the moment; minting goes through the same guarded, counted client.

// auth is how one run authenticates.
type auth struct {
	token string                    // a personal (or OAuth) token; "" for an app
	app   *ghinstallation.Transport // mints the installation's tokens; nil for a token
}

// installations keeps one minter per installation (and API base) for the
// Source's lifetime, so the jobs of an import — and imports sharing the
// installation — share its token until it is due for renewal instead of
// each minting one. Its zero value is ready to use.
type installations struct{ m sync.Map } // key → *ghinstallation.Transport

// newAuth reads credential for the API at apiBase, reached through hc;
// cache (nil: none) shares installation tokens between runs.
func newAuth(hc *http.Client, apiBase, credential string, cache *installations) (*auth, error) {
	app, ok, err := ferry.ParseGitHubApp(credential)
	switch {
	case err != nil:
		return nil, fmt.Errorf("github: %w", err)
	case !ok:
		if credential == "" {
			return nil, errors.New("github: no access token")
		}
		return &auth{token: credential}, nil
	}
	sum := sha256.Sum256([]byte(credential))
	key := apiBase + "#" + hex.EncodeToString(sum[:])
	if cache != nil {
		if itr, ok := cache.m.Load(key); ok {
			return &auth{app: itr.(*ghinstallation.Transport)}, nil
		}
	}
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	// Tokens are minted through the credential's client: guarded and
	// counted, but outside its governor (unmetered): GitHub counts the
	// app's JWT calls against the app, and their rate headers describe
	// that budget, not the installation's.
	itr, err := ghinstallation.New(unmetered{base}, app.AppID, app.InstallationID, []byte(app.PrivateKey))
	if err != nil {
		return nil, errors.New("github: the GitHub App's private key is not usable") // never the key itself
	}
	itr.BaseURL = strings.TrimSuffix(apiBase, "/")
	if cache != nil {
		if prev, loaded := cache.m.LoadOrStore(key, itr); loaded {
			itr = prev.(*ghinstallation.Transport)
		}
	}
	return &auth{app: itr}, nil
}

// client is hc sending the installation's token of the moment with every
// request, through hc's own transport (so each budget keeps its
// governor); hc itself for a token (go-github adds it).
func (a *auth) client(hc *http.Client) *http.Client {
	if a.app == nil {
		return hc
	}
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c := *hc
	c.Transport = &authTransport{base: base, a: a}
	return &c
}

// authTransport adds the credential's token of the moment (an
// installation's, or a personal token) to each request.
type authTransport struct {
	base http.RoundTripper
	a    *auth
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	tok, err := t.a.current(req.Context())
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "token "+tok)
	return t.base.RoundTrip(r)
}

// current is the token to send now.
func (a *auth) current(ctx context.Context) (string, error) {
	if a.app == nil {
		return a.token, nil
	}
	t, err := a.app.Token(ctx)
	if err != nil {
		return "", mintError(err)
	}
	return t, nil
}

// git is how git and LFS authenticate: any user name with the token of the
// moment as password.
func (a *auth) git() gitstore.Credential {
	if a.app == nil {
		return gitstore.Credential{Username: "x-access-token", Password: a.token}
	}
	return gitstore.Credential{Fresh: func(ctx context.Context) (gitstore.Credential, error) {
		t, err := a.current(ctx)
		return gitstore.Credential{Username: "x-access-token", Password: t}, err
	}}
}

// mintError turns a refused installation-token request into the status
// error the rest of the adapter classifies (401: the app or key is wrong,
// 404: no such installation for it).
func mintError(err error) error {
	var he *ghinstallation.HTTPError
	if errors.As(err, &he) && he.Response != nil {
		// The cause stays in the chain: the import endpoint's check reads
		// its answer (lookupError).
		return paging.FromStatus(he.Response.StatusCode, fmt.Errorf("GitHub refused an installation token (%d): %w", he.Response.StatusCode, err))
	}
	return err
}

// unmetered sends the app's own calls (minting, with its JWT) outside the
// installation's budget: GitHub counts them against the app, and their
// answers say nothing of the installation's budget (sourcehttp.Unmetered).
type unmetered struct{ base http.RoundTripper }

func (t unmetered) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.base.RoundTrip(req.WithContext(sourcehttp.Unmetered(req.Context())))
}
