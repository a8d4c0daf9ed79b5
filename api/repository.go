package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/gitstore"
	"github.com/ferry-import/ferry/store"
)

// The repository read API: branches, tags, commits and files of a
// project's repository in Config.Git, in GitLab's shapes and with GitLab's
// errors. Reading needs GitLab's download_code ability (canReadCode): a
// Guest of a private project sees the project but gets 403 here.
//
// A project whose repository has not been created on disk (a project made
// through POST /projects that nobody cloned yet) reads as an empty
// repository, as it would on GitLab.
//
// Not served: merged/protected flags of branches (always false), the
// release of a tag (null), commit stats, last_commit_id of files, and the
// path/since/until/all filters of the commit list.

func (s *Server) repositoryRoutes(r chi.Router) {
	const base = "/projects/{id}/repository"
	r.Get(base+"/branches", s.wrap(s.listBranches))
	r.Get(base+"/branches/{branch}", s.wrap(s.getBranch))
	r.Get(base+"/tags", s.wrap(s.listTags))
	r.Get(base+"/tags/{tag_name}", s.wrap(s.getTag))
	r.Get(base+"/commits", s.wrap(s.listCommits))
	r.Get(base+"/commits/{sha}", s.wrap(s.getCommit))
	r.Get(base+"/files/{file_path}/raw", s.wrap(s.getRawFile))
	r.Get(base+"/files/{file_path}", s.wrap(s.getFile))
	r.Head(base+"/files/{file_path}", s.wrap(s.getFile))
	r.Get(base+"/tree", s.wrap(s.listTree))
	r.Get(base+"/compare", s.wrap(s.compare))
	r.Get(base+"/blobs/{sha}", s.wrap(s.getBlob))
	r.Get(base+"/blobs/{sha}/raw", s.wrap(s.getRawBlob))
	r.Get(base+"/archive", s.wrap(s.getArchive))
	r.Get(base+"/archive.{format}", s.wrap(s.getArchive))
}

// GitLab's texts for what is missing in a repository.
var (
	errBranchNotFound = notFound("Branch")
	errTagNotFound    = notFound("Tag")
	errCommitNotFound = notFound("Commit")
	errFileNotFound   = notFound("File")
	errBadFilePath    = ferry.Errorf(ferry.EINVALID, "file_path should be a valid file path")
)

// pathParam is a route parameter that may hold an URL-encoded '/' (branch
// names, file paths). chi matched it on the escaped path when there was one,
// so only then does it need unescaping; decoding twice would let "%252e"
// become "." behind every check.
func pathParam(r *http.Request, name string) (string, bool) {
	v := chi.URLParam(r, name)
	if r.URL.RawPath == "" {
		return v, true
	}
	u, err := url.PathUnescape(v)
	return u, err == nil
}

// repoProject finds the project of {id} and checks the caller may read its
// code. ok is false when it has no repository on disk yet (an empty one).
func (s *Server) repoProject(r *http.Request) (p *ferry.Project, ok bool, err error) {
	var role ferry.AccessLevel
	err = s.store.Read(r.Context(), func(tx *store.Tx) (err error) {
		p, role, err = s.FindProject(r, tx)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	if !canReadCode(p, currentUser(r), role) {
		return nil, false, errForbidden
	}
	return p, s.cfg.Git != nil && s.cfg.Git.Exists(p.ID), nil
}

// commitEntity is GitLab's Entities::Commit.
type commitEntity struct {
	ID               string              `json:"id"`
	ShortID          string              `json:"short_id"`
	CreatedAt        gitTime             `json:"created_at"`
	ParentIDs        []string            `json:"parent_ids"`
	Title            string              `json:"title"`
	Message          string              `json:"message"`
	AuthorName       string              `json:"author_name"`
	AuthorEmail      string              `json:"author_email"`
	AuthoredDate     gitTime             `json:"authored_date"`
	CommitterName    string              `json:"committer_name"`
	CommitterEmail   string              `json:"committer_email"`
	CommittedDate    gitTime             `json:"committed_date"`
	Trailers         map[string]string   `json:"trailers"`
	ExtendedTrailers map[string][]string `json:"extended_trailers"`
	WebURL           string              `json:"web_url"`
}

// commitDetailEntity is GitLab's Entities::CommitDetail (GET commits/:sha).
type commitDetailEntity struct {
	commitEntity
	Status       *string `json:"status"`
	LastPipeline *string `json:"last_pipeline"`
	ProjectID    int64   `json:"project_id"`
}

// gitTime renders a commit date as GitLab does: milliseconds and the
// offset the commit was made in ("2012-09-20T09:06:12.000+03:00").
type gitTime time.Time

// MarshalJSON implements json.Marshaler.
func (t gitTime) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Time(t).Format("2006-01-02T15:04:05.000-07:00"))
}

