package metrics

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// Verify is what --verify found for one strategy (summary.json's
// strategies[].verify). The rule it applies is documented in the runner
// (runner/verify.go): a read is stale when it returns a version that an
// acknowledged write had already replaced before the read started; a
// write is lost when, after the run, its key holds a version it had
// replaced.
type Verify struct {
	// ReadsChecked are the values GET, MGET (one per key) and INCR
	// returned, compared with the writes acknowledged before they started;
	// StaleReads those that went back in time. UncheckedReads are reads
	// whose value was not seen (reads that failed).
	ReadsChecked   int64 `json:"reads_checked"`
	StaleReads     int64 `json:"stale_reads"`
	UncheckedReads int64 `json:"unchecked_reads"`
	// WritesChecked counts acknowledged writes, one per key written (an
	// MSET of 4 keys is 4), each checked after the run: its key must hold
	// it or a later write. LostWrites counts keys that did not; a key lost
	// by the preload itself counts under the phase "preload".
	WritesChecked int64 `json:"writes_checked"`
	LostWrites    int64 `json:"lost_writes"`
	// KeysChecked is how many keys (and INCR counters) the final check read.
	KeysChecked int64 `json:"keys_checked"`
	// Phases splits the counts by the phase the op was issued in (a lost
	// write: the phase its write was acknowledged in).
	Phases map[string]VerifyPhase `json:"phases"`
	// Examples describe the first few findings, for a human to follow up.
	Examples []string `json:"examples,omitempty"`
	// Error says why the final check could not read every key (those keys
	// are then not counted as lost).
	Error string `json:"error,omitempty"`
}

// VerifyPhase are one phase's --verify counts.
type VerifyPhase struct {
	ReadsChecked  int64 `json:"reads_checked"`
	StaleReads    int64 `json:"stale_reads"`
	WritesChecked int64 `json:"writes_checked"`
	LostWrites    int64 `json:"lost_writes"`
}

// Clean reports whether nothing was lost or stale.
func (v *Verify) Clean() bool { return v.StaleReads == 0 && v.LostWrites == 0 }

// HasVerify reports whether any strategy ran with --verify.
func (s *Summary) HasVerify() bool {
	for i := range s.Strategies {
		if s.Strategies[i].Verify != nil {
			return true
		}
	}
	return false
}

// verifyTable has one row per strategy and phase, and a total row per
// strategy.
func verifyTable(s *Summary) table {
	t := table{textCols: 2, header: []string{"strategy", "phase", "reads checked", "stale reads", "writes checked", "lost writes", "verdict"}}
	for _, st := range s.Strategies {
		v := st.Verify
		if v == nil {
			continue
		}
		for _, p := range verifyPhaseNames(s, v) {
			ph := v.Phases[p]
			t.rows = append(t.rows, []string{st.Name, p, count(ph.ReadsChecked), count(ph.StaleReads),
				count(ph.WritesChecked), count(ph.LostWrites), ""})
		}
		verdict := "ok"
		switch {
		case !v.Clean():
			verdict = "FAILED"
		case v.Error != "":
			verdict = "incomplete"
		}
		t.rows = append(t.rows, []string{st.Name, "total", count(v.ReadsChecked), count(v.StaleReads),
			count(v.WritesChecked), count(v.LostWrites), verdict})
	}
	return t
}

// verifyPhaseNames orders v's phases as the run's, "preload" first.
func verifyPhaseNames(s *Summary, v *Verify) []string {
	order := append([]string{"preload", "warmup"}, s.PhaseOrder...)
	var out []string
	for _, p := range order {
		if _, ok := v.Phases[p]; ok && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	var rest []string
	for p := range v.Phases {
		if !slices.Contains(out, p) {
			rest = append(rest, p)
		}
	}
	slices.Sort(rest)
	return append(out, rest...)
}

// verifyNotes are the lines under the table: unchecked reads, examples,
// errors of the final check.
func verifyNotes(s *Summary) []string {
	var out []string
	for _, st := range s.Strategies {
		v := st.Verify
		if v == nil {
			continue
		}
		if v.UncheckedReads > 0 {
			out = append(out, fmt.Sprintf("%s: %d reads not checked (they failed)", st.Name, v.UncheckedReads))
		}
		if v.Error != "" {
			out = append(out, fmt.Sprintf("%s: final check incomplete: %s", st.Name, v.Error))
		}
		for _, e := range v.Examples {
			out = append(out, st.Name+": "+e)
		}
	}
	return out
}

// RenderVerifyTable prints the --verify table (nothing without --verify).
func RenderVerifyTable(w io.Writer, s *Summary) error {
	if !s.HasVerify() {
		return nil
	}
	if _, err := fmt.Fprintln(w); err != nil {
		return err
	}
	if err := verifyTable(s).text(w); err != nil {
		return err
	}
	for _, n := range verifyNotes(s) {
		if _, err := fmt.Fprintln(w, n); err != nil {
			return err
		}
	}
	return nil
}

// WriteVerifyMarkdown writes report.md's verify section (nothing without
// --verify).
func WriteVerifyMarkdown(w io.Writer, s *Summary) error {
	if !s.HasVerify() {
		return nil
	}
	intro := "\n## Verify\n\n" +
		"Every write carried a version. A read is stale when it returned a version that a write acknowledged " +
		"before the read started had already replaced; a write is lost when, after the run, its key held a " +
		"version that write had replaced.\n\n"
	if _, err := io.WriteString(w, intro); err != nil {
		return err
	}
	if err := verifyTable(s).markdown(w); err != nil {
		return err
	}
	notes := verifyNotes(s)
	if len(notes) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString("\n")
	for _, n := range notes {
		b.WriteString("- " + n + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// maxMergedExamples bounds the examples a merged summary keeps.
const maxMergedExamples = 10

// mergeVerify adds up the hosts' --verify results: each host checked its
// own ops and its own keys, so every count is a sum. nil when no host ran
// with --verify; a host that did not is named in Error, since its ops
// went unchecked.
func mergeVerify(in []*StrategySummary) *Verify {
	var out *Verify
	var missing int
	for _, st := range in {
		v := st.Verify
		if v == nil {
			missing++
			continue
		}
		if out == nil {
			out = &Verify{Phases: map[string]VerifyPhase{}}
		}
		out.ReadsChecked += v.ReadsChecked
		out.StaleReads += v.StaleReads
		out.UncheckedReads += v.UncheckedReads
		out.WritesChecked += v.WritesChecked
		out.LostWrites += v.LostWrites
		out.KeysChecked += v.KeysChecked
		for name, p := range v.Phases {
			q := out.Phases[name]
			q.ReadsChecked += p.ReadsChecked
			q.StaleReads += p.StaleReads
			q.WritesChecked += p.WritesChecked
			q.LostWrites += p.LostWrites
			out.Phases[name] = q
		}
		for _, e := range v.Examples {
			if len(out.Examples) < maxMergedExamples {
				out.Examples = append(out.Examples, e)
			}
		}
		if v.Error != "" {
			out.Error = strings.TrimPrefix(out.Error+"; "+v.Error, "; ")
		}
	}
	if out != nil && missing > 0 {
		out.Error = strings.TrimPrefix(out.Error+fmt.Sprintf("; %d of %d hosts ran without --verify: their ops are not counted here", missing, len(in)), "; ")
	}
	return out
}
