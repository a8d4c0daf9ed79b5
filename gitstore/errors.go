package gitstore

import "errors"

// Sentinel errors. Callers test them with errors.Is; a Resolver returns them
// (wrapped or not) to choose the HTTP status the handler answers.
var (
	// ErrNotFound: no such repository, ref, file or object (HTTP 404).
	ErrNotFound = errors.New("not found")
	// ErrUnauthorized: credentials are missing or wrong (HTTP 401, so git
	// retries with credentials).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden: the caller is known but may not do this (HTTP 403).
	ErrForbidden = errors.New("forbidden")
	// ErrInvalid: a malformed argument (bad oid, path traversal, bad ref).
	ErrInvalid = errors.New("invalid argument")
	// ErrExists: Create on a repository that already exists.
	ErrExists = errors.New("already exists")
)
