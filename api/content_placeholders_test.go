package api_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/store"
)

type sourceUser struct {
	ID                   int64             `json:"id"`
	SourceUserIdentifier string            `json:"source_user_identifier"`
	SourceUsername       string            `json:"source_username"`
	SourceHostname       string            `json:"source_hostname"`
	ImportType           string            `json:"import_type"`
	Status               string            `json:"status"`
	PlaceholderUser      *gitlab.BasicUser `json:"placeholder_user"`
	ReassignToUser       *gitlab.BasicUser `json:"reassign_to_user"`
}

// call sends a raw request with client-go's auth and decoding.
func rawCall[T any](t *testing.T, c *gitlab.Client, method, path string, body any) (T, int) {
	t.Helper()
	var out T
	req, err := c.NewRequest(method, path, body, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req, &out)
	if resp == nil {
		t.Fatal(err)
	}
	return out, resp.StatusCode
}

// TestPlaceholders shows source authors as placeholders, maps a matching
// e-mail to the real user, and lets the group owner reassign the rest.
func TestPlaceholders(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{}, func(t *testing.T, in *apptest.Instance) {
		ctx := context.Background()
		root := in.Client(t, in.RootToken)
		alice := must(root.Users.CreateUser(&gitlab.CreateUserOptions{Username: gitlab.Ptr("alice"), Name: gitlab.Ptr("Alice"),
			Email: gitlab.Ptr("alice@example.com"), Password: gitlab.Ptr("s3cret-pass")}))(t)
		bob := must(root.Users.CreateUser(&gitlab.CreateUserOptions{Username: gitlab.Ptr("bob"), Name: gitlab.Ptr("Bob"),
			Email: gitlab.Ptr("bob@example.com"), Password: gitlab.Ptr("s3cret-pass")}))(t)
		tok := must(root.Users.CreatePersonalAccessToken(alice.ID, &gitlab.CreatePersonalAccessTokenOptions{Name: gitlab.Ptr("t"), Scopes: &[]string{"api"}}))(t)
		ac := in.Client(t, tok.Token)
		grp := must(root.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("Org"), Path: gitlab.Ptr("org")}))(t)
		proj := must(root.Projects.CreateProject(&gitlab.CreateProjectOptions{Name: gitlab.Ptr("Repo"), NamespaceID: &grp.ID}))(t)
		must(root.ProjectMembers.AddProjectMember(proj.ID, &gitlab.AddProjectMemberOptions{UserID: alice.ID, AccessLevel: gitlab.Ptr(gitlab.DeveloperPermissions)}))(t)
		group := []forge.Object{forge.Label{SourceID: gh("GL1"), Name: "group-wide", Color: "#000000"},
			forge.Milestone{SourceID: gh("GM1"), IID: 7, Title: "Q3", State: forge.MilestoneClosed}}
		err := in.App.Store.Write(ctx, func(tx *store.Tx) error {
			if _, err := tx.WriteContent(ctx, proj.ID, fixtureContent()); err != nil {
				return err
			}
			_, err := tx.WriteGroupContent(ctx, grp.ID, group)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}

		// Authors: octo is a placeholder who cannot sign in; alice-gh is alice.
		issue := must(root.Issues.GetIssue(proj.ID, 1))(t)
		ph := must(root.Users.GetUser(issue.Author.ID, nil))(t)
		if ph.Name != "Placeholder Octo Cat" || !strings.HasPrefix(ph.Username, "octo_placeholder_user_") || ph.ID == alice.ID || ph.ID == bob.ID {
			t.Fatalf("placeholder author %+v", ph)
		}
		list, code := rawCall[[]sourceUser](t, root, http.MethodGet, "groups/org/placeholder_reassignments", nil)
		if code != http.StatusOK || len(list) != 2 {
			t.Fatalf("source users: %d %+v", code, list)
		}
		byLogin := map[string]sourceUser{}
		for _, su := range list {
			byLogin[su.SourceUsername] = su
		}
		o, a := byLogin["octo"], byLogin["alice-gh"]
		if o.Status != "pending_reassignment" || o.PlaceholderUser == nil || o.PlaceholderUser.ID != ph.ID || o.ReassignToUser != nil ||
			o.SourceUserIdentifier != "501" || o.SourceHostname != "github.com" || o.ImportType != "github" {
			t.Errorf("octo %+v", o)
		}
		if a.Status != "completed" || a.ReassignToUser == nil || a.ReassignToUser.ID != alice.ID {
			t.Errorf("alice-gh %+v", a)
		}

		// Only an owner reassigns; reassigning octo to bob changes every author.
		body := map[string]any{"source_user_identifier": "501", "source_hostname": "github.com", "reassign_to_username": "bob"}
		if _, code := rawCall[map[string]any](t, ac, http.MethodPost, "groups/org/placeholder_reassignments", body); code != http.StatusForbidden {
			t.Errorf("developer reassigns: %d", code)
		}
		got, code := rawCall[sourceUser](t, root, http.MethodPost, "groups/org/placeholder_reassignments", body)
		if code != http.StatusOK || got.Status != "completed" || got.ReassignToUser == nil || got.ReassignToUser.ID != bob.ID {
			t.Fatalf("reassign: %d %+v", code, got)
		}
		if i := must(root.Issues.GetIssue(proj.ID, 1))(t); i.Author.ID != bob.ID {
			t.Errorf("author after reassignment: %+v", i.Author)
		}
		if appr := must(root.MergeRequests.GetMergeRequestApprovals(proj.ID, 3))(t); appr.ApprovedBy[0].User.ID != bob.ID {
			t.Errorf("approver after reassignment: %+v", appr.ApprovedBy[0].User)
		}
		if is := must(root.Issues.ListProjectIssues(proj.ID, &gitlab.ListProjectIssuesOptions{AuthorID: &bob.ID}))(t); len(is) != 1 {
			t.Errorf("issues by bob: %d", len(is))
		}
		// Back to the placeholder.
		body = map[string]any{"source_user_id": o.ID, "reassign_to_user_id": ph.ID}
		if got, _ := rawCall[sourceUser](t, root, http.MethodPost, "groups/org/placeholder_reassignments", body); got.Status != "pending_reassignment" {
			t.Errorf("undo: %+v", got)
		}
		if _, code := rawCall[map[string]any](t, root, http.MethodPost, "groups/org/placeholder_reassignments", map[string]any{"source_user_id": o.ID}); code != http.StatusBadRequest {
			t.Errorf("missing target: %d", code)
		}

		// GitLab's CSV round trip: download the sheet, name bob by e-mail, upload it.
		sheet := csvRequest(t, in, http.MethodGet, "/api/v4/groups/org/placeholder_reassignments?format=csv", nil)
		recs, err := csv.NewReader(strings.NewReader(sheet)).ReadAll()
		if err != nil || len(recs) != 3 || recs[0][2] != "Source user identifier" {
			t.Fatalf("csv sheet %q: %v", sheet, err)
		}
		for _, rec := range recs[1:] {
			if rec[2] == "501" {
				rec[6] = "bob@example.com"
			}
		}
		var up bytes.Buffer
		mw := multipart.NewWriter(&up)
		fw, _ := mw.CreateFormFile("file", "reassign.csv")
		_ = csv.NewWriter(fw).WriteAll(recs)
		_ = mw.Close()
		csvRequest(t, in, http.MethodPost, "/api/v4/groups/org/placeholder_reassignments", &up, "Content-Type", mw.FormDataContentType())
		if i := must(root.Issues.GetIssue(proj.ID, 1))(t); i.Author.ID != bob.ID {
			t.Errorf("author after CSV reassignment: %+v", i.Author)
		}

		// Group labels and milestones, and project lists that include them.
		gl := must(root.GroupLabels.ListGroupLabels(grp.ID, nil))(t)
		gm := must(root.GroupMilestones.ListGroupMilestones("org", nil))(t)
		if len(gl) != 1 || gl[0].Name != "group-wide" || gl[0].IsProjectLabel || len(gm) != 1 || gm[0].IID != 7 || gm[0].GroupID != grp.ID || gm[0].State != "closed" {
			t.Errorf("group labels %+v milestones %+v", gl, gm)
		}
		if pl := must(root.Labels.ListLabels(proj.ID, nil))(t); len(pl) != 3 {
			t.Errorf("project labels with the group's: %d", len(pl))
		}
	})
}

// csvRequest sends a root request and returns the body, failing on >= 300.
func csvRequest(t *testing.T, in *apptest.Instance, method, path string, body io.Reader, headers ...string) string {
	t.Helper()
	req, err := http.NewRequest(method, in.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("PRIVATE-TOKEN", in.RootToken)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return string(b)
}
