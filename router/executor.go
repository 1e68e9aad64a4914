package router

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// AskMode says how a command is preceded by ASKING.
type AskMode uint8

const (
	AskNone          AskMode = iota // no ASKING
	AskOneWrite                     // ASKING and the command in one write
	AskTwoRoundTrips                // ASKING, wait for +OK, then the command
)

// Transport sends one worker's current command to a node. It belongs to one
// goroutine. Send returns the text of a Redis error reply (without '-'),
// nil when the reply was not an error, or an I/O error. The returned bytes
// are valid until the next Send.
type Transport interface {
	Send(ctx context.Context, addr string, ask AskMode) (errReply []byte, err error)
}

// TopologyFetcher asks the node at addr for the cluster's shards (one
// topology call, CLUSTER SHARDS with the CLUSTER SLOTS fallback). newConn
// asks for a newly dialled connection.
type TopologyFetcher interface {
	FetchTopology(ctx context.Context, addr string, newConn bool) ([]Shard, error)
}

// Errors a Result can carry. They are sentinels so a failed operation
// allocates nothing.
var (
	ErrRedirectLimit = errors.New("router: redirect budget exceeded")
	ErrRetryLimit    = errors.New("router: retries exhausted (TRYAGAIN/CLUSTERDOWN/LOADING)")
	ErrNoOwner       = errors.New("router: no node owns the slot")
	ErrReply         = errors.New("router: error reply")
)

// Result is what one command went through.
type Result struct {
	Moved, Ask uint8 // redirects received (followed, or refused by the budget)
	TryAgain   uint8 // TRYAGAIN replies received
	Retries    uint8 // TRYAGAIN/CLUSTERDOWN/LOADING retries
	Refreshes  uint8 // topology refreshes this command waited for
	// Err is nil on success. A Redis error reply is ErrReply (non-routing),
	// ErrRedirectLimit or ErrRetryLimit, with Kind telling the last reply;
	// otherwise Err is the transport's error.
	Err  error
	Kind ErrorKind
	Addr string // the node that gave the final reply
}

// Stats are a Router's client-side counters, over all its sessions.
type Stats struct {
	Moved, Ask, TryAgain, ClusterDown int64
	Refreshes, RefreshErrors          int64
	DroppedTriggers                   int64 // refresh triggers dropped by the cooldown
}

// Router holds what a strategy's workers share: the slot map, the refresh
// machinery and the counters. Workers each use their own Session.
type Router struct {
	policy Policy
	seeds  []string
	fetch  TopologyFetcher
	maps   AtomicSlotMap

	moved, ask, tryAgain, clusterDown atomic.Int64
	refreshes, refreshErrors, dropped atomic.Int64
	movedTriggers                     atomic.Int64
	lastRedirect                      atomic.Int64 // unix nanos of the last ASK or MOVED

	mu          sync.Mutex
	running     bool          // a refresh is in progress
	done        chan struct{} // closed when the running refresh ends
	lastStart   time.Time
	pending     bool // a trailing refresh is owed
	nextFetchAt int  // rotates the node asked

	trigger chan struct{} // wakes the background refresher
	stop    chan struct{}
	wg      sync.WaitGroup

	// known are the node addresses learnt so far, and onNew is told of
	// each new one (Policy.PreDial); both under mu.
	known map[string]bool
	onNew func(addr string)
}

// New returns a Router for policy. Unless the policy has no slot map it
// fetches the initial map from the seeds (trying each in turn).
func New(ctx context.Context, policy Policy, seeds []string, fetch TopologyFetcher) (*Router, error) {
	if err := policy.Validate(); err != nil {
		return nil, err
	}
	if len(seeds) == 0 {
		return nil, errors.New("router: no seed address")
	}
	r := &Router{policy: policy, seeds: seeds, fetch: fetch, trigger: make(chan struct{}, 1), stop: make(chan struct{})}
	if !policy.NoSlotMap {
		var errs []error
		for _, seed := range seeds {
			shards, err := fetch.FetchTopology(ctx, seed, false)
			if err == nil {
				r.maps.Store(NewSlotMap(shards))
				break
			}
			errs = append(errs, err)
		}
		if r.maps.Load() == nil {
			return nil, errors.Join(errs...)
		}
	}
	r.known = map[string]bool{}
	for _, a := range append(r.maps.Load().Nodes(), seeds...) {
		r.known[a] = true
	}
	if policy.Refresh == RefreshAsync || policy.Periodic > 0 || policy.MigrationRefresh > 0 {
		r.wg.Add(1)
		go r.refresher()
	}
	return r, nil
}

