package scenario_test

import (
	"bytes"
	"testing"

	"github.com/ferry-import/ferry/fakeforge/scenario"
)

// FuzzNames feeds URL path segments to the two parsers of outside names
// the forges use: attachment file names and user logins. Any accepted
// name must be one the scenario could have produced.
func FuzzNames(f *testing.F) {
	c, err := scenario.Preset("small", 1)
	if err != nil {
		f.Fatal(err)
	}
	sc, err := scenario.New(c)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{scenario.AttachmentName(4, 8), "k4-08.png", "k-1-2.png", "user3", "user03", "user0", "user99999999999999999999", "", "k1-2.pngx"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if b, ok := sc.Attachment(name); ok && !bytes.HasPrefix(b, []byte("\x89PNG")) {
			t.Fatalf("attachment %q is not a PNG", name)
		}
		if u, ok := sc.UserByLogin(name); ok && (u.Login != name || u.Index < 1 || u.Index > c.Users) {
			t.Fatalf("login %q resolved to %+v", name, u)
		}
	})
}
