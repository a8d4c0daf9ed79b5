package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
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
	// maxLinkQuery bounds the query string of each pagination link; a
	// longer one is left out of the Link header (X-Next-Page and the other
	// headers still tell the pages).
	maxLinkQuery = 2048
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

// get returns a parameter's value and records that the endpoint read it, so
// pagination links carry it (and nothing the endpoint ignored).
func (p *params) get(name string) (any, bool) {
	if p.read != nil {
		p.read[name] = true
	}
	v, ok := p.values[name]
	return v, ok
}

// requestQuery is the request's query, parsed once and checked by
// checkQuery, with the names of the parameters the endpoint read.
type requestQuery struct {
	values url.Values
	read   map[string]bool
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
		ctx := context.WithValue(r.Context(), keyQuery, &requestQuery{values: vals, read: map[string]bool{}})
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

// linkQuery is the query of a pagination link: the parameters of the
// request the endpoint read (never a credential), then page and per_page.
// ok is false when that would be longer than maxLinkQuery.
func linkQuery(r *http.Request, page, perPage int) (query string, ok bool) {
	var b strings.Builder
	if q := queryOf(r.Context()); q != nil {
		keys := make([]string, 0, len(q.values))
		for k := range q.values {
			name := k
			if i := strings.IndexByte(k, '['); i > 0 {
				name = k[:i]
			}
			switch name {
			case "private_token", "access_token", "page", "per_page":
				continue
			}
			if q.read[name] {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			for _, v := range q.values[k] {
				b.WriteString(url.QueryEscape(k))
				b.WriteByte('=')
				b.WriteString(url.QueryEscape(v))
				b.WriteByte('&')
				if b.Len() > maxLinkQuery {
					return "", false
				}
			}
		}
	}
	fmt.Fprintf(&b, "page=%d&per_page=%d", page, perPage)
	return b.String(), true
}
