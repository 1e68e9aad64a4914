package metrics

import (
	"fmt"
	"math"
	"slices"
)

// Evenness statistics: how evenly operations spread over slots and nodes.
// All are pure functions of the counts.

// Mean returns the arithmetic mean of xs (0 when empty).
func Mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// CV returns the coefficient of variation of xs: the population standard
// deviation divided by the mean, sqrt(Σ(x−m)²/n) / m. It is 0 when all
// values are equal, and 0 by convention when xs is empty or its mean is 0.
// With everything on one of n values it is sqrt(n−1).
func CV(xs []float64) float64 {
	m := Mean(xs)
	if m == 0 {
		return 0
	}
	var ss float64
	for _, x := range xs {
		ss += (x - m) * (x - m)
	}
	return math.Sqrt(ss/float64(len(xs))) / m
}

// MaxOverMean returns max(xs)/mean(xs): 1 for a perfectly even spread, n
// when everything is on one of n values; 0 when empty or all zero.
func MaxOverMean(xs []float64) float64 {
	m := Mean(xs)
	if m == 0 {
		return 0
	}
	return slices.Max(xs) / m
}

// Gini returns the Gini coefficient of xs (non-negative values). With x
// sorted ascending and indexed from 1,
//
//	G = 2·Σ i·x_i / (n·Σ x_i) − (n+1)/n
//
// which is 0 for a perfectly even spread and 1 − 1/n when everything is on
// one of n values (the most unequal spread n values allow). It is 0 by
// convention when xs is empty or all zero.
func Gini(xs []float64) float64 {
	n := len(xs)
	if n == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	var sum, weighted float64
	for i, x := range s {
		sum += x
		weighted += float64(i+1) * x
	}
	if sum == 0 {
		return 0
	}
	g := 2*weighted/(float64(n)*sum) - float64(n+1)/float64(n)
	return math.Max(0, g) // rounding can leave -1e-17 for an even spread
}

// LorenzPoint is a point of the Lorenz curve: the poorest fraction X of the
// values holds the fraction Y of the total.
type LorenzPoint struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// Lorenz returns the Lorenz curve of xs at points+1 evenly spaced X from 0
// to 1: point j covers the k = round(j·n/points) smallest values. An even
// spread gives the diagonal (Y = X); the Gini coefficient is twice the area
// between the diagonal and this curve. All-zero or empty xs give nil.
func Lorenz(xs []float64, points int) []LorenzPoint {
	n := len(xs)
	if n == 0 || points < 1 {
		return nil
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	cum := make([]float64, n+1)
	for i, x := range s {
		cum[i+1] = cum[i] + x
	}
	if cum[n] == 0 {
		return nil
	}
	out := make([]LorenzPoint, points+1)
	for j := range out {
		k := int(math.Round(float64(j) * float64(n) / float64(points)))
		out[j] = LorenzPoint{X: float64(k) / float64(n), Y: cum[k] / cum[n]}
	}
	return out
}

// SlotOps is one slot's share of the operations.
type SlotOps struct {
	Slot  int     `json:"slot"`
	Ops   uint64  `json:"ops"`
	Share float64 `json:"share"`
}

// TopSlots returns the n slots with the most operations, most first (ties
// by slot number); slots with no operation are left out.
func TopSlots(counts []uint64, n int) []SlotOps {
	var total uint64
	idx := make([]int, 0, len(counts))
	for s, c := range counts {
		total += c
		if c > 0 {
			idx = append(idx, s)
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case counts[a] > counts[b]:
			return -1
		case counts[a] < counts[b]:
			return 1
		}
		return a - b
	})
	idx = idx[:min(n, len(idx))]
	out := make([]SlotOps, len(idx))
	for i, s := range idx {
		out[i] = SlotOps{Slot: s, Ops: counts[s], Share: float64(counts[s]) / float64(total)}
	}
	return out
}

