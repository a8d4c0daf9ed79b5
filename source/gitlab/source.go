package gitlab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/gitstore"
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/source/internal/paging"
)

// Type is the import_type of this source (BulkImport source_type).
const Type = "gitlab"

// MaxPageSize is GitLab's largest per_page.
const MaxPageSize = 100

// Entity kinds, as Options.Entity and Entity.Kind spell them.
const (
	KindProject = "project"
	KindGroup   = "group"
)

// Relation names; the object types of the import stats follow GitLab's
// direct transfer relations (ObjectType).
const (
	relRepository   = "repository"
	relLabels       = "labels"
	relMilestones   = "milestones"
	relMembers      = "members"
	relBadges       = "badges"
	relIssues       = "issues"
	relMRs          = "merge_requests"
	relReleases     = "releases"
	relProtected    = "protected_branches"
	relIssueNotes   = "issue_notes"
	relMRDetails    = "merge_request_details"
	relMRNotes      = "merge_request_notes"
	relLFSObjects   = "lfs_objects"
	maxAheadPages   = 8
	oauth2GitUser   = "oauth2"
	privateTokenHdr = "PRIVATE-TOKEN"
)

// Options are the source-specific options of an import (Env.Options).
type Options struct {
	// Entity is what is imported: "project" or "group"; empty follows
	// the target (Env.NamespaceID set: a group).
	Entity string `json:"entity"`
	// SourceID is the entity's numeric id at the source (what Lookup
	// found); 0 addresses it by Env.SourceRef, its URL-encoded full path.
	SourceID int64 `json:"source_id,omitempty"`
	// MigrateMemberships imports members (entities[migrate_memberships]).
	MigrateMemberships bool `json:"migrate_memberships"`
	// PageSize is per_page of list calls, 1–100; 0 means 100.
	PageSize int `json:"page_size,omitempty"`
	// Transport is how content is read: TransportExport (the source's
	// export_relations) or TransportREST; empty is REST.
	Transport string `json:"transport,omitempty"`
}

func parseOptions(raw json.RawMessage) (Options, error) {
	var o Options
	if err := paging.DecodeOptions(raw, &o, "gitlab"); err != nil {
		return o, err
	}
	var err error
	if o.PageSize, err = paging.PageSize(o.PageSize, MaxPageSize, "gitlab", "page_size"); err != nil {
		return o, err
	}
	if o.SourceID < 0 {
		return o, fmt.Errorf("gitlab options: source_id %d is negative", o.SourceID)
	}
	switch o.Transport {
	case "":
		o.Transport = TransportREST
	case TransportREST, TransportExport:
	default:
		return o, fmt.Errorf("gitlab options: transport %q is neither %s nor %s", o.Transport, TransportREST, TransportExport)
	}
	return o, nil
}

// Through names how an import with these options reads the source, as
// a migration's entity shows it: "export_relations" or "rest_api"; "" when
// the options are not a GitLab import's.
func Through(options string) string {
	o, err := parseOptions(json.RawMessage(options))
	switch {
	case err != nil:
		return ""
	case o.Transport == TransportExport:
		return "export_relations"
	}
	return "rest_api"
}

// Source imports one GitLab project or group. The zero value is ready to
// use.
type Source struct {
	// ExportTimeout fails a relation whose export the source still
	// reports started this long after ferry first polled it, with GitLab's
	// "Pipeline timeout" (BulkImports::Pipeline::NDJSON_EXPORT_TIMEOUT);
	// 0 is DefaultExportTimeout.
	ExportTimeout time.Duration
	// EmptyExportStatusTimeout fails a relation the source's export status
	// does not list (an empty answer, or 404 Export not found) this long
	// after ferry first polled it, with "Empty export status on source
	// instance" (EMPTY_EXPORT_STATUS_TIMEOUT); 0 is
	// DefaultEmptyExportStatusTimeout.
	EmptyExportStatusTimeout time.Duration
	// Now is the clock of those timeouts; nil is time.Now.
	Now func() time.Time

	once     sync.Once
	spools   *spools   // downloaded export files between pages
	archives *archives // exported uploads, by import
}

// New returns the GitLab source.
func New() *Source { return &Source{} }

func (s *Source) spoolCache() *spools {
	s.once.Do(func() { s.spools, s.archives = newSpools(), newArchives() })
	return s.spools
}

// Type implements importer.Source.
func (*Source) Type() string { return Type }

