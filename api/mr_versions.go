package api

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/ferry-import/ferry/gitstore"
)

// Merge request diff versions. ferry keeps no history of a merge request's
// pushes, so each merge request whose commits were imported has exactly
// one version, the diff it shows today, whose id is the merge request's
// id; one without imported commits has none. python-gitlab's mr.diffs
// reads these.

// mergeRequestDiffEntity is GitLab's Entities::MergeRequestDiff, and with
// commits and diffs Entities::MergeRequestDiffFull.
type mergeRequestDiffEntity struct {
	ID             int64          `json:"id"`
	HeadCommitSHA  string         `json:"head_commit_sha"`
	BaseCommitSHA  string         `json:"base_commit_sha"`
	StartCommitSHA string         `json:"start_commit_sha"`
	CreatedAt      Time           `json:"created_at"`
	MergeRequestID int64          `json:"merge_request_id"`
	State          string         `json:"state"`
	RealSize       string         `json:"real_size"`
	PatchIDSHA     *string        `json:"patch_id_sha"`
	Commits        []commitEntity `json:"commits,omitempty"`
	Diffs          []diffEntity   `json:"diffs,omitempty"`
}

// mergeRequestVersion is the one version of rg, with its diff's files.
func (s *Server) mergeRequestVersion(r *http.Request, rg mrRange) (mergeRequestDiffEntity, []gitstore.DiffFile, error) {
	files, overflow, err := s.mrDiff(r.Context(), rg, gitstore.DiffLimits{})
	if err != nil {
		return mergeRequestDiffEntity{}, nil, err
	}
	size := strconv.Itoa(len(files))
	if overflow {
		size += "+"
	}
	start := rg.base
	if t, err := s.cfg.Git.ResolveCommit(r.Context(), rg.ref.id, rg.mr.TargetSHA); fullSHA.MatchString(rg.mr.TargetSHA) && err == nil {
		start = t
	}
	return mergeRequestDiffEntity{ID: rg.mr.ID, HeadCommitSHA: rg.head, BaseCommitSHA: rg.base, StartCommitSHA: start,
		CreatedAt: Time(rg.mr.UpdatedAt), MergeRequestID: rg.mr.ID, State: "collected", RealSize: size}, files, nil
}

func (s *Server) listMergeRequestVersions(w http.ResponseWriter, r *http.Request) error {
	pg, rg, err := s.pagedMergeRequestRange(r)
	if err != nil {
		return err
	}
	var list []mergeRequestDiffEntity
	if rg.head != "" {
		v, _, err := s.mergeRequestVersion(r, rg)
		if err != nil {
			return err
		}
		list = append(list, v)
	}
	lo, hi := pageOf(pg, len(list))
	writePage(s, w, r, pg, len(list), list[lo:hi], func(v mergeRequestDiffEntity) mergeRequestDiffEntity { return v })
	return nil
}

func (s *Server) getMergeRequestVersion(w http.ResponseWriter, r *http.Request) error {
	p, err := s.params(r)
	if err != nil {
		return err
	}
	unidiff, _ := p.optBool("unidiff")
	if err := p.err(); err != nil {
		return err
	}
	rg, err := s.mergeRequestRange(r)
	if err != nil {
		return err
	}
	id, err := parseID(chi.URLParam(r, "version_id"))
	if err != nil || rg.head == "" || id != rg.mr.ID {
		return errNotFound
	}
	v, files, err := s.mergeRequestVersion(r, rg)
	if err != nil {
		return err
	}
	commits, _, err := s.cfg.Git.CommitsBetween(r.Context(), rg.ref.id, rg.base, rg.head, 0, maxCompareCommits)
	if err != nil {
		return fmt.Errorf("commits of merge request %d: %w", rg.mr.ID, err)
	}
	v.Commits, v.Diffs = make([]commitEntity, 0, len(commits)), make([]diffEntity, 0, len(files))
	for _, c := range commits {
		v.Commits = append(v.Commits, s.renderCommit(r, rg.project, c, false))
	}
	for _, f := range files {
		v.Diffs = append(v.Diffs, renderDiff(f, unidiff))
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}
