package main

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strings"
	"sync"
	"time"
)

// heapWatch follows the live Go heap (what the last garbage collection
// found reachable) while a benchmark runs, and how much of it the
// simulated source allocated: fakeforge runs in the same process, so the
// peak RSS counts both, and a figure for ferry alone says whose memory
// grows with the scenario. With a profile path it writes the heap
// profile there at each new peak of the live heap.
type heapWatch struct {
	stop    chan struct{}
	done    chan struct{}
	profile string

	mu        sync.Mutex
	peak      uint64 // the live heap's high-water mark
	peakFerry uint64 // the high-water mark of its part allocated outside fakeforge
	lastGC    uint64
	fromSrc   map[[32]uintptr]bool // stacks already symbolised: allocated outside ferry?
	err       error                // writing the profile
	recs      []runtime.MemProfileRecord
}

// The heap profile samples one allocation per memProfileRate bytes on
// average (512 KiB by default): finer, so the split of a heap of a few
// tens of MB rests on hundreds of samples. Set as early as the runtime
// asks, before main runs.
const memProfileRate = 64 << 10

func init() { runtime.MemProfileRate = memProfileRate }

// heapSampleEvery is how often the watcher looks for a finished garbage
// collection; the live heap changes only then.
const heapSampleEvery = 100 * time.Millisecond

// notFerry says whether an allocation by function fn (anywhere on its
// stack) is the simulated source's (fakeforge) or this watcher's own (its
// caches, the heap profiles it writes) rather than ferry's.
func notFerry(fn string) bool {
	const fakeforge = "github.com/ferry-import/ferry/fakeforge"
	return strings.HasPrefix(fn, fakeforge+"/") || strings.HasPrefix(fn, fakeforge+".") ||
		strings.HasPrefix(fn, "main.(*heapWatch)") || strings.HasPrefix(fn, "runtime/pprof.")
}

func watchHeap(profile string) *heapWatch {
	w := &heapWatch{stop: make(chan struct{}), done: make(chan struct{}), profile: profile, fromSrc: map[[32]uintptr]bool{}}
	w.sample()
	go func() {
		defer close(w.done)
		t := time.NewTicker(heapSampleEvery)
		defer t.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-t.C:
				w.sample()
			}
		}
	}()
	return w
}

// reset forgets the peaks so far: what follows is what is measured. A
// nil watcher (a mode run without one) does nothing.
func (w *heapWatch) reset() {
	if w == nil {
		return
	}
	// What is left of before is not counted against what follows: twice,
	// as a sync.Pool keeps its items through one collection.
	runtime.GC()
	runtime.GC()
	w.mu.Lock()
	w.peak, w.peakFerry, w.lastGC = 0, 0, 0
	w.mu.Unlock()
	w.sample()
}

// close stops the watcher after a last sample and returns the peaks in
// MB, and the error of writing the profile.
func (w *heapWatch) close() (peak, ferry float64, err error) {
	close(w.stop)
	<-w.done
	w.sample()
	w.mu.Lock()
	defer w.mu.Unlock()
	return float64(w.peak) / (1 << 20), float64(w.peakFerry) / (1 << 20), w.err
}

// sample reads the live heap once per garbage collection and splits it
// by who allocated it, from the heap profile of that same collection.
func (w *heapWatch) sample() {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 || s[1].Value.Kind() != metrics.KindUint64 {
		return // not in this Go version: no figure
	}
	live, cycles := s[0].Value.Uint64(), s[1].Value.Uint64()
	w.mu.Lock()
	defer w.mu.Unlock()
	if cycles == w.lastGC && w.peak > 0 {
		return
	}
	w.lastGC = cycles
	if live > w.peak && w.profile != "" && w.err == nil {
		w.err = writeHeapProfile(w.profile)
	}
	w.peak = max(w.peak, live)
	if live > w.peakFerry { // ferry's part is at most the whole: split only then
		w.peakFerry = max(w.peakFerry, uint64(float64(live)*(1-w.sourceShare())))
	}
}

// sourceShare is the part of the sampled in-use heap (as of the last
// collection, or the one before) allocated with a fakeforge function (or
// the watcher's) on the stack, each record scaled up as pprof scales heap
// samples.
func (w *heapWatch) sourceShare() float64 {
	recs := w.recs[:cap(w.recs)]
	for {
		n, ok := runtime.MemProfile(recs, false)
		if ok {
			recs = recs[:n]
			break
		}
		recs = make([]runtime.MemProfileRecord, n+n/4+50)
	}
	w.recs = recs
	rate := float64(runtime.MemProfileRate)
	var all, src float64
	for i := range recs {
		r := &recs[i]
		bytes, objects := r.InUseBytes(), r.InUseObjects()
		if bytes <= 0 || objects <= 0 {
			continue
		}
		v := float64(bytes)
		if rate > 1 {
			v /= 1 - math.Exp(-float64(bytes)/float64(objects)/rate)
		}
		all += v
		if w.allocatedElsewhere(r.Stack0) {
			src += v
		}
	}
	if all == 0 {
		return 0
	}
	return src / all
}

// allocatedElsewhere says whether the allocation of a stack is not
// ferry's (notFerry), symbolising each stack once.
func (w *heapWatch) allocatedElsewhere(stack [32]uintptr) bool {
	if v, ok := w.fromSrc[stack]; ok {
		return v
	}
	n := 0
	for n < len(stack) && stack[n] != 0 {
		n++
	}
	frames := runtime.CallersFrames(stack[:n])
	v := false
	for {
		f, more := frames.Next()
		if notFerry(f.Function) {
			v = true
			break
		}
		if !more {
			break
		}
	}
	w.fromSrc[stack] = v
	return v
}

// writeHeapProfile writes the heap profile (as of the last garbage
// collection, the one the live heap figure is from) to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("heap profile: %w", err)
	}
	return f.Close()
}
