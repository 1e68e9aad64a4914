package plots

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"

	"github.com/clusterbench/clusterbench/internal/fixture"
	"github.com/clusterbench/clusterbench/metrics"
)

// fixtureRun copies testdata/run into a temporary directory, unpacking
// slots.csv.gz, and returns the copy.
func fixtureRun(t *testing.T) string {
	t.Helper()
	return fixture.CopyRun(t, filepath.Join("testdata", "run"))
}

// checkPNG checks that path is a PNG WidthPx wide that is not blank: a
// chart has at least a background, text, axes and several series colours.
func checkPNG(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if cfg.Width != WidthPx || cfg.Height < 200 {
		t.Errorf("%s: %d×%d px, want %d wide and at least 200 high", path, cfg.Width, cfg.Height, WidthPx)
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	colors := map[[4]uint32]bool{}
	nonWhite := 0
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y += 2 {
		for x := bounds.Min.X; x < bounds.Max.X; x += 2 {
			r, g, b, a := img.At(x, y).RGBA()
			colors[[4]uint32{r, g, b, a}] = true
			if r < 0xf000 || g < 0xf000 || b < 0xf000 {
				nonWhite++
			}
		}
	}
	if len(colors) < 20 {
		t.Errorf("%s: only %d distinct colours", path, len(colors))
	}
	// At least 1% of the picture is ink.
	if total := bounds.Dx() * bounds.Dy() / 4; nonWhite*100 < total {
		t.Errorf("%s: only %d of %d sampled pixels are not white", path, nonWhite, total)
	}
}

// checkSVG checks that path is XML with an <svg> root and many elements.
func checkSVG(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	root, elements := "", 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: not XML: %v", path, err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if root == "" {
				root = se.Name.Local
			}
			elements++
		}
	}
	if root != "svg" {
		t.Errorf("%s: root element <%s>, want <svg>", path, root)
	}
	if elements < 50 {
		t.Errorf("%s: only %d elements", path, elements)
	}
}

var allCharts = []string{LatencyChart, ThroughputChart, RedirectsChart, RedirectCostChart, PercentilesChart, HeatmapChart, EvennessChart}

