// Package archivetest reads archives back for tests: tar (plain, gzip or
// bzip2) and zip, with the standard library's readers, so that what
// gitstore's archive writer (or an API serving it) produced is checked by
// code other than its own. It is test support only.
package archivetest

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"io"
	"io/fs"
	"testing"
)

// Entry is one entry of an archive, as a reader sees it.
type Entry struct {
	Type    string // "dir", "file", "link"
	Exec    bool
	Content string // a file's bytes, a link's target
	MTime   int64
}

// Archive is an archive read back: its entries by name, their order, and
// the commit id it names (tar's pax global header, zip's comment).
type Archive struct {
	Entries map[string]Entry
	Order   []string
	Comment string
}

// Decode reads b, an archive of kind ("tar", "tar.gz", "tar.bz2" or
// "zip"). It fails t on an archive it cannot read, and on a tar entry that
// is none of a directory, a regular file, a symlink or the global header.
func Decode(t testing.TB, kind string, b []byte) Archive {
	t.Helper()
	if kind == "zip" {
		return decodeZip(t, b)
	}
	d := Archive{Entries: map[string]Entry{}}
	var r io.Reader = bytes.NewReader(b)
	switch kind {
	case "tar.gz":
		zr, err := gzip.NewReader(r)
		if err != nil {
			t.Fatalf("gzip: %v", err)
		}
		r = zr
	case "tar.bz2":
		r = bzip2.NewReader(r)
	}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return d
		}
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		e := Entry{MTime: h.ModTime.Unix()}
		switch h.Typeflag {
		case tar.TypeXGlobalHeader:
			d.Comment = h.PAXRecords["comment"]
			continue
		case tar.TypeDir:
			e.Type = "dir"
		case tar.TypeSymlink:
			e.Type, e.Content = "link", h.Linkname
		case tar.TypeReg:
			c, err := io.ReadAll(tr)
			if err != nil {
				t.Fatalf("%s %s: %v", kind, h.Name, err)
			}
			e.Type, e.Exec, e.Content = "file", h.Mode&0o100 != 0, string(c)
		default:
			t.Fatalf("%s: entry %s of type %q", kind, h.Name, h.Typeflag)
		}
		d.Entries[h.Name] = e
		d.Order = append(d.Order, h.Name)
	}
}

func decodeZip(t testing.TB, b []byte) Archive {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("zip: %v", err)
	}
	d := Archive{Entries: map[string]Entry{}, Comment: zr.Comment}
	for _, f := range zr.File {
		e := Entry{MTime: f.Modified.Unix()}
		m := f.Mode()
		switch {
		case m.IsDir():
			e.Type = "dir"
		case m&fs.ModeSymlink != 0:
			e.Type = "link"
		default:
			e.Type, e.Exec = "file", m&0o100 != 0
		}
		if e.Type != "dir" {
			rc, err := f.Open()
			if err != nil {
				t.Fatalf("zip %s: %v", f.Name, err)
			}
			c, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatalf("zip %s: %v", f.Name, err)
			}
			e.Content = string(c)
		}
		d.Entries[f.Name] = e
		d.Order = append(d.Order, f.Name)
	}
	return d
}
