package metrics

import (
	"fmt"
	"slices"
	"strings"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// MergeSummaries combines the summaries of one scenario run at the same
// time from several load-generator hosts (clusterbench merge). hosts names
// the inputs (one per summary) and becomes Summary.Hosts.
//
// Client-side numbers add up: ops, errors, redirects, throughput, rates.
// Latencies are recomputed from the merged histograms the summaries carry
// (phases.*.histogram, by_op, redirect_cost), never averaged; a summary
// without them is an error. Server-side numbers (redirects.server,
// topology_calls) are the servers' totals over each host's window, which
// overlap: the merge takes the largest, not the sum. Spread needs per-slot
// counts that summary.json does not carry and is left out. Events are
// united, without duplicates, in time order.
func MergeSummaries(hosts []string, ss []*Summary) (*Summary, error) {
	if len(ss) == 0 || len(hosts) != len(ss) {
		return nil, fmt.Errorf("%w: merge needs one host name per summary (%d hosts, %d summaries)", ErrMismatch, len(hosts), len(ss))
	}
	first := ss[0]
	out := &Summary{
		Schema:      SchemaVersion,
		Profile:     first.Profile,
		RunID:       "merged",
		StartTime:   first.StartTime,
		ToolVersion: first.ToolVersion,
		GoVersion:   first.GoVersion,
		Hosts:       slices.Clone(hosts),
		PhaseOrder:  slices.Clone(first.PhaseOrder),
		IntervalS:   first.IntervalS,
		Config:      first.Config,
	}
	var ids []string
	for i, s := range ss {
		if s.Profile != first.Profile {
			return nil, fmt.Errorf("%w: profile %q (%s) differs from %q (%s)", ErrMismatch, s.Profile, hosts[i], first.Profile, hosts[0])
		}
		if s.StartTime.Before(out.StartTime) {
			out.StartTime = s.StartTime
		}
		out.DurationS = max(out.DurationS, s.DurationS)
		if s.RunID != "" {
			ids = append(ids, s.RunID)
		}
		for _, e := range s.Events {
			if !slices.Contains(out.Events, e) {
				out.Events = append(out.Events, e)
			}
		}
	}
	if len(ids) > 0 {
		out.RunID = "merged:" + strings.Join(ids, "+")
	}
	slices.SortStableFunc(out.Events, func(a, b Event) int {
		switch {
		case a.T < b.T:
			return -1
		case a.T > b.T:
			return 1
		}
		return 0
	})

	// Strategies in the order of their first appearance.
	var names []string
	byName := map[string][]*StrategySummary{}
	for _, s := range ss {
		for i := range s.Strategies {
			st := &s.Strategies[i]
			if _, ok := byName[st.Name]; !ok {
				names = append(names, st.Name)
			}
			byName[st.Name] = append(byName[st.Name], st)
		}
	}
	for _, name := range names {
		m, err := mergeStrategy(byName[name])
		if err != nil {
			return nil, fmt.Errorf("strategy %s: %w", name, err)
		}
		out.Strategies = append(out.Strategies, m)
	}
	return out, nil
}

// histMerger merges encoded histograms.
type histMerger struct {
	h   *hdr.Histogram
	err error
}

func (m *histMerger) add(enc string, ops int64) {
	if m.err != nil || ops == 0 {
		return
	}
	if enc == "" {
		m.err = fmt.Errorf("%w: a summary has operations but no histogram to merge", ErrMismatch)
		return
	}
	d, err := hdr.Decode([]byte(enc))
	if err != nil {
		m.err = fmt.Errorf("%w: histogram: %v", ErrFormat, err)
		return
	}
	if m.h == nil {
		m.h = NewHistogram()
	}
	m.h.Merge(d)
}

// phaseMerge gathers one phase over the inputs.
type phaseMerge struct {
	sum   PhaseSummary
	all   histMerger
	byOp  map[string]*histMerger
	opOps map[string]int64
}

func mergeStrategy(in []*StrategySummary) (StrategySummary, error) {
	out := StrategySummary{
		Name:          in[0].Name,
		Phases:        map[string]PhaseSummary{},
		ErrorsByClass: map[string]int64{},
		Outcomes:      map[string]int64{},
	}
	clientKnown := true
	var client ClientRedirects
	var server ServerRedirects
	var topo *TopologyCalls
	phases := map[string]*phaseMerge{}
	var cost [4]histMerger
	var phaseOrder []string
	var capacities []*Capacity
	// Extra round trips are server-side counts over each host's window,
	// like redirects.server: the largest numerator over all hosts' ops.
	var extraRT float64
	extraKnown := false
	for _, st := range in {
		capacities = append(capacities, st.Capacity)
		if st.ExtraRoundTripsPerOp != nil {
			extraRT = max(extraRT, *st.ExtraRoundTripsPerOp*float64(st.Ops))
			extraKnown = true
		}
		if c := st.ConvergenceS; c != nil && (out.ConvergenceS == nil || *c > *out.ConvergenceS) {
			v := *c
			out.ConvergenceS = &v
		}
		out.Ops += st.Ops
		out.Errors += st.Errors
		out.Refreshes += st.Refreshes
		out.TargetRate += st.TargetRate
		out.AchievedRate += st.AchievedRate
		out.DroppedOps += st.DroppedOps
		out.SlotsMoved = max(out.SlotsMoved, st.SlotsMoved)
		out.Diagnostics.add(&st.Diagnostics)
		for k, n := range st.ErrorsByClass {
			out.ErrorsByClass[k] += n
		}
		for k, n := range st.Outcomes {
			out.Outcomes[k] += n
		}
		if c := st.Redirects.Client; c == nil {
			clientKnown = false
		} else {
			client.Moved += c.Moved
			client.Ask += c.Ask
			client.TryAgain += c.TryAgain
		}
		sv := st.Redirects.Server
		server.Moved = max(server.Moved, sv.Moved)
		server.Ask = max(server.Ask, sv.Ask)
		server.TryAgain = max(server.TryAgain, sv.TryAgain)
		server.ClusterDown = max(server.ClusterDown, sv.ClusterDown)
		if t := st.Topology; t != nil {
			if topo == nil {
				topo = &TopologyCalls{}
			}
			topo.Slots = max(topo.Slots, t.Slots)
			topo.Shards = max(topo.Shards, t.Shards)
			topo.Nodes = max(topo.Nodes, t.Nodes)
			topo.Asking = max(topo.Asking, t.Asking)
		}
		for i, c := range []CostLatency{st.RedirectCost.Direct, st.RedirectCost.AfterMoved, st.RedirectCost.AfterAsk, st.RedirectCost.AfterRetry} {
			cost[i].add(c.Histogram, c.Ops)
		}
		names := make([]string, 0, len(st.Phases))
		for n := range st.Phases {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, name := range names {
			ph := st.Phases[name]
			p := phases[name]
			if p == nil {
				p = &phaseMerge{byOp: map[string]*histMerger{}, opOps: map[string]int64{}}
				phases[name] = p
				phaseOrder = append(phaseOrder, name)
			}
			s := &p.sum
			s.Ops += ph.Ops
			s.Throughput += ph.Throughput
			s.DurationS = max(s.DurationS, ph.DurationS)
			s.Errors += ph.Errors
			s.Moved += ph.Moved
			s.Ask += ph.Ask
			s.TryAgain += ph.TryAgain
			s.Refreshes += ph.Refreshes
			p.all.add(ph.Histogram, ph.Ops)
			for op, o := range ph.ByOp {
				if p.byOp[op] == nil {
					p.byOp[op] = &histMerger{}
				}
				p.byOp[op].add(o.Histogram, o.Ops)
				p.opOps[op] += o.Ops
			}
		}
	}
	for _, name := range phaseOrder {
		p := phases[name]
		if p.all.err != nil {
			return out, p.all.err
		}
		s := p.sum
		s.Throughput = round3(s.Throughput)
		s.LatencyUS = LatencyOf(p.all.h)
		s.Histogram = encodeString(p.all.h)
		s.ByOp = map[string]OpSummary{}
		for op, m := range p.byOp {
			if m.err != nil {
				return out, m.err
			}
			s.ByOp[op] = OpSummary{Ops: p.opOps[op], LatencyUS: LatencyOf(m.h), Histogram: encodeString(m.h)}
		}
		out.Phases[name] = s
	}
	for i := range cost {
		if cost[i].err != nil {
			return out, cost[i].err
		}
	}
	var err error
	if out.Capacity, err = MergeCapacity(capacities); err != nil {
		return out, err
	}
	out.Verify = mergeVerify(in)
	if extraKnown && out.Ops > 0 {
		v := extraRT / float64(out.Ops)
		out.ExtraRoundTripsPerOp = &v
	}
	out.RedirectCost = RedirectCost{Direct: costOf(cost[0].h), AfterMoved: costOf(cost[1].h), AfterAsk: costOf(cost[2].h), AfterRetry: costOf(cost[3].h)}
	out.RedirectCost.fillExtras()
	out.TargetRate = round3(out.TargetRate)
	out.AchievedRate = round3(out.AchievedRate)
	if clientKnown {
		out.Redirects.Client = &client
	}
	out.Redirects.Server = server
	if topo != nil {
		topo.Total = topo.Slots + topo.Shards + topo.Nodes
		out.Topology = topo
		rc := Reconcile(out.Redirects.Client, ServerCounters{
			Moved: server.Moved, Ask: server.Ask, TryAgain: server.TryAgain, ClusterDown: server.ClusterDown,
		})
		out.Reconciliation = &rc
		if out.SlotsMoved > 0 {
			v := round3(float64(server.Moved+server.Ask+topo.Total) / float64(out.SlotsMoved))
			out.RoundTripsPerSlot = &v
		}
	}
	return out, nil
}
