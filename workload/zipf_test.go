package workload

import (
	"math"
	"testing"
)

func TestZetaIncremental(t *testing.T) {
	for _, theta := range []float64{0.5, 0.99} {
		direct := 0.0
		for i := 1; i <= 10_000; i++ {
			direct += math.Pow(float64(i), -theta)
		}
		got := zeta(0, 10_000, theta, 0)
		if math.Abs(got-direct) > 1e-9*direct {
			t.Errorf("θ=%v: zeta = %v, direct sum %v", theta, got, direct)
		}
		// Continuing from ζ(2) gives the same sum (Gray et al.'s incremental form).
		if inc := zeta(2, 10_000, theta, zeta(0, 2, theta, 0)); math.Abs(inc-got) > 1e-12*got {
			t.Errorf("θ=%v: incremental %v, direct %v", theta, inc, got)
		}
	}
	// ζ(n, 0.5) ≈ 2√n + ζ(0.5) for large n (ζ(0.5) = -1.4603545).
	if got, want := zeta(0, 1_000_000, 0.5, 0), 2*math.Sqrt(1e6)-1.4603545+0.5/math.Sqrt(1e6); math.Abs(got-want) > 1e-6 {
		t.Errorf("ζ(10^6, 0.5) = %.9f, want %.9f", got, want)
	}
}

func TestZipfianTopRanks(t *testing.T) {
	tests := []struct {
		keys  uint64
		theta float64
	}{
		{100_000, 0.99}, // the default
		{100_000, 0.5},  // mild skew
		{1000, 0.8},
	}
	for _, tt := range tests {
		z := NewZipfian(tt.keys, tt.theta)
		r := NewRand(21, 0)
		const draws = 1_000_000
		c := counts(z, &r, tt.keys, draws)
		for rank, p := range []float64{1 / z.Zeta(), math.Pow(0.5, tt.theta) / z.Zeta()} {
			got := float64(c[rank]) / draws
			// 4 standard errors of a binomial proportion.
			tol := 4 * math.Sqrt(p*(1-p)/draws)
			if math.Abs(got-p) > tol {
				t.Errorf("n=%d θ=%v: rank %d frequency %.5f, want %.5f±%.5f", tt.keys, tt.theta, rank, got, p, tol)
			}
		}
		// Popularity falls with rank: the first 10 ranks get more than the next 10.
		top, next := 0, 0
		for i := range 10 {
			top += c[i]
			next += c[10+i]
		}
		if top <= next {
			t.Errorf("n=%d θ=%v: ranks 0-9 drawn %d times, 10-19 %d times", tt.keys, tt.theta, top, next)
		}
	}
}

func TestZipfianTinyKeyspaces(t *testing.T) {
	r := NewRand(1, 0)
	for _, n := range []uint64{1, 2, 3} {
		z := NewZipfian(n, 0.99)
		c := counts(z, &r, n, 30_000)
		for k, v := range c {
			if v == 0 {
				t.Errorf("n=%d: rank %d never drawn", n, k)
			}
		}
	}
}

func TestPermutationIsBijection(t *testing.T) {
	for _, n := range []uint64{1, 2, 3, 4, 5, 7, 16, 17, 100, 1000, 1023, 1024, 1025, 65_537, 100_000} {
		p := newPermutation(n)
		seen := make([]bool, n)
		for x := range n {
			y := p.apply(x)
			if y >= n || seen[y] {
				t.Fatalf("n=%d: π(%d) = %d is out of range or taken twice", n, x, y)
			}
			seen[y] = true
		}
	}
}

