package runner

// --verify: every write carries a version, reads are checked against the
// writes acknowledged before they started, and after the run every key is
// read back.
//
// # Versions
//
// One counter per strategy run (an atomic clock) numbers the writes: a
// SET or MSET draws its version v from it just before it is sent and
// writes "v<16 hex digits>:" followed by the workload's value bytes, so
// values keep their size (at least 18 bytes). Version 1 stands for the
// preload's value (any value without a version) and 0 for a missing key;
// drawn versions start at 2. Versions only order writes by when they
// started, not by when the server applied them: two writes of one key
// that overlap in time may land in either order, and either outcome is
// correct. So a version is never simply compared with "the highest
// acknowledged one".
//
// # The rule
//
// For each key the verifier keeps the set of its writes in flight (started,
// not acknowledged), and, for the acknowledged write with the highest
// version F, the set I(F) of writes that were in flight when F started.
// A write that fails (error, timeout, cut off at the end of the run) is
// never acknowledged: it stays in flight for good, because the server may
// have applied it, or may still.
//
// A write with version u < F that is not in I(F) was acknowledged before F
// started: the server applied it before F. A read that started after F was
// acknowledged must therefore not return u; if it does, the read is stale.
// Nothing else is flagged: a version in I(F), or above F, or any value
// when more writes were in flight than the verifier tracks (4 per key),
// is accepted. The rule never blames an overlap; it can miss a stale read
// that only a write other than F would expose.
//
// After the run (every worker done) the final check reads every key of
// the keyspace once and applies the same rule: a key that holds a version
// its F had replaced (or no value at all) has lost the write F; one never
// written during the run must still hold the preload's value.
//
// INCR counters are checked the same way with their own numbers: INCR
// returns the counter's new value, which must exceed every INCR result
// acknowledged before it started, and after the run each counter must be
// at least the highest result acknowledged.
//
// # What is checked
//
// Reads: GET, MGET (each key of the group) and INCR replies, for every
// strategy (strategy.ValueWorker). DEL cannot be
// verified (it leaves no value to carry a version) and is refused in the
// mix. The per-key state costs about 100 bytes per key, and every write
// and read takes a per-key lock and reads the clock: verify mode measures
// a little more than the cluster (typically well under a microsecond per
// op), and the real libraries copy read values.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/redis/rueidis"

	"github.com/clusterbench/clusterbench/internal/resp"
	"github.com/clusterbench/clusterbench/metrics"
	"github.com/clusterbench/clusterbench/strategy"
	"github.com/clusterbench/clusterbench/workload"
)

// MaxVerifyKeys bounds --keys with --verify: the verifier keeps ~100 bytes
// per key and reads every key back after the run.
const MaxVerifyKeys = 2_000_000

// Versions with a meaning of their own.
const (
	versionMissing = 0 // the key does not exist
	versionPreload = 1 // a value without a version: the preload's
)

// maxInflight is how many in-flight writes per key the verifier tracks
// exactly; beyond it, it judges nothing against the key's F.
const maxInflight = 4

// maxExamples bounds the findings described in the report.
const maxExamples = 5

// phasePreload names the pseudo-phase of keys lost though never written
// during the run.
const phasePreload = "preload"

// checkVerifyConfig refuses what --verify cannot check.
func checkVerifyConfig(cfg Config) error {
	if !cfg.Verify {
		return nil
	}
	var errs []error
	if cfg.Workload.Mix.Uses(workload.OpDel) {
		errs = append(errs, bad("--verify cannot check del, which leaves no value to carry a version: drop del from --mix"))
	}
	if cfg.Workload.Keys > MaxVerifyKeys {
		errs = append(errs, bad("--verify keeps state for every key: use --keys %d or fewer (got %d)", MaxVerifyKeys, cfg.Workload.Keys))
	}
	return errors.Join(errs...)
}

