package secret

import (
	"bytes"
	"testing"
)

func TestDerive(t *testing.T) {
	dir := t.TempDir()
	a, err := Load("", dir)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Load("", dir)
	if err != nil {
		t.Fatal(err)
	}
	other, err := New("another key")
	if err != nil {
		t.Fatal(err)
	}
	k := a.Derive("lfs-download-tokens")
	if len(k) != 32 {
		t.Fatalf("derived key has %d bytes", len(k))
	}
	tests := []struct {
		name string
		got  []byte
		same bool
	}{
		{"same key file after reload", again.Derive("lfs-download-tokens"), true},
		{"other label", a.Derive("something-else"), false},
		{"other key material", other.Derive("lfs-download-tokens"), false},
	}
	for _, tt := range tests {
		if bytes.Equal(tt.got, k) != tt.same {
			t.Errorf("%s: equal = %v, want %v", tt.name, !tt.same, tt.same)
		}
	}
	// Callers may modify what they get without affecting later calls.
	k[0] ^= 0xff
	if bytes.Equal(a.Derive("lfs-download-tokens"), k) {
		t.Error("Derive returned shared storage")
	}
}
