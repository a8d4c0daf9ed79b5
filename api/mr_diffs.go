package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/gitstore"
	"github.com/ferry-import/ferry/store"
)

// Merge request commits, changes, diffs and raw_diffs, and repository
// compare: what
// git says between two commits of the imported repository, in GitLab's
// shapes.
//
// A merge request's head is its stored source SHA, else the imported
// refs/merge-requests/<iid>/head; its base is the stored base SHA, else the
// merge base of the head with the stored target SHA, else with the target
// branch. A merge request whose commits were never imported lists no
// commits and no changes, as GitLab does for a merge request without a
// diff. Diffs are cut as GitLab cuts them with its default limits: past
// 1000 files the rest is left out (overflow, changes_count "1000+"), a patch
// over 200 KiB is too_large with an empty diff (access_raw_diffs=true on
// changes lifts both); collapsed is always false (the API shows expanded
// diffs). Commits and diffs need the repository's read ability
// (canReadCode) besides seeing the merge request.

// diffEntity is GitLab's Entities::Diff, with the flags of the merge
// request diffs endpoint.
type diffEntity struct {
	Diff          string `json:"diff"`
	NewPath       string `json:"new_path"`
	OldPath       string `json:"old_path"`
	AMode         string `json:"a_mode"`
	BMode         string `json:"b_mode"`
	NewFile       bool   `json:"new_file"`
	RenamedFile   bool   `json:"renamed_file"`
	DeletedFile   bool   `json:"deleted_file"`
	GeneratedFile bool   `json:"generated_file"`
	TooLarge      bool   `json:"too_large"`
	Collapsed     bool   `json:"collapsed"`
}

// renderDiff shows one file's change; unidiff adds the ---/+++ header
// lines GitLab adds with unidiff=true.
func renderDiff(d gitstore.DiffFile, unidiff bool) diffEntity {
	text := d.Diff
	if unidiff && text != "" && !d.TooLarge {
		from, to := "a/"+d.OldPath, "b/"+d.NewPath
		if d.NewFile {
			from = "/dev/null"
		}
		if d.DeletedFile {
			to = "/dev/null"
		}
		text = "--- " + from + "\n+++ " + to + "\n" + text
	}
	return diffEntity{Diff: text, NewPath: d.NewPath, OldPath: d.OldPath, AMode: d.AMode, BMode: d.BMode, NewFile: d.NewFile,
		RenamedFile: d.RenamedFile, DeletedFile: d.DeletedFile, TooLarge: d.TooLarge}
}

// fullSHA is a full SHA-1 or SHA-256 object id.
var fullSHA = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)

// mrRange is what a merge request compares.
type mrRange struct {
	mr      *store.MergeRequest
	ref     projectRef
	project *ferry.Project
	// base and head are full shas; head is "" when the merge request's
	// commits are not in the repository.
	base, head string
}

// mergeRequestRange finds {iid} as the merge request routes do and the
// commits it compares.
// pagedMergeRequestRange reads a list's page parameters (and nothing
// else) and the merge request's range.
func (s *Server) pagedMergeRequestRange(r *http.Request) (store.Page, mrRange, error) {
	p, err := s.params(r)
	if err != nil {
		return store.Page{}, mrRange{}, err
	}
	pg := page(p)
	if err := p.err(); err != nil {
		return store.Page{}, mrRange{}, err
	}
	rg, err := s.mergeRequestRange(r)
	return pg, rg, err
}

func (s *Server) mergeRequestRange(r *http.Request) (mrRange, error) {
	var it issuable
	var ref projectRef
	var pr *ferry.Project
	var role ferry.AccessLevel
	if err := s.store.Read(r.Context(), func(tx *store.Tx) (err error) {
		if it, ref, role, err = s.findIssuable(r, tx, mergeRequestsAPI); err != nil {
			return err
		}
		pr, err = tx.ProjectByID(r.Context(), ref.id)
		return err
	}); err != nil {
		return mrRange{}, err
	}
	// Commits and diffs are code: who may see the merge request but not
	// the repository (a Guest of a private project) may not see them.
	if !canReadCode(pr, currentUser(r), role) {
		return mrRange{}, errForbidden
	}
	out := mrRange{mr: it.mr, ref: ref, project: pr}
	if s.cfg.Git == nil || !s.cfg.Git.Exists(ref.id) {
		return out, nil
	}
	ctx, git, mr := r.Context(), s.cfg.Git, it.mr
	// The stored SHAs came from the source: only full hex ids count, so
	// a "sha" such as "main" or "HEAD" never names something else.
	sha := func(x string) string {
		if fullSHA.MatchString(x) {
			return x
		}
		return ""
	}
	resolve := func(refs ...string) string {
		for _, x := range refs {
			if x == "" {
				continue
			}
			if sha, err := git.ResolveCommit(ctx, ref.id, x); err == nil {
				return sha
			}
		}
		return ""
	}
	out.head = resolve(sha(mr.SourceSHA), "refs/merge-requests/"+strconv.FormatInt(mr.IID, 10)+"/head")
	if out.head == "" {
		return out, nil
	}
	out.base = resolve(sha(mr.BaseSHA))
	if out.base == "" {
		for _, target := range []string{sha(mr.TargetSHA), "refs/heads/" + mr.TargetBranch} {
			if t := resolve(target); t != "" {
				if mb, err := git.MergeBase(ctx, ref.id, t, out.head); err == nil {
					out.base = mb
					break
				}
			}
		}
	}
	if out.base == "" {
		// No common history known: the head's first parent, so the merge
		// request shows at least its last commit.
		if c, err := git.Commit(ctx, ref.id, out.head); err == nil && len(c.ParentIDs) > 0 {
			out.base = c.ParentIDs[0]
		}
	}
	return out, nil
}

