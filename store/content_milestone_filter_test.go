package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/forge/forgetest"
	"github.com/ferry-import/ferry/store"
	"github.com/ferry-import/ferry/store/storetest"
)

// TestIssuablesByMilestoneID: IssuableFilter.MilestoneID selects the
// issues and merge requests of that one milestone, where three share its
// title (two of the project's, from a source that allows it, and its
// group's) and another project has one of the same iid; the title filter
// (the API's milestone=) still means every milestone of that title.
func TestIssuablesByMilestoneID(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		owner, proj := contentProject(t, s)
		src := func(id string) forge.SourceID { x := forgetest.Source; x.ID = id; return x }
		alice := forgetest.User(0)
		issue := func(iid, milestone int64) forge.Issue {
			return forge.Issue{SourceID: src(fmt.Sprintf("%d-issue-%d", proj.ID, iid)), IID: iid, Title: fmt.Sprintf("issue %d", iid),
				State: forge.StateOpened, Author: alice, MilestoneIID: milestone}
		}
		mr := func(iid, milestone int64) forge.MergeRequest {
			return forge.MergeRequest{SourceID: src(fmt.Sprintf("%d-mr-%d", proj.ID, iid)), IID: iid, Title: fmt.Sprintf("mr %d", iid),
				State: forge.StateOpened, Author: alice, MilestoneIID: milestone}
		}
		other := &ferry.Project{Name: "Other", Path: "other", Visibility: ferry.Private, NamespaceID: proj.NamespaceID, CreatorID: owner.ID}
		mustWrite(t, s, func(tx *store.Tx) error {
			if _, err := tx.WriteContent(ctx, proj.ID, []forge.Object{
				forge.Milestone{SourceID: src("m7"), IID: 7, Title: "Same"},
				forge.Milestone{SourceID: src("m8"), IID: 8, Title: "Same"},
				issue(1, 7), issue(2, 8), issue(3, 0), mr(10, 7), mr(11, 8),
			}); err != nil {
				return err
			}
			if _, err := tx.WriteGroupContent(ctx, proj.NamespaceID, []forge.Object{
				forge.Milestone{SourceID: src("g7"), IID: 7, Title: "Same"},
			}); err != nil {
				return err
			}
			if err := tx.CreateProject(ctx, other); err != nil {
				return err
			}
			_, err := tx.WriteContent(ctx, other.ID, []forge.Object{
				forge.Milestone{SourceID: src("o7"), IID: 7, Title: "Same"},
				forge.Issue{SourceID: src("other-issue"), IID: 1, Title: "other issue", State: forge.StateOpened, Author: alice, MilestoneIID: 7},
			})
			return err
		})
		// The milestones' ids: the project's by iid, the group's.
		ids := map[string]int64{}
		err := s.Read(ctx, func(tx *store.Tx) error {
			for key, f := range map[string]store.ContentFilter{
				"project": {ProjectID: proj.ID, OwnOnly: true}, "group": {GroupID: proj.NamespaceID}, "other": {ProjectID: other.ID, OwnOnly: true},
			} {
				ms, _, err := tx.ListMilestones(ctx, f, store.Page{Page: 1, PerPage: 20})
				if err != nil {
					return err
				}
				for _, m := range ms {
					ids[fmt.Sprintf("%s %d", key, m.IID)] = m.ID
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) != 4 {
			t.Fatalf("milestones %v, want the project's 7 and 8, the group's 7, the other project's 7", ids)
		}
		admin := store.Viewer{Admin: true}
		for _, c := range []struct {
			name        string
			f           store.IssuableFilter
			issues, mrs string
		}{
			{"the project's first", store.IssuableFilter{ProjectID: proj.ID, MilestoneID: ids["project 7"]}, "[1]", "[10]"},
			{"the project's second", store.IssuableFilter{ProjectID: proj.ID, MilestoneID: ids["project 8"]}, "[2]", "[11]"},
			{"the group's", store.IssuableFilter{ProjectID: proj.ID, MilestoneID: ids["group 7"]}, "[]", "[]"},
			{"across projects", store.IssuableFilter{MilestoneID: ids["project 7"]}, "[1]", "[10]"},
			{"the other project's", store.IssuableFilter{MilestoneID: ids["other 7"]}, "[1]", "[]"},
			{"the API's title", store.IssuableFilter{ProjectID: proj.ID, Milestone: "Same"}, "[1 2]", "[10 11]"},
		} {
			c.f.Viewer, c.f.Sort = admin, "asc"
			var issues, mrs []int64
			var nIssues, nMRs int
			err := s.Read(ctx, func(tx *store.Tx) error {
				is, n, err := tx.ListIssues(ctx, c.f, store.Page{Page: 1, PerPage: 20})
				if err != nil {
					return err
				}
				nIssues = n
				for _, it := range is {
					issues = append(issues, it.IID)
					if it.Milestone == nil || it.Milestone.Title != "Same" {
						t.Errorf("%s: issue %d has milestone %+v", c.name, it.IID, it.Milestone)
					}
				}
				ms, n, err := tx.ListMergeRequests(ctx, c.f, store.Page{Page: 1, PerPage: 20})
				nMRs = n
				for _, it := range ms {
					mrs = append(mrs, it.IID)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(issues); got != c.issues {
				t.Errorf("%s: issues %s, want %s", c.name, got, c.issues)
			}
			if got := fmt.Sprint(mrs); got != c.mrs {
				t.Errorf("%s: merge requests %s, want %s", c.name, got, c.mrs)
			}
			if nIssues != len(issues) || nMRs != len(mrs) {
				t.Errorf("%s: totals %d and %d, listed %d and %d", c.name, nIssues, nMRs, len(issues), len(mrs))
			}
		}
	})
}
