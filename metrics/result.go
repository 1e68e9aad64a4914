package metrics

import (
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Result is what a Collector saw over a run (one strategy).
type Result struct {
	Ops      []string
	Phases   []string
	Interval time.Duration
	Start    time.Time // wall-clock time of at == 0

	// Intervals is the timeline, by interval index from 0.
	Intervals []IntervalResult
	// PhaseResults are by phase index (same order as Phases).
	PhaseResults []PhaseResult
	// Totals are over all phases.
	Totals Counters

	// SlotOps counts operations per hash slot (len NumSlots); NodeOps per
	// Sample.Node index. Both come with each recorder's Flush.
	SlotOps []uint64
	NodeOps []uint64

	Recorders int
	Unflushed int // recorders that never flushed: their last interval is missing
	Diag      Diagnostics

	hists   []*hdr.Histogram // cumulative, by (phase, op, outcome) combo
	nOps    int
	scratch *hdr.PackedHistogram
}

// IntervalResult is one interval of the timeline with its histograms.
type IntervalResult struct {
	IntervalStats
	// Hist is the interval's histogram over all ops (empty when it had
	// none); OpHists are per op, by op index (nil for an op that did not
	// run). They are HdrHistogram's sparse form; Encode gives the .hlog
	// payload and MergeInto a dense copy. Do not modify them.
	Hist    *hdr.PackedHistogram
	OpHists []*hdr.PackedHistogram
}

// PhaseResult is one phase over the whole run.
type PhaseResult struct {
	Name string
	Counters
	// Start and End are the earliest and the latest start of the phase's
	// operations, from the run's start; Throughput is Ops over that span.
	Start, End time.Duration
	Throughput float64
	Latency    Latency
	// Hist merges the phase's ops and outcomes (nil when it had none).
	Hist *hdr.Histogram
}

// Histogram returns the cumulative histogram of one (phase, op, outcome)
// combination, or nil when it saw no operation. Do not modify it.
func (r *Result) Histogram(phase, op int, o Outcome) *hdr.Histogram {
	k := (phase*r.nOps+op)*NumOutcomes + int(o)
	if phase < 0 || op < 0 || op >= r.nOps || o >= NumOutcomes || k >= len(r.hists) {
		return nil
	}
	return r.hists[k]
}

// Merged returns a new histogram merging the cumulative histograms of the
// combinations keep selects, or nil when none of them saw an operation.
// It is not safe for concurrent use.
func (r *Result) Merged(keep func(phase, op int, o Outcome) bool) *hdr.Histogram {
	var m *hdr.Histogram
	for k, h := range r.hists {
		if h == nil || h.TotalCount() == 0 {
			continue
		}
		o := Outcome(k % NumOutcomes)
		po := k / NumOutcomes
		if !keep(po/r.nOps, po%r.nOps, o) {
			continue
		}
		if m == nil {
			m = NewHistogram()
		}
		mergeDense(m, h, r.scratch)
	}
	return m
}

// Duration is the span from the run's start to the start of its last
// operation.
func (r *Result) Duration() time.Duration {
	var d time.Duration
	for _, p := range r.PhaseResults {
		d = max(d, p.End)
	}
	return d
}
