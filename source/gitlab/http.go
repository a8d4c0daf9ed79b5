package gitlab

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/source/internal/paging"
)

// call reads one answer of the REST API at path (relative to
// <base>/api/v4/, query included) into v and returns its headers. It is
// this adapter's one error boundary: an error status becomes a
// sourcehttp.StatusError (importer.Permanent when retrying cannot help)
// carrying GitLab's message, never the token, which goes in the
// PRIVATE-TOKEN header only.
func call(ctx context.Context, hc *http.Client, base *url.URL, token, path string, v any) (http.Header, error) {
	ref, err := url.Parse(path)
	if err != nil {
		return nil, &importer.Permanent{Err: fmt.Errorf("bad request path %q", path)}
	}
	full := base.JoinPath("api", "v4").String() + "/"
	u, err := url.Parse(full)
	if err != nil {
		return nil, &importer.Permanent{Err: err}
	}
	u = u.ResolveReference(ref)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, &importer.Permanent{Err: err}
	}
	return do(hc, req, token, v)
}

// graphql posts one GraphQL query to <base>/api/graphql with the token as
// a bearer token, as direct transfer's GraphQL client does, and decodes
// data into v.
func graphql(ctx context.Context, hc *http.Client, base *url.URL, token, query string, vars map[string]any, v any) error {
	body, err := json.Marshal(map[string]any{"query": query, "operationName": nil, "variables": vars})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base.JoinPath("api", "graphql").String(), bytes.NewReader(body))
	if err != nil {
		return &importer.Permanent{Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	var out struct {
		Data   json.RawMessage `json:"data"`
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if _, err := do(hc, req, token, &out); err != nil {
		return err
	}
	if len(out.Errors) > 0 {
		return &importer.Permanent{Err: fmt.Errorf("graphql: %s", out.Errors[0].Message)}
	}
	if err := json.Unmarshal(out.Data, v); err != nil {
		return fmt.Errorf("decode graphql data: %w", err)
	}
	return nil
}

func do(hc *http.Client, req *http.Request, token string, v any) (http.Header, error) {
	req.Header.Set("Accept", "application/json")
	if req.Method == http.MethodPost {
		req.Header.Set("Authorization", "Bearer "+token)
	} else {
		req.Header.Set(privateTokenHdr, token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return resp.Header, statusError(resp)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return resp.Header, fmt.Errorf("decode %s: %w", req.URL.Path, err)
	}
	return resp.Header, nil
}

// statusError reads GitLab's {"message":…} or {"error":…} body, as
// client-go words it ("<status>: <message>").
func statusError(resp *http.Response) error {
	msg := http.StatusText(resp.StatusCode)
	var eb struct {
		Message any    `json:"message"`
		Error   string `json:"error"`
	}
	if raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10)); err == nil && json.Unmarshal(raw, &eb) == nil {
		switch m := eb.Message.(type) {
		case string:
			if m != "" {
				msg = m
			}
		case nil:
			if eb.Error != "" {
				msg = eb.Error
			}
		default:
			if b, err := json.Marshal(m); err == nil {
				msg = string(b)
			}
		}
	}
	return paging.FromStatus(resp.StatusCode, fmt.Errorf("gitlab answered %d: %s", resp.StatusCode, msg))
}
