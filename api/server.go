// Package api is ferry's GitLab REST v4 surface: authentication, GitLab's
// error envelopes and pagination headers, the entities and the routes for
// users, tokens, groups, namespaces, projects and members, imported content
// (issues, merge requests, notes…), the repository API (branches, tags,
// commits, files, trees, compare, blobs, archives, merge request commits,
// changes, diffs and versions, wikis: repository.go, tree.go,
// mr_diffs.go, mr_versions.go, wikis.go), the import
// endpoints (with dry_run, a pre-flight estimate: import_dryrun.go) and
// GitLab migrations (/bulk_imports), and the resolver that
// lets git clone over HTTP with the same tokens.
//
// It knows the domain (package ferry) and the store, and translates between
// them and HTTP. It must not know how imports run or how sources are talked
// to; it reaches those through the interfaces in its Config.
package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ferry-import/ferry/gitlabexport"
	"github.com/ferry-import/ferry/gitstore"
	"github.com/ferry-import/ferry/store"
)

// Config wires a Server.
type Config struct {
	Store *store.Store
	Log   *slog.Logger
	// Registry receives the HTTP metrics; nil disables them.
	Registry *prometheus.Registry
	// Version is what GET /version reports.
	Version  string
	Revision string
	// ExternalURL is the base for web_url and Link headers
	// (e.g. http://127.0.0.1:8080); empty derives it from the request.
	ExternalURL string
	// MaxBodyBytes bounds request bodies (default 8 MiB).
	MaxBodyBytes int64
	// ProjectsDeleted is called inside the deleting transaction with the
	// ids of the projects removed, so their on-disk data is scheduled for
	// removal atomically with the records; nil ignores it.
	ProjectsDeleted func(ctx context.Context, tx *store.Tx, ids []int64) error
	// Mount adds more routes under /api/v4 (importers, content).
	Mount []func(r chi.Router, s *Server)
	// MountRoot adds routes outside /api/v4 (git over HTTP).
	MountRoot []func(r chi.Router, s *Server)
	// Git holds the projects' repositories, for the repository API and
	// GitHandler; nil serves every project as an empty repository.
	Git *gitstore.Store
	// Imports runs imports; Sources check import requests, one per source
	// type. An import endpoint without both answers 501.
	Imports Imports
	Sources []ImportSource
	// BulkImports runs GitLab migrations (direct transfer); nil answers
	// every /bulk_imports endpoint 404, as GitLab with the setting off.
	BulkImports BulkImporter
	// Now is the clock of the API's rate limits; nil is time.Now.
	Now func() time.Time
	// Exports serves direct transfer's export_relations and GraphQL
	// lookups (ferry as a migration source); nil answers 404, as GitLab
	// with bulk import disabled.
	Exports *gitlabexport.Service
}

// Server serves the API.
type Server struct {
	cfg      Config
	store    *store.Store
	log      *slog.Logger
	sources  map[string]ImportSource
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	// bulkLimit is POST /bulk_imports' per-user rate limit.
	bulkLimit *rateLimiter
}

// New builds a Server and registers its metrics.
func New(cfg Config) (*Server, error) {
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 8 << 20
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Version == "" {
		cfg.Version = "17.5.0"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, store: cfg.Store, log: cfg.Log, sources: map[string]ImportSource{}}
	s.bulkLimit = newRateLimiter(bulkRateLimit, bulkRateWindow, cfg.Now)
	for _, src := range cfg.Sources {
		s.sources[src.Type()] = src
	}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ferry_http_requests_total", Help: "API requests by route, method and status."},
		[]string{"route", "method", "code"})
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ferry_http_request_duration_seconds", Help: "API request latency by route.",
		Buckets: prometheus.DefBuckets}, []string{"route"})
	if cfg.Registry != nil {
		for _, c := range []prometheus.Collector{s.requests, s.latency} {
			if err := cfg.Registry.Register(c); err != nil {
				return nil, fmt.Errorf("register api metrics: %w", err)
			}
		}
	}
	return s, nil
}

// Store is the server's store (for mounted routes).
func (s *Server) Store() *store.Store { return s.store }

// Log is the server's logger.
func (s *Server) Log() *slog.Logger { return s.log }

// handler is an endpoint that returns its error for writeError to render.
type handler func(w http.ResponseWriter, r *http.Request) error

// H adapts an error-returning endpoint (for mounted routes).
func (s *Server) H(h func(w http.ResponseWriter, r *http.Request) error) http.HandlerFunc {
	return s.wrap(h)
}

func (s *Server) wrap(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	}
}

// Handler is the whole HTTP surface.
func (s *Server) Handler() http.Handler {
	r := chi.NewRouter()
	r.Use(s.correlate, s.recoverer, s.checkQuery)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "404 Not Found"})
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "405 Not Allowed"})
	})
	r.Route("/api/v4", func(r chi.Router) {
		// HEAD is served by every GET route, as Grape does (curl -I).
		r.Use(middleware.GetHead, s.limitBody, s.authenticate)
		r.NotFound(func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "404 Not Found"})
		})
		r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "405 Not Allowed"})
		})
		s.routes(r)
		for _, m := range s.cfg.Mount {
			m(r, s)
		}
	})
	r.With(s.limitBody, s.authenticate).Post("/api/graphql", s.wrap(s.graphQL))
	for _, m := range s.cfg.MountRoot {
		m(r, s)
	}
	return r
}

