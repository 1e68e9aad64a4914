package cluster

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/internal/redistest"
)

func TestIsLoopback(t *testing.T) {
	for _, tc := range []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:7000", true},           // the usual local node
		{"127.1.2.3:7000", true},           // all of 127.0.0.0/8
		{"[::1]:7000", true},               // IPv6 loopback
		{"::1", true},                      // bare host
		{"[::ffff:127.0.0.1]:1", true},     // IPv4-mapped loopback
		{"localhost:6379", true},           // the one name trusted
		{"LocalHost:6379", true},           // names are case-insensitive
		{"10.0.0.1:6379", false},           // private network: someone's server
		{"192.168.1.5:7000", false},        // likewise
		{"[2001:db8::1]:7000", false},      // global IPv6
		{"redis.example.com:6379", false},  // names are not resolved
		{"localhost.example.com:1", false}, // not "localhost"
		{"0.0.0.0:7000", false},            // unspecified is not loopback
		{"", false},                        // nothing
	} {
		if got := IsLoopback(tc.addr); got != tc.want {
			t.Errorf("IsLoopback(%q) = %v, want %v", tc.addr, got, tc.want)
		}
	}
}

func TestNewMigratorRefusesNonLoopbackSeed(t *testing.T) {
	// Refused before any connection is made: nothing is dialled.
	_, err := NewMigrator(context.Background(), "10.255.255.1:6379", ConnOptions{})
	if !errors.Is(err, ErrNotLoopback) {
		t.Fatalf("err = %v, want ErrNotLoopback", err)
	}
	if !strings.Contains(err.Error(), "--allow-topology-changes") {
		t.Errorf("error %q does not say how to allow it", err)
	}
}

// A node on loopback that announces another address is refused too: the
// check covers every node the cluster lists, not only the seed.
func TestNewMigratorRefusesNonLoopbackNodeIntegration(t *testing.T) {
	t.Parallel()
	addr := redistest.StartNode(t, "--cluster-announce-ip", "10.255.255.1")
	_, err := NewMigrator(context.Background(), addr, ConnOptions{})
	if !errors.Is(err, ErrNotLoopback) || !strings.Contains(err.Error(), "10.255.255.1") {
		t.Fatalf("err = %v, want ErrNotLoopback naming 10.255.255.1", err)
	}
}

func TestMoveOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    MoveOptions
		ok   bool
	}{
		{"zero value", MoveOptions{}, true},
		{"all set", MoveOptions{KeysPerBatch: 10, SlotsInFlight: 4, MigrateTimeout: time.Second, Retries: 5, BatchPause: time.Millisecond, TargetDuration: time.Minute}, true},
		{"no retries", MoveOptions{Retries: -1}, true},
		{"negative batch", MoveOptions{KeysPerBatch: -1}, false},
		{"too many in flight", MoveOptions{SlotsInFlight: 1000}, false},
		{"negative pause", MoveOptions{BatchPause: -time.Second}, false},
		{"timeout above the connection bound", MoveOptions{MigrateTimeout: time.Minute}, false},
		{"timeout below a millisecond", MoveOptions{MigrateTimeout: time.Microsecond}, false},
		{"retries below -1", MoveOptions{Retries: -2}, false},
	} {
		if err := tc.o.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
	// Every problem at once.
	err := MoveOptions{KeysPerBatch: -1, SlotsInFlight: -1, Retries: -5}.Validate()
	if err == nil || strings.Count(err.Error(), "\n") != 2 {
		t.Errorf("want three problems, got %v", err)
	}
	d := MoveOptions{Retries: -1}.withDefaults()
	if d.KeysPerBatch != DefaultKeysPerBatch || d.SlotsInFlight != 1 || d.MigrateTimeout != DefaultMigrateTimeout || d.Retries != 0 {
		t.Errorf("withDefaults = %+v", d)
	}
}

