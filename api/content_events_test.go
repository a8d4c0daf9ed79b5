package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry/app/apptest"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/store"
)

// eventContent is fixtureContent's issue 1 and merge request 3 with the
// events an importer writes beside their system notes.
func eventContent() []forge.Object {
	i1, mr3 := forge.Noteable{Type: forge.OnIssue, IID: 1}, forge.Noteable{Type: forge.OnMergeRequest, IID: 3}
	return append(fixtureContent(),
		forge.ResourceEvent{SourceID: gh("EV1"), On: i1, Event: forge.EventLabel, Action: forge.ActionAdd, Label: "bug", Author: octo, CreatedAt: at(10)},
		forge.ResourceEvent{SourceID: gh("EV2"), On: i1, Event: forge.EventLabel, Action: forge.ActionAdd, Label: "wontfix", LabelColor: "#ffffff",
			Author: aliceGH, CreatedAt: at(11)},
		forge.ResourceEvent{SourceID: gh("EV3"), On: i1, Event: forge.EventLabel, Action: forge.ActionRemove, Label: "wontfix", Author: octo, CreatedAt: at(12)},
		forge.ResourceEvent{SourceID: gh("EV4"), On: i1, Event: forge.EventMilestone, Action: forge.ActionAdd, MilestoneTitle: "v1", Author: octo, CreatedAt: at(13)},
		forge.ResourceEvent{SourceID: gh("EV5"), On: i1, Event: forge.EventState, State: forge.StateClosed, Author: octo, CreatedAt: at(14)},
		forge.ResourceEvent{SourceID: gh("EV6"), On: i1, Event: forge.EventState, State: forge.StateReopened, Author: aliceGH, CreatedAt: at(15)},
		forge.ResourceEvent{SourceID: gh("EV7"), On: mr3, Event: forge.EventLabel, Action: forge.ActionAdd, Label: "feature", Author: aliceGH, CreatedAt: at(31)},
		forge.ResourceEvent{SourceID: gh("EV8"), On: mr3, Event: forge.EventState, State: forge.StateMerged, Author: octo, CreatedAt: at(40)},
	)
}

