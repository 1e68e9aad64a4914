package router_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/clusterbench/clusterbench/router"
)

// threeShards is a hand-built 3-master topology covering every slot, with a
// replica in the first shard listed before its master.
func threeShards() []router.Shard {
	return []router.Shard{
		{Slots: []router.SlotRange{{First: 0, Last: 5460}}, Nodes: []router.ShardNode{
			{ID: "r1", Addr: "127.0.0.1:7003", Role: "replica"},
			{ID: "m1", Addr: "127.0.0.1:7000", Role: "master"},
		}},
		{Slots: []router.SlotRange{{First: 5461, Last: 10922}}, Nodes: []router.ShardNode{
			{ID: "m2", Addr: "127.0.0.1:7001", Role: "master"},
		}},
		{Slots: []router.SlotRange{{First: 10923, Last: 16383}}, Nodes: []router.ShardNode{
			{ID: "m3", Addr: "127.0.0.1:7002", Role: "master"},
		}},
	}
}

func mustLookup(t *testing.T, m *router.SlotMap, slot uint16, want string) {
	t.Helper()
	got, ok := m.Lookup(slot)
	if !ok || got != want {
		t.Fatalf("Lookup(%d) = %q, %v; want %q, true", slot, got, ok, want)
	}
}

func mustBeUnowned(t *testing.T, m *router.SlotMap, slot uint16) {
	t.Helper()
	if got, ok := m.Lookup(slot); ok {
		t.Fatalf("Lookup(%d) = %q, true; want unowned", slot, got)
	}
	if got, ok := m.LookupIndex(slot); ok {
		t.Fatalf("LookupIndex(%d) = %d, true; want unowned", slot, got)
	}
}

func TestNewSlotMap(t *testing.T) {
	m := router.NewSlotMap(threeShards())
	if got, want := m.Nodes(), []string{"127.0.0.1:7000", "127.0.0.1:7001", "127.0.0.1:7002"}; !slices.Equal(got, want) {
		t.Fatalf("Nodes() = %v, want %v (masters only, in shard order)", got, want)
	}
	for _, c := range []struct {
		slot uint16
		addr string
		node int
	}{{0, "127.0.0.1:7000", 0}, {5460, "127.0.0.1:7000", 0}, {5461, "127.0.0.1:7001", 1},
		{10922, "127.0.0.1:7001", 1}, {10923, "127.0.0.1:7002", 2}, {16383, "127.0.0.1:7002", 2}} {
		mustLookup(t, m, c.slot, c.addr)
		if i, ok := m.LookupIndex(c.slot); !ok || i != c.node {
			t.Fatalf("LookupIndex(%d) = %d, %v; want %d, true", c.slot, i, ok, c.node)
		}
	}
	if m.Covered() != router.NumSlots || m.Epoch() != 0 {
		t.Fatalf("Covered() = %d, Epoch() = %d; want %d, 0", m.Covered(), m.Epoch(), router.NumSlots)
	}
	if n := m.Node(1); n.ID != "m2" || n.Addr != "127.0.0.1:7001" {
		t.Fatalf("Node(1) = %+v", n)
	}
	mustBeUnowned(t, m, router.NumSlots) // out of range
}

func TestNewSlotMapUnownedSlots(t *testing.T) {
	shards := []router.Shard{
		{Slots: []router.SlotRange{{First: 0, Last: 99}, {First: 200, Last: 299}}, Nodes: []router.ShardNode{
			{ID: "m1", Addr: "127.0.0.1:7000", Role: "master"},
		}},
		// A failed shard: replicas only; its slots must not be routed.
		{Slots: []router.SlotRange{{First: 100, Last: 199}}, Nodes: []router.ShardNode{
			{ID: "r2", Addr: "127.0.0.1:7004", Role: "replica", Health: "failed"},
		}},
		// A master without slots is still a node (e.g. a scale-out target).
		{Nodes: []router.ShardNode{{ID: "m3", Addr: "127.0.0.1:7002", Role: "master"}}},
	}
	m := router.NewSlotMap(shards)
	mustLookup(t, m, 99, "127.0.0.1:7000")
	mustBeUnowned(t, m, 100)
	mustBeUnowned(t, m, 199)
	mustLookup(t, m, 200, "127.0.0.1:7000")
	mustBeUnowned(t, m, 300)
	mustBeUnowned(t, m, 16383)
	if m.Covered() != 200 {
		t.Fatalf("Covered() = %d, want 200", m.Covered())
	}
	if got := m.Nodes(); !slices.Equal(got, []string{"127.0.0.1:7000", "127.0.0.1:7002"}) {
		t.Fatalf("Nodes() = %v", got)
	}
}

