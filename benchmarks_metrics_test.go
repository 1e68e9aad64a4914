package clusterbench_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/metrics"
)

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
