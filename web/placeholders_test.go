package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/store"
)

var sourceUserRE = regexp.MustCompile(`name="source_user_id" value="(\d+)"`)

func TestPlaceholderReassignment(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{Workers: 1}, func(t *testing.T, in *apptest.Instance) {
		_, aliceTok := user(t, in, "alice")
		bobUser, bobTok := user(t, in, "bob")
		ac := in.Client(t, aliceTok.Token)
		grp, _, err := ac.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("Org"), Path: gitlab.Ptr("org")})
		if err != nil {
			t.Fatal(err)
		}
		// bob is a Developer of the group: he sees it, but does not own it.
		if _, _, err := ac.GroupMembers.AddGroupMember(grp.ID, &gitlab.AddGroupMemberOptions{UserID: gitlab.Ptr(bobUser.ID),
			AccessLevel: gitlab.Ptr(gitlab.DeveloperPermissions)}); err != nil {
			t.Fatal(err)
		}
		sub, _, err := ac.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("Team"), Path: gitlab.Ptr("team"), ParentID: &grp.ID})
		if err != nil {
			t.Fatal(err)
		}
		p, _, err := ac.Projects.CreateProject(&gitlab.CreateProjectOptions{Path: gitlab.Ptr("repo"), NamespaceID: &sub.ID})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		t0 := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
		octo := forge.SourceUser{SourceID: forge.SourceID{ID: "501"}, Login: "octo", Name: "Octo Cat"}
		err = in.App.Store.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.WriteContent(ctx, int64(p.ID), []forge.Object{forge.Issue{SourceID: forge.SourceID{Type: "github", Host: "github.com", ID: "I1"},
				IID: 1, Title: "By octo", State: forge.StateOpened, Author: octo, CreatedAt: t0, UpdatedAt: t0}})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		const tab = "/groups/org/-/group_members?tab=placeholders"

		alice := &recorder{browser: newBrowser(t, in)}
		alice.signIn(aliceTok.Token)
		// The owner's group page links the tab; a subgroup's tab is the top-level group's.
		if _, page := alice.do("GET", "/groups/org", nil); !strings.Contains(page, `href="`+strings.ReplaceAll(tab, "&", "&amp;")+`"`) &&
			!strings.Contains(page, `href="`+tab+`"`) {
			t.Errorf("the group page does not link the placeholders")
		}
		if res, _ := alice.do("GET", "/groups/org/team/-/group_members?tab=placeholders", nil); res.StatusCode != http.StatusSeeOther ||
			res.Header.Get("Location") != tab {
			t.Errorf("subgroup tab: %d %q", res.StatusCode, res.Header.Get("Location"))
		}
		res, page := alice.do("GET", tab, nil)
		if res.StatusCode != 200 || !strings.Contains(page, "Octo Cat") || !strings.Contains(page, "@octo") ||
			!strings.Contains(page, "pending_reassignment") || !strings.Contains(page, `<label for="username-`) {
			t.Fatalf("placeholders tab: %d %s", res.StatusCode, page)
		}
		m := sourceUserRE.FindStringSubmatch(page)
		if m == nil {
			t.Fatal("no reassign form")
		}
		suID, token := m[1], csrf(t, page)
		reassign := func(b *recorder, token, username string) (*http.Response, string) {
			return b.do("POST", "/-/placeholders/reassign", url.Values{"authenticity_token": {token}, "group": {"org"},
				"source_user_id": {suID}, "username": {username}})
		}

		// Refusals: the API's message next to the form, the name typed kept.
		for _, c := range []struct {
			name, username string
			status         int
			alert          string
		}{
			{"unknown user", "nobody", http.StatusUnprocessableEntity, "User not found"},
			{"empty", " ", http.StatusUnprocessableEntity, "Enter the username"},
		} {
			t.Run(c.name, func(t *testing.T) {
				res, page := reassign(alice, token, c.username)
				if res.StatusCode != c.status || !strings.Contains(alert(page), c.alert) {
					t.Errorf("%d, alert %q, want %d %q", res.StatusCode, alert(page), c.status, c.alert)
				}
				if strings.TrimSpace(c.username) != "" && !strings.Contains(page, `value="`+c.username+`"`) {
					t.Errorf("the form lost the username typed")
				}
			})
		}
		if res, _ := reassign(alice, "forged", "bob"); res.StatusCode != http.StatusForbidden {
			t.Errorf("without CSRF: %d", res.StatusCode)
		}

		// To someone else: waits for their consent, as through the API.
		if res, _ := reassign(alice, token, "bob"); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("reassign to bob: %d", res.StatusCode)
		}
		if _, page := alice.do("GET", tab, nil); !strings.Contains(page, "awaiting_approval") || !strings.Contains(page, "waiting for bob to accept") {
			t.Errorf("after reassigning to bob: %s", page)
		}
		// To herself: at once; then undone.
		if res, _ := reassign(alice, token, "alice"); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("reassign to alice: %d", res.StatusCode)
		}
		_, page = alice.do("GET", tab, nil)
		if !strings.Contains(page, "completed") || !strings.Contains(page, ">Undo</button>") {
			t.Fatalf("after reassigning to alice: %s", page)
		}
		undo := regexp.MustCompile(`name="username" value="(octo_placeholder[^"]*)"`).FindStringSubmatch(page)
		if undo == nil {
			t.Fatal("no undo form")
		}
		if res, _ := reassign(alice, token, undo[1]); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("undo: %d", res.StatusCode)
		}
		if _, page := alice.do("GET", tab, nil); !strings.Contains(page, "pending_reassignment") {
			t.Errorf("after undo: %s", page)
		}

		// Anyone but an owner: refused, no link.
		bob := &recorder{browser: newBrowser(t, in)}
		bob.signIn(bobTok.Token)
		if _, page := bob.do("GET", "/groups/org", nil); strings.Contains(page, "group_members") {
			t.Errorf("a non-owner is shown the placeholders link")
		}
		res, page = bob.do("GET", tab, nil)
		if res.StatusCode != http.StatusForbidden || strings.Contains(page, "Octo Cat") || !strings.Contains(alert(page), "Only the group's owners") {
			t.Errorf("non-owner tab: %d %q", res.StatusCode, alert(page))
		}
		_, page = bob.do("GET", "/", nil)
		if res, page := reassign(bob, csrf(t, page), "bob"); res.StatusCode != http.StatusForbidden {
			t.Errorf("a non-owner reassigned: %d %q", res.StatusCode, alert(page))
		}
	})
}
