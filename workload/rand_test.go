package workload

import (
	"math"
	"testing"
)

func TestRandStreams(t *testing.T) {
	a, b := NewRand(1, 0), NewRand(1, 0)
	c, d := NewRand(1, 1), NewRand(2, 0)
	same, diffStream, diffSeed := true, 0, 0
	for range 1000 {
		x := a.Uint64()
		same = same && x == b.Uint64()
		if x == c.Uint64() {
			diffStream++
		}
		if x == d.Uint64() {
			diffSeed++
		}
	}
	if !same {
		t.Error("two Rands with the same seed and stream diverged")
	}
	if diffStream > 0 || diffSeed > 0 {
		t.Errorf("other stream matched %d times, other seed %d times; want unrelated sequences", diffStream, diffSeed)
	}
}

func TestRandUint64n(t *testing.T) {
	r := NewRand(7, 0)
	for _, n := range []uint64{1, 2, 3, 10, 1 << 40, math.MaxUint64} {
		for range 1000 {
			if v := r.Uint64n(n); v >= n {
				t.Fatalf("Uint64n(%d) = %d", n, v)
			}
		}
	}
	// n = 3: each value about a third of the time.
	var c [3]int
	for range 300_000 {
		c[r.Uint64n(3)]++
	}
	for v, k := range c {
		if k < 99_000 || k > 101_000 {
			t.Errorf("Uint64n(3) gave %d %d times in 300000, want about 100000", v, k)
		}
	}
}

func TestRandFloat64AndNorm(t *testing.T) {
	r := NewRand(3, 0)
	const n = 200_000
	var sum, sumN, sumN2 float64
	for range n {
		f := r.Float64()
		if f < 0 || f >= 1 {
			t.Fatalf("Float64() = %v, want [0,1)", f)
		}
		sum += f
		z := r.NormFloat64()
		sumN += z
		sumN2 += z * z
	}
	if m := sum / n; math.Abs(m-0.5) > 0.005 {
		t.Errorf("Float64 mean %v, want 0.5±0.005", m)
	}
	mean := sumN / n
	sd := math.Sqrt(sumN2/n - mean*mean)
	if math.Abs(mean) > 0.01 || math.Abs(sd-1) > 0.01 {
		t.Errorf("NormFloat64 mean %v sd %v, want 0±0.01 and 1±0.01", mean, sd)
	}
}
