package main

// `clusterbench plot DIR [--out DIR2]`: draw the charts of a saved run
// again (after an upgrade, or on another machine), from its files only.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/clusterbench/clusterbench/metrics"
	"github.com/clusterbench/clusterbench/plots"
)

func init() { register(newPlotCmd) }

func newPlotCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "plot DIR",
		Short: "Re-draw the charts of a saved run",
		Long: `plot draws the charts of the run saved in DIR (the --out of run) from its
summary.json, timeline.csv, events.csv and slots.csv, as PNG (1200 px wide) and
SVG: latency, throughput and redirects over time with the migration windows,
redirect cost, percentile spectrum per phase, a heatmap of operations per slot,
and the node/slot evenness. Charts whose data the run lacks are skipped.`,
		Example: `  clusterbench plot results/20260101-120000-adhoc
  clusterbench plot results/20260101-120000-adhoc --out /tmp/charts`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return badInput("plot needs one run directory, got %d arguments (see --help)", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPlot(cmd, args[0], out)
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "write the charts here (default: DIR itself)")
	return cmd
}

func runPlot(cmd *cobra.Command, dir, out string) error {
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return badInput("plot: %s does not exist: name the --out directory of a run", dir)
	case err != nil:
		return badInput("plot: %v", err)
	case !st.IsDir():
		return badInput("plot: %s is not a directory: name the --out directory of a run", dir)
	}
	files, err := plots.DrawRun(dir, out)
	switch {
	case errors.Is(err, plots.ErrNotRun):
		return badInput("plot: %s is not a run directory (no summary.json): name the --out directory of a run", dir)
	case errors.Is(err, plots.ErrFormat), errors.Is(err, metrics.ErrFormat):
		return badInput("plot: %v", err)
	case err != nil:
		return err
	}
	for _, f := range files {
		fmt.Fprintln(cmd.OutOrStdout(), f)
	}
	if len(files) == 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "plot: %s has nothing to draw\n", dir)
	}
	return nil
}
