package clusterbench_test

// The hot-path benchmark suite, one section per concern. Every benchmark
// reports allocations and uses b.Loop; sub-benchmark names are key=value so
// benchstat can group them (e.g. -col /impl to put fast next to classic).

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/internal/crc16ref"
	"github.com/clusterbench/clusterbench/internal/pace"
	"github.com/clusterbench/clusterbench/metrics"
	"github.com/clusterbench/clusterbench/router"
	"github.com/clusterbench/clusterbench/workload"
)

// ---------------------------------------------------------------------------
// Slot hashing (router.Slot, router.SlotString, router.CRC16)
//
// impl=classic is the one-byte-table CRC16 of redis' crc16.c with a byte loop
// for the hash tag (internal/crc16ref): the baseline the fast code must beat
// in the same run.
// ---------------------------------------------------------------------------

// benchKeyLens are the key lengths benchmarked; real keys are mostly 8–64 bytes.
var benchKeyLens = []int{1, 2, 4, 8, 16, 32, 64}

var sinkSlot uint16

// benchKey returns a deterministic key of exactly n bytes. With tag, the key
// holds a hash tag of n/2 bytes in its middle (8 bytes: "a{bcde}f"), so the hashed
// part is about half the key; without, it has no braces at all. Tagged keys
// need n >= 4 ("{xy}") and benchKey reports false for shorter ones.
func benchKey(n int, tag bool) ([]byte, bool) {
	if tag && n < 4 {
		return nil, false
	}
	r := rand.New(rand.NewPCG(uint64(n), 42))
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789:_-"
	key := make([]byte, n)
	for i := range key {
		key[i] = alphabet[r.IntN(len(alphabet))]
	}
	if tag {
		tagLen := n / 2
		open := (n - tagLen - 2) / 2
		key[open] = '{'
		key[open+1+tagLen] = '}'
	}
	return key, true
}

// forEachSlotCase runs fn as sub-benchmarks keylen=N/tag=yes|no.
func forEachSlotCase(b *testing.B, fn func(b *testing.B, key []byte)) {
	for _, n := range benchKeyLens {
		for _, tag := range []bool{false, true} {
			key, ok := benchKey(n, tag)
			if !ok {
				continue
			}
			name := fmt.Sprintf("keylen=%d/tag=%s", n, yesNo(tag))
			b.Run(name, func(b *testing.B) { fn(b, key) })
		}
	}
}

func yesNo(v bool) string {
	if v {
		return "yes"
	}
	return "no"
}

// BenchmarkSlot compares the fast slot function with the classic baseline.
// impl is the innermost level so that both run back to back for each key:
// on a shared, noisy machine that keeps their ratio honest. Both are called
// directly, as callers do, not through a func value.
func BenchmarkSlot(b *testing.B) {
	forEachSlotCase(b, func(b *testing.B, key []byte) {
		b.Run("impl=fast", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(key)))
			var s uint16
			for b.Loop() {
				s += router.Slot(key)
			}
			sinkSlot = s
		})
		b.Run("impl=classic", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(key)))
			var s uint16
			for b.Loop() {
				s += crc16ref.Slot(key)
			}
			sinkSlot = s
		})
	})
}

// BenchmarkSlotString is the string entry point; it must cost the same as
// Slot (no copy of the key).
func BenchmarkSlotString(b *testing.B) {
	forEachSlotCase(b, func(b *testing.B, key []byte) {
		skey := string(key)
		b.ReportAllocs()
		b.SetBytes(int64(len(skey)))
		var s uint16
		for b.Loop() {
			s += router.SlotString(skey)
		}
		sinkSlot = s
	})
}

// BenchmarkCRC16 is the checksum alone, over longer inputs too, to show the
// per-byte throughput of both implementations.
func BenchmarkCRC16(b *testing.B) {
	impls := []struct {
		name string
		crc  func([]byte) uint16
	}{
		{"fast", router.CRC16},
		{"classic", crc16ref.Checksum},
	}
	for _, n := range []int{8, 32, 256, 1024} {
		key, _ := benchKey(n, false)
		for _, impl := range impls {
			b.Run(fmt.Sprintf("size=%d/impl=%s", n, impl.name), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(n))
				var s uint16
				for b.Loop() {
					s += impl.crc(key)
				}
				sinkSlot = s
			})
		}
	}
}

// ---------------------------------------------------------------------------
// Slot map lookup and redirect parsing (router.SlotMap, router.ParseRedirect)
// ---------------------------------------------------------------------------

// benchShards is a 3-master cluster with the default even split.
func benchShards() []router.Shard {
	return []router.Shard{
		{Slots: []router.SlotRange{{First: 0, Last: 5460}}, Nodes: []router.ShardNode{{Addr: "127.0.0.1:7000", Role: "master"}}},
		{Slots: []router.SlotRange{{First: 5461, Last: 10922}}, Nodes: []router.ShardNode{{Addr: "127.0.0.1:7001", Role: "master"}}},
		{Slots: []router.SlotRange{{First: 10923, Last: 16383}}, Nodes: []router.ShardNode{{Addr: "127.0.0.1:7002", Role: "master"}}},
	}
}