// Stages implements importer.Source. Env.SourceURL is the instance's base
// URL (configuration[url], without /api/v4), Env.SourceRef the entity's
// full path, Env.Credential the personal access token; Env.ProjectID is
// set for a project, Env.NamespaceID for a group.
func (s *Source) Stages(_ context.Context, env *importer.Env) ([]importer.Stage, error) {
	r, err := newRun(env)
	if err != nil {
		return nil, err
	}
	r.spools = s.spoolCache()
	r.archives = s.archives
	r.polls = pollLimits{export: s.ExportTimeout, empty: s.EmptyExportStatusTimeout, clock: s.Now}
	if r.opts.Transport == TransportExport {
		return r.exportStages(), nil
	}
	if r.opts.Entity == KindGroup {
		rels := []importer.Relation{r.groupLabels(), r.groupMilestones(), r.groupBadges()}
		if r.opts.MigrateMemberships {
			rels = append(rels, r.groupMembers())
		}
		return []importer.Stage{{Name: "labels", Relations: rels}}, nil
	}
	second := []importer.Relation{r.labels(), r.milestones(), r.projectBadges()}
	if r.opts.MigrateMemberships {
		second = append(second, r.members())
	}
	return []importer.Stage{
		{Name: "repository", Relations: []importer.Relation{paging.Critical(relRepository, r.repository)}},
		{Name: "labels", Relations: second},
		{Name: "issues", Relations: []importer.Relation{r.issues(), r.mergeRequests(), r.releases(), r.protectedBranches()}},
		{Name: "notes", Relations: []importer.Relation{r.issueNotes(), r.mergeRequestDetails(), r.mergeRequestNotes()}},
		{Name: "lfs_objects", Relations: []importer.Relation{r.lfsObjects()}},
		// Last: every body linking an upload is stored by then.
		{Name: "attachments", Relations: []importer.Relation{r.attachments().Relation()}},
	}, nil
}

// ObjectType names objects in the import stats as GitLab's direct
// transfer names its relations.
func (*Source) ObjectType(_ string, o forge.Object) string {
	switch o.(type) {
	case forge.Repository:
		return "repository"
	case forge.Label:
		return "labels"
	case forge.Milestone:
		return "milestones"
	case forge.Issue:
		return "issues"
	case forge.MergeRequest:
		return "merge_requests"
	case forge.Note:
		return "notes"
	case forge.AwardEmoji:
		return "award_emoji"
	case forge.Approval:
		return "approvals"
	case forge.Release:
		return "releases"
	case forge.ProtectedBranch:
		return "protected_branches"
	case forge.Member:
		return "members"
	case forge.Badge:
		return "badges"
	case forge.SourceUser:
		return "users"
	case forge.Upload:
		return "uploads"
	}
	return ""
}

// run is one job run's view of an import.
type run struct {
	env  *importer.Env
	opts Options
	base *url.URL // the instance's base URL, with a trailing slash
	host string   // forge.SourceID.Host
	// ref addresses the entity in API paths: its numeric id, or its
	// URL-encoded full path.
	ref      string
	spools   *spools
	archives *archives
	polls    pollLimits
}

func newRun(env *importer.Env) (*run, error) {
	if env == nil {
		return nil, errors.New("gitlab: no import environment")
	}
	opts, err := parseOptions(env.Options)
	if err != nil {
		return nil, err
	}
	switch {
	case opts.Entity == "" && env.NamespaceID != 0:
		opts.Entity = KindGroup
	case opts.Entity == "":
		opts.Entity = KindProject
	case opts.Entity != KindProject && opts.Entity != KindGroup:
		return nil, fmt.Errorf("gitlab options: entity %q is neither project nor group", opts.Entity)
	}
	if (opts.Entity == KindGroup) != (env.NamespaceID != 0) || (env.ProjectID != 0) == (env.NamespaceID != 0) {
		return nil, fmt.Errorf("gitlab: a %s import needs exactly its own target (project %d, group %d)", opts.Entity, env.ProjectID, env.NamespaceID)
	}
	path := strings.Trim(env.SourceRef, "/")
	if opts.SourceID == 0 && (path == "" || strings.Contains(path, "..")) {
		return nil, fmt.Errorf("gitlab: source full path %q is not a path", env.SourceRef)
	}
	if env.HTTP == nil {
		return nil, errors.New("gitlab: no HTTP client")
	}
	if env.Credential == "" {
		return nil, errors.New("gitlab: no access token")
	}
	base, err := BaseURL(env.SourceURL)
	if err != nil {
		return nil, err
	}
	ref := url.PathEscape(path)
	if opts.SourceID != 0 {
		ref = strconv.FormatInt(opts.SourceID, 10)
	}
	return &run{env: env, opts: opts, base: base, host: strings.ToLower(base.Host), ref: ref}, nil
}

