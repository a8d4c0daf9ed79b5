package github

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// GitHub's GraphQL API reads, per query, what REST reads with a call per
// item: the reviews of up to 100 pull requests, the reactions (with who
// reacted) of up to 100 issues, pull requests or comments, the profiles
// of up to 100 users (graphql_batch.go). It has its own budget (points per
// hour, Env.Budget("graphql")), so the two APIs run side by side.
//
// The client is written here rather than taken from shurcooL/githubv4:
// that library keeps only the message of GraphQL errors, and the importer
// decides by an error's type and path (NOT_FOUND for one node beside the
// others' data, RATE_LIMITED, the node and resource limits that call for a
// smaller query). What it does is small: POST {query, variables}, decode
// {data, errors}.

// GraphQLBudget names GraphQL's rate-limit budget (Env.Budget, the
// engine's BudgetClient): its points are counted apart from REST calls.
const GraphQLBudget = "graphql"

const gqlBudget = GraphQLBudget

// gqlMaxNodes is GitHub's bound on nodes(ids:) and on a connection's first.
// It is also where the queries' cost is lowest per item: GitHub scores a
// query by the requests its connections need, one per parent, divided by
// 100 and rounded (at least 1 point). A nodes(ids:) query of 100 items
// with one first:100 connection each needs 1 + 100 requests: 1 point for
// up to 10,100 nodes, far under the 500,000-node limit. So a query starts
// at 100 items and only the source's answers (node or resource limits,
// timeouts: shrink, in graphql_batch.go) make it smaller.
const gqlMaxNodes = 100

// errGraphQLUnavailable says the source has no GraphQL API to offer this
// import (an older GitHub Enterprise, a proxy that blocks it, a token it
// refuses there): the REST path does the work.
var errGraphQLUnavailable = errors.New("GraphQL API unavailable")

// gqlError is one of GitHub's GraphQL errors.
type gqlError struct {
	Type    string `json:"type"`
	Path    []any  `json:"path"`
	Message string `json:"message"`
}

// gqlErrors are the errors of an answer that brought no usable data.
type gqlErrors []gqlError

func (es gqlErrors) Error() string {
	msgs := make([]string, 0, len(es))
	for _, e := range es {
		if e.Type != "" {
			msgs = append(msgs, e.Type+": "+e.Message)
		} else {
			msgs = append(msgs, e.Message)
		}
	}
	return "GraphQL: " + strings.Join(msgs, "; ")
}

// has reports whether one of the errors is of a type.
func (es gqlErrors) has(types ...string) bool {
	for _, e := range es {
		for _, t := range types {
			if e.Type == t {
				return true
			}
		}
	}
	return false
}

// tooBig reports errors that a smaller query avoids: GitHub's node and
// resource limits and its "timeout" answer for a query that ran too long.
func (es gqlErrors) tooBig() bool {
	if es.has("MAX_NODE_LIMIT_EXCEEDED", "RESOURCE_LIMITS_EXCEEDED", "EXCESSIVE_PAGINATION") {
		return true
	}
	for _, e := range es {
		if strings.Contains(strings.ToLower(e.Message), "timeout") {
			return true
		}
	}
	return false
}

// gqlClient posts queries to one GitHub's GraphQL endpoint.
type gqlClient struct {
	hc    *http.Client
	url   string
	token string // "" when hc authenticates (a GitHub App)

	mu  sync.Mutex
	off error // why GraphQL is not used in this run (nil: it is)
	// memo shares what runs learn of endpoints without GraphQL (nil: none).
	memo *gqlMemo
}

// gqlMemo remembers for a while which GraphQL endpoints were unavailable.
type gqlMemo struct{ m sync.Map } // endpoint URL → time.Time found so

// gqlMemoFor is how long an endpoint found unavailable is not asked again:
// an upgraded GitHub Enterprise gets its GraphQL used within the hour.
const gqlMemoFor = time.Hour

