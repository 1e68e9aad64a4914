package workload

import (
	"errors"
	"math"
	"math/bits"
)

// Workload is a validated Config with everything precomputed once (zeta,
// mix table, value buffer); it hands out one Generator per worker. A
// Workload is immutable and safe for concurrent use.
type Workload struct {
	cfg    Config
	keys   KeySpace
	mix    mixTable
	values []byte
	shared Distribution // the stateless distributions, shared by generators
	zipf   *Zipfian     // latest's distances
}

// Random streams of a seed: worker w draws ops and keys from stream 2w and
// value sizes and offsets from 2w+1; the value bytes come from their own.
const valueBufferStream = math.MaxUint64

// New validates c and precomputes what its generators share. The error
// joins every problem Validate found.
func New(c Config) (*Workload, error) {
	if errs := c.Validate(); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	w := &Workload{
		cfg:    c,
		keys:   c.KeySpace(),
		mix:    newMixTable(c.Mix),
		values: newValueBuffer(c.Seed, c.ValueSize.Max),
	}
	n := uint64(c.Keys)
	switch c.Dist {
	case DistUniform:
		w.shared = NewUniform(n)
	case DistZipf:
		w.shared = NewScrambledZipfian(n, c.ZipfTheta)
	case DistHotspot:
		w.shared = NewHotspot(n, c.Hot)
	case DistGaussian:
		w.shared = NewGaussian(n, float64(n)/2, float64(n)/6)
	case DistLatest:
		w.zipf = NewZipfian(n, c.ZipfTheta)
	}
	return w, nil
}

// Config returns the configuration w was built from.
func (w *Workload) Config() Config { return w.cfg }

// KeySpace returns the key format, e.g. for the preloader to write every key
// 0..Keys-1 with AppendKey.
func (w *Workload) KeySpace() KeySpace { return w.keys }

// Distribution returns the shared key distribution, or nil for sequential
// and latest, whose state is per Generator. Use it for reports (e.g.
// ScrambledZipfian.KeyOfRank, Hotspot.HotKeys), not to draw keys.
func (w *Workload) Distribution() Distribution { return w.shared }

// Generator returns worker's generator. Its op/key stream depends only on
// (Config, worker), so two generators for the same worker produce the same
// stream.
//
// Sequential starts each worker at a different point, worker·φ of the way
// through the keyspace (a Weyl sequence: well spread for any worker count);
// latest starts every worker's head at Keys-1.
func (w *Workload) Generator(worker int) *Generator {
	stream := uint64(worker) << 1
	g := &Generator{
		rnd:    NewRand(w.cfg.Seed, stream),
		vrnd:   NewRand(w.cfg.Seed, stream|1),
		dist:   w.shared,
		mix:    &w.mix,
		keys:   w.keys,
		values: w.values,
		vmin:   uint64(w.cfg.ValueSize.Min),
		vspan:  uint64(w.cfg.ValueSize.Max - w.cfg.ValueSize.Min + 1),
	}
	switch w.cfg.Dist {
	case DistSequential:
		start, _ := bits.Mul64(uint64(worker)*golden64, w.keys.Keys)
		g.dist = NewSequential(w.keys.Keys, start)
	case DistLatest:
		l := NewLatest(w.zipf)
		g.dist, g.latest = l, l
	}
	return g
}

// Generator produces one worker's ops, keys and values. Not safe for
// concurrent use; nothing it returns allocates per op.
type Generator struct {
	rnd    Rand // ops and keys
	vrnd   Rand // values: calling Value or not never shifts the op/key stream
	dist   Distribution
	latest *Latest // non-nil for latest: writes go to its Insert
	mix    *mixTable
	keys   KeySpace
	values []byte
	vmin   uint64
	vspan  uint64 // Max-Min+1
	last   uint64
	keep   func(op Op, index uint64) bool // Restrict's filter; nil: every draw
}

// maxRejects bounds how many keys in a row a restricted generator skips, so
// a filter that (almost) nothing passes cannot stall a worker.
const maxRejects = 1 << 16

// Restrict makes Next skip every draw that keep rejects, given the op and
// the index of its key (whose key is KeySpace.AppendCounterKey for incr,
// AppendKey otherwise), so the stream is the unrestricted one with those
// ops left out: still deterministic for a seed. After maxRejects
// rejections in a row the next draw is taken anyway. keep is called on the
// hot path: it must not allocate.
func (g *Generator) Restrict(keep func(op Op, index uint64) bool) { g.keep = keep }

// NextIndex draws the next op and the index of its key.
func (g *Generator) NextIndex() (Op, uint64) {
	op := g.mix.pick(&g.rnd)
	if g.latest != nil && op.Writes() {
		g.last = g.latest.Insert()
	} else {
		g.last = g.dist.Next(&g.rnd)
	}
	return op, g.last
}

// Next draws the next op, appends its key to dst (a counter key for incr)
// and returns the extended slice. For mget/mset the key is one of the
// group's; AppendGroup gives all of them.
func (g *Generator) Next(dst []byte) (Op, []byte) {
	op, n := g.NextIndex()
	for rejects := 0; g.keep != nil && rejects < maxRejects && !g.keep(op, n); rejects++ {
		op, n = g.NextIndex()
	}
	if op == OpIncr {
		return op, g.keys.AppendCounterKey(dst, n)
	}
	return op, g.keys.AppendKey(dst, n)
}

// Index returns the key index of the last op.
func (g *Generator) Index() uint64 { return g.last }

// AppendGroup appends the keys of the last op's tag group to b (call b.Reset
// first to reuse it): the keys of an mget or mset.
func (g *Generator) AppendGroup(b *KeyBatch) { g.keys.AppendGroup(b, g.last) }

// KeySpace returns the key format.
func (g *Generator) KeySpace() KeySpace { return g.keys }

// Value returns a value for a write: ValueSize.Min..Max bytes (uniform), cut
// from a buffer shared by every generator. Read-only; its capacity is its
// length, so appending to it copies.
func (g *Generator) Value() []byte {
	size := g.vmin
	if g.vspan > 1 {
		size += g.vrnd.Uint64n(g.vspan)
	}
	off := g.vrnd.Uint64n(valueSlack + 1)
	return g.values[off : off+size : off+size]
}
