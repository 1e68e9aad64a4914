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

// CapacityChart is the chart of a capacity search (summary.json
// strategies[].capacity), drawn by DrawRun.
const CapacityChart = "capacity"

var (
	sloColor = rgb(0xc0392b)
	sloStyle = draw.LineStyle{Color: sloColor, Width: 1.5, Dashes: []vg.Length{6, 3}}
	// generatorStyle marks the GeneratorMinShare of the target.
	generatorStyle = draw.LineStyle{Color: color.Gray{Y: 0x80}, Width: 1, Dashes: []vg.Length{2, 3}}
)

// capacityFigure draws every capacity search of the run: above, p99 (log
// scale) against the achieved throughput of each step, one line per
// strategy, with the SLO as a horizontal line; below, achieved against
// target throughput, with the line under which the generator, not the
// cluster, was the limit. A step that met the SLO is a dot, the step that
// ended a search a cross. nil when no strategy ran a search.
func capacityFigure(r *Run) *Figure {
	var slo float64
	var searches []int // strategy indexes
	for i, st := range r.Summary.Strategies {
		if c := st.Capacity; c != nil && len(c.Steps) > 0 {
			searches = append(searches, i)
			slo = c.SLOP99US
		}
	}
	if len(searches) == 0 {
		return nil
	}
	lat := newPlot("p99 per step against the throughput it achieved", "achieved throughput (ops/s)", "p99 latency")
	lat.Y.Scale = plot.LogScale{}
	lat.Y.Tick.Marker = logTicks{format: fmtUS}
	lat.X.Tick.Marker = countTicks{}
	rate := newPlot("throughput achieved against scheduled", "target throughput (ops/s)", "achieved (ops/s)")
	rate.X.Tick.Marker, rate.Y.Tick.Marker = countTicks{}, countTicks{}
	lat.Add(plotter.NewGrid())
	rate.Add(plotter.NewGrid())

	lo, hi := slo, slo
	xmax, tmax := 0.0, 0.0
	fig := &Figure{Title: "Capacity search", RowHeight: 260}
	for _, i := range searches {
		st := r.Summary.Strategies[i]
		c := st.Capacity
		col := seriesColor(i)
		var latPts, ratePts, ok, missed plotter.XYs
		for _, s := range c.Steps {
			xmax, tmax = max(xmax, s.AchievedRate), max(tmax, s.TargetRate)
			ratePts = append(ratePts, plotter.XY{X: s.TargetRate, Y: s.AchievedRate})
			if s.LatencyUS.P99 <= 0 {
				continue // no op: nothing to place on a log axis
			}
			pt := plotter.XY{X: s.AchievedRate, Y: s.LatencyUS.P99}
			lo, hi = min(lo, pt.Y), max(hi, pt.Y)
			latPts = append(latPts, pt)
			if s.Verdict == metrics.StepOK {
				ok = append(ok, pt)
			} else {
				missed = append(missed, pt)
			}
		}
		line := draw.LineStyle{Color: col, Width: 1.5}
		addPolyline(lat, latPts, line)
		addGlyphs(lat, ok, draw.GlyphStyle{Color: col, Radius: 3, Shape: draw.CircleGlyph{}})
		addGlyphs(lat, missed, draw.GlyphStyle{Color: col, Radius: 5, Shape: draw.CrossGlyph{}})
		addPolyline(rate, ratePts, line)
		addGlyphs(rate, ratePts, draw.GlyphStyle{Color: col, Radius: 2.5, Shape: draw.CircleGlyph{}})
		label := fmt.Sprintf("%s: up to %s ops/s met the SLO (limited by %s)", st.Name, fmtCount(c.MaxRateMeetingSLO), c.LimitedBy)
		if c.MaxRateMeetingSLO == 0 {
			label = fmt.Sprintf("%s: no step met the SLO (limited by %s)", st.Name, c.LimitedBy)
		}
		fig.Keys = append(fig.Keys, Key{Label: label, Thumbs: []plot.Thumbnailer{&plotter.Line{LineStyle: line}}})
	}
	xmax = max(xmax, 1) * 1.05
	tmax = max(tmax, 1) * 1.05
	sloLine, err := plotter.NewLine(plotter.XYs{{X: 0, Y: slo}, {X: xmax, Y: slo}})
	if err == nil {
		sloLine.LineStyle = sloStyle
		lat.Add(sloLine)
		fig.Keys = append(fig.Keys, Key{Label: "SLO p99 ≤ " + fmtUS(slo), Thumbs: []plot.Thumbnailer{sloLine}})
	}
	lat.X.Min, lat.X.Max = 0, xmax
	lat.Y.Min, lat.Y.Max = lo/1.5, hi*1.5
	if lat.Y.Min <= 0 {
		lat.Y.Min = math.Min(1, lat.Y.Max/10)
	}

	full, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: tmax, Y: tmax}})
	if err == nil {
		full.LineStyle = diagonalStyle
		rate.Add(full)
		fig.Keys = append(fig.Keys, Key{Label: "achieved = target", Thumbs: []plot.Thumbnailer{full}})
	}
	gen, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: tmax, Y: tmax * metrics.GeneratorMinShare}})
	if err == nil {
		gen.LineStyle = generatorStyle
		rate.Add(gen)
		fig.Keys = append(fig.Keys, Key{Label: fmt.Sprintf("%.0f%% of target: below, the generator was the limit", 100*metrics.GeneratorMinShare),
			Thumbs: []plot.Thumbnailer{gen}})
	}
	rate.X.Min, rate.X.Max, rate.Y.Min, rate.Y.Max = 0, tmax, 0, tmax
	fig.Rows = [][]Cell{{lat}, {rate}}
	return fig
}

// addPolyline joins pts in order (a line needs two points).
func addPolyline(p *plot.Plot, pts plotter.XYs, sty draw.LineStyle) {
	if len(pts) < 2 {
		return
	}
	l, err := plotter.NewLine(pts)
	if err != nil {
		return
	}
	l.LineStyle = sty
	p.Add(l)
}

// addGlyphs marks each of pts.
func addGlyphs(p *plot.Plot, pts plotter.XYs, sty draw.GlyphStyle) {
	if len(pts) == 0 {
		return
	}
	sc, err := plotter.NewScatter(pts)
	if err != nil {
		return
	}
	sc.GlyphStyle = sty
	p.Add(sc)
}