func TestNilSlotMap(t *testing.T) {
	var m *router.SlotMap // what AtomicSlotMap.Load gives before the first Store
	mustBeUnowned(t, m, 0)
	if m.Covered() != 0 || m.Nodes() != nil || m.Epoch() != 0 {
		t.Fatal("a nil map must be empty")
	}
	p := m.WithSlot(7, "127.0.0.1:7000")
	mustLookup(t, p, 7, "127.0.0.1:7000")
	mustBeUnowned(t, p, 8)
	if p.Covered() != 1 {
		t.Fatalf("Covered() = %d, want 1", p.Covered())
	}
}

func TestWithSlotLeavesOriginalUntouched(t *testing.T) {
	m := router.NewSlotMap(threeShards())

	// MOVED to a known node.
	p := m.WithSlot(100, "127.0.0.1:7002")
	mustLookup(t, p, 100, "127.0.0.1:7002")
	mustLookup(t, m, 100, "127.0.0.1:7000")
	mustLookup(t, p, 101, "127.0.0.1:7000")
	if p.Epoch() != m.Epoch()+1 || len(p.Nodes()) != 3 || p.Covered() != router.NumSlots {
		t.Fatalf("patched map: epoch %d, nodes %v, covered %d", p.Epoch(), p.Nodes(), p.Covered())
	}

	// MOVED to a new node: added at the end, indexes of the others kept.
	q := p.WithSlot(200, "127.0.0.1:7009")
	mustLookup(t, q, 200, "127.0.0.1:7009")
	mustLookup(t, q, 100, "127.0.0.1:7002")
	if i, ok := q.LookupIndex(200); !ok || i != 3 {
		t.Fatalf("new node index = %d, %v; want 3", i, ok)
	}
	if q.Node(3).ID != "" {
		t.Fatalf("a node learnt from a MOVED has no id, got %q", q.Node(3).ID)
	}
	if len(p.Nodes()) != 3 || len(m.Nodes()) != 3 {
		t.Fatal("adding a node changed an older snapshot")
	}
	mustLookup(t, p, 200, "127.0.0.1:7000")

	// Two patches from the same parent must not share a grown node list.
	r1 := p.WithSlot(300, "127.0.0.1:7010")
	r2 := p.WithSlot(301, "127.0.0.1:7011")
	if r1.Nodes()[3] != "127.0.0.1:7010" || r2.Nodes()[3] != "127.0.0.1:7011" {
		t.Fatalf("sibling snapshots share node storage: %v / %v", r1.Nodes(), r2.Nodes())
	}
	mustLookup(t, r1, 300, "127.0.0.1:7010")

	// Nothing to change: the same snapshot comes back.
	if m.WithSlot(0, "127.0.0.1:7000") != m || m.WithSlot(router.NumSlots, "127.0.0.1:7001") != m || m.WithSlot(0, "") != m {
		t.Fatal("a no-op WithSlot must return the receiver")
	}
}

func TestWithSlotCoversUnownedSlot(t *testing.T) {
	m := router.NewSlotMap(threeShards()[:1])
	p := m.WithSlot(9000, "127.0.0.1:7001")
	if m.Covered() != 5461 || p.Covered() != 5462 {
		t.Fatalf("Covered() = %d then %d, want 5461 then 5462", m.Covered(), p.Covered())
	}
	mustBeUnowned(t, m, 9000)
}

func TestRefreshedKeepsNodeIndexes(t *testing.T) {
	m := router.NewSlotMap(threeShards()).WithSlot(5, "127.0.0.1:7009")
	// After a scale-in: 7001 left, 7009 (learnt from a MOVED, no id) is now
	// known with its id, 7005 is new.
	next := []router.Shard{
		{Slots: []router.SlotRange{{First: 0, Last: 8000}}, Nodes: []router.ShardNode{{ID: "m1", Addr: "127.0.0.1:7000", Role: "master"}}},
		{Slots: []router.SlotRange{{First: 8001, Last: 12000}}, Nodes: []router.ShardNode{{ID: "m5", Addr: "127.0.0.1:7005", Role: "master"}}},
		{Slots: []router.SlotRange{{First: 12001, Last: 16383}}, Nodes: []router.ShardNode{{ID: "m9", Addr: "127.0.0.1:7009", Role: "master"}}},
	}
	r := m.Refreshed(next)
	want := []string{"127.0.0.1:7000", "127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7009", "127.0.0.1:7005"}
	if !slices.Equal(r.Nodes(), want) {
		t.Fatalf("Nodes() = %v, want %v", r.Nodes(), want)
	}
	if r.Epoch() != m.Epoch()+1 || r.Covered() != router.NumSlots {
		t.Fatalf("Epoch() = %d (was %d), Covered() = %d", r.Epoch(), m.Epoch(), r.Covered())
	}
	mustLookup(t, r, 5, "127.0.0.1:7000")
	mustLookup(t, r, 8001, "127.0.0.1:7005")
	mustLookup(t, r, 16383, "127.0.0.1:7009")
	if r.Node(3).ID != "m9" {
		t.Fatalf("the refresh must fill in the id of a node learnt from a MOVED, got %q", r.Node(3).ID)
	}
	mustLookup(t, m, 5, "127.0.0.1:7009") // m untouched
}

