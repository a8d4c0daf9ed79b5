package bitbucketserver

import (
	"net/url"
	"testing"

	"github.com/ferry-import/ferry/fakeforge/scenario"
)

// FuzzSpanOf feeds arbitrary start and limit values to Bitbucket Server's
// paging: every page that is not the last moves forward, so a client
// following nextPageStart always ends.
func FuzzSpanOf(f *testing.F) {
	for _, s := range []struct {
		start, limit string
		n            uint32
	}{{"", "", 0}, {"25", "25", 60}, {"-1", "0", 5}, {"9223372036854775807", "25", 100}, {"59", "1000", 60}, {"x", "y", 3}} {
		f.Add(s.start, s.limit, s.n)
	}
	f.Fuzz(func(t *testing.T, start, limit string, n32 uint32) {
		n := int(n32 % 1_000_000)
		sp := spanOf(url.Values{"start": {start}, "limit": {limit}}, n, scenario.BBSPageMax)
		if sp.start < 0 || sp.limit < 1 || sp.limit > scenario.BBSPageMax || sp.end < sp.start || sp.end-sp.start > sp.limit {
			t.Fatalf("span %+v out of range", sp)
		}
		if !sp.last && (sp.end <= sp.start || sp.end >= n) {
			t.Fatalf("span %+v of %d objects: a next page that does not move forward", sp, n)
		}
		if sp.last != (sp.end >= n) {
			t.Fatalf("span %+v of %d objects: isLastPage wrong", sp, n)
		}
	})
}
