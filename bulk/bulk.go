// Package bulk runs GitLab migrations by direct transfer (bulk imports):
// a parent with one entity per group and per project, where every entity
// is an ordinary engine import whose target is the group or project it
// creates. A group's subgroups and projects become entities when its own
// import has finished, so a tree arrives top down and entities run
// concurrently (the engine bounds them per source host).
//
// One job kind, bulk_import_step, drives a migration. It is not unique and
// needs not be: a step reads the source outside any transaction (entity
// details, a finished group's children), then decides everything in one
// transaction under the bulk import's row lock, from the state it finds,
// so a step that runs twice, or two that race, do the work once. Steps are
// enqueued when the migration is created, when one of its entities'
// imports ends (the engine's OnEnd hook, in the ending transaction) and
// when a step adds entities. A second, periodic job, bulk_import_timeouts
// (timeout.go), times out stale migrations and entities as GitLab's
// cleanup_stale does.
//
// It knows the domain, the store, the engine and the queue; it talks to the
// source only through Source, and must not know GitLab's API or HTTP.
package bulk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/queue"
	"github.com/ferry-import/ferry/secret"
	"github.com/ferry-import/ferry/store"
)

// Entity is a group or project as the source describes it.
type Entity struct {
	ID          int64
	Name        string
	Path        string
	FullPath    string
	Description string
	Visibility  string // public, internal, private; "" when unknown
	// Transport is how the source adapter will read the entity's content
	// (the source decides; the runner hands it to the import's options).
	Transport string
}

// Child is a subgroup or project found in a migrated group.
type Child struct {
	SourceType string // ferry.GroupEntity or ferry.ProjectEntity
	FullPath   string
	Path       string
}

// Source is what a migration needs from the source instance beyond the
// engine imports: an entity's details and a group's direct children.
type Source interface {
	Lookup(ctx context.Context, baseURL, token, sourceType, fullPath string) (Entity, error)
	Children(ctx context.Context, baseURL, token string, groupID int64) ([]Child, error)
}

// ImportOptions are the engine import options of an entity (the source
// adapter's Options JSON).
type ImportOptions struct {
	Entity             string `json:"entity"` // "group" or "project"
	SourceID           int64  `json:"source_id,omitempty"`
	MigrateMemberships bool   `json:"migrate_memberships"`
	Transport          string `json:"transport,omitempty"`
}

// Config wires a Runner.
type Config struct {
	Store   *store.Store
	Engine  *importer.Engine
	Secrets *secret.Box
	Source  Source
	// SourceType is the engine source that imports entities ("gitlab").
	SourceType string
	// ProjectImportType is the import_type migrated projects show
	// ("gitlab_project", as GitLab's).
	ProjectImportType string
	// StaleAfter is how long a migration not ended may go without an
	// update before it times out, its unfinished entities with it (default
	// 24h, GitLab's cleanup_stale).
	StaleAfter time.Duration
	// EntityStaleAfter is how long after it was created an entity not
	// ended times out (default 8h, as GitLab's stale entities).
	EntityStaleAfter time.Duration
	Log              *slog.Logger
}

// Runner runs migrations.
type Runner struct {
	cfg   Config
	queue *queue.Queue
}

// New returns a Runner; call Register before the queue is built and
// SetQueue after.
func New(cfg Config) *Runner {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.StaleAfter <= 0 {
		cfg.StaleAfter = 24 * time.Hour
	}
	if cfg.EntityStaleAfter <= 0 {
		cfg.EntityStaleAfter = 8 * time.Hour
	}
	return &Runner{cfg: cfg}
}

// Register adds the step worker and the timeout sweep's.
func (r *Runner) Register(w *river.Workers) {
	river.AddWorker(w, &stepWorker{r: r})
	river.AddWorker(w, &timeoutWorker{r: r})
}

// PeriodicJobs are the runner's scheduled jobs: the sweep that times out
// stale migrations and entities (timeout.go), run at a quarter of the
// shorter stale duration, at least every minute.
func (r *Runner) PeriodicJobs() []*river.PeriodicJob {
	every := min(time.Minute, max(min(r.cfg.StaleAfter, r.cfg.EntityStaleAfter)/4, time.Second))
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(every),
		func() (river.JobArgs, *river.InsertOpts) { return timeoutArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true})}
}

