package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestPrintsEveryFigure(t *testing.T) {
	for _, source := range []string{"github", "bitbucket_server", "gitlab"} {
		t.Run(source, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			if err := run(context.Background(), []string{"-source", source, "-scenario", "small", "-error-rate", "0.05"}, &out); err != nil {
				t.Fatalf("run: %v", err)
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			want := []string{"objects", "source_calls", "rest_calls", "graphql_requests", "graphql_points", "lower_bound_calls", "wall_seconds", "objects_per_second", "peak_rss_mb"}
			if len(lines) != len(want) {
				t.Fatalf("got %d lines:\n%s", len(lines), out.String())
			}
			for i, name := range want {
				if f := strings.Fields(lines[i]); len(f) != 2 || f[0] != name {
					t.Errorf("line %d is %q, want %q and a value", i, lines[i], name)
				}
			}
		})
	}
}

func TestRejectsUnknownModeAndScenario(t *testing.T) {
	for _, args := range [][]string{{"-mode", "importer"}, {"-scenario", "huge"}, {"-source", "svn"}} {
		if err := run(context.Background(), args, &bytes.Buffer{}); err == nil {
			t.Errorf("%v: accepted", args)
		}
	}
}
