package gitlab

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/ferry-import/ferry/importer"
)

// TestNewRun checks what Stages refuses before any call: bad options, a
// target that does not match the entity, no token, a bad base URL.
func TestNewRun(t *testing.T) {
	ok := func() importer.Env {
		return importer.Env{ProjectID: 7, SourceURL: "https://gitlab.example", SourceRef: "acme/widgets",
			Credential: "t", HTTP: http.DefaultClient}
	}
	for _, tt := range []struct {
		name string
		edit func(e *importer.Env)
		want string // in the error; "" is no error
		ref  string // the run's ref when there is no error
	}{
		{name: "project by path", edit: func(*importer.Env) {}, ref: "acme%2Fwidgets"},
		{name: "project by id", edit: func(e *importer.Env) { e.Options = json.RawMessage(`{"source_id":1000}`) }, ref: "1000"},
		{name: "group follows the target", edit: func(e *importer.Env) { e.ProjectID, e.NamespaceID, e.SourceRef = 0, 3, "acme" }, ref: "acme"},
		{name: "group entity on a project", edit: func(e *importer.Env) { e.Options = json.RawMessage(`{"entity":"group"}`) }, want: "exactly its own target"},
		{name: "both targets", edit: func(e *importer.Env) { e.NamespaceID = 3 }, want: "exactly its own target"},
		{name: "unknown entity", edit: func(e *importer.Env) { e.Options = json.RawMessage(`{"entity":"snippet"}`) }, want: "neither project nor group"},
		{name: "page size", edit: func(e *importer.Env) { e.Options = json.RawMessage(`{"page_size":101}`) }, want: "page_size 101"},
		{name: "no token", edit: func(e *importer.Env) { e.Credential = "" }, want: "no access token"},
		{name: "API URL as base", edit: func(e *importer.Env) { e.SourceURL = "https://gitlab.example/api/v4" }, want: "Invalid source URL"},
		{name: "credentials in URL", edit: func(e *importer.Env) { e.SourceURL = "https://u:p@gitlab.example" }, want: "without credentials"},
		{name: "dot-dot path", edit: func(e *importer.Env) { e.SourceRef = "acme/../x" }, want: "not a path"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := ok()
			tt.edit(&e)
			r, err := newRun(&e)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("error %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want %q", err, tt.want)
			case tt.want == "" && r.ref != tt.ref:
				t.Errorf("ref %q, want %q", r.ref, tt.ref)
			}
			if _, err2 := New().Stages(context.Background(), &e); (err2 == nil) != (err == nil) {
				t.Errorf("Stages error %v, newRun error %v", err2, err)
			}
		})
	}
}

// TestCloneURL refuses to send the token to any host but the source's.
func TestCloneURL(t *testing.T) {
	e := importer.Env{ProjectID: 7, SourceURL: "https://gitlab.example", SourceRef: "a/b", Credential: "t", HTTP: http.DefaultClient}
	r, err := newRun(&e)
	if err != nil {
		t.Fatal(err)
	}
	for raw, ok := range map[string]bool{
		"https://gitlab.example/a/b.git":     true,
		"https://GITLAB.example/a/b.git":     true,
		"http://gitlab.example/a/b.git":      false,
		"https://evil.example/a/b.git":       false,
		"https://x:y@gitlab.example/a/b.git": false,
		"":                                   false,
	} {
		if _, err := r.cloneURL(raw); (err == nil) != ok {
			t.Errorf("cloneURL(%q): %v", raw, err)
		}
	}
}
