// Package web is ferry's browser interface: server-rendered pages to sign
// in with a personal access token, see the history of the imports a user
// may see (paged, one store query a page), watch one import live and
// cancel it, and browse what was imported at GitLab's web paths: project,
// tree, file, issues and merge requests with their diff notes (browse.go),
// commits, a commit's diff, branches and tags (browse_repo.go), labels,
// milestones and releases (browse_content.go), and groups with their
// labels and milestones (groups.go); start an import from GitHub (listing
// the repositories a token reads), Bitbucket Server or a GitLab migration
// (start.go, under /-/imports/new); and reassign a top-level group's
// placeholder users (placeholders.go). Templates, styles and the one small
// polling script are embedded; pages work without JavaScript.
//
// It reads through the store's transactions and ends imports through the
// engine's Cancel, as the API does; it starts imports through the API's
// own pipeline (Starter, the API server in process), so every check and
// message is the API's. It must not know the sources, the engine's
// internals or the API's JSON shapes, and it never holds a token's secret
// beyond checking it at sign-in: the session cookie carries a signed user
// id, token id and expiry. A source token typed into a start form goes to
// the API once; between GitHub's listing and the import it travels sealed
// for the session, never in clear.
package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strings"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/gitstore"
	"github.com/ferry-import/ferry/store"
)

//go:embed templates/*.html static/*
var files embed.FS

// Canceler ends a running import (the import engine).
type Canceler interface {
	Cancel(ctx context.Context, tx *store.Tx, im *ferry.Import) error
}

// Config is what the web pages need.
type Config struct {
	Store *store.Store
	// SessionKey signs session cookies and CSRF tokens (at least 32 bytes,
	// derived from the app's secret key so sessions survive restarts and
	// agree across instances).
	SessionKey []byte
	// Imports cancels imports; nil hides the Cancel button.
	Imports Canceler
	// Git holds the imported repositories the browse pages read; nil
	// shows projects without their code.
	Git *gitstore.Store
	// Starter starts imports through the API's pipeline; nil hides the
	// start pages.
	Starter Starter
	// Placeholders lists and reassigns a group's placeholder users
	// through the API; nil hides the group's placeholders tab.
	Placeholders Placeholders
	Log          *slog.Logger
}

// Handler serves the pages.
type Handler struct {
	store   *store.Store
	key     []byte
	imports Canceler
	starter Starter
	// placeholders is the API's placeholder reassignment (placeholders.go).
	placeholders Placeholders
	git          *gitstore.Store
	log          *slog.Logger
	pages        map[string]*template.Template
	failed       failures // recent failed password sign-ins
	css          template.CSS
	js           template.JS
	mux          *http.ServeMux
}

