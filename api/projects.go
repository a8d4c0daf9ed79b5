package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/gitstore"
	"github.com/ferry-import/ferry/store"
)

// FindProject resolves {id} (number or full path) to a project the caller
// may see, with the caller's role; otherwise GitLab's 404.
func (s *Server) FindProject(r *http.Request, tx *store.Tx) (*ferry.Project, ferry.AccessLevel, error) {
	gone := notFound("Project")
	ref := idParam(r)
	var p *ferry.Project
	var err error
	if n, perr := strconv.ParseInt(ref, 10, 64); perr == nil {
		p, err = tx.ProjectByID(r.Context(), n)
	} else {
		p, err = tx.ProjectByPath(r.Context(), ref)
	}
	if ferry.ErrorCode(err) == ferry.ENOTFOUND {
		return nil, 0, gone
	} else if err != nil {
		return nil, 0, err
	}
	ok, err := tx.CanSeeProject(r.Context(), viewer(r), p)
	if err != nil {
		return nil, 0, err
	}
	if !ok {
		return nil, 0, gone
	}
	return p, s.projectRole(r, tx, p), nil
}

// projectRole is the caller's role on a project; admins act as owners.
func (s *Server) projectRole(r *http.Request, tx *store.Tx, p *ferry.Project) ferry.AccessLevel {
	return s.role(r, "project", func(ctx context.Context, userID int64) (ferry.AccessLevel, error) {
		return tx.ProjectAccess(ctx, userID, p.ID)
	})
}

// projectListFilter reads the filters of GET /projects and group projects.
func projectListFilter(r *http.Request, p *params) store.ProjectFilter {
	f := store.ProjectFilter{Viewer: viewer(r)}
	f.Owned, _ = p.optBool("owned")
	f.Membership, _ = p.optBool("membership")
	if l, ok := p.optInt("min_access_level"); ok {
		if !ferry.ValidMemberAccess(ferry.AccessLevel(l)) {
			p.fail("min_access_level", "does not have a valid value")
		}
		f.MinAccessLevel = ferry.AccessLevel(l)
	}
	f.Search, _ = p.search("search")
	if v, ok := p.visibility("visibility"); ok {
		f.Visibility = v
	}
	// similarity and star_count are GitLab's too: ferry scores no search
	// matches and has no stars, so they keep the default order.
	f.OrderBy = p.orderBy("id", "name", "path", "created_at", "updated_at", "last_activity_at", "similarity", "star_count")
	if f.OrderBy == "similarity" || f.OrderBy == "star_count" {
		f.OrderBy = ""
	}
	f.Sort = p.sortDir()
	f.LastActivityAfter, _ = p.dateTime("last_activity_after")
	f.LastActivityBefore, _ = p.dateTime("last_activity_before")
	f.UpdatedAfter, _ = p.dateTime("updated_after")
	f.UpdatedBefore, _ = p.dateTime("updated_before")
	return f
}

func (s *Server) writeProjects(w http.ResponseWriter, r *http.Request, p *params, f store.ProjectFilter) error {
	pg := page(p)
	if err := p.err(); err != nil {
		return err
	}
	var list []*ferry.Project
	var total int
	if err := s.store.Read(r.Context(), func(tx *store.Tx) (err error) { list, total, err = tx.ListProjects(r.Context(), f, pg); return }); err != nil {
		return err
	}
	writePage(s, w, r, pg, total, list, func(pr *ferry.Project) projectEntity { return s.renderProject(r, pr) })
	return nil
}

func (s *Server) listProjects(w http.ResponseWriter, r *http.Request) error {
	p, err := s.params(r)
	if err != nil {
		return err
	}
	f := projectListFilter(r, p)
	// imported (GitLab 14+, GET /projects only): the projects the caller
	// imported, filtered in the query so the paging headers count them.
	f.Imported, _ = p.optBool("imported")
	return s.writeProjects(w, r, p, f)
}

func (s *Server) listGroupProjects(w http.ResponseWriter, r *http.Request) error {
	p, err := s.params(r)
	if err != nil {
		return err
	}
	var g *ferry.Namespace
	if err := s.store.Read(r.Context(), func(tx *store.Tx) (err error) { g, _, err = s.findGroup(r, tx); return }); err != nil {
		return err
	}
	f := projectListFilter(r, p)
	f.NamespaceID = &g.ID
	f.IncludeSubgroups, _ = p.optBool("include_subgroups")
	return s.writeProjects(w, r, p, f)
}

