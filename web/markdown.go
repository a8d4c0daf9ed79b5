package web

import (
	"bytes"
	"html/template"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
)

// md renders GitLab-flavoured-enough Markdown (CommonMark with GitHub's
// tables, strikethrough, task lists and autolinks). It is safe to put in a
// page as is: without html.WithUnsafe goldmark leaves raw HTML out
// ("<!-- raw HTML omitted -->") and drops the destinations of links and
// images that are dangerous (javascript:, vbscript:, file:, and data: but
// for images), and the page's CSP allows no other script or style.
var md = goldmark.New(goldmark.WithExtensions(extension.GFM))

// maxMarkdown bounds what is rendered; longer text is shown escaped.
const maxMarkdown = 512 << 10

// markdown renders src as HTML.
func markdown(src string) template.HTML {
	if len(src) > maxMarkdown {
		return template.HTML("<pre>" + template.HTMLEscapeString(src) + "</pre>")
	}
	var buf bytes.Buffer
	if err := md.Convert([]byte(src), &buf); err != nil {
		return template.HTML("<pre>" + template.HTMLEscapeString(src) + "</pre>")
	}
	return template.HTML(buf.String()) //nolint:gosec // goldmark without WithUnsafe: raw HTML and dangerous URLs are dropped
}

// isMarkdown reports whether a file name is a Markdown file.
func isMarkdown(name string) bool {
	n := strings.ToLower(name)
	for _, ext := range []string{".md", ".markdown", ".mkd", ".mdown"} {
		if strings.HasSuffix(n, ext) {
			return true
		}
	}
	return false
}
