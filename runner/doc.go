// Package runner executes a clusterbench run: it starts (or attaches to) the
// cluster, preloads the keyspace, drives the workers of each strategy in
// turn on an identical starting cluster, starts the migration scenario at
// its time, samples the servers' own counters every interval, and hands
// the measurements to the metrics package for the report.
//
// Phases come from the event timeline: ops started before the migration
// are "baseline", ops started while it runs are "migrating", ops after it
// are "after" (ops during the warmup are recorded as "warmup" and left out
// of the phase table).
package runner
