// Package ferry holds the domain of the ferry server: the users, tokens,
// namespaces, projects and memberships that the GitLab-compatible API
// exposes, and the error type every layer speaks.
//
// It must not know how things are stored (store/), transported (api/) or
// queued (queue/): those packages depend on this one, never the reverse.
package ferry

import (
	"errors"
	"fmt"
)

// Error codes. The HTTP layer alone maps them to GitLab's status codes and
// bodies; everything below it only says what went wrong.
const (
	EINVALID        = "invalid"         // a parameter is missing or malformed (400, {"error":…})
	EBADREQUEST     = "bad_request"     // a well-formed request that cannot be done (400, {"message":…})
	ECONFLICT       = "conflict"        // a record already exists (400 with field errors, as GitLab does)
	ENOTFOUND       = "not_found"       // unknown or not visible to the caller (404)
	EUNAUTHORIZED   = "unauthorized"    // no or bad credentials (401)
	EFORBIDDEN      = "forbidden"       // authenticated but not allowed (403)
	EUNPROCESSABLE  = "unprocessable"   // 422
	ETOOLARGE       = "too_large"       // request body over the limit (413)
	ERATELIMIT      = "rate_limited"    // 429
	EINTERNAL       = "internal"        // a bug or an unavailable dependency (500); details are logged, never shown
	ENOTIMPLEMENTED = "not_implemented" // 501
)

// Error is a domain error: a code and a message safe to show to the caller.
// Fields carries per-attribute validation messages ({"path":["has already
// been taken"]}), which GitLab renders as the message object.
type Error struct {
	Code    string
	Message string
	Fields  map[string][]string
}

func (e *Error) Error() string {
	if len(e.Fields) > 0 {
		return fmt.Sprintf("ferry error: code=%s message=%s fields=%v", e.Code, e.Message, e.Fields)
	}
	return fmt.Sprintf("ferry error: code=%s message=%s", e.Code, e.Message)
}

// Errorf builds an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError builds a conflict/validation error on one attribute.
func FieldError(code, field, msg string) *Error {
	return &Error{Code: code, Message: field + " " + msg, Fields: map[string][]string{field: {msg}}}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other error and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the caller-safe message of err.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Internal server error"
}