// keyState is one key's writes, guarded by mu.
type keyState struct {
	mu       sync.Mutex
	inflight [maxInflight]uint64 // versions started and not acknowledged (0: free)
	over     uint32              // more such writes than fit in inflight
	top      uint64              // F: the highest acknowledged version; 0: none yet
	topIn    inflightSet         // I(F)
	topPhase uint8
}

// inflightSet is a key's in-flight writes at one moment.
type inflightSet struct {
	v    [maxInflight]uint64
	over bool // some were not tracked: nothing can be excluded
}

func (s *inflightSet) has(u uint64) bool {
	for _, v := range s.v {
		if v != 0 && v == u {
			return true
		}
	}
	return false
}

// floor is what a read must not go below: F and I(F) at its start.
type floor struct {
	top uint64
	in  inflightSet
}

// stale reports whether version u is one that F replaced (see the rule).
func (f *floor) stale(u uint64) bool {
	top := f.top
	if top == 0 {
		// The preload's write is the key's F until the run writes it: it
		// replaced "missing", with nothing in flight.
		return u < versionPreload
	}
	return u < top && !f.in.over && !f.in.has(u)
}

// counts are one worker's findings in one phase.
type counts struct {
	reads, stale, writes, unchecked int64
}

// verifier holds the per-key state of one strategy run.
type verifier struct {
	ks       workload.KeySpace
	clock    atomic.Uint64
	keys     []keyState
	counters []atomic.Uint64 // per counter key: highest INCR result acknowledged << 2 | its phase

	mu       sync.Mutex
	workers  []*verifyWorker
	examples []string
}

func newVerifier(wc workload.Config) *verifier {
	v := &verifier{ks: wc.KeySpace(), keys: make([]keyState, wc.Keys)}
	if wc.Mix.Uses(workload.OpIncr) {
		v.counters = make([]atomic.Uint64, wc.Keys)
	}
	v.clock.Store(versionPreload)
	return v
}

// worker returns the verifying side of a worker driving c; nil when v is.
func (v *verifier) worker(c strategy.Worker) *verifyWorker {
	if v == nil {
		return nil
	}
	vw, _ := c.(strategy.ValueWorker)
	w := &verifyWorker{v: v, values: vw}
	v.mu.Lock()
	v.workers = append(v.workers, w)
	v.mu.Unlock()
	return w
}

// begin registers a write of keys [first, end) as in flight and returns
// its version; snaps receives each key's in-flight set before it. The keys
// are locked together, in ascending order, so that the version is drawn
// while no other write of them can start: every write with a smaller
// version is then in flight or done.
func (v *verifier) begin(first, end uint64, snaps []inflightSet) uint64 {
	for i := first; i < end; i++ {
		v.keys[i].mu.Lock()
	}
	ver := v.clock.Add(1)
	for i := first; i < end; i++ {
		k := &v.keys[i]
		s := &snaps[i-first]
		s.v, s.over = k.inflight, k.over > 0
		if !k.add(ver) {
			k.over++
		}
		k.mu.Unlock()
	}
	return ver
}

// add puts ver into a free in-flight slot; false when none is free.
func (k *keyState) add(ver uint64) bool {
	for j, x := range k.inflight {
		if x == 0 {
			k.inflight[j] = ver
			return true
		}
	}
	return false
}

// ack records that the write ver of keys [first, end) was acknowledged.
func (v *verifier) ack(first, end, ver uint64, snaps []inflightSet, phase uint8) {
	for i := first; i < end; i++ {
		k := &v.keys[i]
		k.mu.Lock()
		found := false
		for j, x := range k.inflight {
			if x == ver {
				k.inflight[j], found = 0, true
				break
			}
		}
		if !found {
			k.over--
		}
		if ver > k.top {
			k.top, k.topIn, k.topPhase = ver, snaps[i-first], phase
		}
		k.mu.Unlock()
	}
}

