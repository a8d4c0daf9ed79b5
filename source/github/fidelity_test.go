package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ffgithub "github.com/ferry-import/ferry/fakeforge/github"
	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/importer/sourcetest"
)

// relRun is some relations of an import driven the way the engine drives
// them, without the stages they do not need (no git, no users).
type relRun struct {
	env  *importer.Env
	q    *sourcetest.Followups
	objs []forge.Object
	fail []importer.ItemFailure
}

func newRelRun(apiBase, sourceRef string, hc *http.Client, opts string) *relRun {
	q := sourcetest.NewFollowups()
	return &relRun{q: q, env: &importer.Env{ImportID: 1, ProjectID: 7, SourceURL: apiBase, SourceRef: sourceRef,
		Options: json.RawMessage(opts), Credential: "t", HTTP: hc, Followups: q}}
}

// relation runs the named relation to its end on a fresh Stages call,
// queueing its followups; a fetch error fails t.
func (x *relRun) relation(t *testing.T, name string) {
	t.Helper()
	if err := x.try(name); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// try is relation returning the fetch error.
func (x *relRun) try(name string) error {
	ctx := context.Background()
	stages, err := New().Stages(ctx, x.env)
	if err != nil {
		return err
	}
	for _, st := range stages {
		for _, rel := range st.Relations {
			if rel.Name() != name {
				continue
			}
			for cursor := ""; ; {
				p, err := rel.Fetch(ctx, cursor)
				if err != nil {
					return err
				}
				for _, o := range p.Objects {
					if f, ok := o.(importer.Followup); ok {
						x.q.Add(f)
					} else {
						x.objs = append(x.objs, o)
					}
				}
				x.fail = append(x.fail, p.Failures...)
				if p.Next == "" {
					return nil
				}
				cursor = p.Next
			}
		}
	}
	panic("no relation " + name)
}

func (x *relRun) notes() []forge.Note {
	var out []forge.Note
	for _, o := range x.objs {
		if n, ok := o.(forge.Note); ok {
			out = append(out, n)
		}
	}
	return out
}

// canned serves body (JSON) for every request whose path ends in suffix,
// 404 elsewhere, and counts the requests it answers.
func canned(t *testing.T, suffix, body string) (*httptest.Server, *atomic.Int64) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		if !strings.HasSuffix(r.URL.Path, suffix) {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"message":"Not Found"}`))
			return
		}
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

// TestReviewCommentPullRequest: a review comment without pull_request_url
// finds its pull request through _links.pull_request.href, then html_url;
// one none of them ties to a number is a failed item naming it, and the
// rest of the page is imported.
func TestReviewCommentPullRequest(t *testing.T) {
	const api = "/api/v3/repos/acme/widgets"
	for _, tt := range []struct {
		name    string
		comment string // JSON fields besides id and body
		want    int64  // 0: a failed item
	}{
		{"pull_request_url", `"pull_request_url":"https://h/api/v3/repos/acme/widgets/pulls/3"`, 3},
		{"pull_request_url wins", `"pull_request_url":"https://h/api/v3/repos/acme/widgets/pulls/3","_links":{"pull_request":{"href":"https://h/api/v3/repos/acme/widgets/pulls/9"}}`, 3},
		{"_links.pull_request.href", `"_links":{"pull_request":{"href":"https://h/api/v3/repos/acme/widgets/pulls/5"}},"html_url":"https://h/acme/widgets/pull/9#discussion_r1"`, 5},
		{"html_url", `"html_url":"https://h/acme/widgets/pull/7#discussion_r12"`, 7},
		{"html_url after empty links", `"_links":{"pull_request":{}},"html_url":"https://h/acme/widgets/pull/8#discussion_r12"`, 8},
		{"no number anywhere", `"html_url":"https://h/acme/widgets/issues/7","_links":{"self":{"href":"https://h/x"}}`, 0},
		{"nothing", `"url":"https://h/api/v3/repos/acme/widgets/pulls/comments/77"`, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := `[{"id":77,"body":"x","user":{"login":"octo","id":5},` + tt.comment + `},` +
				`{"id":78,"body":"y","user":{"login":"octo","id":5},"pull_request_url":"https://h/api/v3/repos/acme/widgets/pulls/2"}]`
			srv, _ := canned(t, api+"/pulls/comments", body)
			x := newRelRun(srv.URL+"/api/v3/", "acme/widgets", srv.Client(), `{}`)
			x.relation(t, relReviewComments)
			got := map[string]int64{}
			for _, n := range x.notes() {
				got[n.SourceID.ID] = n.On.IID
				if n.On.Type != forge.OnMergeRequest {
					t.Errorf("note %s on %s", n.SourceID.ID, n.On.Type)
				}
			}
			if got["review_comment/78"] != 2 {
				t.Errorf("the good comment: %v", got)
			}
			if tt.want != 0 {
				if got["review_comment/77"] != tt.want || len(x.fail) != 0 {
					t.Errorf("comment 77 on %d (failures %v), want %d", got["review_comment/77"], x.fail, tt.want)
				}
				return
			}
			if _, ok := got["review_comment/77"]; ok || len(x.fail) != 1 {
				t.Fatalf("comment 77 imported on %d, failures %v; want one failure", got["review_comment/77"], x.fail)
			}
			f := x.fail[0]
			var perm *importer.Permanent
			if f.Title != "review comment 77" || !strings.Contains(f.Err.Error(), "review comment 77 names no pull request") || !errors.As(f.Err, &perm) {
				t.Errorf("failure %+v: %v", f, f.Err)
			}
		})
	}
}

// TestIssueCommentWithoutItem: a repo-wide comment whose URLs name no
// issue is a failed item naming it; the page's other comments come through.
func TestIssueCommentWithoutItem(t *testing.T) {
	body := `[{"id":1,"body":"x","user":{"login":"octo","id":5},"url":"https://h/api/v3/repos/acme/widgets/issues/comments/1"},` +
		`{"id":2,"body":"y","user":{"login":"octo","id":5},"html_url":"https://h/acme/widgets/pull/4#issuecomment-2"}]`
	srv, _ := canned(t, "/repos/acme/widgets/issues/comments", body)
	x := newRelRun(srv.URL+"/api/v3/", "acme/widgets", srv.Client(), `{}`)
	x.relation(t, relIssueComments)
	if ns := x.notes(); len(ns) != 1 || ns[0].On != (forge.Noteable{Type: forge.OnMergeRequest, IID: 4}) {
		t.Errorf("notes %+v", ns)
	}
	if len(x.fail) != 1 || x.fail[0].Title != "comment 1" || !strings.Contains(x.fail[0].Err.Error(), "names no issue") {
		t.Errorf("failures %+v", x.fail)
	}
}

// TestReviewBodies: a submitted review with a body is also a note on its
// merge request by the reviewer, "**Review:** <State>", a blank line and the
// body, dated submitted_at (else the pull request's updated_at); pending
// reviews and empty bodies give none, and the reviews themselves stay.
func TestReviewBodies(t *testing.T) {
	const submitted, prUpdated = "2024-03-04T05:06:07Z", 1712000000
	for _, tt := range []struct {
		name, state, body string
		noSubmitted       bool
		want              string // the note's body; "" for no note
		review            bool   // the review itself is imported
	}{
		{"approved", "APPROVED", "LGTM", false, "**Review:** Approved\n\nLGTM", true},
		{"changes requested", "CHANGES_REQUESTED", "Please rename `x`.\n\nAnd test it.", false,
			"**Review:** Changes requested\n\nPlease rename `x`.\n\nAnd test it.", true},
		{"commented", "COMMENTED", "A thought", false, "**Review:** Commented\n\nA thought", true},
		{"dismissed", "DISMISSED", "Was wrong", false, "**Review:** Dismissed\n\nWas wrong", true},
		{"pending: not submitted", "PENDING", "draft words", true, "", false},
		{"approved without a body", "APPROVED", "", false, "", true},
		{"blank body", "COMMENTED", " \n ", false, "", true},
		{"without submitted_at", "COMMENTED", "late", true, "**Review:** Commented\n\nlate", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rv := map[string]any{"id": 501, "state": tt.state, "body": tt.body, "user": map[string]any{"login": "rev", "id": 9, "type": "User"}}
			if !tt.noSubmitted {
				rv["submitted_at"] = submitted
			}
			body, _ := json.Marshal([]any{rv})
			srv, calls := canned(t, "/repos/acme/widgets/pulls/12/reviews", string(body))
			x := newRelRun(srv.URL+"/api/v3/", "acme/widgets", srv.Client(), `{}`)
			x.q.Add(importer.Followup{Relation: relPullRequestDetails, Key: withUpdated(detailsKey(12, true), time.Unix(prUpdated, 0))})
			x.relation(t, relPullRequestDetails)
			if calls.Load() != 1 {
				t.Errorf("%d calls, want 1", calls.Load())
			}
			var reviews int
			var notes []forge.Note
			for _, o := range x.objs {
				switch v := o.(type) {
				case forge.Review:
					reviews++
				case forge.Note:
					notes = append(notes, v)
				}
			}
			if (reviews == 1) != tt.review {
				t.Errorf("%d reviews, want the review imported: %v", reviews, tt.review)
			}
			if tt.want == "" {
				if len(notes) != 0 {
					t.Errorf("notes %+v, want none", notes)
				}
				return
			}
			if len(notes) != 1 {
				t.Fatalf("notes %+v, want one", notes)
			}
			n := notes[0]
			at, _ := time.Parse(time.RFC3339, submitted)
			if tt.noSubmitted {
				at = time.Unix(prUpdated, 0).UTC()
			}
			if n.Body != tt.want || n.ID != "review_body/501" || n.On != (forge.Noteable{Type: forge.OnMergeRequest, IID: 12}) ||
				n.Author.Login != "rev" || n.System || n.Position != nil || !n.CreatedAt.Equal(at) || !n.UpdatedAt.Equal(at) {
				t.Errorf("note %+v\nwant body %q, id review_body/501, on MR 12 by rev at %s", n, tt.want, at)
			}
			if typ := New().ObjectType(relPullRequestDetails, n); typ != "pull_request_review_body" {
				t.Errorf("object type %q", typ)
			}
		})
	}
}

// TestMissingEndpoints: against a GitHub without a repo-wide list (an
// older GitHub Enterprise answering it 404), issue_comments, review_comments
// and issue_events read the same objects per item; a list with no other
// source ends with one failed item saying so. Each missing endpoint is
// asked once.
func TestMissingEndpoints(t *testing.T) {
	sc, err := scenario.New(tiny())
	if err != nil {
		t.Fatal(err)
	}
	// serve starts a simulated GitHub on loopback without the endpoints
	// missing names, counting requests by path.
	serve := func(t *testing.T, missing ...string) (string, func(path string) int) {
		var mu sync.Mutex
		calls := map[string]int{}
		var h http.Handler
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			calls[r.URL.Path]++
			mu.Unlock()
			h.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		h = ffgithub.New(ffgithub.Options{Scenario: sc, BaseURL: srv.URL, Tokens: []string{"t"}, Missing: missing})
		return srv.URL + "/api/v3/", func(path string) int { mu.Lock(); defer mu.Unlock(); return calls["/api/v3/repos/acme/widgets"+path] }
	}
	// run reads the pull requests and issues, as the stages before do, then
	// relation.
	run := func(t *testing.T, api, relation string) *relRun {
		x := newRelRun(api, "acme/widgets", http.DefaultClient, `{"pagination_limit":3,"collaborators_import":true}`)
		x.relation(t, relPullRequests)
		x.relation(t, relIssues)
		x.objs, x.fail = nil, nil
		x.relation(t, relation)
		return x
	}
	// dump lists objects as JSON, the servers' hosts aside.
	dump := func(x *relRun) []string {
		u, _ := url.Parse(x.env.SourceURL)
		var out []string
		for _, o := range x.objs {
			j, _ := json.Marshal(o)
			out = append(out, fmt.Sprintf("%T ", o)+strings.ReplaceAll(string(j), u.Host, "HOST"))
		}
		slices.Sort(out)
		return out
	}
	for _, tt := range []struct {
		relation, missing string
		fallback          bool
	}{
		{relIssueComments, "/issues/comments", true},
		{relReviewComments, "/pulls/comments", true},
		{relIssueEvents, "/issues/events", true},
		{relReleases, "/releases", false},
		{relLabels, "/labels", false},
		{relCollaborators, "/collaborators", false},
	} {
		t.Run(tt.relation, func(t *testing.T) {
			fullAPI, _ := serve(t)
			want := run(t, fullAPI, tt.relation)
			api, calls := serve(t, tt.missing)
			got := run(t, api, tt.relation)
			if n := calls(tt.missing); n != 1 {
				t.Errorf("%s asked %d times, want once", tt.missing, n)
			}
			if !tt.fallback {
				if len(got.objs) != 0 || len(got.fail) != 1 {
					t.Fatalf("%d objects, failures %+v; want none and one failure", len(got.objs), got.fail)
				}
				f := got.fail[0]
				msg := "the source has no /repos/acme/widgets" + tt.missing + " (404): not imported"
				var perm *importer.Permanent
				if f.Title != tt.relation || f.Err.Error() != msg || !errors.As(f.Err, &perm) || !strings.HasSuffix(f.SourceURL, "/api/v3/repos/acme/widgets"+tt.missing) {
					t.Errorf("failure %+v (%v), want %q", f, f.Err, msg)
				}
				return
			}
			if len(got.fail) != 0 {
				t.Errorf("failures %+v", got.fail)
			}
			w, g := dump(want), dump(got)
			if len(w) == 0 || !slices.Equal(w, g) {
				t.Errorf("per item: %d objects, repo-wide: %d\nfirst difference: %s", len(g), len(w), firstDiff(w, g))
			}
		})
	}
}

func firstDiff(a, b []string) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return a[i] + "\nvs\n" + b[i]
		}
	}
	return "(one is a prefix of the other)"
}
