package workload

import "testing"

var sinkU64 uint64

func BenchmarkDistNext(b *testing.B) {
	const keys = DefaultKeys
	dists := []struct {
		name string
		d    Distribution
	}{
		{"uniform", NewUniform(keys)},
		{"zipfian", NewZipfian(keys, DefaultZipfTheta)},
		{"zipf", NewScrambledZipfian(keys, DefaultZipfTheta)},
		{"hotspot", NewHotspot(keys, Hot{Keys: DefaultHotKeys, Ops: DefaultHotOps})},
		{"sequential", NewSequential(keys, 0)},
		{"latest", NewLatest(NewZipfian(keys, DefaultZipfTheta))},
		{"gaussian", NewGaussian(keys, keys/2, keys/6)},
	}
	for _, d := range dists {
		b.Run("dist="+d.name, func(b *testing.B) {
			r := NewRand(1, 0)
			b.ReportAllocs()
			for b.Loop() {
				sinkU64 = d.d.Next(&r)
			}
		})
	}
}

func BenchmarkPermutation(b *testing.B) {
	for _, n := range []uint64{100_000, 1 << 20, MaxKeys} {
		p := newPermutation(n)
		b.Run("keys="+itoa(n), func(b *testing.B) {
			x := uint64(0)
			for b.Loop() {
				sinkU64 = p.apply(x)
				x++
				if x == n {
					x = 0
				}
			}
		})
	}
}

func BenchmarkNewZipfian(b *testing.B) {
	for _, n := range []uint64{100_000, 10_000_000} {
		b.Run("keys="+itoa(n), func(b *testing.B) {
			for b.Loop() {
				NewZipfian(n, DefaultZipfTheta)
			}
		})
	}
}

func itoa(n uint64) string { return string(KeySpace{}.AppendKey(nil, n)[1:]) }