// mrDiff is the merge request's diff, nil when it has none.
func (s *Server) mrDiff(ctx context.Context, rg mrRange, limits gitstore.DiffLimits) ([]gitstore.DiffFile, bool, error) {
	if rg.head == "" {
		return nil, false, nil
	}
	files, overflow, err := s.cfg.Git.Diff(ctx, rg.ref.id, rg.base, rg.head, limits)
	if err != nil {
		return nil, false, fmt.Errorf("diff of merge request %d: %w", rg.mr.ID, err)
	}
	return files, overflow, nil
}

func (s *Server) listMergeRequestCommits(w http.ResponseWriter, r *http.Request) error {
	pg, rg, err := s.pagedMergeRequestRange(r)
	if err != nil {
		return err
	}
	var list []gitstore.Commit
	total := 0
	if rg.head != "" {
		list, total, err = s.cfg.Git.CommitsBetween(r.Context(), rg.ref.id, rg.base, rg.head, (pg.Page-1)*pg.PerPage, pg.PerPage)
		if err != nil {
			return fmt.Errorf("commits of merge request %d: %w", rg.mr.ID, err)
		}
	}
	writePage(s, w, r, pg, total, list, func(c gitstore.Commit) commitEntity { return s.renderCommit(r, rg.project, c, false) })
	return nil
}

// mergeRequestChanges is GitLab's Entities::MergeRequestChanges.
type mergeRequestChanges struct {
	mergeRequestEntity
	Changes  []diffEntity `json:"changes"`
	Overflow bool         `json:"overflow"`
}