// New builds the pages.
func New(cfg Config) (*Handler, error) {
	if cfg.Store == nil || len(cfg.SessionKey) < 32 {
		return nil, errors.New("web: a store and a session key of at least 32 bytes are needed")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	h := &Handler{store: cfg.Store, key: cfg.SessionKey, imports: cfg.Imports, starter: cfg.Starter, placeholders: cfg.Placeholders, git: cfg.Git, log: cfg.Log, pages: map[string]*template.Template{}}
	css, err := files.ReadFile("static/app.css")
	if err != nil {
		return nil, err
	}
	js, err := files.ReadFile("static/live.js")
	if err != nil {
		return nil, err
	}
	h.css, h.js = template.CSS(css), template.JS(js)
	for _, p := range []string{"signin", "history", "import", "migration", "error", "project", "tree", "blob", "issuables", "issuable",
		"commits", "commit", "branches", "tags", "labels", "milestones", "milestone", "releases", "group",
		"new_import", "new_github", "new_github_repos", "new_bitbucket_server", "new_gitlab", "placeholders"} {
		pats := []string{"templates/layout.html", "templates/" + p + ".html", "templates/pager.html"}
		if browsePages[p] {
			pats = append(pats, "templates/browse.html")
		}
		if strings.HasPrefix(p, "new_") {
			pats = append(pats, "templates/new_form.html")
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(files, pats...)
		if err != nil {
			return nil, err
		}
		h.pages[p] = t
	}
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", h.home)
	m.HandleFunc("GET /users/sign_in", h.signInForm)
	m.HandleFunc("POST /users/sign_in", h.signIn)
	m.HandleFunc("POST /users/sign_out", h.signOut)
	m.HandleFunc("GET /-/imports", h.history)
	m.HandleFunc("GET /-/imports/{id}", h.importPage)
	m.HandleFunc("GET /-/imports/{id}/status.json", h.importJSON)
	m.HandleFunc("POST /-/imports/{id}/cancel", h.cancel)
	m.HandleFunc("GET /-/migrations/{id}", h.migration)
	m.HandleFunc("GET /-/imports/new", h.newImport)
	m.HandleFunc("GET /-/imports/new/github", h.newGitHub)
	m.HandleFunc("POST /-/imports/new/github/repos", h.listGitHub)
	m.HandleFunc("POST /-/imports/new/github", h.startGitHub)
	m.HandleFunc("GET /-/imports/new/bitbucket_server", h.newBitbucket)
	m.HandleFunc("POST /-/imports/new/bitbucket_server", h.startBitbucket)
	m.HandleFunc("GET /-/imports/new/gitlab", h.newGitLab)
	m.HandleFunc("POST /-/imports/new/gitlab", h.startGitLab)
	m.HandleFunc("POST /-/placeholders/reassign", h.reassignPlaceholder)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			h.browse(w, r)
			return
		}
		h.render(w, r, http.StatusNotFound, "error", h.session(r), map[string]any{"Title": "Not found", "Message": "There is no such page."})
	})
	h.mux = m
	return h, nil
}

// Handles reports whether a request is for a web page: GET, HEAD or POST
// on "/", the sign-in and sign-out paths, /-/imports… (the start pages
// too), /-/migrations/… and the placeholder reassignment form's POST.
// Everything else stays the API's, git's and the uploads', except the
// project pages Browses accepts.
func Handles(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPost:
	default:
		return false
	}
	p := r.URL.Path
	return p == "/" || p == "/users/sign_in" || p == "/users/sign_out" || p == "/-/imports" || p == "/-/placeholders/reassign" ||
		strings.HasPrefix(p, "/-/imports/") || strings.HasPrefix(p, "/-/migrations/")
}

// ServeHTTP serves a page with headers that keep it out of frames and
// caches and allow only its own nonce-tagged style and script.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Cache-Control", "no-store")
	h.mux.ServeHTTP(w, r)
}

