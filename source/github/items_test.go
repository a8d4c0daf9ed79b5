package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/importer/sourcetest"
	"github.com/ferry-import/ferry/source/internal/paging"
)

// TestItemRelationPaging drives pull_request_details against a canned
// server: batches of paging.DefaultItemBatch with the last sequence number as cursor, a
// pull request gone at the source skipped, a failing one failing the page
// (so the engine retries it) without losing the others.
func TestItemRelationPaging(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		var n int
		if _, err := fmt.Sscanf(r.URL.Path, "/api/v3/repos/acme/widgets/pulls/%d/reviews", &n); err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch n {
		case 404:
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"message":"Not Found"}`))
		case 403, 422, 451:
			w.WriteHeader(n)
			_, _ = w.Write([]byte(`{"message":"refused"}`))
		case 500:
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"message":"boom"}`))
		default:
			_ = json.NewEncoder(w).Encode([]map[string]any{{"id": 1000 + n, "state": "APPROVED", "user": map[string]any{"login": "octo", "id": 5}}})
		}
	}))
	t.Cleanup(srv.Close)

	run := func(keys ...string) (*sourcetest.Followups, importer.Relation) {
		q := sourcetest.NewFollowups()
		for _, k := range keys {
			q.Add(importer.Followup{Relation: relPullRequestDetails, Key: k})
		}
		env := &importer.Env{SourceURL: srv.URL + "/api/v3/", SourceRef: "acme/widgets", Credential: "t", HTTP: srv.Client(), Followups: q}
		stages, err := New().Stages(context.Background(), env)
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range stages {
			for _, r := range st.Relations {
				if r.Name() == relPullRequestDetails {
					return q, r
				}
			}
		}
		t.Fatal("no pull_request_details relation")
		return nil, nil
	}

	var keys []string
	for n := 1; n <= paging.DefaultItemBatch+1; n++ {
		keys = append(keys, strconv.Itoa(n))
	}
	keys[4] = "404"
	keys[6], keys[7], keys[8] = "403", "422", "451"
	_, rel := run(keys...)
	ctx := context.Background()
	p1, err := rel.Fetch(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	reviews := func(p importer.Page) (n int, users int) {
		for _, o := range p.Objects {
			switch o.(type) {
			case forge.Review:
				n++
			case importer.Followup:
				users++
			}
		}
		return
	}
	// Items the source refuses (gone, forbidden, unprocessable, legal) are
	// listed as failures and the others come through.
	if n, u := reviews(p1); n != paging.DefaultItemBatch-4 || u != 1 || p1.Next != strconv.Itoa(paging.DefaultItemBatch) || len(p1.Failures) != 4 {
		t.Errorf("first page: %d reviews, %d followups, %d failures, next %q; want %d, 1, 4, %q", n, u, len(p1.Failures), p1.Next, paging.DefaultItemBatch-4, strconv.Itoa(paging.DefaultItemBatch))
	}
	p2, err := rel.Fetch(ctx, p1.Next)
	if n, _ := reviews(p2); err != nil || n != 1 || p2.Next != "" {
		t.Errorf("second page: %d reviews, next %q, %v", n, p2.Next, err)
	}
	if got := calls.Load(); got != int64(len(keys)) {
		t.Errorf("%d calls for %d pull requests", got, len(keys))
	}

	_, rel = run("1", "500", "3")
	_, err = rel.Fetch(ctx, "")
	var perm *importer.Permanent
	if err == nil || errors.As(err, &perm) {
		t.Errorf("a 500 gave %v; want a retryable error", err)
	}
	if _, err := rel.Fetch(ctx, "x"); !errors.As(err, &perm) {
		t.Errorf("a bad cursor gave %v; want a permanent error", err)
	}
}
