package workload

import (
	"math"
	"math/bits"
)

// Zipfian draws ranks in [0, n) with P(rank k) ∝ 1/(k+1)^θ, using the
// generator of Gray et al., "Quickly Generating Billion-Record Synthetic
// Databases" (SIGMOD 1994), as YCSB does:
//
//	ζ(n,θ) = Σ_{i=1..n} 1/i^θ            (computed once, at construction)
//	α = 1/(1-θ)
//	η = (1 - (2/n)^(1-θ)) / (1 - ζ(2,θ)/ζ(n,θ))
//	u uniform in [0,1), uz = u·ζ(n,θ)
//	rank = 0                             if uz < 1
//	       1                             if uz < 1 + 0.5^θ
//	       ⌊n·(η·u - η + 1)^α⌋           otherwise
//
// so P(rank 0) = 1/ζ(n,θ) and P(rank 1) = 0.5^θ/ζ(n,θ) exactly, and the
// tail follows the continuous approximation. The method needs 0 < θ < 1
// (α is infinite at θ = 1 and negative beyond), which Validate enforces;
// for heavier skew use hotspot.
//
// Rank 0 is the most popular; use ScrambledZipfian to spread the popular
// ranks over the keyspace. A Zipfian is immutable after construction and may
// be shared by goroutines that each pass their own Rand.
type Zipfian struct {
	n                        uint64
	theta, alpha, zetan, eta float64
	second                   float64 // 1 + 0.5^θ: uz below it is rank 1
}

var _ Distribution = (*Zipfian)(nil)

// NewZipfian returns a zipfian distribution of ranks over [0, n).
//
// Cost: ζ(n,θ) is an exact sum of n powers, computed once: 30-40 ns per key
// on the 2-core test VM, so 4 ms for the default 10^5 keys, 0.4 s for 10^7
// and about 4 s at MaxZipfKeys (10^8). Build one Workload per run and take
// every worker's Generator from it.
// It panics if n is 0 or θ is not in (0,1).
func NewZipfian(n uint64, theta float64) *Zipfian {
	mustKeys(n)
	if !(theta > 0 && theta < 1) {
		panic("workload: NewZipfian: theta must be in (0,1)")
	}
	// Gray et al.'s incremental form: ζ(n) continues from ζ(2), which the
	// formula needs on its own anyway.
	zeta2 := zeta(0, min(n, 2), theta, 0)
	z := &Zipfian{
		n:      n,
		theta:  theta,
		alpha:  1 / (1 - theta),
		zetan:  zeta(min(n, 2), n, theta, zeta2),
		second: 1 + math.Pow(0.5, theta),
	}
	if n > 2 { // for n <= 2 the first two cases cover every u
		z.eta = (1 - math.Pow(2/float64(n), 1-theta)) / (1 - zeta2/z.zetan)
	}
	return z
}

// zeta returns initial + Σ_{i=from+1..to} 1/i^θ, with Kahan summation so
// that 10^9 terms keep full precision.
func zeta(from, to uint64, theta, initial float64) float64 {
	sum, c := initial, 0.0
	for i := from + 1; i <= to; i++ {
		// i^-θ as exp(-θ·ln i): equal to math.Pow within a few ulps and
		// about twice as fast for a negative exponent.
		y := math.Exp(-theta*math.Log(float64(i))) - c
		t := sum + y
		c = (t - sum) - y
		sum = t
	}
	return sum
}

// Zeta returns ζ(n,θ); the most popular rank has probability 1/Zeta().
func (z *Zipfian) Zeta() float64 { return z.zetan }

func (z *Zipfian) Next(r *Rand) uint64 {
	u := r.Float64()
	uz := u * z.zetan
	if uz < 1 {
		return 0
	}
	if uz < z.second {
		return 1
	}
	k := uint64(float64(z.n) * math.Pow(z.eta*u-z.eta+1, z.alpha))
	return min(k, z.n-1)
}

// ScrambledZipfian is a Zipfian whose ranks are mapped to keys by a fixed
// pseudo-random permutation, so the hot keys are scattered over the keyspace
// (and, with tag groups, over many groups and slots) instead of being keys
// 0, 1, 2, ...
//
//	key = π(rank)
//
// YCSB computes FNV-64(rank) mod n, which is not one-to-one: about 1/e of
// the keys are never drawn and others get two ranks' mass. π is a true
// permutation of [0,n) that still hashes with FNV-64: a 4-round Feistel
// network on k-bit integers (2^k the smallest power of two ≥ n, so < 2n)
// whose round function is FNV-1a-64, and "cycle walking" (apply again while
// the result is ≥ n; fewer than 2 applications on average). So every key has
// exactly one rank's probability, and the hot keys do not depend on the seed.
type ScrambledZipfian struct {
	z *Zipfian
	p permutation
}

