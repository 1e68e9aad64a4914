package router

import "sync/atomic"

// noOwner marks an unowned slot in SlotMap.owner.
const noOwner = ^uint16(0)

// NodeInfo is one master known to a SlotMap.
type NodeInfo struct {
	Addr string // host:port
	ID   string // cluster node id; empty when unknown (a node learnt from a MOVED)
}

// SlotMap is an immutable snapshot of which master owns each hash slot.
//
// Readers on the hot path share one *SlotMap (through AtomicSlotMap) and
// never lock: Lookup is two array reads. Changes make a new snapshot
// (WithSlot for one MOVED, Refreshed for a whole topology reply) and swap
// it in; the old one stays valid for whoever still holds it.
//
// Nodes are numbered in the order they were first seen. A node keeps its
// index in every snapshot derived from this one (WithSlot, Refreshed), even
// when it no longer owns any slot, so per-node state kept in a slice indexed
// the same way (connections, counters) stays valid across swaps.
type SlotMap struct {
	owner   [NumSlots]uint16 // node index, or noOwner
	nodes   []NodeInfo
	addrs   []string // nodes[i].Addr, ready for Nodes() without allocating
	covered int
	epoch   uint64
}

// NewSlotMap builds a snapshot from a topology (ParseShards, ParseSlots),
// epoch 0. Each shard's slots go to its master; the slots of a shard
// without a master stay unowned, as do slots no shard lists. A master that
// owns no slot is still listed in Nodes. If two shards list the same slot,
// the later one wins: check the topology with CheckCoverage first.
func NewSlotMap(shards []Shard) *SlotMap {
	var empty SlotMap
	return empty.rebuild(shards, 0)
}

// Refreshed builds the snapshot that replaces m after a topology refresh:
// like NewSlotMap, but its epoch is m's plus one and m's nodes keep their
// indexes. m may be nil (then it is NewSlotMap).
func (m *SlotMap) Refreshed(shards []Shard) *SlotMap {
	if m == nil {
		return NewSlotMap(shards)
	}
	return m.rebuild(shards, m.epoch+1)
}

// rebuild returns a map owning slots as shards say, with m's nodes first.
func (m *SlotMap) rebuild(shards []Shard, epoch uint64) *SlotMap {
	n := &SlotMap{epoch: epoch}
	for i := range n.owner {
		n.owner[i] = noOwner
	}
	n.nodes = append([]NodeInfo(nil), m.nodes...)
	for _, s := range shards {
		master, ok := s.Master()
		if !ok || master.Addr == "" {
			continue
		}
		idx := n.nodeIndex(master.Addr)
		if idx < 0 {
			idx = len(n.nodes)
			n.nodes = append(n.nodes, NodeInfo{Addr: master.Addr, ID: master.ID})
		} else if master.ID != "" {
			n.nodes[idx].ID = master.ID
		}
		for _, r := range s.Slots {
			for slot := int(r.First); slot <= int(r.Last) && slot < NumSlots; slot++ {
				n.owner[slot] = uint16(idx)
			}
		}
	}
	n.addrs = make([]string, len(n.nodes))
	for i, node := range n.nodes {
		n.addrs[i] = node.Addr
	}
	for _, o := range n.owner {
		if o != noOwner {
			n.covered++
		}
	}
	return n
}

// nodeIndex returns the index of the node with this address, or -1. A
// linear scan: clusters have a handful of masters, and this is only called
// when building a snapshot.
func (m *SlotMap) nodeIndex(addr string) int {
	for i := range m.nodes {
		if m.nodes[i].Addr == addr {
			return i
		}
	}
	return -1
}

// Lookup returns the address of the master that owns slot. ok is false when
// the slot is unowned, out of range, or m is nil (no topology yet). It does
// not allocate or lock.
func (m *SlotMap) Lookup(slot uint16) (addr string, ok bool) {
	if m == nil || slot >= NumSlots {
		return "", false
	}
	i := m.owner[slot]
	if i == noOwner {
		return "", false
	}
	return m.addrs[i], true
}

