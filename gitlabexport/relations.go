package gitlabexport

import (
	"context"
	"strconv"

	"github.com/ferry-import/ferry/store"
)

// relation is one exported relation: its name, whether a batched export
// splits it, whether it is a file relation (a tar of files, not NDJSON),
// and how to stream its top-level records.
type relation struct {
	name      string
	batchable bool
	archive   bool // records are uploadFiles, written as gzip(tar)
	run       func(ctx context.Context, s *Service, p Portable, emit func(any) error) error
}

// file is the name the relation is downloaded as.
func (r relation) file() string {
	switch {
	case r.archive:
		return r.name + ".tar.gz"
	case r.name == "self":
		return "self.json.gz"
	}
	return r.name + ".ndjson.gz"
}

// batchFile is the name batch n of the relation is stored under.
func (r relation) batchFile(n int) string {
	ext := ".ndjson.gz"
	if r.archive {
		ext = ".tar.gz"
	}
	return "batch-" + strconv.Itoa(n) + ext
}

// empty is a relation ferry holds nothing for: it is exported (empty) so
// an importer's pipeline for it finds a finished export instead of waiting
// for one that never comes.
func empty(name string) relation {
	return relation{name: name, batchable: true, run: func(context.Context, *Service, Portable, func(any) error) error { return nil }}
}

// The portables' relations, in export order: the tree relations of
// GitLab's import_export.yml that ferry holds content for, "self", a
// project's uploads (a file relation), the members and user_contributions
// for user mapping, and empty exports of the tree relations ferry has no
// content for.
var (
	projectRelations = []relation{
		{name: "self", run: exportProjectSelf},
		{name: "labels", batchable: true, run: exportLabels},
		{name: "milestones", batchable: true, run: exportMilestones},
		{name: "issues", batchable: true, run: exportIssues},
		{name: "merge_requests", batchable: true, run: exportMergeRequests},
		{name: "releases", batchable: true, run: exportReleases},
		{name: "protected_branches", batchable: true, run: exportProtectedBranches},
		{name: "project_badges", batchable: true, run: exportBadges},
		{name: "project_members", batchable: true, run: exportMembers},
		{name: "uploads", batchable: true, archive: true, run: exportUploads},
		{name: "user_contributions", batchable: true, run: exportContributors},
		empty("snippets"), empty("boards"), empty("external_pull_requests"), empty("ci_pipelines"), empty("commit_notes"),
		empty("pipeline_schedules"),
	}
	groupRelations = []relation{
		{name: "self", run: exportGroupSelf},
		{name: "labels", batchable: true, run: exportLabels},
		{name: "milestones", batchable: true, run: exportMilestones},
		{name: "members", batchable: true, run: exportMembers},
		{name: "user_contributions", batchable: true, run: exportContributors},
		{name: "badges", batchable: true, run: exportBadges},
		empty("boards"),
	}
)

func relationsOf(kind string) []relation {
	switch kind {
	case KindProject:
		return projectRelations
	case KindGroup:
		return groupRelations
	}
	return nil
}

func relationNamed(kind, name string) (relation, bool) {
	for _, r := range relationsOf(kind) {
		if r.name == name {
			return r, true
		}
	}
	return relation{}, false
}

// Relations lists the relations a portable kind exports, in order.
func Relations(kind string) []string {
	var out []string
	for _, r := range relationsOf(kind) {
		out = append(out, r.name)
	}
	return out
}

// ValidRelation reports whether kind exports a relation called name.
func ValidRelation(kind, name string) bool {
	_, ok := relationNamed(kind, name)
	return ok
}

// pages reads a relation page by page in id order: read returns the rows
// after a key and the last row's key; it stops at a short page.
func pages[T any](ctx context.Context, s *Service, read func(tx *store.Tx, after int64, limit int) ([]T, error), key func(T) int64,
	each func(page []T) error) error {
	var after int64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var page []T
		if err := s.cfg.Store.Read(ctx, func(tx *store.Tx) (err error) {
			page, err = read(tx, after, s.cfg.PageSize)
			return err
		}); err != nil {
			return err
		}
		if len(page) > 0 {
			if err := each(page); err != nil {
				return err
			}
			after = key(page[len(page)-1])
		}
		if len(page) < s.cfg.PageSize {
			return nil
		}
	}
}

// emitAll emits each converted row of a page.
func emitAll[T any](emit func(any) error, conv func(T) any) func([]T) error {
	return func(page []T) error {
		for _, v := range page {
			if err := emit(conv(v)); err != nil {
				return err
			}
		}
		return nil
	}
}
