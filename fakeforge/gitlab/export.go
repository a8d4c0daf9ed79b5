package gitlab

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry/fakeforge/scenario"
)

// Export statuses as the importer compares them: raw integers
// (app/models/bulk_imports/export.rb).
const (
	exportFailed   = -1
	exportStarted  = 0
	exportFinished = 1
)

// ExportFailedError is the error of a relation whose export failed
// (Options.ExportFailed), as GitLab keeps an exception's message.
const ExportFailedError = "Error!  simulated export failure"

// defaultExportBatchSize is GitLab's relation_export_batch_size default.
const defaultExportBatchSize = 1000

// portable is what an export belongs to: a project or a group.
type portable struct {
	kind string // "project" or "group"
	id   int64
	p    proj           // projects
	g    scenario.Group // groups
}

func projectPortable(p proj) portable { return portable{kind: "project", id: p.ID, p: p} }

func groupPortable(g scenario.Group) portable { return portable{kind: "group", id: g.ID, g: g} }

// relation is one exported relation: self (one JSON object), a tree
// relation served as NDJSON, one top-level record a line, or a file
// relation (uploads) served as a tar.
type relation struct {
	name string
	// batchable relations are split into batches by a batched export; self
	// and user_contributions never are (GitLab exports them with
	// RelationExportService and UserContributionsExportService).
	batchable bool
	// records gives the relation's top-level record count and record i
	// (1-based), built from the same objects the REST handlers serve.
	records func(s *Server, pt portable) (n int, at func(i int) any)
	// file is the download's file name; empty is <name>.ndjson.gz
	// (self.json.gz for self).
	file string
	// write writes records lo…hi, gzipped, to w; nil writes them as JSON
	// (writeRelation). It must write the same bytes every time: their
	// length is computed once and remembered.
	write func(s *Server, w io.Writer, pt portable, rel relation, lo, hi int) error
}

// fileName is what the relation is downloaded as.
func (r relation) fileName() string {
	switch {
	case r.file != "":
		return r.file
	case r.name == "self":
		return "self.json.gz"
	}
	return r.name + ".ndjson.gz"
}

// writeTo writes records lo…hi of the relation, gzipped, to w.
func (r relation) writeTo(s *Server, w io.Writer, pt portable, lo, hi int) error {
	if r.write != nil {
		return r.write(s, w, pt, r, lo, hi)
	}
	return s.writeRelation(w, pt, r, lo, hi)
}

// projectRelations are a project's exported relations, in status order.
var projectRelations = []relation{
	{name: "self", records: one(func(s *Server, pt portable) any { return s.exportSelf(pt.p) })},
	{name: "labels", batchable: true, records: func(s *Server, pt portable) (int, func(int) any) {
		return s.sc.Config().Labels, func(i int) any {
			l := s.labelObj(pt.p, s.sc.Label(i))
			return s.exLabel(labelView{l.Name, l.Color, l.Description}, "ProjectLabel")
		}
	}},
	{name: "milestones", batchable: true, records: func(s *Server, pt portable) (int, func(int) any) {
		return s.sc.Config().Milestones, func(i int) any { return s.exMilestone(pt.p, i) }
	}},
	{name: "issues", batchable: true, records: func(s *Server, pt portable) (int, func(int) any) {
		return s.sc.Config().Issues, func(j int) any { return s.exIssue(pt.p, j) }
	}},
	{name: "merge_requests", batchable: true, records: func(s *Server, pt portable) (int, func(int) any) {
		return s.sc.Config().PullRequests, func(j int) any { return s.exMergeRequest(pt.p, j) }
	}},
	{name: "releases", batchable: true, records: func(s *Server, pt portable) (int, func(int) any) {
		return s.sc.Config().Releases, func(i int) any { return s.exRelease(pt.p, i) }
	}},
	{name: "protected_branches", batchable: true, records: func(s *Server, pt portable) (int, func(int) any) {
		return s.sc.Config().ProtectedBranches, func(i int) any { return s.exProtectedBranch(pt.p, i-1) }
	}},
	{name: "project_badges", batchable: true, records: func(s *Server, pt portable) (int, func(int) any) {
		return 1, func(int) any { return s.projectBadge(pt.p) }
	}},
	{name: "project_members", batchable: true, records: func(s *Server, _ portable) (int, func(int) any) {
		return s.sc.Config().Users, func(i int) any { return s.exMember(i, "Project") }
	}},
	uploadsRelation,
	{name: "user_contributions", records: userContributions},
}

func one(build func(s *Server, pt portable) any) func(*Server, portable) (int, func(int) any) {
	return func(s *Server, pt portable) (int, func(int) any) {
		return 1, func(int) any { return build(s, pt) }
	}
}

// relationsOf is what the instance exports of the portable: its kind's
// relations less Options.ExportWithout.
func (s *Server) relationsOf(pt portable) []relation {
	rels := projectRelations
	if pt.kind == "group" {
		rels = groupRelations
	}
	if len(s.opts.ExportWithout) == 0 {
		return rels
	}
	return slices.DeleteFunc(slices.Clone(rels), func(r relation) bool { return slices.Contains(s.opts.ExportWithout, r.name) })
}

func (s *Server) findRelation(pt portable, name string) (relation, bool) {
	for _, r := range s.relationsOf(pt) {
		if r.name == name {
			return r, true
		}
	}
	return relation{}, false
}

