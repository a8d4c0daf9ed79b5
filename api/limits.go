package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/ferry-import/ferry"
)

// Bounds on what one request may ask for. Each is GitLab's (or Rack's, under
// GitLab) where GitLab has one; without them a long search or a long list
// reaches the database as an expression it refuses (a 500) or a statement it
// takes long to plan.
const (
	// maxSearchChars and maxSearchTerms are Gitlab::Search::Params's
	// SEARCH_CHAR_LIMIT and SEARCH_TERM_LIMIT.
	maxSearchChars = 4096
	maxSearchTerms = 64
	// maxListItems bounds a list filter (labels, iids, user_ids): every
	// item becomes a term of the SQL statement. GitLab's Limit validator
	// wording, GitLab's page size as the number.
	maxListItems = 100
	// maxQueryParams is Rack's params_limit (Rack 2.2.14 / 3.1.14, which
	// GitLab runs on): a query string or form body with more parameters is
	// refused, not truncated.
	maxQueryParams = 4096
)

// search reads a free-text search parameter, refusing what GitLab's search
// refuses: more than 4096 characters, or more than 64 space-separated
// terms. Every list endpoint reads its search (members: query) through it.
func (p *params) search(name string) (string, bool) {
	s, ok := p.str(name)
	if !ok {
		return "", false
	}
	trimmed := strings.TrimSpace(s)
	switch {
	case utf8.RuneCountInString(trimmed) > maxSearchChars:
		p.fail(name, fmt.Sprintf("is too long (maximum is %d characters)", maxSearchChars))
	case len(strings.Fields(trimmed)) > maxSearchTerms:
		p.fail(name, fmt.Sprintf("has too many search terms (maximum is %d)", maxSearchTerms))
	}
	return s, true
}

// filterList reads a list parameter that becomes a filter, at most
// maxListItems long.
func (p *params) filterList(name string) ([]string, bool) {
	l, ok := p.list(name)
	if ok && len(l) > maxListItems {
		p.fail(name, fmt.Sprintf("must contain at most %d items", maxListItems))
		return nil, false
	}
	return l, ok
}

// requestQuery is the request's query, parsed once and checked by
// checkQuery.
type requestQuery struct {
	values url.Values
}

// keyQuery holds the request's *requestQuery (server.go's keys count from 0).
const keyQuery ctxKey = 100

func queryOf(ctx context.Context) *requestQuery {
	q, _ := ctx.Value(keyQuery).(*requestQuery)
	return q
}

// checkQuery refuses, with 400, a query string that does not parse: too
// many parameters, a bad %-escape, a ';' separator. Go's parser reports
// these as an error that r.URL.Query() drops, and dropping them silently
// would drop filters (state=closed answering every issue).
func (s *Server) checkQuery(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		vals, err := parseForm(r.URL.RawQuery, "query string")
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		ctx := context.WithValue(r.Context(), keyQuery, &requestQuery{values: vals})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// parseForm parses a query string or an urlencoded body (where names it in
// messages) with Rack's parameter limit, reporting every problem url.ParseQuery
// finds instead of skipping the pair.
func parseForm(raw, where string) (url.Values, error) {
	if n := strings.Count(raw, "&") + 1; n > maxQueryParams {
		return nil, ferry.Errorf(ferry.EINVALID, "too many parameters in %s (%d, maximum is %d)", where, n, maxQueryParams)
	}
	vals, err := url.ParseQuery(raw)
	if err == nil {
		return vals, nil
	}
	var esc url.EscapeError
	switch {
	case errors.As(err, &esc):
		return nil, ferry.Errorf(ferry.EINVALID, "invalid %%-encoding in %s (%s)", where, strings.ToValidUTF8(string(esc), "?"))
	case strings.Contains(err.Error(), "semicolon"):
		return nil, ferry.Errorf(ferry.EINVALID, "invalid semicolon separator in %s", where)
	}
	return nil, ferry.Errorf(ferry.EINVALID, "%s is invalid", where)
}
