package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/ferry-import/ferry"
	"github.com/ferry-import/ferry/store"
)

// POST /api/graphql answers the subset of GitLab's GraphQL API that direct
// transfer sends to its source (lib/bulk_imports/…/graphql): group and
// project by fullPath, with their ids as global ids and the attributes
// GetGroupQuery reads, and a group's projects connection with cursor
// paging (GetProjectsQuery). Queries are parsed with gqlparser and
// evaluated field by field against the store; anything outside the subset
// is a GraphQL error, as GitLab reports unknown fields.

// gqlRequest is a GraphQL POST body.
type gqlRequest struct {
	Query         string         `json:"query"`
	OperationName string         `json:"operationName"`
	Variables     map[string]any `json:"variables"`
}

// gqlObject is a JSON object that keeps the order of the selection.
type gqlObject []gqlField

type gqlField struct {
	key   string
	value any
}

// MarshalJSON implements json.Marshaler.
func (o gqlObject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(f.key)
		v, err := json.Marshal(f.value)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// gqlFail is a GraphQL error at a position of the query.
func gqlFail(pos *ast.Position, format string, args ...any) *gqlerror.Error {
	e := &gqlerror.Error{Message: fmt.Sprintf(format, args...)}
	if pos != nil {
		e.Locations = []gqlerror.Location{{Line: pos.Line, Column: pos.Column}}
	}
	return e
}

func writeGQLErrors(w http.ResponseWriter, errs ...*gqlerror.Error) {
	writeJSON(w, http.StatusOK, map[string]any{"errors": errs})
}

// maxGQLTokens bounds the work of parsing one query.
const maxGQLTokens = 10000

func (s *Server) graphQL(w http.ResponseWriter, r *http.Request) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return errTooLarge
	}
	var req gqlRequest
	if ct := r.Header.Get("Content-Type"); strings.HasPrefix(ct, "application/graphql") {
		req.Query = string(body)
	} else if err := json.Unmarshal(body, &req); err != nil {
		writeGQLErrors(w, gqlFail(nil, "Invalid JSON body"))
		return nil
	}
	if strings.TrimSpace(req.Query) == "" {
		writeGQLErrors(w, gqlFail(nil, "No query string was present"))
		return nil
	}
	doc, perr := parser.ParseQueryWithTokenLimit(&ast.Source{Input: req.Query}, maxGQLTokens)
	if perr != nil {
		if ge, ok := perr.(*gqlerror.Error); ok {
			writeGQLErrors(w, ge)
		} else {
			writeGQLErrors(w, gqlFail(nil, "%s", perr.Error()))
		}
		return nil
	}
	op, gerr := pickOperation(doc, req.OperationName)
	if gerr != nil {
		writeGQLErrors(w, gerr)
		return nil
	}
	vars := map[string]any{}
	for _, d := range op.VariableDefinitions {
		if d.DefaultValue != nil {
			v, _ := d.DefaultValue.Value(nil)
			vars[d.Variable] = v
		}
	}
	for k, v := range req.Variables {
		vars[k] = v
	}
	ev := &gqlEval{s: s, r: r, doc: doc, vars: vars}
	var data gqlObject
	err = s.store.Read(r.Context(), func(tx *store.Tx) error {
		ev.tx = tx
		var err error
		data, err = ev.selection(op.SelectionSet, "Query", ev.query)
		return err
	})
	if ge, ok := err.(*gqlerror.Error); ok {
		writeGQLErrors(w, ge)
		return nil
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data})
	return nil
}

func pickOperation(doc *ast.QueryDocument, name string) (*ast.OperationDefinition, *gqlerror.Error) {
	var op *ast.OperationDefinition
	switch {
	case name != "":
		op = doc.Operations.ForName(name)
		if op == nil {
			return nil, gqlFail(nil, "No operation named %q", name)
		}
	case len(doc.Operations) == 1:
		op = doc.Operations[0]
	default:
		return nil, gqlFail(nil, "An operation name is required")
	}
	if op.Operation != ast.Query {
		return nil, gqlFail(op.Position, "Only queries are supported")
	}
	return op, nil
}

// gqlEval evaluates one query.
type gqlEval struct {
	s    *Server
	r    *http.Request
	tx   *store.Tx
	doc  *ast.QueryDocument
	vars map[string]any
}

// resolver answers one field of a type; ok is false for an unknown field.
type resolver func(f *ast.Field) (value any, ok bool, err error)

