package cluster

import (
	"slices"
	"sync"
	"testing"
	"time"
)

func TestTimelineConcurrentAndSorted(t *testing.T) {
	var tl Timeline
	base := time.Now()
	const goroutines, each = 8, 100
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				// Times out of order across goroutines; Slot says which.
				tl.Emit(Event{At: base.Add(time.Duration(i*goroutines+g) * time.Microsecond), Kind: EventSlotMoved, Slot: i*goroutines + g})
			}
		})
	}
	wg.Wait()
	evs := tl.Events()
	if len(evs) != goroutines*each || tl.Len() != len(evs) {
		t.Fatalf("%d events (Len %d), want %d", len(evs), tl.Len(), goroutines*each)
	}
	for i, e := range evs {
		if e.Slot != i {
			t.Fatalf("event %d is slot %d: not sorted by time", i, e.Slot)
		}
	}
	// A copy: changing it does not change the timeline.
	evs[0].Kind = "changed"
	if tl.Events()[0].Kind != EventSlotMoved {
		t.Error("Events returned the timeline's own slice")
	}
}

func TestTimelineKeepsEmitOrderForEqualTimes(t *testing.T) {
	var tl Timeline
	at := time.Now()
	for _, k := range []EventKind{EventMigrationStarted, EventSlotMigrating, EventSlotMoved, EventMigrationFinished} {
		tl.Emit(Event{At: at, Kind: k, Slot: -1})
	}
	want := []EventKind{EventMigrationStarted, EventSlotMigrating, EventSlotMoved, EventMigrationFinished}
	if got := kinds(tl.Events()); !slices.Equal(got, want) {
		t.Errorf("kinds %v, want %v", got, want)
	}
}

func TestEmitStampsAndTees(t *testing.T) {
	var a, b Timeline
	var seen []EventKind
	ev := Tee(&a, nil, EventFunc(func(e Event) { seen = append(seen, e.Kind) }), &b)
	before := time.Now()
	emit(ev, Event{Kind: EventNodeAdded, Slot: -1, Node: "127.0.0.1:7000"})
	fixed := before.Add(-time.Hour)
	emit(ev, Event{At: fixed, Kind: EventNodeRemoved, Slot: -1})
	emit(nil, Event{Kind: EventNodeAdded}) // no receiver: nothing happens

	for _, tl := range []*Timeline{&a, &b} {
		evs := tl.Events()
		if len(evs) != 2 {
			t.Fatalf("%d events, want 2", len(evs))
		}
		// Sorted by time: the back-dated one first.
		if evs[0].Kind != EventNodeRemoved || !evs[0].At.Equal(fixed) {
			t.Errorf("first %+v, want the back-dated node_removed", evs[0])
		}
		if evs[1].At.Before(before) || evs[1].Node != "127.0.0.1:7000" {
			t.Errorf("emit did not stamp the time: %+v", evs[1])
		}
	}
	if !slices.Equal(seen, []EventKind{EventNodeAdded, EventNodeRemoved}) {
		t.Errorf("EventFunc saw %v", seen)
	}
}
