package metrics

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// SchemaVersion is summary.json's "schema". Scripts rely on the fields
// marked fixed below; new fields may be added without a new version.
const SchemaVersion = 1

// Summary is summary.json. The fixed fields (DESIGN.md "Outputs of a
// run") are schema, profile, duration_s, strategies[].{name, ops, errors,
// refreshes, redirects.client{moved,ask,tryagain} (null when unseen),
// redirects.server{moved,ask}, phases.<name>.{ops, throughput,
// latency_us{p50,p90,p99,p999,max}}} and events[]{t, kind, detail}.
type Summary struct {
	Schema     int               `json:"schema"`
	Profile    string            `json:"profile"`
	DurationS  float64           `json:"duration_s"`
	Strategies []StrategySummary `json:"strategies"`
	Events     []Event           `json:"events"`

	RunID       string    `json:"run_id,omitempty"`
	StartTime   time.Time `json:"start_time"`
	ToolVersion string    `json:"tool_version,omitempty"`
	GoVersion   string    `json:"go_version,omitempty"`
	// Hosts are the load-generator hosts whose runs were merged (merge).
	Hosts []string `json:"hosts,omitempty"`
	// PhaseOrder lists the phase names in run order (maps have none).
	PhaseOrder []string `json:"phase_order,omitempty"`
	IntervalS  float64  `json:"interval_s,omitempty"`
	// Config echoes the run's configuration, without secrets (see ConfigEcho).
	Config json.RawMessage `json:"config,omitempty"`
}

// Event is a timestamped event of the run (migration started, slot moved,
// failover, ...); T is seconds from the run's start.
type Event struct {
	T      float64 `json:"t"`
	Kind   string  `json:"kind"`
	Detail string  `json:"detail"`
}

// StrategySummary is one strategy's part of summary.json.
type StrategySummary struct {
	Name      string                  `json:"name"`
	Ops       int64                   `json:"ops"`
	Errors    int64                   `json:"errors"`
	Refreshes int64                   `json:"refreshes"`
	Redirects Redirects               `json:"redirects"`
	Phases    map[string]PhaseSummary `json:"phases"`

	ErrorsByClass map[string]int64 `json:"errors_by_class"`
	Outcomes      map[string]int64 `json:"outcomes"`
	RedirectCost  RedirectCost     `json:"redirect_cost"`
	// Topology are the servers' topology calls; null when not sampled.
	Topology       *TopologyCalls  `json:"topology_calls"`
	Reconciliation *Reconciliation `json:"reconciliation"`
	Spread         *Spread         `json:"spread"`
	// TargetRate is the requested ops/s (0: closed loop); AchievedRate the
	// measured ops/s outside warmup; DroppedOps the operations an open-loop
	// schedule could not start.
	TargetRate   float64 `json:"target_rate"`
	AchievedRate float64 `json:"achieved_rate"`
	DroppedOps   int64   `json:"dropped_ops"`
	// SlotsMoved counts the slots migrated during the strategy's run;
	// RoundTripsPerSlot is (server MOVED + ASK + topology calls) / SlotsMoved,
	// DESIGN.md's bar (null without moved slots or server counts).
	SlotsMoved        int64    `json:"slots_moved"`
	RoundTripsPerSlot *float64 `json:"round_trips_per_slot"`
	// ExtraRoundTripsPerOp is (server MOVED + ASK + separate ASKING round
	// trips + topology calls) / ops: what the strategy paid on top of one
	// round trip per op.
	ExtraRoundTripsPerOp *float64 `json:"extra_round_trips_per_op"`
	// ConvergenceS is the time from the last slot move to the end of the
	// last sampling interval in which the servers still sent this
	// strategy a MOVED or ASK (0 when none came after the last move);
	// resolution: one interval. Null without a migration.
	ConvergenceS *float64 `json:"convergence_s"`
	// RecoveryS is the time from the first op that failed because a node
	// was down to the first later op that succeeded on that master's slots
	// (after a kill: on the promoted replica). Null without a fault.
	RecoveryS *float64 `json:"recovery_s,omitempty"`
	// ClientCPUS is the CPU seconds (user+system) the load generator used
	// while its workers ran (preload, cleanup and plots excluded);
	// ClientCPUSPerMOp is that per million ops.
	ClientCPUS       float64     `json:"client_cpu_s,omitempty"`
	ClientCPUSPerMOp float64     `json:"client_cpu_s_per_mop,omitempty"`
	Diagnostics      Diagnostics `json:"diagnostics"`
	// Capacity is the strategy's capacity search (--slo-p99; absent otherwise).
	Capacity *Capacity `json:"capacity,omitempty"`
	// Verify is the strategy's --verify result (verify.go; absent otherwise).
	Verify *Verify `json:"verify,omitempty"`
}

