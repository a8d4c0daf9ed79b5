package gitlabexport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/forge/gitlabndjson"
	"github.com/ferry-import/ferry/store"
	"github.com/ferry-import/ferry/uploads"
)

// Export statuses, GitLab's BulkImports::Export integers.
const (
	StatusPending  = -2
	StatusFailed   = -1
	StatusStarted  = 0
	StatusFinished = 1
)

// Portable kinds.
const (
	KindGroup   = "group"
	KindProject = "project"
)

// DefaultBatchSize is the number of top-level records per batch when
// Config.BatchSize is 0 (GitLab's export batch size).
const DefaultBatchSize = 1000

// Portable is what is exported: a group or a project.
type Portable struct {
	Kind string // KindGroup, KindProject
	ID   int64
}

// Config wires a Service.
type Config struct {
	Store *store.Store
	// Dir holds the export files and statuses; required.
	Dir string
	// BatchSize is the number of top-level records per batch of a batched
	// export; 0 means DefaultBatchSize.
	BatchSize int
	// PageSize is how many rows each store read fetches; 0 means 100.
	PageSize int
	// Uploads holds the bytes of project uploads, exported by the uploads
	// relation; nil exports that relation empty (every file left out,
	// and logged).
	Uploads *uploads.Store
	Log     *slog.Logger
}

// Service runs relation exports in the background and serves their
// statuses and files.
type Service struct {
	cfg     Config
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	mu      sync.Mutex
	running map[string]bool // by export directory
}

