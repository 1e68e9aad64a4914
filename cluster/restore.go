package cluster

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/clusterbench/clusterbench/router"
)

// SlotOwners returns, for every slot, the address of the master that
// serves it in the cluster's current view ("" for an unassigned slot).
// Restore takes it back to that map.
func (m *Migrator) SlotOwners(ctx context.Context) ([]string, error) {
	if err := m.WaitSettled(ctx); err != nil {
		return nil, err
	}
	v, err := m.view(ctx)
	if err != nil {
		return nil, err
	}
	return ownersOf(v), nil
}

func ownersOf(v nodeView) []string {
	owners := make([]string, router.NumSlots)
	for _, n := range v.masters() {
		for _, r := range n.Slots {
			for s := int(r.First); s <= int(r.Last); s++ {
				owners[s] = n.Addr
			}
		}
	}
	return owners
}

// Restore puts an external cluster back the way SlotOwners saw it, so the
// next strategy of a run starts from the same cluster: a master that a
// manual failover made a replica takes its slots back (CLUSTER FAILOVER on
// it), then every slot served elsewhere moves back to its master, keys
// and all. It returns the slots moved and waits for every node to agree.
// A master that is gone cannot be restored: that is an error.
func (m *Migrator) Restore(ctx context.Context, want []string, o MoveOptions) (MoveStats, error) {
	if err := m.WaitSettled(ctx); err != nil {
		return MoveStats{}, err
	}
	v, err := m.view(ctx)
	if err != nil {
		return MoveStats{}, err
	}
	failedBack := false
	for _, addr := range slices.Compact(slices.Sorted(slices.Values(want))) {
		if addr == "" {
			continue
		}
		n, ok := v.byAddr(addr)
		switch {
		case !ok || !usable(n):
			return MoveStats{}, fmt.Errorf("%w: cannot put the slots of %s back: it is no longer in the cluster", ErrBadMove, addr)
		case n.IsMaster():
			continue
		}
		if err := m.failBack(ctx, n); err != nil {
			return MoveStats{}, err
		}
		failedBack = true
	}
	if failedBack {
		if v, err = m.view(ctx); err != nil {
			return MoveStats{}, err
		}
	}
	// One step per (current owner, wanted owner) pair, in a fixed order.
	have := ownersOf(v)
	byPair := map[[2]string][]uint16{}
	for s := range router.NumSlots {
		if want[s] != "" && have[s] != want[s] {
			if have[s] == "" {
				return MoveStats{}, fmt.Errorf("%w: slot %d has no owner to take it back from", ErrBadMove, s)
			}
			k := [2]string{have[s], want[s]}
			byPair[k] = append(byPair[k], uint16(s))
		}
	}
	var steps []step
	for k, slots := range byPair {
		steps = append(steps, step{slots: slots, from: k[0], to: k[1]})
	}
	slices.SortFunc(steps, func(a, b step) int { return cmp.Or(cmp.Compare(a.from, b.from), cmp.Compare(a.to, b.to)) })
	st, err := runSteps(ctx, m, steps, o)
	if err != nil {
		return st, err
	}
	return st, m.WaitSettled(ctx)
}

// failBack makes the replica n, a master before a manual failover, its
// master's master again.
func (m *Migrator) failBack(ctx context.Context, n ClusterNode) error {
	ctx, cancel := context.WithTimeout(ctx, FailoverTimeout)
	defer cancel()
	c, err := m.conn(n.Addr)
	if err != nil {
		return err
	}
	if err := doOK(ctx, c, n.Addr, "CLUSTER", "FAILOVER"); err != nil {
		return err
	}
	if err := waitFor(ctx, n.Addr+" to be a master again", func() (string, error) {
		v, err := m.nodesOf(ctx, n.Addr)
		if err != nil {
			return "", err
		}
		if self, ok := v.myself(); ok && self.IsMaster() && len(self.Slots) > 0 {
			return "", nil
		}
		return n.Addr + " is still a replica", nil
	}); err != nil {
		return err
	}
	return m.WaitSettled(ctx)
}
