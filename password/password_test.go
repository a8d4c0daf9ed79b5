package password

import (
	"strings"
	"testing"
)

func TestHashAndCheck(t *testing.T) {
	long := strings.Repeat("é", 100) // 200 bytes: past bcrypt's 72
	h, err := Hash(long)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(h, long) || !strings.HasPrefix(h, prefix) {
		t.Fatalf("hash %q", h)
	}
	for _, c := range []struct {
		name, hash, pw string
		ok             bool
	}{
		{"right password", h, long, true},
		{"differs past byte 72", h, strings.Repeat("é", 99) + "e", false},
		{"empty password", h, "", false},
		{"no stored hash", "", long, false},
		{"foreign hash", "$2a$10$abcdefghijklmnopqrstuv", long, false},
	} {
		if got := Check(c.hash, c.pw); got != c.ok {
			t.Errorf("%s: Check = %v, want %v", c.name, got, c.ok)
		}
	}
	h2, _ := Hash(long)
	if h2 == h {
		t.Errorf("two hashes of one password are equal: no salt")
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []struct {
		pw   string
		want string
	}{
		{"short", "is too short (minimum is 8 characters)"},
		{"éééééééé", ""}, // 8 characters, 16 bytes
		{strings.Repeat("a", 128), ""},
		{strings.Repeat("a", 129), "is too long (maximum is 128 characters)"},
	} {
		err := Validate(c.pw)
		if got := ""; err != nil {
			got = err.Error()
			if got != c.want {
				t.Errorf("Validate(%d chars) = %q, want %q", len(c.pw), got, c.want)
			}
		} else if c.want != "" {
			t.Errorf("Validate(%d chars) = nil, want %q", len(c.pw), c.want)
		}
	}
}
