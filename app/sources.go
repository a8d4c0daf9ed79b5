package app

import (
	"errors"
	"log/slog"

	"github.com/ferry-import/ferry/api"
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/netguard"
	"github.com/ferry-import/ferry/source/bitbucketserver"
	"github.com/ferry-import/ferry/source/github"
	"github.com/ferry-import/ferry/source/gitlab"
	"github.com/ferry-import/ferry/sourcehttp"
)

// sources are the forges ferry imports from.
func sources(cfg Config) []importer.Source {
	return []importer.Source{github.New(), bitbucketserver.New(),
		&gitlab.Source{ExportTimeout: cfg.GitLabExportTimeout, EmptyExportStatusTimeout: cfg.GitLabEmptyExportStatusTimeout}}
}

// importSources are the import endpoints' checks, one per source the API
// takes import requests for. A source may be checked before its importer
// is in sources(): its endpoint then checks everything and refuses at the
// very end (501) until it is.
func importSources(e *importer.Engine, log *slog.Logger) []api.ImportSource {
	return []api.ImportSource{githubSource{e}, bitbucketServerSource{e: e, log: log}}
}

// checkError is the part of a failed check's translation every source
// shares: an address the guard refused at dial time stays the
// *netguard.BlockedError (the API answers Invalid URL; only the refusal
// travels, not the request it stopped), a rate-limit wait longer than a
// request may block is api.ErrSourceRateLimited, and the rest is the
// source's own mapping onto GitLab's answers.
func checkError(err error, forge func(error) error) error {
	var blocked *netguard.BlockedError
	var wait *sourcehttp.WaitError
	switch {
	case errors.As(err, &blocked):
		return blocked
	case errors.As(err, &wait):
		return api.ErrSourceRateLimited
	}
	return forge(err)
}