// BaseURL checks and normalises a GitLab instance's base URL: http(s), a
// host, no credentials, query or fragment; a trailing slash. A base that
// ends in /api/v4 is refused, as GitLab refuses it (invalid URL).
func BaseURL(raw string) (*url.URL, error) {
	u, err := paging.BaseURL(strings.TrimSpace(raw), "gitlab: instance")
	if err != nil {
		return nil, err
	}
	if strings.HasSuffix(strings.TrimSuffix(u.Path, "/"), "/api/v4") {
		return nil, ErrInvalidURL
	}
	return u, nil
}

func (r *run) sid(id string) forge.SourceID { return forge.SourceID{Type: Type, Host: r.host, ID: id} }

func (r *run) projectPath() string { return "projects/" + r.ref }
func (r *run) groupPath() string   { return "groups/" + r.ref }

// credential is how git authenticates: oauth2:<token>, as GitLab's own
// importers clone.
func (r *run) credential() gitstore.Credential {
	return gitstore.Credential{Username: oauth2GitUser, Password: r.env.Credential}
}

// get reads one API answer at path (under /api/v4/) into v.
func (r *run) get(ctx context.Context, path string, v any) error {
	_, err := call(ctx, r.env.HTTP, r.base, r.env.Credential, path, v)
	return err
}

// listURL is the first page of a list at path with query q.
func (r *run) listURL(path string, q url.Values) string {
	if q == nil {
		q = url.Values{}
	}
	q.Set("per_page", strconv.Itoa(r.opts.PageSize))
	q.Set("page", "1")
	return path + "?" + q.Encode()
}

// getPage reads the page of a list at cursor (a path under /api/v4/ with
// its query, page included) and names the next page by GitLab's
// X-Next-Page, as direct transfer's client follows it; X-Total-Pages, when
// sent, lets the pages after it be fetched ahead.
func getPage[T any](ctx context.Context, r *run, cursor string) (paging.Fetched[T], error) {
	u, err := url.Parse(cursor)
	if err != nil || u.IsAbs() || u.Host != "" || strings.HasPrefix(u.Path, "/") {
		return paging.Fetched[T]{}, &importer.Permanent{Err: fmt.Errorf("bad page cursor %q", cursor)}
	}
	var items []T
	h, err := call(ctx, r.env.HTTP, r.base, r.env.Credential, cursor, &items)
	if err != nil {
		return paging.Fetched[T]{}, err
	}
	out := paging.Fetched[T]{Items: items}
	out.Total, _ = strconv.ParseInt(h.Get("X-Total"), 10, 64)
	next, err := strconv.Atoi(strings.TrimSpace(h.Get("X-Next-Page")))
	if err != nil || next < 1 {
		return out, nil
	}
	q := u.Query()
	cur, _ := strconv.Atoi(q.Get("page"))
	if next <= cur {
		return out, &importer.Permanent{Err: fmt.Errorf("%s: X-Next-Page %d does not move past page %d", u.Path, next, cur)}
	}
	at := func(p int) string {
		q.Set("page", strconv.Itoa(p))
		return u.EscapedPath() + "?" + q.Encode()
	}
	out.Next = at(next)
	if last, err := strconv.Atoi(h.Get("X-Total-Pages")); err == nil {
		for p := next + 1; p <= last && len(out.Ahead) < maxAheadPages; p++ {
			out.Ahead = append(out.Ahead, at(p))
		}
	}
	return out, nil
}

// all reads every page of a list (one item's discussions or emoji).
func all[T any](ctx context.Context, r *run, path string, q url.Values) ([]T, error) {
	var out []T
	for cursor := r.listURL(path, q); cursor != ""; {
		// An unusable page (truncated, not JSON) is read again alone
		// rather than the whole list.
		var got paging.Fetched[T]
		err := retried(ctx, func() (err error) {
			got, err = getPage[T](ctx, r, cursor)
			return err
		})
		if err != nil {
			return nil, err
		}
		out = append(out, got.Items...)
		cursor = got.Next
	}
	return out, nil
}

// list is a relation over one paged list at path.
func list[T any](r *run, name, path string, q url.Values, convert func(ctx context.Context, b *builder, items []T) error) importer.Relation {
	return listHolding(r, name, path, q, "", convert)
}

// listHolding is list whose items each land as one object of kind holds:
// the list's X-Total is checked against what landed when the import ends.
func listHolding[T any](r *run, name, path string, q url.Values, holds string, convert func(ctx context.Context, b *builder, items []T) error) importer.Relation {
	return paging.NewList(name, paging.ListFuncs[T]{
		Holds: holds,
		First: func(context.Context) (string, error) { return r.listURL(path, q), nil },
		Fetch: func(ctx context.Context, cursor string) (paging.Fetched[T], error) { return getPage[T](ctx, r, cursor) },
		Convert: func(ctx context.Context, items []T) (*paging.Builder, error) {
			b := r.builder()
			if err := convert(ctx, b, items); err != nil {
				return nil, err
			}
			return b.Builder, nil
		},
	})
}
