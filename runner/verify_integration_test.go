package runner_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/clusterbench/clusterbench/cluster"
	"github.com/clusterbench/clusterbench/internal/redistest"
	"github.com/clusterbench/clusterbench/metrics"
	"github.com/clusterbench/clusterbench/runner"
	"github.com/clusterbench/clusterbench/workload"
)

// verifyConfig is a short run on a fresh local cluster with --verify.
func verifyConfig(t *testing.T, prefix string, keys int, dist workload.Dist, mix, migrate string) runner.Config {
	t.Helper()
	wc := workload.DefaultConfig()
	wc.Keys, wc.Prefix, wc.Dist, wc.TagGroup = keys, prefix, dist, 4
	m, err := workload.ParseMix(mix)
	if err != nil {
		t.Fatal(err)
	}
	wc.Mix = m
	sc, err := cluster.ParseScenario(migrate)
	if err != nil {
		t.Fatal(err)
	}
	return runner.Config{
		Profile: "verify", Strategies: []string{"router"}, Duration: 3 * time.Second, Warmup: 500 * time.Millisecond,
		Workers: 16, Pipeline: 1, Workload: wc, Migrate: sc, MigrateAt: 500 * time.Millisecond, MigrateSlotsInFlight: 8,
		Masters: 3, Out: t.TempDir(), Verify: true,
	}
}

// TestVerifyHotKeysMigrationIntegration: 16 workers hammer 1000 keys
// (zipf), so writes of the hot keys overlap all the time, while 1000
// slots move. A correct cluster must come out clean: the rule must not mistake
// overlapping writes for stale reads.
func TestVerifyHotKeysMigrationIntegration(t *testing.T) {
	redistest.RequireServer(t)
	cfg := verifyConfig(t, "vh", 1000, workload.DistZipf, "get:40,set:40,mget:5,mset:5,incr:10", "move:1000")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := runner.Run(ctx, cfg, runner.Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	sr := rep.Strategies[0]
	v := sr.Verify
	if v == nil {
		t.Fatal("no verify result")
	}
	t.Logf("ops=%d moved=%d ask=%d slots=%d: reads=%d stale=%d writes=%d lost=%d keys=%d",
		sr.Result.Totals.Ops, sr.Server.Moved, sr.Server.Ask, sr.Migration.Slots, v.ReadsChecked, v.StaleReads, v.WritesChecked, v.LostWrites, v.KeysChecked)
	if sr.Migration.Slots != 1000 || sr.Server.Ask+sr.Server.Moved == 0 {
		t.Errorf("migration moved %d slots with %d redirects: want 1000 slots under load", sr.Migration.Slots, sr.Server.Ask+sr.Server.Moved)
	}
	if !v.Clean() || v.Error != "" {
		t.Errorf("verify: %d stale reads, %d lost writes (%q) on a correct cluster: %v", v.StaleReads, v.LostWrites, v.Error, v.Examples)
	}
	// Every read is checked, MGET's included, but those that failed.
	if v.UncheckedReads > sr.Result.Totals.ErrorCount() {
		t.Errorf("%d reads unchecked with %d errors: every read that succeeds must be checked", v.UncheckedReads, sr.Result.Totals.ErrorCount())
	}
	if v.ReadsChecked < 1000 || v.WritesChecked < 1000 {
		t.Errorf("verify checked %d reads, %d writes: too few to mean anything", v.ReadsChecked, v.WritesChecked)
	}
	if ph := v.Phases["migrating"]; ph.ReadsChecked == 0 || ph.WritesChecked == 0 {
		t.Errorf("migrating phase: %+v: want reads and writes checked while slots moved", ph)
	}
}

// vandal deletes some keys and puts old, unversioned values into others
// behind the tool's back, every few milliseconds, until stopped.
type vandal struct {
	deleted, rewritten []string
	stop               chan struct{}
	wg                 sync.WaitGroup
}

func startVandal(t *testing.T, l *cluster.Local, ks workload.KeySpace) *vandal {
	v := &vandal{stop: make(chan struct{})}
	for i := uint64(0); i < 10; i++ {
		v.deleted = append(v.deleted, string(ks.AppendKey(nil, i)))
		v.rewritten = append(v.rewritten, string(ks.AppendKey(nil, 10+i)))
	}
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: l.MasterAddrs(), DisableCache: true})
	if err != nil {
		t.Errorf("vandal: %v", err)
		return v
	}
	v.wg.Add(1)
	go func() {
		defer v.wg.Done()
		defer c.Close()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		ctx := context.Background()
		for {
			select {
			case <-v.stop:
				return
			case <-tick.C:
			}
			cmds := make(rueidis.Commands, 0, 2*len(v.deleted))
			for i := range v.deleted {
				cmds = append(cmds, c.B().Del().Key(v.deleted[i]).Build(),
					c.B().Set().Key(v.rewritten[i]).Value("an old value without a version").Build())
			}
			c.DoMulti(ctx, cmds...) // errors (a key mid-move) do not matter
		}
	}()
	return v
}

