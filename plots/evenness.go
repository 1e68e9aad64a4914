package plots

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/clusterbench/clusterbench/metrics"
)

// LorenzCurve is one curve of a Lorenz chart: the poorest fraction X of
// the slots holds the fraction Y of the total.
type LorenzCurve struct {
	Name   string
	Points []metrics.LorenzPoint
	Gini   float64
}

// CurveOf computes the Lorenz curve (1001 points: the top 1% of slots,
// where a skewed workload has most of its operations, gets ten) and the
// Gini coefficient of per-slot counts with metrics.Lorenz and metrics.Gini.
func CurveOf(name string, counts []uint64) LorenzCurve {
	xs := make([]float64, len(counts))
	for i, c := range counts {
		xs[i] = float64(c)
	}
	return LorenzCurve{Name: name, Points: metrics.Lorenz(xs, 1000), Gini: metrics.Gini(xs)}
}

var diagonalStyle = draw.LineStyle{Color: color.Gray{Y: 0x80}, Width: 1, Dashes: []vg.Length{5, 3}}

// lorenzPlot draws the curves (legend inside, top left, where a Lorenz
// curve never goes) with the diagonal of a perfectly even spread.
func lorenzPlot(title string, curves []LorenzCurve) *plot.Plot {
	p := newPlot(title, "% of the slots, least used first", "% of the total")
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 100, 0, 100
	p.X.Tick.Marker, p.Y.Tick.Marker = stepTicks{target: 10}, stepTicks{target: 10}
	p.Add(plotter.NewGrid())
	diag, _ := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 100, Y: 100}})
	diag.LineStyle = diagonalStyle
	p.Add(diag)
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs, p.Legend.YOffs = 8, -8
	p.Legend.Padding, p.Legend.ThumbnailWidth = 3, 24
	p.Legend.Add("even spread (Gini 0)", diag)
	for i, c := range curves {
		if len(c.Points) == 0 {
			continue
		}
		pts := make(plotter.XYs, len(c.Points))
		for j, pt := range c.Points {
			pts[j] = plotter.XY{X: 100 * pt.X, Y: 100 * pt.Y}
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			continue
		}
		l.LineStyle = draw.LineStyle{Color: seriesColor(i), Width: 1.8}
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("%s (Gini %.3f)", c.Name, c.Gini), l)
	}
	return p
}

// LorenzFigure draws the Lorenz curves of per-slot counts in one chart.
func LorenzFigure(title string, curves ...LorenzCurve) *Figure {
	p := lorenzPlot("", curves)
	return &Figure{Title: title, RowHeight: 520, Rows: [][]Cell{{p}}}
}

