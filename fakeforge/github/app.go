package github

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v4"
)

// A GitHub App and one installation of it, as GitHub serves them: the app
// authenticates with a JWT it signs with its private key (RS256, iss the
// app's id, at most ten minutes long), and trades it at
// POST /app/installations/{id}/access_tokens for an installation token
// (ghs_…) that expires after TokenLifetime. Installation tokens are
// accepted wherever a personal token is (REST, GraphQL, git, LFS) until
// they expire, then answered 401 Bad credentials; every token of the
// installation spends one budget, the installation's (the credential
// InstallationCredential names to package traffic, which grants it
// Faults.AppRateLimit). The JWT is accepted on /app/… only.

// AppOptions are the simulated GitHub App and its one installation.
type AppOptions struct {
	// ID is the app's id; 0 serves no app (the /app/ endpoints answer
	// 401 to every JWT).
	ID int64
	// PublicKey verifies the app's JWTs.
	PublicKey *rsa.PublicKey
	// InstallationID is the installation's id; tokens for any other
	// answer 404.
	InstallationID int64
	// TokenLifetime is how long an installation token lasts; 0 is
	// GitHub's hour. ghinstallation renews a token a minute before it
	// expires, so a lifetime of 61–65 s makes a client renew every few
	// seconds.
	TokenLifetime time.Duration
	// Now tells the time; nil is the wall clock.
	Now func() time.Time
}

// AppStats counts what the app's endpoints and tokens saw.
type AppStats struct {
	// Minted installation tokens; Refused token requests (a JWT that did
	// not verify, an unknown installation).
	Minted  int `json:"minted"`
	Refused int `json:"refused"`
	// Accepted requests authenticated by a live installation token;
	// Expired requests that came with an expired one (answered 401). No
	// request with an expired token is ever accepted.
	Accepted int `json:"accepted"`
	Expired  int `json:"expired"`
}

// GenerateAppKey makes an app's key pair as GitHub hands it out: RSA
// 2048, the private key PEM-encoded in PKCS#1.
func GenerateAppKey() (privatePEM string, public *rsa.PublicKey, err error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", nil, err
	}
	b := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	return string(b), &k.PublicKey, nil
}

// InstallationCredential is the credential an installation's tokens spend
// under in package traffic: one budget for all of them, as on GitHub.
func InstallationCredential(id int64) string { return "installation:" + strconv.FormatInt(id, 10) }

// IsInstallationCredential tells the traffic middleware which budgets are
// an installation's (Faults.AppRateLimit).
func IsInstallationCredential(cred string) bool { return strings.HasPrefix(cred, "installation:") }

// apps is the state of the app: the tokens it minted and the counts.
type apps struct {
	opts AppOptions

	mu     sync.Mutex
	tokens map[string]time.Time // installation token → its expiry
	stats  AppStats
}

