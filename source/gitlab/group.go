package gitlab

import (
	"context"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/forge"
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

// projectBadges lists the project's own badges: GitLab lists its groups'
// badges with them (kind "group"), which stay with the groups.
func (r *run) projectBadges() importer.Relation {
	return list(r, relBadges, r.projectPath()+"/badges", nil,
		func(_ context.Context, b *builder, bs []*gl.ProjectBadge) error {
			for _, x := range bs {
				if x.Kind != "" && x.Kind != "project" {
					continue
				}
				b.Add(forge.Badge{SourceID: b.r.sid("badge/" + id(x.ID)), Name: x.Name, LinkURL: x.LinkURL, ImageURL: x.ImageURL})
			}
			return nil
		})
}

// groupBadges lists the group's own badges.
func (r *run) groupBadges() importer.Relation {
	return list(r, relBadges, r.groupPath()+"/badges", nil,
		func(_ context.Context, b *builder, bs []*gl.GroupBadge) error {
			for _, x := range bs {
				if x.Kind != "" && x.Kind != gl.GroupBadgeKind {
					continue // a project's badge listed with the group's
				}
				b.Add(forge.Badge{SourceID: b.r.sid("badge/" + id(x.ID)), Name: x.Name, LinkURL: x.LinkURL, ImageURL: x.ImageURL})
			}
			return nil
		})
}

// groupMembers lists the group's members, direct and inherited, as
// direct transfer migrates them (the store leaves out whoever already has
// the role through a parent group).
func (r *run) groupMembers() importer.Relation {
	return list(r, relMembers, r.groupPath()+"/members/all", nil,
		func(_ context.Context, b *builder, ms []*gl.GroupMember) error {
			for _, m := range ms {
				b.Add(forge.Member{SourceID: b.r.sid("member/" + id(m.ID)), User: b.user(m.ID, m.Username, m.Name),
					AccessLevel: ferry.AccessLevel(m.AccessLevel)})
			}
			return nil
		})
}