func TestSlotMapLookupDoesNotAllocate(t *testing.T) {
	m := router.NewSlotMap(threeShards())
	var addr string
	var node int
	var ok bool
	if n := testing.AllocsPerRun(100, func() { addr, ok = m.Lookup(12182) }); n != 0 {
		t.Errorf("Lookup allocates %v times per call", n)
	}
	if n := testing.AllocsPerRun(100, func() { node, ok = m.LookupIndex(12182) }); n != 0 {
		t.Errorf("LookupIndex allocates %v times per call", n)
	}
	var a router.AtomicSlotMap
	a.Store(m)
	if n := testing.AllocsPerRun(100, func() { addr, ok = a.Load().Lookup(9500) }); n != 0 {
		t.Errorf("AtomicSlotMap.Load().Lookup allocates %v times per call", n)
	}
	_, _, _ = addr, node, ok
}

// TestAtomicSlotMapConcurrent runs readers against patchers (meant for
// -race): every read sees a consistent snapshot, and no patch is lost.
func TestAtomicSlotMapConcurrent(t *testing.T) {
	var a router.AtomicSlotMap
	a.Store(router.NewSlotMap(threeShards()))
	const patchers, patchesEach = 4, 200
	targets := []string{"127.0.0.1:7100", "127.0.0.1:7101", "127.0.0.1:7102", "127.0.0.1:7103"}

	stop := make(chan struct{})
	var readers sync.WaitGroup
	errs := make(chan error, 8)
	for range 4 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				m := a.Load()
				for slot := uint16(0); slot < router.NumSlots; slot += 97 {
					addr, ok := m.Lookup(slot)
					i, okIdx := m.LookupIndex(slot)
					if !ok || !okIdx || m.Nodes()[i] != addr {
						errs <- fmt.Errorf("slot %d: Lookup %q/%v, LookupIndex %d/%v in one snapshot", slot, addr, ok, i, okIdx)
						return
					}
				}
			}
		})
	}
	var writers sync.WaitGroup
	for w := range patchers {
		writers.Go(func() {
			// Each patcher owns the slots congruent to w mod patchers, so
			// the final owner of every patched slot is known.
			for k := range patchesEach {
				slot := uint16(k*patchers + w)
				a.Patch(slot, targets[w])
			}
		})
	}
	writers.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	m := a.Load()
	for w := range patchers {
		for k := range patchesEach {
			mustLookup(t, m, uint16(k*patchers+w), targets[w])
		}
	}
	if got := m.Epoch(); got != patchers*patchesEach {
		t.Fatalf("Epoch() = %d, want %d: a patch was lost or doubled", got, patchers*patchesEach)
	}
	if len(m.Nodes()) != 3+len(targets) {
		t.Fatalf("Nodes() = %v, want the 3 masters and 4 targets once each", m.Nodes())
	}
}

func TestAtomicSlotMapCompareAndSwap(t *testing.T) {
	var a router.AtomicSlotMap
	if a.Load() != nil {
		t.Fatal("zero AtomicSlotMap must hold nil")
	}
	m := router.NewSlotMap(threeShards())
	if !a.CompareAndSwap(nil, m) || a.Load() != m {
		t.Fatal("CompareAndSwap(nil, m) on an empty holder must succeed")
	}
	stale := m.WithSlot(1, "127.0.0.1:7001")
	if a.CompareAndSwap(stale, router.NewSlotMap(nil)) {
		t.Fatal("CompareAndSwap with a stale old value must fail")
	}
	if a.Load() != m {
		t.Fatal("a failed CompareAndSwap changed the holder")
	}
}
