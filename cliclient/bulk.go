package cliclient

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// BulkImport is a GitLab migration (GET /bulk_imports/:id).
type BulkImport struct {
	ID          int64           `json:"id"`
	Status      string          `json:"status"`
	SourceType  string          `json:"source_type"`
	SourceURL   string          `json:"source_url"`
	CreatedAt   string          `json:"created_at"`
	HasFailures bool            `json:"has_failures"`
	Raw         json.RawMessage `json:"-"`
}

// BulkEntity is one group or project of a migration.
type BulkEntity struct {
	ID                   int64             `json:"id"`
	BulkImportID         int64             `json:"bulk_import_id"`
	Status               string            `json:"status"`
	EntityType           string            `json:"entity_type"` // group | project
	SourceFullPath       string            `json:"source_full_path"`
	DestinationFullPath  *string           `json:"destination_full_path"`
	DestinationNamespace string            `json:"destination_namespace"`
	ProjectID            *int64            `json:"project_id"`
	HasFailures          bool              `json:"has_failures"`
	Failures             []BulkFailure     `json:"failures"`
	Stats                map[string]Counts `json:"stats"`
	Raw                  json.RawMessage   `json:"-"`
}

// Counts are an entity's numbers for one relation.
type Counts struct {
	Source   int64 `json:"source"`
	Fetched  int64 `json:"fetched"`
	Imported int64 `json:"imported"`
}

// BulkFailure is one failure of an entity.
type BulkFailure struct {
	Relation         string `json:"relation"`
	ExceptionMessage string `json:"exception_message"`
	ExceptionClass   string `json:"exception_class"`
	SourceURL        string `json:"source_url"`
	SourceTitle      string `json:"source_title"`
}

// BulkEntityRequest is one entity of POST /bulk_imports.
type BulkEntityRequest struct {
	SourceType           string `json:"source_type"` // group_entity | project_entity
	SourceFullPath       string `json:"source_full_path"`
	DestinationSlug      string `json:"destination_slug"`
	DestinationNamespace string `json:"destination_namespace"`
}

// BulkImportRequest is POST /bulk_imports's request.
type BulkImportRequest struct {
	SourceURL string
	Token     string
	Entities  []BulkEntityRequest
}

// CreateBulkImport starts a migration from a GitLab.
func (c *Client) CreateBulkImport(ctx context.Context, req BulkImportRequest) (*BulkImport, error) {
	body := map[string]any{
		"configuration": map[string]any{"url": req.SourceURL, "access_token": req.Token},
		"entities":      req.Entities,
	}
	var out BulkImport
	raw, _, err := c.do(ctx, http.MethodPost, "/bulk_imports", body, &out)
	if err != nil {
		return nil, err
	}
	out.Raw = raw
	return &out, nil
}

// BulkImport is GET /bulk_imports/:id.
func (c *Client) BulkImport(ctx context.Context, id int64) (*BulkImport, error) {
	var out BulkImport
	raw, _, err := c.do(ctx, http.MethodGet, fmt.Sprintf("/bulk_imports/%d", id), nil, &out)
	if err != nil {
		return nil, err
	}
	out.Raw = raw
	return &out, nil
}

// BulkEntities is GET /bulk_imports/:id/entities, every page.
func (c *Client) BulkEntities(ctx context.Context, id int64) ([]BulkEntity, error) {
	raws, err := list[json.RawMessage](ctx, c, fmt.Sprintf("/bulk_imports/%d/entities", id))
	if err != nil {
		return nil, err
	}
	out := make([]BulkEntity, len(raws))
	for i, raw := range raws {
		if err := json.Unmarshal(raw, &out[i]); err != nil {
			return nil, fmt.Errorf("bulk import %d: an entity is not the JSON expected: %w", id, err)
		}
		out[i].Raw = raw
	}
	return out, nil
}

// BulkImports is GET /bulk_imports, every page.
func (c *Client) BulkImports(ctx context.Context) ([]BulkImport, error) {
	return list[BulkImport](ctx, c, "/bulk_imports?sort=asc")
}

// CancelBulkImport is POST /bulk_imports/:id/cancel.
func (c *Client) CancelBulkImport(ctx context.Context, id int64) error {
	_, _, err := c.do(ctx, http.MethodPost, fmt.Sprintf("/bulk_imports/%d/cancel", id), nil, nil)
	return err
}
