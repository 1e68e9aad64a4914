package plots

import (
	"fmt"
	"math"
	"slices"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg/draw"
)

// The percentile spectrum is drawn against x = 1/(1−p), on a log axis:
// 50% is at 2, 90% at 10, 99% at 100, 99.9% at 1000, so every added nine
// gets the same width (HdrHistogram's percentile distribution plots).
const maxSpectrumX = 1e5 // 99.999%

// spectrumPoints is how many points of the spectrum a line has.
const spectrumPoints = 240

// spectrum returns the latency (µs) of h against 1/(1−p) for p from 0 up
// to 1 − 1/n (beyond it a histogram of n values only repeats its max),
// capped at maxSpectrumX.
func spectrum(h *hdr.Histogram) plotter.XYs {
	n := h.TotalCount()
	if n == 0 {
		return nil
	}
	xmax := min(maxSpectrumX, float64(n))
	var pts plotter.XYs
	for i := range spectrumPoints {
		x := math.Pow(xmax, float64(i)/float64(spectrumPoints-1))
		q := (1 - 1/x) * 100
		v := float64(h.ValueAtQuantile(q)) / 1e3
		if v > 0 {
			pts = append(pts, plotter.XY{X: x, Y: v})
		}
	}
	return pts
}

// percentTicks label 1/(1−p) at the nines.
type percentTicks struct{}

func (percentTicks) Ticks(min, max float64) []plot.Tick {
	var ticks []plot.Tick
	for _, t := range []struct {
		x     float64
		label string
	}{{1, ""}, {2, "50%"}, {10, "90%"}, {100, "99%"}, {1e3, "99.9%"}, {1e4, "99.99%"}, {1e5, "99.999%"}} {
		if t.x >= min*(1-1e-9) && t.x <= max*(1+1e-9) {
			ticks = append(ticks, plot.Tick{Value: t.x, Label: t.label})
		}
	}
	return ticks
}

// phaseOrder is the run's phase order, then any other phase by name.
func (r *Run) phaseOrder() []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range r.Summary.PhaseOrder {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	var rest []string
	for _, st := range r.Summary.Strategies {
		for p := range st.Phases {
			if !seen[p] {
				seen[p] = true
				rest = append(rest, p)
			}
		}
	}
	slices.Sort(rest)
	return append(out, rest...)
}

// percentilesFigure: the latency percentile spectrum of each phase, one
// panel per phase, one line per strategy, decoded from the phase
// histograms of summary.json.
func percentilesFigure(r *Run) (*Figure, error) {
	type line struct {
		strategy int
		pts      plotter.XYs
	}
	byPhase := map[string][]line{}
	lo, hi, xmax := math.Inf(1), math.Inf(-1), 1.0
	for i, st := range r.Summary.Strategies {
		for name, ph := range st.Phases {
			if ph.Histogram == "" {
				continue
			}
			h, err := hdr.Decode([]byte(ph.Histogram))
			if err != nil {
				return nil, fmt.Errorf("%w: %s phase %s histogram: %v", ErrFormat, st.Name, name, err)
			}
			pts := spectrum(h)
			if len(pts) == 0 {
				continue
			}
			for _, pt := range pts {
				lo, hi, xmax = min(lo, pt.Y), max(hi, pt.Y), max(xmax, pt.X)
			}
			byPhase[name] = append(byPhase[name], line{i, pts})
		}
	}
	if len(byPhase) == 0 {
		return nil, nil
	}
	// The x axis label stays short: gonum places an axis label at the
	// middle of the data range, which on a log axis is near the right
	// end, and a long one would squeeze the panel.
	fig := &Figure{Title: "Latency percentile spectrum by phase (x: 1/(1 − p) on a log scale, each nine equally wide)", RowHeight: 190}
	used := make([]bool, len(r.Summary.Strategies))
	for _, phase := range r.phaseOrder() {
		lines := byPhase[phase]
		if len(lines) == 0 {
			continue
		}
		p := newPlot(phase+" phase", "", "latency")
		p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
		p.X.Tick.Marker, p.Y.Tick.Marker = percentTicks{}, logTicks{format: fmtUS}
		p.X.Min, p.X.Max = 1, max(10, xmax)
		p.Y.Min, p.Y.Max = lo/1.3, hi*1.3
		p.Add(plotter.NewGrid())
		for _, l := range lines {
			addLine(p, l.pts, draw.LineStyle{Color: seriesColor(l.strategy), Width: 1.5}, true)
			used[l.strategy] = true
		}
		fig.Rows = append(fig.Rows, []Cell{p})
	}
	fig.Rows[len(fig.Rows)-1][0].(*plot.Plot).X.Label.Text = "percentile"
	for i, st := range r.Summary.Strategies {
		if used[i] {
			fig.Keys = append(fig.Keys, Key{Label: st.Name, Thumbs: []plot.Thumbnailer{&plotter.Line{LineStyle: draw.LineStyle{Color: seriesColor(i), Width: 1.5}}}})
		}
	}
	return fig, nil
}
