package runner

// Capacity search (--slo-p99): an open-loop run whose rate steps up
// geometrically, with no migration, stopped at the first step that misses
// the latency SLO or the error threshold, or that the generator could not
// drive. Each step is judged from the collector's sealed intervals while
// the run goes on, so a strategy stops soon after its limit instead of
// overloading the cluster for the rest of the plan: a step's last interval
// is sealed one interval after it ends (the collector's grace), so the run
// stops about one interval into the next step. The report keeps each
// step's numbers as judged; steps the run completed without a live
// verdict (the last one, or all after Ctrl-C) are judged from the result.

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/clusterbench/clusterbench/metrics"
	"github.com/clusterbench/clusterbench/workload"
)

// Defaults of a capacity search, as the CLI documents them.
const (
	DefaultMaxErrorRate = 0.001
	DefaultRateStart    = 1000.0
	DefaultRateStep     = 0.10 // +10% per step
	DefaultStepDuration = 5 * time.Second
	// DefaultMaxSteps takes the default search from 1000 to about 280000
	// ops/s.
	DefaultMaxSteps = 60
	// MaxSteps bounds --max-steps (and keeps the schedule's step walk short).
	MaxSteps = 1000
)

// CapacityConfig is a capacity search: step k (from 0) runs at
// RateStart·(1+RateStep)^k ops/s for StepDuration, after a warmup at
// RateStart. A step meets the SLO when its p99 ≤ SLOP99, its error rate ≤
// MaxErrorRate and the generator started at least
// metrics.GeneratorMinShare of its ops.
type CapacityConfig struct {
	SLOP99       time.Duration
	MaxErrorRate float64
	RateStart    float64 // ops/s over all workers
	RateStep     float64 // growth per step: 0.1 is +10%
	StepDuration time.Duration
	MaxSteps     int
}

// DefaultCapacity returns a search with the defaults and the given SLO.
func DefaultCapacity(slo time.Duration) CapacityConfig {
	return CapacityConfig{SLOP99: slo, MaxErrorRate: DefaultMaxErrorRate, RateStart: DefaultRateStart,
		RateStep: DefaultRateStep, StepDuration: DefaultStepDuration, MaxSteps: DefaultMaxSteps}
}

// Rate is step k's target rate, rounded to 1/1000 ops/s so that reports
// print 1331, not 1331.0000000000005.
func (c CapacityConfig) Rate(k int) float64 {
	return math.Round(c.RateStart*math.Pow(1+c.RateStep, float64(k))*1000) / 1000
}

// Duration is the measured time of the whole plan.
func (c CapacityConfig) Duration() time.Duration { return time.Duration(c.MaxSteps) * c.StepDuration }

// Schedule is the plan as an open-loop schedule: the warmup at RateStart,
// then the steps; it ends after the last one.
func (c CapacityConfig) Schedule(warmup time.Duration) workload.Steps {
	var s workload.Steps
	if warmup > 0 {
		s = append(s, workload.Step{PerSec: c.RateStart, Duration: warmup})
	}
	for k := range c.MaxSteps {
		s = append(s, workload.Step{PerSec: c.Rate(k), Duration: c.StepDuration})
	}
	return s
}

// WithCapacity returns cfg turned into the capacity search cc: its
// schedule and duration are the plan's. Set Warmup and Interval first.
func (cfg Config) WithCapacity(cc CapacityConfig) Config {
	cfg.Capacity = &cc
	cfg.Schedule = cc.Schedule(cfg.Warmup)
	cfg.Duration = cc.Duration()
	return cfg
}

