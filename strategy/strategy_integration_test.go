package strategy_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/clusterbench/clusterbench/cluster"
	"github.com/clusterbench/clusterbench/internal/redistest"
	"github.com/clusterbench/clusterbench/internal/resp"
	"github.com/clusterbench/clusterbench/router"
	"github.com/clusterbench/clusterbench/strategy"
)

func startCluster(t *testing.T, masters int) *cluster.Local {
	t.Helper()
	redistest.RequireServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	l, err := cluster.StartLocal(ctx, cluster.LocalConfig{Masters: masters})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Stop() })
	return l
}

func open(t *testing.T, name string, seeds []string) strategy.Strategy {
	t.Helper()
	s, err := strategy.New(context.Background(), name, strategy.Config{Seeds: seeds, Workers: 2})
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func setReq(key, value string) *strategy.Request {
	return &strategy.Request{Kind: strategy.OpSet, Key: []byte(key), Value: []byte(value), Slot: router.SlotString(key)}
}

// Every strategy writes and reads keys spread over every master; a
// separate client checks the values landed.
func TestStrategiesReadWriteIntegration(t *testing.T) {
	l := startCluster(t, 3)
	check, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: l.MasterAddrs(), DisableCache: true})
	if err != nil {
		t.Fatal(err)
	}
	defer check.Close()
	ctx := context.Background()
	for _, name := range strategy.Names() {
		t.Run(name, func(t *testing.T) {
			s := open(t, name, l.MasterAddrs())
			w, err := s.NewWorker(0)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			for i := range 200 {
				key := fmt.Sprintf("cbtest:%s:%d", name, i)
				if res := w.Do(ctx, setReq(key, "v"+strconv.Itoa(i))); res.Err != nil {
					t.Fatalf("SET %s: %v", key, res.Err)
				}
				get := &strategy.Request{Kind: strategy.OpGet, Key: []byte(key), Slot: router.SlotString(key)}
				res := w.Do(ctx, get)
				// Without a slot map, a key off the home node costs a MOVED;
				// with one, a stable cluster costs nothing.
				if res.Err != nil || (name != "unaware" && res.Moved+res.Ask != 0) {
					t.Fatalf("GET %s: %+v", key, res)
				}
			}
			// A multi-key pair in one hash-tag group.
			group := [][]byte{[]byte("cbtest:{" + name + "}:a"), []byte("cbtest:{" + name + "}:b")}
			slot := router.Slot(group[0])
			if res := w.Do(ctx, &strategy.Request{Kind: strategy.OpMSet, Keys: group, Value: []byte("m"), Slot: slot}); res.Err != nil {
				t.Fatalf("MSET: %v", res.Err)
			}
			if res := w.Do(ctx, &strategy.Request{Kind: strategy.OpMGet, Keys: group, Slot: slot}); res.Err != nil {
				t.Fatalf("MGET: %v", res.Err)
			}
			// --verify reads MGET's values, a missing key's as absent.
			withMissing := append(group, []byte("cbtest:{"+name+"}:missing"))
			var vals resp.Values
			vals.Append([]byte("left over"), true) // DoValues starts afresh
			res := w.(strategy.ValueWorker).DoValues(ctx, &strategy.Request{Kind: strategy.OpMGet, Keys: withMissing, Slot: slot}, &vals)
			if res.Err != nil || vals.Len() != 3 {
				t.Fatalf("MGET with values: %v, %d values", res.Err, vals.Len())
			}
			for i, want := range []string{"m", "m", ""} {
				if v, ok := vals.At(i); string(v) != want || ok != (want != "") {
					t.Errorf("MGET value %d = %q, %v; want %q", i, v, ok, want)
				}
			}
			for i := range 200 {
				key := fmt.Sprintf("cbtest:%s:%d", name, i)
				got, err := check.Do(ctx, check.B().Get().Key(key).Build()).ToString()
				if err != nil || got != "v"+strconv.Itoa(i) {
					t.Fatalf("%s = %q, %v; want v%d", key, got, err, i)
				}
			}
			if got, _ := check.Do(ctx, check.B().Get().Key(string(group[1])).Build()).ToString(); got != "m" {
				t.Fatalf("MSET value = %q", got)
			}
		})
	}
}