// exportKey scopes an export to the token that asked for it, as GitLab
// scopes exports to the requesting user.
type exportKey struct {
	token string
	kind  string
	id    int64
}

// exportRun is one started export of a portable.
type exportRun struct {
	batched bool
	polls   map[string]int // status answers given per relation
}

// sizeKey names one served file: a relation, or one batch of it (batch 0
// is the whole relation).
type sizeKey struct {
	kind  string
	id    int64
	rel   string
	batch int
}

// exportState is the server's export bookkeeping, guarded by Server.mu.
type exportState struct {
	runs    map[exportKey]*exportRun
	sizes   map[sizeKey]int64   // gzip lengths, so a download can stream
	users   map[sizeKey][]int64 // user_contributions ids per portable
	uploads map[int64][]string  // the uploads relation's file names per project
}

func (s *Server) exState() *exportState {
	if s.ex.runs == nil {
		s.ex = exportState{runs: map[exportKey]*exportRun{}, sizes: map[sizeKey]int64{}, users: map[sizeKey][]int64{},
			uploads: map[int64][]string{}}
	}
	return &s.ex
}

func (s *Server) batchSize() int {
	if s.opts.ExportBatchSize > 0 {
		return s.opts.ExportBatchSize
	}
	return defaultExportBatchSize
}

// exportOff answers 404 for every export_relations endpoint when direct
// transfer is off on the instance (the API's before filter).
func (s *Server) exportOff(w http.ResponseWriter) bool {
	if s.opts.ExportDisabled {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "404 Not Found"})
		return true
	}
	return false
}

// apiError is render_api_error!: {"message": msg}.
func apiError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"message": msg})
}

// exportStart answers POST export_relations (batched=true starts a
// batched export). Every record is generated on download, so the export
// is ready once Options.ExportPendingPolls status answers have passed; a
// new POST restarts it.
func (s *Server) exportStart(w http.ResponseWriter, r *http.Request, p proj) {
	s.startExport(w, r, projectPortable(p))
}

func (s *Server) startExport(w http.ResponseWriter, r *http.Request, pt portable) {
	if s.exportOff(w) {
		return
	}
	batched := false
	if v := r.URL.Query().Get("batched"); v != "" {
		b, ok := grapeBool(v)
		if !ok {
			badRequest(w, "batched is invalid")
			return
		}
		batched = b
	}
	s.mu.Lock()
	s.exState().runs[exportKey{token(r), pt.kind, pt.id}] = &exportRun{batched: batched, polls: map[string]int{}}
	s.mu.Unlock()
	writeJSON(w, http.StatusAccepted, map[string]string{"message": "202 Accepted"})
}

// grapeBool parses a Grape Boolean parameter.
func grapeBool(v string) (value, ok bool) {
	switch v {
	case "true", "1", "t", "yes", "y":
		return true, true
	case "false", "0", "f", "no", "n":
		return false, true
	}
	return false, false
}

// exportStatus is lib/api/entities/bulk_imports/export_status.rb; batches
// is present only for a batched relation.
type exportStatus struct {
	Relation          string         `json:"relation"`
	Status            int            `json:"status"`
	Error             *string        `json:"error"`
	UpdatedAt         time.Time      `json:"updated_at"`
	Batched           bool           `json:"batched"`
	BatchesCount      int            `json:"batches_count"`
	TotalObjectsCount int            `json:"total_objects_count"`
	Batches           *[]batchStatus `json:"batches,omitempty"`
}