// selection evaluates a selection set on a type, flattening fragments.
func (ev *gqlEval) selection(set ast.SelectionSet, typ string, resolve resolver) (gqlObject, error) {
	var out gqlObject
	for _, sel := range set {
		switch x := sel.(type) {
		case *ast.Field:
			key := x.Alias
			if key == "" {
				key = x.Name
			}
			if x.Name == "__typename" {
				out = append(out, gqlField{key, typ})
				continue
			}
			v, ok, err := resolve(x)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, gqlFail(x.Position, "Field '%s' doesn't exist on type '%s'", x.Name, typ)
			}
			out = append(out, gqlField{key, v})
		case *ast.InlineFragment:
			if x.TypeCondition != "" && x.TypeCondition != typ {
				continue
			}
			sub, err := ev.selection(x.SelectionSet, typ, resolve)
			if err != nil {
				return nil, err
			}
			out = append(out, sub...)
		case *ast.FragmentSpread:
			def := ev.doc.Fragments.ForName(x.Name)
			if def == nil {
				return nil, gqlFail(x.Position, "Fragment %s was used, but not defined", x.Name)
			}
			if def.TypeCondition != typ {
				continue
			}
			sub, err := ev.selection(def.SelectionSet, typ, resolve)
			if err != nil {
				return nil, err
			}
			out = append(out, sub...)
		}
	}
	return out, nil
}

// arg is a field argument's value, variables resolved.
func (ev *gqlEval) arg(f *ast.Field, name string) (any, error) {
	a := f.Arguments.ForName(name)
	if a == nil {
		return nil, nil
	}
	v, err := a.Value.Value(ev.vars)
	if err != nil {
		return nil, gqlFail(a.Position, "Argument '%s' on Field '%s' has an invalid value", name, f.Name)
	}
	return v, nil
}

func (ev *gqlEval) stringArg(f *ast.Field, name string) (string, error) {
	v, err := ev.arg(f, name)
	if err != nil || v == nil {
		return "", err
	}
	s, ok := v.(string)
	if !ok {
		return "", gqlFail(f.Position, "Argument '%s' on Field '%s' has an invalid value (%v). Expected type 'ID!'.", name, f.Name, v)
	}
	return s, nil
}

func (ev *gqlEval) query(f *ast.Field) (any, bool, error) {
	switch f.Name {
	case "group", "project", "namespace":
	default:
		return nil, false, nil
	}
	path, err := ev.stringArg(f, "fullPath")
	if err != nil {
		return nil, true, err
	}
	if path == "" {
		return nil, true, gqlFail(f.Position, "Field '%s' is missing required arguments: fullPath", f.Name)
	}
	ctx := ev.r.Context()
	if f.Name == "project" {
		p, err := ev.tx.ProjectByPath(ctx, path)
		if ferry.ErrorCode(err) == ferry.ENOTFOUND {
			return nil, true, nil
		} else if err != nil {
			return nil, true, err
		}
		if ok, err := ev.tx.CanSeeProject(ctx, viewer(ev.r), p); err != nil || !ok {
			return nil, true, err
		}
		v, err := ev.selection(f.SelectionSet, "Project", ev.project(p))
		return v, true, err
	}
	n, err := ev.tx.NamespaceByPath(ctx, path)
	if ferry.ErrorCode(err) == ferry.ENOTFOUND || (err == nil && f.Name == "group" && n.Kind != ferry.KindGroup) {
		return nil, true, nil
	} else if err != nil {
		return nil, true, err
	}
	if ok, err := ev.tx.CanSeeNamespace(ctx, viewer(ev.r), n.ID); err != nil || !ok {
		return nil, true, err
	}
	typ := "Group"
	if n.Kind != ferry.KindGroup {
		typ = "Namespace"
	}
	v, err := ev.selection(f.SelectionSet, typ, ev.group(n))
	return v, true, err
}

// groupDefaults are the settings GetGroupQuery reads that ferry does not
// model, at GitLab's defaults.
var groupDefaults = map[string]any{
	"emailsDisabled": false, "lfsEnabled": true, "mentionsDisabled": false, "projectCreationLevel": "developer",
	"requestAccessEnabled": true, "requireTwoFactorAuthentication": false, "shareWithGroupLock": false,
	"subgroupCreationLevel": "maintainer", "twoFactorGracePeriod": 48,
}

func (ev *gqlEval) group(n *ferry.Namespace) resolver {
	return func(f *ast.Field) (any, bool, error) {
		switch f.Name {
		case "id":
			return "gid://gitlab/Group/" + strconv.FormatInt(n.ID, 10), true, nil
		case "name":
			return n.Name, true, nil
		case "path":
			return n.Path, true, nil
		case "fullPath":
			return n.FullPath, true, nil
		case "fullName":
			return n.FullName, true, nil
		case "description":
			return n.Description, true, nil
		case "visibility":
			return string(n.Visibility), true, nil
		case "webUrl":
			return ev.s.baseURL(ev.r) + "/groups/" + n.FullPath, true, nil
		case "createdAt":
			return Time(n.CreatedAt), true, nil
		case "projects":
			v, err := ev.projects(f, n)
			return v, true, err
		}
		if v, ok := groupDefaults[f.Name]; ok {
			return v, true, nil
		}
		return nil, false, nil
	}
}

