package gitlab

import (
	"net/http"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry/fakeforge/scenario"
)

// groupOff keeps a group's label and milestone ids apart from every
// project's (projects use strides of 10⁹ by index) and every other group's.
func (s *Server) groupOff(g scenario.Group) int64 {
	return int64(len(s.projects)+1+g.Index) * 1_000_000_000
}

// groupLabels lists the group's own labels: the scenario's label set, as
// every group defines it.
func (s *Server) groupLabels(w http.ResponseWriter, r *http.Request, g scenario.Group) {
	off := s.groupOff(g)
	s.list(w, r, rangeSeq(1, s.sc.Config().Labels), func(i int) any {
		l := s.sc.Label(i)
		return &gl.GroupLabel{ID: off + l.ID, Name: l.Name, Color: "#" + l.Color, TextColor: "#FFFFFF",
			Description: "Group " + l.Description, IsProjectLabel: false}
	})
}

// groupMilestones lists the group's milestones (the scenario's set),
// filtered by state as GitLab does.
func (s *Server) groupMilestones(w http.ResponseWriter, r *http.Request, g scenario.Group) {
	q := rangeSeq(1, s.sc.Config().Milestones)
	switch st := r.URL.Query().Get("state"); st {
	case "":
	case "active", "closed":
		q = filter(q, func(i int) bool { return s.sc.Milestone(i).Open == (st == "active") })
	default:
		badRequest(w, "state does not have a valid value")
		return
	}
	off := s.groupOff(g)
	s.list(w, r, q, func(i int) any {
		m := s.sc.Milestone(i)
		state := "closed"
		if m.Open {
			state = "active"
		}
		return &gl.GroupMilestone{ID: off + m.ID, IID: int64(m.Number), GroupID: g.ID, Title: "Group " + m.Title,
			Description: m.Description, State: state, StartDate: gl.Ptr(gl.ISOTime(m.Created)),
			DueDate: gl.Ptr(gl.ISOTime(m.DueOn)), CreatedAt: tp(m.Created), UpdatedAt: tp(m.Updated), Expired: gl.Ptr(false)}
	})
}

// groupBadges lists one pipeline badge per group.
func (s *Server) groupBadges(w http.ResponseWriter, r *http.Request, g scenario.Group) {
	s.list(w, r, rangeSeq(1, 1), func(int) any {
		link := s.base + "/groups/" + g.FullPath
		img := s.base + "/groups/" + g.FullPath + "/badges/main/pipeline.svg"
		return &gl.GroupBadge{ID: g.ID*10 + 1, Name: "pipeline", LinkURL: link, ImageURL: img,
			RenderedLinkURL: link, RenderedImageURL: img, Kind: gl.GroupBadgeKind}
	})
}

// projectBadge is a project's one badge (a coverage badge), as REST and
// the export give it.
func (s *Server) projectBadge(p proj) exBadge {
	return exBadge{Name: "coverage", LinkURL: s.base + "/" + p.FullPath + "/-/jobs",
		ImageURL: s.base + "/" + p.FullPath + "/badges/main/coverage.svg", Type: "ProjectBadge"}
}

// projectBadges lists, as GitLab does, the project's own badge and the
// badge of its group (kind "group"), which an importer must not copy to
// the project.
func (s *Server) projectBadges(w http.ResponseWriter, r *http.Request, p proj) {
	g := s.sc.Groups()[p.Group]
	s.list(w, r, rangeSeq(1, 2), func(i int) any {
		if i == 1 {
			b := s.projectBadge(p)
			return &gl.ProjectBadge{ID: p.ID*10 + 2, Name: b.Name, LinkURL: b.LinkURL, ImageURL: b.ImageURL,
				RenderedLinkURL: b.LinkURL, RenderedImageURL: b.ImageURL, Kind: "project"}
		}
		gb := s.exGroupBadge(g)
		return &gl.ProjectBadge{ID: g.ID*10 + 1, Name: gb.Name, LinkURL: gb.LinkURL, ImageURL: gb.ImageURL,
			RenderedLinkURL: gb.LinkURL, RenderedImageURL: gb.ImageURL, Kind: "group"}
	})
}

// protectedBranches lists the scenario's protected branches: main lets
// developers merge, the rest only maintainers; force pushes are allowed on
// feature branches only.
func (s *Server) protectedBranches(w http.ResponseWriter, r *http.Request, p proj) {
	s.list(w, r, rangeSeq(0, s.sc.Config().ProtectedBranches-1), func(b int) any {
		br := s.sc.Branch(b)
		merge := gl.MaintainerPermissions
		if b == 0 {
			merge = gl.DeveloperPermissions
		}
		level := func(l gl.AccessLevelValue, k int64) []*gl.BranchAccessDescription {
			return []*gl.BranchAccessDescription{{ID: p.off + int64(b)*10 + k, AccessLevel: l,
				AccessLevelDescription: accessLevelNames[l]}}
		}
		return &gl.ProtectedBranch{ID: p.off + int64(b) + 1, Name: br.Name,
			PushAccessLevels: level(gl.MaintainerPermissions, 1), MergeAccessLevels: level(merge, 2),
			UnprotectAccessLevels: level(gl.MaintainerPermissions, 3), AllowForcePush: b > 0,
			CodeOwnerApprovalRequired: false}
	})
}

var accessLevelNames = map[gl.AccessLevelValue]string{gl.DeveloperPermissions: "Developers + Maintainers",
	gl.MaintainerPermissions: "Maintainers"}
