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
//
// With Config.Verify every write carries a version and the runner checks
// that no read goes back in time and, after the run, that no
// acknowledged write is gone. The rule: a read (or the final read-back of
// a key) is wrong when it returns a version that an acknowledged write F
// had replaced, i.e. a write acknowledged before F started, F itself
// acknowledged before the read started. Writes that overlap in time may
// land in either order and are never blamed; verify.go has the details.
package runner
