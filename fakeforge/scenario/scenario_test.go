package scenario_test

import (
	"reflect"
	"testing"

	"github.com/ferry-import/ferry/fakeforge/scenario"
)

func TestNumberingIsConsistent(t *testing.T) {
	for _, tt := range []struct{ issues, prs int }{{150, 80}, {5, 0}, {0, 7}, {35, 15}, {1, 1}} {
		c, _ := scenario.Preset("small", 1)
		c.Issues, c.PullRequests = tt.issues, tt.prs
		s, err := scenario.New(c)
		if err != nil {
			t.Fatal(err)
		}
		prs, issues := 0, 0
		for n := 1; n <= s.Items(); n++ {
			if s.IsPR(n) {
				prs++
				if got := s.PRNumber(prs); got != n {
					t.Fatalf("%+v: PRNumber(%d) = %d, want %d", tt, prs, got, n)
				}
			} else {
				issues++
				if got := s.IssueNumber(issues); got != n {
					t.Fatalf("%+v: IssueNumber(%d) = %d, want %d", tt, issues, got, n)
				}
			}
		}
		if prs != tt.prs || issues != tt.issues {
			t.Errorf("%+v: counted %d PRs and %d issues", tt, prs, issues)
		}
	}
}

func TestPresets(t *testing.T) {
	for _, tt := range []struct {
		name                      string
		items, comments, minCalls int
	}{
		{"small", 230, 620, 200},
		{"medium", 7000, 30000, 4000},
		{"large", 50000, 295000, 30000},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := scenario.Preset(tt.name, 1)
			if err != nil {
				t.Fatal(err)
			}
			s, err := scenario.New(c)
			if err != nil {
				t.Fatal(err)
			}
			gh, _ := s.Expected(scenario.GitHub)
			if s.Items() != tt.items || gh["issue_comments"]+gh["review_comments"] != tt.comments {
				t.Errorf("items %d comments %d", s.Items(), gh["issue_comments"]+gh["review_comments"])
			}
			for _, src := range []string{scenario.GitHub, scenario.BitbucketServer, scenario.GitLab} {
				n, err := s.LowerBoundCalls(src, 100)
				if err != nil || n < 1 {
					t.Errorf("%s lower bound %d, %v", src, n, err)
				}
			}
		})
	}
	if _, err := scenario.Preset("huge", 1); err == nil {
		t.Error("unknown preset accepted")
	}
}

func TestPureFunctionOfSeed(t *testing.T) {
	c, _ := scenario.Preset("small", 9)
	a, _ := scenario.New(c)
	b, _ := scenario.New(c)
	c.Seed = 10
	d, _ := scenario.New(c)
	if !reflect.DeepEqual(a.Item(17), b.Item(17)) || !reflect.DeepEqual(a.ReviewComment(5), b.ReviewComment(5)) {
		t.Error("same seed, different objects")
	}
	if reflect.DeepEqual(a.Item(17), d.Item(17)) {
		t.Error("different seeds, same item")
	}
}

func TestValidate(t *testing.T) {
	c, _ := scenario.Preset("small", 1)
	for name, mutate := range map[string]func(*scenario.Config){
		"no users":           func(c *scenario.Config) { c.Users = 0 },
		"prs without branch": func(c *scenario.Config) { c.Branches = 0 },
		"negative issues":    func(c *scenario.Config) { c.Issues = -1 },
		"too many protected": func(c *scenario.Config) { c.ProtectedBranches = 100 },
		"empty group tree":   func(c *scenario.Config) { c.Groups.Depth = 0 },
	} {
		bad := c
		mutate(&bad)
		if _, err := scenario.New(bad); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
