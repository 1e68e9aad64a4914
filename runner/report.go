package runner

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/clusterbench/clusterbench/cluster"
	"github.com/clusterbench/clusterbench/metrics"
	"github.com/clusterbench/clusterbench/workload"
)

// Errors about the cluster named by --addrs, found before the run writes
// anything to it.
var (
	// ErrUnreachable wraps a failure to reach it.
	ErrUnreachable = errors.New("runner: cluster unreachable")
	// ErrClusterNotOK: it does not serve every slot (cluster_state:fail).
	ErrClusterNotOK = errors.New("runner: cluster not ok")
)

// Measured reports whether any strategy recorded results worth writing.
func (r *Report) Measured() bool {
	for _, s := range r.Strategies {
		if s.Result != nil {
			return true
		}
	}
	return false
}

// configEcho is what summary.json repeats of the run's configuration:
// everything that shapes the numbers, never a credential.
type configEcho struct {
	Profile         string   `json:"profile"`
	Cluster         string   `json:"cluster"` // "local" or the seed addresses
	Strategies      []string `json:"strategies"`
	DurationS       float64  `json:"duration_s"`
	WarmupS         float64  `json:"warmup_s"`
	Workers         int      `json:"workers"`
	Pipeline        int      `json:"pipeline"`
	PinWorkers      bool     `json:"pin_workers,omitempty"`
	TLS             bool     `json:"tls,omitempty"` // every connection over TLS
	Rate            string   `json:"rate"`
	Dist            string   `json:"dist"`
	ZipfTheta       float64  `json:"zipf_theta"`
	Hot             string   `json:"hot"`
	Keys            int      `json:"keys"`
	KeyPrefix       string   `json:"key_prefix"`
	TagGroup        int      `json:"tag_group"`
	ValueSize       string   `json:"value_size"`
	Mix             string   `json:"mix"`
	Seed            uint64   `json:"seed"`
	Migrate         string   `json:"migrate"`
	MigrateAtS      float64  `json:"migrate_at_s"`
	MigrateDuration float64  `json:"migrate_duration_s"`
	Masters         int      `json:"masters,omitempty"`
	Replicas        int      `json:"replicas,omitempty"`
	RedisVersion    string   `json:"redis_version"`
	// AgentID and StartAt: a multi-host run's (see merge); Capacity: a
	// capacity search's plan.
	AgentID  string        `json:"agent_id,omitempty"`
	StartAt  string        `json:"start_at,omitempty"`
	Capacity *capacityEcho `json:"capacity,omitempty"`
}

func echo(r *Report) configEcho {
	c := r.Config
	w := c.Workload
	rate := "closed loop"
	if c.Schedule != nil {
		rate = c.Schedule.String()
	}
	where := "local"
	if len(c.Addrs) > 0 {
		where = fmt.Sprint(c.Addrs)
	}
	e := configEcho{
		Profile: c.Profile, Cluster: where, Strategies: c.Strategies,
		DurationS: c.Duration.Seconds(), WarmupS: c.Warmup.Seconds(), Workers: c.Workers, Pipeline: c.Pipeline, PinWorkers: c.PinWorkers, TLS: c.Conn.TLS != nil,
		Rate: rate, Dist: w.Dist.String(), ZipfTheta: w.ZipfTheta, Hot: w.Hot.String(), Keys: w.Keys,
		KeyPrefix: w.Prefix, TagGroup: w.TagGroup, ValueSize: w.ValueSize.String(), Mix: w.Mix.String(), Seed: w.Seed,
		Migrate: c.Migrate.String(), MigrateAtS: c.MigrateAt.Seconds(), MigrateDuration: c.MigrateDuration.Seconds(),
		RedisVersion: r.Version,
	}
	if len(c.Addrs) == 0 {
		e.Masters, e.Replicas = c.Masters, c.Replicas
	}
	e.AgentID, e.Capacity = c.AgentID, c.Capacity.echo()
	if !c.StartAt.IsZero() {
		e.StartAt = c.StartAt.UTC().Format(time.RFC3339Nano)
	}
	return e
}

