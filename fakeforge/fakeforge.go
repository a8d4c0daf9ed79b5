// Package fakeforge starts simulated GitHub, Bitbucket Server and GitLab
// sources on 127.0.0.1 for tests, demos and benchmarks: one listener per
// forge, each behind the shared traffic middleware (faults, rate limits,
// accounting) and serving the git repositories of the same seeded scenario.
// GitHub serves its REST API and the subset of its GraphQL API ferry reads
// (POST GitHub.APIURL+"/graphql"), with its own points budget
// (Faults.GraphQLRateLimit); Options.GitHub.NoGraphQL turns GraphQL off.
// GitHub also has a GitHub App installed on its repository
// (Endpoint.AppID, InstallationID, AppPrivateKeyPEM): its installation
// tokens, minted at POST /app/installations/{id}/access_tokens with a JWT,
// work as Token does until they expire, under the installation's budget
// (Faults.AppRateLimit).
//
// It must not import ferry's own packages: it plays the outside world.
//
//	f, err := fakeforge.Start(ctx, fakeforge.Options{Scenario: cfg})
//	defer f.Close()
//	client := github.NewClient(nil).WithAuthToken(f.GitHub.Token)
//	client.BaseURL, _ = url.Parse(f.GitHub.APIURL + "/")
//	glc, _ := gitlab.NewClient(f.GitLab.Token, gitlab.WithBaseURL(f.GitLab.APIURL))
package fakeforge

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ferry-import/ferry/fakeforge/bitbucketserver"
	"github.com/ferry-import/ferry/fakeforge/github"
	"github.com/ferry-import/ferry/fakeforge/gitlab"
	"github.com/ferry-import/ferry/fakeforge/gitrepo"
	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/fakeforge/traffic"
)

// Credentials every simulated forge accepts.
const (
	GitHubToken    = "ghp_fakeforge0000000000000000000000000000"
	BitbucketUser  = "admin"
	BitbucketToken = "bbs-fakeforge-token"
	GitLabToken    = "glpat-fakeforge0000000000"
	// The GitHub App installed on GitHub's repository, unless
	// Options.GitHub.App names another.
	GitHubAppID          = 4243
	GitHubInstallationID = 4244
)

// appKey is the GitHub App's key pair, made once per process: RSA key
// generation takes long enough to notice in every forge started.
var appKey = sync.OnceValues(func() (appKeyPair, error) {
	pemKey, pub, err := github.GenerateAppKey()
	return appKeyPair{pemKey, pub}, err
})

type appKeyPair struct {
	private string
	public  *rsa.PublicKey
}

// Options configure Start. The zero value of every field but Scenario is usable.
type Options struct {
	Scenario scenario.Config
	Faults   traffic.Faults
	// Clock drives rate-limit windows; nil is the wall clock.
	Clock traffic.Clock
	// Dir holds the generated git repositories; empty means a temporary
	// directory removed by Close.
	Dir string
	// Port, when not 0, puts GitHub on Port, Bitbucket Server on Port+1 and
	// GitLab on Port+2; 0 picks free ports.
	Port int
	// Sources names the forges to start (scenario.GitHub,
	// scenario.BitbucketServer, scenario.GitLab); nil starts all three.
	// Each builds its own git repositories, so starting fewer is faster.
	Sources []string
	// GitLab are the simulated GitLab's own options (Version,
	// ExportDisabled…); Start sets its Scenario, BaseURL, Tokens, Git and
	// GitHandler.
	GitLab gitlab.Options
	// GitHub are the simulated GitHub's own options (MaxPage, Missing…);
	// Start sets its Scenario, BaseURL, Tokens, Git and GitHandler, and
	// unless App.ID is set, an app (GitHubAppID, installed as
	// GitHubInstallationID) whose private key Endpoint.AppPrivateKeyPEM
	// holds; App.TokenLifetime is kept.
	GitHub github.Options
}

