package walk

import (
	"context"
	"fmt"
	"net/http"

	gh "github.com/google/go-github/v92/github"
)

// Counts maps object kinds to how many a walk found; kinds match
// scenario.Expected.
type Counts map[string]int

// GitHubTarget is a repository to walk.
type GitHubTarget struct {
	APIURL  string // API root: https://api.github.com-style root or a GHE …/api/v3
	Token   string
	Owner   string
	Repo    string
	PerPage int // default 100
	HTTP    *http.Client
}

// ghEach is the one pagination loop for go-github lists: it calls list with
// successive page numbers until the Link header has no next page.
func ghEach[T any](list func(page int) ([]T, *gh.Response, error), each func(T) error) error {
	for page := 1; page != 0; {
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

// GitHub walks a repository the way an importer would, using the widest
// list endpoints and only the per-item calls no list avoids.
func GitHub(ctx context.Context, t GitHubTarget) (Counts, error) {
	if t.PerPage == 0 {
		t.PerPage = 100
	}
	hc := t.HTTP
	if hc == nil {
		hc = &http.Client{Transport: &Transport{}}
	}
	// The transport waits out limits; go-github must not refuse up front.
	c, err := gh.NewClient(gh.WithHTTPClient(hc), gh.WithAuthToken(t.Token),
		gh.WithURLs(gh.Ptr(t.APIURL+"/"), nil), gh.WithDisableRateLimitCheck())
	if err != nil {
		return nil, fmt.Errorf("github client: %w", err)
	}
	lo := gh.ListOptions{PerPage: t.PerPage}
	o, r := t.Owner, t.Repo
	n := Counts{}
	users := map[string]bool{}
	seen := func(u *gh.User) {
		if u != nil && u.GetType() != "Organization" {
			users[u.GetLogin()] = true
		}
	}
	count := func(kind string) func(any) error {
		return func(any) error { n[kind]++; return nil }
	}
	var prNumbers, reacted []int
	var protected []string
	var assets []string
	steps := []struct {
		name string
		run  func() error
	}{
		{"repository", func() error { _, _, err := c.Repositories.Get(ctx, o, r); return err }},
		{"labels", func() error {
			return ghEach(func(p int) ([]*gh.Label, *gh.Response, error) {
				return c.Issues.ListLabels(ctx, o, r, &gh.ListOptions{Page: p, PerPage: lo.PerPage})
			}, func(l *gh.Label) error { return count("labels")(l) })
		}},
		{"milestones", func() error {
			return ghEach(func(p int) ([]*gh.Milestone, *gh.Response, error) {
				return c.Issues.ListMilestones(ctx, o, r, &gh.MilestoneListOptions{State: "all", ListOptions: gh.ListOptions{Page: p, PerPage: lo.PerPage}})
			}, func(m *gh.Milestone) error { return count("milestones")(m) })
		}},
		{"releases", func() error {
			return ghEach(func(p int) ([]*gh.RepositoryRelease, *gh.Response, error) {
				return c.Repositories.ListReleases(ctx, o, r, &gh.ListOptions{Page: p, PerPage: lo.PerPage})
			}, func(rel *gh.RepositoryRelease) error {
				n["releases"]++
				for _, a := range rel.Assets {
					assets = append(assets, a.GetBrowserDownloadURL())
				}
				return nil
			})
		}},
		{"issues", func() error {
			return ghEach(func(p int) ([]*gh.Issue, *gh.Response, error) {
				return c.Issues.ListByRepo(ctx, o, r, &gh.IssueListByRepoOptions{State: "all", Sort: "created", Direction: "asc", ListOptions: gh.ListOptions{Page: p, PerPage: lo.PerPage}})
			}, func(i *gh.Issue) error {
				seen(i.User)
				if i.IsPullRequest() {
					prNumbers = append(prNumbers, i.GetNumber())
				} else {
					n["issues"]++
				}
				if i.GetReactions().GetTotalCount() > 0 {
					reacted = append(reacted, i.GetNumber())
				}
				return nil
			})
		}},
		{"pulls", func() error {
			return ghEach(func(p int) ([]*gh.PullRequest, *gh.Response, error) {
				return c.PullRequests.List(ctx, o, r, &gh.PullRequestListOptions{State: "all", Sort: "created", Direction: "asc", ListOptions: gh.ListOptions{Page: p, PerPage: lo.PerPage}})
			}, func(pr *gh.PullRequest) error {
				seen(pr.User)
				if pr.GetHead().GetSHA() == "" {
					return fmt.Errorf("pull request %d has no head sha", pr.GetNumber())
				}
				n["pull_requests"]++
				// Requested reviewers come with every pull request in the list.
				n["requested_reviewers"] += len(pr.RequestedReviewers)
				return nil
			})
		}},
		{"issue comments", func() error {
			return ghEach(func(p int) ([]*gh.IssueComment, *gh.Response, error) {
				return c.Issues.ListComments(ctx, o, r, 0, &gh.IssueListCommentsOptions{Sort: gh.Ptr("created"), Direction: gh.Ptr("asc"), ListOptions: gh.ListOptions{Page: p, PerPage: lo.PerPage}})
			}, func(cm *gh.IssueComment) error { seen(cm.User); n["issue_comments"]++; return nil })
		}},
		{"review comments", func() error {
			return ghEach(func(p int) ([]*gh.PullRequestComment, *gh.Response, error) {
				return c.PullRequests.ListComments(ctx, o, r, 0, &gh.PullRequestListCommentsOptions{Sort: "created", Direction: "asc", ListOptions: gh.ListOptions{Page: p, PerPage: lo.PerPage}})
			}, func(cm *gh.PullRequestComment) error {
				seen(cm.User)
				if cm.GetDiffHunk() == "" || cm.GetPath() == "" {
					return fmt.Errorf("review comment %d lacks its diff position", cm.GetID())
				}
				n["review_comments"]++
				return nil
			})
		}},
		{"issue events", func() error {
			return ghEach(func(p int) ([]*gh.IssueEvent, *gh.Response, error) {
				return c.Issues.ListRepositoryEvents(ctx, o, r, &gh.ListOptions{Page: p, PerPage: lo.PerPage})
			}, func(e *gh.IssueEvent) error { seen(e.Actor); n["issue_events"]++; return nil })
		}},
		{"collaborators", func() error {
			return ghEach(func(p int) ([]*gh.User, *gh.Response, error) {
				return c.Repositories.ListCollaborators(ctx, o, r, &gh.ListCollaboratorsOptions{Affiliation: "direct", ListOptions: gh.ListOptions{Page: p, PerPage: lo.PerPage}})
			}, func(u *gh.User) error {
				if u.GetRoleName() == "" {
					return fmt.Errorf("collaborator %s has no role", u.GetLogin())
				}
				seen(u)
				n["collaborators"]++
				return nil
			})
		}},
		{"branches", func() error {
			return ghEach(func(p int) ([]*gh.Branch, *gh.Response, error) {
				return c.Repositories.ListBranches(ctx, o, r, &gh.BranchListOptions{ListOptions: gh.ListOptions{Page: p, PerPage: lo.PerPage}})
			}, func(b *gh.Branch) error {
				n["branches"]++
				if b.GetProtected() {
					protected = append(protected, b.GetName())
				}
				return nil
			})
		}},
		{"branch protection", func() error {
			for _, b := range protected {
				if _, _, err := c.Repositories.GetBranchProtection(ctx, o, r, b); err != nil {
					return fmt.Errorf("branch %s: %w", b, err)
				}
				n["protected_branches"]++
			}
			return nil
		}},
		{"reviews", func() error {
			for _, num := range prNumbers {
				err := ghEach(func(p int) ([]*gh.PullRequestReview, *gh.Response, error) {
					return c.PullRequests.ListReviews(ctx, o, r, num, &gh.ListOptions{Page: p, PerPage: lo.PerPage})
				}, func(rv *gh.PullRequestReview) error { seen(rv.User); n["reviews"]++; return nil })
				if err != nil {
					return fmt.Errorf("pull %d: %w", num, err)
				}
			}
			return nil
		}},
		{"reactions", func() error {
			for _, num := range reacted {
				err := ghEach(func(p int) ([]*gh.Reaction, *gh.Response, error) {
					return c.Reactions.ListIssueReactions(ctx, o, r, num, &gh.ListReactionOptions{ListOptions: gh.ListOptions{Page: p, PerPage: lo.PerPage}})
				}, func(x *gh.Reaction) error { seen(x.User); n["reactions"]++; return nil })
				if err != nil {
					return fmt.Errorf("issue %d: %w", num, err)
				}
			}
			return nil
		}},
		{"users", func() error {
			for login := range users {
				u, _, err := c.Users.Get(ctx, login)
				if err != nil {
					return fmt.Errorf("user %s: %w", login, err)
				}
				if u.GetEmail() == "" {
					return fmt.Errorf("user %s has no e-mail", login)
				}
				n["users"]++
			}
			return nil
		}},
		{"release assets", func() error {
			for _, a := range assets {
				if err := download(ctx, hc, a, t.Token); err != nil {
					return err
				}
				n["release_assets"]++
			}
			return nil
		}},
	}
	for _, s := range steps {
		if err := s.run(); err != nil {
			return n, fmt.Errorf("github %s: %w", s.name, err)
		}
	}
	return n, nil
}