// Redirects are counted by the client and by the servers.
type Redirects struct {
	Client *ClientRedirects `json:"client"` // null when the strategy cannot see them
	Server ServerRedirects  `json:"server"`
}

// ClientRedirects are the redirects the client received.
type ClientRedirects struct {
	Moved    int64 `json:"moved"`
	Ask      int64 `json:"ask"`
	TryAgain int64 `json:"tryagain"`
}

// ServerRedirects are the redirect and cluster errors the servers sent.
type ServerRedirects struct {
	Moved       int64 `json:"moved"`
	Ask         int64 `json:"ask"`
	TryAgain    int64 `json:"tryagain"`
	ClusterDown int64 `json:"clusterdown"`
}

// PhaseSummary is one phase of one strategy.
type PhaseSummary struct {
	Ops        int64   `json:"ops"`
	Throughput float64 `json:"throughput"`
	LatencyUS  Latency `json:"latency_us"`

	DurationS float64 `json:"duration_s"`
	Errors    int64   `json:"errors"`
	Moved     int64   `json:"moved"`
	Ask       int64   `json:"ask"`
	TryAgain  int64   `json:"tryagain"`
	Refreshes int64   `json:"refreshes"`
	// ByOp splits the phase by operation.
	ByOp map[string]OpSummary `json:"by_op"`
	// Histogram is the phase's latency histogram in ns (HdrHistogram V2
	// compressed, base64): merge uses it to combine runs exactly.
	Histogram string `json:"histogram,omitempty"`
}

// OpSummary is one operation kind within a phase.
type OpSummary struct {
	Ops       int64   `json:"ops"`
	LatencyUS Latency `json:"latency_us"`
	Histogram string  `json:"histogram,omitempty"`
}

// RedirectCost compares the latency of operations that succeeded directly
// with those that needed a MOVED, an ASK or a backoff. The Extra fields are
// the differences of the percentiles (redirected − direct), 0 when either
// side had no operation.
type RedirectCost struct {
	Direct     CostLatency `json:"direct"`
	AfterMoved CostLatency `json:"after_moved"`
	AfterAsk   CostLatency `json:"after_ask"`
	AfterRetry CostLatency `json:"after_retry"`

	MovedExtraP50 float64 `json:"moved_extra_p50_us"`
	MovedExtraP99 float64 `json:"moved_extra_p99_us"`
	AskExtraP50   float64 `json:"ask_extra_p50_us"`
	AskExtraP99   float64 `json:"ask_extra_p99_us"`
	RetryExtraP50 float64 `json:"retry_extra_p50_us"`
	RetryExtraP99 float64 `json:"retry_extra_p99_us"`
}

// CostLatency is the latency of one kind of operation (µs).
type CostLatency struct {
	Ops       int64   `json:"ops"`
	P50       float64 `json:"p50"`
	P99       float64 `json:"p99"`
	Histogram string  `json:"histogram,omitempty"`
}

// StrategyOptions say how to turn a Result into a StrategySummary.
type StrategyOptions struct {
	Name string
	// ClientRedirects is false for strategies that cannot see their own
	// redirects (the real libraries): redirects.client is then null.
	ClientRedirects bool
	// Refreshes, when not nil, replaces the sum of Sample.Refreshes (a
	// strategy's own count of background refreshes is more exact).
	Refreshes *int64
	// CostPhases are the phases whose operations enter RedirectCost (all
	// when nil).
	CostPhases []string
	// RatePhases are the phases AchievedRate covers (all but "warmup"
	// when nil).
	RatePhases []string
	// SlotOwner maps each slot to an index into NodeNames, for the node
	// spread (none when nil).
	SlotOwner []int
	NodeNames []string
	// TopSlots is how many hottest slots to list (10 when zero).
	TopSlots int
}

