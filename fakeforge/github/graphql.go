package github

import (
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/fakeforge/traffic"
)

// schemaSDL is the GraphQL schema subset served, in GitHub's names.
//
//go:embed schema.graphql
var schemaSDL string

// GitHub's GraphQL limits.
const (
	maxNodeIDs  = 100     // ids in one nodes(ids:)
	maxPageSize = 100     // first or last of a connection
	maxNodes    = 500_000 // nodes one query may return
)

const graphqlDocs = "https://docs.github.com/graphql"

func loadSchema() (*ast.Schema, error) {
	sch, err := gqlparser.LoadSchema(&ast.Source{Name: "schema.graphql", Input: schemaSDL})
	if err != nil {
		return nil, fmt.Errorf("load GraphQL schema: %w", err)
	}
	return sch, nil
}

// isGraphQL reports whether a path is the GraphQL endpoint: /graphql on
// github.com's API host, /api/graphql on GitHub Enterprise.
func isGraphQL(path string) bool { return path == "/graphql" || path == "/api/graphql" }

// gqlError is one entry of a GraphQL answer's errors, as GitHub writes it.
type gqlError struct {
	Type      string        `json:"type,omitempty"`
	Path      []any         `json:"path,omitempty"`
	Locations []gqlLocation `json:"locations,omitempty"`
	Message   string        `json:"message"`
}

type gqlLocation struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

func fieldError(typ string, path []any, f *ast.Field, format string, args ...any) gqlError {
	e := gqlError{Type: typ, Path: append([]any{}, path...), Message: fmt.Sprintf(format, args...)}
	if f != nil && f.Position != nil {
		e.Locations = []gqlLocation{{Line: f.Position.Line, Column: f.Position.Column}}
	}
	return e
}

func fromGQLErrors(errs gqlerror.List) []gqlError {
	out := make([]gqlError, 0, len(errs))
	for _, e := range errs {
		ge := gqlError{Message: e.Message}
		for _, p := range e.Path {
			switch p := p.(type) {
			case ast.PathName:
				ge.Path = append(ge.Path, string(p))
			case ast.PathIndex:
				ge.Path = append(ge.Path, int(p))
			}
		}
		for _, l := range e.Locations {
			ge.Locations = append(ge.Locations, gqlLocation{Line: l.Line, Column: l.Column})
		}
		out = append(out, ge)
	}
	return out
}

// graphqlAuth answers GitHub's GraphQL 401 unless the request carries an
// accepted token.
func (s *Server) graphqlAuth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if t := token(r); t == "" || !s.tokenOK(t) {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Bad credentials", "documentation_url": graphqlDocs})
			return
		}
		h(w, r)
	}
}