// moveEmptySlot gives an empty slot to another master the way the last
// step of a migration does (SETSLOT NODE on every master), and returns the
// old and new owners.
func moveEmptySlot(t *testing.T, l *cluster.Local, slot uint16) (from, to string) {
	t.Helper()
	ctx := context.Background()
	topo, err := cluster.Discover(ctx, l.MasterAddrs()[0], l.ConnOptions())
	if err != nil {
		t.Fatal(err)
	}
	var target cluster.Master
	for _, m := range topo.Masters {
		owns := false
		for _, r := range m.Slots {
			owns = owns || (slot >= r.First && slot <= r.Last)
		}
		if owns {
			from = m.Addr
		} else if target.ID == "" {
			target = m
		}
	}
	// Through the migrator, so the move follows the protocol (IMPORTING,
	// MIGRATING, SETSLOT NODE with the epoch bump) and the nodes agree
	// before the test goes on: hand-made SETSLOTs can ping-pong MOVED
	// between two nodes until gossip settles.
	m, err := cluster.NewMigrator(ctx, from, l.ConnOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.Move(ctx, []uint16{slot}, from, target.Addr, cluster.MoveOptions{}); err != nil {
		t.Fatalf("move slot %d: %v", slot, err)
	}
	settle, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := m.WaitSettled(settle); err != nil {
		t.Fatalf("cluster did not settle after moving slot %d: %v", slot, err)
	}
	return from, target.Addr
}

func movedCount(t *testing.T, addr string) int64 {
	t.Helper()
	info, err := cluster.NodeInfo(context.Background(), addr, cluster.ConnOptions{}, "errorstats")
	if err != nil {
		t.Fatal(err)
	}
	v, ok := info["errorstat_MOVED"]
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(v, "count="), 10, 64)
	if err != nil {
		t.Fatalf("errorstat_MOVED = %q", v)
	}
	return n
}

// After a slot moves, `stale` pays a MOVED on every command for it while
// `router` pays one and patches its map; the servers' errorstats count
// exactly what the clients counted.
func TestMovedStaleVersusRouterIntegration(t *testing.T) {
	l := startCluster(t, 3)
	ctx := context.Background()
	stale := open(t, "stale", l.MasterAddrs())
	rt := open(t, "router", l.MasterAddrs())

	key := "cbtest:moved"
	slot := router.SlotString(key)
	from, to := moveEmptySlot(t, l, slot)
	before := movedCount(t, from)

	const ops = 20
	for _, s := range []strategy.Strategy{stale, rt} {
		w, _ := s.NewWorker(0)
		for range ops {
			if res := w.Do(ctx, setReq(key, "x")); res.Err != nil || res.Node != to {
				t.Fatalf("%s: %+v, want served by %s", s.Name(), res, to)
			}
		}
		w.Close()
	}
	st, rs := stale.Stats(), rt.Stats()
	if st.Moved != ops {
		t.Errorf("stale paid %d MOVED for %d ops, want one each", st.Moved, ops)
	}
	if rs.Moved != 1 {
		t.Errorf("router paid %d MOVED, want 1 (the map is patched)", rs.Moved)
	}
	if got := movedCount(t, from) - before; got != st.Moved+rs.Moved {
		t.Errorf("server counted %d MOVED, clients %d", got, st.Moved+rs.Moved)
	}
}

// DoBatch pipelines requests over every node; a request for a slot that
// moved is carried on through its MOVED, and every reply lands in its
// own result.
func TestDoBatchIntegration(t *testing.T) {
	l := startCluster(t, 3)
	ctx := context.Background()
	for _, name := range []string{"router", "stale", "rueidis", "goredis"} {
		t.Run(name, func(t *testing.T) {
			s := open(t, name, l.MasterAddrs())
			// Moved after the strategy read its map: the map is stale there.
			key := "cbtest:batch:moved:" + name
			moveEmptySlot(t, l, router.SlotString(key))
			w, err := s.NewWorker(0)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			bw, ok := w.(strategy.BatchWorker)
			if !ok {
				t.Fatalf("%s cannot pipeline", name)
			}
			var reqs []*strategy.Request
			for i := range 40 {
				reqs = append(reqs, setReq(fmt.Sprintf("cbtest:batch:%s:%d", name, i), "b"))
			}
			reqs = append(reqs, setReq(key, "m"))
			out := make([]strategy.Result, len(reqs))
			bw.DoBatch(ctx, reqs, out)
			for i, res := range out {
				if res.Err != nil {
					t.Fatalf("request %d (%s): %v", i, reqs[i].Key, res.Err)
				}
			}
			if s.Stats().Known && out[len(out)-1].Moved != 1 {
				t.Errorf("the moved slot's request: %+v, want one MOVED followed", out[len(out)-1])
			}
			// Reads of what the batch wrote, pipelined too.
			for _, r := range reqs {
				r.Kind = strategy.OpGet
			}
			bw.DoBatch(ctx, reqs, out)
			for i, res := range out {
				if res.Err != nil {
					t.Fatalf("GET %d: %v", i, res.Err)
				}
			}
		})
	}
}

