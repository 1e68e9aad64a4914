package router

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// model is an in-memory stand-in for a cluster's routing state, so the
// executor's policy logic can be tested exactly. Real-server behaviour is
// covered by the strategy package's integration tests.
type model struct {
	mu        sync.Mutex
	owner     map[uint16]string // slot → master; absent: "a:1"
	importing map[uint16]string // slot → target, while migrating
	onTarget  map[uint16]bool   // the key of the slot already moved (ASK)
	tryAgain  int               // next n sends answer TRYAGAIN
	fetches   atomic.Int64
	asking    atomic.Int64
	fetchErr  error
}

func newModel() *model {
	return &model{owner: map[uint16]string{}, importing: map[uint16]string{}, onTarget: map[uint16]bool{}}
}

func (m *model) ownerOf(slot uint16) string {
	if a, ok := m.owner[slot]; ok {
		return a
	}
	return "a:1"
}

func (m *model) FetchTopology(ctx context.Context, addr string, newConn bool) ([]Shard, error) {
	m.fetches.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fetchErr != nil {
		return nil, m.fetchErr
	}
	byNode := map[string][]SlotRange{}
	for s := 0; s < NumSlots; s++ {
		o := m.ownerOf(uint16(s))
		byNode[o] = append(byNode[o], SlotRange{uint16(s), uint16(s)})
	}
	var shards []Shard
	for _, n := range []string{"a:1", "b:2", "c:3", "d:4"} {
		if r, ok := byNode[n]; ok {
			shards = append(shards, Shard{Slots: r, Nodes: []ShardNode{{Addr: n, Role: "master"}}})
		}
	}
	return shards, nil
}

// fakeTransport answers for one fixed slot, like a worker's connection.
type fakeTransport struct {
	m     *model
	slot  uint16
	sends []string // addresses, in order, with "+ask" for ASKING
	buf   []byte
}

func (t *fakeTransport) Send(ctx context.Context, addr string, ask AskMode) ([]byte, error) {
	m := t.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if ask != AskNone {
		m.asking.Add(1)
		t.sends = append(t.sends, addr+"+ask")
	} else {
		t.sends = append(t.sends, addr)
	}
	if m.tryAgain > 0 {
		m.tryAgain--
		return []byte("TRYAGAIN Multiple keys request during rehashing of slot"), nil
	}
	owner := m.ownerOf(t.slot)
	target, migrating := m.importing[t.slot]
	switch {
	case addr == owner && migrating && m.onTarget[t.slot]:
		t.buf = fmt.Appendf(t.buf[:0], "ASK %d %s", t.slot, target)
		return t.buf, nil
	case addr == owner:
		return nil, nil
	case migrating && addr == target && ask != AskNone:
		return nil, nil
	default:
		t.buf = fmt.Appendf(t.buf[:0], "MOVED %d %s", t.slot, owner)
		return t.buf, nil
	}
}

