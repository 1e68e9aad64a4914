package main

// `clusterbench merge OUT DIR...`: combine the outputs of one run made by
// several load-generator hosts (run --agent-id NAME --start-at T) into one
// run directory, as if one host had generated the whole load.
//
// Latencies are merged by HdrHistogram addition, never by averaging
// percentiles: summary.json's phase histograms through
// metrics.MergeSummaries, and the timeline from the hosts' .hlog interval
// histograms, added per second of wall clock.

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/spf13/cobra"

	"github.com/clusterbench/clusterbench/metrics"
	"github.com/clusterbench/clusterbench/plots"
	"github.com/clusterbench/clusterbench/runner"
)

func init() { register(newMergeCmd) }

func newMergeCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "merge OUT DIR...",
		Short: "Merge the outputs of one run made from several load-generator hosts",
		Long: `merge combines the run directories that several load-generator hosts wrote for
one run (each started with its own --agent-id and a common --start-at, against a
shared cluster given with --addrs) into OUT, a run directory of its own:

  summary.json   ops, errors and redirects summed; latency percentiles recomputed
                 from the added HdrHistograms of each phase, never averaged
  timeline.csv   rows aligned by wall clock (each host's start + t), latency
                 from the hosts' interval histograms added per interval
  <strategy>.hlog, slots.csv, events.csv, capacity.csv, report.md, and the charts

The runs must share the profile and configuration; only the agent id, the seed
addresses, --seed, --key-prefix, --workers, --rate and the Redis version may
differ between hosts. Give each host its own --key-prefix (or --keep-keys):
otherwise the first host to finish deletes the keys the others still read.
--start-at aligns the first strategy of each host; later strategies start when
each host is ready, and are aligned by wall clock as they are.`,
		Example: `  # on host a and host b, the same minute:
  clusterbench run --addrs 10.0.0.5:7000 --agent-id a --key-prefix a --start-at 2026-01-02T15:04:00Z --out run-a
  clusterbench run --addrs 10.0.0.5:7000 --agent-id b --key-prefix b --start-at 2026-01-02T15:04:00Z --out run-b
  # then, with both directories copied to one place:
  clusterbench merge merged run-a run-b`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) < 2 {
				return badInput("merge needs OUT and at least one run DIR, got %d arguments: clusterbench merge OUT DIR...", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return runMerge(cmd, args[0], args[1:]) },
	}
}

// mergeInput is one host's run directory.
type mergeInput struct {
	dir  string
	host string
	sum  *metrics.Summary
	conf map[string]json.RawMessage
}

func runMerge(cmd *cobra.Command, out string, dirs []string) error {
	if err := checkMergeOut(out, dirs); err != nil {
		return err
	}
	in, err := readMergeInputs(dirs)
	if err != nil {
		return err
	}
	if err := checkMergeable(in); err != nil {
		return err
	}
	hosts := make([]string, len(in))
	sums := make([]*metrics.Summary, len(in))
	for i, x := range in {
		hosts[i], sums[i] = x.host, x.sum
	}
	merged, err := metrics.MergeSummaries(hosts, sums)
	if err != nil {
		if errors.Is(err, metrics.ErrMismatch) || errors.Is(err, metrics.ErrFormat) {
			return badInput("merge: %v", err)
		}
		return err
	}
	merged.Config, err = mergeConfig(in)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	offsets, err := mergeTimelines(in, merged, out)
	if err != nil {
		return err
	}
	if err := mergeSlots(in, merged, out); err != nil {
		return err
	}
	if err := mergeEvents(in, offsets, out); err != nil {
		return err
	}
	if merged.HasCapacity() {
		if err := writeMergeFile(out, "capacity.csv", func(w io.Writer) error { return metrics.WriteCapacityCSV(w, merged) }); err != nil {
			return err
		}
	}
	if err := writeMergeFile(out, "report.md", func(w io.Writer) error {
		if err := metrics.WriteReportMarkdown(w, merged); err != nil {
			return err
		}
		return metrics.WriteCapacityMarkdown(w, merged)
	}); err != nil {
		return err
	}
	// summary.json last: its presence marks a complete run directory.
	if err := metrics.WriteSummaryJSON(filepath.Join(out, "summary.json"), merged); err != nil {
		return err
	}
	if _, err := plots.DrawRun(out, out); err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: charts not drawn: %v\n", err)
	}
	if err := metrics.RenderTable(cmd.OutOrStdout(), merged); err != nil {
		return err
	}
	if err := metrics.RenderCapacityTable(cmd.OutOrStdout(), merged); err != nil {
		return err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "merged %d runs (%v) into %s\n", len(in), hosts, out)
	return nil
}

