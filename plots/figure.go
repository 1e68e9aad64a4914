package plots

import (
	"bufio"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"

	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Figure geometry: PNGs are WidthPx pixels wide at dpi, so a point of
// text is the same size in the PNG and the SVG.
const (
	WidthPx = 1200
	dpi     = 96
)

// width is WidthPx in vg units (points, 1/72 inch).
var width = vg.Length(WidthPx) * vg.Inch / dpi

var (
	sans     = font.Font{Typeface: "Liberation", Variant: "Sans"}
	sansBold = font.Font{Typeface: "Liberation", Variant: "Sans", Weight: xfont.WeightBold}
)

// Key is one entry of a figure's legend: a label after its thumbnails.
type Key struct {
	Label  string
	Thumbs []plot.Thumbnailer
}

// Cell is one tile of a figure: a *plot.Plot, or anything that draws
// itself into the canvas it is given.
type Cell any

// cellDrawer is a Cell that is not a plot.
type cellDrawer interface{ draw(c draw.Canvas) }

// Figure is a titled grid of panels with a shared legend above them,
// saved as PNG and SVG. Legends live outside the panels so that they
// never cover data.
type Figure struct {
	Title string
	Keys  []Key
	// Rows of cells; a nil cell is left blank. When every cell is a
	// *plot.Plot their data areas are aligned (shared axes line up).
	Rows [][]Cell
	// RowHeight is the height of each row of panels.
	RowHeight vg.Length
}

const (
	titleSize = 15
	keySize   = 11
	pad       = vg.Length(6)
	thumbW    = vg.Length(22)
)

func (f *Figure) titleHeight() vg.Length {
	if f.Title == "" {
		return 0
	}
	sty := textStyle(titleSize)
	sty.Font = font.From(sansBold, titleSize)
	return sty.FontExtents().Height + 2*pad
}

// keyLayout places the legend entries in rows no wider than w: for each
// entry its row and x offset.
func keyLayout(keys []Key, w vg.Length) (rows int, at []vg.Point, rowH vg.Length) {
	sty := textStyle(keySize)
	rowH = sty.FontExtents().Height * 1.5
	x, row := vg.Length(0), 0
	for _, k := range keys {
		ew := thumbW + 4 + sty.Width(k.Label) + 18
		if x > 0 && x+ew > w {
			row++
			x = 0
		}
		at = append(at, vg.Point{X: x, Y: vg.Length(row)})
		x += ew
	}
	if len(keys) > 0 {
		rows = row + 1
	}
	return rows, at, rowH
}

func (f *Figure) keysHeight() vg.Length {
	rows, _, rowH := keyLayout(f.Keys, width-4*pad)
	if rows == 0 {
		return 0
	}
	return vg.Length(rows)*rowH + pad
}

// Height is the figure's height in points.
func (f *Figure) Height() vg.Length {
	return f.titleHeight() + f.keysHeight() + vg.Length(len(f.Rows))*f.RowHeight + pad
}

// Draw draws the figure into c (of width × Height()).
func (f *Figure) Draw(c draw.Canvas) {
	top := c.Max.Y
	if f.Title != "" {
		sty := textStyle(titleSize)
		sty.Font = font.From(sansBold, titleSize)
		sty.XAlign, sty.YAlign = draw.XCenter, draw.YTop
		c.FillText(sty, vg.Point{X: (c.Min.X + c.Max.X) / 2, Y: top - pad}, f.Title)
		top -= f.titleHeight()
	}
	if len(f.Keys) > 0 {
		_, at, rowH := keyLayout(f.Keys, c.Size().X-4*pad)
		sty := textStyle(keySize)
		sty.YAlign = draw.YCenter
		for i, k := range f.Keys {
			x := c.Min.X + 2*pad + at[i].X
			y := top - at[i].Y*rowH - rowH
			thumb := draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{
				Min: vg.Point{X: x, Y: y + rowH*0.2}, Max: vg.Point{X: x + thumbW, Y: y + rowH*0.8}}}
			for _, t := range k.Thumbs {
				t.Thumbnail(&thumb)
			}
			c.FillText(sty, vg.Point{X: x + thumbW + 4, Y: y + rowH/2}, k.Label)
		}
		top -= f.keysHeight()
	}
	if len(f.Rows) == 0 {
		return
	}
	cols := 0
	for _, r := range f.Rows {
		cols = max(cols, len(r))
	}
	area := c
	area.Max.Y = top
	area.Min.Y = top - vg.Length(len(f.Rows))*f.RowHeight
	tiles := draw.Tiles{Rows: len(f.Rows), Cols: cols, PadX: 4 * pad, PadY: 2 * pad, PadLeft: pad, PadRight: 2 * pad, PadBottom: pad}
	if grid, ok := f.plotGrid(cols); ok {
		canvases := plot.Align(grid, tiles, area)
		for i, row := range grid {
			for j, p := range row {
				if p != nil {
					p.Draw(canvases[i][j])
				}
			}
		}
		return
	}
	for i, row := range f.Rows {
		for j, cell := range row {
			tc := tiles.At(area, j, i)
			switch x := cell.(type) {
			case *plot.Plot:
				x.Draw(tc)
			case cellDrawer:
				x.draw(tc)
			}
		}
	}
}