// SetQueue gives the runner the queue it enqueues on.
func (r *Runner) SetQueue(q *queue.Queue) { r.queue = q }

// Schedule stores a new migration with its requested entities and enqueues
// its first step, in the caller's transaction, so the migration exists
// exactly when its job does.
func (r *Runner) Schedule(ctx context.Context, tx *store.Tx, b *ferry.BulkImport, entities []*ferry.BulkEntity, token string) error {
	sealed, err := r.cfg.Secrets.Seal(token)
	if err != nil {
		return err
	}
	b.SealedCredential = sealed
	if err := tx.CreateBulkImport(ctx, b, entities); err != nil {
		return err
	}
	return r.enqueue(ctx, tx, b.ID)
}

// Cancel stops the running imports of a migration being canceled, in the
// canceling transaction (after the store marked it and its entities).
func (r *Runner) Cancel(ctx context.Context, tx *store.Tx, b *ferry.BulkImport) error {
	entities, err := tx.BulkEntitiesOf(ctx, b.ID)
	if err != nil {
		return err
	}
	imports := map[int64]*ferry.Import{}
	if err := r.importsOf(ctx, tx, entities, imports); err != nil {
		return err
	}
	for eid, im := range imports {
		if ferry.ImportDone(im.Status) {
			continue
		}
		if err := r.cfg.Engine.Cancel(ctx, tx, im); err != nil && !errors.Is(err, store.ErrImportEnded) {
			return fmt.Errorf("cancel import %d of entity %d: %w", im.ID, eid, err)
		}
	}
	return nil
}

// Ended is the engine's OnEnd hook: an entity's import ended, so its
// migration takes its next step.
func (r *Runner) Ended(ctx context.Context, tx *store.Tx, im *ferry.Import) error {
	if im.SourceType != r.cfg.SourceType {
		return nil
	}
	e, err := tx.BulkEntityByImport(ctx, im.ID)
	if ferry.ErrorCode(err) == ferry.ENOTFOUND {
		return nil // an import of that source not started by a migration
	} else if err != nil {
		return err
	}
	return r.enqueue(ctx, tx, e.BulkImportID)
}

func (r *Runner) enqueue(ctx context.Context, tx *store.Tx, bulkID int64) error {
	if r.queue == nil {
		return errors.New("bulk runner has no queue")
	}
	_, err := r.queue.Enqueue(ctx, tx, stepArgs{BulkImportID: bulkID}, nil)
	return err
}

type stepArgs struct {
	BulkImportID int64 `json:"bulk_import_id"`
}

func (stepArgs) Kind() string { return "bulk_import_step" }

type stepWorker struct {
	river.WorkerDefaults[stepArgs]
	r *Runner
}

func (w *stepWorker) Work(ctx context.Context, job *river.Job[stepArgs]) error {
	return w.r.step(ctx, job.Args.BulkImportID)
}

// observed is what a step learned from the source before deciding.
type observed struct {
	details  map[int64]Entity  // by entity id: entities to start
	failed   map[int64]error   // by entity id: lookups the source refused
	children map[int64][]Child // by entity id: finished groups' children
}

// step moves a migration on: it starts entities that wait, adopts the
// children of groups whose import finished, rolls entity statuses up from
// their imports and concludes the migration when every entity ended.
func (r *Runner) step(ctx context.Context, bulkID int64) error {
	var b *ferry.BulkImport
	var entities []*ferry.BulkEntity
	imports := map[int64]*ferry.Import{}
	err := r.cfg.Store.Read(ctx, func(tx *store.Tx) error {
		var err error
		if b, err = tx.BulkImportByID(ctx, bulkID); err != nil {
			return err
		}
		if entities, err = tx.BulkEntitiesOf(ctx, bulkID); err != nil {
			return err
		}
		return r.importsOf(ctx, tx, entities, imports)
	})
	if ferry.ErrorCode(err) == ferry.ENOTFOUND {
		return nil // deleted with its user
	} else if err != nil {
		return fmt.Errorf("read bulk import %d: %w", bulkID, err)
	}
	if ferry.BulkDone(b.Status) {
		return nil
	}
	token, err := r.cfg.Secrets.Open(b.SealedCredential)
	if err != nil {
		return fmt.Errorf("open bulk import %d credential: %w", bulkID, err)
	}
	obs := r.observe(ctx, b, token, entities, imports)
	return r.cfg.Store.Write(ctx, func(tx *store.Tx) error {
		return r.decide(ctx, tx, bulkID, token, obs)
	})
}

