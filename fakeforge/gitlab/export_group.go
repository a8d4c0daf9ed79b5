package gitlab

import (
	"net/http"
	"slices"
	"time"

	"github.com/ferry-import/ferry/fakeforge/scenario"
)

// groupRelations are a group's exported relations (GitLab's group
// import_export.yml tree plus self and user_contributions), in status
// order.
var groupRelations = []relation{
	{name: "self", records: one(func(s *Server, pt portable) any { return s.exGroupSelf(pt.g) })},
	{name: "labels", batchable: true, records: func(s *Server, pt portable) (int, func(int) any) {
		return s.sc.Config().Labels, func(i int) any { return s.exGroupLabel(pt.g, i) }
	}},
	{name: "milestones", batchable: true, records: func(s *Server, pt portable) (int, func(int) any) {
		return s.sc.Config().Milestones, func(i int) any { return s.exGroupMilestone(pt.g, i) }
	}},
	{name: "members", batchable: true, records: func(s *Server, _ portable) (int, func(int) any) {
		return s.sc.Config().Users, func(i int) any { return s.exMember(i, "Namespace") }
	}},
	{name: "badges", batchable: true, records: func(s *Server, pt portable) (int, func(int) any) {
		return 1, func(int) any { return s.exGroupBadge(pt.g) }
	}},
	{name: "user_contributions", records: userContributions},
}

func (s *Server) groupExportStart(w http.ResponseWriter, r *http.Request, g scenario.Group) {
	s.startExport(w, r, groupPortable(g))
}

type (
	exGroupSelf struct {
		Name            string  `json:"name"`
		Path            string  `json:"path"`
		Description     string  `json:"description"`
		VisibilityLevel int     `json:"visibility_level"`
		LFSEnabled      bool    `json:"lfs_enabled"`
		CreatedAt       *exTime `json:"created_at"`
	}
	exBadge struct {
		Name     string `json:"name"`
		LinkURL  string `json:"link_url"`
		ImageURL string `json:"image_url"`
		Type     string `json:"type"`
	}
)

// exGroupSelf is the group as GET /groups/:id serves it.
func (s *Server) exGroupSelf(g scenario.Group) exGroupSelf {
	o := s.groupObj(g)
	return exGroupSelf{Name: o.Name, Path: o.Path, Description: o.Description,
		VisibilityLevel: visibilityLevels[string(o.Visibility)], LFSEnabled: o.LFSEnabled, CreatedAt: xt(o.CreatedAt)}
}

// exGroupLabel is label i as groupLabels serves it.
func (s *Server) exGroupLabel(_ scenario.Group, i int) exLabel {
	l := s.sc.Label(i)
	return s.exLabel(labelView{Name: l.Name, Color: "#" + l.Color, Description: "Group " + l.Description}, "GroupLabel")
}

// exGroupMilestone is milestone i as groupMilestones serves it.
func (s *Server) exGroupMilestone(_ scenario.Group, i int) exMilestone {
	m := s.sc.Milestone(i)
	state := "closed"
	if m.Open {
		state = "active"
	}
	day := func(t time.Time) *string { v := t.Format(time.DateOnly); return &v }
	return exMilestone{IID: int64(m.Number), Title: "Group " + m.Title, Description: m.Description, State: state,
		StartDate: day(m.Created), DueDate: day(m.DueOn), CreatedAt: xt(&m.Created), UpdatedAt: xt(&m.Updated)}
}

// exGroupBadge is the group's one badge as groupBadges serves it.
func (s *Server) exGroupBadge(g scenario.Group) exBadge {
	return exBadge{Name: "pipeline", LinkURL: s.base + "/groups/" + g.FullPath,
		ImageURL: s.base + "/groups/" + g.FullPath + "/badges/main/pipeline.svg", Type: "GroupBadge"}
}

// userContributions lists every user the portable's other relations
// reference by id, ordered by id, as /users/:id serves them (the token's
// own user, who created the memberships, as /user serves it).
func userContributions(s *Server, pt portable) (int, func(int) any) {
	ids := s.contributors(pt)
	return len(ids), func(i int) any { return s.exUser(ids[i-1]) }
}

func (s *Server) exUser(id int64) exUser {
	if id == tokenUserID {
		return exUser{ID: tokenUserID, Username: "root", Name: "Administrator", PublicEmail: "admin@example.test"}
	}
	u := s.sc.User(int(id-s.sc.User(1).ID) + 1)
	return exUser{ID: u.ID, Username: u.Login, Name: u.Name, PublicEmail: u.Email}
}

// contributors walks the portable's exported records once and remembers
// the user ids they reference.
func (s *Server) contributors(pt portable) []int64 {
	key := sizeKey{kind: pt.kind, id: pt.id, rel: "user_contributions"}
	s.mu.Lock()
	ids, ok := s.exState().users[key]
	s.mu.Unlock()
	if ok {
		return ids
	}
	seen := map[int64]bool{}
	add := func(id int64) {
		if id != 0 {
			seen[id] = true
		}
	}
	addPtr := func(id *int64) {
		if id != nil {
			add(*id)
		}
	}
	awards := func(as []exAward) {
		for _, a := range as {
			add(a.UserID)
		}
	}
	refs := func(rs []exUserRef) {
		for _, r := range rs {
			add(r.UserID)
		}
	}
	notes := func(ns []exNote) {
		for _, n := range ns {
			add(n.AuthorID)
			addPtr(n.ResolvedByID)
			awards(n.AwardEmoji)
		}
	}
	c := s.sc.Config()
	for i := 1; i <= c.Users; i++ {
		m := s.exMember(i, "")
		add(m.UserID)
		addPtr(m.CreatedByID)
	}
	if pt.kind == "project" {
		p := pt.p
		for j := 1; j <= c.Issues; j++ {
			x := s.exIssue(p, j)
			add(x.AuthorID)
			addPtr(x.ClosedByID)
			refs(x.IssueAssignees)
			awards(x.AwardEmoji)
			notes(x.Notes)
		}
		for j := 1; j <= c.PullRequests; j++ {
			x := s.exMergeRequest(p, j)
			add(x.AuthorID)
			addPtr(x.Metrics.MergedByID)
			addPtr(x.Metrics.LatestClosedByID)
			refs(x.MergeRequestAssignees)
			refs(x.MergeRequestReviewers)
			refs(x.Approvals)
			awards(x.AwardEmoji)
			notes(x.Notes)
		}
		for i := 1; i <= c.Releases; i++ {
			addPtr(s.exRelease(p, i).AuthorID)
		}
	}
	ids = make([]int64, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	s.mu.Lock()
	s.exState().users[key] = ids
	s.mu.Unlock()
	return ids
}
