package web_test

import (
	"fmt"
	"testing"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/app/apptest"
)

// TestHistoryPages: the history pages through more imports than a page
// holds, keeping the status filter, and shows nobody else's.
func TestHistoryPages(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{Workers: 1}, func(t *testing.T, in *apptest.Instance) {
		_, alice := user(t, in, "alice")
		_, bob := user(t, in, "bob")
		for i := 1; i <= 51; i++ {
			imported(t, in, alice.Token, fmt.Sprintf("p%02d", i), ferry.ImportFinished)
		}
		imported(t, in, alice.Token, "broken", ferry.ImportFailed)
		a, bb := newBrowser(t, in), newBrowser(t, in)
		a.signIn(alice.Token)
		bb.signIn(bob.Token)
		cases := []pageCase{
			{"page 1", a, "/-/imports", 200, []string{"52 GitHub and Bitbucket Server imports", "page 1 of 2", "alice/broken", "alice/p51", "alice/p03<",
				`<nav aria-label="Pages of project imports"`, `rel="next" href="/-/imports?page=2"`, "6 / 7"}, []string{"alice/p02<", `rel="prev"`}},
			{"page 2", a, "/-/imports?page=2", 200, []string{"alice/p02<", "alice/p01<", `rel="prev" href="/-/imports"`}, []string{"alice/p03<", "alice/broken"}},
			{"filtered, page 1", a, "/-/imports?status=finished", 200, []string{"51 GitHub", "alice/p02<",
				`rel="next" href="/-/imports?page=2&amp;status=finished"`}, []string{"alice/broken", "alice/p01<"}},
			{"filtered, page 2", a, "/-/imports?status=finished&page=2", 200, []string{"alice/p01<", `rel="prev" href="/-/imports?status=finished"`}, []string{"alice/p02<"}},
			{"failed", a, "/-/imports?status=failed", 200, []string{"alice/broken", "1 GitHub"}, []string{"alice/p01<", `<nav aria-label="Pages`}},
			{"past the end", a, "/-/imports?page=5", 200, []string{"No project imports on this page", `rel="prev" href="/-/imports?page=2"`}, nil},
			{"nobody else's", bb, "/-/imports", 200, []string{"No project imports"}, []string{"alice/"}},
		}
		checkPages(t, cases)
	})
}