// floorOf returns key i's floor now.
func (v *verifier) floorOf(i uint64) floor {
	k := &v.keys[i]
	k.mu.Lock()
	f := floor{top: k.top, in: k.topIn}
	k.mu.Unlock()
	return f
}

// counterTop returns the highest INCR result acknowledged on counter i.
func (v *verifier) counterTop(i uint64) uint64 { return v.counters[i].Load() >> 2 }

// raiseCounter records an acknowledged INCR result n on counter i.
func (v *verifier) raiseCounter(i, n uint64, phase uint8) {
	c := &v.counters[i]
	for {
		old := c.Load()
		if old>>2 >= n || c.CompareAndSwap(old, n<<2|uint64(phase)) {
			return
		}
	}
}

// example keeps a description of a finding, up to maxExamples.
func (v *verifier) example(format string, args ...any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.examples) < maxExamples {
		v.examples = append(v.examples, fmt.Sprintf(format, args...))
	}
}

// verifyWorker is one worker's side of the verifier. Its counts are its
// own (no atomics); they are summed once the workers are done.
type verifyWorker struct {
	v      *verifier
	values strategy.ValueWorker // nil: the worker cannot return values
	value  []byte               // the versioned value being written
	got    []byte               // the value a read returned
	vals   resp.Values          // the values an MGET returned
	floors []floor              // an MGET's keys' floors before it
	snaps  []inflightSet
	counts [4]counts // by phase (phaseNames)
}

// do performs req through c, versioning a write and checking a read. op
// and idx are the workload's op and key index (the counter index for
// INCR, the drawn key of an MSET's group).
func (w *verifyWorker) do(ctx context.Context, c strategy.Worker, req *strategy.Request, op workload.Op, idx uint64, phase uint8) strategy.Result {
	cnt := &w.counts[phase]
	v := w.v
	switch op {
	case workload.OpSet, workload.OpMSet:
		first, end := idx, idx+1
		if op == workload.OpMSet {
			first, end = v.ks.Group(idx)
		}
		if n := int(end - first); cap(w.snaps) < n {
			w.snaps = make([]inflightSet, n)
		}
		snaps := w.snaps[:end-first]
		ver := v.begin(first, end, snaps)
		w.value = appendVersioned(w.value[:0], ver, req.Value)
		req.Value = w.value
		res := c.Do(ctx, req)
		if res.Err == nil {
			v.ack(first, end, ver, snaps, phase)
			cnt.writes += int64(end - first)
		}
		return res
	case workload.OpGet:
		if w.values == nil {
			cnt.unchecked++
			return c.Do(ctx, req)
		}
		f := v.floorOf(idx)
		res, got, ok := w.values.DoValue(ctx, req, w.got[:0])
		w.got = got
		if res.Err != nil {
			cnt.unchecked++
			return res
		}
		cnt.reads++
		if u := parseVersion(got, ok); f.stale(u) {
			cnt.stale++
			v.example("stale read in %s: %s returned %s after %s had been acknowledged",
				phaseNames[phase], v.ks.AppendKey(nil, idx), versionName(u), versionName(max(f.top, versionPreload)))
		}
		return res
	case workload.OpIncr:
		if w.values == nil || v.counters == nil {
			cnt.unchecked++
			return c.Do(ctx, req)
		}
		prev := v.counterTop(idx)
		res, got, ok := w.values.DoValue(ctx, req, w.got[:0])
		w.got = got
		n, valid := parseUint(got)
		if res.Err != nil || !ok || !valid {
			cnt.unchecked++
			return res
		}
		cnt.reads++
		cnt.writes++
		if n <= prev {
			cnt.stale++
			v.example("stale INCR in %s: %s returned %d after %d had been acknowledged",
				phaseNames[phase], v.ks.AppendCounterKey(nil, idx), n, prev)
		}
		v.raiseCounter(idx, n, phase)
		return res
	}
	if op == workload.OpMGet {
		return w.mget(ctx, c, req, idx, phase)
	}
	return c.Do(ctx, req)
}