// OnNewNode has f called, once per address, when the client learns of a
// node it did not know at the start (a refresh, a MOVED or an ASK naming
// it), if the policy has PreDial. f runs on the goroutine that learnt of
// the node (a worker, or the refresher), so it must not block.
func (r *Router) OnNewNode(f func(addr string)) {
	r.mu.Lock()
	r.onNew = f
	r.mu.Unlock()
}

// learn notes addr as known, telling onNew if it is new. It runs only on
// redirects and refreshes, never for a direct command.
func (r *Router) learn(addr string) {
	if !r.policy.PreDial {
		return
	}
	r.mu.Lock()
	isNew := !r.known[addr]
	r.known[addr] = true
	f := r.onNew
	r.mu.Unlock()
	if isNew && f != nil {
		f(addr)
	}
}

// Close stops the background refresher and waits for it.
func (r *Router) Close() {
	select {
	case <-r.stop:
	default:
		close(r.stop)
	}
	r.wg.Wait()
}

// Policy returns the router's policy.
func (r *Router) Policy() Policy { return r.policy }

// Map returns the current slot map (nil for a client without one).
func (r *Router) Map() *SlotMap { return r.maps.Load() }

// Stats returns the client-side counters.
func (r *Router) Stats() Stats {
	return Stats{
		Moved: r.moved.Load(), Ask: r.ask.Load(), TryAgain: r.tryAgain.Load(), ClusterDown: r.clusterDown.Load(),
		Refreshes: r.refreshes.Load(), RefreshErrors: r.refreshErrors.Load(), DroppedTriggers: r.dropped.Load(),
	}
}

// Session is one worker's handle on a Router. Not safe for concurrent use.
type Session struct {
	r    *Router
	t    Transport
	home string // where a client without a slot map sends everything
}

// NewSession returns a session sending through t; worker picks the home
// node of a client without a slot map, so workers spread over the seeds.
func (r *Router) NewSession(t Transport, worker int) *Session {
	return &Session{r: r, t: t, home: r.seeds[worker%len(r.seeds)]}
}

// Do routes the transport's current command for slot, following redirects
// and retrying as the policy says, and reports what happened. It allocates
// nothing unless it learns a new address (a MOVED patch or follow).
func (s *Session) Do(ctx context.Context, slot uint16) Result {
	addr, ok := s.route(slot)
	if !ok {
		return Result{Err: ErrNoOwner, Kind: KindOther}
	}
	errReply, err := s.t.Send(ctx, addr, AskNone)
	return s.Resume(ctx, slot, addr, errReply, err)
}

// Route returns the node a command for slot goes to first.
func (s *Session) Route(slot uint16) (string, bool) { return s.route(slot) }

