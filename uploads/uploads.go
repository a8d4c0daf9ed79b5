// Package uploads keeps the bytes of project uploads (GitLab's
// /uploads/<secret>/<filename>: attachments of issues, merge requests,
// notes and releases) on disk, content-addressed by sha256 under one root
// directory. Which project has which upload, under what secret and file
// name, is the store's business (store/uploads.go); this package only
// holds files, so two projects linking the same file share it, as LFS
// objects are shared.
//
// Files are written to a staging file, hashed while written, size-limited
// and renamed into place, so a reader never sees a partial file. Every path
// is built from a validated hex digest and opened through an os.Root, so
// nothing reaches outside the root directory.
//
// It knows files and hashes; it must not know HTTP, the database or any
// forge.
package uploads

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DefaultMaxSize bounds one upload unless Options say otherwise (GitLab's
// default attachment limit is 100 MiB).
const DefaultMaxSize = 100 << 20

var (
	// ErrTooLarge: the content is longer than the store's limit.
	ErrTooLarge = errors.New("upload is larger than the limit")
	// ErrMismatch: the content does not hash to the digest it was given as.
	ErrMismatch = errors.New("upload content does not match its sha256")
	// ErrInvalid: a digest or file name that cannot name an upload.
	ErrInvalid = errors.New("invalid upload name")
	// ErrNotFound: no file with that digest.
	ErrNotFound = errors.New("upload not found")
)

// Store is a directory of content-addressed files.
type Store struct {
	root    *os.Root
	maxSize int64
}

// Options adjust a Store.
type Options struct {
	// MaxSize bounds one file in bytes; 0 means DefaultMaxSize.
	MaxSize int64
}

// New opens (creating if needed) a store rooted at dir.
func New(dir string, opts Options) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("uploads: create %s: %w", dir, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("uploads: open %s: %w", dir, err)
	}
	for _, d := range []string{"objects", "tmp"} {
		if err := root.MkdirAll(d, 0o700); err != nil {
			root.Close()
			return nil, fmt.Errorf("uploads: create %s: %w", d, err)
		}
	}
	if opts.MaxSize <= 0 {
		opts.MaxSize = DefaultMaxSize
	}
	return &Store{root: root, maxSize: opts.MaxSize}, nil
}

// Close releases the root directory.
func (s *Store) Close() error { return s.root.Close() }

// MaxSize is the largest file the store accepts.
func (s *Store) MaxSize() int64 { return s.maxSize }

// ValidSHA256 reports whether d is a lowercase hex sha256, the only form a
// path is ever built from.
func ValidSHA256(d string) bool {
	if len(d) != 64 {
		return false
	}
	for i := 0; i < len(d); i++ {
		c := d[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func objectPath(sum string) string { return path.Join("objects", sum[0:2], sum[2:4], sum) }

// Put stores the content of r and returns its sha256 and size. A non-empty
// want is the digest the content must have: anything else is refused with
// ErrMismatch and nothing is stored. Content over the size limit is
// refused with ErrTooLarge. Storing content that is already there succeeds.
func (s *Store) Put(ctx context.Context, r io.Reader, want string) (sum string, size int64, err error) {
	if want != "" && !ValidSHA256(want) {
		return "", 0, fmt.Errorf("put upload %.80q: %w", want, ErrInvalid)
	}
	tmp, f, err := s.createTemp()
	if err != nil {
		return "", 0, err
	}
	defer func() {
		f.Close()
		_ = s.root.Remove(tmp) // gone already after a successful rename
	}()
	h := sha256.New()
	// One byte past the limit tells a file at the limit from a longer one.
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(ctxReader{ctx, r}, s.maxSize+1))
	if err != nil {
		return "", 0, fmt.Errorf("put upload: %w", err)
	}
	if n > s.maxSize {
		return "", 0, fmt.Errorf("put upload: more than %d bytes: %w", s.maxSize, ErrTooLarge)
	}
	sum = hex.EncodeToString(h.Sum(nil))
	if want != "" && sum != want {
		return "", 0, fmt.Errorf("put upload %s: content hashes to %s: %w", want, sum, ErrMismatch)
	}
	if err := f.Sync(); err != nil {
		return "", 0, fmt.Errorf("put upload %s: %w", sum, err)
	}
	if err := f.Close(); err != nil {
		return "", 0, fmt.Errorf("put upload %s: %w", sum, err)
	}
	dst := objectPath(sum)
	if err := s.root.MkdirAll(path.Dir(dst), 0o700); err != nil {
		return "", 0, fmt.Errorf("put upload %s: %w", sum, err)
	}
	// Rename replaces an existing file with the same bytes: harmless.
	if err := s.root.Rename(tmp, dst); err != nil {
		return "", 0, fmt.Errorf("put upload %s: %w", sum, err)
	}
	return sum, n, nil
}

func (s *Store) createTemp() (string, *os.File, error) {
	for range 10 {
		var b [12]byte
		_, _ = rand.Read(b[:])
		name := "tmp/" + hex.EncodeToString(b[:])
		f, err := s.root.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", nil, fmt.Errorf("put upload: staging file: %w", err)
		}
		return name, f, nil
	}
	return "", nil, errors.New("put upload: no free staging file name")
}

// Has reports whether a file with digest sum is stored.
func (s *Store) Has(sum string) bool {
	if !ValidSHA256(sum) {
		return false
	}
	fi, err := s.root.Stat(objectPath(sum))
	return err == nil && fi.Mode().IsRegular()
}

// Open opens the file with digest sum for reading.
func (s *Store) Open(sum string) (*os.File, error) {
	if !ValidSHA256(sum) {
		return nil, fmt.Errorf("open upload %.80q: %w", sum, ErrInvalid)
	}
	f, err := s.root.Open(objectPath(sum))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("open upload %s: %w", sum, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("open upload %s: %w", sum, err)
	}
	return f, nil
}

// MaxFilename bounds a file name in bytes, as most file systems do.
const MaxFilename = 255

// ValidFilename reports whether name can be the last segment of an upload
// URL: not empty, valid UTF-8, no path separators, no "." or "..", no
// control characters, at most MaxFilename bytes.
func ValidFilename(name string) bool {
	if name == "" || name == "." || name == ".." || len(name) > MaxFilename || !utf8.ValidString(name) {
		return false
	}
	for _, c := range name {
		if c == '/' || c == '\\' || unicode.IsControl(c) {
			return false
		}
	}
	return true
}

// SafeFilename turns a name taken from elsewhere (a URL path segment) into
// a valid one: characters other than letters, digits, '.', '-' and '_'
// become '_', leading dots are dropped, the length is capped, and an empty
// result becomes fallback.
func SafeFilename(name, fallback string) string {
	var b strings.Builder
	for _, c := range name {
		switch {
		case c < utf8.RuneSelf && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_'):
			b.WriteRune(c)
		default:
			b.WriteByte('_')
		}
	}
	out := strings.TrimLeft(b.String(), ".")
	if len(out) > MaxFilename {
		out = out[len(out)-MaxFilename:] // keep the extension
	}
	if out == "" || !ValidFilename(out) {
		return fallback
	}
	return out
}

// ctxReader stops a copy when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
