package cluster

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/clusterbench/clusterbench/router"
)

// Errors of the scenarios.
var (
	// ErrBadScenario: a --migrate value that is not a scenario.
	ErrBadScenario = errors.New("cluster: bad migration scenario")
	// ErrNeedsLocal: the scenario starts, stops or kills nodes, which only
	// a local cluster started by clusterbench can do.
	ErrNeedsLocal = errors.New("cluster: scenario needs a local cluster (run without --addrs)")
	// ErrNoEmptyMaster: a scale-out on a cluster clusterbench did not
	// start needs a master without slots to move slots to.
	ErrNoEmptyMaster = errors.New("cluster: scale-out needs a master without slots in the cluster: add one (redis-cli --cluster add-node NEW_HOST:PORT EXISTING_HOST:PORT) or use move:K")
	// ErrNoReplica: failover needs a master with a replica.
	ErrNoReplica = errors.New("cluster: no master has a working replica to fail over to (start the cluster with --replicas 1)")
)

// FailoverTimeout bounds how long Failover waits for the replica to take
// over and the cluster to settle.
const FailoverTimeout = 60 * time.Second

// ScenarioKind names a migration scenario.
type ScenarioKind string

// The scenarios of --migrate.
const (
	ScenarioNone         ScenarioKind = "none"
	ScenarioMove         ScenarioKind = "move"          // move:K
	ScenarioScaleOut     ScenarioKind = "scale-out"     // one more master takes an even share
	ScenarioScaleIn      ScenarioKind = "scale-in"      // one master drained and removed
	ScenarioHotSlot      ScenarioKind = "hot-slot"      // hot-slot[:N]
	ScenarioFailover     ScenarioKind = "failover"      // CLUSTER FAILOVER on a replica
	ScenarioFailoverKill ScenarioKind = "failover:kill" // a master killed, automatic failover
)

// Scenario is a parsed --migrate value.
type Scenario struct {
	Kind ScenarioKind
	N    int // move:K: slots to move; hot-slot:N: hottest slots to move
}

// ParseScenario parses none, move:K, scale-out, scale-in, hot-slot[:N],
// failover (or failover:manual) and failover:kill.
func ParseScenario(s string) (Scenario, error) {
	name, arg, hasArg := strings.Cut(strings.TrimSpace(s), ":")
	bad := func(why string) (Scenario, error) {
		return Scenario{}, fmt.Errorf("%w: --migrate %q: %s (want none, move:K, scale-out, scale-in, hot-slot[:N], failover or failover:kill)", ErrBadScenario, s, why)
	}
	count := func() (int, error) {
		n, err := strconv.Atoi(arg)
		if err != nil || n < 1 || n > router.NumSlots {
			return 0, fmt.Errorf("%w: --migrate %q: %q is not a slot count in 1..%d", ErrBadScenario, s, arg, router.NumSlots)
		}
		return n, nil
	}
	switch ScenarioKind(name) {
	case "", ScenarioNone:
		if hasArg {
			return bad("none takes no argument")
		}
		return Scenario{Kind: ScenarioNone}, nil
	case ScenarioMove:
		if !hasArg {
			return bad("move needs the number of slots, e.g. move:16")
		}
		n, err := count()
		return Scenario{Kind: ScenarioMove, N: n}, err
	case ScenarioHotSlot:
		if !hasArg {
			return Scenario{Kind: ScenarioHotSlot, N: 1}, nil
		}
		n, err := count()
		return Scenario{Kind: ScenarioHotSlot, N: n}, err
	case ScenarioScaleOut, ScenarioScaleIn:
		if hasArg {
			return bad(name + " takes no argument")
		}
		return Scenario{Kind: ScenarioKind(name)}, nil
	case ScenarioFailover:
		switch {
		case !hasArg || arg == "manual":
			return Scenario{Kind: ScenarioFailover}, nil
		case arg == "kill":
			return Scenario{Kind: ScenarioFailoverKill}, nil
		}
		return bad("the failover variants are failover (manual), failover:manual and failover:kill")
	}
	return bad("unknown scenario " + strconv.Quote(name))
}

// String is the --migrate form of s.
func (s Scenario) String() string {
	switch s.Kind {
	case ScenarioMove, ScenarioHotSlot:
		return string(s.Kind) + ":" + strconv.Itoa(s.N)
	case "":
		return string(ScenarioNone)
	}
	return string(s.Kind)
}

// NeedsLocal reports whether s kills a node (a remote
// cluster cannot run it).
func (s Scenario) NeedsLocal() bool {
	return s.Kind == ScenarioFailoverKill
}