var (
	sinkInt      int
	sinkCount    atomic.Int64
	sinkRedirect router.Redirect
	sinkMap      *router.SlotMap
)

// BenchmarkSlotMapLookup is the per-command routing cost: load the current
// snapshot and read the owner of a slot. Slots walk the whole range so the
// owner array is read everywhere, as with a uniform key distribution.
func BenchmarkSlotMapLookup(b *testing.B) {
	var m router.AtomicSlotMap
	m.Store(router.NewSlotMap(benchShards()))
	b.Run("mode=sequential", func(b *testing.B) {
		b.ReportAllocs()
		slot, found := uint16(0), 0
		for b.Loop() {
			addr, ok := m.Load().Lookup(slot)
			if ok {
				found += len(addr)
			}
			slot = (slot + 7919) & (router.NumSlots - 1)
		}
		sinkInt = found
	})
	b.Run("mode=parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			slot, found := uint16(0), 0
			for pb.Next() {
				addr, ok := m.Load().Lookup(slot)
				if ok {
					found += len(addr)
				}
				slot = (slot + 7919) & (router.NumSlots - 1)
			}
			sinkCount.Add(int64(found))
		})
	})
}

// BenchmarkParseRedirect is the cost of classifying an error reply.
func BenchmarkParseRedirect(b *testing.B) {
	for _, c := range []struct{ kind, msg string }{
		{"moved", "MOVED 3999 127.0.0.1:6381"},
		{"ask", "ASK 3999 127.0.0.1:6381"},
		{"tryagain", "TRYAGAIN Multiple keys request during rehashing of slot"},
		{"other", "WRONGTYPE Operation against a key holding the wrong kind of value"},
	} {
		b.Run("kind="+c.kind, func(b *testing.B) {
			b.ReportAllocs()
			var r router.Redirect
			n := 0
			for b.Loop() {
				r = router.ParseRedirect(c.msg)
				n += int(r.Kind) + len(r.Addr)
			}
			sinkInt, sinkRedirect = n, r
		})
	}
}

// BenchmarkSlotMapWithSlot is the cost of patching the map after a MOVED
// (a copy of the 32 KiB owner array). Alternating targets make every call
// a real change.
func BenchmarkSlotMapWithSlot(b *testing.B) {
	m := router.NewSlotMap(benchShards())
	targets := [2]string{"127.0.0.1:7001", "127.0.0.1:7002"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		m = m.WithSlot(100, targets[i&1])
		i++
	}
	sinkMap = m
}

// ---------------------------------------------------------------------------
// Key generation (workload.Generator.Next)
// ---------------------------------------------------------------------------

var (
	sinkWorkloadKey []byte
	sinkWorkloadOp  workload.Op
)

// BenchmarkKeyGen is the per-op cost of the workload: Generator.Next (op
// draw, key draw, key formatting) into a reused buffer, for every
// distribution, without and with hash-tag groups, at the default keyspace.
func BenchmarkKeyGen(b *testing.B) {
	dists := []workload.Dist{
		workload.DistUniform, workload.DistZipf, workload.DistHotspot,
		workload.DistSequential, workload.DistLatest, workload.DistGaussian,
	}
	for _, d := range dists {
		for _, tag := range []struct {
			name  string
			group int
		}{{"no", 0}, {"yes", 8}} {
			b.Run("dist="+d.String()+"/tag="+tag.name, func(b *testing.B) {
				c := workload.DefaultConfig()
				c.Dist, c.TagGroup = d, tag.group
				w, err := workload.New(c)
				if err != nil {
					b.Fatal(err)
				}
				g := w.Generator(0)
				buf := make([]byte, 0, 64)
				b.ReportAllocs()
				for b.Loop() {
					sinkWorkloadOp, buf = g.Next(buf[:0])
				}
				sinkWorkloadKey = buf
			})
		}
	}
}

// BenchmarkKeyGenRestricted is Next for a --pin-workers worker on one of
// three masters: about two draws in three are rejected (here by a filter as
// cheap as the runner's bit test) before a key is formatted.
func BenchmarkKeyGenRestricted(b *testing.B) {
	c := workload.DefaultConfig()
	c.Dist = workload.DistUniform
	w, err := workload.New(c)
	if err != nil {
		b.Fatal(err)
	}
	g := w.Generator(0)
	g.Restrict(func(_ workload.Op, n uint64) bool { return n%3 == 0 })
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		sinkWorkloadOp, buf = g.Next(buf[:0])
	}
	sinkWorkloadKey = buf
}

// ---------------------------------------------------------------------------
// Histogram recording (metrics.Recorder, metrics.Collector)
//
// Record is on every operation of every worker: it must stay a few
// nanoseconds and allocate nothing. Rotation (an interval handed to the
// collector) happens once per interval per worker; the merge runs in the
// collector's goroutine, off the workers' path.
// ---------------------------------------------------------------------------

