package workload

import (
	"math"
	"math/bits"
)

// Rand is the generators' PRNG: xoshiro256** (Blackman & Vigna), seeded
// through splitmix64. It is a plain value with no lock and no allocation;
// each Generator owns its own. Not safe for concurrent use.
type Rand struct{ s0, s1, s2, s3 uint64 }

// NewRand returns a Rand for (seed, stream). Different streams of one seed
// are unrelated sequences, which is how workers get independent streams.
func NewRand(seed, stream uint64) Rand {
	x := mix64(seed) ^ mix64(stream^0x6a09e667f3bcc909)
	r := Rand{splitmix64(&x), splitmix64(&x), splitmix64(&x), splitmix64(&x)}
	if r.s0|r.s1|r.s2|r.s3 == 0 { // the one state xoshiro cannot leave
		r.s0 = 1
	}
	return r
}

const golden64 = 0x9e3779b97f4a7c15 // 2^64 / φ, the splitmix64 and Weyl increment

func splitmix64(x *uint64) uint64 {
	*x += golden64
	return mix64(*x)
}

// mix64 is splitmix64's finaliser, a bijective 64-bit mixer.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Uint64 returns 64 uniformly random bits.
func (r *Rand) Uint64() uint64 {
	out := bits.RotateLeft64(r.s1*5, 7) * 9
	t := r.s1 << 17
	r.s2 ^= r.s0
	r.s3 ^= r.s1
	r.s1 ^= r.s2
	r.s0 ^= r.s3
	r.s2 ^= t
	r.s3 = bits.RotateLeft64(r.s3, 45)
	return out
}

// Uint64n returns a uniform value in [0, n) without modulo bias (Lemire's
// multiply-shift with rejection). It panics if n is 0.
func (r *Rand) Uint64n(n uint64) uint64 {
	if n == 0 {
		panic("workload: Uint64n(0)")
	}
	hi, lo := bits.Mul64(r.Uint64(), n)
	if lo < n {
		thresh := -n % n
		for lo < thresh {
			hi, lo = bits.Mul64(r.Uint64(), n)
		}
	}
	return hi
}

// Float64 returns a uniform value in [0, 1) with 53 random bits.
func (r *Rand) Float64() float64 {
	return float64(r.Uint64()>>11) * 0x1p-53
}

// NormFloat64 returns a standard normal value (Marsaglia's polar method; the
// second value of each pair is dropped to keep Rand stateless beyond its seed).
func (r *Rand) NormFloat64() float64 {
	for {
		u := 2*r.Float64() - 1
		v := 2*r.Float64() - 1
		s := u*u + v*v
		if s > 0 && s < 1 {
			return u * math.Sqrt(-2*math.Log(s)/s)
		}
	}
}
