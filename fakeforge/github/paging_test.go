package github

import (
	"net/url"
	"testing"
)

// FuzzPageOf feeds arbitrary page and per_page values to GitHub's page
// parsing: the page never reaches outside the list, however large.
func FuzzPageOf(f *testing.F) {
	for _, s := range []struct {
		page, perPage string
		n             uint32
	}{{"", "", 0}, {"2", "10", 65}, {"0", "-3", 5}, {"9223372036854775807", "100", 500}, {"4611686018427387904", "2", 9}, {"x", "1e3", 1}} {
		f.Add(s.page, s.perPage, s.n)
	}
	f.Fuzz(func(t *testing.T, page, perPage string, n32 uint32) {
		n := int(n32 % 1_000_000)
		p := pageOf(url.Values{"page": {page}, "per_page": {perPage}}, n)
		if p.page < 1 || p.perPage < 1 || p.perPage > 100 || p.last < 1 {
			t.Fatalf("span %+v out of range", p)
		}
		if p.first < 0 || p.first > p.end || p.end > n || p.end-p.first > p.perPage {
			t.Fatalf("span %+v outside %d objects", p, n)
		}
		if p.page > p.last && p.first != p.end {
			t.Fatalf("page %d past the last (%d) is not empty: %+v", p.page, p.last, p)
		}
	})
}
