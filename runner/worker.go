package runner

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/clusterbench/clusterbench/internal/pace"
	"github.com/clusterbench/clusterbench/metrics"
	"github.com/clusterbench/clusterbench/router"
	"github.com/clusterbench/clusterbench/strategy"
	"github.com/clusterbench/clusterbench/workload"
)

// Phase indexes, in the order of phaseNames.
const (
	phaseWarmup = iota
	phaseBaseline
	phaseMigrating
	phaseAfter
)

var phaseNames = []string{"warmup", "baseline", "migrating", "after"}

// opNames are the metrics op names, indexed by workload.Op.
var opNames = func() []string {
	names := make([]string, workload.NumOps)
	for op := workload.Op(0); op < workload.NumOps; op++ {
		names[op] = op.String()
	}
	return names
}()

// opKinds maps a workload op to the strategy's request kind.
var opKinds = [workload.NumOps]strategy.OpKind{
	workload.OpGet: strategy.OpGet, workload.OpSet: strategy.OpSet, workload.OpDel: strategy.OpDel,
	workload.OpIncr: strategy.OpIncr, workload.OpMGet: strategy.OpMGet, workload.OpMSet: strategy.OpMSet,
}

// clock is the time base a strategy's workers share.
type clock struct {
	t0      time.Time    // at == 0
	stopAt  time.Time    // no op starts at or after this
	phase   atomic.Int32 // the current phase
	issued  atomic.Int64 // ops started (all workers)
	aborted atomic.Int64 // ops cut short by the end of the run, not recorded
	late    atomic.Int64 // open loop: ops started more than lateBy after their intended start

	faults faultWatch
}

// faultWatch times a node failure as the workers see it: the first op that
// fails because a node is down or not answering (connection refused or
// reset, timeout, CLUSTERDOWN), and the first op started after it that
// succeeds on a slot of the same master, which after a kill is served by
// the promoted replica. The master of a slot is taken from the slot map
// at the start. Only the first fault is timed.
type faultWatch struct {
	owner []int16 // master index of each slot at the start; nil: not watched

	mu        sync.Mutex
	at        atomic.Int64 // ns from t0 when the fault was seen, 0 until then
	slot      uint16       // the failed op's slot; written before at
	class     metrics.ErrorClass
	recovered atomic.Int64 // ns from t0 when the first op after the fault succeeded there
	node      string       // the node that served it, when the strategy says; written by the CAS winner
}

// nodeDown reports the error classes of a node that is down or paused.
func nodeDown(c metrics.ErrorClass) bool {
	return c == metrics.ConnRefused || c == metrics.Timeout || c == metrics.ClusterDown
}

// observe looks at one finished op that started at start and ended at end
// (both from t0). It allocates nothing and, outside a fault, costs two
// atomic loads.
func (f *faultWatch) observe(s *metrics.Sample, node string, start, end time.Duration) {
	if f.owner == nil {
		return
	}
	at := f.at.Load()
	if s.Outcome == metrics.Error {
		if at == 0 && nodeDown(s.ErrClass) {
			f.mu.Lock()
			if f.at.Load() == 0 {
				f.slot, f.class = s.Slot, s.ErrClass
				f.at.Store(max(int64(end), 1))
			}
			f.mu.Unlock()
		}
		return
	}
	if at != 0 && f.recovered.Load() == 0 && int64(start) >= at && f.owner[s.Slot] == f.owner[f.slot] {
		if f.recovered.CompareAndSwap(0, max(int64(end), 1)) {
			f.node = node
		}
	}
}

// lateBy is how far behind its schedule an open-loop op must start to count
// as late (the generator, not the cluster, is then the bottleneck).
const lateBy = time.Millisecond

// nodeIndex numbers node addresses for metrics.Sample.Node. Shared by the
// workers of a run; each worker caches what it has seen.
type nodeIndex struct {
	mu    chan struct{} // a one-slot lock that never allocates
	addrs []string
	index map[string]uint16
}

func newNodeIndex() *nodeIndex {
	n := &nodeIndex{mu: make(chan struct{}, 1), index: map[string]uint16{}}
	return n
}

func (n *nodeIndex) lookup(addr string) uint16 {
	n.mu <- struct{}{}
	defer func() { <-n.mu }()
	if i, ok := n.index[addr]; ok {
		return i
	}
	i := uint16(len(n.addrs))
	n.addrs = append(n.addrs, addr)
	n.index[addr] = i
	return i
}

func (n *nodeIndex) list() []string {
	n.mu <- struct{}{}
	defer func() { <-n.mu }()
	return append([]string(nil), n.addrs...)
}

// worker drives one strategy.Worker with one generator and one recorder.
type worker struct {
	id       int
	gen      *workload.Generator
	client   strategy.Worker
	rec      *metrics.Recorder
	clock    *clock
	nodes    *nodeIndex
	schedule workload.Schedule // nil: closed loop
	workers  int
	pipe     *pipelineState // --pipeline > 1 (pipeline.go); nil: one op at a time

	req   strategy.Request
	key   []byte
	batch workload.KeyBatch
	keys  [][]byte
	seen  map[string]uint16 // this worker's cache of nodes
	// lastAddr and lastNode: the entry of seen used last.
	lastAddr string
	lastNode uint16
	rounds   uint64
	ver      *verifyWorker // --verify (verify.go); nil otherwise
}