// Resume carries on a command whose first attempt went to addr and got
// errReply (nil: success) or err: Do's work after the first send. A
// pipelining caller sends a batch itself, then resumes the commands whose
// replies were errors, one by one, through the session's transport.
func (s *Session) Resume(ctx context.Context, slot uint16, addr string, errReply []byte, err error) Result {
	r, p := s.r, &s.r.policy
	var res Result
	ask := AskNone
	redirects := 0
	for ; ; errReply, err = s.t.Send(ctx, addr, ask) {
		res.Addr = addr
		if err != nil {
			res.Err = err
			// A node that cannot be reached may have failed over: learn the
			// new map (the trigger rules still apply).
			r.triggerRefresh(ctx, &res)
			return res
		}
		if errReply == nil {
			res.Kind = KindOther
			return res
		}
		// The reply bytes are only valid until the next Send: everything
		// kept beyond that is copied (strings.Clone) below.
		rd := ParseRedirect(unsafe.String(unsafe.SliceData(errReply), len(errReply)))
		res.Kind = rd.Kind
		switch rd.Kind {
		case KindMoved, KindAsk:
			// Count every redirect received, followed or refused, so the
			// client's counts match the servers' errorstats.
			if rd.Kind == KindAsk {
				res.Ask++
				r.ask.Add(1)
			} else {
				res.Moved++
				r.moved.Add(1)
			}
			if redirects >= p.maxRedirects() {
				res.Err = ErrRedirectLimit
				return res
			}
			redirects++
			// A MOVED while the migration cadence already runs needs no
			// refresh of its own: the patch serves this slot and the next
			// timed refresh brings the rest.
			cadence := p.MigrationRefresh > 0 && r.migrationVisible()
			r.lastRedirect.Store(time.Now().UnixNano())
			target := strings.Clone(FillHost(rd.Addr, addr))
			r.learn(target)
			if rd.Kind == KindAsk {
				if p.RefreshOnAsk {
					r.triggerRefresh(ctx, &res)
				}
				addr, ask = target, AskOneWrite
				if p.AskTwoRoundTrips {
					ask = AskTwoRoundTrips
				}
				continue
			}
			ask = AskNone
			addr = target
			switch p.Moved {
			case MovedPatch:
				r.maps.Patch(rd.Slot, target)
			case MovedRediscover:
				r.refreshBlocking(ctx, &res)
				if a, ok := s.route(slot); ok {
					addr = a
				}
			}
			if p.Moved != MovedRediscover && !cadence && r.movedTrigger() {
				r.triggerRefresh(ctx, &res)
			}
			if p.MovedBackoff > 0 && !sleep(ctx, p.MovedBackoff) {
				res.Err = ctx.Err()
				return res
			}
		case KindTryAgain, KindClusterDown, KindLoading:
			if rd.Kind == KindClusterDown {
				r.clusterDown.Add(1)
				r.triggerRefresh(ctx, &res)
			} else if rd.Kind == KindTryAgain {
				r.tryAgain.Add(1)
				res.TryAgain++
			}
			if int(res.Retries) >= p.maxRetries() {
				res.Err = ErrRetryLimit
				return res
			}
			res.Retries++
			if !sleep(ctx, p.retryBackoff(int(res.Retries))) {
				res.Err = ctx.Err()
				return res
			}
			// Start over from the map: the slot may have settled meanwhile.
			ask = AskNone
			if a, ok := s.route(slot); ok {
				addr = a
			}
		default:
			res.Err = ErrReply
			return res
		}
	}
}

// route picks the node for slot: the home node without a slot map, else the
// slot's owner in the current map.
func (s *Session) route(slot uint16) (string, bool) {
	if s.r.policy.NoSlotMap {
		return s.home, true
	}
	return s.r.maps.Load().Lookup(slot)
}

// movedTrigger counts a MOVED and reports whether it should trigger a
// refresh (every k-th MOVED).
func (r *Router) movedTrigger() bool {
	n := r.movedTriggers.Add(1)
	k := int64(r.policy.EveryKthMoved)
	return k <= 1 || n%k == 0
}

// triggerRefresh asks for a refresh in the way the policy runs them.
func (r *Router) triggerRefresh(ctx context.Context, res *Result) {
	switch r.policy.Refresh {
	case RefreshAsync:
		r.mu.Lock()
		busy := r.running
		r.mu.Unlock()
		if busy && !r.policy.Trailing {
			r.dropped.Add(1) // deduplicated: the running refresh stands for it
			return
		}
		select {
		case r.trigger <- struct{}{}:
		default: // one is already queued: this trigger is folded into it
		}
	case RefreshBlocking:
		r.refreshBlocking(ctx, res)
	case RefreshCaller:
		r.refreshIfIdle(ctx)
	}
}

// admit decides, under r.mu, whether a refresh may start now given the
// cooldown. A refused trigger becomes a trailing refresh or is dropped.
func (r *Router) admit(now time.Time) bool {
	if r.running || now.Sub(r.lastStart) < r.policy.Cooldown {
		if r.policy.Trailing {
			r.pending = true
		} else {
			r.dropped.Add(1)
		}
		return false
	}
	return true
}

// refreshBlocking makes the caller wait for a refresh: it joins the running
// one if there is one, else runs one itself (unless the cooldown forbids).
func (r *Router) refreshBlocking(ctx context.Context, res *Result) {
	r.mu.Lock()
	if r.running {
		done := r.done
		r.mu.Unlock()
		select {
		case <-done:
			res.Refreshes++
		case <-ctx.Done():
		}
		return
	}
	if !r.admit(time.Now()) {
		r.mu.Unlock()
		return
	}
	r.begin()
	r.mu.Unlock()
	r.runRefresh(ctx)
	res.Refreshes++
}

// refreshIfIdle refreshes in the caller unless a refresh is running, in
// which case the caller goes on with the map it has.
func (r *Router) refreshIfIdle(ctx context.Context) {
	r.mu.Lock()
	if r.running || !r.admit(time.Now()) {
		if r.running {
			r.dropped.Add(1)
		}
		r.mu.Unlock()
		return
	}
	r.begin()
	r.mu.Unlock()
	r.runRefresh(ctx)
}

