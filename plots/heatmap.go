package plots

import (
	"cmp"
	"fmt"
	"image"
	"image/color"
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/brewer"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// The heatmap lays the 16384 slots out as a 128×128 grid, row by row:
// slot = row·128 + col, slot 0 at the top left.
const gridSide = 128

var (
	zeroColor     = color.RGBA{R: 0xee, G: 0xee, B: 0xee, A: 0xff}
	boundaryColor = color.RGBA{R: 0xd6, G: 0x1a, B: 0x1a, A: 0xff}
	boundaryStyle = draw.LineStyle{Color: boundaryColor, Width: 1.3}
)

// ramp is the heatmap's colour scale: ColorBrewer's sequential YlGnBu,
// light for few operations, dark blue for many, whose lightness changes
// monotonically so the order of colours reads without a legend. Its two
// palest colours are dropped: a slot with one operation must stand out
// from the empty ones (zeroColor).
var ramp = func() []color.RGBA {
	p, err := brewer.GetPalette(brewer.TypeSequential, "YlGnBu", 9)
	if err != nil {
		panic("plots: " + err.Error())
	}
	var out []color.RGBA
	for _, c := range p.Colors()[2:] {
		r, g, b, _ := c.RGBA()
		out = append(out, color.RGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: 0xff})
	}
	return out
}()

// rampAt interpolates the ramp at t in [0, 1].
func rampAt(t float64) color.RGBA {
	t = math.Max(0, math.Min(1, t)) * float64(len(ramp)-1)
	i := min(int(t), len(ramp)-2)
	f := t - float64(i)
	mix := func(a, b uint8) uint8 { return uint8(math.Round(float64(a)*(1-f) + float64(b)*f)) }
	a, b := ramp[i], ramp[i+1]
	return color.RGBA{R: mix(a.R, b.R), G: mix(a.G, b.G), B: mix(a.B, b.B), A: 0xff}
}

// HeatPanel is one heatmap: a count per slot (operations, keys) and,
// optionally, each slot's owner, whose boundaries are outlined.
type HeatPanel struct {
	Title  string
	Counts []uint64 // 16384 values, by slot
	Owners []string // by slot; nil: no boundaries
	Unit   string   // what is counted, e.g. "ops per slot"
}

// logMax is the top of the panel's colour scale, log10 of its largest
// count (at least 1, so that counts of 1 are not the darkest colour).
func (h *HeatPanel) logMax() float64 {
	return math.Max(1, math.Log10(float64(slices.Max(h.Counts))))
}

func (h *HeatPanel) colorOf(v uint64, logMax float64) color.RGBA {
	if v == 0 {
		return zeroColor
	}
	// Log scale: a hot slot can have 1000× the operations of the rest.
	return rampAt(math.Log10(float64(v)) / logMax)
}

// HeatmapFigure draws one 128×128 heatmap per panel, each with its own
// log colour scale, two panels per row when there are several.
func HeatmapFigure(title string, panels ...HeatPanel) (*Figure, error) {
	if len(panels) == 0 {
		return nil, fmt.Errorf("plots: heatmap: no panel")
	}
	for _, p := range panels {
		if len(p.Counts) != numSlots {
			return nil, fmt.Errorf("plots: heatmap %q: %d counts, want %d", p.Title, len(p.Counts), numSlots)
		}
		if p.Owners != nil && len(p.Owners) != numSlots {
			return nil, fmt.Errorf("plots: heatmap %q: %d owners, want %d", p.Title, len(p.Owners), numSlots)
		}
	}
	cols, rowH := 1, vg.Length(640)
	if len(panels) > 1 {
		cols, rowH = 2, 300
	}
	fig := &Figure{Title: title, RowHeight: rowH}
	fig.Keys = []Key{{Label: "none", Thumbs: []plot.Thumbnailer{swatch{zeroColor}}}}
	var cells []Cell
	owners := false
	for _, p := range panels {
		owners = owners || p.Owners != nil
		cells = append(cells, &heatCell{panel: p})
	}
	if owners {
		fig.Keys = append(fig.Keys, Key{Label: "boundary between owners", Thumbs: []plot.Thumbnailer{hline{boundaryStyle}}})
	}
	fig.Keys = append(fig.Keys, Key{Label: fmt.Sprintf("slot = row × %d + column", gridSide)})
	fig.Rows = grid(cells, cols)
	return fig, nil
}

// hline is a legend thumbnail: a horizontal line.
type hline struct{ style draw.LineStyle }

func (h hline) Thumbnail(c *draw.Canvas) {
	y := (c.Min.Y + c.Max.Y) / 2
	c.StrokeLine2(h.style, c.Min.X, y, c.Max.X, y)
}

// heatCell draws a heatmap with its colour bar to the right.
type heatCell struct {
	panel HeatPanel
}

