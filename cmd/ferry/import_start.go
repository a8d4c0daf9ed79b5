package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/spf13/cobra"

	"github.com/ferry-import/ferry/cliclient"
)

// started is an import ferry accepted: a project import or a migration.
type started struct {
	kind  string // project | migration
	id    int64
	label string
	raw   any // ferry's answer, for --detach --json
}

// githubCreds are the credential flags of github (and of batch, for its
// github rows).
type githubCreds struct {
	tokenFile             string
	tokenFlag             string // the token file's flag; "" is --source-token-file
	appID, installationID int64
	keyFile               string
	additional            []string // --additional-token-file, one token per file
	refusedKey            string   // --github-app-private-key: refused
}

const keyRefusal = "--github-app-private-key is refused: a key on the command line is visible to every user of this machine (ps, shell history). " +
	"Put it in a file and pass --github-app-private-key-file FILE, or pipe it in with --github-app-private-key-file -"

// read checks the credential flags and reads the secrets into req: a
// token, or a GitHub App installation (id, installation id, key), and the
// additional tokens. Every problem is a usage error naming a flag, never
// a secret.
func (g *githubCreds) read(o *importOpts, cmd *cobra.Command, req *cliclient.GitHubImport) error {
	app, err := g.readApp(o, cmd, req)
	if err != nil {
		return err
	}
	if !app {
		if g.tokenFile == "" {
			return usagef("--source-token-file is required (a file holding the GitHub token, or - for stdin), " +
				"or a GitHub App: --github-app-id, --github-app-installation-id and --github-app-private-key-file")
		}
		tok, err := o.readSecret("--source-token-file", g.tokenFile)
		if err != nil {
			return err
		}
		req.Token = tok
	}
	return g.readAdditional(o, req)
}

// readApp reads the App's flags into req when any is given (app true),
// refusing a key on argv, an App with a token file, or part of an App.
func (g *githubCreds) readApp(o *importOpts, cmd *cobra.Command, req *cliclient.GitHubImport) (app bool, err error) {
	fl := cmd.Flags()
	if fl.Changed("github-app-private-key") {
		return false, usageError{keyRefusal}
	}
	var given []string
	for _, n := range []string{"github-app-id", "github-app-installation-id", "github-app-private-key-file"} {
		if fl.Changed(n) {
			given = append(given, "--"+n)
		}
	}
	tokenFlag := g.tokenFlag
	if tokenFlag == "" {
		tokenFlag = "--source-token-file"
	}
	switch {
	case len(given) == 0:
		return false, nil
	case g.tokenFile != "":
		return false, usagef("%s and %s are mutually exclusive: authenticate with a token or with a GitHub App", tokenFlag, strings.Join(given, ", "))
	case len(given) < 3:
		return false, usagef("a GitHub App needs --github-app-id, --github-app-installation-id and --github-app-private-key-file")
	case g.appID <= 0 || g.installationID <= 0:
		return false, usagef("--github-app-id and --github-app-installation-id must be positive")
	}
	key, err := o.readKey("--github-app-private-key-file", g.keyFile)
	if err != nil {
		return false, err
	}
	req.AppID, req.InstallationID, req.PrivateKey = g.appID, g.installationID, key
	return true, nil
}

// readAdditional reads --additional-token-file, one token per file.
func (g *githubCreds) readAdditional(o *importOpts, req *cliclient.GitHubImport) error {
	for _, f := range g.additional {
		tok, err := o.readSecret("--additional-token-file", f)
		if err != nil {
			return err
		}
		req.AdditionalTokens = append(req.AdditionalTokens, tok)
	}
	return nil
}

// flags declares the flags; withToken adds --source-token-file.
func (g *githubCreds) flags(cmd *cobra.Command, withToken bool) {
	f := cmd.Flags()
	if withToken {
		f.StringVar(&g.tokenFile, "source-token-file", "", "file holding the GitHub token, - for stdin")
	}
	f.Int64Var(&g.appID, "github-app-id", 0, "GitHub App's id, to import as its installation instead of with a token")
	f.Int64Var(&g.installationID, "github-app-installation-id", 0, "the GitHub App installation's id")
	f.StringVar(&g.keyFile, "github-app-private-key-file", "", "file holding the GitHub App's private key (PEM), - for stdin")
	f.StringArrayVar(&g.additional, "additional-token-file", nil,
		"file holding one more GitHub token (another account's) whose budget the import spends too, - for stdin; repeatable, one token per file")
	// Not NoOptDefVal: the key that follows must be taken as the flag's
	// value, to be refused, not parsed as flags and echoed.
	f.StringVar(&g.refusedKey, "github-app-private-key", "", "refused: use --github-app-private-key-file")
	_ = f.MarkHidden("github-app-private-key")
}