// mget performs an MGET of idx's tag group and checks every value it
// returns against that key's floor, as a GET's.
func (w *verifyWorker) mget(ctx context.Context, c strategy.Worker, req *strategy.Request, idx uint64, phase uint8) strategy.Result {
	v, cnt := w.v, &w.counts[phase]
	first, end := v.ks.Group(idx)
	n := int(end - first)
	if w.values == nil || len(req.Keys) != n {
		cnt.unchecked++
		return c.Do(ctx, req)
	}
	w.floors = w.floors[:0]
	for i := first; i < end; i++ {
		w.floors = append(w.floors, v.floorOf(i))
	}
	res := w.values.DoValues(ctx, req, &w.vals)
	if res.Err != nil || w.vals.Len() != n {
		cnt.unchecked++
		return res
	}
	for j := range n {
		cnt.reads++
		if u := parseVersion(w.vals.At(j)); w.floors[j].stale(u) {
			cnt.stale++
			v.example("stale MGET read in %s: %s returned %s after %s had been acknowledged",
				phaseNames[phase], v.ks.AppendKey(nil, first+uint64(j)), versionName(u), versionName(max(w.floors[j].top, versionPreload)))
		}
	}
	return res
}

// appendVersioned appends "v<16 hex>:" and then as many bytes of pad as
// keep the value at len(pad) bytes (when pad is long enough).
func appendVersioned(dst []byte, ver uint64, pad []byte) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, 'v')
	for shift := 60; shift >= 0; shift -= 4 {
		dst = append(dst, hex[ver>>uint(shift)&0xf])
	}
	dst = append(dst, ':')
	if n := len(pad) - len(dst); n > 0 {
		dst = append(dst, pad[:n]...)
	}
	return dst
}

// versionedLen is the length of the "v<16 hex>:" head.
const versionedLen = 18

// parseVersion returns the version a value carries: versionMissing when
// ok is false (no such key), versionPreload when it has none.
func parseVersion(b []byte, ok bool) uint64 {
	if !ok {
		return versionMissing
	}
	if len(b) < versionedLen || b[0] != 'v' || b[versionedLen-1] != ':' {
		return versionPreload
	}
	var v uint64
	for _, c := range b[1 : versionedLen-1] {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | uint64(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | uint64(c-'a'+10)
		default:
			return versionPreload
		}
	}
	return v
}