func (r *Runner) importsOf(ctx context.Context, tx *store.Tx, entities []*ferry.BulkEntity, into map[int64]*ferry.Import) error {
	for _, e := range entities {
		if e.ImportID == 0 {
			continue
		}
		im, err := tx.ImportByID(ctx, e.ImportID)
		if ferry.ErrorCode(err) == ferry.ENOTFOUND {
			continue
		} else if err != nil {
			return err
		}
		into[e.ID] = im
	}
	return nil
}

// observe makes the source calls a step needs, outside any transaction.
// A refused lookup fails its entity; a failed children listing is retried
// by the job (the error is transient as far as anyone can tell).
func (r *Runner) observe(ctx context.Context, b *ferry.BulkImport, token string, entities []*ferry.BulkEntity,
	imports map[int64]*ferry.Import) observed {
	obs := observed{details: map[int64]Entity{}, failed: map[int64]error{}, children: map[int64][]Child{}}
	for _, e := range entities {
		switch {
		case e.Status == ferry.BulkCreated:
			d, err := r.cfg.Source.Lookup(ctx, b.SourceURL, token, e.SourceType, e.SourceFullPath)
			if err != nil {
				obs.failed[e.ID] = err
				continue
			}
			obs.details[e.ID] = d
		case e.Status == ferry.BulkStarted && e.SourceType == ferry.GroupEntity:
			im := imports[e.ID]
			if im == nil || im.Status != ferry.ImportFinished {
				continue
			}
			c, err := r.cfg.Source.Children(ctx, b.SourceURL, token, e.SourceID)
			if err != nil {
				obs.failed[e.ID] = err
				continue
			}
			obs.children[e.ID] = c
		}
	}
	return obs
}

// decide applies what a step observed, under the migration's row lock.
func (r *Runner) decide(ctx context.Context, tx *store.Tx, bulkID int64, token string, obs observed) error {
	b, err := tx.LockBulkImport(ctx, bulkID)
	if err != nil {
		return err
	}
	if ferry.BulkDone(b.Status) {
		return nil
	}
	if b.Status == ferry.BulkCreated {
		if err := tx.SetBulkImportStatus(ctx, b.ID, ferry.BulkStarted); err != nil {
			return err
		}
	}
	entities, err := tx.BulkEntitiesOf(ctx, bulkID)
	if err != nil {
		return err
	}
	again := false
	for _, e := range entities {
		switch e.Status {
		case ferry.BulkCreated:
			if err := r.start(ctx, tx, b, e, token, obs); err != nil {
				return err
			}
		case ferry.BulkStarted:
			added, err := r.roll(ctx, tx, b, e, entities, obs)
			if err != nil {
				return err
			}
			again = again || added
		}
	}
	if again {
		return r.enqueue(ctx, tx, b.ID)
	}
	return r.conclude(ctx, tx, b)
}

// start creates an entity's destination and schedules its import. An
// entity the source refused, or whose destination cannot be made, fails
// on its own; the others go on.
func (r *Runner) start(ctx context.Context, tx *store.Tx, b *ferry.BulkImport, e *ferry.BulkEntity, token string, obs observed) error {
	d, ok := obs.details[e.ID]
	if !ok {
		if err, refused := obs.failed[e.ID]; refused {
			return r.failEntity(ctx, tx, e, fmt.Errorf("look up %s at the source: %w", e.SourceFullPath, err))
		}
		return nil // added after this step looked: the next step starts it
	}
	e.SourceID = d.ID
	user, err := tx.UserByID(ctx, b.UserID)
	if err != nil {
		return err
	}
	im := &ferry.Import{UserID: b.UserID, SourceType: r.cfg.SourceType, SourceURL: b.SourceURL, SourceRef: e.SourceFullPath}
	opts := ImportOptions{SourceID: d.ID, MigrateMemberships: e.MigrateMemberships, Transport: d.Transport}
	var parent *ferry.Namespace
	if ns := strings.Trim(e.DestinationNamespace, "/"); ns != "" {
		if parent, err = tx.NamespaceByPath(ctx, ns); err != nil {
			return r.failEntity(ctx, tx, e, fmt.Errorf("destination namespace %q: %w", ns, err))
		}
	}
	created, err := r.createDestination(ctx, tx, user, parent, e, d)
	if err != nil {
		if !isDomainError(err) {
			return err // ferry's own failure: the job retries
		}
		return r.failEntity(ctx, tx, e, err) // taken path, invalid name…
	}
	switch e.SourceType {
	case ferry.GroupEntity:
		opts.Entity, im.NamespaceID, e.NamespaceID = "group", created, created
	default:
		opts.Entity, im.ProjectID, e.ProjectID = "project", created, created
	}
	raw, err := json.Marshal(opts)
	if err != nil {
		return err
	}
	im.Options = string(raw)
	if err := r.cfg.Engine.Schedule(ctx, tx, im, token); err != nil {
		return fmt.Errorf("schedule import of entity %d: %w", e.ID, err)
	}
	e.ImportID, e.Status = im.ID, ferry.BulkStarted
	return tx.UpdateBulkEntity(ctx, e)
}

