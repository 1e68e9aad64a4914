package workload

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// streamOf returns n ops of worker's generator as "op key" lines.
func streamOf(t *testing.T, c Config, worker, n int) []string {
	t.Helper()
	w, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	g := w.Generator(worker)
	out := make([]string, n)
	var buf []byte
	for i := range out {
		op, key := g.Next(buf[:0])
		out[i] = op.String() + " " + string(key)
		buf = key
	}
	return out
}

func allDistConfigs() []Config {
	var cs []Config
	for d := range numDists {
		for _, tags := range []int{0, 4} {
			c := DefaultConfig()
			c.Dist, c.TagGroup, c.Seed = d, tags, 42
			c.Mix = Mix{OpGet: 50, OpSet: 30, OpDel: 5, OpIncr: 5}
			if tags > 0 {
				c.Mix[OpMGet], c.Mix[OpMSet] = 5, 5
			}
			cs = append(cs, c)
		}
	}
	return cs
}

func TestGeneratorDeterministic(t *testing.T) {
	const n = 100_000
	for _, c := range allDistConfigs() {
		t.Run(fmt.Sprintf("dist=%v/tag=%d", c.Dist, c.TagGroup), func(t *testing.T) {
			a := streamOf(t, c, 3, n)
			b := streamOf(t, c, 3, n) // a second Workload from the same Config
			for i := range a {
				if a[i] != b[i] {
					t.Fatalf("same seed and worker: op %d is %q and %q", i, a[i], b[i])
				}
			}
			other := streamOf(t, c, 4, n)
			same := 0
			for i := range a {
				if a[i] == other[i] {
					same++
				}
			}
			// Workers 3 and 4 must not replay each other; some coincidences
			// are expected with skewed distributions (zipf's top key ~8%).
			if same > n/4 {
				t.Errorf("workers 3 and 4 agree on %d of %d ops", same, n)
			}
			c.Seed++
			reseeded := streamOf(t, c, 3, n)
			if strings.Join(reseeded[:100], "|") == strings.Join(a[:100], "|") {
				t.Errorf("seed %d and %d give the same first 100 ops", c.Seed-1, c.Seed)
			}
		})
	}
}

func TestGeneratorStreamIgnoresValuesAndGroups(t *testing.T) {
	// A strategy that asks for values and group keys sees the same op/key
	// stream as one that does not.
	c := DefaultConfig()
	c.Dist, c.TagGroup, c.ValueSize = DistZipf, 8, ValueSize{10, 100}
	c.Mix = Mix{OpGet: 1, OpSet: 1, OpMGet: 1, OpMSet: 1}
	w, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	plain, busy := w.Generator(0), w.Generator(0)
	var b KeyBatch
	for i := range 10_000 {
		op1, n1 := plain.NextIndex()
		op2, n2 := busy.NextIndex()
		if op1 != op2 || n1 != n2 {
			t.Fatalf("op %d: %v %d vs %v %d", i, op1, n1, op2, n2)
		}
		if op2.Writes() {
			busy.Value()
		}
		if op2.Multi() {
			b.Reset()
			busy.AppendGroup(&b)
			for range b.Len() {
				busy.Value()
			}
		}
	}
}

func TestGeneratorKeys(t *testing.T) {
	c := DefaultConfig()
	c.Keys, c.TagGroup, c.Dist = 1000, 8, DistUniform
	c.Mix = Mix{OpGet: 1, OpIncr: 1, OpMGet: 1}
	w, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	g := w.Generator(0)
	ks := w.KeySpace()
	var b KeyBatch
	seen := [NumOps]int{}
	for range 3000 {
		op, key := g.Next([]byte("x"))
		n := g.Index()
		seen[op]++
		want := ks.AppendKey([]byte("x"), n)
		if op == OpIncr {
			want = ks.AppendCounterKey([]byte("x"), n)
		}
		if !bytes.Equal(key, want) {
			t.Fatalf("%v: key %q, want %q for index %d", op, key, want, n)
		}
		if op == OpMGet {
			b.Reset()
			g.AppendGroup(&b)
			first, end := ks.Group(n)
			if b.Len() != int(end-first) || !bytes.Contains(b.Bytes(), key[1:]) {
				t.Fatalf("mget of %q: group %q", key[1:], b.Bytes())
			}
		}
	}
	if seen[OpGet] == 0 || seen[OpIncr] == 0 || seen[OpMGet] == 0 || seen[OpSet] != 0 {
		t.Errorf("ops drawn %v, want get, incr and mget only", seen)
	}
}