// begin marks a refresh as running; r.mu must be held.
func (r *Router) begin() {
	r.running = true
	r.done = make(chan struct{})
	r.lastStart = time.Now()
	r.pending = false
}

// runRefresh fetches the topology and installs it, then ends the refresh
// begun by begin.
func (r *Router) runRefresh(ctx context.Context) {
	r.refreshes.Add(1)
	err := r.fetchAndStore(ctx)
	if err != nil {
		r.refreshErrors.Add(1)
	}
	r.mu.Lock()
	r.running = false
	close(r.done)
	r.mu.Unlock()
}

// fetchAndStore asks one node for the topology, rotating over the known
// masters so one slow node does not hold every refresh.
func (r *Router) fetchAndStore(ctx context.Context) error {
	cur := r.maps.Load()
	nodes := r.seeds
	if cur != nil && len(cur.Nodes()) > 0 {
		nodes = cur.Nodes()
	}
	r.mu.Lock()
	i := r.nextFetchAt % len(nodes)
	r.nextFetchAt++
	r.mu.Unlock()
	var errs []error
	for try := 0; try < len(nodes) && try < 3; try++ {
		addr := nodes[(i+try)%len(nodes)]
		shards, err := r.fetch.FetchTopology(ctx, addr, r.policy.RefreshNewConn)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for {
			old := r.maps.Load()
			m := old.Refreshed(shards)
			if r.maps.CompareAndSwap(old, m) {
				for _, a := range m.Nodes() {
					r.learn(a)
				}
				return nil
			}
		}
	}
	return errors.Join(errs...)
}

// refresher runs asynchronous, periodic and migration-time refreshes.
func (r *Router) refresher() {
	defer r.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-r.stop; cancel() }()

	// One timer, re-armed with Reset: the periodic and migration cadences.
	tick := r.nextTick()
	timer := time.NewTimer(tick)
	defer timer.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-r.trigger:
			if r.policy.Jitter > 0 && !sleep(ctx, rand.N(r.policy.Jitter)) {
				return
			}
			r.asyncRefresh(ctx, false)
		case <-timer.C:
			r.asyncRefresh(ctx, true)
			timer.Reset(r.nextTick())
		}
	}
}

// nextTick is the time to the next timed refresh: the migration cadence
// while a migration is visible, else the periodic one (or a slow poll of
// the migration state when there is no periodic refresh).
func (r *Router) nextTick() time.Duration {
	p := r.policy
	if p.MigrationRefresh > 0 && r.migrationVisible() {
		return p.MigrationRefresh
	}
	if p.Periodic > 0 {
		if p.MigrationRefresh > 0 {
			return min(p.Periodic, p.MigrationRefresh)
		}
		return p.Periodic
	}
	if p.MigrationRefresh > 0 {
		return p.MigrationRefresh
	}
	return time.Hour
}

// migrationVisible reports an ASK or MOVED within the migration window.
func (r *Router) migrationVisible() bool {
	last := r.lastRedirect.Load()
	return last != 0 && time.Since(time.Unix(0, last)) < r.policy.migrationWindow()
}

// asyncRefresh runs one background refresh, and the trailing one if a
// trigger arrived meanwhile. timed refreshes come from the timer: they run
// only when their cadence is due, and never count against the cooldown.
func (r *Router) asyncRefresh(ctx context.Context, timed bool) {
	if timed {
		due := r.policy.Periodic > 0 || r.migrationVisible()
		if !due {
			return
		}
		r.mu.Lock()
		if r.running {
			r.mu.Unlock()
			return
		}
		r.begin()
		r.mu.Unlock()
		r.runRefresh(ctx)
		return
	}
	for {
		r.mu.Lock()
		if !r.admit(time.Now()) {
			wait := r.policy.Cooldown - time.Since(r.lastStart)
			trailing := r.pending
			r.mu.Unlock()
			if !trailing || !sleep(ctx, wait) {
				return
			}
			continue
		}
		r.begin()
		r.mu.Unlock()
		r.runRefresh(ctx)
		r.mu.Lock()
		again := r.pending
		r.mu.Unlock()
		if !again {
			return
		}
	}
}

// sleep waits d or until ctx ends; it reports whether the full wait passed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
