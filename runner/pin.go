package runner

import (
	"slices"

	"github.com/clusterbench/clusterbench/router"
	"github.com/clusterbench/clusterbench/workload"
)

// pinning deals the workers out to the masters for --pin-workers: worker i
// gets the i-th master that owns slots at the start (mod their number) and
// only the keys of that master's slots, as redis-benchmark --cluster binds
// its clients.
type pinning struct {
	keys    workload.KeySpace
	owner   []int16 // master index of each slot at the start
	masters []int16 // the masters that own slots, in index order
	// keyBits[j] and counterBits[j] have bit n set when key index n's key,
	// or its counter key (only when the mix has incr), is on masters[j];
	// precomputed when the keyspace is small enough, so a rejected draw
	// costs one bit test in a table that stays in cache instead of a
	// formatted key and its CRC16.
	keyBits, counterBits [][]uint64
}

// maxPinTable bounds the keyspace whose owners are precomputed: a bit per
// key per master, twice (keys and counter keys), 1 MiB per master at most.
const maxPinTable = 1 << 22

// newPinning returns nil when owner (the slot map at the start) is missing
// or empty.
func newPinning(wl *workload.Workload, owner []int16) *pinning {
	p := &pinning{keys: wl.KeySpace(), owner: owner}
	for _, m := range owner {
		if m >= 0 && !slices.Contains(p.masters, m) {
			p.masters = append(p.masters, m)
		}
	}
	if len(p.masters) == 0 {
		return nil
	}
	slices.Sort(p.masters)
	if n := p.keys.Keys; n <= maxPinTable {
		p.keyBits = p.bits(n, workload.KeySpace.AppendKey)
		if wl.Config().Mix[workload.OpIncr] > 0 {
			p.counterBits = p.bits(n, workload.KeySpace.AppendCounterKey)
		}
	}
	return p
}

// bits returns, for each of p.masters, the set of key indexes whose key
// (as appendKey formats it) is on that master.
func (p *pinning) bits(n uint64, appendKey func(workload.KeySpace, []byte, uint64) []byte) [][]uint64 {
	sets := make([][]uint64, len(p.masters))
	for j := range sets {
		sets[j] = make([]uint64, (n+63)/64)
	}
	var buf []byte
	for i := range n {
		buf = appendKey(p.keys, buf[:0], i)
		if j := slices.Index(p.masters, p.owner[router.Slot(buf)]); j >= 0 {
			sets[j][i/64] |= 1 << (i % 64)
		}
	}
	return sets
}

// generator returns worker's generator, restricted to its master's keys
// when p is not nil: the workers and the replay of their streams
// (slotCounts) both take it from here.
func (p *pinning) generator(wl *workload.Workload, worker int) *workload.Generator {
	g := wl.Generator(worker)
	if p != nil {
		g.Restrict(p.filter(worker))
	}
	return g
}

// filter is worker's generator filter (workload.Generator.Restrict).
func (p *pinning) filter(worker int) func(workload.Op, uint64) bool {
	j := worker % len(p.masters)
	master := p.masters[j]
	if p.keyBits != nil {
		keys := p.keyBits[j]
		var counters []uint64
		if p.counterBits != nil {
			counters = p.counterBits[j]
		}
		return func(op workload.Op, n uint64) bool {
			set := keys
			if op == workload.OpIncr {
				set = counters
			}
			return set[n/64]&(1<<(n%64)) != 0
		}
	}
	var buf []byte
	return func(op workload.Op, n uint64) bool {
		if op == workload.OpIncr {
			buf = p.keys.AppendCounterKey(buf[:0], n)
		} else {
			buf = p.keys.AppendKey(buf[:0], n)
		}
		return p.owner[router.Slot(buf)] == master
	}
}
