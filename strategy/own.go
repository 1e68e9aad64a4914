package strategy

import (
	"context"
	"errors"

	"github.com/clusterbench/clusterbench/internal/resp"
	"github.com/clusterbench/clusterbench/router"
)

// Own is a strategy built on the router package: a policy over
// connections of its own, one per worker per node.
type Own struct {
	name   string
	router *router.Router
	fetch  *fetcher
	opt    resp.Options
}

var _ Strategy = (*Own)(nil)

// NewOwn opens an own strategy with policy and reads the initial map.
func NewOwn(ctx context.Context, name string, policy router.Policy, cfg Config) (*Own, error) {
	opt := resp.Options{Username: cfg.Username, Password: cfg.Password, TLS: cfg.TLS, ReadTimeout: cfg.timeout()}
	f := newFetcher(opt)
	r, err := router.New(ctx, policy, cfg.Seeds, f)
	if err != nil {
		f.close()
		return nil, err
	}
	return &Own{name: name, router: r, fetch: f, opt: opt}, nil
}

// Name returns the strategy's name.
func (o *Own) Name() string { return o.name }

// Router exposes the router (for tests and the runner's map snapshots).
func (o *Own) Router() *router.Router { return o.router }

// Stats returns the router's counters.
func (o *Own) Stats() Stats { return Stats{Known: true, Stats: o.router.Stats()} }

// Close stops the refresher and closes the topology connections.
func (o *Own) Close() error {
	o.router.Close()
	o.fetch.close()
	return nil
}

// NewWorker returns a worker with its own connections.
func (o *Own) NewWorker(index int) (Worker, error) {
	t := &transport{opt: o.opt, conns: make(map[string]*resp.Conn)}
	return &ownWorker{session: o.router.NewSession(t, index), t: t}, nil
}

type ownWorker struct {
	session *router.Session
	t       *transport
	batch   batchState // DoBatch's reusable storage (own_batch.go)
}

func (w *ownWorker) Do(ctx context.Context, req *Request) Result {
	w.t.req = req
	res := w.session.Do(ctx, req.Slot)
	w.t.req = nil
	return Result{Moved: res.Moved, Ask: res.Ask, TryAgain: res.TryAgain, Retries: res.Retries, Refreshes: res.Refreshes,
		Err: res.Err, Kind: res.Kind, Node: res.Addr}
}

func (w *ownWorker) Close() error { return w.t.close() }

// transport sends a worker's current request over its connections,
// dialling a node on first use and again after a connection broke.
type transport struct {
	opt   resp.Options
	conns map[string]*resp.Conn
	last  *resp.Conn // the connection conn returned last, if still open
	req   *Request
	args  [][]byte // reused argument list

	// capture makes Send keep the final reply's value in val (a bulk
	// string, or an integer in decimal) and set valOK: DoValue (verify.go)
	// turns it on for one call. Off, it costs one branch per Send.
	capture bool
	val     []byte
	valOK   bool
}

var (
	argAsking = []byte("ASKING")
	cmdNames  = [...][]byte{[]byte("GET"), []byte("SET"), []byte("DEL"), []byte("INCR"), []byte("MGET"), []byte("MSET")}
)

// errNoRequest guards against a Send outside Do.
var errNoRequest = errors.New("strategy: no request to send")

func (t *transport) Send(ctx context.Context, addr string, ask router.AskMode) ([]byte, error) {
	if t.req == nil {
		return nil, errNoRequest
	}
	c, err := t.conn(ctx, addr)
	if err != nil {
		return nil, err
	}
	switch ask {
	case router.AskTwoRoundTrips:
		c.Append(argAsking)
		rep, err := c.RoundTrip(ctx)
		if err != nil {
			return t.fail(addr, c, err)
		}
		if rep.IsError() {
			return rep.Str, nil
		}
	case router.AskOneWrite:
		c.Append(argAsking)
	}
	t.appendRequest(c)
	if err := c.Flush(ctx); err != nil {
		return t.fail(addr, c, err)
	}
	if ask == router.AskOneWrite {
		rep, err := c.Read(ctx)
		if err != nil {
			return t.fail(addr, c, err)
		}
		if rep.IsError() {
			// ASKING itself failed; the command's reply still follows.
			if _, err := c.Read(ctx); err != nil {
				return t.fail(addr, c, err)
			}
			return rep.Str, nil
		}
	}
	rep, err := c.Read(ctx)
	if err != nil {
		return t.fail(addr, c, err)
	}
	if rep.IsError() {
		return rep.Str, nil
	}
	if t.capture {
		t.keep(rep)
	}
	return nil, nil
}

// appendRequest encodes the current request into c's write buffer.
func (t *transport) appendRequest(c *resp.Conn) {
	r := t.req
	args := append(t.args[:0], cmdNames[r.Kind])
	switch r.Kind {
	case OpSet:
		args = append(args, r.Key, r.Value)
	case OpMGet:
		args = append(args, r.Keys...)
	case OpMSet:
		for _, k := range r.Keys {
			args = append(args, k, r.Value)
		}
	default:
		args = append(args, r.Key)
	}
	c.Append(args...)
	t.args = args
}

func (t *transport) conn(ctx context.Context, addr string) (*resp.Conn, error) {
	// Most requests go where the last one went: a string compare, not a
	// map lookup.
	if t.last != nil && addr == t.last.Addr() {
		return t.last, nil
	}
	c, ok := t.conns[addr]
	if !ok {
		var err error
		if c, err = resp.Dial(ctx, addr, t.opt); err != nil {
			return nil, err
		}
		t.conns[addr] = c
	}
	t.last = c
	return c, nil
}

// fail drops a broken connection so the next Send dials afresh.
func (t *transport) fail(addr string, c *resp.Conn, err error) ([]byte, error) {
	c.Close()
	delete(t.conns, addr)
	t.last = nil
	return nil, err
}

func (t *transport) close() error {
	t.last = nil
	for addr, c := range t.conns {
		c.Close()
		delete(t.conns, addr)
	}
	return nil
}
