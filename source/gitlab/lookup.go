package gitlab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/source/internal/paging"
	"github.com/ferry-import/ferry/sourcehttp"
)

// The pre-check errors of POST /bulk_imports (spec §2.1 validate!). Their
// texts are GitLab's messages (lib/bulk_imports/error.rb), so the API can
// answer 422 {"message": err.Error()}. Two need the entity's path, which
// the caller adds, keeping errors.Is:
//
//	fmt.Errorf("Import failed. '%s' %w.", path, ErrNotFound)
//	  → Import failed. 'acme/widgets' not found.
//	fmt.Errorf("Import failed. %w '%s'.", ErrExportForbidden, path)
//	  → Import failed. You don't have permission to export 'acme/widgets'.
var (
	ErrCredentials        = errors.New("Check that the source instance base URL and the personal access token meet the necessary requirements.")
	ErrInvalidURL         = errors.New("Invalid source URL. Enter only the base URL of the source GitLab instance.")
	ErrUnsupportedVersion = errors.New("Unsupported GitLab version. Minimum supported version is '14'.")
	ErrNotFound           = errors.New("not found")
	ErrExportDisabled     = errors.New("Migration by direct transfer disabled on source or destination instance. Ask an administrator to enable it on both instances and try again.")
	ErrExportForbidden    = errors.New("You don't have permission to export")
)

// Version gates (spec §7.4).
const (
	minMajor                       = 14
	scopeCheckMajor, scopeCheckMin = 15, 5
)

// Unmodelled is what GitLab's direct transfer migrates (spec §4.3) that
// this source does not bring, because ferry's model has no place for it
// or REST does not give it. (Groups' and projects' badges and members do
// arrive.)
var Unmodelled = []string{
	"epics", "boards and board lists", "epic boards", "iterations and iteration cadences",
	"namespace settings", "group wikis", "group uploads", "CI pipelines and pipeline history",
	"pipeline schedules", "snippets", "designs", "external pull requests", "commit comments", "Auto DevOps settings",
	"push rules", "project settings and features", "container expiration policy", "Service Desk settings",
	"release evidences and release milestones", "protected tags", "vulnerability reports",
	"issue and merge request resource events (state, label, milestone, iteration)", "time tracking",
	"issue weights and health status", "merge request suggestions and diff files of notes", "label priorities",
	"public e-mails of people, through REST (placeholders carry the username only; an export's user_contributions has them)",
}

// Instance is what the source instance says about itself.
type Instance struct {
	Version    string // as reported: "17.11.1-ee"
	Major      int
	Minor      int
	Enterprise bool
}

// AtLeast reports whether the instance is major.minor or newer.
func (i Instance) AtLeast(major, minor int) bool {
	return i.Major > major || (i.Major == major && i.Minor >= minor)
}

var versionRE = regexp.MustCompile(`^\s*(\d+)\.(\d+)`)

func parseVersion(v string, enterprise bool) (Instance, bool) {
	m := versionRE.FindStringSubmatch(v)
	if m == nil {
		return Instance{}, false
	}
	major, err1 := strconv.Atoi(m[1])
	minor, err2 := strconv.Atoi(m[2])
	if err1 != nil || err2 != nil {
		return Instance{}, false
	}
	return Instance{Version: strings.TrimSpace(v), Major: major, Minor: minor,
		Enterprise: enterprise || strings.HasSuffix(strings.TrimSpace(v), "-ee")}, true
}

// statusIs reports whether err is an answer with one of statuses.
func statusIs(err error, statuses ...int) bool {
	return slices.Contains(statuses, sourcehttp.StatusOf(err))
}

// unusable reports a 2xx answer that was not the JSON asked for.
func unusable(err error) bool {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	return errors.As(err, &syn) || errors.As(err, &typ)
}

