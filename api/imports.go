package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/netguard"
	"github.com/ferry-import/ferry/store"
)

// Imports is the import engine as the API sees it.
type Imports interface {
	// Schedule records im and enqueues it in tx; the credential is sealed.
	Schedule(ctx context.Context, tx *store.Tx, im *ferry.Import, credential string) error
	// Cancel ends im as canceled in tx.
	Cancel(ctx context.Context, tx *store.Tx, im *ferry.Import) error
}

// GitHubSource checks a GitHub import request against GitHub.
type GitHubSource interface {
	// APIBase turns github_hostname ("" for github.com) into the API base
	// URL; EINVALID when it is not a usable URL.
	APIBase(hostname string) (string, error)
	// CheckURL refuses a base URL on a disallowed network (SSRF).
	CheckURL(ctx context.Context, apiBase string) error
	// Lookup and CheckCollaborators report a connection the address guard
	// refused (DNS that changed its answer since CheckURL) as an error
	// wrapping ErrSourceBlocked.
	// Lookup reads the repository with the token.
	Lookup(ctx context.Context, apiBase, token string, repoID int64) (*SourceRepo, error)
	// CheckCollaborators tells whether the token may list collaborators.
	// CheckCollaborators tells whether the token may list the collaborators
	// of the repository fullName (owner/name, as Lookup gave it).
	CheckCollaborators(ctx context.Context, apiBase, token, fullName string) error
}

// SourceRepo is what an import needs to know of a source repository.
type SourceRepo struct {
	FullName    string // owner/name
	Name        string
	Description string
	Private     bool
	HTMLURL     string
	// RateRemaining and RateLimit are the token's budget after the lookup
	// (-1 when the source did not say).
	RateRemaining, RateLimit int
}

// Errors a GitHubSource reports.
var (
	ErrSourceUnauthorized = errors.New("source rejected the credential")
	ErrSourceForbidden    = errors.New("source denied access")
	ErrSourceRateLimited  = errors.New("source rate limit spent")
	// ErrSourceBlocked: the source's address is one imports may not reach.
	ErrSourceBlocked = errors.New("source address not allowed")
)

// SourceAPIError is another error status from the source.
type SourceAPIError struct {
	Status int
	Body   string
}

func (e *SourceAPIError) Error() string { return fmt.Sprintf("source answered %d", e.Status) }

// serviceError is Import::*Service's error body: {"errors": message}.
func serviceError(status int, msg string) error {
	return &httpError{status: status, body: map[string]any{"errors": msg}}
}

