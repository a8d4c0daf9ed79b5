package api

import (
	"bytes"
	"net/http"
	"net/url"
	"testing"
)

// FuzzReadParams feeds arbitrary query strings and bodies (JSON and form)
// to the parameter reader: it must return parameters or an error, never
// panic, and a body over the limit must always be refused.
func FuzzReadParams(f *testing.F) {
	for _, seed := range []struct{ q, ct, body string }{
		{"page=2&per_page=100", "", ""},
		{"", "application/json", `{"name":"x","optional_stages":{"attachments_import":true},"scopes":["api"]}`},
		{"", "application/x-www-form-urlencoded", "a[]=1&a[]=2&b[c]=3&d=4"},
		{"iids[]=1&iids[]=2", "application/json", `[1,2]`},
		{"", "multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--x--\r\n"},
	} {
		f.Add(seed.q, seed.ct, seed.body)
	}
	f.Fuzz(func(t *testing.T, q, ct, body string) {
		if _, err := url.ParseQuery(q); err != nil {
			return
		}
		r, err := http.NewRequest("POST", "/x?"+q, bytes.NewReader([]byte(body)))
		if err != nil {
			return
		}
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		const limit = 64
		p, err := readParams(r, limit)
		if len(body) > limit && err == nil {
			t.Fatalf("a %d-byte body passed the %d-byte limit", len(body), limit)
		}
		if err == nil {
			p.str("name")
			p.list("scopes")
			p.object("optional_stages")
			page(p)
		}
	})
}