func (s *Server) getProject(w http.ResponseWriter, r *http.Request) error {
	var pr *ferry.Project
	var perms permissions
	err := s.store.Read(r.Context(), func(tx *store.Tx) error {
		var err error
		if pr, _, err = s.FindProject(r, tx); err != nil {
			return err
		}
		u := currentUser(r)
		if u == nil {
			return nil
		}
		if m, err := tx.Member(r.Context(), store.MemberOfProject, pr.ID, u.ID); err == nil {
			perms.ProjectAccess = &accessEntity{AccessLevel: int(m.AccessLevel), NotificationLevel: 3}
		}
		if l, err := tx.NamespaceAccess(r.Context(), u.ID, pr.NamespaceID); err == nil && l > 0 {
			perms.GroupAccess = &accessEntity{AccessLevel: int(l), NotificationLevel: 3}
		}
		return nil
	})
	if err != nil {
		return err
	}
	out := s.renderProject(r, pr)
	// One project: ask the repository itself whether it is empty and what
	// its default branch is (lists keep the stored values: two git calls
	// per project would make them slow).
	if branch, empty, err := s.RepositoryState(r.Context(), pr); err == nil {
		out.EmptyRepo = empty
		if branch != "" {
			out.DefaultBranch = &branch
		}
	}
	if currentUser(r) != nil {
		out.Permissions = &perms
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// CreateProjectIn creates a project in a namespace on behalf of the caller,
// checking the caller may create projects there (Developer or more in a
// group, the owner in a personal namespace) and that the visibility fits.
// POST /projects and the importers share it.
func (s *Server) CreateProjectIn(r *http.Request, tx *store.Tx, ns *ferry.Namespace, pr *ferry.Project, minRole ferry.AccessLevel) error {
	me := currentUser(r)
	if me == nil {
		return errUnauthorized
	}
	if s.namespaceRole(r, tx, ns) < minRole {
		return errForbidden
	}
	if !visibilityFits(pr.Visibility, ns.Visibility) {
		kind := "the group"
		if ns.Kind == ferry.KindUser {
			kind = "the namespace"
		}
		return visibilityError(pr.Visibility, ns.Visibility, kind)
	}
	pr.NamespaceID, pr.CreatorID = ns.ID, me.ID
	return tx.CreateProject(r.Context(), pr)
}

func (s *Server) createProject(w http.ResponseWriter, r *http.Request) error {
	me, err := requireUser(r)
	if err != nil {
		return err
	}
	p, err := s.params(r)
	if err != nil {
		return err
	}
	pr := &ferry.Project{Visibility: ferry.Private}
	pr.Name, _ = p.str("name")
	pr.Path, _ = p.str("path")
	if strings.TrimSpace(pr.Name) == "" && strings.TrimSpace(pr.Path) == "" {
		p.errs = append(p.errs, "name, path are missing, at least one parameter must be provided")
	}
	nsRef, hasNS := p.str("namespace_id")
	if v, ok := p.visibility("visibility"); ok {
		pr.Visibility = v
	}
	pr.Description, _ = p.str("description")
	if v, ok := p.str("default_branch"); ok {
		pr.DefaultBranch = v
	}
	if err := p.err(); err != nil {
		return err
	}
	if pr.Path == "" {
		pr.Path = ferry.PathFromName(pr.Name)
	}
	if pr.Name == "" {
		pr.Name = pr.Path
	}
	if err := ferry.ValidateProject(pr, nil); err != nil {
		return err
	}
	// A new project's repository is empty: any valid branch name may be
	// its default, for the first push to create.
	if pr.DefaultBranch != "" && !ferry.ValidRefName(pr.DefaultBranch) {
		return errDefaultBranchInvalid
	}
	err = s.store.Write(r.Context(), func(tx *store.Tx) error {
		nsID := me.NamespaceID
		var ns *ferry.Namespace
		var err error
		if hasNS && nsRef != "" {
			ns, err = lookupNamespace(r, tx, nsRef)
			if err == nil && ns.Kind == ferry.KindGroup {
				if ok, _ := tx.CanSeeNamespace(r.Context(), viewer(r), ns.ID); !ok {
					err = notFound("Namespace")
				}
			}
		} else {
			ns, err = tx.NamespaceByID(r.Context(), nsID)
		}
		if ferry.ErrorCode(err) == ferry.ENOTFOUND {
			return notFound("Namespace")
		} else if err != nil {
			return err
		}
		return s.CreateProjectIn(r, tx, ns, pr, ferry.DeveloperAccess)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, s.renderProject(r, pr))
	return nil
}

func (s *Server) updateProject(w http.ResponseWriter, r *http.Request) error {
	if _, err := requireUser(r); err != nil {
		return err
	}
	p, err := s.params(r)
	if err != nil {
		return err
	}
	var pr *ferry.Project
	err = s.store.Write(r.Context(), func(tx *store.Tx) error {
		var role ferry.AccessLevel
		if pr, role, err = s.FindProject(r, tx); err != nil {
			return err
		}
		if role < ferry.MaintainerAccess {
			return errForbidden
		}
		old := *pr
		p.renameFields(&pr.Name, &pr.Path, &pr.Description)
		branch, branchGiven := p.str("default_branch")
		vis, visGiven := p.visibility("visibility")
		if err := p.err(); err != nil {
			return err
		}
		if err := ferry.ValidateProject(pr, &old); err != nil {
			return err
		}
		if visGiven {
			if !visibilityFits(vis, pr.Namespace.Visibility) {
				return visibilityError(vis, pr.Namespace.Visibility, "the group")
			}
			pr.Visibility = vis
		}
		var moveHead bool
		if branchGiven {
			if moveHead, err = s.checkDefaultBranch(r.Context(), pr, branch); err != nil {
				return err
			}
			pr.DefaultBranch = branch
		}
		if err := tx.UpdateProject(r.Context(), pr); err != nil {
			return err
		}
		// As GitLab's change_head: HEAD follows, and a failure undoes the
		// update with the transaction.
		if moveHead {
			return s.cfg.Git.SetDefaultBranch(r.Context(), pr.ID, branch)
		}
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.renderProject(r, pr))
	return nil
}

// errDefaultBranchInvalid refuses a default branch that is no valid branch
// name (git check-ref-format --branch) for a repository without branches.
var errDefaultBranchInvalid = ferry.FieldError(ferry.EBADREQUEST, "default_branch", "is invalid")

// checkDefaultBranch checks a new default branch for pr. With branches in
// the repository it must name one of them, as GitLab's Project#change_head
// requires (400 {"message":{"base":["Could not change HEAD: branch 'x' does
// not exist"]}}); moveHead tells whether HEAD must then point at it. An
// empty repository takes any valid branch name, for the first push.
func (s *Server) checkDefaultBranch(ctx context.Context, pr *ferry.Project, branch string) (moveHead bool, err error) {
	var branches []gitstore.Branch
	if s.cfg.Git != nil && s.cfg.Git.Exists(pr.ID) {
		if branches, err = s.cfg.Git.Branches(ctx, pr.ID); err != nil {
			return false, fmt.Errorf("branches of project %d: %w", pr.ID, err)
		}
	}
	if len(branches) == 0 {
		if !ferry.ValidRefName(branch) {
			return false, errDefaultBranchInvalid
		}
		return false, nil
	}
	for _, b := range branches {
		if b.Name == branch {
			return !b.Default, nil
		}
	}
	return false, &ferry.Error{Code: ferry.EBADREQUEST, Message: "default branch does not exist",
		Fields: map[string][]string{"base": {"Could not change HEAD: branch '" + branch + "' does not exist"}}}
}

func (s *Server) deleteProject(w http.ResponseWriter, r *http.Request) error {
	if _, err := requireUser(r); err != nil {
		return err
	}
	err := s.store.Write(r.Context(), func(tx *store.Tx) error {
		pr, role, err := s.FindProject(r, tx)
		if err != nil {
			return err
		}
		if role < ferry.OwnerAccess {
			return errForbidden
		}
		if err := tx.DeleteProject(r.Context(), pr.ID); err != nil {
			return err
		}
		return s.projectsDeleted(r, tx, []int64{pr.ID})
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"message": "202 Accepted"})
	return nil
}

// projectsDeleted hands deleted project ids to the configured hook.
func (s *Server) projectsDeleted(r *http.Request, tx *store.Tx, ids []int64) error {
	if s.cfg.ProjectsDeleted == nil || len(ids) == 0 {
		return nil
	}
	return s.cfg.ProjectsDeleted(r.Context(), tx, ids)
}