// ScenarioEnv is what a scenario runs on.
type ScenarioEnv struct {
	Local    *Local    // nil for a cluster clusterbench did not start
	Migrator *Migrator // required unless the scenario is none
	// Counts are the operations per slot so far (16384 entries), for
	// hot-slot.
	Counts []uint64
	Move   MoveOptions // Events in it receive the timeline
}

// Run runs the scenario. It emits migration_started, then the steps, then
// migration_finished or migration_aborted (none emits nothing).
func (s Scenario) Run(ctx context.Context, env ScenarioEnv) (MoveStats, error) {
	if s.Kind != ScenarioNone && s.Kind != "" && env.Migrator == nil {
		return MoveStats{}, errors.New("cluster: scenario " + s.String() + " needs a migrator")
	}
	m, o := env.Migrator, env.Move
	switch s.Kind {
	case ScenarioNone, "":
		return MoveStats{}, nil
	case ScenarioMove:
		return MoveK(ctx, m, s.N, o)
	case ScenarioScaleOut:
		return ScaleOut(ctx, env.Local, m, o)
	case ScenarioScaleIn:
		return ScaleIn(ctx, env.Local, m, "", o)
	case ScenarioHotSlot:
		return HotSlot(ctx, m, env.Counts, s.N, o)
	case ScenarioFailover:
		return Failover(ctx, env.Local, m, true, o.Events)
	case ScenarioFailoverKill:
		return Failover(ctx, env.Local, m, false, o.Events)
	}
	return MoveStats{}, fmt.Errorf("%w: %q", ErrBadScenario, s.Kind)
}

// bracket runs a scenario between migration_started and
// migration_finished / migration_aborted.
func bracket(ev Events, name string, run func() (MoveStats, error)) (MoveStats, error) {
	start := time.Now()
	emit(ev, Event{Kind: EventMigrationStarted, Slot: -1, Detail: name})
	st, err := run()
	st.Duration = time.Since(start)
	emitEnd(ev, name, st, err)
	return st, err
}

// step is one Move of a scenario.
type step struct {
	slots    []uint16
	from, to string
}

// runSteps runs the moves one after the other, reporting progress over all
// of them, and adds up their stats.
func runSteps(ctx context.Context, m *Migrator, steps []step, o MoveOptions) (MoveStats, error) {
	total := 0
	for _, s := range steps {
		total += len(s.slots)
	}
	var st MoveStats
	report := o.Progress
	for _, s := range steps {
		if report != nil {
			base := st.Slots
			o.Progress = func(done, _ int) { report(base+done, total) }
		}
		one, err := m.move(ctx, s.slots, s.from, s.to, o)
		st.add(one)
		if err != nil {
			return st, err
		}
	}
	return st, nil
}

// masterLoad is a master with its slots and key count.
type masterLoad struct {
	node  ClusterNode
	slots []uint16 // ascending
	keys  int64    // DBSIZE
}

// loads returns the usable masters with their slots and DBSIZE.
func (m *Migrator) loads(ctx context.Context) ([]masterLoad, error) {
	v, err := m.view(ctx)
	if err != nil {
		return nil, err
	}
	var out []masterLoad
	for _, n := range v.masters() {
		c, err := m.conn(n.Addr)
		if err != nil {
			return nil, err
		}
		keys, err := Do(ctx, c, "DBSIZE").AsInt64()
		if err != nil {
			return nil, fmt.Errorf("cluster: DBSIZE on %s: %w", n.Addr, err)
		}
		out = append(out, masterLoad{node: n, slots: slotList(n.Slots), keys: keys})
	}
	return out, nil
}

func slotList(rs []router.SlotRange) []uint16 {
	var out []uint16
	for _, r := range rs {
		for s := int(r.First); s <= int(r.Last); s++ {
			out = append(out, uint16(s))
		}
	}
	return out
}

// busier orders masters by keys, then by slots (for an empty cluster).
func busier(a, b masterLoad) int {
	return cmp.Or(cmp.Compare(a.keys, b.keys), cmp.Compare(len(a.slots), len(b.slots)), cmp.Compare(b.node.Addr, a.node.Addr))
}

