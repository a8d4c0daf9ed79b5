package gitstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// LFS batch API wire types (https://github.com/git-lfs/git-lfs/blob/main/docs/api/batch.md).
type lfsBatchRequest struct {
	Operation string          `json:"operation"`
	Transfers []string        `json:"transfers,omitempty"`
	Ref       *lfsRef         `json:"ref,omitempty"`
	Objects   []lfsObjectSpec `json:"objects"`
	HashAlgo  string          `json:"hash_algo,omitempty"`
}

type lfsRef struct {
	Name string `json:"name"`
}

type lfsObjectSpec struct {
	OID  string `json:"oid"`
	Size int64  `json:"size"`
}

type lfsBatchResponse struct {
	Transfer string      `json:"transfer,omitempty"`
	Objects  []lfsObject `json:"objects"`
	HashAlgo string      `json:"hash_algo,omitempty"`
	Message  string      `json:"message,omitempty"`
}

type lfsObject struct {
	OID           string               `json:"oid"`
	Size          int64                `json:"size"`
	Authenticated bool                 `json:"authenticated,omitempty"`
	Actions       map[string]lfsAction `json:"actions,omitempty"`
	Error         *lfsObjectError      `json:"error,omitempty"`
}

type lfsAction struct {
	Href      string            `json:"href"`
	Header    map[string]string `json:"header,omitempty"`
	ExpiresIn int               `json:"expires_in,omitempty"`
}

type lfsObjectError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

const lfsMediaType = "application/vnd.git-lfs+json"

// lfsBatchSize is how many objects go in one batch request (GitHub's limit).
const lfsBatchSize = 100

// FetchLFS downloads the given objects from a source repository's LFS batch
// API (repoURL is the clone URL, http(s), without user info), verifies and
// stores them, and links them to project id. Objects already stored are only
// linked. Failures of single objects are joined into the returned error;
// the others are still fetched.
func (s *Store) FetchLFS(ctx context.Context, id int64, repoURL string, cred Credential, objects []LFSPointer) error {
	cred, err := cred.resolve(ctx)
	if err != nil {
		return err
	}
	if err := s.fetchLFS(ctx, id, repoURL, cred, objects); err != nil {
		return fmt.Errorf("fetch lfs %d: %s", id, scrubErr(err, cred.secrets()))
	}
	return nil
}

// scrubErr flattens err into text without secrets. Sentinels are lost on
// purpose: an error that held a secret must not travel further.
func scrubErr(err error, secrets []string) error {
	return errors.New(scrub(err.Error(), secrets))
}

