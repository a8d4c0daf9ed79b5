package api_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/store"
	"github.com/ferry-import/ferry/store/storetest"
)

// TestReassignmentNeedsConsent: a group owner's reassignment to someone
// else waits for that person; contributions keep their placeholder until
// they accept, and nobody else can answer for them.
func TestReassignmentNeedsConsent(t *testing.T) {
	t.Parallel()
	in := apptest.Start(t, storetest.Engines(t)[0], apptest.Options{})
	ctx := context.Background()
	root := in.Client(t, in.RootToken)
	user := func(name string) (*gitlab.User, *gitlab.Client) {
		u := must(root.Users.CreateUser(&gitlab.CreateUserOptions{Username: gitlab.Ptr(name), Name: gitlab.Ptr(name),
			Email: gitlab.Ptr(name + "@example.com"), Password: gitlab.Ptr("s3cret-pass")}))(t)
		tok := must(root.Users.CreatePersonalAccessToken(u.ID, &gitlab.CreatePersonalAccessTokenOptions{Name: gitlab.Ptr("t"), Scopes: &[]string{"api"}}))(t)
		return u, in.Client(t, tok.Token)
	}
	owner, oc := user("owner")
	bob, bc := user("bob")
	_, mc := user("mallory")
	grp := must(oc.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("Org"), Path: gitlab.Ptr("org")}))(t)
	proj := must(oc.Projects.CreateProject(&gitlab.CreateProjectOptions{Name: gitlab.Ptr("Repo"), NamespaceID: &grp.ID}))(t)
	if err := in.App.Store.Write(ctx, func(tx *store.Tx) error { _, err := tx.WriteContent(ctx, proj.ID, fixtureContent()); return err }); err != nil {
		t.Fatal(err)
	}
	before := must(oc.Issues.GetIssue(proj.ID, 1))(t).Author.ID

	body := map[string]any{"source_user_identifier": "501", "source_hostname": "github.com", "reassign_to_username": "bob"}
	got, code := rawCall[sourceUser](t, oc, http.MethodPost, "groups/org/placeholder_reassignments", body)
	if code != http.StatusOK || got.Status != "awaiting_approval" || got.ReassignToUser == nil || got.ReassignToUser.ID != bob.ID {
		t.Fatalf("owner's reassignment: %d %+v", code, got)
	}
	if a := must(oc.Issues.GetIssue(proj.ID, 1))(t).Author.ID; a != before {
		t.Fatalf("contributions moved before consent: author %d", a)
	}
	mine, _ := rawCall[[]sourceUser](t, bc, http.MethodGet, "user/placeholder_reassignments", nil)
	if len(mine) != 1 || mine[0].ID != got.ID {
		t.Fatalf("bob's pending reassignments: %+v", mine)
	}
	if _, code := rawCall[map[string]any](t, mc, http.MethodPost, fmt.Sprintf("user/placeholder_reassignments/%d/accept", got.ID), nil); code != http.StatusNotFound {
		t.Fatalf("someone else accepted: %d", code)
	}
	// Bob says no: the placeholder stays.
	rej, code := rawCall[sourceUser](t, bc, http.MethodPost, fmt.Sprintf("user/placeholder_reassignments/%d/reject", got.ID), nil)
	if code != http.StatusOK || rej.Status != "pending_reassignment" || rej.ReassignToUser != nil {
		t.Fatalf("reject: %d %+v", code, rej)
	}
	if a := must(oc.Issues.GetIssue(proj.ID, 1))(t).Author.ID; a != before {
		t.Fatalf("author after a rejection: %d", a)
	}
	// Asked again, Bob accepts.
	if got, code = rawCall[sourceUser](t, oc, http.MethodPost, "groups/org/placeholder_reassignments", body); code != http.StatusOK || got.Status != "awaiting_approval" {
		t.Fatalf("second request: %d %+v", code, got)
	}
	acc, code := rawCall[sourceUser](t, bc, http.MethodPost, fmt.Sprintf("user/placeholder_reassignments/%d/accept", got.ID), nil)
	if code != http.StatusOK || acc.Status != "completed" {
		t.Fatalf("accept: %d %+v", code, acc)
	}
	if a := must(oc.Issues.GetIssue(proj.ID, 1))(t).Author; a.ID != bob.ID {
		t.Fatalf("author after consent: %+v", a)
	}
	// The owner reassigning to themself needs nobody's consent.
	body = map[string]any{"source_user_identifier": "501", "source_hostname": "github.com", "reassign_to_user_id": owner.ID}
	if got, code := rawCall[sourceUser](t, oc, http.MethodPost, "groups/org/placeholder_reassignments", body); code != http.StatusOK || got.Status != "completed" {
		t.Fatalf("owner to themself: %d %+v", code, got)
	}
}