// graphql answers POST /graphql and /api/graphql: it validates the query
// against the schema, prices it (cost and node count, GitHub's rules),
// spends the credential's points and resolves the query.
func (s *Server) graphql(w http.ResponseWriter, r *http.Request) {
	pts := traffic.PointsFrom(r.Context())
	var req struct {
		Query         string         `json:"query"`
		Variables     map[string]any `json:"variables"`
		OperationName string         `json:"operationName"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "Problems parsing JSON", "documentation_url": graphqlDocs})
		return
	}
	refuse := func(errs []gqlError) {
		graphqlHeaders(w.Header(), peek(pts))
		writeJSON(w, http.StatusOK, map[string]any{"errors": errs})
	}
	doc, gerrs := gqlparser.LoadQueryWithRules(s.schema, req.Query, nil)
	if len(gerrs) > 0 {
		refuse(fromGQLErrors(gerrs))
		return
	}
	op, err := operation(doc, req.OperationName)
	if err != nil {
		refuse([]gqlError{{Message: err.Error()}})
		return
	}
	vars, err := validator.VariableValues(s.schema, op, req.Variables)
	if err != nil {
		refuse([]gqlError{{Message: err.Error()}})
		return
	}
	pr := price(op.SelectionSet, vars)
	if len(pr.errs) > 0 {
		refuse(pr.errs)
		return
	}
	if pr.nodes > maxNodes {
		refuse([]gqlError{{Type: "MAX_NODE_LIMIT_EXCEEDED", Message: fmt.Sprintf(
			"This query requests up to %s nodes which exceeds the maximum limit of %s.", thousands(pr.nodes), thousands(maxNodes))}})
		return
	}
	lim := peek(pts)
	if pts != nil && !pr.dryRun {
		var ok bool
		if lim, ok = pts.Spend(pr.cost()); !ok {
			graphqlHeaders(w.Header(), lim)
			w.Header().Set("Retry-After", strconv.Itoa(int((lim.RetryAfter+time.Second-1)/time.Second)))
			writeJSON(w, http.StatusOK, map[string]any{"errors": []gqlError{{Type: "RATE_LIMITED",
				Message: fmt.Sprintf("API rate limit exceeded for user ID %d.", s.viewerID())}}})
			return
		}
	}
	graphqlHeaders(w.Header(), lim)
	e := &executor{s: s, vars: vars, rate: rateLimitNode{cost: pr.cost(), nodeCount: pr.nodes, lim: lim}, dryRun: pr.dryRun}
	data := e.selectObject(queryNode{}, op.SelectionSet, nil)
	out := map[string]any{"data": data}
	if len(e.errs) > 0 {
		out["errors"] = e.errs
	}
	writeJSON(w, http.StatusOK, out)
}

// viewerID is the user id GitHub names in a rate-limit refusal: the
// scenario's first user stands for the token's owner.
func (s *Server) viewerID() int64 { return s.sc.User(1).ID }

func operation(doc *ast.QueryDocument, name string) (*ast.OperationDefinition, error) {
	if name != "" {
		if op := doc.Operations.ForName(name); op != nil {
			return op, nil
		}
		return nil, fmt.Errorf("no operation named %q", name)
	}
	if len(doc.Operations) != 1 {
		return nil, fmt.Errorf("an operation name is required when the document has %d operations", len(doc.Operations))
	}
	return doc.Operations[0], nil
}

// peek is the budget without spending; without the traffic middleware
// (a bare Server in a test) it is GitHub's default, untouched.
func peek(pts *traffic.Points) traffic.Limit {
	if pts == nil {
		return traffic.Limit{Limit: traffic.DefaultGraphQLRateLimit, Remaining: traffic.DefaultGraphQLRateLimit,
			Reset: scenario.Epoch().Add(time.Hour)}
	}
	return pts.Peek()
}

// graphqlHeaders writes GitHub's rate-limit headers of the graphql resource.
func graphqlHeaders(h http.Header, l traffic.Limit) {
	h.Set("X-RateLimit-Limit", strconv.Itoa(l.Limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(l.Remaining))
	h.Set("X-RateLimit-Used", strconv.Itoa(l.Limit-l.Remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(l.Reset.Unix(), 10))
	h.Set("X-RateLimit-Resource", "graphql")
}

func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// pricing is the static analysis of a query, before anything is resolved.
type pricing struct {
	requests int // requests needed to fulfil every connection
	nodes    int // nodes the query may return
	dryRun   bool
	errs     []gqlError
}

// cost is GitHub's rule: the requests summed, divided by 100, rounded to
// the nearest whole number, at least 1.
func (p pricing) cost() int {
	return max(1, int(math.Round(float64(p.requests)/100)))
}

// price walks every selection, whatever its type condition (the cost is
// known before the types of the nodes are), multiplying down the nesting:
// a connection under P parents takes P requests and may return
// P × (first or last) nodes, which are the parents of what it selects;
// nodes(ids:) of N ids returns N nodes, the parents of its selection.
func price(sel ast.SelectionSet, vars map[string]any) pricing {
	var p pricing
	p.walk(sel, vars, 1, nil)
	return p
}

func (p *pricing) walk(sel ast.SelectionSet, vars map[string]any, parents int, path []any) {
	for _, s := range sel {
		switch s := s.(type) {
		case *ast.Field:
			p.field(s, vars, parents, path)
		case *ast.InlineFragment:
			p.walk(s.SelectionSet, vars, parents, path)
		case *ast.FragmentSpread:
			if s.Definition != nil {
				p.walk(s.Definition.SelectionSet, vars, parents, path)
			}
		}
	}
}

func (p *pricing) field(f *ast.Field, vars map[string]any, parents int, path []any) {
	if f.Definition == nil || f.ObjectDefinition == nil {
		return
	}
	path = append(append([]any{}, path...), responseKey(f))
	args := f.ArgumentMap(vars)
	switch {
	case strings.HasPrefix(f.Name, "__") && f.Name != "__typename":
		p.errs = append(p.errs, fieldError("", path, f, "fakeforge does not serve introspection (%s)", f.Name))
		return
	case f.ObjectDefinition.Name == "Query" && f.Name == "rateLimit":
		if dry, _ := args["dryRun"].(bool); dry {
			p.dryRun = true
		}
	case f.ObjectDefinition.Name == "Query" && f.Name == "nodes":
		ids, _ := args["ids"].([]any)
		if len(ids) > maxNodeIDs {
			p.errs = append(p.errs, fieldError("ARGUMENT_LIMIT", path, f,
				"You may not provide more than %d node ids; you provided %d.", maxNodeIDs, len(ids)))
			return
		}
		parents *= len(ids)
		p.nodes += parents
	case strings.HasSuffix(f.Definition.Type.Name(), "Connection") && countOnly(f, args):
		return // no page asked for: no request, no node (countOnly)
	case strings.HasSuffix(f.Definition.Type.Name(), "Connection"):
		pa, err := pageArgsOf(f, args)
		if err != nil {
			p.errs = append(p.errs, fieldError(err.typ, path, f, "%s", err.msg))
			return
		}
		n := pa.size()
		p.requests += parents
		parents *= n
		p.nodes += parents
	}
	p.walk(f.SelectionSet, vars, parents, path)
}

// countOnly reports a connection asked without first or last for its
// totalCount alone (repository { issues { totalCount } }), which GitHub
// answers: it refuses a connection without boundaries only when the
// selection asks for its nodes, edges or pageInfo. The rate-limit formula
// takes the first and last arguments of connections and their parents
// (resource limitations, "Calculating a rate limit score"), so such a
// connection, asking for no page, adds no request and no node.
func countOnly(f *ast.Field, args map[string]any) bool {
	if args["first"] != nil || args["last"] != nil {
		return false
	}
	for _, s := range f.SelectionSet {
		x, ok := s.(*ast.Field)
		if !ok || (x.Name != "totalCount" && x.Name != "__typename") {
			return false
		}
	}
	return true
}

func responseKey(f *ast.Field) string {
	if f.Alias != "" {
		return f.Alias
	}
	return f.Name
}

// pageArgs are a connection's first, after, last and before.
type pageArgs struct {
	first, last   int // -1 when absent
	after, before int // positions named by the cursors; -1 when absent
}

func (a pageArgs) size() int { return max(a.first, a.last) }

type argError struct{ typ, msg string }

func pageArgsOf(f *ast.Field, args map[string]any) (pageArgs, *argError) {
	a := pageArgs{first: -1, last: -1, after: -1, before: -1}
	for _, b := range []struct {
		name string
		dst  *int
	}{{"first", &a.first}, {"last", &a.last}} {
		name, dst := b.name, b.dst
		v, ok := args[name]
		if !ok || v == nil {
			continue
		}
		n, ok := toInt(v)
		if !ok || n < 0 {
			return a, &argError{"INVALID_ARGUMENTS", fmt.Sprintf("`%s` on the `%s` connection cannot be less than zero.", name, f.Name)}
		}
		if n > maxPageSize {
			return a, &argError{"EXCESSIVE_PAGINATION", fmt.Sprintf(
				"Requesting %d records on the `%s` connection exceeds the `%s` limit of %d records.", n, f.Name, name, maxPageSize)}
		}
		*dst = n
	}
	if a.first < 0 && a.last < 0 {
		return a, &argError{"MISSING_PAGINATION_BOUNDARIES",
			fmt.Sprintf("You must provide a `first` or `last` value to properly paginate the `%s` connection.", f.Name)}
	}
	for _, b := range []struct {
		name string
		dst  *int
	}{{"after", &a.after}, {"before", &a.before}} {
		dst := b.dst
		v, _ := args[b.name].(string)
		if v == "" {
			continue
		}
		pos, ok := decodeCursor(v)
		if !ok {
			return a, &argError{"INVALID_CURSOR_ARGUMENTS", fmt.Sprintf("`%s` does not appear to be a valid cursor.", v)}
		}
		*dst = pos
	}
	return a, nil
}

func toInt(v any) (int, bool) {
	switch v := v.(type) {
	case int:
		return v, true
	case int64:
		return int(v), true
	case float64:
		return int(v), v == math.Trunc(v)
	case json.Number:
		n, err := v.Int64()
		return int(n), err == nil
	case string:
		n, err := strconv.Atoi(v)
		return n, err == nil
	}
	return 0, false
}

// Cursors are opaque to clients, as GitHub's are: a position, encoded.
const cursorPrefix = "cursor:v2:"

func encodeCursor(pos int) string {
	return base64.StdEncoding.EncodeToString([]byte(cursorPrefix + strconv.Itoa(pos)))
}

func decodeCursor(c string) (int, bool) {
	b, err := base64.StdEncoding.DecodeString(c)
	if err != nil {
		return 0, false
	}
	rest, ok := strings.CutPrefix(string(b), cursorPrefix)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	return n, err == nil && n >= 0
}

// span places a page in a list of total objects: positions [lo, hi).
func (a pageArgs) span(total int) (lo, hi int) {
	lo, hi = 0, total
	if a.after >= 0 {
		lo = min(a.after+1, total)
	}
	if a.before >= 0 {
		hi = max(min(a.before, total), lo)
	}
	if a.first >= 0 {
		hi = min(hi, lo+a.first)
	}
	if a.last >= 0 {
		lo = max(lo, hi-a.last)
	}
	return lo, hi
}