// render writes page with data, adding what the layout needs.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, page string, s *session, data map[string]any) {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	n := base64.RawStdEncoding.EncodeToString(b)
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'nonce-"+n+"'; script-src 'nonce-"+n+
		"'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	data["Nonce"], data["CSS"], data["JS"] = n, h.css, h.js
	data["CSRF"] = h.csrfToken(w, r, s)
	if s != nil {
		data["User"] = s.user
	}
	var buf bytes.Buffer
	if err := h.pages[page].Execute(&buf, data); err != nil {
		h.log.ErrorContext(r.Context(), "web render", "page", page, "error", err)
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fail renders an error page: not found for ENOTFOUND (and anything the
// user may not see), the generic message for internal errors.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, s *session, err error) {
	switch ferry.ErrorCode(err) {
	case ferry.ENOTFOUND:
		h.render(w, r, http.StatusNotFound, "error", s, map[string]any{"Title": "Not found", "Message": "There is no such import, or you may not see it."})
	case ferry.EINTERNAL:
		h.log.ErrorContext(r.Context(), "web page", "path", r.URL.Path, "error", err)
		h.render(w, r, http.StatusInternalServerError, "error", s, map[string]any{"Title": "Error", "Message": "Internal error."})
	default:
		h.render(w, r, http.StatusBadRequest, "error", s, map[string]any{"Title": "Error", "Message": ferry.ErrorMessage(err)})
	}
}

func (h *Handler) home(w http.ResponseWriter, r *http.Request) {
	s := h.session(r)
	if s == nil {
		h.render(w, r, http.StatusOK, "signin", nil, map[string]any{"Title": "Sign in"})
		return
	}
	h.historyFor(w, r, s)
}

func (h *Handler) signInForm(w http.ResponseWriter, r *http.Request) {
	if h.session(r) != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	h.render(w, r, http.StatusOK, "signin", nil, map[string]any{"Title": "Sign in"})
}

func (h *Handler) signIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if !h.checkCSRF(r, nil) {
		h.forbidden(w, r, nil)
		return
	}
	if login := strings.TrimSpace(r.PostFormValue("login")); login != "" || r.PostForm.Has("password") {
		h.signInPassword(w, r, login, r.PostFormValue("password"))
		return
	}
	secret := strings.TrimSpace(r.PostFormValue("token"))
	t, err := h.signInWith(r.Context(), secret)
	if secret == "" || err != nil {
		if err != nil && ferry.ErrorCode(err) == ferry.EINTERNAL && err != errNoSession {
			h.log.ErrorContext(r.Context(), "web sign-in", "error", err)
		}
		// Never echo the token: the field comes back empty.
		h.render(w, r, http.StatusUnauthorized, "signin", nil, map[string]any{"Title": "Sign in", "Via": "token",
			"Error": "That token is not valid: it may be mistyped, revoked or expired, or lack the api or read_api scope."})
		return
	}
	h.signedInWith(w, r, h.newSessionCookie(r, t, h.store.Now()))
}

// signInPassword answers the password form. The error never says whether
// the login exists, and the password never comes back.
func (h *Handler) signInPassword(w http.ResponseWriter, r *http.Request, login, pw string) {
	u, hash, err := h.signInWithPassword(r.Context(), login, pw)
	if err != nil {
		msg, code := "Invalid login or password.", http.StatusUnauthorized
		switch {
		case err == errLocked:
			msg, code = "Too many failed sign-in attempts for that login: try again in a few minutes.", http.StatusTooManyRequests
		case ferry.ErrorCode(err) == ferry.EINTERNAL && err != errNoSession:
			h.log.ErrorContext(r.Context(), "web sign-in", "error", err)
		}
		h.render(w, r, code, "signin", nil, map[string]any{"Title": "Sign in", "Via": "password", "Login": login, "Error": msg})
		return
	}
	h.signedInWith(w, r, h.newPasswordSessionCookie(r, u.ID, hash, h.store.Now()))
}

// signedInWith sets the new session, drops the sign-in nonce and goes home.
func (h *Handler) signedInWith(w http.ResponseWriter, r *http.Request, c *http.Cookie) {
	http.SetCookie(w, c)
	http.SetCookie(w, &http.Cookie{Name: loginCSRFCookie, Path: "/users/sign_in", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (h *Handler) signOut(w http.ResponseWriter, r *http.Request) {
	s := h.session(r)
	if s == nil {
		http.Redirect(w, r, "/users/sign_in", http.StatusSeeOther)
		return
	}
	if !h.checkCSRF(r, s) {
		h.forbidden(w, r, s)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
	http.Redirect(w, r, "/users/sign_in", http.StatusSeeOther)
}

func (h *Handler) forbidden(w http.ResponseWriter, r *http.Request, s *session) {
	h.render(w, r, http.StatusForbidden, "error", s, map[string]any{"Title": "Forbidden",
		"Message": "The form was stale or did not come from this site. Go back, reload the page and try again."})
}

// signedIn returns the session or sends the browser to sign in.
func (h *Handler) signedIn(w http.ResponseWriter, r *http.Request) *session {
	s := h.session(r)
	if s == nil {
		http.Redirect(w, r, "/users/sign_in", http.StatusSeeOther)
	}
	return s
}
