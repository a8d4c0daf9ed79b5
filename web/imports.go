package web

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/store"
)

// Statuses the history filter offers: the imports' and the migrations'.
var statuses = []string{ferry.ImportScheduled, ferry.BulkCreated, ferry.ImportStarted, ferry.ImportFinished, ferry.ImportFailed,
	ferry.BulkTimeout, ferry.ImportCanceled}

const (
	// historyRows is how many rows each list of the history shows a page.
	historyRows = 50
)

var funcs = template.FuncMap{
	"when": func(v any) string {
		t, ok := timeOf(v)
		if !ok {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"iso": func(v any) string {
		t, ok := timeOf(v)
		if !ok {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	},
	"day": func(v any) string {
		t, ok := timeOf(v)
		if !ok {
			return ""
		}
		return t.UTC().Format("2006-01-02")
	},
	"barmax": func(r relationView) int64 { return r.max() },
	// count is "1 commit", "2 commits": count n "commit" (or count n
	// "branch" "branches").
	"count": func(n int, one string, many ...string) string {
		if n == 1 {
			return "1 " + one
		}
		if len(many) > 0 {
			return strconv.Itoa(n) + " " + many[0]
		}
		return strconv.Itoa(n) + " " + one + "s"
	},
	// dict passes several values to a template: dict "K1" v1 "K2" v2.
	"dict": func(kv ...any) (map[string]any, error) {
		if len(kv)%2 != 0 {
			return nil, fmt.Errorf("dict: %d arguments", len(kv))
		}
		m := make(map[string]any, len(kv)/2)
		for i := 0; i < len(kv); i += 2 {
			k, ok := kv[i].(string)
			if !ok {
				return nil, fmt.Errorf("dict: key %v", kv[i])
			}
			m[k] = kv[i+1]
		}
		return m, nil
	},
}

// timeOf is a template's time.Time or *time.Time; false for nil and the
// zero time.
func timeOf(v any) (time.Time, bool) {
	switch t := v.(type) {
	case time.Time:
		return t, !t.IsZero()
	case *time.Time:
		if t != nil {
			return *t, !t.IsZero()
		}
	}
	return time.Time{}, false
}

// importRow is one line of the history.
type importRow struct {
	ProjectID                   int64
	Target, SourceType, Source  string
	Status                      string
	Started                     *time.Time
	Duration                    string
	Fetched, Imported, Failures int64
}

// migrationRow is one GitLab migration of the history with its entities.
type migrationRow struct {
	ID                  int64
	Source, Status      string
	Created             *time.Time
	Duration            string
	HasFailures         bool
	Entities            []entityRow
	Fetched, Imported   int64
	EntityFailuresTotal int
}

type entityRow struct {
	ID                                int64
	ProjectID                         int64
	Kind, Source, Destination, Status string
	Fetched, Imported                 int64
	Failures                          int
}

func (h *Handler) history(w http.ResponseWriter, r *http.Request) {
	if s := h.signedIn(w, r); s != nil {
		h.historyFor(w, r, s)
	}
}

// historyFor renders the imports s's user may see: project imports of the
// projects they are a member of (every one for administrators) and the
// GitLab migrations they started (every one for administrators), newest
// first, optionally of one status; ?page= pages the project imports and
// ?mpage= the migrations.
func (h *Handler) historyFor(w http.ResponseWriter, r *http.Request, s *session) {
	status := r.URL.Query().Get("status")
	if !slices.Contains(statuses, status) {
		status = ""
	}
	page, mpage := pageParam(r), pageParamOf(r, "mpage")
	var imports []importRow
	var migrations []migrationRow
	var nImports, nMigrations int
	ctx := r.Context()
	err := h.store.Read(ctx, func(tx *store.Tx) error {
		var err error
		if imports, nImports, err = projectImports(ctx, tx, s.user, status, page); err != nil {
			return err
		}
		migrations, nMigrations, err = bulkImports(ctx, tx, s.user, status, mpage)
		return err
	})
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	h.render(w, r, http.StatusOK, "history", s, map[string]any{"Title": "Imports", "Imports": imports, "ImportsTotal": nImports,
		"Pager": newPager(r, page, historyRows, nImports).labeled("Pages of project imports"), "Migrations": migrations, "MigrationsTotal": nMigrations,
		"MPager": newPagerOf(r, "mpage", mpage, historyRows, nMigrations).labeled("Pages of migrations"), "Status": status, "Statuses": statuses})
}

// projectImports lists one page of project imports (GitHub, Bitbucket
// Server; the projects of GitLab migrations show under their migration)
// with the total, in one store query.
func projectImports(ctx context.Context, tx *store.Tx, u *ferry.User, status string, page int) ([]importRow, int, error) {
	f := store.ImportFilter{Viewer: store.Viewer{UserID: u.ID, Admin: u.IsAdmin}, Status: status, SkipImportType: "gitlab_project"}
	list, total, err := tx.ListProjectImports(ctx, f, store.Page{Page: page, PerPage: historyRows})
	if err != nil {
		return nil, 0, err
	}
	now := tx.Now()
	rows := make([]importRow, 0, len(list))
	for _, x := range list {
		im := x.Import
		src := im.SourceURL + " " + im.SourceRef
		if x.ImportSource != "" {
			src = im.SourceURL + " " + x.ImportSource
		}
		rows = append(rows, importRow{ProjectID: im.ProjectID, Target: x.ProjectFullPath, SourceType: im.SourceType, Source: src, Status: im.Status,
			Started: im.StartedAt, Duration: duration(im.StartedAt, im.FinishedAt, now), Fetched: x.Fetched, Imported: x.Imported, Failures: x.Failures})
	}
	return rows, total, nil
}

func sourceOf(im *ferry.Import, p *ferry.Project) string {
	if p != nil && p.ImportSource != "" {
		return im.SourceURL + " " + p.ImportSource
	}
	return im.SourceURL + " " + im.SourceRef
}

// bulkImports lists one page of GitLab migrations with their entities,
// and the total.
func bulkImports(ctx context.Context, tx *store.Tx, u *ferry.User, status string, page int) ([]migrationRow, int, error) {
	f := store.BulkFilter{UserID: u.ID, Status: status, Desc: true}
	if u.IsAdmin {
		f.UserID = 0
	}
	list, total, err := tx.ListBulkImports(ctx, f, store.Page{Page: page, PerPage: historyRows})
	if err != nil {
		return nil, 0, err
	}
	now := tx.Now()
	var rows []migrationRow
	for _, b := range list {
		row, err := migrationOf(ctx, tx, b, now)
		if err != nil {
			return nil, 0, err
		}
		rows = append(rows, row)
	}
	return rows, total, nil
}

func migrationOf(ctx context.Context, tx *store.Tx, b *ferry.BulkImport, now time.Time) (migrationRow, error) {
	created := b.CreatedAt
	row := migrationRow{ID: b.ID, Source: b.SourceURL, Status: b.Status, Created: &created, HasFailures: b.HasFailures}
	var end *time.Time
	if b.Status != ferry.BulkCreated && b.Status != ferry.BulkStarted {
		e := b.UpdatedAt
		end = &e
	}
	row.Duration = duration(&created, end, now)
	ents, err := tx.BulkEntitiesOf(ctx, b.ID)
	if err != nil {
		return row, err
	}
	for _, e := range ents {
		er := entityRow{ID: e.ID, ProjectID: e.ProjectID, Kind: e.SourceType, Source: e.SourceFullPath, Status: e.Status,
			Destination: e.DestinationNamespace + "/" + e.DestinationSlug}
		if e.DestinationNamespace == "" {
			er.Destination = e.DestinationSlug
		}
		stats, err := tx.BulkEntityStats(ctx, e)
		if err != nil {
			return row, err
		}
		for _, st := range stats {
			er.Fetched += st.Fetched
			er.Imported += st.Imported
		}
		_, n, err := tx.BulkEntityFailures(ctx, e, store.Page{Page: 1, PerPage: 1})
		if err != nil {
			return row, err
		}
		er.Failures = n
		row.Fetched += er.Fetched
		row.Imported += er.Imported
		row.EntityFailuresTotal += n
		row.Entities = append(row.Entities, er)
	}
	return row, nil
}

// duration is how long something ran: to end, or to now while running.
func duration(start, end *time.Time, now time.Time) string {
	if start == nil {
		return ""
	}
	to := now
	if end != nil {
		to = *end
	}
	d := to.Sub(*start).Round(time.Second)
	if d < 0 {
		d = 0
	}
	return d.String()
}

// relationView is one relation's progress.
type relationView struct {
	Name     string `json:"name"`
	Stage    string `json:"stage"`
	State    string `json:"state"`
	Fetched  int64  `json:"fetched"`
	Imported int64  `json:"imported"`
	Failed   int64  `json:"failed"`
	Total    int64  `json:"total"` // -1: unknown
	Error    string `json:"error,omitempty"`
	// A repository being fetched: git objects received of the total
	// (0 of 0 when nothing is in flight).
	TransferDone  int64 `json:"transfer_done"`
	TransferTotal int64 `json:"transfer_total"`
}

// max is the scale of the relation's progress bars: its total when
// known, else what was fetched.
func (r relationView) max() int64 {
	if r.Total > 0 {
		return max(r.Total, r.Fetched)
	}
	return max(r.Fetched, 1)
}

// importView is one import's page, and (its live fields) the JSON the
// page polls.
type importView struct {
	ProjectID      int64                  `json:"project_id"`
	Target         string                 `json:"-"`
	SourceType     string                 `json:"-"`
	Source         string                 `json:"-"`
	Status         string                 `json:"status"`
	Stage          string                 `json:"stage"`
	Done           bool                   `json:"done"`
	Error          string                 `json:"-"`
	Started        *time.Time             `json:"-"`
	Finished       *time.Time             `json:"-"`
	Duration       string                 `json:"duration"`
	ETA            string                 `json:"eta"`
	RateLimitUntil *time.Time             `json:"rate_limit_until"`
	Relations      []relationView         `json:"relations"`
	Failures       []*ferry.ImportFailure `json:"-"`
	FailuresHidden bool                   `json:"-"`
	Verification   *verificationView      `json:"-"`
	CanCancel      bool                   `json:"-"`
	CorrelationID  string                 `json:"-"`
}

type verificationView struct {
	Status string
	Checks []ferry.VerificationCheck
}

// loadImport reads the import of project id as s's user may see it:
// ENOTFOUND when the project is not there or not visible to them.
func (h *Handler) loadImport(ctx context.Context, s *session, idText string) (*importView, error) {
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil || id <= 0 {
		return nil, ferry.Errorf(ferry.ENOTFOUND, "not found")
	}
	var v *importView
	err = h.store.Read(ctx, func(tx *store.Tx) error {
		p, role, err := visibleProject(ctx, tx, s.user, id)
		if err != nil {
			return err
		}
		im, err := tx.ImportByProject(ctx, p.ID)
		if err != nil {
			return err
		}
		rels, err := tx.Relations(ctx, im.ID)
		if err != nil {
			return err
		}
		now := tx.Now()
		v = &importView{ProjectID: p.ID, Target: p.FullPath, SourceType: im.SourceType, Source: sourceOf(im, p), Status: im.Status,
			Done: ferry.ImportDone(im.Status), Started: im.StartedAt, Finished: im.FinishedAt, Duration: duration(im.StartedAt, im.FinishedAt, now),
			CorrelationID: im.CorrelationID, Relations: []relationView{}}
		if !v.Done {
			v.Stage = im.Stage
			if im.RateLimitUntil != nil && im.RateLimitUntil.After(now) {
				v.RateLimitUntil = im.RateLimitUntil
			}
		}
		for _, rel := range rels {
			rv := relationView{Name: rel.Name, Stage: rel.Stage, State: rel.State, Fetched: rel.Fetched,
				Imported: rel.Imported, Failed: rel.Failed, Total: rel.Total, Error: rel.Error}
			if rel.State == ferry.RelationPending && rel.Transfer.Total > 0 {
				rv.TransferDone, rv.TransferTotal = rel.Transfer.Done, rel.Transfer.Total
			}
			v.Relations = append(v.Relations, rv)
		}
		if secs := im.SecondsLeft(rels, now); secs != nil {
			v.ETA = (time.Duration(*secs) * time.Second).String()
		}
		// As the API: errors and failures name source URLs and messages,
		// for maintainers; others learn only that there is something.
		maintainer := role >= ferry.MaintainerAccess
		if im.Error != "" {
			v.Error = im.Error
			if !maintainer {
				v.Error = "Ask a maintainer to check the import status for more details."
			}
		}
		if maintainer {
			if v.Failures, err = tx.Failures(ctx, im.ID, 100); err != nil {
				return err
			}
		} else {
			v.FailuresHidden = true
		}
		checks, err := tx.Verification(ctx, im.ID)
		if err != nil {
			return err
		}
		if len(checks) > 0 {
			v.Verification = &verificationView{Status: "passed", Checks: checks}
			for _, c := range checks {
				if c.Missing > 0 {
					v.Verification.Status = "failed"
				}
			}
		}
		v.CanCancel = !v.Done && role >= ferry.OwnerAccess && s.canWrite() && h.imports != nil
		return nil
	})
	return v, err
}

// visibleProject is the project id with the user's role on it, or
// ENOTFOUND when they may not see it (as the API answers).
func visibleProject(ctx context.Context, tx *store.Tx, u *ferry.User, id int64) (*ferry.Project, ferry.AccessLevel, error) {
	p, err := tx.ProjectByID(ctx, id)
	if err != nil {
		return nil, 0, err
	}
	if ok, err := tx.CanSeeProject(ctx, store.Viewer{UserID: u.ID, Admin: u.IsAdmin}, p); err != nil {
		return nil, 0, err
	} else if !ok {
		return nil, 0, ferry.Errorf(ferry.ENOTFOUND, "not found")
	}
	if u.IsAdmin {
		return p, ferry.OwnerAccess, nil
	}
	role, err := tx.ProjectAccess(ctx, u.ID, p.ID)
	return p, role, err
}

func (h *Handler) importPage(w http.ResponseWriter, r *http.Request) {
	s := h.signedIn(w, r)
	if s == nil {
		return
	}
	v, err := h.loadImport(r.Context(), s, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	h.render(w, r, http.StatusOK, "import", s, map[string]any{"Title": "Import of " + v.Target, "Import": v})
}

// importJSON is what the page's script polls: the live numbers.
func (h *Handler) importJSON(w http.ResponseWriter, r *http.Request) {
	s := h.session(r)
	w.Header().Set("Content-Type", "application/json")
	if s == nil {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"message":"401 Unauthorized"}`))
		return
	}
	v, err := h.loadImport(r.Context(), s, r.PathValue("id"))
	if err != nil {
		code := http.StatusInternalServerError
		if ferry.ErrorCode(err) == ferry.ENOTFOUND {
			code = http.StatusNotFound
		} else {
			h.log.ErrorContext(r.Context(), "web import status", "error", err)
		}
		w.WriteHeader(code)
		_, _ = fmt.Fprintf(w, `{"message":%q}`, http.StatusText(code))
		return
	}
	_ = json.NewEncoder(w).Encode(v)
}

// cancel ends a running import, for its owners (and administrators) with
// a token that may write, as POST /import/<source>/cancel.
func (h *Handler) cancel(w http.ResponseWriter, r *http.Request) {
	s := h.formPost(w, r, 64<<10)
	if s == nil {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || h.imports == nil {
		h.fail(w, r, s, ferry.Errorf(ferry.ENOTFOUND, "not found"))
		return
	}
	err = h.store.Write(r.Context(), func(tx *store.Tx) error {
		p, role, err := visibleProject(r.Context(), tx, s.user, id)
		if err != nil {
			return err
		}
		if role < ferry.OwnerAccess || !s.canWrite() {
			return ferry.Errorf(ferry.EFORBIDDEN, "Only the project's owners may cancel its import, with a token of the api scope.")
		}
		im, err := tx.ImportByProject(r.Context(), p.ID)
		if err != nil {
			return err
		}
		if err := im.ErrIfEnded(); err != nil {
			return err
		}
		return h.imports.Cancel(r.Context(), tx, im)
	})
	if ferry.ErrorCode(err) == ferry.EFORBIDDEN {
		h.render(w, r, http.StatusForbidden, "error", s, map[string]any{"Title": "Forbidden", "Message": ferry.ErrorMessage(err)})
		return
	} else if err != nil {
		h.fail(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/-/imports/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
}

// migration is one GitLab migration with its entities, for the user who
// started it and administrators.
func (h *Handler) migration(w http.ResponseWriter, r *http.Request) {
	s := h.signedIn(w, r)
	if s == nil {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		h.fail(w, r, s, ferry.Errorf(ferry.ENOTFOUND, "not found"))
		return
	}
	var row migrationRow
	err = h.store.Read(r.Context(), func(tx *store.Tx) error {
		b, err := tx.BulkImportByID(r.Context(), id)
		if err != nil {
			return err
		}
		if b.UserID != s.user.ID && !s.user.IsAdmin {
			return ferry.Errorf(ferry.ENOTFOUND, "not found")
		}
		row, err = migrationOf(r.Context(), tx, b, tx.Now())
		return err
	})
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	h.render(w, r, http.StatusOK, "migration", s, map[string]any{"Title": fmt.Sprintf("Migration %d", row.ID), "M": row,
		"Running": row.Status == ferry.BulkCreated || row.Status == ferry.BulkStarted})
}
