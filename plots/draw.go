package plots

import (
	"fmt"
	"os"
)

// Names of the charts DrawRun writes (each as .png and .svg).
const (
	LatencyChart      = "latency"
	RedirectsChart    = "redirects"
	RedirectCostChart = "redirect_cost"
	PercentilesChart  = "percentiles"
	HeatmapChart      = "heatmap"
	EvennessChart     = "evenness"
	ThroughputChart   = "throughput"
)

// DrawRun draws the charts of the run saved in dir into outDir (dir when
// empty) and returns the files written. A chart whose data the run does
// not have (no timeline, no slots.csv, no redirected operation) is
// skipped without error. A directory that is not a run gives an error
// wrapping ErrNotRun.
func DrawRun(dir, outDir string) ([]string, error) {
	if outDir == "" {
		outDir = dir
	}
	r, err := LoadRun(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, fmt.Errorf("plots: %w", err)
	}
	charts := []struct {
		name string
		make func(*Run) (*Figure, error)
	}{
		{LatencyChart, noErr(latencyFigure)},
		{ThroughputChart, noErr(throughputFigure)},
		{RedirectsChart, noErr(redirectsFigure)},
		{RedirectCostChart, noErr(costFigure)},
		{PercentilesChart, percentilesFigure},
		{HeatmapChart, slotsHeatmap},
		{EvennessChart, noErr(evennessFigure)},
		{CapacityChart, noErr(capacityFigure)}, // only runs with a capacity search
	}
	var written []string
	for _, c := range charts {
		fig, err := c.make(r)
		if err != nil {
			return written, err
		}
		if fig == nil || len(fig.Rows) == 0 {
			continue
		}
		files, err := fig.Save(outDir, c.name)
		written = append(written, files...)
		if err != nil {
			return written, err
		}
	}
	return written, nil
}

func noErr(f func(*Run) *Figure) func(*Run) (*Figure, error) {
	return func(r *Run) (*Figure, error) { return f(r), nil }
}