// Endpoint is one simulated forge on its own listener.
type Endpoint struct {
	// URL is the web root; APIURL is the API root clients are given
	// (GitHub: the root, as on github.com; use URL+"/api/v3" for the
	// Enterprise layout; GitLab: URL+"/api/v4").
	URL    string
	APIURL string
	// Username (Bitbucket Server only) and Token authenticate.
	Username string
	Token    string
	// GitHub only: the GitHub App installed on the repository, whose
	// installation tokens are accepted as Token is (empty when
	// Options.GitHub.App brought its own key).
	AppID, InstallationID int64
	AppPrivateKeyPEM      string
	// Repos are the clone URLs of the forge's repositories (Bitbucket
	// Server: ACME/widgets, then the public OSS/widgets, one repository).
	Repos []string
	// Git is the repository this forge serves. Main, the feature branches
	// and the tags are the same in every forge's; Bitbucket Server's has
	// more (gitrepo.BuildBitbucket: ReworkSHA, MergeSHA).
	Git *gitrepo.Repo

	traffic *traffic.Middleware
	server  *http.Server
	github  *github.Server
}

// AppStats returns what GitHub's app endpoints and installation tokens
// saw (zero for the other forges).
func (e *Endpoint) AppStats() github.AppStats {
	if e.github == nil {
		return github.AppStats{}
	}
	return e.github.AppStats()
}

// Stats returns the request accounting of this forge.
func (e *Endpoint) Stats() traffic.Stats { return e.traffic.Stats() }

// ResetStats zeroes the accounting of this forge.
func (e *Endpoint) ResetStats() { e.traffic.ResetStats() }

// InstallationTokens are the GitHub App installation tokens GitHub minted
// so far (none for the other forges).
func (e *Endpoint) InstallationTokens() []string {
	if e.github == nil {
		return nil
	}
	return e.github.InstallationTokens()
}

// Forge is a running set of simulated forges.
type Forge struct {
	Scenario        *scenario.Scenario
	GitHub          *Endpoint
	BitbucketServer *Endpoint
	// GitLab serves the scenario's group tree; every project has the same
	// content and git repository.
	GitLab *Endpoint
	// Git is the first repository generated; every forge's repository is
	// built from the same stream, so all share its SHAs of main, the
	// feature branches and the tags. Each Endpoint's Git is its own.
	Git *gitrepo.Repo

	tempDir string
}

// Endpoint returns the forge for a source name (scenario.GitHub, …), or
// nil when that forge is not running.
func (f *Forge) Endpoint(source string) *Endpoint {
	switch source {
	case scenario.GitHub:
		return f.GitHub
	case scenario.BitbucketServer:
		return f.BitbucketServer
	case scenario.GitLab:
		return f.GitLab
	}
	return nil
}

// Start builds the scenario and serves it until Close.
func Start(ctx context.Context, opts Options) (*Forge, error) {
	sc, err := scenario.New(opts.Scenario)
	if err != nil {
		return nil, err
	}
	f := &Forge{Scenario: sc}
	dir := opts.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "fakeforge-"); err != nil {
			return nil, fmt.Errorf("create repository directory: %w", err)
		}
		f.tempDir = dir
	}
	starts := map[string]func(context.Context, Options, string) error{
		scenario.GitHub: f.startGitHub, scenario.BitbucketServer: f.startBitbucket, scenario.GitLab: f.startGitLab}
	sources := opts.Sources
	if sources == nil {
		sources = []string{scenario.GitHub, scenario.BitbucketServer, scenario.GitLab}
	}
	for _, src := range sources {
		start, ok := starts[src]
		if !ok {
			_ = f.Close()
			return nil, fmt.Errorf("unknown source %q (want %s, %s or %s)", src, scenario.GitHub, scenario.BitbucketServer, scenario.GitLab)
		}
		if err := start(ctx, opts, dir); err != nil {
			_ = f.Close()
			return nil, err
		}
	}
	return f, nil
}

