package metrics

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Human tables: the same rows rendered as aligned text for the terminal
// (RenderTable) or as Markdown for report.md (WriteReportMarkdown).

type table struct {
	header   []string
	textCols int // leading columns of text (left-aligned in Markdown)
	rows     [][]string
}

// phaseNames returns a strategy's phases in run order: s.PhaseOrder first,
// then any others by name.
func phaseNames(s *Summary, st *StrategySummary) []string {
	var out []string
	for _, p := range s.PhaseOrder {
		if _, ok := st.Phases[p]; ok {
			out = append(out, p)
		}
	}
	var rest []string
	for p := range st.Phases {
		if !slices.Contains(out, p) {
			rest = append(rest, p)
		}
	}
	slices.Sort(rest)
	return append(out, rest...)
}

// us renders a latency given in µs with a unit that keeps it short:
// 85.3µs, 1.25ms, 2.50s.
func us(v float64) string {
	switch {
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', 2, 64) + "s"
	case v >= 1e4:
		return strconv.FormatFloat(v/1e3, 'f', 1, 64) + "ms"
	case v >= 1e3:
		return strconv.FormatFloat(v/1e3, 'f', 2, 64) + "ms"
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + "µs"
}

func count(n int64) string { return strconv.FormatInt(n, 10) }

// phaseTable has one row per strategy and phase.
func phaseTable(s *Summary) table {
	t := table{textCols: 2, header: []string{"strategy", "phase", "ops", "ops/s", "p50", "p99", "p99.9", "max", "moved", "ask", "errors"}}
	for i := range s.Strategies {
		st := &s.Strategies[i]
		for _, p := range phaseNames(s, st) {
			ph := st.Phases[p]
			if ph.Ops == 0 {
				continue
			}
			l := ph.LatencyUS
			t.rows = append(t.rows, []string{
				st.Name, p, count(ph.Ops), strconv.FormatFloat(ph.Throughput, 'f', 0, 64),
				us(l.P50), us(l.P99), us(l.P999), us(l.Max),
				count(ph.Moved), count(ph.Ask), count(ph.Errors),
			})
		}
	}
	return t
}

// clientServer renders "client/server" for a redirect count.
func clientServer(client *ClientRedirects, pick func(*ClientRedirects) int64, server int64, known bool) string {
	c := "-"
	if client != nil {
		c = count(pick(client))
	}
	sv := "-"
	if known {
		sv = count(server)
	}
	return c + "/" + sv
}

func extra(v float64, ops int64) string {
	if ops == 0 {
		return "-"
	}
	return fmt.Sprintf("%+.1f", v)
}

// strategyTable has one row per strategy: redirects, refreshes, errors and
// redirect cost.
func strategyTable(s *Summary) table {
	t := table{textCols: 1, header: []string{
		"strategy", "ops", "errors", "MOVED c/s", "ASK c/s", "TRYAGAIN c/s", "refreshes", "topology calls",
		"MOVED +p50/+p99 µs", "ASK +p50/+p99 µs", "RT/slot", "reconciled",
	}}
	for i := range s.Strategies {
		st := &s.Strategies[i]
		known := st.Topology != nil
		cl := st.Redirects.Client
		topo := "-"
		if known {
			topo = count(st.Topology.Total)
		}
		rt := "-"
		if st.RoundTripsPerSlot != nil {
			rt = strconv.FormatFloat(*st.RoundTripsPerSlot, 'f', 2, 64)
		}
		rec := "-"
		if r := st.Reconciliation; r != nil && r.Checked {
			rec = "yes"
			if !r.Agree() {
				rec = "NO"
			}
		}
		c := st.RedirectCost
		t.rows = append(t.rows, []string{
			st.Name, count(st.Ops), count(st.Errors),
			clientServer(cl, func(c *ClientRedirects) int64 { return c.Moved }, st.Redirects.Server.Moved, known),
			clientServer(cl, func(c *ClientRedirects) int64 { return c.Ask }, st.Redirects.Server.Ask, known),
			clientServer(cl, func(c *ClientRedirects) int64 { return c.TryAgain }, st.Redirects.Server.TryAgain, known),
			count(st.Refreshes), topo,
			extra(c.MovedExtraP50, c.AfterMoved.Ops) + " / " + extra(c.MovedExtraP99, c.AfterMoved.Ops),
			extra(c.AskExtraP50, c.AfterAsk.Ops) + " / " + extra(c.AskExtraP99, c.AfterAsk.Ops),
			rt, rec,
		})
	}
	return t
}

// rankingTable ranks the strategies by p99 while migrating (those without
// a migrating phase last, by overall p99): the comparison of a run with
// several strategies.
func rankingTable(s *Summary) table {
	t := table{textCols: 2, header: []string{
		"#", "strategy", "ops/s migrating", "baseline p50/p99/p99.9", "migrating p50/p99/p99.9", "after p50/p99/p99.9",
		"MOVED c/s", "ASK c/s", "extra RT/op", "refreshes c/s", "errors", "converged",
	}}
	idx := make([]int, len(s.Strategies))
	for i := range idx {
		idx[i] = i
	}
	key := func(i int) (bool, float64) {
		if ph, ok := s.Strategies[i].Phases["migrating"]; ok && ph.Ops > 0 {
			return true, ph.LatencyUS.P99
		}
		return false, 0
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		ha, pa := key(a)
		hb, pb := key(b)
		switch {
		case ha && !hb:
			return -1
		case hb && !ha:
			return 1
		case pa < pb:
			return -1
		case pa > pb:
			return 1
		}
		return 0
	})
	triple := func(st *StrategySummary, phase string) string {
		ph, ok := st.Phases[phase]
		if !ok || ph.Ops == 0 {
			return "-"
		}
		l := ph.LatencyUS
		return us(l.P50) + " / " + us(l.P99) + " / " + us(l.P999)
	}
	for rank, i := range idx {
		st := &s.Strategies[i]
		known := st.Topology != nil
		cl := st.Redirects.Client
		mig := "-"
		if ph, ok := st.Phases["migrating"]; ok && ph.Ops > 0 {
			mig = strconv.FormatFloat(ph.Throughput, 'f', 0, 64)
		}
		rt := "-"
		if st.ExtraRoundTripsPerOp != nil {
			rt = strconv.FormatFloat(*st.ExtraRoundTripsPerOp, 'f', 4, 64)
		}
		refresh := count(st.Refreshes)
		if cl == nil {
			refresh = "-"
		}
		if known {
			refresh += "/" + count(st.Topology.Total)
		} else {
			refresh += "/-"
		}
		conv := "-"
		if st.ConvergenceS != nil {
			conv = strconv.FormatFloat(*st.ConvergenceS, 'f', 1, 64) + "s"
		}
		t.rows = append(t.rows, []string{
			strconv.Itoa(rank + 1), st.Name, mig,
			triple(st, "baseline"), triple(st, "migrating"), triple(st, "after"),
			clientServer(cl, func(c *ClientRedirects) int64 { return c.Moved }, st.Redirects.Server.Moved, known),
			clientServer(cl, func(c *ClientRedirects) int64 { return c.Ask }, st.Redirects.Server.Ask, known),
			rt, refresh, count(st.Errors), conv,
		})
	}
	return t
}

