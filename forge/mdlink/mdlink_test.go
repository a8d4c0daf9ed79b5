package mdlink

import (
	"slices"
	"strings"
	"testing"
)

func TestLinks(t *testing.T) {
	const a, b = "https://x.example/a.png", "https://x.example/files/b.pdf"
	for _, tt := range []struct {
		name, body string
		want       []string
	}{
		{"markdown image", "see ![shot](" + a + ") here", []string{a}},
		{"markdown link with double-quoted title", "[f](" + b + ` "a title")`, []string{b}},
		{"single-quoted title, spaces", "[f](" + b + `   'a title')`, []string{b}},
		{"angle brackets", "![s](<" + a + ">)", []string{a}},
		{"html img", `<img width="3" alt="x" src="` + a + `">`, []string{a}},
		{"html single quotes, upper case", `<IMG SRC='` + a + `'/>`, []string{a}},
		{"html link", `<a href="` + b + `">f</a>`, []string{b}},
		{"kept as written", `<img src="` + a + `?x=1&amp;y=2">`, []string{a + "?x=1&amp;y=2"}},
		{"relative", "![x](/uploads/x.png) ![y](x.png)", []string{"/uploads/x.png", "x.png"}},
		{"document order across forms, each once", `<img src="` + b + `"> ![a](` + a + `) [b](` + b + `)`, []string{b, a}},
		{"bare URL", "look: " + a, nil},
		{"autolink", "<" + a + ">", nil},
		{"reference definition", "[1]: " + a, nil},
		{"parenthesised prose", "(" + a + ")", nil},
		{"unclosed", "![x](" + a, nil},
		{"title without closing paren", "[f](" + b + ` "t"`, nil},
		{"other tag", `<script src="` + a + `">`, nil},
	} {
		if got := Links(tt.body); !slices.Equal(got, tt.want) {
			t.Errorf("%s: Links = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestRelink(t *testing.T) {
	const old, repl = "https://gh.example/user-attachments/assets/a.png", "/uploads/s/a.png"
	for _, c := range []struct{ name, in, want string }{
		{"markdown image", "![x](" + old + ")", "![x](" + repl + ")"},
		{"markdown link with title", `[x](` + old + ` "t")`, `[x](` + repl + ` "t")`},
		{"angle brackets", "[x](<" + old + ">)", "[x](<" + repl + ">)"},
		{"html double quotes", `<img src="` + old + `">`, `<img src="` + repl + `">`},
		{"html single quotes", `<a href='` + old + `'>f</a>`, `<a href='` + repl + `'>f</a>`},
		{"twice", "![a](" + old + ") ![b](" + old + ")", "![a](" + repl + ") ![b](" + repl + ")"},
		{"longer URL untouched", "![x](" + old + "0.png)", "![x](" + old + "0.png)"},
		{"query untouched", "![x](" + old + "?raw=true)", "![x](" + old + "?raw=true)"},
		{"prose untouched", "see " + old + " here", "see " + old + " here"},
		{"empty link untouched", "![x]()", "![x]()"},
	} {
		if got := Relink(c.in, old, repl); got != c.want {
			t.Errorf("%s: Relink = %q, want %q", c.name, got, c.want)
		}
	}
	if got := Relink("![x]()", "", "y"); got != "![x]()" {
		t.Errorf("Relink of an empty link = %q", got)
	}
}

// FuzzLinksRelink holds the grammar to its promise: every link Links finds
// is one Relink replaces, and once replaced no link to it is left.
func FuzzLinksRelink(f *testing.F) {
	f.Add("![s](a.png) [t](<b c>) [u](d 'e') ![v](d \"e\")")
	f.Add(`<IMG alt="x" SRC="a?b=1&amp;c=2"> <a href='x'x'>`)
	f.Add(`'<a href='<a href='`)
	f.Add("![a](x)![a](x0) (x) ](x)x)")
	const repl = "\x00uploaded\x00"
	f.Fuzz(func(t *testing.T, body string) {
		for _, l := range Links(body) {
			got := Relink(body, l, repl)
			if got == body {
				t.Fatalf("found %q, which Relink cannot find in %q", l, body)
			}
			if strings.Contains(repl, l) {
				continue
			}
			if slices.Contains(Links(got), l) {
				t.Fatalf("found %q in %q; relinked, it is still linked: %q", l, body, got)
			}
		}
	})
}
