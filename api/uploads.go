package api

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/store"
	"github.com/ferry-import/ferry/uploads"
)

// Project uploads are served where GitLab serves them,
// GET /<full_path>/uploads/<secret>/<filename>, which is what the relative
// links /uploads/<secret>/<filename> in imported bodies resolve to on a
// project's pages. Access is the project's: anyone for a public project,
// a token whose user can see the project otherwise; everyone else gets 404,
// so nobody learns which private projects or uploads exist.

// uploadPath captures full path, secret and file name. The full path is
// greedy, so a group named "uploads" does not confuse it.
var uploadPath = regexp.MustCompile(`^/(.+)/uploads/([0-9a-f]{32})/([^/]+)$`)

// apiUploadPath is GitLab's (17.4+) GET /projects/:id/uploads/:secret/:filename,
// which a destination migrating from ferry downloads uploads from: the id
// is a number or a full path (its %2F decoded by then).
var apiUploadPath = regexp.MustCompile(`^/api/v4/projects/(.+)/uploads/([0-9a-f]{32})/([^/]+)$`)

// IsUploadPath reports whether path is a project upload's, on the web or
// through the API.
func IsUploadPath(path string) bool {
	if strings.HasPrefix(path, "/api/") {
		return apiUploadPath.MatchString(path)
	}
	return uploadPath.MatchString(path)
}

// inlineTypes are the content types shown in the browser; anything else
// (HTML, SVG, PDF…) is downloaded, so an uploaded page cannot run script
// in ferry's origin.
var inlineTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true, "image/bmp": true}

// UploadsHandler serves project uploads whose bytes are in files, behind
// the API's request id, logging, metrics and panic recovery. The caller
// routes to it the paths IsUploadPath accepts.
func (s *Server) UploadsHandler(files *uploads.Store) (http.Handler, error) {
	if files == nil {
		return nil, errors.New("api: uploads handler needs the upload files")
	}
	r := chi.NewRouter()
	r.Use(s.correlate, s.recoverer, s.checkQuery, middleware.GetHead)
	r.Get("/*", s.wrap(func(w http.ResponseWriter, r *http.Request) error { return s.serveUpload(w, r, files) }))
	return r, nil
}

func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request, files *uploads.Store) error {
	re := uploadPath
	if strings.HasPrefix(r.URL.Path, "/api/") {
		re = apiUploadPath
	}
	m := re.FindStringSubmatch(r.URL.Path)
	if m == nil || !uploads.ValidFilename(m[3]) {
		return errNotFound
	}
	fullPath, secret, filename := m[1], m[2], m[3]
	byID, _ := strconv.ParseInt(fullPath, 10, 64) // the API names a project by id too
	v := store.Viewer{}
	if tok := tokenFrom(r); tok != "" {
		u, t, err := s.Authenticate(r.Context(), tok)
		if err != nil {
			return err
		}
		if !t.HasScope(ferry.ScopeAPI) && !t.HasScope(ferry.ScopeReadAPI) {
			return errInsufficientScope(ferry.ScopeReadAPI)
		}
		v = store.Viewer{UserID: u.ID, Admin: u.IsAdmin}
	}
	var p *ferry.Project
	var up *store.Upload
	err := s.store.Read(r.Context(), func(tx *store.Tx) error {
		var err error
		if byID > 0 && re == apiUploadPath {
			p, err = tx.ProjectByID(r.Context(), byID)
		} else {
			p, err = tx.ProjectByPath(r.Context(), fullPath)
		}
		if err != nil {
			return err
		}
		ok, err := tx.CanSeeProject(r.Context(), v, p)
		if err != nil {
			return err
		}
		if !ok {
			return errNotFound
		}
		up, err = tx.UploadByPath(r.Context(), p.ID, secret, filename)
		return err
	})
	if ferry.ErrorCode(err) == ferry.ENOTFOUND {
		return errNotFound
	} else if err != nil {
		return fmt.Errorf("upload %s/%s of %s: %w", secret, filename, fullPath, err)
	}
	f, err := files.Open(up.SHA256)
	if errors.Is(err, uploads.ErrNotFound) {
		s.log.WarnContext(r.Context(), "upload file missing", "project_id", p.ID, "upload_id", up.ID, "sha256", up.SHA256)
		return errNotFound
	} else if err != nil {
		return err
	}
	defer f.Close()
	ctype := up.ContentType
	if mt, _, err := mime.ParseMediaType(ctype); err != nil || ctype == "" {
		ctype = "application/octet-stream"
	} else if inlineTypes[mt] {
		w.Header().Set("Content-Disposition", mime.FormatMediaType("inline", map[string]string{"filename": up.Filename}))
	}
	if w.Header().Get("Content-Disposition") == "" {
		w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": up.Filename}))
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("ETag", `"`+up.SHA256+`"`)
	if p.Visibility == ferry.Public {
		h.Set("Cache-Control", "public, max-age=3600")
	} else {
		h.Set("Cache-Control", "private, max-age=3600")
	}
	http.ServeContent(w, r, "", up.UpdatedAt, f)
	return nil
}
