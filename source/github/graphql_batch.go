package github

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	gh "github.com/google/go-github/v92/github"
	"golang.org/x/sync/errgroup"

	"github.com/ferry-import/ferry/forge"
	"github.com/ferry-import/ferry/source/internal/paging"
)

// The per-item relations reactions, pull_request_details and users read
// a page of queued items with one nodes(ids:) query (paging's EachBatch)
// when their keys carry the GraphQL node id of the object (withNode), and
// turn the answers into the same go-github values the REST path converts,
// so both paths land the same rows. An item the query cannot finish — a
// nested list longer than one page (more than 100 reactions or reviews), a
// node GitHub could not resolve, a key without a node id, GraphQL
// unavailable — goes through the relation's REST call as before.

// nodeSep joins a followup key and its object's GraphQL node id: neither
// logins nor the keys' other parts contain a space.
const nodeSep = " "

// withNode adds a node id to a followup key ("" adds nothing).
func withNode(key, node string) string {
	if node == "" {
		return key
	}
	return key + nodeSep + node
}

// splitNode is withNode undone; keys queued before node ids existed have
// none.
func splitNode(key string) (rest, node string) {
	rest, node, _ = strings.Cut(key, nodeSep)
	return rest, node
}

const reactionsFields = `reactions(first: 100) { totalCount pageInfo { hasNextPage } nodes { databaseId content createdAt user { __typename id login databaseId } } }`

var (
	reactionsQuery = `query($ids: [ID!]!) { nodes(ids: $ids) { __typename ` +
		`... on Issue { ` + reactionsFields + ` } ` +
		`... on PullRequest { ` + reactionsFields + ` } ` +
		`... on IssueComment { ` + reactionsFields + ` } ` +
		`... on PullRequestReviewComment { ` + reactionsFields + ` } } }`
	// reviewsQuery reads each review's comments count too (comments {
	// totalCount }, no first or last: GitHub answers a connection asked
	// for its count alone, and its rate-limit score counts only the
	// connections asked for a page, so this costs no point).
	reviewsQuery = `query($ids: [ID!]!) { nodes(ids: $ids) { __typename ... on PullRequest { title url updatedAt reviews(first: 100) { totalCount pageInfo { hasNextPage } ` +
		`nodes { databaseId body state submittedAt commit { oid } author { __typename login ... on User { id databaseId } } comments { totalCount } } } } } }`
	usersQuery = `query($ids: [ID!]!) { nodes(ids: $ids) { __typename ... on User { databaseId login name email } } }`
)

type gqlPageInfo struct {
	HasNextPage bool `json:"hasNextPage"`
}

type gqlActor struct {
	Typename   string `json:"__typename"`
	ID         string `json:"id"` // the node id, which users followups carry
	Login      string `json:"login"`
	DatabaseID int64  `json:"databaseId"`
}

// ghUser is the REST shape of a person inside an object.
func (a *gqlActor) ghUser() *gh.User {
	if a == nil || a.Login == "" {
		return nil // a deleted account: the converters make it "ghost"
	}
	login := a.Login
	if a.Typename == "Bot" && !strings.HasSuffix(login, "[bot]") {
		login += "[bot]" // GraphQL's Bot login lacks the suffix REST's has
	}
	u := &gh.User{Login: gh.Ptr(login), Type: gh.Ptr(a.Typename), NodeID: gh.Ptr(a.ID)}
	if a.DatabaseID != 0 {
		u.ID = gh.Ptr(a.DatabaseID)
	}
	return u
}

type gqlNode struct {
	Typename      string       `json:"__typename"`
	TimelineItems *gqlTimeline `json:"timelineItems"` // timeline.go
	DatabaseID    int64        `json:"databaseId"`
	Login         string       `json:"login"`
	Name          string       `json:"name"`
	Email         string       `json:"email"`
	Title         string       `json:"title"`
	URL           string       `json:"url"`
	UpdatedAt     *time.Time   `json:"updatedAt"`
	Reactions     *struct {
		TotalCount int         `json:"totalCount"`
		PageInfo   gqlPageInfo `json:"pageInfo"`
		Nodes      []struct {
			DatabaseID int64     `json:"databaseId"`
			Content    string    `json:"content"`
			CreatedAt  time.Time `json:"createdAt"`
			User       *gqlActor `json:"user"`
		} `json:"nodes"`
	} `json:"reactions"`
	Reviews *struct {
		TotalCount int         `json:"totalCount"`
		PageInfo   gqlPageInfo `json:"pageInfo"`
		Nodes      []struct {
			DatabaseID  int64      `json:"databaseId"`
			Body        string     `json:"body"`
			State       string     `json:"state"`
			SubmittedAt *time.Time `json:"submittedAt"`
			Commit      *struct {
				OID string `json:"oid"`
			} `json:"commit"`
			Author   *gqlActor `json:"author"`
			Comments *struct {
				TotalCount int `json:"totalCount"`
			} `json:"comments"`
		} `json:"nodes"`
	} `json:"reviews"`
}

