package runner

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/clusterbench/clusterbench/internal/resp"
	"github.com/clusterbench/clusterbench/strategy"
	"github.com/clusterbench/clusterbench/workload"
)

func TestVersionedValue(t *testing.T) {
	pad := []byte(strings.Repeat("x", 64))
	for _, tc := range []struct {
		ver     uint64
		pad     []byte
		wantLen int
	}{
		{2, pad, 64},                  // padded to the workload's size
		{1<<64 - 1, pad, 64},          // the largest version
		{0x2a, pad[:5], versionedLen}, // a value shorter than the head grows to it
		{0x2a, nil, versionedLen},
	} {
		b := appendVersioned(nil, tc.ver, tc.pad)
		if len(b) != tc.wantLen {
			t.Errorf("version %d, pad %d: %d bytes %q, want %d", tc.ver, len(tc.pad), len(b), b, tc.wantLen)
		}
		if got := parseVersion(b, true); got != tc.ver {
			t.Errorf("parseVersion(%q) = %d, want %d", b, got, tc.ver)
		}
	}
	for _, tc := range []struct {
		val  string
		ok   bool
		want uint64
	}{
		{"", false, versionMissing},                          // no such key
		{"abcdefghijklmnopqrstuvwxyz", true, versionPreload}, // the preload's random value
		{"v00000000000000zz:xxxx", true, versionPreload},     // not hex
		{"v000000000000002a", true, versionPreload},          // too short
		{"v000000000000002a-", true, versionPreload},         // no colon
		{"v000000000000002a:", true, 0x2a},
	} {
		if got := parseVersion([]byte(tc.val), tc.ok); got != tc.want {
			t.Errorf("parseVersion(%q, %v) = %d, want %d", tc.val, tc.ok, got, tc.want)
		}
	}
}

// The rule, step by step, on one key (index 0) of a verifier.
func TestVerifyRule(t *testing.T) {
	newV := func() *verifier {
		return newVerifier(workload.Config{Keys: 8, Prefix: "t", TagGroup: 4, Mix: workload.Mix{workload.OpGet: 1}})
	}
	snaps := func() []inflightSet { return make([]inflightSet, 1) }
	type write struct {
		ver   uint64
		snaps []inflightSet
	}
	begin := func(v *verifier) write {
		s := snaps()
		return write{v.begin(0, 1, s), s}
	}
	ack := func(v *verifier, w write) { v.ack(0, 1, w.ver, w.snaps, phaseBaseline) }
	expect := func(t *testing.T, v *verifier, stale map[uint64]bool) {
		t.Helper()
		f := v.floorOf(0)
		for u, want := range stale {
			if got := f.stale(u); got != want {
				t.Errorf("version %d: stale = %v, want %v (F %d, I(F) %v)", u, got, want, f.top, f.in)
			}
		}
	}

	t.Run("untouched key", func(t *testing.T) {
		v := newV()
		// The preload's value is the key's latest; missing means lost.
		expect(t, v, map[uint64]bool{versionMissing: true, versionPreload: false})
	})
	t.Run("sequential writes", func(t *testing.T) {
		v := newV()
		a := begin(v)
		ack(v, a)
		b := begin(v)
		expect(t, v, map[uint64]bool{versionPreload: true, a.ver: false, b.ver: false})
		ack(v, b)
		expect(t, v, map[uint64]bool{versionMissing: true, versionPreload: true, a.ver: true, b.ver: false})
	})
	t.Run("overlapping writes may land in either order", func(t *testing.T) {
		v := newV()
		a := begin(v)
		b := begin(v) // a is in flight: a may land after b
		ack(v, b)
		expect(t, v, map[uint64]bool{versionPreload: true, a.ver: false, b.ver: false})
		ack(v, a)
		expect(t, v, map[uint64]bool{a.ver: false, b.ver: false})
		c := begin(v) // nothing in flight: c replaces both
		ack(v, c)
		expect(t, v, map[uint64]bool{a.ver: true, b.ver: true, c.ver: false})
	})
	t.Run("a failed write may still land", func(t *testing.T) {
		v := newV()
		a := begin(v) // never acknowledged
		b := begin(v)
		ack(v, b)
		c := begin(v)
		ack(v, c)
		expect(t, v, map[uint64]bool{a.ver: false, b.ver: true, c.ver: false})
	})
	t.Run("too many writes in flight to judge", func(t *testing.T) {
		v := newV()
		var ws []write
		for range maxInflight + 1 {
			ws = append(ws, begin(v))
		}
		last := begin(v)
		ack(v, last)
		expect(t, v, map[uint64]bool{versionMissing: false, versionPreload: false, ws[0].ver: false})
		for _, w := range ws {
			ack(v, w)
		}
		if k := &v.keys[0]; k.over != 0 || k.inflight != [maxInflight]uint64{} {
			t.Fatalf("after every ack: in flight %v, over %d", k.inflight, k.over)
		}
		d := begin(v)
		ack(v, d)
		expect(t, v, map[uint64]bool{versionPreload: true, ws[0].ver: true, last.ver: true, d.ver: false})
	})
	t.Run("mset writes the whole group", func(t *testing.T) {
		v := newV()
		s := make([]inflightSet, 4)
		ver := v.begin(4, 8, s)
		v.ack(4, 8, ver, s, phaseMigrating)
		for i := uint64(4); i < 8; i++ {
			if f := v.floorOf(i); f.top != ver || !f.stale(versionPreload) || v.keys[i].topPhase != phaseMigrating {
				t.Errorf("key %d: F %d phase %d, want %d in migrating", i, f.top, v.keys[i].topPhase, ver)
			}
		}
		if f := v.floorOf(0); f.top != 0 {
			t.Errorf("key 0 outside the group: F %d", f.top)
		}
	})
}

