package cluster

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clusterbench/clusterbench/router"
	"github.com/redis/rueidis"
)

// Defaults of MoveOptions.
const (
	DefaultKeysPerBatch   = 100
	DefaultSlotsInFlight  = 1
	DefaultMigrateTimeout = 5 * time.Second
	DefaultRetries        = 3 // MIGRATE timeouts retried per batch

	// CleanupTimeout bounds the work done after a cancellation or a failure
	// to close the slots that were in flight.
	CleanupTimeout = 30 * time.Second

	// maxMigrateTimeout stays below the 10 s reply bound of the admin
	// connections (Dial), so a MIGRATE that times out on the server is
	// reported as such and not as a dead connection.
	maxMigrateTimeout = 8 * time.Second
	retryBackoff      = 100 * time.Millisecond

	// MaxSlotsInFlight bounds MoveOptions.SlotsInFlight.
	MaxSlotsInFlight = 64
)

// Errors of the migrator.
var (
	// ErrNotLoopback: the cluster has a node that is not on this host, and
	// the migrator was not allowed to change it (AllowTopologyChanges).
	ErrNotLoopback = errors.New("cluster: refusing to change a cluster whose nodes are not on loopback (127.0.0.0/8, ::1, localhost): pass --allow-topology-changes if the cluster is yours to change")
	// ErrBusyKey: the target already holds a key of the slot with another
	// value than the source's; errors.As gives a *BusyKeyError.
	ErrBusyKey = errors.New("cluster: target already holds keys of the slot (BUSYKEY)")
	// ErrSlotOpen: a slot could not be closed and is still importing or
	// migrating; Fix (or redis-cli --cluster fix) should close it.
	ErrSlotOpen = errors.New("cluster: slot left in importing/migrating state")
	// ErrBadMove: the slots or nodes given to Move do not fit the cluster.
	ErrBadMove = errors.New("cluster: bad move")
)

// BusyKeyError names the keys of Slot that Target holds already, with
// other values than the source's.
type BusyKeyError struct {
	Slot   uint16
	Target string
	Keys   []string // at most the first few
}

func (e *BusyKeyError) Error() string {
	return fmt.Sprintf("cluster: slot %d: %s already holds %d key(s) of the slot with other values than the source (BUSYKEY), e.g. %q: delete them there or set Replace to overwrite",
		e.Slot, e.Target, len(e.Keys), e.Keys[0])
}

// Is makes errors.Is(err, ErrBusyKey) true.
func (e *BusyKeyError) Is(target error) bool { return target == ErrBusyKey }

// MoveOptions tune Move. The zero value moves one slot at a time in batches
// of DefaultKeysPerBatch keys, as fast as it can.
type MoveOptions struct {
	KeysPerBatch   int           // keys per GETKEYSINSLOT + MIGRATE; 0 means DefaultKeysPerBatch
	BatchPause     time.Duration // pause after each batch, to slow a migration down
	SlotsInFlight  int           // slots migrated at once; 0 means DefaultSlotsInFlight
	TargetDuration time.Duration // spread slot starts evenly over this time (0: start each at once)
	MigrateTimeout time.Duration // MIGRATE's timeout; 0 means DefaultMigrateTimeout, at most 8s
	Retries        int           // MIGRATE timeouts retried per batch; 0 means DefaultRetries, -1 none
	Replace        bool          // MIGRATE … REPLACE: overwrite keys the target already has
	Events         Events        // receives the timeline; may be nil
	// Progress, if set, is called after each slot with the slots done and
	// the total, from one goroutine at a time.
	Progress func(done, total int)
}

// Validate reports every problem of o at once.
func (o MoveOptions) Validate() error {
	var errs []error
	if o.KeysPerBatch < 0 {
		errs = append(errs, fmt.Errorf("cluster: keys per batch %d: must be 0 (default) or more", o.KeysPerBatch))
	}
	if o.SlotsInFlight < 0 || o.SlotsInFlight > MaxSlotsInFlight {
		errs = append(errs, fmt.Errorf("cluster: slots in flight %d: must be in 0..%d", o.SlotsInFlight, MaxSlotsInFlight))
	}
	if o.BatchPause < 0 || o.TargetDuration < 0 {
		errs = append(errs, errors.New("cluster: batch pause and target duration must not be negative"))
	}
	if o.MigrateTimeout < 0 || o.MigrateTimeout > maxMigrateTimeout {
		errs = append(errs, fmt.Errorf("cluster: MIGRATE timeout %v: must be in 0..%v", o.MigrateTimeout, maxMigrateTimeout))
	} else if o.MigrateTimeout > 0 && o.MigrateTimeout < time.Millisecond {
		errs = append(errs, fmt.Errorf("cluster: MIGRATE timeout %v: the server counts in milliseconds", o.MigrateTimeout))
	}
	if o.Retries < -1 {
		errs = append(errs, fmt.Errorf("cluster: retries %d: must be -1 (none), 0 (default) or more", o.Retries))
	}
	return errors.Join(errs...)
}

