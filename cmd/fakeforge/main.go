// Command fakeforge serves a simulated GitHub, Bitbucket Server and GitLab
// on 127.0.0.1 for demos: a named scenario, a seed, a base port and the
// fault knobs. It prints each forge's URLs and credentials and serves until
// interrupted.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ferry-import/ferry/fakeforge"
	"github.com/ferry-import/ferry/fakeforge/github"
	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/fakeforge/traffic"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "fakeforge:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("fakeforge", flag.ContinueOnError)
	name := fs.String("scenario", "small", "small, medium or large")
	seed := fs.Int64("seed", 1, "scenario seed")
	port := fs.Int("port", 0, "GitHub port; Bitbucket Server and GitLab take the next two (0: any free ports)")
	dir := fs.String("dir", "", "where to write the git repositories (default: a temporary directory)")
	noGraphQL := fs.Bool("github-no-graphql", false, "GitHub answers 404 on /graphql and /api/graphql, as an older GitHub Enterprise")
	appLifetime := fs.Duration("github-app-token-lifetime", time.Hour, "how long the GitHub App's installation tokens last")
	var faults traffic.Faults
	faults.RegisterFlags(fs)
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil // -help printed the usage: asking for it is no failure
	} else if err != nil {
		return err
	}
	sc, err := scenario.Preset(*name, *seed)
	if err != nil {
		return err
	}
	f, err := fakeforge.Start(ctx, fakeforge.Options{Scenario: sc, Faults: faults, Port: *port, Dir: *dir,
		GitHub: github.Options{NoGraphQL: *noGraphQL, App: github.AppOptions{TokenLifetime: *appLifetime}}})
	if err != nil {
		return err
	}
	defer f.Close()
	for _, src := range []string{scenario.GitHub, scenario.BitbucketServer, scenario.GitLab} {
		ep := f.Endpoint(src)
		if ep == nil {
			continue
		}
		fmt.Fprintf(out, "%s\n  api:   %s\n  web:   %s\n  stats: %s%s\n", src, ep.APIURL, ep.URL, ep.URL, traffic.StatsPath)
		if src == scenario.GitHub && !*noGraphQL {
			fmt.Fprintf(out, "  graphql: %s/graphql\n", ep.APIURL)
		}
		if ep.Username != "" {
			fmt.Fprintf(out, "  user:  %s\n", ep.Username)
		}
		fmt.Fprintf(out, "  token: %s\n", ep.Token)
		if ep.AppPrivateKeyPEM != "" {
			keyFile, err := writeAppKey(ep.AppPrivateKeyPEM)
			if err != nil {
				return err
			}
			defer os.Remove(keyFile)
			fmt.Fprintf(out, "  app:   github_app_id %d, github_app_installation_id %d, github_app_private_key in %s\n",
				ep.AppID, ep.InstallationID, keyFile)
		}
		for _, r := range ep.Repos {
			fmt.Fprintf(out, "  repo:  %s\n", r)
		}
	}
	want, _ := f.Scenario.Expected(scenario.GitHub)
	fmt.Fprintf(out, "scenario %s, seed %d: %d objects per repository; Ctrl-C stops\n", *name, *seed, want.Total())
	<-ctx.Done()
	return nil
}

// writeAppKey puts the GitHub App's private key in a file of its own, for
// the github_app_private_key of a hand-made import request; the caller
// removes it.
func writeAppKey(pemKey string) (string, error) {
	f, err := os.CreateTemp("", "fakeforge-github-app-*.pem")
	if err != nil {
		return "", fmt.Errorf("write the GitHub App key: %w", err)
	}
	defer f.Close()
	if _, err := f.WriteString(pemKey); err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("write the GitHub App key: %w", err)
	}
	return f.Name(), nil
}
