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
			want := []string{"objects", "source_calls", "rest_calls", "graphql_requests", "graphql_points"}
			if source == "github" {
				want = append(want, "predicted_rest_calls", "predicted_graphql_requests", "predicted_graphql_points")
			}
			want = append(want, "lower_bound_calls", "wall_seconds", "objects_per_second", "peak_rss_mb", "peak_heap_mb", "peak_heap_ferry_mb")
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

func TestProject(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-project", "kubernetes"}, &out); err != nil {
		t.Fatalf("run: %v", err)
	}
	figs := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		f := strings.Fields(l)
		if len(f) != 2 {
			t.Fatalf("line %q is not name value", l)
		}
		figs[f[0]] = f[1]
	}
	for _, name := range []string{"count_issues", "graphql_user_rest_calls", "graphql_user_graphql_points", "graphql_user_hours",
		"graphql_app_hours", "rest_user_hours", "rest_app_binding"} {
		if figs[name] == "" {
			t.Errorf("no %s in\n%s", name, out.String())
		}
	}
	if figs["count_issues"] != "45000" || figs["count_pull_requests"] != "80000" {
		t.Errorf("kubernetes profile counts: %v", figs)
	}

	out.Reset()
	if err := run(context.Background(), []string{"-project", "kubernetes,users=10,comments=7"}, &out); err != nil {
		t.Fatalf("run: %v", err)
	}
	if s := out.String(); !strings.Contains(s, "count_users 10\n") || !strings.Contains(s, "count_issue_comments 7\n") ||
		!strings.Contains(s, "count_issues 45000\n") {
		t.Errorf("profile with overrides:\n%s", s)
	}
	for _, bad := range []string{"issues=x", "stars=3", "issues=-1", "users=3,kubernetes", "nosuch"} {
		if err := run(context.Background(), []string{"-project", bad}, &bytes.Buffer{}); err == nil {
			t.Errorf("-project %s: accepted", bad)
		}
	}
}
