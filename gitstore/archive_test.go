package gitstore

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ferry-import/ferry/gitstore/archivetest"
)

func lfsPointerText(oid string, size int) string {
	return fmt.Sprintf("version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n", oid, size)
}

func oidOf(content string) string {
	h := sha256.Sum256([]byte(content))
	return hex.EncodeToString(h[:])
}

// lfsRepo is project id with an executable, a symlink, an empty file, a
// nested directory, a path too long for ustar and LFS pointers: to an object linked to the
// project, to an object stored but linked to another project, and to an
// object not stored at all. It needs no git-lfs: pointers are files.
type lfsRepo struct {
	sha                       string
	linked, unlinked, missing string // pointer texts
	object                    string // the linked object's content
}

func newLFSRepo(t *testing.T, s *Store, id int64) lfsRepo {
	t.Helper()
	ctx := context.Background()
	if err := s.Create(ctx, id); err != nil {
		t.Fatal(err)
	}
	r := lfsRepo{object: strings.Repeat("large binary content\x00\xff", 4000)}
	other := "another project's object\n"
	for _, c := range []string{r.object, other} {
		if err := s.PutLFSObject(ctx, oidOf(c), int64(len(c)), strings.NewReader(c)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.LinkLFSObject(ctx, id, oidOf(r.object)); err != nil {
		t.Fatal(err)
	}
	if err := s.LinkLFSObject(ctx, id+1000, oidOf(other)); err != nil {
		t.Fatal(err)
	}
	r.linked = lfsPointerText(oidOf(r.object), len(r.object))
	r.unlinked = lfsPointerText(oidOf(other), len(other))
	r.missing = lfsPointerText(oidOf("never stored"), 12)

	work := filepath.Join(t.TempDir(), "work")
	gitWith(t, "", "init", "--quiet", "-b", "main", work)
	files := map[string]string{
		"README.md": "# LFS\n", "run.sh": "#!/bin/sh\n", "empty": "", "deep/er/note.txt": "deep\n",
		// Over ustar's 100 bytes: git writes a pax path record.
		"deep/er/" + strings.Repeat("long-name-", 12) + ".bin": r.linked,
		"assets/big.bin": r.linked, "assets/theirs.bin": r.unlinked, "assets/gone.bin": r.missing,
		"assets/.gitattributes": "*.bin filter=lfs diff=lfs merge=lfs -text\n",
	}
	for name, content := range files {
		p := filepath.Join(work, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("../README.md", filepath.Join(work, "deep", "link")); err != nil {
		t.Fatal(err)
	}
	gitWith(t, work, "add", ".")
	gitWith(t, work, "update-index", "--chmod=+x", "run.sh")
	gitWith(t, work, "commit", "--quiet", "-m", "LFS")
	gitWith(t, work, "push", "--quiet", s.Path(id), "main")
	r.sha = gitWith(t, s.Path(id), "rev-parse", "main")
	return r
}

func archiveBytes(t *testing.T, s *Store, id int64, sha string, o ArchiveOptions) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := s.Archive(context.Background(), id, sha, o, &b); err != nil {
		t.Fatalf("archive %+v: %v", o, err)
	}
	return b.Bytes()
}

// TestArchiveFormats: every name GitLab takes gives an archive that lists
// the same entries, with the same types, modes, times and contents, as
// git's tar.gz, and names the commit.
func TestArchiveFormats(t *testing.T) {
	s := newStore(t)
	r := newLFSRepo(t, s, 1)
	want := archivetest.Decode(t, "tar.gz", archiveBytes(t, s, 1, r.sha, ArchiveOptions{Format: "tar.gz", Prefix: "p/"}))
	if len(want.Entries) != 14 || want.Comment != r.sha || want.Entries["p/assets/big.bin"].Content != r.linked ||
		!want.Entries["p/run.sh"].Exec || want.Entries["p/deep/link"] != (archivetest.Entry{Type: "link", Content: "../README.md", MTime: want.Entries["p/deep/link"].MTime}) {
		t.Fatalf("git's tar.gz: %+v", want)
	}
	for format, kind := range ArchiveFormats {
		for _, lfs := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s lfs=%v", format, lfs), func(t *testing.T) {
				o := ArchiveOptions{Format: format, Prefix: "p/", LFSBlobs: lfs}
				got := archivetest.Decode(t, kind, archiveBytes(t, s, 1, r.sha, o))
				w := want
				if lfs {
					w.Entries = map[string]archivetest.Entry{}
					for k, v := range want.Entries {
						w.Entries[k] = v
					}
					for _, name := range []string{"p/assets/big.bin", "p/deep/er/" + strings.Repeat("long-name-", 12) + ".bin"} {
						e := w.Entries[name]
						e.Content = r.object
						w.Entries[name] = e
					}
				}
				if !reflect.DeepEqual(got, w) {
					t.Errorf("%s: %+v\nwant %+v", format, got, w)
				}
			})
		}
	}
}

