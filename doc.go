// Package clusterbench is the root of the clusterbench module: a load
// generator and benchmark suite for Redis Cluster.
//
// The code lives in the packages below it (router, workload, metrics,
// cluster, strategy, runner, plots, profiles) and the command in
// cmd/clusterbench. This package holds no code of its own; its test files
// are the `go test -bench` suite for the hot path:
//
//	go test -run '^$' -bench . -benchmem -count 6 . | tee bench.txt
//
// Sub-benchmarks are named key=value (BenchmarkSlot/impl=fast/keylen=32/tag=no)
// so that benchstat groups and compares them.
package clusterbench
