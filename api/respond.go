package api

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/ferry-import/ferry"
)

// Time renders timestamps the way GitLab does: UTC, milliseconds, 'Z'.
type Time time.Time

// MarshalJSON implements json.Marshaler.
func (t Time) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Time(t).UTC().Format("2006-01-02T15:04:05.000Z"))
}

// timeOrNil renders an optional timestamp.
func timeOrNil(t *time.Time) *Time {
	if t == nil {
		return nil
	}
	v := Time(*t)
	return &v
}

// dateOrNil renders an optional date as GitLab does for expiries.
func dateOrNil(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := t.UTC().Format("2006-01-02")
	return &s
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// errorBody is GitLab's envelope for an error: Grape's parameter errors use
// "error", everything raised by the application uses "message".
func errorBody(err error) (int, any) {
	var he *httpError
	if errors.As(err, &he) {
		return he.status, he.body
	}
	var e *ferry.Error
	if !errors.As(err, &e) {
		return http.StatusInternalServerError, map[string]any{"message": "500 Internal Server Error"}
	}
	status, known := errorStatus[e.Code]
	switch {
	case !known:
		return http.StatusInternalServerError, map[string]any{"message": "500 Internal Server Error"}
	case e.Code == ferry.EINVALID:
		return status, map[string]any{"error": e.Message}
	case len(e.Fields) > 0 && e.Code == ferry.ECONFLICT:
		// A record validation failure (path taken…) is 400 with the fields.
		return http.StatusBadRequest, map[string]any{"message": e.Fields}
	case len(e.Fields) > 0:
		return status, map[string]any{"message": e.Fields}
	}
	return status, map[string]any{"message": e.Message}
}

// errorStatus maps domain error codes to GitLab's statuses.
var errorStatus = map[string]int{
	ferry.EINVALID:        http.StatusBadRequest,
	ferry.EBADREQUEST:     http.StatusBadRequest,
	ferry.ECONFLICT:       http.StatusConflict,
	ferry.ENOTFOUND:       http.StatusNotFound,
	ferry.EUNAUTHORIZED:   http.StatusUnauthorized,
	ferry.EFORBIDDEN:      http.StatusForbidden,
	ferry.EUNPROCESSABLE:  http.StatusUnprocessableEntity,
	ferry.ETOOLARGE:       http.StatusRequestEntityTooLarge,
	ferry.ERATELIMIT:      http.StatusTooManyRequests,
	ferry.ENOTIMPLEMENTED: http.StatusNotImplemented,
}

// writeError renders err; internal errors are logged with the request's
// correlation id and never shown.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, body := errorBody(err)
	if status >= 500 {
		s.log.ErrorContext(r.Context(), "request failed", slog.String("correlation_id", requestID(r.Context())),
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("error", err))
	}
	writeJSON(w, status, body)
}

// Common errors with GitLab's exact texts.
var (
	errUnauthorized = ferry.Errorf(ferry.EUNAUTHORIZED, "401 Unauthorized")
	errForbidden    = ferry.Errorf(ferry.EFORBIDDEN, "403 Forbidden")
	errNotFound     = ferry.Errorf(ferry.ENOTFOUND, "404 Not Found")
)

func notFound(what string) error { return ferry.Errorf(ferry.ENOTFOUND, "404 %s Not Found", what) }
