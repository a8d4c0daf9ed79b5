package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/gitstore/archivetest"
)

// archiveWorld is a project whose repository has LFS pointers: to an
// object linked to it, to an object stored for another project only, and
// to an object never stored. No git-lfs is needed: pointers are files and
// objects are put in the store.
type archiveWorld struct {
	pid                       int64
	sha                       string
	object                    string // the linked object's content
	linked, unlinked, missing string // the pointers
	token                     string
}

func lfsPointerFor(content string) string {
	sum := sha256.Sum256([]byte(content))
	return fmt.Sprintf("version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n", hex.EncodeToString(sum[:]), len(content))
}

func oidFor(content string) string {
	sum := sha256.Sum256([]byte(content))
	return hex.EncodeToString(sum[:])
}

func newArchiveWorld(t *testing.T, in *apptest.Instance) *archiveWorld {
	t.Helper()
	ctx := context.Background()
	root := in.Client(t, in.RootToken)
	p := must(root.Projects.CreateProject(&gitlab.CreateProjectOptions{Path: gitlab.Ptr("lfsapp"),
		Visibility: gitlab.Ptr(gitlab.PrivateVisibility)}))(t)
	other := must(root.Projects.CreateProject(&gitlab.CreateProjectOptions{Path: gitlab.Ptr("other"),
		Visibility: gitlab.Ptr(gitlab.PrivateVisibility)}))(t)
	w := &archiveWorld{pid: p.ID, token: in.RootToken, object: strings.Repeat("lfs object bytes \x00\xff\n", 3000)}
	theirs := "an object of another project\n"
	for _, c := range []string{w.object, theirs} {
		if err := in.App.Git.PutLFSObject(ctx, oidFor(c), int64(len(c)), strings.NewReader(c)); err != nil {
			t.Fatal(err)
		}
	}
	if err := in.App.Git.LinkLFSObject(ctx, p.ID, oidFor(w.object)); err != nil {
		t.Fatal(err)
	}
	if err := in.App.Git.LinkLFSObject(ctx, other.ID, oidFor(theirs)); err != nil {
		t.Fatal(err)
	}
	w.linked, w.unlinked, w.missing = lfsPointerFor(w.object), lfsPointerFor(theirs), lfsPointerFor("never stored")

	if err := in.App.Git.Create(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(t.TempDir(), "work")
	gitOK(t, "", "init", "--quiet", "-b", "main", work)
	for name, content := range map[string]string{
		".gitattributes": "*.bin filter=lfs diff=lfs merge=lfs -text\n", "README.md": "# LFS app\n",
		"data/big.bin": w.linked, "data/theirs.bin": w.unlinked, "data/gone.bin": w.missing, "src/main.go": "package main\n",
	} {
		f := filepath.Join(work, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gitOK(t, work, "add", ".")
	gitOK(t, work, "commit", "--quiet", "-m", "LFS")
	gitOK(t, work, "push", "--quiet", in.App.Git.Path(p.ID), "main")
	w.sha = strings.TrimSpace(gitOK(t, "", "--git-dir="+in.App.Git.Path(p.ID), "rev-parse", "main"))
	return w
}

// archiveFiles reads an archive of kind (tar.gz, tar.bz2, tar, zip) into
// its entries: files by content, directories as "/", links as "-> target".
func archiveFiles(t *testing.T, kind string, b []byte) map[string]string {
	t.Helper()
	files := map[string]string{}
	for name, e := range archivetest.Decode(t, kind, b).Entries {
		switch e.Type {
		case "dir":
			files[name] = "/"
		case "link":
			files[name] = "-> " + e.Content
		default:
			files[name] = e.Content
		}
	}
	return files
}

// TestArchiveFormats: every format name GitLab takes is served, named by
// its canonical extension, and lists what tar.gz lists; include_lfs_blobs
// (default true) puts the linked LFS object in place of its pointer.
func TestArchiveFormats(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{}, func(t *testing.T, in *apptest.Instance) {
		w := newArchiveWorld(t, in)
		prefix := "lfsapp-main-" + w.sha + "/"
		pointers := map[string]string{prefix: "/", prefix + ".gitattributes": "*.bin filter=lfs diff=lfs merge=lfs -text\n",
			prefix + "README.md": "# LFS app\n", prefix + "data/": "/", prefix + "data/big.bin": w.linked,
			prefix + "data/theirs.bin": w.unlinked, prefix + "data/gone.bin": w.missing,
			prefix + "src/": "/", prefix + "src/main.go": "package main\n"}
		blobs := map[string]string{}
		for k, v := range pointers {
			blobs[k] = v
		}
		blobs[prefix+"data/big.bin"] = w.object
		tests := []struct {
			format, ext string
		}{
			{"", "tar.gz"}, {"tar.gz", "tar.gz"}, {"tgz", "tar.gz"}, {"gz", "tar.gz"},
			{"tar.bz2", "tar.bz2"}, {"tbz", "tar.bz2"}, {"tbz2", "tar.bz2"}, {"tb2", "tar.bz2"}, {"bz2", "tar.bz2"},
			{"tar", "tar"}, {"zip", "zip"},
		}
		for _, tt := range tests {
			for _, q := range []struct {
				query string
				want  map[string]string
			}{{"", blobs}, {"&include_lfs_blobs=true", blobs}, {"&include_lfs_blobs=false", pointers}} {
				path := "archive"
				if tt.format != "" {
					path += "." + tt.format
				}
				status, h, body := apiGet(t, in, w.token, fmt.Sprintf("/api/v4/projects/%d/repository/%s?sha=main%s", w.pid, path, q.query))
				if status != 200 {
					t.Errorf("%s%s: %d %s", path, q.query, status, body)
					continue
				}
				if cd := h.Get("Content-Disposition"); cd != `attachment; filename="lfsapp-main-`+w.sha+"."+tt.ext+`"` {
					t.Errorf("%s: Content-Disposition %q", path, cd)
				}
				if got := archiveFiles(t, tt.ext, body); !reflect.DeepEqual(got, q.want) {
					t.Errorf("%s%s: %v\nwant %v", path, q.query, got, q.want)
				}
			}
		}

		// path and exclude_paths apply with LFS objects.
		for _, tt := range []struct {
			query string
			want  map[string]string
		}{
			{"path=data", map[string]string{"": "/", "data/": "/", "data/big.bin": w.object, "data/theirs.bin": w.unlinked, "data/gone.bin": w.missing}},
			{"path=data&exclude_paths=data/theirs.bin,data/gone.bin", map[string]string{"": "/", "data/": "/", "data/big.bin": w.object}},
			{"exclude_paths=data/big.bin,src,.gitattributes", map[string]string{"": "/", "README.md": "# LFS app\n", "data/": "/",
				"data/theirs.bin": w.unlinked, "data/gone.bin": w.missing}},
		} {
			for _, kind := range []string{"tar.bz2", "zip"} {
				status, h, body := apiGet(t, in, w.token, fmt.Sprintf("/api/v4/projects/%d/repository/archive.%s?sha=main&%s", w.pid, kind, tt.query))
				if status != 200 {
					t.Fatalf("%s: %d %s", tt.query, status, body)
				}
				p := strings.TrimSuffix(strings.TrimPrefix(h.Get("Content-Disposition"), `attachment; filename="`), "."+kind+`"`) + "/"
				got := map[string]string{}
				for k, v := range archiveFiles(t, kind, body) {
					got[strings.TrimPrefix(k, p)] = v
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("%s %s: %v\nwant %v", kind, tt.query, got, tt.want)
				}
			}
		}

		status, _, body := apiGet(t, in, w.token, fmt.Sprintf("/api/v4/projects/%d/repository/archive?include_lfs_blobs=maybe", w.pid))
		if status != 400 || !strings.Contains(string(body), "include_lfs_blobs") {
			t.Errorf("include_lfs_blobs=maybe: %d %s", status, body)
		}
	})
}

// TestArchiveBzip2ClientGo: GitLab's Go client downloads and streams the
// bzip2 formats.
func TestArchiveBzip2ClientGo(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{}, func(t *testing.T, in *apptest.Instance) {
		w := newArchiveWorld(t, in)
		c := in.Client(t, w.token)
		b := must(c.Repositories.Archive(w.pid, &gitlab.ArchiveOptions{Format: gitlab.Ptr("tar.bz2"), SHA: gitlab.Ptr("main")}))(t)
		prefix := "lfsapp-main-" + w.sha + "/"
		if got := archiveFiles(t, "tar.bz2", b); got[prefix+"data/big.bin"] != w.object || got[prefix+"src/main.go"] != "package main\n" {
			t.Errorf("tar.bz2 by client-go: %d entries, big.bin %d bytes", len(got), len(got[prefix+"data/big.bin"]))
		}
		var streamed bytes.Buffer
		resp, err := c.Repositories.StreamArchive(w.pid, &streamed, &gitlab.ArchiveOptions{Format: gitlab.Ptr("tbz"), Path: gitlab.Ptr("src")})
		if err != nil {
			t.Fatal(err)
		}
		p := "lfsapp-main-" + w.sha + "-src/"
		if cd := resp.Header.Get("Content-Disposition"); cd != `attachment; filename="`+p[:len(p)-1]+`.tar.bz2"` {
			t.Errorf("Content-Disposition %q", cd)
		}
		if got := archiveFiles(t, "tar.bz2", streamed.Bytes()); !reflect.DeepEqual(got, map[string]string{p: "/", p + "src/": "/", p + "src/main.go": "package main\n"}) {
			t.Errorf("tbz of src by client-go: %v", got)
		}
	})
}