// SlotSpread is the evenness of operations over slots.
type SlotSpread struct {
	Ops         uint64        `json:"ops"`
	Slots       int           `json:"slots"` // slots considered (NumSlots)
	Used        int           `json:"used"`  // slots with at least one operation
	Mean        float64       `json:"mean"`
	Max         float64       `json:"max"`
	MaxOverMean float64       `json:"max_over_mean"`
	CV          float64       `json:"cv"`
	Gini        float64       `json:"gini"`
	Top         []SlotOps     `json:"top"`
	Lorenz      []LorenzPoint `json:"lorenz"` // 101 points, X in steps of 0.01
}

// NodeShare is one node's part of the operations.
type NodeShare struct {
	Name  string `json:"name"`
	Slots int    `json:"slots"` // slots it owns in the assignment
	// Ops are the operations on its slots; Share is Ops over all.
	Ops   uint64  `json:"ops"`
	Share float64 `json:"share"`
	// Served counts the operations it actually answered (from
	// Sample.Node), which differs from Ops while slots move; null when
	// unknown.
	Served *uint64 `json:"served"`
}

// NodeSpread is the evenness of operations over nodes, from the slot
// assignment.
type NodeSpread struct {
	Nodes       []NodeShare `json:"nodes"`
	MaxOverMean float64     `json:"max_over_mean"`
	CV          float64     `json:"cv"`
	Gini        float64     `json:"gini"`
}

// Spread is the slot and node evenness of a run.
type Spread struct {
	Slots SlotSpread  `json:"slots"`
	Nodes *NodeSpread `json:"nodes"` // null without a slot assignment
}

func floats(counts []uint64) []float64 {
	out := make([]float64, len(counts))
	for i, c := range counts {
		out[i] = float64(c)
	}
	return out
}

// SlotSpreadOf computes the slot evenness of per-slot counts, with the top
// hottest slots.
func SlotSpreadOf(counts []uint64, top int) SlotSpread {
	xs := floats(counts)
	s := SlotSpread{Slots: len(counts), Top: TopSlots(counts, top), Lorenz: Lorenz(xs, 100)}
	for _, c := range counts {
		s.Ops += c
		if c > 0 {
			s.Used++
		}
	}
	if len(xs) > 0 {
		s.Mean = Mean(xs)
		s.Max = slices.Max(xs)
	}
	s.MaxOverMean = MaxOverMean(xs)
	s.CV = CV(xs)
	s.Gini = Gini(xs)
	return s
}

// NodeSpreadOf sums per-slot counts per node. owner maps each slot to a
// node index into names (-1: unassigned, not counted); served, when not
// nil, holds the operations each node actually answered.
func NodeSpreadOf(counts []uint64, owner []int, names []string, served []uint64) (NodeSpread, error) {
	if len(owner) != len(counts) {
		return NodeSpread{}, fmt.Errorf("%w: slot assignment covers %d slots, counts %d", ErrMismatch, len(owner), len(counts))
	}
	nodes := make([]NodeShare, len(names))
	for i, n := range names {
		nodes[i].Name = n
		if served != nil {
			var v uint64
			if i < len(served) {
				v = served[i]
			}
			nodes[i].Served = &v
		}
	}
	var total uint64
	for s, o := range owner {
		if o < 0 {
			continue
		}
		if o >= len(nodes) {
			return NodeSpread{}, fmt.Errorf("%w: slot %d owned by node %d of %d", ErrMismatch, s, o, len(nodes))
		}
		nodes[o].Slots++
		nodes[o].Ops += counts[s]
		total += counts[s]
	}
	xs := make([]float64, len(nodes))
	for i := range nodes {
		xs[i] = float64(nodes[i].Ops)
		if total > 0 {
			nodes[i].Share = float64(nodes[i].Ops) / float64(total)
		}
	}
	return NodeSpread{Nodes: nodes, MaxOverMean: MaxOverMean(xs), CV: CV(xs), Gini: Gini(xs)}, nil
}

// SpreadOf computes the slot spread and, when owner is not nil, the node
// spread (see NodeSpreadOf).
func SpreadOf(counts []uint64, owner []int, names []string, served []uint64, top int) (Spread, error) {
	sp := Spread{Slots: SlotSpreadOf(counts, top)}
	if owner != nil {
		ns, err := NodeSpreadOf(counts, owner, names, served)
		if err != nil {
			return Spread{}, err
		}
		sp.Nodes = &ns
	}
	return sp, nil
}