func (s *Server) importRoutes(r chi.Router) {
	r.Post("/import/github", s.wrap(s.importGitHub))
	r.Post("/import/github/cancel", s.wrap(s.cancelGitHubImport))
	r.Post("/import/github/gists", s.wrap(s.importGitHubGists))
	r.Get("/projects/{id}/import", s.wrap(s.getImportStatus))
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

// importGitHub is POST /import/github, validated in GitLab's order.
func (s *Server) importGitHub(w http.ResponseWriter, r *http.Request) error {
	me, err := requireUser(r)
	if err != nil {
		return err
	}
	if s.cfg.Imports == nil || s.cfg.GitHub == nil {
		return ferry.Errorf(ferry.ENOTIMPLEMENTED, "501 GitHub import is not enabled")
	}
	p, err := s.params(r)
	if err != nil {
		return err
	}
	token := p.requireStr("personal_access_token")
	repoID := p.requireInt("repo_id")
	target := p.requireStr("target_namespace")
	newName, _ := p.str("new_name")
	hostname, _ := p.str("github_hostname")
	opts := githubOptions{PaginationLimit: 100}
	timeout := ferry.TimeoutPessimistic
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
	if v, ok := p.str("timeout_strategy"); ok {
		if !ferry.ValidTimeoutStrategy(v) {
			p.fail("timeout_strategy", "does not have a valid value")
		}
		timeout = v
	}
	if n, ok := p.optInt("pagination_limit"); ok {
		if n < 1 || n > 100 {
			p.fail("pagination_limit", "does not have a valid value")
		}
		opts.PaginationLimit = int(n)
	}
	if err := p.err(); err != nil {
		return err
	}
	if newName != "" && (!ferry.ValidName(newName) || !ferry.ValidPath(newName)) {
		return serviceError(http.StatusUnprocessableEntity, "Name can contain only letters, digits, '_', '-' and '.', Path can contain only letters, digits, '_', '-' and '.'")
	}
	ctx := r.Context()
	apiBase, err := s.cfg.GitHub.APIBase(hostname)
	if err != nil {
		return serviceError(http.StatusBadRequest, "Invalid URL: "+hostname)
	}
	if err := s.cfg.GitHub.CheckURL(ctx, apiBase); err != nil {
		return s.invalidSourceURL(r, hostname, err)
	}
	var ns *ferry.Namespace
	err = s.store.Read(ctx, func(tx *store.Tx) error {
		n, err := tx.NamespaceByPath(ctx, strings.Trim(target, "/"))
		if ferry.ErrorCode(err) == ferry.ENOTFOUND {
			return serviceError(http.StatusUnprocessableEntity, "Namespace or group to import repository into does not exist.")
		} else if err != nil {
			return err
		}
		if ok, err := tx.CanSeeNamespace(ctx, viewer(r), n.ID); err != nil {
			return err
		} else if !ok {
			return serviceError(http.StatusUnprocessableEntity, "Namespace or group to import repository into does not exist.")
		}
		if s.namespaceRole(r, tx, n) < ferry.MaintainerAccess {
			return serviceError(http.StatusUnprocessableEntity, "You are not allowed to import projects in this namespace.")
		}
		ns = n
		return nil
	})
	if err != nil {
		return err
	}
	repo, err := s.cfg.GitHub.Lookup(ctx, apiBase, token, repoID)
	if errors.Is(err, ErrSourceBlocked) {
		return s.invalidSourceURL(r, hostname, err)
	} else if err != nil {
		return githubError(err, "repository")
	}
	if repo.RateLimit > 0 && repo.RateRemaining >= 0 && repo.RateRemaining <= max(1, repo.RateLimit/100) {
		return &httpError{status: http.StatusTooManyRequests, body: map[string]string{"error": "Too Many Requests"}}
	}
	if opts.CollaboratorsImport {
		if err := s.cfg.GitHub.CheckCollaborators(ctx, apiBase, token, repo.FullName); errors.Is(err, ErrSourceBlocked) {
			return s.invalidSourceURL(r, hostname, err)
		} else if err != nil {
			return githubError(err, "collaborators")
		}
	}
	name := newName
	if name == "" {
		name = repo.Name
	}
	pr := &ferry.Project{Name: name, Path: name, Description: repo.Description, Visibility: ns.Visibility,
		ImportType: "github", ImportSource: repo.FullName, ImportStatus: ferry.ImportScheduled}
	if repo.Private {
		pr.Visibility = ferry.Private
	}
	opts.FullName = repo.FullName
	optJSON, _ := json.Marshal(opts)
	im := &ferry.Import{UserID: me.ID, SourceType: "github", SourceURL: apiBase, SourceRef: strconv.FormatInt(repoID, 10), Options: string(optJSON),
		TimeoutStrategy: timeout, CorrelationID: requestID(ctx)}
	err = s.store.Write(ctx, func(tx *store.Tx) error {
		if err := s.CreateProjectIn(r, tx, ns, pr, ferry.MaintainerAccess); err != nil {
			return err
		}
		im.ProjectID = pr.ID
		return s.cfg.Imports.Schedule(ctx, tx, im, token)
	})
	if err != nil {
		return projectSaveError(err)
	}
	writeJSON(w, http.StatusCreated, s.renderImportEntity(r, pr, repo.HTMLURL))
	return nil
}

// invalidSourceURL is GitLab's answer to a source URL it will not reach:
// 400 "Invalid URL: <as given>", nothing created, nothing retried. For an
// address local network imports would allow, the answer says so (the
// user gave that address; the hint names the administrator's switch).
// Why goes to the log; err names the host only, never the token.
func (s *Server) invalidSourceURL(r *http.Request, given string, err error) error {
	s.log.InfoContext(r.Context(), "import refused: source URL not allowed", "correlation_id", requestID(r.Context()), "error", err.Error())
	msg := "Invalid URL: " + given
	var blocked *netguard.BlockedError
	if errors.As(err, &blocked) && blocked.Local {
		msg += " (" + netguard.LocalHint + ")"
	}
	return serviceError(http.StatusBadRequest, msg)
}

// githubError maps a failed GitHub check to GitLab's answers.
func githubError(err error, what string) error {
	var apiErr *SourceAPIError
	switch {
	case errors.Is(err, ErrSourceRateLimited):
		return &httpError{status: http.StatusTooManyRequests, body: map[string]string{"error": "Too Many Requests"}}
	case errors.Is(err, ErrSourceUnauthorized) && what == "repository":
		return &httpError{status: http.StatusUnauthorized, body: map[string]string{"error": "Access denied to your GitHub account."}}
	case errors.Is(err, ErrSourceUnauthorized), errors.Is(err, ErrSourceForbidden):
		if what == "collaborators" {
			return serviceError(http.StatusUnprocessableEntity, "Your GitHub personal access token does not have read access to collaborators. Please use a classic GitHub personal access token with the `read:org` scope. Fine-grained tokens are not supported.")
		}
		return serviceError(http.StatusUnprocessableEntity, "Your GitHub personal access token does not have read access to the repository. Please use a classic GitHub personal access token with the `repo` scope. Fine-grained tokens are not supported.")
	case errors.As(err, &apiErr):
		body := apiErr.Body
		if len(body) > 500 {
			body = body[:500]
		}
		return serviceError(http.StatusUnprocessableEntity, fmt.Sprintf("Import failed because of a GitHub error: %s (HTTP %d)", strings.TrimSpace(body), apiErr.Status))
	}
	return serviceError(http.StatusUnprocessableEntity, "Import failed because of a GitHub error: "+err.Error())
}

// projectSaveError renders a failed project creation as the import
// services do: 422 with the messages joined.
func projectSaveError(err error) error {
	var fe *ferry.Error
	if !errors.As(err, &fe) || len(fe.Fields) == 0 {
		return err
	}
	keys := make([]string, 0, len(fe.Fields))
	for k := range fe.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var msgs []string
	for _, k := range keys {
		for _, m := range fe.Fields[k] {
			field := strings.ToUpper(k[:1]) + strings.ReplaceAll(k[1:], "_", " ")
			msgs = append(msgs, field+" "+m)
		}
	}
	return serviceError(http.StatusUnprocessableEntity, strings.Join(msgs, ", "))
}

// importEntity is GitLab's ProjectImportEntity.
type importEntity struct {
	ID                    int64   `json:"id"`
	Name                  string  `json:"name"`
	FullPath              string  `json:"full_path"`
	FullName              string  `json:"full_name"`
	RefsURL               string  `json:"refs_url"`
	ImportSource          string  `json:"import_source"`
	ImportStatus          string  `json:"import_status"`
	HumanImportStatusName string  `json:"human_import_status_name"`
	ProviderLink          string  `json:"provider_link"`
	RelationType          *string `json:"relation_type"`
	ImportWarning         *string `json:"import_warning"`
	ImportError           *string `json:"import_error,omitempty"`
}

func (s *Server) renderImportEntity(r *http.Request, p *ferry.Project, providerLink string) importEntity {
	return importEntity{ID: p.ID, Name: p.Name, FullPath: "/" + p.FullPath, FullName: p.FullName, RefsURL: "/" + p.FullPath + "/refs",
		ImportSource: p.ImportSource, ImportStatus: p.ImportStatus, HumanImportStatusName: p.ImportStatus, ProviderLink: providerLink}
}

// cancelGitHubImport is POST /import/github/cancel.
func (s *Server) cancelGitHubImport(w http.ResponseWriter, r *http.Request) error {
	if _, err := requireUser(r); err != nil {
		return err
	}
	p, err := s.params(r)
	if err != nil {
		return err
	}
	id := p.requireInt("project_id")
	if err := p.err(); err != nil {
		return err
	}
	if s.cfg.Imports == nil {
		return ferry.Errorf(ferry.ENOTIMPLEMENTED, "501 GitHub import is not enabled")
	}
	var pr *ferry.Project
	err = s.store.Write(r.Context(), func(tx *store.Tx) error {
		var err error
		pr, err = tx.ProjectByID(r.Context(), id)
		if err != nil || pr.ImportType != "github" {
			return ferry.Errorf(ferry.ENOTFOUND, "404 Not found")
		}
		if ok, err := tx.CanSeeProject(r.Context(), viewer(r), pr); err != nil {
			return err
		} else if !ok {
			return ferry.Errorf(ferry.ENOTFOUND, "Not Found")
		}
		if s.projectRole(r, tx, pr) < ferry.OwnerAccess {
			return ferry.Errorf(ferry.EFORBIDDEN, "Unauthorized access")
		}
		im, err := tx.ImportByProject(r.Context(), pr.ID)
		if err != nil {
			return err
		}
		if ferry.ImportDone(im.Status) {
			return ferry.Errorf(ferry.EBADREQUEST, "The import cannot be canceled because it is %s", im.Status)
		}
		if err := s.cfg.Imports.Cancel(r.Context(), tx, im); err != nil {
			return err
		}
		pr.ImportStatus = ferry.ImportCanceled
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.renderImportEntity(r, pr, ""))
	return nil
}

// importGitHubGists is POST /import/github/gists: snippets are not
// modelled yet, so it says so plainly instead of pretending.
func (s *Server) importGitHubGists(w http.ResponseWriter, r *http.Request) error {
	if _, err := requireUser(r); err != nil {
		return err
	}
	p, err := s.params(r)
	if err != nil {
		return err
	}
	p.requireStr("personal_access_token")
	if err := p.err(); err != nil {
		return err
	}
	return ferry.Errorf(ferry.ENOTIMPLEMENTED, "501 Not Implemented: importing GitHub gists into snippets is not supported by ferry yet")
}

// importStatus is GitLab's ProjectImportStatus, plus ferry's progress.
type importStatus struct {
	ID                int64              `json:"id"`
	Description       string             `json:"description"`
	Name              string             `json:"name"`
	NameWithNamespace string             `json:"name_with_namespace"`
	Path              string             `json:"path"`
	PathWithNamespace string             `json:"path_with_namespace"`
	CreatedAt         Time               `json:"created_at"`
	ImportStatus      string             `json:"import_status"`
	ImportType        *string            `json:"import_type"`
	CorrelationID     *string            `json:"correlation_id"`
	ImportError       *string            `json:"import_error"`
	FailedRelations   []failedRelation   `json:"failed_relations"`
	Stats             *importStats       `json:"stats"`
	Stage             *string            `json:"import_stage,omitempty"`
	Relations         []relationProgress `json:"relations,omitempty"`
	RateLimitUntil    *Time              `json:"waiting_for_rate_limit_until"`
	ETASeconds        *int64             `json:"estimated_seconds_remaining"`
	StartedAt         *Time              `json:"import_started_at,omitempty"`
	FinishedAt        *Time              `json:"import_finished_at,omitempty"`
}

type failedRelation struct {
	ID               int64  `json:"id"`
	CreatedAt        Time   `json:"created_at"`
	ExceptionClass   string `json:"exception_class"`
	ExceptionMessage string `json:"exception_message"`
	Source           string `json:"source"`
	RelationName     string `json:"relation_name"`
	LineNumber       int    `json:"line_number"`
	SourceURL        string `json:"source_url,omitempty"`
	SourceTitle      string `json:"source_title,omitempty"`
	CorrelationID    string `json:"correlation_id_value"`
}

type importStats struct {
	Fetched  map[string]int64 `json:"fetched"`
	Imported map[string]int64 `json:"imported"`
}

type relationProgress struct {
	Name     string `json:"name"`
	Stage    string `json:"stage"`
	State    string `json:"state"`
	Fetched  int64  `json:"fetched"`
	Imported int64  `json:"imported"`
	Failed   int64  `json:"failed"`
	Total    *int64 `json:"total"`
}

// getImportStatus is GET /projects/:id/import.
func (s *Server) getImportStatus(w http.ResponseWriter, r *http.Request) error {
	var pr *ferry.Project
	var role ferry.AccessLevel
	var im *ferry.Import
	var rels []*ferry.ImportRelation
	var fails []*ferry.ImportFailure
	var stats []ferry.ImportStat
	err := s.store.Read(r.Context(), func(tx *store.Tx) error {
		var err error
		if pr, role, err = s.FindProject(r, tx); err != nil {
			return err
		}
		im, err = tx.ImportByProject(r.Context(), pr.ID)
		if ferry.ErrorCode(err) == ferry.ENOTFOUND {
			im = nil
			return nil
		} else if err != nil {
			return err
		}
		if rels, err = tx.Relations(r.Context(), im.ID); err != nil {
			return err
		}
		if fails, err = tx.Failures(r.Context(), im.ID, 100); err != nil {
			return err
		}
		stats, err = tx.Stats(r.Context(), im.ID)
		return err
	})
	if err != nil {
		return err
	}
	out := importStatus{ID: pr.ID, Description: pr.Description, Name: pr.Name, NameWithNamespace: pr.FullName, Path: pr.Path,
		PathWithNamespace: pr.FullPath, CreatedAt: Time(pr.CreatedAt), ImportStatus: pr.ImportStatus, FailedRelations: []failedRelation{}}
	if im == nil {
		if pr.ImportStatus == "" {
			out.ImportStatus = ferry.ImportNone
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	}
	out.ImportStatus, out.ImportType, out.CorrelationID = im.Status, &im.SourceType, &im.CorrelationID
	// Errors and failures name source URLs and messages: GitLab shows them
	// to maintainers; others learn only that there is something to see.
	maintainer := currentUser(r) != nil && role >= ferry.MaintainerAccess
	if im.Error != "" && currentUser(r) != nil {
		msg := im.Error
		if !maintainer {
			msg = "Ask a maintainer to check the import status for more details."
		}
		out.ImportError = &msg
	}
	if !maintainer {
		fails = nil
	}
	for _, f := range fails {
		out.FailedRelations = append(out.FailedRelations, failedRelation{ID: f.ID, CreatedAt: Time(f.CreatedAt), ExceptionClass: f.ExceptionClass,
			ExceptionMessage: f.ExceptionMessage, Source: f.SourceURL, RelationName: f.Relation, SourceURL: f.SourceURL,
			SourceTitle: f.SourceTitle, CorrelationID: f.CorrelationID})
	}
	st := &importStats{Fetched: map[string]int64{}, Imported: map[string]int64{}}
	for _, x := range stats {
		st.Fetched[x.ObjectType], st.Imported[x.ObjectType] = x.Fetched, x.Imported
	}
	out.Stats = st
	if im.Stage != "" && !ferry.ImportDone(im.Status) {
		out.Stage = &im.Stage
	}
	for _, rel := range rels {
		rp := relationProgress{Name: rel.Name, Stage: rel.Stage, State: rel.State, Fetched: rel.Fetched, Imported: rel.Imported, Failed: rel.Failed}
		if rel.Total >= 0 {
			t := rel.Total
			rp.Total = &t
		}
		out.Relations = append(out.Relations, rp)
	}
	now := s.store.Now()
	if im.RateLimitUntil != nil && im.RateLimitUntil.After(now) && !ferry.ImportDone(im.Status) {
		out.RateLimitUntil = timeOrNil(im.RateLimitUntil)
	}
	out.StartedAt, out.FinishedAt = timeOrNil(im.StartedAt), timeOrNil(im.FinishedAt)
	out.ETASeconds = eta(im, rels, now)
	writeJSON(w, http.StatusOK, out)
	return nil
}

// eta estimates the seconds left from the relations whose totals are known:
// items left divided by the rate so far. Unknown until the import has
// started and some total is known.
func eta(im *ferry.Import, rels []*ferry.ImportRelation, now time.Time) *int64 {
	if ferry.ImportDone(im.Status) {
		zero := int64(0)
		return &zero
	}
	if im.StartedAt == nil {
		return nil
	}
	var done, left int64
	known := false
	for _, r := range rels {
		done += r.Fetched
		if r.Total >= 0 {
			known = true
			if r.State == ferry.RelationPending {
				left += max(r.Total-r.Fetched, 0)
			}
		}
	}
	elapsed := now.Sub(*im.StartedAt).Seconds()
	if !known || done == 0 || elapsed <= 0 {
		return nil
	}
	secs := int64(float64(left) / (float64(done) / elapsed))
	if im.RateLimitUntil != nil && im.RateLimitUntil.After(now) {
		secs += int64(im.RateLimitUntil.Sub(now).Seconds())
	}
	return &secs
}