// memStore is an in-memory key-value store behind a fake strategy worker.
// lose makes it acknowledge SETs without applying them.
type memStore struct {
	vals map[string]*[]byte
	lose bool
}

func newMemStore(ks workload.KeySpace) *memStore {
	m := &memStore{vals: map[string]*[]byte{}}
	for i := range ks.Keys {
		b := []byte("preloaded-value-without-version")
		m.vals[string(ks.AppendKey(nil, i))] = &b
		c := []byte(nil)
		m.vals[string(ks.AppendCounterKey(nil, i))] = &c
	}
	return m
}

type memWorker struct{ s *memStore }

var _ strategy.ValueWorker = memWorker{}

func (w memWorker) Do(ctx context.Context, req *strategy.Request) strategy.Result {
	if req.Kind == strategy.OpGet {
		_ = w.s.vals[string(req.Key)] // a read that hands nothing back
		return strategy.Result{}
	}
	res, _, _ := w.DoValue(ctx, req, nil)
	return res
}

func (w memWorker) DoValue(_ context.Context, req *strategy.Request, dst []byte) (strategy.Result, []byte, bool) {
	switch req.Kind {
	case strategy.OpSet:
		if !w.s.lose {
			p := w.s.vals[string(req.Key)]
			*p = append((*p)[:0], req.Value...)
		}
	case strategy.OpMSet:
		for _, k := range req.Keys {
			p := w.s.vals[string(k)]
			*p = append((*p)[:0], req.Value...)
		}
	case strategy.OpGet:
		p := w.s.vals[string(req.Key)]
		if *p == nil {
			return strategy.Result{}, dst, false
		}
		return strategy.Result{}, append(dst, *p...), true
	case strategy.OpIncr:
		p := w.s.vals[string(req.Key)]
		n, _ := strconv.ParseInt(string(*p), 10, 64)
		*p = strconv.AppendInt((*p)[:0], n+1, 10)
		return strategy.Result{}, append(dst, *p...), true
	}
	return strategy.Result{}, dst, false
}

func (w memWorker) DoValues(ctx context.Context, req *strategy.Request, vals *resp.Values) strategy.Result {
	vals.Reset()
	if req.Kind != strategy.OpMGet {
		return w.Do(ctx, req)
	}
	for _, k := range req.Keys {
		p := w.s.vals[string(k)]
		vals.Append(*p, *p != nil)
	}
	return strategy.Result{}
}

func (memWorker) Close() error { return nil }

// readAll passes the store's content to a result's reader as readBack
// does: every key, and the counters an INCR was acknowledged on.
func (m *memStore) readAll(v *verifier) func(readFunc) error {
	return func(fn readFunc) error {
		for i := range v.ks.Keys {
			p := m.vals[string(v.ks.AppendKey(nil, i))]
			fn(i, false, *p, *p != nil)
		}
		for i := range v.counters {
			if v.counters[i].Load() != 0 {
				p := m.vals[string(v.ks.AppendCounterKey(nil, uint64(i)))]
				fn(uint64(i), true, *p, *p != nil)
			}
		}
		return nil
	}
}

// op runs one op through a verifying worker the way worker.one does.
func op(w *verifyWorker, c strategy.Worker, ks workload.KeySpace, o workload.Op, i uint64, phase uint8) strategy.Result {
	req := &strategy.Request{Kind: opKinds[o], Value: []byte("0123456789012345678901234567890123456789")}
	switch o {
	case workload.OpIncr:
		req.Key = ks.AppendCounterKey(nil, i)
	case workload.OpMSet, workload.OpMGet:
		first, end := ks.Group(i)
		for j := first; j < end; j++ {
			req.Keys = append(req.Keys, ks.AppendKey(nil, j))
		}
		req.Key = req.Keys[0]
	default:
		req.Key = ks.AppendKey(nil, i)
	}
	return w.do(context.Background(), c, req, o, i, phase)
}

