package github

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strings"

	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/uploads"
)

// Attachments (attachments_import): files people dropped into issues, pull
// requests, comments, review comments, reviews, releases and milestones.
//
// While bodies are converted, every Markdown image or link and every HTML
// <img src>/<a href> pointing at the source's attachment store is queued
// as an "attachments" followup, keyed by the link exactly as the body has
// it. The attachments relation, in the import's last stage, downloads each
// once (Env.Downloads: guarded dialing; the token only to the GitHub host
// itself), stores the bytes by digest (Env.Uploads) and emits a
// forge.Upload; writing it relinks every stored body of the project to
// /uploads/<secret>/<filename>.
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
// and /storage/user/… on the instance's own host. Links anywhere else,
// relative links and bare URLs outside link syntax are left alone, so a
// body cannot make ferry fetch an arbitrary URL.

const relAttachments = "attachments"

// maxAttachmentURL bounds a link worth queueing (the store keys uploads by
// it).
const maxAttachmentURL = 2048

var (
	// ](url), ](url "title"), ](<url>): exactly what the store's relinking
	// recognises, so everything queued can be relinked.
	markdownLink = regexp.MustCompile(`\]\((?:<([^<>\s]+)>|([^()\s<>]+))(?: +(?:"[^"]*"|'[^']*'))?\)`)
	// src="…", href='…' inside <img> and <a> tags.
	htmlLink = regexp.MustCompile(`(?i)<(?:img|a)\s[^>]*?\b(?:src|href)\s*=\s*(?:"([^"]+)"|'([^']+)')`)
	// Attachment paths on a GitHub host.
	attachmentPath = regexp.MustCompile(`^/(?:user-attachments/(?:assets|files)/|[^/]+/[^/]+/(?:assets|files)/)[^/]`)
	// GitHub Enterprise serves older uploads from its storage.
	gheStoragePath = regexp.MustCompile(`^/storage/user/[^/]`)
)

// attachmentLinks returns the links in body, as written, that point at
// the source's attachment store, each once, in order.
func (r *run) attachmentLinks(body string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(ms [][]string) {
		for _, m := range ms {
			raw := m[1] + m[2] // one of both groups matched
			if !seen[raw] {
				seen[raw] = true
				if _, _, ok := r.attachmentURL(raw); ok {
					out = append(out, raw)
				}
			}
		}
	}
	add(markdownLink.FindAllStringSubmatch(body, -1))
	add(htmlLink.FindAllStringSubmatch(body, -1))
	return out
}

// attachmentURL parses a link as a body has it and says whether it points
// at the source's attachment store, and whether GitHub expects the token
// there (its own host does for private repositories; the image CDN does
// not, and storage hosts behind redirects must never see it).
func (r *run) attachmentURL(raw string) (u *url.URL, withToken, ok bool) {
	if len(raw) > maxAttachmentURL {
		return nil, false, false
	}
	u, err := url.Parse(html.UnescapeString(raw)) // HTML attributes escape & as &amp;
	if err != nil || u.User != nil || u.Host == "" {
		return nil, false, false
	}
	host := strings.ToLower(u.Host)
	if r.host == "github.com" {
		switch {
		case u.Scheme != "https":
			return nil, false, false
		case host == "github.com" && attachmentPath.MatchString(u.Path):
			return u, true, true
		case host == "user-images.githubusercontent.com" && len(u.Path) > 1:
			return u, false, true
		}
		return nil, false, false
	}
	// GitHub Enterprise: attachments live on the instance's host.
	if u.Scheme != r.base.Scheme || host != strings.ToLower(r.base.Host) ||
		!(attachmentPath.MatchString(u.Path) || gheStoragePath.MatchString(u.Path)) {
		return nil, false, false
	}
	return u, true, true
}

// attach queues the attachments a body links to, when they are imported,
// and returns the body unchanged.
func (b *builder) attach(body string) string {
	if b.r.opts.AttachmentsImport {
		for _, l := range b.r.attachmentLinks(body) {
			b.Follow(relAttachments, l)
		}
	}
	return body
}

// attachments downloads each queued attachment. An attachment that cannot
// be had (gone, too large, refused) is a failed item of the page; it never
// fails the relation, let alone the import.
func (r *run) attachments() importer.Relation { return itemRelation(relAttachments, r, r.attachment) }

// attachment downloads one queued attachment into the page.
func (r *run) attachment(ctx context.Context, b *builder, raw string) error {
	b.CountItems(1)
	up, err := r.download(ctx, raw)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		b.Fail(importer.ItemFailure{SourceURL: raw, Title: "attachment " + path.Base(raw), Err: err})
		return nil
	}
	b.Add(up)
	return nil
}

// download fetches one attachment into the upload store.
func (r *run) download(ctx context.Context, raw string) (forge.Upload, error) {
	if r.env.Downloads == nil || r.env.Uploads == nil {
		return forge.Upload{}, &importer.Permanent{Err: errors.New("attachments: ferry has no upload store")}
	}
	u, withToken, ok := r.attachmentURL(raw)
	if !ok {
		return forge.Upload{}, &importer.Permanent{Err: errors.New("attachments: not an attachment of this source")}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return forge.Upload{}, &importer.Permanent{Err: fmt.Errorf("attachments: %w", err)}
	}
	if withToken {
		req.Header.Set("Authorization", "Bearer "+r.env.Credential)
	}
	resp, err := r.env.Downloads.Do(req)
	if err != nil {
		return forge.Upload{}, fmt.Errorf("download attachment: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		err := fmt.Errorf("download attachment: HTTP %d", resp.StatusCode)
		if resp.StatusCode < 500 {
			err = &importer.Permanent{Err: err}
		}
		return forge.Upload{}, err
	}
	if max := r.env.Uploads.MaxSize(); resp.ContentLength > max {
		return forge.Upload{}, &importer.Permanent{Err: fmt.Errorf("download attachment: %d bytes: %w", resp.ContentLength, uploads.ErrTooLarge)}
	}
	// The type is sniffed from the bytes: the source's word decides nothing
	// about how ferry serves the file.
	br := bufio.NewReaderSize(resp.Body, 512)
	head, err := br.Peek(512)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return forge.Upload{}, fmt.Errorf("download attachment: %w", err)
	}
	ctype := http.DetectContentType(head)
	sum, size, err := r.env.Uploads.Put(ctx, br, "")
	if errors.Is(err, uploads.ErrTooLarge) {
		return forge.Upload{}, &importer.Permanent{Err: fmt.Errorf("download attachment: %w", err)}
	} else if err != nil {
		return forge.Upload{}, fmt.Errorf("download attachment: %w", err)
	}
	return forge.Upload{SourceID: r.sid(raw), URL: raw, Filename: attachmentName(u, ctype), ContentType: ctype, Size: size, SHA256: sum}, nil
}

// extensions name files whose URL has no extension (GitHub's
// user-attachments/assets/<uuid>) after their sniffed type.
var extensions = map[string]string{"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/webp": ".webp",
	"image/bmp": ".bmp", "video/mp4": ".mp4", "video/webm": ".webm", "application/pdf": ".pdf", "application/zip": ".zip",
	"application/x-gzip": ".gz", "text/plain": ".txt"}

// attachmentName is the upload's file name: the link's last path segment,
// made safe, with an extension from the content when it has none.
func attachmentName(u *url.URL, ctype string) string {
	name := uploads.SafeFilename(path.Base(u.Path), "attachment")
	if !strings.Contains(name, ".") {
		mt, _, _ := mime.ParseMediaType(ctype)
		name += extensions[mt]
	}
	return name
}