// withDefaults fills the zero fields.
func (o MoveOptions) withDefaults() MoveOptions {
	o.KeysPerBatch = cmp.Or(o.KeysPerBatch, DefaultKeysPerBatch)
	o.SlotsInFlight = cmp.Or(o.SlotsInFlight, DefaultSlotsInFlight)
	o.MigrateTimeout = cmp.Or(o.MigrateTimeout, DefaultMigrateTimeout)
	switch o.Retries {
	case 0:
		o.Retries = DefaultRetries
	case -1:
		o.Retries = 0
	}
	return o
}

// MoveStats says what a migration did.
type MoveStats struct {
	Slots    int           // slots moved
	Keys     int           // keys moved
	Duration time.Duration // wall time
}

// KeysPerSecond is the migration's key rate (0 for an empty duration).
func (s MoveStats) KeysPerSecond() float64 {
	if s.Duration <= 0 {
		return 0
	}
	return float64(s.Keys) / s.Duration.Seconds()
}

// add accumulates the counts of t (not the duration).
func (s *MoveStats) add(t MoveStats) {
	s.Slots += t.Slots
	s.Keys += t.Keys
}

// Migrator moves slots between the masters of a cluster and closes slots
// left open. It holds one admin connection per node it talked to; Close
// them when done. Its methods are safe for concurrent use, but two moves of
// the same slot at once are the caller's mistake.
type Migrator struct {
	opt   ConnOptions
	allow bool

	mu    sync.Mutex
	conns map[string]rueidis.Client
	known []string // nodes to ask for CLUSTER NODES, the last one that answered first
}

// MigratorOption changes a Migrator at construction.
type MigratorOption func(*Migrator)

// AllowTopologyChanges lets the migrator change a cluster whose nodes are
// not all on loopback (the runner passes --allow-topology-changes).
// Without it such a cluster is refused with ErrNotLoopback: a benchmark
// must not reshard someone's production cluster by mistake.
func AllowTopologyChanges(allow bool) MigratorOption {
	return func(m *Migrator) { m.allow = allow }
}

// NewMigrator connects to the cluster through seed and checks that it may
// change it (see AllowTopologyChanges).
func NewMigrator(ctx context.Context, seed string, opt ConnOptions, opts ...MigratorOption) (*Migrator, error) {
	m := &Migrator{opt: opt, conns: make(map[string]rueidis.Client), known: []string{seed}}
	for _, o := range opts {
		o(m)
	}
	if _, err := m.view(ctx); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// Close closes the admin connections.
func (m *Migrator) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.conns {
		c.Close()
	}
	m.conns = map[string]rueidis.Client{}
}

