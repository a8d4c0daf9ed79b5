package app

import (
	"context"
	"net/url"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/api"
	"github.com/ferry-import/ferry/web"
)

// webStarter lets the web's start pages run the API's import pipelines in
// process (web.Starter): the web knows neither the sources nor the API.
type webStarter struct{ s *api.Server }

func (w webStarter) StartImport(ctx context.Context, u *ferry.User, sourceType string, form url.Values) (int64, error) {
	return w.s.StartImport(ctx, u, sourceType, form)
}

func (w webStarter) StartMigration(ctx context.Context, u *ferry.User, form url.Values) (int64, error) {
	return w.s.StartBulkImport(ctx, u, form)
}

func (w webStarter) ListRepos(ctx context.Context, u *ferry.User, sourceType string, form url.Values) ([]web.SourceRepo, int, error) {
	repos, next, err := w.s.ListSourceRepos(ctx, u, sourceType, form)
	if err != nil {
		return nil, 0, err
	}
	out := make([]web.SourceRepo, len(repos))
	for i, r := range repos {
		out[i] = web.SourceRepo{Ref: r.Ref, FullName: r.FullName, Description: r.Description, Private: r.Private}
	}
	return out, next, nil
}
