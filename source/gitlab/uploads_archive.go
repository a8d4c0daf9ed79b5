package gitlab

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/source/internal/attach"
	"github.com/ferry-import/ferry/sourcehttp"
	"github.com/ferry-import/ferry/uploads"
)

// Through an export, uploads come in bulk: the source exports the
// project's `uploads` file relation, a gzipped tar of <secret>/<filename>
// entries (GitLab's BulkImports::UploadsExportService), batched like the
// other relations. The attachments relation still goes link by link (the
// links bodies hold are what must be relinked), but the first link of an
// import in a process downloads the archive once, every file of it into
// the upload store, and each link is then answered from it: one or a few
// calls per project where there was one per upload. A link the archive
// lacks (GitLab skips files it cannot read) is downloaded through the
// upload API as before; a source that does not export uploads (older
// versions) is read that way throughout.

// archiveEntry is the tar name of an upload: <secret>/<filename>, with
// tar's optional "./".
var archiveEntry = regexp.MustCompile(`^(?:\./)?([0-9a-f]{32})/([^/]+)$`)

// maxArchiveEntries bounds one archive's index, whatever a source claims.
const maxArchiveEntries = 1_000_000

// archives are the uploads archives of the imports this process reads,
// by import id.
type archives struct {
	mu sync.Mutex
	m  map[int64]*archive
}

func newArchives() *archives { return &archives{m: map[int64]*archive{}} }

// archive is one import's uploads, indexed by secret/filename (on disk:
// uploadIndex); ready once read, unavailable when the source exports none,
// gone once forgotten (its index closed).
type archive struct {
	mu          sync.Mutex
	ready       bool
	unavailable bool
	gone        bool
	files       *uploadIndex
	used        time.Time
	// since is when the archive's export was first polled (this process):
	// an export that never comes falls back to the upload API.
	since time.Time
}

// archived is a file of the archive: stored, or refused with err.
type archived struct {
	f   attach.Stored
	err error
}

// get returns the import's archive, forgetting those idle for spoolIdle.
func (a *archives) get(importID int64) *archive {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := time.Now()
	for id, x := range a.m {
		if x.mu.TryLock() {
			if now.Sub(x.used) > spoolIdle && id != importID {
				delete(a.m, id)
				x.close()
			}
			x.mu.Unlock()
		}
	}
	x := a.m[importID]
	if x == nil {
		x = &archive{}
		a.m[importID] = x
	}
	return x
}

// archivedUpload answers an upload link from the project's exported
// uploads archive, reading the archive the first time; ok false sends the
// link to the upload API.
func (r *run) archivedUpload(ctx context.Context, link string) (attach.Stored, bool, error) {
	u, err := url.Parse(html.UnescapeString(link))
	if err != nil {
		return attach.Stored{}, false, nil
	}
	m := uploadLink.FindStringSubmatch(u.Path)
	if m == nil {
		return attach.Stored{}, false, nil
	}
	x := r.archives.get(r.env.ImportID)
	x.mu.Lock()
	if x.gone { // forgotten while this caller waited: start afresh
		x.mu.Unlock()
		return r.archivedUpload(ctx, link)
	}
	defer x.mu.Unlock()
	x.used = time.Now()
	if !x.ready {
		if x.since.IsZero() {
			x.since = r.polls.now()
		}
		files, err := r.readArchive(ctx, x.since)
		var wait *sourcehttp.WaitError
		switch {
		case err == nil:
			x.files = files
		case errors.As(err, &wait) || ctx.Err() != nil:
			return attach.Stored{}, false, err
		case statusIs(err, http.StatusNotFound) || statusIs(err, http.StatusBadRequest) || isPermanent(err):
			// Not exported (an older source) or failed there: every link
			// goes through the upload API.
			r.log().InfoContext(ctx, "no uploads archive from the source; uploads are downloaded one by one",
				"import_id", r.env.ImportID, "error", err.Error())
			x.unavailable = true
		default:
			return attach.Stored{}, false, err
		}
		x.ready = true
	}
	if x.unavailable {
		return attach.Stored{}, false, nil
	}
	f, ok, err := x.files.get(m[1] + "/" + m[2])
	if err != nil || !ok {
		return attach.Stored{}, false, err
	}
	return f.f, true, f.err
}

