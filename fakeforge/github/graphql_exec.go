package github

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/ferry-import/ferry/fakeforge/scenario"
	"github.com/ferry-import/ferry/fakeforge/traffic"
)

// The GraphQL executor is written by hand over gqlparser's validated AST:
// the schema is small, the price of a query is computed from the same AST
// before anything is resolved, and the values come from the same builders
// of the scenario as the REST answers.

// executor resolves one validated query.
type executor struct {
	s      *Server
	vars   map[string]any
	rate   rateLimitNode
	dryRun bool // rateLimit(dryRun: true): price only, resolve nothing else
	errs   []gqlError
}

// gqlNode is a value of an object type of the schema.
type gqlNode interface {
	typeName() string
	// field resolves a field of the type; e and at (the field and its
	// response path) serve resolvers that report errors.
	field(e *executor, at fieldAt) any
}

// fieldAt is one field being resolved.
type fieldAt struct {
	f    *ast.Field
	args map[string]any
	path []any
}

// object is a JSON object that keeps the order of the selection.
type object struct {
	keys []string
	vals []any
}

func (o *object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, err := json.Marshal(k)
		if err != nil {
			return nil, fmt.Errorf("encode key %q: %w", k, err)
		}
		vb, err := json.Marshal(o.vals[i])
		if err != nil {
			return nil, fmt.Errorf("encode %q: %w", k, err)
		}
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// collected is one response key with the fields selected under it.
type collected struct {
	key    string
	fields []*ast.Field
}

// collect gathers the fields of sel that apply to an object of type typ,
// through inline fragments and fragment spreads, honouring @skip and
// @include, merging fields of the same response key.
func (e *executor) collect(typ string, sel ast.SelectionSet, out []collected) []collected {
	for _, s := range sel {
		switch s := s.(type) {
		case *ast.Field:
			if !e.included(s.Directives) {
				continue
			}
			key := responseKey(s)
			found := false
			for i := range out {
				if out[i].key == key {
					out[i].fields = append(out[i].fields, s)
					found = true
					break
				}
			}
			if !found {
				out = append(out, collected{key: key, fields: []*ast.Field{s}})
			}
		case *ast.InlineFragment:
			if e.included(s.Directives) && e.applies(typ, s.TypeCondition) {
				out = e.collect(typ, s.SelectionSet, out)
			}
		case *ast.FragmentSpread:
			if d := s.Definition; d != nil && e.included(s.Directives) && e.applies(typ, d.TypeCondition) {
				out = e.collect(typ, d.SelectionSet, out)
			}
		}
	}
	return out
}

func (e *executor) included(ds ast.DirectiveList) bool {
	for _, d := range ds {
		v, _ := d.ArgumentMap(e.vars)["if"].(bool)
		if (d.Name == "skip" && v) || (d.Name == "include" && !v) {
			return false
		}
	}
	return true
}

// applies reports whether a fragment on cond applies to an object of type typ.
func (e *executor) applies(typ, cond string) bool {
	if cond == "" || cond == typ {
		return true
	}
	if def := e.s.schema.Types[typ]; def != nil {
		for _, i := range def.Interfaces {
			if i == cond {
				return true
			}
		}
	}
	if def := e.s.schema.Types[cond]; def != nil && def.Kind == ast.Union {
		for _, t := range def.Types {
			if t == typ {
				return true
			}
		}
	}
	return false
}

func (e *executor) selectObject(n gqlNode, sel ast.SelectionSet, path []any) *object {
	o := &object{}
	for _, c := range e.collect(n.typeName(), sel, nil) {
		f := c.fields[0]
		at := fieldAt{f: f, path: append(append([]any{}, path...), c.key)}
		var v any
		if f.Name == "__typename" {
			v = n.typeName()
		} else {
			at.args = f.ArgumentMap(e.vars)
			var merged ast.SelectionSet
			for _, g := range c.fields {
				merged = append(merged, g.SelectionSet...)
			}
			v = e.complete(n.field(e, at), merged, at.path)
		}
		o.keys, o.vals = append(o.keys, c.key), append(o.vals, v)
	}
	return o
}

// complete turns a resolved value into its JSON form.
func (e *executor) complete(v any, sel ast.SelectionSet, path []any) any {
	switch v := v.(type) {
	case gqlNode:
		return e.selectObject(v, sel, path)
	case []gqlNode:
		out := make([]any, len(v))
		for i, n := range v {
			if n != nil {
				out[i] = e.selectObject(n, sel, append(append([]any{}, path...), i))
			}
		}
		return out
	case time.Time:
		return v.UTC().Format(time.RFC3339)
	}
	return v
}

// queryNode is the query root.
type queryNode struct{}

func (queryNode) typeName() string { return "Query" }

func (queryNode) field(e *executor, at fieldAt) any {
	if e.dryRun && at.f.Name != "rateLimit" {
		return nil // priced, not evaluated
	}
	switch at.f.Name {
	case "rateLimit":
		return e.rate
	case "node":
		id, _ := at.args["id"].(string)
		n := e.s.lookupNode(id)
		if n == nil {
			e.errs = append(e.errs, fieldError("NOT_FOUND", at.path, at.f, "Could not resolve to a node with the global id of '%s'", id))
			return nil
		}
		return n
	case "repository":
		owner, _ := at.args["owner"].(string)
		name, _ := at.args["name"].(string)
		if !strings.EqualFold(owner, Owner) || !strings.EqualFold(name, Repo) {
			e.errs = append(e.errs, fieldError("NOT_FOUND", at.path, at.f, "Could not resolve to a Repository with the name '%s/%s'.", owner, name))
			return nil
		}
		return repoNode{s: e.s}
	case "nodes":
		ids, _ := at.args["ids"].([]any)
		out := make([]gqlNode, len(ids))
		for i, v := range ids {
			id := fmt.Sprint(v)
			if out[i] = e.s.lookupNode(id); out[i] == nil {
				e.errs = append(e.errs, fieldError("NOT_FOUND", append(append([]any{}, at.path...), i), at.f,
					"Could not resolve to a node with the global id of '%s'", id))
			}
		}
		return out
	}
	return nil
}

// rateLimitNode answers rateLimit: the query's own cost and the budget
// after it.
type rateLimitNode struct {
	cost, nodeCount int
	lim             traffic.Limit
}

func (rateLimitNode) typeName() string { return "RateLimit" }

func (r rateLimitNode) field(_ *executor, at fieldAt) any {
	switch at.f.Name {
	case "cost":
		return r.cost
	case "limit":
		return r.lim.Limit
	case "nodeCount":
		return r.nodeCount
	case "remaining":
		return r.lim.Remaining
	case "used":
		return r.lim.Limit - r.lim.Remaining
	case "resetAt":
		return r.lim.Reset
	}
	return nil
}

// Node ids are the REST answers' node_id: a type prefix and the REST id
// (a pull request's index, a commit's SHA).
func userNodeID(u scenario.User) string   { return fmt.Sprintf("U_%d", u.ID) }
func issueNodeID(it scenario.Item) string { return fmt.Sprintf("I_%d", it.ID) }
func prNodeID(j int) string               { return fmt.Sprintf("PR_%d", j) }
func commentNodeID(id int64) string       { return fmt.Sprintf("IC_%d", id) }
func reviewNodeID(id int64) string        { return fmt.Sprintf("PRR_%d", id) }
func reviewCommentNodeID(id int64) string { return fmt.Sprintf("PRRC_%d", id) }
func commitNodeID(sha string) string      { return "C_" + sha }
func prDatabaseID(j int) int64            { return int64(900_000_000 + j) }

// itemNodeID is the node id of an issue, or of the pull request an issue
// of the REST API is (GitHub gives both the pull request's id).
func itemNodeID(it scenario.Item) string {
	if it.IsPR {
		return prNodeID(it.PRIndex)
	}
	return issueNodeID(it)
}

// lookupNode resolves a global id, or returns nil.
func (s *Server) lookupNode(id string) gqlNode {
	prefix, num, ok := strings.Cut(id, "_")
	if !ok {
		return nil
	}
	if prefix == "C" {
		if s.knownSHA(num) {
			return commitNode{sha: num}
		}
		return nil
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || strconv.FormatInt(n, 10) != num {
		return nil
	}
	switch prefix {
	case "U":
		if u, ok := s.sc.UserByID(n); ok {
			return userNode{u: u}
		}
	case "I":
		if it, ok := s.sc.ItemByID(n); ok && !it.IsPR {
			return issueNode{it: it}
		}
	case "PR":
		if n >= 1 && n <= int64(s.sc.Config().PullRequests) {
			return s.prNode(int(n))
		}
	case "IC":
		if c, ok := s.sc.CommentByID(n); ok {
			return commentNode{c: c}
		}
	case "PRR":
		if rv, ok := s.sc.ReviewByID(n); ok {
			return s.reviewNode(rv)
		}
	case "PRRC":
		if rc, ok := s.sc.ReviewCommentByID(n); ok {
			return reviewCommentNode{rc: rc}
		}
	}
	return nil
}

func (s *Server) knownSHA(sha string) bool {
	for b := range s.sc.BranchCount() {
		if s.branchSHA(b) == sha {
			return true
		}
	}
	return false
}

type userNode struct{ u scenario.User }

func (userNode) typeName() string { return "User" }

func (n userNode) field(_ *executor, at fieldAt) any {
	switch at.f.Name {
	case "id":
		return userNodeID(n.u)
	case "databaseId":
		return n.u.ID
	case "login":
		return n.u.Login
	case "name":
		return n.u.Name
	case "email":
		return n.u.Email
	}
	return nil
}

type issueNode struct{ it scenario.Item }

func (issueNode) typeName() string { return "Issue" }

func (n issueNode) field(e *executor, at fieldAt) any {
	switch at.f.Name {
	case "id":
		return issueNodeID(n.it)
	case "databaseId":
		return n.it.ID
	case "number":
		return n.it.Number
	case "reactions":
		return reactionConnection(n.it.Reactions, at)
	case "timelineItems":
		return e.s.timelineItems(n.it, at)
	}
	return nil
}

type prNode struct {
	j  int
	it scenario.Item
}

func (s *Server) prNode(j int) prNode { return prNode{j: j, it: s.sc.Item(s.sc.PRNumber(j))} }

func (prNode) typeName() string { return "PullRequest" }

func (n prNode) field(e *executor, at fieldAt) any {
	switch at.f.Name {
	case "id":
		return prNodeID(n.j)
	case "databaseId":
		return prDatabaseID(n.j)
	case "number":
		return n.it.Number
	case "title":
		return n.it.Title
	case "url":
		return e.s.htmlURL(fmt.Sprintf("/pull/%d", n.it.Number))
	case "updatedAt":
		return n.it.Updated
	case "reactions":
		return reactionConnection(n.it.Reactions, at)
	case "reviews":
		lo, hi := e.s.sc.PRReviews(n.j)
		return connection(max(0, hi-lo+1), at, func(i int) gqlNode { return e.s.reviewNode(e.s.sc.Review(lo + i)) })
	case "timelineItems":
		return e.s.timelineItems(n.it, at)
	}
	return nil
}

// commentNode and reviewCommentNode carry no reactions in the scenario,
// as REST serves none for them.
type commentNode struct{ c scenario.Comment }

func (commentNode) typeName() string { return "IssueComment" }

func (n commentNode) field(_ *executor, at fieldAt) any {
	switch at.f.Name {
	case "id":
		return commentNodeID(n.c.ID)
	case "databaseId":
		return n.c.ID
	case "reactions":
		return reactionConnection(nil, at)
	}
	return nil
}

type reviewCommentNode struct{ rc scenario.ReviewComment }

func (reviewCommentNode) typeName() string { return "PullRequestReviewComment" }

func (n reviewCommentNode) field(_ *executor, at fieldAt) any {
	switch at.f.Name {
	case "id":
		return reviewCommentNodeID(n.rc.ID)
	case "databaseId":
		return n.rc.ID
	case "reactions":
		return reactionConnection(nil, at)
	}
	return nil
}

type reviewNode struct {
	rv  scenario.Review
	sha string
}

func (s *Server) reviewNode(rv scenario.Review) reviewNode {
	return reviewNode{rv: rv, sha: s.git.BranchSHA(s.sc.PRBranch(rv.PR))}
}

func (reviewNode) typeName() string { return "PullRequestReview" }

func (n reviewNode) field(e *executor, at fieldAt) any {
	switch at.f.Name {
	case "id":
		return reviewNodeID(n.rv.ID)
	case "databaseId":
		return n.rv.ID
	case "author":
		return userNode{u: n.rv.Author}
	case "body":
		return n.rv.Body
	case "state":
		return n.rv.State
	case "submittedAt":
		return n.rv.Submitted
	case "commit":
		return commitNode{sha: n.sha}
	case "comments":
		rcs := e.s.reviewComments(n.rv)
		return connection(len(rcs), at, func(i int) gqlNode { return reviewCommentNode{rc: e.s.sc.ReviewComment(rcs[i])} })
	}
	return nil
}

// reviewComments are the indexes of the review comments submitted with
// review rv, every one of them (Options.WithholdReviewComments withholds
// some from REST only: GitHub still counts them).
func (s *Server) reviewComments(rv scenario.Review) []int {
	per := s.sc.Config().ReviewCommentsPerPR
	var out []int
	for k := range per {
		if rc := s.sc.ReviewComment((rv.PR-1)*per + 1 + k); rc.Review == rv.ID {
			out = append(out, rc.Index)
		}
	}
	return out
}

type commitNode struct{ sha string }

func (commitNode) typeName() string { return "Commit" }

func (n commitNode) field(_ *executor, at fieldAt) any {
	switch at.f.Name {
	case "id":
		return commitNodeID(n.sha)
	case "oid":
		return n.sha
	}
	return nil
}

// reactionContent maps REST's reaction content to GraphQL's ReactionContent.
func reactionContent(rest string) string {
	switch rest {
	case "+1":
		return "THUMBS_UP"
	case "-1":
		return "THUMBS_DOWN"
	}
	return strings.ToUpper(rest) // laugh, hooray, confused, heart, rocket, eyes
}

type reactionNode struct{ x scenario.Reaction }

func (reactionNode) typeName() string { return "Reaction" }

func (n reactionNode) field(_ *executor, at fieldAt) any {
	switch at.f.Name {
	case "databaseId":
		return n.x.ID
	case "content":
		return reactionContent(n.x.Content)
	case "createdAt":
		return n.x.Created
	case "user":
		return userNode{u: n.x.User}
	}
	return nil
}

func reactionConnection(rs []scenario.Reaction, at fieldAt) gqlNode {
	return connection(len(rs), at, func(i int) gqlNode { return reactionNode{x: rs[i]} })
}

// connNode is one page of a connection; the pricing already refused bad
// page arguments.
type connNode struct {
	typ    string
	total  int
	lo, hi int
	at     func(i int) gqlNode
}

func connection(total int, at fieldAt, item func(i int) gqlNode) gqlNode {
	pa, _ := pageArgsOf(at.f, at.args)
	lo, hi := pa.span(total)
	return connNode{typ: at.f.Definition.Type.Name(), total: total, lo: lo, hi: hi, at: item}
}

func (c connNode) typeName() string { return c.typ }

func (c connNode) field(_ *executor, at fieldAt) any {
	switch at.f.Name {
	case "totalCount":
		return c.total
	case "pageInfo":
		return pageInfoNode{c}
	case "nodes":
		out := make([]gqlNode, 0, c.hi-c.lo)
		for i := c.lo; i < c.hi; i++ {
			out = append(out, c.at(i))
		}
		return out
	}
	return nil
}

type pageInfoNode struct{ c connNode }

func (pageInfoNode) typeName() string { return "PageInfo" }

func (p pageInfoNode) field(_ *executor, at fieldAt) any {
	empty := p.c.hi <= p.c.lo
	switch at.f.Name {
	case "hasNextPage":
		return p.c.hi < p.c.total
	case "hasPreviousPage":
		return p.c.lo > 0
	case "startCursor":
		if empty {
			return nil
		}
		return encodeCursor(p.c.lo)
	case "endCursor":
		if empty {
			return nil
		}
		return encodeCursor(p.c.hi - 1)
	}
	return nil
}

// repoNode is the repository: its counts are the scenario's (issues
// without the pull requests, as GitHub's issues connection counts them;
// mentionableUsers the scenario's people), and its issues and pull
// requests by number.
type repoNode struct{ s *Server }

func (repoNode) typeName() string { return "Repository" }

func (n repoNode) field(e *executor, at fieldAt) any {
	c := n.s.sc.Config()
	none := func(int) gqlNode { return nil } // no nodes served: counts only
	switch at.f.Name {
	case "id":
		return fmt.Sprintf("R_%d", RepoID)
	case "databaseId":
		return RepoID
	case "name":
		return Repo
	case "nameWithOwner":
		return Owner + "/" + Repo
	case "issues":
		return connection(c.Issues, at, none)
	case "pullRequests":
		return connection(c.PullRequests, at, none)
	case "labels":
		return connection(c.Labels, at, none)
	case "milestones":
		return connection(c.Milestones, at, none)
	case "releases":
		return connection(c.Releases, at, none)
	case "branchProtectionRules":
		return connection(c.ProtectedBranches, at, none)
	case "mentionableUsers":
		return connection(c.Users, at, none)
	case "issue", "pullRequest", "issueOrPullRequest":
		return n.item(e, at)
	}
	return nil
}

// item answers issue(number:), pullRequest(number:) and
// issueOrPullRequest(number:) with GitHub's NOT_FOUND for a number that
// is not one of the kind asked.
func (n repoNode) item(e *executor, at fieldAt) any {
	num, _ := toInt(at.args["number"])
	if num >= 1 && num <= n.s.sc.Items() {
		it := n.s.sc.Item(num)
		switch {
		case it.IsPR && at.f.Name != "issue":
			return prNode{j: it.PRIndex, it: it}
		case !it.IsPR && at.f.Name != "pullRequest":
			return issueNode{it: it}
		}
	}
	kind := map[string]string{"issue": "Issue", "pullRequest": "PullRequest", "issueOrPullRequest": "issue or pull request"}[at.f.Name]
	e.errs = append(e.errs, fieldError("NOT_FOUND", at.path, at.f, "Could not resolve to an %s with the number of %d.", kind, num))
	return nil
}