// Strategy builds the client-side part of a StrategySummary from r. Fill
// in the server side with SetServer, and the run facts (TargetRate,
// DroppedOps, SlotsMoved) directly.
func (r *Result) Strategy(opt StrategyOptions) (StrategySummary, error) {
	t := r.Totals
	s := StrategySummary{
		Name:          opt.Name,
		Ops:           t.Ops,
		Errors:        t.ErrorCount(),
		Refreshes:     t.Refreshes,
		Phases:        map[string]PhaseSummary{},
		ErrorsByClass: map[string]int64{},
		Outcomes:      map[string]int64{},
		Diagnostics:   r.Diag,
	}
	if opt.Refreshes != nil {
		s.Refreshes = *opt.Refreshes
	}
	if opt.ClientRedirects {
		s.Redirects.Client = &ClientRedirects{Moved: t.Moved, Ask: t.Ask, TryAgain: t.TryAgain}
	}
	for c, n := range t.Errors {
		s.ErrorsByClass[ErrorClass(c).String()] = n
	}
	for o, n := range t.Outcomes {
		s.Outcomes[Outcome(o).String()] = n
	}
	for p, pr := range r.PhaseResults {
		ps := PhaseSummary{
			Ops:        pr.Ops,
			Throughput: pr.Throughput,
			LatencyUS:  pr.Latency,
			DurationS:  round3((pr.End - pr.Start).Seconds()),
			Errors:     pr.ErrorCount(),
			Moved:      pr.Moved,
			Ask:        pr.Ask,
			TryAgain:   pr.TryAgain,
			Refreshes:  pr.Refreshes,
			ByOp:       map[string]OpSummary{},
			Histogram:  encodeString(pr.Hist),
		}
		for op, name := range r.Ops {
			h := r.Merged(func(phase, o int, _ Outcome) bool { return phase == p && o == op })
			if h == nil {
				continue
			}
			ps.ByOp[name] = OpSummary{Ops: h.TotalCount(), LatencyUS: LatencyOf(h), Histogram: encodeString(h)}
		}
		s.Phases[pr.Name] = ps
	}

	inCost := phaseFilter(r.Phases, opt.CostPhases, nil)
	cost := func(o Outcome) CostLatency {
		return costOf(r.Merged(func(p, _ int, oc Outcome) bool { return oc == o && inCost[p] }))
	}
	s.RedirectCost = RedirectCost{Direct: cost(OK), AfterMoved: cost(OKAfterMoved), AfterAsk: cost(OKAfterAsk), AfterRetry: cost(OKAfterRetry)}
	s.RedirectCost.fillExtras()

	inRate := phaseFilter(r.Phases, opt.RatePhases, []string{"warmup"})
	var rateOps int64
	var rateSpan time.Duration
	for p, pr := range r.PhaseResults {
		if inRate[p] && pr.Ops > 0 {
			rateOps += pr.Ops
			rateSpan += pr.End - pr.Start
		}
	}
	if rateSpan > 0 {
		s.AchievedRate = round3(float64(rateOps) / rateSpan.Seconds())
	}

	top := opt.TopSlots
	if top == 0 {
		top = 10
	}
	var served []uint64
	if len(r.NodeOps) > 0 {
		served = r.NodeOps
	}
	sp, err := SpreadOf(r.SlotOps, opt.SlotOwner, opt.NodeNames, served, top)
	if err != nil {
		return StrategySummary{}, err
	}
	s.Spread = &sp
	return s, nil
}

// phaseFilter marks the phases named in only (all when only is nil) minus
// those in exceptByDefault when only is nil.
func phaseFilter(phases, only, exceptByDefault []string) []bool {
	keep := make([]bool, len(phases))
	for p, name := range phases {
		if only == nil {
			keep[p] = true
			for _, e := range exceptByDefault {
				keep[p] = keep[p] && name != e
			}
			continue
		}
		for _, o := range only {
			keep[p] = keep[p] || name == o
		}
	}
	return keep
}

