package strategy

import (
	"context"

	"github.com/clusterbench/clusterbench/internal/resp"
	"github.com/clusterbench/clusterbench/router"
)

// BatchWorker is a Worker that can pipeline: DoBatch sends every request
// before it reads a reply, one write per node, and fills out[i] for
// reqs[i]. Strategies whose library cannot pipeline across slots do not
// implement it.
type BatchWorker interface {
	Worker
	DoBatch(ctx context.Context, reqs []*Request, out []Result)
}

var _ BatchWorker = (*ownWorker)(nil)

// pending is a node's share of a batch: its connection and the requests
// sent on it, in order.
type pending struct {
	addr string
	conn *resp.Conn
	reqs []int
}

// batchState is a worker's reusable storage for DoBatch.
type batchState struct {
	nodes   []pending
	errs    []byte  // error replies of the batch, back to back
	errEnd  []int   // errs[errStart[i]:errEnd[i]] is request i's error reply
	errFrom []int   // start offsets
	firsts  []error // request i's I/O error, if its node failed
	addrs   []string
}

// DoBatch pipelines reqs: each goes to its slot's node, all of a node's
// requests in one write, then every reply is read. Requests whose reply
// was an error (MOVED, ASK, TRYAGAIN, ...) are then carried on one by one
// through the router, exactly as Do would have after its first send.
func (w *ownWorker) DoBatch(ctx context.Context, reqs []*Request, out []Result) {
	b := &w.batch
	n := len(reqs)
	b.nodes = b.nodes[:0]
	b.errs = b.errs[:0]
	b.errFrom, b.errEnd = resize(b.errFrom, n), resize(b.errEnd, n)
	b.firsts = resizeErr(b.firsts, n)
	b.addrs = resizeStr(b.addrs, n)

	// Send: route every request and append it to its node's write.
	for i, r := range reqs {
		out[i] = Result{}
		addr, ok := w.session.Route(r.Slot)
		if !ok {
			out[i] = Result{Err: router.ErrNoOwner, Kind: router.KindOther}
			b.firsts[i] = router.ErrNoOwner
			continue
		}
		b.addrs[i] = addr
		c, err := w.t.conn(ctx, addr)
		if err != nil {
			b.firsts[i] = err
			continue
		}
		k := b.node(addr, c)
		w.t.req = r
		w.t.appendRequest(c)
		b.nodes[k].reqs = append(b.nodes[k].reqs, i)
	}
	for k := range b.nodes {
		p := &b.nodes[k]
		if err := p.conn.Flush(ctx); err != nil {
			b.fail(p.reqs, err)
			w.t.fail(p.addr, p.conn, err)
		}
	}
	// Read every reply before anything is resent: a retry on a connection
	// with replies still unread would take one of theirs. Error replies are
	// copied, since the connection's buffer is reused by the next read.
	for k := range b.nodes {
		p := &b.nodes[k]
		if p.conn.Broken() != nil {
			continue
		}
		for j, i := range p.reqs {
			rep, err := p.conn.Read(ctx)
			if err != nil {
				b.fail(p.reqs[j:], err) // the replies read before stand
				w.t.fail(p.addr, p.conn, err)
				break
			}
			if rep.IsError() {
				b.errFrom[i] = len(b.errs)
				b.errs = append(b.errs, rep.Str...)
				b.errEnd[i] = len(b.errs)
			}
		}
	}
	// Resume what did not succeed at once.
	for i, r := range reqs {
		if out[i].Err != nil && b.addrs[i] == "" {
			continue // no owner
		}
		var errReply []byte
		if b.errEnd[i] > b.errFrom[i] {
			errReply = b.errs[b.errFrom[i]:b.errEnd[i]:b.errEnd[i]]
		}
		if errReply == nil && b.firsts[i] == nil {
			out[i] = Result{Node: b.addrs[i]}
			continue
		}
		w.t.req = r
		res := w.session.Resume(ctx, r.Slot, b.addrs[i], errReply, b.firsts[i])
		out[i] = Result{Moved: res.Moved, Ask: res.Ask, TryAgain: res.TryAgain, Retries: res.Retries,
			Refreshes: res.Refreshes, Err: res.Err, Kind: res.Kind, Node: res.Addr}
	}
	w.t.req = nil
}

// node returns the index of addr's pending entry, adding it if new.
func (b *batchState) node(addr string, c *resp.Conn) int {
	for k := range b.nodes {
		if b.nodes[k].addr == addr {
			return k
		}
	}
	if len(b.nodes) < cap(b.nodes) {
		b.nodes = b.nodes[:len(b.nodes)+1]
		p := &b.nodes[len(b.nodes)-1]
		p.addr, p.conn, p.reqs = addr, c, p.reqs[:0]
	} else {
		b.nodes = append(b.nodes, pending{addr: addr, conn: c})
	}
	return len(b.nodes) - 1
}

// fail gives the requests reqs (indexes) their node's I/O error.
func (b *batchState) fail(reqs []int, err error) {
	for _, i := range reqs {
		b.firsts[i] = err
	}
}

func resize(s []int, n int) []int {
	if cap(s) < n {
		return make([]int, n)
	}
	s = s[:n]
	clear(s)
	return s
}

func resizeErr(s []error, n int) []error {
	if cap(s) < n {
		return make([]error, n)
	}
	s = s[:n]
	clear(s)
	return s
}

func resizeStr(s []string, n int) []string {
	if cap(s) < n {
		return make([]string, n)
	}
	s = s[:n]
	clear(s)
	return s
}
