package importer_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/source/github"
	"github.com/ferry-import/ferry/store"
	"github.com/ferry-import/ferry/store/storetest"
)

// oneGitHubRelation is the GitHub source cut down to one relation, so the
// engine's handling of that relation's errors can be watched without a
// repository to mirror.
type oneGitHubRelation struct {
	relation string
	options  json.RawMessage
}

func (oneGitHubRelation) Type() string { return "fake" }

func (o oneGitHubRelation) Stages(ctx context.Context, env *importer.Env) ([]importer.Stage, error) {
	e := *env
	e.SourceRef, e.Options = "acme/widgets", o.options
	stages, err := github.New().Stages(ctx, &e)
	if err != nil {
		return nil, err
	}
	for _, st := range stages {
		for _, r := range st.Relations {
			if r.Name() == o.relation {
				return []importer.Stage{{Name: st.Name, Relations: []importer.Relation{r}}}, nil
			}
		}
	}
	panic("no relation " + o.relation)
}

// TestConversionErrorIsNotRetried: a GitHub answer that arrived whole but
// does not fit the model (a field of another JSON type, a timestamp that is
// none, a role the model has no level for) is fetched once and listed as a
// ValidationError; a body garbled on the way is still read again, up to
// FetchAttempts.
func TestConversionErrorIsNotRetried(t *testing.T) {
	for _, tt := range []struct {
		name, relation, path, body, options string
		calls                               int64
		class                               string
	}{
		{"field of another type", "labels", "/labels", `[{"id":"seven","name":"bug","color":"ff0000"}]`, `{}`, 1, "ValidationError"},
		{"timestamp that is none", "milestones", "/milestones", `[{"id":1,"number":1,"title":"m","created_at":"yesterday"}]`, `{}`, 1, "ValidationError"},
		{"object for a list", "releases", "/releases", `{"id":1}`, `{}`, 1, "ValidationError"},
		{"value the model refuses", "collaborators", "/collaborators", `[{"login":"octo","id":5,"role_name":"wizard"}]`,
			`{"collaborators_import":true}`, 1, "ValidationError"},
		{"garbled body", "labels", "/labels", `[{"id":7,"name":"bug"<!-- hiccup -->`, `{}`, 5, "NetworkError"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, s *store.Store) {
				var calls atomic.Int64
				gh := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					if r.URL.Path != "/api/v3/repos/acme/widgets"+tt.path {
						w.WriteHeader(http.StatusNotFound)
						_, _ = w.Write([]byte(`{"message":"Not Found"}`))
						return
					}
					calls.Add(1)
					_, _ = w.Write([]byte(tt.body))
				}))
				t.Cleanup(gh.Close)
				src := oneGitHubRelation{relation: tt.relation, options: json.RawMessage(tt.options)}
				h := newHarness(t, s, &fakeForge{calls: map[string]int{}}, func(c *importer.Config) { c.Sources = []importer.Source{src} })
				h.url = gh.URL + "/api/v3/" // the import's source: the canned GitHub
				im := h.wait(t, h.start(t).ID)
				if !ferry.ImportDone(im.Status) {
					t.Fatalf("status %s", im.Status)
				}
				if n := calls.Load(); n != tt.calls {
					t.Errorf("%d fetches of %s, want %d", n, tt.path, tt.calls)
				}
				var got []string
				for _, f := range failuresOf(t, s, im.ID) {
					got = append(got, f.Relation+":"+f.ExceptionClass+":"+f.ExceptionMessage)
				}
				if len(got) != 1 || !strings.HasPrefix(got[0], tt.relation+":"+tt.class+":") {
					t.Errorf("failures %q, want one %s of %s", got, tt.class, tt.relation)
				}
			})
		})
	}
}
