package github

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ferry-import/ferry/fakeforge/scenario"
)

// TestMaxPage: past Options.MaxPage the repo-wide lists answer GitHub's
// 422 with its exact body; rel="last" never names a page past MaxPage,
// while rel="next" on page MaxPage leads to the refused page; per-item
// lists and a list that takes since, read from page 1 again, answer.
func TestMaxPage(t *testing.T) {
	c, err := scenario.Preset("small", 1)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := scenario.New(c)
	if err != nil {
		t.Fatal(err)
	}
	s := New(Options{Scenario: sc, BaseURL: "http://h", Tokens: []string{"t"}, MaxPage: 2})
	get := func(path string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Authorization", "token t")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec
	}
	for _, list := range []string{"/issues?state=all", "/issues/comments?", "/pulls/comments?", "/issues/events?", "/pulls?state=all"} {
		base := "/api/v3/repos/acme/widgets" + list + "&per_page=10"
		rec := get(base + "&page=3")
		var body map[string]string
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		if rec.Code != http.StatusUnprocessableEntity || body["message"] != capMessage || body["documentation_url"] != "https://docs.github.com/v3/#pagination" {
			t.Errorf("%s page 3: %d %s", list, rec.Code, rec.Body)
		}
		for page, want := range map[string]string{"1": "page=2", "2": "page=3"} {
			rec := get(base + "&page=" + page)
			link := rec.Header().Get("Link")
			if rec.Code != http.StatusOK || !strings.Contains(link, want+`&per_page=10`) || !strings.Contains(link, `page=2&per_page=10`) ||
				strings.Contains(link, `page=3&per_page=10>; rel="last"`) {
				t.Errorf("%s page %s: %d, Link %s", list, page, rec.Code, link)
			}
		}
	}
	if rec := get("/repos/acme/widgets/issues?state=all&per_page=10&page=1&since=" + sc.Comment(1).Created.Format("2006-01-02T15:04:05Z")); rec.Code != http.StatusOK {
		t.Errorf("since from page 1: %d", rec.Code)
	}
	if rec := get("/repos/acme/widgets/issues/1/comments?per_page=1&page=3"); rec.Code != http.StatusOK {
		t.Errorf("per-item list past MaxPage: %d", rec.Code)
	}
	if !strings.Contains(capMessage, "pagination is limited for this resource") {
		t.Error("capMessage is not GitHub's")
	}
}