func (v *vandal) close() {
	select {
	case <-v.stop:
	default:
		close(v.stop)
	}
	v.wg.Wait()
}

// TestVerifyCatchesLostWritesIntegration deletes keys and rewrites others
// with old values behind the tool's back during a run with a migration:
// --verify must report lost writes and stale reads, name only the keys
// that were tampered with, and write them to summary.json and report.md.
func TestVerifyCatchesLostWritesIntegration(t *testing.T) {
	redistest.RequireServer(t)
	cfg := verifyConfig(t, "vl", 400, workload.DistUniform, "get:50,set:50", "move:200")
	ks := cfg.Workload.KeySpace()
	var v *vandal
	hooks := runner.Hooks{OnLocal: func(l *cluster.Local) func() {
		v = startVandal(t, l, ks)
		return v.close
	}}
	t.Cleanup(func() {
		if v != nil {
			v.close()
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := runner.Run(ctx, cfg, hooks)
	if err != nil {
		t.Fatal(err)
	}
	res := rep.Strategies[0].Verify
	if res == nil {
		t.Fatal("no verify result")
	}
	t.Logf("reads=%d stale=%d writes=%d lost=%d phases=%+v examples=%q", res.ReadsChecked, res.StaleReads, res.WritesChecked, res.LostWrites, res.Phases, res.Examples)
	if res.LostWrites == 0 || res.StaleReads == 0 {
		t.Errorf("verify missed the tampering: %d lost writes, %d stale reads", res.LostWrites, res.StaleReads)
	}
	if res.LostWrites > 20 {
		t.Errorf("%d lost writes, but only 20 keys were tampered with", res.LostWrites)
	}
	tampered := append(append([]string(nil), v.deleted...), v.rewritten...)
	for _, e := range res.Examples {
		named := false
		for _, k := range tampered {
			named = named || strings.Contains(e, " "+k+" ")
		}
		if !named {
			t.Errorf("finding %q names no tampered key", e)
		}
	}
	var sum metrics.VerifyPhase
	for _, p := range res.Phases {
		sum.ReadsChecked += p.ReadsChecked
		sum.StaleReads += p.StaleReads
		sum.WritesChecked += p.WritesChecked
		sum.LostWrites += p.LostWrites
	}
	if sum != (metrics.VerifyPhase{ReadsChecked: res.ReadsChecked, StaleReads: res.StaleReads, WritesChecked: res.WritesChecked, LostWrites: res.LostWrites}) {
		t.Errorf("phases add up to %+v, totals are %+v", sum, res)
	}

	if err := runner.WriteOutputs(rep, cfg.Out); err != nil {
		t.Fatal(err)
	}
	s, err := metrics.ReadSummaryJSON(filepath.Join(cfg.Out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Strategies[0].Verify; got == nil || got.LostWrites != res.LostWrites || got.StaleReads != res.StaleReads {
		t.Errorf("summary.json verify = %+v, want the run's", got)
	}
	md, err := os.ReadFile(filepath.Join(cfg.Out, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "## Verify") || !strings.Contains(string(md), "FAILED") {
		t.Errorf("report.md has no failed verify section:\n%s", md)
	}
	var table strings.Builder
	if err := runner.RenderTable(&table, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "lost writes") || !strings.Contains(table.String(), "FAILED") {
		t.Errorf("terminal table has no failed verify rows:\n%s", table.String())
	}
}