func (ev *gqlEval) project(p *ferry.Project) resolver {
	return func(f *ast.Field) (any, bool, error) {
		switch f.Name {
		case "id":
			return "gid://gitlab/Project/" + strconv.FormatInt(p.ID, 10), true, nil
		case "name":
			return p.Name, true, nil
		case "path":
			return p.Path, true, nil
		case "fullPath":
			return p.FullPath, true, nil
		case "nameWithNamespace":
			return p.FullName, true, nil
		case "description":
			return p.Description, true, nil
		case "visibility":
			return string(p.Visibility), true, nil
		case "webUrl":
			return ev.s.baseURL(ev.r) + "/" + p.FullPath, true, nil
		case "createdAt":
			return Time(p.CreatedAt), true, nil
		case "archived":
			return false, true, nil
		}
		return nil, false, nil
	}
}

// Cursors are opaque to clients; ferry's encode an offset.
func encodeCursor(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(offset)))
}

func decodeCursor(c string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !strings.HasPrefix(string(b), "offset:") {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimPrefix(string(b), "offset:"))
	return n, err == nil && n >= 0
}

// projects is the group's projects connection: first (default and at
// most 100) after a cursor, oldest first.
func (ev *gqlEval) projects(f *ast.Field, n *ferry.Namespace) (any, error) {
	first := 100
	if v, err := ev.arg(f, "first"); err != nil {
		return nil, err
	} else if v != nil {
		var x int64
		switch y := v.(type) {
		case int64:
			x = y
		case float64:
			x = int64(y)
		case json.Number:
			x, _ = y.Int64()
		}
		if x < 0 {
			return nil, gqlFail(f.Position, "first must be greater than or equal to 0")
		}
		first = min(int(x), 100)
	}
	offset := 0
	if after, err := ev.stringArg(f, "after"); err != nil {
		return nil, err
	} else if after != "" {
		var ok bool
		if offset, ok = decodeCursor(after); !ok {
			return nil, gqlFail(f.Position, "Please provide a valid cursor")
		}
	}
	sub := false
	if v, err := ev.arg(f, "includeSubgroups"); err != nil {
		return nil, err
	} else if b, ok := v.(bool); ok {
		sub = b
	}
	filter := store.ProjectFilter{Viewer: viewer(ev.r), NamespaceID: &n.ID, IncludeSubgroups: sub, OrderBy: "id", Sort: "asc"}
	// The cursors ferry hands out are multiples of first, so a page is one
	// list query; another offset is read row by row.
	var list []*ferry.Project
	var total int
	if first > 0 {
		var err error
		list, total, err = ev.tx.ListProjects(ev.r.Context(), filter, store.Page{Page: offset/first + 1, PerPage: first})
		if err != nil {
			return nil, err
		}
		if offset%first != 0 {
			list = nil
			for i := 0; i < first; i++ {
				one, t, err := ev.tx.ListProjects(ev.r.Context(), filter, store.Page{Page: offset + i + 1, PerPage: 1})
				if err != nil {
					return nil, err
				}
				total = t
				list = append(list, one...)
			}
		}
	}
	end := offset + len(list)
	return ev.selection(f.SelectionSet, "ProjectConnection", func(cf *ast.Field) (any, bool, error) {
		switch cf.Name {
		case "count":
			return total, true, nil
		case "pageInfo":
			v, err := ev.selection(cf.SelectionSet, "PageInfo", func(pf *ast.Field) (any, bool, error) {
				switch pf.Name {
				case "hasNextPage":
					return end < total, true, nil
				case "hasPreviousPage":
					return offset > 0, true, nil
				case "endCursor":
					if len(list) == 0 {
						return nil, true, nil
					}
					return encodeCursor(end), true, nil
				case "startCursor":
					if len(list) == 0 {
						return nil, true, nil
					}
					return encodeCursor(offset), true, nil
				}
				return nil, false, nil
			})
			return v, true, err
		case "nodes":
			out := []gqlObject{}
			for _, p := range list {
				v, err := ev.selection(cf.SelectionSet, "Project", ev.project(p))
				if err != nil {
					return nil, true, err
				}
				out = append(out, v)
			}
			return out, true, nil
		case "edges":
			out := []gqlObject{}
			for i, p := range list {
				v, err := ev.selection(cf.SelectionSet, "ProjectEdge", func(ef *ast.Field) (any, bool, error) {
					switch ef.Name {
					case "cursor":
						return encodeCursor(offset + i + 1), true, nil
					case "node":
						v, err := ev.selection(ef.SelectionSet, "Project", ev.project(p))
						return v, true, err
					}
					return nil, false, nil
				})
				if err != nil {
					return nil, true, err
				}
				out = append(out, v)
			}
			return out, true, nil
		}
		return nil, false, nil
	})
}
