package walk

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/ferry-import/ferry/fakeforge/scenario"
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
	Version  int          `json:"version"`
	Author   bbsUser      `json:"author"`
	Severity string       `json:"severity"`
	State    string       `json:"state"`
	Comments []bbsComment `json:"comments"`
}

type bbsActivity struct {
	Action        string      `json:"action"`
	User          bbsUser     `json:"user"`
	Comment       *bbsComment `json:"comment"`
	CommentAnchor *struct {
		Path     string `json:"path"`
		Line     int    `json:"line"`
		LineType string `json:"lineType"`
		FileType string `json:"fileType"`
	} `json:"commentAnchor"`
	Diff *struct {
		Hunks []struct {
			Segments []struct {
				Type  string `json:"type"`
				Lines []struct {
					Source      int     `json:"source"`
					Destination int     `json:"destination"`
					CommentIDs  []int64 `json:"commentIds"`
				} `json:"lines"`
			} `json:"segments"`
		} `json:"hunks"`
	} `json:"diff"`
	Commit *struct {
		Committer struct {
			Slug string `json:"slug"`
		} `json:"committer"`
		CommitterTimestamp int64 `json:"committerTimestamp"`
	} `json:"commit"`
}

type bbsPullRequest struct {
	ID      int    `json:"id"`
	State   string `json:"state"`
	Draft   bool   `json:"draft"`
	FromRef struct {
		LatestCommit string `json:"latestCommit"`
	} `json:"fromRef"`
	Author struct {
		User bbsUser `json:"user"`
	} `json:"author"`
	Reviewers []struct {
		User   bbsUser `json:"user"`
		Status string  `json:"status"`
	} `json:"reviewers"`
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
// activities, and the project's users. It counts what an import lands,
// with the kinds of scenario.Expected, and checks that every inline
// comment sits on a diff line of its anchor's type and side.
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
	people := map[string]bool{}
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
		var pr bbsPullRequest
		if err := json.Unmarshal(v, &pr); err != nil {
			return fmt.Errorf("decode pull request: %w", err)
		}
		if pr.FromRef.LatestCommit == "" {
			return fmt.Errorf("pull request %d has no source commit", pr.ID)
		}
		ids = append(ids, pr.ID)
		n["merge_requests"]++
		n["merge_requests_"+scenario.BBSMergeRequestState(pr.State)]++
		if pr.Draft {
			n["merge_requests_draft"]++
		}
		people[pr.Author.User.Slug] = true
		for _, r := range pr.Reviewers {
			people[r.User.Slug] = true
			n["reviewers"]++
			if r.Status == "APPROVED" {
				n["approvals"]++
			}
		}
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
			people[a.User.Slug] = true
			return countActivity(n, people, a)
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
	n["placeholder_users"] = len(people)
	return n, err
}

func countActivity(n Counts, people map[string]bool, a bbsActivity) error {
	if sn, ok := scenario.BBSSystemNotes[a.Action]; ok {
		n[sn.Kind]++
	}
	switch a.Action {
	case "COMMENTED":
		if a.Comment == nil {
			return fmt.Errorf("COMMENTED activity without a comment")
		}
		kind, replies := "notes", "note_replies"
		if an := a.CommentAnchor; an != nil {
			kind, replies = "diff_notes", "diff_note_replies"
			if err := checkAnchor(a); err != nil {
				return err
			}
			n[scenario.DiffNoteKind(an.LineType, an.FileType)] += countComments(n, people, *a.Comment, kind, replies, 0)
			return nil
		}
		countComments(n, people, *a.Comment, kind, replies, 0)
	case "MERGED":
		if a.Commit == nil || a.Commit.Committer.Slug == "" || a.Commit.CommitterTimestamp == 0 {
			return fmt.Errorf("MERGED activity without its committer")
		}
	}
	return nil
}

// countComments counts a comment and its nested replies as kind (replies
// also as replies), with their edits and tasks, and returns how many.
func countComments(n Counts, people map[string]bool, c bbsComment, kind, replies string, depth int) int {
	k := 1
	people[c.Author.Slug] = true
	n[kind]++
	if depth > 0 {
		n[replies]++
	}
	if c.Version > 0 {
		n["edited_notes"]++
	}
	if c.Severity == "BLOCKER" {
		n["tasks"]++
		if c.State == "RESOLVED" {
			n["tasks_resolved"]++
		}
	}
	for _, r := range c.Comments {
		k += countComments(n, people, r, kind, replies, depth+1)
	}
	return k
}

// checkAnchor finds the diff line that carries an inline comment's id and
// checks it against the anchor: its type is the anchor's line type, and
// its number on the anchor's side (FROM: source, TO: destination) is the
// anchor's line. That line is what GitLab positions the diff note on.
func checkAnchor(a bbsActivity) error {
	an, id := a.CommentAnchor, a.Comment.ID
	if a.Diff == nil {
		return fmt.Errorf("inline comment %d comes without its diff", id)
	}
	for _, h := range a.Diff.Hunks {
		for _, s := range h.Segments {
			for _, l := range s.Lines {
				if !slices.Contains(l.CommentIDs, id) {
					continue
				}
				side := l.Destination
				if an.FileType == "FROM" {
					side = l.Source
				}
				if s.Type != an.LineType || side != an.Line {
					return fmt.Errorf("inline comment %d anchored on %s line %d (%s) sits on a %s line %d→%d",
						id, an.LineType, an.Line, an.FileType, s.Type, l.Source, l.Destination)
				}
				return nil
			}
		}
	}
	return fmt.Errorf("inline comment %d is not on any diff line", id)
}
