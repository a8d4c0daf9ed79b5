package github

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ferry-import/ferry/fakeforge/scenario"
)

// TestMissingEndpoints: the endpoints Options.Missing names answer
// GitHub's 404 at the root and under /api/v3, after authentication; the
// rest, per-item lists beside a missing repo-wide one included, answer.
func TestMissingEndpoints(t *testing.T) {
	c, err := scenario.Preset("small", 1)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := scenario.New(c)
	if err != nil {
		t.Fatal(err)
	}
	s := New(Options{Scenario: sc, BaseURL: "http://h", Tokens: []string{"t"}, Missing: []string{"/issues/comments", "/releases"}})
	for _, tt := range []struct {
		path, token string
		want        int
	}{
		{"/repos/acme/widgets/issues/comments", "t", http.StatusNotFound},
		{"/api/v3/repos/acme/widgets/issues/comments", "t", http.StatusNotFound},
		{"/repos/acme/widgets/releases", "t", http.StatusNotFound},
		{"/repos/acme/widgets/issues/comments", "", http.StatusUnauthorized},
		{"/repos/acme/widgets/issues/1/comments", "t", http.StatusOK},
		{"/repos/acme/widgets/pulls/comments", "t", http.StatusOK},
		{"/api/v3/repos/acme/widgets/labels", "t", http.StatusOK},
	} {
		req := httptest.NewRequest(http.MethodGet, tt.path, nil)
		if tt.token != "" {
			req.Header.Set("Authorization", "token "+tt.token)
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != tt.want || (tt.want == http.StatusNotFound && !strings.Contains(rec.Body.String(), `"message":"Not Found"`)) {
			t.Errorf("GET %s: %d %s, want %d", tt.path, rec.Code, rec.Body, tt.want)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("an unknown endpoint name was accepted")
		}
	}()
	New(Options{Scenario: sc, BaseURL: "http://h", Tokens: []string{"t"}, Missing: []string{"/issues/comment"}})
}
