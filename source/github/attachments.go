package github

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/source/internal/attach"
)

// Attachments (attachments_import): files people dropped into issues, pull
// requests, comments, review comments, reviews, releases and milestones.
//
// While bodies are converted, every link (forge/mdlink) pointing at the
// source's attachment store is queued as an "attachments" followup, keyed
// by the link exactly as the body has it. The attachments relation, in the
// import's last stage, downloads each once, stores the bytes by digest and
// emits a forge.Upload; writing it relinks every stored body of the project
// to /uploads/<secret>/<filename>. Package attach does all of that; this
// file says only which URLs are GitHub's attachments and where the token
// goes.
//
// Why that is complete: stages run strictly one after another, and every
// relation that writes a body (base_data, pull_requests, issues_and_notes,
// notes, details, which writes merged pull requests again) is in an earlier
// stage, so by the time an upload is written every body linking it is
// stored and gets rewritten. A body written later anyway (an item retried
// after the import) is rewritten as the store writes it, from the uploads
// the project already has.
//
// The attachment store is, for github.com, github.com's
// /user-attachments/{assets,files}/…, /<owner>/<repo>/{assets,files}/… and
// user-images.githubusercontent.com; for GitHub Enterprise, the same paths
// and /storage/user/… on the instance's own host.

var (
	// Attachment paths on a GitHub host.
	attachmentPath = regexp.MustCompile(`^/(?:user-attachments/(?:assets|files)/|[^/]+/[^/]+/(?:assets|files)/)[^/]`)
	// GitHub Enterprise serves older uploads from its storage.
	gheStoragePath = regexp.MustCompile(`^/storage/user/[^/]`)
)

// attachments is this import's attachment store.
func (r *run) attachments() *attach.Source {
	return &attach.Source{Env: r.env, Upload: forge.SourceID{Type: Type, Host: r.host}, Attachment: r.attachment}
}

// attachment says whether u points at the source's attachment store, and
// sends the token only where GitHub expects it: its own host does for
// private repositories; the image CDN does not, and storage hosts behind
// redirects must never see it.
func (r *run) attachment(u *url.URL) (auth func(*http.Request), ok bool) {
	withToken := func(req *http.Request) {
		// An installation token that cannot be had leaves the request
		// without one: GitHub's refusal lists the attachment as failed.
		if t, err := r.auth.current(req.Context()); err == nil {
			req.Header.Set("Authorization", "Bearer "+t)
		}
	}
	host := strings.ToLower(u.Host)
	if r.host == "github.com" {
		switch {
		case u.Scheme != "https":
			return nil, false
		case host == "github.com" && attachmentPath.MatchString(u.Path):
			return withToken, true
		case host == "user-images.githubusercontent.com" && len(u.Path) > 1:
			return nil, true
		}
		return nil, false
	}
	// GitHub Enterprise: attachments live on the instance's host.
	if u.Scheme != r.base.Scheme || host != strings.ToLower(r.base.Host) ||
		!(attachmentPath.MatchString(u.Path) || gheStoragePath.MatchString(u.Path)) {
		return nil, false
	}
	return withToken, true
}

// attach queues the attachments a body links to, when they are imported,
// and returns the body unchanged.
func (b *builder) attach(body string) string {
	if b.r.opts.AttachmentsImport {
		b.r.attachments().Follow(b.Builder, body)
	}
	return body
}
