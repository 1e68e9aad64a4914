package metrics

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

var (
	testOps    = []string{"get", "set"}
	testPhases = []string{"warmup", "baseline", "migrating", "after"}
)

// fakeClock is a settable clock for Config.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeClock) Now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.t }
func (f *fakeClock) Set(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t = time.Unix(1_700_000_000, 0).Add(d)
}

func newTestCollector(t testing.TB, clock *fakeClock) *Collector {
	t.Helper()
	clock.Set(0)
	c, err := NewCollector(Config{Ops: testOps, Phases: testPhases, Now: clock.Now, Start: clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// feed is one operation of a scripted run.
type feed struct {
	rec int
	at  time.Duration
	s   Sample
}

// script builds a deterministic run: per recorder, operations every 7 ms
// over 6 s, phases by time (1 s warmup, 2 s baseline, 2 s migrating, 1 s
// after), outcomes and latencies drawn from a seeded generator, with
// latencies from 20 µs to 2 s.
func script(recorders int) []feed {
	r := rand.New(rand.NewPCG(7, 11))
	var out []feed
	for rec := range recorders {
		for at := time.Duration(rec) * time.Millisecond; at < 6*time.Second; at += 7 * time.Millisecond {
			phase := uint8(0)
			switch {
			case at >= 5*time.Second:
				phase = 3
			case at >= 3*time.Second:
				phase = 2
			case at >= time.Second:
				phase = 1
			}
			s := Sample{
				Latency: time.Duration(20_000 + r.ExpFloat64()*80_000),
				Slot:    uint16(r.IntN(NumSlots)),
				Node:    uint16(r.IntN(3)),
				Op:      uint8(r.IntN(2)),
				Phase:   phase,
			}
			if r.IntN(100) == 0 {
				s.Latency = time.Duration(r.Int64N(int64(2 * time.Second)))
			}
			switch x := r.IntN(20); {
			case phase == 2 && x == 0:
				s.Outcome, s.Moved = OKAfterMoved, 1
			case phase == 2 && x == 1:
				s.Outcome, s.Ask = OKAfterAsk, 1
			case x == 2:
				s.Outcome, s.ErrClass = Error, ErrorClass(r.IntN(NumErrorClasses))
			}
			out = append(out, feed{rec, at, s})
		}
	}
	return out
}

// TestCollectorMergeEqualsOneHistogram feeds four recorders and checks
// that every interval and every phase equals one histogram fed everything:
// counts exactly, percentiles exactly (merging keeps HDR buckets).
func TestCollectorMergeEqualsOneHistogram(t *testing.T) {
	var clock fakeClock
	c := newTestCollector(t, &clock)
	recs := make([]*Recorder, 4)
	for i := range recs {
		recs[i] = c.NewRecorder()
	}
	feeds := script(len(recs))
	perInterval := map[int]*hdr.Histogram{}
	perPhase := map[int]*hdr.Histogram{}
	perIntervalOps := map[int]int64{}
	var wantSlots [NumSlots]uint64
	var wantNodes [3]uint64
	var want Counters
	// Recorders are interleaved by time as in a real run.
	for at := time.Duration(0); at < 6*time.Second; at += 500 * time.Millisecond {
		for _, f := range feeds {
			if f.at < at || f.at >= at+500*time.Millisecond {
				continue
			}
			recs[f.rec].Record(f.at, f.s)
			i := int(f.at / time.Second)
			if perInterval[i] == nil {
				perInterval[i] = NewHistogram()
			}
			if perPhase[int(f.s.Phase)] == nil {
				perPhase[int(f.s.Phase)] = NewHistogram()
			}
			perInterval[i].RecordValue(int64(f.s.Latency))
			perPhase[int(f.s.Phase)].RecordValue(int64(f.s.Latency))
			perIntervalOps[i]++
			wantSlots[f.s.Slot]++
			wantNodes[f.s.Node]++
			want.Ops++
			want.Outcomes[f.s.Outcome]++
			if f.s.Outcome == Error {
				want.Errors[f.s.ErrClass]++
			}
			want.Moved += int64(f.s.Moved)
			want.Ask += int64(f.s.Ask)
		}
		c.Poll()
	}
	for _, r := range recs {
		r.Flush()
	}
	res := c.Result()

	if res.Totals != want {
		t.Fatalf("totals = %+v\nwant %+v", res.Totals, want)
	}
	if len(res.Intervals) != 6 {
		t.Fatalf("got %d intervals, want 6", len(res.Intervals))
	}
	for i, iv := range res.Intervals {
		ref := perInterval[i]
		if iv.Ops != perIntervalOps[i] || iv.Ops != ref.TotalCount() {
			t.Errorf("interval %d: ops %d, want %d", i, iv.Ops, perIntervalOps[i])
		}
		if iv.Latency != LatencyOf(ref) {
			t.Errorf("interval %d: latency %+v, want %+v", i, iv.Latency, LatencyOf(ref))
		}
		if !iv.Complete {
			t.Errorf("interval %d not complete after every Flush", i)
		}
		dense := NewHistogram()
		iv.Hist.MergeInto(dense)
		if !dense.Equals(ref) {
			t.Errorf("interval %d: histogram differs from the reference", i)
		}
		var perOps int64
		for _, h := range iv.OpHists {
			if h != nil {
				perOps += h.TotalCount()
			}
		}
		if perOps != iv.Ops {
			t.Errorf("interval %d: per-op histograms hold %d values, want %d", i, perOps, iv.Ops)
		}
	}
	wantPhase := []string{"warmup", "baseline", "baseline", "migrating", "migrating", "after"}
	for i, p := range wantPhase {
		if res.Intervals[i].Phase != p {
			t.Errorf("interval %d phase %q, want %q", i, res.Intervals[i].Phase, p)
		}
	}
	for p, pr := range res.PhaseResults {
		ref := perPhase[p]
		if pr.Ops != ref.TotalCount() || pr.Hist.TotalCount() != ref.TotalCount() {
			t.Errorf("phase %s: ops %d, want %d", pr.Name, pr.Ops, ref.TotalCount())
		}
		if pr.Latency != LatencyOf(ref) {
			t.Errorf("phase %s: latency %+v, want %+v", pr.Name, pr.Latency, LatencyOf(ref))
		}
	}
	for s := range wantSlots {
		if res.SlotOps[s] != wantSlots[s] {
			t.Fatalf("slot %d: %d ops, want %d", s, res.SlotOps[s], wantSlots[s])
		}
	}
	for n := range wantNodes {
		if res.NodeOps[n] != wantNodes[n] {
			t.Errorf("node %d: %d ops, want %d", n, res.NodeOps[n], wantNodes[n])
		}
	}
	// The per-combination histograms partition the phase histograms.
	var sum int64
	for p := range testPhases {
		for op := range testOps {
			for o := Outcome(0); o < NumOutcomes; o++ {
				if h := res.Histogram(p, op, o); h != nil {
					sum += h.TotalCount()
					if int64(h.TotalCount()) > res.PhaseResults[p].Outcomes[o] {
						t.Errorf("combination (%d,%d,%s) holds more than its phase's outcome count", p, op, o)
					}
				}
			}
		}
	}
	if sum != want.Ops {
		t.Errorf("combination histograms hold %d values, want %d", sum, want.Ops)
	}
	if res.Unflushed != 0 || res.Recorders != 4 || res.Diag.Late != 0 {
		t.Errorf("recorders %d, unflushed %d, late %d", res.Recorders, res.Unflushed, res.Diag.Late)
	}
}

// TestCollectorLateSnapshot: a worker stuck in a slow operation reports its
// interval after the grace has sealed it; the data still lands there.
func TestCollectorLateSnapshot(t *testing.T) {
	var clock fakeClock
	c := newTestCollector(t, &clock)
	fast, stuck := c.NewRecorder(), c.NewRecorder()
	ok := Sample{Latency: 100 * time.Microsecond, Phase: 1}

	stuck.Record(500*time.Millisecond, Sample{Latency: 3 * time.Second, Phase: 1}) // the slow op, in interval 0
	for at := time.Duration(0); at < 3500*time.Millisecond; at += 100 * time.Millisecond {
		fast.Record(at, ok)
	}
	clock.Set(1500 * time.Millisecond)
	c.Poll()
	if _, done := c.Interval(0); done {
		t.Fatal("interval 0 sealed before its grace passed while a recorder is behind")
	}
	clock.Set(3500 * time.Millisecond) // grace (1 s) passed for intervals 0 and 1
	st, done := c.Interval(0)
	if !done || st.Complete || st.Ops != 10 {
		t.Fatalf("interval 0 after grace: %+v, %v; want 10 ops, not complete", st, done)
	}
	// The stuck worker comes back and moves on: its interval 0 arrives late.
	stuck.Record(3600*time.Millisecond, ok)
	c.Poll()
	st, _ = c.Interval(0)
	if st.Ops != 11 || st.Latency.Max < 2900_000 || !st.Complete {
		t.Fatalf("interval 0 after the late report: %+v; want 11 ops, max ≈ 3 s, complete", st)
	}
	fast.Flush()
	stuck.Flush()
	res := c.Result()
	if res.Intervals[0].Ops != 11 || res.Diag.Late != 1 {
		t.Fatalf("result interval 0 ops %d (want 11), late %d (want 1)", res.Intervals[0].Ops, res.Diag.Late)
	}
	if res.PhaseResults[1].Ops != 37 || res.PhaseResults[1].Hist.TotalCount() != 37 {
		t.Fatalf("phase ops %d, hist %d; want 37", res.PhaseResults[1].Ops, res.PhaseResults[1].Hist.TotalCount())
	}
}

// TestCollectorSealsWhenAllReported: no grace needed once every recorder
// has moved on; Latest follows.
func TestCollectorSealsWhenAllReported(t *testing.T) {
	var clock fakeClock
	c := newTestCollector(t, &clock)
	a, b := c.NewRecorder(), c.NewRecorder()
	s := Sample{Latency: time.Millisecond}
	a.Record(0, s)
	b.Record(0, s)
	a.Record(1100*time.Millisecond, s)
	c.Poll()
	if _, ok := c.Latest(); ok {
		t.Fatal("interval 0 sealed while recorder b has not reported")
	}
	b.Record(1200*time.Millisecond, s)
	c.Poll()
	st, ok := c.Latest()
	if !ok || st.Index != 0 || st.Ops != 2 || !st.Complete || st.Throughput != 2 {
		t.Fatalf("Latest = %+v, %v; want interval 0 with 2 ops, complete", st, ok)
	}
}

// TestFlushDeliversPartialInterval: the last, partial interval and the
// slot counts arrive with Flush; the throughput of the last interval uses
// its real length.
func TestFlushDeliversPartialInterval(t *testing.T) {
	var clock fakeClock
	c := newTestCollector(t, &clock)
	r := c.NewRecorder()
	for at := time.Duration(0); at < 1500*time.Millisecond; at += 10 * time.Millisecond {
		r.Record(at, Sample{Latency: 0, Slot: 42, Node: 1, Phase: 1})
	}
	c.Poll()
	if got := len(c.intervals); got != 1 {
		t.Fatalf("before Flush the collector holds %d intervals, want 1", got)
	}
	r.Flush()
	r.Flush() // a second Flush does nothing
	res := c.Result()
	if len(res.Intervals) != 2 || res.Intervals[1].Ops != 50 {
		t.Fatalf("intervals %+v; want the partial one with 50 ops", res.Intervals)
	}
	// 50 ops over the 0.49 s from the interval's start to the last op's end.
	if got, want := res.Intervals[1].Throughput, round3(50/0.49); got != want {
		t.Fatalf("partial interval throughput %v, want %v", got, want)
	}
	if got := res.Intervals[0].Throughput; got != 100 {
		t.Fatalf("full interval throughput %v, want 100", got)
	}
	if res.SlotOps[42] != 150 || res.NodeOps[1] != 150 || len(res.NodeOps) != 2 {
		t.Fatalf("slot 42: %d, nodes %v; want 150 on slot 42 and node 1", res.SlotOps[42], res.NodeOps)
	}
	if res.Unflushed != 0 {
		t.Fatalf("unflushed %d", res.Unflushed)
	}
}

func TestRecordPanics(t *testing.T) {
	var clock fakeClock
	c := newTestCollector(t, &clock)
	r := c.NewRecorder()
	mustPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s: no panic", name)
			}
		}()
		f()
	}
	mustPanic("op out of range", func() { r.Record(0, Sample{Op: 2}) })
	mustPanic("phase out of range", func() { r.Record(0, Sample{Phase: 4}) })
	mustPanic("outcome out of range", func() { r.Record(0, Sample{Outcome: NumOutcomes}) })
	r.Flush()
	mustPanic("after Flush", func() { r.Record(0, Sample{}) })
}