// checkMergeOut refuses an OUT that holds a run or is one of the inputs.
func checkMergeOut(out string, dirs []string) error {
	if _, err := os.Stat(filepath.Join(out, "summary.json")); err == nil {
		return badInput("merge: %s already holds a run: choose a new OUT directory", out)
	}
	absOut, _ := filepath.Abs(out)
	for _, d := range dirs {
		if a, _ := filepath.Abs(d); a == absOut {
			return badInput("merge: OUT %s is also an input: choose a new OUT directory", out)
		}
	}
	return nil
}

// readMergeInputs reads each DIR's summary and names its host: the run's
// --agent-id, else the directory's name.
func readMergeInputs(dirs []string) ([]*mergeInput, error) {
	var in []*mergeInput
	byHost := map[string]string{}
	for _, d := range dirs {
		path := filepath.Join(d, "summary.json")
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, badInput("merge: %s is not a run directory (no summary.json): name the --out directories of the hosts' runs", d)
		}
		sum, err := metrics.ReadSummaryJSON(path)
		if err != nil {
			return nil, badInput("merge: %s: %v", d, err)
		}
		x := &mergeInput{dir: d, sum: sum, host: filepath.Base(filepath.Clean(d))}
		if len(sum.Hosts) == 1 {
			x.host = sum.Hosts[0]
		} else if len(sum.Hosts) > 1 {
			return nil, badInput("merge: %s is already a merge of %v: merge the hosts' own runs instead", d, sum.Hosts)
		}
		if len(sum.Config) > 0 {
			if err := json.Unmarshal(sum.Config, &x.conf); err != nil {
				return nil, badInput("merge: %s: summary.json config: %v", d, err)
			}
		}
		if prev, ok := byHost[x.host]; ok {
			if len(sum.Hosts) == 1 {
				return nil, badInput("merge: %s and %s both come from agent %q: give each host its own --agent-id (or name the same run once)", prev, d, x.host)
			}
			return nil, badInput("merge: %s and %s have the same name and no --agent-id: rename one directory", prev, d)
		}
		byHost[x.host] = d
		in = append(in, x)
	}
	return in, nil
}

// hostKeys are the configuration keys that may differ between the hosts of
// one run.
var hostKeys = map[string]bool{
	"agent_id": true, "cluster": true, "seed": true, "key_prefix": true, "workers": true, "rate": true, "redis_version": true,
}

// checkMergeable refuses runs that are not parts of one run: a different
// profile, interval or configuration (naming the first field that differs).
func checkMergeable(in []*mergeInput) error {
	a := in[0]
	for _, b := range in[1:] {
		differ := func(field string, x, y any) error {
			return badInput("merge: %s and %s differ in %s (%v vs %v): only the hosts' parts of one run merge", a.dir, b.dir, field, x, y)
		}
		if a.sum.Profile != b.sum.Profile {
			return differ("profile", a.sum.Profile, b.sum.Profile)
		}
		if a.sum.IntervalS != b.sum.IntervalS {
			return differ("interval_s", a.sum.IntervalS, b.sum.IntervalS)
		}
		keys := map[string]bool{}
		for k := range a.conf {
			keys[k] = true
		}
		for k := range b.conf {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		slices.Sort(sorted)
		for _, k := range sorted {
			if hostKeys[k] {
				continue
			}
			if !jsonEqual(a.conf[k], b.conf[k]) {
				return differ("config."+k, string(orNone(a.conf[k])), string(orNone(b.conf[k])))
			}
		}
	}
	return nil
}

func orNone(v json.RawMessage) json.RawMessage {
	if v == nil {
		return json.RawMessage("(none)")
	}
	return v
}

// jsonEqual compares two JSON values by meaning, not by spelling.
func jsonEqual(a, b json.RawMessage) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	return reflect.DeepEqual(x, y)
}

