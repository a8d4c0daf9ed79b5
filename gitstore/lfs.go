package gitstore

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// LFS objects are stored once, content-addressed, and linked to projects
// with empty marker files: linking is how a project is allowed to serve an
// object, and Delete removes a project's links. Objects no project links are
// left for an offline sweep (not implemented).

// ValidOID reports whether oid is a lowercase hex sha256, the only form
// accepted anywhere a path is built from it.
func ValidOID(oid string) bool {
	if len(oid) != 64 {
		return false
	}
	for i := 0; i < len(oid); i++ {
		c := oid[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func (s *Store) objectPath(oid string) string {
	return filepath.Join(s.root, "lfs-objects", oid[0:2], oid[2:4], oid)
}

func (s *Store) linkDir(id int64) string {
	return filepath.Join(s.root, "lfs-links", hashedPath(id))
}

// HasLFSObject reports whether the object is stored (for any project).
func (s *Store) HasLFSObject(oid string) bool {
	if !ValidOID(oid) {
		return false
	}
	fi, err := os.Stat(s.objectPath(oid))
	return err == nil && fi.Mode().IsRegular()
}

// PutLFSObject stores an object read from r. The content must hash to oid
// and be exactly size bytes; it is written to a staging file and renamed into
// place, so a reader never sees a partial object. Storing an object that is
// already there reads nothing and succeeds.
func (s *Store) PutLFSObject(ctx context.Context, oid string, size int64, r io.Reader) error {
	if !ValidOID(oid) || size < 0 {
		return fmt.Errorf("put lfs object %.80q: %w", oid, ErrInvalid)
	}
	if s.HasLFSObject(oid) {
		return nil
	}
	f, err := os.CreateTemp(s.tmpDir(), "lfs-")
	if err != nil {
		return fmt.Errorf("put lfs object %s: %w", oid, err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	h := sha256.New()
	// Read one byte past size to notice a longer body.
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(ctxReader{ctx, r}, size+1))
	if err != nil {
		return fmt.Errorf("put lfs object %s: %w", oid, err)
	}
	if n != size {
		return fmt.Errorf("put lfs object %s: got %d bytes, want %d: %w", oid, n, size, ErrInvalid)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != oid {
		return fmt.Errorf("put lfs object %s: content hashes to %s: %w", oid, got, ErrInvalid)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("put lfs object %s: %w", oid, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("put lfs object %s: %w", oid, err)
	}
	dst := s.objectPath(oid)
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return fmt.Errorf("put lfs object %s: %w", oid, err)
	}
	// Two writers of one oid write identical bytes; either rename wins.
	if err := os.Rename(f.Name(), dst); err != nil {
		return fmt.Errorf("put lfs object %s: %w", oid, err)
	}
	return nil
}

// OpenLFSObject opens a stored object. The caller closes it; Stat gives the
// size.
func (s *Store) OpenLFSObject(oid string) (*os.File, error) {
	if !ValidOID(oid) {
		return nil, fmt.Errorf("open lfs object %.80q: %w", oid, ErrInvalid)
	}
	f, err := os.Open(s.objectPath(oid))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("open lfs object %s: %w", oid, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("open lfs object %s: %w", oid, err)
	}
	return f, nil
}

// LinkLFSObject records that project id uses a stored object.
func (s *Store) LinkLFSObject(ctx context.Context, id int64, oid string) error {
	if !s.HasLFSObject(oid) {
		return fmt.Errorf("link lfs object %d %.80q: %w", id, oid, ErrNotFound)
	}
	unlock, err := s.lock(ctx, id)
	if err != nil {
		return fmt.Errorf("link lfs object %d: %w", id, err)
	}
	defer unlock()
	if err := os.MkdirAll(s.linkDir(id), 0o750); err != nil {
		return fmt.Errorf("link lfs object %d %s: %w", id, oid, err)
	}
	if err := os.WriteFile(filepath.Join(s.linkDir(id), oid), nil, 0o640); err != nil {
		return fmt.Errorf("link lfs object %d %s: %w", id, oid, err)
	}
	return nil
}

// LFSLinked reports whether project id may serve the object.
func (s *Store) LFSLinked(id int64, oid string) bool {
	if !ValidOID(oid) {
		return false
	}
	_, err := os.Stat(filepath.Join(s.linkDir(id), oid))
	return err == nil && s.HasLFSObject(oid)
}

// LFSObjects lists the oids linked to project id, sorted.
func (s *Store) LFSObjects(id int64) ([]string, error) {
	ents, err := os.ReadDir(s.linkDir(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("lfs objects %d: %w", id, err)
	}
	var oids []string
	for _, e := range ents {
		if ValidOID(e.Name()) {
			oids = append(oids, e.Name())
		}
	}
	sort.Strings(oids)
	return oids, nil
}

// LFSPointer is a Git LFS pointer file found in a repository.
type LFSPointer struct {
	OID  string
	Size int64
}

// maxPointerSize: the LFS spec caps pointer files below 1024 bytes.
const maxPointerSize = 1024

// ParseLFSPointer parses the content of an LFS pointer file
// (https://github.com/git-lfs/git-lfs/blob/main/docs/spec.md).
func ParseLFSPointer(b []byte) (LFSPointer, bool) {
	if len(b) >= maxPointerSize || !bytes.HasPrefix(b, []byte("version https://")) {
		return LFSPointer{}, false
	}
	var p LFSPointer
	haveSize := false
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		k, v, ok := strings.Cut(l, " ")
		if !ok {
			return LFSPointer{}, false
		}
		switch k {
		case "version":
			if v != "https://git-lfs.github.com/spec/v1" && v != "https://hawser.github.com/spec/v1" {
				return LFSPointer{}, false
			}
		case "oid":
			h, ok := strings.CutPrefix(v, "sha256:")
			if !ok || !ValidOID(h) {
				return LFSPointer{}, false
			}
			p.OID = h
		case "size":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return LFSPointer{}, false
			}
			p.Size, haveSize = n, true
		}
	}
	return p, p.OID != "" && haveSize
}

// LFSPointers lists the distinct LFS pointers reachable from any ref of
// project id, sorted by oid. It needs no git-lfs: it walks all objects and
// parses the small blobs.
func (s *Store) LFSPointers(ctx context.Context, id int64) ([]LFSPointer, error) {
	dir, err := s.openRepo(id)
	if err != nil {
		return nil, err
	}
	objs, err := s.run(ctx, gitCmd{Dir: dir, Args: []string{"rev-list", "--objects", "--all"}})
	if err != nil {
		return nil, fmt.Errorf("lfs pointers %d: %w", id, err)
	}
	// rev-list prints "<sha> [path]"; cat-file takes the first word.
	var ids bytes.Buffer
	for _, l := range lines(objs) {
		sha, _, _ := strings.Cut(l, " ")
		ids.WriteString(sha + "\n")
	}
	checked, err := s.run(ctx, gitCmd{Dir: dir, Args: []string{"cat-file", "--batch-check=%(objectname) %(objecttype) %(objectsize)"}, Stdin: &ids})
	if err != nil {
		return nil, fmt.Errorf("lfs pointers %d: %w", id, err)
	}
	var small bytes.Buffer
	for _, l := range lines(checked) {
		f := strings.Fields(l)
		if len(f) != 3 || f[1] != "blob" {
			continue
		}
		if n, err := strconv.Atoi(f[2]); err == nil && n < maxPointerSize {
			small.WriteString(f[0] + "\n")
		}
	}
	if small.Len() == 0 {
		return nil, nil
	}
	content, err := s.run(ctx, gitCmd{Dir: dir, Args: []string{"cat-file", "--batch"}, Stdin: &small})
	if err != nil {
		return nil, fmt.Errorf("lfs pointers %d: %w", id, err)
	}
	seen := map[string]LFSPointer{}
	br := bufio.NewReader(bytes.NewReader(content))
	for {
		// "<sha> <type> <size>\n<content>\n"
		hdr, err := br.ReadString('\n')
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("lfs pointers %d: %w", id, err)
		}
		f := strings.Fields(hdr)
		if len(f) != 3 {
			return nil, fmt.Errorf("lfs pointers %d: bad cat-file header %q", id, hdr)
		}
		n, err := strconv.Atoi(f[2])
		if err != nil {
			return nil, fmt.Errorf("lfs pointers %d: bad cat-file header %q", id, hdr)
		}
		body := make([]byte, n+1)
		if _, err := io.ReadFull(br, body); err != nil {
			return nil, fmt.Errorf("lfs pointers %d: %w", id, err)
		}
		if p, ok := ParseLFSPointer(body[:n]); ok {
			seen[p.OID] = p
		}
	}
	ps := make([]LFSPointer, 0, len(seen))
	for _, p := range seen {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].OID < ps[j].OID })
	return ps, nil
}

// ctxReader stops a long copy when the context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