// TestRecorderQueueFull: with the collector's queue full, intervals wait
// in the recorder (never blocking Record) and arrive in order at Flush.
func TestRecorderQueueFull(t *testing.T) {
	var clock fakeClock
	clock.Set(0)
	c, err := NewCollector(Config{Ops: testOps, Phases: testPhases, Now: clock.Now, Start: clock.Now(), QueueSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	r := c.NewRecorder()
	for i := range 5 {
		r.Record(time.Duration(i)*time.Second, Sample{Latency: time.Duration(i+1) * time.Millisecond})
	}
	if r.diag.Deferred != 3 || r.diag.BufferAllocs != 3 {
		t.Fatalf("deferred %d, buffer allocs %d; want 3 and 3", r.diag.Deferred, r.diag.BufferAllocs)
	}
	done := make(chan struct{})
	go func() { r.Flush(); close(done) }()
	ctx, cancel := context.WithCancel(context.Background())
	go c.Run(ctx)
	<-done
	res := c.Result()
	cancel()
	for i, iv := range res.Intervals {
		ref := NewHistogram()
		ref.RecordValue(int64(time.Duration(i+1) * time.Millisecond))
		if iv.Ops != 1 || iv.Latency != LatencyOf(ref) {
			t.Fatalf("interval %d: %+v", i, iv.IntervalStats)
		}
	}
	if len(res.Intervals) != 5 || res.Diag.Deferred != 3 {
		t.Fatalf("%d intervals, deferred %d", len(res.Intervals), res.Diag.Deferred)
	}
}

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"minimal", Config{Ops: []string{"get"}, Phases: []string{"run"}}, true},
		{"no ops", Config{Phases: []string{"run"}}, false},
		{"no phases", Config{Ops: []string{"get"}}, false},
		{"repeated op", Config{Ops: []string{"get", "get"}, Phases: []string{"run"}}, false},
		{"empty phase name", Config{Ops: []string{"get"}, Phases: []string{""}}, false},
		{"negative interval", Config{Ops: []string{"get"}, Phases: []string{"run"}, Interval: -1}, false},
	}
	for _, tt := range tests {
		_, err := NewCollector(tt.cfg)
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v", tt.name, err)
		}
		if err != nil && !errors.Is(err, ErrConfig) {
			t.Errorf("%s: error %v does not wrap ErrConfig", tt.name, err)
		}
	}
}

