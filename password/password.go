// Package password hashes and checks the passwords users sign in to the
// web UI with, and holds GitLab's length rule for them. Hashing is
// golang.org/x/crypto/bcrypt's; this package only adds the pre-hash that
// lifts bcrypt's 72-byte limit and a constant-time answer for unknown
// users. It must not know users, the store or HTTP.
package password

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// GitLab's bounds on a password's length, in characters.
const (
	MinLength = 8
	MaxLength = 128
)

// prefix marks ferry's hash format: bcrypt over the base64 of the
// password's SHA-256. bcrypt reads at most 72 bytes, and GitLab allows
// 128 characters (up to 512 bytes); the pre-hash keeps every byte
// significant. base64 keeps NUL bytes out of what bcrypt reads.
const prefix = "bcrypt-sha256$"

// Cost is bcrypt's work factor: GitLab's (Devise's) stretches.
const Cost = 10

// Validate applies GitLab's rule to a new password; the error is the
// field message GitLab answers ("is too short (minimum is 8 characters)").
func Validate(pw string) error {
	n := utf8.RuneCountInString(pw)
	switch {
	case n < MinLength:
		return errors.New("is too short (minimum is 8 characters)")
	case n > MaxLength:
		return errors.New("is too long (maximum is 128 characters)")
	}
	return nil
}

func prehash(pw string) []byte {
	sum := sha256.Sum256([]byte(pw))
	return []byte(base64.StdEncoding.EncodeToString(sum[:]))
}

// Hash returns what to store for pw.
func Hash(pw string) (string, error) {
	h, err := bcrypt.GenerateFromPassword(prehash(pw), Cost)
	if err != nil {
		return "", err
	}
	return prefix + string(h), nil
}

// dummy is checked against when there is no stored hash, so that an
// unknown user or one without a password takes as long to refuse as a
// wrong password does.
var dummy, _ = bcrypt.GenerateFromPassword([]byte("ferry-no-password"), Cost)

// Check reports whether pw matches hash. An empty or foreign hash never
// matches, after the same work as a real check.
func Check(hash, pw string) bool {
	h, ok := strings.CutPrefix(hash, prefix)
	if !ok {
		_ = bcrypt.CompareHashAndPassword(dummy, prehash(pw))
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(h), prehash(pw)) == nil
}