// parseUint parses a non-negative decimal without allocating.
func parseUint(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

func versionName(u uint64) string {
	switch u {
	case versionMissing:
		return "no value (key missing)"
	case versionPreload:
		return "the preload's value"
	}
	return "version " + strconv.FormatUint(u, 10)
}

// checkBatch is how many GETs the final check pipelines at once.
const checkBatch = 512

// check reads every key back after the run and builds the result; nil when
// v is. The workers must be done.
func (v *verifier) check(ctx context.Context, cfg Config, seeds []string) *metrics.Verify {
	if v == nil {
		return nil
	}
	return v.result(func(fn readFunc) error { return v.readBack(ctx, cfg, seeds, fn) })
}

// readFunc receives one key read back after the run: the key (or counter)
// index and its value (ok false: no such key).
type readFunc func(i uint64, counter bool, val []byte, ok bool)

// result sums the workers' counts and judges every key that read passes
// to its function.
func (v *verifier) result(read func(readFunc) error) *metrics.Verify {
	out := &metrics.Verify{Phases: map[string]metrics.VerifyPhase{}}
	phase := func(name string) *metrics.VerifyPhase {
		p := out.Phases[name]
		return &p
	}
	set := func(name string, p *metrics.VerifyPhase) { out.Phases[name] = *p }
	for _, w := range v.workers {
		for i, c := range w.counts {
			if c == (counts{}) {
				continue
			}
			p := phase(phaseNames[i])
			p.ReadsChecked += c.reads
			p.StaleReads += c.stale
			p.WritesChecked += c.writes
			set(phaseNames[i], p)
			out.ReadsChecked += c.reads
			out.StaleReads += c.stale
			out.WritesChecked += c.writes
			out.UncheckedReads += c.unchecked
		}
	}
	lost := func(name string) {
		p := phase(name)
		p.LostWrites++
		set(name, p)
		out.LostWrites++
	}
	err := read(func(i uint64, counter bool, val []byte, ok bool) {
		out.KeysChecked++
		if counter {
			top := v.counters[i].Load()
			n, _ := parseUint(val) // missing: 0
			if n < top>>2 {
				lost(phaseNames[top&3])
				v.example("lost INCR: %s holds %d after %d had been acknowledged in %s",
					v.ks.AppendCounterKey(nil, i), n, top>>2, phaseNames[top&3])
			}
			return
		}
		k := &v.keys[i]
		f := floor{top: k.top, in: k.topIn}
		if u := parseVersion(val, ok); f.stale(u) {
			name := phasePreload
			if k.top != 0 {
				name = phaseNames[k.topPhase]
			}
			lost(name)
			v.example("lost write: after the run %s holds %s, but %s had been acknowledged in %s",
				v.ks.AppendKey(nil, i), versionName(u), versionName(max(k.top, versionPreload)), name)
		}
	})
	if err != nil {
		out.Error = err.Error()
	}
	out.Examples = v.examples
	return out
}

// readBack GETs every key, and every counter an INCR was acknowledged on,
// through a cluster client, calling fn with each value (ok false: no such
// key).
func (v *verifier) readBack(ctx context.Context, cfg Config, seeds []string, fn readFunc) error {
	opt := cfg.Conn.RueidisOption(seeds...)
	opt.DisableCache = true
	c, err := rueidis.NewClient(opt)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	defer c.Close()
	type item struct {
		i       uint64
		counter bool
		key     string
	}
	items := make([]item, 0, checkBatch)
	cmds := make(rueidis.Commands, 0, checkBatch)
	var key []byte
	flush := func() error {
		if len(cmds) == 0 {
			return nil
		}
		for j, r := range c.DoMulti(ctx, cmds...) {
			b, err := r.AsBytes()
			ok := err == nil
			if rueidis.IsRedisNil(err) {
				err = nil
			}
			if err != nil {
				return fmt.Errorf("verify: read back %s: %w", items[j].key, err)
			}
			fn(items[j].i, items[j].counter, b, ok)
		}
		items, cmds = items[:0], cmds[:0]
		return nil
	}
	add := func(i uint64, counter bool) error {
		if counter {
			key = v.ks.AppendCounterKey(key[:0], i)
		} else {
			key = v.ks.AppendKey(key[:0], i)
		}
		items = append(items, item{i, counter, string(key)})
		cmds = append(cmds, c.B().Get().Key(items[len(items)-1].key).Build())
		if len(cmds) == checkBatch {
			return flush()
		}
		return nil
	}
	for i := range uint64(len(v.keys)) {
		if err := add(i, false); err != nil {
			return err
		}
	}
	for i := range uint64(len(v.counters)) {
		if v.counters[i].Load() != 0 {
			if err := add(i, true); err != nil {
				return err
			}
		}
	}
	return flush()
}

// verifyNote is the status line of a verify result.
func verifyNote(r *metrics.Verify) string {
	verdict := "ok"
	if !r.Clean() {
		verdict = "FAILED"
	}
	s := fmt.Sprintf("verify %s: %d of %d reads stale, %d of %d acknowledged writes lost", verdict,
		r.StaleReads, r.ReadsChecked, r.LostWrites, r.WritesChecked)
	if r.Error != "" {
		s += " (final check incomplete: " + r.Error + ")"
	}
	return s
}