// renderCommit shows a commit. GitLab parses trailers only when the commit
// list is asked for them (trailers=true); everywhere else both trailer
// fields are empty objects.
func (s *Server) renderCommit(r *http.Request, p *ferry.Project, c gitstore.Commit, withTrailers bool) commitEntity {
	short := c.ID
	if len(short) > 8 {
		short = short[:8]
	}
	parents := c.ParentIDs
	if parents == nil {
		parents = []string{}
	}
	trailers, extended := map[string]string{}, map[string][]string{}
	if withTrailers {
		trailers, extended = parseTrailers(c.Message)
	}
	return commitEntity{ID: c.ID, ShortID: short, CreatedAt: gitTime(c.CommittedDate), ParentIDs: parents, Title: c.Title,
		Message: c.Message, AuthorName: c.AuthorName, AuthorEmail: c.AuthorEmail, AuthoredDate: gitTime(c.AuthoredDate),
		CommitterName: c.CommitterName, CommitterEmail: c.CommitterEmail, CommittedDate: gitTime(c.CommittedDate),
		Trailers: trailers, ExtendedTrailers: extended, WebURL: s.baseURL(r) + "/" + p.FullPath + "/-/commit/" + c.ID}
}

// trailerLine is a "Token: value" line as git-interpret-trailers reads it.
var trailerLine = regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9-]*):\s*(.*)$`)

// parseTrailers reads the trailers of a message: its last paragraph, when
// every line of it is a trailer. trailers keeps the last value of each key,
// extended all of them (GitLab's two fields).
func parseTrailers(msg string) (map[string]string, map[string][]string) {
	trailers, extended := map[string]string{}, map[string][]string{}
	paras := strings.Split(strings.TrimRight(strings.ReplaceAll(msg, "\r\n", "\n"), "\n"), "\n\n")
	if len(paras) < 2 {
		return trailers, extended // the subject alone is never a trailer block
	}
	last := strings.Split(strings.TrimSpace(paras[len(paras)-1]), "\n")
	var keys, values []string
	for _, line := range last {
		m := trailerLine.FindStringSubmatch(line)
		if m == nil {
			return map[string]string{}, map[string][]string{}
		}
		keys, values = append(keys, m[1]), append(values, strings.TrimSpace(m[2]))
	}
	for i, k := range keys {
		trailers[k] = values[i]
		extended[k] = append(extended[k], values[i])
	}
	return trailers, extended
}

// branchEntity is GitLab's Entities::Branch.
type branchEntity struct {
	Name               string       `json:"name"`
	Commit             commitEntity `json:"commit"`
	Merged             bool         `json:"merged"`
	Protected          bool         `json:"protected"`
	DevelopersCanPush  bool         `json:"developers_can_push"`
	DevelopersCanMerge bool         `json:"developers_can_merge"`
	CanPush            bool         `json:"can_push"`
	Default            bool         `json:"default"`
	WebURL             string       `json:"web_url"`
}

func (s *Server) renderBranch(r *http.Request, p *ferry.Project, b gitstore.Branch) branchEntity {
	// can_push is false for everyone: ferry takes no pushes.
	return branchEntity{Name: b.Name, Commit: s.renderCommit(r, p, b.Commit, false), Default: b.Default,
		WebURL: s.baseURL(r) + "/" + p.FullPath + "/-/tree/" + b.Name}
}

// tagEntity is GitLab's Entities::Tag.
type tagEntity struct {
	Name      string       `json:"name"`
	Message   string       `json:"message"`
	Target    string       `json:"target"`
	Commit    commitEntity `json:"commit"`
	Release   *struct{}    `json:"release"`
	Protected bool         `json:"protected"`
	CreatedAt *Time        `json:"created_at"`
}

func (s *Server) renderTag(r *http.Request, p *ferry.Project, t gitstore.Tag) tagEntity {
	return tagEntity{Name: t.Name, Message: t.Message, Target: t.Target, Commit: s.renderCommit(r, p, t.Commit, false)}
}

// nameFilter is GitLab's search parameter of branches and tags: a
// case-insensitive substring, "^prefix" or "suffix$".
func nameFilter(search string) func(string) bool {
	if search == "" {
		return func(string) bool { return true }
	}
	s := strings.ToLower(search)
	prefix := strings.HasPrefix(s, "^")
	suffix := strings.HasSuffix(s, "$") && len(s) > 1
	s = strings.TrimSuffix(strings.TrimPrefix(s, "^"), "$")
	return func(name string) bool {
		n := strings.ToLower(name)
		switch {
		case prefix && suffix:
			return n == s
		case prefix:
			return strings.HasPrefix(n, s)
		case suffix:
			return strings.HasSuffix(n, s)
		}
		return strings.Contains(n, s)
	}
}

// pageOf is the window of pg in a list of n items.
func pageOf(pg store.Page, n int) (lo, hi int) {
	lo = min((pg.Page-1)*pg.PerPage, n)
	return lo, min(lo+pg.PerPage, n)
}

func (s *Server) listBranches(w http.ResponseWriter, r *http.Request) error {
	p, err := s.params(r)
	if err != nil {
		return err
	}
	pg := page(p)
	search, _ := p.search("search")
	match := nameFilter(search)
	if re, ok := p.str("regex"); ok && re != "" {
		rx, err := regexp.Compile(re)
		if err != nil {
			p.fail("regex", "is invalid")
		} else {
			byName := match
			match = func(n string) bool { return byName(n) && rx.MatchString(n) }
		}
	}
	order, _ := p.enum("sort", "name_asc", "updated_asc", "updated_desc")
	if err := p.err(); err != nil {
		return err
	}
	pr, list, err := listRefs(s, r, "branches", s.cfg.Git.Branches, func(b gitstore.Branch) bool { return match(b.Name) })
	if err != nil {
		return err
	}
	switch order {
	case "updated_asc":
		sort.SliceStable(list, func(i, j int) bool { return list[i].Commit.CommittedDate.Before(list[j].Commit.CommittedDate) })
	case "updated_desc":
		sort.SliceStable(list, func(i, j int) bool { return list[i].Commit.CommittedDate.After(list[j].Commit.CommittedDate) })
	}
	lo, hi := pageOf(pg, len(list))
	writePage(s, w, r, pg, len(list), list[lo:hi], func(b gitstore.Branch) branchEntity { return s.renderBranch(r, pr, b) })
	return nil
}

func (s *Server) getBranch(w http.ResponseWriter, r *http.Request) error {
	return getRef(s, w, r, "branch", errBranchNotFound, s.cfg.Git.Branches,
		func(b gitstore.Branch) string { return b.Name },
		func(pr *ferry.Project, b gitstore.Branch) any { return s.renderBranch(r, pr, b) })
}

// getRef answers GET …/branches/:branch and …/tags/:tag_name: the ref named
// by path parameter param among what list returns, or gone.
func getRef[T any](s *Server, w http.ResponseWriter, r *http.Request, param string, gone error,
	list func(ctx context.Context, id int64) ([]T, error), name func(T) string, render func(*ferry.Project, T) any) error {
	want, ok := pathParam(r, param)
	pr, exists, err := s.repoProject(r)
	if err != nil {
		return err
	}
	if !ok || !exists {
		return gone
	}
	refs, err := list(r.Context(), pr.ID)
	if err != nil {
		return fmt.Errorf("%s of project %d: %w", param, pr.ID, err)
	}
	for _, ref := range refs {
		if name(ref) == want {
			writeJSON(w, http.StatusOK, render(pr, ref))
			return nil
		}
	}
	return gone
}

func (s *Server) listTags(w http.ResponseWriter, r *http.Request) error {
	p, err := s.params(r)
	if err != nil {
		return err
	}
	pg := page(p)
	search, _ := p.search("search")
	orderBy := p.orderBy("updated", "name", "version")
	dir := p.sortDir()
	if err := p.err(); err != nil {
		return err
	}
	match := nameFilter(search)
	pr, list, err := listRefs(s, r, "tags", s.cfg.Git.Tags, func(t gitstore.Tag) bool { return match(t.Name) })
	if err != nil {
		return err
	}
	// GitLab's default: most recently updated (by commit date) first.
	less := func(a, b gitstore.Tag) bool { return a.Commit.CommittedDate.Before(b.Commit.CommittedDate) }
	switch orderBy {
	case "name":
		less = func(a, b gitstore.Tag) bool { return a.Name < b.Name }
	case "version":
		less = func(a, b gitstore.Tag) bool { return versionLess(a.Name, b.Name) }
	}
	desc := dir == "desc" || dir == ""
	sort.SliceStable(list, func(i, j int) bool {
		if desc {
			return less(list[j], list[i])
		}
		return less(list[i], list[j])
	})
	lo, hi := pageOf(pg, len(list))
	writePage(s, w, r, pg, len(list), list[lo:hi], func(t gitstore.Tag) tagEntity { return s.renderTag(r, pr, t) })
	return nil
}

// versionLess orders names as versions: runs of digits compare as numbers
// ("v1.10" after "v1.9").
func versionLess(a, b string) bool {
	for a != "" && b != "" {
		ra, _ := utf8.DecodeRuneInString(a)
		rb, _ := utf8.DecodeRuneInString(b)
		if unicode.IsDigit(ra) && unicode.IsDigit(rb) {
			na, restA := digits(a)
			nb, restB := digits(b)
			if na != nb {
				if len(na) != len(nb) {
					return len(na) < len(nb)
				}
				return na < nb
			}
			a, b = restA, restB
			continue
		}
		if ra != rb {
			return ra < rb
		}
		a, b = a[utf8.RuneLen(ra):], b[utf8.RuneLen(rb):]
	}
	return len(a) < len(b)
}

// digits splits a leading run of digits, without leading zeros.
func digits(s string) (string, string) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	n := strings.TrimLeft(s[:i], "0")
	return n, s[i:]
}

func (s *Server) getTag(w http.ResponseWriter, r *http.Request) error {
	return getRef(s, w, r, "tag_name", errTagNotFound, s.cfg.Git.Tags,
		func(t gitstore.Tag) string { return t.Name },
		func(pr *ferry.Project, t gitstore.Tag) any { return s.renderTag(r, pr, t) })
}

func (s *Server) listCommits(w http.ResponseWriter, r *http.Request) error {
	p, err := s.params(r)
	if err != nil {
		return err
	}
	pg := page(p)
	ref, _ := p.str("ref_name")
	filePath, _ := p.str("path")
	withTrailers, _ := p.optBool("trailers")
	if err := p.err(); err != nil {
		return err
	}
	pr, exists, err := s.repoProject(r)
	if err != nil {
		return err
	}
	var list []gitstore.Commit
	total := 0
	if exists {
		// A ref that does not exist lists nothing, as on GitLab.
		total, err = s.cfg.Git.CommitCount(r.Context(), pr.ID, ref, filePath)
		if err == nil {
			list, err = s.cfg.Git.Commits(r.Context(), pr.ID, ref, filePath, pg.Page, pg.PerPage)
		}
		if errors.Is(err, gitstore.ErrNotFound) || errors.Is(err, gitstore.ErrInvalid) {
			list, total, err = nil, 0, nil
		}
		if err != nil {
			return fmt.Errorf("list commits of project %d: %w", pr.ID, err)
		}
	}
	writePage(s, w, r, pg, total, list, func(c gitstore.Commit) commitEntity { return s.renderCommit(r, pr, c, withTrailers) })
	return nil
}

func (s *Server) getCommit(w http.ResponseWriter, r *http.Request) error {
	ref, ok := pathParam(r, "sha")
	pr, exists, err := s.repoProject(r)
	if err != nil {
		return err
	}
	if !ok || !exists {
		return errCommitNotFound
	}
	c, err := s.commitAt(r.Context(), pr, ref)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, commitDetailEntity{commitEntity: s.renderCommit(r, pr, c, false), ProjectID: pr.ID})
	return nil
}

// commitAt resolves a branch, tag or sha; anything git cannot resolve (or
// refuses to, like "HEAD~1" or "-x") is GitLab's 404 Commit Not Found.
func (s *Server) commitAt(ctx context.Context, pr *ferry.Project, ref string) (gitstore.Commit, error) {
	c, err := s.cfg.Git.Commit(ctx, pr.ID, ref)
	if errors.Is(err, gitstore.ErrNotFound) || errors.Is(err, gitstore.ErrInvalid) {
		return gitstore.Commit{}, errCommitNotFound
	} else if err != nil {
		return gitstore.Commit{}, fmt.Errorf("commit of project %d: %w", pr.ID, err)
	}
	return c, nil
}

// validFilePath refuses what GitLab's file_path validator refuses (path
// traversal) and what cannot name a blob: absolute paths, empty, "." or
// ".." segments, NUL and backslashes. gitstore checks again.
func validFilePath(p string) bool {
	if p == "" || strings.HasPrefix(p, "/") || strings.ContainsAny(p, "\x00\\") || path.Clean(p) != p {
		return false
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

// readFile answers the two files endpoints: the blob at file_path in ref
// (the default branch when ref is ""), with GitLab's 400/404 texts.
func (s *Server) readFile(r *http.Request, ref string) (*ferry.Project, gitstore.File, error) {
	fp, ok := pathParam(r, "file_path")
	if !ok || !validFilePath(fp) {
		return nil, gitstore.File{}, errBadFilePath
	}
	pr, exists, err := s.repoProject(r)
	if err != nil {
		return nil, gitstore.File{}, err
	}
	if !exists {
		return nil, gitstore.File{}, errCommitNotFound
	}
	// The commit first, so a missing ref and a missing file get their own
	// messages.
	c, err := s.commitAt(r.Context(), pr, ref)
	if err != nil {
		return nil, gitstore.File{}, err
	}
	f, err := s.cfg.Git.ReadFile(r.Context(), pr.ID, c.ID, fp)
	switch {
	case errors.Is(err, gitstore.ErrNotFound):
		return nil, gitstore.File{}, errFileNotFound
	case errors.Is(err, gitstore.ErrInvalid):
		return nil, gitstore.File{}, errBadFilePath
	case err != nil:
		return nil, gitstore.File{}, fmt.Errorf("read file of project %d: %w", pr.ID, err)
	}
	return pr, f, nil
}

// fileEntity is GitLab's answer for GET files/:file_path.
type fileEntity struct {
	FileName        string `json:"file_name"`
	FilePath        string `json:"file_path"`
	Size            int64  `json:"size"`
	Encoding        string `json:"encoding"`
	ContentSHA256   string `json:"content_sha256"`
	Ref             string `json:"ref"`
	BlobID          string `json:"blob_id"`
	CommitID        string `json:"commit_id"`
	LastCommitID    string `json:"last_commit_id"`
	ExecuteFilemode bool   `json:"execute_filemode"`
	Content         string `json:"content"`
}

// setFileHeaders writes the X-Gitlab-* headers GitLab sends with files.
func setFileHeaders(w http.ResponseWriter, f gitstore.File, ref string) {
	sum := sha256.Sum256(f.Content)
	h := w.Header()
	h.Set("X-Gitlab-Blob-Id", f.BlobID)
	h.Set("X-Gitlab-Commit-Id", f.CommitID)
	h.Set("X-Gitlab-Content-Sha256", hex.EncodeToString(sum[:]))
	h.Set("X-Gitlab-Encoding", "base64")
	h.Set("X-Gitlab-Execute-Filemode", strconv.FormatBool(f.Mode == "100755"))
	h.Set("X-Gitlab-File-Name", path.Base(f.Path))
	h.Set("X-Gitlab-File-Path", f.Path)
	h.Set("X-Gitlab-Ref", ref)
	h.Set("X-Gitlab-Size", strconv.FormatInt(f.Size, 10))
}

func (s *Server) getFile(w http.ResponseWriter, r *http.Request) error {
	p, err := s.params(r)
	if err != nil {
		return err
	}
	ref := p.requireStr("ref")
	if err := p.err(); err != nil {
		return err
	}
	_, f, err := s.readFile(r, ref)
	if err != nil {
		return err
	}
	setFileHeaders(w, f, ref)
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return nil
	}
	sum := sha256.Sum256(f.Content)
	writeJSON(w, http.StatusOK, fileEntity{FileName: path.Base(f.Path), FilePath: f.Path, Size: f.Size, Encoding: "base64",
		ContentSHA256: hex.EncodeToString(sum[:]), Ref: ref, BlobID: f.BlobID, CommitID: f.CommitID,
		ExecuteFilemode: f.Mode == "100755", Content: base64.StdEncoding.EncodeToString(f.Content)})
	return nil
}

// getRawFile sends the blob's bytes. Text goes out as text/plain and
// everything else as application/octet-stream, never as a type a browser
// would render. With lfs=true an LFS pointer is replaced by its object when
// the project has it.
func (s *Server) getRawFile(w http.ResponseWriter, r *http.Request) error {
	p, err := s.params(r)
	if err != nil {
		return err
	}
	ref, _ := p.str("ref")
	lfs, _ := p.optBool("lfs")
	if err := p.err(); err != nil {
		return err
	}
	pr, f, err := s.readFile(r, ref)
	if err != nil {
		return err
	}
	setFileHeaders(w, f, ref)
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	if lfs {
		if ptr, ok := gitstore.ParseLFSPointer(f.Content); ok && s.cfg.Git.LFSLinked(pr.ID, ptr.OID) {
			obj, err := s.cfg.Git.OpenLFSObject(ptr.OID)
			if err != nil {
				return fmt.Errorf("open lfs object of project %d: %w", pr.ID, err)
			}
			defer obj.Close()
			h.Set("Content-Type", "application/octet-stream")
			h.Set("Content-Length", strconv.FormatInt(ptr.Size, 10))
			w.WriteHeader(http.StatusOK)
			_, _ = io.Copy(w, obj)
			return nil
		}
	}
	h.Set("Content-Type", rawContentType(f.Content))
	h.Set("Content-Length", strconv.Itoa(len(f.Content)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(f.Content)
	return nil
}

// rawContentType tells text from binary as git does: a NUL in the first
// 8000 bytes means binary.
func rawContentType(b []byte) string {
	head := b[:min(len(b), 8000)]
	if bytes.IndexByte(head, 0) >= 0 || !utf8.Valid(b) {
		return "application/octet-stream"
	}
	return "text/plain; charset=utf-8"
}

// RepositoryState is what the project entity shows of a repository: its
// default branch (HEAD, when that branch exists; otherwise the stored one)
// and whether it has no commits at all.
func (s *Server) RepositoryState(ctx context.Context, p *ferry.Project) (defaultBranch string, empty bool, err error) {
	if s.cfg.Git == nil || !s.cfg.Git.Exists(p.ID) {
		return p.DefaultBranch, true, nil
	}
	bs, err := s.cfg.Git.Branches(ctx, p.ID)
	if err != nil {
		return "", false, fmt.Errorf("repository state of project %d: %w", p.ID, err)
	}
	if len(bs) == 0 {
		return p.DefaultBranch, true, nil
	}
	for _, b := range bs {
		if b.Default {
			return b.Name, false, nil
		}
	}
	return p.DefaultBranch, false, nil
}

// listRefs loads the project's branches or tags (none for a project
// without a repository) and keeps those keep accepts.
func listRefs[T any](s *Server, r *http.Request, what string, list func(ctx context.Context, id int64) ([]T, error), keep func(T) bool) (*ferry.Project, []T, error) {
	pr, exists, err := s.repoProject(r)
	if err != nil || !exists {
		return pr, nil, err
	}
	all, err := list(r.Context(), pr.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("list %s of project %d: %w", what, pr.ID, err)
	}
	var out []T
	for _, x := range all {
		if keep(x) {
			out = append(out, x)
		}
	}
	return pr, out, nil
}
