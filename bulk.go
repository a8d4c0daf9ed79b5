package ferry

import (
	"strconv"
	"strings"
	"time"
)

// Statuses of a GitLab migration (bulk import) and of its entities, as
// GitLab's human status names.
const (
	BulkCreated  = "created"
	BulkStarted  = "started"
	BulkFinished = "finished"
	BulkTimeout  = "timeout"
	BulkFailed   = "failed"
	BulkCanceled = "canceled"
)

// BulkStatuses are every status a migration or entity can have, in
// GitLab's order (the values a status filter accepts).
var BulkStatuses = []string{BulkCreated, BulkStarted, BulkFinished, BulkTimeout, BulkFailed, BulkCanceled}

// BulkDone reports whether a migration or entity status is final.
func BulkDone(status string) bool {
	return status == BulkFinished || status == BulkTimeout || status == BulkFailed || status == BulkCanceled
}

// Entity source types of a migration.
const (
	GroupEntity   = "group_entity"
	ProjectEntity = "project_entity"
)

// BulkImport is one GitLab migration by direct transfer: a source instance,
// a user, and the entities (groups and projects) it migrates.
type BulkImport struct {
	ID, UserID       int64
	Status           string
	SourceType       string // "gitlab"
	SourceURL        string // the source instance's base URL
	SourceVersion    string
	SourceEnterprise bool
	// SealedCredential is the source access token sealed at rest; "" once
	// the import has ended.
	SealedCredential string
	// HasFailures is computed when read: an entity failed, or an entity's
	// import recorded failures.
	HasFailures          bool
	CreatedAt, UpdatedAt time.Time
}

// BulkEntity is one group or project of a migration.
type BulkEntity struct {
	ID, BulkImportID int64
	ParentID         int64 // 0 = none (a top-level entity of the request)
	SourceType       string
	SourceFullPath   string
	SourceID         int64 // id at the source, 0 until looked up
	DestinationSlug  string
	// DestinationNamespace is the full path of the group it goes into; ""
	// for a new top-level group.
	DestinationNamespace string
	MigrateProjects      bool
	MigrateMemberships   bool
	Status               string
	// NamespaceID and ProjectID are the group or project created, ImportID
	// the engine import running it; 0 = none.
	NamespaceID, ProjectID, ImportID int64
	// Error is why an entity failed before it had an import (the source
	// refused its path, its destination could not be made); its failures
	// list shows it.
	Error                string
	CreatedAt, UpdatedAt time.Time
}

// BulkStat is one relation's counts of an entity (GitLab's checksums):
// items at the source, fetched and imported.
type BulkStat struct{ Source, Fetched, Imported int64 }

// NotMigratedRelation is the relation under which a migration lists what
// the source exported and ferry does not model (boards, CI pipelines…),
// one failure per kind, titled NotMigratedTitle.
const NotMigratedRelation = "not_migrated"

// NotMigratedTitle is the failure title of a kind left behind: "<kind>: <n>
// at the source". The entity's stats show the kind from it too, with
// nothing fetched or imported (ParseNotMigrated).
func NotMigratedTitle(kind string, n int64) string {
	return kind + ": " + strconv.FormatInt(n, 10) + " at the source"
}

// ParseNotMigrated reads a NotMigratedTitle back.
func ParseNotMigrated(title string) (kind string, n int64, ok bool) {
	kind, rest, ok := strings.Cut(title, ": ")
	num, ok2 := strings.CutSuffix(rest, " at the source")
	if !ok || !ok2 || kind == "" {
		return "", 0, false
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 {
		return "", 0, false
	}
	return kind, n, true
}

// The messages of GitLab's bulk import path validators
// (lib/api/validations/validators/bulk_imports.rb).
const (
	SourceFullPathMessage = "must be a relative path and not include protocol, sub-domain, or domain information. " +
		"For example, 'source/full/path' not 'https://example.com/source/full/path'"
	DestinationNamespaceMessage = "must be a relative path and not include protocol, sub-domain, or domain information. " +
		"For example, 'destination/full/path' not 'https://example.com/destination/full/path'"
	// OCIPathMessage is Gitlab::Regex.oci_repository_path_regex_message.
	OCIPathMessage         = ociPathMessage
	DestinationSlugMessage = ociPathMessage + " For example, 'destination_namespace' not 'destination/namespace'"
)

// ValidOCIPath reports whether p matches Gitlab::Regex.oci_repository_path_regex:
// letters, digits and single '.', '_' or '-' between them.
func ValidOCIPath(p string) bool { return ociPathRE.MatchString(p) }

// ValidNamespaceFullPath is NamespacePathValidator.valid_path?: slash-separated
// namespace paths, the first not a reserved name.
func ValidNamespaceFullPath(p string) bool {
	if p == "" || len(p) > 4096 {
		return false
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if !validNamespaceSegment(s) || (i == 0 && reservedPaths[strings.ToLower(s)]) {
			return false
		}
	}
	return true
}

// ValidProjectFullPath is ProjectPathValidator.valid_path?: a namespace full
// path, then a project path.
func ValidProjectFullPath(p string) bool {
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return false
	}
	ns, proj := p[:i], p[i+1:]
	return ValidNamespaceFullPath(ns) && projectPathRE.MatchString(proj) && !endsGitOrAtom(proj) && len(proj) <= MaxPathLength
}

func validNamespaceSegment(s string) bool {
	return s != "" && len(s) <= MaxPathLength && namespacePathRE.MatchString(s) && !endsGitOrAtom(s)
}
