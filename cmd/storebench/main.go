// Command storebench measures how fast the store writes imported content:
// a project of -issues issues with -notes comments each, written in pages
// of about -page objects (one transaction per page, as the import engine
// does), on SQLite and, with -database-url, on PostgreSQL in a scratch
// schema. Then the same pages again, which must update in place.
//
// It prints one "name value" line per figure: per engine objects, seconds
// and objects_per_second for the first write and the rewrite, then the
// process's peak memory (VmHWM from /proc/self/status).
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/forge/forgetest"
	"github.com/ferry-import/ferry/store"
)

type config struct {
	databaseURL         string
	issues, notes       int
	page, sourceAuthors int
}

func main() {
	var c config
	flag.StringVar(&c.databaseURL, "database-url", "", "also run on this PostgreSQL database (in a scratch schema, dropped afterwards)")
	flag.IntVar(&c.issues, "issues", 10000, "issues to write")
	flag.IntVar(&c.notes, "notes", 5, "comments per issue")
	flag.IntVar(&c.page, "page", 600, "objects per transaction (rounded to whole issues with their notes)")
	flag.IntVar(&c.sourceAuthors, "authors", 50, "distinct source users")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "storebench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(context.Background(), c); err != nil {
		fmt.Fprintln(os.Stderr, "storebench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func run(ctx context.Context, c config) error {
	dir, err := os.MkdirTemp("", "storebench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := bench(ctx, c, store.SQLite, store.Config{DataDir: dir}); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	if c.databaseURL != "" {
		u, drop, err := store.ScratchSchema(ctx, c.databaseURL, "storebench")
		if err != nil {
			return err
		}
		defer drop()
		if err := bench(ctx, c, store.Postgres, store.Config{URL: u}); err != nil {
			return fmt.Errorf("postgres: %w", err)
		}
	}
	kb, err := peakKB()
	if err != nil {
		return err
	}
	fmt.Printf("peak_rss_mb %.1f\n", float64(kb)/1024)
	return nil
}

// bench writes the project twice and prints the figures of each pass.
func bench(ctx context.Context, c config, name string, cfg store.Config) error {
	s, err := store.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	projectID, err := setup(ctx, s)
	if err != nil {
		return err
	}
	perPage := max(1, c.page/(1+c.notes))
	for _, pass := range []string{"", "_rewrite"} {
		start, objects := time.Now(), 0
		for first := 1; first <= c.issues; first += perPage {
			page := forgetest.Issues(first, min(perPage, c.issues-first+1), c.notes, c.sourceAuthors)
			err := s.Write(ctx, func(tx *store.Tx) error {
				n, err := tx.WriteContent(ctx, projectID, page)
				objects += n
				return err
			})
			if err != nil {
				return err
			}
		}
		d := time.Since(start)
		fmt.Printf("%s%s_objects %d\n%s%s_seconds %.2f\n%s%s_objects_per_second %.0f\n", name, pass, objects, name, pass, d.Seconds(),
			name, pass, float64(objects)/d.Seconds())
	}
	return nil
}

// setup creates the importing user, a group and the project to fill.
func setup(ctx context.Context, s *store.Store) (int64, error) {
	u := &ferry.User{Username: "importer", Name: "Importer", Email: "importer@example.com"}
	g := &ferry.Namespace{Kind: ferry.KindGroup, Name: "Bench", Path: "bench", Visibility: ferry.Private}
	p := &ferry.Project{Name: "Repo", Path: "repo", Visibility: ferry.Private}
	err := s.Write(ctx, func(tx *store.Tx) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		if err := tx.CreateNamespace(ctx, g); err != nil {
			return err
		}
		p.NamespaceID, p.CreatorID = g.ID, u.ID
		return tx.CreateProject(ctx, p)
	})
	return p.ID, err
}

// peakKB reads the process's peak resident set size.
func peakKB() (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			var kb int64
			_, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kb)
			return kb, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/self/status")
}
