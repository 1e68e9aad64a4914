package cluster

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/rueidis"
)

// clusterClient returns a rueidis cluster client for the local cluster's
// running nodes, closed when the test ends.
func clusterClient(t *testing.T, l *Local) rueidis.Client {
	t.Helper()
	o := l.ConnOptions().RueidisOption(l.Addrs()...)
	o.DisableCache = true
	c, err := rueidis.NewClient(o)
	if err != nil {
		t.Fatalf("cluster client: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// keyName and keyValue make checkable test data: key i holds "v<i>".
func keyName(prefix string, i int) string { return prefix + ":" + strconv.Itoa(i) }
func keyValue(i int) string               { return "v" + strconv.Itoa(i) }

// forBatches calls fn with [lo, hi) ranges of n keys from 8 goroutines.
func forBatches(n int, fn func(lo, hi int)) {
	const batch, workers = 1000, 8
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for lo := range next {
				fn(lo, min(lo+batch, n))
			}
		})
	}
	for lo := 0; lo < n; lo += batch {
		next <- lo
	}
	close(next)
	wg.Wait()
}

// preload writes n keys prefix:i = v<i> with pipelined batches.
func preload(t *testing.T, l *Local, prefix string, n int) {
	t.Helper()
	start := time.Now()
	c := clusterClient(t, l)
	var mu sync.Mutex
	var firstErr error
	forBatches(n, func(lo, hi int) {
		cmds := make(rueidis.Commands, 0, hi-lo)
		for i := lo; i < hi; i++ {
			cmds = append(cmds, c.B().Set().Key(keyName(prefix, i)).Value(keyValue(i)).Build())
		}
		for _, r := range c.DoMulti(context.Background(), cmds...) {
			if err := r.Error(); err != nil {
				mu.Lock()
				firstErr = err
				mu.Unlock()
				return
			}
		}
	})
	if firstErr != nil {
		t.Fatalf("preload: %v", firstErr)
	}
	t.Logf("preloaded %d keys in %v", n, time.Since(start).Round(time.Millisecond))
}

// checkKeys reads the n keys of preload and fails on any missing or wrong
// value.
func checkKeys(t *testing.T, l *Local, prefix string, n int) {
	t.Helper()
	c := clusterClient(t, l)
	var mu sync.Mutex
	var bad []string
	forBatches(n, func(lo, hi int) {
		cmds := make(rueidis.Commands, 0, hi-lo)
		for i := lo; i < hi; i++ {
			cmds = append(cmds, c.B().Get().Key(keyName(prefix, i)).Build())
		}
		for k, r := range c.DoMulti(context.Background(), cmds...) {
			i := lo + k
			if v, err := r.ToString(); err != nil || v != keyValue(i) {
				mu.Lock()
				bad = append(bad, fmt.Sprintf("%s=%q (%v)", keyName(prefix, i), v, err))
				mu.Unlock()
			}
		}
	})
	if len(bad) > 0 {
		t.Errorf("%d of %d keys missing or wrong, e.g. %v", len(bad), n, bad[:min(5, len(bad))])
	}
}

// requireNoMarkers fails if any running node shows a slot importing or
// migrating in CLUSTER NODES.
func requireNoMarkers(t *testing.T, l *Local) {
	t.Helper()
	for _, addr := range l.Addrs() {
		text := command(t, addr, l.ConnOptions(), "CLUSTER", "NODES")
		if strings.Contains(text, "->-") || strings.Contains(text, "-<-") {
			t.Errorf("%s shows a slot in migration:\n%s", addr, text)
		}
	}
}

// settle waits up to 30 s for every node to agree on the slot map.
func settle(t *testing.T, m *Migrator) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := m.WaitSettled(ctx); err != nil {
		t.Fatalf("cluster did not settle: %v", err)
	}
}

