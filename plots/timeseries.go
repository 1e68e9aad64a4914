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

// window is a stretch of a strategy's run during which slots moved
// (migration) or a failover was under way.
type window struct {
	From, To float64
	Failover bool
}

var (
	migrationShade = color.RGBA{R: 0x4e, G: 0x79, B: 0xa7, A: 0xff}
	failoverShade  = color.RGBA{R: 0xe1, G: 0x57, B: 0x59, A: 0xff}
	markerColor    = color.RGBA{R: 0x44, G: 0x44, B: 0x44, A: 0xff}
)

// windowsOf pairs each migration_started (failover_started) with the next
// migration_finished or migration_aborted (failover_finished); one still
// open at the end of the events lasts until end.
func windowsOf(evs []Event, end float64) []window {
	var out []window
	openMig, openFail := math.NaN(), math.NaN()
	for _, ev := range evs {
		switch ev.Kind {
		case "migration_started":
			if math.IsNaN(openMig) {
				openMig = ev.T
			}
		case "migration_finished", "migration_aborted":
			if !math.IsNaN(openMig) {
				out = append(out, window{From: openMig, To: ev.T})
				openMig = math.NaN()
			}
		case "failover_started":
			if math.IsNaN(openFail) {
				openFail = ev.T
			}
		case "failover_finished":
			if !math.IsNaN(openFail) {
				out = append(out, window{From: openFail, To: ev.T, Failover: true})
				openFail = math.NaN()
			}
		}
	}
	if !math.IsNaN(openMig) {
		out = append(out, window{From: openMig, To: max(end, openMig)})
	}
	if !math.IsNaN(openFail) {
		out = append(out, window{From: openFail, To: max(end, openFail), Failover: true})
	}
	return out
}

// markerLabels are the events drawn as vertical lines, with their labels.
var markerLabels = map[string]string{
	"node_added":        "node added",
	"node_removed":      "node removed",
	"node_drained":      "node drained",
	"failover_started":  "failover",
	"failover_finished": "failover done",
	"migration_aborted": "migration aborted",
}

type marker struct {
	T     float64
	Label string
}

func markersOf(evs []Event) []marker {
	var out []marker
	for _, ev := range evs {
		if l, ok := markerLabels[ev.Kind]; ok {
			out = append(out, marker{T: ev.T, Label: l})
		}
	}
	return out
}

// bands shades the windows over the whole height of a panel.
type bands []window

func (b bands) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	for _, w := range b {
		x0, x1 := max(trX(w.From), c.Min.X), min(trX(w.To), c.Max.X)
		if x1 <= x0 {
			continue
		}
		col := alpha(migrationShade, 0.16)
		if w.Failover {
			col = alpha(failoverShade, 0.16)
		}
		c.FillPolygon(col, []vg.Point{{X: x0, Y: c.Min.Y}, {X: x1, Y: c.Min.Y}, {X: x1, Y: c.Max.Y}, {X: x0, Y: c.Max.Y}})
	}
}

// swatch is a legend thumbnail: a filled box.
type swatch struct{ color color.Color }

func (s swatch) Thumbnail(c *draw.Canvas) {
	c.FillPolygon(s.color, []vg.Point{c.Min, {X: c.Max.X, Y: c.Min.Y}, c.Max, {X: c.Min.X, Y: c.Max.Y}})
}

// vline is a legend thumbnail: a vertical line in style.
type vline struct{ style draw.LineStyle }

func (v vline) Thumbnail(c *draw.Canvas) {
	x := (c.Min.X + c.Max.X) / 2
	c.StrokeLine2(v.style, x, c.Min.Y, x, c.Max.Y)
}

var markerStyle = draw.LineStyle{Color: markerColor, Width: 1, Dashes: []vg.Length{4, 3}}

// markers draws the events as dashed vertical lines, labelled at the top;
// a label that would run into the previous one moves down a line.
type markers []marker

func (m markers) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	sty := textStyle(8)
	sty.Color = markerColor
	sty.YAlign = draw.YTop
	lineH := sty.FontExtents().Height
	lastEnd := []vg.Length{} // right end of the last label per line
	for _, mk := range m {
		x := trX(mk.T)
		if x < c.Min.X || x > c.Max.X {
			continue
		}
		c.StrokeLine2(markerStyle, x, c.Min.Y, x, c.Max.Y)
		w := sty.Width(mk.Label)
		tx := x + 2
		if tx+w > c.Max.X { // keep the label inside: put it left of the line
			tx = x - 2 - w
		}
		line := 0
		for line < len(lastEnd) && lastEnd[line] > tx {
			line++
		}
		if line == len(lastEnd) {
			lastEnd = append(lastEnd, 0)
		}
		lastEnd[line] = tx + w + 4
		c.FillText(sty, vg.Point{X: tx, Y: c.Max.Y - 2 - vg.Length(line)*lineH}, mk.Label)
	}
}