// batchStatus is lib/api/entities/bulk_imports/export_batch_status.rb.
type batchStatus struct {
	Status       int       `json:"status"`
	BatchNumber  int       `json:"batch_number"`
	ObjectsCount int       `json:"objects_count"`
	Error        *string   `json:"error"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// relationCount is the number of top-level records of rel.
func (s *Server) relationCount(pt portable, rel relation) int {
	n, _ := rel.records(s, pt)
	return n
}

// batches is how many batches a batched export splits n records into.
func (s *Server) batches(n int) int { return (n + s.batchSize() - 1) / s.batchSize() }

// poll answers whether rel of run is still being exported, and counts the
// answer: each (token, portable, relation) is started for
// ExportPendingPolls answers, then finished. Callers hold s.mu.
func (s *Server) poll(run *exportRun, rel string) bool {
	if slices.Contains(s.opts.ExportStuck, rel) {
		return true
	}
	if run.polls[rel] < s.opts.ExportPendingPolls {
		run.polls[rel]++
		return true
	}
	return false
}

// pending tells, without counting, whether rel of run is still exporting.
func (s *Server) pending(run *exportRun, rel string) bool {
	return run.polls[rel] < s.opts.ExportPendingPolls || slices.Contains(s.opts.ExportStuck, rel)
}

func (s *Server) statusOf(pt portable, run *exportRun, rel relation, pending bool) exportStatus {
	n := s.relationCount(pt, rel)
	st := exportStatus{Relation: rel.name, Status: exportFinished, UpdatedAt: scenario.Epoch(), TotalObjectsCount: n}
	switch {
	case slices.Contains(s.opts.ExportFailed, rel.name):
		st.Status, st.Error = exportFailed, new(string)
		*st.Error = ExportFailedError
	case pending:
		st.Status = exportStarted
	}
	if run.batched && rel.batchable {
		st.Batched, st.BatchesCount = true, s.batches(n)
		list := make([]batchStatus, 0, st.BatchesCount)
		for b := 1; b <= st.BatchesCount; b++ {
			list = append(list, batchStatus{Status: st.Status, BatchNumber: b,
				ObjectsCount: min(n, b*s.batchSize()) - (b-1)*s.batchSize(), UpdatedAt: scenario.Epoch()})
		}
		st.Batches = &list
	}
	return st
}

// exportStatus lists the user's exports of the project: none (an empty
// list) before one was started; with relation, that relation's export or
// 404 Export Not Found, as lib/api/project_export.rb answers.
func (s *Server) exportStatus(w http.ResponseWriter, r *http.Request, p proj) {
	s.statusFor(w, r, projectPortable(p))
}

// groupExportStatus is the group's export status (lib/api/group_export.rb);
// direct transfer also reads it to tell whether migration is enabled.
func (s *Server) groupExportStatus(w http.ResponseWriter, r *http.Request, g scenario.Group) {
	s.statusFor(w, r, groupPortable(g))
}

func (s *Server) statusFor(w http.ResponseWriter, r *http.Request, pt portable) {
	if s.exportOff(w) {
		return
	}
	key := exportKey{token(r), pt.kind, pt.id}
	if name := r.URL.Query().Get("relation"); name != "" {
		rel, known := s.findRelation(pt, name)
		if !known && pt.kind == "project" {
			badRequest(w, "relation does not have a valid value")
			return
		}
		s.mu.Lock()
		run := s.exState().runs[key]
		var pending bool
		if run != nil && known {
			pending = s.poll(run, name)
		}
		s.mu.Unlock()
		if run == nil || !known || slices.Contains(s.opts.ExportUnlisted, name) {
			notFound(w, "Export")
			return
		}
		writeJSON(w, http.StatusOK, s.statusOf(pt, run, rel, pending))
		return
	}
	rels := slices.DeleteFunc(slices.Clone(s.relationsOf(pt)), func(r relation) bool { return slices.Contains(s.opts.ExportUnlisted, r.name) })
	pending := make([]bool, len(rels))
	s.mu.Lock()
	run := s.exState().runs[key]
	if run != nil {
		for i, rel := range rels {
			pending[i] = s.poll(run, rel.name)
		}
	}
	s.mu.Unlock()
	out := make([]exportStatus, 0, len(rels))
	if run != nil {
		for i, rel := range rels {
			out = append(out, s.statusOf(pt, run, rel, pending[i]))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// exportDownload serves a relation, or one batch of it, as GitLab's
// importer fetches it: gzip, with Content-Length and a Content-Disposition
// file name (HEAD too). The gzip stream is written straight to the
// response; its length is computed once (a first, discarded compression)
// and remembered, as the file is a pure function of the scenario.
func (s *Server) exportDownload(w http.ResponseWriter, r *http.Request, p proj) {
	s.downloadFor(w, r, projectPortable(p))
}

func (s *Server) groupExportDownload(w http.ResponseWriter, r *http.Request, g scenario.Group) {
	s.downloadFor(w, r, groupPortable(g))
}

func (s *Server) downloadFor(w http.ResponseWriter, r *http.Request, pt portable) {
	if s.exportOff(w) {
		return
	}
	q := r.URL.Query()
	name := q.Get("relation")
	rel, known := s.findRelation(pt, name)
	switch {
	case name == "":
		badRequest(w, "relation is missing")
		return
	case !known && pt.kind == "project": // project_portable validates it
		badRequest(w, "relation does not have a valid value")
		return
	}
	// batched and batch_number: all or none (Grape's all_or_none_of).
	batchedParam, numberParam := q.Get("batched"), q.Get("batch_number")
	var batched bool
	var number int
	if batchedParam != "" {
		b, ok := grapeBool(batchedParam)
		if !ok {
			badRequest(w, "batched is invalid")
			return
		}
		batched = b
	}
	if numberParam != "" {
		n, err := strconv.Atoi(numberParam)
		if err != nil {
			badRequest(w, "batch_number is invalid")
			return
		}
		number = n
	}
	if (batchedParam == "") != (numberParam == "") {
		badRequest(w, "batched, batch_number provide all or none of parameters")
		return
	}
	s.mu.Lock()
	run := s.exState().runs[exportKey{token(r), pt.kind, pt.id}]
	var runBatched, pending bool
	if run != nil {
		runBatched, pending = run.batched && rel.batchable, s.pending(run, name)
	}
	s.mu.Unlock()
	if run == nil || !known || slices.Contains(s.opts.ExportUnlisted, name) {
		notFound(w, "Export")
		return
	}
	n := s.relationCount(pt, rel)
	lo, hi := 1, n
	file := rel.fileName()
	if batched {
		switch {
		case !runBatched:
			apiError(w, http.StatusBadRequest, "Export is not batched")
			return
		case number < 1 || number > s.batches(n):
			apiError(w, http.StatusNotFound, "Batch not found")
			return
		case pending:
			apiError(w, http.StatusNotFound, "Batch file not found")
			return
		}
		lo, hi = (number-1)*s.batchSize()+1, min(n, number*s.batchSize())
	} else {
		switch {
		case runBatched:
			apiError(w, http.StatusBadRequest, "Export is batched")
			return
		case pending:
			apiError(w, http.StatusNotFound, "Export file not found")
			return
		}
		number = 0
	}
	key := sizeKey{pt.kind, pt.id, name, number}
	s.mu.Lock()
	size, sized := s.exState().sizes[key]
	s.mu.Unlock()
	if !sized {
		var c countingWriter
		if err := rel.writeTo(s, &c, pt, lo, hi); err != nil {
			http.Error(w, fmt.Sprintf("encode %s: %v", name, err), http.StatusInternalServerError)
			return
		}
		size = c.n
		s.mu.Lock()
		s.exState().sizes[key] = size
		s.mu.Unlock()
	}
	w.Header().Set("Content-Type", "application/gzip")
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", file))
	w.WriteHeader(http.StatusOK)
	// HEAD writes the body too: net/http drops it, and middleware that
	// buffers responses (package traffic) sizes Content-Length from it.
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := rel.writeTo(s, bw, pt, lo, hi); err != nil {
		return // the headers are out; the short body tells the client
	}
	_ = bw.Flush()
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(b []byte) (int, error) {
	c.n += int64(len(b))
	return len(b), nil
}

// writeRelation writes records lo…hi of rel, gzipped, to w: self as one
// JSON object, the rest one record a line. A zero gzip header (no name,
// no time) keeps the bytes, so the length, stable.
func (s *Server) writeRelation(w io.Writer, pt portable, rel relation, lo, hi int) error {
	zw := gzip.NewWriter(w)
	enc := json.NewEncoder(zw) // Encode ends every value with a newline
	enc.SetEscapeHTML(false)
	_, at := rel.records(s, pt)
	for i := lo; i <= hi; i++ {
		if err := enc.Encode(at(i)); err != nil {
			return fmt.Errorf("record %d: %w", i, err)
		}
	}
	return zw.Close()
}

// exTime is a timestamp as GitLab's exports write it (Rails' as_json).
type exTime time.Time

const exTimeLayout = "2006-01-02T15:04:05.000Z"

func (t exTime) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(t).UTC().Format(exTimeLayout) + `"`), nil
}

