package gitlab

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry/fakeforge/scenario"
	nd "github.com/ferry-import/ferry/forge/gitlabndjson"
)

// exportScenario is small but has every shape: closed and merged items,
// due dates, reactions, diff threads with and without a reply, approvals.
func exportScenario(t *testing.T) *scenario.Scenario {
	t.Helper()
	c, err := scenario.Preset("small", 7)
	if err != nil {
		t.Fatal(err)
	}
	c.Issues, c.PullRequests = 9, 7
	c.CommentsPerItem, c.ReviewCommentsPerPR, c.ReviewsPerPR = 2, 3, 2
	c.ReactionsEvery = 2
	sc, err := scenario.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// exportClient talks to a simulated GitLab over loopback HTTP.
type exportClient struct {
	t     *testing.T
	api   string
	token string
}

func startExportServer(t *testing.T, sc *scenario.Scenario, opts Options) (*httptest.Server, exportClient) {
	t.Helper()
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	opts.Scenario, opts.BaseURL, opts.Tokens = sc, srv.URL, []string{"tok", "tok2"}
	h = New(opts)
	return srv, exportClient{t: t, api: srv.URL + "/api/v4", token: "tok"}
}

func (c exportClient) as(token string) exportClient { c.token = token; return c }

func (c exportClient) do(method, path string) (int, []byte, http.Header) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.api+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("PRIVATE-TOKEN", c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp.StatusCode, b, resp.Header
}

// get decodes a REST answer; lists are read with per_page=100, which
// covers every list of the test scenario (checked with X-Total-Pages).
func (c exportClient) get(path string, v any) {
	c.t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	st, b, h := c.do(http.MethodGet, path+sep+"per_page=100")
	if st != http.StatusOK {
		c.t.Fatalf("GET %s: %d %s", path, st, b)
	}
	if tp := h.Get("X-Total-Pages"); tp != "" && tp != "1" {
		c.t.Fatalf("GET %s: %s pages", path, tp)
	}
	if err := json.Unmarshal(b, v); err != nil {
		c.t.Fatalf("GET %s: %v", path, err)
	}
}

func (c exportClient) start(portable string, batched bool) {
	c.t.Helper()
	q := ""
	if batched {
		q = "?batched=true"
	}
	if st, b, _ := c.do(http.MethodPost, portable+"/export_relations"+q); st != http.StatusAccepted {
		c.t.Fatalf("POST %s/export_relations%s: %d %s", portable, q, st, b)
	}
}

// download fetches a relation (batch 0) or one batch, checks HEAD agrees
// on the headers, and returns the gunzipped bytes.
func (c exportClient) download(portable, rel string, batch int) []byte {
	c.t.Helper()
	path := portable + "/export_relations/download?relation=" + rel
	if batch > 0 {
		path += "&batched=true&batch_number=" + strconv.Itoa(batch)
	}
	st, b, h := c.do(http.MethodGet, path)
	if st != http.StatusOK {
		c.t.Fatalf("GET %s: %d %s", path, st, b)
	}
	_, _, head := c.do(http.MethodHead, path)
	name := rel + ".ndjson.gz"
	switch rel {
	case "self":
		name = "self.json.gz"
	case "uploads":
		name = "uploads.tar.gz"
	}
	if h.Get("Content-Type") != "application/gzip" || h.Get("Content-Length") != strconv.Itoa(len(b)) ||
		head.Get("Content-Length") != h.Get("Content-Length") ||
		h.Get("Content-Disposition") != `attachment; filename="`+name+`"` {
		c.t.Errorf("GET %s: %d bytes, headers %v, HEAD %v", path, len(b), h, head)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		c.t.Fatalf("%s: %v", path, err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		c.t.Fatalf("%s: %v", path, err)
	}
	return raw
}

// records decodes NDJSON lines with ferry's record types.
func records[T any](t *testing.T, raw []byte) []T {
	t.Helper()
	var out []T
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var v T
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("line %d: %v: %s", len(out)+1, err, sc.Bytes())
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// Renderings that make the export's and REST's values comparable.
func ts(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "<nil>"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func nt(t *nd.Time) string {
	if t == nil {
		return "<nil>"
	}
	return ts(&t.Time)
}

func nv(t nd.Time) string { return nt(&t) }

func ip(v *int64) string {
	if v == nil {
		return "<nil>"
	}
	return strconv.FormatInt(*v, 10)
}

func sp(v *string) string {
	if v == nil {
		return ""
	}
	return *v
}

func iso(d *gl.ISOTime) string {
	if d == nil {
		return ""
	}
	return d.String()
}

// cmp records mismatches of one object, field by field.
type cmp struct {
	t     *testing.T
	where string
}

func (c cmp) eq(field string, export, rest any) {
	c.t.Helper()
	if e, r := fmt.Sprint(export), fmt.Sprint(rest); e != r {
		c.t.Errorf("%s %s: export %q, REST %q", c.where, field, e, r)
	}
}

func (c cmp) in(sub string) cmp { return cmp{c.t, c.where + " " + sub} }

func (c cmp) milestone(ex *nd.Milestone, rest *gl.Milestone) {
	c.t.Helper()
	if (ex == nil) != (rest == nil) {
		c.t.Errorf("%s milestone: export %v, REST %v", c.where, ex, rest)
		return
	}
	if ex == nil {
		return
	}
	m := c.in("milestone")
	m.eq("iid", ex.IID, rest.IID)
	m.eq("title", ex.Title, rest.Title)
	m.eq("description", ex.Description, rest.Description)
	m.eq("state", ex.State, rest.State)
	m.eq("start_date", sp(ex.StartDate), iso(rest.StartDate))
	m.eq("due_date", sp(ex.DueDate), iso(rest.DueDate))
	m.eq("created_at", nv(ex.CreatedAt), ts(rest.CreatedAt))
	m.eq("updated_at", nv(ex.UpdatedAt), ts(rest.UpdatedAt))
}

// labels compares label links with the labels REST names on the item and
// serves on /labels.
func (c cmp) labels(ex []nd.LabelLink, kind string, names []string, byName map[string]*gl.Label) {
	c.t.Helper()
	var got []string
	for _, l := range ex {
		got = append(got, l.Label.Title)
		rest := byName[l.Label.Title]
		if rest == nil {
			c.t.Errorf("%s label %q is not on /labels", c.where, l.Label.Title)
			continue
		}
		lc := c.in("label " + l.Label.Title)
		lc.eq("target_type", l.TargetType, kind)
		lc.eq("color", l.Label.Color, rest.Color)
		lc.eq("description", l.Label.Description, rest.Description)
		lc.eq("type", l.Label.Type, nd.ProjectLabel)
	}
	c.eq("labels", got, names)
}

func (c cmp) awards(ex []nd.AwardEmoji, rest []gl.AwardEmoji) {
	c.t.Helper()
	if len(ex) != len(rest) {
		c.t.Errorf("%s: %d award emoji, REST %d", c.where, len(ex), len(rest))
		return
	}
	for k := range ex {
		a := c.in(fmt.Sprintf("award %d", k))
		a.eq("name", ex[k].Name, rest[k].Name)
		a.eq("user_id", ex[k].UserID, rest[k].User.ID)
		a.eq("awardable_type", ex[k].AwardableType, rest[k].AwardableType)
		a.eq("created_at", nv(ex[k].CreatedAt), ts(rest[k].CreatedAt))
		a.eq("updated_at", nv(ex[k].UpdatedAt), ts(rest[k].UpdatedAt))
	}
}

// notes compares an item's notes with every note of its REST discussions,
// in order, with each note's own award emoji.
func (c cmp) notes(cl exportClient, ex []nd.Note, itemPath string) {
	c.t.Helper()
	var discussions []gl.Discussion
	cl.get(itemPath+"/discussions", &discussions)
	type restNote struct {
		n          *gl.Note
		discussion string
	}
	var rest []restNote
	for _, d := range discussions {
		for _, n := range d.Notes {
			rest = append(rest, restNote{n, d.ID})
		}
	}
	if len(ex) != len(rest) {
		c.t.Errorf("%s: %d notes, REST discussions hold %d", c.where, len(ex), len(rest))
		return
	}
	for k, e := range ex {
		r := rest[k].n
		n := c.in(fmt.Sprintf("note %d", r.ID))
		n.eq("note", e.Note, r.Body)
		n.eq("author_id", e.AuthorID, r.Author.ID)
		n.eq("author.name", e.Author.Name, r.Author.Name)
		n.eq("created_at", nv(e.CreatedAt), ts(r.CreatedAt))
		n.eq("updated_at", nv(e.UpdatedAt), ts(r.UpdatedAt))
		n.eq("system", e.System, r.System)
		n.eq("internal", e.Internal, r.Internal)
		n.eq("noteable_type", e.NoteableType, r.NoteableType)
		n.eq("type", sp(e.Type), string(r.Type))
		n.eq("discussion_id", e.DiscussionID, rest[k].discussion)
		n.eq("resolved_at", nt(e.ResolvedAt), ts(r.ResolvedAt))
		var resolvedBy int64
		if e.ResolvedByID != nil {
			resolvedBy = *e.ResolvedByID
		}
		n.eq("resolved_by_id", resolvedBy, r.ResolvedBy.ID)
		if (e.Position == nil) != (r.Position == nil) {
			c.t.Errorf("%s position: export %v, REST %v", n.where, e.Position, r.Position)
		} else if e.Position != nil {
			p, q := e.Position, r.Position
			pc := n.in("position")
			pc.eq("base_sha", p.BaseSHA, q.BaseSHA)
			pc.eq("start_sha", p.StartSHA, q.StartSHA)
			pc.eq("head_sha", p.HeadSHA, q.HeadSHA)
			pc.eq("old_path", p.OldPath, q.OldPath)
			pc.eq("new_path", p.NewPath, q.NewPath)
			pc.eq("position_type", p.PositionType, q.PositionType)
			var oldLine, newLine int64
			if p.OldLine != nil {
				oldLine = *p.OldLine
			}
			if p.NewLine != nil {
				newLine = *p.NewLine
			}
			pc.eq("old_line", oldLine, q.OldLine)
			pc.eq("new_line", newLine, q.NewLine)
		}
		var awards []gl.AwardEmoji
		cl.get(fmt.Sprintf("%s/notes/%d/award_emoji", itemPath, r.ID), &awards)
		n.awards(e.AwardEmoji, awards)
	}
}

// refs compares user_id rows with REST's users, in order.
func (c cmp) refs(field string, ex []nd.UserRef, rest []int64) {
	c.t.Helper()
	var got []int64
	for _, r := range ex {
		got = append(got, r.UserID)
	}
	c.eq(field, got, rest)
}

// contributors collects the user ids a relation's records reference.
type contributors map[int64]string

func (u contributors) add(id int64, what string) {
	if id != 0 {
		if _, ok := u[id]; !ok {
			u[id] = what
		}
	}
}

func (u contributors) addPtr(id *int64, what string) {
	if id != nil {
		u.add(*id, what)
	}
}

func (u contributors) notes(ns []nd.Note, what string) {
	for _, n := range ns {
		u.add(n.AuthorID, what+" note author")
		u.addPtr(n.ResolvedByID, what+" note resolver")
		for _, a := range n.AwardEmoji {
			u.add(a.UserID, what+" note emoji")
		}
	}
}

// TestExportMatchesREST imports one project and one group through both
// doors and compares, relation by relation and field by field.
func TestExportMatchesREST(t *testing.T) {
	sc := exportScenario(t)
	_, cl := startExportServer(t, sc, Options{})
	p := sc.Projects()[len(sc.Projects())-1]
	g := sc.Groups()[len(sc.Groups())-1]
	proj := fmt.Sprintf("/projects/%d", p.ID)
	grp := fmt.Sprintf("/groups/%d", g.ID)
	cl.start(proj, false)
	cl.start(grp, false)

	var restLabels []*gl.Label
	cl.get(proj+"/labels", &restLabels)
	labelByName := map[string]*gl.Label{}
	for _, l := range restLabels {
		labelByName[l.Name] = l
	}
	users := contributors{}
	var groupUsers = contributors{}
	var members []*gl.ProjectMember
	cl.get(proj+"/members/all", &members)
	publicEmail := func(id int64) string {
		var u gl.User
		cl.get(fmt.Sprintf("/users/%d", id), &u)
		return u.PublicEmail
	}
	compareMembers := func(t *testing.T, ex []nd.Member, sourceType string, users contributors) {
		if len(ex) != len(members) {
			t.Fatalf("%d members, REST %d", len(ex), len(members))
		}
		for k, m := range ex {
			r := members[k]
			c := cmp{t, fmt.Sprintf("member %d", r.ID)}
			c.eq("user_id", m.UserID, r.ID)
			c.eq("access_level", m.AccessLevel, int(r.AccessLevel))
			c.eq("source_type", m.SourceType, sourceType)
			c.eq("user.id", m.User.ID, r.ID)
			c.eq("user.username", m.User.Username, r.Username)
			c.eq("user.public_email", m.User.PublicEmail, publicEmail(r.ID))
			c.eq("created_at", nv(m.CreatedAt), ts(r.CreatedAt))
			c.eq("expires_at", sp(m.ExpiresAt), iso(r.ExpiresAt))
			var createdBy int64
			if r.CreatedBy != nil {
				createdBy = r.CreatedBy.ID
			}
			c.eq("created_by_id", ip(m.CreatedByID), ip(&createdBy))
			users.add(m.UserID, "member")
			users.addPtr(m.CreatedByID, "member creator")
		}
	}
	checkContributions := func(t *testing.T, ex []nd.UserContribution, want contributors) {
		got := map[int64]nd.UserContribution{}
		for k, u := range ex {
			if k > 0 && ex[k-1].ID >= u.ID {
				t.Errorf("user_contributions not ordered by id at %d", u.ID)
			}
			got[u.ID] = u
		}
		for id, what := range want {
			u, ok := got[id]
			if !ok {
				t.Errorf("user %d (%s) missing from user_contributions", id, what)
				continue
			}
			var rest gl.User
			if id == tokenUserID {
				cl.get("/user", &rest)
			} else {
				cl.get(fmt.Sprintf("/users/%d", id), &rest)
			}
			c := cmp{t, fmt.Sprintf("user %d", id)}
			c.eq("username", u.Username, rest.Username)
			c.eq("name", u.Name, rest.Name)
			c.eq("public_email", u.PublicEmail, rest.PublicEmail)
		}
		for id := range got {
			if _, ok := want[id]; !ok {
				t.Errorf("user_contributions lists user %d, referenced nowhere", id)
			}
		}
	}

	// The relations run in order: user_contributions checks the users the
	// others collected.
	for _, tt := range []struct {
		rel   string
		check func(t *testing.T, raw []byte)
	}{
		{"self", func(t *testing.T, raw []byte) {
			var self nd.ProjectSelf
			if err := json.Unmarshal(raw, &self); err != nil {
				t.Fatal(err)
			}
			var rest gl.Project
			cl.get(proj, &rest)
			c := cmp{t, "self"}
			c.eq("name", self.Name, rest.Name)
			c.eq("path", self.Path, rest.Path)
			c.eq("description", self.Description, rest.Description)
			c.eq("visibility_level", self.VisibilityLevel, nd.VisibilityPrivate)
			c.eq("default_branch", self.DefaultBranch, rest.DefaultBranch)
			c.eq("created_at", nv(self.CreatedAt), ts(rest.CreatedAt))
		}},
		{"labels", func(t *testing.T, raw []byte) {
			ex := records[nd.Label](t, raw)
			if len(ex) != len(restLabels) {
				t.Fatalf("%d labels, REST %d", len(ex), len(restLabels))
			}
			for k, l := range ex {
				c := cmp{t, "label " + l.Title}
				c.eq("title", l.Title, restLabels[k].Name)
				c.eq("color", l.Color, restLabels[k].Color)
				c.eq("description", l.Description, restLabels[k].Description)
				c.eq("type", l.Type, nd.ProjectLabel)
			}
		}},
		{"milestones", func(t *testing.T, raw []byte) {
			ex := records[nd.Milestone](t, raw)
			var rest []*gl.Milestone
			cl.get(proj+"/milestones", &rest)
			if len(ex) != len(rest) {
				t.Fatalf("%d milestones, REST %d", len(ex), len(rest))
			}
			for k := range ex {
				cmp{t, fmt.Sprintf("milestone %d", rest[k].IID)}.milestone(&ex[k], rest[k])
			}
		}},
		{"issues", func(t *testing.T, raw []byte) {
			ex := records[nd.Issue](t, raw)
			if len(ex) != sc.Config().Issues {
				t.Fatalf("%d issues, want %d", len(ex), sc.Config().Issues)
			}
			var dueDates, closed, awarded int
			for k, e := range ex {
				path := fmt.Sprintf("%s/issues/%d", proj, k+1)
				var r gl.Issue
				cl.get(path, &r)
				c := cmp{t, fmt.Sprintf("issue %d", r.IID)}
				c.eq("iid", e.IID, r.IID)
				c.eq("title", e.Title, r.Title)
				c.eq("description", e.Description, r.Description)
				c.eq("state", e.State, r.State)
				c.eq("author_id", e.AuthorID, r.Author.ID)
				c.eq("confidential", e.Confidential, r.Confidential)
				c.eq("discussion_locked", e.DiscussionLocked, r.DiscussionLocked)
				c.eq("issue_type", e.IssueType, sp(r.IssueType))
				c.eq("created_at", nv(e.CreatedAt), ts(r.CreatedAt))
				c.eq("updated_at", nv(e.UpdatedAt), ts(r.UpdatedAt))
				c.eq("closed_at", nt(e.ClosedAt), ts(r.ClosedAt))
				var closedBy *int64
				if r.ClosedBy != nil {
					closedBy = &r.ClosedBy.ID
				}
				c.eq("closed_by_id", ip(e.ClosedByID), ip(closedBy))
				c.eq("due_date", sp(e.DueDate), iso(r.DueDate))
				c.milestone(e.Milestone, r.Milestone)
				c.labels(e.LabelLinks, "Issue", r.Labels, labelByName)
				var assignees []int64
				for _, a := range r.Assignees {
					assignees = append(assignees, a.ID)
				}
				c.refs("issue_assignees", e.IssueAssignees, assignees)
				var awards []gl.AwardEmoji
				cl.get(path+"/award_emoji", &awards)
				c.awards(e.AwardEmoji, awards)
				c.notes(cl, e.Notes, path)

				users.add(e.AuthorID, "issue author")
				users.addPtr(e.ClosedByID, "issue closer")
				for _, a := range e.IssueAssignees {
					users.add(a.UserID, "issue assignee")
				}
				for _, a := range e.AwardEmoji {
					users.add(a.UserID, "issue emoji")
				}
				users.notes(e.Notes, "issue")
				if e.DueDate != nil {
					dueDates++
				}
				if e.ClosedAt != nil {
					closed++
				}
				if len(e.AwardEmoji) > 0 {
					awarded++
				}
			}
			if dueDates == 0 || closed == 0 || awarded == 0 {
				t.Errorf("scenario too thin: %d due dates, %d closed, %d with emoji", dueDates, closed, awarded)
			}
		}},
		{"merge_requests", func(t *testing.T, raw []byte) {
			ex := records[nd.MergeRequest](t, raw)
			if len(ex) != sc.Config().PullRequests {
				t.Fatalf("%d merge requests, want %d", len(ex), sc.Config().PullRequests)
			}
			var merged, closed, approved, replies int
			for k, e := range ex {
				path := fmt.Sprintf("%s/merge_requests/%d", proj, k+1)
				var r gl.MergeRequest
				cl.get(path, &r)
				c := cmp{t, fmt.Sprintf("merge request %d", r.IID)}
				c.eq("iid", e.IID, r.IID)
				c.eq("title", e.Title, r.Title)
				c.eq("description", e.Description, r.Description)
				c.eq("state", e.State, r.State)
				c.eq("author_id", e.AuthorID, r.Author.ID)
				c.eq("source_branch", e.SourceBranch, r.SourceBranch)
				c.eq("target_branch", e.TargetBranch, r.TargetBranch)
				c.eq("source_project_id", e.SourceProjectID, r.SourceProjectID)
				c.eq("target_project_id", e.TargetProjectID, r.TargetProjectID)
				c.eq("draft", e.Draft, r.Draft)
				c.eq("discussion_locked", e.DiscussionLocked, r.DiscussionLocked)
				c.eq("merge_commit_sha", sp(e.MergeCommitSHA), r.MergeCommitSHA)
				c.eq("diff_head_sha", e.DiffHeadSHA, r.DiffRefs.HeadSha)
				c.eq("created_at", nv(e.CreatedAt), ts(r.CreatedAt))
				c.eq("updated_at", nv(e.UpdatedAt), ts(r.UpdatedAt))
				d := c.in("merge_request_diff")
				d.eq("base_commit_sha", e.MergeRequestDiff.BaseCommitSHA, r.DiffRefs.BaseSha)
				d.eq("start_commit_sha", e.MergeRequestDiff.StartCommitSHA, r.DiffRefs.StartSha)
				d.eq("head_commit_sha", e.MergeRequestDiff.HeadCommitSHA, r.DiffRefs.HeadSha)
				d.eq("state", e.MergeRequestDiff.State, "collected")
				m := c.in("metrics")
				var mergedBy, closedBy *int64
				if r.MergedBy != nil {
					mergedBy = &r.MergedBy.ID
				}
				if r.ClosedBy != nil {
					closedBy = &r.ClosedBy.ID
				}
				m.eq("merged_by_id", ip(e.Metrics.MergedByID), ip(mergedBy))
				m.eq("merged_at", nt(e.Metrics.MergedAt), ts(r.MergedAt))
				m.eq("latest_closed_by_id", ip(e.Metrics.LatestClosedByID), ip(closedBy))
				m.eq("latest_closed_at", nt(e.Metrics.LatestClosedAt), ts(r.ClosedAt))
				c.milestone(e.Milestone, r.Milestone)
				c.labels(e.LabelLinks, "MergeRequest", r.Labels, labelByName)
				var assignees, reviewers []int64
				for _, a := range r.Assignees {
					assignees = append(assignees, a.ID)
				}
				for _, u := range r.Reviewers {
					reviewers = append(reviewers, u.ID)
				}
				c.refs("merge_request_assignees", e.MergeRequestAssignees, assignees)
				c.refs("merge_request_reviewers", e.MergeRequestReviewers, reviewers)
				var ap gl.MergeRequestApprovals
				cl.get(path+"/approvals", &ap)
				if len(e.Approvals) != len(ap.ApprovedBy) {
					t.Errorf("%s: %d approvals, REST approved_by %d", c.where, len(e.Approvals), len(ap.ApprovedBy))
				} else {
					for i, a := range e.Approvals {
						ac := c.in(fmt.Sprintf("approval %d", i))
						ac.eq("user_id", a.UserID, ap.ApprovedBy[i].User.ID)
						ac.eq("created_at", nt(a.CreatedAt), ts(ap.ApprovedBy[i].ApprovedAt))
					}
				}
				var awards []gl.AwardEmoji
				cl.get(path+"/award_emoji", &awards)
				c.awards(e.AwardEmoji, awards)
				c.notes(cl, e.Notes, path)

				users.add(e.AuthorID, "MR author")
				users.addPtr(e.Metrics.MergedByID, "MR merger")
				users.addPtr(e.Metrics.LatestClosedByID, "MR closer")
				for _, rows := range [][]nd.UserRef{e.MergeRequestAssignees, e.MergeRequestReviewers, e.Approvals} {
					for _, a := range rows {
						users.add(a.UserID, "MR assignee, reviewer or approver")
					}
				}
				for _, a := range e.AwardEmoji {
					users.add(a.UserID, "MR emoji")
				}
				users.notes(e.Notes, "MR")
				switch e.State {
				case "merged":
					merged++
				case "closed":
					closed++
				}
				approved += len(e.Approvals)
				for i := 1; i < len(e.Notes); i++ {
					if e.Notes[i].DiscussionID == e.Notes[i-1].DiscussionID {
						replies++
					}
				}
			}
			if merged == 0 || closed == 0 || approved == 0 || replies == 0 {
				t.Errorf("scenario too thin: %d merged, %d closed, %d approvals, %d thread replies", merged, closed, approved, replies)
			}
		}},
		{"releases", func(t *testing.T, raw []byte) {
			ex := records[nd.Release](t, raw)
			var rest []*gl.Release
			cl.get(proj+"/releases", &rest)
			byTag := map[string]*gl.Release{}
			for _, r := range rest {
				byTag[r.TagName] = r
			}
			if len(ex) != len(rest) {
				t.Fatalf("%d releases, REST %d", len(ex), len(rest))
			}
			for _, e := range ex {
				r := byTag[e.Tag]
				if r == nil {
					t.Errorf("release tag %q is not served by REST", e.Tag)
					continue
				}
				c := cmp{t, "release " + e.Tag}
				c.eq("name", e.Name, r.Name)
				c.eq("description", e.Description, r.Description)
				c.eq("sha", e.SHA, r.Commit.ID)
				c.eq("author_id", ip(e.AuthorID), r.Author.ID)
				c.eq("created_at", nv(e.CreatedAt), ts(r.CreatedAt))
				c.eq("released_at", nt(e.ReleasedAt), ts(r.ReleasedAt))
				if len(e.Links) != len(r.Assets.Links) {
					t.Errorf("%s: %d links, REST %d", c.where, len(e.Links), len(r.Assets.Links))
					continue
				}
				for k, l := range e.Links {
					rl := r.Assets.Links[k]
					lc := c.in("link " + rl.Name)
					lc.eq("name", l.Name, rl.Name)
					lc.eq("url", l.URL, rl.URL)
					lc.eq("link_type", l.LinkType, string(rl.LinkType))
					if l.Filepath == "" || !strings.HasSuffix(rl.DirectAssetURL, "/downloads"+l.Filepath) {
						t.Errorf("%s filepath %q does not end direct_asset_url %q", lc.where, l.Filepath, rl.DirectAssetURL)
					}
				}
				users.addPtr(e.AuthorID, "release author")
			}
		}},
		{"protected_branches", func(t *testing.T, raw []byte) {
			ex := records[nd.ProtectedBranch](t, raw)
			var rest []*gl.ProtectedBranch
			cl.get(proj+"/protected_branches", &rest)
			if len(ex) != len(rest) {
				t.Fatalf("%d protected branches, REST %d", len(ex), len(rest))
			}
			levels := func(rows []nd.AccessLevelRow) (out []int) {
				for _, r := range rows {
					out = append(out, r.AccessLevel)
				}
				return out
			}
			restLevels := func(rows []*gl.BranchAccessDescription) (out []int) {
				for _, r := range rows {
					out = append(out, int(r.AccessLevel))
				}
				return out
			}
			for k, e := range ex {
				r := rest[k]
				c := cmp{t, "protected branch " + r.Name}
				c.eq("name", e.Name, r.Name)
				c.eq("allow_force_push", e.AllowForcePush, r.AllowForcePush)
				c.eq("code_owner_approval_required", e.CodeOwnerApprovalRequired, r.CodeOwnerApprovalRequired)
				c.eq("push_access_levels", levels(e.PushAccessLevels), restLevels(r.PushAccessLevels))
				c.eq("merge_access_levels", levels(e.MergeAccessLevels), restLevels(r.MergeAccessLevels))
			}
		}},
		{"project_badges", func(t *testing.T, raw []byte) {
			ex := records[nd.Badge](t, raw)
			var rest []*gl.ProjectBadge
			cl.get(proj+"/badges", &rest)
			var own []*gl.ProjectBadge
			for _, b := range rest {
				if b.Kind == "project" {
					own = append(own, b)
				}
			}
			if len(ex) != len(own) || len(rest) != len(own)+1 {
				t.Fatalf("%d exported badges, REST %d of the project's own among %d", len(ex), len(own), len(rest))
			}
			for k, b := range ex {
				c := cmp{t, "badge " + own[k].Name}
				c.eq("name", b.Name, own[k].Name)
				c.eq("link_url", b.LinkURL, own[k].LinkURL)
				c.eq("image_url", b.ImageURL, own[k].ImageURL)
				c.eq("type", b.Type, "ProjectBadge")
			}
		}},
		{"project_members", func(t *testing.T, raw []byte) {
			compareMembers(t, records[nd.Member](t, raw), nd.SourceProject, users)
		}},
		{"user_contributions", func(t *testing.T, raw []byte) {
			checkContributions(t, records[nd.UserContribution](t, raw), users)
		}},
	} {
		t.Run("project/"+tt.rel, func(t *testing.T) { tt.check(t, cl.download(proj, tt.rel, 0)) })
	}

	for _, tt := range []struct {
		rel   string
		check func(t *testing.T, raw []byte)
	}{
		{"self", func(t *testing.T, raw []byte) {
			var self nd.GroupSelf
			if err := json.Unmarshal(raw, &self); err != nil {
				t.Fatal(err)
			}
			var rest gl.Group
			cl.get(grp, &rest)
			c := cmp{t, "group self"}
			c.eq("name", self.Name, rest.Name)
			c.eq("path", self.Path, rest.Path)
			c.eq("description", self.Description, rest.Description)
			c.eq("visibility_level", self.VisibilityLevel, nd.VisibilityPrivate)
		}},
		{"labels", func(t *testing.T, raw []byte) {
			ex := records[nd.Label](t, raw)
			var rest []*gl.GroupLabel
			cl.get(grp+"/labels", &rest)
			if len(ex) != len(rest) {
				t.Fatalf("%d group labels, REST %d", len(ex), len(rest))
			}
			for k, l := range ex {
				c := cmp{t, "group label " + rest[k].Name}
				c.eq("title", l.Title, rest[k].Name)
				c.eq("color", l.Color, rest[k].Color)
				c.eq("description", l.Description, rest[k].Description)
				c.eq("type", l.Type, nd.GroupLabel)
			}
		}},
		{"milestones", func(t *testing.T, raw []byte) {
			ex := records[nd.Milestone](t, raw)
			var rest []*gl.GroupMilestone
			cl.get(grp+"/milestones", &rest)
			if len(ex) != len(rest) {
				t.Fatalf("%d group milestones, REST %d", len(ex), len(rest))
			}
			for k, e := range ex {
				r := rest[k]
				cmp{t, fmt.Sprintf("group milestone %d", r.IID)}.milestone(&e, &gl.Milestone{IID: r.IID, Title: r.Title,
					Description: r.Description, State: r.State, StartDate: r.StartDate, DueDate: r.DueDate,
					CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt})
			}
		}},
		{"members", func(t *testing.T, raw []byte) {
			cl.get(grp+"/members/all", &members)
			compareMembers(t, records[nd.Member](t, raw), nd.SourceNamespace, groupUsers)
		}},
		{"badges", func(t *testing.T, raw []byte) {
			ex := records[nd.Badge](t, raw)
			var rest []*gl.GroupBadge
			cl.get(grp+"/badges", &rest)
			if len(ex) != len(rest) {
				t.Fatalf("%d badges, REST %d", len(ex), len(rest))
			}
			for k, b := range ex {
				c := cmp{t, "badge " + rest[k].Name}
				c.eq("name", b.Name, rest[k].Name)
				c.eq("link_url", b.LinkURL, rest[k].LinkURL)
				c.eq("image_url", b.ImageURL, rest[k].ImageURL)
				c.eq("type", b.Type, "GroupBadge")
			}
		}},
		{"user_contributions", func(t *testing.T, raw []byte) {
			checkContributions(t, records[nd.UserContribution](t, raw), groupUsers)
		}},
	} {
		t.Run("group/"+tt.rel, func(t *testing.T) { tt.check(t, cl.download(grp, tt.rel, 0)) })
	}
}

// exportStatusOf is what an importer reads of the status endpoint.
type exportStatusOf struct {
	Relation          string  `json:"relation"`
	Status            int     `json:"status"`
	Error             *string `json:"error"`
	Batched           bool    `json:"batched"`
	BatchesCount      int     `json:"batches_count"`
	TotalObjectsCount int     `json:"total_objects_count"`
	Batches           []struct {
		Status       int     `json:"status"`
		BatchNumber  int     `json:"batch_number"`
		ObjectsCount int     `json:"objects_count"`
		Error        *string `json:"error"`
	} `json:"batches"`
	HasBatches bool `json:"-"`
}

func (c exportClient) status(portable string) map[string]exportStatusOf {
	c.t.Helper()
	st, b, _ := c.do(http.MethodGet, portable+"/export_relations/status")
	if st != http.StatusOK {
		c.t.Fatalf("status %s: %d %s", portable, st, b)
	}
	var list []exportStatusOf
	var raw []map[string]json.RawMessage
	if err := json.Unmarshal(b, &list); err != nil {
		c.t.Fatal(err)
	}
	_ = json.Unmarshal(b, &raw)
	out := map[string]exportStatusOf{}
	for k, s := range list {
		_, s.HasBatches = raw[k]["batches"]
		out[s.Relation] = s
	}
	return out
}

// TestExportBatched checks batched exports: per-relation batch counts,
// objects per batch, batches that add up to the unbatched file, and
// GitLab's answers for the wrong kind of download.
func TestExportBatched(t *testing.T) {
	sc := exportScenario(t)
	p := sc.Projects()[0]
	g := sc.Groups()[0]
	for _, size := range []int{0, 1, 2, 4} {
		t.Run(fmt.Sprintf("size=%d", size), func(t *testing.T) {
			_, cl := startExportServer(t, sc, Options{ExportBatchSize: size})
			whole := cl.as("tok2")
			eff := size
			if size == 0 {
				eff = defaultExportBatchSize
			}
			for _, tt := range []struct {
				portable string
				rels     []string
			}{
				{fmt.Sprintf("/projects/%d", p.ID), []string{"labels", "milestones", "issues", "merge_requests", "releases",
					"protected_branches", "project_badges", "project_members", "uploads", "self", "user_contributions"}},
				{fmt.Sprintf("/groups/%d", g.ID), []string{"labels", "milestones", "members", "badges", "self", "user_contributions"}},
			} {
				cl.start(tt.portable, true)
				whole.start(tt.portable, false)
				statuses, unbatched := cl.status(tt.portable), whole.status(tt.portable)
				if len(statuses) != len(tt.rels) {
					t.Errorf("%s: %d statuses, want %d", tt.portable, len(statuses), len(tt.rels))
				}
				for _, rel := range tt.rels {
					st, ok := statuses[rel]
					where := tt.portable + " " + rel
					if !ok {
						t.Errorf("%s: no status", where)
						continue
					}
					// An NDJSON file's objects are its lines; the uploads
					// tar's are its files, flattened to compare batches.
					flat := func(raw []byte) []byte { return raw }
					count := func(raw []byte) int { return bytes.Count(raw, []byte("\n")) }
					if rel == "uploads" {
						flat = func(raw []byte) []byte {
							var b []byte
							for _, f := range tarFiles(t, raw) {
								b = append(append(append(b, f.name...), 0), f.data...)
							}
							return b
						}
						count = func(raw []byte) int { return len(tarFiles(t, raw)) }
					}
					plain := whole.download(tt.portable, rel, 0)
					n := count(plain)
					if rel == "uploads" && n == 0 {
						t.Errorf("%s: no uploads", where)
					}
					if u := unbatched[rel]; u.Batched || u.HasBatches || u.Status != exportFinished || u.TotalObjectsCount != n {
						t.Errorf("%s unbatched status %+v, want finished with %d objects and no batches", where, u, n)
					}
					if rel == "self" || rel == "user_contributions" {
						if st.Batched || st.HasBatches {
							t.Errorf("%s is batched: %+v", where, st)
						}
						if got := cl.download(tt.portable, rel, 0); !bytes.Equal(got, plain) {
							t.Errorf("%s differs between exports", where)
						}
						if code, b, _ := cl.do(http.MethodGet, tt.portable+"/export_relations/download?relation="+rel+"&batched=true&batch_number=1"); code != 400 || !strings.Contains(string(b), `"Export is not batched"`) {
							t.Errorf("%s batched download: %d %s", where, code, b)
						}
						continue
					}
					batches := (n + eff - 1) / eff
					if !st.Batched || !st.HasBatches || st.Status != exportFinished || st.BatchesCount != batches ||
						st.TotalObjectsCount != n || len(st.Batches) != batches {
						t.Errorf("%s status %+v, want %d batches of %d objects", where, st, batches, n)
						continue
					}
					var joined []byte
					for b := 1; b <= batches; b++ {
						part := cl.download(tt.portable, rel, b)
						want := min(eff, n-(b-1)*eff)
						if got := count(part); got != want || st.Batches[b-1].ObjectsCount != want ||
							st.Batches[b-1].BatchNumber != b || st.Batches[b-1].Status != exportFinished {
							t.Errorf("%s batch %d: %d objects, status %+v, want %d", where, b, got, st.Batches[b-1], want)
						}
						joined = append(joined, flat(part)...)
					}
					if !bytes.Equal(joined, flat(plain)) {
						t.Errorf("%s: batches joined differ from the unbatched file", where)
					}
					for _, e := range []struct {
						client exportClient
						query  string
						code   int
						body   string
					}{
						{cl, "", 400, `"Export is batched"`},
						{cl, "&batched=true&batch_number=0", 404, `"Batch not found"`},
						{cl, fmt.Sprintf("&batched=true&batch_number=%d", batches+1), 404, `"Batch not found"`},
						{cl, "&batched=true", 400, "provide all or none of parameters"},
						{cl, "&batch_number=1", 400, "provide all or none of parameters"},
						{cl, "&batched=maybe&batch_number=1", 400, "batched is invalid"},
						{whole, "&batched=true&batch_number=1", 400, `"Export is not batched"`},
					} {
						code, b, _ := e.client.do(http.MethodGet, tt.portable+"/export_relations/download?relation="+rel+e.query)
						if code != e.code || !strings.Contains(string(b), e.body) {
							t.Errorf("%s download%s as %s: %d %s, want %d %s", where, e.query, e.client.token, code, b, e.code, e.body)
						}
					}
				}
			}
		})
	}
}

// TestExportPendingPolls checks that each relation answers started for
// ExportPendingPolls status answers per token, portable and relation,
// that downloads wait for it, and that a new POST starts over.
func TestExportPendingPolls(t *testing.T) {
	sc := exportScenario(t)
	opts := Options{ExportPendingPolls: 2, ExportBatchSize: 3}
	proj := fmt.Sprintf("/projects/%d", sc.Projects()[0].ID)
	grp := fmt.Sprintf("/groups/%d", sc.Groups()[0].ID)
	relStatus := func(c exportClient, portable, rel string) (int, exportStatusOf) {
		c.t.Helper()
		code, b, _ := c.do(http.MethodGet, portable+"/export_relations/status?relation="+rel)
		var st exportStatusOf
		if code == http.StatusOK {
			if err := json.Unmarshal(b, &st); err != nil {
				c.t.Fatal(err)
			}
		}
		return code, st
	}
	for _, tt := range []struct {
		name     string
		portable string
		batched  bool
		rel      string
		dl       string
		notFound string
	}{
		{"project", proj, false, "issues", "relation=issues", `"Export file not found"`},
		{"project batched", proj, true, "merge_requests", "relation=merge_requests&batched=true&batch_number=1", `"Batch file not found"`},
		{"group", grp, false, "labels", "relation=labels", `"Export file not found"`},
		{"group batched", grp, true, "members", "relation=members&batched=true&batch_number=2", `"Batch file not found"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, cl := startExportServer(t, sc, opts)
			if code, _ := relStatus(cl, tt.portable, tt.rel); code != http.StatusNotFound {
				t.Errorf("status before an export: %d", code)
			}
			if got := cl.status(tt.portable); len(got) != 0 {
				t.Errorf("status list before an export: %v", got)
			}
			cl.start(tt.portable, tt.batched)
			for round := 1; round <= 2; round++ {
				// The list counts as one answer for every relation.
				list := cl.status(tt.portable)
				if list[tt.rel].Status != exportStarted {
					t.Errorf("round %d: list status %d, want started", round, list[tt.rel].Status)
				}
				for _, b := range list[tt.rel].Batches {
					if b.Status != exportStarted {
						t.Errorf("round %d: batch %d status %d", round, b.BatchNumber, b.Status)
					}
				}
				code, b, _ := cl.do(http.MethodGet, tt.portable+"/export_relations/download?"+tt.dl)
				if code != http.StatusNotFound || !strings.Contains(string(b), tt.notFound) {
					t.Errorf("round %d: download while started: %d %s", round, code, b)
				}
				// A new POST starts over.
				if round == 1 {
					cl.start(tt.portable, tt.batched)
				}
			}
			if code, st := relStatus(cl, tt.portable, tt.rel); code != 200 || st.Status != exportStarted {
				t.Errorf("second answer after the restart: %d %+v", code, st)
			}
			if code, st := relStatus(cl, tt.portable, tt.rel); code != 200 || st.Status != exportFinished || st.Batched != tt.batched {
				t.Errorf("third answer: %d %+v, want finished", code, st)
			}
			if code, b, _ := cl.do(http.MethodGet, tt.portable+"/export_relations/download?"+tt.dl); code != http.StatusOK {
				t.Errorf("download once finished: %d %s", code, b)
			}
			// Another token's export is its own.
			other := cl.as("tok2")
			other.start(tt.portable, tt.batched)
			if code, st := relStatus(other, tt.portable, tt.rel); code != 200 || st.Status != exportStarted {
				t.Errorf("another token: %d %+v, want started", code, st)
			}
		})
	}

	// Concurrent pollers share the count: exactly ExportPendingPolls
	// answers say started.
	_, cl := startExportServer(t, sc, opts)
	cl.start(proj, false)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var answers []int
	for range 8 {
		wg.Go(func() {
			code, b, _ := cl.do(http.MethodGet, proj+"/export_relations/status?relation=releases")
			var st exportStatusOf
			if code != http.StatusOK || json.Unmarshal(b, &st) != nil {
				t.Errorf("status: %d %s", code, b)
				return
			}
			mu.Lock()
			answers = append(answers, st.Status)
			mu.Unlock()
		})
	}
	wg.Wait()
	if started := len(answers) - len(slices.DeleteFunc(slices.Clone(answers), func(s int) bool { return s == exportStarted })); started != 2 {
		t.Errorf("%d of %d concurrent answers said started, want 2", started, len(answers))
	}
}

// TestExportRelationErrors covers the answers for bad relations and
// exports that were never started.
func TestExportRelationErrors(t *testing.T) {
	sc := exportScenario(t)
	_, cl := startExportServer(t, sc, Options{})
	proj := fmt.Sprintf("/projects/%d", sc.Projects()[0].ID)
	grp := fmt.Sprintf("/groups/%d", sc.Groups()[0].ID)
	for _, tt := range []struct {
		path string
		code int
		body string
	}{
		{proj + "/export_relations/download?relation=issues", 404, "404 Export Not Found"},
		{proj + "/export_relations/download?relation=pipelines", 400, "relation does not have a valid value"},
		{proj + "/export_relations/status?relation=pipelines", 400, "relation does not have a valid value"},
		{proj + "/export_relations/download", 400, "relation is missing"},
		{grp + "/export_relations/download?relation=labels", 404, "404 Export Not Found"},
		{grp + "/export_relations/status?relation=labels", 404, "404 Export Not Found"},
		{grp + "/export_relations/download?relation=issues", 404, "404 Export Not Found"},
	} {
		if code, b, _ := cl.do(http.MethodGet, tt.path); code != tt.code || !strings.Contains(string(b), tt.body) {
			t.Errorf("%s: %d %s, want %d %s", tt.path, code, b, tt.code, tt.body)
		}
	}
	cl.start(grp, false)
	if code, b, _ := cl.do(http.MethodGet, grp+"/export_relations/status?relation=issues"); code != 404 {
		t.Errorf("group status of a project relation: %d %s", code, b)
	}
}

// TestExportDisabled checks every export_relations endpoint, project and
// group, answers 404 when direct transfer is off on the instance.
func TestExportDisabled(t *testing.T) {
	sc := exportScenario(t)
	_, cl := startExportServer(t, sc, Options{ExportDisabled: true})
	for _, portable := range []string{fmt.Sprintf("/projects/%d", sc.Projects()[0].ID), fmt.Sprintf("/groups/%d", sc.Groups()[0].ID)} {
		for _, tt := range []struct{ method, path string }{
			{http.MethodPost, "/export_relations"},
			{http.MethodPost, "/export_relations?batched=true"},
			{http.MethodGet, "/export_relations/status"},
			{http.MethodGet, "/export_relations/status?relation=labels"},
			{http.MethodGet, "/export_relations/download?relation=labels"},
			{http.MethodGet, "/export_relations/download?relation=labels&batched=true&batch_number=1"},
		} {
			if code, b, _ := cl.do(tt.method, portable+tt.path); code != http.StatusNotFound {
				t.Errorf("%s %s%s: %d %s, want 404", tt.method, portable, tt.path, code, b)
			}
		}
	}
}

// tarEntry is one entry of an uploads tar.
type tarEntry struct {
	hdr  *tar.Header
	name string
	data []byte
}

// tarEntries reads a gunzipped tar.
func tarEntries(t *testing.T, raw []byte) []tarEntry {
	t.Helper()
	var out []tarEntry
	tr := tar.NewReader(bytes.NewReader(raw))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("tar entry %d: %v", len(out)+1, err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("tar %s: %v", h.Name, err)
		}
		out = append(out, tarEntry{h, h.Name, b})
	}
}

// tarFiles is the regular files of a gunzipped tar.
func tarFiles(t *testing.T, raw []byte) []tarEntry {
	t.Helper()
	return slices.DeleteFunc(tarEntries(t, raw), func(e tarEntry) bool { return e.hdr.Typeflag != tar.TypeReg })
}

// uploadLinks finds the links to a project's uploads in exported bodies.
var uploadLinks = regexp.MustCompile(`/uploads/([0-9a-f]{32})/([^)\]\s"'<>\\]+)`)

// TestExportUploads checks the uploads relation: its files are exactly the
// uploads the project's exported bodies link, under their link's secret and
// raw name, with the bytes the upload API serves; a project without
// attachments exports an empty tar.
func TestExportUploads(t *testing.T) {
	sc := exportScenario(t)
	_, cl := startExportServer(t, sc, Options{})
	secrets := map[string]bool{}
	for _, p := range sc.Projects()[:2] {
		proj := fmt.Sprintf("/projects/%d", p.ID)
		cl.start(proj, false)
		statuses := cl.status(proj)
		if _, ok := statuses["uploads"]; !ok {
			t.Fatalf("%s: no uploads status in %v", proj, statuses)
		}
		// Every link of every exported NDJSON body.
		linked := map[string]bool{}
		var secret string
		for rel := range statuses {
			if rel == "uploads" {
				continue
			}
			for _, m := range uploadLinks.FindAllStringSubmatch(string(cl.download(proj, rel, 0)), -1) {
				if secret == "" {
					secret = m[1]
				}
				if m[1] != secret {
					t.Errorf("%s %s: link under secret %s, others under %s", proj, rel, m[1], secret)
				}
				linked[m[2]] = true
			}
		}
		if len(linked) == 0 {
			t.Fatalf("%s: no body links an upload", proj)
		}
		secrets[secret] = true

		entries := tarEntries(t, cl.download(proj, "uploads", 0))
		if len(entries) == 0 || entries[0].hdr.Typeflag != tar.TypeDir || entries[0].name != secret+"/" || entries[0].hdr.Mode != 0o755 {
			t.Fatalf("%s: first entry %+v, want directory %s/", proj, entries[0].hdr, secret)
		}
		var files []string
		for _, e := range entries[1:] {
			dir, name, _ := strings.Cut(e.name, "/")
			if e.hdr.Typeflag != tar.TypeReg || dir != secret || e.hdr.Mode != 0o644 || e.hdr.Size != int64(len(e.data)) {
				t.Errorf("%s: entry %+v", proj, e.hdr)
				continue
			}
			files = append(files, name)
			code, want, _ := cl.do(http.MethodGet, proj+"/uploads/"+secret+"/"+url.PathEscape(name))
			if code != http.StatusOK || !bytes.Equal(e.data, want) {
				t.Errorf("%s: %s differs from the upload API's (%d, %d bytes vs %d)", proj, e.name, code, len(e.data), len(want))
			}
		}
		if want := slices.Sorted(maps.Keys(linked)); !slices.Equal(files, want) {
			t.Errorf("%s: tar files %v, linked uploads %v", proj, files, want)
		}
		if st := statuses["uploads"]; st.TotalObjectsCount != len(files) || st.Batched {
			t.Errorf("%s: uploads status %+v, want %d objects", proj, st, len(files))
		}
	}
	if len(secrets) != 2 {
		t.Errorf("two projects share their upload secret: %v", secrets)
	}

	c, err := scenario.Preset("small", 7)
	if err != nil {
		t.Fatal(err)
	}
	c.Attachments = false
	bare, err := scenario.New(c)
	if err != nil {
		t.Fatal(err)
	}
	_, cl = startExportServer(t, bare, Options{})
	proj := fmt.Sprintf("/projects/%d", bare.Projects()[0].ID)
	cl.start(proj, false)
	if st := cl.status(proj)["uploads"]; st.Relation != "uploads" || st.TotalObjectsCount != 0 {
		t.Errorf("no attachments: uploads status %+v", st)
	}
	if got := tarEntries(t, cl.download(proj, "uploads", 0)); len(got) != 0 {
		t.Errorf("no attachments: %d tar entries", len(got))
	}
}

// TestExportWithout checks that relations an instance does not export are
// absent from status lists and unknown to the status and download
// endpoints, while the others are served as usual.
func TestExportWithout(t *testing.T) {
	sc := exportScenario(t)
	_, cl := startExportServer(t, sc, Options{ExportWithout: []string{"uploads", "badges"}})
	proj := fmt.Sprintf("/projects/%d", sc.Projects()[0].ID)
	grp := fmt.Sprintf("/groups/%d", sc.Groups()[0].ID)
	for _, portable := range []string{proj, grp} {
		for _, batched := range []bool{false, true} {
			cl.start(portable, batched)
			st := cl.status(portable)
			if _, ok := st["uploads"]; ok {
				t.Errorf("%s batched=%v: uploads listed", portable, batched)
			}
			if _, ok := st["badges"]; ok {
				t.Errorf("%s batched=%v: badges listed", portable, batched)
			}
			if _, ok := st["labels"]; !ok {
				t.Errorf("%s batched=%v: labels missing from %v", portable, batched, st)
			}
		}
	}
	for _, tt := range []struct {
		path string
		code int
		body string
	}{
		{proj + "/export_relations/status?relation=uploads", 400, "relation does not have a valid value"},
		{proj + "/export_relations/download?relation=uploads&batched=true&batch_number=1", 400, "relation does not have a valid value"},
		{grp + "/export_relations/status?relation=badges", 404, "404 Export Not Found"},
		{grp + "/export_relations/download?relation=badges&batched=true&batch_number=1", 404, "404 Export Not Found"},
		{proj + "/export_relations/download?relation=labels&batched=true&batch_number=1", 200, ""},
	} {
		if code, b, _ := cl.do(http.MethodGet, tt.path); code != tt.code || !strings.Contains(string(b), tt.body) {
			t.Errorf("%s: %d %.200s, want %d %s", tt.path, code, b, tt.code, tt.body)
		}
	}
}

// TestExportStuckAndUnlisted checks the export faults: a stuck relation
// answers started at every poll, however many; an unlisted one is absent
// from status lists and unknown by name; a failed one reads failed with
// its error; the others finish.
func TestExportStuckAndUnlisted(t *testing.T) {
	sc := exportScenario(t)
	_, cl := startExportServer(t, sc, Options{ExportStuck: []string{"labels"}, ExportUnlisted: []string{"milestones"},
		ExportFailed: []string{"badges", "project_badges"}})
	proj := fmt.Sprintf("/projects/%d", sc.Projects()[0].ID)
	grp := fmt.Sprintf("/groups/%d", sc.Groups()[0].ID)
	for _, portable := range []string{proj, grp} {
		cl.start(portable, true)
		for range 5 {
			st := cl.status(portable)
			if st["labels"].Status != exportStarted {
				t.Errorf("%s: stuck labels read %d", portable, st["labels"].Status)
			}
			if _, ok := st["milestones"]; ok {
				t.Errorf("%s: unlisted milestones listed", portable)
			}
			if l, ok := st["self"]; !ok || l.Status != exportFinished {
				t.Errorf("%s: self %+v, want finished", portable, l)
			}
			for _, b := range []string{"badges", "project_badges"} {
				if l, ok := st[b]; ok && l.Status != exportFailed {
					t.Errorf("%s: failed %s read %d", portable, b, l.Status)
				}
			}
		}
		for _, tt := range []struct {
			path string
			code int
			body string
		}{
			{portable + "/export_relations/status?relation=milestones", 404, "404 Export Not Found"},
			{portable + "/export_relations/download?relation=milestones&batched=true&batch_number=1", 404, "404 Export Not Found"},
			{portable + "/export_relations/status?relation=labels", 200, `"status":0`},
			{portable + "/export_relations/status?relation=" + map[bool]string{true: "project_badges", false: "badges"}[portable == proj], 200,
				`"status":-1,"error":"Error!  simulated export failure"`},
		} {
			if code, b, _ := cl.do(http.MethodGet, tt.path); code != tt.code || !strings.Contains(string(b), tt.body) {
				t.Errorf("%s: %d %.200s, want %d %s", tt.path, code, b, tt.code, tt.body)
			}
		}
	}
}
