// Package secret seals source credentials for storage with AES-256-GCM, so
// a database dump never holds a usable token. The key comes from
// FERRY_SECRET_KEY or a generated key file (mode 0600) in the data dir.
//
// The same key material also yields independent keys for other purposes
// (Derive, e.g. signing LFS download links), so they survive restarts and
// agree across instances that share FERRY_SECRET_KEY without another
// secret to manage.
//
// It knows nothing of what it seals; callers decide when to wipe.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Box seals and opens values with one key.
type Box struct {
	aead cipher.AEAD
	// ikm is the key material as given, the input of Derive. The sealing
	// key is its SHA-256 (kept for values already sealed); derived keys
	// come from HKDF over ikm, so neither reveals the other.
	ikm []byte
}

// New derives a 256-bit key from keyMaterial (any length).
func New(keyMaterial string) (*Box, error) {
	if keyMaterial == "" {
		return nil, errors.New("secret: empty key")
	}
	k := sha256.Sum256([]byte(keyMaterial))
	block, err := aes.NewCipher(k[:])
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	return &Box{aead: aead, ikm: []byte(keyMaterial)}, nil
}

// deriveSalt separates ferry's derived keys from any other use of HKDF
// over the same key material.
const deriveSalt = "ferry secret.Box.Derive v1"

// Derive returns a 32-byte key for one purpose, named by label (for
// example "lfs-download-tokens"). The same key material and label always
// give the same key; different labels give independent keys.
func (b *Box) Derive(label string) []byte {
	if label == "" {
		panic("secret: Derive needs a label")
	}
	k, err := hkdf.Key(sha256.New, b.ikm, []byte(deriveSalt), label, 32)
	if err != nil {
		// Only possible for lengths beyond 255*32 bytes.
		panic("secret: derive: " + err.Error())
	}
	return k
}

// Load uses keyMaterial if given, else the key file in dataDir, creating
// it with a random key on first use.
func Load(keyMaterial, dataDir string) (*Box, error) {
	if keyMaterial != "" {
		return New(keyMaterial)
	}
	path := filepath.Join(dataDir, "secret_key")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		raw := make([]byte, 32)
		if _, err := rand.Read(raw); err != nil {
			return nil, fmt.Errorf("secret: generate key: %w", err)
		}
		b = []byte(base64.StdEncoding.EncodeToString(raw))
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, fmt.Errorf("secret: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("secret: write key file: %w", err)
		}
		if _, err := f.Write(b); err != nil {
			f.Close()
			return nil, fmt.Errorf("secret: write key file: %w", err)
		}
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("secret: write key file: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("secret: read key file: %w", err)
	}
	return New(strings.TrimSpace(string(b)))
}

// Seal encrypts plaintext with a random nonce; the result is base64 text.
func (b *Box) Seal(plaintext string) (string, error) {
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("secret: nonce: %w", err)
	}
	out := b.aead.Seal(nonce, nonce, []byte(plaintext), nil)
	return base64.StdEncoding.EncodeToString(out), nil
}

// Open decrypts a value made by Seal. The error never contains the value.
func (b *Box) Open(sealed string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil || len(raw) < b.aead.NonceSize() {
		return "", errors.New("secret: malformed sealed value")
	}
	n := b.aead.NonceSize()
	pt, err := b.aead.Open(nil, raw[:n], raw[n:], nil)
	if err != nil {
		return "", errors.New("secret: cannot open sealed value (wrong key?)")
	}
	return string(pt), nil
}