// plotGrid returns the rows as plots, padded to cols, when every cell is
// a plot (or nil).
func (f *Figure) plotGrid(cols int) ([][]*plot.Plot, bool) {
	grid := make([][]*plot.Plot, len(f.Rows))
	for i, row := range f.Rows {
		grid[i] = make([]*plot.Plot, cols)
		for j, cell := range row {
			switch x := cell.(type) {
			case nil:
			case *plot.Plot:
				grid[i][j] = x
			default:
				return nil, false
			}
		}
	}
	return grid, true
}

// Save writes the figure as dir/name.png and dir/name.svg and returns the
// paths written.
func (f *Figure) Save(dir, name string) ([]string, error) {
	h := f.Height()
	png := filepath.Join(dir, name+".png")
	err := writeTo(png, func(w io.Writer) error {
		c := vgimg.NewWith(vgimg.UseWH(width, h), vgimg.UseDPI(dpi))
		f.Draw(draw.New(c))
		_, err := vgimg.PngCanvas{Canvas: c}.WriteTo(w)
		return err
	})
	if err != nil {
		return nil, err
	}
	svg := filepath.Join(dir, name+".svg")
	err = writeTo(svg, func(w io.Writer) error {
		c := vgsvg.New(width, h)
		f.Draw(draw.New(c))
		_, err := c.WriteTo(w)
		return err
	})
	if err != nil {
		return []string{png}, err
	}
	return []string{png, svg}, nil
}

// writeTo writes path through a temporary file renamed into place.
func writeTo(path string, fill func(io.Writer) error) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("plots: %w", err)
	}
	defer func() {
		if err != nil {
			os.Remove(tmp.Name())
			err = fmt.Errorf("plots: write %s: %w", path, err)
		}
	}()
	bw := bufio.NewWriter(tmp)
	err = safely(func() error { return fill(bw) })
	if err == nil {
		err = bw.Flush()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	return err
}

// safely runs f, turning a panic into an error: gonum/plot panics on
// data it cannot draw, and a chart must never take down the run that
// produced the data.
func safely(f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("drawing failed: %v", p)
		}
	}()
	return f()
}

// textStyle is the figures' plain text style at size points.
func textStyle(size vg.Length) text.Style {
	return text.Style{Color: color.Black, Font: font.From(sans, size), Handler: plot.DefaultTextHandler}
}

// newPlot returns a plot in the figures' style: sans-serif text, a light
// grid drawn first.
func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = font.From(sansBold, 12)
	p.Title.Padding = 4
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = font.From(sans, 11)
		a.Tick.Label.Font = font.From(sans, 10)
		a.Tick.Length = 5
	}
	p.X.Label.Text, p.Y.Label.Text = xLabel, yLabel
	p.Legend.TextStyle.Font = font.From(sans, 10)
	return p
}

// nominalX names the groups of a bar chart along x (group g at x = g),
// slanting the names when they would run into each other.
func nominalX(p *plot.Plot, panelWidth vg.Length, names []string) {
	p.NominalX(names...)
	p.X.Min, p.X.Max = -0.5, float64(len(names))-0.5
	widest := vg.Length(0)
	for _, n := range names {
		widest = max(widest, p.X.Tick.Label.Width(n))
	}
	if widest > 0.9*panelWidth/vg.Length(max(len(names), 1)) {
		p.X.Tick.Label.Rotation = math.Pi / 7
		p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = draw.XRight, draw.YTop
	}
}

// hGrid is a grid of horizontal lines only, for bar charts, whose groups
// a vertical line would cut through.
func hGrid() *plotter.Grid {
	g := plotter.NewGrid()
	g.Vertical.Color = nil
	return g
}

