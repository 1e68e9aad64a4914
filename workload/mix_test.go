package workload

import (
	"math"
	"testing"
)

func TestParseMix(t *testing.T) {
	good := []struct {
		in   string
		want Mix
		str  string // canonical form
	}{
		{"get:80,set:20", Mix{OpGet: 80, OpSet: 20}, "get:80,set:20"},
		// Spaces and case do not matter; order does not either.
		{" SET : 1 , get:3 ", Mix{OpGet: 3, OpSet: 1}, "get:3,set:1"},
		// Zero weights are allowed and left out of the canonical form.
		{"get:1,del:0", Mix{OpGet: 1}, "get:1"},
		// Every op.
		{"get:1,set:2,del:3,incr:4,mget:5,mset:6", Mix{1, 2, 3, 4, 5, 6}, "get:1,set:2,del:3,incr:4,mget:5,mset:6"},
		// The largest weight.
		{"incr:4294967295", Mix{OpIncr: math.MaxUint32}, "incr:4294967295"},
	}
	for _, tt := range good {
		m, err := ParseMix(tt.in)
		if err != nil || m != tt.want {
			t.Errorf("ParseMix(%q) = %v, %v; want %v", tt.in, m, err, tt.want)
			continue
		}
		if m.String() != tt.str {
			t.Errorf("ParseMix(%q).String() = %q, want %q", tt.in, m.String(), tt.str)
		}
	}

	bad := []struct {
		in   string
		want string // fragment of the message
	}{
		{"", "is empty"}, // nothing
		{"get:x", `"get:x": weight must be a non-negative integer, e.g. get:80,set:20`}, // the brief's example
		{"get:-1", "weight must be a non-negative integer"},                             // negative
		{"get:1.5", "weight must be a non-negative integer"},                            // fraction
		{"get:", "weight must be a non-negative integer"},                               // missing weight
		{"get", `entry "get" is not op:weight`},                                         // no colon
		{"get:80,", `entry "" is not op:weight`},                                        // trailing comma
		{"hget:1", `unknown op "hget": use get, set, del, incr, mget, mset`},            // unsupported command
		{"get:1,get:2", "op get is listed twice"},                                       // duplicate
		{"get:0,set:0", "all weights are 0"},                                            // nothing to do
		{"get:4294967296", "too large"},                                                 // overflows uint32
	}
	for _, tt := range bad {
		_, err := ParseMix(tt.in)
		if err == nil {
			t.Errorf("ParseMix(%q) succeeded", tt.in)
			continue
		}
		wantFieldError(t, err, "mix", tt.want)
	}
}

func TestMixTableFrequencies(t *testing.T) {
	m := Mix{OpGet: 70, OpSet: 20, OpDel: 0, OpIncr: 10}
	tab := newMixTable(m)
	r := NewRand(6, 0)
	const draws = 200_000
	var c [NumOps]int
	for range draws {
		c[tab.pick(&r)]++
	}
	for op, w := range m {
		p := float64(w) / float64(m.Total())
		if got := float64(c[op]) / draws; math.Abs(got-p) > 0.005 {
			t.Errorf("%v drawn %.4f of the time, want %.2f", Op(op), got, p)
		}
	}
	// A single op needs no random number.
	one := newMixTable(Mix{OpSet: 5})
	before := r
	if op := one.pick(&r); op != OpSet || r != before {
		t.Errorf("single-op mix: picked %v, Rand advanced %v", op, r != before)
	}
}

func TestOpProperties(t *testing.T) {
	for op := range NumOps {
		got, ok := ParseOp(op.String())
		if !ok || got != op {
			t.Errorf("ParseOp(%q) = %v, %v", op, got, ok)
		}
	}
	if !OpMGet.Multi() || !OpMSet.Multi() || OpGet.Multi() {
		t.Error("Multi: want mget and mset only")
	}
	for op, w := range map[Op]bool{OpGet: false, OpSet: true, OpDel: false, OpIncr: true, OpMGet: false, OpMSet: true} {
		if op.Writes() != w {
			t.Errorf("%v.Writes() = %v", op, !w)
		}
	}
}
