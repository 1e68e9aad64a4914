package cluster

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/clusterbench/clusterbench/router"
)

// ErrNotCluster: the address is a Redis server without cluster mode.
var ErrNotCluster = errors.New("cluster: not a cluster node")

// Topology is which master serves which slots, with its replicas, as one
// node of the cluster reported it.
type Topology struct {
	Masters []Master // sorted by first slot; masters without slots last, by address
	Version string   // redis_version of the seed (INFO server)
	Source  string   // router.SourceShards or router.SourceSlots: the command the map came from
}

// Master is a master node with its slot ranges (ascending) and replicas.
type Master struct {
	ID       string
	Addr     string
	Health   string // CLUSTER SHARDS health ("online", "failed", "loading"); empty from CLUSTER SLOTS
	Slots    []router.SlotRange
	Replicas []Replica
}

// Replica is a replica of a master.
type Replica struct {
	ID     string
	Addr   string
	Health string // as Master.Health
}

// Discover asks the node at seed for the cluster's topology: CLUSTER SHARDS
// (Redis ≥ 7), falling back to CLUSTER SLOTS when that fails or does not
// cover every slot exactly once (router.ChooseTopology has the rule).
//
// A seed that is not a cluster node gives an error wrapping ErrNotCluster.
// When neither reply covers all 16384 slots (a cluster really missing
// slots), Discover returns the best topology it got together with an error
// wrapping router.ErrSlotsUncovered or router.ErrSlotsOverlap, so a caller
// that can live with a partial map (a status table) still has it.
func Discover(ctx context.Context, seed string, opt ConnOptions) (*Topology, error) {
	c, err := Dial(seed, opt)
	if errors.Is(err, ErrAuth) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("%w (is a Redis Cluster node listening at %s?)", err, seed)
	}
	defer c.Close()

	// One section per INFO call: older servers accept only one.
	server, err := info(ctx, c, seed, "server")
	if err != nil {
		return nil, err
	}
	cl, err := info(ctx, c, seed, "cluster")
	if err != nil {
		return nil, err
	}
	if cl["cluster_enabled"] != "1" {
		return nil, notCluster(seed, cmp.Or(cl["cluster_enabled"], "?"))
	}

	shards, shardsErr := []router.Shard(nil), error(nil)
	if reply, err := Do(ctx, c, "CLUSTER", "SHARDS").ToAny(); err != nil {
		shardsErr = err
	} else {
		shards, shardsErr = router.ParseShards(reply)
	}
	slots := func() ([]router.Shard, error) {
		reply, err := Do(ctx, c, "CLUSTER", "SLOTS").ToAny()
		if err != nil {
			return nil, err
		}
		return router.ParseSlots(reply)
	}
	shards, source, err := router.ChooseTopology(shards, shardsErr, slots)
	if shards == nil {
		return nil, fmt.Errorf("cluster: topology from %s: %w", seed, err)
	}
	router.ResolveHosts(shards, seed)
	t := newTopology(shards)
	t.Version, t.Source = server["redis_version"], source
	if err != nil {
		return t, fmt.Errorf("cluster: topology from %s: %w", seed, err)
	}
	return t, nil
}

// notCluster is the error for a seed without cluster mode.
func notCluster(addr, enabled string) error {
	return fmt.Errorf("%w: %s is not a cluster node (cluster_enabled:%s): point --addrs at a Redis Cluster node",
		ErrNotCluster, addr, enabled)
}

// newTopology turns parsed shards into masters sorted by first slot.
// Shards without a master (all its nodes failed) are left out.
func newTopology(shards []router.Shard) *Topology {
	t := &Topology{}
	for _, s := range shards {
		m, ok := s.Master()
		if !ok {
			continue
		}
		master := Master{ID: m.ID, Addr: m.Addr, Health: m.Health, Slots: slices.Clone(s.Slots)}
		slices.SortFunc(master.Slots, func(a, b router.SlotRange) int { return cmp.Compare(a.First, b.First) })
		for _, n := range s.Nodes {
			if n.Role != "master" {
				master.Replicas = append(master.Replicas, Replica{ID: n.ID, Addr: n.Addr, Health: n.Health})
			}
		}
		t.Masters = append(t.Masters, master)
	}
	slices.SortFunc(t.Masters, func(a, b Master) int {
		aEmpty, bEmpty := len(a.Slots) == 0, len(b.Slots) == 0
		switch {
		case aEmpty && bEmpty:
			return cmp.Compare(a.Addr, b.Addr)
		case aEmpty:
			return 1
		case bEmpty:
			return -1
		}
		return cmp.Compare(a.Slots[0].First, b.Slots[0].First)
	})
	return t
}

// Shards converts t back into router shards (master first in each).
func (t *Topology) Shards() []router.Shard {
	shards := make([]router.Shard, 0, len(t.Masters))
	for _, m := range t.Masters {
		s := router.Shard{Slots: slices.Clone(m.Slots)}
		s.Nodes = append(s.Nodes, router.ShardNode{ID: m.ID, Addr: m.Addr, Role: "master", Health: m.Health})
		for _, r := range m.Replicas {
			s.Nodes = append(s.Nodes, router.ShardNode{ID: r.ID, Addr: r.Addr, Role: "replica", Health: r.Health})
		}
		shards = append(shards, s)
	}
	return shards
}

// SlotMap builds the router's slot map from t.
func (t *Topology) SlotMap() *router.SlotMap { return router.NewSlotMap(t.Shards()) }

// SlotCount is the number of slots the master at addr serves (0 for a
// replica or an unknown address).
func (t *Topology) SlotCount(addr string) int {
	for _, m := range t.Masters {
		if m.Addr == addr {
			return countSlots(m.Slots)
		}
	}
	return 0
}

// Addrs returns every node's address: the masters in order, then the
// replicas (e.g. to sample INFO errorstats on all of them).
func (t *Topology) Addrs() []string {
	var out []string
	for _, m := range t.Masters {
		out = append(out, m.Addr)
	}
	for _, m := range t.Masters {
		for _, r := range m.Replicas {
			out = append(out, r.Addr)
		}
	}
	return out
}

// MasterAddrs returns the masters' addresses in slot order.
func (t *Topology) MasterAddrs() []string {
	out := make([]string, len(t.Masters))
	for i, m := range t.Masters {
		out[i] = m.Addr
	}
	return out
}
