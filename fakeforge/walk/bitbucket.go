package walk

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// BitbucketTarget is a Bitbucket Server repository to walk.
type BitbucketTarget struct {
	URL      string // server root, without /rest/api/1.0
	Username string
	Token    string
	Project  string
	Repo     string
	PerPage  int // limit per page; default 100
	HTTP     *http.Client
}

type bbsPage struct {
	IsLastPage    bool              `json:"isLastPage"`
	NextPageStart int               `json:"nextPageStart"`
	Values        []json.RawMessage `json:"values"`
}

type bbsUser struct {
	Slug         string `json:"slug"`
	EmailAddress string `json:"emailAddress"`
}

type bbsComment struct {
	ID       int64        `json:"id"`
	Author   bbsUser      `json:"author"`
	Comments []bbsComment `json:"comments"`
}

type bbsActivity struct {
	Action        string      `json:"action"`
	Comment       *bbsComment `json:"comment"`
	CommentAnchor *struct {
		Path string `json:"path"`
		Line int    `json:"line"`
	} `json:"commentAnchor"`
	Diff *struct {
		Hunks []struct {
			Segments []struct {
				Lines []struct {
					Destination int     `json:"destination"`
					CommentIDs  []int64 `json:"commentIds"`
				} `json:"lines"`
			} `json:"segments"`
		} `json:"hunks"`
	} `json:"diff"`
	Commit *struct {
		Committer struct {
			EmailAddress string `json:"emailAddress"`
		} `json:"committer"`
		CommitterTimestamp int64 `json:"committerTimestamp"`
	} `json:"commit"`
}

type bbsClient struct {
	t  BitbucketTarget
	hc *http.Client
}

func (c *bbsClient) get(ctx context.Context, path string, q url.Values, v any) error {
	u := c.t.URL + "/rest/api/1.0" + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	req.SetBasicAuth(c.t.Username, c.t.Token)
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Errors []struct{ Message string } `json:"errors"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&e)
		msg := resp.Status
		if len(e.Errors) > 0 {
			msg = e.Errors[0].Message
		}
		return fmt.Errorf("GET %s: Error %d: %s", path, resp.StatusCode, msg)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("GET %s: decode: %w", path, err)
	}
	return nil
}

// each is the one pagination loop for Bitbucket Server: it follows
// nextPageStart until isLastPage.
func (c *bbsClient) each(ctx context.Context, path string, q url.Values, f func(json.RawMessage) error) error {
	q = cloneValues(q)
	q.Set("limit", strconv.Itoa(c.t.PerPage))
	for start := 0; ; {
		q.Set("start", strconv.Itoa(start))
		var p bbsPage
		if err := c.get(ctx, path, q, &p); err != nil {
			return err
		}
		for _, v := range p.Values {
			if err := f(v); err != nil {
				return err
			}
		}
		if p.IsLastPage {
			return nil
		}
		start = p.NextPageStart
	}
}

func cloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// BitbucketServer walks a repository as GitLab's Bitbucket Server importer
// does: repository, pull requests (state=ALL), each pull request's
// activities, and the project's users.
func BitbucketServer(ctx context.Context, t BitbucketTarget) (Counts, error) {
	if t.PerPage == 0 {
		t.PerPage = 100
	}
	hc := t.HTTP
	if hc == nil {
		hc = &http.Client{Transport: &Transport{}}
	}
	c := &bbsClient{t: t, hc: hc}
	n := Counts{}
	repoPath := fmt.Sprintf("/projects/%s/repos/%s", url.PathEscape(t.Project), url.PathEscape(t.Repo))
	var repo struct {
		ScmID string `json:"scmId"`
		Links struct {
			Clone []struct{ Href, Name string } `json:"clone"`
		} `json:"links"`
	}
	if err := c.get(ctx, repoPath, nil, &repo); err != nil {
		return nil, err
	}
	if repo.ScmID != "git" || len(repo.Links.Clone) == 0 {
		return nil, fmt.Errorf("repository is not a git repository with a clone link: %+v", repo)
	}
	var ids []int
	err := c.each(ctx, repoPath+"/pull-requests", url.Values{"state": {"ALL"}}, func(v json.RawMessage) error {
		var pr struct {
			ID      int `json:"id"`
			FromRef struct {
				LatestCommit string `json:"latestCommit"`
			} `json:"fromRef"`
		}
		if err := json.Unmarshal(v, &pr); err != nil {
			return fmt.Errorf("decode pull request: %w", err)
		}
		if pr.FromRef.LatestCommit == "" {
			return fmt.Errorf("pull request %d has no source commit", pr.ID)
		}
		ids = append(ids, pr.ID)
		n["pull_requests"]++
		return nil
	})
	if err != nil {
		return n, err
	}
	for _, id := range ids {
		err := c.each(ctx, fmt.Sprintf("%s/pull-requests/%d/activities", repoPath, id), nil, func(v json.RawMessage) error {
			var a bbsActivity
			if err := json.Unmarshal(v, &a); err != nil {
				return fmt.Errorf("decode activity: %w", err)
			}
			n["activities"]++
			return countActivity(n, a)
		})
		if err != nil {
			return n, fmt.Errorf("pull request %d: %w", id, err)
		}
	}
	err = c.each(ctx, fmt.Sprintf("/projects/%s/permissions/users", url.PathEscape(t.Project)), nil, func(v json.RawMessage) error {
		var p struct {
			User       bbsUser `json:"user"`
			Permission string  `json:"permission"`
		}
		if err := json.Unmarshal(v, &p); err != nil || p.User.Slug == "" || p.Permission == "" {
			return fmt.Errorf("decode permission %s: %v", v, err)
		}
		n["users"]++
		return nil
	})
	return n, err
}

func countActivity(n Counts, a bbsActivity) error {
	switch a.Action {
	case "COMMENTED":
		if a.Comment == nil {
			return fmt.Errorf("COMMENTED activity without a comment")
		}
		k := countComments(*a.Comment)
		n["comments"] += k
		if a.CommentAnchor != nil {
			if !diffMentions(a, a.Comment.ID) {
				return fmt.Errorf("inline comment %d is not on any diff line", a.Comment.ID)
			}
			n["inline_comments"] += k
		}
	case "APPROVED":
		n["approvals"]++
	case "MERGED":
		if a.Commit == nil || a.Commit.Committer.EmailAddress == "" || a.Commit.CommitterTimestamp == 0 {
			return fmt.Errorf("MERGED activity without its committer")
		}
		n["merge_events"]++
	case "DECLINED":
		n["decline_events"]++
	}
	return nil
}

func countComments(c bbsComment) int {
	k := 1
	for _, r := range c.Comments {
		k += countComments(r)
	}
	return k
}

func diffMentions(a bbsActivity, id int64) bool {
	if a.Diff == nil {
		return false
	}
	for _, h := range a.Diff.Hunks {
		for _, s := range h.Segments {
			for _, l := range s.Lines {
				for _, c := range l.CommentIDs {
					if c == id {
						return true
					}
				}
			}
		}
	}
	return false
}
