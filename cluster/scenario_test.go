package cluster

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseScenario(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Scenario
		str  string // String(); "" means in
	}{
		{"none", Scenario{Kind: ScenarioNone}, ""},
		{"", Scenario{Kind: ScenarioNone}, "none"}, // flag not given
		{"move:16", Scenario{Kind: ScenarioMove, N: 16}, ""},
		{"move:16384", Scenario{Kind: ScenarioMove, N: 16384}, ""},
		{"scale-out", Scenario{Kind: ScenarioScaleOut}, ""},
		{"scale-in", Scenario{Kind: ScenarioScaleIn}, ""},
		{"hot-slot", Scenario{Kind: ScenarioHotSlot, N: 1}, "hot-slot:1"}, // the hottest slot
		{"hot-slot:4", Scenario{Kind: ScenarioHotSlot, N: 4}, ""},
		{"failover", Scenario{Kind: ScenarioFailover}, ""},
		{"failover:manual", Scenario{Kind: ScenarioFailover}, "failover"},
		{"failover:kill", Scenario{Kind: ScenarioFailoverKill}, ""},
		{" scale-out ", Scenario{Kind: ScenarioScaleOut}, "scale-out"}, // spaces from a YAML list
	} {
		got, err := ParseScenario(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseScenario(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			continue
		}
		if want := cmpOr(tc.str, tc.in); got.String() != want {
			t.Errorf("%+v.String() = %q, want %q", got, got.String(), want)
		}
	}
	for _, in := range []string{
		"move",          // K missing
		"move:0",        // no slots
		"move:16385",    // more than there are
		"move:x",        // not a number
		"scale-out:2",   // no argument
		"hot-slot:-1",   // negative
		"failover:soft", // unknown variant
		"failover:",     // empty variant
		"none:1",        // no argument
		"reshard",       // unknown
	} {
		_, err := ParseScenario(in)
		if !errors.Is(err, ErrBadScenario) {
			t.Errorf("ParseScenario(%q) err = %v, want ErrBadScenario", in, err)
		}
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func TestScenarioNeedsLocal(t *testing.T) {
	for _, s := range []string{"failover:kill"} {
		sc, _ := ParseScenario(s)
		if !sc.NeedsLocal() {
			t.Errorf("%s: NeedsLocal = false", s)
		}
		// Without a local cluster it fails before touching anything.
		_, err := sc.Run(context.Background(), ScenarioEnv{Migrator: &Migrator{}})
		if !errors.Is(err, ErrNeedsLocal) {
			t.Errorf("%s without a local cluster: err = %v, want ErrNeedsLocal", s, err)
		}
	}
	// scale-out takes an empty master already in a cluster it did not
	// start, scale-in leaves the master it drains in it.
	for _, s := range []string{"none", "move:1", "hot-slot", "failover", "scale-out", "scale-in"} {
		if sc, _ := ParseScenario(s); sc.NeedsLocal() {
			t.Errorf("%s: NeedsLocal = true", s)
		}
	}
}

// TestScenariosIntegration runs move:K, scale-out, scale-in and both
// failovers, in that order, on one cluster of 3 masters with a replica
// each and 100,000 keys; after each, every key must be there with its
// value, no slot open, and every node agreeing on the slot map.
func TestScenariosIntegration(t *testing.T) {
	t.Parallel()
	const keys = 100_000
	l := startLocal(t, LocalConfig{Masters: 3, Replicas: 1})
	m := newMigrator(t, l)
	preload(t, l, "key", keys)
	ctx := context.Background()
	opts := MoveOptions{SlotsInFlight: 8}

	// check verifies the invariants after a scenario and logs its figures.
	check := func(t *testing.T, name string, st MoveStats) {
		t.Helper()
		t.Logf("%s: %d slots, %d keys in %v: %.0f keys/s", name, st.Slots, st.Keys, st.Duration.Round(time.Millisecond), st.KeysPerSecond())
		requireNoMarkers(t, l)
		settle(t, m)
		checkKeys(t, l, "key", keys)
	}
	// total is the number of slots the masters serve, seen from addr.
	total := func(counts map[string]int) int {
		n := 0
		for _, c := range counts {
			n += c
		}
		return n
	}
	step := func(name string, f func(t *testing.T)) {
		if !t.Run(name, f) {
			t.FailNow() // the later steps build on this one
		}
	}

	step("MoveK", func(t *testing.T) {
		before := slotCounts(t, l, l.Addrs()[0])
		var tl Timeline
		o := opts
		o.Events = &tl
		st, err := MoveK(ctx, m, 500, o)
		if err != nil {
			t.Fatal(err)
		}
		check(t, "move:500", st)
		if st.Slots != 500 || st.Keys == 0 {
			t.Errorf("stats %+v, want 500 slots with keys", st)
		}
		after := slotCounts(t, l, l.Addrs()[0])
		var gained, lost int
		for addr, n := range after {
			switch d := n - before[addr]; {
			case d == 500:
				gained++
			case d == -500:
				lost++
			case d != 0:
				t.Errorf("%s: %d → %d slots", addr, before[addr], n)
			}
		}
		if gained != 1 || lost != 1 {
			t.Errorf("slot counts %v → %v: want one master to give 500 to another", before, after)
		}
		evs := tl.Events()
		if evs[0].Kind != EventMigrationStarted || evs[0].Detail != "move:500" || evs[len(evs)-1].Kind != EventMigrationFinished || evs[len(evs)-1].Keys != st.Keys {
			t.Errorf("first/last events %+v / %+v", evs[0], evs[len(evs)-1])
		}
	})

	var added string
	step("ScaleOut", func(t *testing.T) {
		var tl Timeline
		o := opts
		o.Events = &tl
		st, err := ScaleOut(ctx, l, m, o)
		if err != nil {
			t.Fatal(err)
		}
		check(t, "scale-out", st)
		masters := l.MasterAddrs()
		if len(masters) != 4 {
			t.Fatalf("masters %v, want 4", masters)
		}
		added = masters[3]
		share := 16384 / 4
		for _, addr := range l.Addrs() {
			counts := slotCounts(t, l, addr)
			if n := counts[added]; n < share-1 || n > share+1 {
				t.Errorf("%s sees the new master with %d slots, want %d±1", addr, n, share)
			}
			for a, n := range counts {
				if n < share-1 || n > share+1 {
					t.Errorf("%s sees %s with %d slots, want %d±1 (even)", addr, a, n, share)
				}
			}
			if total(counts) != 16384 {
				t.Errorf("%s sees %d slots served", addr, total(counts))
			}
		}
		if st.Slots != share {
			t.Errorf("moved %d slots, want %d", st.Slots, share)
		}
		if n := intCommand(t, l, added, "DBSIZE"); n != st.Keys || n < keys/5 {
			t.Errorf("new master holds %d keys, the migration moved %d", n, st.Keys)
		}
		var nodeAdded int
		for _, e := range tl.Events() {
			if e.Kind == EventNodeAdded && e.Node == added {
				nodeAdded++
			}
		}
		if nodeAdded != 1 {
			t.Errorf("%d node_added events for %s", nodeAdded, added)
		}
	})

	step("ScaleIn", func(t *testing.T) {
		var tl Timeline
		o := opts
		o.Events = &tl
		victimID := idOf(t, l, added)
		st, err := ScaleIn(ctx, l, m, added, o)
		if err != nil {
			t.Fatal(err)
		}
		check(t, "scale-in", st)
		if slices.Contains(l.Addrs(), added) {
			t.Errorf("%s still running", added)
		}
		for _, addr := range l.Addrs() {
			for _, n := range viewOf(t, addr, l.ConnOptions()) {
				if n.ID == victimID {
					t.Errorf("%s still knows the removed master", addr)
				}
			}
			counts := slotCounts(t, l, addr)
			if len(counts) != 3 || total(counts) != 16384 {
				t.Errorf("%s sees masters %v", addr, counts)
			}
			for a, n := range counts {
				// Back to thirds, within what the first move:500 left.
				if n < 16384/3-501 || n > 16384/3+501 {
					t.Errorf("%s sees %s with %d slots", addr, a, n)
				}
			}
		}
		removed := false
		for _, e := range tl.Events() {
			removed = removed || (e.Kind == EventNodeRemoved && e.Node == added)
		}
		if !removed {
			t.Error("no node_removed event")
		}
	})

	step("ManualFailover", func(t *testing.T) {
		// A writer runs through the failover; every write it saw
		// acknowledged must be readable afterwards.
		c := clusterClient(t, l)
		wctx, stop := context.WithCancel(ctx)
		var acked []int
		var failed atomic.Int64
		var wg sync.WaitGroup
		wg.Go(func() {
			for i := 0; wctx.Err() == nil; i++ {
				err := c.Do(wctx, c.B().Set().Key(keyName("fo", i)).Value(keyValue(i)).Build()).Error()
				if err == nil {
					acked = append(acked, i)
				} else if wctx.Err() == nil {
					failed.Add(1)
				}
			}
		})
		time.Sleep(200 * time.Millisecond) // writes before
		var tl Timeline
		st, err := Failover(ctx, l, m, true, &tl)
		time.Sleep(200 * time.Millisecond) // and after
		stop()
		wg.Wait()
		if err != nil {
			t.Fatal(err)
		}
		check(t, "failover (manual)", st)
		evs := tl.Events()
		want := []EventKind{EventMigrationStarted, EventFailoverStarted, EventOwnerChanged, EventFailoverFinished, EventMigrationFinished}
		if !slices.Equal(kinds(evs), want) {
			t.Fatalf("events %v, want %v", kinds(evs), want)
		}
		oldMaster, promoted := evs[1].From, evs[3].Node
		for _, n := range viewOf(t, promoted, l.ConnOptions()) {
			if n.IsMyself() && (!n.IsMaster() || n.SlotCount() == 0) {
				t.Errorf("%s is %v with %d slots, want the master", promoted, n.Flags, n.SlotCount())
			}
			if n.Addr == oldMaster && n.MasterID != idOf(t, l, promoted) {
				t.Errorf("old master %s is %v, want a replica of %s", oldMaster, n.Flags, promoted)
			}
		}
		// Every acknowledged write is there.
		lost := 0
		for _, i := range acked {
			v, err := c.Do(ctx, c.B().Get().Key(keyName("fo", i)).Build()).ToString()
			if err != nil || v != keyValue(i) {
				lost++
			}
		}
		t.Logf("manual failover in %v; writer: %d acknowledged, %d failed, %d lost", st.Duration.Round(time.Millisecond), len(acked), failed.Load(), lost)
		if lost > 0 || len(acked) == 0 {
			t.Errorf("%d of %d acknowledged writes lost", lost, len(acked))
		}
	})

	step("KillFailover", func(t *testing.T) {
		var tl Timeline
		start := time.Now()
		st, err := Failover(ctx, l, m, false, &tl)
		if err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		evs := tl.Events()
		killed, promoted := evs[1].From, evs[3].Node
		t.Logf("kill failover: %s killed, %s promoted after %v", killed, promoted, took.Round(time.Millisecond))
		// node timeout 2 s: detection, election and settling take a few
		// seconds; 20 s is far beyond a working failover.
		if took > 20*time.Second {
			t.Errorf("failover took %v", took)
		}
		if slices.Contains(l.Addrs(), killed) {
			t.Errorf("%s still listed as running", killed)
		}
		if c := slotCounts(t, l, promoted)[promoted]; c == 0 || c != st.Slots {
			t.Errorf("%s serves %d slots, stats say %d", promoted, c, st.Slots)
		}
		requireNoMarkers(t, l)
		settle(t, m)
		checkKeys(t, l, "key", keys)
	})
}

func TestFailoverWithoutReplicaIntegration(t *testing.T) {
	t.Parallel()
	l := startLocal(t, LocalConfig{Masters: 2})
	m := newMigrator(t, l)
	var tl Timeline
	_, err := Failover(context.Background(), l, m, true, &tl)
	if !errors.Is(err, ErrNoReplica) {
		t.Fatalf("err = %v, want ErrNoReplica", err)
	}
	if evs := tl.Events(); len(evs) != 2 || evs[1].Kind != EventMigrationAborted {
		t.Errorf("events %v, want started + aborted", kinds(evs))
	}
}
