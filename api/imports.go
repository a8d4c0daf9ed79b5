package api

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/store"
)

// Imports is the import engine as the API sees it.
type Imports interface {
	// Schedule records im and enqueues it in tx; the credential is sealed.
	Schedule(ctx context.Context, tx *store.Tx, im *ferry.Import, credential string) error
	// Cancel ends im as canceled in tx.
	Cancel(ctx context.Context, tx *store.Tx, im *ferry.Import) error
	// HasSource reports whether the engine runs imports of a source type.
	HasSource(sourceType string) bool
	// CheckURL refuses a source URL imports may not reach (SSRF).
	CheckURL(ctx context.Context, rawURL string) error
	// RateLimitedUntil tells until when the rate-limit budget of
	// credential at apiBase's host is known to be spent; the zero time
	// when it is not.
	RateLimitedUntil(apiBase, credential string) time.Time
}

func (s *Server) importRoutes(r chi.Router) {
	r.Post("/import/github", s.wrap(s.importHandler(githubImport)))
	r.Post("/import/github/cancel", s.wrap(s.cancelImport(githubImport)))
	r.Post("/import/github/gists", s.wrap(s.importGitHubGists))
	r.Post("/import/bitbucket_server", s.wrap(s.importHandler(bitbucketServerImport)))
	r.Post("/import/bitbucket_server/cancel", s.wrap(s.cancelImport(bitbucketServerImport)))
	r.Get("/projects/{id}/import", s.wrap(s.getImportStatus))
}

// projectSaveError renders a failed project creation as the import
// services do: 422 with the messages joined; other errors pass.
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
	return ferry.Errorf(ferry.EUNPROCESSABLE, "%s", strings.Join(msgs, ", "))
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

// cancelImport is POST /import/<source>/cancel, as GitLab's
// Import::Github::CancelProjectImportService for every source.
func (s *Server) cancelImport(ep *importEndpoint) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
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
			return ferry.Errorf(ferry.ENOTIMPLEMENTED, "501 %s import is not enabled", ep.title)
		}
		var pr *ferry.Project
		err = s.store.Write(r.Context(), func(tx *store.Tx) error {
			var err error
			pr, err = tx.ProjectByID(r.Context(), id)
			if err != nil || pr.ImportType != ep.sourceType {
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
			if err := im.ErrIfEnded(); err != nil {
				return err
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
	// RateLimitBudgets (ferry extension) is what the import last saw of
	// each credential's rate-limit budgets at the source.
	RateLimitBudgets []rateLimitBudget `json:"rate_limit_budgets"`
	StartedAt        *Time             `json:"import_started_at,omitempty"`
	FinishedAt       *Time             `json:"import_finished_at,omitempty"`
	// Verification (ferry extension) is what the finished import was
	// checked against: what the source declared its items hold (comment
	// counters, reaction totals) and what landed; null while it runs or
	// when the source declared nothing. Each shortfall is also a failed
	// relation "verification" naming the item.
	Verification *verification `json:"verification"`
}

type verification struct {
	Status string              `json:"status"` // passed | failed
	Checks []verificationCheck `json:"checks"`
}

type verificationCheck struct {
	ObjectType string `json:"object_type"`
	Expected   int64  `json:"expected"`
	Imported   int64  `json:"imported"`
	Missing    int64  `json:"missing"`
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
	// Transfer is the relation's transfer in flight (a ferry extension):
	// a repository being fetched, in git objects, while its page is one
	// long step; absent otherwise.
	Transfer *transferProgress `json:"transfer,omitempty"`
}

// transferProgress is ferry.Transfer as the API shows it.
type transferProgress struct {
	Unit  string `json:"unit"` // "objects"
	Done  int64  `json:"done"`
	Total int64  `json:"total"`
}

// transferOf is a pending relation's transfer in flight, or nil.
func transferOf(rel *ferry.ImportRelation) *transferProgress {
	if rel.State != ferry.RelationPending || rel.Transfer.Total <= 0 {
		return nil
	}
	return &transferProgress{Unit: "objects", Done: rel.Transfer.Done, Total: rel.Transfer.Total}
}

// rateLimitBudget is ferry.ImportBudget as the status shows it: the
// credential by its place and kind, never by any part of it.
type rateLimitBudget struct {
	Credential int    `json:"credential"`
	Kind       string `json:"kind"`
	Budget     string `json:"budget"` // "api", or the source's other budget ("graphql")
	Remaining  *int64 `json:"remaining"`
	Limit      *int64 `json:"limit"`
	ResetAt    *Time  `json:"reset_at"`
	SeenAt     Time   `json:"seen_at"`
}

func rateLimitBudgets(bs []ferry.ImportBudget) []rateLimitBudget {
	out := make([]rateLimitBudget, 0, len(bs))
	for _, b := range bs {
		rb := rateLimitBudget{Credential: b.Credential, Kind: b.Kind, Budget: b.Budget, ResetAt: timeOrNil(b.ResetAt), SeenAt: Time(b.UpdatedAt)}
		if rb.Budget == "" {
			rb.Budget = "api"
		}
		if b.Remaining >= 0 {
			rb.Remaining = &b.Remaining
		}
		if b.Limit >= 0 {
			rb.Limit = &b.Limit
		}
		out = append(out, rb)
	}
	return out
}

// getImportStatus is GET /projects/:id/import.
func (s *Server) getImportStatus(w http.ResponseWriter, r *http.Request) error {
	var pr *ferry.Project
	var role ferry.AccessLevel
	var im *ferry.Import
	var rels []*ferry.ImportRelation
	var fails []*ferry.ImportFailure
	var stats []ferry.ImportStat
	var checks []ferry.VerificationCheck
	var budgets []ferry.ImportBudget
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
		if checks, err = tx.Verification(r.Context(), im.ID); err != nil {
			return err
		}
		if budgets, err = tx.ImportBudgets(r.Context(), im.ID); err != nil {
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
	// import_type is the project's (GitLab's column): a migrated project
	// says gitlab_project while its import runs the gitlab source.
	itype := im.SourceType
	if pr.ImportType != "" {
		itype = pr.ImportType
	}
	out.ImportStatus, out.ImportType, out.CorrelationID = im.Status, &itype, &im.CorrelationID
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
		rp := relationProgress{Name: rel.Name, Stage: rel.Stage, State: rel.State, Fetched: rel.Fetched, Imported: rel.Imported, Failed: rel.Failed,
			Transfer: transferOf(rel)}
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
	out.RateLimitBudgets = rateLimitBudgets(budgets)
	if len(checks) > 0 {
		v := &verification{Status: "passed", Checks: []verificationCheck{}}
		for _, c := range checks {
			v.Checks = append(v.Checks, verificationCheck{ObjectType: c.ObjectType, Expected: c.Expected, Imported: c.Imported, Missing: c.Missing})
			if c.Missing > 0 {
				v.Status = "failed"
			}
		}
		out.Verification = v
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// eta is estimated_seconds_remaining: 0 once the import has ended, else
// ferry.Import.SecondsLeft (the web pages show the same figure).
func eta(im *ferry.Import, rels []*ferry.ImportRelation, now time.Time) *int64 {
	if ferry.ImportDone(im.Status) {
		zero := int64(0)
		return &zero
	}
	return im.SecondsLeft(rels, now)
}
