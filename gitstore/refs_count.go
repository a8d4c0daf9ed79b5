package gitstore

import (
	"bytes"
	"context"
	"fmt"
	"strings"
)

// refspecSources are the source patterns of refspecs ("refs/heads/*" of
// "+refs/heads/*:refs/heads/*"), as ls-remote takes them.
func refspecSources(refspecs []string) []string {
	var out []string
	for _, rs := range refspecs {
		src, _, ok := strings.Cut(strings.TrimPrefix(rs, "+"), ":")
		if ok && src != "" {
			out = append(out, src)
		}
	}
	return out
}

// countMapped counts the names that refspecs map, by the prefix of their
// destination (what comes before its '*', or the whole destination).
func countMapped(names, refspecs []string) RefCounts {
	type spec struct{ pre, suf, dst string }
	var specs []spec
	for _, rs := range refspecs {
		src, dst, ok := strings.Cut(strings.TrimPrefix(rs, "+"), ":")
		if !ok {
			continue
		}
		pre, suf, _ := strings.Cut(src, "*")
		dpre, _, _ := strings.Cut(dst, "*")
		specs = append(specs, spec{pre, suf, dpre})
	}
	out := RefCounts{}
	for _, n := range names {
		for _, sp := range specs {
			if strings.HasPrefix(n, sp.pre) && strings.HasSuffix(n[len(sp.pre):], sp.suf) {
				out[sp.dst]++
				break
			}
		}
	}
	return out
}

// CountRefs counts the refs of project id's repository whose names start
// with prefix (0 when there is no repository).
func (s *Store) CountRefs(ctx context.Context, id int64, prefix string) (int64, error) {
	if !strings.HasPrefix(prefix, "refs/") || strings.HasPrefix(prefix, "-") {
		return 0, fmt.Errorf("count refs %d: prefix %q: %w", id, prefix, ErrInvalid)
	}
	if !s.Exists(id) {
		return 0, nil
	}
	out, err := s.run(ctx, gitCmd{Dir: s.Path(id), Args: []string{"for-each-ref", "--format=x", "--end-of-options", prefix}})
	if err != nil {
		return 0, fmt.Errorf("count refs %d: %w", id, err)
	}
	return int64(bytes.Count(out, []byte("\n"))), nil
}
