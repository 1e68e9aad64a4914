package runner

import (
	"context"
	"time"

	"github.com/clusterbench/clusterbench/metrics"
	"github.com/clusterbench/clusterbench/router"
	"github.com/clusterbench/clusterbench/strategy"
	"github.com/clusterbench/clusterbench/workload"
)

// pipelineState is a worker's reusable storage for --pipeline > 1: one
// request (with its own key buffers) per slot of the pipeline.
type pipelineState struct {
	reqs    []*strategy.Request
	out     []strategy.Result
	ops     []workload.Op
	keys    [][]byte
	batches []workload.KeyBatch
	groups  [][][]byte
}

func newPipelineState(depth int) *pipelineState {
	p := &pipelineState{
		reqs: make([]*strategy.Request, depth), out: make([]strategy.Result, depth),
		ops: make([]workload.Op, depth), keys: make([][]byte, depth),
		batches: make([]workload.KeyBatch, depth), groups: make([][][]byte, depth),
	}
	for i := range p.reqs {
		p.reqs[i] = &strategy.Request{}
	}
	return p
}

// fillRequest draws the generator's next op into r, with its key in *key
// and, for mget/mset, its group's keys through batch into *group.
func fillRequest(gen *workload.Generator, r *strategy.Request, key *[]byte, batch *workload.KeyBatch, group *[][]byte) workload.Op {
	op, k := gen.Next((*key)[:0])
	*key = k
	r.Kind, r.Key, r.Value, r.Keys = opKinds[op], k, nil, r.Keys[:0]
	if op.Writes() && op != workload.OpIncr {
		r.Value = gen.Value()
	}
	if op.Multi() {
		batch.Reset()
		gen.AppendGroup(batch)
		*group = (*group)[:0]
		for i := 0; i < batch.Len(); i++ {
			*group = append(*group, batch.Key(i))
		}
		r.Keys = *group
	}
	r.Slot = router.Slot(k)
	return op
}

// runPipelined is the closed loop with --pipeline ops in flight: the
// worker sends a batch, waits for every reply, records each op, and sends
// the next. Every op of a batch gets the batch's latency, from its send to
// its last reply, as redis-benchmark -P reports it.
func (w *worker) runPipelined(stop, hard context.Context, bw strategy.BatchWorker) {
	defer w.rec.Flush()
	for stop.Err() == nil {
		start := time.Now()
		if !start.Before(w.clock.stopAt) || !w.oneBatch(hard, bw, start) {
			return
		}
	}
}

// oneBatch sends one batch, started at start, and records its ops; false
// when hard ended it (its ops are counted as aborted, not recorded).
func (w *worker) oneBatch(hard context.Context, bw strategy.BatchWorker, start time.Time) bool {
	p := w.pipe
	for i, r := range p.reqs {
		p.ops[i] = fillRequest(w.gen, r, &p.keys[i], &p.batches[i], &p.groups[i])
	}
	phase := uint8(w.clock.phase.Load())
	w.clock.issued.Add(int64(len(p.reqs)))
	bw.DoBatch(hard, p.reqs, p.out)
	latency := time.Since(start)
	if hard.Err() != nil {
		w.clock.aborted.Add(int64(len(p.reqs)))
		return false
	}
	at := start.Sub(w.clock.t0)
	for i, res := range p.out {
		s := metrics.Sample{
			Latency: latency, Slot: p.reqs[i].Slot, Node: metrics.NoNode, Op: uint8(p.ops[i]), Phase: phase,
			Moved: res.Moved, Ask: res.Ask, TryAgain: res.TryAgain, Refreshes: res.Refreshes,
		}
		if res.Node != "" {
			s.Node = w.node(res.Node)
		}
		s.Outcome, s.ErrClass = classify(res)
		w.rec.Record(at, s)
	}
	return true
}
