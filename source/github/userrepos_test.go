package github

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-import/ferry"
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

// TestUserReposInstallation: a GitHub App credential lists the
// installation's repositories (GET /installation/repositories, paged, the
// list inside {"total_count", "repositories"}) with an installation token
// minted once for both pages, not /user/repos; an app GitHub refuses a
// token is ErrUnauthorized.
func TestUserReposInstallation(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	var minted, listed atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		auth := r.Header.Get("Authorization")
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/api/v3/app/installations/88/access_tokens" && strings.HasPrefix(auth, "Bearer ey"):
			minted.Add(1)
			w.WriteHeader(http.StatusCreated)
			fmt.Fprintf(w, `{"token":"ghs_inst","expires_at":%q}`, time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
		case r.Method == http.MethodPost:
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"message":"Not Found"}`)
		case auth != "token ghs_inst":
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"message":"Bad credentials"}`)
		case r.URL.Path == "/api/v3/user/repos":
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"message":"Resource not accessible by integration"}`)
		case r.URL.Path == "/api/v3/installation/repositories" && r.URL.Query().Get("per_page") == "2":
			listed.Add(1)
			if r.URL.Query().Get("page") == "1" {
				w.Header().Set("Link", fmt.Sprintf(`<%s/api/v3/installation/repositories?page=2&per_page=2>; rel="next"`, "http://"+r.Host))
				fmt.Fprint(w, `{"total_count":3,"repositories":[{"id":1,"name":"a","full_name":"o/a","private":true},{"id":2,"name":"b","full_name":"o/b","description":"B"}]}`)
				return
			}
			fmt.Fprint(w, `{"total_count":3,"repositories":[{"id":3,"name":"c","full_name":"o/c"}]}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	app := ferry.GitHubApp{AppID: 77, InstallationID: 88, PrivateKey: pemKey}.Encode()
	base := srv.URL + "/api/v3/"
	repos, next, err := UserRepos(ctx, srv.Client(), base, app, 1, 2)
	if err != nil || len(repos) != 2 || next != 2 || repos[0].FullName != "o/a" || !repos[0].Private || repos[1].Description != "B" {
		t.Fatalf("page 1: %+v next %d %v", repos, next, err)
	}
	repos, next, err = UserRepos(ctx, srv.Client(), base, app, 2, 2)
	if err != nil || len(repos) != 1 || next != 0 || repos[0].ID != 3 {
		t.Fatalf("page 2: %+v next %d %v", repos, next, err)
	}
	if listed.Load() != 2 || minted.Load() != 2 {
		// No cache across calls: each listing mints its own token.
		t.Errorf("%d listings, %d tokens minted; want 2 and 2", listed.Load(), minted.Load())
	}
	other := ferry.GitHubApp{AppID: 77, InstallationID: 99, PrivateKey: pemKey}.Encode()
	if _, _, err := UserRepos(ctx, srv.Client(), base, other, 1, 2); err == nil || errors.Is(err, ErrUnauthorized) {
		t.Errorf("unknown installation: %v, want GitHub's 404", err)
	}
	if _, _, err := UserRepos(ctx, srv.Client(), base, "ghs_other", 1, 2); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("a refused token: %v", err)
	}
}