func TestDrawRunFixture(t *testing.T) {
	dir := fixtureRun(t)
	out := filepath.Join(t.TempDir(), "charts") // created by DrawRun
	files, err := DrawRun(dir, out)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, c := range allCharts {
		want = append(want, filepath.Join(out, c+".png"), filepath.Join(out, c+".svg"))
	}
	if !slices.Equal(files, want) {
		t.Fatalf("DrawRun wrote %v, want %v", files, want)
	}
	for _, f := range files {
		if strings.HasSuffix(f, ".png") {
			checkPNG(t, f)
		} else {
			checkSVG(t, f)
		}
	}
	// No temporary file is left behind.
	left, _ := filepath.Glob(filepath.Join(out, ".*"))
	if len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestDrawRunDefaultOut(t *testing.T) {
	dir := fixtureRun(t)
	files, err := DrawRun(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2*len(allCharts) || filepath.Dir(files[0]) != dir {
		t.Errorf("DrawRun(dir, \"\") wrote %v, want %d files in %s", files, 2*len(allCharts), dir)
	}
}

// A run without timeline.csv, events.csv and slots.csv still has its
// summary: the charts drawn from it alone are drawn, the others skipped.
func TestDrawRunSkipsWhatIsMissing(t *testing.T) {
	dir := fixtureRun(t)
	for _, f := range []string{"timeline.csv", "slots.csv", "events.csv"} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	files, err := DrawRun(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, filepath.Base(f))
	}
	want := []string{"redirect_cost.png", "redirect_cost.svg", "percentiles.png", "percentiles.svg", "evenness.png", "evenness.svg"}
	if !slices.Equal(got, want) {
		t.Errorf("wrote %v, want %v", got, want)
	}
}

func TestLoadRunFallsBackToSummaryEvents(t *testing.T) {
	dir := fixtureRun(t)
	os.Remove(filepath.Join(dir, "events.csv"))
	r, err := LoadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range r.Strategies() {
		ws := windowsOf(r.Events[name], r.timelineEnd())
		if len(ws) != 1 || ws[0].Failover || ws[0].To <= ws[0].From {
			t.Errorf("%s: windows from summary events = %+v, want one migration", name, ws)
		}
	}
}

func TestDrawRunBadInput(t *testing.T) {
	if _, err := DrawRun(t.TempDir(), ""); !errors.Is(err, ErrNotRun) {
		t.Errorf("empty dir: err = %v, want ErrNotRun", err)
	}
	if _, err := DrawRun(filepath.Join(t.TempDir(), "nope"), ""); err == nil {
		t.Error("missing dir: no error")
	}
	file := filepath.Join(t.TempDir(), "summary.json")
	os.WriteFile(file, []byte("{}"), 0o644)
	if _, err := DrawRun(file, ""); !errors.Is(err, ErrNotRun) {
		t.Errorf("a file: err = %v, want ErrNotRun", err)
	}

	for _, tc := range []struct {
		file, content string
		want          error
	}{
		{"summary.json", `{"schema": 1, "strategies": [`, metrics.ErrFormat},
		{"timeline.csv", "strategy,t_s\nrouter,1\n", metrics.ErrFormat},
		{"events.csv", "strategy,t_s,kind\nrouter,soon,node_added\n", ErrFormat},
		{"slots.csv", "strategy,slot,ops,owner\nrouter,16384,1,a\n", ErrFormat},
		{"slots.csv", "strategy,slot,ops\nrouter,1,1\n", ErrFormat},
	} {
		dir := fixtureRun(t)
		os.WriteFile(filepath.Join(dir, tc.file), []byte(tc.content), 0o644)
		if _, err := DrawRun(dir, ""); !errors.Is(err, tc.want) {
			t.Errorf("bad %s: err = %v, want %v", tc.file, err, tc.want)
		}
	}
}

func TestWindowsAndMarkers(t *testing.T) {
	evs := []Event{
		{T: 1, Kind: "migration_started"},
		{T: 1.5, Kind: "node_added"},
		{T: 2, Kind: "slot_moved"},
		{T: 3, Kind: "migration_finished"},
		{T: 4, Kind: "failover_started"},
		{T: 5, Kind: "migration_started"},
		{T: 6, Kind: "failover_finished"},
		{T: 7, Kind: "migration_aborted"},
		{T: 8, Kind: "migration_started"}, // never finished: lasts to the end
	}
	got := windowsOf(evs, 10)
	want := []window{{1, 3, false}, {4, 6, true}, {5, 7, false}, {8, 10, false}}
	if !slices.Equal(got, want) {
		t.Errorf("windows = %v, want %v", got, want)
	}
	m := markersOf(evs)
	wantM := []marker{{1.5, "node added"}, {4, "failover"}, {6, "failover done"}, {7, "migration aborted"}}
	if !slices.Equal(m, wantM) {
		t.Errorf("markers = %v, want %v", m, wantM)
	}
	if got := windowsOf(nil, 10); len(got) != 0 {
		t.Errorf("no events: windows %v", got)
	}
}

// The fixture's latency chart with cluster events added still draws, and
// the events change the picture.
func TestDrawRunWithClusterEvents(t *testing.T) {
	dir := fixtureRun(t)
	before, err := DrawRun(dir, filepath.Join(t.TempDir(), "before"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "events.csv"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("router,1.5,node_added,-1,0,,,127.0.0.1:7005,\nrouter,5,failover_started,-1,0,,,,\nrouter,6.5,failover_finished,-1,0,,,,\n")
	f.Close()
	after, err := DrawRun(dir, filepath.Join(t.TempDir(), "after"))
	if err != nil {
		t.Fatal(err)
	}
	b0, _ := os.ReadFile(before[0])
	b1, _ := os.ReadFile(after[0])
	if filepath.Base(after[0]) != "latency.png" || bytes.Equal(b0, b1) {
		t.Errorf("%s: the events did not change the chart", after[0])
	}
	checkPNG(t, after[0])
}

func TestBoundaries(t *testing.T) {
	// Two owners split at slot 5461 = row 42, column 85.
	owners := make([]string, numSlots)
	for s := range owners {
		owners[s] = map[bool]string{true: "a", false: "b"}[s < 5461]
	}
	got := boundaries(owners).segments()
	want := []segment{
		{85, 86, 128, 86}, // under row 41, right of column 85
		{0, 85, 85, 85},   // under row 42, left of column 85
		{85, 85, 85, 86},  // inside row 42
	}
	if !slices.Equal(got, want) {
		t.Errorf("segments = %v, want %v", got, want)
	}
	one := make([]string, numSlots)
	if got := boundaries(one).segments(); len(got) != 0 {
		t.Errorf("one owner: segments %v", got)
	}
}

func TestHeatmapAndLorenzFigures(t *testing.T) {
	counts := make([]uint64, numSlots)
	owners := make([]string, numSlots)
	for s := range counts {
		counts[s] = uint64(s%97) * uint64(s%13)
		owners[s] = []string{"a", "b", "c"}[s*3/numSlots]
	}
	if _, err := HeatmapFigure("x", HeatPanel{Counts: counts[:100]}); err == nil {
		t.Error("100 counts: no error")
	}
	if _, err := HeatmapFigure("x", HeatPanel{Counts: counts, Owners: owners[:5]}); err == nil {
		t.Error("5 owners: no error")
	}
	if _, err := HeatmapFigure("x"); err == nil {
		t.Error("no panel: no error")
	}
	dir := t.TempDir()
	fig, err := HeatmapFigure("keys", HeatPanel{Title: "ops", Counts: counts, Owners: owners, Unit: "ops per slot"},
		HeatPanel{Title: "keys", Counts: counts, Unit: "keys per slot"})
	if err != nil {
		t.Fatal(err)
	}
	files, err := fig.Save(dir, "heatmap")
	if err != nil {
		t.Fatal(err)
	}
	checkPNG(t, files[0])
	checkSVG(t, files[1])

	even := make([]uint64, numSlots)
	for i := range even {
		even[i] = 7
	}
	c := CurveOf("even", even)
	if c.Gini != 0 || len(c.Points) != 1001 || c.Points[500].Y != 0.5 {
		t.Errorf("even counts: Gini %v, %d points, middle %v", c.Gini, len(c.Points), c.Points[500])
	}
	skewed := CurveOf("skewed", counts)
	if skewed.Gini <= 0.3 {
		t.Errorf("skewed counts: Gini %v", skewed.Gini)
	}
	files, err = LorenzFigure("lorenz", c, skewed).Save(dir, "lorenz")
	if err != nil {
		t.Fatal(err)
	}
	checkPNG(t, files[0])
	checkSVG(t, files[1])
}

func TestDownsample(t *testing.T) {
	var pts []float64
	for i := range 10000 {
		pts = append(pts, float64(i%10))
	}
	pts[4321] = 1000 // one spike
	in := make(plotter.XYs, len(pts))
	for i, y := range pts {
		in[i] = plotter.XY{X: float64(i), Y: y}
	}
	out := downsample(in, 600)
	if len(out) != 600 {
		t.Fatalf("%d points, want 600", len(out))
	}
	if out[0] != in[0] || out[len(out)-1] != in[len(in)-1] {
		t.Error("the end points moved")
	}
	if !slices.ContainsFunc(out, func(p plotter.XY) bool { return p.Y == 1000 }) {
		t.Error("the spike was dropped")
	}
	for i := 1; i < len(out); i++ {
		if out[i].X <= out[i-1].X {
			t.Fatalf("x not increasing at %d", i)
		}
	}
	if short := downsample(in[:100], 600); len(short) != 100 {
		t.Errorf("short series: %d points, want all 100", len(short))
	}
}

func TestTicks(t *testing.T) {
	labels := func(ticks []plot.Tick) []string {
		var out []string
		for _, tk := range ticks {
			if tk.Label != "" {
				out = append(out, tk.Label)
			}
		}
		return out
	}
	if got := labels(logTicks{format: fmtUS}.Ticks(50, 2e6)); !slices.Equal(got, []string{"100 µs", "1 ms", "10 ms", "100 ms", "1 s"}) {
		t.Errorf("log ticks 50 µs..2 s: %v", got)
	}
	if got := labels(stepTicks{target: 5}.Ticks(0, 21)); !slices.Equal(got, []string{"0", "5", "10", "15", "20"}) {
		t.Errorf("step ticks 0..21: %v", got)
	}
	for _, tc := range []struct {
		v    float64
		want string
	}{{12.5, "12.5 µs"}, {1500, "1.5 ms"}, {2e6, "2 s"}, {250, "250 µs"}} {
		if got := fmtUS(tc.v); got != tc.want {
			t.Errorf("fmtUS(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

var syntheticNames = []string{"router", "unaware", "stale", "like-redis-py", "like-ioredis", "like-node-redis",
	"like-jedis", "like-lettuce", "like-stackexchange", "rueidis", "goredis", "radix"}

// writeSyntheticRun writes a run of n strategies over intervals 1-second
// intervals (no slots.csv), each with a migration window, a failover and
// a node added, the latency rising while slots move.
func writeSyntheticRun(t *testing.T, n, intervals int) string {
	t.Helper()
	dir := t.TempDir()
	sum := &metrics.Summary{Profile: "synthetic", DurationS: float64(intervals), IntervalS: 1, PhaseOrder: []string{"baseline", "migrating", "after"}}
	var rows []metrics.TimelineRow
	var events bytes.Buffer
	events.WriteString("strategy,t_s,kind,slot,keys,from,to,node,detail\n")
	for s := range n {
		name := syntheticNames[s%len(syntheticNames)]
		st := metrics.StrategySummary{Name: name, Phases: map[string]metrics.PhaseSummary{},
			Redirects: metrics.Redirects{Client: &metrics.ClientRedirects{Moved: 10}}}
		for p, phase := range sum.PhaseOrder {
			h := hdr.New(1, 60e9, 3)
			for i := range 20000 {
				h.RecordValue(int64(50_000 + i*(p+1)*(s+1))) // ns
			}
			enc, err := h.Encode(hdr.V2CompressedEncodingCookieBase)
			if err != nil {
				t.Fatal(err)
			}
			st.Phases[phase] = metrics.PhaseSummary{Ops: h.TotalCount(), Histogram: string(enc)}
		}
		st.RedirectCost.Direct = metrics.CostLatency{Ops: 1000, P50: 80, P99: 900}
		st.RedirectCost.AfterMoved = metrics.CostLatency{Ops: 10, P50: 300, P99: 2000}
		sum.Strategies = append(sum.Strategies, st)
		from, to := intervals/3+s, 2*intervals/3
		for i := range intervals {
			lat := 100.0 + float64(i%7)
			if i >= from && i < to {
				lat *= 20
			}
			rows = append(rows, metrics.TimelineRow{Strategy: name, IntervalStats: metrics.IntervalStats{
				Index: i, Start: time.Duration(i) * time.Second, Ops: 10000, Throughput: 10000 - lat,
				Latency: metrics.Latency{P50: lat, P90: 2 * lat, P99: 5 * lat, P999: 10 * lat, Max: 20 * lat},
				Moved:   int64(i % 3),
			}})
		}
		fmt.Fprintf(&events, "%s,%d,migration_started,-1,0,,,,\n%s,%d,node_added,-1,0,,,x,\n%s,%d,migration_finished,-1,0,,,,\n",
			name, from, name, from+1, name, to)
		fmt.Fprintf(&events, "%s,%d,failover_started,-1,0,,,,\n%s,%d,failover_finished,-1,0,,,,\n", name, to+5, name, to+9)
	}
	if err := metrics.WriteSummaryJSON(filepath.Join(dir, "summary.json"), sum); err != nil {
		t.Fatal(err)
	}
	var tl bytes.Buffer
	if err := metrics.WriteTimelineCSV(&tl, rows); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "timeline.csv"), tl.Bytes(), 0o644)
	os.WriteFile(filepath.Join(dir, "events.csv"), events.Bytes(), 0o644)
	return dir
}

// Twelve strategies over an hour of 1-second intervals: every chart is
// drawn, and the lines are downsampled.
func TestDrawRunManyStrategiesLongRun(t *testing.T) {
	const strategies, intervals = 12, 3600
	dir := writeSyntheticRun(t, strategies, intervals)
	files, err := DrawRun(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
		if strings.HasSuffix(f, ".png") {
			checkPNG(t, f)
		} else {
			checkSVG(t, f)
		}
	}
	for _, c := range []string{LatencyChart, ThroughputChart, RedirectsChart, RedirectCostChart, PercentilesChart, "!" + HeatmapChart} {
		want := !strings.HasPrefix(c, "!")
		if got := slices.Contains(names, strings.TrimPrefix(c, "!")+".png"); got != want {
			t.Errorf("%s drawn: %v, want %v", c, got, want)
		}
	}
	// Each latency line has at most maxPoints points: count the line
	// segments of the SVG's paths.
	svg, err := os.ReadFile(filepath.Join(dir, LatencyChart+".svg"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strategies * len(latencyLines)
	if got, limit := bytes.Count(svg, []byte("L")), lines*maxPoints+5000; got > limit {
		t.Errorf("latency.svg has %d line segments, want at most %d (%d lines of %d points)", got, limit, lines, maxPoints)
	}
	if full := lines * intervals; bytes.Count(svg, []byte("L")) > full/2 {
		t.Errorf("latency.svg is not downsampled")
	}
}

// A library strategy's redirects panel plots the servers' per-interval
// counts (it has no client counts); an own strategy's plots its own.
func TestRedirectsFigureLibraryUsesServerCounts(t *testing.T) {
	row := func(name string, i int, moved, srvMoved int64) metrics.TimelineRow {
		return metrics.TimelineRow{Strategy: name, IntervalStats: metrics.IntervalStats{Index: i, Start: time.Duration(i) * time.Second, Ops: 100, Moved: moved},
			ServerMoved: srvMoved}
	}
	r := &Run{
		Summary: &metrics.Summary{Strategies: []metrics.StrategySummary{
			{Name: "router", Redirects: metrics.Redirects{Client: &metrics.ClientRedirects{Moved: 5}}},
			{Name: "goredis"},
		}},
		Timeline: map[string][]metrics.TimelineRow{
			"router":  {row("router", 0, 0, 9), row("router", 1, 5, 9)},
			"goredis": {row("goredis", 0, 0, 0), row("goredis", 1, 0, 40)},
		},
		Interval: 1,
	}
	fig := redirectsFigure(r)
	tops := map[string]float64{}
	for _, cells := range fig.Rows {
		for _, c := range cells {
			p, ok := c.(*plot.Plot)
			if !ok {
				continue
			}
			// The y axis tops out 25% over the highest rate drawn.
			name, _, _ := strings.Cut(p.Title.Text, ":")
			tops[name] = p.Y.Max / 1.25
		}
	}
	if tops["router"] != 5 || tops["goredis"] != 40 {
		t.Fatalf("highest rates drawn %v, want router 5 (its own count) and goredis 40 (the servers')", tops)
	}
}
