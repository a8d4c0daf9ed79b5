package e2e

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/fakeforge"
	ffgithub "github.com/ferry-import/ferry/fakeforge/github"
	"github.com/ferry-import/ferry/fakeforge/traffic"
	"github.com/ferry-import/ferry/store/storetest"
)

// TestGitHubImportSpendsEveryCredential: an import given the tokens of
// three accounts (additional_access_tokens, a ferry extension) spreads its
// calls over their budgets, each under its own governor: no budget alone
// holds the import, yet it finishes without waiting and without a refusal,
// every token spent, and the status shows each credential's budget left
// without showing any token. Tokens that cannot read the repository, or
// repeat one, are refused before anything is created.
func TestGitHubImportSpendsEveryCredential(t *testing.T) {
	t.Parallel()
	extra := []string{"ghp_second0000000000000000000000000000000", "ghp_third00000000000000000000000000000000"}
	for i, e := range storetest.Engines(t) {
		// Through REST alone on the first database, with GraphQL (its
		// queries pooled too) on the second.
		// Budgets an hour long that no token alone could import with:
		// REST calls, and GraphQL points (small needs 3 queries of a
		// point each).
		noGraphQL := i == 0
		budget, points := 60, 0
		if !noGraphQL {
			budget, points = 16, 2
		}
		t.Run(fmt.Sprintf("%s/graphql=%v", e.Name, !noGraphQL), func(t *testing.T) {
			t.Parallel()
			f := forgeWith(t, fakeforge.Options{Faults: traffic.Faults{RateLimit: budget, RateLimitPeriod: time.Hour,
				GraphQLRateLimit: points, GraphQLRateLimitPeriod: time.Hour}, GitHub: ffgithub.Options{NoGraphQL: noGraphQL, Tokens: extra}}, nil)
			in := apptest.Start(t, e, apptest.Options{AllowLocalNetwork: true, EngineOverrides: fast, Workers: 4})
			root := in.Client(t, in.RootToken)
			grp := newGroup(t, root, "pooled")
			request := func(more []string) map[string]any {
				return map[string]any{"personal_access_token": f.GitHub.Token, "repo_id": strconv.Itoa(ffgithub.RepoID),
					"target_namespace": "pooled", "new_name": "NEW-NAME", "github_hostname": f.GitHub.URL, "additional_access_tokens": more}
			}
			for _, c := range []struct {
				name  string
				more  []string
				code  int
				field string
				want  string
			}{
				{"refused token", []string{extra[0], "ghp_nobody"}, 401, "error", "additional_access_tokens[1]: "},
				{"repeated token", []string{extra[0], extra[0]}, 400, "error", "additional_access_tokens[1] repeats a credential already given"},
				{"the main token again", []string{f.GitHub.Token}, 400, "error", "additional_access_tokens[0] repeats a credential already given"},
			} {
				code, body := postJSON(t, in.URL+"/api/v4/import/github", in.RootToken, request(c.more))
				if msg, _ := body[c.field].(string); code != c.code || !strings.HasPrefix(msg, c.want) || strings.Contains(msg, "ghp_") {
					t.Errorf("%s: %d %v, want %d %s %q…", c.name, code, body, c.code, c.field, c.want)
				}
			}
			if n := count(t, in, `SELECT COUNT(*) FROM projects WHERE namespace_id = $1`, grp.ID); n != 0 {
				t.Fatalf("refused requests created %d projects", n)
			}
			f.GitHub.ResetStats()

			code, body := postJSON(t, in.URL+"/api/v4/import/github", in.RootToken, request(extra))
			if code != 201 {
				t.Fatalf("POST /import/github: %d %v", code, body)
			}
			id := int64(body["id"].(float64))
			waited := false
			st := finishedWithEverything(t, in, f, id, grp.ID, func(st map[string]any) {
				waited = waited || st["waiting_for_rate_limit_until"] != nil
			})
			s := f.GitHub.Stats()
			charged := 0
			for _, tok := range append([]string{f.GitHub.Token}, extra...) {
				if s.Charged[tok] == 0 || s.Charged[tok] > budget {
					t.Errorf("token %s…: %d calls charged, want some and at most its budget of %d", tok[:10], s.Charged[tok], budget)
				}
				charged += s.Charged[tok]
			}
			if charged <= budget {
				t.Fatalf("the import made %d calls: one budget would have held them; nothing shown", charged)
			}
			if !noGraphQL && (s.GraphQLPoints <= points || s.GraphQLRequests == 0) {
				t.Errorf("%d GraphQL requests spent %d points: one token's %d would have held them", s.GraphQLRequests, s.GraphQLPoints, points)
			}
			if ft := faultTotals(s); ft.RateLimited != 0 || waited {
				t.Errorf("refused for the rate limit %d times, status showed a wait: %v; want neither", ft.RateLimited, waited)
			}
			raw, _ := json.Marshal(st)
			for _, tok := range append([]string{f.GitHub.Token}, extra...) {
				if strings.Contains(string(raw), tok) {
					t.Fatalf("a token is in the status")
				}
			}
			// Each credential's budget as last seen, by place and kind.
			seen := map[string]bool{}
			bs, _ := st["rate_limit_budgets"].([]any)
			for _, b := range bs {
				b := b.(map[string]any)
				if b["budget"] != "api" {
					continue // the GraphQL probe's answer (404 here) read as its budget
				}
				if b["kind"] != "personal_access_token" || b["limit"] != float64(budget) {
					t.Errorf("budget %v", b)
				}
				if rem, ok := b["remaining"].(float64); !ok || rem < 0 || rem >= float64(budget) {
					t.Errorf("budget %v: want some of it spent", b)
				}
				seen[fmt.Sprint(b["credential"])] = true
			}
			if len(seen) != 3 || !seen["1"] || !seen["2"] || !seen["3"] {
				t.Errorf("rate_limit_budgets %v, want credentials 1, 2 and 3", st["rate_limit_budgets"])
			}
		})
	}
}

