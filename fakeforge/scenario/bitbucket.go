package scenario

import (
	"slices"
	"time"
)

// Note is a comment in a thread: a conversation comment or an inline one.
type Note struct {
	ID      int64
	Author  User
	Text    string
	Created time.Time
}

// Activity is one entry of a pull request's activity stream in the shape
// Bitbucket Server reports it: OPENED, COMMENTED (a thread, possibly inline),
// APPROVED, RESCOPED, MERGED or DECLINED.
type Activity struct {
	ID      int64
	Action  string
	User    User
	Created time.Time
	// COMMENTED only: the thread's first comment and its nested replies.
	Comment *Note
	Replies []Note
	// Inline comments only: where the thread is anchored.
	Inline bool
	Path   string
	Line   int
}

const activityIDBase = 90_000_000

// BBSActivities returns pull request j's activities, newest first as
// Bitbucket Server lists them. Conversation comments pair up into threads
// (every second comment replies to the one before), and review comments
// become inline threads the same way.
func (s *Scenario) BBSActivities(j int) []Activity {
	c := s.cfg
	num := s.PRNumber(j)
	it := s.Item(num)
	idBase := int64(activityIDBase + j*1000)
	acts := []Activity{{ID: idBase, Action: "OPENED", User: it.Author, Created: it.Created}}
	first, last := s.ItemComments(num)
	for k := first; k <= last; k += 2 {
		cm := s.Comment(k)
		a := Activity{ID: idBase + int64(len(acts)), Action: "COMMENTED", User: cm.Author, Created: cm.Created,
			Comment: &Note{ID: cm.ID, Author: cm.Author, Text: cm.Body, Created: cm.Created}}
		if k+1 <= last {
			r := s.Comment(k + 1)
			a.Replies = []Note{{ID: r.ID, Author: r.Author, Text: r.Body, Created: r.Created}}
		}
		acts = append(acts, a)
	}
	for r := (j-1)*c.ReviewCommentsPerPR + 1; r <= j*c.ReviewCommentsPerPR; r++ {
		rc := s.ReviewComment(r)
		n := Note{ID: rc.ID, Author: rc.Author, Text: rc.Body, Created: rc.Created}
		if rc.InReplyTo != 0 {
			acts[len(acts)-1].Replies = append(acts[len(acts)-1].Replies, n)
			continue
		}
		acts = append(acts, Activity{ID: idBase + int64(len(acts)), Action: "COMMENTED", User: rc.Author,
			Created: rc.Created, Comment: &n, Inline: true, Path: rc.Path, Line: rc.Line})
	}
	rf, rl := s.PRReviews(j)
	for r := rf; r <= rl; r++ {
		if rv := s.Review(r); rv.State == "APPROVED" {
			acts = append(acts, Activity{ID: idBase + int64(len(acts)), Action: "APPROVED", User: rv.Author, Created: rv.Submitted})
		}
	}
	if j%2 == 0 {
		acts = append(acts, Activity{ID: idBase + int64(len(acts)), Action: "RESCOPED", User: it.Author, Created: it.Created.Add(5 * time.Minute)})
	}
	switch {
	case it.Merged:
		acts = append(acts, Activity{ID: idBase + int64(len(acts)), Action: "MERGED", User: it.ClosedBy, Created: it.Closed})
	case !it.Open:
		acts = append(acts, Activity{ID: idBase + int64(len(acts)), Action: "DECLINED", User: it.ClosedBy, Created: it.Closed})
	}
	slices.SortStableFunc(acts, func(a, b Activity) int { return b.Created.Compare(a.Created) })
	return acts
}