// restReaction is GraphQL's ReactionContent in REST's words.
var restReaction = map[string]string{"THUMBS_UP": "+1", "THUMBS_DOWN": "-1", "LAUGH": "laugh", "HOORAY": "hooray",
	"CONFUSED": "confused", "HEART": "heart", "ROCKET": "rocket", "EYES": "eyes"}

func stamp(t time.Time) *gh.Timestamp { return &gh.Timestamp{Time: t} }

// gqlWorkers is how many queries of one page run at once: a page of
// queued items is gqlWorkers queries of up to gqlMaxNodes nodes, as REST
// reads its items several at a time.
const gqlWorkers = 4

// batchNodes runs query over the keys' node ids, in chunks GitHub accepts
// (gqlMaxNodes, halved while GitHub answers that a query is too big),
// gqlWorkers queries at a time, and gives each resolved node to fill,
// which says whether it finished the item. Items without a node id,
// unresolved, or not finished are left for the REST call.
func (r *run) batchNodes(ctx context.Context, relation, query string, keys []string,
	fill func(b *builder, key string, n *gqlNode) bool) ([]paging.BatchItem, error) {
	return r.batchItems(ctx, relation, keys, func(key string) (string, error) {
		_, node := splitNode(key)
		return node, nil
	}, r.askNodes(query), fill)
}

// askFunc reads the nodes named by ids with one query: one per id, in
// order, nil for an id GitHub could not resolve.
type askFunc func(ctx context.Context, ids []string) ([]*gqlNode, error)

// askNodes asks for ids with nodes(ids:).
func (r *run) askNodes(query string) askFunc {
	return func(ctx context.Context, ids []string) ([]*gqlNode, error) {
		var data struct {
			Nodes []*gqlNode `json:"nodes"`
		}
		_, err := r.gql.query(ctx, query, map[string]any{"ids": ids}, &data)
		return data.Nodes, err
	}
}