// memVerify is a verifier over 8 keys in tag groups of 4 with mix, and one
// verifying worker over an in-memory store.
func memVerify(mix string) (*verifier, *verifyWorker, memWorker, workload.KeySpace) {
	m, _ := workload.ParseMix(mix)
	wc := workload.Config{Keys: 8, Prefix: "t", TagGroup: 4, Mix: m}
	v := newVerifier(wc)
	c := memWorker{newMemStore(wc.KeySpace())}
	return v, v.worker(c), c, wc.KeySpace()
}

func TestVerifyWorkerFindsLossAndStaleness(t *testing.T) {
	v, w, c, ks := memVerify("get:1,set:1,mset:1,incr:1")
	store := c.s

	// A correct store: everything checks out.
	op(w, c, ks, workload.OpSet, 1, phaseBaseline)
	op(w, c, ks, workload.OpGet, 1, phaseBaseline)
	op(w, c, ks, workload.OpMSet, 5, phaseBaseline)
	op(w, c, ks, workload.OpGet, 6, phaseBaseline)
	op(w, c, ks, workload.OpIncr, 2, phaseBaseline)
	op(w, c, ks, workload.OpIncr, 2, phaseBaseline)
	if got := w.counts[phaseBaseline]; got != (counts{reads: 4, writes: 1 + 4 + 2}) {
		t.Fatalf("clean ops counted %+v", got)
	}

	// The store acknowledges a SET of key 1 and drops it: the next read
	// of key 1 goes back in time, and the key has lost the write.
	store.lose = true
	op(w, c, ks, workload.OpSet, 1, phaseMigrating)
	store.lose = false
	op(w, c, ks, workload.OpGet, 1, phaseMigrating)
	// The counter of key 2 is reset behind the tool's back.
	*store.vals[string(ks.AppendCounterKey(nil, 2))] = nil
	op(w, c, ks, workload.OpIncr, 2, phaseAfter)
	// Key 3, never written in the run, loses its preloaded value.
	*store.vals[string(ks.AppendKey(nil, 3))] = nil

	res := v.result(store.readAll(v))
	if res.ReadsChecked != 6 || res.StaleReads != 2 || res.WritesChecked != 9 || res.LostWrites != 3 || res.KeysChecked != 9 {
		t.Errorf("result %+v: want 6 reads (2 stale), 9 writes, 3 lost (key 1, counter 2, key 3), 9 keys", res)
	}
	// A lost write counts in the phase it was acknowledged in: counter 2
	// lost the value 2 of the baseline, though its stale INCR came after.
	for name, want := range map[string][2]int64{"baseline": {0, 1}, "migrating": {1, 1}, "after": {1, 0}, "preload": {0, 1}} {
		ph := res.Phases[name]
		if ph.StaleReads != want[0] || ph.LostWrites != want[1] {
			t.Errorf("phase %s: %+v, want %d stale, %d lost", name, ph, want[0], want[1])
		}
	}
	if len(res.Examples) != 5 || !strings.Contains(res.Examples[0], "t:{0}:1") {
		t.Errorf("examples %q", res.Examples)
	}
}

// MGET's values are checked key by key: a group whose MSET was acknowledged
// reads clean; when one key of it loses that write, that key's read is
// stale and named.
func TestVerifyWorkerChecksMGET(t *testing.T) {
	v, w, c, ks := memVerify("mget:1,mset:1")
	store := c.s
	op(w, c, ks, workload.OpMGet, 2, phaseBaseline) // the preload's values
	op(w, c, ks, workload.OpMSet, 5, phaseBaseline)
	op(w, c, ks, workload.OpMGet, 6, phaseBaseline)
	if got := w.counts[phaseBaseline]; got != (counts{reads: 8, writes: 4}) {
		t.Fatalf("clean MGETs counted %+v, want 8 reads checked, 4 writes", got)
	}
	*store.vals[string(ks.AppendKey(nil, 5))] = []byte("preloaded-value-without-version")
	op(w, c, ks, workload.OpMGet, 4, phaseMigrating)
	if got := w.counts[phaseMigrating]; got != (counts{reads: 4, stale: 1}) {
		t.Fatalf("MGET after a lost write counted %+v, want 4 reads, 1 stale", got)
	}
	if res := v.result(store.readAll(v)); len(res.Examples) == 0 || !strings.Contains(res.Examples[0], "stale MGET read") || !strings.Contains(res.Examples[0], string(ks.AppendKey(nil, 5))) {
		t.Errorf("examples %q: want the stale MGET read of key 5", res.Examples)
	}
}

// A worker that cannot return values: reads are counted, not checked;
// writes are still versioned and read back.
type plainWorker struct{ memWorker }