// validateCapacity checks a capacity search and what it needs of the rest
// of the configuration.
func (c *Config) validateCapacity() []error {
	cc := c.Capacity
	if cc == nil {
		return nil
	}
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, bad(format, args...)) }
	interval := c.withDefaults().Interval
	if cc.SLOP99 <= 0 {
		add("--slo-p99 %v must be positive, e.g. 2ms", cc.SLOP99)
	}
	if !(cc.MaxErrorRate >= 0 && cc.MaxErrorRate <= 1) {
		add("--max-error-rate %v must be in 0..1, e.g. 0.001", cc.MaxErrorRate)
	}
	if !(cc.RateStart > 0 && cc.RateStart <= workload.MaxRate) {
		add("--rate-start %v must be in (0, %g] ops/s, e.g. 1000", cc.RateStart, float64(workload.MaxRate))
	}
	if !(cc.RateStep >= 0.001 && cc.RateStep <= 10) {
		add("--rate-step %v%% must be in 0.1%%..1000%%, e.g. 10%%", cc.RateStep*100)
	}
	if cc.StepDuration < interval || cc.StepDuration%interval != 0 {
		add("--step-duration %v must be a whole number of reporting intervals (%v), e.g. 5s", cc.StepDuration, interval)
	}
	if cc.MaxSteps < 1 || cc.MaxSteps > MaxSteps {
		add("--max-steps %d must be in 1..%d", cc.MaxSteps, MaxSteps)
	} else if last := cc.Rate(cc.MaxSteps - 1); cc.RateStart > 0 && last > workload.MaxRate {
		add("--max-steps %d would reach %g ops/s, over %g: use fewer steps or a smaller --rate-step", cc.MaxSteps, last, float64(workload.MaxRate))
	}
	if c.Warmup%interval != 0 {
		add("--warmup %v must be a whole number of reporting intervals (%v) in a capacity run, so steps start on an interval", c.Warmup, interval)
	}
	if c.migrates() {
		add("--slo-p99 (capacity search) runs without a migration: drop --migrate %s", c.Migrate)
	}
	if c.Duration != cc.Duration() || c.Schedule == nil || c.Schedule.String() != cc.Schedule(c.Warmup).String() {
		add("a capacity search sets its own rate and duration (--max-steps × --step-duration): drop --rate and --duration")
	}
	return errs
}

// capacityEcho is the search's plan in summary.json's config.
type capacityEcho struct {
	SLOP99US      float64 `json:"slo_p99_us"`
	MaxErrorRate  float64 `json:"max_error_rate"`
	RateStart     float64 `json:"rate_start"`
	RateStep      float64 `json:"rate_step"`
	StepDurationS float64 `json:"step_duration_s"`
	MaxSteps      int     `json:"max_steps"`
}

func (c *CapacityConfig) echo() *capacityEcho {
	if c == nil {
		return nil
	}
	return &capacityEcho{SLOP99US: float64(c.SLOP99) / 1e3, MaxErrorRate: c.MaxErrorRate, RateStart: c.RateStart,
		RateStep: c.RateStep, StepDurationS: c.StepDuration.Seconds(), MaxSteps: c.MaxSteps}
}

// mark is the generator's counters at a step boundary.
type mark struct{ issued, late int64 }

// capacityWatch follows a capacity search through one strategy's run.
type capacityWatch struct {
	cc     CapacityConfig
	warmup time.Duration
	ck     *clock
	col    *metrics.Collector
	cancel context.CancelFunc // stops the strategy issuing
	st     *status
	first  int // interval index where step 0 starts
	per    int // intervals per step

	mu        sync.Mutex
	marks     []mark                 // marks[k]: at the start of step k
	judged    []metrics.CapacityStep // judged while the run went on
	stopped   string                 // the verdict that stopped the run ("": none)
	stoppedAt time.Duration          // from t0
	done      sync.WaitGroup
}

// startCapacity starts following cfg's capacity search, if it has one: it
// takes the generator's counters at every step boundary and judges each
// step once its intervals are sealed, calling cancel at the first step
// that misses. It returns nil without a search.
func startCapacity(stop context.Context, cancel context.CancelFunc, cfg Config, col *metrics.Collector, ck *clock, st *status) *capacityWatch {
	if cfg.Capacity == nil {
		return nil
	}
	w := &capacityWatch{
		cc: *cfg.Capacity, warmup: cfg.Warmup, ck: ck, col: col, cancel: cancel, st: st,
		first: int(cfg.Warmup / cfg.Interval), per: int(cfg.Capacity.StepDuration / cfg.Interval),
	}
	ready := make(chan int, w.cc.MaxSteps+1)
	w.done.Add(2)
	go func() {
		defer w.done.Done()
		w.sample(stop, ready)
	}()
	go func() {
		defer w.done.Done()
		w.judge(stop, ready)
	}()
	return w
}

// stepStart is when step k starts, from t0.
func (w *capacityWatch) stepStart(k int) time.Duration {
	return w.warmup + time.Duration(k)*w.cc.StepDuration
}

// sample takes the generator's counters at each step boundary.
func (w *capacityWatch) sample(stop context.Context, ready chan<- int) {
	for k := 0; k <= w.cc.MaxSteps; k++ {
		if !sleepUntil(stop, w.ck.t0.Add(w.stepStart(k))) {
			return
		}
		m := mark{w.ck.issued.Load(), w.ck.late.Load()}
		w.mu.Lock()
		w.marks = append(w.marks, m)
		w.mu.Unlock()
		ready <- k
	}
}