func (h *heatCell) draw(c draw.Canvas) {
	const barW = 78
	logMax := h.panel.logMax()

	p := newPlot(h.panel.Title, "column", "row (first slot of the row)")
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, gridSide, 0, gridSide
	p.X.Tick.Marker = plot.ConstantTicks(gridTicks(false))
	p.Y.Tick.Marker = plot.ConstantTicks(gridTicks(true))
	p.X.Padding, p.Y.Padding = 0, 0
	p.Add(heatImage{panel: &h.panel, logMax: logMax})
	if h.panel.Owners != nil {
		p.Add(boundaries(h.panel.Owners))
	}
	var oc ownerColumn
	ownerW := vg.Length(0)
	if h.panel.Owners != nil {
		oc = newOwnerColumn(h.panel.Owners)
		ownerW = oc.width()
	}
	// Square cells: shrink the canvas until the data area is square.
	main := c
	main.Max.X -= barW + ownerW
	da := p.DataCanvas(main)
	if dw, dh := da.Size().X, da.Size().Y; dw > dh {
		main.Max.X -= dw - dh
	} else if dh > dw {
		main.Min.Y += dh - dw
	}
	p.Draw(main)
	da = p.DataCanvas(main)
	if h.panel.Owners != nil {
		oc.draw(c, da.Max.X+3, da.Max.Y, da.Min.Y)
	}

	bar := newPlot("", "", h.panel.Unit)
	bar.HideX()
	bar.X.Min, bar.X.Max, bar.Y.Min, bar.Y.Max = 0, 1, 0, logMax
	// The bar's axis is log10 of the count: label the counts.
	bar.Y.Tick.Marker = plot.TickerFunc(func(min, max float64) []plot.Tick {
		var ticks []plot.Tick
		for _, t := range (logTicks{format: fmtCount}).Ticks(1, math.Pow(10, max)) {
			ticks = append(ticks, plot.Tick{Value: math.Log10(t.Value), Label: t.Label})
		}
		return ticks
	})
	bar.Add(colorBar{})
	bc := c
	bc.Min.X, bc.Max.X = da.Max.X+ownerW+8, da.Max.X+ownerW+barW-4
	bc.Min.Y, bc.Max.Y = da.Min.Y, da.Max.Y
	bar.Draw(bc)
}

// gridTicks marks every 16 rows (columns); row ticks are labelled with
// the row's first slot. Row r spans y from 127−r to 128−r.
func gridTicks(rows bool) []plot.Tick {
	var ticks []plot.Tick
	for i := 0; i <= gridSide; i += 16 {
		if rows {
			ticks = append(ticks, plot.Tick{Value: float64(gridSide - i), Label: strconv.Itoa(i * gridSide)})
		} else {
			ticks = append(ticks, plot.Tick{Value: float64(i), Label: strconv.Itoa(i)})
		}
	}
	return ticks
}

// heatImage draws the cells as one image, scaled up with whole pixels
// per cell so that neither the PNG nor an SVG viewer blurs them.
type heatImage struct {
	panel  *HeatPanel
	logMax float64
}

func (h heatImage) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	rect := vg.Rectangle{Min: vg.Point{X: trX(0), Y: trY(0)}, Max: vg.Point{X: trX(gridSide), Y: trY(gridSide)}}
	px := int(math.Ceil(float64(rect.Size().X) / 72 * dpi))
	k := max(1, (px+gridSide-1)/gridSide)
	img := image.NewRGBA(image.Rect(0, 0, gridSide*k, gridSide*k))
	for slot, v := range h.panel.Counts {
		col := h.panel.colorOf(v, h.logMax)
		x0, y0 := (slot%gridSide)*k, (slot/gridSide)*k
		for y := y0; y < y0+k; y++ {
			for x := x0; x < x0+k; x++ {
				img.SetRGBA(x, y, col)
			}
		}
	}
	c.DrawImage(rect, img)
}

// colorBar fills its data area with the ramp, bottom to top.
type colorBar struct{}

func (colorBar) Plot(c draw.Canvas, p *plot.Plot) {
	const steps = 96
	h := c.Size().Y / steps
	for i := range steps {
		y := c.Min.Y + vg.Length(i)*h
		c.FillPolygon(rampAt((float64(i)+0.5)/steps), []vg.Point{{X: c.Min.X, Y: y}, {X: c.Max.X, Y: y}, {X: c.Max.X, Y: y + h + 0.3}, {X: c.Min.X, Y: y + h + 0.3}})
	}
}

// segment is a line between two grid points, in data coordinates.
type segment struct{ x0, y0, x1, y1 float64 }

// boundaries outlines the cells whose right or lower neighbour has
// another owner; collinear neighbouring pieces are merged into one line.
type boundaries []string