// MoveK moves k slots (the last ones it serves) from the busiest master —
// the one holding the most keys, or the most slots when the cluster is
// empty — to the least busy one.
func MoveK(ctx context.Context, m *Migrator, k int, o MoveOptions) (MoveStats, error) {
	name := "move:" + strconv.Itoa(k)
	return bracket(o.Events, name, func() (MoveStats, error) {
		ls, err := m.loads(ctx)
		if err != nil {
			return MoveStats{}, err
		}
		if len(ls) < 2 {
			return MoveStats{}, fmt.Errorf("%w: %s needs two masters, the cluster has %d", ErrBadMove, name, len(ls))
		}
		slices.SortFunc(ls, busier)
		least, most := ls[0], ls[len(ls)-1]
		if k < 1 || k > len(most.slots) {
			return MoveStats{}, fmt.Errorf("%w: %s: the busiest master %s serves %d slots", ErrBadMove, name, most.node.Addr, len(most.slots))
		}
		return runSteps(ctx, m, []step{{most.slots[len(most.slots)-k:], most.node.Addr, least.node.Addr}}, o)
	})
}

// ScaleOut moves an even share of the slots to a master that has none,
// from every master, the masters with the most slots giving first, each
// its highest slots. On a local cluster it starts that master and
// introduces it; on one clusterbench did not start it takes the first
// empty master already in the cluster (ErrNoEmptyMaster without one). The
// new master ends with 16384/(n+1) slots, rounded down. It waits for every
// node to agree on the slot map. Cancelled, it stops after the slots in
// flight and the new master keeps the slots it got.
func ScaleOut(ctx context.Context, local *Local, m *Migrator, o MoveOptions) (MoveStats, error) {
	return bracket(o.Events, string(ScenarioScaleOut), func() (MoveStats, error) {
		var target string
		if local != nil {
			n, err := local.AddMaster(ctx)
			if err != nil {
				return MoveStats{}, err
			}
			target = n.Addr
			emit(o.Events, Event{Kind: EventNodeAdded, Slot: -1, Node: n.Addr, Detail: "new master " + n.ID})
		}
		// A new master reports cluster_state:fail for its first seconds
		// (and refuses the keys of a MIGRATE with CLUSTERDOWN) until it has
		// seen the cluster's slot map.
		if err := m.WaitSettled(ctx); err != nil {
			return MoveStats{}, err
		}
		ls, err := m.loads(ctx)
		if err != nil {
			return MoveStats{}, err
		}
		if target == "" {
			i := slices.IndexFunc(ls, func(l masterLoad) bool { return len(l.slots) == 0 })
			if i < 0 {
				return MoveStats{}, ErrNoEmptyMaster
			}
			target = ls[i].node.Addr
		}
		var givers []masterLoad
		for _, l := range ls {
			if l.node.Addr != target && len(l.slots) > 0 {
				givers = append(givers, l)
			}
		}
		if len(givers) == 0 {
			return MoveStats{}, fmt.Errorf("%w: no master with slots to give", ErrBadMove)
		}
		// Take one slot at a time from the master with the most left: the
		// givers end as even as they can.
		share := router.NumSlots / (len(givers) + 1)
		take := make([]int, len(givers))
		for range share {
			i := 0
			for g := range givers {
				if len(givers[g].slots)-take[g] > len(givers[i].slots)-take[i] {
					i = g
				}
			}
			take[i]++
		}
		var steps []step
		for g, l := range givers {
			if take[g] > 0 {
				steps = append(steps, step{l.slots[len(l.slots)-take[g]:], l.node.Addr, target})
			}
		}
		st, err := runSteps(ctx, m, steps, o)
		if err != nil {
			return st, err
		}
		return st, m.WaitSettled(ctx)
	})
}