// CheckInstance is validate! steps 1-2 (spec §2.1): the version from GET
// /api/v4/version, or /api/v4/metadata where that is 404, and from 15.5 on
// the token's scopes (GET /personal_access_tokens/self must list api).
// It returns ErrCredentials (401, 403, no api scope), ErrInvalidURL (not a
// GitLab base URL: both 404, or no version in the answer),
// ErrUnsupportedVersion (before 14), or the transport's error.
func CheckInstance(ctx context.Context, hc *http.Client, baseURL, token string) (Instance, error) {
	base, err := BaseURL(baseURL)
	if err != nil {
		return Instance{}, ErrInvalidURL
	}
	var v struct {
		Version    string `json:"version"`
		Enterprise bool   `json:"enterprise"`
	}
	_, err = checkCall(ctx, hc, base, token, "version", &v)
	if statusIs(err, http.StatusNotFound) {
		_, err = checkCall(ctx, hc, base, token, "metadata", &v)
	}
	switch {
	case statusIs(err, http.StatusUnauthorized, http.StatusForbidden):
		return Instance{}, ErrCredentials
	case statusIs(err, http.StatusNotFound), unusable(err):
		return Instance{}, ErrInvalidURL
	case err != nil:
		return Instance{}, fmt.Errorf("gitlab: version of %s: %w", base.Host, err)
	}
	in, ok := parseVersion(v.Version, v.Enterprise)
	if !ok {
		return Instance{}, ErrInvalidURL
	}
	if in.Major < minMajor {
		return in, ErrUnsupportedVersion
	}
	if !in.AtLeast(scopeCheckMajor, scopeCheckMin) {
		return in, nil
	}
	var tok gl.PersonalAccessToken
	_, err = checkCall(ctx, hc, base, token, "personal_access_tokens/self", &tok)
	switch {
	case statusIs(err, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound), unusable(err):
		return in, ErrCredentials
	case err != nil:
		return in, fmt.Errorf("gitlab: token scopes on %s: %w", base.Host, err)
	case !slices.Contains(tok.Scopes, "api"):
		return in, ErrCredentials
	}
	return in, nil
}

// Entity is a group or project at the source.
type Entity struct {
	Kind        string // KindGroup or KindProject
	ID          int64
	FullPath    string
	Path        string
	Name        string
	Description string
	Visibility  string
}

// apiPath is the entity's REST path: by id, or by its encoded full path.
func (e Entity) apiPath() (string, error) {
	kind := map[string]string{KindGroup: "groups", KindProject: "projects"}[e.Kind]
	switch {
	case kind == "":
		return "", fmt.Errorf("gitlab: entity kind %q is neither group nor project", e.Kind)
	case e.ID > 0:
		return kind + "/" + strconv.FormatInt(e.ID, 10), nil
	case e.FullPath != "":
		return kind + "/" + url.PathEscape(strings.Trim(e.FullPath, "/")), nil
	}
	return "", fmt.Errorf("gitlab: %s entity has neither id nor path", e.Kind)
}

var gidRE = regexp.MustCompile(`^gid://gitlab/(Group|Project)/(\d+)$`)

// Lookup is validate! step 3: the GraphQL group(fullPath:) or
// project(fullPath:) { id } direct transfer asks (the id a global id,
// gid://gitlab/Group/N), then REST GET /groups/N or /projects/N for the
// details. It returns ErrNotFound (no such entity, or not visible to the
// token), ErrCredentials (401, 403), ErrInvalidURL, or the transport's
// error.
func Lookup(ctx context.Context, hc *http.Client, baseURL, token, kind, fullPath string) (Entity, error) {
	base, err := BaseURL(baseURL)
	if err != nil {
		return Entity{}, ErrInvalidURL
	}
	if kind != KindGroup && kind != KindProject {
		return Entity{}, fmt.Errorf("gitlab: entity kind %q is neither group nor project", kind)
	}
	fullPath = strings.Trim(fullPath, "/")
	if fullPath == "" {
		return Entity{}, ErrNotFound
	}
	var data map[string]*struct {
		ID string `json:"id"`
	}
	query := fmt.Sprintf("query($full_path: ID!) { %s(fullPath: $full_path) { id } }", kind)
	err = retried(ctx, func() error {
		return graphql(ctx, hc, base, token, query, map[string]any{"full_path": fullPath}, &data)
	})
	switch {
	case statusIs(err, http.StatusUnauthorized, http.StatusForbidden):
		return Entity{}, ErrCredentials
	case statusIs(err, http.StatusNotFound):
		return Entity{}, ErrInvalidURL
	case err != nil:
		return Entity{}, fmt.Errorf("gitlab: look up %s %s: %w", kind, fullPath, err)
	}
	node := data[kind]
	if node == nil {
		return Entity{}, ErrNotFound
	}
	m := gidRE.FindStringSubmatch(node.ID)
	if m == nil || !strings.EqualFold(m[1], kind) {
		return Entity{}, fmt.Errorf("gitlab: %s %s has id %q, not a global id", kind, fullPath, node.ID)
	}
	n, err := strconv.ParseInt(m[2], 10, 64)
	if err != nil || n <= 0 {
		return Entity{}, fmt.Errorf("gitlab: %s %s has id %q", kind, fullPath, node.ID)
	}
	e := Entity{Kind: kind, ID: n}
	path, _ := e.apiPath()
	if kind == KindGroup {
		var g gl.Group
		err = getEntity(ctx, hc, base, token, path, &g)
		e.FullPath, e.Path, e.Name, e.Description, e.Visibility = g.FullPath, g.Path, g.Name, g.Description, string(g.Visibility)
	} else {
		var p gl.Project
		err = getEntity(ctx, hc, base, token, path, &p)
		e.FullPath, e.Path, e.Name, e.Description, e.Visibility = p.PathWithNamespace, p.Path, p.Name, p.Description, string(p.Visibility)
	}
	if err != nil {
		return Entity{}, err
	}
	return e, nil
}