func TestGeneratorLatestWritesInsert(t *testing.T) {
	c := DefaultConfig()
	c.Dist, c.Keys = DistLatest, 100
	c.Mix = Mix{OpSet: 1}
	w, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	g := w.Generator(0)
	// Every write goes to the key after the head: 0, 1, 2, ... (head starts at 99).
	for i := range uint64(150) {
		if _, n := g.NextIndex(); n != i%100 {
			t.Fatalf("write %d went to key %d, want %d", i, n, i%100)
		}
	}
	// With writes and reads, reads cluster just behind the last write.
	c.Mix = Mix{OpGet: 9, OpSet: 1}
	w, _ = New(c)
	g = w.Generator(0)
	near, reads := 0, 0
	for range 10_000 {
		op, n := g.NextIndex()
		if op != OpGet {
			continue
		}
		reads++
		if back := (g.latest.Head() + 100 - n) % 100; back < 5 {
			near++
		}
	}
	if frac := float64(near) / float64(reads); frac < 0.4 {
		t.Errorf("%.2f of the reads within 5 keys of the head, want > 0.4", frac)
	}
}

func TestGeneratorSequentialWorkers(t *testing.T) {
	c := DefaultConfig()
	c.Dist, c.Keys, c.Mix = DistSequential, 1000, Mix{OpGet: 1}
	w, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	starts := map[uint64]bool{}
	for worker := range 8 {
		g := w.Generator(worker)
		_, first := g.NextIndex()
		starts[first/100] = true // which tenth of the keyspace
		for i := uint64(1); i < 2000; i++ {
			if _, n := g.NextIndex(); n != (first+i)%1000 {
				t.Fatalf("worker %d: draw %d = %d, want %d", worker, i, n, (first+i)%1000)
			}
		}
	}
	if len(starts) < 7 {
		t.Errorf("8 workers start in only %d tenths of the keyspace", len(starts))
	}
	if _, n := w.Generator(0).NextIndex(); n != 0 {
		t.Errorf("worker 0 starts at %d, want 0", n)
	}
}

func TestWorkloadDistribution(t *testing.T) {
	c := DefaultConfig()
	c.Dist = DistZipf
	w, _ := New(c)
	if _, ok := w.Distribution().(*ScrambledZipfian); !ok {
		t.Errorf("zipf: Distribution() is %T", w.Distribution())
	}
	c.Dist = DistLatest
	w, _ = New(c)
	if w.Distribution() != nil {
		t.Errorf("latest: Distribution() = %T, want nil (per-generator state)", w.Distribution())
	}
	if w.Config() != c {
		t.Errorf("Config() = %+v", w.Config())
	}
}

func TestGeneratorRestrictFiltersTheStream(t *testing.T) {
	c := DefaultConfig()
	c.Seed, c.Keys = 7, 1000
	c.Mix = Mix{OpGet: 60, OpSet: 30, OpIncr: 10}
	w, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	// keep: keys whose last digit is even.
	even := func(key string) bool { return key[len(key)-1]%2 == 0 }
	var want []string
	for _, line := range streamOf(t, c, 3, 4000) {
		if even(line) {
			want = append(want, line)
		}
	}
	g := w.Generator(3)
	g.Restrict(func(_ Op, n uint64) bool { return n%2 == 0 })
	var buf []byte
	for i, w := range want {
		op, key := g.Next(buf[:0])
		buf = key
		if got := op.String() + " " + string(key); got != w {
			t.Fatalf("restricted draw %d = %q, want %q (the unrestricted stream without the odd keys)", i, got, w)
		}
	}
}

func TestGeneratorRestrictGivesUpOnAFilterNothingPasses(t *testing.T) {
	w, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	g := w.Generator(0)
	calls := 0
	g.Restrict(func(Op, uint64) bool { calls++; return false })
	if _, key := g.Next(nil); len(key) == 0 {
		t.Fatal("Next returned no key")
	}
	if calls != maxRejects {
		t.Fatalf("filter called %d times before giving up, want %d", calls, maxRejects)
	}
}
