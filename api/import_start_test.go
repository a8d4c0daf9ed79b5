package api_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/store"
	"github.com/ferry-import/ferry/store/storetest"
)

// TestStartImportInProcess: the in-process entries the web forms call
// answer what the endpoints answer for the same parameters, and create
// nothing when they refuse.
func TestStartImportInProcess(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, storetest.Engines(t)[0], apptest.Options{Workers: 1})
	ctx := context.Background()
	var root *ferry.User
	if err := in.App.Store.Read(ctx, func(tx *store.Tx) (err error) { root, err = tx.UserByUsername(ctx, "root"); return }); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, source, path string
		form               url.Values
		code               string
	}{
		{"github nothing", "github", "/import/github", url.Values{}, ferry.EINVALID},
		{"github local address", "github", "/import/github", url.Values{"personal_access_token": {"ghp_x"}, "repo_id": {"1"},
			"target_namespace": {"root"}, "github_hostname": {"http://127.0.0.1:1"}}, ferry.EBADREQUEST},
		{"github repo_id not a number", "github", "/import/github", url.Values{"personal_access_token": {"ghp_x"}, "repo_id": {"x"},
			"target_namespace": {"root"}}, ferry.EINVALID},
		{"bitbucket bad key", "bitbucket_server", "/import/bitbucket_server", url.Values{"bitbucket_server_url": {"http://127.0.0.1:1"},
			"bitbucket_server_username": {"u"}, "personal_access_token": {"t"}, "bitbucket_server_project": {"A/B"},
			"bitbucket_server_repo": {"r"}}, ferry.EUNPROCESSABLE},
		{"migration nothing", "", "/bulk_imports", url.Values{}, ferry.EINVALID},
		{"migration bad slug", "", "/bulk_imports", url.Values{"configuration[url]": {"http://127.0.0.1:1"}, "configuration[access_token]": {"t"},
			"entities[0][source_type]": {"group_entity"}, "entities[0][source_full_path]": {"g"}, "entities[0][destination_namespace]": {""},
			"entities[0][destination_slug]": {"-x-"}}, ferry.EINVALID},
	} {
		t.Run(c.name, func(t *testing.T) {
			var err error
			if c.source == "" {
				_, err = in.App.API.StartBulkImport(ctx, root, c.form)
			} else {
				_, err = in.App.API.StartImport(ctx, root, c.source, c.form)
			}
			if ferry.ErrorCode(err) != c.code {
				t.Fatalf("in process: %v (%s), want %s", err, ferry.ErrorCode(err), c.code)
			}
			_, body, _ := do(t, in.URL, map[string]string{"root": in.RootToken}, call{"POST", "/api/v4" + c.path, "root",
				"application/x-www-form-urlencoded", c.form.Encode()})
			msg, _ := json.Marshal(ferry.ErrorMessage(err))
			if !strings.Contains(body, strings.Trim(string(msg), `"`)) {
				t.Errorf("the endpoint answers %s; in process %q", body, ferry.ErrorMessage(err))
			}
		})
	}
	// Listing repositories checks the address as an import does.
	_, _, err := in.App.API.ListSourceRepos(ctx, root, "github", url.Values{"personal_access_token": {"ghp_x"},
		"github_hostname": {"http://127.0.0.1:1"}})
	if ferry.ErrorCode(err) != ferry.EBADREQUEST || !strings.HasPrefix(ferry.ErrorMessage(err), "Invalid URL: http://127.0.0.1:1") {
		t.Errorf("listing from a local address: %v", err)
	}
	// A GitHub App lists under the import endpoint's rules and messages.
	for _, c := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"github_app_id": {"1"}, "github_app_private_key": {"k"}}, "github_app_installation_id is missing"},
		{url.Values{"personal_access_token": {"ghp_x"}, "github_app_id": {"1"}}, "personal_access_token, github_app_id are mutually exclusive"},
		{url.Values{"github_app_id": {"1"}, "github_app_installation_id": {"2"}, "github_app_private_key": {"not a key"}},
			"github_app_private_key is invalid: not a PEM block"},
	} {
		if _, _, err := in.App.API.ListSourceRepos(ctx, root, "github", c.form); ferry.ErrorCode(err) != ferry.EINVALID || ferry.ErrorMessage(err) != c.want {
			t.Errorf("listing with %v: %v, want %q", c.form, err, c.want)
		}
	}
	if _, _, err := in.App.API.ListSourceRepos(ctx, root, "bitbucket_server", url.Values{}); ferry.ErrorCode(err) != ferry.ENOTIMPLEMENTED {
		t.Errorf("listing Bitbucket Server: %v", err)
	}
	// Nothing was made.
	c := in.Client(t, in.RootToken)
	if ps, _, err := c.Projects.ListProjects(nil); err != nil || len(ps) != 0 {
		t.Errorf("projects after refusals: %d %v", len(ps), err)
	}
}