// mergeConfig is the merged run's configuration: what the hosts share,
// and for each host key whose values differ, the value of each host.
func mergeConfig(in []*mergeInput) (json.RawMessage, error) {
	out := map[string]any{}
	for k, v := range in[0].conf {
		out[k] = v
	}
	for k := range hostKeys {
		per := map[string]json.RawMessage{}
		same := true
		for _, x := range in {
			v, ok := x.conf[k]
			if !ok {
				continue
			}
			per[x.host] = v
			same = same && jsonEqual(v, in[0].conf[k])
		}
		if !same {
			out[k] = per
		}
	}
	delete(out, "agent_id") // the hosts are in summary.json's hosts
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("merge: config: %w", err)
	}
	return b, nil
}

// hostTimeline is one host's timeline of one strategy.
type hostTimeline struct {
	t0   int64 // wall-clock start of its interval 0, in ms
	ivs  []metrics.HlogInterval
	rows []metrics.TimelineRow
}

// readHostTimeline reads a host's .hlog and timeline.csv rows of strategy.
func readHostTimeline(x *mergeInput, strategy string) (*hostTimeline, error) {
	name := runner.FileName(strategy) + ".hlog"
	f, err := os.Open(filepath.Join(x.dir, name))
	if err != nil {
		return nil, badInput("merge: %s: %v: the run is incomplete", x.dir, err)
	}
	defer f.Close()
	ivs, err := metrics.ReadHlog(bufio.NewReader(f))
	if err != nil {
		return nil, badInput("merge: %s/%s: %v", x.dir, name, err)
	}
	ht := &hostTimeline{ivs: ivs, t0: -1}
	for _, iv := range ivs {
		if iv.Tag == "" {
			ht.t0 = iv.Start.UnixMilli()
			break
		}
	}
	if ht.t0 < 0 {
		return nil, badInput("merge: %s/%s has no interval", x.dir, name)
	}
	tf, err := os.Open(filepath.Join(x.dir, "timeline.csv"))
	if err != nil {
		return nil, badInput("merge: %s: %v: the run is incomplete", x.dir, err)
	}
	defer tf.Close()
	rows, err := metrics.ReadTimelineCSV(tf)
	if err != nil {
		return nil, badInput("merge: %s/timeline.csv: %v", x.dir, err)
	}
	for _, r := range rows {
		if r.Strategy == strategy {
			ht.rows = append(ht.rows, r)
		}
	}
	return ht, nil
}

// alignedInterval is one interval of the merged timeline.
type alignedInterval struct {
	all  *hdr.Histogram
	ops  map[string]*hdr.Histogram // by tag
	row  metrics.TimelineRow
	most int64 // ops of the host whose phase the row took
}

