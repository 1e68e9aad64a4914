package metrics

import (
	"fmt"
	"math"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Counters are the tallies kept next to the histograms.
type Counters struct {
	Ops      int64
	Outcomes [NumOutcomes]int64
	// Errors counts failed operations by class; its sum is Outcomes[Error].
	Errors [NumErrorClasses]int64
	// Redirect and refresh events, summed over operations (Sample.Moved, ...).
	Moved, Ask, TryAgain, Refreshes int64
}

// ErrorCount is the number of failed operations.
func (c *Counters) ErrorCount() int64 { return c.Outcomes[Error] }

func (c *Counters) add(o *Counters) {
	c.Ops += o.Ops
	for i := range c.Outcomes {
		c.Outcomes[i] += o.Outcomes[i]
	}
	for i := range c.Errors {
		c.Errors[i] += o.Errors[i]
	}
	c.Moved += o.Moved
	c.Ask += o.Ask
	c.TryAgain += o.TryAgain
	c.Refreshes += o.Refreshes
}

// tally is one phase's counters within an interval, with the time span of
// its operations: first is the earliest start, last the latest start.
// (Starts, not ends: a few slow operations must not stretch the span that
// throughput divides by.)
type tally struct {
	Counters
	first, last time.Duration
}

func (t *tally) add(o *tally) {
	if o.Ops == 0 {
		return
	}
	if t.Ops == 0 || o.first < t.first {
		t.first = o.first
	}
	if o.last > t.last {
		t.last = o.last
	}
	t.Counters.add(&o.Counters)
}

// Diagnostics count the cases where recording departed from the plan. All
// should be zero or small; they are reported so that a surprise shows.
type Diagnostics struct {
	// BufferAllocs counts interval buffers allocated because none was free
	// (the collector fell behind).
	BufferAllocs int64 `json:"buffer_allocs"`
	// HistogramAllocs counts histograms created by recorders.
	HistogramAllocs int64 `json:"histogram_allocs"`
	// Deferred counts intervals that found the collector's queue full and
	// waited in their recorder.
	Deferred int64 `json:"deferred"`
	// Backdated counts operations that started before their recorder's
	// current interval (an open-loop schedule running late); they are
	// counted in the current interval.
	Backdated int64 `json:"backdated"`
	// Clamped counts latencies above HistogramHighest, recorded as it.
	Clamped int64 `json:"clamped"`
	// BadSlot counts samples whose Slot was >= NumSlots (not counted per slot).
	BadSlot int64 `json:"bad_slot"`
	// Late counts intervals that reached the collector after it had sealed
	// them; they were merged in nevertheless.
	Late int64 `json:"late"`
}

func (d *Diagnostics) add(o *Diagnostics) {
	d.BufferAllocs += o.BufferAllocs
	d.HistogramAllocs += o.HistogramAllocs
	d.Deferred += o.Deferred
	d.Backdated += o.Backdated
	d.Clamped += o.Clamped
	d.BadSlot += o.BadSlot
	d.Late += o.Late
}

// maxSpare bounds the reset histograms an interval buffer keeps for
// combinations it has not used lately (a phase change swaps one set of
// combinations for another; a rare op comes and goes).
const maxSpare = 2

// snapshot is one recorder's interval: the unit handed to the collector.
// It belongs to the recorder until sent, then to the collector, which
// resets it and gives it back through the recorder's free list.
type snapshot struct {
	rec    *Recorder
	index  int               // interval index
	hists  []*hdr.Histogram  // by combo key (see Recorder.key); nil until first used
	spare  []*hdr.Histogram  // reset histograms to reuse before allocating
	phases []tally           // by phase
	final  bool              // the last one (Flush); carries the fields below
	slots  *[NumSlots]uint32 // the recorder's per-slot op counts
	nodes  []uint32          // the recorder's per-node op counts
	diag   Diagnostics
}

func newSnapshot(r *Recorder) *snapshot {
	return &snapshot{
		rec:    r,
		hists:  make([]*hdr.Histogram, r.nPhases*r.nOps*NumOutcomes),
		spare:  make([]*hdr.Histogram, 0, maxSpare),
		phases: make([]tally, r.nPhases),
	}
}

// reset clears the snapshot for reuse. Histograms not used in the interval
// move to the spare list (or are dropped), so a buffer does not keep a
// histogram for every combination it ever saw.
func (s *snapshot) reset() {
	for k, h := range s.hists {
		switch {
		case h == nil:
		case h.TotalCount() > 0:
			h.Reset()
		default:
			s.hists[k] = nil
			if len(s.spare) < maxSpare {
				s.spare = append(s.spare, h)
			}
		}
	}
	clear(s.phases)
}

// Recorder records the operations of one worker. It is not safe for
// concurrent use: each worker goroutine owns one (from
// Collector.NewRecorder) and calls Record after every operation, then Flush
// once at the end.
//
// Record takes no lock and performs no atomic operation; in steady state it
// does not allocate. When an operation starts in a later interval than the
// current one, the current interval is handed to the collector through a
// buffered channel without blocking, and a spare buffer from the recorder's
// free list (refilled by the collector) takes its place.
type Recorder struct {
	in         chan<- *snapshot
	free       chan *snapshot
	id         int
	interval   time.Duration
	nOps       int
	nPhases    int
	cur        *snapshot
	start, end time.Duration // the current interval is [start, end)
	pending    []*snapshot   // intervals the collector's queue had no room for
	nodes      []uint32
	diag       Diagnostics
	flushed    bool
	slots      [NumSlots]uint32
}

// freeBuffers is how many spare interval buffers a recorder can hold: one
// is enough while the collector keeps up (a buffer comes back within an
// interval); the second absorbs a collector hiccup.
const freeBuffers = 2

func newRecorder(c *Collector, id int, first int) *Recorder {
	r := &Recorder{
		in:       c.in,
		free:     make(chan *snapshot, freeBuffers),
		id:       id,
		interval: c.cfg.Interval,
		nOps:     len(c.cfg.Ops),
		nPhases:  len(c.cfg.Phases),
		nodes:    make([]uint32, 0, 16),
	}
	r.cur = newSnapshot(r)
	r.setInterval(first)
	r.free <- newSnapshot(r)
	return r
}

func (r *Recorder) setInterval(index int) {
	r.cur.index = index
	r.start = time.Duration(index) * r.interval
	r.end = r.start + r.interval
}

// Record adds one operation. at is when the operation started (its intended
// start under an open-loop schedule), measured from the run's start; it
// decides the interval. Samples must come in roughly increasing at: one that
// starts before the current interval is counted in it (Diagnostics.Backdated).
//
// Record panics if s.Op, s.Phase or s.Outcome is out of range, or after Flush.
func (r *Recorder) Record(at time.Duration, s Sample) {
	if at >= r.end {
		r.rotate(at)
	} else if at < r.start {
		r.diag.Backdated++
	}
	if int(s.Op) >= r.nOps || int(s.Phase) >= r.nPhases || s.Outcome >= NumOutcomes {
		badSample(s)
	}
	b := r.cur
	k := (int(s.Phase)*r.nOps+int(s.Op))*NumOutcomes + int(s.Outcome)
	h := b.hists[k]
	if h == nil {
		h = r.newHist(b, k)
	}
	v, clamped := clampNS(s.Latency)
	if clamped {
		r.diag.Clamped++
	}
	_ = h.RecordValue(v) // v is within the histogram's range: no error

	t := &b.phases[s.Phase]
	if t.Ops == 0 || at < t.first {
		t.first = at
	}
	if at > t.last {
		t.last = at
	}
	t.Ops++
	t.Outcomes[s.Outcome]++
	if s.Outcome == Error {
		c := s.ErrClass
		if c >= NumErrorClasses {
			c = Other
		}
		t.Errors[c]++
	}
	t.Moved += int64(s.Moved)
	t.Ask += int64(s.Ask)
	t.TryAgain += int64(s.TryAgain)
	t.Refreshes += int64(s.Refreshes)

	if int(s.Slot) < NumSlots {
		r.slots[s.Slot]++
	} else {
		r.diag.BadSlot++
	}
	if s.Node != NoNode {
		if int(s.Node) < len(r.nodes) {
			r.nodes[s.Node]++
		} else {
			r.countNewNode(s.Node)
		}
	}
}

func badSample(s Sample) {
	panic(fmt.Sprintf("metrics: Record: sample out of range: op %d, phase %d, outcome %d", s.Op, s.Phase, s.Outcome))
}

// newHist gives buffer b a histogram for combination k: a spare one if it
// has one, else a new one (the only allocation of Record, once per
// combination and buffer).
func (r *Recorder) newHist(b *snapshot, k int) *hdr.Histogram {
	var h *hdr.Histogram
	if n := len(b.spare); n > 0 {
		h = b.spare[n-1]
		b.spare = b.spare[:n-1]
	} else {
		h = NewHistogram()
		r.diag.HistogramAllocs++
	}
	b.hists[k] = h
	return h
}

func (r *Recorder) countNewNode(n uint16) {
	for len(r.nodes) <= int(n) {
		r.nodes = append(r.nodes, 0)
	}
	r.nodes[n]++
}

// rotate hands the current interval over and starts the one holding at.
func (r *Recorder) rotate(at time.Duration) {
	if r.flushed {
		panic("metrics: Record after Flush")
	}
	r.send(r.cur)
	select {
	case r.cur = <-r.free:
	default:
		r.cur = newSnapshot(r)
		r.diag.BufferAllocs++
	}
	r.setInterval(int(at / r.interval))
}

// send queues s for the collector without blocking. When the queue is full
// s waits in pending, and goes first at the next hand-over, keeping each
// recorder's intervals in order.
func (r *Recorder) send(s *snapshot) {
drain:
	for len(r.pending) > 0 {
		select {
		case r.in <- r.pending[0]:
			r.pending[0] = nil
			r.pending = r.pending[1:]
		default:
			break drain
		}
	}
	if len(r.pending) == 0 {
		select {
		case r.in <- s:
			return
		default:
		}
	}
	r.pending = append(r.pending, s)
	r.diag.Deferred++
}

// Flush hands the last, partial interval to the collector, together with
// the recorder's per-slot and per-node counts and diagnostics. It blocks
// while the collector's queue is full. The recorder must not be used after
// Flush; calling Flush again does nothing.
func (r *Recorder) Flush() {
	if r.flushed {
		return
	}
	r.flushed = true
	s := r.cur
	r.cur = nil
	s.final = true
	s.slots = &r.slots
	s.nodes = r.nodes
	s.diag = r.diag
	for _, p := range r.pending {
		r.in <- p
	}
	r.pending = nil
	r.in <- s
	// Any later Record goes to rotate, which panics with a clear message.
	r.start, r.end = math.MinInt64, math.MinInt64
}
