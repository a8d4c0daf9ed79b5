package github

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v92/github"

	"github.com/ferry-import/ferry/source/internal/paging"
)

// Past GitHub's pagination cap the repository's issue events are read per
// item (cap.go), for the items the repository list could not reach. With
// GraphQL that is one query per gqlMaxNodes items instead of one REST call
// per item: each item's timelineItems, of the event types the importer
// maps (convert.go's eventNote, closure and resourceEvent), turned into
// the go-github IssueEvent values REST gives, so the same converter lands
// the same rows. An event is keyed by REST's numeric id, which GraphQL
// gives only inside the event's node id (nodeid.go); an event whose id
// does not decode, an item with more timeline events than one page, a
// number GitHub does not resolve, or GraphQL unavailable sends the item
// through its REST call, issues/:number/events, as before.

// restEvent names the REST event of each GraphQL timeline event type
// read: the ones convert.go maps.
var restEvent = map[string]string{
	"LabeledEvent": "labeled", "UnlabeledEvent": "unlabeled", "AssignedEvent": "assigned", "UnassignedEvent": "unassigned",
	"RenamedTitleEvent": "renamed", "MilestonedEvent": "milestoned", "DemilestonedEvent": "demilestoned",
	"ClosedEvent": "closed", "ReopenedEvent": "reopened", "MergedEvent": "merged", "ReferencedEvent": "referenced",
	"ReviewRequestedEvent": "review_requested", "ReviewRequestRemovedEvent": "review_request_removed",
	"LockedEvent": "locked", "UnlockedEvent": "unlocked",
}

const (
	issueEventTypes = `LABELED_EVENT UNLABELED_EVENT ASSIGNED_EVENT UNASSIGNED_EVENT RENAMED_TITLE_EVENT MILESTONED_EVENT ` +
		`DEMILESTONED_EVENT CLOSED_EVENT REOPENED_EVENT REFERENCED_EVENT LOCKED_EVENT UNLOCKED_EVENT`
	pullEventTypes = issueEventTypes + ` MERGED_EVENT REVIEW_REQUESTED_EVENT REVIEW_REQUEST_REMOVED_EVENT`
	eventCommon    = `id createdAt actor { ...A }`
	issueEvents    = `... on LabeledEvent { ` + eventCommon + ` label { name color } } ` +
		`... on UnlabeledEvent { ` + eventCommon + ` label { name color } } ` +
		`... on AssignedEvent { ` + eventCommon + ` assignee { ...A } } ` +
		`... on UnassignedEvent { ` + eventCommon + ` assignee { ...A } } ` +
		`... on RenamedTitleEvent { ` + eventCommon + ` previousTitle currentTitle } ` +
		`... on MilestonedEvent { ` + eventCommon + ` milestoneTitle } ` +
		`... on DemilestonedEvent { ` + eventCommon + ` milestoneTitle } ` +
		`... on ClosedEvent { ` + eventCommon + ` closer { __typename ... on Commit { oid } } } ` +
		`... on ReopenedEvent { ` + eventCommon + ` } ` +
		`... on ReferencedEvent { ` + eventCommon + ` commit { oid } } ` +
		`... on LockedEvent { ` + eventCommon + ` } ` +
		`... on UnlockedEvent { ` + eventCommon + ` } `
	pullEvents = issueEvents +
		`... on MergedEvent { ` + eventCommon + ` commit { oid } } ` +
		`... on ReviewRequestedEvent { ` + eventCommon + ` requestedReviewer { ...A } } ` +
		`... on ReviewRequestRemovedEvent { ` + eventCommon + ` requestedReviewer { ...A } } `
	// GraphQL refuses a fragment the query does not use: I and P go in
	// only when used.
	issueTimeline = `fragment I on Issue { __typename timelineItems(first: 100, itemTypes: [` + issueEventTypes + `]) ` +
		`{ totalCount pageInfo { hasNextPage } nodes { __typename ` + issueEvents + `} } } `
	pullTimeline = `fragment P on PullRequest { __typename timelineItems(first: 100, itemTypes: [` + pullEventTypes + `]) ` +
		`{ totalCount pageInfo { hasNextPage } nodes { __typename ` + pullEvents + `} } } `
	actorFragment = `fragment A on Actor { __typename login ... on User { id databaseId } ... on Bot { id databaseId } ` +
		`... on Mannequin { id databaseId } ... on Organization { id databaseId } }`
)

// timelineQuery asks for the timelines of items, each "issue:N" or
// "pullRequest:N": one connection per item, so a query of gqlMaxNodes
// items costs one point.
func timelineQuery(ids []string) string {
	var q strings.Builder
	q.WriteString(`query($owner: String!, $name: String!) { repository(owner: $owner, name: $name) {`)
	var issues, pulls bool
	for i, id := range ids {
		field, n, _ := strings.Cut(id, ":")
		frag := "I"
		if field == "pullRequest" {
			frag, pulls = "P", true
		} else {
			issues = true
		}
		fmt.Fprintf(&q, " n%d: %s(number: %s) { ...%s }", i, field, n, frag)
	}
	q.WriteString(" } } ")
	if issues {
		q.WriteString(issueTimeline)
	}
	if pulls {
		q.WriteString(pullTimeline)
	}
	q.WriteString(actorFragment)
	return q.String()
}