// port returns the port of the n-th forge: 0 (any) or Port+n.
func port(opts Options, n int) int {
	if opts.Port == 0 {
		return 0
	}
	return opts.Port + n
}

func (f *Forge) startBitbucket(ctx context.Context, opts Options, dir string) error {
	sc := f.Scenario
	repo, err := gitrepo.BuildBitbucket(ctx, sc, filepath.Join(dir, "bitbucket", "widgets.git"),
		bitbucketserver.ProjectKey+"/"+bitbucketserver.RepoSlug)
	if err != nil {
		return fmt.Errorf("build Bitbucket Server repository: %w", err)
	}
	if f.Git == nil {
		f.Git = repo
	}
	ln, err := listen(port(opts, 1))
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	// Both projects serve the one repository, and so do their forks.
	routes, clones := map[string]string{}, []string{}
	for _, key := range []string{bitbucketserver.ProjectKey, bitbucketserver.PublicProjectKey} {
		scm := "/scm/" + strings.ToLower(key) + "/"
		routes[scm+bitbucketserver.RepoSlug+".git"] = "bitbucket/widgets.git"
		routes[scm+bitbucketserver.ForkSlug+".git"] = "bitbucket/widgets.git"
		clones = append(clones, base+scm+bitbucketserver.RepoSlug+".git")
	}
	gitSrv, err := gitrepo.NewServer(sc, dir, base, routes,
		func(u, pw string) bool { return u == BitbucketUser && pw == BitbucketToken })
	if err != nil {
		ln.Close()
		return err
	}
	bs := bitbucketserver.New(bitbucketserver.Options{Scenario: sc, BaseURL: base, Username: BitbucketUser,
		Token: BitbucketToken, Git: repo, GitHandler: gitSrv})
	f.BitbucketServer = serve(ln, bs, bs.Profile(), opts)
	f.BitbucketServer.URL, f.BitbucketServer.APIURL = base, base+"/rest/api/1.0"
	f.BitbucketServer.Username, f.BitbucketServer.Token = BitbucketUser, BitbucketToken
	f.BitbucketServer.Repos, f.BitbucketServer.Git = clones, repo
	return nil
}

func (f *Forge) startGitLab(ctx context.Context, opts Options, dir string) error {
	sc := f.Scenario
	// Every project serves the same repository, so it is built once.
	repo, err := gitrepo.Build(ctx, sc, filepath.Join(dir, "gitlab", "widgets.git"), gitrepo.GitLabPullRef, func(j int) int { return j })
	if err != nil {
		return fmt.Errorf("build GitLab repository: %w", err)
	}
	if f.Git == nil {
		f.Git = repo
	}
	if err := gitrepo.BuildWiki(ctx, sc, filepath.Join(dir, "gitlab", "widgets.wiki.git")); err != nil {
		return fmt.Errorf("build GitLab wiki: %w", err)
	}
	ln, err := listen(port(opts, 2))
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	routes := map[string]string{}
	var repos []string
	for _, p := range sc.Projects() {
		routes["/"+p.FullPath+".git"] = "gitlab/widgets.git"
		routes["/"+p.FullPath+".wiki.git"] = "gitlab/widgets.wiki.git"
		repos = append(repos, base+"/"+p.FullPath+".git", base+"/"+p.FullPath+".wiki.git")
	}
	// GitLab takes any user name with a token as the password (oauth2:<token>).
	gitSrv, err := gitrepo.NewServer(sc, dir, base, routes, func(_, pw string) bool { return pw == GitLabToken })
	if err != nil {
		ln.Close()
		return err
	}
	glo := opts.GitLab
	glo.Scenario, glo.BaseURL, glo.Tokens, glo.Git, glo.GitHandler = sc, base, []string{GitLabToken}, repo, gitSrv
	gs := gitlab.New(glo)
	f.GitLab = serve(ln, gs, gs.Profile(), opts)
	f.GitLab.URL, f.GitLab.APIURL, f.GitLab.Token = base, base+"/api/v4", GitLabToken
	f.GitLab.Repos, f.GitLab.Git = repos, repo
	return nil
}

