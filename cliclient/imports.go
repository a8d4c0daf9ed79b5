package cliclient

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Project import statuses (GitLab's import_status).
const (
	StatusNone      = "none"
	StatusScheduled = "scheduled"
	StatusStarted   = "started"
	StatusFinished  = "finished"
	StatusFailed    = "failed"
	StatusCanceled  = "canceled"
	// StatusTimeout ends a migration (bulk import) only.
	StatusTimeout = "timeout"
)

// Done reports whether a project import's or a migration's status is final.
func Done(status string) bool {
	switch status {
	case StatusFinished, StatusFailed, StatusCanceled, StatusTimeout:
		return true
	}
	return false
}

// ProjectImport is the answer of POST /import/github and
// /import/bitbucket_server (GitLab's ProjectImportEntity).
type ProjectImport struct {
	ID           int64  `json:"id"`
	Name         string `json:"name"`
	FullPath     string `json:"full_path"`
	ImportSource string `json:"import_source"`
	ImportStatus string `json:"import_status"`
}

// ImportStatus is GET /projects/:id/import: GitLab's ProjectImportStatus
// with ferry's progress extensions. Raw is the whole answer as sent.
type ImportStatus struct {
	ID                int64            `json:"id"`
	PathWithNamespace string           `json:"path_with_namespace"`
	ImportStatus      string           `json:"import_status"`
	ImportType        *string          `json:"import_type"`
	ImportError       *string          `json:"import_error"`
	Stage             *string          `json:"import_stage"`
	Relations         []Relation       `json:"relations"`
	RateLimitUntil    *time.Time       `json:"waiting_for_rate_limit_until"`
	ETASeconds        *int64           `json:"estimated_seconds_remaining"`
	FailedRelations   []FailedRelation `json:"failed_relations"`
	Verification      *Verification    `json:"verification"`
	Stats             *ImportStats     `json:"stats"`
	// RateLimitBudgets is what the import last saw of each credential's
	// budgets at the source (ferry's extension).
	RateLimitBudgets []RateLimitBudget `json:"rate_limit_budgets"`
	Raw              json.RawMessage   `json:"-"`
}

// Relation is the progress of one relation (issues, pull_requests, …).
type Relation struct {
	Name     string `json:"name"`
	Stage    string `json:"stage"`
	State    string `json:"state"`
	Fetched  int64  `json:"fetched"`
	Imported int64  `json:"imported"`
	Failed   int64  `json:"failed"`
	Total    *int64 `json:"total"`
	// Transfer is a repository being fetched, in git objects (ferry's
	// extension); nil when nothing is in flight.
	Transfer *Transfer `json:"transfer"`
}

// Transfer is how far a relation's transfer in flight has come.
type Transfer struct {
	Unit  string `json:"unit"`
	Done  int64  `json:"done"`
	Total int64  `json:"total"`
}

// RateLimitBudget is one budget of one credential of an import, as the
// import last saw it: Credential is 1-based in the order the import was
// given them, Kind "personal_access_token" or "github_app APP/INSTALLATION"
// (never any part of a secret), Budget "api" or "graphql"; Remaining,
// Limit and ResetAt are nil when the source has not said.
type RateLimitBudget struct {
	Credential int        `json:"credential"`
	Kind       string     `json:"kind"`
	Budget     string     `json:"budget"`
	Remaining  *int64     `json:"remaining"`
	Limit      *int64     `json:"limit"`
	ResetAt    *time.Time `json:"reset_at"`
}

// FailedRelation is one failure of an import.
type FailedRelation struct {
	ExceptionClass   string `json:"exception_class"`
	ExceptionMessage string `json:"exception_message"`
	RelationName     string `json:"relation_name"`
	SourceURL        string `json:"source_url"`
	SourceTitle      string `json:"source_title"`
}

// Verification is what a finished import was checked against.
type Verification struct {
	Status string              `json:"status"` // passed | failed
	Checks []VerificationCheck `json:"checks"`
}

// VerificationCheck is one object type's counts.
type VerificationCheck struct {
	ObjectType string `json:"object_type"`
	Expected   int64  `json:"expected"`
	Imported   int64  `json:"imported"`
	Missing    int64  `json:"missing"`
}

// ImportStats are the counts per object type.
type ImportStats struct {
	Fetched  map[string]int64 `json:"fetched"`
	Imported map[string]int64 `json:"imported"`
}

// Clean reports whether the import finished with no failure and no
// failed verification.
func (s *ImportStatus) Clean() bool {
	return s.ImportStatus == StatusFinished && len(s.FailedRelations) == 0 && (s.Verification == nil || s.Verification.Status != "failed")
}

// GitHubImport is POST /import/github's request: a personal access token,
// or (ferry's extension) a GitHub App installation (AppID,
// InstallationID, PrivateKey in PEM), plus optional tokens of other
// accounts whose budgets the import spends too.
type GitHubImport struct {
	Token            string   `json:"personal_access_token,omitempty"`
	AppID            int64    `json:"github_app_id,omitempty"`
	InstallationID   int64    `json:"github_app_installation_id,omitempty"`
	PrivateKey       string   `json:"github_app_private_key,omitempty"`
	AdditionalTokens []string `json:"additional_access_tokens,omitempty"`
	RepoID           int64    `json:"repo_id"`
	TargetNamespace  string   `json:"target_namespace"`
	NewName          string   `json:"new_name,omitempty"`
	GitHubHostname   string   `json:"github_hostname,omitempty"`
}

// ImportGitHub starts a GitHub import.
func (c *Client) ImportGitHub(ctx context.Context, req GitHubImport) (*ProjectImport, error) {
	var out ProjectImport
	if _, _, err := c.do(ctx, http.MethodPost, "/import/github", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// BitbucketServerImport is POST /import/bitbucket_server's request.
type BitbucketServerImport struct {
	URL             string `json:"bitbucket_server_url"`
	Username        string `json:"bitbucket_server_username"`
	Token           string `json:"personal_access_token"`
	Project         string `json:"bitbucket_server_project"`
	Repo            string `json:"bitbucket_server_repo"`
	NewName         string `json:"new_name,omitempty"`
	TargetNamespace string `json:"new_namespace,omitempty"`
}

// ImportBitbucketServer starts a Bitbucket Server import.
func (c *Client) ImportBitbucketServer(ctx context.Context, req BitbucketServerImport) (*ProjectImport, error) {
	var out ProjectImport
	if _, _, err := c.do(ctx, http.MethodPost, "/import/bitbucket_server", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ProjectImportStatus is GET /projects/:id/import.
func (c *Client) ProjectImportStatus(ctx context.Context, id int64) (*ImportStatus, error) {
	var out ImportStatus
	raw, _, err := c.do(ctx, http.MethodGet, fmt.Sprintf("/projects/%d/import", id), nil, &out)
	if err != nil {
		return nil, err
	}
	out.Raw = raw
	return &out, nil
}

// CancelProjectImport cancels the import of project id, through the
// cancel endpoint of its source (import_type github or bitbucket_server).
func (c *Client) CancelProjectImport(ctx context.Context, id int64, importType string) error {
	var path string
	switch importType {
	case "github":
		path = "/import/github/cancel"
	case "bitbucket_server":
		path = "/import/bitbucket_server/cancel"
	default:
		return fmt.Errorf("project %d: a %q import cannot be canceled on its own; cancel its migration (--kind migration)", id, importType)
	}
	_, _, err := c.do(ctx, http.MethodPost, path, map[string]any{"project_id": id}, nil)
	return err
}

// Project is the part of GET /projects the import list shows.
type Project struct {
	ID                int64   `json:"id"`
	PathWithNamespace string  `json:"path_with_namespace"`
	ImportStatus      string  `json:"import_status"`
	ImportType        *string `json:"import_type"`
	CreatedAt         string  `json:"created_at"`
}

// ImportedProjects lists the projects the caller imported, oldest first:
// GET /projects?imported=true (GitLab 14+) filters on the server, so only
// those are paged. The status check still leaves out projects never
// imported when an older ferry ignores the parameter.
func (c *Client) ImportedProjects(ctx context.Context) ([]Project, error) {
	all, err := list[Project](ctx, c, "/projects?imported=true&order_by=id&sort=asc")
	if err != nil {
		return nil, err
	}
	var out []Project
	for _, p := range all {
		if p.ImportStatus != "" && p.ImportStatus != StatusNone {
			out = append(out, p)
		}
	}
	return out, nil
}
