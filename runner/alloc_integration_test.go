package runner

import (
	"context"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/clusterbench/clusterbench/cluster"
	"github.com/clusterbench/clusterbench/internal/redistest"
	"github.com/clusterbench/clusterbench/metrics"
	"github.com/clusterbench/clusterbench/strategy"
	"github.com/clusterbench/clusterbench/workload"
)

// TestPerOpPathAllocatesNothingIntegration measures the whole per-op path
// of an own strategy against a real cluster: key generation, slot hashing,
// slot-map lookup, the RESP round trip, classification and recording.
func TestPerOpPathAllocatesNothingIntegration(t *testing.T) {
	redistest.RequireServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l, err := cluster.StartLocal(ctx, cluster.LocalConfig{Masters: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Stop()

	for _, tc := range []struct {
		name string
		mix  string
		tags int
	}{
		{"get-set", "get:80,set:20", 0},
		{"incr-del", "incr:50,del:50", 0},
		{"mget-mset", "mget:50,mset:50", 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wc := workload.DefaultConfig()
			wc.Keys, wc.Prefix, wc.TagGroup = 2000, "alloc", tc.tags
			if wc.Mix, err = workload.ParseMix(tc.mix); err != nil {
				t.Fatal(err)
			}
			w := newAllocWorker(t, ctx, l.MasterAddrs(), wc, nil)
			// Warm up: connections to every node, every histogram combination.
			for range 5000 {
				w.one(ctx, time.Now())
			}
			allocs := testing.AllocsPerRun(3000, func() { w.one(ctx, time.Now()) })
			if allocs != 0 {
				t.Fatalf("one op allocates %v times on average, want 0", allocs)
			}
			// --pipeline 16: a batch over every node.
			w.pipe = newPipelineState(16)
			bw := w.client.(strategy.BatchWorker)
			for range 300 {
				w.oneBatch(ctx, bw, time.Now())
			}
			allocs = testing.AllocsPerRun(300, func() { w.oneBatch(ctx, bw, time.Now()) })
			if allocs != 0 {
				t.Fatalf("one batch of 16 allocates %v times on average, want 0", allocs)
			}
		})
	}
}

// newAllocWorker preloads wc's keyspace into the cluster at seeds and
// returns one worker of the router strategy over it, recording into a
// collector, with v's verification when v is set. Everything it opens is
// closed when the test ends.
func newAllocWorker(t *testing.T, ctx context.Context, seeds []string, wc workload.Config, v *verifier) *worker {
	t.Helper()
	wl, err := workload.New(wc)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: seeds, DisableCache: true})
	if err != nil {
		t.Fatal(err)
	}
	err = Preload(ctx, rc, wl, 2, nil)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, err := strategy.New(ctx, "router", strategy.Config{Seeds: seeds})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	col, err := metrics.NewCollector(metrics.Config{Ops: opNames, Phases: phaseNames, Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	cw, err := s.NewWorker(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cw.Close() })
	ck := &clock{t0: time.Now()}
	ck.phase.Store(phaseBaseline)
	w := &worker{gen: wl.Generator(0), client: cw, rec: col.NewRecorder(), clock: ck,
		nodes: newNodeIndex(), workers: 1, seen: map[string]uint16{}}
	if v != nil {
		w.ver = v.worker(cw)
	}
	return w
}