// TestArchiveLFSLikeGit: the archive rewritten for LFS objects is, entry
// for entry, what git writes in that format (for zip: what archive/zip
// reads of its modes, times, attributes and comment; git stores what
// deflate would not shrink, this always deflates), but for the objects.
func TestArchiveLFSLikeGit(t *testing.T) {
	s := newStore(t)
	r := newLFSRepo(t, s, 1)
	// A project without LFS objects is archived by git alone, byte for byte.
	_, _, feature := shapedRepo(t, s, 2)
	for _, format := range []string{"tar", "zip", "tar.gz"} {
		o := ArchiveOptions{Format: format, Prefix: "y/"}
		git := archiveBytes(t, s, 2, feature, o)
		o.LFSBlobs = true
		if !bytes.Equal(archiveBytes(t, s, 2, feature, o), git) {
			t.Errorf("%s of a project without LFS objects is not git's", format)
		}
	}
	for _, kind := range []string{"tar", "zip"} {
		git := archiveBytes(t, s, 1, r.sha, ArchiveOptions{Format: kind, Prefix: "x/"})
		ours := archiveBytes(t, s, 1, r.sha, ArchiveOptions{Format: kind, Prefix: "x/", LFSBlobs: true})
		if kind == "tar" {
			gh, oh := tarHeaders(t, git), tarHeaders(t, ours)
			paths := 0
			for _, h := range gh {
				if h.PAXRecords["path"] != "" {
					paths++
				}
			}
			if paths != 1 {
				t.Errorf("git's tar has %d pax path records, want 1 (the long name)", paths)
			}
			if len(gh) != len(oh) {
				t.Fatalf("tar: %d entries, git %d", len(oh), len(gh))
			}
			for i := range gh {
				g, o := gh[i], oh[i]
				if o.Name == "x/assets/big.bin" || strings.HasSuffix(o.Name, "long-name-.bin") {
					if o.Size != int64(len(r.object)) {
						t.Errorf("tar object size %d", o.Size)
					}
					g.Size = o.Size
				}
				if g.Name != o.Name || g.Typeflag != o.Typeflag || g.Mode != o.Mode || g.Linkname != o.Linkname || g.Size != o.Size ||
					!g.ModTime.Equal(o.ModTime) || g.Uname != o.Uname || g.Gname != o.Gname || g.Uid != o.Uid || g.Gid != o.Gid ||
					!reflect.DeepEqual(g.PAXRecords, o.PAXRecords) {
					t.Errorf("tar entry %d: %+v\ngit: %+v", i, o, g)
				}
			}
			continue
		}
		gz, _ := zip.NewReader(bytes.NewReader(git), int64(len(git)))
		oz, err := zip.NewReader(bytes.NewReader(ours), int64(len(ours)))
		if err != nil {
			t.Fatal(err)
		}
		if oz.Comment != gz.Comment || oz.Comment != r.sha || len(oz.File) != len(gz.File) {
			t.Fatalf("zip comment %q entries %d, git %q %d", oz.Comment, len(oz.File), gz.Comment, len(gz.File))
		}
		for i, g := range gz.File {
			o := oz.File[i]
			if o.Name != g.Name || o.Mode() != g.Mode() || !o.Modified.Equal(g.Modified) ||
				o.CreatorVersion>>8 != g.CreatorVersion>>8 || o.ExternalAttrs != g.ExternalAttrs {
				t.Errorf("zip entry %s: mode %v time %v creator %x attrs %x; git %s %v %v %x %x", o.Name, o.Mode(), o.Modified,
					o.CreatorVersion, o.ExternalAttrs, g.Name, g.Mode(), g.Modified, g.CreatorVersion, g.ExternalAttrs)
			}
		}
	}
}

func tarHeaders(t *testing.T, b []byte) []*tar.Header {
	t.Helper()
	var hs []*tar.Header
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return hs
		}
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
	}
}

