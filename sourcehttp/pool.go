package sourcehttp

import (
	"context"
	"errors"
	"math"
	"net/http"
	"sort"
	"sync/atomic"
	"time"
)

// Pool sends each request through one of several members: the same
// source reached with different credentials (tokens of several accounts,
// App installations), each under its own Governor, so an import spends
// the budgets of all of them. Each request goes to the member with the
// most budget left (an unknown budget counts as plenty, so every member is
// probed early; ties take turns); a member whose budget is spent is tried
// last. A member that would have to wait for its budget hands the request
// on to the next, and only when every member would wait does the request
// wait, on the member whose budget comes back first.
type Pool struct {
	Members []PoolMember
	turn    atomic.Uint64
}

// PoolMember is one credential's way to the source: Transport
// authenticates as it and ends in a *Transport whose Governor is Governor.
type PoolMember struct {
	Transport http.RoundTripper
	Governor  *Governor
}

type noWaitKey struct{}

// RoundTrip implements http.RoundTripper.
func (p *Pool) RoundTrip(req *http.Request) (*http.Response, error) {
	order := p.order()
	for _, i := range order[:len(order)-1] {
		r, err := rewind(req)
		if err != nil {
			return nil, err
		}
		resp, err := p.Members[i].Transport.RoundTrip(r.WithContext(context.WithValue(req.Context(), noWaitKey{}, true)))
		var wait *WaitError
		if errors.As(err, &wait) && req.Context().Err() == nil {
			continue
		}
		return resp, err
	}
	r, err := rewind(req)
	if err != nil {
		return nil, err
	}
	return p.Members[order[len(order)-1]].Transport.RoundTrip(r)
}

// order is the members in the order a request tries them.
func (p *Pool) order() []int {
	type rank struct {
		i     int
		spent time.Time // zero: not spent
		left  int
	}
	n := len(p.Members)
	start := int(p.turn.Add(1) % uint64(n))
	ranks := make([]rank, n)
	for k := range n {
		i := (start + k) % n
		g := p.Members[i].Governor
		remaining, _ := g.Budget()
		if remaining < 0 {
			remaining = math.MaxInt
		}
		ranks[k] = rank{i: i, spent: g.SpentUntil(), left: remaining}
	}
	sort.SliceStable(ranks, func(a, b int) bool {
		x, y := ranks[a], ranks[b]
		switch {
		case x.spent.IsZero() != y.spent.IsZero():
			return x.spent.IsZero()
		case !x.spent.IsZero():
			return x.spent.Before(y.spent)
		}
		return x.left > y.left
	})
	out := make([]int, n)
	for k, r := range ranks {
		out[k] = r.i
	}
	return out
}