func TestResourceEventsReadBack(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{}, func(t *testing.T, in *apptest.Instance) {
		ctx := context.Background()
		root := in.Client(t, in.RootToken)
		bob := must(root.Users.CreateUser(&gitlab.CreateUserOptions{Username: gitlab.Ptr("bob"), Name: gitlab.Ptr("Bob"),
			Email: gitlab.Ptr("bob@example.com"), Password: gitlab.Ptr("s3cret-pass")}))(t)
		bobTok := must(root.Users.CreatePersonalAccessToken(bob.ID, &gitlab.CreatePersonalAccessTokenOptions{Name: gitlab.Ptr("t"), Scopes: &[]string{"api"}}))(t)
		grp := must(root.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("Org"), Path: gitlab.Ptr("org")}))(t)
		proj := must(root.Projects.CreateProject(&gitlab.CreateProjectOptions{Name: gitlab.Ptr("Repo"), NamespaceID: &grp.ID}))(t)
		if err := in.App.Store.Write(ctx, func(tx *store.Tx) error { _, err := tx.WriteContent(ctx, proj.ID, eventContent()); return err }); err != nil {
			t.Fatal(err)
		}
		issue := must(root.Issues.GetIssue(proj.ID, 1))(t)
		mr := must(root.MergeRequests.GetMergeRequest(proj.ID, 3, nil))(t)
		labels := map[string]int64{}
		for _, l := range must(root.Labels.ListLabels(proj.ID, nil))(t) {
			labels[l.Name] = l.ID
		}

		// Label events: the project's label, or the name and colour of one gone.
		les := must(root.ResourceLabelEvents.ListIssueLabelEvents(proj.ID, 1, nil))(t)
		if len(les) != 3 {
			t.Fatalf("%d issue label events, want 3", len(les))
		}
		for i, want := range []struct {
			action, label, color, user string
			labelID                    int64
		}{
			{"add", "bug", "#d9534f", "Placeholder Octo Cat", labels["bug"]},
			{"add", "wontfix", "#ffffff", "Placeholder Alice GH", 0},
			{"remove", "wontfix", "#6699cc", "Placeholder Octo Cat", 0},
		} {
			e := les[i]
			check(t, fmt.Sprintf("label event %d action", i), e.Action, want.action)
			check(t, fmt.Sprintf("label event %d label", i), e.Label.Name, want.label)
			check(t, fmt.Sprintf("label event %d color", i), e.Label.Color, want.color)
			check(t, fmt.Sprintf("label event %d label id", i), e.Label.ID, want.labelID)
			check(t, fmt.Sprintf("label event %d user", i), e.User.Name, want.user)
			check(t, fmt.Sprintf("label event %d resource_type", i), e.ResourceType, "Issue")
			check(t, fmt.Sprintf("label event %d resource_id", i), e.ResourceID, issue.ID)
		}
		check(t, "created_at", les[0].CreatedAt.Equal(at(10)), true)
		one := must(root.ResourceLabelEvents.GetIssueLabelEvent(proj.ID, 1, les[1].ID))(t)
		check(t, "one label event", one.Label.Name, "wontfix")
		mrLabels := must(root.ResourceLabelEvents.ListMergeRequestsLabelEvents(proj.ID, 3, nil))(t)
		if len(mrLabels) != 1 || mrLabels[0].ResourceType != "MergeRequest" || mrLabels[0].ResourceID != mr.ID || mrLabels[0].Label.ID != labels["feature"] {
			t.Errorf("merge request label events %+v", mrLabels)
		}

		// State events, on both kinds.
		ses := must(root.ResourceStateEvents.ListIssueStateEvents(proj.ID, 1, nil))(t)
		if len(ses) != 2 || ses[0].State != "closed" || ses[1].State != "reopened" || ses[1].User == nil || ses[1].User.Username == "" {
			t.Errorf("issue state events %+v", ses)
		}
		mses := must(root.ResourceStateEvents.ListMergeStateEvents(proj.ID, 3, nil))(t)
		if len(mses) != 1 || mses[0].State != "merged" || mses[0].ResourceID != mr.ID {
			t.Errorf("merge request state events %+v", mses)
		}
		check(t, "one state event", must(root.ResourceStateEvents.GetMergeRequestStateEvent(proj.ID, 3, mses[0].ID))(t).State, gitlab.EventTypeValue("merged"))

		// Milestone events carry the project's milestone entity.
		mes := must(root.ResourceMilestoneEvents.ListIssueMilestoneEvents(proj.ID, 1, nil))(t)
		if len(mes) != 1 || mes[0].Action != "add" || mes[0].Milestone == nil || mes[0].Milestone.Title != "v1" || mes[0].Milestone.IID != 1 {
			t.Errorf("milestone events %+v", mes)
		}
		if got := must(root.ResourceMilestoneEvents.ListMergeMilestoneEvents(proj.ID, 3, nil))(t); len(got) != 0 {
			t.Errorf("merge request milestone events %+v", got)
		}

		// Pagination as the other lists.
		pg, resp, err := root.ResourceLabelEvents.ListIssueLabelEvents(proj.ID, 1, &gitlab.ListLabelEventsOptions{ListOptions: gitlab.ListOptions{Page: 2, PerPage: 2}})
		if err != nil || len(pg) != 1 || pg[0].ID != les[2].ID || resp.TotalItems != 3 || resp.TotalPages != 2 || resp.PreviousPage != 1 {
			t.Errorf("page 2: %d events, total %d pages %d prev %d, %v", len(pg), resp.TotalItems, resp.TotalPages, resp.PreviousPage, err)
		}

		// GitLab's exact keys, and its 404 bodies.
		get := func(token, path string) (int, string) {
			t.Helper()
			req, _ := http.NewRequest("GET", in.URL+"/api/v4"+path, nil)
			if token != "" {
				req.Header.Set("PRIVATE-TOKEN", token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, strings.TrimSpace(string(body))
		}
		keys := func(body string) string {
			var list []map[string]json.RawMessage
			if err := json.Unmarshal([]byte(body), &list); err != nil || len(list) == 0 {
				t.Fatalf("body %s: %v", body, err)
			}
			var ks []string
			for k := range list[0] {
				ks = append(ks, k)
			}
			slices.Sort(ks)
			return strings.Join(ks, ",")
		}
		issuePath := fmt.Sprintf("/projects/%d/issues/1", proj.ID)
		for _, c := range []struct{ path, keys string }{
			{"/resource_label_events", "action,created_at,id,label,resource_id,resource_type,user"},
			{"/resource_state_events", "created_at,id,resource_id,resource_type,source_commit,source_merge_request_id,state,user"},
			{"/resource_milestone_events", "action,created_at,id,milestone,resource_id,resource_type,state,user"},
		} {
			code, body := get(in.RootToken, issuePath+c.path)
			if code != 200 || keys(body) != c.keys {
				t.Errorf("%s: %d keys %s, want %s", c.path, code, keys(body), c.keys)
			}
		}
		for _, c := range []struct {
			name, token, path, want string
		}{
			{"missing event", in.RootToken, issuePath + "/resource_label_events/999999", `{"message":"404 Not found"}`},
			{"an event of another type", in.RootToken, fmt.Sprintf("%s/resource_state_events/%d", issuePath, les[0].ID), `{"message":"404 Not found"}`},
			{"an event of another issuable", in.RootToken, fmt.Sprintf("/projects/%d/merge_requests/3/resource_label_events/%d", proj.ID, les[0].ID), `{"message":"404 Not found"}`},
			{"not an id", in.RootToken, issuePath + "/resource_label_events/abc", `{"message":"404 Not found"}`},
			{"missing issue", in.RootToken, fmt.Sprintf("/projects/%d/issues/99/resource_state_events", proj.ID), `{"message":"404 Issue Not Found"}`},
			{"missing merge request", in.RootToken, fmt.Sprintf("/projects/%d/merge_requests/99/resource_milestone_events", proj.ID), `{"message":"404 Merge Request Not Found"}`},
			{"outsider", bobTok.Token, issuePath + "/resource_label_events", `{"message":"404 Project Not Found"}`},
			{"anonymous", "", issuePath + "/resource_label_events", `{"message":"404 Project Not Found"}`},
		} {
			if code, body := get(c.token, c.path); code != 404 || body != c.want {
				t.Errorf("%s: %d %s, want 404 %s", c.name, code, body, c.want)
			}
		}
	})
}