func (f *Forge) startGitHub(ctx context.Context, opts Options, dir string) error {
	sc := f.Scenario
	repo, err := gitrepo.Build(ctx, sc, filepath.Join(dir, "github", "widgets.git"), gitrepo.GitHubPullRef, sc.PRNumber)
	if err != nil {
		return fmt.Errorf("build GitHub repository: %w", err)
	}
	if err := gitrepo.BuildWiki(ctx, sc, filepath.Join(dir, "github", "widgets.wiki.git")); err != nil {
		return fmt.Errorf("build GitHub wiki: %w", err)
	}
	if f.Git == nil {
		f.Git = repo
	}
	ln, err := listen(port(opts, 0))
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	var gs *github.Server // set before the listener serves
	gitSrv, err := gitrepo.NewServer(sc, dir, base, map[string]string{
		"/" + github.Owner + "/" + github.Repo + ".git":      "github/widgets.git",
		"/" + github.Owner + "/" + github.Repo + ".wiki.git": "github/widgets.wiki.git",
	}, func(_, pw string) bool { return gs != nil && gs.AcceptsToken(pw) }) // installation tokens too
	if err != nil {
		ln.Close()
		return err
	}
	gho := opts.GitHub
	// Options.GitHub.Tokens are more accepted tokens (other accounts').
	gho.Scenario, gho.BaseURL, gho.Tokens, gho.Git, gho.GitHandler = sc, base, append([]string{GitHubToken}, gho.Tokens...), repo, gitSrv
	var keyPEM string
	if gho.App.ID == 0 {
		k, err := appKey()
		if err != nil {
			ln.Close()
			return fmt.Errorf("GitHub App key: %w", err)
		}
		gho.App.ID, gho.App.InstallationID, gho.App.PublicKey, keyPEM = GitHubAppID, GitHubInstallationID, k.public, k.private
	}
	gs = github.New(gho)
	f.GitHub = serve(ln, gs, gs.Profile(), opts)
	f.GitHub.URL, f.GitHub.APIURL, f.GitHub.Token = base, base, GitHubToken
	f.GitHub.AppID, f.GitHub.InstallationID, f.GitHub.AppPrivateKeyPEM, f.GitHub.github = gho.App.ID, gho.App.InstallationID, keyPEM, gs
	f.GitHub.Repos, f.GitHub.Git = []string{base + "/acme/widgets.git", base + "/acme/widgets.wiki.git"}, repo
	return nil
}

func listen(port int) (net.Listener, error) {
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return nil, fmt.Errorf("listen on 127.0.0.1:%d: %w", port, err)
	}
	return ln, nil
}

func serve(ln net.Listener, h http.Handler, p traffic.Profile, opts Options) *Endpoint {
	mw := traffic.New(opts.Faults, p, opts.Clock)
	// Injected resets and truncations make net/http complain; that is the point.
	srv := &http.Server{Handler: mw.Wrap(h), ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	go func() { _ = srv.Serve(ln) }()
	return &Endpoint{traffic: mw, server: srv}
}

// Close stops every forge.
func (f *Forge) Close() error {
	var errs []error
	for _, e := range []*Endpoint{f.GitHub, f.BitbucketServer, f.GitLab} {
		if e != nil {
			// Shutdown waits for open connections to go idle, but a client
			// may have dialled connections it never used (net/http races
			// dials under concurrency): Shutdown counts those as active for
			// 5 s. After a short grace, close whatever is left.
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			if err := e.server.Shutdown(ctx); err != nil {
				if err := e.server.Close(); err != nil {
					errs = append(errs, fmt.Errorf("shut down %s: %w", e.URL, err))
				}
			}
			cancel()
		}
	}
	if f.tempDir != "" {
		if err := os.RemoveAll(f.tempDir); err != nil {
			errs = append(errs, fmt.Errorf("remove repositories: %w", err))
		}
	}
	return errors.Join(errs...)
}
