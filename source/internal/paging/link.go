package paging

import (
	"net/url"
	"strconv"
	"strings"
)

// LinkRel returns the URL of the entry of an RFC 8288 Link header with
// relation rel, "" when there is none. GitHub and GitLab page with it.
func LinkRel(h, want string) string {
	for h != "" {
		h = strings.TrimLeft(h, " \t,")
		if !strings.HasPrefix(h, "<") {
			return ""
		}
		end := strings.IndexByte(h, '>')
		if end < 0 {
			return ""
		}
		target := h[1:end]
		h = h[end+1:]
		// Parameters run to the next comma outside quotes.
		params, rest := h, ""
		inQuote := false
		for i := 0; i < len(h); i++ {
			switch h[i] {
			case '"':
				inQuote = !inQuote
			case ',':
				if !inQuote {
					params, rest = h[:i], h[i+1:]
					i = len(h)
				}
			}
		}
		h = rest
		for p := range strings.SplitSeq(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(k), "rel") {
				continue
			}
			for rel := range strings.FieldsSeq(strings.Trim(strings.TrimSpace(v), `"`)) {
				if strings.EqualFold(rel, want) {
					return target
				}
			}
		}
	}
	return ""
}

// PagesAfter lists up to n page URLs after next (same URL, the page
// parameter counted up) until last. Anything unusual — no page number, no
// last link, a last link to a different list — gives none: the engine then
// reads page after page.
func PagesAfter(next, last, param string, n int) []string {
	nu, err := url.Parse(next)
	if err != nil || last == "" {
		return nil
	}
	lu, err := url.Parse(last)
	if err != nil || lu.Path != nu.Path {
		return nil
	}
	q := nu.Query()
	from, err1 := strconv.Atoi(q.Get(param))
	to, err2 := strconv.Atoi(lu.Query().Get(param))
	if err1 != nil || err2 != nil || from < 1 || to <= from {
		return nil
	}
	var out []string
	for p := from + 1; p <= to && len(out) < n; p++ {
		q.Set(param, strconv.Itoa(p))
		nu.RawQuery = q.Encode()
		out = append(out, nu.String())
	}
	return out
}
