package github

import (
	"bytes"
	"encoding/base64"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/ferry-import/ferry/fakeforge/scenario"
)

// An item's GraphQL timelineItems are its REST issue events (the same
// events, oldest first, as /issues/{number}/events lists them), each an
// object of the event's GraphQL type. GitHub's timeline events have no
// databaseId: their id, the same as REST's node_id, is a next-gen global
// id ("LE_" + base64url(msgpack([0, repository id, event id]))) whose last
// element is the REST id, as GitHub mints them.

// eventTypes names each REST event's GraphQL type, id prefix and
// timeline item type.
var eventTypes = map[string]struct{ typ, prefix, item string }{
	"labeled":                {"LabeledEvent", "LE", "LABELED_EVENT"},
	"unlabeled":              {"UnlabeledEvent", "UNLE", "UNLABELED_EVENT"},
	"assigned":               {"AssignedEvent", "AE", "ASSIGNED_EVENT"},
	"unassigned":             {"UnassignedEvent", "UAE", "UNASSIGNED_EVENT"},
	"renamed":                {"RenamedTitleEvent", "RTE", "RENAMED_TITLE_EVENT"},
	"milestoned":             {"MilestonedEvent", "MIE", "MILESTONED_EVENT"},
	"demilestoned":           {"DemilestonedEvent", "DEME", "DEMILESTONED_EVENT"},
	"closed":                 {"ClosedEvent", "CE", "CLOSED_EVENT"},
	"reopened":               {"ReopenedEvent", "REE", "REOPENED_EVENT"},
	"merged":                 {"MergedEvent", "ME", "MERGED_EVENT"},
	"referenced":             {"ReferencedEvent", "REFE", "REFERENCED_EVENT"},
	"review_requested":       {"ReviewRequestedEvent", "RRE", "REVIEW_REQUESTED_EVENT"},
	"review_request_removed": {"ReviewRequestRemovedEvent", "RRRE", "REVIEW_REQUEST_REMOVED_EVENT"},
	"locked":                 {"LockedEvent", "LOE", "LOCKED_EVENT"},
	"unlocked":               {"UnlockedEvent", "UNLOE", "UNLOCKED_EVENT"},
}

// eventNodeID is event e's global id, in GitHub's next-gen format.
func eventNodeID(e scenario.Event) string {
	var b bytes.Buffer
	enc := msgpack.NewEncoder(&b)
	enc.UseCompactInts(true) // as GitHub's: each integer in the fewest bytes
	if err := enc.Encode([]int64{0, RepoID, e.ID}); err != nil {
		panic(fmt.Sprintf("fakeforge/github: encode node id: %v", err)) // integers always encode
	}
	return eventTypes[e.Event].prefix + "_" + base64.RawURLEncoding.EncodeToString(b.Bytes())
}

// timelineItems is item it's timeline: its events of itemTypes (all
// when absent).
func (s *Server) timelineItems(it scenario.Item, at fieldAt) gqlNode {
	want := map[string]bool{}
	if ts, ok := at.args["itemTypes"].([]any); ok {
		for _, t := range ts {
			want[fmt.Sprint(t)] = true
		}
	}
	lo, hi := s.itemEvents(it.Number)
	var evs []scenario.Event
	for i := lo; i <= hi; i++ {
		e := s.sc.Event(i)
		if len(want) == 0 || want[eventTypes[e.Event].item] {
			evs = append(evs, e)
		}
	}
	return connection(len(evs), at, func(i int) gqlNode { return eventNode{s: s, e: evs[i], it: it} })
}

type eventNode struct {
	s  *Server
	e  scenario.Event
	it scenario.Item
}

func (n eventNode) typeName() string { return eventTypes[n.e.Event].typ }

// field answers what eventObj gives REST.
func (n eventNode) field(_ *executor, at fieldAt) any {
	switch at.f.Name {
	case "id":
		return eventNodeID(n.e)
	case "actor":
		return userNode{u: n.e.Actor}
	case "createdAt":
		return n.e.Created
	case "label":
		return labelNode{l: n.e.Label}
	case "assignee":
		return userNode{u: n.e.Actor}
	case "previousTitle":
		return "Old title"
	case "currentTitle":
		return n.it.Title
	case "milestoneTitle":
		return "v1.0"
	case "commit":
		if n.e.Event == "referenced" {
			return commitNode{sha: n.s.git.MainSHA(0)}
		}
	}
	return nil // closer, requestedReviewer, a merge's commit: REST gives none either
}

type labelNode struct{ l scenario.Label }

func (labelNode) typeName() string { return "Label" }

func (n labelNode) field(_ *executor, at fieldAt) any {
	switch at.f.Name {
	case "id":
		return fmt.Sprintf("LA_%d", n.l.ID)
	case "name":
		return n.l.Name
	case "color":
		return n.l.Color
	}
	return nil
}
