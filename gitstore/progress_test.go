package gitstore

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"
)

func TestProgressWriter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		writes []string
		want   []Progress
		stderr string
	}{
		{
			name: "meters redrawn with carriage returns",
			writes: []string{"Receiving objects:  10% (1/10)\r", "Receiving objects:  50% (5/10), 1.00 KiB | 1 KiB/s\r",
				"Receiving objects: 100% (10/10), done.\n"},
			want: []Progress{{"Receiving objects", 1, 10}, {"Receiving objects", 5, 10}, {"Receiving objects", 10, 10}},
		},
		{
			name:   "a meter split across writes",
			writes: []string{"Resolving del", "tas:  33% (1/3)\r"},
			want:   []Progress{{"Resolving deltas", 1, 3}},
		},
		{
			name:   "the remote's meters are dropped, its messages kept",
			writes: []string{"remote: Counting objects: 100% (4/4), done.\nremote: Repository not found.\n"},
			stderr: "remote: Repository not found.\n",
		},
		{
			name:   "errors pass through",
			writes: []string{"Receiving objects:  50% (5/10)\r", "fatal: early EOF\n"},
			want:   []Progress{{"Receiving objects", 5, 10}},
			stderr: "fatal: early EOF\n",
		},
		{
			name:   "nonsense figures are not reported",
			writes: []string{"Receiving objects:  50% (11/10)\rReceiving objects:  0% (0/0)\n"},
		},
		{
			name:   "an endless line is passed on, not held",
			writes: []string{strings.Repeat("x", maxProgressLine+1)},
			stderr: strings.Repeat("x", maxProgressLine+1),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []Progress
			var stderr bytes.Buffer
			w := &progressWriter{next: &stderr, report: func(p Progress) { got = append(got, p) }}
			for _, s := range tt.writes {
				if n, err := w.Write([]byte(s)); err != nil || n != len(s) {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if err := w.flush(); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("reports %v, want %v", got, tt.want)
			}
			if stderr.String() != tt.stderr {
				t.Errorf("stderr %q, want %q", stderr.String(), tt.stderr)
			}
		})
	}
}

// A mirror under WithProgress reports git's own meters, ending with every
// object received, and the repository is the same as without.
func TestMirrorReportsProgress(t *testing.T) {
	t.Parallel()
	_, srcURL, _ := upstream(t)
	s := newStore(t)
	var got []Progress
	var advertised []RefCounts
	ctx := WithObserver(context.Background(), Observer{
		Progress:   func(p Progress) { got = append(got, p) },
		Advertised: func(c RefCounts) { advertised = append(advertised, c) },
	})
	if err := s.Mirror(ctx, 7, srcURL, Credential{Username: srcUser, Password: srcSecret}); err != nil {
		t.Fatal(err)
	}
	var last *Progress
	for i := range got {
		if got[i].Phase == "Receiving objects" {
			last = &got[i]
		}
	}
	if last == nil || last.Total == 0 || last.Done != last.Total {
		t.Fatalf("progress reports %v: want Receiving objects ending at its total", got)
	}
	testGit(t, s.Path(7), "fsck", "--strict")
	// The source's refs as it advertised them, by where they land, and
	// as many landed.
	want := RefCounts{"refs/heads/": 2, "refs/tags/": 1, "refs/merge-requests/": 2}
	if len(advertised) != 1 || !reflect.DeepEqual(advertised[0], want) {
		t.Errorf("advertised %v, want once %v", advertised, want)
	}
	for prefix, n := range want {
		if got, err := s.CountRefs(context.Background(), 7, prefix); err != nil || got != n {
			t.Errorf("CountRefs(%s) = %d, %v, want %d", prefix, got, err, n)
		}
	}
	if n, err := s.CountRefs(context.Background(), 99, "refs/heads/"); err != nil || n != 0 {
		t.Errorf("refs of no repository: %d, %v", n, err)
	}
	if _, err := s.CountRefs(context.Background(), 7, "--all"); err == nil {
		t.Error("CountRefs took an option for a prefix")
	}
	plain := newStore(t)
	if err := plain.Mirror(context.Background(), 7, srcURL, Credential{Username: srcUser, Password: srcSecret}); err != nil {
		t.Fatal(err)
	}
	if a, b := refsOf(t, s.Path(7)), refsOf(t, plain.Path(7)); a != b {
		t.Errorf("mirrored with progress:\n%s\nwithout:\n%s", a, b)
	}
}
