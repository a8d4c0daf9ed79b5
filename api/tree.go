package api

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/gitstore"
)

// The repository tree, blobs and archives. Trees list trees first, as
// GitLab does (Gitaly's TREES_FIRST), with offset pagination (X-Total…),
// pagination=none (a recursive tree whole) or GitLab's keyset pagination
// (pagination=keyset, a Link rel="next" with a page_token while more
// follow; ferry's tokens are opaque like GitLab's current ones, and an
// object id, the token GitLab first documented, is accepted too). A tree
// whose listing exceeds gitstore.MaxTreeBytes is 413 (ferry's bound).
//
// Archives are streamed from git archive in GitLab's formats: tar.gz (also
// tgz, gz), tar.bz2 (also tbz, tbz2, tb2, bz2; git's tar compressed with
// bzip2 here), tar or zip, with path and exclude_paths. include_lfs_blobs
// (default true) puts the content of the project's LFS objects in place of
// their pointers: git's tar is then rewritten entry by entry into the
// format asked (gitstore.Archive); a pointer to an object the project has
// not got stays a pointer.

var (
	errTreeNotFound = notFound("Tree")
	errBlobNotFound = notFound("Blob")
)

// treeNodeEntity is GitLab's Entities::TreeObject.
type treeNodeEntity struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
	Path string `json:"path"`
	Mode string `json:"mode"`
}

func renderTreeNode(e gitstore.TreeEntry) treeNodeEntity {
	return treeNodeEntity{ID: e.ID, Name: e.Name, Type: e.Type, Path: e.Path, Mode: e.Mode}
}

