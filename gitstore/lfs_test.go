package gitstore

import (
	"crypto/sha256"
	"encoding/hex"
)

// lfsObjectFor returns the oid of content.
func lfsObjectFor(content string) (string, string) {
	sum := sha256.Sum256([]byte(content))
	return hex.EncodeToString(sum[:]), content
}