func newRouter(t *testing.T, p Policy, m *model) *Router {
	t.Helper()
	r, err := New(context.Background(), p, []string{"a:1", "b:2", "c:3"}, m)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

func TestDoDirect(t *testing.T) {
	m := newModel()
	r := newRouter(t, Policy{Moved: MovedPatch, Refresh: RefreshAsync}, m)
	tr := &fakeTransport{m: m, slot: 7}
	res := r.NewSession(tr, 0).Do(context.Background(), 7)
	if res.Err != nil || res.Moved != 0 || res.Ask != 0 || res.Addr != "a:1" {
		t.Fatalf("direct op: %+v", res)
	}
}

func TestMovedReactions(t *testing.T) {
	cases := []struct {
		name      string
		policy    Policy
		wantSends []string // first op, after the slot moved to b:2
		secondOp  []string // the next op for the same slot
	}{
		// follow: every op pays the redirect again.
		{"follow", Policy{Moved: MovedFollow}, []string{"a:1", "b:2"}, []string{"a:1", "b:2"}},
		// patch: the first op pays, the map remembers.
		{"patch", Policy{Moved: MovedPatch}, []string{"a:1", "b:2"}, []string{"b:2"}},
		// rediscover: wait for the refresh, then re-resolve.
		{"rediscover", Policy{Moved: MovedRediscover, Refresh: RefreshBlocking}, []string{"a:1", "b:2"}, []string{"b:2"}},
		// no slot map: home node first, every time.
		{"unaware", Policy{NoSlotMap: true}, []string{"a:1", "b:2"}, []string{"a:1", "b:2"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := newModel()
			r := newRouter(t, tc.policy, m)
			m.owner[42] = "b:2"
			tr := &fakeTransport{m: m, slot: 42}
			s := r.NewSession(tr, 0)
			res := s.Do(context.Background(), 42)
			if res.Err != nil || res.Moved != 1 || res.Addr != "b:2" {
				t.Fatalf("first op: %+v", res)
			}
			if fmt.Sprint(tr.sends) != fmt.Sprint(tc.wantSends) {
				t.Fatalf("first op sent to %v, want %v", tr.sends, tc.wantSends)
			}
			tr.sends = nil
			if res := s.Do(context.Background(), 42); res.Err != nil {
				t.Fatal(res.Err)
			}
			if fmt.Sprint(tr.sends) != fmt.Sprint(tc.secondOp) {
				t.Fatalf("second op sent to %v, want %v", tr.sends, tc.secondOp)
			}
		})
	}
}

func TestAskModes(t *testing.T) {
	for _, two := range []bool{false, true} {
		m := newModel()
		r := newRouter(t, Policy{Moved: MovedPatch, AskTwoRoundTrips: two}, m)
		m.importing[9] = "c:3"
		m.onTarget[9] = true
		tr := &fakeTransport{m: m, slot: 9}
		res := r.NewSession(tr, 0).Do(context.Background(), 9)
		if res.Err != nil || res.Ask != 1 || res.Moved != 0 || res.Addr != "c:3" {
			t.Fatalf("two=%v: %+v", two, res)
		}
		if got := fmt.Sprint(tr.sends); got != "[a:1 c:3+ask]" {
			t.Fatalf("two=%v: sends %s", two, got)
		}
		// ASK never changes the map: the next op starts at the owner again.
		if addr, _ := r.Map().Lookup(9); addr != "a:1" {
			t.Fatalf("ASK changed the map: slot 9 → %s", addr)
		}
	}
}

func TestRedirectBudget(t *testing.T) {
	m := newModel()
	// A slot that keeps pointing away: a:1 says b:2 (follow only, so the map
	// never learns), and b:2 is not the owner either in this model.
	r := newRouter(t, Policy{Moved: MovedFollow, MaxRedirects: 1}, m)
	m.owner[5] = "b:2"
	tr := &fakeTransport{m: m, slot: 5}
	res := r.NewSession(tr, 0).Do(context.Background(), 5)
	if res.Err != nil || res.Moved != 1 {
		t.Fatalf("one redirect within a budget of one must succeed: %+v", res)
	}
	m.importing[5] = "c:3"
	m.onTarget[5] = true
	m.owner[5] = "a:1"
	// a:1 (stale map says a:1 anyway) → ASK c:3 → ok: one redirect.
	// Now make the ASK target answer MOVED back: two redirects needed.
	m.importing[5] = "c:3"
	m.owner[5] = "b:2"
	r2 := newRouter(t, Policy{Moved: MovedFollow, MaxRedirects: 1}, newModel())
	tr2 := &fakeTransport{m: m, slot: 5}
	// r2's map says a:1; the model says b:2 owns and is migrating to c:3
	// with the key already there: a:1 → MOVED b:2 → ASK c:3.
	res = r2.NewSession(tr2, 0).Do(context.Background(), 5)
	if !errors.Is(res.Err, ErrRedirectLimit) || res.Kind != KindAsk {
		t.Fatalf("second redirect over a budget of one: %+v (sends %v)", res, tr2.sends)
	}
}

func TestTryAgainBackoff(t *testing.T) {
	m := newModel()
	r := newRouter(t, Policy{Moved: MovedPatch, RetryBackoff: time.Millisecond, MaxRetries: 3}, m)
	m.tryAgain = 2
	tr := &fakeTransport{m: m, slot: 1}
	res := r.NewSession(tr, 0).Do(context.Background(), 1)
	if res.Err != nil || res.Retries != 2 {
		t.Fatalf("two TRYAGAIN then success: %+v", res)
	}
	m.tryAgain = 10
	res = r.NewSession(tr, 0).Do(context.Background(), 1)
	if !errors.Is(res.Err, ErrRetryLimit) || res.Retries != 3 {
		t.Fatalf("TRYAGAIN beyond the retry budget: %+v", res)
	}
	// 2, then 3 retried and the 4th that exhausts the budget.
	if got := r.Stats().TryAgain; got != 6 {
		t.Fatalf("TryAgain counter = %d, want 6", got)
	}
}

func TestEveryKthMovedBlockingRefresh(t *testing.T) {
	m := newModel()
	r := newRouter(t, Policy{Moved: MovedPatch, Refresh: RefreshBlocking, EveryKthMoved: 5}, m)
	initial := m.fetches.Load()
	for s := uint16(100); s < 110; s++ {
		m.owner[s] = "b:2"
	}
	var refreshedOps int
	for s := uint16(100); s < 110; s++ {
		res := r.NewSession(&fakeTransport{m: m, slot: s}, 0).Do(context.Background(), s)
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		refreshedOps += int(res.Refreshes)
	}
	// The first refresh (5th MOVED) teaches the map every moved slot, so
	// the remaining five ops go direct: five MOVED, one refresh in all.
	st := r.Stats()
	if st.Moved != 5 || m.fetches.Load()-initial != 1 || refreshedOps != 1 {
		t.Fatalf("moved=%d fetches=%d refreshedOps=%d, want 5, 1, 1", st.Moved, m.fetches.Load()-initial, refreshedOps)
	}
}

func TestAsyncCooldownDropsTriggers(t *testing.T) {
	m := newModel()
	r := newRouter(t, Policy{Moved: MovedFollow, Refresh: RefreshAsync, Cooldown: time.Hour}, m)
	initial := m.fetches.Load()
	m.owner[3] = "b:2"
	s := r.NewSession(&fakeTransport{m: m, slot: 3}, 0)
	s.Do(context.Background(), 3)
	waitFor(t, func() bool { return m.fetches.Load() == initial+1 })
	// The refresh taught the map b:2; move the slot on so every op pays a
	// MOVED (follow never patches) and triggers a refresh the cooldown drops.
	m.mu.Lock()
	m.owner[3] = "c:3"
	m.mu.Unlock()
	for range 20 {
		s.Do(context.Background(), 3)
	}
	waitFor(t, func() bool { return r.Stats().DroppedTriggers >= 1 })
	if got := m.fetches.Load() - initial; got != 1 {
		t.Fatalf("refreshes within the cooldown: %d, want 1", got)
	}
}

func TestAsyncTrailingRefresh(t *testing.T) {
	m := newModel()
	r := newRouter(t, Policy{Moved: MovedPatch, Refresh: RefreshAsync, Trailing: true, Cooldown: 20 * time.Millisecond}, m)
	initial := m.fetches.Load()
	m.owner[3], m.owner[4] = "b:2", "b:2"
	r.NewSession(&fakeTransport{m: m, slot: 3}, 0).Do(context.Background(), 3)
	waitFor(t, func() bool { return m.fetches.Load() >= initial+1 })
	// A trigger inside the cooldown is kept and run once it ends.
	m.mu.Lock()
	m.owner[5] = "c:3"
	m.mu.Unlock()
	r.NewSession(&fakeTransport{m: m, slot: 5}, 0).Do(context.Background(), 5)
	waitFor(t, func() bool { return m.fetches.Load() >= initial+2 })
	if st := r.Stats(); st.DroppedTriggers != 0 {
		t.Fatalf("trailing policy dropped %d triggers", st.DroppedTriggers)
	}
}

func TestMigrationRefreshCadence(t *testing.T) {
	m := newModel()
	r := newRouter(t, Policy{Moved: MovedPatch, Refresh: RefreshAsync, MigrationRefresh: 5 * time.Millisecond, MigrationWindow: time.Hour}, m)
	initial := m.fetches.Load()
	time.Sleep(30 * time.Millisecond)
	if got := m.fetches.Load() - initial; got != 0 {
		t.Fatalf("%d refreshes with no migration visible, want 0", got)
	}
	m.mu.Lock()
	m.importing[9], m.onTarget[9] = "c:3", true
	m.mu.Unlock()
	r.NewSession(&fakeTransport{m: m, slot: 9}, 0).Do(context.Background(), 9)
	waitFor(t, func() bool { return m.fetches.Load()-initial >= 3 })
}

func TestSessionDoAllocs(t *testing.T) {
	m := newModel()
	r := newRouter(t, Policy{Moved: MovedPatch, Refresh: RefreshAsync}, m)
	s := r.NewSession(&fakeTransport{m: m, slot: 1, sends: make([]string, 0, 1<<12)}, 0)
	ctx := context.Background()
	allocs := testing.AllocsPerRun(1000, func() {
		s.t.(*fakeTransport).sends = s.t.(*fakeTransport).sends[:0]
		s.Do(ctx, 1)
	})
	if allocs != 0 {
		t.Fatalf("a direct Do allocates %v times, want 0", allocs)
	}
}

func TestPolicyValidate(t *testing.T) {
	cases := []struct {
		name string
		p    Policy
		ok   bool
	}{
		{"zero value", Policy{}, true},
		{"rediscover needs blocking", Policy{Moved: MovedRediscover, Refresh: RefreshAsync}, false},
		{"unaware cannot patch", Policy{NoSlotMap: true, Moved: MovedPatch}, false},
		{"negative budget", Policy{MaxRedirects: -1}, false},
		{"periodic needs a mode", Policy{Periodic: time.Second}, false},
		{"negative cooldown", Policy{Cooldown: -time.Second}, false},
	}
	for _, tc := range cases {
		if err := tc.p.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestInitialFetchFailure(t *testing.T) {
	m := newModel()
	m.fetchErr = errors.New("connection refused")
	if _, err := New(context.Background(), Policy{}, []string{"a:1"}, m); err == nil {
		t.Fatal("New must fail when no seed answers")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

// With PreDial, a node first named by a MOVED is reported once, and a
// refresh that lists it again does not report it again; the seeds and the
// initial map's nodes are never reported. Without PreDial nothing is.
func TestOnNewNodeReportsEachNewNodeOnce(t *testing.T) {
	for _, preDial := range []bool{true, false} {
		t.Run(fmt.Sprint("predial=", preDial), func(t *testing.T) {
			m := newModel()
			m.owner[7] = "b:2"
			r := newRouter(t, Policy{Moved: MovedPatch, Refresh: RefreshBlocking, PreDial: preDial}, m)
			var mu sync.Mutex
			var got []string
			r.OnNewNode(func(addr string) {
				mu.Lock()
				got = append(got, addr)
				mu.Unlock()
			})
			m.mu.Lock()
			m.owner[42], m.owner[43] = "d:4", "d:4"
			m.owner[7] = "c:3"
			m.mu.Unlock()
			ctx := context.Background()
			for i, slot := range []uint16{42, 43, 7} {
				if res := r.NewSession(&fakeTransport{m: m, slot: slot}, i).Do(ctx, slot); res.Err != nil {
					t.Fatalf("slot %d: %v", slot, res.Err)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			want := []string{"d:4"}
			if !preDial {
				want = nil
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("new nodes reported %v, want %v", got, want)
			}
		})
	}
}