// judge judges each step once its end is marked and its intervals sealed.
func (w *capacityWatch) judge(stop context.Context, ready <-chan int) {
	poll := time.NewTicker(50 * time.Millisecond)
	defer poll.Stop()
	marked := -1
	for k := 0; k < w.cc.MaxSteps; k++ {
		for marked < k+1 {
			select {
			case marked = <-ready:
			case <-stop.Done():
				return
			}
		}
		from := w.first + k*w.per
		h := metrics.NewHistogram()
		var ctr metrics.Counters
		for {
			var ok bool
			if ctr, ok = w.col.MergeSpan(h, from, from+w.per); ok {
				break
			}
			select {
			case <-poll.C:
			case <-stop.Done():
				return
			}
		}
		w.mu.Lock()
		step := w.step(k, w.marks[k], w.marks[k+1], h, ctr.Ops, ctr.ErrorCount())
		c := w.capacity(append(w.judged, step))
		step = c.Steps[len(c.Steps)-1]
		w.judged = append(w.judged, step)
		if step.Verdict != metrics.StepOK {
			w.stopped = step.Verdict
			w.stoppedAt = time.Since(w.ck.t0)
		}
		w.mu.Unlock()
		w.st.note(fmt.Sprintf("capacity step %d: target %.0f ops/s, achieved %.0f, p99 %.1fµs, errors %d: %s",
			k, step.TargetRate, step.AchievedRate, step.LatencyUS.P99, step.Errors, step.Verdict))
		if step.Verdict != metrics.StepOK {
			w.st.note("capacity: " + c.Note)
			w.cancel()
			return
		}
	}
}

// step builds step k from its boundary marks and its latencies.
func (w *capacityWatch) step(k int, start, end mark, h *hdr.Histogram, ops, errs int64) metrics.CapacityStep {
	return metrics.NewCapacityStep(k, w.stepStart(k), w.cc.StepDuration, w.cc.Rate(k), end.issued-start.issued, end.late-start.late, h, ops, errs)
}

// capacity returns the search's result over steps, judged.
func (w *capacityWatch) capacity(steps []metrics.CapacityStep) *metrics.Capacity {
	c := &metrics.Capacity{
		SLOP99US: float64(w.cc.SLOP99) / 1e3, MaxErrorRate: w.cc.MaxErrorRate, RateStart: w.cc.RateStart,
		RateStep: w.cc.RateStep, StepDurationS: w.cc.StepDuration.Seconds(), MaxSteps: w.cc.MaxSteps,
		Steps: append([]metrics.CapacityStep(nil), steps...),
	}
	c.Judge()
	return c
}

// finish waits for the watch to end and returns the search's result: the
// steps judged during the run, then (unless a step stopped it) the steps
// that completed afterwards, judged from res. ranToEnd says the run issued
// its whole plan (the last step's end is then the end of issuing).
func (w *capacityWatch) finish(res *metrics.Result, ranToEnd bool) (*metrics.Capacity, time.Duration) {
	w.done.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	steps := w.judged
	if w.stopped == "" && res != nil {
		final := mark{w.ck.issued.Load(), w.ck.late.Load()}
		for k := len(steps); k < w.cc.MaxSteps && k < len(w.marks); k++ {
			end := final // the last step ends with the run
			if k+1 < len(w.marks) {
				end = w.marks[k+1]
			} else if k != w.cc.MaxSteps-1 || !ranToEnd {
				break // the step did not complete
			}
			h, ops, errs := spanOf(res, w.first+k*w.per, w.first+(k+1)*w.per)
			steps = append(steps, w.step(k, w.marks[k], end, h, ops, errs))
		}
	}
	return w.capacity(steps), w.stoppedAt
}

// spanOf merges a result's intervals [from, to): their all-ops histogram
// (nil when they had no op), ops and errors.
func spanOf(res *metrics.Result, from, to int) (*hdr.Histogram, int64, int64) {
	var h *hdr.Histogram
	var ops, errs int64
	for i := from; i < min(to, len(res.Intervals)); i++ {
		iv := res.Intervals[i]
		ops += iv.Ops
		errs += iv.Errors
		if iv.Hist != nil && iv.Hist.TotalCount() > 0 {
			if h == nil {
				h = metrics.NewHistogram()
			}
			iv.Hist.MergeInto(h)
		}
	}
	return h, ops, errs
}