func (t table) text(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	line := func(cells []string) { fmt.Fprint(tw, strings.Join(cells, "\t")+"\t\n") }
	line(t.header)
	for _, r := range t.rows {
		line(r)
	}
	return tw.Flush()
}

func (t table) markdown(w io.Writer) error {
	esc := func(cells []string) string {
		out := make([]string, len(cells))
		for i, c := range cells {
			out[i] = strings.ReplaceAll(c, "|", `\|`)
		}
		return "| " + strings.Join(out, " | ") + " |\n"
	}
	var b strings.Builder
	b.WriteString(esc(t.header))
	b.WriteString("|")
	for i := range t.header {
		if i < t.textCols {
			b.WriteString(" --- |")
		} else {
			b.WriteString(" ---: |")
		}
	}
	b.WriteString("\n")
	for _, r := range t.rows {
		b.WriteString(esc(r))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// RenderTable writes the terminal summary: per strategy and phase, then
// per strategy (client/server redirect counts, refreshes, redirect cost).
// "c/s" columns are client/server; "-" is unknown.
func RenderTable(w io.Writer, s *Summary) error {
	if err := phaseTable(s).text(w); err != nil {
		return err
	}
	if _, err := fmt.Fprintln(w); err != nil {
		return err
	}
	if err := strategyTable(s).text(w); err != nil {
		return err
	}
	if len(s.Strategies) < 2 {
		return nil
	}
	if _, err := fmt.Fprintln(w, "\nranked by p99 while migrating (c/s: client/server; extra RT/op: redirects, separate ASKING round trips and topology calls per op; converged: last slot move to last redirect)"); err != nil {
		return err
	}
	return rankingTable(s).text(w)
}

// WriteReportMarkdown writes report.md: the run's facts, the two tables of
// RenderTable, errors by class, slot and node spread, the events and any
// recording diagnostics.
func WriteReportMarkdown(w io.Writer, s *Summary) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# clusterbench report: %s\n\n", s.Profile)
	if s.RunID != "" {
		fmt.Fprintf(&b, "- run: `%s`\n", s.RunID)
	}
	if !s.StartTime.IsZero() {
		fmt.Fprintf(&b, "- started: %s\n", s.StartTime.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(&b, "- duration: %.1f s\n", s.DurationS)
	if s.ToolVersion != "" {
		fmt.Fprintf(&b, "- clusterbench %s\n", strings.TrimSpace(s.ToolVersion+" "+s.GoVersion))
	}
	if len(s.Hosts) > 0 {
		fmt.Fprintf(&b, "- load generators: %s\n", strings.Join(s.Hosts, ", "))
	}
	b.WriteString("\n## Latency and throughput by phase\n\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	b.Reset()
	if err := phaseTable(s).markdown(w); err != nil {
		return err
	}
	b.WriteString("\n## Redirects, refreshes and redirect cost\n\n")
	b.WriteString("c/s: counted by the client / by the servers (`-`: not visible). " +
		"+p50/+p99: latency of operations that followed a MOVED or ASK minus that of direct ones. " +
		"RT/slot: (MOVED + ASK + topology calls) per migrated slot, server-side.\n\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	b.Reset()
	if err := strategyTable(s).markdown(w); err != nil {
		return err
	}
	if len(s.Strategies) > 1 {
		if _, err := io.WriteString(w, "\n## Strategies ranked by p99 while migrating\n\n"+
			"extra RT/op: server-counted MOVED + ASK + separate ASKING round trips + topology calls, per op. "+
			"converged: from the last slot move to the end of the last interval with a MOVED or ASK (1 s resolution).\n\n"); err != nil {
			return err
		}
		if err := rankingTable(s).markdown(w); err != nil {
			return err
		}
	}

	var errs []string
	for _, st := range s.Strategies {
		var parts []string
		for c := range ErrorClass(NumErrorClasses) {
			if n := st.ErrorsByClass[c.String()]; n > 0 {
				parts = append(parts, fmt.Sprintf("%s %d", c, n))
			}
		}
		if len(parts) > 0 {
			errs = append(errs, fmt.Sprintf("- %s: %s\n", st.Name, strings.Join(parts, ", ")))
		}
	}
	if len(errs) > 0 {
		b.WriteString("\n## Errors by class\n\n")
		b.WriteString(strings.Join(errs, ""))
	}

	b.WriteString("\n## Spread\n\n")
	for _, st := range s.Strategies {
		if st.Spread == nil {
			continue
		}
		sl := st.Spread.Slots
		fmt.Fprintf(&b, "- %s: slots used %d/%d, max/mean %.2f, CV %.3f, Gini %.3f", st.Name, sl.Used, sl.Slots, sl.MaxOverMean, sl.CV, sl.Gini)
		if n := st.Spread.Nodes; n != nil {
			var shares []string
			for _, ns := range n.Nodes {
				shares = append(shares, fmt.Sprintf("%s %.1f%%", ns.Name, 100*ns.Share))
			}
			fmt.Fprintf(&b, "; nodes max/mean %.2f, CV %.3f (%s)", n.MaxOverMean, n.CV, strings.Join(shares, ", "))
		}
		b.WriteString("\n")
	}

	if len(s.Events) > 0 {
		b.WriteString("\n## Events\n\n")
		for _, e := range s.Events {
			fmt.Fprintf(&b, "- %.3f s `%s` %s\n", e.T, e.Kind, e.Detail)
		}
	}
	for _, st := range s.Strategies {
		if d := st.Diagnostics; d != (Diagnostics{}) && (d.BufferAllocs+d.Deferred+d.Backdated+d.Clamped+d.BadSlot+d.Late) > 0 {
			fmt.Fprintf(&b, "\nRecording diagnostics for %s: %+v\n", st.Name, d)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
