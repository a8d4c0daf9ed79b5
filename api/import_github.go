package api

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ferry-import/ferry"
)

// githubImport is POST /import/github (lib/api/import_github.rb,
// Import::GithubService): the namespace must exist, and the answers are
// {"errors": …} but for a refused token and a rate limit.
var githubImport = &importEndpoint{
	sourceType:    "github",
	title:         "GitHub",
	envelope:      githubEnvelope,
	parse:         parseGitHubImport,
	target:        (*Server).existingNamespace,
	errNotAllowed: ferry.Errorf(ferry.EUNPROCESSABLE, "You are not allowed to import projects in this namespace."),
}

// githubOptions is what a GitHub import keeps of its request, handed to
// the source adapter as JSON.
type githubOptions struct {
	SingleEndpointNotesImport bool `json:"single_endpoint_notes_import"`
	AttachmentsImport         bool `json:"attachments_import"`
	CollaboratorsImport       bool `json:"collaborators_import"`
	PaginationLimit           int  `json:"pagination_limit"`
	// FullName spares every relation a repository lookup.
	FullName string `json:"full_name,omitempty"`
}

func (o *githubOptions) checked(repo *SourceRepo) { o.FullName = repo.FullName }

func parseGitHubImport(p *params) (*importRequest, error) {
	credential, app := githubCredential(p)
	extra, _ := p.list("additional_access_tokens")
	apps := additionalApps(p)
	repoID := p.requireInt("repo_id")
	target := p.requireStr("target_namespace")
	newName, _ := p.str("new_name")
	hostname, _ := p.str("github_hostname")
	opts := &githubOptions{PaginationLimit: 100}
	if stages, ok := p.object("optional_stages"); ok {
		for k, v := range stages {
			on, _ := scalar(v)
			b, _ := strconv.ParseBool(on)
			switch k {
			case "single_endpoint_notes_import":
				opts.SingleEndpointNotesImport = b
			case "attachments_import":
				opts.AttachmentsImport = b
			case "collaborators_import":
				opts.CollaboratorsImport = b
			}
		}
	}
	timeout := timeoutStrategy(p)
	dryRun, _ := p.optBool("dry_run") // import_dryrun.go
	if n, ok := p.optInt("pagination_limit"); ok {
		if n < 1 || n > 100 {
			p.fail("pagination_limit", "does not have a valid value")
		}
		opts.PaginationLimit = int(n)
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	if app != nil {
		// Validate names the parameter at fault, never the key.
		if err := app.Validate(); err != nil {
			return nil, ferry.Errorf(ferry.EINVALID, "%s", err.Error())
		}
		credential = app.Encode()
	}
	tokens := len(extra)
	for i, a := range apps {
		if err := a.Validate(); err != nil {
			return nil, ferry.Errorf(ferry.EINVALID, "additional_github_apps[%d]: %s", i, err.Error())
		}
		extra = append(extra, a.Encode())
	}
	if err := checkAdditional(credential, extra, tokens); err != nil {
		return nil, err
	}
	if newName != "" && (!ferry.ValidName(newName) || !ferry.ValidPath(newName)) {
		return nil, ferry.Errorf(ferry.EUNPROCESSABLE, "Name can contain only letters, digits, '_', '-' and '.', Path can contain only letters, digits, '_', '-' and '.'")
	}
	return &importRequest{address: hostname, ref: strconv.FormatInt(repoID, 10), credential: credential, namespace: target, newName: newName,
		timeout: timeout, options: opts, dryRun: dryRun, additional: extra, additionalTokens: tokens}, nil
}

// additionalApps reads additional_github_apps (a ferry extension): more
// GitHub App installations whose budgets the import spends too, each
// {app_id, installation_id, private_key}, as JSON or Rack-nested form
// fields. Problems are recorded on p, naming the field, never the key.
func additionalApps(p *params) []ferry.GitHubApp {
	raw, ok := p.get("additional_github_apps")
	if !ok || raw == nil {
		return nil
	}
	items, valid := bulkItems(raw)
	if !valid {
		p.fail("additional_github_apps", "is invalid")
		return nil
	}
	apps := make([]ferry.GitHubApp, 0, len(items))
	for i, it := range items {
		field := func(k string) string {
			s, ok := scalar(it[k])
			if !ok || s == "" {
				p.fail(fmt.Sprintf("additional_github_apps[%d][%s]", i, k), "is missing")
			}
			return s
		}
		id, _ := strconv.ParseInt(field("app_id"), 10, 64)
		inst, _ := strconv.ParseInt(field("installation_id"), 10, 64)
		apps = append(apps, ferry.GitHubApp{AppID: id, InstallationID: inst, PrivateKey: field("private_key")})
	}
	return apps
}

// checkAdditional refuses additional_access_tokens (a ferry extension:
// tokens of other accounts whose budgets the import spends too) that are
// empty, repeated or too many, naming the parameter, never a token.
func checkAdditional(credential string, extra []string, tokens int) error {
	if len(extra) > ferry.MaxCredentials-1 {
		return ferry.Errorf(ferry.EINVALID, "additional_access_tokens and additional_github_apps give more than %d credentials", ferry.MaxCredentials-1)
	}
	seen := map[string]bool{credential: true}
	for i, t := range extra {
		switch {
		case strings.TrimSpace(t) == "":
			return ferry.Errorf(ferry.EINVALID, "%s is empty", additionalName(i, tokens))
		case seen[t]:
			return ferry.Errorf(ferry.EINVALID, "%s repeats a credential already given", additionalName(i, tokens))
		}
		seen[t] = true
	}
	return nil
}

// additionalName names the i-th additional credential as the request gave
// it: the tokens first, then the apps.
func additionalName(i, tokens int) string {
	if i < tokens {
		return fmt.Sprintf("additional_access_tokens[%d]", i)
	}
	return fmt.Sprintf("additional_github_apps[%d]", i-tokens)
}

// githubAppParams are the ferry extension's parameters of a GitHub App
// installation, in the order their problems are reported.
var githubAppParams = []string{"github_app_id", "github_app_installation_id", "github_app_private_key"}

// githubCredential is what the request authenticates with: a
// personal_access_token, or (a ferry extension) a GitHub App installation
// whose installation tokens carry a larger rate-limit budget. The two are
// mutually exclusive, in Grape's words, and an app needs all three of its
// parameters; problems are recorded on p as Grape's declarations would.
func githubCredential(p *params) (token string, app *ferry.GitHubApp) {
	var given []string
	for _, name := range githubAppParams {
		if p.has(name) {
			given = append(given, name)
		}
	}
	if len(given) == 0 {
		return p.requireStr("personal_access_token"), nil
	}
	if p.has("personal_access_token") {
		p.errs = append(p.errs, strings.Join(append([]string{"personal_access_token"}, given...), ", ")+" are mutually exclusive")
		return "", nil
	}
	return "", &ferry.GitHubApp{AppID: p.requireInt("github_app_id"), InstallationID: p.requireInt("github_app_installation_id"),
		PrivateKey: p.requireStr("github_app_private_key")}
}

// timeoutStrategy reads timeout_strategy (Grape: values optimistic,
// pessimistic), pessimistic when not given.
func timeoutStrategy(p *params) string {
	v, ok := p.str("timeout_strategy")
	if !ok {
		return ferry.TimeoutPessimistic
	}
	if !ferry.ValidTimeoutStrategy(v) {
		p.fail("timeout_strategy", "does not have a valid value")
	}
	return v
}