// newMigrator returns a migrator for l, closed when the test ends.
func newMigrator(t *testing.T, l *Local) *Migrator {
	t.Helper()
	m, err := NewMigrator(context.Background(), l.Addrs()[0], l.ConnOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

// slotOwners returns slot → master address as the node at addr sees it.
func slotOwners(t *testing.T, l *Local, addr string) map[uint16]string {
	t.Helper()
	owners := make(map[uint16]string)
	for _, n := range viewOf(t, addr, l.ConnOptions()) {
		for _, r := range n.Slots {
			for s := int(r.First); s <= int(r.Last); s++ {
				owners[uint16(s)] = n.Addr
			}
		}
	}
	return owners
}

// slotCounts returns how many slots each master serves, seen from addr.
func slotCounts(t *testing.T, l *Local, addr string) map[string]int {
	t.Helper()
	counts := make(map[string]int)
	for _, n := range viewOf(t, addr, l.ConnOptions()) {
		if n.IsMaster() && !n.HasFlag("fail") {
			counts[n.Addr] = n.SlotCount()
		}
	}
	return counts
}

// intCommand runs one admin command with an integer reply on addr.
func intCommand(t *testing.T, l *Local, addr string, args ...string) int {
	t.Helper()
	c, err := Dial(addr, l.ConnOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	n, err := Do(context.Background(), c, args...).AsInt64()
	if err != nil {
		t.Fatalf("%v on %s: %v", args, addr, err)
	}
	return int(n)
}

// keysInSlot is CLUSTER COUNTKEYSINSLOT on addr.
func keysInSlot(t *testing.T, l *Local, addr string, s uint16) int {
	t.Helper()
	return intCommand(t, l, addr, "CLUSTER", "COUNTKEYSINSLOT", strconv.Itoa(int(s)))
}

// keySlot is the slot of key (CLUSTER KEYSLOT).
func keySlot(t *testing.T, l *Local, key string) uint16 {
	t.Helper()
	return uint16(intCommand(t, l, l.Addrs()[0], "CLUSTER", "KEYSLOT", key))
}

// tagOn returns a hash tag "{tN}" not in used whose slot the master at addr
// serves, with that slot.
func tagOn(t *testing.T, l *Local, addr string, used map[uint16]bool) (string, uint16) {
	t.Helper()
	owners := slotOwners(t, l, addr)
	for i := range 10000 {
		tag := "{t" + strconv.Itoa(i) + "}"
		s := keySlot(t, l, tag)
		if owners[s] == addr && !used[s] {
			used[s] = true
			return tag, s
		}
	}
	t.Fatalf("no hash tag on %s", addr)
	return "", 0
}

// placeStray writes key = value on the master at addr although it does not
// serve the key's slot (from: the slot's owner), as a leftover of some other
// tool would be: open the slot for import, ASKING + SET, close it again.
func placeStray(t *testing.T, l *Local, addr, fromID, key, value string) {
	t.Helper()
	c, err := Dial(addr, l.ConnOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	s := strconv.Itoa(int(keySlot(t, l, key)))
	if err := Do(ctx, c, "CLUSTER", "SETSLOT", s, "IMPORTING", fromID).Error(); err != nil {
		t.Fatal(err)
	}
	for _, r := range c.DoMulti(ctx, c.B().Asking().Build(), c.B().Set().Key(key).Value(value).Build()) {
		if err := r.Error(); err != nil {
			t.Fatal(err)
		}
	}
	if err := Do(ctx, c, "CLUSTER", "SETSLOT", s, "STABLE").Error(); err != nil {
		t.Fatal(err)
	}
}

// idOf returns the node id of the node at addr.
func idOf(t *testing.T, l *Local, addr string) string {
	t.Helper()
	for _, n := range l.Nodes() {
		if n.Addr == addr {
			return n.ID
		}
	}
	t.Fatalf("no node %s", addr)
	return ""
}

// kinds lists the kinds of evs, for messages.
func kinds(evs []Event) []EventKind {
	out := make([]EventKind, len(evs))
	for i, e := range evs {
		out[i] = e.Kind
	}
	return out
}
