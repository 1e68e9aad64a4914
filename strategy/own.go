package strategy

import (
	"context"
	"errors"
	"sync"
	"time"

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

	// With Policy.PreDial, every worker's transport, and the dials under
	// way for them.
	mu      sync.Mutex
	workers []*transport
	closing bool // no more pre-dials start
	dials   sync.WaitGroup
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
	o := &Own{name: name, router: r, fetch: f, opt: opt}
	r.OnNewNode(o.preDial)
	return o, nil
}

// preDialTimeout bounds one background dial, its AUTH included.
const preDialTimeout = 5 * time.Second

// preDial connects every worker to addr in the background: each gets the
// connection as a spare, taken the first time it sends to addr.
func (o *Own) preDial(addr string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closing {
		return
	}
	for _, t := range o.workers {
		o.dials.Add(1)
		go func() {
			defer o.dials.Done()
			ctx, cancel := context.WithTimeout(context.Background(), preDialTimeout)
			defer cancel()
			if c, err := resp.Dial(ctx, addr, o.opt); err == nil {
				t.addSpare(addr, c)
			}
		}()
	}
}

// Name returns the strategy's name.
func (o *Own) Name() string { return o.name }

// Router exposes the router (for tests and the runner's map snapshots).
func (o *Own) Router() *router.Router { return o.router }

// Stats returns the router's counters.
func (o *Own) Stats() Stats { return Stats{Known: true, Stats: o.router.Stats()} }

// Close stops the refresher, waits for the pre-dials, and closes the
// topology connections.
func (o *Own) Close() error {
	o.router.Close()
	o.mu.Lock()
	o.closing = true
	o.mu.Unlock()
	o.dials.Wait()
	o.fetch.close()
	return nil
}

// NewWorker returns a worker with its own connections.
func (o *Own) NewWorker(index int) (Worker, error) {
	t := &transport{opt: o.opt, conns: make(map[string]*resp.Conn)}
	if o.router.Policy().PreDial {
		o.mu.Lock()
		o.workers = append(o.workers, t)
		o.mu.Unlock()
	}
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

	// spare holds connections pre-dialled for it (Policy.PreDial), taken
	// by conn on a miss; closed: the worker closed, a late spare is
	// closed at once. Both under spareMu: the dials run elsewhere.
	spareMu sync.Mutex
	spare   map[string]*resp.Conn
	closed  bool

	// capture makes Send keep the final reply's value in val (a bulk
	// string, or an integer in decimal) and set valOK: DoValue (verify.go)
	// turns it on for one call. Off, it costs one branch per Send.
	capture bool
	val     []byte
	valOK   bool
	// vals, when set (DoValues), receives an MGET reply's elements.
	vals *resp.Values
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
	var rep resp.Reply
	if t.vals != nil {
		rep, err = c.ReadValues(ctx, t.vals)
	} else {
		rep, err = c.Read(ctx)
	}
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
		if c = t.takeSpare(addr); c == nil {
			var err error
			if c, err = resp.Dial(ctx, addr, t.opt); err != nil {
				return nil, err
			}
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

// addSpare offers c, pre-dialled to addr, to the worker; it is closed if
// the worker has closed or already holds a spare for addr.
func (t *transport) addSpare(addr string, c *resp.Conn) {
	t.spareMu.Lock()
	defer t.spareMu.Unlock()
	if t.closed || t.spare[addr] != nil {
		c.Close()
		return
	}
	if t.spare == nil {
		t.spare = map[string]*resp.Conn{}
	}
	t.spare[addr] = c
}

// takeSpare returns the spare connection to addr, if there is one.
func (t *transport) takeSpare(addr string) *resp.Conn {
	t.spareMu.Lock()
	defer t.spareMu.Unlock()
	c := t.spare[addr]
	delete(t.spare, addr)
	return c
}

func (t *transport) close() error {
	t.last = nil
	for addr, c := range t.conns {
		c.Close()
		delete(t.conns, addr)
	}
	t.spareMu.Lock()
	t.closed = true
	for addr, c := range t.spare {
		c.Close()
		delete(t.spare, addr)
	}
	t.spareMu.Unlock()
	return nil
}