// note writes a line of text in the middle of a panel.
type note string

func (n note) Plot(c draw.Canvas, _ *plot.Plot) {
	sty := textStyle(11)
	sty.Color = markerColor
	sty.XAlign, sty.YAlign = draw.XCenter, draw.YCenter
	c.FillText(sty, c.Center(), string(n))
}

// series is one line of a time chart: points with y ≤ 0 (no operation in
// the interval) are gaps when log is set.
func series(rows []metrics.TimelineRow, interval float64, y func(metrics.TimelineRow) float64) plotter.XYs {
	pts := make(plotter.XYs, 0, len(rows))
	for _, r := range rows {
		// Plot each interval at its middle: its value is the interval's.
		pts = append(pts, plotter.XY{X: r.Start.Seconds() + interval/2, Y: y(r)})
	}
	return pts
}

// addLine adds pts as a line, split at the non-positive points when log
// is set (a log axis cannot show them), downsampled per segment. It
// returns a line for the legend.
func addLine(p *plot.Plot, pts plotter.XYs, sty draw.LineStyle, log bool) *plotter.Line {
	var segs []plotter.XYs
	if log {
		var cur plotter.XYs
		for _, pt := range pts {
			if pt.Y > 0 {
				cur = append(cur, pt)
				continue
			}
			if len(cur) > 0 {
				segs = append(segs, cur)
			}
			cur = nil
		}
		if len(cur) > 0 {
			segs = append(segs, cur)
		}
	} else {
		segs = []plotter.XYs{pts}
	}
	var thumb *plotter.Line
	for _, seg := range segs {
		seg = downsample(seg, maxPoints)
		if len(seg) == 1 {
			sc, err := plotter.NewScatter(seg)
			if err == nil {
				sc.GlyphStyle = draw.GlyphStyle{Color: sty.Color, Radius: 1.5, Shape: draw.CircleGlyph{}}
				p.Add(sc)
			}
			continue
		}
		l, err := plotter.NewLine(seg)
		if err != nil {
			continue // NaN or Inf in the data: skip the segment
		}
		l.LineStyle = sty
		p.Add(l)
		thumb = l
	}
	if thumb == nil {
		thumb = &plotter.Line{LineStyle: sty}
	}
	return thumb
}

// timeAxis sets the shared x range of the time charts.
func timeAxis(p *plot.Plot, end float64, label bool) {
	p.X.Min, p.X.Max = 0, end
	p.X.Tick.Marker = stepTicks{target: 12}
	if label {
		p.X.Label.Text = "time since the strategy's start (s)"
	}
}

// timelineEnd is the end of the longest timeline, or the last event of a
// strategy with a timeline when that is later (seconds).
func (r *Run) timelineEnd() float64 {
	var end float64
	for name, rows := range r.Timeline {
		if n := len(rows); n > 0 {
			end = max(end, rows[n-1].Start.Seconds()+r.Interval)
			if evs := r.Events[name]; len(evs) > 0 {
				end = max(end, evs[len(evs)-1].T)
			}
		}
	}
	return end
}

// timed returns the strategies that have timeline rows, in summary order.
func (r *Run) timed() []string {
	var out []string
	for _, name := range r.Strategies() {
		if len(r.Timeline[name]) > 0 {
			out = append(out, name)
		}
	}
	return out
}

// panelGrid lays out one panel per strategy: one column up to four
// panels, two above.
func panelGrid(n int) (cols int, rowHeight vg.Length) {
	switch {
	case n == 1:
		return 1, 260
	case n == 2:
		return 1, 210
	case n <= 4:
		return 1, 170
	}
	return 2, 160
}

// grid arranges cells row by row in cols columns.
func grid(cells []Cell, cols int) [][]Cell {
	var rows [][]Cell
	for i := 0; i < len(cells); i += cols {
		rows = append(rows, cells[i:min(i+cols, len(cells))])
	}
	return rows
}

// isBottom reports whether panel i of n in cols columns is the lowest of
// its column (it gets the x label).
func isBottom(i, n, cols int) bool { return i+cols >= n }