func (s *Server) listTree(w http.ResponseWriter, r *http.Request) error {
	p, err := s.params(r)
	if err != nil {
		return err
	}
	pg := page(p)
	treePath, _ := p.str("path")
	ref, _ := p.str("ref")
	recursive, _ := p.optBool("recursive")
	pagination, _ := p.enum("pagination", "legacy", "keyset", "none")
	token, _ := p.str("page_token")
	if pagination == "none" && !recursive {
		p.fail("pagination", `cannot be "none" unless "recursive" is true`)
	}
	if err := p.err(); err != nil {
		return err
	}
	treePath = strings.Trim(treePath, "/")
	if treePath != "" && !validFilePath(treePath) {
		return errTreeNotFound
	}
	pr, exists, err := s.repoProject(r)
	if err != nil {
		return err
	}
	if !exists {
		return errTreeNotFound
	}
	entries, err := s.cfg.Git.Tree(r.Context(), pr.ID, ref, treePath, recursive)
	switch {
	case errors.Is(err, gitstore.ErrNotFound) || errors.Is(err, gitstore.ErrInvalid):
		return errTreeNotFound
	case errors.Is(err, gitstore.ErrTooLarge):
		// ferry's bound, not GitLab's: the listing is read whole.
		return ferry.Errorf(ferry.ETOOLARGE, "413 Tree too large: list a path inside it")
	case err != nil:
		return fmt.Errorf("tree of project %d: %w", pr.ID, err)
	}
	if pagination == "none" {
		out := make([]treeNodeEntity, 0, len(entries))
		for _, e := range entries {
			out = append(out, renderTreeNode(e))
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	}
	if pagination != "keyset" {
		lo, hi := pageOf(pg, len(entries))
		writePage(s, w, r, pg, len(entries), entries[lo:hi], renderTreeNode)
		return nil
	}
	lo := 0
	if token != "" {
		lo = -1
		name, byName := tokenFileName(token)
		for i, e := range entries {
			if (byName && e.Path == name) || (!byName && e.ID == token) {
				lo = i + 1
				break
			}
		}
		if lo < 0 {
			return ferry.Errorf(ferry.EBADREQUEST, "400 Bad request - could not find starting OID: %s", token)
		}
	}
	hi := min(lo+pg.PerPage, len(entries))
	if hi < len(entries) && hi > lo {
		q := url.Values{"pagination": {"keyset"}, "per_page": {strconv.Itoa(pg.PerPage)}, "page_token": {pageToken(entries[hi-1])}}
		if treePath != "" {
			q.Set("path", treePath)
		}
		if ref != "" {
			q.Set("ref", ref)
		}
		if recursive {
			q.Set("recursive", "true")
		}
		w.Header().Set("Link", fmt.Sprintf(`<%s%s?%s>; rel="next"`, s.baseURL(r), r.URL.EscapedPath(), q.Encode()))
	}
	out := make([]treeNodeEntity, 0, hi-lo)
	for _, e := range entries[lo:hi] {
		out = append(out, renderTreeNode(e))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// blobEntity is GitLab's answer for GET blobs/:sha.
type blobEntity struct {
	Size     int64  `json:"size"`
	Encoding string `json:"encoding"`
	Content  string `json:"content"`
	SHA      string `json:"sha"`
}

// blobProject checks the caller may read the code and that {sha} is a blob
// of the repository; it returns the blob's full id and size.
func (s *Server) blobProject(r *http.Request) (*ferry.Project, string, int64, error) {
	sha := chi.URLParam(r, "sha")
	pr, exists, err := s.repoProject(r)
	if err != nil {
		return nil, "", 0, err
	}
	if !exists {
		return nil, "", 0, errBlobNotFound
	}
	full, size, err := s.cfg.Git.BlobSize(r.Context(), pr.ID, sha)
	if errors.Is(err, gitstore.ErrNotFound) || errors.Is(err, gitstore.ErrInvalid) {
		return nil, "", 0, errBlobNotFound
	} else if err != nil {
		return nil, "", 0, fmt.Errorf("blob of project %d: %w", pr.ID, err)
	}
	return pr, full, size, nil
}

func (s *Server) getBlob(w http.ResponseWriter, r *http.Request) error {
	pr, full, _, err := s.blobProject(r)
	if err != nil {
		return err
	}
	b, err := s.cfg.Git.ReadBlob(r.Context(), pr.ID, full)
	if errors.Is(err, gitstore.ErrTooLarge) {
		return ferry.Errorf(ferry.ETOOLARGE, "413 Request Entity Too Large")
	} else if err != nil {
		return fmt.Errorf("blob of project %d: %w", pr.ID, err)
	}
	writeJSON(w, http.StatusOK, blobEntity{Size: b.Size, Encoding: "base64", Content: base64.StdEncoding.EncodeToString(b.Content), SHA: b.ID})
	return nil
}

// getRawBlob sends a blob's bytes: text as text/plain, anything else (and
// every blob too large to look at whole) as application/octet-stream.
func (s *Server) getRawBlob(w http.ResponseWriter, r *http.Request) error {
	pr, full, size, err := s.blobProject(r)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.FormatInt(size, 10))
	if size <= 1<<20 {
		b, err := s.cfg.Git.ReadBlob(r.Context(), pr.ID, full)
		if err != nil {
			return fmt.Errorf("raw blob of project %d: %w", pr.ID, err)
		}
		h.Set("Content-Type", rawContentType(b.Content))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(b.Content)
		return nil
	}
	h.Set("Content-Type", "application/octet-stream")
	w.WriteHeader(http.StatusOK)
	if err := s.cfg.Git.WriteBlob(r.Context(), pr.ID, full, w); err != nil {
		// The status is sent; the client sees a short body.
		s.log.WarnContext(r.Context(), "raw blob cut short", "project", pr.ID, "error", err)
	}
	return nil
}

// getArchive streams git archive of sha (default branch) or only of path.
func (s *Server) getArchive(w http.ResponseWriter, r *http.Request) error {
	p, err := s.params(r)
	if err != nil {
		return err
	}
	ref, _ := p.str("sha")
	sub, _ := p.str("path")
	lfsBlobs, set := p.optBool("include_lfs_blobs")
	exclude, _ := p.list("exclude_paths")
	if err := p.err(); err != nil {
		return err
	}
	format := chi.URLParam(r, "format")
	if format == "" {
		format = "tar.gz"
	}
	if !set {
		lfsBlobs = true // GitLab's default
	}
	errArchive := notFound("File")
	ext, ok := gitstore.ArchiveFormats[format]
	if !ok {
		return errArchive
	}
	sub = strings.Trim(sub, "/")
	if sub != "" && !validFilePath(sub) {
		return errArchive
	}
	for i, x := range exclude {
		if exclude[i] = strings.Trim(x, "/"); !validFilePath(exclude[i]) {
			return errArchive
		}
	}
	pr, exists, err := s.repoProject(r)
	if err != nil {
		return err
	}
	if !exists {
		return errArchive
	}
	ctx, git := r.Context(), s.cfg.Git
	if ref == "" {
		if ref, err = git.DefaultBranch(ctx, pr.ID); err != nil || ref == "" {
			return errArchive
		}
	}
	sha, err := git.ResolveCommit(ctx, pr.ID, ref)
	if err != nil {
		return errArchive
	}
	if sub != "" {
		if ok, err := git.PathExists(ctx, pr.ID, sha, sub); err != nil || !ok {
			return errArchive
		}
	}
	// GitLab's archive_prefix: project-ref-sha[-path].
	// The API asks for append_sha, so the sha is there even when ref is it.
	segs := []string{pr.Path, strings.ReplaceAll(ref, "/", "-"), sha}
	if sub != "" {
		segs = append(segs, strings.ReplaceAll(sub, "/", "-"))
	}
	name := strings.Join(segs, "-")
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Transfer-Encoding", "binary")
	// The file is named by the format's canonical extension (tgz is
	// .tar.gz, bz2 .tar.bz2), as GitLab's archive_file_path names it.
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.%s"`, strings.ReplaceAll(name, `"`, ""), ext))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	o := gitstore.ArchiveOptions{Format: format, SubPath: sub, Prefix: name + "/", Exclude: exclude, LFSBlobs: lfsBlobs}
	if err := git.Archive(ctx, pr.ID, sha, o, w); err != nil {
		s.log.WarnContext(ctx, "archive cut short", "project", pr.ID, "error", err)
	}
	return nil
}

// pageToken is the keyset cursor after entry e, as GitLab's (Gitaly's)
// tokens are now: base64 of {"file_name": …}. It names the entry by path,
// which, unlike its object id, is unique in a tree.
func pageToken(e gitstore.TreeEntry) string {
	b, _ := json.Marshal(map[string]string{"file_name": e.Path})
	return base64.StdEncoding.EncodeToString(b)
}

// tokenFileName reads a token of pageToken; ok is false for anything else,
// which is then taken as an object id (the token GitLab documented first).
func tokenFileName(token string) (string, bool) {
	b, err := base64.StdEncoding.DecodeString(token)
	if err != nil {
		return "", false
	}
	var v struct {
		FileName *string `json:"file_name"`
	}
	if json.Unmarshal(b, &v) != nil || v.FileName == nil {
		return "", false
	}
	return *v.FileName, true
}
