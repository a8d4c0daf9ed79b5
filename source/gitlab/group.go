package gitlab

import (
	"context"
	"fmt"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry/importer"
)

// groupLabels lists the group's own labels (not its ancestors').
func (r *run) groupLabels() importer.Relation {
	return list(r, relLabels, r.groupPath()+"/labels",
		map[string][]string{"include_ancestor_groups": {"false"}, "include_descendant_groups": {"false"}, "only_group_labels": {"true"}},
		func(_ context.Context, b *builder, ls []*gl.GroupLabel) error {
			for _, l := range ls {
				b.Add(b.label((*gl.Label)(l)))
			}
			return nil
		})
}

// groupMilestones lists the group's own milestones.
func (r *run) groupMilestones() importer.Relation {
	return list(r, relMilestones, r.groupPath()+"/milestones", nil,
		func(_ context.Context, b *builder, ms []*gl.GroupMilestone) error {
			for _, m := range ms {
				b.Add(b.milestone(&gl.Milestone{ID: m.ID, IID: m.IID, GroupID: m.GroupID, Title: m.Title,
					Description: m.Description, StartDate: m.StartDate, DueDate: m.DueDate, State: m.State,
					CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt}))
			}
			return nil
		})
}

// unheld is why a group's badges and members are failed items: the store
// keeps labels and milestones only on a group.
const unheld = "ferry stores no %s on a group: not imported"

// groupBadges lists the group's badges, each a failed item: ferry has no
// place for them, and saying so beats dropping them silently.
func (r *run) groupBadges() importer.Relation {
	return list(r, relBadges, r.groupPath()+"/badges", nil,
		func(_ context.Context, b *builder, bs []*gl.GroupBadge) error {
			for _, x := range bs {
				if x.Kind != "" && x.Kind != gl.GroupBadgeKind {
					continue // a project's badge listed with the group's
				}
				b.Fail(importer.ItemFailure{SourceURL: r.base.String() + "api/v4/" + r.groupPath() + "/badges/" + id(x.ID),
					Title: fmt.Sprintf("badge %s (%s)", x.Name, x.LinkURL), Err: &importer.Permanent{Err: fmt.Errorf(unheld, "badges")}})
			}
			b.CountItems(len(bs))
			return nil
		})
}

// groupMembers lists the group's members (direct and inherited), each a
// failed item: ferry keeps no group memberships.
func (r *run) groupMembers() importer.Relation {
	return list(r, relMembers, r.groupPath()+"/members/all", nil,
		func(_ context.Context, b *builder, ms []*gl.GroupMember) error {
			for _, m := range ms {
				b.Fail(importer.ItemFailure{SourceURL: r.base.String() + m.Username,
					Title: fmt.Sprintf("member %s (access level %d)", m.Username, m.AccessLevel),
					Err:   &importer.Permanent{Err: fmt.Errorf(unheld, "members")}})
			}
			b.CountItems(len(ms))
			return nil
		})
}