// windowKeys are the legend entries for the shading and the markers that
// appear in the run.
func (r *Run) windowKeys(names []string) []Key {
	var mig, fail, mark bool
	end := r.timelineEnd()
	for _, name := range names {
		for _, w := range windowsOf(r.Events[name], end) {
			mig = mig || !w.Failover
			fail = fail || w.Failover
		}
		mark = mark || len(markersOf(r.Events[name])) > 0
	}
	var keys []Key
	if mig {
		keys = append(keys, Key{Label: "slots migrating", Thumbs: []plot.Thumbnailer{swatch{alpha(migrationShade, 0.16)}}})
	}
	if fail {
		keys = append(keys, Key{Label: "failover", Thumbs: []plot.Thumbnailer{swatch{alpha(failoverShade, 0.16)}}})
	}
	if mark {
		keys = append(keys, Key{Label: "cluster event", Thumbs: []plot.Thumbnailer{vline{markerStyle}}})
	}
	return keys
}

var latencyLines = []struct {
	label string
	color color.RGBA
	width vg.Length
	value func(metrics.TimelineRow) float64
}{
	{"p50", rgb(0x4e79a7), 1.4, func(r metrics.TimelineRow) float64 { return r.Latency.P50 }},
	{"p99", rgb(0xf28e2b), 1.4, func(r metrics.TimelineRow) float64 { return r.Latency.P99 }},
	{"p99.9", rgb(0xc0392b), 1.2, func(r metrics.TimelineRow) float64 { return r.Latency.P999 }},
}

// latencyFigure: p50/p99/p99.9 per interval, one panel per strategy on a
// shared log scale, with the migration windows and cluster events.
func latencyFigure(r *Run) *Figure {
	names := r.timed()
	if len(names) == 0 {
		return nil
	}
	end := r.timelineEnd()
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, name := range names {
		for _, row := range r.Timeline[name] {
			for _, l := range latencyLines {
				if v := l.value(row); v > 0 {
					lo, hi = min(lo, v), max(hi, v)
				}
			}
		}
	}
	if math.IsInf(lo, 0) {
		return nil // no operation at all
	}
	// Room above the highest line for the event labels.
	lo, hi = lo/1.5, hi*4

	cols, rowH := panelGrid(len(names))
	fig := &Figure{Title: "Latency per interval", RowHeight: rowH}
	var cells []Cell
	for i, name := range names {
		p := newPlot(name, "", "latency")
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = logTicks{format: fmtUS}
		p.Y.Min, p.Y.Max = lo, hi
		timeAxis(p, end, isBottom(i, len(names), cols))
		p.Add(bands(windowsOf(r.Events[name], end)), plotter.NewGrid())
		for _, l := range latencyLines {
			line := addLine(p, series(r.Timeline[name], r.Interval, l.value), draw.LineStyle{Color: l.color, Width: l.width}, true)
			if i == 0 {
				fig.Keys = append(fig.Keys, Key{Label: l.label, Thumbs: []plot.Thumbnailer{line}})
			}
		}
		p.Add(markers(markersOf(r.Events[name])))
		cells = append(cells, p)
	}
	fig.Keys = append(fig.Keys, r.windowKeys(names)...)
	fig.Rows = grid(cells, cols)
	return fig
}

// redirectsFigure: MOVED/s, ASK/s (and TRYAGAIN/s when any) as the client
// saw them, one panel per strategy; strategies that cannot see their
// redirects get the servers' totals in their title instead.
func redirectsFigure(r *Run) *Figure {
	names := r.timed()
	if len(names) == 0 {
		return nil
	}
	end := r.timelineEnd()
	anyTry := false
	for _, name := range names {
		for _, row := range r.Timeline[name] {
			anyTry = anyTry || row.TryAgain > 0
		}
	}
	// A library that does not expose its redirects gets the servers'
	// counts (INFO errorstats) instead: every redirect they sent went to
	// it, the only client during its run.
	type rate struct {
		label          string
		color          color.RGBA
		client, server func(metrics.TimelineRow) int64
	}
	rates := []rate{
		{"MOVED/s", rgb(0xe15759), func(row metrics.TimelineRow) int64 { return row.Moved }, func(row metrics.TimelineRow) int64 { return row.ServerMoved }},
		{"ASK/s", rgb(0x4e79a7), func(row metrics.TimelineRow) int64 { return row.Ask }, func(row metrics.TimelineRow) int64 { return row.ServerAsk }},
	}
	if anyTry {
		rates = append(rates, rate{"TRYAGAIN/s", rgb(0x59a14f), func(row metrics.TimelineRow) int64 { return row.TryAgain }, nil})
	}
	cols, rowH := panelGrid(len(names))
	fig := &Figure{Title: "Redirects per second (as the client counted them; for a library, as the servers sent them)", RowHeight: rowH}
	var cells []Cell
	for i, name := range names {
		st := r.strategy(name)
		title := name
		if st != nil {
			srv := st.Redirects.Server
			if st.Redirects.Client == nil {
				title = fmt.Sprintf("%s: servers sent MOVED %d, ASK %d", name, srv.Moved, srv.Ask)
			} else {
				title = fmt.Sprintf("%s: MOVED %d, ASK %d in all", name, st.Redirects.Client.Moved, st.Redirects.Client.Ask)
			}
		}
		p := newPlot(title, "", "per second")
		p.Y.Tick.Marker = countTicks{}
		timeAxis(p, end, isBottom(i, len(names), cols))
		p.Add(bands(windowsOf(r.Events[name], end)), plotter.NewGrid())
		top := 0.0
		fromServers := st != nil && st.Redirects.Client == nil
		for _, rt := range rates {
			count := rt.client
			if fromServers {
				count = rt.server
			}
			style := draw.LineStyle{Color: rt.color, Width: 1.4}
			line := &plotter.Line{LineStyle: style}
			if count != nil {
				pts := series(r.Timeline[name], r.Interval, func(row metrics.TimelineRow) float64 { return float64(count(row)) / r.Interval })
				for _, pt := range pts {
					top = max(top, pt.Y)
				}
				line = addLine(p, pts, style, false)
			}
			if i == 0 {
				fig.Keys = append(fig.Keys, Key{Label: rt.label, Thumbs: []plot.Thumbnailer{line}})
			}
		}
		p.Y.Min, p.Y.Max = 0, max(1, top*1.25)
		if fromServers {
			p.Add(note("the library does not expose its redirects: the servers' counts"))
		}
		p.Add(markers(markersOf(r.Events[name])))
		cells = append(cells, p)
	}
	fig.Keys = append(fig.Keys, r.windowKeys(names)...)
	fig.Rows = grid(cells, cols)
	return fig
}

