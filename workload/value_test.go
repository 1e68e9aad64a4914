package workload

import (
	"strings"
	"testing"
)

func TestParseValueSize(t *testing.T) {
	good := []struct {
		in   string
		want ValueSize
	}{
		{"64", ValueSize{64, 64}},
		{"32-512", ValueSize{32, 512}},
		{" 1 - 1 ", ValueSize{1, 1}}, // spaces allowed, a one-size range
		{"16777216", ValueSize{MaxValueSize, MaxValueSize}},
	}
	for _, tt := range good {
		v, err := ParseValueSize(tt.in)
		if err != nil || v != tt.want {
			t.Errorf("ParseValueSize(%q) = %v, %v; want %v", tt.in, v, err, tt.want)
		}
		if back, err := ParseValueSize(v.String()); err != nil || back != v {
			t.Errorf("round trip of %v: %v, %v", v, back, err)
		}
	}
	bad := []struct {
		in   string
		want string
	}{
		{"", "use a byte count (64) or a range (32-512)"},    // nothing
		{"abc", "use a byte count (64) or a range (32-512)"}, // not a number
		{"1k", "use a byte count (64) or a range (32-512)"},  // no units
		{"32-", "use a byte count (64) or a range (32-512)"}, // open range
		{"-5", "use a byte count (64) or a range (32-512)"},  // negative reads as an open range
		{"0", "out of range: use sizes from 1 to 16777216"},  // empty values
		{"16777217", "out of range"},                         // too big
		{"512-32", "empty range: put the smaller size first"},
		{"1-2-3", "use a byte count"}, // three parts
	}
	for _, tt := range bad {
		_, err := ParseValueSize(tt.in)
		if err == nil {
			t.Errorf("ParseValueSize(%q) succeeded", tt.in)
			continue
		}
		wantFieldError(t, err, "value-size", tt.want)
	}
}

func TestValues(t *testing.T) {
	c := DefaultConfig()
	c.ValueSize = ValueSize{Min: 3, Max: 7}
	w, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	g := w.Generator(0)
	seen := map[int]int{}
	distinct := map[string]bool{}
	for range 10_000 {
		v := g.Value()
		seen[len(v)]++
		distinct[string(v)] = true
		if cap(v) != len(v) {
			t.Fatalf("value cap %d > len %d: an append would write into the shared buffer", cap(v), len(v))
		}
		if strings.Trim(string(v), valueAlphabet) != "" {
			t.Fatalf("value %q has bytes outside the printable alphabet", v)
		}
	}
	for size := 3; size <= 7; size++ {
		if seen[size] < 1800 || seen[size] > 2200 {
			t.Errorf("size %d drawn %d times in 10000, want about 2000 (%v)", size, seen[size], seen)
		}
	}
	if len(seen) != 5 {
		t.Errorf("sizes drawn: %v, want only 3..7", seen)
	}
	if len(distinct) < 1000 {
		t.Errorf("only %d distinct values in 10000", len(distinct))
	}

	// The buffer depends on the seed only: same seed, same values.
	w2, _ := New(c)
	g1, g2 := w.Generator(1), w2.Generator(1)
	for range 100 {
		if a, b := g1.Value(), g2.Value(); string(a) != string(b) {
			t.Fatalf("same seed and worker: values %q and %q differ", a, b)
		}
	}
	c.ValueSize = ValueSize{Min: 100, Max: 100}
	w3, _ := New(c)
	if v := w3.Generator(0).Value(); len(v) != 100 {
		t.Errorf("fixed size 100: got %d bytes", len(v))
	}
}