// IsLoopback reports whether the host of addr ("host:port" or a bare host)
// is on this machine by definition: 127.0.0.0/8, ::1 (also as an IPv4-mapped
// address) or "localhost". Other names are not resolved: a name that only
// happens to resolve to loopback today is not trusted.
func IsLoopback(addr string) bool {
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkAddr refuses a node address the migrator may not touch.
func (m *Migrator) checkAddr(addr string) error {
	if m.allow || IsLoopback(addr) {
		return nil
	}
	return fmt.Errorf("%w (node %s)", ErrNotLoopback, addr)
}

// conn returns the admin connection to addr, dialling it on first use.
func (m *Migrator) conn(addr string) (rueidis.Client, error) {
	if err := m.checkAddr(addr); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.conns[addr]; ok {
		return c, nil
	}
	c, err := Dial(addr, m.opt)
	if err != nil {
		return nil, err
	}
	m.conns[addr] = c
	return c, nil
}

// nodesOf returns CLUSTER NODES as the node at addr sees it.
func (m *Migrator) nodesOf(ctx context.Context, addr string) (nodeView, error) {
	c, err := m.conn(addr)
	if err != nil {
		return nil, err
	}
	v, err := clusterNodes(ctx, c, addr)
	// A node that never met another lists itself without a host (a
	// one-master cluster): it is the node we asked.
	for i := range v {
		if v[i].IsMyself() && v[i].Addr == "" {
			v[i].Addr = addr
		}
	}
	return v, err
}

// nodeView is one node's CLUSTER NODES. Only a node's own line ("myself")
// shows its importing and migrating slots.
type nodeView []ClusterNode

func (v nodeView) byAddr(addr string) (ClusterNode, bool) {
	i := slices.IndexFunc(v, func(n ClusterNode) bool { return n.Addr == addr })
	if i < 0 {
		return ClusterNode{}, false
	}
	return v[i], true
}

func (v nodeView) myself() (ClusterNode, bool) {
	i := slices.IndexFunc(v, ClusterNode.IsMyself)
	if i < 0 {
		return ClusterNode{}, false
	}
	return v[i], true
}

// usable reports whether commands can be sent to n: it has an address and
// is not failed or still in the handshake.
func usable(n ClusterNode) bool {
	return n.Addr != "" && !n.HasFlag("fail") && !n.HasFlag("fail?") && !n.HasFlag("handshake") && !n.HasFlag("noaddr")
}

// replicasOf returns the nodes that replicate the master with id.
func (v nodeView) replicasOf(id string) []ClusterNode {
	var out []ClusterNode
	for _, n := range v {
		if n.MasterID == id {
			out = append(out, n)
		}
	}
	return out
}

// masters returns the usable masters, in address order.
func (v nodeView) masters() []ClusterNode {
	var out []ClusterNode
	for _, n := range v {
		if n.IsMaster() && usable(n) {
			out = append(out, n)
		}
	}
	slices.SortFunc(out, func(a, b ClusterNode) int { return cmp.Compare(a.Addr, b.Addr) })
	return out
}

// view asks the known nodes in turn for CLUSTER NODES (the seed may be the
// node a scenario just killed) and checks every address in it.
func (m *Migrator) view(ctx context.Context) (nodeView, error) {
	m.mu.Lock()
	known := slices.Clone(m.known)
	m.mu.Unlock()
	var errs []error
	for _, addr := range known {
		nodes, err := m.nodesOf(ctx, addr)
		if err != nil {
			if errors.Is(err, ErrNotLoopback) || ctx.Err() != nil {
				return nil, err
			}
			errs = append(errs, err)
			continue
		}
		next := []string{addr}
		for _, n := range nodes {
			if n.Addr == "" {
				continue
			}
			if err := m.checkAddr(n.Addr); err != nil {
				return nil, err
			}
			if usable(n) && n.Addr != addr {
				next = append(next, n.Addr)
			}
		}
		m.mu.Lock()
		m.known = next
		m.mu.Unlock()
		return nodes, nil
	}
	return nil, fmt.Errorf("cluster: no node answered CLUSTER NODES: %w", errors.Join(errs...))
}

// setSlot sends CLUSTER SETSLOT slot args... to the node at addr.
func (m *Migrator) setSlot(ctx context.Context, addr string, slot uint16, args ...string) error {
	c, err := m.conn(addr)
	if err != nil {
		return err
	}
	return doOK(ctx, c, addr, append([]string{"CLUSTER", "SETSLOT", strconv.Itoa(int(slot))}, args...)...)
}

// countKeys is CLUSTER COUNTKEYSINSLOT on the node at addr.
func (m *Migrator) countKeys(ctx context.Context, addr string, slot uint16) (int64, error) {
	c, err := m.conn(addr)
	if err != nil {
		return 0, err
	}
	n, err := Do(ctx, c, "CLUSTER", "COUNTKEYSINSLOT", strconv.Itoa(int(slot))).AsInt64()
	if err != nil {
		return 0, fmt.Errorf("cluster: CLUSTER COUNTKEYSINSLOT on %s: %w", addr, err)
	}
	return n, nil
}

// Move migrates slots from the master at fromAddr to the master at toAddr
// with the cluster's protocol, slot by slot: IMPORTING on the target,
// MIGRATING on the source, GETKEYSINSLOT + MIGRATE … KEYS until the slot is
// empty, then SETSLOT NODE on the target, the source and every other
// master. It emits migration_started, slot_migrating and slot_moved per
// slot, and migration_finished or migration_aborted.
//
// A MIGRATE that times out is retried (o.Retries). A key the target holds
// already stops the move with a *BusyKeyError unless o.Replace is set, or
// unless both copies are identical (the target got it from a MIGRATE that
// timed out after all), as redis-cli --cluster fix decides.
//
// Whatever happens, no slot is left importing or migrating: a slot that
// fails is rolled back to the source (its keys brought back, then closed
// with SETSLOT STABLE, as redis-cli --cluster fix does); when ctx is
// cancelled the slots in flight are finished with a fresh context bounded
// by CleanupTimeout, no new slot starts, and the error wraps ctx's. Should
// closing fail too, the error wraps ErrSlotOpen and says which slot.
func (m *Migrator) Move(ctx context.Context, slots []uint16, fromAddr, toAddr string, o MoveOptions) (MoveStats, error) {
	detail := fmt.Sprintf("move %d slot(s) %s → %s", len(slots), fromAddr, toAddr)
	emit(o.Events, Event{Kind: EventMigrationStarted, Slot: -1, From: fromAddr, To: toAddr, Detail: detail})
	st, err := m.move(ctx, slots, fromAddr, toAddr, o)
	emitEnd(o.Events, detail, st, err)
	return st, err
}

// emitEnd emits migration_finished, or migration_aborted with the error.
func emitEnd(ev Events, detail string, st MoveStats, err error) {
	if err != nil {
		emit(ev, Event{Kind: EventMigrationAborted, Slot: -1, Keys: st.Keys,
			Detail: fmt.Sprintf("%s: aborted after %d slot(s), %d key(s): %v", detail, st.Slots, st.Keys, err)})
		return
	}
	emit(ev, Event{Kind: EventMigrationFinished, Slot: -1, Keys: st.Keys,
		Detail: fmt.Sprintf("%s: %d slot(s), %d key(s) in %v (%.0f keys/s)", detail, st.Slots, st.Keys, st.Duration.Round(time.Millisecond), st.KeysPerSecond())})
}

// move is Move without the migration_started/finished bracket, for the
// scenarios that make one migration of several moves.
func (m *Migrator) move(ctx context.Context, slots []uint16, fromAddr, toAddr string, o MoveOptions) (MoveStats, error) {
	start := time.Now()
	if err := o.Validate(); err != nil {
		return MoveStats{}, err
	}
	o = o.withDefaults()
	j, err := m.plan(ctx, slots, fromAddr, toAddr, o)
	if err != nil {
		return MoveStats{}, err
	}
	err = j.run(ctx, start)
	return MoveStats{Slots: int(j.slotsDone.Load()), Keys: int(j.keys.Load()), Duration: time.Since(start)}, err
}

// moveJob is one Move under way.
type moveJob struct {
	m        *Migrator
	o        MoveOptions
	src, dst ClusterNode
	others   []ClusterNode // the other masters, told the new owner too
	slots    []uint16

	slotsDone, keys atomic.Int64
	progressMu      sync.Mutex
}

// plan checks the move against the source's view of the cluster: both
// nodes are usable masters, the source serves every slot, and none is
// open already.
func (m *Migrator) plan(ctx context.Context, slots []uint16, fromAddr, toAddr string, o MoveOptions) (*moveJob, error) {
	if fromAddr == toAddr {
		return nil, fmt.Errorf("%w: source and target are the same node %s", ErrBadMove, fromAddr)
	}
	v, err := m.nodesOf(ctx, fromAddr)
	if err != nil {
		return nil, err
	}
	src, ok := v.myself()
	if !ok || !src.IsMaster() {
		return nil, fmt.Errorf("%w: source %s is not a master", ErrBadMove, fromAddr)
	}
	dst, ok := v.byAddr(toAddr)
	if !ok || !dst.IsMaster() || !usable(dst) {
		return nil, fmt.Errorf("%w: target %s is not a working master of the cluster %s is in", ErrBadMove, toAddr, fromAddr)
	}
	dv, err := m.nodesOf(ctx, toAddr)
	if err != nil {
		return nil, err
	}
	dself, _ := dv.myself()
	owned := make([]bool, router.NumSlots)
	for _, r := range src.Slots {
		for s := int(r.First); s <= int(r.Last); s++ {
			owned[s] = true
		}
	}
	seen := make(map[uint16]bool, len(slots))
	for _, s := range slots {
		switch {
		case int(s) >= router.NumSlots:
			return nil, fmt.Errorf("%w: slot %d is not in 0..%d", ErrBadMove, s, router.NumSlots-1)
		case seen[s]:
			return nil, fmt.Errorf("%w: slot %d listed twice", ErrBadMove, s)
		case !owned[s]:
			return nil, fmt.Errorf("%w: slot %d is not served by %s", ErrBadMove, s, fromAddr)
		case slices.ContainsFunc(src.Migrating, func(mv SlotMove) bool { return mv.Slot == s }),
			slices.ContainsFunc(dself.Importing, func(mv SlotMove) bool { return mv.Slot == s }):
			return nil, fmt.Errorf("%w: slot %d is in migration already: close it with Fix first", ErrBadMove, s)
		}
		seen[s] = true
	}
	j := &moveJob{m: m, o: o, src: src, dst: dst, slots: slots}
	for _, n := range v.masters() {
		if n.ID != src.ID && n.ID != dst.ID {
			j.others = append(j.others, n)
		}
	}
	return j, nil
}

// run moves the slots with o.SlotsInFlight workers. A failed slot stops
// new slots from starting; the others in flight finish.
func (j *moveJob) run(ctx context.Context, start time.Time) error {
	var (
		next   atomic.Int64
		failed atomic.Bool
		mu     sync.Mutex
		errs   []error
		wg     sync.WaitGroup
	)
	for range min(j.o.SlotsInFlight, len(j.slots)) {
		wg.Go(func() {
			for !failed.Load() && ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(j.slots) || !j.pace(ctx, start, i) {
					return
				}
				if err := j.moveSlot(ctx, j.slots[i]); err != nil {
					failed.Store(true)
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
				j.progress()
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if done := int(j.slotsDone.Load()); done < len(j.slots) && ctx.Err() != nil {
		return fmt.Errorf("cluster: migration interrupted after %d of %d slot(s); the slots in flight were finished, none is left open: %w",
			done, len(j.slots), context.Cause(ctx))
	}
	return nil
}

// pace waits until slot i's start time when o.TargetDuration spreads the
// slots (start + i·TargetDuration/len(slots)); false if ctx ended first.
func (j *moveJob) pace(ctx context.Context, start time.Time, i int) bool {
	if j.o.TargetDuration <= 0 {
		return true
	}
	at := start.Add(time.Duration(int64(j.o.TargetDuration) * int64(i) / int64(len(j.slots))))
	return sleep(ctx, time.Until(at))
}

func (j *moveJob) progress() {
	done := int(j.slotsDone.Add(1))
	if j.o.Progress == nil {
		return
	}
	j.progressMu.Lock()
	defer j.progressMu.Unlock()
	j.o.Progress(done, len(j.slots))
}

// moveSlot migrates one slot. Once the slot is open it is always closed:
// its commands run on a context that survives ctx's cancellation by
// CleanupTimeout.
func (j *moveJob) moveSlot(ctx context.Context, s uint16) error {
	sctx, release := slotContext(ctx)
	defer release()
	src, dst := j.src, j.dst
	if err := j.m.setSlot(sctx, dst.Addr, s, "IMPORTING", src.ID); err != nil {
		// Nothing changed, unless the command reached the node after all.
		cctx, cancel := cleanupContext(ctx)
		defer cancel()
		_ = j.m.setSlot(cctx, dst.Addr, s, "STABLE")
		return fmt.Errorf("cluster: slot %d: %w", s, err)
	}
	if err := j.m.setSlot(sctx, src.Addr, s, "MIGRATING", dst.ID); err != nil {
		return j.m.rollback(ctx, s, src, dst, nil, err, j.o)
	}
	emit(j.o.Events, Event{Kind: EventSlotMigrating, Slot: int(s), From: src.Addr, To: dst.Addr})

	keys, err := j.m.drain(sctx, ctx, s, src, dst, j.o, nil)
	if err != nil {
		var busy *BusyKeyError
		var skip []string
		if errors.As(err, &busy) {
			skip = busy.Keys // the target's own copies stay there
		}
		return j.m.rollback(ctx, s, src, dst, skip, err, j.o)
	}
	if err := j.m.assign(sctx, s, src, dst, j.others); err != nil {
		// Every key is on the target already: finish the move as Fix would.
		cctx, cancel := cleanupContext(ctx)
		defer cancel()
		if ferr := j.m.fixSlot(cctx, s); ferr != nil {
			return fmt.Errorf("%w: slot %d: %v; closing it failed: %v", ErrSlotOpen, s, err, ferr)
		}
		return fmt.Errorf("cluster: slot %d: %w (the slot was closed on %s)", s, err, dst.Addr)
	}
	j.keys.Add(int64(keys))
	emit(j.o.Events, Event{Kind: EventSlotMoved, Slot: int(s), Keys: keys, From: src.Addr, To: dst.Addr})
	return nil
}

// assign makes dst the owner of slot s: SETSLOT NODE on the target first
// (it bumps its config epoch, so its claim wins in gossip), then the
// source, then the other masters.
func (m *Migrator) assign(ctx context.Context, s uint16, src, dst ClusterNode, others []ClusterNode) error {
	if err := m.setSlot(ctx, dst.Addr, s, "NODE", dst.ID); err != nil {
		return err
	}
	if err := m.setSlot(ctx, src.Addr, s, "NODE", dst.ID); err != nil {
		return err
	}
	// The others learn it from gossip anyway; telling them now spares
	// clients a MOVED through a stale node. Their errors do not matter.
	var wg sync.WaitGroup
	for _, n := range others {
		wg.Go(func() { _ = m.setSlot(ctx, n.Addr, s, "NODE", dst.ID) })
	}
	wg.Wait()
	return nil
}

// drain moves the keys of slot s from src to dst in batches until src has
// none left, except the keys in skip. Commands use ctx; pauses between
// batches end early when pace ends (a cancelled migration finishes its
// slot at full speed).
func (m *Migrator) drain(ctx, pace context.Context, s uint16, src, dst ClusterNode, o MoveOptions, skip []string) (int, error) {
	c, err := m.conn(src.Addr)
	if err != nil {
		return 0, err
	}
	moved, timeouts := 0, 0
	for {
		keys, err := Do(ctx, c, "CLUSTER", "GETKEYSINSLOT", strconv.Itoa(int(s)), strconv.Itoa(o.KeysPerBatch+len(skip))).AsStrSlice()
		if err != nil {
			return moved, fmt.Errorf("cluster: CLUSTER GETKEYSINSLOT %d on %s: %w", s, src.Addr, err)
		}
		keys = slices.DeleteFunc(keys, func(k string) bool { return slices.Contains(skip, k) })
		if len(keys) == 0 {
			return moved, nil
		}
		keys = keys[:min(len(keys), o.KeysPerBatch)]
		err = m.migrate(ctx, c, src.Addr, dst.Addr, keys, o.MigrateTimeout, o.Replace)
		switch {
		case err == nil:
			moved += len(keys)
			timeouts = 0
		case isIOErr(err) && timeouts < o.Retries:
			// The target was slow (or paused); the keys not acknowledged are
			// still here and the next round takes them again.
			timeouts++
			if !sleep(ctx, retryBackoff*time.Duration(timeouts)) {
				return moved, ctx.Err()
			}
			continue
		case isBusyKey(err):
			n, err := m.resolveBusy(ctx, s, src, dst, keys, o)
			moved += n
			if err != nil {
				return moved, err
			}
		default:
			return moved, fmt.Errorf("cluster: slot %d: MIGRATE from %s to %s: %w", s, src.Addr, dst.Addr, err)
		}
		if o.BatchPause > 0 {
			sleep(pace, o.BatchPause)
		}
	}
}

// migrate sends MIGRATE host port "" 0 timeout [REPLACE] [AUTH…] KEYS keys…
// to the source behind c.
func (m *Migrator) migrate(ctx context.Context, c rueidis.Client, srcAddr, dstAddr string, keys []string, timeout time.Duration, replace bool) error {
	host, port, err := net.SplitHostPort(dstAddr)
	if err != nil {
		return fmt.Errorf("cluster: target address %q: %w", dstAddr, err)
	}
	args := []string{"MIGRATE", host, port, "", "0", strconv.FormatInt(timeout.Milliseconds(), 10)}
	if replace {
		args = append(args, "REPLACE")
	}
	// The source logs in to the target with our credentials: nodes of one
	// cluster share them.
	switch {
	case m.opt.Password != "" && m.opt.Username != "":
		args = append(args, "AUTH2", m.opt.Username, m.opt.Password)
	case m.opt.Password != "":
		args = append(args, "AUTH", m.opt.Password)
	}
	args = append(args, "KEYS")
	args = append(args, keys...)
	// Not doOK: its message would quote the command, password included.
	if err := Do(ctx, c, args...).Error(); err != nil {
		return fmt.Errorf("cluster: MIGRATE on %s: %w", srcAddr, err)
	}
	return nil
}

// isIOErr: MIGRATE could not reach the target or timed out waiting for it.
func isIOErr(err error) bool {
	var re *rueidis.RedisError
	return errors.As(err, &re) && strings.HasPrefix(re.Error(), "IOERR")
}

// isBusyKey: the target refused a key it has already (the MIGRATE moved the
// other keys of the batch).
func isBusyKey(err error) bool {
	var re *rueidis.RedisError
	return errors.As(err, &re) && strings.Contains(re.Error(), "BUSYKEY")
}

// resolveBusy handles a batch that MIGRATE refused in part: the keys still
// on the source are on the target too. Identical copies (left by a MIGRATE
// that timed out after the target had restored them) are overwritten;
// different ones stop the move with a *BusyKeyError. It returns how many
// keys of the batch moved.
func (m *Migrator) resolveBusy(ctx context.Context, s uint16, src, dst ClusterNode, batch []string, o MoveOptions) (int, error) {
	srcDumps, err := m.dumps(ctx, src.Addr, batch)
	if err != nil {
		return 0, err
	}
	var left []string
	var leftDumps []*string
	for i, k := range batch {
		if srcDumps[i] != nil {
			left, leftDumps = append(left, k), append(leftDumps, srcDumps[i])
		}
	}
	moved := len(batch) - len(left)
	if len(left) == 0 {
		return moved, nil
	}
	dstDumps, err := m.dumps(ctx, dst.Addr, left)
	if err != nil {
		return moved, err
	}
	var differ, same []string
	for i, k := range left {
		if d := dstDumps[i]; d != nil && *d != *leftDumps[i] {
			differ = append(differ, k)
		} else {
			same = append(same, k)
		}
	}
	if len(differ) > 0 {
		return moved, &BusyKeyError{Slot: s, Target: dst.Addr, Keys: differ}
	}
	c, err := m.conn(src.Addr)
	if err != nil {
		return moved, err
	}
	if err := m.migrate(ctx, c, src.Addr, dst.Addr, same, o.MigrateTimeout, true); err != nil {
		return moved, fmt.Errorf("cluster: slot %d: MIGRATE REPLACE of identical keys from %s to %s: %w", s, src.Addr, dst.Addr, err)
	}
	return len(batch), nil
}

// dumps returns DUMP of each key on the node at addr, nil where the node
// does not hold the key. Each DUMP follows an ASKING, so a node importing
// the slot answers for its keys too; a node that redirects (-ASK from a
// migrating source, -MOVED) does not hold the key. DoMulti keeps each pair
// together on the wire.
func (m *Migrator) dumps(ctx context.Context, addr string, keys []string) ([]*string, error) {
	c, err := m.conn(addr)
	if err != nil {
		return nil, err
	}
	cmds := make(rueidis.Commands, 0, 2*len(keys))
	for _, k := range keys {
		cmds = append(cmds, c.B().Asking().Build(), c.B().Arbitrary("DUMP").Keys(k).Build())
	}
	out := make([]*string, len(keys))
	resps := c.DoMulti(ctx, cmds...)
	for i := range keys {
		d, err := resps[2*i+1].ToString()
		if err == nil {
			out[i] = &d
		} else if !absent(err) {
			return nil, fmt.Errorf("cluster: DUMP on %s: %w", addr, err)
		}
	}
	return out, nil
}

// absent: the reply says the node does not hold the key (nil, or a
// redirect to the node that may).
func absent(err error) bool {
	if rueidis.IsRedisNil(err) {
		return true
	}
	re, ok := rueidis.IsRedisErr(err)
	if !ok {
		return false
	}
	_, moved := re.IsMoved()
	_, ask := re.IsAsk()
	return moved || ask
}

// rollback closes a slot whose move failed, as redis-cli --cluster fix
// closes a slot importing on the target only: the source serves the slot
// again (SETSLOT STABLE), gets back the keys that moved (except skip: the
// target's own copies of busy keys), and the target's IMPORTING is cleared.
// It returns cause, annotated with the outcome.
func (m *Migrator) rollback(ctx context.Context, s uint16, src, dst ClusterNode, skip []string, cause error, o MoveOptions) error {
	cctx, cancel := cleanupContext(ctx)
	defer cancel()
	err := m.setSlot(cctx, src.Addr, s, "STABLE")
	back := 0
	if err == nil {
		o.Replace, o.BatchPause = false, 0
		back, err = m.drain(cctx, cctx, s, dst, src, o, skip)
	}
	if err == nil {
		err = m.setSlot(cctx, dst.Addr, s, "STABLE")
	}
	if err != nil {
		return fmt.Errorf("%w: slot %d: %w; rolling it back failed: %v: run Fix", ErrSlotOpen, s, cause, err)
	}
	return fmt.Errorf("%w (slot %d rolled back: served by %s again, %d key(s) brought back, not left open)", cause, s, src.Addr, back)
}

// Fix closes every slot left importing or migrating on a master, the way
// redis-cli --cluster fix does, and returns the slots it closed:
//   - migrating on A towards B, with B importing it, owning it, or holding
//     keys of it: the move is finished (keys to B, SETSLOT NODE B);
//   - migrating on A only: SETSLOT STABLE on A;
//   - importing on B only: B's keys of the slot go to the owner, then
//     SETSLOT STABLE on B.
//
// A slot migrating on more than one node is left alone with an error.
func (m *Migrator) Fix(ctx context.Context) ([]uint16, error) {
	open, _, err := m.openSlots(ctx)
	if err != nil {
		return nil, err
	}
	var fixed []uint16
	var errs []error
	for _, s := range open {
		if err := m.fixSlot(ctx, s); err != nil {
			errs = append(errs, err)
			continue
		}
		fixed = append(fixed, s)
	}
	return fixed, errors.Join(errs...)
}

// openSlots reads every usable master's own line and returns the slots any
// of them has importing or migrating, ascending, with those lines by id.
func (m *Migrator) openSlots(ctx context.Context) ([]uint16, map[string]ClusterNode, error) {
	v, err := m.view(ctx)
	if err != nil {
		return nil, nil, err
	}
	selves := make(map[string]ClusterNode)
	var open []uint16
	for _, n := range v.masters() {
		nv, err := m.nodesOf(ctx, n.Addr)
		if err != nil {
			return nil, nil, err
		}
		self, ok := nv.myself()
		if !ok {
			continue
		}
		selves[self.ID] = self
		for _, mv := range slices.Concat(self.Migrating, self.Importing) {
			open = append(open, mv.Slot)
		}
	}
	slices.Sort(open)
	return slices.Compact(open), selves, nil
}

// fixSlot closes one open slot (see Fix).
func (m *Migrator) fixSlot(ctx context.Context, s uint16) error {
	_, selves, err := m.openSlots(ctx)
	if err != nil {
		return err
	}
	var migrating, importing []ClusterNode
	for _, n := range selves {
		if slices.ContainsFunc(n.Migrating, func(mv SlotMove) bool { return mv.Slot == s }) {
			migrating = append(migrating, n)
		}
		if slices.ContainsFunc(n.Importing, func(mv SlotMove) bool { return mv.Slot == s }) {
			importing = append(importing, n)
		}
	}
	o := MoveOptions{}.withDefaults()
	if len(migrating) > 1 {
		return fmt.Errorf("%w: slot %d is migrating on %d nodes: close it by hand", ErrSlotOpen, s, len(migrating))
	}
	owner := ownerOf(selves, s)
	if len(migrating) == 1 {
		src := migrating[0]
		i := slices.IndexFunc(src.Migrating, func(mv SlotMove) bool { return mv.Slot == s })
		dst, known := selves[src.Migrating[i].Node]
		finish := false
		if known {
			keys, err := m.countKeys(ctx, dst.Addr, s)
			if err != nil {
				return err
			}
			finish = keys > 0 || slices.ContainsFunc(importing, func(n ClusterNode) bool { return n.ID == dst.ID }) ||
				slices.ContainsFunc(dst.Slots, func(r router.SlotRange) bool { return r.First <= s && s <= r.Last })
		}
		if !finish {
			if err := m.setSlot(ctx, src.Addr, s, "STABLE"); err != nil {
				return err
			}
		} else {
			if _, err := m.drain(ctx, ctx, s, src, dst, o, nil); err != nil {
				return fmt.Errorf("%w: slot %d: finishing its move from %s to %s: %v", ErrSlotOpen, s, src.Addr, dst.Addr, err)
			}
			var others []ClusterNode
			for _, n := range selves {
				if n.ID != src.ID && n.ID != dst.ID {
					others = append(others, n)
				}
			}
			if err := m.assign(ctx, s, src, dst, others); err != nil {
				return fmt.Errorf("%w: slot %d: %v", ErrSlotOpen, s, err)
			}
			owner = dst
		}
	}
	for _, b := range importing {
		if b.ID == owner.ID {
			continue // closed by the SETSLOT NODE above
		}
		if owner.ID != "" {
			if _, err := m.drain(ctx, ctx, s, b, owner, o, nil); err != nil {
				return fmt.Errorf("%w: slot %d: moving the keys of %s back to %s: %v", ErrSlotOpen, s, b.Addr, owner.Addr, err)
			}
		}
		if err := m.setSlot(ctx, b.Addr, s, "STABLE"); err != nil {
			return err
		}
	}
	return nil
}

// ownerOf returns the master that serves s in its own view; when two claim
// it (a SETSLOT NODE that reached only one), the higher config epoch wins,
// as in the cluster's gossip.
func ownerOf(selves map[string]ClusterNode, s uint16) ClusterNode {
	var owner ClusterNode
	for _, n := range selves {
		if slices.ContainsFunc(n.Slots, func(r router.SlotRange) bool { return r.First <= s && s <= r.Last }) &&
			(owner.ID == "" || n.ConfigEpoch > owner.ConfigEpoch) {
			owner = n
		}
	}
	return owner
}

// WaitSettled waits until every reachable node that is not failed reports
// cluster_state:ok, no slot importing or migrating, and the same nodes with
// the same roles, masters and slots; the error says what was still missing
// when ctx ended.
func (m *Migrator) WaitSettled(ctx context.Context) error {
	return waitFor(ctx, "every node to agree on the slot map", func() (string, error) { return m.settled(ctx) })
}

// settled reports ("", nil) when the cluster is settled (see WaitSettled),
// or what is still missing.
func (m *Migrator) settled(ctx context.Context) (string, error) {
	v, err := m.view(ctx)
	if err != nil {
		return "", err
	}
	want, first := "", ""
	for _, n := range v {
		if !usable(n) {
			continue
		}
		nv, err := m.nodesOf(ctx, n.Addr)
		if err != nil {
			if ctx.Err() != nil {
				return "", err
			}
			return fmt.Sprintf("%s does not answer: %v", n.Addr, err), nil
		}
		if self, ok := nv.myself(); ok && len(self.Migrating)+len(self.Importing) > 0 {
			return fmt.Sprintf("%s has slots in migration", n.Addr), nil
		}
		fp := ownersFingerprint(nv)
		if want == "" {
			want, first = fp, n.Addr
		} else if fp != want {
			return fmt.Sprintf("%s and %s disagree on the masters and their slots", first, n.Addr), nil
		}
		c, err := m.conn(n.Addr)
		if err != nil {
			return "", err
		}
		ci, err := DoText(ctx, c, n.Addr, "CLUSTER", "INFO")
		if err != nil {
			return fmt.Sprintf("%s does not answer: %v", n.Addr, err), nil
		}
		if st := ParseInfo(ci)["cluster_state"]; st != "ok" {
			return fmt.Sprintf("%s reports cluster_state:%s", n.Addr, st), nil
		}
	}
	if want == "" {
		return "no node answered", nil
	}
	return "", nil
}

// ownersFingerprint renders one view canonically, to compare views: each
// node's role, master and slots (not its flags, which differ from node to
// node while a failure is being detected).
func ownersFingerprint(v nodeView) string {
	lines := make([]string, 0, len(v))
	for _, n := range v {
		role := "replica"
		if n.IsMaster() {
			role = "master"
		}
		lines = append(lines, fmt.Sprintf("%s %s %s %v", n.ID, role, n.MasterID, n.Slots))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// slotContext returns the context for the commands of one slot: it is not
// cancelled with ctx, so a slot once opened gets closed, but it ends
// CleanupTimeout after ctx does. Call release when the slot is done.
func slotContext(ctx context.Context) (sctx context.Context, release func()) {
	sctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(CleanupTimeout, func() {
			cancel(fmt.Errorf("cluster: closing the slot took longer than %v after the cancellation", CleanupTimeout))
		})
		context.AfterFunc(sctx, func() { t.Stop() })
	})
	return sctx, func() { stop(); cancel(nil) }
}

// cleanupContext returns a context that ignores ctx's cancellation and ends
// after CleanupTimeout, for closing slots after a failure.
func cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), CleanupTimeout)
}

// sleep waits d or until ctx ends; false if ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
