package scenario

import "fmt"

// Group is a GitLab group in the scenario's tree. Groups are numbered in
// breadth-first order, so a parent always precedes its children.
type Group struct {
	Index    int // 0-based, breadth-first
	ID       int64
	Parent   int // index of the parent, -1 for the top-level group
	Depth    int // 1 for the top-level group
	Path     string
	FullPath string
	Name     string
}

// Project is a GitLab project in a group. Every project carries the same
// per-repository counts as the scenario's single GitHub repository.
type Project struct {
	Index    int // 0-based over all projects
	ID       int64
	Group    int
	Path     string
	FullPath string
	Name     string
}

func groupCount(t GroupTree) int {
	n, level := 0, 1
	for d := 1; d <= t.Depth && n <= 10000; d++ {
		n += level
		level *= max(t.Breadth, 0)
	}
	return n
}

func buildGroups(c Config) []Group {
	groups := []Group{{Index: 0, ID: 100, Parent: -1, Depth: 1, Path: "acme", FullPath: "acme", Name: "Acme"}}
	for i := 0; i < len(groups); i++ {
		g := groups[i]
		if g.Depth == c.Groups.Depth {
			continue
		}
		for b := 1; b <= c.Groups.Breadth; b++ {
			path := fmt.Sprintf("sub-%d", b)
			groups = append(groups, Group{Index: len(groups), ID: int64(100 + len(groups)), Parent: i,
				Depth: g.Depth + 1, Path: path, FullPath: g.FullPath + "/" + path, Name: fmt.Sprintf("%s Sub %d", g.Name, b)})
		}
	}
	return groups
}

// Groups returns the group tree, top-level group first.
func (s *Scenario) Groups() []Group { return s.groups }

// Projects returns every project, grouped by group in group order.
func (s *Scenario) Projects() []Project {
	var out []Project
	for _, g := range s.groups {
		for p := 1; p <= s.cfg.Groups.ProjectsPerGroup; p++ {
			path := fmt.Sprintf("widgets-%d", p)
			if len(out) == 0 {
				path = "widgets"
			}
			out = append(out, Project{Index: len(out), ID: int64(1000 + len(out)), Group: g.Index,
				Path: path, FullPath: g.FullPath + "/" + path, Name: fmt.Sprintf("Widgets %d", len(out)+1)})
		}
	}
	return out
}

// Children returns the direct subgroups of group i.
func (s *Scenario) Children(i int) []Group {
	var out []Group
	for _, g := range s.groups {
		if g.Parent == i {
			out = append(out, g)
		}
	}
	return out
}

// Descendants returns every group below group i, breadth-first.
func (s *Scenario) Descendants(i int) []Group {
	var out []Group
	in := map[int]bool{i: true}
	for _, g := range s.groups {
		if g.Parent >= 0 && in[g.Parent] {
			in[g.Index] = true
			out = append(out, g)
		}
	}
	return out
}