// mergeTimelines merges each strategy's timeline over the hosts by wall
// clock: a host's interval i, starting at t0+i·I, goes to the merged
// interval round((t0 + i·I − base)/I), base being the earliest host's t0;
// its histograms are added, its counters summed. It writes the merged
// .hlog files and timeline.csv, and returns each host's offset (seconds
// from base) per strategy, for the events.
func mergeTimelines(in []*mergeInput, merged *metrics.Summary, out string) (map[string][]float64, error) {
	intervalMs := int64(math.Round(merged.IntervalS * 1000))
	if intervalMs <= 0 {
		intervalMs = 1000
	}
	offsets := map[string][]float64{}
	var rows []metrics.TimelineRow
	for _, st := range merged.Strategies {
		hts := make([]*hostTimeline, len(in))
		base := int64(math.MaxInt64)
		for i, x := range in {
			if !hasStrategy(x.sum, st.Name) {
				continue
			}
			ht, err := readHostTimeline(x, st.Name)
			if err != nil {
				return nil, err
			}
			hts[i] = ht
			base = min(base, ht.t0)
		}
		index := func(ms int64) int { return int(math.Round(float64(ms-base) / float64(intervalMs))) }
		var ivs []*alignedInterval
		at := func(j int) *alignedInterval {
			for len(ivs) <= j {
				ivs = append(ivs, &alignedInterval{ops: map[string]*hdr.Histogram{}})
			}
			return ivs[j]
		}
		var tags []string
		offsets[st.Name] = make([]float64, len(in))
		for i, ht := range hts {
			if ht == nil {
				continue
			}
			offsets[st.Name][i] = float64(ht.t0-base) / 1000
			for _, iv := range ht.ivs {
				a := at(index(iv.Start.UnixMilli()))
				if iv.Tag == "" {
					if a.all == nil {
						a.all = metrics.NewHistogram()
					}
					a.all.Merge(iv.Hist)
					continue
				}
				if !slices.Contains(tags, iv.Tag) {
					tags = append(tags, iv.Tag)
				}
				if a.ops[iv.Tag] == nil {
					a.ops[iv.Tag] = metrics.NewHistogram()
				}
				a.ops[iv.Tag].Merge(iv.Hist)
			}
			off := index(ht.t0)
			for _, r := range ht.rows {
				a := at(r.Index + off)
				s := &a.row
				s.Ops += r.Ops
				s.Throughput += r.Throughput
				s.Moved += r.Moved
				s.Ask += r.Ask
				s.TryAgain += r.TryAgain
				s.Errors += r.Errors
				s.Refreshes += r.Refreshes
				// Each host sampled the whole cluster, every host's
				// traffic: the servers' counts are not added up.
				s.ServerMoved, s.ServerAsk = max(s.ServerMoved, r.ServerMoved), max(s.ServerAsk, r.ServerAsk)
				if r.Ops > a.most || s.Phase == "" {
					s.Phase, a.most = r.Phase, r.Ops
				}
			}
		}
		res := &metrics.Result{Ops: tags, Interval: time.Duration(intervalMs) * time.Millisecond, Start: time.UnixMilli(base)}
		for j, a := range ivs {
			r := a.row
			r.Strategy, r.Index, r.Start = st.Name, j, time.Duration(int64(j)*intervalMs)*time.Millisecond
			r.Throughput = math.Round(r.Throughput*1000) / 1000
			r.Latency = metrics.LatencyOf(a.all)
			rows = append(rows, r)
			ir := metrics.IntervalResult{IntervalStats: r.IntervalStats, Hist: packed(a.all), OpHists: make([]*hdr.PackedHistogram, len(tags))}
			for k, tag := range tags {
				if h := a.ops[tag]; h != nil {
					ir.OpHists[k] = packed(h)
				}
			}
			res.Intervals = append(res.Intervals, ir)
		}
		if err := writeMergeFile(out, runner.FileName(st.Name)+".hlog", func(w io.Writer) error { return metrics.WriteHlog(w, res) }); err != nil {
			return nil, err
		}
	}
	err := writeMergeFile(out, "timeline.csv", func(w io.Writer) error { return metrics.WriteTimelineCSV(w, rows) })
	return offsets, err
}

func hasStrategy(s *metrics.Summary, name string) bool {
	for _, st := range s.Strategies {
		if st.Name == name {
			return true
		}
	}
	return false
}

// packed returns h in HdrHistogram's sparse form (empty for nil), which
// the .hlog writer takes.
func packed(h *hdr.Histogram) *hdr.PackedHistogram {
	p := hdr.NewPacked(metrics.HistogramLowest, metrics.HistogramHighest, metrics.HistogramSigFigs)
	if h != nil {
		p.MergeFrom(h)
	}
	return p
}

