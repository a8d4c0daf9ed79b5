package walk

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go/v2"
)

// GitLabTarget is a top-level group of a GitLab instance to walk, with
// its subgroups and projects.
type GitLabTarget struct {
	URL     string // instance root, without /api/v4
	Token   string
	Group   string // full path of the top-level group
	PerPage int64  // default 100
	HTTP    *http.Client
}

// noLimit turns off client-go's own request pacing: the Transport waits
// out the server's limits, which keeps the walk's call count exact.
type noLimit struct{}

func (noLimit) Wait(context.Context) error { return nil }

// glEach is the one pagination loop for client-go lists: it calls list
// with successive page numbers until X-Next-Page is empty.
func glEach[T any](list func(page int64) ([]T, *gl.Response, error), each func(T) error) error {
	for page := int64(1); page != 0; {
		items, resp, err := list(page)
		if err != nil {
			return err
		}
		for _, it := range items {
			if err := each(it); err != nil {
				return err
			}
		}
		page = resp.NextPage
	}
	return nil
}

// GitLab walks a group the way a REST importer would: the version and
// token checks direct transfer makes, the group and its descendants, the
// projects of the whole tree, and in every project its lists and the
// per-item calls no list avoids (discussions, approvals, award emoji).
func GitLab(ctx context.Context, t GitLabTarget) (Counts, error) {
	if t.PerPage == 0 {
		t.PerPage = 100
	}
	hc := t.HTTP
	if hc == nil {
		hc = &http.Client{Transport: &Transport{}}
	}
	c, err := gl.NewClient(t.Token, gl.WithBaseURL(t.URL+"/api/v4"), gl.WithHTTPClient(hc),
		gl.WithoutRetries(), gl.WithCustomLimiter(noLimit{}))
	if err != nil {
		return nil, fmt.Errorf("gitlab client: %w", err)
	}
	n := Counts{}
	rc := gl.WithContext(ctx)
	lo := gl.ListOptions{PerPage: t.PerPage}
	page := func(p int64) gl.ListOptions { return gl.ListOptions{Page: p, PerPage: lo.PerPage} }

	v, _, err := c.Version.GetVersion(rc)
	if err != nil {
		return n, fmt.Errorf("gitlab version: %w", err)
	}
	if major, _, _ := strings.Cut(v.Version, "."); atoi(major) < 14 {
		return n, fmt.Errorf("gitlab version %s is older than 14, the oldest direct transfer source", v.Version)
	}
	tok, _, err := c.PersonalAccessTokens.GetSinglePersonalAccessToken(rc)
	if err != nil {
		return n, fmt.Errorf("gitlab token self-check: %w", err)
	}
	if !slices.Contains(tok.Scopes, "api") {
		return n, fmt.Errorf("token scopes %v lack api", tok.Scopes)
	}
	top, _, err := c.Groups.GetGroup(t.Group, nil, rc)
	if err != nil {
		return n, fmt.Errorf("gitlab group %s: %w", t.Group, err)
	}
	n["groups"]++
	err = glEach(func(p int64) ([]*gl.Group, *gl.Response, error) {
		return c.Groups.ListDescendantGroups(top.ID, &gl.ListDescendantGroupsOptions{ListOptions: page(p)}, rc)
	}, func(g *gl.Group) error {
		if g.ParentID == 0 || g.FullPath == "" {
			return fmt.Errorf("descendant group %d has no parent or path", g.ID)
		}
		n["groups"]++
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("gitlab descendant groups: %w", err)
	}
	var projects []int64
	err = glEach(func(p int64) ([]*gl.Project, *gl.Response, error) {
		return c.Groups.ListGroupProjects(top.ID, &gl.ListGroupProjectsOptions{IncludeSubGroups: gl.Ptr(true),
			OrderBy: gl.Ptr("id"), Sort: gl.Ptr("asc"), ListOptions: page(p)}, rc)
	}, func(pr *gl.Project) error {
		projects = append(projects, pr.ID)
		n["projects"]++
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("gitlab group projects: %w", err)
	}
	for _, pid := range projects {
		if err := walkProject(c, rc, pid, page, n); err != nil {
			return n, fmt.Errorf("gitlab project %d: %w", pid, err)
		}
	}
	return n, nil
}

func walkProject(c *gl.Client, rc gl.RequestOptionFunc, pid int64, page func(int64) gl.ListOptions, n Counts) error {
	pr, _, err := c.Projects.GetProject(pid, nil, rc)
	if err != nil {
		return err
	}
	if pr.HTTPURLToRepo == "" || pr.DefaultBranch == "" {
		return fmt.Errorf("project %s has no clone URL or default branch", pr.PathWithNamespace)
	}
	var issues, mrs []int64
	steps := []struct {
		name string
		run  func() error
	}{
		{"labels", func() error {
			return glEach(func(p int64) ([]*gl.Label, *gl.Response, error) {
				return c.Labels.ListLabels(pid, &gl.ListLabelsOptions{ListOptions: page(p)}, rc)
			}, func(*gl.Label) error { n["labels"]++; return nil })
		}},
		{"milestones", func() error {
			return glEach(func(p int64) ([]*gl.Milestone, *gl.Response, error) {
				return c.Milestones.ListMilestones(pid, &gl.ListMilestonesOptions{ListOptions: page(p)}, rc)
			}, func(*gl.Milestone) error { n["milestones"]++; return nil })
		}},
		{"issues", func() error {
			return glEach(func(p int64) ([]*gl.Issue, *gl.Response, error) {
				return c.Issues.ListProjectIssues(pid, &gl.ListProjectIssuesOptions{State: gl.Ptr("all"),
					OrderBy: gl.Ptr("created_at"), Sort: gl.Ptr("asc"), ListOptions: page(p)}, rc)
			}, func(i *gl.Issue) error {
				if i.Author == nil || i.IID == 0 {
					return fmt.Errorf("issue %d has no author or iid", i.ID)
				}
				issues = append(issues, i.IID)
				n["issues"]++
				return nil
			})
		}},
		{"merge requests", func() error {
			return glEach(func(p int64) ([]*gl.BasicMergeRequest, *gl.Response, error) {
				return c.MergeRequests.ListProjectMergeRequests(pid, &gl.ListProjectMergeRequestsOptions{State: gl.Ptr("all"),
					OrderBy: gl.Ptr("created_at"), Sort: gl.Ptr("asc"), ListOptions: page(p)}, rc)
			}, func(m *gl.BasicMergeRequest) error {
				if m.SHA == "" || m.SourceBranch == "" {
					return fmt.Errorf("merge request !%d has no source branch or sha", m.IID)
				}
				mrs = append(mrs, m.IID)
				n["merge_requests"]++
				return nil
			})
		}},
		{"releases", func() error {
			return glEach(func(p int64) ([]*gl.Release, *gl.Response, error) {
				return c.Releases.ListReleases(pid, &gl.ListReleasesOptions{ListOptions: page(p)}, rc)
			}, func(r *gl.Release) error {
				if r.Commit.ID == "" {
					return fmt.Errorf("release %s has no commit", r.TagName)
				}
				n["releases"]++
				return nil
			})
		}},
		{"members", func() error {
			return glEach(func(p int64) ([]*gl.ProjectMember, *gl.Response, error) {
				return c.ProjectMembers.ListAllProjectMembers(pid, &gl.ListProjectMembersOptions{ListOptions: page(p)}, rc)
			}, func(m *gl.ProjectMember) error {
				if m.AccessLevel == 0 {
					return fmt.Errorf("member %s has no access level", m.Username)
				}
				n["members"]++
				return nil
			})
		}},
		{"issue discussions", func() error {
			for _, iid := range issues {
				err := glEach(func(p int64) ([]*gl.Discussion, *gl.Response, error) {
					return c.Discussions.ListIssueDiscussions(pid, iid, &gl.ListIssueDiscussionsOptions{ListOptions: page(p)}, rc)
				}, func(d *gl.Discussion) error { return countNotes(n, d) })
				if err != nil {
					return fmt.Errorf("issue #%d: %w", iid, err)
				}
			}
			return nil
		}},
		{"merge request discussions and approvals", func() error {
			for _, iid := range mrs {
				err := glEach(func(p int64) ([]*gl.Discussion, *gl.Response, error) {
					return c.Discussions.ListMergeRequestDiscussions(pid, iid, &gl.ListMergeRequestDiscussionsOptions{ListOptions: page(p)}, rc)
				}, func(d *gl.Discussion) error { return countNotes(n, d) })
				if err != nil {
					return fmt.Errorf("merge request !%d: %w", iid, err)
				}
				a, _, err := c.MergeRequestApprovals.GetConfiguration(pid, iid, rc)
				if err != nil {
					return fmt.Errorf("merge request !%d approvals: %w", iid, err)
				}
				for _, u := range a.ApprovedBy {
					if u.User == nil {
						return fmt.Errorf("merge request !%d: approval without a user", iid)
					}
					n["approvals"]++
				}
			}
			return nil
		}},
		// No list spans a project's resource events: each issue and merge
		// request is asked for its three lists.
		{"resource events", func() error {
			count := func(what string, created *time.Time, user int64) error {
				if created == nil || user == 0 {
					return fmt.Errorf("%s event without a time or a user", what)
				}
				n["resource_events"]++
				return nil
			}
			for _, item := range []struct {
				iids  []int64
				label func(iid, p int64) ([]*gl.LabelEvent, *gl.Response, error)
				ms    func(iid, p int64) ([]*gl.MilestoneEvent, *gl.Response, error)
				state func(iid, p int64) ([]*gl.StateEvent, *gl.Response, error)
			}{
				{issues,
					func(iid, p int64) ([]*gl.LabelEvent, *gl.Response, error) {
						return c.ResourceLabelEvents.ListIssueLabelEvents(pid, iid, &gl.ListLabelEventsOptions{ListOptions: page(p)}, rc)
					},
					func(iid, p int64) ([]*gl.MilestoneEvent, *gl.Response, error) {
						return c.ResourceMilestoneEvents.ListIssueMilestoneEvents(pid, iid, &gl.ListMilestoneEventsOptions{ListOptions: page(p)}, rc)
					},
					func(iid, p int64) ([]*gl.StateEvent, *gl.Response, error) {
						return c.ResourceStateEvents.ListIssueStateEvents(pid, iid, &gl.ListStateEventsOptions{ListOptions: page(p)}, rc)
					}},
				{mrs,
					func(iid, p int64) ([]*gl.LabelEvent, *gl.Response, error) {
						return c.ResourceLabelEvents.ListMergeRequestsLabelEvents(pid, iid, &gl.ListLabelEventsOptions{ListOptions: page(p)}, rc)
					},
					func(iid, p int64) ([]*gl.MilestoneEvent, *gl.Response, error) {
						return c.ResourceMilestoneEvents.ListMergeMilestoneEvents(pid, iid, &gl.ListMilestoneEventsOptions{ListOptions: page(p)}, rc)
					},
					func(iid, p int64) ([]*gl.StateEvent, *gl.Response, error) {
						return c.ResourceStateEvents.ListMergeStateEvents(pid, iid, &gl.ListStateEventsOptions{ListOptions: page(p)}, rc)
					}},
			} {
				for _, iid := range item.iids {
					err := glEach(func(p int64) ([]*gl.LabelEvent, *gl.Response, error) { return item.label(iid, p) },
						func(e *gl.LabelEvent) error { return count("label", e.CreatedAt, e.User.ID) })
					if err == nil {
						err = glEach(func(p int64) ([]*gl.MilestoneEvent, *gl.Response, error) { return item.ms(iid, p) },
							func(e *gl.MilestoneEvent) error {
								if e.User == nil || e.Milestone == nil {
									return fmt.Errorf("milestone event %d without a user or a milestone", e.ID)
								}
								return count("milestone", e.CreatedAt, e.User.ID)
							})
					}
					if err == nil {
						err = glEach(func(p int64) ([]*gl.StateEvent, *gl.Response, error) { return item.state(iid, p) },
							func(e *gl.StateEvent) error {
								if e.User == nil {
									return fmt.Errorf("state event %d without a user", e.ID)
								}
								return count("state", e.CreatedAt, e.User.ID)
							})
					}
					if err != nil {
						return fmt.Errorf("item %d: %w", iid, err)
					}
				}
			}
			return nil
		}},
		// The REST entities show only upvotes and downvotes, so every issue
		// and merge request is asked for its award emoji.
		{"award emoji", func() error {
			each := func(e *gl.AwardEmoji) error {
				if e.Name == "" || e.User.ID == 0 {
					return fmt.Errorf("award emoji %d has no name or user", e.ID)
				}
				n["award_emoji"]++
				return nil
			}
			for _, iid := range issues {
				err := glEach(func(p int64) ([]*gl.AwardEmoji, *gl.Response, error) {
					return c.AwardEmoji.ListIssueAwardEmoji(pid, iid, &gl.ListAwardEmojiOptions{ListOptions: page(p)}, rc)
				}, each)
				if err != nil {
					return fmt.Errorf("issue #%d: %w", iid, err)
				}
			}
			for _, iid := range mrs {
				err := glEach(func(p int64) ([]*gl.AwardEmoji, *gl.Response, error) {
					return c.AwardEmoji.ListMergeRequestAwardEmoji(pid, iid, &gl.ListAwardEmojiOptions{ListOptions: page(p)}, rc)
				}, each)
				if err != nil {
					return fmt.Errorf("merge request !%d: %w", iid, err)
				}
			}
			return nil
		}},
	}
	for _, s := range steps {
		if err := s.run(); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return nil
}

// countNotes counts a discussion's user notes, and among them the diff
// notes, which must carry a position.
func countNotes(n Counts, d *gl.Discussion) error {
	if d.ID == "" || len(d.Notes) == 0 {
		return fmt.Errorf("discussion %q is empty", d.ID)
	}
	for _, note := range d.Notes {
		if note.System {
			continue
		}
		n["notes"]++
		if note.Type == gl.DiffNote {
			if note.Position == nil || note.Position.NewPath == "" || note.Position.HeadSHA == "" {
				return fmt.Errorf("diff note %d has no position", note.ID)
			}
			n["diff_notes"]++
		}
	}
	return nil
}

func atoi(s string) int {
	v, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return v
}