func (m *gqlMemo) unavailable(url string, now time.Time) bool {
	if m == nil {
		return false
	}
	v, ok := m.m.Load(url)
	return ok && now.Sub(v.(time.Time)) < gqlMemoFor
}

func (m *gqlMemo) note(url string, now time.Time) {
	if m != nil {
		m.m.Store(url, now)
	}
}

// graphqlURL is the GraphQL endpoint beside a REST base: api.github.com/
// → api.github.com/graphql; a GitHub Enterprise's host/api/v3/ →
// host/api/graphql.
func graphqlURL(base *url.URL) string {
	u := *base
	if p, ok := strings.CutSuffix(strings.TrimSuffix(u.Path, "/"), "/api/v3"); ok {
		u.Path = p + "/api/graphql"
	} else {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/graphql"
	}
	return u.String()
}

// usable reports whether GraphQL is still worth asking in this run.
func (c *gqlClient) usable() bool {
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.off == nil && !c.memo.unavailable(c.url, time.Now())
}

// turnOff stops this run's GraphQL use: REST does the rest.
func (c *gqlClient) turnOff(why error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.off == nil {
		c.off = why
	}
	if errors.Is(why, errGraphQLUnavailable) {
		c.memo.note(c.url, time.Now())
	}
}

// gqlRateLimitTries bounds the retries of a query refused for the rate
// limit: each retry first waits (the transport's governor saw Remaining 0
// and the reset), so a few cover a window that resets while it waits.
const gqlRateLimitTries = 5

// query runs one query into data (the answer's "data" object). Errors of
// types that concern single nodes come back as errs beside the data; an
// answer without usable data is an error: errGraphQLUnavailable when
// the endpoint is missing or refuses the credential, gqlErrors otherwise.
func (c *gqlClient) query(ctx context.Context, q string, vars map[string]any, data any) (errs gqlErrors, err error) {
	body, err := json.Marshal(map[string]any{"query": q, "variables": vars})
	if err != nil {
		return nil, fmt.Errorf("encode GraphQL query: %w", err)
	}
	for try := 1; ; try++ {
		errs, err = c.post(ctx, body, data)
		if err == nil || !isRateLimited(err) || try >= gqlRateLimitTries {
			return errs, err
		}
	}
}

func isRateLimited(err error) bool {
	var es gqlErrors
	return errors.As(err, &es) && es.has("RATE_LIMITED", "RATE_LIMIT")
}

func (c *gqlClient) post(ctx context.Context, body []byte, data any) (gqlErrors, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if c.token != "" { // an app's transport sets its installation token
		req.Header.Set("Authorization", "bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GraphQL query: %w", err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound, http.StatusGone, http.StatusUnauthorized, http.StatusForbidden, http.StatusMethodNotAllowed:
		// 403 here is not a rate limit: the transport waits those out.
		return nil, fmt.Errorf("%w: %s answers %d", errGraphQLUnavailable, c.url, resp.StatusCode)
	case http.StatusBadGateway, http.StatusGatewayTimeout:
		// Still so after the transport's retries: GitHub's answer to a
		// query that ran past its time; a smaller one may not.
		return nil, gqlErrors{{Type: "TIMEOUT", Message: fmt.Sprintf("answers %d: a timeout", resp.StatusCode)}}
	default:
		return nil, fmt.Errorf("GraphQL query: %s answers %d", c.url, resp.StatusCode)
	}
	var out struct {
		Data   json.RawMessage `json:"data"`
		Errors gqlErrors       `json:"errors"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&out); err != nil {
		return nil, decodeError("GraphQL query", err)
	}
	if len(out.Data) == 0 || string(out.Data) == "null" || out.Errors.has("RATE_LIMITED", "RATE_LIMIT") || out.Errors.tooBig() {
		if len(out.Errors) == 0 {
			return nil, errors.New("GraphQL: an answer with neither data nor errors")
		}
		return nil, out.Errors
	}
	if err := json.Unmarshal(out.Data, data); err != nil {
		return nil, decodeError("GraphQL query", err)
	}
	return out.Errors, nil
}