// close releases the archive's index; the caller holds its lock.
func (x *archive) close() {
	x.gone = true
	if x.files != nil {
		x.files.close()
		x.files = nil
	}
}

func isPermanent(err error) bool {
	var p *importer.Permanent
	return errors.As(err, &p)
}

// readArchive downloads the project's uploads archive, batch by batch,
// into the upload store, and indexes its files.
func (r *run) readArchive(ctx context.Context, since time.Time) (*uploadIndex, error) {
	if r.env.Uploads == nil {
		return nil, &importer.Permanent{Err: errors.New("ferry has no upload store")}
	}
	// Optional: a source that does not export uploads answers 404 or 400
	// at once, and every link goes through the upload API.
	x := &exported{r: r, name: "uploads", optional: true}
	st, err := x.status(ctx, since)
	var notYet *exportNotReady
	if errors.As(err, &notYet) {
		return nil, &sourcehttp.WaitError{Until: time.Now().Add(exportPollLater)}
	} else if err != nil {
		return nil, err
	}
	var batches []int
	switch {
	case st.Batched:
		for b := 1; b <= st.BatchesCount; b++ {
			batches = append(batches, b)
		}
	default:
		batches = []int{0}
	}
	files, err := newUploadIndex(st.TotalObjectsCount)
	if err != nil {
		return nil, err
	}
	for _, b := range batches {
		if err := r.readArchiveBatch(ctx, x, b, files); err != nil {
			files.close()
			return nil, fmt.Errorf("uploads archive batch %d: %w", b, err)
		}
	}
	return files, nil
}

// readArchiveBatch downloads one batch (0: the whole archive) to a spool
// file and stores its files.
func (r *run) readArchiveBatch(ctx context.Context, x *exported, batch int, files *uploadIndex) error {
	f, err := os.CreateTemp("", "ferry-gitlab-uploads-*.tar.gz")
	if err != nil {
		return fmt.Errorf("spool file: %w", err)
	}
	_ = os.Remove(f.Name()) // gone when closed
	defer f.Close()
	if err := x.download(ctx, batch, f); err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rewind spool file: %w", err)
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		return &importer.Permanent{Err: fmt.Errorf("not a gzip file: %w", err)}
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return &importer.Permanent{Err: fmt.Errorf("damaged tar: %w", err)}
		}
		m := archiveEntry.FindStringSubmatch(h.Name)
		// Only regular files named as GitLab names uploads; directories,
		// links, avatars and anything else are not read.
		if m == nil || (h.Typeflag != tar.TypeReg && h.Typeflag != tar.TypeRegA) || !uploads.ValidFilename(m[2]) {
			continue
		}
		if files.count >= maxArchiveEntries {
			return &importer.Permanent{Err: fmt.Errorf("more than %d files", maxArchiveEntries)}
		}
		key := m[1] + "/" + m[2]
		if h.Size > r.env.Uploads.MaxSize() {
			if err := files.put(key, archived{err: &importer.Permanent{Err: fmt.Errorf("%s: %d bytes: %w", strings.TrimPrefix(h.Name, "./"), h.Size, uploads.ErrTooLarge)}}); err != nil {
				return err
			}
			continue
		}
		stored, err := attach.Store(ctx, r.env.Uploads, tr)
		if err != nil {
			if isPermanent(err) {
				if err := files.put(key, archived{err: err}); err != nil {
					return err
				}
				continue
			}
			return err
		}
		if err := files.put(key, archived{f: stored}); err != nil {
			return err
		}
	}
}
