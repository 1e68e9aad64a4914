package cluster

import (
	"slices"
	"sync"
	"time"
)

// EventKind names what happened to the cluster.
type EventKind string

// Event kinds. A migration scenario is bracketed by EventMigrationStarted and
// EventMigrationFinished (or EventMigrationAborted), failovers included, so a
// runner can mark its "migrating" phase from these two alone.
const (
	// EventMigrationStarted: a Move or a scenario began (Detail names it).
	EventMigrationStarted EventKind = "migration_started"
	// EventMigrationFinished: the whole Move or scenario is done; Keys is
	// the number of keys moved.
	EventMigrationFinished EventKind = "migration_finished"
	// EventMigrationAborted: the Move or scenario stopped early (error or
	// cancellation); Detail says why and whether any slot is left open.
	EventMigrationAborted EventKind = "migration_aborted"
	// EventSlotMigrating: Slot is now IMPORTING on To and MIGRATING on From.
	EventSlotMigrating EventKind = "slot_migrating"
	// EventSlotMoved: Slot's Keys keys went From → To and every master was
	// told its new owner (CLUSTER SETSLOT NODE).
	EventSlotMoved EventKind = "slot_moved"
	// EventOwnerChanged: a master's slots got a new owner without moving
	// keys (a failover): Node took over from From.
	EventOwnerChanged EventKind = "owner_changed"
	// EventNodeAdded: Node joined the cluster (scale-out).
	EventNodeAdded EventKind = "node_added"
	// EventNodeDrained: Node gave away its last slot and stays in the
	// cluster (scale-in of a cluster clusterbench did not start).
	EventNodeDrained EventKind = "node_drained"
	// EventNodeRemoved: Node was forgotten by the cluster and stopped
	// (scale-in).
	EventNodeRemoved EventKind = "node_removed"
	// EventFailoverStarted: a failover of master From began (Detail says
	// manual or kill; Node is the replica expected to take over, if known).
	EventFailoverStarted EventKind = "failover_started"
	// EventFailoverFinished: Node is master in From's place and every node
	// agrees on the slot map.
	EventFailoverFinished EventKind = "failover_finished"
)

// Event is one timestamped step of a migration or failover. Addresses are
// host:port of the nodes' client ports.
type Event struct {
	At     time.Time `json:"at"`
	Kind   EventKind `json:"kind"`
	Slot   int       `json:"slot"` // -1 when the event is not about one slot
	Keys   int       `json:"keys,omitempty"`
	From   string    `json:"from,omitempty"` // slot source, or the old master
	To     string    `json:"to,omitempty"`   // slot target
	Node   string    `json:"node,omitempty"` // node added, removed, promoted
	Detail string    `json:"detail,omitempty"`
}

// Events receives events. Emit is called from the migrator's goroutines,
// possibly several at once, and should return quickly.
type Events interface{ Emit(Event) }

// EventFunc adapts a function to Events.
type EventFunc func(Event)

// Emit calls f(e).
func (f EventFunc) Emit(e Event) { f(e) }

var _ Events = EventFunc(nil)

// Tee sends every event to each of evs in turn (nil entries are skipped).
func Tee(evs ...Events) Events {
	return EventFunc(func(e Event) {
		for _, ev := range evs {
			if ev != nil {
				ev.Emit(e)
			}
		}
	})
}

// Timeline records events; it is safe for concurrent use. The zero value
// is ready.
type Timeline struct {
	mu     sync.Mutex
	events []Event
}

var _ Events = (*Timeline)(nil)

// Emit records e.
func (t *Timeline) Emit(e Event) {
	t.mu.Lock()
	t.events = append(t.events, e)
	t.mu.Unlock()
}

// Events returns a copy of the events recorded so far, sorted by time
// (events with equal times keep the order they were emitted in).
func (t *Timeline) Events() []Event {
	t.mu.Lock()
	out := slices.Clone(t.events)
	t.mu.Unlock()
	slices.SortStableFunc(out, func(a, b Event) int { return a.At.Compare(b.At) })
	return out
}

// Len is the number of events recorded so far.
func (t *Timeline) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.events)
}

// emit stamps e with the current time (unless set) and sends it to ev, which
// may be nil.
func emit(ev Events, e Event) {
	if ev == nil {
		return
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	ev.Emit(e)
}