func xt(t *time.Time) *exTime {
	if t == nil {
		return nil
	}
	v := exTime(*t)
	return &v
}

// The import_export.yml shapes: top-level records with their
// sub-relations embedded, under GitLab's exported attribute names.
// fakeforge keeps its own types: it simulates GitLab, not ferry.
type (
	exLabel struct {
		Title       string `json:"title"`
		Color       string `json:"color"`
		Description string `json:"description"`
		Type        string `json:"type"`
		Template    bool   `json:"template"`
		CreatedAt   exTime `json:"created_at"`
		UpdatedAt   exTime `json:"updated_at"`
	}
	exLabelLink struct {
		TargetType string  `json:"target_type"`
		CreatedAt  *exTime `json:"created_at"`
		UpdatedAt  *exTime `json:"updated_at"`
		Label      exLabel `json:"label"`
	}
	exMilestone struct {
		IID         int64   `json:"iid"`
		Title       string  `json:"title"`
		Description string  `json:"description"`
		State       string  `json:"state"`
		StartDate   *string `json:"start_date"`
		DueDate     *string `json:"due_date"`
		CreatedAt   *exTime `json:"created_at"`
		UpdatedAt   *exTime `json:"updated_at"`
	}
	exAward struct {
		Name          string  `json:"name"`
		UserID        int64   `json:"user_id"`
		AwardableType string  `json:"awardable_type"`
		CreatedAt     *exTime `json:"created_at"`
		UpdatedAt     *exTime `json:"updated_at"`
	}
	exAuthor struct {
		Name string `json:"name"`
	}
	exLinePosition struct {
		LineCode string `json:"line_code"`
		Type     string `json:"type,omitempty"`
		OldLine  *int64 `json:"old_line"`
		NewLine  *int64 `json:"new_line"`
	}
	exLineRange struct {
		Start exLinePosition `json:"start"`
		End   exLinePosition `json:"end"`
	}
	// exPosition is Gitlab::Diff::Position#to_h.
	exPosition struct {
		BaseSHA      string       `json:"base_sha"`
		StartSHA     string       `json:"start_sha"`
		HeadSHA      string       `json:"head_sha"`
		OldPath      string       `json:"old_path"`
		NewPath      string       `json:"new_path"`
		PositionType string       `json:"position_type"`
		OldLine      *int64       `json:"old_line"`
		NewLine      *int64       `json:"new_line"`
		LineRange    *exLineRange `json:"line_range,omitempty"`
	}
	exNote struct {
		Note             string      `json:"note"`
		NoteableType     string      `json:"noteable_type"`
		AuthorID         int64       `json:"author_id"`
		CreatedAt        *exTime     `json:"created_at"`
		UpdatedAt        *exTime     `json:"updated_at"`
		System           bool        `json:"system"`
		Internal         bool        `json:"internal"`
		Confidential     bool        `json:"confidential"`
		Type             *string     `json:"type"`
		DiscussionID     string      `json:"discussion_id"`
		CommitID         *string     `json:"commit_id"`
		Position         *exPosition `json:"position,omitempty"`
		OriginalPosition *exPosition `json:"original_position,omitempty"`
		ResolvedAt       *exTime     `json:"resolved_at"`
		ResolvedByID     *int64      `json:"resolved_by_id"`
		Author           exAuthor    `json:"author"`
		AwardEmoji       []exAward   `json:"award_emoji"`
	}
	exUserRef struct {
		UserID    int64   `json:"user_id"`
		CreatedAt *exTime `json:"created_at,omitempty"`
		UpdatedAt *exTime `json:"updated_at,omitempty"`
	}
	exIssue struct {
		IID              int64         `json:"iid"`
		Title            string        `json:"title"`
		Description      string        `json:"description"`
		State            string        `json:"state"`
		AuthorID         int64         `json:"author_id"`
		Confidential     bool          `json:"confidential"`
		DiscussionLocked bool          `json:"discussion_locked"`
		IssueType        string        `json:"issue_type"`
		CreatedAt        *exTime       `json:"created_at"`
		UpdatedAt        *exTime       `json:"updated_at"`
		ClosedAt         *exTime       `json:"closed_at"`
		ClosedByID       *int64        `json:"closed_by_id"`
		DueDate          *string       `json:"due_date"`
		Milestone        *exMilestone  `json:"milestone,omitempty"`
		LabelLinks       []exLabelLink `json:"label_links"`
		IssueAssignees   []exUserRef   `json:"issue_assignees"`
		AwardEmoji       []exAward     `json:"award_emoji"`
		Notes            []exNote      `json:"notes"`
		exEvents
	}
	exLabelEvent struct {
		Action    string  `json:"action"`
		UserID    int64   `json:"user_id"`
		CreatedAt *exTime `json:"created_at"`
		Label     exLabel `json:"label"`
	}
	exMilestoneEvent struct {
		Action    string       `json:"action"`
		UserID    int64        `json:"user_id"`
		State     string       `json:"state"`
		CreatedAt *exTime      `json:"created_at"`
		Milestone *exMilestone `json:"milestone"`
	}
	exStateEvent struct {
		UserID       int64   `json:"user_id"`
		State        string  `json:"state"`
		CreatedAt    *exTime `json:"created_at"`
		SourceCommit *string `json:"source_commit"`
	}
	// exEvents are the resource event lists an issue or merge request nests.
	exEvents struct {
		ResourceLabelEvents     []exLabelEvent     `json:"resource_label_events"`
		ResourceMilestoneEvents []exMilestoneEvent `json:"resource_milestone_events"`
		ResourceStateEvents     []exStateEvent     `json:"resource_state_events"`
	}
	exMetrics struct {
		MergedByID       *int64  `json:"merged_by_id"`
		MergedAt         *exTime `json:"merged_at"`
		LatestClosedByID *int64  `json:"latest_closed_by_id"`
		LatestClosedAt   *exTime `json:"latest_closed_at"`
		CreatedAt        *exTime `json:"created_at"`
		UpdatedAt        *exTime `json:"updated_at"`
	}
	exDiff struct {
		State          string  `json:"state"`
		BaseCommitSHA  string  `json:"base_commit_sha"`
		StartCommitSHA string  `json:"start_commit_sha"`
		HeadCommitSHA  string  `json:"head_commit_sha"`
		CreatedAt      *exTime `json:"created_at"`
		UpdatedAt      *exTime `json:"updated_at"`
	}
	exMergeRequest struct {
		IID                   int64         `json:"iid"`
		Title                 string        `json:"title"`
		Description           string        `json:"description"`
		State                 string        `json:"state"`
		AuthorID              int64         `json:"author_id"`
		SourceBranch          string        `json:"source_branch"`
		TargetBranch          string        `json:"target_branch"`
		SourceProjectID       int64         `json:"source_project_id"`
		TargetProjectID       int64         `json:"target_project_id"`
		Draft                 bool          `json:"draft"`
		DiscussionLocked      bool          `json:"discussion_locked"`
		MergeCommitSHA        *string       `json:"merge_commit_sha"`
		DiffHeadSHA           string        `json:"diff_head_sha"`
		SourceBranchSHA       string        `json:"source_branch_sha"`
		TargetBranchSHA       string        `json:"target_branch_sha"`
		CreatedAt             *exTime       `json:"created_at"`
		UpdatedAt             *exTime       `json:"updated_at"`
		Milestone             *exMilestone  `json:"milestone,omitempty"`
		Metrics               exMetrics     `json:"metrics"`
		MergeRequestDiff      exDiff        `json:"merge_request_diff"`
		LabelLinks            []exLabelLink `json:"label_links"`
		MergeRequestAssignees []exUserRef   `json:"merge_request_assignees"`
		MergeRequestReviewers []exUserRef   `json:"merge_request_reviewers"`
		Approvals             []exUserRef   `json:"approvals"`
		AwardEmoji            []exAward     `json:"award_emoji"`
		Notes                 []exNote      `json:"notes"`
		exEvents
	}
	exLink struct {
		URL      string `json:"url"`
		Name     string `json:"name"`
		Filepath string `json:"filepath,omitempty"`
		LinkType string `json:"link_type"`
	}
	exRelease struct {
		Tag         string   `json:"tag"`
		Name        string   `json:"name"`
		Description string   `json:"description"`
		SHA         string   `json:"sha"`
		AuthorID    *int64   `json:"author_id"`
		CreatedAt   *exTime  `json:"created_at"`
		ReleasedAt  *exTime  `json:"released_at"`
		Links       []exLink `json:"links"`
	}
	exAccessLevel struct {
		AccessLevel int `json:"access_level"`
	}
	exProtectedBranch struct {
		Name                      string          `json:"name"`
		AllowForcePush            bool            `json:"allow_force_push"`
		CodeOwnerApprovalRequired bool            `json:"code_owner_approval_required"`
		PushAccessLevels          []exAccessLevel `json:"push_access_levels"`
		MergeAccessLevels         []exAccessLevel `json:"merge_access_levels"`
		UnprotectAccessLevels     []exAccessLevel `json:"unprotect_access_levels"`
	}
	exMemberUser struct {
		ID          int64  `json:"id"`
		Username    string `json:"username"`
		PublicEmail string `json:"public_email"`
	}
	exMember struct {
		AccessLevel int          `json:"access_level"`
		SourceType  string       `json:"source_type"`
		UserID      int64        `json:"user_id"`
		CreatedAt   *exTime      `json:"created_at"`
		UpdatedAt   *exTime      `json:"updated_at"`
		CreatedByID *int64       `json:"created_by_id"`
		ExpiresAt   *string      `json:"expires_at"`
		User        exMemberUser `json:"user"`
	}
	exUser struct {
		ID          int64  `json:"id"`
		Username    string `json:"username"`
		Name        string `json:"name"`
		PublicEmail string `json:"public_email"`
	}
	exProjectSelf struct {
		Name            string   `json:"name"`
		Path            string   `json:"path"`
		Description     string   `json:"description"`
		VisibilityLevel int      `json:"visibility_level"`
		DefaultBranch   string   `json:"default_branch"`
		LFSEnabled      bool     `json:"lfs_enabled"`
		Topics          []string `json:"topics"`
		CreatedAt       *exTime  `json:"created_at"`
		UpdatedAt       *exTime  `json:"updated_at"`
	}
)