// ScaleIn drains the master at addr ("" picks the master with the fewest
// slots) into the others, evenly. On a local cluster it then stops it and
// its replicas and makes every node forget them; on one clusterbench did
// not start the drained master stays in the cluster, a master without
// slots, as before a decommission. It waits for every node to agree on the
// slot map.
func ScaleIn(ctx context.Context, local *Local, m *Migrator, addr string, o MoveOptions) (MoveStats, error) {
	return bracket(o.Events, string(ScenarioScaleIn), func() (MoveStats, error) {
		ls, err := m.loads(ctx)
		if err != nil {
			return MoveStats{}, err
		}
		if len(ls) < 2 {
			return MoveStats{}, fmt.Errorf("%w: scale-in needs two masters, the cluster has %d", ErrBadMove, len(ls))
		}
		i := 0
		if addr == "" {
			for k, l := range ls {
				if len(l.slots) < len(ls[i].slots) {
					i = k
				}
			}
		} else if i = slices.IndexFunc(ls, func(l masterLoad) bool { return l.node.Addr == addr }); i < 0 {
			return MoveStats{}, fmt.Errorf("%w: %s is not a working master", ErrBadMove, addr)
		}
		victim := ls[i]
		takers := slices.Delete(slices.Clone(ls), i, i+1)
		v, err := m.view(ctx)
		if err != nil {
			return MoveStats{}, err
		}
		replicas := v.replicasOf(victim.node.ID)
		// A master that loses its last slot would otherwise turn into a
		// replica of the node that took it (and its replicas would follow),
		// starting full syncs of nodes about to go, or, on a cluster that
		// stays, leaving no empty master to put the slots back on.
		keepOn := m.keepMaster(ctx, v, victim.node.Addr)
		// Give one slot at a time to the taker with the fewest, then hand
		// out contiguous runs of the victim's slots.
		give := make([]int, len(takers))
		for range victim.slots {
			t := 0
			for k := range takers {
				if len(takers[k].slots)+give[k] < len(takers[t].slots)+give[t] {
					t = k
				}
			}
			give[t]++
		}
		var steps []step
		rest := victim.slots
		for k, t := range takers {
			if give[k] > 0 {
				steps = append(steps, step{rest[:give[k]], victim.node.Addr, t.node.Addr})
				rest = rest[give[k]:]
			}
		}
		st, err := runSteps(ctx, m, steps, o)
		if local == nil {
			defer keepOn() // its setting as it was
			if err != nil {
				return st, err
			}
			emit(o.Events, Event{Kind: EventNodeDrained, Slot: -1, Node: victim.node.Addr, Detail: "drained, left in the cluster: " + victim.node.ID})
			return st, m.WaitSettled(ctx)
		}
		if err != nil {
			return st, err
		}
		gone := append(replicas, victim.node)
		for _, n := range gone {
			// A replica that is down already is not in the list: fine.
			if err := local.StopNode(ctx, n.Addr); err != nil && !errors.Is(err, ErrUnknownNode) {
				return st, err
			}
		}
		for _, n := range gone {
			if err := local.ForgetNode(ctx, n.ID); err != nil {
				return st, err
			}
			emit(o.Events, Event{Kind: EventNodeRemoved, Slot: -1, Node: n.Addr, Detail: "forgotten and stopped: " + n.ID})
		}
		m.forget(gone)
		return st, m.WaitSettled(ctx)
	})
}

// forget drops the connections to nodes that are gone.
func (m *Migrator) forget(nodes []ClusterNode) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, n := range nodes {
		if c, ok := m.conns[n.Addr]; ok {
			c.Close()
			delete(m.conns, n.Addr)
		}
		m.known = slices.DeleteFunc(m.known, func(a string) bool { return a == n.Addr })
	}
}

// HotSlot moves the n slots with the most operations (counts has one entry
// per slot), hottest first, each to the master that serves the fewest
// operations at that point (by counts), never to its own master.
func HotSlot(ctx context.Context, m *Migrator, counts []uint64, n int, o MoveOptions) (MoveStats, error) {
	name := "hot-slot:" + strconv.Itoa(n)
	return bracket(o.Events, name, func() (MoveStats, error) {
		if len(counts) != router.NumSlots {
			return MoveStats{}, fmt.Errorf("%w: %s needs %d per-slot counts, got %d", ErrBadMove, name, router.NumSlots, len(counts))
		}
		hot := make([]uint16, 0, router.NumSlots)
		for s, c := range counts {
			if c > 0 {
				hot = append(hot, uint16(s))
			}
		}
		if len(hot) == 0 {
			return MoveStats{}, fmt.Errorf("%w: %s: no slot has any operation yet", ErrBadMove, name)
		}
		slices.SortStableFunc(hot, func(a, b uint16) int { return cmp.Compare(counts[b], counts[a]) })
		hot = hot[:min(max(n, 1), len(hot))]

		ls, err := m.loads(ctx)
		if err != nil {
			return MoveStats{}, err
		}
		if len(ls) < 2 {
			return MoveStats{}, fmt.Errorf("%w: %s needs two masters, the cluster has %d", ErrBadMove, name, len(ls))
		}
		owner := make(map[uint16]int, router.NumSlots)
		ops := make([]uint64, len(ls))
		for i, l := range ls {
			for _, s := range l.slots {
				owner[s] = i
				ops[i] += counts[s]
			}
		}
		var steps []step
		for _, s := range hot {
			from, ok := owner[s]
			if !ok {
				return MoveStats{}, fmt.Errorf("%w: %s: slot %d has no working master", ErrBadMove, name, s)
			}
			to := -1
			for i := range ls {
				if i != from && (to < 0 || ops[i] < ops[to]) {
					to = i
				}
			}
			ops[from] -= counts[s]
			ops[to] += counts[s]
			steps = append(steps, step{[]uint16{s}, ls[from].node.Addr, ls[to].node.Addr})
		}
		return runSteps(ctx, m, steps, o)
	})
}