func costOf(h *hdr.Histogram) CostLatency {
	if h == nil {
		return CostLatency{}
	}
	return CostLatency{Ops: h.TotalCount(), P50: quantileUS(h, 0.5), P99: quantileUS(h, 0.99), Histogram: encodeString(h)}
}

func (c *RedirectCost) fillExtras() {
	extra := func(a, direct CostLatency) (p50, p99 float64) {
		if a.Ops == 0 || direct.Ops == 0 {
			return 0, 0
		}
		return round3(a.P50 - direct.P50), round3(a.P99 - direct.P99)
	}
	c.MovedExtraP50, c.MovedExtraP99 = extra(c.AfterMoved, c.Direct)
	c.AskExtraP50, c.AskExtraP99 = extra(c.AfterAsk, c.Direct)
	c.RetryExtraP50, c.RetryExtraP99 = extra(c.AfterRetry, c.Direct)
}

func encodeString(h *hdr.Histogram) string {
	if h == nil {
		return ""
	}
	return string(encode(h))
}

// SetServer fills the server side: redirects.server, topology_calls, the
// reconciliation with the client's counts, and round_trips_per_slot (with
// SlotsMoved set first). server is the strategy's span: per node
// after.Sub(before), added over the nodes.
func (s *StrategySummary) SetServer(server ServerCounters) {
	s.Redirects.Server = server.Redirects()
	tc := server.TopologyCalls()
	s.Topology = &tc
	rc := Reconcile(s.Redirects.Client, server)
	s.Reconciliation = &rc
	s.RoundTripsPerSlot = nil
	if s.SlotsMoved > 0 {
		v := round3(float64(server.Moved+server.Ask+tc.Total) / float64(s.SlotsMoved))
		s.RoundTripsPerSlot = &v
	}
}

// WriteSummaryJSON writes s to path atomically: into a temporary file in
// the same directory, then renamed over path, so that a reader never sees
// half a file. A zero Schema is written as SchemaVersion.
func WriteSummaryJSON(path string, s *Summary) error {
	if s.Schema == 0 {
		s.Schema = SchemaVersion
	}
	if s.Strategies == nil {
		s.Strategies = []StrategySummary{}
	}
	if s.Events == nil {
		s.Events = []Event{}
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("metrics: encode summary: %w", err)
	}
	return writeFileAtomic(path, append(b, '\n'))
}

// writeFileAtomic writes data to path through a temporary file and a rename.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("metrics: write %s: %w", path, err)
	}
	return nil
}

// ReadSummaryJSON reads a summary.json. Unknown fields are ignored (newer
// writers may add some); a schema other than SchemaVersion is an error.
func ReadSummaryJSON(path string) (*Summary, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	defer f.Close()
	return DecodeSummary(f)
}

// DecodeSummary reads a summary from r (see ReadSummaryJSON).
func DecodeSummary(r io.Reader) (*Summary, error) {
	var s Summary
	if err := json.NewDecoder(r).Decode(&s); err != nil {
		return nil, fmt.Errorf("%w: summary: %v", ErrFormat, err)
	}
	if s.Schema != SchemaVersion {
		return nil, fmt.Errorf("%w: summary schema %d, want %d", ErrFormat, s.Schema, SchemaVersion)
	}
	return &s, nil
}

// secretKey matches configuration keys whose values must not be echoed.
var secretKey = regexp.MustCompile(`(?i)pass|secret|token|credential|auth|key_?file|private`)

// ConfigEcho marshals a run's configuration for Summary.Config with the
// values of secret-looking keys (password, token, auth, ...) replaced by
// "***", at any depth.
func ConfigEcho(cfg any) (json.RawMessage, error) {
	b, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("metrics: config echo: %w", err)
	}
	var v any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("metrics: config echo: %w", err)
	}
	redact(v)
	return json.Marshal(v)
}

func redact(v any) {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if secretKey.MatchString(k) {
				if x != nil && x != "" {
					t[k] = "***"
				}
				continue
			}
			redact(x)
		}
	case []any:
		for _, x := range t {
			redact(x)
		}
	}
}
