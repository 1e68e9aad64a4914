package runner_test

import (
	"context"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/internal/redistest"
	"github.com/clusterbench/clusterbench/runner"
	"github.com/clusterbench/clusterbench/workload"
)

// With --pin-workers, two workers on three masters load exactly two of
// them, and only with keys of those masters' slots; without it the same two
// workers reach all three.
func TestPinWorkersIntegration(t *testing.T) {
	redistest.RequireServer(t)
	for _, pin := range []bool{true, false} {
		wc := workload.DefaultConfig()
		wc.Keys, wc.Prefix, wc.Dist = 3000, "pin", workload.DistUniform
		cfg := runner.Config{
			Profile: "pin", Strategies: []string{"router"}, Duration: 1500 * time.Millisecond, Warmup: 200 * time.Millisecond,
			Workers: 2, Pipeline: 4, PinWorkers: pin, Workload: wc, Masters: 3, Out: t.TempDir(),
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		rep, err := runner.Run(ctx, cfg, runner.Hooks{})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		sr := rep.Strategies[0]
		loaded := map[string]bool{}
		for i, n := range sr.Result.NodeOps {
			if n > 0 {
				loaded[sr.Nodes[i]] = true
			}
		}
		owners := map[int]bool{}
		for slot, n := range sr.Result.SlotOps {
			if n > 0 {
				owners[sr.SlotOwner[slot]] = true
			}
		}
		want := 2
		if !pin {
			want = 3
		}
		t.Logf("pin=%v: %d ops, nodes with ops %v, masters owning the slots used %v", pin, sr.Result.Totals.Ops, loaded, owners)
		if sr.Result.Totals.Ops == 0 || sr.Result.Totals.ErrorCount() != 0 {
			t.Fatalf("pin=%v: %d ops, %d errors", pin, sr.Result.Totals.Ops, sr.Result.Totals.ErrorCount())
		}
		if len(loaded) != want || len(owners) != want {
			t.Errorf("pin=%v: ops reached %d nodes, on the slots of %d masters; want %d and %d", pin, len(loaded), len(owners), want, want)
		}
	}
}