// allocsPerCall measures heap allocations of f like testing.AllocsPerRun,
// but lets between run outside the measurement (the collector's merge,
// which hands spare buffers back).
func allocsPerCall(runs int, between, f func()) float64 {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var total uint64
	var ms runtime.MemStats
	for range runs {
		between()
		runtime.ReadMemStats(&ms)
		before := ms.Mallocs
		f()
		runtime.ReadMemStats(&ms)
		total += ms.Mallocs - before
	}
	return float64(total) / float64(runs)
}

// TestRecordDoesNotAllocate: Record allocates nothing once the combination
// is warm, neither within an interval nor when it rotates to a spare buffer.
func TestRecordDoesNotAllocate(t *testing.T) {
	var clock fakeClock
	c := newTestCollector(t, &clock)
	r := c.NewRecorder()
	s := Sample{Latency: 85 * time.Microsecond, Slot: 1234, Node: 2, Op: 1, Phase: 2, Outcome: OKAfterMoved, Moved: 1}
	at := time.Duration(0)
	// Warm up: both buffers meet the combination and the node index.
	for range 4 {
		r.Record(at, s)
		at += time.Second
		c.Poll()
	}
	if n := testing.AllocsPerRun(1000, func() {
		r.Record(at, s)
		at += time.Microsecond
	}); n != 0 {
		t.Errorf("Record within an interval: %v allocs, want 0", n)
	}
	if n := allocsPerCall(50, func() { c.Poll() }, func() {
		at += time.Second
		r.Record(at, s) // rotates
	}); n != 0 {
		t.Errorf("Record with rotation: %v allocs, want 0", n)
	}
	if r.diag.BufferAllocs != 0 {
		t.Errorf("buffer allocs %d, want 0", r.diag.BufferAllocs)
	}
}

