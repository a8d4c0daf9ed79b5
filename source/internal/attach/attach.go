// Package attach imports Markdown attachments for every source adapter:
// it finds the links of a body (forge/mdlink, the grammar the store relinks
// by), queues those the source calls its attachments as followups of the
// attachments relation, and that relation downloads each once through
// ferry's guarded client (Env.Downloads), sniffs its type from the bytes,
// holds it to the upload store's size cap, names it and stores it
// (Env.Uploads) as a forge.Upload, whose writing relinks every body.
//
// An adapter supplies only which URLs are attachments of its source and
// how their download is authenticated (Source.Attachment); links anywhere
// else, relative links and bare URLs are never fetched, so a body cannot
// make ferry fetch an arbitrary URL.
//
// It knows HTTP, the engine's relation contract and the upload store; it
// must not know any forge's API.
package attach

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
	"strings"

	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/forge/mdlink"
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/source/internal/paging"
	"github.com/ferry-import/ferry/sourcehttp"
	"github.com/ferry-import/ferry/uploads"
)

// Relation is the name of the relation that downloads attachments, as
// followups address it.
const Relation = "attachments"

// downloadAttempts bounds the tries of one attachment.
const downloadAttempts = 4

// Source is one import's attachment store.
type Source struct {
	Env *importer.Env
	// Upload is the source id of the uploads (Type and Host; ID is the link).
	Upload forge.SourceID
	// Attachment says whether u, an absolute URL without credentials, is an
	// attachment of the source; auth, when not nil, authenticates its
	// download (only where the source expects it: never a host the
	// credential does not belong to).
	Attachment func(u *url.URL) (auth func(*http.Request), ok bool)
	// Relative, when not nil, says where a link without a host is
	// downloaded from (GitLab bodies link /uploads/<secret>/<file>,
	// relative to their project), or nil when it is no attachment; without
	// it relative links are never fetched. Attachment still decides on the
	// result. The upload keeps the link as the body has it, which is what
	// relinking matches.
	Relative func(link *url.URL) *url.URL
	// Client, when not nil, downloads instead of Env.Downloads: a source
	// whose attachments are API calls on its own host (GitLab's upload
	// API) sends them through the import's governed API client, so its
	// rate limit is waited out, not met.
	Client *http.Client
	// Local, when not nil, is asked first for an attachment the source
	// delivered in bulk (GitLab's exported uploads archive), already in the
	// upload store: ok false downloads it as usual. An error is the
	// download's error.
	Local func(ctx context.Context, link string) (f Stored, ok bool, err error)
}

// Stored is a file in the upload store: its digest, size and the type
// sniffed from its bytes.
type Stored struct {
	SHA256      string
	Size        int64
	ContentType string
}

// resolve reads a link as a body has it (HTML attributes escape & as
// &amp;) and says whether it is an attachment of the source.
func (s *Source) resolve(link string) (u *url.URL, auth func(*http.Request), ok bool) {
	if len(link) > forge.MaxUploadURL {
		return nil, nil, false
	}
	u, err := url.Parse(html.UnescapeString(link))
	if err != nil || u.User != nil {
		return nil, nil, false
	}
	if u.Host == "" && u.Scheme == "" && s.Relative != nil && strings.HasPrefix(u.Path, "/") {
		u = s.Relative(u)
	}
	if u == nil || u.Host == "" || u.User != nil {
		return nil, nil, false
	}
	auth, ok = s.Attachment(u)
	return u, auth, ok
}

// Is reports whether a link, as a body has it, is an attachment of the
// source.
func (s *Source) Is(link string) bool {
	_, _, ok := s.resolve(link)
	return ok
}

// Links returns the links of body, as written, that are attachments of
// the source, each once, in order.
func (s *Source) Links(body string) []string {
	var out []string
	for _, l := range mdlink.Links(body) {
		if s.Is(l) {
			out = append(out, l)
		}
	}
	return out
}

// Follow queues the attachments body links to on the page and returns the
// body unchanged.
func (s *Source) Follow(b *paging.Builder, body string) string {
	for _, l := range s.Links(body) {
		b.Follow(Relation, l)
	}
	return body
}

// Relation downloads the queued attachments. One that cannot be had
// (gone, too large, refused) is a failed item of its page; it never fails
// the relation, let alone the import.
func (s *Source) Relation() importer.Relation {
	return paging.NewItems(Relation, paging.ItemsConfig{
		Followups: s.Env.Followups,
		Each:      s.Each,
		ItemURL:   func(link string) string { return link },
		Log:       s.Env.Log,
	})
}

