package gitlab

import (
	"errors"
	"fmt"
	"testing"

	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/source/internal/attach"
	"github.com/ferry-import/ferry/uploads"
)

// TestUploadIndex: the on-disk index of an uploads archive answers as a
// map would — every key put, the later value of a key put twice, nothing
// for a key never put — across growing past the size the source
// announced, and gives refusals back with their message, permanence and
// uploads.ErrTooLarge.
func TestUploadIndex(t *testing.T) {
	stored := func(i int) archived {
		return archived{f: attach.Stored{SHA256: fmt.Sprintf("%064x", i), Size: int64(i) * 1000, ContentType: "image/png"}}
	}
	key := func(i int) string { return fmt.Sprintf("%032x/file-%d.png", i%7, i) }
	for _, c := range []struct {
		name   string
		expect int64 // what the status announced
		keys   int
	}{
		{"as announced", 3000, 3000},
		{"understated", 3, 5000},
		{"none announced", 0, 10},
		{"empty", 100, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			x, err := newUploadIndex(c.expect)
			if err != nil {
				t.Fatal(err)
			}
			defer x.close()
			for i := range c.keys {
				if err := x.put(key(i), stored(-i)); err != nil { // replaced below
					t.Fatal(err)
				}
			}
			for i := range c.keys {
				if err := x.put(key(i), stored(i)); err != nil {
					t.Fatal(err)
				}
			}
			tooLarge := &importer.Permanent{Err: fmt.Errorf("s/big.bin: 200 bytes: %w", uploads.ErrTooLarge)}
			refused := &importer.Permanent{Err: errors.New("disk full, for good")}
			if err := x.put("s/big.bin", archived{err: tooLarge}); err != nil {
				t.Fatal(err)
			}
			if err := x.put("s/refused.png", archived{err: refused}); err != nil {
				t.Fatal(err)
			}
			if x.count != uint64(c.keys)+2 {
				t.Errorf("count %d, want %d", x.count, c.keys+2)
			}
			for i := range c.keys {
				a, ok, err := x.get(key(i))
				if err != nil || !ok || a != stored(i) {
					t.Fatalf("%s: %+v %v %v, want %+v", key(i), a, ok, err, stored(i))
				}
			}
			for _, k := range []string{"s/missing.png", key(c.keys), ""} {
				if a, ok, err := x.get(k); ok || err != nil {
					t.Errorf("%q: %+v %v %v, want nothing", k, a, ok, err)
				}
			}
			for _, r := range []struct {
				key      string
				want     error
				tooLarge bool
			}{{"s/big.bin", tooLarge, true}, {"s/refused.png", refused, false}} {
				a, ok, err := x.get(r.key)
				var perm *importer.Permanent
				if err != nil || !ok || a.err == nil || a.err.Error() != r.want.Error() || !errors.As(a.err, &perm) ||
					errors.Is(a.err, uploads.ErrTooLarge) != r.tooLarge || a.f != (attach.Stored{}) {
					t.Errorf("%s: %+v %v %v, want the refusal %q (too large %v)", r.key, a, ok, err, r.want, r.tooLarge)
				}
			}
		})
	}
}
