package metrics

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Capacity search: an open-loop run whose rate steps up until a step misses
// the latency SLO or the error threshold. These are its results as
// summary.json carries them (strategies[].capacity), the verdict rules, the
// merge of several hosts' searches, and the capacity.csv / table writers.

// Why a capacity search ended (Capacity.LimitedBy), and the verdict of one
// step (CapacityStep.Verdict: StepOK or one of the first three).
const (
	LimitSLO    = "slo"    // a step's p99 exceeded the SLO
	LimitErrors = "errors" // a step's error rate exceeded the threshold
	// LimitGenerator: the load generator could not issue a step's rate, so
	// the step measured the generator, not the cluster.
	LimitGenerator = "generator"
	// LimitMaxSteps: every planned step met the SLO; the capacity is at
	// least the last step's rate.
	LimitMaxSteps = "max_steps"
	// LimitInterrupted: the run stopped (Ctrl-C, a failure) before any step
	// missed and before the last planned step.
	LimitInterrupted = "interrupted"
	StepOK           = "ok"
)

// GeneratorMinShare is the share of a step's target rate the generator must
// reach for the step to judge the cluster: below it the step's latency
// includes the generator's own queueing, and the step is reported as
// LimitGenerator rather than as a fake capacity.
const GeneratorMinShare = 0.9

// lateWarnShare is the share of a step's ops started late above which the
// note cautions that the load host may have added latency.
const lateWarnShare = 0.05

// Capacity is one strategy's capacity search.
type Capacity struct {
	SLOP99US      float64 `json:"slo_p99_us"`
	MaxErrorRate  float64 `json:"max_error_rate"`
	RateStart     float64 `json:"rate_start"`
	RateStep      float64 `json:"rate_step"` // growth per step: 0.1 is +10%
	StepDurationS float64 `json:"step_duration_s"`
	MaxSteps      int     `json:"max_steps"`
	// Steps are the steps judged, in order; the search ends at the first
	// one whose verdict is not StepOK.
	Steps []CapacityStep `json:"steps"`
	// MaxRateMeetingSLO is the highest target rate of a step that met the
	// SLO and the error threshold with the generator keeping up (0: none).
	MaxRateMeetingSLO float64 `json:"max_rate_meeting_slo"`
	LimitedBy         string  `json:"limited_by"`
	Note              string  `json:"note"` // the outcome in one sentence
}

// CapacityStep is one step of a capacity search.
type CapacityStep struct {
	Step      int     `json:"step"`
	StartS    float64 `json:"start_s"` // from the strategy's start (after the warmup)
	DurationS float64 `json:"duration_s"`
	// TargetRate is the scheduled ops/s; AchievedRate the ops/s the
	// generator started during the step (wall clock).
	TargetRate   float64 `json:"target_rate"`
	AchievedRate float64 `json:"achieved_rate"`
	// Ops and Errors are the recorded operations whose intended start fell
	// in the step; Late those started over 1 ms behind schedule.
	Ops       int64   `json:"ops"`
	Errors    int64   `json:"errors"`
	ErrorRate float64 `json:"error_rate"`
	Late      int64   `json:"late"`
	LatencyUS Latency `json:"latency_us"`
	Verdict   string  `json:"verdict"`
	// Histogram is the step's latency histogram (ns, HdrHistogram V2
	// compressed, base64), for merging hosts exactly.
	Histogram string `json:"histogram,omitempty"`
}

// NewCapacityStep fills a step from its measurements: h holds its
// latencies (nil: none), started the ops the generator started during it.
// The verdict is left for Judge.
func NewCapacityStep(index int, start, dur time.Duration, target float64, started, late int64, h *hdr.Histogram, ops, errors int64) CapacityStep {
	s := CapacityStep{
		Step: index, StartS: round3(start.Seconds()), DurationS: round3(dur.Seconds()),
		TargetRate: round3(target), Ops: ops, Errors: errors, Late: late,
		LatencyUS: LatencyOf(h), Histogram: encodeString(h),
	}
	if dur > 0 {
		s.AchievedRate = round3(float64(started) / dur.Seconds())
	}
	if ops > 0 {
		s.ErrorRate = float64(errors) / float64(ops)
	}
	return s
}

