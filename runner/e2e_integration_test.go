package runner_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/clusterbench/clusterbench/cluster"
	"github.com/clusterbench/clusterbench/internal/redistest"
	"github.com/clusterbench/clusterbench/metrics"
	"github.com/clusterbench/clusterbench/runner"
	"github.com/clusterbench/clusterbench/strategy"
	"github.com/clusterbench/clusterbench/workload"
)

const e2eKeys = 40000 // ~2.4 keys per slot: enough that ops hit slots mid-migration (ASK)

// keysReadable checks that every key of the keyspace is still there.
func keysReadable(ctx context.Context, name string, seeds []string) error {
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: seeds, DisableCache: true})
	if err != nil {
		return err
	}
	defer c.Close()
	ks := workload.KeySpace{Keys: e2eKeys, Prefix: "e2e"}
	cmds := make(rueidis.Commands, 0, e2eKeys)
	for n := uint64(0); n < e2eKeys; n++ {
		cmds = append(cmds, c.B().Exists().Key(string(ks.AppendKey(nil, n))).Build())
	}
	missing := 0
	for _, r := range c.DoMulti(ctx, cmds...) {
		if n, err := r.AsInt64(); err != nil || n != 1 {
			missing++
		}
	}
	if missing > 0 {
		return fmt.Errorf("%s: %d of %d keys unreadable after the run", name, missing, e2eKeys)
	}
	return nil
}

// TestScaleOutEveryStrategyIntegration is the proof of the run command: a
// short scale-out under load, with every strategy built so far, on a
// fresh local cluster each.
func TestScaleOutEveryStrategyIntegration(t *testing.T) {
	redistest.RequireServer(t)
	wc := workload.DefaultConfig()
	wc.Keys, wc.Prefix, wc.Dist = e2eKeys, "e2e", workload.DistUniform
	scenario, err := cluster.ParseScenario("scale-out")
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"router", "unaware", "stale", "rueidis", "goredis", "radix"}
	for _, n := range names {
		if !strategy.Exists(n) {
			t.Fatalf("strategy %s missing", n)
		}
	}
	cfg := runner.Config{
		Profile: "e2e", Strategies: names, Duration: 14 * time.Second, Warmup: time.Second,
		Workers: 4, Pipeline: 1, Workload: wc, Migrate: scenario, MigrateAt: time.Second,
		MigrateSlotsInFlight: 16, Masters: 3, Out: t.TempDir(),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rep, err := runner.Run(ctx, cfg, runner.Hooks{AfterStrategy: keysReadable})
	if err != nil {
		t.Fatal(err)
	}
	if err := runner.WriteOutputs(rep, cfg.Out); err != nil {
		t.Fatal(err)
	}
	by := map[string]*runner.StrategyRun{}
	for _, sr := range rep.Strategies {
		by[sr.Name] = sr
		tot := sr.Result.Totals
		t.Logf("%-8s ops=%d errors=%d client moved=%d ask=%d server moved=%d ask=%d topology=%d slots moved=%d in %v",
			sr.Name, tot.Ops, tot.ErrorCount(), sr.Client.Moved, sr.Client.Ask, sr.Server.Moved, sr.Server.Ask,
			sr.Server.TopologyCalls().Total, sr.Migration.Slots, sr.Migration.Duration)
		if sr.MigrationErr != nil {
			t.Errorf("%s: migration: %v", sr.Name, sr.MigrationErr)
		}
		if sr.Migration.Slots != 4096 {
			t.Errorf("%s: scale-out moved %d slots, want 4096", sr.Name, sr.Migration.Slots)
		}
		if tot.Ops == 0 {
			t.Errorf("%s: no ops", sr.Name)
		}
	}
	// timeline.csv splits the servers' redirects over the intervals: for
	// every strategy, libraries included, they add up to the run's totals.
	f, err := os.Open(filepath.Join(cfg.Out, "timeline.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := metrics.ReadTimelineCSV(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	perInterval := map[string][2]int64{}
	for _, r := range rows {
		v := perInterval[r.Strategy]
		perInterval[r.Strategy] = [2]int64{v[0] + r.ServerMoved, v[1] + r.ServerAsk}
	}
	for _, sr := range rep.Strategies {
		if got := perInterval[sr.Name]; got != [2]int64{sr.Server.Moved, sr.Server.Ask} {
			t.Errorf("%s: timeline.csv's server MOVED/ASK add up to %d/%d, the run's to %d/%d", sr.Name, got[0], got[1], sr.Server.Moved, sr.Server.Ask)
		}
	}
	rt, un, st := by["router"], by["unaware"], by["stale"]
	if n := rt.Result.Totals.ErrorCount(); n != 0 {
		t.Errorf("router: %d errors, want 0 (by class %v)", n, rt.Result.Totals.Errors)
	}
	if rt.Server.Moved == 0 || rt.Server.Ask == 0 {
		t.Errorf("router: server saw MOVED %d, ASK %d: want both during a scale-out under load", rt.Server.Moved, rt.Server.Ask)
	}
	for _, sr := range []*runner.StrategyRun{rt, un, st} {
		if sr.Client.Moved != sr.Server.Moved || sr.Client.Ask != sr.Server.Ask {
			t.Errorf("%s: client MOVED/ASK %d/%d, servers %d/%d: must agree", sr.Name,
				sr.Client.Moved, sr.Client.Ask, sr.Server.Moved, sr.Server.Ask)
		}
	}
	if un.Server.Moved+un.Server.Ask <= rt.Server.Moved+rt.Server.Ask {
		t.Errorf("unaware paid %d redirects, router %d: unaware must pay more",
			un.Server.Moved+un.Server.Ask, rt.Server.Moved+rt.Server.Ask)
	}
	// After the migration: stale keeps paying, router has stopped.
	after := func(sr *runner.StrategyRun) int64 {
		for _, p := range sr.Result.PhaseResults {
			if p.Name == "after" {
				return p.Moved + p.Ask
			}
		}
		t.Fatalf("%s: no after phase (migration too slow for the run?)", sr.Name)
		return 0
	}
	lastSecond := func(sr *runner.StrategyRun) int64 {
		iv := sr.Result.Intervals
		if len(iv) < 2 {
			t.Fatalf("%s: %d intervals", sr.Name, len(iv))
		}
		last := iv[len(iv)-2] // the last complete interval
		return last.Moved + last.Ask
	}
	if after(st) == 0 || lastSecond(st) == 0 {
		t.Errorf("stale: %d redirects after the migration, %d in its last second: want it to keep paying", after(st), lastSecond(st))
	}
	if lastSecond(rt) != 0 {
		t.Errorf("router: %d redirects in its last second: want none once the map is learnt", lastSecond(rt))
	}
}