func (b boundaries) segments() []segment {
	var horiz, vert []segment
	for slot, o := range b {
		row, col := slot/gridSide, slot%gridSide
		top := float64(gridSide - row) // y of the row's upper edge
		if col+1 < gridSide && b[slot+1] != o {
			vert = append(vert, segment{float64(col + 1), top - 1, float64(col + 1), top})
		}
		if row+1 < gridSide && b[slot+gridSide] != o {
			horiz = append(horiz, segment{float64(col), top - 1, float64(col + 1), top - 1})
		}
	}
	// Horizontal pieces are in row order, each row by column: merge runs.
	var out []segment
	for _, s := range horiz {
		if n := len(out); n > 0 && out[n-1].y0 == s.y0 && out[n-1].x1 == s.x0 {
			out[n-1].x1 = s.x1
			continue
		}
		out = append(out, s)
	}
	slices.SortFunc(vert, func(a, b segment) int {
		if c := cmp.Compare(a.x0, b.x0); c != 0 {
			return c
		}
		return cmp.Compare(b.y0, a.y0) // top first
	})
	start := len(out)
	for _, s := range vert {
		if n := len(out); n > start && out[n-1].x0 == s.x0 && out[n-1].y0 == s.y1 {
			out[n-1].y0 = s.y0
			continue
		}
		out = append(out, s)
	}
	return out
}

func (b boundaries) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	for _, s := range b.segments() {
		c.StrokeLine2(boundaryStyle, trX(s.x0), trY(s.y0), trX(s.x1), trY(s.y1))
	}
}

// ownerRun is a run of consecutive slots with one owner.
type ownerRun struct {
	name        string
	first, last int // slots
}

// ownerRuns splits the slots into runs of one owner; unowned slots ("")
// are left out.
func ownerRuns(owners []string) []ownerRun {
	var runs []ownerRun
	for s := 0; s < len(owners); {
		e := s
		for e < len(owners) && owners[e] == owners[s] {
			e++
		}
		if owners[s] != "" {
			runs = append(runs, ownerRun{owners[s], s, e - 1})
		}
		s = e
	}
	return runs
}

// ownerColumn is the legend of the owners beside the grid: a bracket
// over the rows of each run of at least half a row, and each owner's
// name and slot count by its longest run. Outside the grid, it hides no
// cell.
type ownerColumn struct {
	runs   []ownerRun
	labels map[string]string // owner → label
	style  draw.TextStyle
}

func newOwnerColumn(owners []string) ownerColumn {
	oc := ownerColumn{labels: map[string]string{}, style: textStyle(9)}
	count := map[string]int{}
	for _, r := range ownerRuns(owners) {
		count[r.name] += r.last - r.first + 1
		if r.last-r.first+1 >= gridSide/2 {
			oc.runs = append(oc.runs, r)
		}
	}
	for name, n := range count {
		oc.labels[name] = shortAddr(name) + "\n" + strconv.Itoa(n) + " slots"
	}
	return oc
}

// width is the room the column needs.
func (oc ownerColumn) width() vg.Length {
	w := vg.Length(0)
	for _, l := range oc.labels {
		w = max(w, oc.style.Width(l))
	}
	return w + 14
}

// draw draws the column at x0, beside a grid whose rows span top..bottom.
func (oc ownerColumn) draw(c draw.Canvas, x0, top, bottom vg.Length) {
	rowH := (top - bottom) / gridSide
	y := func(slot int) vg.Length { return top - vg.Length(slot/gridSide)*rowH }
	line := draw.LineStyle{Color: markerColor, Width: 1}
	longest := map[string]ownerRun{}
	for _, r := range oc.runs {
		y0, y1 := y(r.first), y(r.last)-rowH
		c.StrokeLines(line, []vg.Point{{X: x0, Y: y0 - 0.5}, {X: x0 + 3, Y: y0 - 0.5}, {X: x0 + 3, Y: y1 + 0.5}, {X: x0, Y: y1 + 0.5}})
		if l, ok := longest[r.name]; !ok || r.last-r.first > l.last-l.first {
			longest[r.name] = r
		}
	}
	sty := oc.style
	sty.YAlign = draw.YCenter
	lineH := sty.FontExtents().Height
	var placed []vg.Length // centres of the labels drawn
	for _, r := range oc.runs {
		if longest[r.name] != r {
			continue
		}
		mid := (y(r.first) + y(r.last) - rowH) / 2
		if slices.ContainsFunc(placed, func(p vg.Length) bool { return math.Abs(float64(p-mid)) < float64(2*lineH) }) {
			continue // no room: the bracket is still there
		}
		placed = append(placed, mid)
		c.FillText(sty, vg.Point{X: x0 + 7, Y: mid}, oc.labels[r.name])
	}
}

// slotsHeatmap: the run's operations per slot, one panel per strategy,
// with the final owners.
func slotsHeatmap(r *Run) (*Figure, error) {
	var panels []HeatPanel
	for _, name := range r.Strategies() {
		sd := r.Slots[name]
		if sd == nil {
			continue
		}
		owners := sd.Owners
		if slices.IndexFunc(owners, func(s string) bool { return s != "" }) < 0 {
			owners = nil
		}
		var ops uint64
		for _, v := range sd.Ops {
			ops += v
		}
		panels = append(panels, HeatPanel{Title: fmt.Sprintf("%s: %s ops", name, fmtCount(float64(ops))), Counts: sd.Ops, Owners: owners, Unit: "ops per slot"})
	}
	if len(panels) == 0 {
		return nil, nil
	}
	return HeatmapFigure("Operations per slot, outlined by final owner", panels...)
}

var _ plot.Plotter = heatImage{}
var _ plot.Plotter = boundaries(nil)
var _ plot.Plotter = colorBar{}