// LookupIndex is Lookup returning the owner's index into Nodes instead of
// its address, for callers that keep per-node state in a slice.
func (m *SlotMap) LookupIndex(slot uint16) (node int, ok bool) {
	if m == nil || slot >= NumSlots {
		return 0, false
	}
	i := m.owner[slot]
	if i == noOwner {
		return 0, false
	}
	return int(i), true
}

// Nodes returns the master addresses; the index of an address is its node
// index. The slice is shared by the snapshot: do not modify it.
func (m *SlotMap) Nodes() []string {
	if m == nil {
		return nil
	}
	return m.addrs
}

// Node returns the node with index i (0 <= i < len(Nodes())).
func (m *SlotMap) Node(i int) NodeInfo { return m.nodes[i] }

// Covered returns the number of slots that have an owner.
func (m *SlotMap) Covered() int {
	if m == nil {
		return 0
	}
	return m.covered
}

// Epoch returns the snapshot's generation: 0 for NewSlotMap, plus one for
// each WithSlot or Refreshed that produced it. Handy in logs and for telling
// whether a map changed since it was last read.
func (m *SlotMap) Epoch() uint64 {
	if m == nil {
		return 0
	}
	return m.epoch
}

// WithSlot returns a copy of m in which slot is owned by addr, adding addr
// as a new node if m does not know it: the reaction to a MOVED. m itself is
// not changed (m may be nil: no topology yet). It returns m when there is
// nothing to change: slot already owned by addr, slot out of range, or an
// empty addr (resolve ":port" with FillHost first). It copies the 32 KiB
// owner array, which is fine for a MOVED but not for the steady state.
func (m *SlotMap) WithSlot(slot uint16, addr string) *SlotMap {
	if slot >= NumSlots || addr == "" {
		return m
	}
	if m == nil {
		m = NewSlotMap(nil)
	}
	idx := m.nodeIndex(addr)
	if idx >= 0 && m.owner[slot] == uint16(idx) {
		return m
	}
	n := new(SlotMap)
	*n = *m // copies the owner array; the node slices are shared until changed
	n.epoch++
	if idx < 0 {
		if len(m.nodes) >= int(noOwner) {
			return m // cannot index another node; never happens in a real cluster
		}
		idx = len(m.nodes)
		// Fresh slices: appending to m's could write into a backing array a
		// sibling snapshot also appends to.
		n.nodes = append(m.nodes[:len(m.nodes):len(m.nodes)], NodeInfo{Addr: addr})
		n.addrs = append(m.addrs[:len(m.addrs):len(m.addrs)], addr)
	}
	if n.owner[slot] == noOwner {
		n.covered++
	}
	n.owner[slot] = uint16(idx)
	return n
}

// AtomicSlotMap holds the current snapshot. Readers Load it and look up
// without locks; writers build a new snapshot and Store or CompareAndSwap
// it. The zero value holds nil, which Lookup treats as "no owner".
type AtomicSlotMap struct {
	p atomic.Pointer[SlotMap]
}

// Load returns the current snapshot (nil before the first Store).
func (a *AtomicSlotMap) Load() *SlotMap { return a.p.Load() }

// Store makes m the current snapshot.
func (a *AtomicSlotMap) Store(m *SlotMap) { a.p.Store(m) }

// CompareAndSwap makes new the current snapshot if old still is.
func (a *AtomicSlotMap) CompareAndSwap(old, new *SlotMap) bool { return a.p.CompareAndSwap(old, new) }

// Patch sets slot's owner to addr in the current snapshot, retrying when a
// concurrent writer swapped it meanwhile so that no update is lost, and
// returns the snapshot it installed (or the current one, if unchanged).
func (a *AtomicSlotMap) Patch(slot uint16, addr string) *SlotMap {
	for {
		old := a.p.Load()
		n := old.WithSlot(slot, addr)
		if n == old || a.p.CompareAndSwap(old, n) {
			return n
		}
	}
}