// isDomainError tells a refusal of the request (a *ferry.Error other than
// EINTERNAL) from a failure of ferry's own.
func isDomainError(err error) bool {
	var fe *ferry.Error
	return errors.As(err, &fe) && fe.Code != ferry.EINTERNAL
}

// createDestination makes the group (owned by the migration's user) or the
// project an entity imports into, and returns its id.
func (r *Runner) createDestination(ctx context.Context, tx *store.Tx, user *ferry.User, parent *ferry.Namespace, e *ferry.BulkEntity,
	d Entity) (int64, error) {
	vis, ok := ferry.ParseVisibility(d.Visibility)
	if !ok {
		vis = ferry.Private
	}
	if parent != nil && vis.Rank() > parent.Visibility.Rank() {
		vis = parent.Visibility // a child is never more visible than its parent
	}
	name := d.Name
	if name == "" {
		name = e.DestinationSlug
	}
	if e.SourceType == ferry.GroupEntity {
		g := &ferry.Namespace{Kind: ferry.KindGroup, Name: name, Path: e.DestinationSlug, Description: d.Description, Visibility: vis}
		if parent != nil {
			g.ParentID = &parent.ID
		}
		if err := ferry.ValidateGroup(g, nil); err != nil {
			return 0, err
		}
		if err := tx.CreateNamespace(ctx, g); err != nil {
			return 0, err
		}
		err := tx.AddMember(ctx, &ferry.Member{SourceKind: store.MemberOfNamespace, SourceID: g.ID, UserID: user.ID,
			AccessLevel: ferry.OwnerAccess, CreatedByID: &user.ID})
		return g.ID, err
	}
	if parent == nil {
		return 0, ferry.Errorf(ferry.EUNPROCESSABLE, "a project needs a destination namespace")
	}
	p := &ferry.Project{Name: name, Path: e.DestinationSlug, Description: d.Description, Visibility: vis, NamespaceID: parent.ID,
		CreatorID: user.ID, ImportType: r.cfg.ProjectImportType, ImportSource: e.SourceFullPath, ImportStatus: ferry.ImportScheduled}
	if err := ferry.ValidateProject(p, nil); err != nil {
		return 0, err
	}
	if err := tx.CreateProject(ctx, p); err != nil {
		return 0, err
	}
	return p.ID, nil
}

// failEntity ends an entity that could not start, its reason kept for
// its failures list (it has no import to list it under).
func (r *Runner) failEntity(ctx context.Context, tx *store.Tx, e *ferry.BulkEntity, cause error) error {
	msg := cause.Error()
	if len(msg) > 500 {
		msg = msg[:500]
	}
	r.cfg.Log.WarnContext(ctx, "bulk import entity failed", "bulk_import_id", e.BulkImportID, "entity_id", e.ID,
		"source_full_path", e.SourceFullPath, "error", msg)
	e.Status, e.Error = ferry.BulkFailed, msg
	return tx.UpdateBulkEntity(ctx, e)
}

