package runner

import (
	"strings"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/clusterbench/clusterbench/metrics"
	"github.com/clusterbench/clusterbench/workload"
)

// synthStep describes one step of a synthetic capacity run.
type synthStep struct {
	latency time.Duration // every op of the step takes this long
	errors  float64       // share of the step's ops that failed
	share   float64       // share of the target the generator started (1 when 0)
}

// synthRun builds the intervals and step marks of a capacity run whose
// steps behave as described (1 s intervals, 2 intervals per step, a 1 s
// warmup), and returns a watch holding the marks of the steps given.
func synthRun(t *testing.T, cc CapacityConfig, steps []synthStep) (*capacityWatch, *metrics.Result) {
	t.Helper()
	res := &metrics.Result{Interval: time.Second}
	w := &capacityWatch{cc: cc, warmup: time.Second, ck: &clock{}, first: 1, per: 2}
	res.Intervals = append(res.Intervals, metrics.IntervalResult{}) // the warmup
	var issued int64
	w.marks = append(w.marks, mark{issued: issued})
	for k, s := range steps {
		share := s.share
		if share == 0 {
			share = 1
		}
		perInterval := int64(cc.Rate(k) * share) // ops per 1 s interval
		for range w.per {
			h := hdr.NewPacked(metrics.HistogramLowest, metrics.HistogramHighest, metrics.HistogramSigFigs)
			if err := h.RecordValues(int64(s.latency), perInterval); err != nil {
				t.Fatal(err)
			}
			iv := metrics.IntervalResult{Hist: h}
			iv.Ops = perInterval
			iv.Errors = int64(float64(perInterval) * s.errors)
			res.Intervals = append(res.Intervals, iv)
			issued += perInterval
		}
		w.marks = append(w.marks, mark{issued: issued})
	}
	w.ck.issued.Store(issued)
	return w, res
}

func TestCapacityStepAnalysis(t *testing.T) {
	ok := synthStep{latency: 100 * time.Microsecond}
	slow := synthStep{latency: 5 * time.Millisecond}
	cc := CapacityConfig{SLOP99: 2 * time.Millisecond, MaxErrorRate: 0.01, RateStart: 1000, RateStep: 0.5, StepDuration: 2 * time.Second, MaxSteps: 4}
	cases := []struct {
		name      string
		steps     []synthStep
		ranToEnd  bool
		wantMax   float64
		wantLimit string
		wantSteps int
	}{
		// Every step meets the SLO: the capacity is at least the last rate.
		{"all met", []synthStep{ok, ok, ok, ok}, true, cc.Rate(3), metrics.LimitMaxSteps, 4},
		// Step 2 misses p99: the capacity is step 1's rate.
		{"slo at step 2", []synthStep{ok, ok, slow, slow}, true, cc.Rate(1), metrics.LimitSLO, 3},
		// The first step misses: no rate met the SLO, reported as 0.
		{"slo at once", []synthStep{slow, slow}, true, 0, metrics.LimitSLO, 1},
		// Step 1 fails 5% of its ops, over the 1% threshold.
		{"errors", []synthStep{ok, {latency: 100 * time.Microsecond, errors: 0.05}, ok, ok}, true, cc.Rate(0), metrics.LimitErrors, 2},
		// The generator started only 70% of step 2: the generator, not the
		// cluster, was the limit, even though latency was fine.
		{"generator", []synthStep{ok, ok, {latency: 100 * time.Microsecond, share: 0.7}, ok}, true, cc.Rate(1), metrics.LimitGenerator, 3},
		// 95% started is within the generator's tolerance.
		{"generator tolerance", []synthStep{ok, ok, {latency: 100 * time.Microsecond, share: 0.95}, ok}, true, cc.Rate(3), metrics.LimitMaxSteps, 4},
		// Interrupted after two steps, both fine.
		{"interrupted", []synthStep{ok, ok}, false, cc.Rate(1), metrics.LimitInterrupted, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w, res := synthRun(t, cc, tc.steps)
			if tc.ranToEnd && len(tc.steps) == cc.MaxSteps {
				// The last boundary coincides with the run's end and is
				// usually not marked: the final counts stand in for it.
				w.marks = w.marks[:len(w.marks)-1]
			}
			c, _ := w.finish(res, tc.ranToEnd)
			if c.MaxRateMeetingSLO != tc.wantMax || c.LimitedBy != tc.wantLimit || len(c.Steps) != tc.wantSteps {
				t.Fatalf("max %v limited by %s with %d steps, want %v, %s, %d steps; note: %s",
					c.MaxRateMeetingSLO, c.LimitedBy, len(c.Steps), tc.wantMax, tc.wantLimit, tc.wantSteps, c.Note)
			}
			last := c.Steps[len(c.Steps)-1]
			if tc.wantLimit != metrics.LimitMaxSteps && tc.wantLimit != metrics.LimitInterrupted && last.Verdict != tc.wantLimit {
				t.Errorf("last step verdict %s, want %s", last.Verdict, tc.wantLimit)
			}
			if tc.wantLimit == metrics.LimitGenerator && !strings.Contains(c.Note, "GENERATOR") {
				t.Errorf("note does not blame the generator: %s", c.Note)
			}
			for _, s := range c.Steps[:len(c.Steps)-1] {
				if s.Verdict != metrics.StepOK {
					t.Errorf("step %d before the last has verdict %s", s.Step, s.Verdict)
				}
			}
		})
	}
}