// verdict judges one step: the generator first (a step it could not drive
// says nothing about the cluster), then the SLO, then the errors.
func (c *Capacity) verdict(s *CapacityStep) string {
	switch {
	case s.AchievedRate < GeneratorMinShare*s.TargetRate:
		return LimitGenerator
	case s.LatencyUS.P99 > c.SLOP99US:
		return LimitSLO
	case s.ErrorRate > c.MaxErrorRate:
		return LimitErrors
	}
	return StepOK
}

// Judge sets every step's verdict and, from them, MaxRateMeetingSLO,
// LimitedBy and Note. Steps after the first that misses are dropped: the
// search ended there. With no step missing, LimitedBy is LimitMaxSteps
// when all MaxSteps steps ran, else LimitInterrupted.
func (c *Capacity) Judge() {
	c.MaxRateMeetingSLO = 0
	c.LimitedBy = ""
	for i := range c.Steps {
		s := &c.Steps[i]
		s.Verdict = c.verdict(s)
		if s.Verdict != StepOK {
			c.LimitedBy = s.Verdict
			c.Steps = c.Steps[:i+1]
			break
		}
		c.MaxRateMeetingSLO = max(c.MaxRateMeetingSLO, s.TargetRate)
	}
	if c.LimitedBy == "" {
		c.LimitedBy = LimitInterrupted
		if len(c.Steps) >= c.MaxSteps {
			c.LimitedBy = LimitMaxSteps
		}
	}
	c.Note = c.note()
}

func (c *Capacity) note() string {
	rate := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) + " ops/s" }
	best := "no step met it"
	if c.MaxRateMeetingSLO > 0 {
		best = "the highest rate meeting it was " + rate(c.MaxRateMeetingSLO)
	}
	slo := fmt.Sprintf("p99 ≤ %s, errors ≤ %g", us(c.SLOP99US), c.MaxErrorRate)
	if len(c.Steps) == 0 {
		return "no step completed: the run ended before the first step did"
	}
	last := c.Steps[len(c.Steps)-1]
	switch c.LimitedBy {
	case LimitSLO:
		n := fmt.Sprintf("step %d (%s) had p99 %s over the SLO (%s): %s", last.Step, rate(last.TargetRate), us(last.LatencyUS.P99), slo, best)
		if last.Ops > 0 && float64(last.Late) > lateWarnShare*float64(last.Ops) {
			// A slow cluster makes ops late too, so this is a caution, not
			// a verdict.
			n += fmt.Sprintf(" (%.0f%% of its ops started over 1 ms behind schedule: a busy load host may have added to that latency)",
				100*float64(last.Late)/float64(last.Ops))
		}
		return n
	case LimitErrors:
		return fmt.Sprintf("step %d (%s) had error rate %.4g over the threshold (%s): %s", last.Step, rate(last.TargetRate), last.ErrorRate, slo, best)
	case LimitGenerator:
		at := "no earlier step met the SLO, so the cluster's capacity was not measured"
		if c.MaxRateMeetingSLO > 0 {
			at = "the cluster met the SLO up to " + rate(c.MaxRateMeetingSLO) + " and its capacity beyond that is unknown"
		}
		return fmt.Sprintf("the load GENERATOR, not the cluster, was the limit: step %d started %s of the %s scheduled (under %.0f%%); %s: add --workers or run on more load hosts and merge",
			last.Step, rate(math.Round(last.AchievedRate)), rate(last.TargetRate), 100*GeneratorMinShare, at)
	case LimitMaxSteps:
		return fmt.Sprintf("every step met the SLO (%s) up to %s, the last planned step: the capacity is higher; raise --max-steps or --rate-step", slo, rate(c.MaxRateMeetingSLO))
	}
	return fmt.Sprintf("the run stopped after %d of %d steps before any missed the SLO (%s): %s", len(c.Steps), c.MaxSteps, slo, best)
}