// TestMigratorIntegration runs the migrator's cases on one small cluster
// with a password (so every MIGRATE must log in to its target). The
// subtests run in order; keys are grouped by hash tag so that a slot holds
// a few hundred of them.
func TestMigratorIntegration(t *testing.T) {
	t.Parallel()
	l := startLocal(t, LocalConfig{Masters: 3, Password: "s3cret pw"})
	m := newMigrator(t, l)
	masters := l.MasterAddrs()
	m0, m1, m2 := masters[0], masters[1], masters[2]
	ctx := context.Background()
	used := make(map[uint16]bool)
	const perTag = 300
	preload(t, l, "k", 5000)

	// tagged returns a fresh hash tag served by addr, preloaded with perTag
	// keys, and its slot.
	tagged := func(t *testing.T, addr string) (string, uint16) {
		tag, s := tagOn(t, l, addr, used)
		preload(t, l, tag, perTag)
		return tag, s
	}

	t.Run("Move", func(t *testing.T) {
		var tags []string
		var slots []uint16
		want := map[int]int{}
		for range 3 {
			tag, s := tagged(t, m0)
			tags, slots = append(tags, tag), append(slots, s)
			want[int(s)] = keysInSlot(t, l, m0, s)
		}
		var tl Timeline
		var progress []int
		st, err := m.Move(ctx, slots, m0, m1, MoveOptions{KeysPerBatch: 64, Events: &tl,
			Progress: func(done, total int) {
				if total != 3 {
					t.Errorf("progress total %d, want 3", total)
				}
				progress = append(progress, done)
			}})
		if err != nil {
			t.Fatal(err)
		}
		wantKeys := want[int(slots[0])] + want[int(slots[1])] + want[int(slots[2])]
		if st.Slots != 3 || st.Keys != wantKeys || st.Duration <= 0 {
			t.Errorf("stats %+v, want 3 slots and %d keys", st, wantKeys)
		}
		t.Logf("moved %d keys in %v: %.0f keys/s", st.Keys, st.Duration, st.KeysPerSecond())
		if !slices.Equal(progress, []int{1, 2, 3}) {
			t.Errorf("progress %v, want [1 2 3]", progress)
		}

		evs := tl.Events()
		wantKinds := []EventKind{EventMigrationStarted,
			EventSlotMigrating, EventSlotMoved, EventSlotMigrating, EventSlotMoved, EventSlotMigrating, EventSlotMoved,
			EventMigrationFinished}
		if !slices.Equal(kinds(evs), wantKinds) {
			t.Fatalf("events %v, want %v", kinds(evs), wantKinds)
		}
		for i, e := range evs[1:7] {
			if e.Slot != int(slots[i/2]) || e.From != m0 || e.To != m1 || e.At.IsZero() {
				t.Errorf("event %+v, want slot %d %s → %s", e, slots[i/2], m0, m1)
			}
			if e.Kind == EventSlotMoved && e.Keys != want[e.Slot] {
				t.Errorf("slot %d: event says %d keys, the slot had %d", e.Slot, e.Keys, want[e.Slot])
			}
		}
		if last := evs[len(evs)-1]; last.Keys != wantKeys || last.Slot != -1 {
			t.Errorf("finish event %+v", last)
		}

		requireNoMarkers(t, l)
		settle(t, m)
		for _, addr := range l.Addrs() {
			owners := slotOwners(t, l, addr)
			for _, s := range slots {
				if owners[s] != m1 {
					t.Errorf("%s: slot %d served by %q, want %s", addr, s, owners[s], m1)
				}
			}
		}
		for i, s := range slots {
			if n := keysInSlot(t, l, m1, s); n != want[int(s)] {
				t.Errorf("slot %d: %d keys on the target, want %d", s, n, want[int(s)])
			}
			checkKeys(t, l, tags[i], perTag)
		}
		checkKeys(t, l, "k", 5000)
	})

	t.Run("ManyInFlightPaced", func(t *testing.T) {
		// 12 slots, 4 at a time, slot starts spread over 300 ms.
		owners := slotOwners(t, l, m0)
		var slots []uint16
		for s := uint16(200); len(slots) < 12; s++ {
			if owners[s] == m0 && !used[s] {
				used[s] = true
				slots = append(slots, s)
			}
		}
		want := 0
		for _, s := range slots {
			want += keysInSlot(t, l, m0, s)
		}
		var tl Timeline
		st, err := m.Move(ctx, slots, m0, m2, MoveOptions{SlotsInFlight: 4, TargetDuration: 300 * time.Millisecond, Events: &tl})
		if err != nil {
			t.Fatal(err)
		}
		if st.Slots != 12 || st.Keys != want {
			t.Errorf("stats %+v, want 12 slots, %d keys", st, want)
		}
		// The last slot starts at 11/12 of the target duration.
		if st.Duration < 275*time.Millisecond {
			t.Errorf("took %v, want at least 275ms (paced)", st.Duration)
		}
		moved := 0
		for _, e := range tl.Events() {
			if e.Kind == EventSlotMoved {
				moved++
			}
		}
		if moved != 12 {
			t.Errorf("%d slot_moved events, want 12", moved)
		}
		requireNoMarkers(t, l)
		settle(t, m)
		checkKeys(t, l, "k", 5000)
	})

	t.Run("BusyKey", func(t *testing.T) {
		tag, s := tagged(t, m0)
		stray := tag + ":5"
		placeStray(t, l, m1, idOf(t, l, m0), stray, "stray")
		var tl Timeline
		_, err := m.Move(ctx, []uint16{s}, m0, m1, MoveOptions{KeysPerBatch: 50, Events: &tl})
		var busy *BusyKeyError
		if !errors.Is(err, ErrBusyKey) || !errors.As(err, &busy) {
			t.Fatalf("err = %v, want a BusyKeyError", err)
		}
		if !slices.Equal(busy.Keys, []string{stray}) || busy.Slot != s || busy.Target != m1 {
			t.Errorf("busy = %+v, want key %s of slot %d on %s", busy, stray, s, m1)
		}
		t.Logf("busy: %v", err)
		if !strings.Contains(err.Error(), "rolled back") || errors.Is(err, ErrSlotOpen) {
			t.Errorf("error %q should say the slot was rolled back", err)
		}
		if evs := tl.Events(); evs[len(evs)-1].Kind != EventMigrationAborted {
			t.Errorf("events %v, want migration_aborted last", kinds(evs))
		}
		// The state from before the move: the source serves the slot with
		// all its keys; the stray key is still the target's.
		requireNoMarkers(t, l)
		if n := keysInSlot(t, l, m0, s); n != perTag {
			t.Errorf("source has %d keys of slot %d, want %d", n, s, perTag)
		}
		if n := keysInSlot(t, l, m1, s); n != 1 {
			t.Errorf("target has %d keys of slot %d, want the stray one", n, s)
		}
		settle(t, m)
		if owner := slotOwners(t, l, m2)[s]; owner != m0 {
			t.Errorf("slot %d served by %s, want %s", s, owner, m0)
		}
		checkKeys(t, l, tag, perTag)
		fixed, err := m.Fix(ctx)
		if err != nil || len(fixed) != 0 {
			t.Errorf("Fix after the rollback = %v, %v; want nothing to fix", fixed, err)
		}

		// Asked to replace, the move overwrites the stray copy.
		st, err := m.Move(ctx, []uint16{s}, m0, m1, MoveOptions{KeysPerBatch: 50, Replace: true})
		if err != nil || st.Keys != perTag {
			t.Fatalf("Move with Replace = %+v, %v", st, err)
		}
		settle(t, m)
		checkKeys(t, l, tag, perTag)
	})

	t.Run("IdenticalCopy", func(t *testing.T) {
		// A copy equal to the source's (what a timed-out MIGRATE leaves)
		// is overwritten without Replace, as redis-cli --cluster fix does.
		tag, s := tagged(t, m0)
		placeStray(t, l, m1, idOf(t, l, m0), tag+":7", keyValue(7))
		st, err := m.Move(ctx, []uint16{s}, m0, m1, MoveOptions{KeysPerBatch: 50})
		if err != nil || st.Keys != perTag {
			t.Fatalf("Move = %+v, %v; want %d keys", st, err, perTag)
		}
		settle(t, m)
		checkKeys(t, l, tag, perTag)
	})

	t.Run("TimeoutRetried", func(t *testing.T) {
		tag, s := tagged(t, m0)
		errorsBefore := ioErrors(t, l, m0)
		// The target stops answering (SIGSTOP) for 800 ms once the slot is
		// open; every MIGRATE in that time times out after 100 ms.
		var wg sync.WaitGroup
		pause := EventFunc(func(e Event) {
			if e.Kind != EventSlotMigrating {
				return
			}
			if err := l.PauseNode(m2); err != nil {
				t.Error(err)
				return
			}
			wg.Go(func() {
				time.Sleep(800 * time.Millisecond)
				if err := l.ResumeNode(m2); err != nil {
					t.Error(err)
				}
			})
		})
		st, err := m.Move(ctx, []uint16{s}, m0, m2, MoveOptions{KeysPerBatch: 50, MigrateTimeout: 100 * time.Millisecond, Retries: 30, Events: pause})
		wg.Wait()
		if err != nil {
			t.Fatal(err)
		}
		if st.Keys != perTag {
			t.Errorf("moved %d keys, want %d", st.Keys, perTag)
		}
		if n := ioErrors(t, l, m0) - errorsBefore; n == 0 {
			t.Error("no MIGRATE timed out: the test did not test the retry")
		} else {
			t.Logf("%d MIGRATE timeouts retried", n)
		}
		requireNoMarkers(t, l)
		settle(t, m)
		checkKeys(t, l, tag, perTag)
		if n := keysInSlot(t, l, m2, s); n != perTag {
			t.Errorf("target has %d keys, want %d", n, perTag)
		}
	})

	t.Run("Fix", func(t *testing.T) {
		// A move interrupted by hand: half the keys on the target.
		tag, s := tagged(t, m0)
		id0, id1 := idOf(t, l, m0), idOf(t, l, m1)
		slot := strconv.Itoa(int(s))
		command(t, m1, l.ConnOptions(), "CLUSTER", "SETSLOT", slot, "IMPORTING", id0)
		command(t, m0, l.ConnOptions(), "CLUSTER", "SETSLOT", slot, "MIGRATING", id1)
		c, err := m.conn(m0)
		if err != nil {
			t.Fatal(err)
		}
		keys, err := Do(ctx, c, "CLUSTER", "GETKEYSINSLOT", slot, strconv.Itoa(perTag/2)).AsStrSlice()
		if err != nil {
			t.Fatal(err)
		}
		if err := m.migrate(ctx, c, m0, m1, keys, time.Second, false); err != nil {
			t.Fatal(err)
		}
		// And a slot importing on one node only.
		tag2, s2 := tagged(t, m0)
		command(t, m2, l.ConnOptions(), "CLUSTER", "SETSLOT", strconv.Itoa(int(s2)), "IMPORTING", id0)

		fixed, err := m.Fix(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := []uint16{min(s, s2), max(s, s2)}; !slices.Equal(fixed, want) {
			t.Errorf("Fix = %v, want %v", fixed, want)
		}
		requireNoMarkers(t, l)
		settle(t, m)
		owners := slotOwners(t, l, m2)
		if owners[s] != m1 || owners[s2] != m0 {
			t.Errorf("after Fix slot %d served by %s (want %s: the move is finished), slot %d by %s (want %s)",
				s, owners[s], m1, s2, owners[s2], m0)
		}
		checkKeys(t, l, tag, perTag)
		checkKeys(t, l, tag2, perTag)
	})

	t.Run("CancelMidSlot", func(t *testing.T) {
		// A slow move (10 keys per batch, 20 ms pauses: 600 ms per slot)
		// cancelled 100 ms into its first slot.
		var slots []uint16
		var tags []string
		for range 3 {
			tag, s := tagged(t, m1)
			tags, slots = append(tags, tag), append(slots, s)
		}
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var tl Timeline
		var once sync.Once
		hook := EventFunc(func(e Event) {
			if e.Kind == EventSlotMigrating {
				once.Do(func() { time.AfterFunc(100*time.Millisecond, cancel) })
			}
		})
		st, err := m.Move(cctx, slots, m1, m2, MoveOptions{KeysPerBatch: 10, BatchPause: 20 * time.Millisecond, Events: Tee(&tl, hook)})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		t.Logf("cancelled: %v", err)
		// The slot in flight was finished, no other started.
		if st.Slots != 1 || st.Keys != perTag {
			t.Errorf("stats %+v, want the slot in flight finished (1 slot, %d keys)", st, perTag)
		}
		evs := tl.Events()
		want := []EventKind{EventMigrationStarted, EventSlotMigrating, EventSlotMoved, EventMigrationAborted}
		if !slices.Equal(kinds(evs), want) {
			t.Errorf("events %v, want %v", kinds(evs), want)
		}
		requireNoMarkers(t, l)
		for _, tag := range tags {
			checkKeys(t, l, tag, perTag)
		}
		settle(t, m)
		owners := slotOwners(t, l, m0)
		if owners[slots[0]] != m2 || owners[slots[1]] != m1 || owners[slots[2]] != m1 {
			t.Errorf("owners %s %s %s, want %s %s %s", owners[slots[0]], owners[slots[1]], owners[slots[2]], m2, m1, m1)
		}
	})

	t.Run("HotSlot", func(t *testing.T) {
		// Synthetic counts: x on m0 is the hottest, y on m1 next, z on m2
		// cold. x goes to the coldest master (m2); then m0 is the coldest
		// and y goes there.
		tagX, x := tagged(t, m0)
		_, y := tagOn(t, l, m1, used)
		_, z := tagOn(t, l, m2, used)
		counts := make([]uint64, 16384)
		counts[x], counts[y], counts[z] = 1000, 500, 10
		var tl Timeline
		st, err := HotSlot(ctx, m, counts, 2, MoveOptions{Events: &tl})
		if err != nil {
			t.Fatal(err)
		}
		if st.Slots != 2 || st.Keys < perTag {
			t.Errorf("stats %+v, want 2 slots and at least %d keys", st, perTag)
		}
		settle(t, m)
		owners := slotOwners(t, l, m0)
		if owners[x] != m2 || owners[y] != m0 || owners[z] != m2 {
			t.Errorf("owners x=%s y=%s z=%s, want %s %s %s", owners[x], owners[y], owners[z], m2, m0, m2)
		}
		evs := tl.Events()
		if evs[0].Kind != EventMigrationStarted || evs[0].Detail != "hot-slot:2" || evs[len(evs)-1].Kind != EventMigrationFinished {
			t.Errorf("events %v", evs)
		}
		checkKeys(t, l, tagX, perTag)
	})

	t.Run("BadMoves", func(t *testing.T) {
		owners := slotOwners(t, l, m0)
		var notM0 uint16
		for s := range uint16(16384) {
			if owners[s] != m0 {
				notM0 = s
				break
			}
		}
		for _, tc := range []struct {
			name     string
			slots    []uint16
			from, to string
		}{
			{"same node", []uint16{0}, m0, m0},
			{"slot not served by the source", []uint16{notM0}, m0, m1},
			{"slot twice", []uint16{1, 1}, m0, m1},
			{"slot out of range", []uint16{16384}, m0, m1},
			{"target not in the cluster", []uint16{0}, m0, "127.0.0.1:1"},
		} {
			if _, err := m.Move(ctx, tc.slots, tc.from, tc.to, MoveOptions{}); !errors.Is(err, ErrBadMove) {
				t.Errorf("%s: err = %v, want ErrBadMove", tc.name, err)
			}
		}
		requireNoMarkers(t, l)
	})
}

// ioErrors is the number of IOERR replies the node at addr sent (MIGRATE
// timeouts), from INFO errorstats.
func ioErrors(t *testing.T, l *Local, addr string) int {
	t.Helper()
	in := ParseInfo(command(t, addr, l.ConnOptions(), "INFO", "errorstats"))
	v, _ := strings.CutPrefix(in["errorstat_IOERR"], "count=")
	n, _ := strconv.Atoi(v)
	return n
}