// Failover makes a replica take over its master: with manual, CLUSTER
// FAILOVER on the replica (the master hands over once the replica has
// caught up, so no acknowledged write is lost); otherwise the master is
// killed (local clusters only) and the replicas elect one of themselves
// after cluster-node-timeout. The master is the first, in slot order, with
// a working replica. It returns once the new master serves the slots and
// every node agrees, within FailoverTimeout; the stats count the slots that
// changed owner (no key moves). The killed master stays in the cluster's
// node list, failed, as after a real crash.
func Failover(ctx context.Context, local *Local, m *Migrator, manual bool, ev Events) (MoveStats, error) {
	name := string(ScenarioFailoverKill)
	if manual {
		name = string(ScenarioFailover)
	}
	return bracket(ev, name, func() (MoveStats, error) {
		if !manual && local == nil {
			return MoveStats{}, fmt.Errorf("%w: failover:kill kills a master", ErrNeedsLocal)
		}
		ctx, cancel := context.WithTimeout(ctx, FailoverTimeout)
		defer cancel()
		master, replicas, err := m.failoverPair(ctx)
		if err != nil {
			return MoveStats{}, err
		}
		start := time.Now()
		var candidate string // the replica expected to win, if we chose it
		if manual {
			r := replicas[0]
			candidate = r.Addr
			emit(ev, Event{Kind: EventFailoverStarted, Slot: -1, From: master.Addr, Node: r.Addr, Detail: "manual: CLUSTER FAILOVER on " + r.Addr})
			c, err := m.conn(r.Addr)
			if err != nil {
				return MoveStats{}, err
			}
			if err := doOK(ctx, c, r.Addr, "CLUSTER", "FAILOVER"); err != nil {
				return MoveStats{}, err
			}
		} else {
			emit(ev, Event{Kind: EventFailoverStarted, Slot: -1, From: master.Addr, Detail: "kill: SIGKILL to master " + master.Addr})
			if err := local.KillNode(master.Addr); err != nil {
				return MoveStats{}, err
			}
			m.forget([]ClusterNode{master})
		}
		var winner ClusterNode
		err = waitFor(ctx, "a replica of "+master.Addr+" to take over its slots", func() (string, error) {
			for _, r := range replicas {
				if candidate != "" && r.Addr != candidate {
					continue
				}
				v, err := m.nodesOf(ctx, r.Addr)
				if err != nil {
					continue // not answering yet: try the next
				}
				if self, ok := v.myself(); ok && self.IsMaster() && len(self.Slots) > 0 {
					winner = self
					return "", nil
				}
			}
			return "no replica of " + master.Addr + " is master yet", nil
		})
		if err != nil {
			return MoveStats{}, err
		}
		emit(ev, Event{Kind: EventOwnerChanged, Slot: -1, Node: winner.Addr, From: master.Addr,
			Detail: fmt.Sprintf("%d slots now served by %s", winner.SlotCount(), winner.Addr)})
		if err := m.WaitSettled(ctx); err != nil {
			return MoveStats{}, err
		}
		emit(ev, Event{Kind: EventFailoverFinished, Slot: -1, Node: winner.Addr, From: master.Addr,
			Detail: fmt.Sprintf("%s is master in place of %s after %v", winner.Addr, master.Addr, time.Since(start).Round(time.Millisecond))})
		return MoveStats{Slots: winner.SlotCount()}, nil
	})
}

// failoverPair picks the first master (in slot order) that serves slots
// and has a replica with a working link, and returns it with those
// replicas.
func (m *Migrator) failoverPair(ctx context.Context) (ClusterNode, []ClusterNode, error) {
	v, err := m.view(ctx)
	if err != nil {
		return ClusterNode{}, nil, err
	}
	masters := v.masters()
	slices.SortFunc(masters, func(a, b ClusterNode) int {
		return cmp.Compare(firstSlot(a), firstSlot(b))
	})
	for _, master := range masters {
		if len(master.Slots) == 0 {
			continue
		}
		var replicas []ClusterNode
		for _, n := range v {
			if n.MasterID == master.ID && usable(n) && n.Connected {
				replicas = append(replicas, n)
			}
		}
		if len(replicas) > 0 {
			return master, replicas, nil
		}
	}
	return ClusterNode{}, nil, ErrNoReplica
}

func firstSlot(n ClusterNode) int {
	if len(n.Slots) == 0 {
		return router.NumSlots
	}
	return int(n.Slots[0].First)
}
