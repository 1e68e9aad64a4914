package metrics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Defaults for Config.
const (
	DefaultInterval  = time.Second
	DefaultQueueSize = 4096
)

// Config describes what a Collector and its Recorders count.
type Config struct {
	// Ops are the operation names by Sample.Op index (e.g. get, set).
	Ops []string
	// Phases are the phase names by Sample.Phase index (e.g. warmup,
	// baseline, migrating, after).
	Phases []string
	// Interval is the timeline's resolution (DefaultInterval when zero).
	Interval time.Duration
	// Grace is how long after an interval's end the collector waits for
	// all recorders before it seals the interval anyway (Interval when
	// zero). Data arriving later is still merged into it.
	Grace time.Duration
	// Start is the wall-clock time of at == 0 (time.Now() when zero). It
	// dates the HdrHistogram log and, with Now, drives Grace.
	Start time.Time
	// Now is the clock (time.Now when nil); tests replace it.
	Now func() time.Time
	// QueueSize is the capacity of the channel from the recorders to the
	// collector (DefaultQueueSize when zero).
	QueueSize int
}

func (c *Config) validate() error {
	var problems []error
	check := func(kind string, names []string) {
		if len(names) == 0 || len(names) > 256 {
			problems = append(problems, fmt.Errorf("%w: need 1 to 256 %s names, got %d", ErrConfig, kind, len(names)))
		}
		seen := map[string]bool{}
		for _, n := range names {
			if n == "" || seen[n] {
				problems = append(problems, fmt.Errorf("%w: %s name %q empty or repeated", ErrConfig, kind, n))
			}
			seen[n] = true
		}
	}
	check("op", c.Ops)
	check("phase", c.Phases)
	if c.Interval < 0 || c.Grace < 0 || c.QueueSize < 0 {
		problems = append(problems, fmt.Errorf("%w: negative interval, grace or queue size", ErrConfig))
	}
	return errors.Join(problems...)
}

// IntervalStats are one interval's numbers, over all recorders, ops and
// phases: a row of timeline.csv and the live status line.
type IntervalStats struct {
	Index int
	Start time.Duration // from the run's start
	// Phase is the phase with the most operations in the interval ("" if none).
	Phase                                   string
	Ops                                     int64
	Throughput                              float64 // ops per second
	Latency                                 Latency // µs
	Moved, Ask, TryAgain, Errors, Refreshes int64
	// Complete reports that every recorder had moved past the interval (or
	// flushed); otherwise the numbers may still grow.
	Complete bool
}

// interval is the collector's state for one interval: per-op histograms in
// HdrHistogram's sparse form (a few KB, where a dense one is 221 KB), the
// counters, and once sealed, the all-ops histogram and the stats.
type interval struct {
	ops      []*hdr.PackedHistogram // by op; nil until the op is seen
	counters Counters
	phaseOps []int64
	sealed   bool
	total    *hdr.PackedHistogram // all ops, from sealing on
	stats    IntervalStats
}

// Collector merges the recorders' intervals. Create it with NewCollector,
// create one Recorder per worker, run Run in a goroutine (or call Poll),
// and call Result once every recorder has flushed.
type Collector struct {
	cfg   Config
	in    chan *snapshot
	stop  chan struct{}
	once  sync.Once
	runMu sync.Mutex // held by Run while it runs; Result waits for it

	mu         sync.Mutex
	recs       []recState
	intervals  []*interval
	sealedUpTo int              // intervals below are sealed
	cum        []*hdr.Histogram // cumulative by combo, over sealed intervals
	phases     []tally
	slots      []uint64
	nodes      []uint64
	diag       Diagnostics
	scratch    *hdr.PackedHistogram // one snapshot histogram in sparse form
	dense      *hdr.Histogram       // for percentiles of an interval
	result     *Result
}

type recState struct {
	next  int  // lowest interval the recorder may still send
	final bool // flushed
}