// Colours: a qualitative palette of 12 (Tableau 10 and two more) for
// strategies, which stay distinguishable on screen and in print.
var seriesColors = []color.RGBA{
	rgb(0x4e79a7), rgb(0xf28e2b), rgb(0xe15759), rgb(0x76b7b2), rgb(0x59a14f), rgb(0xedc948),
	rgb(0xb07aa1), rgb(0xff9da7), rgb(0x9c755f), rgb(0x79706e), rgb(0x1f3b73), rgb(0x8cd17d),
}

func rgb(v uint32) color.RGBA {
	return color.RGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 255}
}

func seriesColor(i int) color.RGBA { return seriesColors[i%len(seriesColors)] }

// alpha returns c with opacity a (premultiplied, as image/color wants).
func alpha(c color.RGBA, a float64) color.RGBA {
	m := func(v uint8) uint8 { return uint8(math.Round(float64(v) * a)) }
	return color.RGBA{R: m(c.R), G: m(c.G), B: m(c.B), A: uint8(math.Round(255 * a))}
}

// logTicks labels the powers of ten between min and max with format,
// with unlabelled minor ticks at 2..9 × each power.
type logTicks struct{ format func(float64) string }

func (t logTicks) Ticks(min, max float64) []plot.Tick {
	if min <= 0 || max <= min {
		return nil
	}
	var ticks []plot.Tick
	for e := math.Floor(math.Log10(min)); e <= math.Ceil(math.Log10(max)); e++ {
		base := math.Pow(10, e)
		for k := 1; k < 10; k++ {
			v := base * float64(k)
			if v < min*(1-1e-9) || v > max*(1+1e-9) {
				continue
			}
			tick := plot.Tick{Value: v}
			// Over a short range label 2 and 5 too, or there would be
			// one label or none.
			if k == 1 || (k == 2 || k == 5) && max/min < 300 {
				tick.Label = t.format(v)
			}
			ticks = append(ticks, tick)
		}
	}
	// A range inside one decade would have no label: label its ends.
	labelled := 0
	for _, tk := range ticks {
		if tk.Label != "" {
			labelled++
		}
	}
	if labelled < 2 {
		ticks = append(ticks, plot.Tick{Value: min, Label: t.format(min)}, plot.Tick{Value: max, Label: t.format(max)})
	}
	return ticks
}

// fmtUS formats a latency in µs with a unit that keeps it short.
func fmtUS(us float64) string {
	switch {
	case us >= 1e6:
		return trimFloat(us/1e6) + " s"
	case us >= 1e3:
		return trimFloat(us/1e3) + " ms"
	}
	return trimFloat(us) + " µs"
}

// fmtCount formats a count with k/M suffixes.
func fmtCount(v float64) string {
	switch {
	case math.Abs(v) >= 1e6:
		return trimFloat(v/1e6) + "M"
	case math.Abs(v) >= 1e3:
		return trimFloat(v/1e3) + "k"
	}
	return trimFloat(v)
}

func trimFloat(v float64) string {
	if v >= 100 || v == math.Trunc(v) {
		return strconv.FormatFloat(math.Round(v), 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// stepTicks label multiples of a round step (1, 2 or 5 × 10^k) chosen to
// give about target labels, with an unlabelled tick halfway between.
// Integer axes (counts) never get a step below 1.
type stepTicks struct {
	target  int
	integer bool
}

func (t stepTicks) Ticks(min, max float64) []plot.Tick {
	if max <= min {
		return nil
	}
	raw := (max - min) / float64(t.target)
	if t.integer {
		raw = math.Max(raw, 1)
	}
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag * 10
	for _, m := range []float64{1, 2, 5} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var ticks []plot.Tick
	for i := math.Ceil(min / step * 2); i*step/2 <= max*(1+1e-12); i++ {
		v := i * step / 2
		tick := plot.Tick{Value: v}
		if t.integer && v != math.Trunc(v) {
			continue
		}
		if int(i)%2 == 0 {
			tick.Label = trimFloat(v)
		}
		ticks = append(ticks, tick)
	}
	return ticks
}

// countTicks are stepTicks with fmtCount labels.
type countTicks struct{}

func (countTicks) Ticks(min, max float64) []plot.Tick {
	ticks := stepTicks{target: 6}.Ticks(min, max)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = fmtCount(ticks[i].Value)
		}
	}
	return ticks
}