// MergeCapacity combines the capacity searches of one run from several
// hosts, step by step: rates and counts add up, latencies come from the
// added step histograms (never averaged), and the steps are judged again.
// Only the steps every host completed are kept. When they all pass but a
// host stopped early, the search is limited by what stopped that host.
// It returns nil when no input has a search, ErrMismatch when only some do
// or their SLOs differ.
func MergeCapacity(in []*Capacity) (*Capacity, error) {
	var first *Capacity
	for _, c := range in {
		if c != nil {
			first = c
			break
		}
	}
	if first == nil {
		return nil, nil
	}
	n := -1
	var shortest *Capacity
	for _, c := range in {
		switch {
		case c == nil:
			return nil, fmt.Errorf("%w: only some inputs are capacity searches", ErrMismatch)
		case c.SLOP99US != first.SLOP99US || c.MaxErrorRate != first.MaxErrorRate:
			return nil, fmt.Errorf("%w: capacity SLOs differ (p99 %gµs errors %g vs p99 %gµs errors %g)",
				ErrMismatch, c.SLOP99US, c.MaxErrorRate, first.SLOP99US, first.MaxErrorRate)
		}
		if n < 0 || len(c.Steps) < n {
			n, shortest = len(c.Steps), c
		}
	}
	out := *first
	out.RateStart = 0
	out.Steps = make([]CapacityStep, n)
	for k := range n {
		var hm histMerger
		m := &out.Steps[k]
		*m = CapacityStep{Step: k, StartS: in[0].Steps[k].StartS, DurationS: in[0].Steps[k].DurationS}
		for _, c := range in {
			s := c.Steps[k]
			m.TargetRate += s.TargetRate
			m.AchievedRate += s.AchievedRate
			m.Ops += s.Ops
			m.Errors += s.Errors
			m.Late += s.Late
			hm.add(s.Histogram, s.Ops)
		}
		if hm.err != nil {
			return nil, fmt.Errorf("capacity step %d: %w", k, hm.err)
		}
		m.TargetRate, m.AchievedRate = round3(m.TargetRate), round3(m.AchievedRate)
		m.LatencyUS, m.Histogram = LatencyOf(hm.h), encodeString(hm.h)
		if m.Ops > 0 {
			m.ErrorRate = float64(m.Errors) / float64(m.Ops)
		}
	}
	for _, c := range in {
		out.RateStart += c.RateStart
	}
	out.RateStart = round3(out.RateStart)
	out.Judge()
	// A step in which one host's generator fell behind did not offer the
	// cluster its target, however well the sum looks.
	for k := range out.Steps {
		for _, c := range in {
			if c.Steps[k].Verdict != LimitGenerator || out.Steps[k].Verdict != StepOK {
				continue
			}
			out.Steps = out.Steps[:k+1]
			out.Steps[k].Verdict, out.LimitedBy = LimitGenerator, LimitGenerator
			out.MaxRateMeetingSLO = 0
			if k > 0 {
				out.MaxRateMeetingSLO = out.Steps[k-1].TargetRate
			}
			out.Note = fmt.Sprintf("a load GENERATOR, not the cluster, was the limit: at step %d one host started %g of its %g ops/s; the cluster met the SLO up to %g ops/s",
				k, math.Round(c.Steps[k].AchievedRate), c.Steps[k].TargetRate, out.MaxRateMeetingSLO)
			return &out, nil
		}
	}
	if out.LimitedBy == LimitInterrupted || (out.LimitedBy == LimitMaxSteps && shortest.LimitedBy != LimitMaxSteps) {
		// Every merged step passed, but a host stopped before the end:
		// what stopped it ends the merged search too.
		out.LimitedBy = shortest.LimitedBy
		out.Note = fmt.Sprintf("every step all hosts completed met the SLO up to %g ops/s; one host stopped there: %s", out.MaxRateMeetingSLO, shortest.Note)
	}
	return &out, nil
}

// CapacityHeader is the header row of capacity.csv.
var CapacityHeader = []string{
	"strategy", "step", "start_s", "duration_s", "target_rate", "achieved_rate", "ops", "errors", "error_rate", "late",
	"p50_us", "p90_us", "p99_us", "p999_us", "max_us", "slo_p99_us", "verdict",
}

// HasCapacity reports whether any strategy of s ran a capacity search.
func (s *Summary) HasCapacity() bool {
	for i := range s.Strategies {
		if s.Strategies[i].Capacity != nil {
			return true
		}
	}
	return false
}

// WriteCapacityCSV writes capacity.csv: one row per step per strategy.
func WriteCapacityCSV(w io.Writer, s *Summary) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(CapacityHeader)
	for _, st := range s.Strategies {
		c := st.Capacity
		if c == nil {
			continue
		}
		for _, p := range c.Steps {
			l := p.LatencyUS
			_ = cw.Write([]string{
				st.Name, strconv.Itoa(p.Step), fmtFloat(p.StartS), fmtFloat(p.DurationS), fmtFloat(p.TargetRate), fmtFloat(p.AchievedRate),
				count(p.Ops), count(p.Errors), fmtFloat(p.ErrorRate), count(p.Late),
				fmtFloat(l.P50), fmtFloat(l.P90), fmtFloat(l.P99), fmtFloat(l.P999), fmtFloat(l.Max), fmtFloat(c.SLOP99US), p.Verdict,
			})
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("metrics: capacity: %w", err)
	}
	return nil
}

