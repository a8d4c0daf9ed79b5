package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/ferry-import/ferry/cliclient"
)

// batchRow is one import of a batch file.
type batchRow struct {
	Source  string `yaml:"source"`   // github | bitbucket-server | gitlab | gitlab-group
	Repo    string `yaml:"repo"`     // OWNER/NAME or id | KEY/slug | full path
	Target  string `yaml:"target"`   // namespace
	NewName string `yaml:"new_name"` // optional
	URL     string `yaml:"url"`      // optional: the source's URL, else the flag's
	line    int
}

var batchSources = map[string]bool{"github": true, "bitbucket-server": true, "gitlab": true, "gitlab-group": true}

// readBatch reads a CSV (source,repo,target,new_name[,url], with or without
// that header) or YAML (a list of {source, repo, target, new_name, url},
// or {imports: [...]}) file.
func readBatch(path string) ([]batchRow, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, usagef("%v", err)
	}
	var rows []batchRow
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		var list []batchRow
		var wrapped struct {
			Imports []batchRow `yaml:"imports"`
		}
		if err := yaml.Unmarshal(b, &list); err != nil {
			if err2 := yaml.Unmarshal(b, &wrapped); err2 != nil {
				return nil, usagef("%s: want a list of {source, repo, target, new_name, url}: %v", path, err)
			}
			list = wrapped.Imports
		}
		for i := range list {
			list[i].line = i + 1
		}
		rows = list
	case ".csv":
		r := csv.NewReader(strings.NewReader(string(b)))
		r.FieldsPerRecord, r.Comment, r.TrimLeadingSpace = -1, '#', true
		recs, err := r.ReadAll()
		if err != nil {
			return nil, usagef("%s: %v", path, err)
		}
		for i, rec := range recs {
			if i == 0 && len(rec) > 0 && strings.EqualFold(strings.TrimSpace(rec[0]), "source") {
				continue // header
			}
			if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
				continue
			}
			if len(rec) < 3 || len(rec) > 5 {
				return nil, usagef("%s row %d: want source,repo,target[,new_name[,url]]", path, i+1)
			}
			row := batchRow{Source: rec[0], Repo: rec[1], Target: rec[2], line: i + 1}
			if len(rec) > 3 {
				row.NewName = rec[3]
			}
			if len(rec) > 4 {
				row.URL = rec[4]
			}
			rows = append(rows, row)
		}
	default:
		return nil, usagef("%s: want a .csv, .yaml or .yml file", path)
	}
	if len(rows) == 0 {
		return nil, usagef("%s: no import listed", path)
	}
	for i := range rows {
		r := &rows[i]
		r.Source, r.Repo, r.Target, r.NewName, r.URL = strings.TrimSpace(r.Source), strings.TrimSpace(r.Repo),
			strings.TrimSpace(r.Target), strings.TrimSpace(r.NewName), strings.TrimSpace(r.URL)
		switch {
		case !batchSources[r.Source]:
			return nil, usagef("%s row %d: source %q: want github, bitbucket-server, gitlab or gitlab-group", path, r.line, r.Source)
		case r.Repo == "":
			return nil, usagef("%s row %d: repo is empty", path, r.line)
		case r.Target == "" && r.Source != "bitbucket-server":
			return nil, usagef("%s row %d: target is empty", path, r.line)
		}
	}
	return rows, nil
}

// batchOutcome is what became of one row.
type batchOutcome struct {
	row batchRow
	s   *started
	res *result
	err error
}

func (b *batchOutcome) state() (status, outcome string) {
	switch {
	case b.err != nil:
		var fe *cliclient.Error
		if errors.As(b.err, &fe) {
			return "refused", fe.Error()
		}
		return "error", b.err.Error()
	case b.res == nil:
		return "-", ""
	case b.res.clean():
		return b.res.status(), "ok"
	}
	return b.res.status(), "FAILED: " + failureSummary(b.res)
}

func failureSummary(res *result) string {
	var sts []*cliclient.ImportStatus
	if res.kind == "project" {
		sts = append(sts, res.project)
	}
	for _, id := range res.projectIDs() {
		sts = append(sts, res.projects[id])
	}
	n, verif := 0, false
	for _, st := range sts {
		n += len(st.FailedRelations)
		verif = verif || (st.Verification != nil && st.Verification.Status == "failed")
	}
	for _, e := range res.entities {
		if e.ProjectID == nil {
			n += len(e.Failures)
		}
	}
	s := fmt.Sprintf("%d failures", n)
	if verif {
		s += ", verification failed"
	}
	return s
}

