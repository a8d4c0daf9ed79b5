// Command ferrybench measures an import against a simulated source: it
// starts fakeforge in-process with a named scenario and prints one
// "name value" line per figure — objects, source_calls (rest_calls and
// graphql_requests), graphql_points, for a GitHub import the call model's
// predicted_rest_calls, predicted_graphql_requests and
// predicted_graphql_points, lower_bound_calls (REST's), wall_seconds,
// objects_per_second, peak_rss_mb, peak_heap_mb and peak_heap_ferry_mb.
// fakeforge runs in the same process: peak_rss_mb counts it, peak_heap_mb
// is the largest live Go heap of the run (after a garbage collection,
// ferry's and fakeforge's; in import mode from when ferry is up, so its
// one-off start, the schema migrations parsed, is left out), and
// peak_heap_ferry_mb the largest part of it not allocated by fakeforge
// (attributed from the heap profile's allocation stacks, so an estimate).
//
// Mode import (the default for GitHub and Bitbucket Server) starts ferry
// in-process, imports through its public API (POST /import/github or
// /import/bitbucket_server, GET /projects/:id/import) and checks what
// landed. Mode source-only (the default for sources
// without an importer yet) walks the source API with the real client
// libraries and checks the counts against the scenario.
//
// -github-max-page N has the simulated GitHub refuse pages past N of its
// repo-wide lists (422, as github.com does past its pagination limit), so
// the figures show what reading past the limit costs; lower_bound_calls
// stays the unlimited lower bound. -github-no-graphql takes GitHub's
// GraphQL API away, so ferry reads reviews, reactions, profiles and the
// issue events past the limit per item through REST as an older GitHub
// Enterprise makes it.
//
// -project runs no import: it prints the call model's projection
// (source/github's EstimateImport) for a repository of the given counts —
// -project kubernetes, or -project issues=45000,pull_requests=80000,
// comments=1500000,… — through GraphQL and through REST alone, for one
// account and for a GitHub App installation on GitHub Enterprise Cloud:
// REST calls, GraphQL requests and points, hours and the budget that
// binds. -github-max-page is the pagination cap it assumes, -latency (50ms
// unless given) and -workers the round trip and the calls in flight.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-import/ferry/fakeforge"
	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/fakeforge/traffic"
	"github.com/ferry-import/ferry/source/github"
)

// pageSize is what an efficient importer asks of each source (its
// largest page), and what the lower bound assumes.
func pageSize(source string) int {
	if source == scenario.BitbucketServer {
		return 1000
	}
	return 100
}

type config struct {
	source, scenario, mode, databaseURL string
	seed                                int64
	faults                              traffic.Faults
	workers                             int
	verbose                             bool
	gitlabREST                          bool
	githubMaxPage                       int
	githubNoGraphQL                     bool
	project                             string
	cpuProfile, memProfile              string
	heap                                *heapWatch
}