func TestScrambledZipfianSpreadsHotKeys(t *testing.T) {
	const keys, group = 100_000, 10
	s := NewScrambledZipfian(keys, 0.99)
	ks := KeySpace{Keys: keys, Prefix: "cb", TagGroup: group}

	// The hottest key gets rank 0's probability: the permutation does not
	// merge ranks the way YCSB's hash-mod-n does.
	r := NewRand(4, 0)
	const draws = 500_000
	c := counts(s, &r, keys, draws)
	p := 1 / s.Zipfian().Zeta()
	if got := float64(c[s.KeyOfRank(0)]) / draws; math.Abs(got-p) > 4*math.Sqrt(p*(1-p)/draws) {
		t.Errorf("hottest key frequency %.5f, want %.5f", got, p)
	}

	// The 100 hottest keys: unscrambled they would be keys 0..99, 10 tag
	// groups, 10 slots. Scrambled they spread over the keyspace and slots.
	slots := map[uint16]bool{}
	groups := map[uint64]bool{}
	var deciles [10]int
	var buf []byte
	for rank := range uint64(100) {
		k := s.KeyOfRank(rank)
		groups[k/group] = true
		deciles[k*10/keys]++
		slots[slotOf(ks.AppendKey(buf[:0], k))] = true
	}
	if len(groups) < 95 || len(slots) < 95 {
		t.Errorf("top 100 keys in %d groups and %d slots, want ≥ 95 of each", len(groups), len(slots))
	}
	for d, n := range deciles {
		if n < 3 || n > 20 {
			t.Errorf("top 100 keys: %d in decile %d of the keyspace, want 3..20 in each (%v)", n, d, deciles)
		}
	}
}

func TestLatestSkewedToHead(t *testing.T) {
	const keys = 10_000
	z := NewZipfian(keys, 0.99)
	l := NewLatest(z)
	if l.Head() != keys-1 {
		t.Fatalf("head starts at %d, want %d", l.Head(), keys-1)
	}
	r := NewRand(8, 0)
	const draws = 200_000
	c := counts(l, &r, keys, draws)
	if p, got := 1/z.Zeta(), float64(c[keys-1])/draws; math.Abs(got-p) > 4*math.Sqrt(p*(1-p)/draws) {
		t.Errorf("head drawn with frequency %.4f, want %.4f", got, p)
	}
	recent := 0
	for k := keys - 100; k < keys; k++ {
		recent += c[k]
	}
	if frac := float64(recent) / draws; frac < 0.45 {
		t.Errorf("100 most recent keys got %.2f of the draws, want > 0.45", frac)
	}

	// An insert moves the head past the end to key 0; key 0 is then the hottest.
	if got := l.Insert(); got != 0 || l.Head() != 0 {
		t.Fatalf("Insert() = %d, head %d; want 0, 0 (wrap)", got, l.Head())
	}
	c = counts(l, &r, keys, draws)
	if c[0] < c[1] || c[0] < c[keys-1] || c[keys-1] < c[keys-2] {
		t.Errorf("after insert: key 0 %d, key %d %d, key %d %d; want key 0 hottest, then the keys before it",
			c[0], keys-1, c[keys-1], keys-2, c[keys-2])
	}
	if c[1] > c[keys-1000] {
		t.Errorf("key 1 (never written since) drawn %d times, more than key %d (%d)", c[1], keys-1000, c[keys-1000])
	}
}

func TestPermutationMixes(t *testing.T) {
	// A weak round function (e.g. FNV over fewer bytes, whose last byte
	// barely reaches the top bits) leaves consecutive ranks next to each
	// other. Check the hottest ranks scatter like random keys would.
	for _, n := range []uint64{100_000, 1 << 20, 10_000_000} {
		p := newPermutation(n)
		const top = 10_000
		var buckets [100]int
		close := 0
		for r := range uint64(top) {
			a, b := p.apply(r), p.apply(r+1)
			buckets[a*100/n]++
			if max(a, b)-min(a, b) < n/100 {
				close++ // random pairs: 2% are this close
			}
		}
		chi2 := 0.0
		for _, c := range buckets {
			d := float64(c) - top/100
			chi2 += d * d / (top / 100)
		}
		// 99 degrees of freedom: mean 99, sd 14; random keys stay < 200.
		if chi2 > 200 || close > top/20 {
			t.Errorf("n=%d: top %d ranks give chi-square %.0f over 100 buckets and %d close neighbours (random: ~99 and ~%d)",
				n, top, chi2, close, top/50)
		}
	}
}
