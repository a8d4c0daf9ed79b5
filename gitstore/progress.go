package gitstore

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strconv"
)

// Progress is how far a transfer from a source has come: git's "Receiving
// objects" (objects received out of the total the source announced),
// then "Resolving deltas". Done never exceeds Total.
type Progress struct {
	Phase       string // "Receiving objects", "Resolving deltas"
	Done, Total int64
}

// RefCounts is how many refs a source advertised for a mirror, by the
// destination prefix its refspec maps them under ("refs/heads/",
// "refs/tags/", "refs/merge-requests/").
type RefCounts map[string]int64

// Observer watches the transfers made under a context (WithObserver).
// Either function may be nil.
type Observer struct {
	// Progress receives git's progress meters, from the goroutine reading
	// git's output, one call at a time.
	Progress func(Progress)
	// Advertised receives, after each successful mirror of a repository
	// (not of a wiki), the refs the source declared it holds.
	Advertised func(RefCounts)
}

type observerKey struct{}

// WithObserver returns a context under which every fetch from a source
// (Mirror, FetchCommits) reports to o, as net/http/httptrace carries a
// trace: the caller that watches (the engine, for the relation it runs)
// need not thread it through every source adapter.
func WithObserver(ctx context.Context, o Observer) context.Context {
	return context.WithValue(ctx, observerKey{}, o)
}

// ReportProgress hands p to the context's observer, if any. Exported for
// code that moves repository data without git's help and for tests
// standing in for a transfer.
func ReportProgress(ctx context.Context, p Progress) {
	if fn := progressOf(ctx); fn != nil {
		fn(p)
	}
}

func observerOf(ctx context.Context) Observer {
	o, _ := ctx.Value(observerKey{}).(Observer)
	return o
}

func progressOf(ctx context.Context) func(Progress) { return observerOf(ctx).Progress }

// progressLine is one of git's progress meters: "Receiving objects:  45%
// (450/1000), 1.20 MiB | 2.00 MiB/s", possibly relayed from the remote
// ("remote: Counting objects: …").
var progressLine = regexp.MustCompile(`^(remote: )?([A-Za-z ]+): +\d+% \((\d+)/(\d+)\)`)

// progressWriter reads git's stderr under --progress: the meters of the
// local side become Progress reports, the remote's are dropped, and every
// other line goes on to next (the stderr kept for errors), so --progress
// adds nothing to an error message. Meters are redrawn with '\r'; lines
// end with '\n'.
type progressWriter struct {
	next    io.Writer
	report  func(Progress)
	partial []byte
}

// maxProgressLine bounds a line held while waiting for its end: a hostile
// remote must not make git's stderr a memory sink.
const maxProgressLine = 4 << 10

func (w *progressWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexAny(p, "\r\n")
		if i < 0 {
			if len(w.partial)+len(p) > maxProgressLine {
				// Not a meter: pass it on as it comes.
				if err := w.flush(); err != nil {
					return n, err
				}
				if _, err := w.next.Write(p); err != nil {
					return n, err
				}
				return n, nil
			}
			w.partial = append(w.partial, p...)
			return n, nil
		}
		line := append(w.partial, p[:i]...)
		end := p[i]
		w.partial = w.partial[:0]
		p = p[i+1:]
		if m := progressLine.FindSubmatch(line); m != nil {
			if len(m[1]) == 0 {
				done, _ := strconv.ParseInt(string(m[3]), 10, 64)
				total, _ := strconv.ParseInt(string(m[4]), 10, 64)
				if total > 0 && done <= total {
					w.report(Progress{Phase: string(m[2]), Done: done, Total: total})
				}
			}
			continue
		}
		if len(line) == 0 && end == '\r' {
			continue
		}
		if _, err := w.next.Write(append(line, '\n')); err != nil {
			return n, err
		}
	}
	return n, nil
}

// flush passes on what is held of an unfinished line.
func (w *progressWriter) flush() error {
	if len(w.partial) == 0 {
		return nil
	}
	_, err := w.next.Write(w.partial)
	w.partial = w.partial[:0]
	return err
}

// quietOrProgress is the flag a fetch runs with: --progress, its meters
// going to the context's progress function, when the caller asked for
// progress (WithObserver), else --quiet. A pack of fewer than
// fetch.unpackLimit objects is unpacked without a meter, so the limit is
// lowered to have every pack indexed, with its "Receiving objects" meter.
func quietOrProgress(ctx context.Context, c *gitCmd) string {
	if fn := progressOf(ctx); fn != nil {
		if c.Progress == nil {
			c.Config = append(c.Config, kv{"fetch.unpackLimit", "1"})
		}
		c.Progress = fn
		return "--progress"
	}
	return "--quiet"
}