// totalConnections is a node's count of connections it ever accepted,
// the one this call opens included.
func totalConnections(t *testing.T, addr string) int64 {
	t.Helper()
	info, err := cluster.NodeInfo(context.Background(), addr, cluster.ConnOptions{}, "stats")
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseInt(info["total_connections_received"], 10, 64)
	if err != nil {
		t.Fatalf("total_connections_received = %q", info["total_connections_received"])
	}
	return n
}

// The router pre-dials a node it learns of: when one worker's MOVED names
// a new master, every worker gets a connection to it in the background,
// and the others' first commands there open none.
func TestRouterPreDialsNewNodeIntegration(t *testing.T) {
	l := startCluster(t, 2)
	ctx := context.Background()
	rt := open(t, "router", l.MasterAddrs())
	const workers = 4
	var ws []strategy.Worker
	for i := range workers {
		w, err := rt.NewWorker(i)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		ws = append(ws, w)
	}
	key := "cbtest:predial"
	slot := router.SlotString(key)
	for _, w := range ws {
		if res := w.Do(ctx, setReq(key, "x")); res.Err != nil {
			t.Fatal(res.Err)
		}
	}

	// A new master takes the key's (now empty) slot.
	n, err := l.AddMaster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	check, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: l.MasterAddrs(), DisableCache: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := check.Do(ctx, check.B().Del().Key(key).Build()).Error(); err != nil {
		t.Fatal(err)
	}
	check.Close()
	m, err := cluster.NewMigrator(ctx, l.MasterAddrs()[0], l.ConnOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	owners, err := m.SlotOwners(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Move(ctx, []uint16{slot}, owners[slot], n.Addr, cluster.MoveOptions{}); err != nil {
		t.Fatal(err)
	}
	settle, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := m.WaitSettled(settle); err != nil {
		t.Fatal(err)
	}

	base := totalConnections(t, n.Addr)
	if res := ws[0].Do(ctx, setReq(key, "y")); res.Err != nil || res.Moved != 1 || res.Node != n.Addr {
		t.Fatalf("first command after the move: %+v, want one MOVED to %s", res, n.Addr)
	}
	// A pre-dial per worker (worker 0 may have dialled for itself too, or
	// taken its spare if it came first), maybe a refresh's: wait until
	// they are in and the count has stood still for three looks (but for
	// the connection each look opens).
	deadline := time.Now().Add(10 * time.Second)
	last, still := int64(-1), 0
	for polls := int64(1); ; polls++ {
		cur := totalConnections(t, n.Addr)
		if cur == last+1 {
			still++
		} else {
			still = 0
		}
		if others := cur - base - polls; others >= workers && still >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the new node accepted %d connections since the MOVED (%d looks), want at least %d (a pre-dial per worker), then none", cur-base-polls, polls, workers)
		}
		last = cur
		time.Sleep(200 * time.Millisecond)
	}
	before := totalConnections(t, n.Addr)
	for i, w := range ws[1:] {
		if res := w.Do(ctx, setReq(key, "z")); res.Err != nil || res.Moved != 0 || res.Node != n.Addr {
			t.Fatalf("worker %d: %+v, want served by %s with no redirect", i+1, res, n.Addr)
		}
	}
	if got := totalConnections(t, n.Addr) - before - 1; got != 0 {
		t.Errorf("the other workers opened %d connections to the new node: want 0, they use the pre-dialled ones", got)
	}
}
