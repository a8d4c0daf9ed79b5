package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/ferry-import/ferry/app"
	"github.com/ferry-import/ferry/fakeforge"
	ffbbs "github.com/ferry-import/ferry/fakeforge/bitbucketserver"
	ffgithub "github.com/ferry-import/ferry/fakeforge/github"
	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/store"
)

// importMode starts ferry in this process (embedded SQLite in a temporary
// directory unless -database-url is given), imports the simulated
// repository through ferry's public API — POST /import/github, then
// GET /projects/:id/import until it ends — and checks what landed against
// the scenario. It returns the objects imported (the status's stats).
func importMode(ctx context.Context, f *fakeforge.Forge, cfg config) (int, error) {
	imp, ok := importers[cfg.source]
	if !ok {
		return 0, fmt.Errorf("import mode supports -source github, bitbucket_server and gitlab, not %s", cfg.source)
	}
	dir, err := os.MkdirTemp("", "ferrybench-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	dbURL := cfg.databaseURL
	if dbURL != "" {
		// A scratch schema: the benchmark starts from an empty database and
		// leaves the given one as it was.
		u, drop, err := store.ScratchSchema(ctx, dbURL, "ferrybench")
		if err != nil {
			return 0, err
		}
		defer drop()
		dbURL = u
	}
	const token = "glpat-ferrybench-root-token"
	logOut := io.Discard
	if cfg.verbose {
		logOut = os.Stderr
	}
	a, err := app.New(ctx, app.Config{Listen: "127.0.0.1:0", DataDir: dir, DatabaseURL: dbURL, AllowLocalNetwork: true,
		RootToken: token, Workers: cfg.workers, Log: slog.New(slog.NewJSONHandler(logOut, nil)), Out: io.Discard})
	if err != nil {
		return 0, fmt.Errorf("start ferry: %w", err)
	}
	if err := a.Listen(); err != nil {
		return 0, err
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()
	defer func() { stop(); <-done }()
	c := &apiClient{base: a.URL() + "/api/v4", token: token}

	if _, err := c.do("POST", "/groups", map[string]any{"name": "bench", "path": "bench"}, http.StatusCreated); err != nil {
		return 0, err
	}
	// The import's memory, not ferry's start (its migrations parsed).
	cfg.heap.reset()
	res, err := imp.post(c, f)
	if err != nil {
		return 0, err
	}
	id := int64(res["id"].(float64))
	projects := []int64{id}
	if imp.migration {
		if projects, err = waitMigration(ctx, c, id, cfg); err != nil {
			return 0, err
		}
	}
	// What landed, against the scenario: the list endpoints' X-Total, the
	// scenario's counts shared evenly by a migration's projects.
	want, err := f.Scenario.Expected(cfg.source)
	if err != nil {
		return 0, err
	}
	objects := 0
	for _, pid := range projects {
		st, err := waitProject(ctx, c, pid, cfg)
		if err != nil {
			return 0, err
		}
		for path, kind := range imp.totals {
			n, err := c.total("/projects/" + strconv.FormatInt(pid, 10) + path)
			if err != nil {
				return 0, err
			}
			if n != want[kind]/len(projects) {
				return 0, fmt.Errorf("project %d %s: %d imported, scenario has %d", pid, kind, n, want[kind]/len(projects))
			}
		}
		objects += importedObjects(st)
		if cfg.verbose {
			fmt.Fprintf(os.Stderr, "ferrybench: project %d stats %v\n", pid, st["stats"])
		}
	}
	return objects, nil
}

// poll calls check every 100 ms until it reports done.
func poll(ctx context.Context, check func() (bool, error)) error {
	for {
		done, err := check()
		if done || err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// waitProject follows GET /projects/:id/import until the import ends and
// returns its final status; anything but a clean finish is an error.
func waitProject(ctx context.Context, c *apiClient, id int64, cfg config) (map[string]any, error) {
	var st map[string]any
	err := poll(ctx, func() (bool, error) {
		var err error
		if st, err = c.do("GET", "/projects/"+strconv.FormatInt(id, 10)+"/import", nil, http.StatusOK); err != nil {
			return false, err
		}
		if cfg.verbose {
			rels, _ := json.Marshal(st["relations"])
			fmt.Fprintf(os.Stderr, "ferrybench: %s project %d stage %v relations %s\n", time.Now().Format("15:04:05.000"), id,
				st["import_stage"], rels)
		}
		s := st["import_status"]
		return s == "finished" || s == "failed" || s == "canceled", nil
	})
	if err != nil {
		return nil, err
	}
	if st["import_status"] != "finished" {
		return nil, fmt.Errorf("import of project %d ended %v: %v", id, st["import_status"], st["import_error"])
	}
	if fr, _ := st["failed_relations"].([]any); len(fr) > 0 {
		return nil, fmt.Errorf("import of project %d finished with %d failures: %v", id, len(fr), fr)
	}
	return st, nil
}

// waitMigration follows GET /bulk_imports/:id until the migration ends and
// returns the projects it created; anything but a clean finish is an error.
func waitMigration(ctx context.Context, c *apiClient, id int64, cfg config) ([]int64, error) {
	path := "/bulk_imports/" + strconv.FormatInt(id, 10)
	var b map[string]any
	err := poll(ctx, func() (bool, error) {
		var err error
		if b, err = c.do("GET", path, nil, http.StatusOK); err != nil {
			return false, err
		}
		if cfg.verbose {
			fmt.Fprintf(os.Stderr, "ferrybench: %s migration %v\n", time.Now().Format("15:04:05.000"), b["status"])
		}
		s := b["status"]
		return s == "finished" || s == "failed" || s == "canceled" || s == "timeout", nil
	})
	if err != nil {
		return nil, err
	}
	// fakeforge's tree migrates whole: any failure is a shortfall.
	if b["status"] != "finished" || b["has_failures"] != false {
		return nil, fmt.Errorf("migration ended %v (has_failures %v)", b["status"], b["has_failures"])
	}
	var projects []int64
	for page := 1; ; page++ {
		entities, err := c.list(fmt.Sprintf("%s/entities?per_page=100&page=%d", path, page))
		if err != nil {
			return nil, err
		}
		for _, e := range entities {
			if pid, ok := e["project_id"].(float64); ok {
				projects = append(projects, int64(pid))
			}
		}
		if len(entities) < 100 {
			return projects, nil
		}
	}
}

// importedObjects sums an import status's imported stats.
func importedObjects(st map[string]any) int {
	objects := 0
	if stats, ok := st["stats"].(map[string]any); ok {
		if imported, ok := stats["imported"].(map[string]any); ok {
			for kind, v := range imported {
				// Who merged or closed an item updates that item: count each
				// object once.
				if kind != "pull_request_merged_by" && kind != "closed_by" {
					objects += int(v.(float64))
				}
			}
		}
	}
	return objects
}

// sourceImport starts an import of one source through ferry's API and
// names the list endpoints whose X-Total must equal the scenario's counts.
type sourceImport struct {
	post func(c *apiClient, f *fakeforge.Forge) (map[string]any, error)
	// migration: post starts a GitLab migration (a bulk import) rather
	// than a project import.
	migration bool
	totals    map[string]string // project list path → scenario.Expected kind
}

var importers = map[string]sourceImport{
	scenario.GitHub: {
		post: func(c *apiClient, f *fakeforge.Forge) (map[string]any, error) {
			return c.do("POST", "/import/github", map[string]any{
				"personal_access_token": f.GitHub.Token, "repo_id": ffgithub.RepoID, "target_namespace": "bench",
				"github_hostname": f.GitHub.URL, "pagination_limit": pageSize(scenario.GitHub),
			}, http.StatusCreated)
		},
		totals: map[string]string{"/issues?state=all": "issues", "/merge_requests?state=all": "pull_requests", "/labels": "labels",
			"/milestones": "milestones", "/releases": "releases"},
	},
	scenario.BitbucketServer: {
		post: func(c *apiClient, f *fakeforge.Forge) (map[string]any, error) {
			bb := f.BitbucketServer
			return c.do("POST", "/import/bitbucket_server", map[string]any{
				"bitbucket_server_url": bb.URL, "bitbucket_server_username": bb.Username, "personal_access_token": bb.Token,
				"bitbucket_server_project": ffbbs.ProjectKey, "bitbucket_server_repo": ffbbs.RepoSlug, "new_namespace": "bench",
			}, http.StatusCreated)
		},
		totals: map[string]string{"/merge_requests?state=all": "merge_requests"},
	},
	scenario.GitLab: {
		post: func(c *apiClient, f *fakeforge.Forge) (map[string]any, error) {
			return c.do("POST", "/bulk_imports", map[string]any{
				"configuration": map[string]any{"url": f.GitLab.URL, "access_token": f.GitLab.Token},
				"entities": []map[string]any{{"source_type": "group_entity", "source_full_path": "acme", "destination_slug": "acme",
					"destination_namespace": "bench"}},
			}, http.StatusCreated)
		},
		migration: true,
		// A project's label and milestone lists include its groups' (as
		// GitLab's do), which the scenario counts apart.
		totals: map[string]string{"/issues?state=all": "issues", "/merge_requests?state=all": "merge_requests", "/releases": "releases"},
	},
}

// apiClient is a bare HTTP client for ferry's API, as curl would use it.
type apiClient struct{ base, token string }

func (c *apiClient) req(method, path string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("PRIVATE-TOKEN", c.token)
	req.Header.Set("Content-Type", "application/json")
	return http.DefaultClient.Do(req)
}

func (c *apiClient) do(method, path string, body any, want int) (map[string]any, error) {
	resp, err := c.req(method, path, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	return m, nil
}

func (c *apiClient) list(path string) ([]map[string]any, error) {
	resp, err := c.req("GET", path, nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, raw)
	}
	var out []map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	return out, nil
}

func (c *apiClient) total(path string) (int, error) {
	sep := "?"
	if bytes.ContainsRune([]byte(path), '?') {
		sep = "&"
	}
	resp, err := c.req("GET", path+sep+"per_page=1", nil)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %d", path, resp.StatusCode)
	}
	return strconv.Atoi(resp.Header.Get("X-Total"))
}
