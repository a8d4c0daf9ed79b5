package gitlabexport

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/ferry-import/ferry/store"
)

// The uploads relation is a file relation, as GitLab's
// BulkImports::UploadsExportService writes it: one gzipped tar whose
// entries are <secret>/<filename>, the secret and raw file name of the
// upload's link (/uploads/<secret>/<filename>), each secret's directory
// first. Its records are upload files (uploadFile), in uploads.id order;
// an upload whose bytes ferry does not hold (no Config.Uploads, or the
// file is gone) is logged and left out, as GitLab leaves out a missing
// file, so counts and batches are of the files exported.

// uploadFile is one record of the uploads relation: a file to archive.
type uploadFile struct {
	secret, name string
	size         int64
	body         io.Reader
}

func exportUploads(ctx context.Context, s *Service, p Portable, emit func(any) error) error {
	skipped := 0
	err := pages(ctx, s, func(tx *store.Tx, after int64, limit int) ([]store.Upload, error) {
		return tx.ListUploads(ctx, p.ID, after, limit)
	}, func(u store.Upload) int64 { return u.ID }, func(page []store.Upload) error {
		for _, u := range page {
			if s.cfg.Uploads == nil {
				skipped++
				continue
			}
			if err := emitUpload(s, p, u, emit); err != nil {
				return err
			}
		}
		return nil
	})
	if skipped > 0 {
		s.cfg.Log.Warn("uploads export: no upload store, files left out", slog.Int64("project", p.ID), slog.Int("uploads", skipped))
	}
	return err
}

// emitUpload emits one upload's file, or logs and leaves it out when its
// bytes cannot be read.
func emitUpload(s *Service, p Portable, u store.Upload, emit func(any) error) error {
	skip := func(err error) error {
		s.cfg.Log.Warn("uploads export: file left out", slog.Int64("project", p.ID), slog.Int64("upload", u.ID),
			slog.String("path", u.Path()), slog.Any("error", err))
		return nil
	}
	f, err := s.cfg.Uploads.Open(u.SHA256)
	if err != nil {
		return skip(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return skip(err)
	}
	return emit(uploadFile{secret: u.Secret, name: u.Filename, size: fi.Size(), body: f})
}

// tarWriter writes upload files into a gzipped tar; it is the uploads
// relation's recordWriter.
type tarWriter struct {
	zw *gzip.Writer
	tw *tar.Writer
	// dir is the last secret whose directory was written: ferry gives
	// each upload its own secret, so a set of them would hold one per
	// file of the relation; an upload sharing a secret with the one
	// before it shares its directory.
	dir   string
	count int
}

func newTarWriter(w io.Writer) *tarWriter {
	zw := gzip.NewWriter(w)
	return &tarWriter{zw: zw, tw: tar.NewWriter(zw)}
}

// Write archives an uploadFile: its secret's directory unless the file
// before was under it, then the file.
func (w *tarWriter) Write(record any) error {
	f, ok := record.(uploadFile)
	if !ok {
		return fmt.Errorf("uploads export: record %T is not a file", record)
	}
	if w.count == 0 || f.secret != w.dir {
		if err := w.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: f.secret + "/", Mode: 0o755}); err != nil {
			return fmt.Errorf("archive upload %s/: %w", f.secret, err)
		}
		w.dir = f.secret
	}
	name := f.secret + "/" + f.name
	if err := w.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: f.size}); err != nil {
		return fmt.Errorf("archive upload %s: %w", name, err)
	}
	if _, err := io.CopyN(w.tw, f.body, f.size); err != nil {
		return fmt.Errorf("archive upload %s: %w", name, err)
	}
	w.count++
	return nil
}

// Count is how many files were written.
func (w *tarWriter) Count() int { return w.count }

// Close ends the tar and the gzip stream (the underlying file stays open).
func (w *tarWriter) Close() error {
	if err := w.tw.Close(); err != nil {
		return err
	}
	return w.zw.Close()
}

var _ recordWriter = (*tarWriter)(nil)