// TestGitHubImportWithATokenAndAnApp: an App installation
// (additional_github_apps) carries an import beside a person's token; the
// token's budget alone would hold the import for an hour.
func TestGitHubImportWithATokenAndAnApp(t *testing.T) {
	t.Parallel()
	e := storetest.Engines(t)[0]
	const budget = 10 // the token's, an hour (the import needs more); the installation gets three times as much
	f := forgeWith(t, fakeforge.Options{Faults: traffic.Faults{RateLimit: budget, RateLimitPeriod: time.Hour}}, nil)
	gh := f.GitHub
	in := apptest.Start(t, e, apptest.Options{AllowLocalNetwork: true, EngineOverrides: fast, Workers: 4})
	grp := newGroup(t, in.Client(t, in.RootToken), "both")
	app := map[string]any{"app_id": gh.AppID, "installation_id": gh.InstallationID, "private_key": gh.AppPrivateKeyPEM}
	request := func(apps []any) map[string]any {
		return map[string]any{"personal_access_token": gh.Token, "repo_id": ffgithub.RepoID, "target_namespace": "both",
			"new_name": "NEW-NAME", "github_hostname": gh.URL, "additional_github_apps": apps}
	}
	for _, c := range []struct {
		name string
		apps []any
		want string
	}{
		{"an app twice", []any{app, app}, "additional_github_apps[1] repeats a credential already given"},
		{"an app without its key", []any{map[string]any{"app_id": gh.AppID, "installation_id": gh.InstallationID}},
			"additional_github_apps[0][private_key] is missing"},
	} {
		if code, body := postJSON(t, in.URL+"/api/v4/import/github", in.RootToken, request(c.apps)); code != 400 || body["error"] != c.want {
			t.Errorf("%s: %d %v, want 400 %q", c.name, code, body, c.want)
		}
	}
	gh.ResetStats()
	code, body := postJSON(t, in.URL+"/api/v4/import/github", in.RootToken, request([]any{app}))
	if code != 201 {
		t.Fatalf("POST /import/github: %d %v", code, body)
	}
	waited := false
	st := finishedWithEverything(t, in, f, int64(body["id"].(float64)), grp.ID, func(st map[string]any) {
		waited = waited || st["waiting_for_rate_limit_until"] != nil
	})
	s := gh.Stats()
	installation := ffgithub.InstallationCredential(gh.InstallationID)
	if total := s.Charged[gh.Token] + s.Charged[installation]; total <= budget {
		t.Fatalf("the import was charged %d calls: the token's budget of %d would have held them; nothing shown", total, budget)
	}
	if s.Charged[gh.Token] == 0 || s.Charged[installation] == 0 || s.Charged[gh.Token] > budget || waited {
		t.Errorf("charged %v (token's budget %d), waited %v: want both credentials spent, no wait", s.Charged, budget, waited)
	}
	kinds := map[string]bool{}
	for _, b := range st["rate_limit_budgets"].([]any) {
		b := b.(map[string]any)
		kinds[fmt.Sprint(b["credential"], " ", b["kind"])] = true
	}
	if want := fmt.Sprintf("2 github_app %d/%d", gh.AppID, gh.InstallationID); !kinds["1 personal_access_token"] || !kinds[want] {
		t.Errorf("rate_limit_budgets %v, want the token's and %q", st["rate_limit_budgets"], want)
	}
}
