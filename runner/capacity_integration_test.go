package runner_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/internal/redistest"
	"github.com/clusterbench/clusterbench/metrics"
	"github.com/clusterbench/clusterbench/runner"
	"github.com/clusterbench/clusterbench/workload"
)

// capacityRun runs a short capacity search on a fresh local cluster and
// writes its outputs.
func capacityRun(t *testing.T, workers int, cc runner.CapacityConfig) (*runner.Report, string) {
	t.Helper()
	wc := workload.DefaultConfig()
	wc.Keys, wc.Prefix = 2000, "cap"
	cfg := runner.Config{
		Profile: "capacity-test", Strategies: []string{"router"}, Warmup: time.Second,
		Workers: workers, Pipeline: 1, Workload: wc, Masters: 2, Out: t.TempDir(),
	}.WithCapacity(cc)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := runner.Run(ctx, cfg, runner.Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	if err := runner.WriteOutputs(rep, cfg.Out); err != nil {
		t.Fatal(err)
	}
	return rep, cfg.Out
}

// TestCapacityIntegration runs real capacity searches against a local
// cluster: one whose SLO no step can meet (stopped after the first step,
// reported as 0, not as a fake capacity), one whose SLO every step meets,
// and one the generator cannot drive.
func TestCapacityIntegration(t *testing.T) {
	redistest.RequireServer(t)

	t.Run("slo missed at once", func(t *testing.T) {
		cc := runner.CapacityConfig{SLOP99: time.Microsecond, MaxErrorRate: 0.001, RateStart: 300, RateStep: 0.5, StepDuration: 2 * time.Second, MaxSteps: 4}
		rep, out := capacityRun(t, 4, cc)
		sr := rep.Strategies[0]
		c := sr.Capacity
		if c == nil {
			t.Fatal("no capacity result")
		}
		t.Logf("steps %+v; %s", c.Steps, c.Note)
		if c.LimitedBy != metrics.LimitSLO || c.MaxRateMeetingSLO != 0 || len(c.Steps) != 1 {
			t.Fatalf("limited by %s, max %v, %d steps; want slo, 0, 1", c.LimitedBy, c.MaxRateMeetingSLO, len(c.Steps))
		}
		// The search stopped the run during step 1 instead of running all
		// four steps (9 s).
		if sr.StoppedAt < 3*time.Second || sr.StoppedAt > 5*time.Second {
			t.Errorf("stopped at %v, want soon after step 0 ended at 3s", sr.StoppedAt)
		}
		if last := sr.Result.Duration(); last > 5*time.Second {
			t.Errorf("last op started at %v: the run was not stopped", last)
		}
		s0 := c.Steps[0]
		if s0.Ops < 500 || s0.AchievedRate < 270 || s0.LatencyUS.P99 <= 1 {
			t.Errorf("step 0 = %+v: want ~600 ops at ~300 ops/s", s0)
		}
		sum, err := metrics.ReadSummaryJSON(filepath.Join(out, "summary.json"))
		if err != nil {
			t.Fatal(err)
		}
		if sc := sum.Strategies[0].Capacity; sc == nil || sc.LimitedBy != metrics.LimitSLO || sc.SLOP99US != 1 {
			t.Errorf("summary.json capacity = %+v", sc)
		}
		// Few ops dropped: the target rate is over the time it ran.
		if st := sum.Strategies[0]; st.DroppedOps > 50 {
			t.Errorf("dropped ops %d: counted the steps that never ran", st.DroppedOps)
		}
		csv, err := os.ReadFile(filepath.Join(out, "capacity.csv"))
		if err != nil {
			t.Fatal(err)
		}
		if lines := strings.Split(strings.TrimSpace(string(csv)), "\n"); len(lines) != 2 || !strings.HasSuffix(lines[1], ",slo") {
			t.Errorf("capacity.csv:\n%s", csv)
		}
		md, err := os.ReadFile(filepath.Join(out, "report.md"))
		if err != nil || !strings.Contains(string(md), "## Capacity") {
			t.Errorf("report.md has no capacity section (%v)", err)
		}
	})

	t.Run("every step met", func(t *testing.T) {
		cc := runner.CapacityConfig{SLOP99: time.Second, MaxErrorRate: 0.001, RateStart: 200, RateStep: 0.5, StepDuration: 2 * time.Second, MaxSteps: 3}
		rep, _ := capacityRun(t, 4, cc)
		c := rep.Strategies[0].Capacity
		t.Logf("steps %+v; %s", c.Steps, c.Note)
		if c.LimitedBy != metrics.LimitMaxSteps || c.MaxRateMeetingSLO != 450 || len(c.Steps) != 3 {
			t.Fatalf("limited by %s, max %v, %d steps; want max_steps, 450, 3", c.LimitedBy, c.MaxRateMeetingSLO, len(c.Steps))
		}
		for _, s := range c.Steps {
			if s.AchievedRate < 0.9*s.TargetRate || s.AchievedRate > 1.1*s.TargetRate {
				t.Errorf("step %d achieved %v of %v ops/s", s.Step, s.AchievedRate, s.TargetRate)
			}
			if d := float64(s.Ops) - s.TargetRate*s.DurationS; d < -0.05*s.TargetRate*s.DurationS || d > 0.05*s.TargetRate*s.DurationS {
				t.Errorf("step %d recorded %d ops, scheduled %v", s.Step, s.Ops, s.TargetRate*s.DurationS)
			}
		}
	})

	t.Run("slow last step", func(t *testing.T) {
		// At 6 ops/s the last op starts ~170 ms before the plan's end and
		// the worker returns then, so the run's end is not a clock reading:
		// the last step completed all the same.
		cc := runner.CapacityConfig{SLOP99: time.Second, MaxErrorRate: 0.001, RateStart: 4, RateStep: 0.5, StepDuration: 2 * time.Second, MaxSteps: 2}
		rep, _ := capacityRun(t, 1, cc)
		c := rep.Strategies[0].Capacity
		t.Logf("steps %+v; %s", c.Steps, c.Note)
		if c.LimitedBy != metrics.LimitMaxSteps || c.MaxRateMeetingSLO != 6 || len(c.Steps) != 2 {
			t.Fatalf("limited by %s, max %v, %d steps; want max_steps, 6, 2", c.LimitedBy, c.MaxRateMeetingSLO, len(c.Steps))
		}
		if s := c.Steps[1]; s.Ops != 12 {
			t.Errorf("step 1 recorded %d ops, scheduled 12", s.Ops)
		}
	})

	t.Run("generator limited", func(t *testing.T) {
		// One worker cannot start 200000 ops/s: loopback round trips alone
		// cap it near 30000.
		cc := runner.CapacityConfig{SLOP99: time.Second, MaxErrorRate: 0.001, RateStart: 200000, RateStep: 0.5, StepDuration: 2 * time.Second, MaxSteps: 2}
		rep, _ := capacityRun(t, 1, cc)
		c := rep.Strategies[0].Capacity
		t.Logf("steps %+v; %s", c.Steps, c.Note)
		if c.LimitedBy != metrics.LimitGenerator || c.MaxRateMeetingSLO != 0 {
			t.Fatalf("limited by %s, max %v; want generator, 0", c.LimitedBy, c.MaxRateMeetingSLO)
		}
		if !strings.Contains(c.Note, "GENERATOR") {
			t.Errorf("note: %s", c.Note)
		}
	})
}
