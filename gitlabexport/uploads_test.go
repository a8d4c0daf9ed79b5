package gitlabexport_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/forge/forgetest"
	"github.com/ferry-import/ferry/gitlabexport"
	"github.com/ferry-import/ferry/gitlabexport/exporttest"
	"github.com/ferry-import/ferry/store"
	"github.com/ferry-import/ferry/store/storetest"
	"github.com/ferry-import/ferry/uploads"
)

// tarEntry is one entry of an uploads tar.
type tarEntry struct {
	typ  byte
	name string
	mode int64
	data []byte
}

// uploadsTar reads a finished uploads file (whole, or batch batch).
func uploadsTar(t *testing.T, svc *gitlabexport.Service, p gitlabexport.Portable, user int64, batched bool, batch int) []tarEntry {
	t.Helper()
	f, err := svc.Open(p, user, "uploads", batched, batch)
	if err != nil {
		t.Fatalf("open uploads batched=%v %d: %v", batched, batch, err)
	}
	if f.Name != "uploads.tar.gz" {
		t.Errorf("uploads downloads as %q", f.Name)
	}
	raw, err := os.ReadFile(f.Path)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var out []tarEntry
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("tar: %v", err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg && h.Size != int64(len(b)) {
			t.Errorf("%s: size %d, %d bytes", h.Name, h.Size, len(b))
		}
		out = append(out, tarEntry{h.Typeflag, h.Name, h.Mode, b})
	}
	if _, err := io.ReadAll(zr); err != nil {
		t.Fatal(err)
	}
	return out
}

// syncBuffer is a log sink safe for the export goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestUploadsExport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		fx := exporttest.Seed(t, s)
		files, err := uploads.New(t.TempDir(), uploads.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { files.Close() })

		// Four uploads in id order; the second's bytes are not held.
		type up struct {
			name, content string
			held          bool
		}
		ups := []up{{"a.png", "first", true}, {"gone.png", "never stored", false}, {"naïve plan 2.pdf", "third", true},
			{"d.txt", "fourth!", true}}
		for _, u := range ups {
			sum := sha256.Sum256([]byte(u.content))
			digest := hex.EncodeToString(sum[:])
			if u.held {
				got, _, err := files.Put(ctx, strings.NewReader(u.content), digest)
				if err != nil || got != digest {
					t.Fatalf("put %s: %s, %v", u.name, got, err)
				}
			}
			url := "https://gh.example/user-attachments/assets/" + u.name
			src := forgetest.Source
			src.ID = url
			if err := s.Write(ctx, func(tx *store.Tx) error {
				_, err := tx.WriteContent(ctx, fx.Project.ID, []forge.Object{forge.Upload{SourceID: src, URL: url, Filename: u.name,
					ContentType: "application/octet-stream", Size: int64(len(u.content)), SHA256: digest}})
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
		var rows []store.Upload
		if err := s.Read(ctx, func(tx *store.Tx) (err error) {
			rows, err = tx.ListUploads(ctx, fx.Project.ID, 0, 10)
			return err
		}); err != nil || len(rows) != len(ups) {
			t.Fatalf("uploads %+v, %v", rows, err)
		}
		// want is the tar of the held uploads k…: each secret's directory,
		// then the file under its raw name.
		want := func(ks ...int) []tarEntry {
			var out []tarEntry
			for _, k := range ks {
				r := rows[k]
				out = append(out, tarEntry{tar.TypeDir, r.Secret + "/", 0o755, []byte{}},
					tarEntry{tar.TypeReg, r.Secret + "/" + ups[k].name, 0o644, []byte(ups[k].content)})
			}
			return out
		}
		same := func(what string, got, want []tarEntry) {
			t.Helper()
			if !slices.EqualFunc(got, want, func(a, b tarEntry) bool {
				return a.typ == b.typ && a.name == b.name && a.mode == b.mode && bytes.Equal(a.data, b.data)
			}) {
				t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
			}
		}

		var logs syncBuffer
		svc, err := gitlabexport.New(gitlabexport.Config{Store: s, Dir: t.TempDir(), BatchSize: 2, PageSize: 3, Uploads: files,
			Log: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { svc.Close() })
		p := gitlabexport.Portable{Kind: gitlabexport.KindProject, ID: fx.Project.ID}
		whole, batched := fx.Maintainer.ID, fx.Owner.ID
		if err := svc.Start(ctx, p, whole, false); err != nil {
			t.Fatal(err)
		}
		if err := svc.Start(ctx, p, batched, true); err != nil {
			t.Fatal(err)
		}
		svc.Wait()

		sts, err := svc.Status(p, whole, "uploads")
		if err != nil {
			t.Fatal(err)
		}
		if st := sts[0]; st.Status != gitlabexport.StatusFinished || st.Batched || st.TotalObjectsCount != 3 {
			t.Errorf("whole status %+v", st)
		}
		same("whole", uploadsTar(t, svc, p, whole, false, 0), want(0, 2, 3))
		if !strings.Contains(logs.String(), "gone.png") {
			t.Errorf("the missing file is not logged: %s", logs.String())
		}

		sts, err = svc.Status(p, batched, "uploads")
		if err != nil {
			t.Fatal(err)
		}
		st := sts[0]
		if st.Status != gitlabexport.StatusFinished || !st.Batched || st.BatchesCount != 2 || st.TotalObjectsCount != 3 || len(st.Batches) != 2 ||
			st.Batches[0].ObjectsCount != 2 || st.Batches[1].ObjectsCount != 1 || st.Batches[1].Status != gitlabexport.StatusFinished {
			t.Errorf("batched status %+v", st)
		}
		same("batch 1", uploadsTar(t, svc, p, batched, true, 1), want(0, 2))
		same("batch 2", uploadsTar(t, svc, p, batched, true, 2), want(3))
		if _, err := svc.Open(p, batched, "uploads", true, 3); err != gitlabexport.ErrBatchNotFound {
			t.Errorf("batch 3: %v", err)
		}
		if _, err := svc.Open(p, batched, "uploads", false, 0); err != gitlabexport.ErrBatched {
			t.Errorf("unbatched open of a batched export: %v", err)
		}
		if _, err := svc.Open(p, whole, "uploads", true, 1); err != gitlabexport.ErrNotBatched {
			t.Errorf("batched open of an unbatched export: %v", err)
		}

		// Without an upload store every file is left out: an empty tar.
		bare := newService(t, s, t.TempDir(), 2)
		if err := bare.Start(ctx, p, whole, false); err != nil {
			t.Fatal(err)
		}
		bare.Wait()
		if sts, err := bare.Status(p, whole, "uploads"); err != nil || sts[0].Status != gitlabexport.StatusFinished || sts[0].TotalObjectsCount != 0 {
			t.Errorf("without an upload store: %+v, %v", sts, err)
		}
		same("without an upload store", uploadsTar(t, bare, p, whole, false, 0), nil)
	})
}
