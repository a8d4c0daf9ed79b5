package main

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestNotFerry(t *testing.T) {
	for fn, want := range map[string]bool{
		"github.com/ferry-import/ferry/fakeforge/gitlab.(*Server).projectUploads": true,
		"github.com/ferry-import/ferry/fakeforge.Start":                           true,
		"main.(*heapWatch).sample":                                                true,
		"runtime/pprof.writeHeapInternal":                                         true,
		"github.com/ferry-import/ferry/source/gitlab.(*run).readArchiveBatch":     false,
		"github.com/ferry-import/ferry/fakeforgery.X":                             false,
		"main.importMode":         false,
		"encoding/json.Unmarshal": false,
	} {
		if got := notFerry(fn); got != want {
			t.Errorf("notFerry(%q) = %v, want %v", fn, got, want)
		}
	}
}

// TestHeapWatch: a live allocation of this test (not fakeforge's) shows
// in both the live heap's peak and ferry's part of it, and the profile is
// written. Not parallel: it reads the process's heap.
func TestHeapWatch(t *testing.T) {
	const size = 48 << 20
	profile := filepath.Join(t.TempDir(), "heap")
	w := watchHeap(profile)
	held := make([]byte, size)
	for i := range held {
		held[i] = byte(i)
	}
	runtime.GC()
	runtime.GC() // the heap profile is published a cycle late
	peak, ferry, err := w.close()
	runtime.KeepAlive(held)
	if err != nil {
		t.Fatal(err)
	}
	if peak < size>>20 || ferry < size>>20*9/10 || ferry > peak {
		t.Errorf("peak %.1f MB, ferry's %.1f MB; want both about %d MB or more", peak, ferry, size>>20)
	}
	if st, err := os.Stat(profile); err != nil || st.Size() == 0 {
		t.Errorf("heap profile: %v", err)
	}
}