// visibilityLevels are GitLab's stored visibility integers.
var visibilityLevels = map[string]int{"private": 0, "internal": 10, "public": 20}

func (s *Server) exportSelf(p proj) exProjectSelf {
	pr := s.projectObj(p)
	return exProjectSelf{Name: pr.Name, Path: pr.Path, Description: pr.Description,
		VisibilityLevel: visibilityLevels[string(pr.Visibility)], DefaultBranch: pr.DefaultBranch,
		LFSEnabled: pr.LFSEnabled, Topics: pr.Topics, CreatedAt: xt(pr.CreatedAt), UpdatedAt: xt(pr.UpdatedAt)}
}

// exLabel is the label REST serves, with the export's type and times
// (REST serves none; the scenario's epoch stands in).
func (s *Server) exLabel(l labelView, typ string) exLabel {
	return exLabel{Title: l.Name, Color: l.Color, Description: l.Description, Type: typ,
		CreatedAt: exTime(scenario.Epoch()), UpdatedAt: exTime(scenario.Epoch())}
}

// labelView is what label exports read of a REST label (project or group).
type labelView struct{ Name, Color, Description string }

// isoDate renders a REST date ("2024-03-01") as the export does, or nil.
func isoDate(d *gl.ISOTime) *string {
	if d == nil {
		return nil
	}
	v := d.String()
	return &v
}

