package sourcehttp

import (
	"errors"
	"fmt"
	"net/http"
)

// StatusError is a source's answer with an error status, as an adapter's
// one error boundary reports it (wrapping its client's own error), so that
// everything past the boundary decides by status, not by client type.
type StatusError struct {
	Status int
	Err    error
}

func (e *StatusError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("source answered %d %s", e.Status, http.StatusText(e.Status))
	}
	return e.Err.Error()
}

func (e *StatusError) Unwrap() error { return e.Err }

// StatusOf is the status of the first StatusError in err's chain, 0 when
// there is none.
func StatusOf(err error) int {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status
	}
	return 0
}

// PermanentStatus reports an answer retrying cannot change: a bad request,
// no access, gone, unprocessable. Rate limits (403/429 with their
// headers) are the Transport's and never reach an adapter as errors.
func PermanentStatus(status int) bool {
	switch status {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound,
		http.StatusGone, http.StatusUnprocessableEntity, http.StatusUnavailableForLegalReasons:
		return true
	}
	return false
}

// ItemRefusedStatus reports an answer about one item that says the source
// will not give that item — but not a 401, which says the credential
// itself no longer works and must stop the relation.
func ItemRefusedStatus(status int) bool {
	return status != http.StatusUnauthorized && PermanentStatus(status)
}

// GoneStatus reports a 404 or 410: the item is not (or no longer) there.
func GoneStatus(status int) bool {
	return status == http.StatusNotFound || status == http.StatusGone
}
