package api

import (
	"net/http"
	"os"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/gitlabexport"
	"github.com/ferry-import/ferry/store"
)

// exportRoutes serves direct transfer's source side: a destination GitLab
// (or ferry) starts a relation export, polls its status and downloads each
// relation (lib/api/group_export.rb, project_export.rb).
func (s *Server) exportRoutes(r chi.Router) {
	for _, kind := range []string{"groups", "projects"} {
		base := "/" + kind + "/{id}/export_relations"
		r.Post(base, s.wrap(s.startRelationExport(kind)))
		r.Get(base+"/status", s.wrap(s.relationExportStatus(kind)))
		r.Get(base+"/download", s.wrap(s.downloadRelationExport(kind)))
	}
}

// exportPortable resolves {id} to the group or project to export, for a
// caller allowed to export it: Owner of a group (admin_group), Maintainer
// of a project (admin_project); admins always. Without an export service
// every route is 404, as GitLab's with bulk import disabled.
func (s *Server) exportPortable(r *http.Request, kind string) (gitlabexport.Portable, *ferry.User, error) {
	if s.cfg.Exports == nil {
		return gitlabexport.Portable{}, nil, errNotFound
	}
	u, err := requireUser(r)
	if err != nil {
		return gitlabexport.Portable{}, nil, err
	}
	var p gitlabexport.Portable
	err = s.store.Read(r.Context(), func(tx *store.Tx) error {
		if kind == "groups" {
			g, role, err := s.findGroup(r, tx)
			if err != nil {
				return err
			}
			if role < ferry.OwnerAccess {
				return errForbidden
			}
			p = gitlabexport.Portable{Kind: gitlabexport.KindGroup, ID: g.ID}
			return nil
		}
		pr, role, err := s.FindProject(r, tx)
		if err != nil {
			return err
		}
		if role < ferry.MaintainerAccess {
			return errForbidden
		}
		p = gitlabexport.Portable{Kind: gitlabexport.KindProject, ID: pr.ID}
		return nil
	})
	return p, u, err
}

func (s *Server) startRelationExport(kind string) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, u, err := s.exportPortable(r, kind)
		if err != nil {
			return err
		}
		prm, err := s.params(r)
		if err != nil {
			return err
		}
		batched, _ := prm.optBool("batched")
		if err := prm.err(); err != nil {
			return err
		}
		if err := s.cfg.Exports.Start(r.Context(), p, u.ID, batched); err != nil {
			s.log.ErrorContext(r.Context(), "start relation export", "correlation_id", requestID(r.Context()), "error", err)
			// GitLab: render_api_error!(message: …) — 500 for projects; the
			// group endpoint gives no status, which Grape also renders 500.
			what := "Project"
			if kind == "groups" {
				what = "Group"
			}
			return &httpError{status: http.StatusInternalServerError,
				body: map[string]any{"message": map[string]string{"message": what + " relations export could not be started."}}}
		}
		writeJSON(w, http.StatusAccepted, map[string]string{"message": "202 Accepted"})
		return nil
	}
}

// exportStatusEntity is API::Entities::BulkImports::ExportStatus.
type exportStatusEntity struct {
	Relation          string              `json:"relation"`
	Status            int                 `json:"status"`
	Error             *string             `json:"error"`
	UpdatedAt         Time                `json:"updated_at"`
	Batched           bool                `json:"batched"`
	BatchesCount      int                 `json:"batches_count"`
	TotalObjectsCount int                 `json:"total_objects_count"`
	Batches           []exportBatchEntity `json:"batches,omitempty"`
}

// exportBatchEntity is API::Entities::BulkImports::ExportBatchStatus.
type exportBatchEntity struct {
	Status       int     `json:"status"`
	BatchNumber  int     `json:"batch_number"`
	ObjectsCount int     `json:"objects_count"`
	Error        *string `json:"error"`
	UpdatedAt    Time    `json:"updated_at"`
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func renderExportStatus(st *gitlabexport.RelationStatus) exportStatusEntity {
	e := exportStatusEntity{Relation: st.Relation, Status: st.Status, Error: optString(st.Error), UpdatedAt: Time(st.UpdatedAt),
		Batched: st.Batched, BatchesCount: st.BatchesCount, TotalObjectsCount: st.TotalObjectsCount}
	if st.Batched {
		e.Batches = []exportBatchEntity{}
		for _, b := range st.Batches {
			e.Batches = append(e.Batches, exportBatchEntity{Status: b.Status, BatchNumber: b.Number, ObjectsCount: b.ObjectsCount,
				Error: optString(b.Error), UpdatedAt: Time(b.UpdatedAt)})
		}
	}
	return e
}

func portableKind(kind string) string {
	if kind == "groups" {
		return gitlabexport.KindGroup
	}
	return gitlabexport.KindProject
}

func (s *Server) relationExportStatus(kind string) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, u, err := s.exportPortable(r, kind)
		if err != nil {
			return err
		}
		prm, err := s.params(r)
		if err != nil {
			return err
		}
		relation, _ := prm.str("relation")
		if err := prm.err(); err != nil {
			return err
		}
		sts, err := s.cfg.Exports.Status(p, u.ID, relation)
		if err != nil {
			return err
		}
		if relation != "" {
			writeJSON(w, http.StatusOK, renderExportStatus(sts[0]))
			return nil
		}
		out := make([]exportStatusEntity, 0, len(sts))
		for _, st := range sts {
			out = append(out, renderExportStatus(st))
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	}
}

func (s *Server) downloadRelationExport(kind string) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, u, err := s.exportPortable(r, kind)
		if err != nil {
			return err
		}
		prm, err := s.params(r)
		if err != nil {
			return err
		}
		relation := prm.requireStr("relation")
		if relation != "" && !gitlabexport.ValidRelation(portableKind(kind), relation) {
			prm.fail("relation", "does not have a valid value")
		}
		if prm.has("batched") != prm.has("batch_number") {
			prm.fail("batched, batch_number", "provide all or none of parameters")
		}
		batched, _ := prm.optBool("batched")
		batch, _ := prm.optInt("batch_number")
		if err := prm.err(); err != nil {
			return err
		}
		f, err := s.cfg.Exports.Open(p, u.ID, relation, batched, int(batch))
		if err != nil {
			return err
		}
		file, err := os.Open(f.Path)
		if os.IsNotExist(err) {
			return gitlabexport.ErrExportFileNotFound
		} else if err != nil {
			return err
		}
		defer file.Close()
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", `attachment; filename="`+f.Name+`"; filename*=UTF-8''`+f.Name)
		// ServeContent sets Content-Length (the importer requires it) and
		// answers HEAD, which the importer sends first, without a body.
		http.ServeContent(w, r, f.Name, time.Time{}, file)
		return nil
	}
}