func (s *Server) getMergeRequestChanges(w http.ResponseWriter, r *http.Request) error {
	p, err := s.params(r)
	if err != nil {
		return err
	}
	unidiff, _ := p.optBool("unidiff")
	rawDiffs, _ := p.optBool("access_raw_diffs")
	if err := p.err(); err != nil {
		return err
	}
	rg, err := s.mergeRequestRange(r)
	if err != nil {
		return err
	}
	limits := gitstore.DiffLimits{}
	if rawDiffs {
		// GitLab's raw_diffs(limits: false): no file or patch limit, only
		// ferry's bound on the whole output.
		limits = gitstore.DiffLimits{MaxFiles: 1 << 30, MaxPatchBytes: 1 << 30}
	}
	files, overflow, err := s.mrDiff(r.Context(), rg, limits)
	if err != nil {
		return err
	}
	out := mergeRequestChanges{mergeRequestEntity: s.renderMergeRequest(r, rg.mr, rg.ref, true), Changes: make([]diffEntity, 0, len(files)), Overflow: overflow}
	for _, f := range files {
		out.Changes = append(out.Changes, renderDiff(f, unidiff))
	}
	count := strconv.Itoa(len(files))
	if overflow {
		count += "+"
	}
	if len(files) > 0 {
		out.ChangesCount = &count
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) listMergeRequestDiffs(w http.ResponseWriter, r *http.Request) error {
	p, err := s.params(r)
	if err != nil {
		return err
	}
	pg := page(p)
	unidiff, _ := p.optBool("unidiff")
	if err := p.err(); err != nil {
		return err
	}
	rg, err := s.mergeRequestRange(r)
	if err != nil {
		return err
	}
	files, _, err := s.mrDiff(r.Context(), rg, gitstore.DiffLimits{})
	if err != nil {
		return err
	}
	lo, hi := pageOf(pg, len(files))
	writePage(s, w, r, pg, len(files), files[lo:hi], func(d gitstore.DiffFile) diffEntity { return renderDiff(d, unidiff) })
	return nil
}

// compareEntity is GitLab's Entities::Compare.
type compareEntity struct {
	Commit         *commitEntity  `json:"commit"`
	Commits        []commitEntity `json:"commits"`
	Diffs          []diffEntity   `json:"diffs"`
	CompareTimeout bool           `json:"compare_timeout"`
	CompareSameRef bool           `json:"compare_same_ref"`
	WebURL         string         `json:"web_url"`
}

// maxCompareCommits bounds the commits of a compare (ferry's bound, so a
// compare of unrelated histories stays small); the newest are kept.
const maxCompareCommits = 5000

var errRefNotFound = notFound("Ref")

func (s *Server) compare(w http.ResponseWriter, r *http.Request) error {
	p, err := s.params(r)
	if err != nil {
		return err
	}
	from := p.requireStr("from")
	to := p.requireStr("to")
	straight, _ := p.optBool("straight")
	unidiff, _ := p.optBool("unidiff")
	if fid, ok := p.optInt("from_project_id"); ok && fid <= 0 {
		p.fail("from_project_id", "is invalid")
	}
	if err := p.err(); err != nil {
		return err
	}
	pr, exists, err := s.repoProject(r)
	if err != nil {
		return err
	}
	if fid, ok := p.optInt("from_project_id"); ok && fid != pr.ID {
		// ferry imports no forks: no other project is in this one's fork
		// network.
		return ferry.Errorf(ferry.EBADREQUEST, "Target project id:%d is not a fork of project id:%s", fid, chi.URLParam(r, "id"))
	}
	if !exists {
		return errRefNotFound
	}
	ctx, git := r.Context(), s.cfg.Git
	fromSHA, err := git.ResolveCommit(ctx, pr.ID, from)
	if err != nil {
		return refErr(pr, err)
	}
	toSHA, err := git.ResolveCommit(ctx, pr.ID, to)
	if err != nil {
		return refErr(pr, err)
	}
	base := fromSHA
	if !straight {
		mb, err := git.MergeBase(ctx, pr.ID, fromSHA, toSHA)
		if err != nil && !errors.Is(err, gitstore.ErrNotFound) {
			return fmt.Errorf("compare in project %d: %w", pr.ID, err)
		}
		base = mb // "" without common history: everything of to
	}
	out := compareEntity{Commits: []commitEntity{}, Diffs: []diffEntity{}, CompareSameRef: fromSHA == toSHA,
		WebURL: s.baseURL(r) + "/" + pr.FullPath + "/-/compare/" + from + map[bool]string{true: "..", false: "..."}[straight] + to}
	if fromSHA != toSHA {
		commits, _, err := git.CommitsBetween(ctx, pr.ID, base, toSHA, 0, maxCompareCommits)
		if err != nil {
			return fmt.Errorf("compare in project %d: %w", pr.ID, err)
		}
		// Oldest first, as GitLab lists them; commit is the newest.
		for i := len(commits) - 1; i >= 0; i-- {
			out.Commits = append(out.Commits, s.renderCommit(r, pr, commits[i], false))
		}
		if len(out.Commits) > 0 {
			out.Commit = &out.Commits[len(out.Commits)-1]
		}
		files, _, err := git.Diff(ctx, pr.ID, base, toSHA, gitstore.DiffLimits{})
		if err != nil {
			return fmt.Errorf("compare in project %d: %w", pr.ID, err)
		}
		for _, f := range files {
			out.Diffs = append(out.Diffs, renderDiff(f, unidiff))
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// refErr is GitLab's 404 Ref Not Found for a ref git cannot resolve (or
// refuses to), anything else an internal error.
func refErr(pr *ferry.Project, err error) error {
	if errors.Is(err, gitstore.ErrNotFound) || errors.Is(err, gitstore.ErrInvalid) {
		return errRefNotFound
	}
	return fmt.Errorf("compare in project %d: %w", pr.ID, err)
}

// getMergeRequestRawDiffs streams the merge request's whole diff as git
// prints it (GitLab's raw_diffs), as text/plain; a merge request without
// imported commits has an empty one.
func (s *Server) getMergeRequestRawDiffs(w http.ResponseWriter, r *http.Request) error {
	rg, err := s.mergeRequestRange(r)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if rg.head == "" {
		return nil
	}
	if err := s.cfg.Git.WriteRawDiff(r.Context(), rg.ref.id, rg.base, rg.head, w); err != nil {
		s.log.WarnContext(r.Context(), "raw diff cut short", "merge_request", rg.mr.ID, "error", err)
	}
	return nil
}
