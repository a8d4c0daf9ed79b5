package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/api"
	"github.com/ferry-import/ferry/bulk"
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/netguard"
	"github.com/ferry-import/ferry/source/gitlab"
	"github.com/ferry-import/ferry/sourcehttp"
	"github.com/ferry-import/ferry/store"
)

// gitlabMigrations is direct transfer's part of the API (api.BulkImporter):
// GitLab's validate! against the source, through the engine's guarded,
// governed client, and the bulk runner behind it.
type gitlabMigrations struct {
	e      *importer.Engine
	runner *bulk.Runner
	log    *slog.Logger
}

// baseURL is the instance URL a migration talks to and stores:
// configuration[url] as the GitLab source normalises it, without the
// trailing slash.
func baseURL(raw string) (string, error) {
	u, err := gitlab.BaseURL(raw)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(u.String(), "/"), nil
}

func refusal(msg string) error { return &api.BulkRefusal{Message: msg} }

// Check runs GitLab's validate! in its order: the instance (address,
// version, token scopes), the first entity's path, the export setting.
// Where the source has export_relations switched off, GitLab refuses;
// ferry migrates through the source's REST API instead, so that answer
// is logged, not refused.
func (g gitlabMigrations) Check(ctx context.Context, req *api.BulkRequest) (*api.BulkSource, error) {
	invalidURL := refusal(gitlab.ErrInvalidURL.Error())
	base, err := baseURL(req.URL)
	if err == nil {
		err = g.e.CheckURL(ctx, base)
	}
	if err != nil {
		g.log.InfoContext(ctx, "bulk import refused: source URL not allowed", "correlation_id", api.RequestID(ctx), "error", err.Error())
		return nil, invalidURL
	}
	if !g.e.RateLimitedUntil(base, req.Token).IsZero() {
		return nil, api.ErrSourceRateLimited
	}
	hc, _, err := g.e.HTTPClient(gitlab.Type, base, req.Token, nil)
	if err != nil {
		return nil, err
	}
	translate := func(err error) error {
		var blocked *netguard.BlockedError
		var wait *sourcehttp.WaitError
		var refused *api.BulkRefusal
		switch {
		case errors.As(err, &refused):
			return refused
		case errors.As(err, &blocked), errors.Is(err, netguard.ErrBlocked):
			// A blocked address, or a redirect the guard would not follow.
			g.log.InfoContext(ctx, "bulk import refused: source address not allowed", "correlation_id", api.RequestID(ctx), "error", err.Error())
			return invalidURL
		case errors.As(err, &wait):
			return api.ErrSourceRateLimited
		case errors.Is(err, gitlab.ErrCredentials), errors.Is(err, gitlab.ErrInvalidURL), errors.Is(err, gitlab.ErrUnsupportedVersion):
			return refusal(rootCause(err).Error())
		}
		// The source failed (5xx, reset, garbage): GitLab answers its
		// NetworkError's text; ferry says which step, the log says why.
		g.log.InfoContext(ctx, "bulk import check failed at the source", "correlation_id", api.RequestID(ctx), "error", err.Error())
		return refusal("Import failed. The source instance did not answer as a GitLab instance does.")
	}
	inst, err := gitlab.CheckInstance(ctx, hc, base, req.Token)
	if err != nil {
		return nil, translate(err)
	}
	if len(req.Entities) == 0 {
		return &api.BulkSource{Version: inst.Version, Enterprise: inst.Enterprise}, nil
	}
	first := req.Entities[0]
	kind := strings.TrimSuffix(first.SourceType, "_entity")
	ent, err := gitlab.Lookup(ctx, hc, base, req.Token, kind, first.SourceFullPath)
	if errors.Is(err, gitlab.ErrNotFound) {
		return nil, refusal(fmt.Sprintf("Import failed. '%s' not found.", first.SourceFullPath))
	} else if err != nil {
		return nil, translate(err)
	}
	switch err := gitlab.CheckExport(ctx, hc, base, req.Token, ent); {
	case errors.Is(err, gitlab.ErrExportDisabled):
		g.log.InfoContext(ctx, "source has migration by direct transfer off: migrating through its REST API",
			"correlation_id", api.RequestID(ctx), "source_full_path", first.SourceFullPath)
	case errors.Is(err, gitlab.ErrExportForbidden):
		return nil, refusal(fmt.Sprintf("Import failed. You don't have permission to export '%s'.", first.SourceFullPath))
	case err != nil:
		return nil, translate(err)
	}
	return &api.BulkSource{Version: inst.Version, Enterprise: inst.Enterprise}, nil
}

// Unmodelled is what a migration does not bring (api.BulkUnmodelled):
// every entity says so.
func (gitlabMigrations) Unmodelled() []string { return gitlab.Unmodelled }

// Through says how an entity's import reads the source (api.BulkTransport).
func (gitlabMigrations) Through(im *ferry.Import) string { return gitlab.Through(im.Options) }

// rootCause is the innermost error: the sentinel whose text is GitLab's.
func rootCause(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

// Create stores and schedules a migration (api.BulkImporter).
func (g gitlabMigrations) Create(ctx context.Context, tx *store.Tx, b *ferry.BulkImport, entities []*ferry.BulkEntity, token string) error {
	base, err := baseURL(b.SourceURL)
	if err != nil {
		return err
	}
	b.SourceURL = base
	return g.runner.Schedule(ctx, tx, b, entities, token)
}

// Cancel stops a canceled migration's imports (api.BulkImporter).
func (g gitlabMigrations) Cancel(ctx context.Context, tx *store.Tx, b *ferry.BulkImport) error {
	return g.runner.Cancel(ctx, tx, b)
}

// gitlabLookups is the bulk runner's view of a GitLab source, through the
// engine's guarded, governed client.
type gitlabLookups struct{ e *importer.Engine }

func (l gitlabLookups) client(base, token string) (*http.Client, error) {
	hc, _, err := l.e.HTTPClient(gitlab.Type, base, token, nil)
	return hc, err
}

func (l gitlabLookups) Lookup(ctx context.Context, base, token, sourceType, fullPath string) (bulk.Entity, error) {
	hc, err := l.client(base, token)
	if err != nil {
		return bulk.Entity{}, err
	}
	e, err := gitlab.Lookup(ctx, hc, base, token, strings.TrimSuffix(sourceType, "_entity"), fullPath)
	if err != nil {
		return bulk.Entity{}, err
	}
	// The entity's content comes from the source's export where it offers
	// one (fewer calls, GitLab's own path), else through its REST API.
	transport := gitlab.TransportExport
	switch err := gitlab.CheckExport(ctx, hc, base, token, e); {
	case errors.Is(err, gitlab.ErrExportDisabled), errors.Is(err, gitlab.ErrExportForbidden):
		transport = gitlab.TransportREST
	case err != nil:
		return bulk.Entity{}, err
	}
	return bulk.Entity{ID: e.ID, Name: e.Name, Path: e.Path, FullPath: e.FullPath, Description: e.Description, Visibility: e.Visibility,
		Transport: transport}, nil
}

func (l gitlabLookups) Children(ctx context.Context, base, token string, groupID int64) ([]bulk.Child, error) {
	hc, err := l.client(base, token)
	if err != nil {
		return nil, err
	}
	cs, err := gitlab.Children(ctx, hc, base, token, groupID)
	if err != nil {
		return nil, err
	}
	out := make([]bulk.Child, 0, len(cs))
	for _, c := range cs {
		out = append(out, bulk.Child{SourceType: c.Kind + "_entity", FullPath: c.FullPath, Path: c.Path})
	}
	return out, nil
}