// Summary builds summary.json's content from the report.
func (r *Report) Summary() (*metrics.Summary, error) {
	cfg := r.Config
	conf, err := metrics.ConfigEcho(echo(r))
	if err != nil {
		return nil, err
	}
	s := &metrics.Summary{
		Schema: metrics.SchemaVersion, Profile: cfg.Profile, DurationS: cfg.Duration.Seconds(),
		RunID: runID(r), StartTime: r.Started, Hosts: hosts(cfg),
		ToolVersion: Version, GoVersion: runtime.Version(), PhaseOrder: phaseNames[1:],
		IntervalS: cfg.Interval.Seconds(), Config: conf, Events: []metrics.Event{},
	}
	for _, sr := range r.Strategies {
		if sr.Result == nil {
			continue
		}
		opt := metrics.StrategyOptions{
			Name: sr.Name, ClientRedirects: sr.Client.Known,
			CostPhases: phaseNames[1:], NodeNames: sr.Nodes, SlotOwner: sr.SlotOwner,
		}
		if sr.Client.Known {
			n := sr.Client.Refreshes
			opt.Refreshes = &n
		}
		st, err := sr.Result.Strategy(opt)
		if err != nil {
			return nil, fmt.Errorf("runner: summary of %s: %w", sr.Name, err)
		}
		// The warmup is recorded but not reported: it is not part of any
		// measured phase.
		delete(st.Phases, phaseNames[phaseWarmup])
		st.TargetRate, st.DroppedOps = targetRate(cfg, sr)
		st.Capacity = sr.Capacity
		st.Verify = sr.Verify
		for _, ev := range sr.Events {
			if ev.Kind == cluster.EventSlotMoved {
				st.SlotsMoved++
			}
		}
		st.SetServer(sr.Server)
		st.ExtraRoundTripsPerOp = extraRoundTrips(sr)
		st.ConvergenceS = convergence(sr)
		if cpu := sr.ClientCPU.Seconds(); cpu > 0 && sr.Issued > 0 {
			st.ClientCPUS = cpu
			st.ClientCPUSPerMOp = cpu / float64(sr.Issued) * 1e6
		}
		if d, ok := sr.Recovery(); ok {
			v := d.Seconds()
			st.RecoveryS = &v
		}
		s.Strategies = append(s.Strategies, st)
		for _, ev := range sr.Events {
			if perSlot(ev.Kind) {
				continue // every slot's events are in events.csv
			}
			s.Events = append(s.Events, metrics.Event{
				T: ev.At.Sub(sr.Start).Seconds(), Kind: string(ev.Kind),
				Detail: "strategy=" + sr.Name + " " + eventDetail(ev),
			})
		}
	}
	return s, nil
}

// extraRoundTrips is what a strategy paid beyond one round trip per op,
// counted by the servers: MOVED and ASK replies (each costs a retry),
// ASKING sent as a round trip of its own, and topology calls.
func extraRoundTrips(sr *StrategyRun) *float64 {
	ops := sr.Result.Totals.Ops
	if ops == 0 {
		return nil
	}
	extra := sr.Server.Moved + sr.Server.Ask + sr.Server.TopologyCalls().Total
	if sr.AskTwoRoundTrips {
		extra += sr.Server.Calls[metrics.CmdAsking]
	}
	v := float64(extra) / float64(ops)
	return &v
}

// convergence is the time from the last slot move to the end of the last
// server sampling interval with a MOVED or ASK for this strategy.
func convergence(sr *StrategyRun) *float64 {
	var lastMove time.Time
	for _, ev := range sr.Events {
		if ev.Kind == cluster.EventSlotMoved && ev.At.After(lastMove) {
			lastMove = ev.At
		}
	}
	if lastMove.IsZero() {
		return nil
	}
	v := 0.0
	for _, smp := range sr.ServerTimeline {
		if smp.Counts.Moved+smp.Counts.Ask > 0 && smp.At.After(lastMove) {
			v = smp.At.Sub(lastMove).Seconds()
		}
	}
	return &v
}

// timelineRows are the strategy's timeline.csv rows: the collector's
// intervals with the servers' redirects of each.
func (sr *StrategyRun) timelineRows() []metrics.TimelineRow {
	rows := metrics.TimelineRows(sr.Name, sr.Result)
	for _, smp := range sr.ServerTimeline {
		if smp.Interval >= 0 && smp.Interval < len(rows) {
			rows[smp.Interval].ServerMoved += smp.Counts.Moved
			rows[smp.Interval].ServerAsk += smp.Counts.Ask
		}
	}
	return rows
}

// Version is the tool's version, set at build time with -ldflags.
var Version = "dev"

func perSlot(k cluster.EventKind) bool {
	return k == cluster.EventSlotMigrating || k == cluster.EventSlotMoved || k == cluster.EventOwnerChanged
}

func eventDetail(ev cluster.Event) string {
	d := ev.Detail
	add := func(k, v string) {
		if v != "" {
			if d != "" {
				d += " "
			}
			d += k + "=" + v
		}
	}
	add("node", ev.Node)
	add("from", ev.From)
	add("to", ev.To)
	if ev.Keys > 0 {
		add("keys", strconv.Itoa(ev.Keys))
	}
	return d
}

// targetRate is the open-loop rate asked for over the measured time, and
// the scheduled ops that never started before the run ended (a generator
// that fell behind). Closed loop: 0, 0.
func targetRate(cfg Config, sr *StrategyRun) (float64, int64) {
	if cfg.Schedule == nil {
		return 0, 0
	}
	end := cfg.Warmup + cfg.Duration
	if sr.StoppedAt > cfg.Warmup && sr.StoppedAt < end {
		end = sr.StoppedAt // a capacity search stopped issuing here
	}
	scheduled := scheduledBefore(cfg.Schedule, end)
	measured := scheduled - scheduledBefore(cfg.Schedule, cfg.Warmup)
	dropped := max(scheduled-sr.Issued, 0)
	return float64(measured) / (end - cfg.Warmup).Seconds(), dropped
}

