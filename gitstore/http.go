package gitstore

import (
	"compress/gzip"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Resolver maps a request for a repository to a project id and decides
// access. It is implemented by the API layer, which knows projects, users
// and tokens; gitstore knows none of them.
//
// fullPath is the project's full path ("group/sub/project"), already
// validated; wiki says the wiki repository was asked for; write says the
// request would modify the repository (push, LFS upload). Resolve returns an
// error wrapping ErrNotFound (404), ErrUnauthorized (401 with a Basic
// challenge, so git asks for credentials) or ErrForbidden (403); any other
// error is a 500 and is logged, not shown.
type Resolver interface {
	Resolve(ctx context.Context, r *http.Request, fullPath string, wiki, write bool) (projectID int64, err error)
}

// ResolverFunc adapts a function to Resolver.
type ResolverFunc func(ctx context.Context, r *http.Request, fullPath string, wiki, write bool) (int64, error)

// Resolve calls f.
func (f ResolverFunc) Resolve(ctx context.Context, r *http.Request, fullPath string, wiki, write bool) (int64, error) {
	return f(ctx, r, fullPath, wiki, write)
}

// HandlerOptions configures NewHandler. The zero value is valid.
type HandlerOptions struct {
	// ExternalURL is the URL at which clients reach the handler's root,
	// including any mount prefix ("https://ferry.example.com"). It is used
	// for LFS download hrefs. "" derives scheme and host from each request,
	// which is right only when the handler is mounted at "/".
	ExternalURL string
	// LFSSigningKey signs the short-lived LFS download tokens. Nil means a
	// random key per handler: tokens then do not survive a restart or work
	// across instances behind one load balancer.
	LFSSigningKey []byte
	// LFSTokenTTL is how long a download href stays valid; 0 means 1 hour.
	LFSTokenTTL time.Duration
	// Logger receives internal errors (which clients never see). Nil
	// discards them.
	Logger *slog.Logger
}

// Handler serves repositories over git's smart HTTP protocol (fetch and
// clone only; pushes are refused) and their LFS objects:
//
//	GET  /<full_path>[.wiki].git/info/refs?service=git-upload-pack
//	POST /<full_path>[.wiki].git/git-upload-pack
//	POST /<full_path>.git/info/lfs/objects/batch
//	GET  /<full_path>.git/info/lfs/objects/<oid>
//
// Mount it at the server root (or set HandlerOptions.ExternalURL to the
// prefix it is mounted under) for every path IsGitPath accepts. The
// Resolver sees credentials as git sends them: HTTP basic auth, with
// "oauth2" (or any user name) and an access token as the password.
type Handler struct {
	store    *Store
	resolver Resolver
	base     string
	key      []byte
	ttl      time.Duration
	log      *slog.Logger
}

// NewHandler returns a handler serving the repositories of s, with access
// decided by res.
func NewHandler(s *Store, res Resolver, opts HandlerOptions) (*Handler, error) {
	h := &Handler{store: s, resolver: res, base: strings.TrimSuffix(opts.ExternalURL, "/"), key: opts.LFSSigningKey, ttl: opts.LFSTokenTTL, log: opts.Logger}
	if h.key == nil {
		h.key = make([]byte, 32)
		if _, err := rand.Read(h.key); err != nil {
			return nil, fmt.Errorf("lfs signing key: %w", err)
		}
	}
	if h.ttl == 0 {
		h.ttl = time.Hour
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h, nil
}

// IsGitPath reports whether an URL path is one the Handler serves (it may
// still refuse it), so a router can send "/<full_path>.git/…" here and the
// rest elsewhere.
func IsGitPath(p string) bool {
	_, action, ok := strings.Cut(p, ".git/")
	if !ok {
		return false
	}
	switch {
	case action == "info/refs", action == "git-upload-pack", action == "git-receive-pack",
		strings.HasPrefix(action, "info/lfs/"):
		return true
	}
	return false
}

// repoRequest is a parsed request path.
type repoRequest struct {
	fullPath string // group/project
	wiki     bool
	action   string // what follows ".git/"
}

// segment is one GitLab path component: no "." or ".." (they end in '.'),
// nothing but letters, digits, '_', '-', '.'.
var segment = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$|^\.[A-Za-z0-9_.-]*[A-Za-z0-9_-]$`)

// parseRepoPath splits a request path into project path and action. It
// refuses anything percent-encoded (GitLab paths never need it, and it is how
// "..", "/" and NUL get smuggled), empty or dot segments, and backslashes.
func parseRepoPath(r *http.Request) (repoRequest, bool) {
	if strings.Contains(r.URL.EscapedPath(), "%") || r.URL.RawPath != "" {
		return repoRequest{}, false
	}
	p, ok := strings.CutPrefix(r.URL.Path, "/")
	if !ok {
		return repoRequest{}, false
	}
	repo, action, ok := strings.Cut(p, ".git/")
	if !ok || action == "" {
		return repoRequest{}, false
	}
	rr := repoRequest{action: action}
	if rr.fullPath, rr.wiki = strings.CutSuffix(repo, ".wiki"); !rr.wiki {
		rr.fullPath = repo
	}
	segs := strings.Split(rr.fullPath, "/")
	if len(segs) < 2 {
		return repoRequest{}, false // a project always lives in a namespace
	}
	for _, s := range segs {
		if len(s) > 255 || !segment.MatchString(s) || strings.HasSuffix(s, ".") {
			return repoRequest{}, false
		}
	}
	return rr, true
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rr, ok := parseRepoPath(r)
	if !ok {
		http.Error(w, "invalid repository path", http.StatusBadRequest)
		return
	}
	switch {
	case rr.action == "info/refs":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			methodNotAllowed(w, "GET")
			return
		}
		switch r.URL.Query().Get("service") {
		case "git-upload-pack":
			h.uploadPack(w, r, rr, true)
		case "git-receive-pack":
			h.refusePush(w, r, rr)
		default:
			h.gitError(w, http.StatusForbidden, "dumb HTTP protocol is not supported: upgrade git")
		}
	case rr.action == "git-upload-pack":
		if r.Method != http.MethodPost {
			methodNotAllowed(w, "POST")
			return
		}
		h.uploadPack(w, r, rr, false)
	case rr.action == "git-receive-pack":
		h.refusePush(w, r, rr)
	case rr.action == "info/lfs/objects/batch" && !rr.wiki:
		if r.Method != http.MethodPost {
			methodNotAllowed(w, "POST")
			return
		}
		h.lfsBatch(w, r, rr)
	case strings.HasPrefix(rr.action, "info/lfs/objects/") && !rr.wiki:
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			methodNotAllowed(w, "GET")
			return
		}
		h.lfsGet(w, r, rr, strings.TrimPrefix(rr.action, "info/lfs/objects/"))
	default:
		http.NotFound(w, r)
	}
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
}

// resolve asks the resolver and, on refusal, answers the request itself.
// It also answers 404 when the project has no repository on disk.
func (h *Handler) resolve(w http.ResponseWriter, r *http.Request, rr repoRequest, write bool, fail func(int, string)) (int64, string, bool) {
	id, err := h.resolver.Resolve(r.Context(), r, rr.fullPath, rr.wiki, write)
	switch {
	case err == nil:
	case errors.Is(err, ErrUnauthorized):
		// git and git-lfs retry with credentials only after a challenge.
		w.Header().Set("WWW-Authenticate", `Basic realm="GitLab"`)
		fail(http.StatusUnauthorized, "HTTP Basic: Access denied")
		return 0, "", false
	case errors.Is(err, ErrForbidden):
		fail(http.StatusForbidden, "You are not allowed to access this repository")
		return 0, "", false
	case errors.Is(err, ErrNotFound):
		fail(http.StatusNotFound, "The project you were looking for could not be found")
		return 0, "", false
	default:
		h.log.ErrorContext(r.Context(), "gitstore: resolve", "path", rr.fullPath, "err", err)
		fail(http.StatusInternalServerError, "internal error")
		return 0, "", false
	}
	dir := h.store.repoPath(id, rr.wiki)
	if !isRepo(dir) {
		fail(http.StatusNotFound, "The project you were looking for could not be found")
		return 0, "", false
	}
	return id, dir, true
}

func (h *Handler) gitError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(status)
	io.WriteString(w, msg+"\n")
}

// refusePush resolves with write access first, so that an anonymous pusher
// is asked for credentials and an outsider gets 404 as for a fetch; an
// authorised one learns that ferry does not take pushes.
func (h *Handler) refusePush(w http.ResponseWriter, r *http.Request, rr repoRequest) {
	fail := func(status int, msg string) { h.gitError(w, status, msg) }
	if _, _, ok := h.resolve(w, r, rr, true, fail); !ok {
		return
	}
	fail(http.StatusForbidden, "Pushing is not supported: ferry serves imported repositories read-only")
}

// gitProtocol matches what git sends in Git-Protocol ("version=2"); it is
// passed to git as GIT_PROTOCOL, so nothing else gets through.
var gitProtocol = regexp.MustCompile(`^[A-Za-z0-9=.:_-]{0,128}$`)

// uploadPack runs "git upload-pack --stateless-rpc", the fetch half of the
// smart HTTP protocol, for the ref advertisement or one negotiation round.
func (h *Handler) uploadPack(w http.ResponseWriter, r *http.Request, rr repoRequest, advertise bool) {
	fail := func(status int, msg string) { h.gitError(w, status, msg) }
	_, dir, ok := h.resolve(w, r, rr, false, fail)
	if !ok {
		return
	}
	var env []string
	proto := r.Header.Get("Git-Protocol")
	if proto != "" && gitProtocol.MatchString(proto) {
		env = append(env, "GIT_PROTOCOL="+proto)
	}
	args := []string{"upload-pack", "--stateless-rpc"}
	var body io.Reader = http.NoBody
	if advertise {
		args = append(args, "--advertise-refs")
	} else {
		if ct := r.Header.Get("Content-Type"); ct != "application/x-git-upload-pack-request" {
			fail(http.StatusUnsupportedMediaType, "unexpected content type")
			return
		}
		body = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			gz, err := gzip.NewReader(r.Body)
			if err != nil {
				fail(http.StatusBadRequest, "bad gzip body")
				return
			}
			defer gz.Close()
			body = gz
		}
	}
	args = append(args, dir)

	hdr := w.Header()
	hdr.Set("Cache-Control", "no-cache, max-age=0, must-revalidate")
	hdr.Set("Expires", "Fri, 01 Jan 1980 00:00:00 GMT")
	hdr.Set("Pragma", "no-cache")
	if advertise {
		hdr.Set("Content-Type", "application/x-git-upload-pack-advertisement")
	} else {
		hdr.Set("Content-Type", "application/x-git-upload-pack-result")
	}
	out := &trackingWriter{w: w}
	if advertise && !strings.Contains(proto, "version=2") {
		// Protocol v0/v1 over HTTP prefixes the advertisement with the
		// service line; v2 does not (as git http-backend).
		out.Write([]byte(pktLine("# service=git-upload-pack\n") + "0000"))
	}
	// Partial clone (--filter) spares big imported repositories.
	cfg := []kv{{"uploadpack.allowFilter", "true"}}
	in := &readTracker{r: body}
	_, err := h.store.run(r.Context(), gitCmd{Args: args, Env: env, Config: cfg, Stdin: in, Stdout: out})
	if err == nil {
		return
	}
	// A request git cannot parse is the client's fault: 400, with a fixed
	// text (git's own names the repository's path on disk).
	if in.err() != nil || clientPackError(stderrOf(err)) {
		h.log.InfoContext(r.Context(), "gitstore: upload-pack refused the request", "path", rr.fullPath, "wiki", rr.wiki, "err", err)
		if !out.wrote {
			hdr.Del("Content-Type")
			fail(http.StatusBadRequest, "invalid git-upload-pack request")
		}
		return
	}
	h.log.ErrorContext(r.Context(), "gitstore: upload-pack", "path", rr.fullPath, "wiki", rr.wiki, "err", err)
	if !out.wrote {
		hdr.Del("Content-Type")
		fail(http.StatusInternalServerError, "internal error")
	}
}

// clientPackErrors are what git upload-pack (LANG=C) dies with when the
// request is malformed or asks for what the protocol forbids, as opposed to
// a failure of the server (a broken repository, pack-objects dying).
var clientPackErrors = []string{
	"protocol error",     // pkt-line framing, want/have lines
	"not our ref",        // a want the repository does not advertise
	"unknown capability", // v2
	"invalid command",
	"expected flush",
	"unexpected line",
	"expected SHA1",
	"invalid shallow",
	"Invalid deepen",
	"ambiguous deepen-not",
	"cannot be used together",
	"invalid filter-spec",
	"filtering capability not negotiated",
	"the remote end hung up unexpectedly", // a truncated body
}

func clientPackError(stderr string) bool {
	for _, s := range clientPackErrors {
		if strings.Contains(stderr, s) {
			return true
		}
	}
	return false
}

// readTracker remembers a failed read of the request body (a corrupt gzip
// stream, a dropped connection): git then fails because of the client. It
// is read by exec's copying goroutine, which may outlive git (WaitDelay).
type readTracker struct {
	r      io.Reader
	mu     sync.Mutex
	failed error
}

func (t *readTracker) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF {
		t.mu.Lock()
		if t.failed == nil {
			t.failed = err
		}
		t.mu.Unlock()
	}
	return n, err
}

func (t *readTracker) err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failed
}

func pktLine(s string) string { return fmt.Sprintf("%04x%s", len(s)+4, s) }

// trackingWriter remembers whether anything was sent, to know whether an
// error can still become a status code.
type trackingWriter struct {
	w     http.ResponseWriter
	wrote bool
}

func (t *trackingWriter) Write(p []byte) (int, error) {
	t.wrote = true
	return t.w.Write(p)
}

// LFS serving.

const lfsTokenHeader = "X-Ferry-Lfs-Token"

func (h *Handler) lfsError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", lfsMediaType)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

// lfsBatch answers the batch API: download actions for objects linked to the
// project, per-object 404 for others; uploads are refused.
func (h *Handler) lfsBatch(w http.ResponseWriter, r *http.Request, rr repoRequest) {
	fail := func(status int, msg string) { h.lfsError(w, status, msg) }
	var req lfsBatchRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 10<<20)).Decode(&req); err != nil {
		fail(http.StatusUnprocessableEntity, "invalid batch request")
		return
	}
	if req.HashAlgo != "" && req.HashAlgo != "sha256" {
		fail(http.StatusConflict, "unsupported hash algorithm")
		return
	}
	switch req.Operation {
	case "download":
	case "upload":
		if _, _, ok := h.resolve(w, r, rr, true, fail); ok {
			fail(http.StatusForbidden, "LFS uploads are not supported: ferry serves imported repositories read-only")
		}
		return
	default:
		fail(http.StatusUnprocessableEntity, "unknown operation")
		return
	}
	id, _, ok := h.resolve(w, r, rr, false, fail)
	if !ok {
		return
	}
	base := h.baseURL(r)
	exp := time.Now().Add(h.ttl)
	resp := lfsBatchResponse{Transfer: "basic", HashAlgo: "sha256", Objects: []lfsObject{}}
	for _, o := range req.Objects {
		obj := lfsObject{OID: o.OID, Size: o.Size}
		switch {
		case !ValidOID(o.OID) || o.Size < 0:
			obj.Error = &lfsObjectError{Code: http.StatusUnprocessableEntity, Message: "invalid object"}
		case !h.store.LFSLinked(id, o.OID):
			obj.Error = &lfsObjectError{Code: http.StatusNotFound, Message: "Object does not exist on the server"}
		default:
			obj.Authenticated = true
			obj.Actions = map[string]lfsAction{"download": {
				Href:      base + "/" + rr.fullPath + ".git/info/lfs/objects/" + o.OID,
				Header:    map[string]string{lfsTokenHeader: h.signToken(id, o.OID, exp)},
				ExpiresIn: int(h.ttl / time.Second),
			}}
		}
		resp.Objects = append(resp.Objects, obj)
	}
	w.Header().Set("Content-Type", lfsMediaType)
	json.NewEncoder(w).Encode(resp)
}

func (h *Handler) baseURL(r *http.Request) string {
	if h.base != "" {
		return h.base
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// lfsGet serves an object to a holder of a download token from the batch
// answer, or to anyone the resolver lets read the project.
func (h *Handler) lfsGet(w http.ResponseWriter, r *http.Request, rr repoRequest, oid string) {
	fail := func(status int, msg string) { h.lfsError(w, status, msg) }
	if !ValidOID(oid) {
		fail(http.StatusBadRequest, "invalid object id")
		return
	}
	id, ok := h.verifyToken(r.Header.Get(lfsTokenHeader), oid, time.Now())
	if !ok {
		if id, _, ok = h.resolve(w, r, rr, false, fail); !ok {
			return
		}
	}
	if !h.store.LFSLinked(id, oid) {
		fail(http.StatusNotFound, "Object does not exist on the server")
		return
	}
	f, err := h.store.OpenLFSObject(oid)
	if err != nil {
		h.log.ErrorContext(r.Context(), "gitstore: open lfs object", "oid", oid, "err", err)
		fail(http.StatusInternalServerError, "internal error")
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		fail(http.StatusInternalServerError, "internal error")
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, "", fi.ModTime(), f)
}

// signToken binds a download to one project, one object and an expiry.
func (h *Handler) signToken(id int64, oid string, exp time.Time) string {
	payload := strconv.FormatInt(id, 10) + ":" + oid + ":" + strconv.FormatInt(exp.Unix(), 10)
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (h *Handler) verifyToken(tok, oid string, now time.Time) (int64, bool) {
	p64, s64, ok := strings.Cut(tok, ".")
	if !ok {
		return 0, false
	}
	payload, err1 := base64.RawURLEncoding.DecodeString(p64)
	sig, err2 := base64.RawURLEncoding.DecodeString(s64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	m := hmac.New(sha256.New, h.key)
	m.Write(payload)
	if !hmac.Equal(sig, m.Sum(nil)) {
		return 0, false
	}
	f := strings.Split(string(payload), ":")
	if len(f) != 3 || f[1] != oid {
		return 0, false
	}
	id, err1 := strconv.ParseInt(f[0], 10, 64)
	exp, err2 := strconv.ParseInt(f[2], 10, 64)
	if err1 != nil || err2 != nil || now.Unix() > exp {
		return 0, false
	}
	return id, true
}