// mode runs one benchmark against a started forge and returns how many
// objects it fetched or imported.
type mode func(ctx context.Context, f *fakeforge.Forge, cfg config) (int, error)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "ferrybench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	var cfg config
	fs := flag.NewFlagSet("ferrybench", flag.ContinueOnError)
	fs.StringVar(&cfg.source, "source", scenario.GitHub, "github, bitbucket_server or gitlab")
	fs.StringVar(&cfg.scenario, "scenario", "small", "small, medium or large")
	fs.Int64Var(&cfg.seed, "seed", 1, "scenario seed")
	fs.StringVar(&cfg.mode, "mode", "", "import (ferry imports through its API; the default, for every source ferry imports from) or source-only (walk the source API)")
	fs.StringVar(&cfg.databaseURL, "database-url", "", "a PostgreSQL database for ferry in import mode, used in a scratch schema dropped afterwards (default: embedded SQLite in a temporary directory)")
	fs.IntVar(&cfg.workers, "workers", 4, "ferry's job workers in import mode")
	fs.BoolVar(&cfg.verbose, "v", false, "show ferry's logs on stderr in import mode")
	fs.BoolVar(&cfg.gitlabREST, "gitlab-rest", false, "gitlab: the simulated source has direct transfer off, so ferry migrates through its REST API instead of its export_relations")
	fs.IntVar(&cfg.githubMaxPage, "github-max-page", 0, "github: the simulated GitHub refuses pages of its repo-wide lists past this one (422), as github.com does; 0 for no limit")
	fs.BoolVar(&cfg.githubNoGraphQL, "github-no-graphql", false, "github: the simulated GitHub has no GraphQL API (an older GitHub Enterprise), so ferry reads per item through REST")
	fs.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write a CPU profile of the run (ferry and fakeforge) to this file")
	fs.StringVar(&cfg.memProfile, "memprofile", "", "write the heap profile taken when the live heap (ferry's and fakeforge's) was highest to this file")
	fs.StringVar(&cfg.project, "project", "", "github: print the call model's projection for a repository of these counts (kubernetes, or name=count,… of "+strings.Join(github.CountNames(), ", ")+"; comments= for conversation comments) instead of running an import")
	cfg.faults.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.project != "" {
		c, err := parseProject(cfg.project)
		if err != nil {
			return err
		}
		if cfg.faults.Latency == 0 {
			cfg.faults.Latency = defaultLatency
		}
		project(out, c, cfg)
		return nil
	}
	if cfg.mode == "" {
		cfg.mode = "source-only"
		if _, ok := importers[cfg.source]; ok {
			cfg.mode = "import"
		}
	}
	var m mode
	switch cfg.mode {
	case "source-only":
		m = sourceOnly
	case "import":
		m = importMode
	default:
		return fmt.Errorf("unknown mode %q (import or source-only)", cfg.mode)
	}
	sc, err := scenario.Preset(cfg.scenario, cfg.seed)
	if err != nil {
		return err
	}
	fo := fakeforge.Options{Scenario: sc, Faults: cfg.faults, Sources: []string{cfg.source}}
	fo.GitLab.ExportDisabled = cfg.gitlabREST
	fo.GitHub.MaxPage = cfg.githubMaxPage
	fo.GitHub.NoGraphQL = cfg.githubNoGraphQL
	f, err := fakeforge.Start(ctx, fo)
	if err != nil {
		return fmt.Errorf("start fakeforge: %w", err)
	}
	defer f.Close()
	ep := f.Endpoint(cfg.source)
	lower, err := f.Scenario.LowerBoundCalls(cfg.source, pageSize(cfg.source))
	if err != nil {
		return err
	}
	ep.ResetStats()
	if cfg.cpuProfile != "" {
		pf, err := os.Create(cfg.cpuProfile)
		if err != nil {
			return err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	began := time.Now()
	cfg.heap = watchHeap(cfg.memProfile)
	objects, err := m(ctx, f, cfg)
	heapPeak, heapFerry, herr := cfg.heap.close()
	if err = errors.Join(err, herr); err != nil {
		return err
	}
	wall := time.Since(began).Seconds()
	rss, err := peakRSSMB()
	if err != nil {
		return err
	}
	type figure struct {
		name  string
		value any
	}
	var predicted []figure
	if cfg.source == scenario.GitHub && cfg.mode == "import" {
		// The call model's figures for this very run (-project's model).
		e, err := predict(f.Scenario, cfg)
		if err != nil {
			return err
		}
		predicted = []figure{{"predicted_rest_calls", e.RESTCalls}, {"predicted_graphql_requests", e.GraphQLRequests},
			{"predicted_graphql_points", e.GraphQLPoints}}
	}
	for _, fig := range append(append([]figure{
		{"objects", objects},
		{"source_calls", ep.Stats().APIRequests},
		{"rest_calls", ep.Stats().RESTRequests},
		{"graphql_requests", ep.Stats().GraphQLRequests},
		{"graphql_points", ep.Stats().GraphQLPoints}}, predicted...), []figure{
		{"lower_bound_calls", lower},
		{"wall_seconds", fmt.Sprintf("%.3f", wall)},
		{"objects_per_second", fmt.Sprintf("%.1f", float64(objects)/wall)},
		{"peak_rss_mb", fmt.Sprintf("%.1f", rss)},
		{"peak_heap_mb", fmt.Sprintf("%.1f", heapPeak)},
		{"peak_heap_ferry_mb", fmt.Sprintf("%.1f", heapFerry)},
	}...) {
		fmt.Fprintf(out, "%s %v\n", fig.name, fig.value)
	}
	return nil
}

// peakRSSMB reads the process's high-water resident set size. fakeforge runs
// in the same process, so this includes the simulated source.
func peakRSSMB() (float64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("read peak RSS: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			if err != nil {
				return 0, fmt.Errorf("parse VmHWM %q: %w", v, err)
			}
			return kb / 1024, nil
		}
	}
	return 0, errors.Join(errors.New("no VmHWM in /proc/self/status"), sc.Err())
}