// batchItems is batchNodes over the ids idOf gives the keys ("": none,
// the item is left for REST), asked with ask.
func (r *run) batchItems(ctx context.Context, relation string, keys []string, idOf func(key string) (string, error),
	ask askFunc, fill func(b *builder, key string, n *gqlNode) bool) ([]paging.BatchItem, error) {
	out := make([]paging.BatchItem, len(keys))
	var idx []int
	var ids []string
	for i, k := range keys {
		id, err := idOf(k)
		if err != nil {
			return nil, err
		}
		if id != "" {
			idx, ids = append(idx, i), append(ids, id)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(gqlWorkers)
	c := nodeChunk{relation: relation, ask: ask, keys: keys, idx: idx, ids: ids, fill: fill, out: out}
	for next := 0; next < len(ids); {
		lo, hi := next, min(next+r.chunk(), len(ids))
		g.Go(func() error { return r.queryChunk(gctx, c, lo, hi) })
		next = hi
	}
	return out, g.Wait()
}

// nodeChunk is what one query of batchItems shares with the others: each
// writes only the items of its own ids.
type nodeChunk struct {
	relation string
	ask      askFunc
	keys     []string
	idx      []int // keys' index of each id
	ids      []string
	fill     func(b *builder, key string, n *gqlNode) bool
	out      []paging.BatchItem
}

// queryChunk reads ids[lo:hi] with one query, in halves when GitHub finds
// it too big; a single node still too big is left for REST.
func (r *run) queryChunk(ctx context.Context, c nodeChunk, lo, hi int) error {
	if !r.gql.usable() {
		return nil
	}
	size := hi - lo
	nodes, err := c.ask(ctx, c.ids[lo:hi])
	var es gqlErrors
	switch {
	case errors.Is(err, errGraphQLUnavailable):
		r.gql.turnOff(err)
		r.env.Log.WarnContext(ctx, "GitHub's GraphQL API is not available: reading per item through REST", "relation", c.relation, "error", err)
		return nil
	case errors.As(err, &es) && es.tooBig():
		if size == 1 {
			return nil
		}
		r.shrink(size)
		mid := lo + size/2
		if err := r.queryChunk(ctx, c, lo, mid); err != nil {
			return err
		}
		return r.queryChunk(ctx, c, mid, hi)
	case err != nil:
		return fmt.Errorf("GraphQL %s of %d items: %w", c.relation, size, err)
	}
	if len(nodes) != size {
		return fmt.Errorf("GraphQL %s: %d nodes for %d ids", c.relation, len(nodes), size)
	}
	for j, n := range nodes {
		i := c.idx[lo+j]
		if n == nil || n.Typename == "" {
			continue // unresolved (NOT_FOUND): REST says what became of it
		}
		b := &builder{Builder: paging.NewBuilder(), r: r}
		if c.fill(b, c.keys[i], n) {
			c.out[i] = paging.BatchItem{B: b.Builder, Done: true}
		}
	}
	r.grow(size)
	return nil
}

// chunk is how many nodes a query asks for now.
func (r *run) chunk() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gqlChunk <= 0 {
		r.gqlChunk = gqlMaxNodes
	}
	return r.gqlChunk
}

// shrink halves the chunk after GitHub found a query of size too big.
func (r *run) shrink(size int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gqlChunk = max(1, min(r.gqlChunk, size)/2)
}

// grow doubles the chunk back after a query of size went through.
func (r *run) grow(size int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if size >= r.gqlChunk {
		r.gqlChunk = min(gqlMaxNodes, r.gqlChunk*2)
	}
}

// reactionsBatch reads the reactions of a page of items and comments.
func (r *run) reactionsBatch(ctx context.Context, keys []string) ([]paging.BatchItem, error) {
	return r.batchNodes(ctx, relReactions, reactionsQuery, keys, func(b *builder, key string, n *gqlNode) bool {
		on, note, err := parseNoteableKey(key)
		if err != nil || n.Reactions == nil || n.Reactions.PageInfo.HasNextPage || len(n.Reactions.Nodes) < n.Reactions.TotalCount {
			return false
		}
		for _, x := range n.Reactions.Nodes {
			content, ok := restReaction[x.Content]
			if !ok {
				return false // a content REST names and the converter checks
			}
			rx := &gh.Reaction{ID: gh.Ptr(x.DatabaseID), User: x.User.ghUser(), Content: gh.Ptr(content), CreatedAt: stamp(x.CreatedAt)}
			if a, ok := b.award(rx, on, note); ok {
				b.Add(a)
			}
		}
		return true
	})
}

// reviewsBatch reads the reviews of a page of pull requests. With all of
// a pull request's reviews in hand, and the pull request not updated
// since the pulls list, it declares the pull request's review comments
// (expectReviewComments); one whose reviews go through REST declares none.
func (r *run) reviewsBatch(ctx context.Context, keys []string) ([]paging.BatchItem, error) {
	return r.batchNodes(ctx, relPullRequestDetails, reviewsQuery, keys, func(b *builder, key string, n *gqlNode) bool {
		num, _, err := parseDetailsKey(key)
		if err != nil || n.Reviews == nil || n.Reviews.PageInfo.HasNextPage || len(n.Reviews.Nodes) < n.Reviews.TotalCount {
			return false
		}
		comments, counted := 0, true
		for _, x := range n.Reviews.Nodes {
			switch {
			case x.State == "PENDING":
				// A draft, the viewer's own: GitHub lists its comments
				// nowhere else, and ferry imports none of it.
			case x.Comments == nil:
				counted = false
			default:
				comments += x.Comments.TotalCount
			}
		}
		// Only a pull request untouched since the pulls list saw it (the
		// updated_at its key carries, read before the review comments
		// were): one commented on since may hold comments this import
		// never listed, which are not missing from it.
		if seen := detailsUpdated(key); counted && !seen.IsZero() && n.UpdatedAt != nil && !n.UpdatedAt.Truncate(time.Second).After(seen) {
			b.expectReviewComments(int64(num), comments, n.URL, n.Title)
		}
		for _, x := range n.Reviews.Nodes {
			rv := &gh.PullRequestReview{ID: gh.Ptr(x.DatabaseID), User: x.Author.ghUser(), Body: gh.Ptr(x.Body), State: gh.Ptr(x.State)}
			if x.SubmittedAt != nil {
				rv.SubmittedAt = stamp(*x.SubmittedAt)
			}
			if x.Commit != nil {
				rv.CommitID = gh.Ptr(x.Commit.OID)
			}
			if v, ok := b.review(rv, int64(num)); ok {
				b.Add(v)
			}
			if v, ok := b.reviewNote(rv, int64(num), detailsUpdated(key)); ok {
				b.Add(v)
			}
		}
		return true
	})
}

// usersBatch reads the profiles of a page of people.
func (r *run) usersBatch(ctx context.Context, keys []string) ([]paging.BatchItem, error) {
	return r.batchNodes(ctx, relUsers, usersQuery, keys, func(b *builder, key string, n *gqlNode) bool {
		login, _ := splitNode(key)
		if n.Typename != "User" || n.DatabaseID == 0 || !strings.EqualFold(n.Login, login) {
			return false
		}
		b.Add(forge.SourceUser{SourceID: r.sid(idString(&n.DatabaseID)), Login: n.Login, Name: n.Name, Email: n.Email})
		return true
	})
}