// NewCollector checks cfg and returns an empty collector.
func NewCollector(cfg Config) (*Collector, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Grace == 0 {
		cfg.Grace = cfg.Interval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Start.IsZero() {
		cfg.Start = cfg.Now()
	}
	if cfg.QueueSize == 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	cfg.Ops = append([]string(nil), cfg.Ops...)
	cfg.Phases = append([]string(nil), cfg.Phases...)
	return &Collector{
		cfg:     cfg,
		in:      make(chan *snapshot, cfg.QueueSize),
		stop:    make(chan struct{}),
		cum:     make([]*hdr.Histogram, len(cfg.Phases)*len(cfg.Ops)*NumOutcomes),
		phases:  make([]tally, len(cfg.Phases)),
		slots:   make([]uint64, NumSlots),
		scratch: newPacked(),
		dense:   NewHistogram(),
	}, nil
}

// Config returns the collector's configuration with defaults filled in.
func (c *Collector) Config() Config { return c.cfg }

// NewRecorder returns a recorder for one worker. Recorders may be added
// during the run; the collector then waits for them too before it calls an
// interval complete.
func (c *Collector) NewRecorder() *Recorder {
	c.mu.Lock()
	defer c.mu.Unlock()
	first := max(0, int(c.cfg.Now().Sub(c.cfg.Start)/c.cfg.Interval))
	c.recs = append(c.recs, recState{next: first})
	return newRecorder(c, len(c.recs)-1, first)
}

// Run merges intervals as they arrive until ctx is done or Result is
// called. Run at most one Run at a time.
func (c *Collector) Run(ctx context.Context) {
	c.runMu.Lock()
	defer c.runMu.Unlock()
	for {
		select {
		case s := <-c.in:
			c.process(s)
		case <-ctx.Done():
			return
		case <-c.stop:
			return
		}
	}
}

// Poll merges the intervals already queued, without waiting, and returns
// how many it merged. It is Run's synchronous sibling for tests and
// single-goroutine use.
func (c *Collector) Poll() int {
	n := 0
	for {
		select {
		case s := <-c.in:
			c.process(s)
			n++
		default:
			return n
		}
	}
}

// key returns the combo index of (phase, op, outcome).
func (c *Collector) key(phase, op int, o Outcome) int {
	return (phase*len(c.cfg.Ops)+op)*NumOutcomes + int(o)
}

// unkey splits a combo index.
func (c *Collector) unkey(k int) (phase, op int, o Outcome) {
	o = Outcome(k % NumOutcomes)
	k /= NumOutcomes
	return k / len(c.cfg.Ops), k % len(c.cfg.Ops), o
}

// process merges one snapshot and gives its buffer back to its recorder.
func (c *Collector) process(s *snapshot) {
	c.mu.Lock()
	rs := &c.recs[s.rec.id]
	rs.next = max(rs.next, s.index+1)
	for p := range s.phases {
		c.phases[p].add(&s.phases[p])
	}
	c.merge(s)
	if s.final {
		rs.final = true
		for i, n := range s.slots {
			c.slots[i] += uint64(n)
		}
		for len(c.nodes) < len(s.nodes) {
			c.nodes = append(c.nodes, 0)
		}
		for i, n := range s.nodes {
			c.nodes[i] += uint64(n)
		}
		c.diag.add(&s.diag)
	}
	c.advance(c.cfg.Now(), false)
	c.mu.Unlock()

	if !s.final {
		s.reset()
		select {
		case s.rec.free <- s:
		default: // the recorder has enough spares; let this one go
		}
	}
}

// at returns interval i's state, creating it (and those before it).
func (c *Collector) at(i int) *interval {
	for len(c.intervals) <= i {
		c.intervals = append(c.intervals, nil)
	}
	iv := c.intervals[i]
	if iv == nil {
		iv = &interval{
			ops:      make([]*hdr.PackedHistogram, len(c.cfg.Ops)),
			phaseOps: make([]int64, len(c.cfg.Phases)),
		}
		c.intervals[i] = iv
	}
	return iv
}

// merge adds snapshot s to its interval and to the cumulative histograms.
// Each of its dense histograms is read once, into the sparse scratch
// histogram, whose populated buckets are then added index by index: much
// cheaper than Histogram.Merge, which walks every bucket up to the
// largest value, recomputing each value and re-recording it.
//
// An interval already sealed (a recorder reporting after Grace) takes the
// data the same way; its stats are recomputed.
func (c *Collector) merge(s *snapshot) {
	var ops int64
	for p := range s.phases {
		ops += s.phases[p].Ops
	}
	if ops == 0 {
		return
	}
	iv := c.at(s.index)
	for k, h := range s.hists {
		if h == nil || h.TotalCount() == 0 {
			continue
		}
		_, op, _ := c.unkey(k)
		c.scratch.Reset()
		c.scratch.MergeFrom(h)
		c.scratch.MergeInto(c.cumHist(k))
		if iv.ops[op] == nil {
			iv.ops[op] = newPacked()
		}
		iv.ops[op].Merge(c.scratch)
		if iv.sealed {
			iv.total.Merge(c.scratch)
		}
	}
	for p := range s.phases {
		iv.counters.add(&s.phases[p].Counters)
		iv.phaseOps[p] += s.phases[p].Ops
	}
	if iv.sealed {
		c.finish(s.index, iv)
		c.diag.Late++
	}
}

func newPacked() *hdr.PackedHistogram {
	return hdr.NewPacked(HistogramLowest, HistogramHighest, HistogramSigFigs)
}

// mergeDense adds src to dst through the sparse form (see merge).
func mergeDense(dst, src *hdr.Histogram, scratch *hdr.PackedHistogram) {
	scratch.Reset()
	scratch.MergeFrom(src)
	scratch.MergeInto(dst)
}

func (c *Collector) cumHist(k int) *hdr.Histogram {
	if c.cum[k] == nil {
		c.cum[k] = NewHistogram()
	}
	return c.cum[k]
}

// reportedUpTo returns the number of leading intervals every recorder has
// moved past.
func (c *Collector) reportedUpTo() int {
	n := math.MaxInt
	for _, r := range c.recs {
		if !r.final {
			n = min(n, r.next)
		}
	}
	if len(c.recs) == 0 {
		return 0
	}
	return n
}

// advance seals the intervals that every recorder has moved past, and
// those whose grace has passed. With all, it seals every interval.
func (c *Collector) advance(now time.Time, all bool) {
	horizon := len(c.intervals)
	if !all {
		h := c.reportedUpTo()
		if elapsed := now.Sub(c.cfg.Start) - c.cfg.Grace; elapsed > 0 {
			h = max(h, int(elapsed/c.cfg.Interval))
		}
		horizon = min(horizon, h)
	}
	for ; c.sealedUpTo < horizon; c.sealedUpTo++ {
		c.seal(c.sealedUpTo)
	}
}

// seal computes interval i's all-ops histogram and its stats.
func (c *Collector) seal(i int) {
	iv := c.at(i)
	iv.total = newPacked()
	for _, h := range iv.ops {
		if h != nil {
			iv.total.Merge(h)
		}
	}
	iv.sealed = true
	c.finish(i, iv)
}

// finish computes a sealed interval's stats.
func (c *Collector) finish(i int, iv *interval) {
	phase := ""
	var most int64
	for p, n := range iv.phaseOps {
		if n > most {
			phase, most = c.cfg.Phases[p], n
		}
	}
	// Percentiles from a dense copy, exactly as for every other histogram.
	c.dense.Reset()
	iv.total.MergeInto(c.dense)
	iv.stats = IntervalStats{
		Index:      i,
		Start:      time.Duration(i) * c.cfg.Interval,
		Phase:      phase,
		Ops:        iv.counters.Ops,
		Throughput: round3(float64(iv.counters.Ops) / c.cfg.Interval.Seconds()),
		Latency:    LatencyOf(c.dense),
		Moved:      iv.counters.Moved,
		Ask:        iv.counters.Ask,
		TryAgain:   iv.counters.TryAgain,
		Errors:     iv.counters.ErrorCount(),
		Refreshes:  iv.counters.Refreshes,
	}
}

// Interval returns interval i's stats once it is sealed: every recorder
// has moved past it, or Grace has passed since its end. The status line
// polls it. Stats of a sealed interval can still grow if a late recorder
// reports; Complete says whether all have.
func (c *Collector) Interval(i int) (IntervalStats, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advance(c.cfg.Now(), false)
	if i < 0 || i >= c.sealedUpTo {
		return IntervalStats{}, false
	}
	st := c.intervals[i].stats
	st.Complete = i < c.reportedUpTo()
	return st, true
}

// Latest returns the stats of the newest sealed interval.
func (c *Collector) Latest() (IntervalStats, bool) {
	c.mu.Lock()
	n := c.sealedUpTo
	c.mu.Unlock()
	return c.Interval(n - 1)
}

// Result stops Run, merges what is still queued, seals every interval and
// returns the run's numbers. Call it after every recorder's Flush: a
// recorder that has not flushed is missing its last interval and its slot
// counts (Result.Unflushed counts them). Later calls return the same Result.
func (c *Collector) Result() *Result {
	c.once.Do(func() { close(c.stop) })
	c.runMu.Lock() // wait for Run to return
	defer c.runMu.Unlock()
	c.Poll()

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.result != nil {
		return c.result
	}
	c.advance(c.cfg.Now(), true)
	reported := c.reportedUpTo()
	r := &Result{
		Ops:       c.cfg.Ops,
		Phases:    c.cfg.Phases,
		Interval:  c.cfg.Interval,
		Start:     c.cfg.Start,
		Recorders: len(c.recs),
		Diag:      c.diag,
		SlotOps:   c.slots,
		NodeOps:   c.nodes,
		hists:     c.cum,
		nOps:      len(c.cfg.Ops),
		scratch:   c.scratch,
	}
	for _, rs := range c.recs {
		if !rs.final {
			r.Unflushed++
		}
	}
	var lastStart time.Duration
	for p := range c.phases {
		t := &c.phases[p]
		r.Totals.add(&t.Counters)
		lastStart = max(lastStart, t.last)
		pr := PhaseResult{Name: c.cfg.Phases[p], Counters: t.Counters}
		if t.Ops > 0 {
			pr.Start, pr.End = t.first, t.last
		}
		pr.Hist = r.Merged(func(phase, _ int, _ Outcome) bool { return phase == p })
		pr.Latency = LatencyOf(pr.Hist)
		if d := (pr.End - pr.Start).Seconds(); d > 0 {
			pr.Throughput = round3(float64(pr.Ops) / d)
		}
		r.PhaseResults = append(r.PhaseResults, pr)
	}
	for i, iv := range c.intervals {
		ir := IntervalResult{IntervalStats: iv.stats, Hist: iv.total, OpHists: iv.ops}
		ir.Complete = i < reported
		if i == len(c.intervals)-1 {
			// The last interval is cut short by the run's end: divide by the
			// span up to the last operation's start.
			if d := (lastStart - ir.Start).Seconds(); d > 0 && d < c.cfg.Interval.Seconds() {
				ir.Throughput = round3(float64(ir.Ops) / d)
			}
		}
		r.Intervals = append(r.Intervals, ir)
	}
	c.result = r
	return r
}