func (s *Server) exMilestone(p proj, i int) *exMilestone {
	m := s.milestoneObj(p, s.sc.Milestone(i))
	return &exMilestone{IID: m.IID, Title: m.Title, Description: m.Description, State: m.State,
		StartDate: isoDate(m.StartDate), DueDate: isoDate(m.DueDate),
		CreatedAt: xt(m.CreatedAt), UpdatedAt: xt(m.UpdatedAt)}
}

// exItemParts are what issues and merge requests share: label links (the
// labels REST names, as /labels serves them), award emoji (what
// /award_emoji serves) and the milestone (REST's nested milestone).
func (s *Server) exItemParts(p proj, it scenario.Item, kind string) (labels []exLabelLink, awards []exAward, ms *exMilestone) {
	labels, awards = []exLabelLink{}, []exAward{}
	for _, l := range it.Labels {
		lo := s.labelObj(p, l)
		labels = append(labels, exLabelLink{TargetType: kind, CreatedAt: xt(&it.Created), UpdatedAt: xt(&it.Created),
			Label: s.exLabel(labelView{lo.Name, lo.Color, lo.Description}, "ProjectLabel")})
	}
	for _, x := range it.Reactions {
		awards = append(awards, exAward{Name: emojiNames[x.Content], UserID: x.User.ID, AwardableType: kind,
			CreatedAt: xt(&x.Created), UpdatedAt: xt(&x.Created)})
	}
	if it.Milestone > 0 {
		ms = s.exMilestone(p, it.Milestone)
	}
	return labels, awards, ms
}

// exEventsOf is item n's resource events (itemEvents) as the export
// nests them.
func (s *Server) exEventsOf(p proj, n int, it scenario.Item) exEvents {
	out := exEvents{ResourceLabelEvents: []exLabelEvent{}, ResourceMilestoneEvents: []exMilestoneEvent{}, ResourceStateEvents: []exStateEvent{}}
	for _, ev := range s.itemEvents(n, it) {
		at := xt(&ev.created)
		switch ev.kind {
		case "label":
			lo := s.labelObj(p, ev.label)
			out.ResourceLabelEvents = append(out.ResourceLabelEvents, exLabelEvent{Action: ev.action, UserID: ev.actor.ID, CreatedAt: at,
				Label: s.exLabel(labelView{lo.Name, lo.Color, lo.Description}, "ProjectLabel")})
		case "milestone":
			out.ResourceMilestoneEvents = append(out.ResourceMilestoneEvents, exMilestoneEvent{Action: ev.action, UserID: ev.actor.ID,
				State: "opened", CreatedAt: at, Milestone: s.exMilestone(p, ev.milestone)})
		case "state":
			out.ResourceStateEvents = append(out.ResourceStateEvents, exStateEvent{UserID: ev.actor.ID, State: ev.state, CreatedAt: at})
		}
	}
	return out
}

