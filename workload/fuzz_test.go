package workload

import (
	"errors"
	"testing"
)

func FuzzParseMix(f *testing.F) {
	for _, s := range []string{"get:80,set:20", "get:1,set:2,del:3,incr:4,mget:5,mset:6", "get:x", "", ",", "get:0", "GET : 1", "get:4294967296", "set:1,set:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMix(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseMix(%q) error %v does not wrap ErrInvalid", s, err)
			}
			return
		}
		if m.Total() == 0 {
			t.Fatalf("ParseMix(%q) = %v with weights summing to 0", s, m)
		}
		again, err := ParseMix(m.String())
		if err != nil || again != m {
			t.Fatalf("round trip of %q: %v -> %q -> %v, %v", s, m, m.String(), again, err)
		}
		tab := newMixTable(m)
		r := NewRand(1, 0)
		for range 10 {
			if op := tab.pick(&r); m[op] == 0 {
				t.Fatalf("mix %v drew %v, which has weight 0", m, op)
			}
		}
	})
}

func FuzzParseValueSize(f *testing.F) {
	for _, s := range []string{"64", "32-512", "0", "512-32", "-", "1-16777216", " 7 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseValueSize(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if v.Min < 1 || v.Min > v.Max || v.Max > MaxValueSize {
			t.Fatalf("ParseValueSize(%q) = %v, outside 1 <= min <= max <= %d", s, v, MaxValueSize)
		}
		if again, err := ParseValueSize(v.String()); err != nil || again != v {
			t.Fatalf("round trip of %v: %v, %v", v, again, err)
		}
	})
}

func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"0", "1000", "1000:10s,2000:10s", "1000:10s,0:1s,5", "1000+500/10s", "0+1/1ns", "1e+3+1/1s", "1:1ns", "0.001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sched, err := ParseRate(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if sched == nil {
			return // closed loop
		}
		if again, err := ParseRate(sched.String()); err != nil || again.String() != sched.String() {
			t.Fatalf("round trip of %q: %q -> %v, %v", s, sched, again, err)
		}
		prev := false
		var last int64
		for i := range uint64(200) {
			at, ok := sched.IntendedStart(i)
			if !ok {
				break
			}
			if prev && int64(at) < last {
				t.Fatalf("%q: IntendedStart(%d) = %v before op %d's %v", s, i, at, i-1, last)
			}
			prev, last = true, int64(at)
		}
	})
}