var _ Distribution = (*ScrambledZipfian)(nil)

// NewScrambledZipfian returns a scrambled zipfian over [0, n); see NewZipfian
// for the cost and the panics.
func NewScrambledZipfian(n uint64, theta float64) *ScrambledZipfian {
	return &ScrambledZipfian{z: NewZipfian(n, theta), p: newPermutation(n)}
}

func (s *ScrambledZipfian) Next(r *Rand) uint64 { return s.p.apply(s.z.Next(r)) }

// KeyOfRank returns the key with the given popularity rank (0 = hottest), for
// reports and hot-slot scenarios.
func (s *ScrambledZipfian) KeyOfRank(rank uint64) uint64 { return s.p.apply(rank) }

// Zipfian returns the underlying rank distribution.
func (s *ScrambledZipfian) Zipfian() *Zipfian { return s.z }

// permutation is the bijection of [0, n) described at ScrambledZipfian.
type permutation struct {
	n      uint64
	hi, lo uint // bit widths of the two Feistel halves, hi+lo = k
}

func newPermutation(n uint64) permutation {
	k := uint(0)
	if n > 1 {
		k = uint(bits.Len64(n - 1))
	}
	return permutation{n: n, hi: k / 2, lo: k - k/2}
}

// Per-round FNV-1a offset bases: the standard basis xor'ed with round constants.
var feistelKeys = [4]uint64{
	fnvOffset64 ^ 0x243f6a8885a308d3,
	fnvOffset64 ^ 0x13198a2e03707344,
	fnvOffset64 ^ 0xa4093822299f31d0,
	fnvOffset64 ^ 0x082efa98ec4e6c89,
}

const (
	fnvOffset64 = 0xcbf29ce484222325
	fnvPrime64  = 0x100000001b3
)

func (p *permutation) apply(x uint64) uint64 {
	if p.n <= 1 {
		return 0
	}
	for {
		x = p.feistel(x)
		if x < p.n {
			return x
		}
	}
}

// feistel is one bijection of [0, 2^k): each round maps (L, R) to
// (R, L xor F(R)), with F the top bits of FNV-1a-64 over R's 8 bytes; the
// halves swap widths each round, so unequal halves (odd k) work too.
func (p *permutation) feistel(x uint64) uint64 {
	hiW, loW := p.hi, p.lo
	for _, key := range feistelKeys {
		l, r := x>>loW, x&(1<<loW-1)
		h := key
		for v, i := r, 0; i < 8; i, v = i+1, v>>8 {
			h = (h ^ (v & 0xff)) * fnvPrime64
		}
		f := h >> (64 - hiW) // top hiW bits; 0 when hiW is 0
		x = r<<hiW | (l ^ f)
		hiW, loW = loW, hiW
	}
	return x
}

// Latest is YCSB's "latest": zipfian over the distance back from a head, the
// most recently written key, so recent writes are hot.
//
//	read key  = (head - d) mod n, d zipfian over [0, n)
//	write key = head = (head + 1) mod n   (Insert)
//
// In a fixed keyspace an insert is a write of the key after the head. The
// head starts at n-1 (the preloader writes 0..n-1 in order, so n-1 is the
// latest), and moves only when the Generator asks for the key of a write op
// (set, mset, incr): with a read-only mix the hot spot stays put. Each
// worker's Generator has its own head, so the streams stay deterministic per
// worker; all heads start together and advance at each worker's write rate.
type Latest struct {
	z       *Zipfian
	n, head uint64
}

var _ Distribution = (*Latest)(nil)

// NewLatest returns a latest distribution over [0, n) with its head at n-1,
// sharing the (immutable) zipfian z of ranks over [0, n).
func NewLatest(z *Zipfian) *Latest { return &Latest{z: z, n: z.n, head: z.n - 1} }

func (l *Latest) Next(r *Rand) uint64 {
	d := l.z.Next(r)
	if d <= l.head {
		return l.head - d
	}
	return l.head + l.n - d
}

// Insert advances the head and returns it: the key a write op writes.
func (l *Latest) Insert() uint64 {
	l.head++
	if l.head == l.n {
		l.head = 0
	}
	return l.head
}

// Head returns the most recently written key.
func (l *Latest) Head() uint64 { return l.head }
