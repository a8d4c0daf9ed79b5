package gitstore

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/dsnet/compress/bzip2"
)

// archiveLFS writes the archive of kind (a value of ArchiveFormats) from
// git's tar, with every regular file whose content is an LFS pointer to an
// object of linked (the project's oids) replaced by the object's bytes, as
// GitLab's include_lfs_blobs does. A pointer whose object is not linked or
// not stored stays a pointer. Entries are streamed one by one: a pointer
// (under maxPointerSize) is the only content held, an object is copied
// from its file.
//
// What git writes is kept: tar keeps git's entries and its pax global
// header (the commit id); zip is written as git writes it (modes,
// symlinks, mtimes, and the commit id as the archive comment, taken from
// that header).
func (s *Store) archiveLFS(ctx context.Context, id int64, dir, sha, kind, prefix string, specs, linked []string, w io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := s.run(ctx, gitCmd{Dir: dir, Args: archiveArgs("tar", prefix, sha, specs), Stdout: pw})
		_ = pw.CloseWithError(err) // nil: io.EOF for the reader
		done <- err
	}()
	err := s.rewriteArchive(id, tar.NewReader(pr), kind, linked, w)
	if err == nil {
		// git pads its tar past the end marker: read it out so git ends.
		_, err = io.Copy(io.Discard, pr)
	}
	if err != nil {
		cancel()
		_ = pr.CloseWithError(err)
		<-done
		return fmt.Errorf("archive %d: %w", id, err)
	}
	if err := <-done; err != nil {
		return fmt.Errorf("archive %d: %w", id, err)
	}
	return nil
}

// archiveSink is the output side of rewriteArchive: a tar or a zip writer.
type archiveSink interface {
	// entry writes h (a header of git's tar) with size bytes from r.
	entry(h *tar.Header, size int64, r io.Reader) error
	close() error
}

func (s *Store) rewriteArchive(id int64, tr *tar.Reader, kind string, linked []string, w io.Writer) error {
	var sink archiveSink
	switch kind {
	case "zip":
		sink = &zipSink{zw: zip.NewWriter(w)}
	case "tar":
		sink = &tarSink{tw: tar.NewWriter(w)}
	case "tar.gz":
		gz := gzip.NewWriter(w)
		sink = &tarSink{tw: tar.NewWriter(gz), compressor: gz}
	case "tar.bz2":
		bz, err := bzip2.NewWriter(w, nil)
		if err != nil {
			return err
		}
		sink = &tarSink{tw: tar.NewWriter(bz), compressor: bz}
	default:
		return fmt.Errorf("format %q: %w", kind, ErrInvalid)
	}
	isLinked := make(map[string]bool, len(linked))
	for _, oid := range linked {
		isLinked[oid] = true
	}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read git's tar: %w", err)
		}
		if h.Typeflag != tar.TypeReg || h.Size >= maxPointerSize {
			if err := sink.entry(h, h.Size, tr); err != nil {
				return err
			}
			continue
		}
		small, err := io.ReadAll(tr)
		if err != nil {
			return fmt.Errorf("read git's tar: %w", err)
		}
		obj, size := s.openLinkedObject(small, isLinked)
		if obj == nil {
			if err := sink.entry(h, int64(len(small)), bytes.NewReader(small)); err != nil {
				return err
			}
			continue
		}
		err = sink.entry(h, size, obj)
		obj.Close()
		if err != nil {
			return err
		}
	}
	return sink.close()
}

// openLinkedObject opens the object that content points to when content is
// an LFS pointer to a linked, stored object; else it returns nil.
func (s *Store) openLinkedObject(content []byte, linked map[string]bool) (*os.File, int64) {
	ptr, ok := ParseLFSPointer(content)
	if !ok || !linked[ptr.OID] {
		return nil, 0
	}
	f, err := s.OpenLFSObject(ptr.OID)
	if err != nil {
		return nil, 0
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, 0
	}
	return f, fi.Size()
}

// copyEntry copies exactly size bytes of r to w.
func copyEntry(w io.Writer, r io.Reader, size int64) error {
	n, err := io.Copy(w, io.LimitReader(r, size))
	if err == nil && n != size {
		err = fmt.Errorf("%d of %d bytes: %w", n, size, io.ErrUnexpectedEOF)
	}
	return err
}

// tarSink writes a tar, compressed when compressor is set.
type tarSink struct {
	tw         *tar.Writer
	compressor io.WriteCloser
}

func (t *tarSink) entry(h *tar.Header, size int64, r io.Reader) error {
	hdr := *h
	hdr.Size = size
	// Let the writer choose what can hold the header (an LFS object may
	// not fit ustar's size field).
	hdr.Format = tar.FormatUnknown
	if err := t.tw.WriteHeader(&hdr); err != nil {
		return fmt.Errorf("write tar %q: %w", h.Name, err)
	}
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil
	}
	if err := copyEntry(t.tw, r, size); err != nil {
		return fmt.Errorf("write tar %q: %w", h.Name, err)
	}
	return nil
}

func (t *tarSink) close() error {
	if err := t.tw.Close(); err != nil {
		return err
	}
	if t.compressor != nil {
		return t.compressor.Close()
	}
	return nil
}

// zipSink writes a zip as git archive --format=zip does: directories and
// files stored with DOS attributes, executables and symlinks with unix
// modes, non-empty files deflated, the commit id as the comment.
type zipSink struct {
	zw *zip.Writer
}

// Zip's creator versions for the attributes.
const (
	zipCreatorFAT  = 0
	zipCreatorUnix = 3 << 8
	msdosDir       = 0x10
	unixRegular    = 0o100000
	unixSymlink    = 0o120000
)

func (z *zipSink) entry(h *tar.Header, size int64, r io.Reader) error {
	fh := &zip.FileHeader{Name: h.Name, Modified: h.ModTime, Method: zip.Store}
	switch h.Typeflag {
	case tar.TypeXGlobalHeader:
		if c := h.PAXRecords["comment"]; c != "" {
			return z.zw.SetComment(c)
		}
		return nil
	case tar.TypeDir:
		fh.ExternalAttrs = msdosDir
	case tar.TypeSymlink:
		fh.CreatorVersion = zipCreatorUnix
		fh.ExternalAttrs = (unixSymlink | 0o777) << 16
		r, size = bytes.NewReader([]byte(h.Linkname)), int64(len(h.Linkname))
	case tar.TypeReg:
		if h.Mode&0o100 != 0 {
			fh.CreatorVersion = zipCreatorUnix
			fh.ExternalAttrs = (unixRegular | 0o755) << 16
		}
		if size > 0 {
			fh.Method = zip.Deflate
		}
	default:
		// git archive writes no other kind of entry.
		return fmt.Errorf("zip entry %q of tar type %q: %w", h.Name, h.Typeflag, fs.ErrInvalid)
	}
	out, err := z.zw.CreateHeader(fh)
	if err != nil {
		return fmt.Errorf("write zip %q: %w", h.Name, err)
	}
	if h.Typeflag == tar.TypeDir {
		return nil
	}
	if err := copyEntry(out, r, size); err != nil {
		return fmt.Errorf("write zip %q: %w", h.Name, err)
	}
	return nil
}

func (z *zipSink) close() error { return z.zw.Close() }
