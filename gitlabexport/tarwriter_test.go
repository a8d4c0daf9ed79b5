package gitlabexport

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/ferry-import/ferry/gitstore/archivetest"
)

// TestTarWriterDirectories: each secret's directory comes before its
// files, once for a run of files under it; the writer remembers only the
// last secret, so a secret seen again after another is written again
// (tar allows it), and nothing grows with the files written.
func TestTarWriterDirectories(t *testing.T) {
	for _, c := range []struct {
		secrets []string
		want    []string
	}{
		{[]string{"a", "b", "c"}, []string{"a/", "a/f0", "b/", "b/f1", "c/", "c/f2"}},
		{[]string{"a", "a", "b"}, []string{"a/", "a/f0", "a/f1", "b/", "b/f2"}},
		{[]string{"a", "b", "a"}, []string{"a/", "a/f0", "b/", "b/f1", "a/", "a/f2"}},
	} {
		var buf bytes.Buffer
		w := newTarWriter(&buf)
		for i, s := range c.secrets {
			body := "bytes " + s
			if err := w.Write(uploadFile{secret: s, name: "f" + string(rune('0'+i)), size: int64(len(body)), body: strings.NewReader(body)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		got := archivetest.Decode(t, "tar.gz", buf.Bytes()).Order
		if !slices.Equal(got, c.want) || w.Count() != len(c.secrets) {
			t.Errorf("%v: entries %v (count %d), want %v", c.secrets, got, w.Count(), c.want)
		}
	}
}
