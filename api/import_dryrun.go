package api

import (
	"context"
	"net/http"

	"github.com/ferry-import/ferry"
)

// A dry run (dry_run=true on an import endpoint, a ferry extension) is the
// pipeline's every check — parameters, address, namespace and permission,
// spent budget, the source check — and then, instead of creating a
// project and scheduling the import, the source's estimate of what the
// import costs: 200 {"dry_run": true, "import_source": …, "estimate":
// {rest_calls, graphql_requests, graphql_points, hours, binding,
// rest_per_hour, graphql_points_per_hour, counts, assumed}}.

// ImportEstimator is an ImportSource that can estimate an import from the
// repository's counts at the source (a few cheap calls).
type ImportEstimator interface {
	// Estimate is the cost of importing the checked repository repo with
	// the request req (its options, its credential: never echoed). Its
	// errors are as Check's.
	Estimate(ctx context.Context, req *SourceRequest, repo *SourceRepo) (*ImportEstimate, error)
}

// ImportEstimate is what a dry run answers.
type ImportEstimate struct {
	RESTCalls       int     `json:"rest_calls"`
	GraphQLRequests int     `json:"graphql_requests"`
	GraphQLPoints   int     `json:"graphql_points"`
	Hours           float64 `json:"hours"`
	// Binding names what decides the hours: "rest", "graphql" or "latency".
	Binding string `json:"binding"`
	// RESTPerHour and GraphQLPointsPerHour are the budgets assumed.
	RESTPerHour          int `json:"rest_per_hour"`
	GraphQLPointsPerHour int `json:"graphql_points_per_hour"`
	// Counts are the repository's, by kind; Assumed says which of them
	// were estimated rather than read, and how.
	Counts  map[string]int `json:"counts"`
	Assumed []string       `json:"assumed"`
}

// answerDryRun answers a checked request with the source's estimate.
func (s *Server) answerDryRun(w http.ResponseWriter, r *http.Request, c *checkedImport) error {
	est, ok := c.src.(ImportEstimator)
	if !ok {
		return ferry.Errorf(ferry.EUNPROCESSABLE, "dry_run is not available for %s imports", c.src.Type())
	}
	e, err := est.Estimate(r.Context(), &SourceRequest{APIBase: c.apiBase, Ref: c.req.ref, Options: c.options,
		Credential: c.req.credential}, c.repo)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"dry_run": true, "import_source": c.repo.FullName, "estimate": e})
	return nil
}