func newApps(o AppOptions) *apps {
	if o.TokenLifetime <= 0 {
		o.TokenLifetime = time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &apps{opts: o, tokens: map[string]time.Time{}}
}

// AppStats returns the app's counts so far.
func (s *Server) AppStats() AppStats {
	s.apps.mu.Lock()
	defer s.apps.mu.Unlock()
	return s.apps.stats
}

// InstallationTokens are the tokens minted so far, live or expired: for a
// test to look for them where they must not be.
func (s *Server) InstallationTokens() []string {
	s.apps.mu.Lock()
	defer s.apps.mu.Unlock()
	out := make([]string, 0, len(s.apps.tokens))
	for t := range s.apps.tokens {
		out = append(out, t)
	}
	return out
}

// AcceptsToken tells whether t authenticates API, git and LFS requests
// now: a personal token, or a live installation token.
func (s *Server) AcceptsToken(t string) bool { return s.tokenOK(t) }

// installationToken tells whether t is an installation token (live or
// not) and whether it is live now, counting the use.
func (a *apps) installationToken(t string) (known, live bool) {
	if !strings.HasPrefix(t, "ghs_") {
		return false, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	exp, ok := a.tokens[t]
	if !ok {
		return false, false
	}
	if a.opts.Now().Before(exp) {
		a.stats.Accepted++
		return true, true
	}
	a.stats.Expired++
	return true, false
}

// credential is whose budget a request spends: the installation's for its
// tokens, live or expired, else the token itself.
func (s *Server) credential(r *http.Request) string {
	t := token(r)
	if strings.HasPrefix(t, "ghs_") {
		s.apps.mu.Lock()
		_, ok := s.apps.tokens[t]
		s.apps.mu.Unlock()
		if ok {
			return InstallationCredential(s.apps.opts.InstallationID)
		}
	}
	return t
}

// appRoutes registers the app's endpoints under prefix ("" or /api/v3).
func (s *Server) appRoutes(prefix string) {
	s.mux.HandleFunc("POST "+prefix+"/app/installations/{id}/access_tokens", s.accessToken)
	s.mux.HandleFunc("GET "+prefix+"/installation/repositories", s.authed(s.installationRepos))
}

// installationAuthed tells whether r comes with one of the installation's
// tokens (live: authed checked it).
func (s *Server) installationAuthed(r *http.Request) bool {
	return s.apps.opts.ID != 0 && s.credential(r) == InstallationCredential(s.apps.opts.InstallationID)
}

// installationRepos is GET /installation/repositories: the repositories
// the installation may read (the one repository), paged as GitHub pages
// it, inside {"total_count", "repositories"}. Only an installation token
// may ask, as on GitHub.
func (s *Server) installationRepos(w http.ResponseWriter, r *http.Request) {
	if !s.installationAuthed(r) {
		writeJSON(w, http.StatusForbidden, map[string]string{
			"message":           "You must authenticate with an installation access token in order to list repositories for an installation.",
			"documentation_url": installationReposDocs})
		return
	}
	const total = 1
	pg := pageOf(r.URL.Query(), total)
	link := func(p int, rel string) string {
		u := *r.URL
		v := u.Query()
		v.Set("page", strconv.Itoa(p))
		v.Set("per_page", strconv.Itoa(pg.perPage))
		u.RawQuery = v.Encode()
		return `<` + s.base + u.RequestURI() + `>; rel="` + rel + `"`
	}
	var links []string
	if pg.page < pg.last {
		links = append(links, link(pg.page+1, "next"), link(pg.last, "last"))
	}
	if pg.page > 1 {
		links = append(links, link(1, "first"), link(min(pg.page-1, pg.last), "prev"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	repos := []any{}
	for i := pg.first; i < pg.end; i++ {
		repos = append(repos, s.repoObj(s.apiBase(r)))
	}
	respond(w, r, map[string]any{"total_count": total, "repository_selection": "all", "repositories": repos})
}

const installationReposDocs = "https://docs.github.com/rest/apps/installations#list-repositories-accessible-to-the-app-installation"

const appTokenDocs = "https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app"

// appClaims are the claims GitHub reads of an app's JWT; iss may be a
// number or a string of one.
type appClaims struct {
	Issuer    any              `json:"iss"`
	IssuedAt  *jwt.NumericDate `json:"iat"`
	ExpiresAt *jwt.NumericDate `json:"exp"`
}

// Valid is checked by verifyJWT against the app's clock instead.
func (appClaims) Valid() error { return nil }

// errJWT is a JWT GitHub refuses, with its message.
type errJWT string

func (e errJWT) Error() string { return string(e) }

// verifyJWT checks an app's JWT by GitHub's rules: signed RS256 by the
// app's key, iss the app's id, iat not in the future (a minute of clock
// drift allowed), exp in the future and at most ten minutes after now and
// after iat.
func (a *apps) verifyJWT(raw string) error {
	const undecodable = errJWT("A JSON web token could not be decoded")
	if a.opts.ID == 0 || a.opts.PublicKey == nil {
		return undecodable
	}
	var c appClaims
	_, err := jwt.ParseWithClaims(raw, &c, func(*jwt.Token) (any, error) { return a.opts.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}))
	if err != nil {
		return undecodable
	}
	now := a.opts.Now()
	switch iss, err := issuer(c.Issuer); {
	case err != nil:
		return errJWT("'Issuer' claim ('iss') must be an Integer")
	case iss != a.opts.ID:
		return errJWT("Integration not found")
	case c.IssuedAt == nil || c.IssuedAt.After(now.Add(time.Minute)):
		return errJWT("'Issued at' claim ('iat') must be an Integer representing a time in the past")
	case c.ExpiresAt == nil || !c.ExpiresAt.After(now):
		return errJWT("'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires")
	case c.ExpiresAt.After(now.Add(10*time.Minute)) || c.ExpiresAt.Sub(c.IssuedAt.Time) > 10*time.Minute:
		return errJWT("'Expiration time' claim ('exp') is too far in the future")
	}
	return nil
}

// issuer reads iss: a JSON number or a string of one.
func issuer(v any) (int64, error) {
	switch x := v.(type) {
	case float64:
		if x != float64(int64(x)) {
			return 0, errors.New("not an integer")
		}
		return int64(x), nil
	case json.Number:
		return x.Int64()
	case string:
		return strconv.ParseInt(x, 10, 64)
	}
	return 0, errors.New("not an integer")
}

// accessToken is POST /app/installations/{id}/access_tokens.
func (s *Server) accessToken(w http.ResponseWriter, r *http.Request) {
	a := s.apps
	refuse := func(status int, msg string) {
		a.mu.Lock()
		a.stats.Refused++
		a.mu.Unlock()
		writeJSON(w, status, map[string]string{"message": msg, "documentation_url": appTokenDocs})
	}
	scheme, raw, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "bearer") || strings.TrimSpace(raw) == "" {
		refuse(http.StatusUnauthorized, "A JSON web token could not be decoded")
		return
	}
	if err := a.verifyJWT(strings.TrimSpace(raw)); err != nil {
		refuse(http.StatusUnauthorized, err.Error())
		return
	}
	if r.PathValue("id") != strconv.FormatInt(a.opts.InstallationID, 10) {
		refuse(http.StatusNotFound, "Not Found")
		return
	}
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		http.Error(w, "token: "+err.Error(), http.StatusInternalServerError)
		return
	}
	tok := "ghs_" + hex.EncodeToString(b)
	exp := a.opts.Now().Add(a.opts.TokenLifetime).UTC().Truncate(time.Second)
	a.mu.Lock()
	a.tokens[tok] = exp
	a.stats.Minted++
	a.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{
		"token":                tok,
		"expires_at":           exp.Format(time.RFC3339),
		"permissions":          map[string]string{"contents": "read", "issues": "read", "metadata": "read", "pull_requests": "read", "members": "read"},
		"repository_selection": "all",
	})
}

// checkAppOptions refuses options that cannot work.
func checkAppOptions(o AppOptions) error {
	if o.ID != 0 && (o.PublicKey == nil || o.InstallationID <= 0) {
		return errors.New("an app needs its public key and an installation id")
	}
	return nil
}
