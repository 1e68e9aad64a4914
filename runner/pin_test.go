package runner

import (
	"testing"

	"github.com/clusterbench/clusterbench/router"
	"github.com/clusterbench/clusterbench/workload"
)

// Every key a pinned worker draws is on its master, with the precomputed
// tables and without them, and the workers are dealt out to the masters
// that own slots in turn.
func TestPinningKeepsEachWorkerOnItsMaster(t *testing.T) {
	owner := make([]int16, router.NumSlots)
	for s := range owner {
		owner[s] = int16(s%3) * 2 // masters 0, 2 and 4; 1 and 3 own nothing
	}
	c := workload.DefaultConfig()
	c.Keys, c.TagGroup = 5000, 4
	c.Mix = workload.Mix{workload.OpGet: 40, workload.OpSet: 30, workload.OpIncr: 20, workload.OpMGet: 10}
	wl, err := workload.New(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, tables := range []bool{true, false} {
		p := newPinning(wl, owner)
		if !tables {
			p.keyBits, p.counterBits = nil, nil
		}
		for worker := range 5 {
			want := []int16{0, 2, 4}[worker%3]
			g := wl.Generator(worker)
			g.Restrict(p.filter(worker))
			var key []byte
			if allocs := testing.AllocsPerRun(500, func() { _, key = g.Next(key[:0]) }); allocs != 0 {
				t.Errorf("tables=%v: a pinned draw allocates %v times, want 0", tables, allocs)
			}
			for range 2000 {
				_, key = g.Next(key[:0])
				if got := owner[router.Slot(key)]; got != want {
					t.Fatalf("tables=%v worker %d drew %q on master %d, want master %d", tables, worker, key, got, want)
				}
			}
		}
	}
	if newPinning(wl, nil) != nil {
		t.Error("newPinning with no slot map: want nil")
	}
}

// The replay of the workers' streams (hot-slot's counts) sees what pinned
// workers sent: only the slots of their masters.
func TestSlotCountsReplayPinnedWorkers(t *testing.T) {
	owner := make([]int16, router.NumSlots)
	for s := range owner {
		owner[s] = int16(s % 3)
	}
	wl, err := workload.New(workload.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	counts := slotCounts(wl, newPinning(wl, owner), 2, 20000) // workers on masters 0 and 1
	var total uint64
	for s, n := range counts {
		total += n
		if n > 0 && owner[s] == 2 {
			t.Fatalf("slot %d of master 2 counted %d times, but no worker is pinned there", s, n)
		}
	}
	if total != 20000 {
		t.Fatalf("counted %d ops, want 20000", total)
	}
}
