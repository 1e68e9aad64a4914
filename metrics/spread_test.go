package metrics

import (
	"errors"
	"math"
	"reflect"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }

func TestEvenness(t *testing.T) {
	even := make([]float64, NumSlots)
	one := make([]float64, NumSlots)
	for i := range even {
		even[i] = 5
	}
	one[777] = 1000
	const n = float64(NumSlots)
	tests := []struct {
		name                  string
		xs                    []float64
		gini, cv, maxOverMean float64
	}{
		// Every slot the same: no inequality at all.
		{"perfectly even", even, 0, 0, 1},
		// Everything on one of n slots: the most unequal spread possible.
		{"all on one slot", one, 1 - 1/n, math.Sqrt(n - 1), n},
		// Hand-computed: G = 2(1+4+9+16)/(4·10) − 5/4; CV = sqrt(1.25)/2.5.
		{"1 2 3 4", []float64{4, 1, 3, 2}, 0.25, math.Sqrt(1.25) / 2.5, 1.6},
		// Two values, one empty: G = 1 − 1/2, CV = 1.
		{"0 10", []float64{0, 10}, 0.5, 1, 2},
		// Nothing counted: every statistic is 0 by convention.
		{"all zero", []float64{0, 0, 0}, 0, 0, 0},
		{"empty", nil, 0, 0, 0},
	}
	for _, tt := range tests {
		if g := Gini(tt.xs); !near(g, tt.gini) {
			t.Errorf("%s: Gini = %v, want %v", tt.name, g, tt.gini)
		}
		if c := CV(tt.xs); !near(c, tt.cv) {
			t.Errorf("%s: CV = %v, want %v", tt.name, c, tt.cv)
		}
		if m := MaxOverMean(tt.xs); !near(m, tt.maxOverMean) {
			t.Errorf("%s: MaxOverMean = %v, want %v", tt.name, m, tt.maxOverMean)
		}
	}
	if g := Gini(even); g != 0 {
		t.Errorf("Gini of an even spread is %v, want exactly 0", g)
	}
}

func TestLorenz(t *testing.T) {
	got := Lorenz([]float64{4, 1, 3, 2}, 4)
	want := []LorenzPoint{{0, 0}, {0.25, 0.1}, {0.5, 0.3}, {0.75, 0.6}, {1, 1}}
	for i := range want {
		if !near(got[i].X, want[i].X) || !near(got[i].Y, want[i].Y) {
			t.Fatalf("Lorenz = %v, want %v", got, want)
		}
	}
	even := Lorenz([]float64{3, 3, 3, 3, 3}, 5)
	for _, p := range even {
		if !near(p.X, p.Y) {
			t.Fatalf("an even spread's Lorenz curve is the diagonal, got %v", even)
		}
	}
	if Lorenz([]float64{0, 0}, 10) != nil || Lorenz(nil, 10) != nil {
		t.Fatal("Lorenz of nothing must be nil")
	}
	// Twice the area between diagonal and curve is the Gini coefficient
	// (exactly, with one point per value).
	xs := []float64{0, 1, 1, 2, 5, 9, 0, 3}
	pts := Lorenz(xs, len(xs))
	var area float64
	for i := 1; i < len(pts); i++ {
		area += (pts[i].X - pts[i-1].X) * (pts[i].Y + pts[i-1].Y) / 2
	}
	if g := 1 - 2*area; !near(g, Gini(xs)) {
		t.Fatalf("1 − 2·area under Lorenz = %v, Gini = %v", g, Gini(xs))
	}
}

func TestTopSlots(t *testing.T) {
	counts := make([]uint64, NumSlots)
	counts[10], counts[20], counts[30], counts[5] = 5, 9, 5, 1
	got := TopSlots(counts, 3)
	want := []SlotOps{{20, 9, 0.45}, {10, 5, 0.25}, {30, 5, 0.25}} // ties by slot number
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("TopSlots = %v, want %v", got, want)
	}
	if got := TopSlots(counts, 100); len(got) != 4 {
		t.Fatalf("TopSlots lists %d slots, want the 4 used", len(got))
	}
}

func TestSpreadOf(t *testing.T) {
	counts := make([]uint64, NumSlots)
	owner := make([]int, NumSlots)
	for s := range counts {
		counts[s] = 1
		owner[s] = s * 3 / NumSlots // three even ranges
	}
	counts[0] = 5462 // a hot slot on node 0
	sp, err := SpreadOf(counts, owner, []string{"a", "b", "c"}, []uint64{1, 2}, 2)
	if err != nil {
		t.Fatal(err)
	}
	// Node 0 owns slots 0..5461 (5462 slots): 5461 ones plus 5462 on slot 0.
	nodes := sp.Nodes.Nodes
	if nodes[0].Slots != 5462 || nodes[1].Slots != 5461 || nodes[2].Slots != 5461 {
		t.Fatalf("slots per node %d %d %d", nodes[0].Slots, nodes[1].Slots, nodes[2].Slots)
	}
	if nodes[0].Ops != 5461+5462 || nodes[1].Ops != 5461 || nodes[2].Ops != 5461 {
		t.Fatalf("ops per node %d %d %d", nodes[0].Ops, nodes[1].Ops, nodes[2].Ops)
	}
	total := float64(sp.Slots.Ops)
	if !near(nodes[0].Share, 10923/total) || !near(nodes[0].Share+nodes[1].Share+nodes[2].Share, 1) {
		t.Fatalf("shares %v %v %v", nodes[0].Share, nodes[1].Share, nodes[2].Share)
	}
	if *nodes[1].Served != 2 || *nodes[2].Served != 0 {
		t.Fatalf("served %d %d", *nodes[1].Served, *nodes[2].Served)
	}
	if sp.Slots.Used != NumSlots || sp.Slots.Top[0].Slot != 0 || len(sp.Slots.Top) != 2 || len(sp.Slots.Lorenz) != 101 {
		t.Fatalf("slot spread %+v", sp.Slots)
	}
	if !near(sp.Nodes.MaxOverMean, 10923/(total/3)) {
		t.Fatalf("node max/mean %v", sp.Nodes.MaxOverMean)
	}
	if _, err := SpreadOf(counts, owner[:10], nil, nil, 1); !errors.Is(err, ErrMismatch) {
		t.Fatalf("short assignment: err = %v", err)
	}
	owner[3] = 7
	if _, err := SpreadOf(counts, owner, []string{"a", "b", "c"}, nil, 1); !errors.Is(err, ErrMismatch) {
		t.Fatalf("owner out of range: err = %v", err)
	}
	if sp, _ := SpreadOf(counts, nil, nil, nil, 1); sp.Nodes != nil {
		t.Fatal("no assignment must give no node spread")
	}
}