var benchMetricsOps = []string{"get", "set", "del", "incr", "mget", "mset"}
var benchMetricsPhases = []string{"warmup", "baseline", "migrating", "after"}

func newBenchCollector(b *testing.B) *metrics.Collector {
	b.Helper()
	c, err := metrics.NewCollector(metrics.Config{Ops: benchMetricsOps, Phases: benchMetricsPhases})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkRecord is the steady-state cost of one Record within an
// interval, for latencies of several magnitudes (the histogram bucket
// index is computed from the value).
func BenchmarkRecord(b *testing.B) {
	for _, lat := range []time.Duration{time.Microsecond, 100 * time.Microsecond, 10 * time.Millisecond, time.Second} {
		b.Run("latency="+lat.String(), func(b *testing.B) {
			c := newBenchCollector(b)
			r := c.NewRecorder()
			s := metrics.Sample{Latency: lat, Op: 1, Phase: 1, Node: 2}
			r.Record(0, s) // warm the combination
			var at time.Duration
			slot := uint16(0)
			b.ReportAllocs()
			for b.Loop() {
				s.Slot = slot
				r.Record(at, s)
				slot = (slot + 7919) & (metrics.NumSlots - 1)
				at++ // stays in interval 0 for a billion operations
			}
		})
	}
}

// BenchmarkRecordWithRotation is Record's amortized cost when every
// ops_per_interval-th operation starts a new interval, handing the old one
// to the collector, which runs in its own goroutine as in a real run and
// sends the buffers back. (A worker doing 50k ops/s with 1 s intervals is
// ops_per_interval=50000.) Allocations show if the collector cannot keep up.
func BenchmarkRecordWithRotation(b *testing.B) {
	for _, per := range []int{1000, 10000, 100000} {
		b.Run(fmt.Sprintf("ops_per_interval=%d", per), func(b *testing.B) {
			c := newBenchCollector(b)
			r := c.NewRecorder()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go c.Run(ctx)
			s := metrics.Sample{Latency: 85 * time.Microsecond, Op: 0, Phase: 1}
			at := time.Duration(0)
			step := time.Second / time.Duration(per)
			for range 3 * per { // both buffers meet the combination
				r.Record(at, s)
				at += step
			}
			b.ReportAllocs()
			for b.Loop() {
				r.Record(at, s)
				at += step
			}
		})
	}
}

// BenchmarkMerge is the collector's cost per interval: merging the
// intervals of several recorders (1000 operations each, latencies over
// two decades and three outcomes) and sealing the interval (the
// cumulative merge, percentiles and the compressed encodings kept for the
// .hlog). Recording is outside the timer.
func BenchmarkMerge(b *testing.B) {
	for _, recorders := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("recorders=%d", recorders), func(b *testing.B) {
			c := newBenchCollector(b)
			recs := make([]*metrics.Recorder, recorders)
			for i := range recs {
				recs[i] = c.NewRecorder()
			}
			at := time.Duration(0)
			fill := func() {
				for i, r := range recs {
					for k := range 1000 {
						r.Record(at, metrics.Sample{
							Latency: time.Duration(20_000 + (k*7919+i*104729)%2_000_000),
							Op:      uint8(k % 2),
							Phase:   1,
							Outcome: metrics.Outcome(k % 3),
						})
					}
				}
				at += time.Second
				for _, r := range recs {
					r.Record(at, metrics.Sample{Latency: time.Microsecond, Phase: 1}) // hand the interval over
				}
			}
			fill()
			c.Poll()
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				fill()
				b.StartTimer()
				if got := c.Poll(); got != recorders {
					b.Fatalf("merged %d intervals, want %d", got, recorders)
				}
			}
		})
	}
}

// ---------------------------------------------------------------------------
// Open-loop pacing (internal/pace)
//
// An open-loop op's latency counts from its intended start, so how late a
// worker wakes for it is part of every figure. late-µs/op is the mean
// lateness of a 300 µs wait in an otherwise idle process, with the
// worker's timerfd and with a runtime timer.
// ---------------------------------------------------------------------------

func BenchmarkOpenLoopWait(b *testing.B) {
	const wait = 300 * time.Microsecond
	b.Run("impl=timerfd", func(b *testing.B) {
		w := pace.New(context.Background())
		defer w.Close()
		var late time.Duration
		b.ReportAllocs()
		for b.Loop() {
			at := time.Now().Add(wait)
			w.Until(at)
			late += time.Since(at)
		}
		b.ReportMetric(float64(late.Microseconds())/float64(b.N), "late-µs/op")
	})
	b.Run("impl=runtime-timer", func(b *testing.B) {
		t := time.NewTimer(time.Hour)
		defer t.Stop()
		var late time.Duration
		b.ReportAllocs()
		for b.Loop() {
			at := time.Now().Add(wait)
			t.Reset(time.Until(at))
			<-t.C
			late += time.Since(at)
		}
		b.ReportMetric(float64(late.Microseconds())/float64(b.N), "late-µs/op")
	})
}