type gqlTimeline struct {
	TotalCount int         `json:"totalCount"`
	PageInfo   gqlPageInfo `json:"pageInfo"`
	Nodes      []*gqlEvent `json:"nodes"`
}

type gqlEvent struct {
	Typename  string    `json:"__typename"`
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"createdAt"`
	Actor     *gqlActor `json:"actor"`
	Label     *struct {
		Name  string `json:"name"`
		Color string `json:"color"`
	} `json:"label"`
	Assignee          *gqlActor `json:"assignee"`
	RequestedReviewer *gqlActor `json:"requestedReviewer"`
	PreviousTitle     string    `json:"previousTitle"`
	CurrentTitle      string    `json:"currentTitle"`
	MilestoneTitle    string    `json:"milestoneTitle"`
	Commit            *struct {
		OID string `json:"oid"`
	} `json:"commit"`
	Closer *struct {
		Typename string `json:"__typename"`
		OID      string `json:"oid"`
	} `json:"closer"`
}

// askTimelines reads the timelines of ids with one query.
func (r *run) askTimelines(ctx context.Context, ids []string) ([]*gqlNode, error) {
	repo, err := r.repoPath(ctx)
	if err != nil {
		return nil, err
	}
	owner, name, _ := strings.Cut(repo, "/")
	var data struct {
		Repository map[string]*gqlNode `json:"repository"`
	}
	if _, err := r.gql.query(ctx, timelineQuery(ids), map[string]any{"owner": owner, "name": name}, &data); err != nil {
		return nil, err
	}
	out := make([]*gqlNode, len(ids))
	for i := range ids {
		out[i] = data.Repository["n"+strconv.Itoa(i)] // nil: unresolved, or no repository
	}
	return out, nil
}

// eventsBatch reads the events of a page of item numbers past the cap.
func (r *run) eventsBatch(ctx context.Context, keys []string) ([]paging.BatchItem, error) {
	idOf := func(key string) (string, error) {
		n, err := strconv.Atoi(key)
		if err != nil || n <= 0 {
			return "", nil // REST says what it is
		}
		pr, err := r.isPR(ctx, n)
		if err != nil {
			return "", err
		}
		if pr {
			return "pullRequest:" + key, nil
		}
		return "issue:" + key, nil
	}
	return r.batchItems(ctx, relIssueEvents, keys, idOf, r.askTimelines, func(b *builder, key string, n *gqlNode) bool {
		num, err := strconv.Atoi(key)
		t := n.TimelineItems
		if err != nil || t == nil || t.PageInfo.HasNextPage || len(t.Nodes) < t.TotalCount {
			return false
		}
		i := &gh.Issue{Number: gh.Ptr(num)}
		if n.Typename == "PullRequest" {
			i.PullRequestLinks = &gh.PullRequestLinks{}
		}
		es := make([]*gh.IssueEvent, 0, len(t.Nodes))
		for _, x := range t.Nodes {
			e, ok := x.issueEvent(i)
			if !ok {
				return false
			}
			es = append(es, e)
		}
		for _, e := range es {
			b.event(e)
		}
		b.CountItems(len(es))
		return true
	})
}

// issueEvent is the REST event of timeline event x of item i; ok is false
// for an event whose REST id cannot be told (or of a type not asked).
func (x *gqlEvent) issueEvent(i *gh.Issue) (*gh.IssueEvent, bool) {
	if x == nil {
		return nil, false
	}
	name, ok := restEvent[x.Typename]
	if !ok {
		return nil, false
	}
	id, err := nodeDatabaseID(x.ID)
	if err != nil {
		return nil, false
	}
	e := &gh.IssueEvent{ID: gh.Ptr(id), Event: gh.Ptr(name), Actor: x.Actor.ghUser(), CreatedAt: stamp(x.CreatedAt), Issue: i}
	if x.Label != nil {
		e.Label = &gh.Label{Name: x.Label.Name, Color: x.Label.Color}
	}
	e.Assignee = x.Assignee.ghUser()
	e.RequestedReviewer = x.RequestedReviewer.ghUser()
	switch name {
	case "renamed":
		e.Rename = &gh.Rename{From: gh.Ptr(x.PreviousTitle), To: gh.Ptr(x.CurrentTitle)}
	case "milestoned", "demilestoned":
		e.Milestone = &gh.Milestone{Title: gh.Ptr(x.MilestoneTitle)}
	case "closed":
		if x.Closer != nil && x.Closer.Typename == "Commit" && x.Closer.OID != "" {
			e.CommitID = gh.Ptr(x.Closer.OID)
		}
	case "merged", "referenced":
		if x.Commit != nil && x.Commit.OID != "" {
			e.CommitID = gh.Ptr(x.Commit.OID)
		}
	}
	return e, true
}
