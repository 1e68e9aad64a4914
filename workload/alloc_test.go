package workload

import (
	"fmt"
	"testing"
)

// shouldNotAllocate fails when f allocates on average.
func shouldNotAllocate(t *testing.T, name string, f func()) {
	t.Helper()
	if n := testing.AllocsPerRun(1000, f); n != 0 {
		t.Errorf("%s: %v allocations per run, want 0", name, n)
	}
}

func TestNoAllocations(t *testing.T) {
	const keys = 100_000
	r := NewRand(1, 0)
	dists := map[string]Distribution{
		"uniform":    NewUniform(keys),
		"zipfian":    NewZipfian(keys, 0.99),
		"zipf":       NewScrambledZipfian(keys, 0.99),
		"hotspot":    NewHotspot(keys, Hot{Keys: 0.2, Ops: 0.8}),
		"sequential": NewSequential(keys, 0),
		"latest":     NewLatest(NewZipfian(keys, 0.99)),
		"gaussian":   NewGaussian(keys, keys/2, keys/6),
	}
	for name, d := range dists {
		shouldNotAllocate(t, "Next of "+name, func() { d.Next(&r) })
	}

	buf := make([]byte, 0, 64)
	for _, tags := range []uint64{0, 8} {
		ks := KeySpace{Keys: keys, Prefix: "cb", TagGroup: tags}
		shouldNotAllocate(t, fmt.Sprintf("AppendKey tag=%d", tags), func() { buf = ks.AppendKey(buf[:0], 12345) })
		shouldNotAllocate(t, fmt.Sprintf("AppendCounterKey tag=%d", tags), func() { buf = ks.AppendCounterKey(buf[:0], 12345) })
		var b KeyBatch
		shouldNotAllocate(t, fmt.Sprintf("AppendGroup tag=%d", tags), func() {
			b.Reset()
			ks.AppendGroup(&b, r.Uint64n(keys))
		})
	}

	for _, c := range allDistConfigs() {
		c.ValueSize = ValueSize{32, 512}
		w, err := New(c)
		if err != nil {
			t.Fatal(err)
		}
		g := w.Generator(0)
		var b KeyBatch
		name := fmt.Sprintf("dist=%v/tag=%d", c.Dist, c.TagGroup)
		shouldNotAllocate(t, "Generator.Next "+name, func() {
			op, key := g.Next(buf[:0])
			buf = key
			if op.Writes() {
				g.Value()
			}
			if op.Multi() {
				b.Reset()
				g.AppendGroup(&b)
			}
		})
		shouldNotAllocate(t, "Generator.Value "+name, func() { g.Value() })
		g.Restrict(func(_ Op, n uint64) bool { return n%10 != 7 })
		shouldNotAllocate(t, "restricted Generator.Next "+name, func() { buf = onlyKey(g.Next(buf[:0])) })
	}
}

func onlyKey(_ Op, key []byte) []byte { return key }
