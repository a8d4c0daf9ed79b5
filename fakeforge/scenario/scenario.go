// Package scenario describes, deterministically from a seed, everything a
// simulated forge serves: users, labels, milestones, issues, pull requests,
// comments, reviews, releases, branches, commits, LFS objects and group trees.
//
// Every object is a pure function of the seed and its index, so a scenario
// with hundreds of thousands of comments costs no memory until a page of them
// is asked for, and the same seed always gives the same objects. The package
// also states what an importer must find (Expected), what the source says
// it holds (SourceCounts, for call models) and the fewest API calls that
// can find it (LowerBoundCalls).
//
// It knows no HTTP, no forge wire format and nothing of ferry.
package scenario

import (
	"errors"
	"fmt"
	"time"
)

// Epoch is the fixed origin of every timestamp in a scenario, so that the
// same seed gives the same bytes on any day.
var epoch = time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)

// Epoch returns the instant every scenario timestamp is measured from.
func Epoch() time.Time { return epoch }

// GroupTree shapes the GitLab group hierarchy: Depth levels (1 = one
// top-level group), Breadth subgroups per group, ProjectsPerGroup projects in
// every group.
type GroupTree struct {
	Depth            int
	Breadth          int
	ProjectsPerGroup int
}

// Config holds the knobs of a scenario. Counts are per repository (and per
// GitLab project). The zero value of a count means none.
type Config struct {
	Seed int64

	Users      int // distinct people; every one authors something
	Labels     int
	Milestones int
	Releases   int
	// AssetsPerRelease downloadable files attached to every release.
	AssetsPerRelease int

	Issues       int
	PullRequests int
	// CommentsPerItem conversation comments on every issue and pull request.
	CommentsPerItem int
	// ReviewsPerPR submitted reviews on every pull request.
	ReviewsPerPR int
	// ReviewCommentsPerPR inline diff comments on every pull request; every
	// second one replies to the one before it.
	ReviewCommentsPerPR int
	// EventsPerItem issue events (labeled, closed, …) on every issue and PR.
	EventsPerItem int
	// ReactionsPerItem reactions on every ReactionsEvery-th issue or PR
	// (ReactionsEvery 0 means no reactions).
	ReactionsPerItem int
	ReactionsEvery   int

	Branches          int // feature branches besides main; pull requests use them as heads
	ProtectedBranches int // main and the first feature branches are protected
	Commits           int // linear commits on main (at least 1)
	LFSObjects        int

	Groups GroupTree

	// TextSize is the approximate length in bytes of every body.
	TextSize    int
	Unicode     bool // mix non-ASCII text (accents, CJK, emoji) into titles and bodies
	Markdown    bool // headings, lists, code blocks, mentions, issue references
	Attachments bool // image and file links to the forge's attachment store
}

// Preset returns a named scenario: "small" (CI smoke), "medium" (~5,000
// issues, 2,000 pull requests, 30,000 comments) or "large" (~50,000 issues
// and pull requests, 300,000 comments).
func Preset(name string, seed int64) (Config, error) {
	c := Config{
		Seed: seed, Users: 12, Labels: 8, Milestones: 4, Releases: 3, AssetsPerRelease: 2,
		ReviewsPerPR: 1, EventsPerItem: 1, ReactionsPerItem: 2, ReactionsEvery: 10,
		Branches: 8, ProtectedBranches: 2, Commits: 12, LFSObjects: 3,
		Groups:   GroupTree{Depth: 1, Breadth: 0, ProjectsPerGroup: 1},
		TextSize: 300, Unicode: true, Markdown: true, Attachments: true,
	}
	switch name {
	case "small":
		c.Issues, c.PullRequests = 150, 80
		c.CommentsPerItem, c.ReviewCommentsPerPR = 2, 2
		c.Groups = GroupTree{Depth: 2, Breadth: 2, ProjectsPerGroup: 1}
		c.Users, c.Labels = 10, 6
	case "medium":
		c.Issues, c.PullRequests = 5000, 2000
		c.CommentsPerItem, c.ReviewCommentsPerPR = 4, 1 // 28,000 + 2,000 comments
		c.Users, c.Labels, c.Milestones, c.Releases = 200, 30, 12, 10
		c.Branches, c.Commits = 40, 60
	case "large":
		c.Issues, c.PullRequests = 35000, 15000
		c.CommentsPerItem, c.ReviewCommentsPerPR = 5, 3 // 250,000 + 45,000 comments
		c.Users, c.Labels, c.Milestones, c.Releases = 1000, 60, 40, 25
		c.Branches, c.Commits = 100, 200
	default:
		return Config{}, fmt.Errorf("unknown scenario %q (want small, medium or large)", name)
	}
	return c, nil
}

// Validate reports knobs that cannot make a consistent scenario.
func (c Config) Validate() error {
	var errs []error
	for name, v := range map[string]int{
		"Labels": c.Labels, "Milestones": c.Milestones, "Releases": c.Releases,
		"AssetsPerRelease": c.AssetsPerRelease, "Issues": c.Issues, "PullRequests": c.PullRequests,
		"CommentsPerItem": c.CommentsPerItem, "ReviewsPerPR": c.ReviewsPerPR,
		"ReviewCommentsPerPR": c.ReviewCommentsPerPR, "EventsPerItem": c.EventsPerItem,
		"ReactionsPerItem": c.ReactionsPerItem, "ReactionsEvery": c.ReactionsEvery,
		"Branches": c.Branches, "ProtectedBranches": c.ProtectedBranches,
		"LFSObjects": c.LFSObjects, "TextSize": c.TextSize,
	} {
		if v < 0 {
			errs = append(errs, fmt.Errorf("%s is negative (%d)", name, v))
		}
	}
	if c.Users < 1 {
		errs = append(errs, errors.New("Users must be at least 1"))
	}
	if c.Commits < 1 {
		errs = append(errs, errors.New("Commits must be at least 1"))
	}
	if c.PullRequests > 0 && c.Branches < 1 {
		errs = append(errs, errors.New("pull requests need at least one feature branch"))
	}
	if c.ProtectedBranches > c.Branches+1 {
		errs = append(errs, fmt.Errorf("ProtectedBranches %d exceeds the %d branches", c.ProtectedBranches, c.Branches+1))
	}
	if c.Groups.Depth < 1 || c.Groups.ProjectsPerGroup < 1 || c.Groups.Breadth < 0 {
		errs = append(errs, errors.New("Groups needs Depth ≥ 1, ProjectsPerGroup ≥ 1, Breadth ≥ 0"))
	}
	if n := groupCount(c.Groups); n > 10000 {
		errs = append(errs, fmt.Errorf("group tree has %d groups; keep it under 10,000", n))
	}
	return errors.Join(errs...)
}

// Scenario is a validated, immutable configuration with its derived objects.
// It is safe for concurrent use.
type Scenario struct {
	cfg    Config
	groups []Group
}

// New validates cfg and returns its scenario.
func New(cfg Config) (*Scenario, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid scenario: %w", err)
	}
	s := &Scenario{cfg: cfg}
	s.groups = buildGroups(cfg)
	return s, nil
}

// Config returns the knobs the scenario was made from.
func (s *Scenario) Config() Config { return s.cfg }

// Items is the number of issues plus pull requests, which share one number space.
func (s *Scenario) Items() int { return s.cfg.Issues + s.cfg.PullRequests }
