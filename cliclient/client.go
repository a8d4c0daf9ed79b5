// Package cliclient is the HTTP client of a running ferry that the ferry
// import command uses: it starts imports (GitHub, Bitbucket Server, GitLab
// migrations), reads their status and progress, lists and cancels them,
// all through ferry's public REST API (GitLab's /api/v4 plus ferry's
// documented extensions), exactly as any other client would.
//
// It must not know ferry's insides: it imports none of ferry's packages
// (no api, app, store, importer or source), reads nothing of ferry's
// database or data directory, and knows nothing of the sources themselves
// beyond the request fields ferry's endpoints take. Credentials handed to
// it (ferry's token, a source's token) are sent in headers or request
// bodies only: they are never part of an error, a URL or a String.
package cliclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client talks to one ferry.
type Client struct {
	base  string // …/api/v4
	token string
	http  *http.Client
}

// New returns a client of the ferry at baseURL (its root, e.g.
// https://ferry.example.com, or that with /api/v4) using the personal
// access token token.
func New(baseURL, token string) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("ferry URL %q: want http(s)://host[:port]", baseURL)
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	p := strings.TrimRight(u.Path, "/")
	if !strings.HasSuffix(p, "/api/v4") {
		p += "/api/v4"
	}
	u.Path = p
	return &Client{base: u.String(), token: token, http: &http.Client{Timeout: 60 * time.Second}}, nil
}

// Error is an answer of ferry other than 2xx, with the message ferry gave
// in GitLab's format ({"message": …}, {"error": …} or {"errors": …}).
type Error struct {
	Status  int    // HTTP status code
	Message string // GitLab's message, as ferry sent it
}

func (e *Error) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("ferry answered %d %s", e.Status, http.StatusText(e.Status))
	}
	return fmt.Sprintf("ferry answered %d: %s", e.Status, e.Message)
}

// message reads GitLab's error body: message, error or errors, each a
// string or a structure (rendered as compact JSON).
func message(body []byte) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		s := strings.TrimSpace(string(body))
		if len(s) > 300 {
			s = s[:300] + "…"
		}
		return s
	}
	for _, k := range []string{"message", "error", "errors"} {
		raw, ok := m[k]
		if !ok {
			continue
		}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
		// {"message": {"error": "…"}} (Bitbucket Server's envelope).
		var inner map[string]json.RawMessage
		if json.Unmarshal(raw, &inner) == nil && len(inner) == 1 {
			for _, v := range inner {
				if json.Unmarshal(v, &s) == nil {
					return s
				}
			}
		}
		var buf bytes.Buffer
		if json.Compact(&buf, raw) == nil {
			return buf.String()
		}
	}
	return ""
}

// do sends method path (relative to /api/v4) with body as JSON and decodes
// a 2xx answer into out (when not nil); it returns the raw body too.
func (c *Client) do(ctx context.Context, method, path string, body, out any) ([]byte, http.Header, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("PRIVATE-TOKEN", c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// url.Error names the URL only: no header, no body.
		return nil, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return raw, resp.Header, &Error{Status: resp.StatusCode, Message: message(raw)}
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return raw, resp.Header, fmt.Errorf("%s %s: ferry's answer is not the JSON expected: %w", method, path, err)
		}
	}
	return raw, resp.Header, nil
}

// list pages through a GitLab list endpoint (per_page 100), calling each
// with every page's raw items.
func list[T any](ctx context.Context, c *Client, path string) ([]T, error) {
	var out []T
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	for page := 1; ; page++ {
		var items []T
		_, h, err := c.do(ctx, http.MethodGet, fmt.Sprintf("%s%sper_page=100&page=%d", path, sep, page), nil, &items)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		next, _ := strconv.Atoi(h.Get("X-Next-Page"))
		if next <= page || len(items) == 0 {
			return out, nil
		}
	}
}