// scheduledBefore counts the ops whose intended start is before t: the
// schedule is monotonic, so a binary search over op indexes finds it.
func scheduledBefore(s workload.Schedule, t time.Duration) int64 {
	lo, hi := uint64(0), uint64(1)
	for {
		off, ok := s.IntendedStart(hi)
		if !ok || off >= t || hi >= 1<<50 {
			break
		}
		lo, hi = hi, hi*2
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		if off, ok := s.IntendedStart(mid); ok && off < t {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return int64(lo)
}

// WriteOutputs writes summary.json, timeline.csv, events.csv, one .hlog
// per strategy and report.md into dir (created if needed).
func WriteOutputs(r *Report, dir string) error {
	sum, err := r.Summary()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var rows []metrics.TimelineRow
	for _, sr := range r.Strategies {
		if sr.Result == nil {
			continue
		}
		rows = append(rows, sr.timelineRows()...)
		if err := WriteFile(filepath.Join(dir, FileName(sr.Name)+".hlog"), func(w io.Writer) error {
			return metrics.WriteHlog(w, sr.Result)
		}); err != nil {
			return err
		}
	}
	if err := WriteFile(filepath.Join(dir, "timeline.csv"), func(w io.Writer) error {
		return metrics.WriteTimelineCSV(w, rows)
	}); err != nil {
		return err
	}
	if err := WriteFile(filepath.Join(dir, "events.csv"), func(w io.Writer) error {
		return writeEvents(w, r)
	}); err != nil {
		return err
	}
	if err := WriteFile(filepath.Join(dir, "slots.csv"), func(w io.Writer) error {
		return writeSlots(w, r)
	}); err != nil {
		return err
	}
	if sum.HasCapacity() {
		if err := WriteFile(filepath.Join(dir, "capacity.csv"), func(w io.Writer) error {
			return metrics.WriteCapacityCSV(w, sum)
		}); err != nil {
			return err
		}
	}
	if err := WriteFile(filepath.Join(dir, "report.md"), func(w io.Writer) error {
		if err := metrics.WriteReportMarkdown(w, sum); err != nil {
			return err
		}
		if err := metrics.WriteCapacityMarkdown(w, sum); err != nil {
			return err
		}
		return metrics.WriteVerifyMarkdown(w, sum)
	}); err != nil {
		return err
	}
	// summary.json last: its presence marks a complete output directory.
	return metrics.WriteSummaryJSON(filepath.Join(dir, "summary.json"), sum)
}

// RenderTable prints the comparison table.
func RenderTable(w io.Writer, r *Report) error {
	sum, err := r.Summary()
	if err != nil {
		return err
	}
	if err := metrics.RenderTable(w, sum); err != nil {
		return err
	}
	if err := metrics.RenderCapacityTable(w, sum); err != nil {
		return err
	}
	return metrics.RenderVerifyTable(w, sum)
}

// FileName turns a strategy name into a file name: custom strategies are
// named by their knobs (custom:moved=patch,...), whose ':' ',' '=' are kept
// out of file names.
func FileName(strategy string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, strategy)
}

// writeEvents writes every event of every strategy, slot by slot.
func writeEvents(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"strategy", "t_s", "kind", "slot", "keys", "from", "to", "node", "detail"})
	for _, sr := range r.Strategies {
		evs := append([]cluster.Event(nil), sr.Events...)
		sort.SliceStable(evs, func(i, j int) bool { return evs[i].At.Before(evs[j].At) })
		for _, ev := range evs {
			_ = cw.Write([]string{sr.Name, strconv.FormatFloat(ev.At.Sub(sr.Start).Seconds(), 'f', 6, 64), string(ev.Kind),
				strconv.Itoa(ev.Slot), strconv.Itoa(ev.Keys), ev.From, ev.To, ev.Node, ev.Detail})
		}
	}
	cw.Flush()
	return cw.Error()
}

// writeSlots writes the ops per slot of every strategy with the slot's
// final owner: the data of the heatmap and the evenness plots.
func writeSlots(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"strategy", "slot", "ops", "owner"})
	for _, sr := range r.Strategies {
		if sr.Result == nil {
			continue
		}
		for slot, ops := range sr.Result.SlotOps {
			owner := ""
			if slot < len(sr.SlotOwner) && sr.SlotOwner[slot] >= 0 {
				owner = sr.Nodes[sr.SlotOwner[slot]]
			}
			_ = cw.Write([]string{sr.Name, strconv.Itoa(slot), strconv.FormatUint(ops, 10), owner})
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteFile writes path through a temporary file renamed into place, so a
// crash never leaves half a file under the final name.
func WriteFile(path string, fill func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(tmp)
	err = fill(bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644) // CreateTemp makes it private
	}
	if err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
