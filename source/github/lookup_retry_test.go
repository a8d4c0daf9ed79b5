package github

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// TestLookupRetriesAnUnusableAnswer: one truncated or malformed body does
// not make the import endpoint refuse the import.
func TestLookupRetriesAnUnusableAnswer(t *testing.T) {
	for _, bad := range []string{`{"id": 7, "full_na`, `<html>oops</html>`} {
		var n atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			if n.Add(1) == 1 {
				fmt.Fprint(w, bad)
				return
			}
			fmt.Fprint(w, `{"id":7,"name":"r","full_name":"o/r","clone_url":"http://x/o/r.git"}`)
		}))
		info, err := Lookup(context.Background(), srv.Client(), srv.URL+"/api/v3/", "tok", 7)
		srv.Close()
		if err != nil || info.FullName != "o/r" || n.Load() != 2 {
			t.Errorf("after %q: %+v %v (%d calls)", bad, info, err, n.Load())
		}
	}
}
