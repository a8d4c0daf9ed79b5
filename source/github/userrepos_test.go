package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestUserRepos: a page of the token's repositories with the next page's
// number, and a refused token as Lookup reports it.
func TestUserRepos(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"message":"Bad credentials"}`)
			return
		}
		if r.URL.Path != "/api/v3/user/repos" || r.URL.Query().Get("per_page") != "2" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("page") == "1" {
			w.Header().Set("Link", fmt.Sprintf(`<%s/api/v3/user/repos?page=2&per_page=2>; rel="next"`, "http://"+r.Host))
			fmt.Fprint(w, `[{"id":1,"name":"a","full_name":"o/a","private":true},{"id":2,"name":"b","full_name":"o/b","description":"B"}]`)
			return
		}
		fmt.Fprint(w, `[{"id":3,"name":"c","full_name":"o/c"}]`)
	}))
	defer srv.Close()
	ctx := context.Background()
	repos, next, err := UserRepos(ctx, srv.Client(), srv.URL+"/api/v3/", "tok", 1, 2)
	if err != nil || len(repos) != 2 || next != 2 || repos[0].FullName != "o/a" || !repos[0].Private || repos[1].Description != "B" {
		t.Fatalf("page 1: %+v next %d %v", repos, next, err)
	}
	repos, next, err = UserRepos(ctx, srv.Client(), srv.URL+"/api/v3/", "tok", 2, 2)
	if err != nil || len(repos) != 1 || next != 0 || repos[0].ID != 3 {
		t.Fatalf("page 2: %+v next %d %v", repos, next, err)
	}
	if _, _, err := UserRepos(ctx, srv.Client(), srv.URL+"/api/v3/", "wrong", 1, 2); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("wrong token: %v", err)
	}
}