// TestArchiveLFSPaths: path and exclude_paths apply as without LFS objects.
func TestArchiveLFSPaths(t *testing.T) {
	s := newStore(t)
	r := newLFSRepo(t, s, 1)
	names := func(d archivetest.Archive) []string {
		out := append([]string(nil), d.Order...)
		sort.Strings(out)
		return out
	}
	tests := []struct {
		name string
		o    ArchiveOptions
		want []string
	}{
		{"path", ArchiveOptions{SubPath: "assets"}, []string{"assets/", "assets/.gitattributes", "assets/big.bin", "assets/gone.bin", "assets/theirs.bin"}},
		{"file path", ArchiveOptions{SubPath: "assets/big.bin"}, []string{"assets/", "assets/big.bin"}},
		{"exclude", ArchiveOptions{SubPath: "assets", Exclude: []string{"assets/theirs.bin", "assets/gone.bin", "assets/.gitattributes"}}, []string{"assets/", "assets/big.bin"}},
		{"exclude the object", ArchiveOptions{Exclude: []string{"assets/big.bin", "deep"}}, []string{"README.md", "assets/", "assets/.gitattributes", "assets/gone.bin", "assets/theirs.bin", "empty", "run.sh"}},
	}
	for _, tt := range tests {
		for _, kind := range []string{"tar.bz2", "zip"} {
			t.Run(tt.name+" "+kind, func(t *testing.T) {
				o := tt.o
				o.Format, o.LFSBlobs = kind, true
				got := archivetest.Decode(t, kind, archiveBytes(t, s, 1, r.sha, o))
				if !reflect.DeepEqual(names(got), tt.want) {
					t.Errorf("entries %v, want %v", names(got), tt.want)
				}
				if e, ok := got.Entries["assets/big.bin"]; ok && e.Content != r.object {
					t.Errorf("big.bin is %d bytes, not the object", len(e.Content))
				}
				for name, ptr := range map[string]string{"assets/theirs.bin": r.unlinked, "assets/gone.bin": r.missing} {
					if e, ok := got.Entries[name]; ok && e.Content != ptr {
						t.Errorf("%s: %q, want the pointer", name, e.Content)
					}
				}
			})
		}
	}
	for _, bad := range []ArchiveOptions{{Format: "tar.xz"}, {Format: "zip", SubPath: "../x"}, {Format: "tar", Exclude: []string{"/abs"}}} {
		bad.LFSBlobs = true
		if err := s.Archive(context.Background(), 1, r.sha, bad, io.Discard); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}

// failAfter fails every write after n bytes, as a client that went away.
type failAfter struct{ n int }

var errGone = errors.New("client gone")

func (f *failAfter) Write(p []byte) (int, error) {
	if f.n -= len(p); f.n < 0 {
		return 0, errGone
	}
	return len(p), nil
}

// TestArchiveLFSWriterFails: a writer that fails ends the archive (and git)
// with the error, in every format, without hanging.
func TestArchiveLFSWriterFails(t *testing.T) {
	s := newStore(t)
	r := newLFSRepo(t, s, 1)
	for _, kind := range []string{"tar", "tar.gz", "tar.bz2", "zip"} {
		start := time.Now()
		err := s.Archive(context.Background(), 1, r.sha, ArchiveOptions{Format: kind, LFSBlobs: true}, &failAfter{n: 10})
		if !errors.Is(err, errGone) || time.Since(start) > 10*time.Second {
			t.Errorf("%s: %v after %v", kind, err, time.Since(start))
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Archive(ctx, 1, r.sha, ArchiveOptions{Format: "zip", LFSBlobs: true}, io.Discard); err == nil {
		t.Error("archive with a cancelled context succeeded")
	}
}

// TestArchiveBzip2Tool: the system's bzip2 and tar read the bzip2 formats.
func TestArchiveBzip2Tool(t *testing.T) {
	if _, err := exec.LookPath("tar"); err != nil {
		t.Skip("no tar")
	}
	if _, err := exec.LookPath("bzip2"); err != nil {
		t.Skip("no bzip2")
	}
	s := newStore(t)
	r := newLFSRepo(t, s, 1)
	for _, lfs := range []bool{false, true} {
		f := filepath.Join(t.TempDir(), "a.tar.bz2")
		if err := os.WriteFile(f, archiveBytes(t, s, 1, r.sha, ArchiveOptions{Format: "tbz2", Prefix: "p/", LFSBlobs: lfs}), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("tar", "-xjOf", f, "p/assets/big.bin").CombinedOutput()
		want := r.linked
		if lfs {
			want = r.object
		}
		if err != nil || string(out) != want {
			t.Errorf("tar -xj lfs=%v: %v %.80q", lfs, err, out)
		}
	}
}

// TestArchiveLFSStreams: a large object is copied into the archive, not
// held: what the archive allocates stays far below the object's size.
func TestArchiveLFSStreams(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	if err := s.Create(ctx, 1); err != nil {
		t.Fatal(err)
	}
	const size = 16 << 20
	obj := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	oid := hex.EncodeToString(func() []byte { h := sha256.Sum256(obj); return h[:] }())
	if err := s.PutLFSObject(ctx, oid, size, bytes.NewReader(obj)); err != nil {
		t.Fatal(err)
	}
	if err := s.LinkLFSObject(ctx, 1, oid); err != nil {
		t.Fatal(err)
	}
	obj = nil
	work := filepath.Join(t.TempDir(), "work")
	gitWith(t, "", "init", "--quiet", "-b", "main", work)
	if err := os.WriteFile(filepath.Join(work, "huge.bin"), []byte(lfsPointerText(oid, size)), 0o644); err != nil {
		t.Fatal(err)
	}
	gitWith(t, work, "add", ".")
	gitWith(t, work, "commit", "--quiet", "-m", "huge")
	gitWith(t, work, "push", "--quiet", s.Path(1), "main")
	sha := gitWith(t, s.Path(1), "rev-parse", "main")
	for _, kind := range []string{"tar", "zip"} {
		var n countingWriter
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		if err := s.Archive(ctx, 1, sha, ArchiveOptions{Format: kind, LFSBlobs: true}, &n); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		if kind == "tar" && n < size {
			t.Errorf("%s: %d bytes, less than the object", kind, n)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > size/4 {
			t.Errorf("%s: allocated %d bytes for a %d-byte object", kind, alloc, size)
		}
	}
}

type countingWriter int64

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}
