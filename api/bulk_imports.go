package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/store"
)

// BulkRequest is a POST /bulk_imports as the API read it, for the
// BulkImporter's checks against the source.
type BulkRequest struct {
	URL   string // configuration[url], as given
	Token string // configuration[access_token]: never log or echo it
	// Entities are the entities as requested (IDs 0), destination_name
	// already moved into DestinationSlug.
	Entities []*ferry.BulkEntity
	UserID   int64
}

// BulkSource is what a check learned of the source instance.
type BulkSource struct {
	Version    string
	Enterprise bool
}

// BulkImporter is GitLab migrations by direct transfer as the API sees
// them: the checks against the source, and the runner behind them.
type BulkImporter interface {
	// Check runs validate! against the source (version, scopes, first
	// entity's path, export setting). An error of type *BulkRefusal is
	// answered 422 {"message": Message}; ErrSourceRateLimited as elsewhere;
	// any other error is a 500 (logged).
	Check(ctx context.Context, req *BulkRequest) (*BulkSource, error)
	// Create stores the import (seals the token, tx.CreateBulkImport) and
	// schedules its run, inside tx.
	Create(ctx context.Context, tx *store.Tx, b *ferry.BulkImport, entities []*ferry.BulkEntity, token string) error
	// Cancel stops the engine work of a bulk import being canceled,
	// inside the canceling tx (after tx.CancelBulkImport).
	Cancel(ctx context.Context, tx *store.Tx, b *ferry.BulkImport) error
}

// BulkRefusal is the source's refusal of a migration, with GitLab's
// message (BulkImports::Error).
type BulkRefusal struct{ Message string }

func (e *BulkRefusal) Error() string { return e.Message }

// GitLab's bulk_import rate limit: 6 requests a minute per user.
const (
	bulkRateLimit  = 6
	bulkRateWindow = time.Minute
)

var (
	// errBulkDisabled answers every endpoint when migrations are off, as
	// GitLab with bulk_import_enabled false (before authentication).
	errBulkDisabled = ferry.Errorf(ferry.ENOTFOUND, "404 Not Found")
	// errBulkNotFound is an import or entity not found or not the caller's
	// (ActiveRecord::RecordNotFound).
	errBulkNotFound = ferry.Errorf(ferry.ENOTFOUND, "404 Not found")
	// errBulkRateLimited is check_rate_limit!'s answer.
	errBulkRateLimited = &httpError{status: http.StatusTooManyRequests,
		body: map[string]any{"message": map[string]any{"error": "This endpoint has been requested too many times. Try again later."}}}
)

func (s *Server) bulkImportRoutes(r chi.Router) {
	r.Post("/bulk_imports", s.wrap(s.createBulkImport))
	r.Get("/bulk_imports", s.wrap(s.listBulkImports))
	r.Get("/bulk_imports/entities", s.wrap(s.listAllBulkEntities))
	r.Get("/bulk_imports/{import_id}", s.wrap(s.getBulkImport))
	r.Get("/bulk_imports/{import_id}/entities", s.wrap(s.listBulkEntities))
	r.Get("/bulk_imports/{import_id}/entities/{entity_id}", s.wrap(s.getBulkEntity))
	r.Get("/bulk_imports/{import_id}/entities/{entity_id}/failures", s.wrap(s.listBulkEntityFailures))
	r.Post("/bulk_imports/{import_id}/cancel", s.wrap(s.cancelBulkImport))
}

// bulkUser is every endpoint's before: 404 when migrations are off, then
// an authenticated caller.
func (s *Server) bulkUser(r *http.Request) (*ferry.User, error) {
	if s.cfg.BulkImports == nil {
		return nil, errBulkDisabled
	}
	return requireUser(r)
}

// rateLimiter counts requests per user in windows that start at a user's
// first request (ApplicationRateLimiter's increment-then-expire).
type rateLimiter struct {
	mu     sync.Mutex
	limit  int
	window time.Duration
	now    func() time.Time
	hits   map[int64]rateWindow
}

type rateWindow struct {
	start time.Time
	n     int
}