// redactFlagErrors keeps a key that landed among the arguments out of
// cmd's flag errors (pflag quotes the argument it could not parse).
func (o *importOpts) redactFlagErrors(cmd *cobra.Command) {
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		if msg := err.Error(); strings.Contains(msg, "PRIVATE KEY") || strings.ContainsAny(msg, "\r\n") {
			err = errors.New("the command line holds what looks like a private key: pass it with --github-app-private-key-file FILE, or - for stdin")
		}
		o.usageExit(c, err)
		return err
	})
}

func (o *importOpts) newGitHub() *cobra.Command {
	var req cliclient.GitHubImport
	var creds githubCreds
	var repo string
	var detach bool
	cmd := &cobra.Command{
		Use: "github (--repo-id N | --repo OWNER/NAME) --target-namespace NS [--new-name X] [--github-hostname URL] " +
			"(--source-token-file F | --github-app-id N --github-app-installation-id N --github-app-private-key-file F) [--additional-token-file F]...",
		Short: "Import a GitHub repository (POST /import/github) and watch it",
		Args:  cobra.ArbitraryArgs,
		RunE: o.run(func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unexpected argument %q", args[0])
			}
			if (req.RepoID == 0) == (repo == "") {
				return usagef("name the repository with one of --repo-id N or --repo OWNER/NAME")
			}
			if req.TargetNamespace == "" {
				return usagef("--target-namespace is required")
			}
			// The secrets first, so a missing one is a usage error first.
			if err := creds.read(o, cmd, &req); err != nil {
				return err
			}
			c, err := o.client()
			if err != nil {
				return err
			}
			s, err := startGitHub(cmd.Context(), c, req, repo)
			if err != nil {
				return err
			}
			return o.afterStart(cmd.Context(), c, s, detach)
		}),
	}
	f := cmd.Flags()
	f.Int64Var(&req.RepoID, "repo-id", 0, "GitHub's id of the repository")
	f.StringVar(&repo, "repo", "", "OWNER/NAME of the repository (its id is looked up on GitHub with the source credential)")
	f.StringVar(&req.TargetNamespace, "target-namespace", "", "namespace (group or user path) the project is created in")
	f.StringVar(&req.NewName, "new-name", "", "name of the new project (default: the repository's)")
	f.StringVar(&req.GitHubHostname, "github-hostname", "", "GitHub Enterprise URL (default: github.com)")
	creds.flags(cmd, true)
	o.redactFlagErrors(cmd)
	f.BoolVar(&detach, "detach", false, "print the id and return without watching")
	return cmd
}

// startGitHub resolves repo (OWNER/NAME) to its id when given and starts
// the import.
func startGitHub(ctx context.Context, c *cliclient.Client, req cliclient.GitHubImport, repo string) (*started, error) {
	if repo != "" {
		id, err := githubRepoID(ctx, req, repo)
		if err != nil {
			return nil, err
		}
		req.RepoID = id
	}
	p, err := c.ImportGitHub(ctx, req)
	if err != nil {
		return nil, err
	}
	return &started{kind: "project", id: p.ID, label: strings.TrimPrefix(p.FullPath, "/"), raw: p}, nil
}

// githubAPIBase is the REST API's base for hostname (empty: github.com).
func githubAPIBase(hostname string) (string, error) {
	base := "https://api.github.com"
	if h := strings.TrimRight(strings.TrimSpace(hostname), "/"); h != "" {
		u, err := url.Parse(h)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "", usagef("--github-hostname %q: want http(s)://host", hostname)
		}
		switch strings.ToLower(u.Hostname()) {
		case "github.com", "www.github.com", "api.github.com":
		default:
			base = h
			if !strings.Contains(u.Path+"/", "/api/") {
				base += "/api/v3"
			}
		}
	}
	return base, nil
}