func getEntity(ctx context.Context, hc *http.Client, base *url.URL, token, path string, v any) error {
	_, err := checkCall(ctx, hc, base, token, path, v)
	switch {
	case statusIs(err, http.StatusNotFound):
		return ErrNotFound
	case statusIs(err, http.StatusUnauthorized, http.StatusForbidden):
		return ErrCredentials
	case err != nil:
		return fmt.Errorf("gitlab: get %s: %w", path, err)
	}
	return nil
}

// CheckExport is validate! step 4: GET /groups|projects/:id/export_relations/status;
// nil when migration by direct transfer is enabled on the source. It
// returns ErrExportDisabled (404), ErrExportForbidden (403),
// ErrCredentials (401), or the transport's error.
func CheckExport(ctx context.Context, hc *http.Client, baseURL, token string, e Entity) error {
	base, err := BaseURL(baseURL)
	if err != nil {
		return ErrInvalidURL
	}
	path, err := e.apiPath()
	if err != nil {
		return err
	}
	var status json.RawMessage
	_, err = checkCall(ctx, hc, base, token, path+"/export_relations/status", &status)
	switch {
	case statusIs(err, http.StatusNotFound):
		return ErrExportDisabled
	case statusIs(err, http.StatusForbidden):
		return ErrExportForbidden
	case statusIs(err, http.StatusUnauthorized):
		return ErrCredentials
	case err != nil:
		return fmt.Errorf("gitlab: export status of %s: %w", path, err)
	}
	return nil
}

// Child is a direct subgroup or project of a group.
type Child struct {
	Kind     string // KindGroup or KindProject
	ID       int64
	FullPath string
	Path     string
	Name     string
}

// Children lists a group's direct subgroups and then its projects (not
// shared ones), every page of both, 100 a page.
func Children(ctx context.Context, hc *http.Client, baseURL, token string, groupID int64) ([]Child, error) {
	base, err := BaseURL(baseURL)
	if err != nil {
		return nil, ErrInvalidURL
	}
	if groupID <= 0 {
		return nil, fmt.Errorf("gitlab: group id %d", groupID)
	}
	r := &run{env: &importer.Env{HTTP: hc, Credential: token}, opts: Options{PageSize: MaxPageSize}, base: base}
	gp := "groups/" + strconv.FormatInt(groupID, 10)
	groups, err := all[*gl.Group](ctx, r, gp+"/subgroups", url.Values{"all_available": {"false"}})
	if err != nil {
		return nil, childError(gp+"/subgroups", err)
	}
	projects, err := all[*gl.Project](ctx, r, gp+"/projects",
		url.Values{"include_subgroups": {"false"}, "with_shared": {"false"}, "order_by": {"id"}, "sort": {"asc"}})
	if err != nil {
		return nil, childError(gp+"/projects", err)
	}
	out := make([]Child, 0, len(groups)+len(projects))
	for _, g := range groups {
		out = append(out, Child{Kind: KindGroup, ID: g.ID, FullPath: g.FullPath, Path: g.Path, Name: g.Name})
	}
	for _, p := range projects {
		out = append(out, Child{Kind: KindProject, ID: p.ID, FullPath: p.PathWithNamespace, Path: p.Path, Name: p.Name})
	}
	return out, nil
}

func childError(path string, err error) error {
	switch {
	case statusIs(err, http.StatusNotFound):
		return ErrNotFound
	case statusIs(err, http.StatusUnauthorized, http.StatusForbidden):
		return ErrCredentials
	}
	return fmt.Errorf("gitlab: list %s: %w", path, err)
}

// checkAttempts bounds the reads of one pre-check answer.
const checkAttempts = 4

// retried runs a pre-check call again while its answer is unusable (a
// truncated body, not JSON): the transport retried what HTTP could tell
// was transient, relations have the engine retry their pages, and the
// pre-checks have this.
func retried(ctx context.Context, fn func() error) error {
	return sourcehttp.Retry(ctx, nil, checkAttempts, paging.Unusable, fn)
}

// checkCall is call, retried.
func checkCall(ctx context.Context, hc *http.Client, base *url.URL, token, path string, v any) (http.Header, error) {
	var h http.Header
	err := retried(ctx, func() (err error) {
		h, err = call(ctx, hc, base, token, path, v)
		return err
	})
	return h, err
}
