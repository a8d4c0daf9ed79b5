package paging

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"

	"github.com/ferry-import/ferry/gitstore"
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/sourcehttp"
)

// Per-item relations take this many queued items per page and work on up
// to itemWorkers of them at once: their calls dominate an import's wall
// time and the engine runs one page of a relation at a time.
const (
	DefaultItemBatch   = 32
	DefaultItemWorkers = 16
	// DefaultItemAttempts bounds the tries of one item whose answer could
	// not be used.
	DefaultItemAttempts = 4
)

// ItemsConfig describes a per-item relation.
type ItemsConfig struct {
	// Followups is the queue earlier relations filled (Env.Followups).
	Followups importer.Followups
	// Each does one queued item into its own page.
	Each func(ctx context.Context, b *Builder, key string) error
	// ItemURL names where an item lives, for the failure list.
	ItemURL func(key string) string
	Log     *slog.Logger
	// Batch, Workers and Attempts default to the Default… constants.
	Batch, Workers, Attempts int
	// EachBatch, when set, does a page's items together first (one GraphQL
	// query for many items): one result per key, in order. An item it
	// leaves not Done (a nested list longer than the query reads, a node
	// the query could not resolve, a batch path the source lacks) goes
	// through Each as usual. An error fails the page, as Each's would.
	EachBatch func(ctx context.Context, keys []string) ([]BatchItem, error)
}

// BatchItem is what EachBatch made of one item.
type BatchItem struct {
	B    *Builder
	Done bool
}

// NewItems is a relation doing per-item work queued as followups by
// earlier stages; its cursor is the sequence number of the last item done.
// An item the source refuses (Refused) is listed as a failure and the
// rest go on; an item whose answer was unusable (cut short, not JSON) is
// tried again, since one bad body among a batch's many calls would
// otherwise fail the batch at almost every engine attempt.
func NewItems(name string, cfg ItemsConfig) importer.Relation {
	if cfg.Batch == 0 {
		cfg.Batch = DefaultItemBatch
	}
	if cfg.Workers == 0 {
		cfg.Workers = DefaultItemWorkers
	}
	if cfg.Attempts == 0 {
		cfg.Attempts = DefaultItemAttempts
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &items{name: name, cfg: cfg}
}

type items struct {
	name string
	cfg  ItemsConfig
}

func (l *items) Name() string { return l.name }

// Unusable reports an answer whose body was truncated or is not JSON.
func Unusable(err error) bool {
	var syn *json.SyntaxError
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &syn)
}

func (l *items) each(ctx context.Context, key string) (*Builder, error) {
	var b *Builder
	err := sourcehttp.Retry(ctx, nil, l.cfg.Attempts, Unusable, func() error {
		b = NewBuilder()
		return l.cfg.Each(ctx, b, key)
	})
	return b, err
}

func (l *items) Fetch(ctx context.Context, cursor string) (importer.Page, error) {
	var after int64
	if cursor != "" {
		var err error
		if after, err = strconv.ParseInt(cursor, 10, 64); err != nil {
			return importer.Page{}, &importer.Permanent{Err: fmt.Errorf("%s: bad cursor %q", l.name, cursor)}
		}
	}
	q, err := l.cfg.Followups.Next(ctx, l.name, after, l.cfg.Batch)
	if err != nil {
		return importer.Page{}, fmt.Errorf("%s: read queue after %d: %w", l.name, after, err)
	}
	parts := make([]*Builder, len(q))
	errs := make([]error, len(q))
	if l.cfg.EachBatch != nil && len(q) > 0 {
		keys := make([]string, len(q))
		for i, it := range q {
			keys[i] = it.Key
		}
		done, err := l.cfg.EachBatch(ctx, keys)
		if err != nil {
			return importer.Page{}, fmt.Errorf("%s: batch after %d: %w", l.name, after, err)
		}
		if len(done) != len(q) {
			return importer.Page{}, fmt.Errorf("%s: batch answered %d items of %d", l.name, len(done), len(q))
		}
		for i, d := range done {
			if d.Done {
				parts[i] = d.B
			}
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, l.cfg.Workers)
	var wg sync.WaitGroup
	for i, it := range q {
		if parts[i] != nil {
			continue
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if ctx.Err() != nil {
				errs[i] = ctx.Err()
				return
			}
			b, err := l.each(ctx, it.Key)
			switch {
			case err == nil:
				parts[i] = b
			case Refused(err):
				// One item the source will not give does not stop the rest:
				// it is listed as a failure and the queue goes on.
				l.cfg.Log.WarnContext(ctx, "source item refused; skipped", "relation", l.name, "key", it.Key)
				parts[i] = NewBuilder()
				parts[i].Fail(importer.ItemFailure{SourceURL: l.cfg.ItemURL(it.Key),
					Title: l.name + " " + it.Key, Err: &importer.Permanent{Err: err}})
			default:
				errs[i] = fmt.Errorf("%s %s: %w", l.name, it.Key, err)
				cancel()
			}
		})
	}
	wg.Wait()
	// The first real failure, not the cancellations it caused.
	var canceled error
	for _, err := range errs {
		switch {
		case err == nil:
		case errors.Is(err, context.Canceled) && canceled == nil:
			canceled = err
		case !errors.Is(err, context.Canceled):
			return importer.Page{}, err
		}
	}
	if canceled != nil {
		return importer.Page{}, canceled
	}
	b := NewBuilder()
	for _, p := range parts {
		b.Merge(p)
	}
	next := ""
	if len(q) == l.cfg.Batch {
		next = strconv.FormatInt(q[len(q)-1].Seq, 10)
	}
	p := b.Page(next)
	// A per-item relation's items are the followups it handled, as its
	// total is the followups queued: fetched never passes total, however
	// many objects (or none) an item brings. One whose items declared a
	// total of their own (the LFS objects a clone points at) counts those.
	if p.Total <= 0 {
		p.Items = len(q)
	}
	return p, nil
}

// LFSObjects is the relation that fetches the LFS objects a mirrored
// repository points at, queued with the clone URL (the key) by the
// adapter's repository relation, with the adapter's git credential.
func LFSObjects(name string, env *importer.Env, cred gitstore.Credential) importer.Relation {
	return NewItems(name, ItemsConfig{
		Followups: env.Followups,
		Each: func(ctx context.Context, b *Builder, cloneURL string) error {
			ptrs, err := env.Git.LFSPointers(ctx, env.ProjectID)
			if err != nil {
				return fmt.Errorf("list LFS pointers: %w", err)
			}
			if len(ptrs) > 0 {
				if err := env.Git.FetchLFS(ctx, env.ProjectID, cloneURL, cred, ptrs); err != nil {
					return fmt.Errorf("fetch LFS objects: %w", err)
				}
			}
			b.CountItems(len(ptrs))
			b.Total(int64(len(ptrs))) // progress in objects, not clones
			return nil
		},
		ItemURL: func(key string) string { return key },
		Log:     env.Log,
	})
}