// evennessFigure: the share of operations per node (one group of bars per
// strategy, a tick where the node actually answered a different share
// while slots moved) and the Lorenz curve of operations over slots.
func evennessFigure(r *Run) *Figure {
	var curves []LorenzCurve
	type nodeGroup struct {
		name   string
		nodes  []metrics.NodeShare
		served []float64
	}
	var groups []nodeGroup
	maxNodes := 0
	for _, st := range r.Summary.Strategies {
		if st.Spread == nil {
			continue
		}
		if sd := r.Slots[st.Name]; sd != nil {
			curves = append(curves, CurveOf(st.Name, sd.Ops))
		} else {
			curves = append(curves, LorenzCurve{Name: st.Name, Points: st.Spread.Slots.Lorenz, Gini: st.Spread.Slots.Gini})
		}
		if ns := st.Spread.Nodes; ns != nil && len(ns.Nodes) > 0 {
			g := nodeGroup{name: st.Name, nodes: ns.Nodes}
			var servedTotal uint64
			for _, n := range ns.Nodes {
				if n.Served != nil {
					servedTotal += *n.Served
				}
			}
			for _, n := range ns.Nodes {
				v := math.NaN()
				if n.Served != nil && servedTotal > 0 {
					v = 100 * float64(*n.Served) / float64(servedTotal)
				}
				g.served = append(g.served, v)
			}
			groups = append(groups, g)
			maxNodes = max(maxNodes, len(ns.Nodes))
		}
	}
	if len(curves) == 0 {
		return nil
	}
	fig := &Figure{Title: "Evenness: operations per node and over slots", RowHeight: 360}
	lp := lorenzPlot("operations over slots (Lorenz curve)", curves)
	if len(groups) == 0 {
		fig.Rows = [][]Cell{{lp}}
		return fig
	}

	// One colour per node position: with a fresh cluster per strategy the
	// addresses differ, the position in the slot order does not.
	bars := groupedBars{width: 0.8}
	served := make([][]float64, maxNodes)
	for k := range maxNodes {
		vals := make([]float64, len(groups))
		served[k] = make([]float64, len(groups))
		for g, grp := range groups {
			vals[g], served[k][g] = math.NaN(), math.NaN()
			if k < len(grp.nodes) {
				vals[g] = 100 * grp.nodes[k].Share
				served[k][g] = grp.served[k]
			}
		}
		bars.values = append(bars.values, vals)
		bars.colors = append(bars.colors, seriesColor(k))
	}
	names := make([]string, len(groups))
	hi := 0.0
	for g, grp := range groups {
		names[g] = grp.name
	}
	for k := range bars.values {
		for g := range bars.values[k] {
			hi = max(hi, nan0(bars.values[k][g]), nan0(served[k][g]))
		}
	}
	bp := newPlot("share of operations per node, by slot owner", "", "% of operations")
	bp.Add(hGrid(), bars, servedMarks{served: served, width: bars.width})
	nominalX(bp, width/2, names)
	if same := func() bool {
		for _, g := range groups {
			if len(g.nodes) != maxNodes {
				return false
			}
		}
		return true
	}(); same {
		bp.Add(hrule(100 / float64(maxNodes)))
		bp.Title.Text += fmt.Sprintf(" (dashed: even, %.1f%%)", 100/float64(maxNodes))
	}
	bp.Y.Min, bp.Y.Max = 0, math.Ceil(hi*1.15)
	bp.Y.Tick.Marker = stepTicks{target: 8}
	if len(groups) == 1 {
		// One strategy: name the nodes under their bars.
		var ticks []plot.Tick
		for k, n := range groups[0].nodes {
			ticks = append(ticks, plot.Tick{Value: -bars.width/2 + (float64(k)+0.5)*bars.width/float64(maxNodes), Label: shortAddr(n.Name)})
		}
		bp.X.Tick.Marker = plot.ConstantTicks(ticks)
		bp.X.Label.Text = "node (" + groups[0].name + ")"
	}
	for k := range maxNodes {
		fig.Keys = append(fig.Keys, Key{Label: fmt.Sprintf("node %d", k+1), Thumbs: []plot.Thumbnailer{swatch{seriesColor(k)}}})
	}
	fig.Keys = append(fig.Keys, Key{Label: "share the node actually served", Thumbs: []plot.Thumbnailer{hline{servedStyle}}})
	fig.Rows = [][]Cell{{bp, lp}}
	return fig
}

func nan0(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return v
}

// shortAddr drops a loopback host, which every local node shares.
func shortAddr(a string) string {
	if len(a) > len("127.0.0.1:") && a[:len("127.0.0.1:")] == "127.0.0.1:" {
		return ":" + a[len("127.0.0.1:"):]
	}
	return a
}

// hrule is a dashed horizontal line across a panel at y.
type hrule float64

func (h hrule) Plot(c draw.Canvas, p *plot.Plot) {
	_, trY := p.Transforms(&c)
	y := trY(float64(h))
	c.StrokeLine2(diagonalStyle, c.Min.X, y, c.Max.X, y)
}

var servedStyle = draw.LineStyle{Color: color.Black, Width: 2}

// servedMarks draws a black tick across each node's bar at the share of
// operations the node answered, laid out like groupedBars.
type servedMarks struct {
	served [][]float64 // [node][group]
	width  float64
}

func (s servedMarks) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	barW := s.width / float64(len(s.served))
	for k, vals := range s.served {
		for g, v := range vals {
			if math.IsNaN(v) {
				continue
			}
			x0 := float64(g) - s.width/2 + float64(k)*barW
			c.StrokeLine2(servedStyle, trX(x0+barW*0.08), trY(v), trX(x0+barW*0.92), trY(v))
		}
	}
}
