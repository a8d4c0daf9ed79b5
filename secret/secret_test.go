package secret

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	dir := t.TempDir()
	b, err := Load("", dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "secret_key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	sealed, err := b.Seal("ghp_supersecret")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "supersecret") {
		t.Fatal("sealed value holds the plaintext")
	}
	// A second Load reads the same key file.
	b2, err := Load("", dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b2.Open(sealed); err != nil || got != "ghp_supersecret" {
		t.Fatalf("open: %q %v", got, err)
	}
	other, _ := New("another key")
	if _, err := other.Open(sealed); err == nil || strings.Contains(err.Error(), "supersecret") {
		t.Fatalf("wrong key: %v", err)
	}
	if _, err := b.Open("not base64!"); err == nil {
		t.Fatal("malformed value opened")
	}
}
