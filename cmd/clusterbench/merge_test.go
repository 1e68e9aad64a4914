package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/clusterbench/clusterbench/cluster"
	"github.com/clusterbench/clusterbench/internal/redistest"
	"github.com/clusterbench/clusterbench/metrics"
	"github.com/clusterbench/clusterbench/runner"
	"github.com/clusterbench/clusterbench/workload"
)

// synthHost writes a run directory as host agent would have: ops get
// operations per second for secs seconds, each taking latency, the run
// starting at start; server are the servers' counts it sampled.
func synthHost(t *testing.T, dir, agent, profile string, start time.Time, secs int, opsPerSec int, latency time.Duration, server ...runner.ServerSample) {
	t.Helper()
	now := start
	col, err := metrics.NewCollector(metrics.Config{
		Ops: []string{"get", "set"}, Phases: []string{"warmup", "baseline", "migrating", "after"},
		Interval: time.Second, Start: start, Now: func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := col.NewRecorder()
	for s := range secs {
		for i := range opsPerSec {
			at := time.Duration(s)*time.Second + time.Duration(i)*time.Second/time.Duration(opsPerSec)
			rec.Record(at, metrics.Sample{Latency: latency, Slot: uint16(i % metrics.NumSlots), Node: metrics.NoNode, Phase: 1})
		}
		now = start.Add(time.Duration(s+1) * time.Second)
		col.Poll()
	}
	rec.Flush()
	now = start.Add(time.Duration(secs+2) * time.Second)
	res := col.Result()
	cfg := runner.Config{
		Profile: profile, Strategies: []string{"router"}, Duration: time.Duration(secs) * time.Second,
		Workers: 1, Pipeline: 1, Interval: time.Second, Workload: workload.DefaultConfig(), Masters: 3, AgentID: agent, Out: dir,
	}
	rep := &runner.Report{Config: cfg, Started: start, Strategies: []*runner.StrategyRun{{Name: "router", Start: start, Result: res, ServerTimeline: server}}}
	if err := runner.WriteOutputs(rep, dir); err != nil {
		t.Fatal(err)
	}
}

func readSummary(t *testing.T, dir string) *metrics.Summary {
	t.Helper()
	s, err := metrics.ReadSummaryJSON(filepath.Join(dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func readTimeline(t *testing.T, dir string) []metrics.TimelineRow {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "timeline.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := metrics.ReadTimelineCSV(f)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// decode decodes a summary histogram.
func decode(t *testing.T, enc string) *hdr.Histogram {
	t.Helper()
	h, err := hdr.Decode([]byte(enc))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestMergeAddsHistogramsNeverAverages merges two synthetic hosts of very
// different latency: a fast one with 10× the ops of a slow one. Adding the
// histograms puts p99 in the slow host's range and p50 in the fast one's;
// averaging the hosts' percentiles would give about 5 ms for both.
func TestMergeAddsHistogramsNeverAverages(t *testing.T) {
	bin := clusterBinary(t)
	tmp := t.TempDir()
	start := time.Now().Add(-time.Minute).Truncate(time.Second)
	a, b, out := filepath.Join(tmp, "a"), filepath.Join(tmp, "b"), filepath.Join(tmp, "merged")
	// Both hosts sampled the same servers in merged interval 1, each
	// seeing every host's redirects: 20 and, a moment apart, 21.
	synthHost(t, a, "fast", "syn", start, 3, 2000, 100*time.Microsecond, runner.ServerSample{Interval: 1, Counts: metrics.ServerCounters{Moved: 20}})
	// The slow host started one second later: its interval 0 is the
	// merged interval 1.
	synthHost(t, b, "slow", "syn", start.Add(time.Second), 3, 200, 10*time.Millisecond, runner.ServerSample{Interval: 0, Counts: metrics.ServerCounters{Moved: 21}})

	stdout, stderr, code := clusterCLI(t, bin, nil, "merge", out, a, b)
	if code != 0 {
		t.Fatalf("merge exit %d: %s", code, stderr)
	}
	m := readSummary(t, out)
	if got := strings.Join(m.Hosts, ","); got != "fast,slow" {
		t.Errorf("hosts %q, want fast,slow", got)
	}
	ph := m.Strategies[0].Phases["baseline"]
	if m.Strategies[0].Ops != 6600 || ph.Ops != 6600 {
		t.Fatalf("merged ops %d (baseline %d), want 6600", m.Strategies[0].Ops, ph.Ops)
	}
	pa, pb := readSummary(t, a).Strategies[0].Phases["baseline"], readSummary(t, b).Strategies[0].Phases["baseline"]
	averaged := (pa.LatencyUS.P99 + pb.LatencyUS.P99) / 2
	l := ph.LatencyUS
	if math.Abs(l.P99-10000) > 20 || math.Abs(l.P50-100) > 1 {
		t.Errorf("merged p50 %vµs p99 %vµs, want 100µs and 10ms (averaging would give p99 %vµs)", l.P50, l.P99, averaged)
	}
	// Exactly the p99 of the sum of the two histograms.
	sum := metrics.NewHistogram()
	sum.Merge(decode(t, pa.Histogram))
	sum.Merge(decode(t, pb.Histogram))
	if want := metrics.LatencyOf(sum); l != want {
		t.Errorf("merged latency %+v, want the histogram sum's %+v", l, want)
	}

	// The timeline: 4 aligned seconds; the slow host's ops land one later.
	rows := readTimeline(t, out)
	wantOps := []int64{2000, 2200, 2200, 200}
	if len(rows) != len(wantOps) {
		t.Fatalf("%d timeline rows, want %d: %+v", len(rows), len(wantOps), rows)
	}
	for i, r := range rows {
		if r.Ops != wantOps[i] {
			t.Errorf("row %d: %d ops, want %d", i, r.Ops, wantOps[i])
		}
	}
	// The servers' counts are the cluster's, not added up over the hosts.
	if got := []int64{rows[0].ServerMoved, rows[1].ServerMoved, rows[2].ServerMoved}; !slices.Equal(got, []int64{0, 21, 0}) {
		t.Errorf("merged server_moved %v, want [0 21 0]: the larger host sample, never the sum", got)
	}
	// Row 1 mixes the hosts: 200 slow of 2200, so its p99 is the slow
	// host's 10 ms; row 0 has only fast ops.
	if math.Abs(rows[1].Latency.P99-10000) > 20 || math.Abs(rows[0].Latency.P99-100) > 1 {
		t.Errorf("row p99s %v, %v; want 100µs and 10ms", rows[0].Latency.P99, rows[1].Latency.P99)
	}
	// The merged .hlog holds the same intervals, readable by the standard reader.
	f, err := os.Open(filepath.Join(out, "router.hlog"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ivs, err := metrics.ReadHlog(f)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	n := 0
	for _, iv := range ivs {
		if iv.Tag == "" {
			total += iv.Hist.TotalCount()
			n++
		}
	}
	if total != 6600 || n != 4 {
		t.Errorf("merged hlog: %d ops in %d intervals, want 6600 in 4", total, n)
	}
	if !strings.Contains(stdout, "router") {
		t.Errorf("no table on stdout: %q", stdout)
	}
	if _, err := os.Stat(filepath.Join(out, "latency.png")); err != nil {
		t.Errorf("charts not drawn: %v", err)
	}
}

// TestMergeBadInput: every refusal is one line and exit 2.
func TestMergeBadInput(t *testing.T) {
	bin := clusterBinary(t)
	tmp := t.TempDir()
	start := time.Now().Add(-time.Minute).Truncate(time.Second)
	a, b, other := filepath.Join(tmp, "a"), filepath.Join(tmp, "b"), filepath.Join(tmp, "other")
	synthHost(t, a, "a", "syn", start, 2, 100, time.Millisecond)
	synthHost(t, b, "b", "syn", start, 2, 100, time.Millisecond)
	synthHost(t, other, "c", "another", start, 2, 100, time.Millisecond)
	twin := filepath.Join(tmp, "twin")
	synthHost(t, twin, "a", "syn", start, 2, 100, time.Millisecond)
	if err := os.MkdirAll(filepath.Join(tmp, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no input", []string{"merge", filepath.Join(tmp, "o1")}, "at least one run DIR"},
		{"not a run", []string{"merge", filepath.Join(tmp, "o2"), a, filepath.Join(tmp, "empty")}, "is not a run directory"},
		{"out holds a run", []string{"merge", b, a}, "already holds a run"},
		{"other profile", []string{"merge", filepath.Join(tmp, "o3"), a, other}, "differ in profile"},
		{"same agent twice", []string{"merge", filepath.Join(tmp, "o4"), a, twin}, "both come from agent"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := clusterCLI(t, bin, nil, tc.args...)
			if code != 2 || !strings.Contains(stderr, tc.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Errorf("exit %d, stderr %q; want 2 and one line with %q", code, stderr, tc.want)
			}
		})
	}
}

// TestMergeNamesDifferingField: runs of different configurations are
// refused with the field that differs.
func TestMergeNamesDifferingField(t *testing.T) {
	tmp := t.TempDir()
	start := time.Now().Add(-time.Minute).Truncate(time.Second)
	a, b := filepath.Join(tmp, "a"), filepath.Join(tmp, "b")
	synthHost(t, a, "a", "syn", start, 2, 100, time.Millisecond)
	synthHost(t, b, "b", "syn", start, 2, 100, time.Millisecond)
	// Host b ran another key distribution.
	s := readSummary(t, b)
	var conf map[string]any
	if err := json.Unmarshal(s.Config, &conf); err != nil {
		t.Fatal(err)
	}
	conf["dist"] = "not-" + conf["dist"].(string)
	s.Config, _ = json.Marshal(conf)
	if err := metrics.WriteSummaryJSON(filepath.Join(b, "summary.json"), s); err != nil {
		t.Fatal(err)
	}
	err := runMerge(newMergeCmd(), filepath.Join(tmp, "out"), []string{a, b})
	var ue *usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "config.dist") {
		t.Fatalf("error %v, want a usage error naming config.dist", err)
	}
}

// TestMergeTwoHostsIntegration makes two real runs from two "hosts" (two
// processes with --agent-id a/b and a common --start-at) against one
// shared local cluster, then merges them.
func TestMergeTwoHostsIntegration(t *testing.T) {
	redistest.RequireServer(t)
	bin := clusterBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	l, err := cluster.StartLocal(ctx, cluster.LocalConfig{Masters: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Stop() })

	tmp := t.TempDir()
	startAt := time.Now().Add(3 * time.Second).UTC().Format(time.RFC3339Nano)
	dirs := map[string]string{"a": filepath.Join(tmp, "a"), "b": filepath.Join(tmp, "b")}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for agent, dir := range dirs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.CommandContext(ctx, bin, "run", "--addrs", l.Addrs()[0], "--agent-id", agent, "--start-at", startAt,
				"--duration", "3s", "--warmup", "1s", "--workers", "2", "--rate", "400", "--keys", "2000",
				"--key-prefix", "merge-"+agent, "--quiet", "--out", dir)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Run(); err != nil {
				errs <- errors.New(agent + ": " + err.Error() + ": " + stderr.String())
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	out := filepath.Join(tmp, "merged")
	if _, stderr, code := clusterCLI(t, bin, nil, "merge", out, dirs["a"], dirs["b"]); code != 0 {
		t.Fatalf("merge exit %d: %s", code, stderr)
	}
	sa, sb, m := readSummary(t, dirs["a"]), readSummary(t, dirs["b"]), readSummary(t, out)
	a, b, ms := sa.Strategies[0], sb.Strategies[0], m.Strategies[0]
	if ms.Ops != a.Ops+b.Ops || ms.Ops == 0 {
		t.Errorf("merged ops %d, want %d + %d", ms.Ops, a.Ops, b.Ops)
	}
	for name, ph := range ms.Phases {
		pa, pb := a.Phases[name], b.Phases[name]
		if ph.Ops != pa.Ops+pb.Ops {
			t.Errorf("phase %s: %d ops, want %d + %d", name, ph.Ops, pa.Ops, pb.Ops)
		}
		if ph.Ops == 0 {
			continue
		}
		sum := metrics.NewHistogram()
		sum.Merge(decode(t, pa.Histogram))
		sum.Merge(decode(t, pb.Histogram))
		if want := metrics.LatencyOf(sum); ph.LatencyUS != want {
			t.Errorf("phase %s latency %+v, want the histogram sum's %+v", name, ph.LatencyUS, want)
		}
		t.Logf("phase %s: a p99 %vµs (%d ops), b p99 %vµs (%d ops), merged p99 %vµs", name, pa.LatencyUS.P99, pa.Ops, pb.LatencyUS.P99, pb.Ops, ph.LatencyUS.P99)
	}
	// The hosts started together: the merged timeline is as long as each
	// host's (±1 interval), and holds every op once.
	ra, rb, rm := readTimeline(t, dirs["a"]), readTimeline(t, dirs["b"]), readTimeline(t, out)
	if d := len(rm) - max(len(ra), len(rb)); d < 0 || d > 1 {
		t.Errorf("merged timeline %d rows, hosts %d and %d", len(rm), len(ra), len(rb))
	}
	opsOf := func(rows []metrics.TimelineRow) (n int64) {
		for _, r := range rows {
			n += r.Ops
		}
		return n
	}
	if opsOf(rm) != opsOf(ra)+opsOf(rb) {
		t.Errorf("merged timeline %d ops, want %d + %d", opsOf(rm), opsOf(ra), opsOf(rb))
	}
	// Aligned: the measured seconds overlap, so the busiest merged second
	// carries both hosts' rate (2 × 400 ops/s), not one host's.
	var busiest float64
	for _, r := range rm {
		busiest = max(busiest, r.Throughput)
	}
	if busiest < 700 {
		t.Errorf("busiest merged second %v ops/s: the hosts' timelines are not aligned", busiest)
	}
	if got := strings.Join(m.Hosts, ","); got != "a,b" {
		t.Errorf("hosts %q, want a,b", got)
	}
	if sa.StartTime.IsZero() || ms.Spread == nil || ms.Spread.Slots.Ops != uint64(ms.Ops) {
		t.Errorf("merged spread %+v: want the per-slot counts of both hosts", ms.Spread)
	}
}
