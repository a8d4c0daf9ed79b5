// Package mdlink is the one grammar of the links in Markdown and HTML
// bodies that ferry rewrites (attachments relinked to uploads): a source
// adapter finds links with Links, the store replaces them with Relink (and,
// in SQL, with the same Delims), so every link found can be relinked.
//
// A link is a URL between the delimiters of one of these forms, exactly as
// the body has it (HTML entities and all):
//
//	](url)  ](url "title")  ](url 'title')  ](<url>)
//	<img … src="url">  <a … href='url'>
//
// Bare URLs, autolinks and reference-style definitions are not links here,
// so text that merely mentions a URL is never rewritten.
//
// It knows text; it must not know any forge, HTTP or storage.
package mdlink

import (
	"regexp"
	"slices"
	"strings"
)

// Delim is what stands right before and after a link's URL.
type Delim struct{ Open, Close string }

// form is one way a body links a URL: the pattern before Open and after
// Close, and the characters the URL may have.
type form struct {
	before string
	Delim
	url, after string
}

const htmlAttr = `(?i:<(?:img|a)\s[^>]*?\b(?:src|href)\s*=\s*)`

var forms = []form{
	{`\]`, Delim{"(", ")"}, `[^()\s<>]+`, ``},                        // ](url)
	{`\]`, Delim{"(", " "}, `[^()\s<>]+`, ` *(?:"[^"]*"|'[^']*')\)`}, // ](url "title")
	{`\]\(`, Delim{"<", ">"}, `[^<>\s]+`, `\)`},                      // ](<url>)
	{htmlAttr, Delim{`"`, `"`}, `[^"]+`, ``},                         // src="url"
	{htmlAttr, Delim{`'`, `'`}, `[^']+`, ``},                         // href='url'
}

var (
	patterns = func() []*regexp.Regexp {
		var out []*regexp.Regexp
		for _, f := range forms {
			out = append(out, regexp.MustCompile(f.before+regexp.QuoteMeta(f.Open)+"("+f.url+")"+regexp.QuoteMeta(f.Close)+f.after))
		}
		return out
	}()
	delims = func() []Delim {
		var out []Delim
		for _, f := range forms {
			if !slices.Contains(out, f.Delim) {
				out = append(out, f.Delim)
			}
		}
		return out
	}()
)

// Delims are the delimiters of every form, each once: what Relink (and a
// store's SQL rewrite of bodies) replaces a link between.
func Delims() []Delim { return slices.Clone(delims) }

// Links returns the links of body as written, each once, in the order
// they appear.
func Links(body string) []string {
	type at struct {
		pos int
		url string
	}
	var found []at
	for _, re := range patterns {
		for _, m := range re.FindAllStringSubmatchIndex(body, -1) {
			found = append(found, at{m[2], body[m[2]:m[3]]})
		}
	}
	slices.SortStableFunc(found, func(a, b at) int { return a.pos - b.pos })
	var out []string
	seen := map[string]bool{}
	for _, f := range found {
		if !seen[f.url] {
			seen[f.url] = true
			out = append(out, f.url)
		}
	}
	return out
}

// Relink replaces the link old with repl in body wherever it stands
// between a form's delimiters, so a URL that merely starts with old (or old
// quoted in prose) is left alone.
func Relink(body, old, repl string) string {
	if old == "" || !strings.Contains(body, old) {
		return body
	}
	for _, d := range delims {
		body = strings.ReplaceAll(body, d.Open+old+d.Close, d.Open+repl+d.Close)
	}
	return body
}
