package app

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/api"
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/source/bitbucketserver"
	"github.com/ferry-import/ferry/sourcehttp"
)

// bitbucketServerSource is Bitbucket Server's part of the import pipeline
// (api.ImportSource): the adapter's repository read, through the engine's
// guarded, governed client, answered as Import::BitbucketServerService
// does.
type bitbucketServerSource struct {
	e   *importer.Engine
	log *slog.Logger
}

func (bitbucketServerSource) Type() string { return bitbucketserver.Type }

func (bitbucketServerSource) APIBase(address string) (string, error) {
	u, err := bitbucketserver.ServerURL(address)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

func (b bitbucketServerSource) Check(ctx context.Context, req *api.SourceRequest) (*api.SourceRepo, error) {
	client, _, err := b.e.HTTPClient(bitbucketserver.Type, req.APIBase, req.Credential, nil)
	if err != nil {
		return nil, err
	}
	info, err := bitbucketserver.Lookup(ctx, &importer.Env{SourceURL: req.APIBase, SourceRef: req.Ref, Options: req.Options,
		Credential: req.Credential, HTTP: client})
	if err != nil {
		return nil, checkError(err, func(err error) error {
			// GitLab answers a missing repository this way when its client
			// gives none back; its client raises on the 404 instead, which
			// then reads as the server failing (below).
			if sourcehttp.StatusOf(err) == http.StatusNotFound {
				return ferry.Errorf(ferry.EUNPROCESSABLE, "Project %s could not be found", req.Ref)
			}
			// Which error stays in the log, as GitLab's; the answer only
			// says the server failed.
			b.log.InfoContext(ctx, "Import failed due to a BitBucket Server error", "correlation_id", api.RequestID(ctx), "error", err.Error())
			return ferry.Errorf(ferry.EBADREQUEST, "Import failed due to a BitBucket Server error")
		})
	}
	return &api.SourceRepo{FullName: info.FullName, Name: info.Name, Description: info.Description, Private: info.Private,
		WebURL: info.WebURL, CloneURL: info.CloneURL}, nil
}