// mergeSlots adds the hosts' operations per slot (slots.csv), writes the
// merged slots.csv and recomputes each strategy's spread from it.
func mergeSlots(in []*mergeInput, merged *metrics.Summary, out string) error {
	type slots struct {
		ops    []uint64
		owners []string
	}
	by := map[string]*slots{}
	for _, x := range in {
		f, err := os.Open(filepath.Join(x.dir, "slots.csv"))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("merge: %w", err)
		}
		data, err := plots.ReadSlotsCSV(f)
		f.Close()
		if err != nil {
			return badInput("merge: %s/slots.csv: %v", x.dir, err)
		}
		for name, d := range data {
			s := by[name]
			if s == nil {
				s = &slots{ops: make([]uint64, len(d.Ops)), owners: make([]string, len(d.Ops))}
				by[name] = s
			}
			for i, n := range d.Ops {
				s.ops[i] += n
				if s.owners[i] == "" {
					s.owners[i] = d.Owners[i]
				}
			}
		}
	}
	if len(by) == 0 {
		return nil
	}
	var names []string
	for i := range merged.Strategies {
		st := &merged.Strategies[i]
		s := by[st.Name]
		if s == nil {
			continue
		}
		names = append(names, st.Name)
		var nodes []string
		owner := make([]int, len(s.owners))
		for slot, o := range s.owners {
			owner[slot] = -1
			if o == "" {
				continue
			}
			k := slices.Index(nodes, o)
			if k < 0 {
				k = len(nodes)
				nodes = append(nodes, o)
			}
			owner[slot] = k
		}
		sp, err := metrics.SpreadOf(s.ops, owner, nodes, nil, 10)
		if err != nil {
			return fmt.Errorf("merge: spread of %s: %w", st.Name, err)
		}
		st.Spread = &sp
	}
	return writeMergeFile(out, "slots.csv", func(w io.Writer) error {
		cw := csv.NewWriter(w)
		_ = cw.Write([]string{"strategy", "slot", "ops", "owner"})
		for _, name := range names {
			s := by[name]
			for slot, n := range s.ops {
				_ = cw.Write([]string{name, strconv.Itoa(slot), strconv.FormatUint(n, 10), s.owners[slot]})
			}
		}
		cw.Flush()
		return cw.Error()
	})
}

// mergeEvents writes every host's events.csv rows on the merged time base,
// with a host column.
func mergeEvents(in []*mergeInput, offsets map[string][]float64, out string) error {
	type hostEvent struct {
		plots.Event
		host string
	}
	var evs []hostEvent
	for i, x := range in {
		f, err := os.Open(filepath.Join(x.dir, "events.csv"))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("merge: %w", err)
		}
		got, err := plots.ReadEventsCSV(f)
		f.Close()
		if err != nil {
			return badInput("merge: %s/events.csv: %v", x.dir, err)
		}
		for _, ev := range got {
			if off := offsets[ev.Strategy]; off != nil {
				ev.T += off[i]
			}
			evs = append(evs, hostEvent{ev, x.host})
		}
	}
	rank := map[string]int{} // strategies in order of first appearance
	for _, ev := range evs {
		if _, ok := rank[ev.Strategy]; !ok {
			rank[ev.Strategy] = len(rank)
		}
	}
	slices.SortStableFunc(evs, func(a, b hostEvent) int {
		if ra, rb := rank[a.Strategy], rank[b.Strategy]; ra != rb {
			return ra - rb
		}
		switch {
		case a.T < b.T:
			return -1
		case a.T > b.T:
			return 1
		}
		return 0
	})
	return writeMergeFile(out, "events.csv", func(w io.Writer) error {
		cw := csv.NewWriter(w)
		_ = cw.Write([]string{"strategy", "t_s", "kind", "slot", "keys", "from", "to", "node", "detail", "host"})
		for _, ev := range evs {
			_ = cw.Write([]string{ev.Strategy, strconv.FormatFloat(ev.T, 'f', 6, 64), ev.Kind, strconv.Itoa(ev.Slot), strconv.Itoa(ev.Keys),
				ev.From, ev.To, ev.Node, ev.Detail, ev.host})
		}
		cw.Flush()
		return cw.Error()
	})
}

// writeMergeFile writes dir/name through a temporary file renamed into
// place.
func writeMergeFile(dir, name string, fill func(io.Writer) error) error {
	if err := runner.WriteFile(filepath.Join(dir, name), fill); err != nil {
		return fmt.Errorf("merge: write %s: %w", name, err)
	}
	return nil
}