func (w plainWorker) Do(ctx context.Context, req *strategy.Request) strategy.Result {
	return w.memWorker.Do(ctx, req)
}

func TestVerifyWorkerWithoutValues(t *testing.T) {
	wc := workload.Config{Keys: 4, Prefix: "t", Mix: workload.Mix{workload.OpGet: 1}}
	ks := wc.KeySpace()
	store := newMemStore(ks)
	v := newVerifier(wc)
	var c strategy.Worker = struct{ strategy.Worker }{plainWorker{memWorker{store}}}
	w := v.worker(c)
	op(w, c, ks, workload.OpSet, 0, phaseBaseline)
	op(w, c, ks, workload.OpGet, 0, phaseBaseline)
	res := v.result(store.readAll(v))
	if res.UncheckedReads != 1 || res.ReadsChecked != 0 || res.WritesChecked != 1 || !res.Clean() {
		t.Errorf("result %+v: want 1 unchecked read, 1 write checked, clean", res)
	}
}

func TestVerifyFailedReadBack(t *testing.T) {
	v := newVerifier(workload.Config{Keys: 2, Prefix: "t", Mix: workload.Mix{workload.OpGet: 1}})
	res := v.result(func(readFunc) error { return errors.New("node down") })
	if res.Error != "node down" || res.LostWrites != 0 {
		t.Errorf("result %+v", res)
	}
}

// Verify mode adds no allocation to the own strategies' path: versioning
// a SET and checking a GET reuse the worker's buffers.
func TestVerifyWorkerAllocatesNothing(t *testing.T) {
	wc := workload.Config{Keys: 4, Prefix: "t", Mix: workload.Mix{workload.OpGet: 1, workload.OpSet: 1}}
	ks := wc.KeySpace()
	store := newMemStore(ks)
	v := newVerifier(wc)
	c := memWorker{store}
	w := v.worker(c)
	set := &strategy.Request{Kind: strategy.OpSet, Key: ks.AppendKey(nil, 1), Value: make([]byte, 64)}
	get := &strategy.Request{Kind: strategy.OpGet, Key: ks.AppendKey(nil, 1)}
	pad := set.Value
	ctx := context.Background()
	allocs := testing.AllocsPerRun(200, func() {
		set.Value = pad
		w.do(ctx, c, set, workload.OpSet, 1, phaseBaseline)
		w.do(ctx, c, get, workload.OpGet, 1, phaseBaseline)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per SET+GET", allocs)
	}
	if w.counts[phaseBaseline].stale != 0 {
		t.Errorf("stale reads on a correct store: %+v", w.counts[phaseBaseline])
	}
}

func TestCheckVerifyConfig(t *testing.T) {
	base := func() Config {
		wc := workload.DefaultConfig()
		return Config{Verify: true, Workload: wc}
	}
	if err := checkVerifyConfig(base()); err != nil {
		t.Errorf("default workload: %v", err)
	}
	c := base()
	c.Workload.Mix[workload.OpDel] = 1
	if err := checkVerifyConfig(c); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "drop del from --mix") {
		t.Errorf("del in the mix: %v", err)
	}
	c = base()
	c.Workload.Keys = MaxVerifyKeys + 1
	if err := checkVerifyConfig(c); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "--keys") {
		t.Errorf("too many keys: %v", err)
	}
	c.Verify = false
	if err := checkVerifyConfig(c); err != nil {
		t.Errorf("without --verify: %v", err)
	}
}

// BenchmarkVerify is the cost verify mode adds to one op, over a fake
// store that costs almost nothing itself.
func BenchmarkVerify(b *testing.B) {
	wc := workload.Config{Keys: 1000, Prefix: "t", Mix: workload.Mix{workload.OpGet: 1, workload.OpSet: 1}}
	ks := wc.KeySpace()
	for _, tc := range []struct {
		name string
		op   workload.Op
	}{{"op=set", workload.OpSet}, {"op=get", workload.OpGet}} {
		for _, on := range []bool{false, true} {
			b.Run(tc.name+"/verify="+strconv.FormatBool(on), func(b *testing.B) {
				c := memWorker{newMemStore(ks)}
				w := newVerifier(wc).worker(c)
				pad := make([]byte, 64)
				req := &strategy.Request{Kind: opKinds[tc.op]}
				var key []byte
				ctx := context.Background()
				b.ReportAllocs()
				i := uint64(0)
				for b.Loop() {
					i = (i + 1) % ks.Keys
					key = ks.AppendKey(key[:0], i)
					req.Key, req.Value = key, pad
					if on {
						w.do(ctx, c, req, tc.op, i, phaseBaseline)
					} else {
						c.Do(ctx, req)
					}
				}
			})
		}
	}
}