type batchFlags struct {
	concurrency                                   int
	sourceTokenFile                               string
	githubTokenFile, bitbucketTokenFile, glTokenF string
	githubHostname, bitbucketURL, bitbucketUser   string
	gitlabURL                                     string
	// github are the github rows' App and additional tokens; gh what was
	// read of them (with ghApp, the rows need no token).
	github githubCreds
	gh     cliclient.GitHubImport
	ghApp  bool
}

func (o *importOpts) newBatch() *cobra.Command {
	var bf batchFlags
	cmd := &cobra.Command{
		Use:   "batch FILE.csv|FILE.yaml [--concurrency N]",
		Short: "Run a list of imports with bounded concurrency and summarize them",
		Long: `Runs every import a file lists, at most --concurrency at once, watching each, and ends with a
summary table; the exit code is 0 only when every import finished cleanly.

CSV rows: source,repo,target,new_name[,url] (the header is optional). YAML: a list of
{source, repo, target, new_name, url}. source is github (repo OWNER/NAME or its id),
bitbucket-server (repo KEY/slug), gitlab (repo: a project's full path) or gitlab-group
(a group's full path); url is the source's URL when it is not the flag's.
Source tokens: --github-token-file, --bitbucket-token-file, --gitlab-token-file, or
--source-token-file for every source. github rows may import as a GitHub App installation
instead (--github-app-id, --github-app-installation-id, --github-app-private-key-file) and
spend other accounts' budgets too (--additional-token-file, repeatable).`,
		Args: cobra.ArbitraryArgs,
		RunE: o.run(func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("batch takes one file")
			}
			if bf.concurrency < 1 {
				return usagef("--concurrency must be at least 1")
			}
			rows, err := readBatch(args[0])
			if err != nil {
				return err
			}
			bf.github.tokenFile, bf.github.tokenFlag = bf.githubTokenFile, "--github-token-file"
			if bf.ghApp, err = bf.github.readApp(o, cmd, &bf.gh); err != nil {
				return err
			}
			if err := bf.github.readAdditional(o, &bf.gh); err != nil {
				return err
			}
			tokens, err := o.batchTokens(&bf, rows)
			if err != nil {
				return err
			}
			c, err := o.client()
			if err != nil {
				return err
			}
			return o.runBatch(cmd.Context(), c, &bf, tokens, rows)
		}),
	}
	f := cmd.Flags()
	f.IntVar(&bf.concurrency, "concurrency", 4, "imports run at once")
	f.StringVar(&bf.sourceTokenFile, "source-token-file", "", "file holding the token of every source (- for stdin), unless a source's own is given")
	f.StringVar(&bf.githubTokenFile, "github-token-file", "", "file holding the GitHub token (- for stdin)")
	f.StringVar(&bf.bitbucketTokenFile, "bitbucket-token-file", "", "file holding the Bitbucket Server token (- for stdin)")
	f.StringVar(&bf.glTokenF, "gitlab-token-file", "", "file holding the source GitLab's token (- for stdin)")
	f.StringVar(&bf.githubHostname, "github-hostname", "", "GitHub Enterprise URL for github rows (default: github.com)")
	f.StringVar(&bf.bitbucketURL, "bitbucket-url", "", "Bitbucket Server URL for bitbucket-server rows")
	f.StringVar(&bf.bitbucketUser, "bitbucket-username", "", "Bitbucket user the token belongs to")
	f.StringVar(&bf.gitlabURL, "gitlab-url", "", "source GitLab URL for gitlab rows")
	bf.github.flags(cmd, false)
	o.redactFlagErrors(cmd)
	return cmd
}

// sourceKey maps a row's source to the token it needs.
func sourceKey(source string) string {
	if source == "gitlab-group" {
		return "gitlab"
	}
	return source
}

// batchTokens reads the token of each source the rows use, once.
func (o *importOpts) batchTokens(bf *batchFlags, rows []batchRow) (map[string]string, error) {
	files := map[string]string{"github": bf.githubTokenFile, "bitbucket-server": bf.bitbucketTokenFile, "gitlab": bf.glTokenF}
	byFile := map[string]string{}
	tokens := map[string]string{}
	for _, r := range rows {
		k := sourceKey(r.Source)
		if _, ok := tokens[k]; ok || (k == "github" && bf.ghApp) {
			continue
		}
		file, flag := files[k], "--"+strings.TrimSuffix(k, "-server")+"-token-file"
		if file == "" {
			file, flag = bf.sourceTokenFile, "--source-token-file"
		}
		if file == "" {
			return nil, usagef("%s rows need a token: pass %s-token-file or --source-token-file", k, "--"+strings.TrimSuffix(k, "-server"))
		}
		if t, ok := byFile[file]; ok {
			tokens[k] = t
			continue
		}
		t, err := o.readSecret(flag, file)
		if err != nil {
			return nil, err
		}
		byFile[file], tokens[k] = t, t
	}
	return tokens, nil
}

