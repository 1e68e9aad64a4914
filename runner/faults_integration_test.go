package runner_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/cluster"
	"github.com/clusterbench/clusterbench/internal/redistest"
	"github.com/clusterbench/clusterbench/metrics"
	"github.com/clusterbench/clusterbench/runner"
	"github.com/clusterbench/clusterbench/workload"
)

// faultConfig is a short one-strategy run against the external cluster at
// addrs.
func faultConfig(t *testing.T, prefix string, addrs []string, d time.Duration) runner.Config {
	wc := workload.DefaultConfig()
	wc.Keys, wc.Prefix, wc.Dist = 5000, prefix, workload.DistUniform
	return runner.Config{
		Profile: prefix, Addrs: addrs, Strategies: []string{"router"}, Duration: d, Warmup: 500 * time.Millisecond,
		Workers: 4, Pipeline: 1, Workload: wc, Out: t.TempDir(), OpTimeout: 300 * time.Millisecond,
	}
}

// clientsOn returns how many client connections the node at addr has,
// besides the one asking and the replication links.
func clientsOn(ctx context.Context, addr string) (int, error) {
	c, err := cluster.Dial(addr, cluster.ConnOptions{})
	if err != nil {
		return 0, err
	}
	defer c.Close()
	list, err := cluster.DoText(ctx, c, addr, "CLIENT", "LIST")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(list), "\n") {
		for _, f := range strings.Fields(line) {
			// S: a replica's link on its master; M: the master's link on
			// its replica.
			if flags, ok := strings.CutPrefix(f, "flags="); ok && !strings.ContainsAny(flags, "SM") &&
				!strings.Contains(line, " cmd=client|list ") {
				n++
			}
		}
	}
	return n, nil
}

