package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

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

func (o *importOpts) newGitHub() *cobra.Command {
	var req cliclient.GitHubImport
	var repo, tokenFile string
	var detach bool
	cmd := &cobra.Command{
		Use:   "github (--repo-id N | --repo OWNER/NAME) --target-namespace NS [--new-name X] [--github-hostname URL] --source-token-file F",
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
			tok, c, err := o.startClient(tokenFile)
			if err != nil {
				return err
			}
			req.Token = tok
			s, err := startGitHub(cmd.Context(), c, req, repo)
			if err != nil {
				return err
			}
			return o.afterStart(cmd.Context(), c, s, detach)
		}),
	}
	f := cmd.Flags()
	f.Int64Var(&req.RepoID, "repo-id", 0, "GitHub's id of the repository")
	f.StringVar(&repo, "repo", "", "OWNER/NAME of the repository (its id is looked up on GitHub with the source token)")
	f.StringVar(&req.TargetNamespace, "target-namespace", "", "namespace (group or user path) the project is created in")
	f.StringVar(&req.NewName, "new-name", "", "name of the new project (default: the repository's)")
	f.StringVar(&req.GitHubHostname, "github-hostname", "", "GitHub Enterprise URL (default: github.com)")
	f.StringVar(&tokenFile, "source-token-file", "", "file holding the GitHub token, - for stdin")
	f.BoolVar(&detach, "detach", false, "print the id and return without watching")
	return cmd
}

// startGitHub resolves repo (OWNER/NAME) to its id when given and starts
// the import.
func startGitHub(ctx context.Context, c *cliclient.Client, req cliclient.GitHubImport, repo string) (*started, error) {
	if repo != "" {
		id, err := githubRepoID(ctx, req.GitHubHostname, req.Token, repo)
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

// githubRepoID asks GitHub (or GitHub Enterprise at hostname) for the id
// of owner/name, as GitLab's importer UI does before POST /import/github.
func githubRepoID(ctx context.Context, hostname, token, repo string) (int64, error) {
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return 0, usagef("--repo %q: want OWNER/NAME", repo)
	}
	base := "https://api.github.com"
	if h := strings.TrimRight(strings.TrimSpace(hostname), "/"); h != "" {
		u, err := url.Parse(h)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return 0, usagef("--github-hostname %q: want http(s)://host", hostname)
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
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/repos/"+url.PathEscape(owner)+"/"+url.PathEscape(name), nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/vnd.github+json")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
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
