package plots

import (
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/clusterbench/clusterbench/metrics"
)

// groupedBars draws bars grouped along a nominal x axis (group g is
// centred on x = g), series s at a fixed offset within its group. A bar
// rises from the bottom of the data area, so it works on a log y axis,
// where a bar from 0 cannot be drawn. NaN values are left out; a label
// (when set) is written above its bar.
type groupedBars struct {
	values [][]float64 // [series][group]
	labels [][]string  // [series][group], optional
	colors []color.Color
	// width is the width of the whole group, in x units (at most 1).
	width float64
}

func (b groupedBars) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	n := float64(len(b.values))
	barW := b.width / n
	sty := textStyle(7)
	sty.XAlign, sty.YAlign = draw.XCenter, draw.YBottom
	for s, vals := range b.values {
		for g, v := range vals {
			x0 := float64(g) - b.width/2 + float64(s)*barW
			left, right := trX(x0+barW*0.08), trX(x0+barW*0.92)
			if math.IsNaN(v) || (v <= 0 && isLog(p.Y.Scale)) {
				// No bar; a label (like "n/a") still says why.
				if s < len(b.labels) && g < len(b.labels[s]) && b.labels[s][g] != "" {
					c.FillText(sty, vg.Point{X: (left + right) / 2, Y: c.Min.Y + 1}, b.labels[s][g])
				}
				continue
			}
			top := min(trY(v), c.Max.Y)
			bottom := c.Min.Y
			if !isLog(p.Y.Scale) {
				bottom = max(trY(0), c.Min.Y)
			}
			c.FillPolygon(b.colors[s], []vg.Point{{X: left, Y: bottom}, {X: right, Y: bottom}, {X: right, Y: top}, {X: left, Y: top}})
			if s < len(b.labels) && g < len(b.labels[s]) && b.labels[s][g] != "" {
				c.FillText(sty, vg.Point{X: (left + right) / 2, Y: top + 1}, b.labels[s][g])
			}
		}
	}
}

func isLog(s plot.Normalizer) bool {
	_, ok := s.(plot.LogScale)
	return ok
}

// DataRange covers the groups and the values.
func (b groupedBars) DataRange() (xmin, xmax, ymin, ymax float64) {
	ymin, ymax = math.Inf(1), math.Inf(-1)
	for _, vals := range b.values {
		for _, v := range vals {
			if !math.IsNaN(v) {
				ymin, ymax = min(ymin, v), max(ymax, v)
			}
		}
	}
	groups := 0
	if len(b.values) > 0 {
		groups = len(b.values[0])
	}
	return -0.5, float64(groups) - 0.5, ymin, ymax
}

type costKind struct {
	label string
	color color.RGBA
	get   func(metrics.RedirectCost) metrics.CostLatency
}

var costKinds = []costKind{
	{"direct", rgb(0x4e79a7), func(c metrics.RedirectCost) metrics.CostLatency { return c.Direct }},
	{"after MOVED", rgb(0xe15759), func(c metrics.RedirectCost) metrics.CostLatency { return c.AfterMoved }},
	{"after ASK", rgb(0xf28e2b), func(c metrics.RedirectCost) metrics.CostLatency { return c.AfterAsk }},
	{"after a retry (TRYAGAIN, CLUSTERDOWN)", rgb(0x59a14f), func(c metrics.RedirectCost) metrics.CostLatency { return c.AfterRetry }},
}

