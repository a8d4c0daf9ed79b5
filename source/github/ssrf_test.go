package github

import (
	"errors"
	"net/url"
	"testing"

	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/netguard/netguardtest"
)

// TestHopsToBlockedSpellingsRefused: a source on an allowed address (here
// a loopback one, as tests have it) whose answers point the clone URL, a
// pagination link or an attachment link at any spelling of another local
// address gets each refused as permanent, before anything is dialled. The
// end-to-end run with a trap is e2e.TestImportNeverReachesBlockedAddresses.
func TestHopsToBlockedSpellingsRefused(t *testing.T) {
	trap := netguardtest.NewTrap(t)
	const api = "http://127.0.0.1:8080/api/v3/"
	base, _ := url.Parse(api)
	r := &run{base: base, host: "127.0.0.1:8080", env: &importer.Env{}}
	var perm *importer.Permanent
	for _, s := range trap.Spellings() {
		if err := checkCloneURL(api, s.URL+"/acme/widgets.git"); !errors.As(err, &perm) {
			t.Errorf("clone URL %s: %v, want a permanent refusal", s.URL, err)
		}
		if next, err := r.nextURL(`<` + s.URL + `/api/v3/repos/acme/widgets/issues?page=2>; rel="next"`); !errors.As(err, &perm) || next != "" {
			t.Errorf("pagination to %s: %q, %v, want a permanent refusal", s.URL, next, err)
		}
		if r.attachments().Is(s.URL + "/user-attachments/assets/k1-4.png") {
			t.Errorf("attachment on %s taken for the source's", s.URL)
		}
	}
	if n := trap.Accepted(t); n != 0 {
		t.Fatalf("%d connections reached the trap", n)
	}
}