// TestCapacityStepNumbers checks one step's numbers against the synthetic
// data: rates, counts and the p99 from the merged intervals.
func TestCapacityStepNumbers(t *testing.T) {
	cc := CapacityConfig{SLOP99: time.Millisecond, MaxErrorRate: 0.5, RateStart: 100, RateStep: 1, StepDuration: 2 * time.Second, MaxSteps: 2}
	w, res := synthRun(t, cc, []synthStep{{latency: 300 * time.Microsecond, errors: 0.1}, {latency: 3 * time.Millisecond}})
	c, _ := w.finish(res, true)
	if len(c.Steps) != 2 {
		t.Fatalf("%d steps, want 2", len(c.Steps))
	}
	s0, s1 := c.Steps[0], c.Steps[1]
	if s0.TargetRate != 100 || s0.AchievedRate != 100 || s0.Ops != 200 || s0.Errors != 20 || s0.ErrorRate != 0.1 {
		t.Errorf("step 0 = %+v", s0)
	}
	if s0.StartS != 1 || s0.DurationS != 2 || s1.StartS != 3 {
		t.Errorf("step starts %v, %v and duration %v, want 1, 3 and 2", s0.StartS, s1.StartS, s0.DurationS)
	}
	// HdrHistogram keeps 3 significant digits: 300 µs reads back within 0.1%.
	if p := s0.LatencyUS.P99; p < 299.9 || p > 300.3 {
		t.Errorf("step 0 p99 %vµs, want 300", p)
	}
	if s1.TargetRate != 200 || s1.Verdict != metrics.LimitSLO || c.MaxRateMeetingSLO != 100 {
		t.Errorf("step 1 = %+v, max %v", s1, c.MaxRateMeetingSLO)
	}
}

func TestCapacityPlan(t *testing.T) {
	cc := CapacityConfig{SLOP99: time.Millisecond, RateStart: 1000, RateStep: 0.1, StepDuration: 2 * time.Second, MaxSteps: 4}
	want := []float64{1000, 1100, 1210, 1331}
	for k, w := range want {
		if got := cc.Rate(k); got != w {
			t.Errorf("Rate(%d) = %v, want %v", k, got, w)
		}
	}
	s := cc.Schedule(time.Second)
	if got, want := s.String(), "1000:1s,1000:2s,1100:2s,1210:2s,1331:2s"; got != want {
		t.Errorf("schedule %s, want %s", got, want)
	}
	// The schedule ends with the plan: the last op starts before 9 s.
	if _, ok := s.IntendedStart(uint64(1000 + 2*(1000+1100+1210+1331))); ok {
		t.Error("schedule goes on after the last step")
	}
	if got := cc.Duration(); got != 8*time.Second {
		t.Errorf("duration %v, want 8s", got)
	}
}

func TestCapacityValidate(t *testing.T) {
	base := Config{Profile: "t", Strategies: []string{"router"}, Warmup: time.Second, Workers: 1, Pipeline: 1,
		Workload: workload.DefaultConfig(), Masters: 1, Out: "x"}
	good := DefaultCapacity(2 * time.Millisecond)
	if c := base.WithCapacity(good); c.Validate() != nil {
		err := c.Validate()
		t.Fatalf("default capacity search rejected: %v", err)
	}
	cases := []struct {
		name string
		edit func(c *Config)
		want string
	}{
		{"no slo", func(c *Config) { c.Capacity.SLOP99 = 0 }, "--slo-p99"},
		{"step not whole interval", func(c *Config) {
			*c = c.WithCapacity(CapacityConfig{SLOP99: 1, RateStart: 1, RateStep: 0.1, StepDuration: 1500 * time.Millisecond, MaxSteps: 2})
		}, "--step-duration"},
		{"rate given", func(c *Config) { c.Schedule = workload.Constant{PerSec: 5} }, "drop --rate"},
		{"duration given", func(c *Config) { c.Duration = time.Minute }, "drop --rate and --duration"},
		{"too many steps", func(c *Config) { c.Capacity.MaxSteps = MaxSteps + 1 }, "--max-steps"},
		{"over max rate", func(c *Config) {
			*c = c.WithCapacity(CapacityConfig{SLOP99: 1, RateStart: 1e8, RateStep: 1, StepDuration: time.Second, MaxSteps: 20})
		}, "would reach"},
		{"error rate", func(c *Config) { c.Capacity.MaxErrorRate = 2 }, "--max-error-rate"},
		{"warmup", func(c *Config) { c.Warmup = 1500 * time.Millisecond }, "--warmup"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := base.WithCapacity(good)
			tc.edit(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one naming %q", err, tc.want)
			}
		})
	}
}
