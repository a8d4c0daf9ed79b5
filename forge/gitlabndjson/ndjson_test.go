package gitlabndjson_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ferry-import/ferry/forge/gitlabndjson"
)

func TestWriterRoundTrip(t *testing.T) {
	t0 := time.Date(2024, 3, 1, 9, 30, 0, 123000000, time.UTC)
	line := int64(7)
	want := []gitlabndjson.Issue{
		{IID: 1, Title: "multi\nline <b>&", State: "opened", AuthorID: 3, CreatedAt: gitlabndjson.At(t0), UpdatedAt: gitlabndjson.At(t0),
			Notes: []gitlabndjson.Note{{Note: "n", AuthorID: 4, Position: &gitlabndjson.Position{NewPath: "a.go", NewLine: &line, PositionType: "text"},
				CreatedAt: gitlabndjson.At(t0), UpdatedAt: gitlabndjson.At(t0)}}},
		{IID: 2, Title: "two", State: "closed", ClosedAt: gitlabndjson.AtPtr(&t0), CreatedAt: gitlabndjson.At(t0), UpdatedAt: gitlabndjson.At(t0)},
	}
	var buf bytes.Buffer
	w := gitlabndjson.NewWriter(&buf)
	for _, is := range want {
		if err := w.Write(is); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Count() != 2 {
		t.Errorf("count %d", w.Count())
	}
	// Gzipped, one object per line, GitLab's time layout.
	gz, err := gzip.NewReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(gz)
	lines := strings.Split(strings.TrimSuffix(string(plain), "\n"), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"created_at":"2024-03-01T09:30:00.123Z"`) || !strings.Contains(lines[0], `<b>&`) {
		t.Fatalf("lines: %q", lines)
	}
	var got []gitlabndjson.Issue
	var idx []int
	for _, in := range [][]byte{buf.Bytes(), plain} { // gzipped and plain input
		got, idx = nil, nil
		err := gitlabndjson.EachRecord(bytes.NewReader(in), func(is gitlabndjson.Issue, i int) error {
			got, idx = append(got, is), append(idx, i)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(idx, []int{0, 1}) {
			t.Fatalf("read back %+v %v", got, idx)
		}
	}
}

func TestEachErrors(t *testing.T) {
	stop := errors.New("stop")
	for _, c := range []struct {
		name, in string
		fn       func(json.RawMessage, int) error
		want     string
		n        int
	}{
		{name: "blank lines skipped", in: "{\"a\":1}\n\n  \n{\"b\":2}", n: 2},
		{name: "crlf", in: "{\"a\":1}\r\n{\"b\":2}\r\n", n: 2},
		{name: "not an object", in: "{\"a\":1}\n[1]\n", want: "ndjson line 2: not a JSON object", n: 1},
		{name: "broken json", in: "{\"a\":", want: "ndjson line 1: not a JSON object"},
		{name: "fn error returned", in: "{}\n{}\n", fn: func(json.RawMessage, int) error { return stop }, want: "stop"},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := 0
			fn := c.fn
			if fn == nil {
				fn = func(json.RawMessage, int) error { n++; return nil }
			}
			err := gitlabndjson.Each(strings.NewReader(c.in), fn)
			if c.want == "" && err != nil || c.want != "" && (err == nil || err.Error() != c.want) {
				t.Fatalf("err %v, want %q", err, c.want)
			}
			if c.fn == nil && n != c.n {
				t.Errorf("%d records, want %d", n, c.n)
			}
		})
	}
}

func FuzzEach(f *testing.F) {
	f.Add([]byte("{\"iid\":1}\n{\"iid\":2,\"notes\":[{}]}\n"))
	f.Add([]byte{0x1f, 0x8b, 0, 0})
	f.Add([]byte("\n\n{\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		_ = gitlabndjson.Each(bytes.NewReader(in), func(raw json.RawMessage, _ int) error {
			if !json.Valid(raw) || raw[0] != '{' {
				t.Fatalf("yielded invalid line %q", raw)
			}
			return nil
		})
	})
}