// Each downloads one queued attachment into the page.
func (s *Source) Each(ctx context.Context, b *paging.Builder, link string) error {
	b.CountItems(1)
	// A download cut short (a reset, a truncated body) is tried again
	// here: the transport retries only what fails before the body.
	var up forge.Upload
	var wait *sourcehttp.WaitError
	err := sourcehttp.Retry(ctx, nil, downloadAttempts, func(err error) bool {
		var perm *importer.Permanent
		// Transient excludes refused addresses and waits: a blocked
		// redirect is asked once.
		return !errors.As(err, &perm) && sourcehttp.Transient(err)
	}, func() (err error) {
		up, err = s.Download(ctx, link)
		return err
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.As(err, &wait) {
			return err // a long rate-limit wait: the engine puts the job aside
		}
		b.Fail(importer.ItemFailure{SourceURL: link, Title: "attachment " + path.Base(link), Err: err})
		return nil
	}
	b.Add(up)
	return nil
}

// Download fetches one attachment into the upload store. What retrying
// cannot change is an importer.Permanent error.
func (s *Source) Download(ctx context.Context, link string) (forge.Upload, error) {
	client := s.Client
	if client == nil {
		client = s.Env.Downloads
	}
	if client == nil || s.Env.Uploads == nil {
		return forge.Upload{}, &importer.Permanent{Err: errors.New("attachments: ferry has no upload store")}
	}
	u, auth, ok := s.resolve(link)
	if !ok {
		return forge.Upload{}, &importer.Permanent{Err: errors.New("attachments: not an attachment of this source")}
	}
	id := s.Upload
	id.ID = link
	upload := func(f Stored) forge.Upload {
		return forge.Upload{SourceID: id, URL: link, Filename: Filename(u, f.ContentType), ContentType: f.ContentType, Size: f.Size, SHA256: f.SHA256}
	}
	if s.Local != nil {
		if f, ok, err := s.Local(ctx, link); err != nil {
			return forge.Upload{}, err
		} else if ok {
			return upload(f), nil
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return forge.Upload{}, &importer.Permanent{Err: fmt.Errorf("attachments: %w", err)}
	}
	if auth != nil {
		auth(req)
	}
	resp, err := client.Do(req)
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
	if max := s.Env.Uploads.MaxSize(); resp.ContentLength > max {
		return forge.Upload{}, &importer.Permanent{Err: fmt.Errorf("download attachment: %d bytes: %w", resp.ContentLength, uploads.ErrTooLarge)}
	}
	f, err := Store(ctx, s.Env.Uploads, resp.Body)
	if err != nil {
		return forge.Upload{}, fmt.Errorf("download attachment: %w", err)
	}
	return upload(f), nil
}

// Store puts a file into the upload store, its type sniffed from the
// bytes: the source's word decides nothing about how ferry serves the
// file. A file over the store's size cap is an importer.Permanent error.
func Store(ctx context.Context, store *uploads.Store, r io.Reader) (Stored, error) {
	br := bufio.NewReaderSize(r, 512)
	head, err := br.Peek(512)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return Stored{}, err
	}
	ctype := http.DetectContentType(head)
	sum, size, err := store.Put(ctx, br, "")
	if errors.Is(err, uploads.ErrTooLarge) {
		return Stored{}, &importer.Permanent{Err: err}
	} else if err != nil {
		return Stored{}, err
	}
	return Stored{SHA256: sum, Size: size, ContentType: ctype}, nil
}

// extensions name files whose URL has no extension (GitHub's
// user-attachments/assets/<uuid>) after their sniffed type.
var extensions = map[string]string{"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/webp": ".webp",
	"image/bmp": ".bmp", "video/mp4": ".mp4", "video/webm": ".webm", "application/pdf": ".pdf", "application/zip": ".zip",
	"application/x-gzip": ".gz", "text/plain": ".txt"}

// Filename is an upload's file name: the link's last path segment, made
// safe, with an extension from the content type when it has none.
func Filename(u *url.URL, ctype string) string {
	name := uploads.SafeFilename(path.Base(u.Path), "attachment")
	if !strings.Contains(name, ".") {
		mt, _, _ := mime.ParseMediaType(ctype)
		name += extensions[mt]
	}
	return name
}