// TestRecordersRace runs several recorders against Run and a status-line
// reader; run with -race.
func TestRecordersRace(t *testing.T) {
	c, err := NewCollector(Config{Ops: testOps, Phases: testPhases, Interval: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Run(ctx)
	stopStatus := make(chan struct{})
	var statusDone sync.WaitGroup
	statusDone.Go(func() {
		for {
			select {
			case <-stopStatus:
				return
			default:
			}
			c.Latest()
			time.Sleep(time.Millisecond)
		}
	})
	const workers, perWorker = 4, 2000
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		r := c.NewRecorder()
		wg.Go(func() {
			for i := range perWorker {
				r.Record(time.Since(start), Sample{Latency: time.Duration(i) * time.Microsecond, Slot: uint16(i), Node: uint16(w), Op: uint8(i % 2)})
				if i%200 == 0 {
					time.Sleep(2 * time.Millisecond)
				}
			}
			r.Flush()
		})
	}
	wg.Wait()
	close(stopStatus)
	statusDone.Wait()
	res := c.Result()
	if res.Totals.Ops != workers*perWorker || res.Unflushed != 0 {
		t.Fatalf("ops %d, unflushed %d", res.Totals.Ops, res.Unflushed)
	}
	var sum int64
	for _, iv := range res.Intervals {
		sum += iv.Ops
	}
	if sum != workers*perWorker || len(res.Intervals) < 5 {
		t.Fatalf("%d intervals hold %d ops, want %d ops over at least 5", len(res.Intervals), sum, workers*perWorker)
	}
}

// TestHistogramMemory documents the memory per histogram behind the choice
// of nanoseconds (see HistogramLowest).
func TestHistogramMemory(t *testing.T) {
	ns := NewHistogram().ByteSize()
	us := hdr.New(1, int64(60*time.Second/time.Microsecond), 3).ByteSize()
	t.Logf("bytes per histogram: ns 1..60e9 = %d, µs 1..60e6 = %d", ns, us)
	if ns > 230_000 || us > ns {
		t.Fatalf("histogram sizes changed: ns %d, µs %d", ns, us)
	}
}