func (r *Run) strategy(name string) *metrics.StrategySummary {
	for i := range r.Summary.Strategies {
		if r.Summary.Strategies[i].Name == name {
			return &r.Summary.Strategies[i]
		}
	}
	return nil
}

// lanes draws each strategy's windows as a thin bar in its colour along
// the top of the panel, one lane per strategy: a Gantt strip that shows
// when each strategy was migrating without hiding the lines below.
type lanes struct {
	windows [][]window
}

func (l lanes) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	n := len(l.windows)
	laneH := min(6, c.Size().Y*0.16/vg.Length(max(n, 1)))
	for i, ws := range l.windows {
		y := c.Max.Y - vg.Length(i+1)*laneH
		for _, w := range ws {
			x0, x1 := max(trX(w.From), c.Min.X), min(trX(w.To), c.Max.X)
			if x1 <= x0 {
				continue
			}
			h := laneH * 0.7
			if w.Failover {
				h = laneH * 0.35
			}
			c.FillPolygon(seriesColor(i), []vg.Point{{X: x0, Y: y}, {X: x1, Y: y}, {X: x1, Y: y + h}, {X: x0, Y: y + h}})
		}
	}
}

// throughputFigure: ops/s per interval, all strategies in one panel, with
// each strategy's migration window as a bar in its colour along the top.
func throughputFigure(r *Run) *Figure {
	names := r.timed()
	if len(names) == 0 {
		return nil
	}
	end := r.timelineEnd()
	fig := &Figure{Title: "Throughput per interval", RowHeight: 330}
	p := newPlot("", "time since the strategy's start (s)", "ops/s")
	p.Y.Tick.Marker = countTicks{}
	timeAxis(p, end, true)
	p.Add(plotter.NewGrid())
	top := 0.0
	var ws [][]window
	anyWindow, anyFailover := false, false
	for i, name := range names {
		pts := series(r.Timeline[name], r.Interval, func(row metrics.TimelineRow) float64 { return row.Throughput })
		for _, pt := range pts {
			top = max(top, pt.Y)
		}
		line := addLine(p, pts, draw.LineStyle{Color: seriesColor(i), Width: 1.6}, false)
		fig.Keys = append(fig.Keys, Key{Label: name, Thumbs: []plot.Thumbnailer{line}})
		w := windowsOf(r.Events[name], end)
		anyWindow = anyWindow || len(w) > 0
		for _, x := range w {
			anyFailover = anyFailover || x.Failover
		}
		ws = append(ws, w)
	}
	p.Y.Min, p.Y.Max = 0, max(1, top*1.08)
	if anyWindow {
		p.Y.Max = max(1, top*1.3) // room for the lanes
		p.Add(lanes{windows: ws})
		label := "bar along the top: when each strategy's slots were migrating"
		if anyFailover {
			label += " (thin bar: failover)"
		}
		fig.Keys = append(fig.Keys, Key{Label: label, Thumbs: []plot.Thumbnailer{swatch{markerColor}}})
	}
	fig.Rows = [][]Cell{{p}}
	return fig
}
