// Package plots draws the charts of a clusterbench run with gonum/plot,
// from the files a run saved (summary.json, timeline.csv, events.csv,
// slots.csv) and never from live state, so that any saved run can be
// drawn again, on another machine, by a newer version.
//
// DrawRun draws everything a run directory supports, as PNG (1200 px
// wide) and SVG: latency and throughput over time with the migration
// windows shaded, MOVED/ASK rates, the cost of redirected operations, the
// percentile spectrum per phase, a 128×128 heatmap of operations per slot
// with the owners' boundaries, and the node/slot evenness with its Lorenz
// curve. What the data does not support is skipped without error.
//
// HeatmapFigure and LorenzFigure draw from plain per-slot counts, for
// `clusterbench spread`, which has no run directory.
//
// Long time series are downsampled with Largest-Triangle-Three-Buckets
// (Steinarsson 2013), which keeps the peaks a plain stride would drop.
package plots
