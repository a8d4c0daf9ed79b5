package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/ferry-import/ferry"
)

// Bounds on what one request may ask for. Each is GitLab's (or Rack's, under
// GitLab) where GitLab has one.
const (
	// maxQueryParams is Rack's params_limit (Rack 2.2.14 / 3.1.14, which
	// GitLab runs on): a query string or form body with more parameters is
	// refused, not truncated.
	maxQueryParams = 4096
)

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
