package gitlab

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/source/internal/attach"
)

// Uploads: files people dropped into descriptions, notes, releases and
// milestones, which GitLab bodies link as /uploads/<secret>/<file>,
// relative to their project. While bodies are converted every such link is
// queued as an "attachments" followup; the attachments relation, in the
// import's last stage, takes each once — through an export from the
// project's uploads archive (uploads_archive.go), otherwise through
// GET /api/v4/projects/:id/uploads/:secret/:filename (GitLab 17.4 and
// later; ferry serves it too) — stores the bytes and emits a forge.Upload,
// whose writing relinks every stored body of the project to the
// destination's own /uploads/<secret>/<file> (package attach; the stage
// order makes that complete, as source/github/attachments.go explains).
// An upload the source does not serve that way (an older GitLab) is a
// failed item naming its link, never a silent dead link.

// uploadLink is a GitLab upload link as bodies have it.
var uploadLink = regexp.MustCompile(`^/uploads/([0-9a-f]{32})/([^/]+)$`)

// attachments is this import's attachment store.
func (r *run) attachments() *attach.Source {
	s := &attach.Source{Env: r.env, Upload: forge.SourceID{Type: Type, Host: r.host}, Attachment: r.attachment, Relative: r.uploadURL,
		Client: r.env.HTTP}
	if r.opts.Transport == TransportExport && r.archives != nil {
		s.Local = r.archivedUpload // uploads_archive.go
	}
	return s
}

// uploadURL is where a body's relative upload link is downloaded from.
func (r *run) uploadURL(link *url.URL) *url.URL {
	m := uploadLink.FindStringSubmatch(link.Path)
	if m == nil || link.RawQuery != "" {
		return nil
	}
	u, err := r.base.Parse("api/v4/" + r.projectPath() + "/uploads/" + m[1] + "/" + url.PathEscape(m[2]))
	if err != nil {
		return nil
	}
	return u
}

// attachment takes only the instance's own upload API, and sends the
// token there alone.
func (r *run) attachment(u *url.URL) (func(*http.Request), bool) {
	prefix := r.base.Path + "api/v4/" + r.projectPath() + "/uploads/"
	if u.Scheme != r.base.Scheme || !strings.EqualFold(u.Host, r.base.Host) || !strings.HasPrefix(u.EscapedPath(), prefix) {
		return nil, false
	}
	return func(req *http.Request) { req.Header.Set(privateTokenHdr, r.env.Credential) }, true
}

// attach queues the uploads a body links to and returns it unchanged.
func (b *builder) attach(body string) string {
	if b.r.opts.Entity == KindProject {
		b.r.attachments().Follow(b.Builder, body)
	}
	return body
}
