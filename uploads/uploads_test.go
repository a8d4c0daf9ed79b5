package uploads

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func newStore(t *testing.T, max int64) (*Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := New(dir, Options{MaxSize: max})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

func digest(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func TestPutRoundTrip(t *testing.T) {
	s, dir := newStore(t, 0)
	ctx := context.Background()
	data := []byte("\x89PNG\r\n\x1a\nsome image")
	for _, want := range []string{"", digest(data)} { // computed, then verified; twice is idempotent
		sum, n, err := s.Put(ctx, bytes.NewReader(data), want)
		if err != nil {
			t.Fatal(err)
		}
		if sum != digest(data) || n != int64(len(data)) {
			t.Fatalf("Put = %s, %d; want %s, %d", sum, n, digest(data), len(data))
		}
	}
	if !s.Has(digest(data)) {
		t.Fatal("Has = false after Put")
	}
	f, err := s.Open(digest(data))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(f)
	f.Close()
	if !bytes.Equal(got, data) {
		t.Fatalf("read back %q", got)
	}
	// Nothing is left in staging.
	if left, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(left) != 0 {
		t.Errorf("staging files left: %v", left)
	}
}

func TestPutRefuses(t *testing.T) {
	ctx := context.Background()
	data := []byte("hello")
	for _, c := range []struct {
		name string
		max  int64
		body []byte
		want string
		err  error
	}{
		{"sha mismatch", 0, data, digest([]byte("other")), ErrMismatch},
		{"invalid digest", 0, data, "../../etc/passwd", ErrInvalid},
		{"upper-case digest", 0, data, strings.ToUpper(digest(data)), ErrInvalid},
		{"too large", 4, data, "", ErrTooLarge},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, dir := newStore(t, c.max)
			if _, _, err := s.Put(ctx, bytes.NewReader(c.body), c.want); !errors.Is(err, c.err) {
				t.Fatalf("Put err = %v, want %v", err, c.err)
			}
			if s.Has(digest(c.body)) {
				t.Error("refused content was stored")
			}
			if left, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(left) != 0 {
				t.Errorf("staging files left: %v", left)
			}
		})
	}
}

func TestPutAtLimit(t *testing.T) {
	s, _ := newStore(t, 5)
	if _, n, err := s.Put(context.Background(), strings.NewReader("12345"), ""); err != nil || n != 5 {
		t.Fatalf("Put at the limit = %d, %v", n, err)
	}
}

func TestOpenRefusesPaths(t *testing.T) {
	s, dir := newStore(t, 0)
	// A file outside the store must not be reachable by any name.
	secret := filepath.Join(filepath.Dir(dir), "outside")
	if err := os.WriteFile(secret, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"", "../outside", "objects/../../outside", "/etc/passwd", strings.Repeat("a", 63) + "/",
		digest([]byte("absent"))} {
		if _, err := s.Open(name); err == nil {
			t.Errorf("Open(%q) succeeded", name)
		}
		if s.Has(name) {
			t.Errorf("Has(%q) = true", name)
		}
	}
	if _, err := s.Open(digest([]byte("absent"))); !errors.Is(err, ErrNotFound) {
		t.Errorf("Open(absent) = %v, want ErrNotFound", err)
	}
}

func TestFilenames(t *testing.T) {
	for _, c := range []struct {
		name  string
		valid bool
		safe  string
	}{
		{"screenshot.png", true, "screenshot.png"},
		{"Ærøskøbing 日本.pdf", true, "_r_sk_bing___.pdf"},
		{"..", false, "file"},
		{".", false, "file"},
		{"", false, "file"},
		{"../../etc/passwd", false, "_.._etc_passwd"},
		{"a/b.png", false, "a_b.png"},
		{`a\b.png`, false, "a_b.png"},
		{"a\x00b", false, "a_b"},
		{"new\nline", false, "new_line"},
		{".hidden", true, "hidden"},
		{strings.Repeat("x", 300) + ".png", false, strings.Repeat("x", 251) + ".png"},
	} {
		if got := ValidFilename(c.name); got != c.valid {
			t.Errorf("ValidFilename(%q) = %v", c.name, got)
		}
		got := SafeFilename(c.name, "file")
		if got != c.safe {
			t.Errorf("SafeFilename(%q) = %q, want %q", c.name, got, c.safe)
		}
		if !ValidFilename(got) {
			t.Errorf("SafeFilename(%q) = %q is not valid", c.name, got)
		}
	}
}