// roll moves a started entity on from its import's status; a finished
// group first adopts its children. It reports whether it added entities.
func (r *Runner) roll(ctx context.Context, tx *store.Tx, b *ferry.BulkImport, e *ferry.BulkEntity, all []*ferry.BulkEntity,
	obs observed) (bool, error) {
	im, err := tx.ImportByID(ctx, e.ImportID)
	if ferry.ErrorCode(err) == ferry.ENOTFOUND {
		e.Status = ferry.BulkFailed // its destination was deleted meanwhile
		return false, tx.UpdateBulkEntity(ctx, e)
	} else if err != nil {
		return false, err
	}
	switch im.Status {
	case ferry.ImportFailed:
		e.Status = ferry.BulkFailed
	case ferry.ImportCanceled:
		e.Status = ferry.BulkCanceled
	case ferry.ImportFinished:
		if e.SourceType != ferry.GroupEntity {
			e.Status = ferry.BulkFinished
			break
		}
		children, ok := obs.children[e.ID]
		if !ok {
			if err, failed := obs.failed[e.ID]; failed {
				// Listed on the group's import, beside its other failures.
				if err := tx.AddFailure(ctx, &ferry.ImportFailure{ImportID: im.ID, Relation: "subgroups_and_projects",
					SourceURL: b.SourceURL + "/" + e.SourceFullPath, SourceTitle: e.SourceFullPath, ExceptionClass: "BulkImports::NetworkError",
					ExceptionMessage: err.Error(), CorrelationID: im.CorrelationID}); err != nil {
					return false, err
				}
				e.Status = ferry.BulkFailed
				return false, tx.UpdateBulkEntity(ctx, e)
			}
			return true, nil // finished after this step looked: look again
		}
		added, err := r.adopt(ctx, tx, b, e, children, all)
		if err != nil {
			return false, err
		}
		e.Status = ferry.BulkFinished
		if err := tx.UpdateBulkEntity(ctx, e); err != nil {
			return false, err
		}
		return added, nil
	default:
		return false, nil
	}
	return false, tx.UpdateBulkEntity(ctx, e)
}

// adopt adds a finished group's children as entities under the group's
// destination: subgroups always, projects when the group migrates them.
func (r *Runner) adopt(ctx context.Context, tx *store.Tx, b *ferry.BulkImport, group *ferry.BulkEntity, children []Child,
	all []*ferry.BulkEntity) (bool, error) {
	dest, err := tx.NamespaceByID(ctx, group.NamespaceID)
	if err != nil {
		return false, fmt.Errorf("destination of group entity %d: %w", group.ID, err)
	}
	requested := map[string]bool{}
	for _, e := range all {
		requested[e.SourceType+" "+e.SourceFullPath] = true
	}
	added := false
	for _, c := range children {
		if c.SourceType == ferry.ProjectEntity && !group.MigrateProjects {
			continue
		}
		if requested[c.SourceType+" "+c.FullPath] {
			continue // also asked for on its own: that entity stands
		}
		child := &ferry.BulkEntity{BulkImportID: b.ID, ParentID: group.ID, SourceType: c.SourceType, SourceFullPath: c.FullPath,
			DestinationSlug: c.Path, DestinationNamespace: dest.FullPath, MigrateProjects: group.MigrateProjects,
			MigrateMemberships: group.MigrateMemberships, Status: ferry.BulkCreated}
		isNew, err := tx.AddBulkEntity(ctx, child)
		if err != nil {
			return false, fmt.Errorf("add entity %s: %w", c.FullPath, err)
		}
		added = added || isNew
	}
	return added, nil
}

// conclude ends a migration whose entities have all ended: failed when
// every entity failed, timeout when every entity failed or timed out and
// one timed out, else finished (entity failures are listed per entity,
// and has_failures says so).
func (r *Runner) conclude(ctx context.Context, tx *store.Tx, b *ferry.BulkImport) error {
	entities, err := tx.BulkEntitiesOf(ctx, b.ID)
	if err != nil {
		return err
	}
	failed, timedOut := 0, 0
	for _, e := range entities {
		if !ferry.BulkDone(e.Status) {
			return nil
		}
		switch e.Status {
		case ferry.BulkFailed:
			failed++
		case ferry.BulkTimeout:
			timedOut++
		}
	}
	status := ferry.BulkFinished
	switch {
	case failed == len(entities):
		status = ferry.BulkFailed
	case failed+timedOut == len(entities):
		status = ferry.BulkTimeout
	}
	return tx.SetBulkImportStatus(ctx, b.ID, status)
}
