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
// "error", everything raised by the application uses "message", and the
// import services answer in their endpoint's own envelope.
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
	var se *serviceError
	if errors.As(err, &se) && known && len(e.Fields) == 0 {
		if render, ok := se.envelope[e.Code]; ok {
			return status, render(e.Message)
		}
	}
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

// envelope is how an import endpoint renders its service's errors, by
// code; a code it does not list renders as anywhere else in the API.
type envelope map[string]func(msg string) any

// serviceError is an error an import service raised, for errorBody to
// render with the endpoint's envelope.
type serviceError struct {
	envelope envelope
	err      error
}

func (e *serviceError) Error() string { return e.err.Error() }
func (e *serviceError) Unwrap() error { return e.err }

// The shapes of GitLab's import answers.
var (
	// grapeError is Grape's error!(msg, status).
	grapeError = func(msg string) any { return map[string]any{"error": msg} }
	// serviceErrors is an Import::*Service error through the GitHub
	// endpoint: {errors: message}.
	serviceErrors = func(msg string) any { return map[string]any{"errors": msg} }
	// apiErrorHash is render_api_error!({error: message}, status).
	apiErrorHash = func(msg string) any { return map[string]any{"message": map[string]any{"error": msg}} }
)

// The import endpoints' envelopes.
var (
	// githubEnvelope: the service's errors as {"errors": …}; the
	// endpoint's own rescues (Octokit::Unauthorized, RateLimitError)
	// through Grape's error!.
	githubEnvelope = envelope{ferry.EBADREQUEST: serviceErrors, ferry.EUNPROCESSABLE: serviceErrors,
		ferry.EUNAUTHORIZED: grapeError, ferry.ERATELIMIT: grapeError}
	// bitbucketServerEnvelope: render_api_error!({error: message}) for
	// every failure of the service.
	bitbucketServerEnvelope = envelope{ferry.EBADREQUEST: apiErrorHash, ferry.EUNPROCESSABLE: apiErrorHash,
		ferry.EUNAUTHORIZED: apiErrorHash, ferry.EFORBIDDEN: apiErrorHash, ferry.ERATELIMIT: apiErrorHash}
)

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