// githubRepoID asks GitHub (or GitHub Enterprise at req's hostname) for
// the id of owner/name, as GitLab's importer UI does before POST
// /import/github, with req's token or an installation token of its App
// (minted with its key by bradleyfalzon/ghinstallation, as ferry does).
func githubRepoID(ctx context.Context, req cliclient.GitHubImport, repo string) (int64, error) {
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return 0, usagef("--repo %q: want OWNER/NAME", repo)
	}
	base, err := githubAPIBase(req.GitHubHostname)
	if err != nil {
		return 0, err
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	auth := "Bearer " + req.Token
	if req.AppID != 0 {
		itr, err := ghinstallation.New(http.DefaultTransport, req.AppID, req.InstallationID, []byte(req.PrivateKey))
		if err != nil {
			return 0, usagef("--github-app-private-key-file: not an RSA private key in PEM") // never the key
		}
		itr.BaseURL = base
		tok, err := itr.Token(ctx)
		if err != nil {
			var he *ghinstallation.HTTPError
			if errors.As(err, &he) && he.Response != nil {
				return 0, fmt.Errorf("look up %s on GitHub: GitHub refused the App an installation token (%d)", repo, he.Response.StatusCode)
			}
			return 0, fmt.Errorf("look up %s on GitHub: mint an installation token: %w", repo, err)
		}
		auth = "token " + tok
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/repos/"+url.PathEscape(owner)+"/"+url.PathEscape(name), nil)
	if err != nil {
		return 0, err
	}
	hr.Header.Set("Authorization", auth)
	hr.Header.Set("Accept", "application/vnd.github+json")
	resp, err := hc.Do(hr)
	if err != nil {
		return 0, fmt.Errorf("look up %s on GitHub: %w", repo, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var r struct {
		ID      int64  `json:"id"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(body, &r)
	if resp.StatusCode != http.StatusOK || r.ID == 0 {
		return 0, fmt.Errorf("look up %s on GitHub: %d %s", repo, resp.StatusCode, r.Message)
	}
	return r.ID, nil
}

func (o *importOpts) newBitbucketServer() *cobra.Command {
	var req cliclient.BitbucketServerImport
	var tokenFile string
	var detach bool
	cmd := &cobra.Command{
		Use:   "bitbucket-server --url-of-server URL --username U --project KEY --repo SLUG [--target-namespace NS] [--new-name X] --source-token-file F",
		Short: "Import a Bitbucket Server repository (POST /import/bitbucket_server) and watch it",
		Args:  cobra.ArbitraryArgs,
		RunE: o.run(func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unexpected argument %q", args[0])
			}
			for flag, v := range map[string]string{"--url-of-server": req.URL, "--project": req.Project, "--repo": req.Repo} {
				if v == "" {
					return usagef("%s is required", flag)
				}
			}
			tok, c, err := o.startClient(tokenFile)
			if err != nil {
				return err
			}
			req.Token = tok
			s, err := startBitbucket(cmd.Context(), c, req)
			if err != nil {
				return err
			}
			return o.afterStart(cmd.Context(), c, s, detach)
		}),
	}
	f := cmd.Flags()
	f.StringVar(&req.URL, "url-of-server", "", "the Bitbucket Server's base URL")
	f.StringVar(&req.Username, "username", "", "Bitbucket user the token belongs to (empty: an HTTP access token)")
	f.StringVar(&req.Project, "project", "", "project key")
	f.StringVar(&req.Repo, "repo", "", "repository slug")
	f.StringVar(&req.TargetNamespace, "target-namespace", "", "namespace the project is created in (default: yours)")
	f.StringVar(&req.NewName, "new-name", "", "name of the new project (default: the slug)")
	f.StringVar(&tokenFile, "source-token-file", "", "file holding the Bitbucket token, - for stdin")
	f.BoolVar(&detach, "detach", false, "print the id and return without watching")
	return cmd
}

func startBitbucket(ctx context.Context, c *cliclient.Client, req cliclient.BitbucketServerImport) (*started, error) {
	p, err := c.ImportBitbucketServer(ctx, req)
	if err != nil {
		return nil, err
	}
	return &started{kind: "project", id: p.ID, label: strings.TrimPrefix(p.FullPath, "/"), raw: p}, nil
}

func (o *importOpts) newGitLab() *cobra.Command {
	var sourceURL, group, project, to, newName, tokenFile string
	var detach bool
	cmd := &cobra.Command{
		Use:   "gitlab --source-url URL (--group PATH | --project PATH) --to NS [--new-name SLUG] --source-token-file F",
		Short: "Migrate a GitLab group or project (POST /bulk_imports) and watch it",
		Args:  cobra.ArbitraryArgs,
		RunE: o.run(func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unexpected argument %q", args[0])
			}
			if sourceURL == "" {
				return usagef("--source-url is required")
			}
			if (group == "") == (project == "") {
				return usagef("name what to migrate with one of --group PATH or --project PATH")
			}
			if to == "" {
				return usagef("--to is required (the namespace the group or project lands in)")
			}
			tok, c, err := o.startClient(tokenFile)
			if err != nil {
				return err
			}
			e := cliclient.BulkEntityRequest{SourceType: "group_entity", SourceFullPath: group, DestinationNamespace: to, DestinationSlug: newName}
			if project != "" {
				e.SourceType, e.SourceFullPath = "project_entity", project
			}
			s, err := startGitLab(cmd.Context(), c, sourceURL, tok, e)
			if err != nil {
				return err
			}
			return o.afterStart(cmd.Context(), c, s, detach)
		}),
	}
	f := cmd.Flags()
	f.StringVar(&sourceURL, "source-url", "", "the source GitLab's base URL")
	f.StringVar(&group, "group", "", "full path of the group to migrate (with its subgroups and projects)")
	f.StringVar(&project, "project", "", "full path of the project to migrate")
	f.StringVar(&to, "to", "", "destination namespace")
	f.StringVar(&newName, "new-name", "", "destination slug (default: the source's last path segment)")
	f.StringVar(&tokenFile, "source-token-file", "", "file holding the source GitLab's token, - for stdin")
	f.BoolVar(&detach, "detach", false, "print the id and return without watching")
	return cmd
}

func startGitLab(ctx context.Context, c *cliclient.Client, sourceURL, token string, e cliclient.BulkEntityRequest) (*started, error) {
	if e.DestinationSlug == "" {
		e.DestinationSlug = path.Base(e.SourceFullPath)
	}
	b, err := c.CreateBulkImport(ctx, cliclient.BulkImportRequest{SourceURL: sourceURL, Token: token, Entities: []cliclient.BulkEntityRequest{e}})
	if err != nil {
		return nil, err
	}
	return &started{kind: "migration", id: b.ID, label: e.SourceFullPath, raw: json.RawMessage(b.Raw)}, nil
}

// afterStart prints the new import's id and, unless detach, watches it to
// its end.
func (o *importOpts) afterStart(ctx context.Context, c *cliclient.Client, s *started, detach bool) error {
	if s.kind == "migration" {
		fmt.Fprintf(o.info(), "started migration %d (%s); follow it with: ferry import status %d --kind migration --watch\n", s.id, s.label, s.id)
	} else {
		fmt.Fprintf(o.info(), "started import of project %d (%s); follow it with: ferry import status %d --watch\n", s.id, s.label, s.id)
	}
	if detach {
		if o.json {
			return writeJSON(o.stdout, s.raw)
		}
		return nil
	}
	r := o.renderer()
	res, err := o.watch(ctx, c, s.kind, s.id, r)
	r.close()
	if err != nil {
		return err
	}
	return o.finish(res)
}

// readKey reads a GitHub App's private key (PEM, several lines) from
// path, or stdin for "-"; its errors never contain the key. ferry checks
// that it is an RSA key.
func (o *importOpts) readKey(flag, path string) (string, error) {
	b, err := o.readSecretFile(flag, path, 64<<10)
	if err != nil {
		return "", err
	}
	k := strings.TrimSpace(string(b))
	if !strings.HasPrefix(k, "-----BEGIN ") {
		return "", usagef("%s: want the App's private key in PEM (-----BEGIN RSA PRIVATE KEY-----)", flag)
	}
	return k + "\n", nil
}
