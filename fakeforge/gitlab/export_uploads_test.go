package gitlab

import (
	"runtime"
	"strings"
	"testing"

	"github.com/ferry-import/ferry/fakeforge/scenario"
)

// TestProjectUploadsKeepsNamesOnly checks that the uploads relation's
// scan keeps the names it found and not the bodies it found them in: with
// bodies of 64 KiB, keeping a substring per upload would hold megabytes.
// Not parallel: it reads the process's heap.
func TestProjectUploadsKeepsNamesOnly(t *testing.T) {
	c, err := scenario.Preset("small", 7)
	if err != nil {
		t.Fatal(err)
	}
	c.Issues, c.PullRequests, c.Milestones, c.Releases = 200, 20, 4, 4
	c.CommentsPerItem, c.ReviewCommentsPerPR = 1, 1
	c.TextSize = 64 << 10
	sc, err := scenario.New(c)
	if err != nil {
		t.Fatal(err)
	}
	s := New(Options{Scenario: sc, BaseURL: "http://fake.invalid"})
	p := s.proj(sc.Projects()[0])

	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	names := s.projectUploads(p)
	grew := int64(heap()) - int64(before)
	if len(names) < 50 {
		t.Fatalf("%d uploads found; the scenario should link at least 50", len(names))
	}
	held := 0
	for i, n := range names {
		held += len(n)
		if strings.ContainsAny(n, uploadEnds) || (i > 0 && names[i-1] >= n) {
			t.Errorf("names not distinct, sorted file names: %q after %q", n, names[max(0, i-1)])
		}
	}
	// The names, their headers and the cache entry, with room for noise;
	// one body kept per upload would be at least len(names)*64 KiB.
	if limit := int64(held+len(names)*16) + 512<<10; grew > limit {
		t.Errorf("the heap grew by %d bytes for %d names (%d bytes of text); limit %d", grew, len(names), held, limit)
	}
	if again := s.projectUploads(p); len(again) != len(names) || &again[0] != &names[0] {
		t.Errorf("second call scanned again (%d names, want the cached %d)", len(again), len(names))
	}
	runtime.KeepAlive(names)
}
