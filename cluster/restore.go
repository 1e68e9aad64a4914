package cluster

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/rueidis"

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
// and all, after any slot a failed migration left open is closed (Fix). It
// returns the slots moved and waits for every node to agree.
// A master that is gone cannot be restored: that is an error.
func (m *Migrator) Restore(ctx context.Context, want []string, o MoveOptions) (MoveStats, error) {
	// A migration that failed midway may have left a slot open.
	if _, err := m.Fix(ctx); err != nil {
		return MoveStats{}, err
	}
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
	// A master that gives back every slot it has (the empty master a
	// scale-out filled) would turn into a replica of the node that takes
	// its last slot, as Redis 7 does by default: it stays a master.
	// Steps are sorted by giver: each is kept once.
	for i, st := range steps {
		if (i == 0 || steps[i-1].from != st.from) && !slices.Contains(want, st.from) {
			defer m.keepMaster(ctx, v, st.from)()
		}
	}
	st, err := runSteps(ctx, m, steps, o)
	if err != nil {
		return st, err
	}
	return st, m.WaitSettled(ctx)
}

// keepMaster turns cluster-allow-replica-migration off on the master at
// addr and its replicas, so that losing its last slot leaves it a master
// with its replicas, and returns what sets each node's value back. Nodes
// without the setting (Redis before 7.0) are left alone.
func (m *Migrator) keepMaster(ctx context.Context, v nodeView, addr string) (undo func()) {
	const key = "cluster-allow-replica-migration"
	var nodes []ClusterNode
	if master, ok := v.byAddr(addr); ok {
		nodes = append([]ClusterNode{master}, v.replicasOf(master.ID)...)
	}
	type saved struct {
		c   rueidis.Client
		val string
	}
	var old []saved
	for _, n := range nodes {
		c, err := m.conn(n.Addr)
		if err != nil {
			continue
		}
		kv, err := Do(ctx, c, "CONFIG", "GET", key).AsStrMap()
		if val, ok := kv[key]; err == nil && ok && val != "no" {
			if Do(ctx, c, "CONFIG", "SET", key, "no").Error() == nil {
				old = append(old, saved{c, val})
			}
		}
	}
	return func() {
		for _, s := range old {
			_ = Do(context.WithoutCancel(ctx), s.c, "CONFIG", "SET", key, s.val).Error()
		}
	}
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
	start := time.Now()
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
	if err := m.WaitSettled(ctx); err != nil {
		return err
	}
	// Its replicas (the master it took over from among them) must be
	// replicating from it again before the next failover: CLUSTER FAILOVER
	// on a replica that is not in sync never completes.
	err = waitFor(ctx, "the replicas of "+n.Addr+" to be in sync", func() (string, error) {
		v, err := m.nodesOf(ctx, n.Addr)
		if err != nil {
			return "", err
		}
		for _, r := range v {
			if r.MasterID != n.ID || !usable(r) {
				continue
			}
			c, err := m.conn(r.Addr)
			if err != nil {
				return "", err
			}
			repl, err := info(ctx, c, r.Addr, "replication")
			if err != nil {
				return fmt.Sprintf("%s does not answer: %v", r.Addr, err), nil
			}
			if st := repl["master_link_status"]; st != "up" {
				return fmt.Sprintf("%s: master_link_status:%s", r.Addr, st), nil
			}
		}
		return "", nil
	})
	if err != nil {
		return err
	}
	// A replica starts a new election only four node timeouts after its
	// last one (twice the election timeout, itself two node timeouts),
	// and masters vote for a replica of the same master only once per two:
	// the next strategy's failover, by the replica that won before this
	// fail-back, would hang until then and not be the same failover.
	if timeout, err := nodeTimeout(ctx, c); err == nil {
		sleep(ctx, time.Until(start.Add(4*timeout)))
	}
	return nil
}

// nodeTimeout reads cluster-node-timeout from the node c is connected to.
func nodeTimeout(ctx context.Context, c rueidis.Client) (time.Duration, error) {
	kv, err := Do(ctx, c, "CONFIG", "GET", "cluster-node-timeout").AsStrMap()
	if err != nil {
		return 0, err
	}
	ms, err := strconv.ParseInt(kv["cluster-node-timeout"], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("cluster: cluster-node-timeout %q: %w", kv["cluster-node-timeout"], err)
	}
	return time.Duration(ms) * time.Millisecond, nil
}