// costFigure: p50 and p99 of direct vs redirected operations per strategy
// (log µs, the number of operations above each redirected bar), and the
// topology refreshes per strategy.
func costFigure(r *Run) *Figure {
	sts := r.Summary.Strategies
	if len(sts) == 0 {
		return nil
	}
	// Only the kinds some strategy has: most runs have no retries.
	var kinds []costKind
	for k, kind := range costKinds {
		for _, st := range sts {
			if kind.get(st.RedirectCost).Ops > 0 || k == 0 {
				kinds = append(kinds, kind)
				break
			}
		}
	}
	if len(kinds) == 1 && allZero(sts, kinds[0]) {
		return nil
	}
	names := r.Strategies()
	fig := &Figure{Title: "What a redirect costs: latency of direct and redirected operations", RowHeight: 200}
	for _, kind := range kinds {
		fig.Keys = append(fig.Keys, Key{Label: kind.label, Thumbs: []plot.Thumbnailer{swatch{kind.color}}})
	}
	for _, pct := range []struct {
		name string
		get  func(metrics.CostLatency) float64
	}{
		{"p50", func(c metrics.CostLatency) float64 { return c.P50 }},
		{"p99", func(c metrics.CostLatency) float64 { return c.P99 }},
	} {
		b := groupedBars{width: 0.8}
		for k, kind := range kinds {
			vals := make([]float64, len(sts))
			labels := make([]string, len(sts))
			for g, st := range sts {
				cl := kind.get(st.RedirectCost)
				vals[g] = math.NaN()
				if k > 0 && st.Redirects.Client == nil {
					labels[g] = "n/a" // the client cannot tell redirected operations apart
				}
				if cl.Ops > 0 && pct.get(cl) > 0 {
					vals[g] = pct.get(cl)
					if k > 0 {
						labels[g] = "n=" + strconv.FormatInt(cl.Ops, 10)
					}
				}
			}
			b.values = append(b.values, vals)
			b.labels = append(b.labels, labels)
			b.colors = append(b.colors, kind.color)
		}
		p := newPlot(pct.name+" latency (n: operations measured)", "", "latency")
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = logTicks{format: fmtUS}
		p.Add(hGrid(), b)
		nominalX(p, width, names)
		_, _, lo, hi := b.DataRange()
		if math.IsInf(lo, 0) {
			continue
		}
		p.Y.Min, p.Y.Max = lo/2, hi*3 // room for the n= labels
		fig.Rows = append(fig.Rows, []Cell{p})
	}

	// Refreshes as the client counted them, and the topology calls the
	// servers answered (which the real libraries' refreshes show up as).
	ref := groupedBars{width: 0.6, colors: []color.Color{rgb(0x76b7b2), rgb(0x9c755f)}}
	refVals := [2][]float64{make([]float64, len(sts)), make([]float64, len(sts))}
	refLabels := [2][]string{make([]string, len(sts)), make([]string, len(sts))}
	for g, st := range sts {
		// A strategy that cannot see its redirects (a real library)
		// cannot count its refreshes either: only the servers can.
		refVals[0][g], refLabels[0][g] = math.NaN(), "n/a"
		if st.Redirects.Client != nil {
			refVals[0][g] = float64(st.Refreshes)
			refLabels[0][g] = strconv.FormatInt(st.Refreshes, 10)
		}
		refVals[1][g] = math.NaN()
		if st.Topology != nil {
			refVals[1][g] = float64(st.Topology.Total)
			refLabels[1][g] = strconv.FormatInt(st.Topology.Total, 10)
		}
	}
	ref.values = refVals[:]
	ref.labels = refLabels[:]
	p := newPlot("topology refreshes", "", "count")
	p.Y.Tick.Marker = stepTicks{target: 5, integer: true}
	p.Add(hGrid(), ref)
	nominalX(p, width, names)
	_, _, _, hi := ref.DataRange()
	p.Y.Min, p.Y.Max = 0, max(1, hi*1.2)
	fig.Rows = append(fig.Rows, []Cell{p})
	fig.Keys = append(fig.Keys,
		Key{Label: "refreshes (client count)", Thumbs: []plot.Thumbnailer{swatch{ref.colors[0]}}},
		Key{Label: "CLUSTER SLOTS/SHARDS/NODES calls (servers)", Thumbs: []plot.Thumbnailer{swatch{ref.colors[1]}}})
	return fig
}

func allZero(sts []metrics.StrategySummary, kind costKind) bool {
	for _, st := range sts {
		if kind.get(st.RedirectCost).Ops > 0 {
			return false
		}
	}
	return true
}
