// Package metrics turns the outcome of every operation of a benchmark run into
// the numbers clusterbench reports.
//
// Each worker owns a Recorder: Record keeps per-interval HdrHistograms per
// (phase, op, outcome), counters and per-slot/per-node op counts, without a
// lock or an atomic, and hands each finished interval to the Collector
// through a channel without blocking. The Collector merges the workers'
// intervals (HdrHistogram merges, never averaged percentiles) into one
// timeline and into cumulative histograms per phase × op × outcome.
//
// Around that sit the pure parts: parsing of the servers' INFO errorstats
// and commandstats and their reconciliation with the client's counts; slot
// and node evenness statistics (coefficient of variation, Gini, Lorenz
// curve); and the report formats other tools read: summary.json (a
// schema-versioned contract), timeline.csv, HdrHistogram interval logs
// (.hlog) and the human tables of report.md and the terminal.
//
// Latencies are recorded in nanoseconds (see HistogramLowest) and reported in
// microseconds. The package imports no other clusterbench package.
package metrics
