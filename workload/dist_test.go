package workload

import (
	"math"
	"testing"
)

func TestUniformChiSquare(t *testing.T) {
	const keys, draws = 1000, 1_000_000
	r := NewRand(11, 0)
	c := counts(NewUniform(keys), &r, keys, draws)
	expected := float64(draws) / keys
	chi2 := 0.0
	for _, k := range c {
		d := float64(k) - expected
		chi2 += d * d / expected
	}
	// 999 degrees of freedom: mean 999, sd ≈ 44.7. The bound is 5 sd, so a
	// broken generator (e.g. modulo bias, a stuck bit) fails while the fixed
	// seed keeps the test deterministic.
	if chi2 > 999+5*44.7 {
		t.Errorf("chi-square %.0f over 1000 buckets, want < 1222", chi2)
	}
	for i, k := range c {
		if k == 0 {
			t.Fatalf("key %d never drawn", i)
		}
	}
}

func TestSequentialExact(t *testing.T) {
	s := NewSequential(5, 3)
	want := []uint64{3, 4, 0, 1, 2, 3, 4, 0}
	for i, w := range want {
		if got := s.Next(nil); got != w {
			t.Fatalf("draw %d = %d, want %d (sequence %v)", i, got, w, want)
		}
	}
	if got := NewSequential(5, 12).Next(nil); got != 2 {
		t.Errorf("start 12 of 5 keys: first draw %d, want 12 mod 5 = 2", got)
	}
	one := NewSequential(1, 0)
	for range 3 {
		if v := one.Next(nil); v != 0 {
			t.Fatalf("1 key: got %d, want 0", v)
		}
	}
}

func TestHotspotFraction(t *testing.T) {
	tests := []struct {
		name       string
		keys       uint64
		hot        Hot
		wantHotSet uint64
	}{
		// The default: 20% of the keys get 80% of the ops.
		{"default", 100_000, Hot{Keys: 0.2, Ops: 0.8}, 20_000},
		// A tiny hot set: 1% of the keys get 99% of the ops.
		{"tiny", 10_000, Hot{Keys: 0.01, Ops: 0.99}, 100},
		// No preference for the hot set: 50% of the keys, 50% of the ops.
		{"even", 1000, Hot{Keys: 0.5, Ops: 0.5}, 500},
		// The hot set rounds up to one key.
		{"one hot key", 10, Hot{Keys: 0.01, Ops: 0.3}, 1},
		// It leaves at least one cold key.
		{"one cold key", 10, Hot{Keys: 0.99, Ops: 0.3}, 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHotspot(tt.keys, tt.hot)
			if h.HotKeys() != tt.wantHotSet {
				t.Fatalf("HotKeys() = %d, want %d", h.HotKeys(), tt.wantHotSet)
			}
			r := NewRand(5, 0)
			const draws = 200_000
			hot := 0
			for range draws {
				v := h.Next(&r)
				if v >= tt.keys {
					t.Fatalf("draw %d out of range", v)
				}
				if v < h.HotKeys() {
					hot++
				}
			}
			if got := float64(hot) / draws; math.Abs(got-tt.hot.Ops) > 0.02 {
				t.Errorf("%.4f of the ops on the hot set, want %.2f±0.02", got, tt.hot.Ops)
			}
		})
	}
	// One key in all: every draw is it.
	r := NewRand(1, 0)
	if v := NewHotspot(1, Hot{Keys: 0.5, Ops: 0.5}).Next(&r); v != 0 {
		t.Errorf("1 key: got %d", v)
	}
}

func TestGaussianMoments(t *testing.T) {
	const keys, draws = 100_000, 200_000
	g := NewGaussian(keys, keys/2, keys/6)
	r := NewRand(9, 0)
	var sum, sum2 float64
	for range draws {
		v := g.Next(&r)
		if v >= keys {
			t.Fatalf("draw %d out of range", v)
		}
		x := float64(v)
		sum += x
		sum2 += x * x
	}
	mean := sum / draws
	sd := math.Sqrt(sum2/draws - mean*mean)
	if math.Abs(mean-keys/2) > 0.005*keys {
		t.Errorf("mean %.0f, want %d±%d", mean, keys/2, keys/200)
	}
	// Clamping at ±3 sd trims the sd by about 1.5%; allow 3%.
	if want := float64(keys) / 6; math.Abs(sd-want) > 0.03*want {
		t.Errorf("stddev %.0f, want %.0f±3%%", sd, want)
	}
}

func TestGaussianClamps(t *testing.T) {
	// A stddev far wider than the keyspace piles the tails on both ends.
	g := NewGaussian(10, 5, 1000)
	r := NewRand(2, 0)
	c := counts(g, &r, 10, 10_000)
	if c[0] < 4000 || c[9] < 4000 {
		t.Errorf("ends drawn %d and %d times of 10000, want most draws clamped to them", c[0], c[9])
	}
}

func TestParseDist(t *testing.T) {
	tests := []struct {
		in   string
		want Dist
	}{
		{"uniform", DistUniform},
		{"zipf", DistZipf},
		{"zipfian", DistZipf}, // YCSB's name
		{"hotspot", DistHotspot},
		{"sequential", DistSequential},
		{"latest", DistLatest},
		{"gaussian", DistGaussian},
		{"normal", DistGaussian}, // alias
		{" ZIPF ", DistZipf},     // case and spaces do not matter
	}
	for _, tt := range tests {
		got, err := ParseDist(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseDist(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for d := range numDists {
		if got, err := ParseDist(d.String()); err != nil || got != d {
			t.Errorf("ParseDist(%v.String()) = %v, %v", d, got, err)
		}
	}
	for _, bad := range []string{"", "zipf2", "random"} {
		_, err := ParseDist(bad)
		wantFieldError(t, err, "dist", "unknown", "uniform, zipf, hotspot, sequential, latest, gaussian")
	}
}

func TestParseHot(t *testing.T) {
	h, err := ParseHot(" 0.2 : 0.8 ")
	if err != nil || h != (Hot{Keys: 0.2, Ops: 0.8}) {
		t.Fatalf("ParseHot = %v, %v", h, err)
	}
	if back, err := ParseHot(h.String()); err != nil || back != h {
		t.Errorf("round trip of %v: %v, %v", h, back, err)
	}
	tests := []struct {
		in   string
		want string // fragment of the message
	}{
		{"0.2", "use KEYS:OPS"},                       // no colon
		{"a:0.8", "must be numbers"},                  // keys not a number
		{"0.2:", "must be numbers"},                   // ops missing
		{"0:0.8", "keys fraction must be in (0,1)"},   // no hot keys
		{"1:0.8", "keys fraction must be in (0,1)"},   // no cold keys
		{"NaN:0.8", "keys fraction must be in (0,1)"}, // NaN
		{"0.2:1.5", "ops fraction must be in [0,1]"},  // more than all ops
		{"0.2:-0.1", "ops fraction must be in [0,1]"}, // negative
		{"20:80", "keys fraction must be in (0,1)"},   // percentages instead of fractions
		{"0.2:0.8:0.1", "must be numbers"},            // three parts
	}
	for _, tt := range tests {
		_, err := ParseHot(tt.in)
		wantFieldError(t, err, "hot", tt.want)
	}
}