// run issues ops until the clock's stop time, or until stop is done; ops
// in flight when hard is done are abandoned (counted, not recorded).
func (w *worker) run(stop, hard context.Context) {
	if bw, ok := w.client.(strategy.BatchWorker); ok && w.pipe != nil {
		w.runPipelined(stop, hard, bw)
		return
	}
	defer w.rec.Flush()
	var wait *pace.Waiter // open loop: sleeps to each intended start
	if w.schedule != nil {
		wait = pace.New(stop)
		defer wait.Close()
	}
	for {
		var intended time.Time
		if w.schedule != nil {
			// Op k of the run goes to worker k mod W: worker w sends ops
			// w, w+W, w+2W, ... each at its intended start.
			k := w.rounds*uint64(w.workers) + uint64(w.id)
			off, ok := w.schedule.IntendedStart(k)
			if !ok {
				return
			}
			intended = w.clock.t0.Add(off)
			if !intended.Before(w.clock.stopAt) {
				return
			}
			if !wait.Until(intended) {
				return
			}
		} else if stop.Err() != nil {
			return
		}
		now := time.Now()
		if !now.Before(w.clock.stopAt) || stop.Err() != nil {
			return
		}
		if w.schedule == nil {
			intended = now
		} else if now.Sub(intended) > lateBy {
			w.clock.late.Add(1)
		}
		w.rounds++
		w.one(hard, intended)
	}
}

// one performs and records a single op whose latency counts from intended.
func (w *worker) one(ctx context.Context, intended time.Time) {
	op, key := w.gen.Next(w.key[:0])
	w.key = key
	r := &w.req
	r.Kind = opKinds[op]
	r.Key = key
	r.Value = nil
	r.Keys = r.Keys[:0]
	if op.Writes() && op != workload.OpIncr {
		r.Value = w.gen.Value()
	}
	if op.Multi() {
		w.batch.Reset()
		w.gen.AppendGroup(&w.batch)
		w.keys = w.keys[:0]
		for i := 0; i < w.batch.Len(); i++ {
			w.keys = append(w.keys, w.batch.Key(i))
		}
		r.Keys = w.keys
	}
	r.Slot = router.Slot(key)
	phase := uint8(w.clock.phase.Load())
	w.clock.issued.Add(1)

	var res strategy.Result
	if w.ver != nil {
		res = w.ver.do(ctx, w.client, r, op, w.gen.Index(), phase)
	} else {
		res = w.client.Do(ctx, r)
	}
	latency := time.Since(intended)
	if res.Err != nil && ctx.Err() != nil {
		w.clock.aborted.Add(1)
		return
	}
	s := metrics.Sample{
		Latency: latency, Slot: r.Slot, Node: metrics.NoNode, Op: uint8(op), Phase: phase,
		Moved: res.Moved, Ask: res.Ask, TryAgain: res.TryAgain, Refreshes: res.Refreshes,
	}
	if res.Node != "" {
		s.Node = w.node(res.Node)
	}
	s.Outcome, s.ErrClass = classify(res)
	start := intended.Sub(w.clock.t0)
	w.clock.faults.observe(&s, res.Node, start, start+latency)
	w.rec.Record(start, s)
}

func (w *worker) node(addr string) uint16 {
	// Most ops go where the last one went (always, with --pin-workers):
	// a string compare, not a map lookup.
	if addr == w.lastAddr {
		return w.lastNode
	}
	i, ok := w.seen[addr]
	if !ok {
		i = w.nodes.lookup(addr)
		w.seen[addr] = i
	}
	w.lastAddr, w.lastNode = addr, i
	return i
}

// classify turns a strategy result into the metrics outcome and error class.
func classify(res strategy.Result) (metrics.Outcome, metrics.ErrorClass) {
	if res.Err == nil {
		switch {
		case res.Moved > 0:
			return metrics.OKAfterMoved, 0
		case res.Ask > 0:
			return metrics.OKAfterAsk, 0
		case res.Retries > 0:
			return metrics.OKAfterRetry, 0
		}
		return metrics.OK, 0
	}
	err := res.Err
	switch {
	case errors.Is(err, router.ErrRedirectLimit):
		if res.Kind == router.KindMoved {
			return metrics.Error, metrics.Moved
		}
		return metrics.Error, metrics.RedirectLimit
	case res.Kind == router.KindClusterDown:
		return metrics.Error, metrics.ClusterDown
	case res.Kind == router.KindTryAgain:
		return metrics.Error, metrics.TryAgain
	case res.Kind == router.KindLoading:
		return metrics.Error, metrics.Loading
	case res.Kind == router.KindMoved || res.Kind == router.KindAsk:
		return metrics.Error, metrics.Moved
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return metrics.Error, metrics.Timeout
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.As(err, new(*net.OpError)) {
		return metrics.Error, metrics.ConnRefused
	}
	return metrics.Error, metrics.Other
}