// capacityTables returns the per-step table and the per-strategy outcome
// table of the strategies that ran a capacity search.
func capacityTables(s *Summary) (steps, outcome table) {
	steps = table{textCols: 1, header: []string{"strategy", "step", "target ops/s", "achieved ops/s", "p50", "p99", "p99.9", "errors", "late", "verdict"}}
	outcome = table{textCols: 1, header: []string{"strategy", "SLO p99", "max rate meeting SLO", "limited by"}}
	for _, st := range s.Strategies {
		c := st.Capacity
		if c == nil {
			continue
		}
		for _, p := range c.Steps {
			steps.rows = append(steps.rows, []string{
				st.Name, strconv.Itoa(p.Step), strconv.FormatFloat(p.TargetRate, 'f', 0, 64), strconv.FormatFloat(p.AchievedRate, 'f', 0, 64),
				us(p.LatencyUS.P50), us(p.LatencyUS.P99), us(p.LatencyUS.P999), count(p.Errors), count(p.Late), p.Verdict,
			})
		}
		outcome.rows = append(outcome.rows, []string{st.Name, us(c.SLOP99US), strconv.FormatFloat(c.MaxRateMeetingSLO, 'f', -1, 64), c.LimitedBy})
	}
	return steps, outcome
}

// RenderCapacityTable writes the capacity steps and outcome of every
// strategy that ran a search (nothing when none did).
func RenderCapacityTable(w io.Writer, s *Summary) error {
	if !s.HasCapacity() {
		return nil
	}
	steps, outcome := capacityTables(s)
	if _, err := fmt.Fprintln(w); err != nil {
		return err
	}
	if err := steps.text(w); err != nil {
		return err
	}
	if _, err := fmt.Fprintln(w); err != nil {
		return err
	}
	if err := outcome.text(w); err != nil {
		return err
	}
	for _, st := range s.Strategies {
		if st.Capacity != nil {
			if _, err := fmt.Fprintf(w, "%s: %s\n", st.Name, st.Capacity.Note); err != nil {
				return err
			}
		}
	}
	return nil
}

// WriteCapacityMarkdown writes report.md's capacity section (nothing when
// no strategy ran a search).
func WriteCapacityMarkdown(w io.Writer, s *Summary) error {
	if !s.HasCapacity() {
		return nil
	}
	steps, outcome := capacityTables(s)
	var b strings.Builder
	b.WriteString("\n## Capacity\n\n")
	b.WriteString("Each step ran the open-loop rate for its duration; a step meets the SLO when its p99 and error rate are within the limits " +
		"and the generator started at least " + strconv.Itoa(int(100*GeneratorMinShare)) + "% of the scheduled ops. " +
		"Latency is measured from each op's intended start.\n\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	if err := outcome.markdown(w); err != nil {
		return err
	}
	b.Reset()
	b.WriteString("\n")
	for _, st := range s.Strategies {
		if st.Capacity != nil {
			fmt.Fprintf(&b, "- %s: %s\n", st.Name, st.Capacity.Note)
		}
	}
	b.WriteString("\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	return steps.markdown(w)
}

// MergeSpan adds the all-ops histograms of intervals [from, to) into h and
// returns their counters summed, once every one of them is sealed (ok
// false, h untouched, before). A capacity search judges each step with it
// while the run goes on. An interval no operation started in is empty.
func (c *Collector) MergeSpan(h *hdr.Histogram, from, to int) (Counters, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.cfg.Now()
	c.advance(now, false)
	sealed := c.sealedUpTo
	// Intervals past the last one any recorder reported are empty once
	// their grace has passed.
	if elapsed := now.Sub(c.cfg.Start) - c.cfg.Grace; elapsed > 0 && c.sealedUpTo == len(c.intervals) {
		sealed = max(sealed, int(elapsed/c.cfg.Interval))
	}
	var sum Counters
	if from < 0 || to > sealed {
		return sum, false
	}
	for i := from; i < min(to, len(c.intervals)); i++ {
		iv := c.intervals[i]
		if iv == nil {
			continue
		}
		sum.add(&iv.counters)
		if iv.total != nil {
			iv.total.MergeInto(h)
		}
	}
	return sum, true
}