// New opens the export directory; statuses left "started" by a previous
// process are marked failed, as their exports will never finish.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Dir == "" {
		return nil, errors.New("gitlabexport: Store and Dir are required")
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 100
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("export dir: %w", err)
	}
	s := &Service{cfg: cfg, running: map[string]bool{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if err := s.failInterrupted(); err != nil {
		return nil, err
	}
	return s, nil
}

// Close cancels running exports and waits for them to stop.
func (s *Service) Close() error {
	s.cancel()
	s.wg.Wait()
	return nil
}

// Wait blocks until no export is running (for tests and shutdown).
func (s *Service) Wait() { s.wg.Wait() }

// RelationStatus is the state of one relation's export.
type RelationStatus struct {
	Relation          string        `json:"relation"`
	Status            int           `json:"status"`
	Error             string        `json:"error,omitempty"`
	UpdatedAt         time.Time     `json:"updated_at"`
	Batched           bool          `json:"batched"`
	BatchesCount      int           `json:"batches_count"`
	TotalObjectsCount int           `json:"total_objects_count"`
	Batches           []BatchStatus `json:"batches,omitempty"`
}

// BatchStatus is the state of one batch of a batched relation.
type BatchStatus struct {
	Number       int       `json:"batch_number"`
	Status       int       `json:"status"`
	ObjectsCount int       `json:"objects_count"`
	Error        string    `json:"error,omitempty"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Errors with GitLab's texts (lib/api/{group,project}_export.rb).
var (
	ErrExportNotFound     = ferry.Errorf(ferry.ENOTFOUND, "Export not found")
	ErrNotBatched         = ferry.Errorf(ferry.EBADREQUEST, "Export is not batched")
	ErrBatched            = ferry.Errorf(ferry.EBADREQUEST, "Export is batched")
	ErrBatchNotFound      = ferry.Errorf(ferry.ENOTFOUND, "Batch not found")
	ErrBatchFileNotFound  = ferry.Errorf(ferry.ENOTFOUND, "Batch file not found")
	ErrExportFileNotFound = ferry.Errorf(ferry.ENOTFOUND, "Export file not found")
)

// exportDir is where one user's export of a portable lives.
func (s *Service) exportDir(p Portable, userID int64) string {
	return filepath.Join(s.cfg.Dir, p.Kind, strconv.FormatInt(p.ID, 10), "user-"+strconv.FormatInt(userID, 10))
}

// Start begins exporting every relation of p for userID in the
// background; batched splits batchable relations into batches. Asking
// again while an export of the same portable for the same user runs is a
// no-op; asking after it ended exports afresh.
func (s *Service) Start(ctx context.Context, p Portable, userID int64, batched bool) error {
	rels := relationsOf(p.Kind)
	if rels == nil {
		return fmt.Errorf("gitlabexport: unknown portable kind %q", p.Kind)
	}
	dir := s.exportDir(p, userID)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running[dir] {
		return nil
	}
	if err := s.ctx.Err(); err != nil {
		return fmt.Errorf("gitlabexport: service closed: %w", err)
	}
	// Every relation is "started" before the request returns, so the first
	// status poll already lists them all.
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("clear export: %w", err)
	}
	now := s.cfg.Store.Now()
	for _, r := range rels {
		st := &RelationStatus{Relation: r.name, Status: StatusStarted, UpdatedAt: now, Batched: batched && r.batchable}
		if err := s.saveStatus(dir, st); err != nil {
			return err
		}
	}
	s.running[dir] = true
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() {
			s.mu.Lock()
			delete(s.running, dir)
			s.mu.Unlock()
		}()
		for _, r := range rels {
			s.runRelation(p, dir, r, batched && r.batchable)
		}
	}()
	return nil
}

// runRelation exports one relation and records how it ended.
func (s *Service) runRelation(p Portable, dir string, r relation, batched bool) {
	st := &RelationStatus{Relation: r.name, Status: StatusStarted, Batched: batched, UpdatedAt: s.cfg.Store.Now()}
	out := &output{s: s, dir: filepath.Join(dir, r.name), st: st, batched: batched, rel: r}
	err := os.MkdirAll(out.dir, 0o700)
	if err == nil {
		err = r.run(s.ctx, s, p, out.emit)
	}
	if err == nil {
		err = out.finish()
	}
	out.abort()
	st.UpdatedAt = s.cfg.Store.Now()
	if err != nil {
		s.cfg.Log.Error("relation export failed", slog.String("portable", p.Kind), slog.Int64("id", p.ID), slog.String("relation", r.name),
			slog.Any("error", err))
		st.Status, st.Error = StatusFailed, "Export failed: "+ferry.ErrorMessage(err)
		if ferry.ErrorCode(err) == ferry.EINTERNAL {
			st.Error = "Export failed"
		}
	} else {
		st.Status = StatusFinished
	}
	if err := s.saveStatus(dir, st); err != nil {
		s.cfg.Log.Error("save export status", slog.String("relation", r.name), slog.Any("error", err))
	}
}

// recordWriter writes a relation's records to one file: gzipped NDJSON
// (gitlabndjson.Writer) or, for a file relation, a gzipped tar
// (tarWriter).
type recordWriter interface {
	Write(record any) error
	Count() int
	Close() error
}

// output writes a relation's records to its file, or to batch files of
// BatchSize records each, keeping the status current as batches finish.
type output struct {
	s       *Service
	dir     string
	rel     relation
	st      *RelationStatus
	batched bool
	f       *os.File
	w       recordWriter
}

func (o *output) open(name string) error {
	f, err := os.CreateTemp(o.dir, name+".*.tmp")
	if err != nil {
		return fmt.Errorf("create export file: %w", err)
	}
	o.f = f
	if o.rel.archive {
		o.w = newTarWriter(f)
	} else {
		o.w = gitlabndjson.NewWriter(f)
	}
	return nil
}

func (o *output) emit(record any) error {
	if o.w == nil {
		name := o.rel.file()
		if o.batched {
			n := len(o.st.Batches) + 1
			name = o.rel.batchFile(n)
			o.st.Batches = append(o.st.Batches, BatchStatus{Number: n, Status: StatusStarted, UpdatedAt: o.s.cfg.Store.Now()})
			o.st.BatchesCount = n
		}
		if err := o.open(name); err != nil {
			return err
		}
	}
	if err := o.w.Write(record); err != nil {
		return err
	}
	o.st.TotalObjectsCount++
	if o.batched && o.w.Count() >= o.s.cfg.BatchSize {
		return o.close()
	}
	return nil
}

// close finishes the open file under its final name.
func (o *output) close() error {
	if o.w == nil {
		return nil
	}
	f, w := o.f, o.w
	o.f, o.w = nil, nil
	name := o.rel.file()
	if o.batched {
		name = o.rel.batchFile(len(o.st.Batches))
	}
	err := w.Close()
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(o.dir, name))
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("write export file: %w", err)
	}
	if o.batched {
		b := &o.st.Batches[len(o.st.Batches)-1]
		b.Status, b.ObjectsCount, b.UpdatedAt = StatusFinished, w.Count(), o.s.cfg.Store.Now()
		o.st.UpdatedAt = b.UpdatedAt
		return o.s.saveStatus(filepath.Dir(o.dir), o.st)
	}
	return nil
}

// finish closes the last file; an unbatched relation with no records still
// gets its (empty) file, as GitLab's does.
func (o *output) finish() error {
	if !o.batched && o.w == nil {
		if err := o.open(o.rel.file()); err != nil {
			return err
		}
	}
	return o.close()
}

// abort drops a file left open by a failure.
func (o *output) abort() {
	if o.f != nil {
		_ = o.f.Close()
		_ = os.Remove(o.f.Name())
		o.f, o.w = nil, nil
	}
}

// saveStatus replaces a relation's status.json atomically.
func (s *Service) saveStatus(dir string, st *RelationStatus) error {
	relDir := filepath.Join(dir, st.Relation)
	if err := os.MkdirAll(relDir, 0o700); err != nil {
		return fmt.Errorf("export status dir: %w", err)
	}
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("export status: %w", err)
	}
	tmp, err := os.CreateTemp(relDir, "status.*.tmp")
	if err != nil {
		return fmt.Errorf("export status: %w", err)
	}
	_, err = tmp.Write(b)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(relDir, "status.json"))
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("export status: %w", err)
	}
	return nil
}

func loadStatus(path string) (*RelationStatus, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var st RelationStatus
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("export status %s: %w", path, err)
	}
	return &st, nil
}

// failInterrupted marks exports a previous process left started as failed.
func (s *Service) failInterrupted() error {
	return filepath.WalkDir(s.cfg.Dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "status.json" {
			return err
		}
		st, err := loadStatus(path)
		if err != nil || st.Status != StatusStarted {
			return err
		}
		st.Status, st.Error, st.UpdatedAt = StatusFailed, "Export interrupted", s.cfg.Store.Now()
		return s.saveStatus(filepath.Dir(filepath.Dir(path)), st)
	})
}

// Status returns the status of every relation of the user's export of p,
// in export order, or of relation alone when it is not "". An export never
// started, or a relation it does not have, is ErrExportNotFound.
func (s *Service) Status(p Portable, userID int64, relation string) ([]*RelationStatus, error) {
	dir := s.exportDir(p, userID)
	var out []*RelationStatus
	for _, r := range relationsOf(p.Kind) {
		if relation != "" && r.name != relation {
			continue
		}
		st, err := loadStatus(filepath.Join(dir, r.name, "status.json"))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	// GitLab answers a relation's status 404 until it is exported, and the
	// list of them (empty at first) with 200: a destination reads that 200
	// as "direct transfer is on".
	if len(out) == 0 && relation != "" {
		return nil, ErrExportNotFound
	}
	return out, nil
}

// File is a finished export file.
type File struct {
	Path string
	Name string // the name to download it as: issues.ndjson.gz, self.json.gz, uploads.tar.gz
}

// Open finds the file of a finished relation export: the whole relation,
// or with batched its batch number batch. Errors are GitLab's: the
// export is missing, batched or not as asked, or the batch or file does
// not exist (yet).
func (s *Service) Open(p Portable, userID int64, relation string, batched bool, batch int) (*File, error) {
	r, ok := relationNamed(p.Kind, relation)
	if !ok {
		return nil, ErrExportNotFound
	}
	sts, err := s.Status(p, userID, relation)
	if err != nil {
		return nil, err
	}
	st := sts[0]
	dir := filepath.Join(s.exportDir(p, userID), relation)
	var path string
	switch {
	case batched && !st.Batched:
		return nil, ErrNotBatched
	case batched:
		i := slices.IndexFunc(st.Batches, func(b BatchStatus) bool { return b.Number == batch })
		if i < 0 {
			return nil, ErrBatchNotFound
		}
		if st.Batches[i].Status != StatusFinished {
			return nil, ErrBatchFileNotFound
		}
		path = filepath.Join(dir, r.batchFile(batch))
	case st.Batched:
		return nil, ErrBatched
	default:
		if st.Status != StatusFinished {
			return nil, ErrExportFileNotFound
		}
		path = filepath.Join(dir, r.file())
	}
	if _, err := os.Stat(path); err != nil {
		if batched {
			return nil, ErrBatchFileNotFound
		}
		return nil, ErrExportFileNotFound
	}
	return &File{Path: path, Name: r.file()}, nil
}
