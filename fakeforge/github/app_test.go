package github

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v4"

	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/fakeforge/traffic"
)

// testClock is a clock tests move by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const (
	testAppID          = 77
	testInstallationID = 88
)

// appServer is a simulated GitHub with an app whose tokens last lifetime,
// on clock, and the app's private key.
func appServer(t *testing.T, clock *testClock, lifetime time.Duration) (*Server, *rsa.PrivateKey) {
	t.Helper()
	c, err := scenario.Preset("small", 1)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := scenario.New(c)
	if err != nil {
		t.Fatal(err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s := New(Options{Scenario: sc, BaseURL: "http://h", Tokens: []string{"pat"}, App: AppOptions{ID: testAppID, PublicKey: &key.PublicKey,
		InstallationID: testInstallationID, TokenLifetime: lifetime, Now: clock.Now}})
	return s, key
}

// signJWT signs claims with key by method.
func signJWT(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func serve(h http.Handler, method, path, auth, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// mint trades a good JWT for an installation token.
func mint(t *testing.T, h http.Handler, clock *testClock, key *rsa.PrivateKey) string {
	t.Helper()
	now := clock.Now()
	jwtStr := signJWT(t, jwt.SigningMethodRS256, key, jwt.MapClaims{"iss": "77", "iat": now.Add(-30 * time.Second).Unix(), "exp": now.Add(2 * time.Minute).Unix()})
	rec := serve(h, http.MethodPost, "/app/installations/88/access_tokens", "Bearer "+jwtStr, "")
	if rec.Code != http.StatusCreated {
		t.Fatalf("mint: %d %s", rec.Code, rec.Body)
	}
	var out struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	return out.Token
}

// TestAppAccessTokens: POST /app/installations/{id}/access_tokens checks
// the JWT by GitHub's rules and answers GitHub's errors.
func TestAppAccessTokens(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	s, key := appServer(t, clock, time.Hour)
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := clock.Now()
	good := jwt.MapClaims{"iss": "77", "iat": now.Add(-30 * time.Second).Unix(), "exp": now.Add(2 * time.Minute).Unix()}
	with := func(k string, v any) jwt.MapClaims {
		c := jwt.MapClaims{}
		for a, b := range good {
			c[a] = b
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	for _, tt := range []struct {
		name, path, auth string
		want             int
		message          string
	}{
		{"good", "/app/installations/88/access_tokens", "Bearer " + signJWT(t, jwt.SigningMethodRS256, key, good), 201, ""},
		{"enterprise layout", "/api/v3/app/installations/88/access_tokens", "Bearer " + signJWT(t, jwt.SigningMethodRS256, key, good), 201, ""},
		{"iss a number", "/app/installations/88/access_tokens", "Bearer " + signJWT(t, jwt.SigningMethodRS256, key, with("iss", 77)), 201, ""},
		{"unknown installation", "/app/installations/89/access_tokens", "Bearer " + signJWT(t, jwt.SigningMethodRS256, key, good), 404, "Not Found"},
		{"no authorization", "/app/installations/88/access_tokens", "", 401, "A JSON web token could not be decoded"},
		{"a personal token", "/app/installations/88/access_tokens", "token pat", 401, "A JSON web token could not be decoded"},
		{"a personal token as bearer", "/app/installations/88/access_tokens", "Bearer pat", 401, "A JSON web token could not be decoded"},
		{"another key", "/app/installations/88/access_tokens", "Bearer " + signJWT(t, jwt.SigningMethodRS256, other, good), 401, "A JSON web token could not be decoded"},
		{"HS256", "/app/installations/88/access_tokens", "Bearer " + signJWT(t, jwt.SigningMethodHS256, []byte("secret"), good), 401, "A JSON web token could not be decoded"},
		{"another app", "/app/installations/88/access_tokens", "Bearer " + signJWT(t, jwt.SigningMethodRS256, key, with("iss", "78")), 401, "Integration not found"},
		{"iss not a number", "/app/installations/88/access_tokens", "Bearer " + signJWT(t, jwt.SigningMethodRS256, key, with("iss", "app")), 401, "'Issuer' claim ('iss') must be an Integer"},
		{"no iat", "/app/installations/88/access_tokens", "Bearer " + signJWT(t, jwt.SigningMethodRS256, key, with("iat", nil)), 401, "'Issued at' claim"},
		{"iat in the future", "/app/installations/88/access_tokens", "Bearer " + signJWT(t, jwt.SigningMethodRS256, key, with("iat", now.Add(5*time.Minute).Unix())), 401, "'Issued at' claim"},
		{"no exp", "/app/installations/88/access_tokens", "Bearer " + signJWT(t, jwt.SigningMethodRS256, key, with("exp", nil)), 401, "must be a numeric value"},
		{"expired", "/app/installations/88/access_tokens", "Bearer " + signJWT(t, jwt.SigningMethodRS256, key, with("exp", now.Add(-time.Second).Unix())), 401, "must be a numeric value"},
		{"exp too far", "/app/installations/88/access_tokens", "Bearer " + signJWT(t, jwt.SigningMethodRS256, key, with("exp", now.Add(11*time.Minute).Unix())), 401, "too far in the future"},
		{"longer than ten minutes", "/app/installations/88/access_tokens", "Bearer " + signJWT(t, jwt.SigningMethodRS256, key,
			jwt.MapClaims{"iss": "77", "iat": now.Add(-5 * time.Minute).Unix(), "exp": now.Add(9 * time.Minute).Unix()}), 401, "too far in the future"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(s, http.MethodPost, tt.path, tt.auth, "")
			if rec.Code != tt.want || !strings.Contains(rec.Body.String(), tt.message) {
				t.Fatalf("%d %s, want %d %q", rec.Code, rec.Body, tt.want, tt.message)
			}
			if tt.want != 201 {
				return
			}
			var out map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
				t.Fatal(err)
			}
			tok, _ := out["token"].(string)
			exp, err := time.Parse(time.RFC3339, out["expires_at"].(string))
			if !strings.HasPrefix(tok, "ghs_") || err != nil || !exp.Equal(now.Add(time.Hour)) || out["repository_selection"] != "all" || out["permissions"] == nil {
				t.Errorf("answer %s", rec.Body)
			}
		})
	}
	if st := s.AppStats(); st.Minted != 3 || st.Refused != 14 {
		t.Errorf("stats %+v, want 3 minted and 14 refused", st)
	}
}

// TestAppInstallationTokens: an installation token works wherever a
// personal token does until it expires, then 401 Bad credentials; the
// JWT works on /app/ only.
func TestAppInstallationTokens(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	s, key := appServer(t, clock, 61*time.Second)
	tok := mint(t, s, clock, key)
	now := clock.Now()
	jwtStr := signJWT(t, jwt.SigningMethodRS256, key, jwt.MapClaims{"iss": "77", "iat": now.Add(-30 * time.Second).Unix(), "exp": now.Add(2 * time.Minute).Unix()})
	graphQL := `{"query":"{ rateLimit { remaining } }"}`
	for _, tt := range []struct {
		name, method, path, auth, body string
		after                          time.Duration // clock moved before the request
		want                           int
	}{
		{"REST", http.MethodGet, "/repositories/4242", "token " + tok, "", 0, 200},
		{"REST, bearer", http.MethodGet, "/api/v3/repos/acme/widgets/issues", "Bearer " + tok, "", 0, 200},
		{"GraphQL", http.MethodPost, "/graphql", "bearer " + tok, graphQL, 0, 200},
		{"the JWT on REST", http.MethodGet, "/repositories/4242", "Bearer " + jwtStr, "", 0, 401},
		{"the JWT on GraphQL", http.MethodPost, "/graphql", "Bearer " + jwtStr, graphQL, 0, 401},
		{"an unknown ghs_ token", http.MethodGet, "/repositories/4242", "token ghs_0000", "", 0, 401},
		{"a second before expiry", http.MethodGet, "/repositories/4242", "token " + tok, "", 60 * time.Second, 200},
		{"at expiry", http.MethodGet, "/repositories/4242", "token " + tok, "", time.Second, 401},
		{"expired, GraphQL", http.MethodPost, "/graphql", "bearer " + tok, graphQL, 0, 401},
	} {
		clock.advance(tt.after)
		rec := serve(s, tt.method, tt.path, tt.auth, tt.body)
		if rec.Code != tt.want || (tt.want == 401 && !strings.Contains(rec.Body.String(), "Bad credentials")) {
			t.Errorf("%s: %d %s, want %d", tt.name, rec.Code, rec.Body, tt.want)
		}
	}
	if !s.AcceptsToken("pat") || s.AcceptsToken(tok) {
		t.Error("git would take an expired installation token, or not the personal one")
	}
	if st := s.AppStats(); st.Minted != 1 || st.Accepted != 4 || st.Expired != 3 {
		t.Errorf("stats %+v, want 1 minted, 4 accepted, 3 expired", st)
	}
	if fresh := mint(t, s, clock, key); !s.AcceptsToken(fresh) {
		t.Error("a token minted after the first expired is refused")
	}
}

// TestAppBudget: every token of an installation spends the installation's
// budget, Faults.AppRateLimit, larger than a person's by default; minting
// spends none.
func TestAppBudget(t *testing.T) {
	for _, tt := range []struct {
		name             string
		faults           traffic.Faults
		wantPAT, wantApp int    // requests served of 10 and of 20
		patLimit         string // X-RateLimit-Limit answered
		appLimit         string
	}{
		{"default: three times a person's", traffic.Faults{RateLimit: 2}, 2, 6, "2", "6"},
		{"set", traffic.Faults{RateLimit: 2, AppRateLimit: 4}, 2, 4, "2", "4"},
		{"app unlimited", traffic.Faults{RateLimit: 2, AppRateLimit: -1}, 2, 20, "2", ""},
		{"all unlimited", traffic.Faults{}, 10, 20, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clock := &testClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
			s, key := appServer(t, clock, 61*time.Second)
			h := traffic.New(tt.faults, s.Profile(), clock).Wrap(s)
			served := func(auth string, n int) (ok int, limit string) {
				for range n {
					rec := serve(h, http.MethodGet, "/repositories/4242", auth, "")
					if rec.Code == 200 {
						ok++
						limit = rec.Header().Get("X-RateLimit-Limit")
					}
				}
				return ok, limit
			}
			if n, l := served("token pat", 10); n != tt.wantPAT || l != tt.patLimit {
				t.Errorf("personal token: %d served, limit %q; want %d, %q", n, l, tt.wantPAT, tt.patLimit)
			}
			// Two tokens, the second minted after the first expired, one budget.
			first := mint(t, h, clock, key)
			n1, _ := served("token "+first, 3)
			clock.advance(time.Minute + time.Second)
			second := mint(t, h, clock, key)
			n2, l := served("token "+second, 17)
			if n1+n2 != tt.wantApp || l != tt.appLimit {
				t.Errorf("installation: %d+%d served, limit %q; want %d, %q", n1, n2, l, tt.wantApp, tt.appLimit)
			}
		})
	}
}

// TestAppInstallationRepositories: GET /installation/repositories answers
// an installation token with the repository, paged, inside
// {"total_count", "repositories"}; a personal token is refused there, and
// an installation token on /user/repos, as GitHub does.
func TestAppInstallationRepositories(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	s, key := appServer(t, clock, time.Hour)
	tok := mint(t, s, clock, key)
	for _, path := range []string{"/installation/repositories", "/api/v3/installation/repositories?per_page=1"} {
		rec := serve(s, http.MethodGet, path, "token "+tok, "")
		var out struct {
			TotalCount   int `json:"total_count"`
			Repositories []struct {
				ID       int64  `json:"id"`
				FullName string `json:"full_name"`
			} `json:"repositories"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &out); rec.Code != 200 || err != nil || out.TotalCount != 1 || len(out.Repositories) != 1 ||
			out.Repositories[0].ID != RepoID || out.Repositories[0].FullName != Owner+"/"+Repo || rec.Header().Get("Link") != "" {
			t.Errorf("%s: %d %s (Link %q)", path, rec.Code, rec.Body, rec.Header().Get("Link"))
		}
	}
	if rec := serve(s, http.MethodGet, "/installation/repositories?page=2", "token "+tok, ""); rec.Code != 200 ||
		!strings.Contains(rec.Body.String(), `"repositories":[]`) || !strings.Contains(rec.Header().Get("Link"), `rel="prev"`) {
		t.Errorf("page 2: %d %s (Link %q)", rec.Code, rec.Body, rec.Header().Get("Link"))
	}
	if rec := serve(s, http.MethodGet, "/installation/repositories", "token pat", ""); rec.Code != 403 ||
		!strings.Contains(rec.Body.String(), "installation access token") {
		t.Errorf("personal token: %d %s", rec.Code, rec.Body)
	}
	if rec := serve(s, http.MethodGet, "/installation/repositories", "token ghs_0000", ""); rec.Code != 401 {
		t.Errorf("unknown token: %d %s", rec.Code, rec.Body)
	}
	if rec := serve(s, http.MethodGet, "/user/repos", "token "+tok, ""); rec.Code != 403 || !strings.Contains(rec.Body.String(), "not accessible by integration") {
		t.Errorf("installation token on /user/repos: %d %s", rec.Code, rec.Body)
	}
	if rec := serve(s, http.MethodGet, "/user/repos", "token pat", ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), Owner+"/"+Repo) {
		t.Errorf("personal token on /user/repos: %d %s", rec.Code, rec.Body)
	}
}