func newRateLimiter(limit int, window time.Duration, now func() time.Time) *rateLimiter {
	return &rateLimiter{limit: limit, window: window, now: now, hits: map[int64]rateWindow{}}
}

// allow counts a request of user and reports whether it is within limit.
func (l *rateLimiter) allow(user int64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.hits) > 10000 {
		for u, w := range l.hits {
			if !now.Before(w.start.Add(l.window)) {
				delete(l.hits, u)
			}
		}
	}
	w := l.hits[user]
	if w.n == 0 || !now.Before(w.start.Add(l.window)) {
		w = rateWindow{start: now}
	}
	w.n++
	l.hits[user] = w
	return w.n <= l.limit
}

// opaqueError hides a failure's own code: whatever the importer returned
// that is not one of its documented answers is ferry's failure (500).
type opaqueError struct{ err error }

func (e *opaqueError) Error() string { return e.err.Error() }

// createBulkImport is POST /bulk_imports, in GitLab's order: the
// parameters (400), the rate limit (429), the checks against the source
// (422), then each entity's destination (422) and the migration stored
// and scheduled, in one transaction.
func (s *Server) createBulkImport(w http.ResponseWriter, r *http.Request) error {
	b, err := s.runBulkImport(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, renderBulkImport(b))
	return nil
}