// startRow starts one row's import.
func startRow(ctx context.Context, c *cliclient.Client, bf *batchFlags, tokens map[string]string, r batchRow) (*started, error) {
	tok := tokens[sourceKey(r.Source)]
	switch r.Source {
	case "github":
		req := bf.gh // the App or none, the additional tokens
		req.Token, req.TargetNamespace, req.NewName, req.GitHubHostname = tok, r.Target, r.NewName, r.URL
		if req.GitHubHostname == "" {
			req.GitHubHostname = bf.githubHostname
		}
		repo := r.Repo
		if id, err := strconv.ParseInt(r.Repo, 10, 64); err == nil {
			req.RepoID, repo = id, ""
		}
		return startGitHub(ctx, c, req, repo)
	case "bitbucket-server":
		key, slug, ok := strings.Cut(r.Repo, "/")
		if !ok {
			return nil, fmt.Errorf("repo %q: want KEY/slug", r.Repo)
		}
		u := r.URL
		if u == "" {
			u = bf.bitbucketURL
		}
		return startBitbucket(ctx, c, cliclient.BitbucketServerImport{URL: u, Username: bf.bitbucketUser, Token: tok, Project: key, Repo: slug,
			NewName: r.NewName, TargetNamespace: r.Target})
	default:
		u := r.URL
		if u == "" {
			u = bf.gitlabURL
		}
		e := cliclient.BulkEntityRequest{SourceType: "project_entity", SourceFullPath: r.Repo, DestinationNamespace: r.Target, DestinationSlug: r.NewName}
		if r.Source == "gitlab-group" {
			e.SourceType = "group_entity"
		}
		return startGitLab(ctx, c, u, tok, e)
	}
}

func (o *importOpts) runBatch(ctx context.Context, c *cliclient.Client, bf *batchFlags, tokens map[string]string, rows []batchRow) error {
	out := make([]*batchOutcome, len(rows))
	r := o.renderer()
	say := r.printf // the start and end lines
	sem := make(chan struct{}, bf.concurrency)
	var wg sync.WaitGroup
	for i, row := range rows {
		out[i] = &batchOutcome{row: row}
		// Rows start in the file's order, each when a slot is free.
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			out[i].err = ctx.Err()
			continue
		}
		wg.Add(1)
		go func(b *batchOutcome, n int) {
			defer wg.Done()
			defer func() { <-sem }()
			b.s, b.err = startRow(ctx, c, bf, tokens, b.row)
			if b.err != nil {
				say("[%d] %s %s: not started: %v\n", n, b.row.Source, b.row.Repo, b.err)
				return
			}
			say("[%d] started %s %d (%s %s)\n", n, b.s.kind, b.s.id, b.row.Source, b.row.Repo)
			b.res, b.err = o.watch(ctx, c, b.s.kind, b.s.id, r)
			status, outcome := b.state()
			say("[%d] ended %s %d: %s %s\n", n, b.s.kind, b.s.id, status, outcome)
		}(out[i], i+1)
	}
	wg.Wait()
	r.close()
	clean := true
	for _, b := range out {
		if b.err != nil || b.res == nil || !b.res.clean() {
			clean = false
		}
	}
	if o.json {
		var js []map[string]any
		for i, b := range out {
			status, outcome := b.state()
			m := map[string]any{"row": i + 1, "source": b.row.Source, "repo": b.row.Repo, "target": b.row.Target, "new_name": b.row.NewName,
				"status": status, "clean": b.err == nil && b.res != nil && b.res.clean(), "outcome": outcome}
			if b.s != nil {
				m["kind"], m["id"] = b.s.kind, b.s.id
			}
			if b.res != nil {
				m["result"] = b.res.jsonValue()
			}
			js = append(js, m)
		}
		if err := writeJSON(o.stdout, js); err != nil {
			return err
		}
	}
	w := o.info()
	for _, b := range out {
		if b.res != nil && !b.res.clean() {
			report(w, b.res)
		}
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tSOURCE\tREPO\tTARGET\tKIND\tID\tSTATUS\tRESULT")
	for i, b := range out {
		kind, id := "-", "-"
		if b.s != nil {
			kind, id = b.s.kind, strconv.FormatInt(b.s.id, 10)
		}
		target := b.row.Target
		if b.row.NewName != "" {
			target += "/" + b.row.NewName
		}
		status, outcome := b.state()
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", i+1, b.row.Source, b.row.Repo, target, kind, id, status, outcome)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if !clean {
		return exitError{exitFailed}
	}
	return nil
}
