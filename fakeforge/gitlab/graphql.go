package gitlab

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
)

// lookupRE finds the one kind of field fakeforge answers: group(fullPath:…)
// or project(fullPath:…), with a literal or a variable argument.
var lookupRE = regexp.MustCompile(`\b(group|project)\s*\(\s*fullPath\s*:\s*(\$[A-Za-z_][A-Za-z0-9_]*|"(?:[^"\\]|\\.)*")\s*\)`)

// parseLookup reads which group or project a GraphQL query looks up, as
// direct transfer's GetGroupQuery and GetProjectQuery ask.
func parseLookup(query string, vars map[string]any) (kind, fullPath string, err error) {
	m := lookupRE.FindStringSubmatch(query)
	if m == nil {
		return "", "", errors.New("fakeforge answers only group(fullPath:) and project(fullPath:) lookups")
	}
	arg := m[2]
	if arg[0] == '$' {
		v, ok := vars[arg[1:]].(string)
		if !ok {
			return "", "", fmt.Errorf("variable %s is not a string", arg)
		}
		return m[1], v, nil
	}
	path, err := strconv.Unquote(arg)
	if err != nil {
		return "", "", fmt.Errorf("fullPath literal %s: %w", arg, err)
	}
	return m[1], path, nil
}

type graphqlError struct {
	Message string `json:"message"`
}

// graphql answers POST /api/graphql for group and project id lookups: the
// id is a global id (gid://gitlab/Group/100) whose number is the REST id.
func (s *Server) graphql(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Query     string         `json:"query"`
		Variables map[string]any `json:"variables"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string][]graphqlError{"errors": {{Message: "Invalid JSON: " + err.Error()}}})
		return
	}
	kind, path, err := parseLookup(req.Query, req.Variables)
	if err != nil {
		writeJSON(w, http.StatusOK, map[string][]graphqlError{"errors": {{Message: err.Error()}}})
		return
	}
	var node any // null when not found, as GraphQL answers
	switch kind {
	case "group":
		if g, ok := s.findGroup(path); ok && path != strconv.FormatInt(g.ID, 10) {
			obj := s.groupObj(g)
			node = map[string]any{"id": fmt.Sprintf("gid://gitlab/Group/%d", g.ID), "name": g.Name, "path": g.Path,
				"fullPath": g.FullPath, "description": obj.Description, "visibility": string(obj.Visibility),
				"webUrl": obj.WebURL, "lfsEnabled": true, "requestAccessEnabled": true,
				"projectCreationLevel": string(obj.ProjectCreationLevel), "subgroupCreationLevel": string(obj.SubGroupCreationLevel)}
		}
	case "project":
		if p, ok := s.findProject(path); ok && path != strconv.FormatInt(p.ID, 10) {
			node = map[string]any{"id": fmt.Sprintf("gid://gitlab/Project/%d", p.ID), "name": p.Name, "path": p.Path,
				"fullPath": p.FullPath, "visibility": "private", "webUrl": s.webURL(p.FullPath)}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{kind: node}})
}