// runBulkImport is POST /bulk_imports' work, for the endpoint and for
// StartBulkImport (the web's form) alike.
func (s *Server) runBulkImport(r *http.Request) (*ferry.BulkImport, error) {
	u, err := s.bulkUser(r)
	if err != nil {
		return nil, err
	}
	p, err := s.params(r)
	if err != nil {
		return nil, err
	}
	req, err := parseBulkRequest(p)
	if err != nil {
		return nil, err
	}
	req.UserID = u.ID
	if !s.bulkLimit.allow(u.ID) {
		return nil, errBulkRateLimited
	}
	ctx := r.Context()
	src, err := s.cfg.BulkImports.Check(ctx, req)
	var refused *BulkRefusal
	switch {
	case errors.As(err, &refused):
		return nil, ferry.Errorf(ferry.EUNPROCESSABLE, "%s", refused.Message)
	case errors.Is(err, ErrSourceRateLimited):
		return nil, ErrSourceRateLimited
	case err != nil:
		return nil, &opaqueError{fmt.Errorf("check bulk import source: %w", err)}
	}
	b := &ferry.BulkImport{UserID: u.ID, Status: ferry.BulkCreated, SourceType: "gitlab", SourceURL: req.URL, SourceVersion: src.Version,
		SourceEnterprise: src.Enterprise}
	err = s.store.Write(ctx, func(tx *store.Tx) error {
		for _, e := range req.Entities {
			if err := s.checkBulkDestination(r, tx, e); err != nil {
				return err
			}
		}
		if err := s.cfg.BulkImports.Create(ctx, tx, b, req.Entities, req.Token); err != nil {
			if ferry.ErrorCode(err) == ferry.EUNPROCESSABLE {
				return err
			}
			return &opaqueError{fmt.Errorf("create bulk import: %w", err)}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	b.SealedCredential = ""
	return b, nil
}

func bulkInvalid(format string, args ...any) error {
	return ferry.Errorf(ferry.EUNPROCESSABLE, format, args...)
}

// checkBulkDestination is CreateService's per-entity checks, in order:
// the destination namespace (exists, and the caller may create there),
// the slug, the full path still free, and the entity model's own
// validation that a group does not go into itself.
func (s *Server) checkBulkDestination(r *http.Request, tx *store.Tx, e *ferry.BulkEntity) error {
	ctx := r.Context()
	ns := e.DestinationNamespace
	if strings.TrimSpace(ns) != "" {
		n, err := tx.NamespaceByPath(ctx, ns)
		if err != nil && ferry.ErrorCode(err) != ferry.ENOTFOUND {
			return err
		}
		// :create_subgroup for a group, :import_projects for a project:
		// Maintainer or more in both cases, admins always.
		if err != nil || n.Kind != ferry.KindGroup || s.namespaceRole(r, tx, n) < ferry.MaintainerAccess {
			return bulkInvalid("Import failed. Destination '%s' is invalid, or you don't have permission.", ns)
		}
	}
	if !ferry.ValidOCIPath(e.DestinationSlug) {
		return bulkInvalid("Import failed. Destination URL %s", ferry.OCIPathMessage)
	}
	full := e.DestinationSlug
	if strings.TrimSpace(ns) != "" {
		full = ns + "/" + e.DestinationSlug
	}
	var err error
	if e.SourceType == ferry.GroupEntity {
		_, err = tx.NamespaceByPath(ctx, full)
	} else {
		_, err = tx.ProjectByPath(ctx, full)
	}
	switch {
	case err == nil:
		return bulkInvalid("Import failed. '%s' already exists. Change the destination and try again.", full)
	case ferry.ErrorCode(err) != ferry.ENOTFOUND:
		return err
	}
	if e.SourceType == ferry.GroupEntity && (ns == e.SourceFullPath || strings.HasPrefix(ns, e.SourceFullPath+"/")) {
		// Entity#validate_destination_namespace_ascendency: only when the
		// source group is here too (a migration within one instance).
		if _, err := tx.NamespaceByPath(ctx, e.SourceFullPath); err == nil {
			return bulkInvalid("Validation failed: Import failed: Destination cannot be a subgroup of the source group. Change the destination and try again.")
		} else if ferry.ErrorCode(err) != ferry.ENOTFOUND {
			return err
		}
	}
	return nil
}

// grapeErrors collects Grape's messages and renders them grouped by
// parameter in order of first failure, as Grape::Exceptions::ValidationErrors.
type grapeErrors struct {
	order []string
	msgs  map[string][]string
}

func (g *grapeErrors) add(name, msg string) {
	if g.msgs == nil {
		g.msgs = map[string][]string{}
	}
	if _, ok := g.msgs[name]; !ok {
		g.order = append(g.order, name)
	}
	g.msgs[name] = append(g.msgs[name], msg)
}

func (g *grapeErrors) err() error {
	if len(g.order) == 0 {
		return nil
	}
	var out []string
	for _, n := range g.order {
		for _, m := range g.msgs[n] {
			out = append(out, n+" "+m)
		}
	}
	return ferry.Errorf(ferry.EINVALID, "%s", strings.Join(out, ", "))
}

// parseBulkRequest reads POST /bulk_imports' parameters as Grape declares
// them (lib/api/bulk_imports.rb): each declaration's validators run over
// every entity in turn, then the entity scope's mutually_exclusive and
// at_least_one_of of destination_slug and destination_name.
func parseBulkRequest(p *params) (*BulkRequest, error) {
	var ge grapeErrors
	req := &BulkRequest{}
	conf, ok := p.get("configuration")
	switch c := conf.(type) {
	case map[string]any:
		req.URL = bulkString(&ge, c, "configuration[url]", "url")
		req.Token = bulkString(&ge, c, "configuration[access_token]", "access_token")
	default:
		if !ok || conf == nil {
			ge.add("configuration", "is missing")
			ge.add("configuration[url]", "is missing")
			ge.add("configuration[access_token]", "is missing")
		} else {
			ge.add("configuration", "is invalid")
		}
	}
	raw, ok := p.get("entities")
	items, valid := bulkItems(raw)
	switch {
	case !ok || raw == nil:
		ge.add("entities", "is missing")
	case !valid:
		ge.add("entities", "is invalid")
	case len(items) == 0:
		ge.add("entities", "is empty")
	}
	if !valid {
		return nil, ge.err()
	}
	name := func(i int, attr string) string { return fmt.Sprintf("entities[%d][%s]", i, attr) }
	entities := make([]*ferry.BulkEntity, len(items))
	for i := range items {
		entities[i] = &ferry.BulkEntity{Status: ferry.BulkCreated, MigrateProjects: true, MigrateMemberships: true}
	}
	for i, it := range items {
		v, ok := bulkScalar(&ge, it, name(i, "source_type"), "source_type", true)
		if ok && v != ferry.GroupEntity && v != ferry.ProjectEntity {
			ge.add(name(i, "source_type"), "does not have a valid value")
		}
		entities[i].SourceType = v
	}
	for i, it := range items {
		v, ok := bulkScalar(&ge, it, name(i, "source_full_path"), "source_full_path", true)
		if !ok {
			continue
		}
		valid := (entities[i].SourceType == ferry.GroupEntity && ferry.ValidNamespaceFullPath(v)) ||
			(entities[i].SourceType == ferry.ProjectEntity && ferry.ValidProjectFullPath(v))
		if !valid {
			ge.add(name(i, "source_full_path"), ferry.SourceFullPathMessage)
		}
		entities[i].SourceFullPath = v
	}
	for i, it := range items {
		v, ok := bulkScalar(&ge, it, name(i, "destination_namespace"), "destination_namespace", true)
		if ok && strings.TrimSpace(v) != "" && !ferry.ValidNamespaceFullPath(v) {
			ge.add(name(i, "destination_namespace"), ferry.DestinationNamespaceMessage)
		}
		entities[i].DestinationNamespace = v
	}
	slugs := make([]string, len(items))
	for _, attr := range []string{"destination_slug", "destination_name"} {
		for i, it := range items {
			v, ok := bulkScalar(&ge, it, name(i, attr), attr, false)
			if !ok {
				continue
			}
			if !ferry.ValidOCIPath(v) {
				ge.add(name(i, attr), ferry.DestinationSlugMessage)
			}
			if slugs[i] == "" {
				slugs[i] = v
			}
		}
	}
	for _, attr := range []string{"migrate_projects", "migrate_memberships"} {
		for i, it := range items {
			v, ok := bulkScalar(&ge, it, name(i, attr), attr, false)
			if !ok || v == "" {
				continue
			}
			b, valid := parseBool(v)
			if !valid {
				ge.add(name(i, attr), "is invalid")
			}
			if attr == "migrate_projects" {
				entities[i].MigrateProjects = b
			} else {
				entities[i].MigrateMemberships = b
			}
		}
	}
	for i, it := range items {
		_, slug := it["destination_slug"]
		_, dname := it["destination_name"]
		both := name(i, "destination_slug") + ", " + name(i, "destination_name")
		switch {
		case slug && dname:
			ge.add(both, "are mutually exclusive")
		case !slug && !dname:
			ge.add(both, "are missing, at least one parameter must be provided")
		}
	}
	if err := ge.err(); err != nil {
		return nil, err
	}
	for i, e := range entities {
		e.DestinationSlug = slugs[i]
	}
	req.Entities = entities
	return req, nil
}

// bulkItems reads entities: a JSON array of objects, Rack's entities[][…]
// list, or a hash keyed by index (entities[0][…]).
func bulkItems(v any) ([]map[string]any, bool) {
	var list []any
	switch x := v.(type) {
	case nil:
		return nil, true
	case []any:
		list = x
	case map[string]any:
		keys := make([]int, 0, len(x))
		for k := range x {
			n, err := strconv.Atoi(k)
			if err != nil || n < 0 {
				return nil, false
			}
			keys = append(keys, n)
		}
		sort.Ints(keys)
		for _, k := range keys {
			list = append(list, x[strconv.Itoa(k)])
		}
	default:
		return nil, false
	}
	out := make([]map[string]any, 0, len(list))
	for _, it := range list {
		m, ok := it.(map[string]any)
		if !ok {
			return nil, false
		}
		out = append(out, m)
	}
	return out, true
}

// bulkString reads a required String of a hash (configuration).
func bulkString(ge *grapeErrors, m map[string]any, name, key string) string {
	v, _ := bulkScalar(ge, m, name, key, true)
	return v
}

// bulkScalar reads a String parameter of a hash: with required, a key
// that is absent is "is missing" (a null value is present, as in Grape);
// a hash or array is "is invalid". ok is false when nothing usable was
// given (absent, null or invalid).
func bulkScalar(ge *grapeErrors, m map[string]any, name, key string, required bool) (string, bool) {
	v, present := m[key]
	if !present {
		if required {
			ge.add(name, "is missing")
		}
		return "", false
	}
	if v == nil {
		return "", required
	}
	s, ok := scalar(v)
	if !ok {
		ge.add(name, "is invalid")
		return "", false
	}
	return s, true
}

// parseBool is Grape's Boolean coercion.
func parseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "yes", "t", "y", "on":
		return true, true
	case "false", "0", "no", "f", "n", "off":
		return false, true
	}
	return false, false
}

// bulkImportJSON is GitLab's API::Entities::BulkImport.
type bulkImportJSON struct {
	ID          int64  `json:"id"`
	Status      string `json:"status"`
	SourceType  string `json:"source_type"`
	SourceURL   string `json:"source_url"`
	CreatedAt   Time   `json:"created_at"`
	UpdatedAt   Time   `json:"updated_at"`
	HasFailures bool   `json:"has_failures"`
}

func renderBulkImport(b *ferry.BulkImport) bulkImportJSON {
	return bulkImportJSON{ID: b.ID, Status: b.Status, SourceType: b.SourceType, SourceURL: b.SourceURL, CreatedAt: Time(b.CreatedAt),
		UpdatedAt: Time(b.UpdatedAt), HasFailures: b.HasFailures}
}

// bulkEntityJSON is GitLab's API::Entities::BulkImports::Entity.
type bulkEntityJSON struct {
	ID                   int64                   `json:"id"`
	BulkImportID         int64                   `json:"bulk_import_id"`
	Status               string                  `json:"status"`
	EntityType           string                  `json:"entity_type"`
	SourceFullPath       string                  `json:"source_full_path"`
	DestinationFullPath  *string                 `json:"destination_full_path"`
	DestinationName      string                  `json:"destination_name"`
	DestinationSlug      string                  `json:"destination_slug"`
	DestinationNamespace string                  `json:"destination_namespace"`
	ParentID             *int64                  `json:"parent_id"`
	NamespaceID          *int64                  `json:"namespace_id"`
	ProjectID            *int64                  `json:"project_id"`
	CreatedAt            Time                    `json:"created_at"`
	UpdatedAt            Time                    `json:"updated_at"`
	Failures             []bulkFailureJSON       `json:"failures"`
	MigrateProjects      bool                    `json:"migrate_projects"`
	MigrateMemberships   bool                    `json:"migrate_memberships"`
	HasFailures          bool                    `json:"has_failures"`
	Stats                map[string]bulkStatJSON `json:"stats"`
	// NotMigrated (a ferry extension) names what GitLab migrates that
	// ferry does not, so nothing is skipped silently.
	NotMigrated []string `json:"not_migrated,omitempty"`
	// MigratedThrough (a ferry extension) says how the entity's content
	// was read: "export_relations" (GitLab's direct transfer) or
	// "rest_api" (the source had direct transfer off).
	MigratedThrough string `json:"migrated_through,omitempty"`
}

// BulkTransport is implemented by a BulkImporter that can say how an
// entity's import reads the source (MigratedThrough).
type BulkTransport interface {
	Through(im *ferry.Import) string
}

// BulkUnmodelled is implemented by a BulkImporter that can say what of a
// GitLab group or project it does not migrate.
type BulkUnmodelled interface {
	Unmodelled() []string
}

// notMigrated is what every entity shows as not migrated.
func (s *Server) notMigrated() []string {
	if u, ok := s.cfg.BulkImports.(BulkUnmodelled); ok {
		return u.Unmodelled()
	}
	return nil
}

type bulkStatJSON struct {
	Source   int64 `json:"source"`
	Fetched  int64 `json:"fetched"`
	Imported int64 `json:"imported"`
}

// bulkFailureJSON is GitLab's API::Entities::BulkImports::EntityFailure.
type bulkFailureJSON struct {
	Relation         string `json:"relation"`
	ExceptionMessage string `json:"exception_message"`
	ExceptionClass   string `json:"exception_class"`
	CorrelationID    string `json:"correlation_id_value"`
	SourceURL        string `json:"source_url"`
	SourceTitle      string `json:"source_title"`
}

// truncate is ActiveSupport's String#truncate: at most n characters,
// ending in "..." when cut.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-3]) + "..."
}