func linePtr(v int64) *int64 {
	if v == 0 {
		return nil
	}
	return &v
}

func exPositionOf(n note) *exPosition {
	pos := n.Position
	if pos == nil {
		return nil
	}
	out := &exPosition{BaseSHA: pos.BaseSHA, StartSHA: pos.StartSHA, HeadSHA: pos.HeadSHA, OldPath: pos.OldPath,
		NewPath: pos.NewPath, PositionType: pos.PositionType, OldLine: linePtr(pos.OldLine), NewLine: linePtr(pos.NewLine)}
	if lr := pos.LineRange; lr != nil && lr.StartRange != nil && lr.EndRange != nil {
		out.LineRange = &exLineRange{
			Start: exLinePosition{LineCode: lr.StartRange.LineCode, Type: lr.StartRange.Type,
				OldLine: linePtr(lr.StartRange.OldLine), NewLine: linePtr(lr.StartRange.NewLine)},
			End: exLinePosition{LineCode: lr.EndRange.LineCode, Type: lr.EndRange.Type,
				OldLine: linePtr(lr.EndRange.OldLine), NewLine: linePtr(lr.EndRange.NewLine)}}
	}
	return out
}

// exNoteOf is note n as REST serves it, in the discussion REST groups it
// in, with the award emoji its /award_emoji serves (none: the scenario
// puts no reactions on notes, and noteAwardEmoji lists none).
func exNoteOf(n note, discussion string) exNote {
	out := exNote{Note: n.Body, NoteableType: n.NoteableType, AuthorID: n.Author.ID, CreatedAt: xt(n.CreatedAt),
		UpdatedAt: xt(n.UpdatedAt), System: n.System, Internal: n.Internal, Confidential: n.Confidential || n.Internal,
		Type: n.Type, DiscussionID: discussion, Position: exPositionOf(n), OriginalPosition: exPositionOf(n),
		Author: exAuthor{Name: n.Author.Name}, AwardEmoji: []exAward{}}
	if n.CommitID != "" {
		out.CommitID = &n.CommitID
	}
	if n.Resolved || n.ResolvedAt != nil {
		out.ResolvedAt = xt(n.ResolvedAt)
		if n.ResolvedBy.ID != 0 {
			out.ResolvedByID = &n.ResolvedBy.ID
		}
	}
	return out
}

// issueNotes is every note of issue j's discussions, in REST's order:
// each comment is an individual note (issueDiscussions).
func (s *Server) exIssueNotes(p proj, j int) []exNote {
	out := []exNote{}
	lo, hi := s.sc.ItemComments(s.sc.IssueNumber(j))
	on := s.issueNoteable(p, j)
	for c := lo; c <= hi; c++ {
		n := s.commentNote(p, on, c)
		out = append(out, exNoteOf(n, discussionID(p, "issue", n.ID)))
	}
	return out
}

// exMRNotes is every note of merge request j's discussions, grouped as
// mrDiscussions groups them: diff threads of a comment and its reply,
// then each conversation comment on its own.
func (s *Server) exMRNotes(p proj, j int) []exNote {
	out := []exNote{}
	per := s.sc.Config().ReviewCommentsPerPR
	for d := range s.mrThreads() {
		root := s.mrNoteAt(p, j, 2*d)
		id := discussionID(p, "mr", root.ID)
		out = append(out, exNoteOf(root, id))
		if 2*d+1 < per {
			out = append(out, exNoteOf(s.mrNoteAt(p, j, 2*d+1), id))
		}
	}
	for k := per; k < per+s.sc.Config().CommentsPerItem; k++ {
		n := s.mrNoteAt(p, j, k)
		out = append(out, exNoteOf(n, discussionID(p, "mr", n.ID)))
	}
	return out
}

func (s *Server) exIssue(p proj, j int) exIssue {
	iss := s.issueObj(p, j)
	it := s.sc.Item(s.sc.IssueNumber(j))
	out := exIssue{IID: iss.IID, Title: iss.Title, Description: iss.Description, State: iss.State, AuthorID: iss.Author.ID,
		Confidential: iss.Confidential, DiscussionLocked: iss.DiscussionLocked, IssueType: "issue",
		CreatedAt: xt(iss.CreatedAt), UpdatedAt: xt(iss.UpdatedAt), ClosedAt: xt(iss.ClosedAt),
		IssueAssignees: []exUserRef{}, Notes: s.exIssueNotes(p, j)}
	if iss.IssueType != nil {
		out.IssueType = *iss.IssueType
	}
	if iss.ClosedBy != nil {
		out.ClosedByID = &iss.ClosedBy.ID
	}
	out.DueDate = isoDate(iss.DueDate)
	out.LabelLinks, out.AwardEmoji, out.Milestone = s.exItemParts(p, it, "Issue")
	out.exEvents = s.exEventsOf(p, s.sc.IssueNumber(j), it)
	for _, a := range iss.Assignees {
		out.IssueAssignees = append(out.IssueAssignees, exUserRef{UserID: a.ID})
	}
	return out
}

