package gitlab

import (
	"net/http"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/ferry-import/ferry/fakeforge/scenario"
)

// resourceEvent is one of an item's resource events, as both the REST
// lists and the export serve it.
type resourceEvent struct {
	kind      string // label, milestone, state
	id        int64  // the scenario event's id
	action    string // add, remove
	label     scenario.Label
	milestone int // milestone number
	state     string
	actor     scenario.User
	created   time.Time
}

// itemEvents is item n's scenario issue events that GitLab keeps as
// resource events (scenario.GitLabEventKind); a milestone event sets the
// item's milestone, the first when it has none.
func (s *Server) itemEvents(n int, it scenario.Item) []resourceEvent {
	var out []resourceEvent
	per := s.sc.Config().EventsPerItem
	for e := (n-1)*per + 1; e <= n*per; e++ {
		ev := s.sc.Event(e)
		re := resourceEvent{kind: s.sc.GitLabEventKind(ev), id: ev.ID, actor: ev.Actor, created: ev.Created}
		switch re.kind {
		case scenario.GitLabLabelEvent:
			re.label, re.action = ev.Label, map[bool]string{true: "add", false: "remove"}[ev.Event == "labeled"]
		case scenario.GitLabMilestoneEvent:
			re.milestone, re.action = max(it.Milestone, 1), "add"
		case scenario.GitLabStateEvent:
			re.state = ev.Event
		default:
			continue
		}
		out = append(out, re)
	}
	return out
}

// milestoneEvent is GitLab's ResourceMilestoneEvent entity: client-go's
// struct lacks its state (the item's state at the time).
type milestoneEvent struct {
	gl.MilestoneEvent
	State string `json:"state"`
}

// resourceEvents serves GET …/:iid/resource_{label,milestone,state}_events
// of an issue or merge request (on), paginated as every list.
func (s *Server) resourceEvents(kind string, w http.ResponseWriter, r *http.Request, p proj, n int, it scenario.Item, on noteable) {
	var evs []resourceEvent
	for _, ev := range s.itemEvents(n, it) {
		if ev.kind == kind {
			evs = append(evs, ev)
		}
	}
	s.list(w, r, rangeSeq(0, len(evs)-1), func(k int) any {
		ev := evs[k]
		id, user := p.off+ev.id, s.basicUser(ev.actor)
		switch kind {
		case "label":
			lo := s.labelObj(p, ev.label)
			return &gl.LabelEvent{ID: id, Action: ev.action, CreatedAt: tp(ev.created), ResourceType: on.kind, ResourceID: on.id, User: *user,
				Label: gl.LabelEventLabel{ID: lo.ID, Name: lo.Name, Color: lo.Color, TextColor: lo.TextColor, Description: lo.Description}}
		case "milestone":
			return &milestoneEvent{MilestoneEvent: gl.MilestoneEvent{ID: id, User: user, CreatedAt: tp(ev.created), ResourceType: on.kind,
				ResourceID: on.id, Milestone: s.milestoneObj(p, s.sc.Milestone(ev.milestone)), Action: ev.action}, State: "opened"}
		default:
			return &gl.StateEvent{ID: id, User: user, CreatedAt: tp(ev.created), ResourceType: on.kind, ResourceID: on.id,
				State: gl.EventTypeValue(ev.state)}
		}
	})
}

// issueEvents and mrEvents route one of the three lists to resourceEvents.
func (s *Server) issueEvents(kind string) func(http.ResponseWriter, *http.Request, proj) {
	return func(w http.ResponseWriter, r *http.Request, p proj) {
		if j, ok := iidFromPath(w, r, s.sc.Config().Issues, "Issue"); ok {
			n := s.sc.IssueNumber(j)
			s.resourceEvents(kind, w, r, p, n, s.sc.Item(n), s.issueNoteable(p, j))
		}
	}
}

func (s *Server) mrEvents(kind string) func(http.ResponseWriter, *http.Request, proj) {
	return func(w http.ResponseWriter, r *http.Request, p proj) {
		if j, ok := iidFromPath(w, r, s.sc.Config().PullRequests, "Merge Request"); ok {
			n := s.sc.PRNumber(j)
			s.resourceEvents(kind, w, r, p, n, s.sc.Item(n), noteable{kind: "MergeRequest", id: p.off + 900_000_000 + int64(j), iid: j})
		}
	}
}