func (s *Store) fetchLFS(ctx context.Context, id int64, repoURL string, cred Credential, objects []LFSPointer) error {
	repo, err := url.Parse(repoURL)
	if err != nil {
		return fmt.Errorf("repository URL: %w", ErrInvalid)
	}
	if repo.Scheme != "http" && repo.Scheme != "https" || repo.Host == "" || repo.User != nil {
		return fmt.Errorf("repository URL must be http(s) without credentials: %w", ErrInvalid)
	}
	endpoint := *repo
	endpoint.Path = strings.TrimSuffix(endpoint.Path, "/")
	if !strings.HasSuffix(endpoint.Path, ".git") {
		endpoint.Path += ".git"
	}
	endpoint.Path += "/info/lfs/objects/batch"
	endpoint.RawQuery, endpoint.Fragment = "", ""
	if err := s.vetURL(ctx, &endpoint); err != nil {
		return err
	}

	var want []LFSPointer
	var errs []error
	for _, p := range objects {
		switch {
		case !ValidOID(p.OID) || p.Size < 0:
			errs = append(errs, fmt.Errorf("object %.80q: %w", p.OID, ErrInvalid))
		case s.HasLFSObject(p.OID):
			if err := s.LinkLFSObject(ctx, id, p.OID); err != nil {
				errs = append(errs, err)
			}
		default:
			want = append(want, p)
		}
	}
	client := s.lfsClient()
	for len(want) > 0 {
		n := min(len(want), lfsBatchSize)
		chunk := want[:n]
		want = want[n:]
		resp, err := s.lfsBatch(ctx, client, &endpoint, cred, chunk)
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		sizes := map[string]int64{}
		for _, p := range chunk {
			sizes[p.OID] = p.Size
		}
		for _, o := range resp.Objects {
			size, asked := sizes[o.OID]
			if !asked {
				errs = append(errs, fmt.Errorf("lfs batch answered unrequested object %.80q", o.OID))
				continue
			}
			// The size is ours, not the source's: it bounds the download.
			o.Size = size
			if err := s.lfsDownload(ctx, client, id, &endpoint, cred, o); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// lfsClient is the store's client with every redirect vetted too.
func (s *Store) lfsClient() *http.Client {
	c := *s.client
	next := c.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("too many redirects")
		}
		if err := s.vetURL(req.Context(), req.URL); err != nil {
			return err
		}
		if next != nil {
			return next(req, via)
		}
		return nil
	}
	return &c
}

func (s *Store) lfsBatch(ctx context.Context, client *http.Client, endpoint *url.URL, cred Credential, objs []LFSPointer) (*lfsBatchResponse, error) {
	req := lfsBatchRequest{Operation: "download", Transfers: []string{"basic"}, HashAlgo: "sha256"}
	for _, o := range objs {
		req.Objects = append(req.Objects, lfsObjectSpec{OID: o.OID, Size: o.Size})
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Accept", lfsMediaType)
	hr.Header.Set("Content-Type", lfsMediaType)
	if a := cred.authorization(); a != "" {
		hr.Header.Set("Authorization", a)
	}
	res, err := client.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("lfs batch: %w", err)
	}
	defer res.Body.Close()
	var out lfsBatchResponse
	dec := json.NewDecoder(io.LimitReader(res.Body, 16<<20))
	if res.StatusCode != http.StatusOK {
		_ = dec.Decode(&out) // for the message, if the body is LFS JSON
		err := fmt.Errorf("lfs batch: HTTP %d %.200s", res.StatusCode, out.Message)
		if res.StatusCode == http.StatusNotFound {
			err = fmt.Errorf("%w: %w", err, ErrNotFound)
		}
		return nil, err
	}
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("lfs batch: decode response: %w", err)
	}
	return &out, nil
}

func (s *Store) lfsDownload(ctx context.Context, client *http.Client, id int64, endpoint *url.URL, cred Credential, o lfsObject) error {
	if !ValidOID(o.OID) {
		return fmt.Errorf("lfs batch answered object %.80q: %w", o.OID, ErrInvalid)
	}
	if o.Error != nil {
		return fmt.Errorf("object %s: source says %d %.200s", o.OID, o.Error.Code, o.Error.Message)
	}
	act, ok := o.Actions["download"]
	if !ok {
		return fmt.Errorf("object %s: no download action", o.OID)
	}
	href, err := url.Parse(act.Href)
	if err != nil || href.Scheme != "http" && href.Scheme != "https" {
		return fmt.Errorf("object %s: bad download href: %w", o.OID, ErrInvalid)
	}
	if err := s.vetURL(ctx, href); err != nil {
		return fmt.Errorf("object %s: %w", o.OID, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, href.String(), nil)
	if err != nil {
		return fmt.Errorf("object %s: %w", o.OID, err)
	}
	for k, v := range act.Header {
		req.Header.Set(k, v)
	}
	// Our credential goes only back to the host that issued it; a signed
	// storage URL elsewhere gets the action's own headers.
	if req.Header.Get("Authorization") == "" && href.Host == endpoint.Host {
		if a := cred.authorization(); a != "" {
			req.Header.Set("Authorization", a)
		}
	}
	res, err := client.Do(req)
	if err != nil {
		// The *url.Error names the href, whose query may be a signature.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("object %s: download: %w", o.OID, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("object %s: download: HTTP %d", o.OID, res.StatusCode)
	}
	if err := s.PutLFSObject(ctx, o.OID, o.Size, res.Body); err != nil {
		return err
	}
	return s.LinkLFSObject(ctx, id, o.OID)
}