func (s *Server) exMergeRequest(p proj, j int) exMergeRequest {
	mr := s.mrObj(p, j)
	it := s.sc.Item(s.sc.PRNumber(j))
	out := exMergeRequest{IID: mr.IID, Title: mr.Title, Description: mr.Description, State: mr.State, AuthorID: mr.Author.ID,
		SourceBranch: mr.SourceBranch, TargetBranch: mr.TargetBranch, SourceProjectID: mr.SourceProjectID,
		TargetProjectID: mr.TargetProjectID, Draft: mr.Draft, DiscussionLocked: mr.DiscussionLocked,
		DiffHeadSHA: mr.DiffRefs.HeadSha, SourceBranchSHA: mr.DiffRefs.HeadSha, TargetBranchSHA: mr.DiffRefs.BaseSha,
		CreatedAt: xt(mr.CreatedAt), UpdatedAt: xt(mr.UpdatedAt),
		Metrics: exMetrics{MergedAt: xt(mr.MergedAt), LatestClosedAt: xt(mr.ClosedAt), CreatedAt: xt(mr.CreatedAt),
			UpdatedAt: xt(mr.UpdatedAt)},
		MergeRequestDiff: exDiff{State: "collected", BaseCommitSHA: mr.DiffRefs.BaseSha, StartCommitSHA: mr.DiffRefs.StartSha,
			HeadCommitSHA: mr.DiffRefs.HeadSha, CreatedAt: xt(mr.CreatedAt), UpdatedAt: xt(mr.UpdatedAt)},
		MergeRequestAssignees: []exUserRef{}, MergeRequestReviewers: []exUserRef{}, Approvals: []exUserRef{},
		Notes: s.exMRNotes(p, j)}
	if mr.MergeCommitSHA != "" {
		out.MergeCommitSHA = &mr.MergeCommitSHA
	}
	out.LabelLinks, out.AwardEmoji, out.Milestone = s.exItemParts(p, it, "MergeRequest")
	out.exEvents = s.exEventsOf(p, s.sc.PRNumber(j), it)
	if mr.MergedBy != nil {
		out.Metrics.MergedByID = &mr.MergedBy.ID
	} else if mr.MergeUser != nil {
		out.Metrics.MergedByID = &mr.MergeUser.ID
	}
	if mr.ClosedBy != nil {
		out.Metrics.LatestClosedByID = &mr.ClosedBy.ID
	}
	for _, a := range mr.Assignees {
		out.MergeRequestAssignees = append(out.MergeRequestAssignees, exUserRef{UserID: a.ID})
	}
	for _, u := range mr.Reviewers {
		out.MergeRequestReviewers = append(out.MergeRequestReviewers, exUserRef{UserID: u.ID})
	}
	// approvals are what /approvals lists in approved_by.
	lo, hi := s.sc.PRReviews(j)
	for k := lo; k <= hi; k++ {
		if rv := s.sc.Review(k); rv.State == "APPROVED" {
			out.Approvals = append(out.Approvals, exUserRef{UserID: rv.Author.ID, CreatedAt: xt(&rv.Submitted),
				UpdatedAt: xt(&rv.Submitted)})
		}
	}
	return out
}

func (s *Server) exRelease(p proj, i int) exRelease {
	rel := s.releaseObj(p, i)
	out := exRelease{Tag: rel.TagName, Name: rel.Name, Description: rel.Description, AuthorID: &rel.Author.ID,
		SHA: rel.Commit.ID, CreatedAt: xt(rel.CreatedAt), ReleasedAt: xt(rel.ReleasedAt), Links: []exLink{}}
	prefix := s.assetURL(p, rel.TagName, "")
	for _, l := range rel.Assets.Links {
		link := exLink{Name: l.Name, URL: l.URL, LinkType: string(l.LinkType)}
		// filepath is the direct asset path: what follows …/downloads.
		if len(l.DirectAssetURL) > len(prefix) && l.DirectAssetURL[:len(prefix)] == prefix {
			link.Filepath = "/" + l.DirectAssetURL[len(prefix):]
		}
		out.Links = append(out.Links, link)
	}
	return out
}

// exProtectedBranch is branch b as protectedBranches serves it: main lets
// developers merge, the rest only maintainers; maintainers push and
// unprotect; force pushes on feature branches only.
func (s *Server) exProtectedBranch(_ proj, b int) exProtectedBranch {
	merge := 40
	if b == 0 {
		merge = 30
	}
	return exProtectedBranch{Name: s.sc.Branch(b).Name, AllowForcePush: b > 0, CodeOwnerApprovalRequired: false,
		PushAccessLevels: []exAccessLevel{{40}}, MergeAccessLevels: []exAccessLevel{{merge}},
		UnprotectAccessLevels: []exAccessLevel{{40}}}
}

// exMember is member i as /members/all serves it.
func (s *Server) exMember(i int, sourceType string) exMember {
	m := s.memberObj(i)
	u := s.sc.User(i)
	out := exMember{AccessLevel: int(m.AccessLevel), SourceType: sourceType, UserID: m.ID, CreatedAt: xt(m.CreatedAt),
		UpdatedAt: xt(m.CreatedAt), User: exMemberUser{ID: m.ID, Username: m.Username, PublicEmail: u.Email}}
	if m.CreatedBy != nil {
		out.CreatedByID = &m.CreatedBy.ID
	}
	out.ExpiresAt = isoDate(m.ExpiresAt)
	return out
}