func (s *Server) routes(r chi.Router) {
	r.Get("/version", s.wrap(s.getVersion))
	r.Get("/metadata", s.wrap(s.getMetadata))

	r.Get("/user", s.wrap(s.getCurrentUser))
	r.Get("/users", s.wrap(s.listUsers))
	r.Post("/users", s.wrap(s.createUser))
	r.Get("/users/{user_id}", s.wrap(s.getUser))
	r.Put("/users/{user_id}", s.wrap(s.updateUser))
	r.Post("/users/{user_id}/personal_access_tokens", s.wrap(s.createUserToken))

	r.Get("/personal_access_tokens", s.wrap(s.listTokens))
	r.Get("/personal_access_tokens/self", s.wrap(s.getSelfToken))
	r.Delete("/personal_access_tokens/self", s.wrap(s.revokeSelfToken))
	r.Get("/personal_access_tokens/{token_id}", s.wrap(s.getToken))
	r.Delete("/personal_access_tokens/{token_id}", s.wrap(s.revokeToken))

	r.Get("/namespaces", s.wrap(s.listNamespaces))
	r.Get("/namespaces/{id}", s.wrap(s.getNamespace))

	r.Get("/groups", s.wrap(s.listGroups))
	r.Post("/groups", s.wrap(s.createGroup))
	r.Get("/groups/{id}", s.wrap(s.getGroup))
	r.Put("/groups/{id}", s.wrap(s.updateGroup))
	r.Delete("/groups/{id}", s.wrap(s.deleteGroup))
	r.Get("/groups/{id}/subgroups", s.wrap(s.listSubgroups))
	r.Get("/groups/{id}/descendant_groups", s.wrap(s.listDescendantGroups))
	r.Get("/groups/{id}/projects", s.wrap(s.listGroupProjects))

	r.Get("/projects", s.wrap(s.listProjects))
	r.Post("/projects", s.wrap(s.createProject))
	r.Get("/projects/{id}", s.wrap(s.getProject))
	r.Put("/projects/{id}", s.wrap(s.updateProject))
	r.Delete("/projects/{id}", s.wrap(s.deleteProject))

	for _, kind := range []string{"groups", "projects"} {
		base := "/" + kind + "/{id}/members"
		r.Get(base, s.wrap(s.listMembers(kind, false)))
		r.Get(base+"/all", s.wrap(s.listMembers(kind, true)))
		r.Get(base+"/all/{user_id}", s.wrap(s.getMember(kind, true)))
		r.Get(base+"/{user_id}", s.wrap(s.getMember(kind, false)))
		r.Post(base, s.wrap(s.addMember(kind)))
		r.Put(base+"/{user_id}", s.wrap(s.updateMember(kind)))
		r.Delete(base+"/{user_id}", s.wrap(s.removeMember(kind)))
	}
	s.repositoryRoutes(r)
	s.importRoutes(r)
	s.bulkImportRoutes(r)
	s.contentRoutes(r)
	s.badgeRoutes(r)
	s.exportRoutes(r)
}

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyPrincipal
)

var requestIDRE = regexp.MustCompile(`^[A-Za-z0-9._\-]{1,128}$`)

// requestID is the correlation id of the request in ctx.
func requestID(ctx context.Context) string {
	id, _ := ctx.Value(keyRequestID).(string)
	return id
}

// RequestID exposes the correlation id to mounted routes.
func RequestID(ctx context.Context) string { return requestID(ctx) }

// newCorrelationID returns a random id in GitLab's style.
func newCorrelationID() string {
	b := make([]byte, 13)
	_, _ = rand.Read(b)
	return strings.ToUpper(hex.EncodeToString(b))
}

// statusWriter records the status for logs and metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer (git streams).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// correlate honours or assigns X-Request-Id, then logs and measures the
// request. Only the path is logged: the query may carry private_token.
func (s *Server) correlate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !requestIDRE.MatchString(id) {
			id = newCorrelationID()
		}
		w.Header().Set("X-Request-Id", id)
		ctx := context.WithValue(r.Context(), keyRequestID, id)
		sw := &statusWriter{ResponseWriter: w}
		start := time.Now()
		next.ServeHTTP(sw, r.WithContext(ctx))
		route := chi.RouteContext(ctx).RoutePattern()
		if route == "" {
			route = "unmatched"
		}
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		d := time.Since(start)
		s.requests.WithLabelValues(route, r.Method, strconv.Itoa(sw.status)).Inc()
		s.latency.WithLabelValues(route).Observe(d.Seconds())
		s.log.InfoContext(ctx, "request", slog.String("correlation_id", id), slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.String("route", route), slog.Int("status", sw.status),
			slog.Float64("duration_s", d.Seconds()))
	})
}

func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.writeError(w, r, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// limitBody rejects declared oversized bodies up front and caps the rest.
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > s.cfg.MaxBodyBytes {
			s.writeError(w, r, errTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

// params parses the request's parameters, mapping body problems to
// GitLab's answers.
func (s *Server) params(r *http.Request) (*params, error) {
	p, err := readParams(r, s.cfg.MaxBodyBytes)
	var ut *unsupportedType
	if errors.As(err, &ut) {
		return nil, &httpError{status: http.StatusUnsupportedMediaType, body: map[string]string{"error": ut.Error()}}
	}
	return p, err
}

// httpError is an error with a body GitLab shapes specially.
type httpError struct {
	status int
	body   any
}

func (e *httpError) Error() string { return fmt.Sprintf("http %d", e.status) }

// baseURL is the external URL of the server.
func (s *Server) baseURL(r *http.Request) string {
	if s.cfg.ExternalURL != "" {
		return strings.TrimRight(s.cfg.ExternalURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// BaseURL exposes the external URL to mounted routes.
func (s *Server) BaseURL(r *http.Request) string { return s.baseURL(r) }