func renderBulkFailure(f *ferry.ImportFailure) bulkFailureJSON {
	return bulkFailureJSON{Relation: f.Relation, ExceptionMessage: truncate(f.ExceptionMessage, 72), ExceptionClass: f.ExceptionClass,
		CorrelationID: f.CorrelationID, SourceURL: f.SourceURL, SourceTitle: f.SourceTitle}
}

func idOrNil(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

// maxEntityFailures bounds the failures an entity shows inline; the
// failures endpoint pages through all of them.
const maxEntityFailures = 100

// renderBulkEntity reads what an entity shows beyond its row: where it
// went, its failures and its stats.
func (s *Server) renderBulkEntity(ctx context.Context, tx *store.Tx, e *ferry.BulkEntity) (bulkEntityJSON, error) {
	out := bulkEntityJSON{NotMigrated: s.notMigrated(), ID: e.ID, BulkImportID: e.BulkImportID, Status: e.Status, EntityType: strings.TrimSuffix(e.SourceType, "_entity"),
		SourceFullPath: e.SourceFullPath, DestinationName: e.DestinationSlug, DestinationSlug: e.DestinationSlug,
		DestinationNamespace: e.DestinationNamespace, ParentID: idOrNil(e.ParentID), NamespaceID: idOrNil(e.NamespaceID),
		ProjectID: idOrNil(e.ProjectID), CreatedAt: Time(e.CreatedAt), UpdatedAt: Time(e.UpdatedAt), Failures: []bulkFailureJSON{},
		MigrateProjects: e.MigrateProjects, MigrateMemberships: e.MigrateMemberships, Stats: map[string]bulkStatJSON{}}
	switch {
	case e.SourceType == ferry.ProjectEntity && e.ProjectID != 0:
		p, err := tx.ProjectByID(ctx, e.ProjectID)
		if err == nil {
			out.DestinationFullPath = &p.FullPath
		} else if ferry.ErrorCode(err) != ferry.ENOTFOUND {
			return out, err
		}
	case e.SourceType == ferry.GroupEntity && e.NamespaceID != 0:
		n, err := tx.NamespaceByID(ctx, e.NamespaceID)
		if err == nil {
			out.DestinationFullPath = &n.FullPath
		} else if ferry.ErrorCode(err) != ferry.ENOTFOUND {
			return out, err
		}
	}
	fails, total, err := tx.BulkEntityFailures(ctx, e, store.Page{Page: 1, PerPage: maxEntityFailures})
	if err != nil {
		return out, err
	}
	for _, f := range fails {
		out.Failures = append(out.Failures, renderBulkFailure(f))
	}
	out.HasFailures = total > 0 || e.Status == ferry.BulkFailed || e.Status == ferry.BulkTimeout
	stats, err := tx.BulkEntityStats(ctx, e)
	if err != nil {
		return out, err
	}
	for k, v := range stats {
		out.Stats[k] = bulkStatJSON{Source: v.Source, Fetched: v.Fetched, Imported: v.Imported}
	}
	if bt, ok := s.cfg.BulkImports.(BulkTransport); ok && e.ImportID != 0 {
		im, err := tx.ImportByID(ctx, e.ImportID)
		if err == nil {
			out.MigratedThrough = bt.Through(im)
		} else if ferry.ErrorCode(err) != ferry.ENOTFOUND {
			return out, err
		}
	}
	return out, nil
}

// bulkList is what the caller's lists of migrations and entities start
// with: the endpoint enabled, the caller signed in, page, sort and status.
func (s *Server) bulkList(r *http.Request) (*ferry.User, store.Page, bool, string, error) {
	u, err := s.bulkUser(r)
	if err != nil {
		return nil, store.Page{}, false, "", err
	}
	p, err := s.params(r)
	if err != nil {
		return nil, store.Page{}, false, "", err
	}
	pg, desc, status, err := bulkListParams(p, true)
	return u, pg, desc, status, err
}

// bulkListParams reads a list's page, sort and status (GitLab's values:
// every status name).
func bulkListParams(p *params, sortable bool) (store.Page, bool, string, error) {
	status, _ := p.enum("status", ferry.BulkStatuses...)
	desc := false
	if sortable {
		desc = p.sortDir() != "asc"
	}
	pg := page(p)
	return pg, desc, status, p.err()
}

// listBulkImports is GET /bulk_imports: the caller's migrations, newest
// first unless sort=asc.
func (s *Server) listBulkImports(w http.ResponseWriter, r *http.Request) error {
	u, pg, desc, status, err := s.bulkList(r)
	if err != nil {
		return err
	}
	var list []*ferry.BulkImport
	var total int
	err = s.store.Read(r.Context(), func(tx *store.Tx) error {
		list, total, err = tx.ListBulkImports(r.Context(), store.BulkFilter{UserID: u.ID, Status: status, Desc: desc}, pg)
		return err
	})
	if err != nil {
		return err
	}
	writePage(s, w, r, pg, total, list, renderBulkImport)
	return nil
}

// writeBulkEntities renders a page of entities.
func (s *Server) writeBulkEntities(w http.ResponseWriter, r *http.Request, f store.EntityFilter, pg store.Page) error {
	var out []bulkEntityJSON
	var total int
	err := s.store.Read(r.Context(), func(tx *store.Tx) error {
		if f.BulkImportID != 0 {
			if _, err := s.findBulkImport(r, tx, f.UserID, f.BulkImportID); err != nil {
				return err
			}
		}
		list, n, err := tx.ListBulkEntities(r.Context(), f, pg)
		if err != nil {
			return err
		}
		total, out = n, make([]bulkEntityJSON, 0, len(list))
		for _, e := range list {
			j, err := s.renderBulkEntity(r.Context(), tx, e)
			if err != nil {
				return err
			}
			out = append(out, j)
		}
		return nil
	})
	if err != nil {
		return err
	}
	writePage(s, w, r, pg, total, out, func(j bulkEntityJSON) bulkEntityJSON { return j })
	return nil
}

// listAllBulkEntities is GET /bulk_imports/entities: the entities of all
// the caller's migrations, newest first unless sort=asc.
func (s *Server) listAllBulkEntities(w http.ResponseWriter, r *http.Request) error {
	u, pg, desc, status, err := s.bulkList(r)
	if err != nil {
		return err
	}
	return s.writeBulkEntities(w, r, store.EntityFilter{UserID: u.ID, Status: status, Desc: desc}, pg)
}

// bulkTarget is what every read of one migration starts with: the
// endpoint enabled and the caller signed in (bulkUser), then the path's
// ids (bulkIDs).
func (s *Server) bulkTarget(r *http.Request, entity bool) (*ferry.User, int64, int64, error) {
	u, err := s.bulkUser(r)
	if err != nil {
		return nil, 0, 0, err
	}
	id, eid, err := bulkIDs(r, entity)
	return u, id, eid, err
}

// bulkIDs reads the path's import_id and, when asked, entity_id (Grape's
// Integer: anything else is "is invalid").
func bulkIDs(r *http.Request, entity bool) (int64, int64, error) {
	var ge grapeErrors
	parse := func(name string) int64 {
		n, err := strconv.ParseInt(chi.URLParam(r, name), 10, 64)
		if err != nil {
			ge.add(name, "is invalid")
		}
		return n
	}
	id := parse("import_id")
	var eid int64
	if entity {
		eid = parse("entity_id")
	}
	return id, eid, ge.err()
}

// findBulkImport is ImportsFinder scoped to the caller: another user's
// migration is not found, whoever asks.
func (s *Server) findBulkImport(r *http.Request, tx *store.Tx, userID, id int64) (*ferry.BulkImport, error) {
	b, err := tx.BulkImportByID(r.Context(), id)
	if ferry.ErrorCode(err) == ferry.ENOTFOUND || (err == nil && b.UserID != userID) {
		return nil, errBulkNotFound
	}
	return b, err
}

// getBulkImport is GET /bulk_imports/:import_id.
func (s *Server) getBulkImport(w http.ResponseWriter, r *http.Request) error {
	u, id, _, err := s.bulkTarget(r, false)
	if err != nil {
		return err
	}
	var b *ferry.BulkImport
	err = s.store.Read(r.Context(), func(tx *store.Tx) error {
		b, err = s.findBulkImport(r, tx, u.ID, id)
		return err
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, renderBulkImport(b))
	return nil
}

// listBulkEntities is GET /bulk_imports/:import_id/entities, by id.
func (s *Server) listBulkEntities(w http.ResponseWriter, r *http.Request) error {
	u, id, _, err := s.bulkTarget(r, false)
	if err != nil {
		return err
	}
	p, err := s.params(r)
	if err != nil {
		return err
	}
	pg, _, status, err := bulkListParams(p, false)
	if err != nil {
		return err
	}
	return s.writeBulkEntities(w, r, store.EntityFilter{UserID: u.ID, BulkImportID: id, Status: status}, pg)
}

// findBulkEntity finds the caller's migration, then its entity.
func (s *Server) findBulkEntity(r *http.Request, tx *store.Tx, userID, id, eid int64) (*ferry.BulkEntity, error) {
	if _, err := s.findBulkImport(r, tx, userID, id); err != nil {
		return nil, err
	}
	e, err := tx.BulkEntityByID(r.Context(), id, eid)
	if ferry.ErrorCode(err) == ferry.ENOTFOUND {
		return nil, errBulkNotFound
	}
	return e, err
}

// getBulkEntity is GET /bulk_imports/:import_id/entities/:entity_id.
func (s *Server) getBulkEntity(w http.ResponseWriter, r *http.Request) error {
	u, id, eid, err := s.bulkTarget(r, true)
	if err != nil {
		return err
	}
	var out bulkEntityJSON
	err = s.store.Read(r.Context(), func(tx *store.Tx) error {
		e, err := s.findBulkEntity(r, tx, u.ID, id, eid)
		if err != nil {
			return err
		}
		out, err = s.renderBulkEntity(r.Context(), tx, e)
		return err
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// listBulkEntityFailures is GET /bulk_imports/:import_id/entities/:entity_id/failures.
func (s *Server) listBulkEntityFailures(w http.ResponseWriter, r *http.Request) error {
	u, id, eid, err := s.bulkTarget(r, true)
	if err != nil {
		return err
	}
	p, err := s.params(r)
	if err != nil {
		return err
	}
	pg := page(p)
	if err := p.err(); err != nil {
		return err
	}
	var fails []*ferry.ImportFailure
	var total int
	err = s.store.Read(r.Context(), func(tx *store.Tx) error {
		e, err := s.findBulkEntity(r, tx, u.ID, id, eid)
		if err != nil {
			return err
		}
		fails, total, err = tx.BulkEntityFailures(r.Context(), e, pg)
		return err
	})
	if err != nil {
		return err
	}
	writePage(s, w, r, pg, total, fails, renderBulkFailure)
	return nil
}

// cancelBulkImport is POST /bulk_imports/:import_id/cancel: any
// migration, found without the caller's scope (404 when there is none),
// the caller's own or, for an admin, anyone's (403 otherwise); any status
// becomes canceled, and the engine stops its entities' imports in the same
// transaction.
func (s *Server) cancelBulkImport(w http.ResponseWriter, r *http.Request) error {
	u, id, _, err := s.bulkTarget(r, false)
	if err != nil {
		return err
	}
	ctx := r.Context()
	var b *ferry.BulkImport
	err = s.store.Write(ctx, func(tx *store.Tx) error {
		found, err := tx.LockBulkImport(ctx, id)
		if ferry.ErrorCode(err) == ferry.ENOTFOUND {
			return errNotFound
		} else if err != nil {
			return err
		}
		if found.UserID != u.ID && !u.IsAdmin {
			return errForbidden
		}
		if b, err = tx.CancelBulkImport(ctx, id); err != nil {
			return err
		}
		if err := s.cfg.BulkImports.Cancel(ctx, tx, b); err != nil {
			return &opaqueError{fmt.Errorf("cancel bulk import %d: %w", id, err)}
		}
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, renderBulkImport(b))
	return nil
}