// checkNoLeaks waits a few seconds for the run's goroutines to end and its
// connections to close: the goroutine count must be back to before, and
// no node may keep a client connection.
func checkNoLeaks(t *testing.T, before int, nodes []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		now := runtime.NumGoroutine()
		var open []string
		for _, a := range nodes {
			n, err := clientsOn(ctx, a)
			if err != nil {
				t.Fatalf("connected_clients of %s: %v", a, err)
			}
			if n > 0 {
				open = append(open, fmt.Sprintf("%s: %d", a, n))
			}
		}
		if now <= before && len(open) == 0 {
			t.Logf("no leak: %d goroutines (%d before the run), no client connection left", now, before)
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("after the run: %d goroutines (%d before), client connections left %v\n%s",
				now, before, open, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// summaryEvents writes the report's outputs and returns summary.json's
// events by kind.
func summaryEvents(t *testing.T, rep *runner.Report) map[string]metrics.Event {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "out")
	if err := runner.WriteOutputs(rep, dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sum metrics.Summary
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatalf("summary.json: %v", err)
	}
	by := map[string]metrics.Event{}
	for _, ev := range sum.Events {
		by[ev.Kind] = ev
	}
	return by
}

// TestMasterKilledIntegration kills a master (SIGKILL) mid-run on a cluster
// with replicas: the run goes on to its end, the errors are classified,
// the time from the kill to the first successful op on the promoted
// replica is measured and reported, and the outputs are written.
func TestMasterKilledIntegration(t *testing.T) {
	redistest.RequireServer(t) // not parallel: the goroutine count must be this test's
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	l, err := cluster.StartLocal(ctx, cluster.LocalConfig{Masters: 3, Replicas: 1, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Stop() })
	topo, err := cluster.Discover(ctx, l.MasterAddrs()[0], cluster.ConnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	victim, replica := topo.Masters[0].Addr, topo.Masters[0].Replicas[0].Addr

	cfg := faultConfig(t, "kill", l.MasterAddrs(), 10*time.Second)
	goroutines := runtime.NumGoroutine()
	killed := make(chan time.Time, 1)
	go func() {
		time.Sleep(2500 * time.Millisecond) // well inside the measured time
		at := time.Now()
		if err := l.KillNode(victim); err != nil {
			t.Errorf("kill %s: %v", victim, err)
		}
		killed <- at
	}()
	rep, err := runner.Run(ctx, cfg, runner.Hooks{})
	if err != nil {
		t.Fatalf("the run must go on after a master dies: %v", err)
	}
	killedAt := <-killed
	sr := rep.Strategies[0]
	tot := sr.Result.Totals
	t.Logf("ops %d, errors %v (by class %v)", tot.Ops, tot.ErrorCount(), tot.Errors)

	rec, ok := sr.Recovery()
	if !ok {
		t.Fatalf("no recovery measured: fault at %v, recovered at %v", sr.FaultAt, sr.RecoveredAt)
	}
	faultWall, recWall := sr.Start.Add(sr.FaultAt), sr.Start.Add(sr.RecoveredAt)
	t.Logf("killed %s at +%v, first node-down error (%s) %v later, first success on %s %v after that (kill → recovery %v)",
		victim, killedAt.Sub(sr.Start).Round(time.Millisecond), sr.FaultClass, faultWall.Sub(killedAt).Round(time.Millisecond),
		sr.RecoveredOn, rec.Round(time.Millisecond), recWall.Sub(killedAt).Round(time.Millisecond))
	if d := faultWall.Sub(killedAt); d < 0 || d > 500*time.Millisecond {
		t.Errorf("the fault was seen %v after the kill: want within 500ms under load", d)
	}
	// cluster-node-timeout is 2s: the replica cannot win before it, and
	// takes over well within the run.
	if rec < time.Second || rec > 8*time.Second {
		t.Errorf("recovery took %v: want between 1s and 8s with a 2s node timeout", rec)
	}
	if sr.FaultMaster != victim || sr.RecoveredOn != replica {
		t.Errorf("fault on %s, recovered on %s: want the killed %s and its replica %s", sr.FaultMaster, sr.RecoveredOn, victim, replica)
	}
	// Every error of the outage is classified; nothing lands in "other".
	down := tot.Errors[metrics.ConnRefused] + tot.Errors[metrics.Timeout] + tot.Errors[metrics.ClusterDown] + tot.Errors[metrics.Moved]
	if down == 0 || tot.Errors[metrics.Other] != 0 {
		t.Errorf("errors by class %v: want node-down classes and no other", tot.Errors)
	}
	// The run went on: ops succeeded after the recovery, on every master.
	var after int64
	for _, iv := range sr.Result.Intervals {
		if iv.Start > sr.RecoveredAt {
			after += iv.Ops - iv.Errors
		}
	}
	if after == 0 {
		t.Errorf("no successful op after the recovery")
	}
	evs := summaryEvents(t, rep)
	if _, ok := evs[string(runner.EventFault)]; !ok {
		t.Errorf("summary.json has no %s event: %v", runner.EventFault, evs)
	}
	want := fmt.Sprintf("recovery_s=%.3f", rec.Seconds())
	if ev := evs[string(runner.EventRecovered)]; !strings.Contains(ev.Detail, want) || !strings.Contains(ev.Detail, replica) {
		t.Errorf("summary.json recovered event %+v: want %s on %s", ev, want, replica)
	}
	sum, err := rep.Summary()
	if err != nil {
		t.Fatal(err)
	}
	if got := sum.Strategies[0].RecoveryS; got == nil || *got != rec.Seconds() {
		t.Errorf("summary recovery_s = %v, want %v", got, rec.Seconds())
	}
	checkNoLeaks(t, goroutines, l.Addrs())
}

// TestNodePausedIntegration pauses a master (SIGSTOP) for 2 s mid-run, on
// a cluster whose node timeout is longer, so nothing fails over: the ops
// sent to it time out and are counted as timeouts, the node serves again
// once continued, and afterwards no goroutine or connection is left.
func TestNodePausedIntegration(t *testing.T) {
	redistest.RequireServer(t) // not parallel: the goroutine count must be this test's
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	l, err := cluster.StartLocal(ctx, cluster.LocalConfig{Masters: 3, NodeTimeout: 15 * time.Second, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Stop() })
	victim := l.MasterAddrs()[1]
	const pause = 2 * time.Second

	cfg := faultConfig(t, "pause", l.MasterAddrs(), 6*time.Second)
	goroutines := runtime.NumGoroutine()
	go func() {
		time.Sleep(2 * time.Second)
		if err := l.PauseNode(victim); err != nil {
			t.Errorf("pause %s: %v", victim, err)
			return
		}
		time.Sleep(pause)
		if err := l.ResumeNode(victim); err != nil {
			t.Errorf("resume %s: %v", victim, err)
		}
	}()
	rep, err := runner.Run(ctx, cfg, runner.Hooks{})
	if err != nil {
		t.Fatalf("the run must go on through a paused node: %v", err)
	}
	sr := rep.Strategies[0]
	tot := sr.Result.Totals
	t.Logf("ops %d, errors by class %v, fault %v (%s), recovered %v on %s", tot.Ops, tot.Errors,
		sr.FaultAt.Round(time.Millisecond), sr.FaultClass, sr.RecoveredAt.Round(time.Millisecond), sr.RecoveredOn)
	if tot.Errors[metrics.Timeout] == 0 {
		t.Errorf("no timeout counted while %s was paused for %v with a %v op timeout", victim, pause, cfg.OpTimeout)
	}
	if tot.Errors[metrics.Other] != 0 {
		t.Errorf("%d errors classified as other", tot.Errors[metrics.Other])
	}
	rec, ok := sr.Recovery()
	if !ok || sr.FaultMaster != victim || sr.RecoveredOn != victim {
		t.Errorf("fault on %q, recovered on %q (%v, %v): want both on the paused %s", sr.FaultMaster, sr.RecoveredOn, rec, ok, victim)
	}
	// The first timeout comes one op timeout after the pause; the node
	// answers again at most an op timeout after it resumes.
	if lo, hi := pause-2*cfg.OpTimeout, pause+2*cfg.OpTimeout; rec < lo || rec > hi {
		t.Errorf("recovery %v: want about the pause, in %v..%v", rec, lo, hi)
	}
	checkNoLeaks(t, goroutines, l.Addrs())
}
