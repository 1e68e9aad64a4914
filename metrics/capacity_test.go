package metrics

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

// capStep is a step with the given rates, p99-ish latency and errors.
func capStep(t *testing.T, k int, target, achieved float64, latency time.Duration, ops, errs int64) CapacityStep {
	t.Helper()
	h := NewHistogram()
	if err := h.RecordValues(int64(latency), ops); err != nil {
		t.Fatal(err)
	}
	dur := 2 * time.Second
	return NewCapacityStep(k, time.Duration(k)*dur, dur, target, int64(achieved*dur.Seconds()), 0, h, ops, errs)
}

func TestCapacityJudge(t *testing.T) {
	ok, slow := 100*time.Microsecond, 5*time.Millisecond
	cases := []struct {
		name      string
		steps     func(t *testing.T) []CapacityStep
		maxSteps  int
		wantMax   float64
		wantLimit string
		wantSteps int
	}{
		// The third step misses p99 ≤ 2 ms; the fourth is dropped.
		{"slo", func(t *testing.T) []CapacityStep {
			return []CapacityStep{capStep(t, 0, 100, 100, ok, 200, 0), capStep(t, 1, 200, 200, ok, 400, 0),
				capStep(t, 2, 400, 400, slow, 800, 0), capStep(t, 3, 800, 800, ok, 1600, 0)}
		}, 4, 200, LimitSLO, 3},
		// Errors at 1% against a 0.1% threshold.
		{"errors", func(t *testing.T) []CapacityStep {
			return []CapacityStep{capStep(t, 0, 100, 100, ok, 200, 0), capStep(t, 1, 200, 200, ok, 400, 4)}
		}, 4, 100, LimitErrors, 2},
		// The generator fell under 90%: reported as such, even with a
		// p99 that also misses (the latency is then the generator's too).
		{"generator first", func(t *testing.T) []CapacityStep {
			return []CapacityStep{capStep(t, 0, 100, 100, ok, 200, 0), capStep(t, 1, 200, 150, slow, 300, 0)}
		}, 4, 100, LimitGenerator, 2},
		// All planned steps met.
		{"max steps", func(t *testing.T) []CapacityStep {
			return []CapacityStep{capStep(t, 0, 100, 100, ok, 200, 0), capStep(t, 1, 200, 199, ok, 400, 0)}
		}, 2, 200, LimitMaxSteps, 2},
		// Fewer steps than planned, all met.
		{"interrupted", func(t *testing.T) []CapacityStep {
			return []CapacityStep{capStep(t, 0, 100, 100, ok, 200, 0)}
		}, 3, 100, LimitInterrupted, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &Capacity{SLOP99US: 2000, MaxErrorRate: 0.001, MaxSteps: tc.maxSteps, Steps: tc.steps(t)}
			c.Judge()
			if c.MaxRateMeetingSLO != tc.wantMax || c.LimitedBy != tc.wantLimit || len(c.Steps) != tc.wantSteps {
				t.Errorf("max %v, limited by %s, %d steps; want %v, %s, %d (%s)", c.MaxRateMeetingSLO, c.LimitedBy, len(c.Steps),
					tc.wantMax, tc.wantLimit, tc.wantSteps, c.Note)
			}
			if c.Note == "" {
				t.Error("no note")
			}
		})
	}
}

// TestMergeCapacity adds two hosts' steps: rates and counts add up, the
// p99 comes from the summed histograms, the steps are judged again and
// only the steps both hosts completed are kept.
func TestMergeCapacity(t *testing.T) {
	// Host a: fast; host b: 10% of the ops but slow at step 1. Alone, a
	// meets the SLO at step 1; merged, 10% slow ops put p99 over it.
	a := &Capacity{SLOP99US: 2000, MaxErrorRate: 0.001, RateStart: 100, MaxSteps: 3, Steps: []CapacityStep{
		capStep(t, 0, 100, 100, 100*time.Microsecond, 200, 0), capStep(t, 1, 200, 200, 100*time.Microsecond, 400, 0),
		capStep(t, 2, 400, 400, 100*time.Microsecond, 800, 0)}}
	b := &Capacity{SLOP99US: 2000, MaxErrorRate: 0.001, RateStart: 10, MaxSteps: 3, Steps: []CapacityStep{
		capStep(t, 0, 10, 10, 100*time.Microsecond, 20, 0), capStep(t, 1, 20, 20, 10*time.Millisecond, 40, 0)}}
	a.Judge()
	b.Judge()
	m, err := MergeCapacity([]*Capacity{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Steps) != 2 || m.Steps[1].TargetRate != 220 || m.Steps[1].Ops != 440 || m.LimitedBy != LimitSLO || m.MaxRateMeetingSLO != 110 {
		t.Fatalf("merged %+v", m)
	}
	if p := m.Steps[1].LatencyUS.P99; p < 9990 || p > 10010 {
		t.Errorf("merged step 1 p99 %vµs, want 10ms (the sum's, not an average)", p)
	}
	if p := m.Steps[0].LatencyUS.P99; p < 99.9 || p > 100.1 {
		t.Errorf("merged step 0 p99 %vµs, want 100µs", p)
	}

	// Host b2's generator fell behind at step 1 (10 of 20 ops/s), which
	// the merged step would hide (210 of 220 ops/s is over 90%): the
	// merged step is still the generator's, and not counted as met.
	b2 := &Capacity{SLOP99US: 2000, MaxErrorRate: 0.001, MaxSteps: 3, Steps: []CapacityStep{
		capStep(t, 0, 10, 10, 100*time.Microsecond, 20, 0), capStep(t, 1, 20, 10, 100*time.Microsecond, 20, 0)}}
	b2.Judge()
	if m, err = MergeCapacity([]*Capacity{a, b2}); err != nil || m.LimitedBy != LimitGenerator || len(m.Steps) != 2 || m.MaxRateMeetingSLO != 110 {
		t.Errorf("merge with a host whose generator fell behind: %+v, %v", m, err)
	}

	// Both pass the steps they share, but one host was interrupted: the
	// merged search was interrupted too, at the shorter host's last step.
	a2 := &Capacity{SLOP99US: 2000, MaxErrorRate: 0.001, MaxSteps: 3, Steps: a.Steps[:1]}
	a2.Judge()
	if m, err = MergeCapacity([]*Capacity{a, a2}); err != nil || m.LimitedBy != LimitInterrupted || len(m.Steps) != 1 || m.MaxRateMeetingSLO != 200 {
		t.Errorf("merge with an interrupted host: %+v, %v", m, err)
	}

	if _, err := MergeCapacity([]*Capacity{a, nil}); !errors.Is(err, ErrMismatch) {
		t.Errorf("capacity merged with a plain run: %v", err)
	}
	other := *b
	other.SLOP99US = 1
	if _, err := MergeCapacity([]*Capacity{a, &other}); !errors.Is(err, ErrMismatch) {
		t.Errorf("different SLOs merged: %v", err)
	}
	if m, err := MergeCapacity([]*Capacity{nil, nil}); m != nil || err != nil {
		t.Errorf("no search: %v, %v", m, err)
	}
}

func TestMergeSpan(t *testing.T) {
	clock := &fakeClock{}
	c := newTestCollector(t, clock)
	r := c.NewRecorder()
	// 10 ops per interval in intervals 0..3, one error in interval 1,
	// latencies 1 ms in 0..1, 5 ms in 2..3.
	for i := range 4 {
		for k := range 10 {
			lat := time.Millisecond
			if i >= 2 {
				lat = 5 * time.Millisecond
			}
			s := Sample{Latency: lat, Node: NoNode, Phase: 1}
			if i == 1 && k == 0 {
				s.Outcome, s.ErrClass = Error, Timeout
			}
			r.Record(time.Duration(i)*time.Second+time.Duration(k)*time.Millisecond, s)
		}
	}
	c.Poll()
	clock.Set(2500 * time.Millisecond) // intervals 0 and 1 sealed (the recorder is in 3)
	h := NewHistogram()
	if _, ok := c.MergeSpan(h, 1, 4); ok {
		t.Fatal("span with unsealed intervals reported ok")
	}
	if h.TotalCount() != 0 {
		t.Fatal("histogram filled before the span was sealed")
	}
	ctr, ok := c.MergeSpan(h, 0, 2)
	if !ok || ctr.Ops != 20 || ctr.ErrorCount() != 1 || h.TotalCount() != 20 || quantileUS(h, 0.99) > 1001 {
		t.Fatalf("span 0..2: ok %v, %d ops, %d errors, %d recorded, p99 %v", ok, ctr.Ops, ctr.ErrorCount(), h.TotalCount(), quantileUS(h, 0.99))
	}
	r.Flush()
	c.Poll()
	h = NewHistogram()
	if ctr, ok = c.MergeSpan(h, 2, 4); !ok || ctr.Ops != 20 || quantileUS(h, 0.5) < 4990 {
		t.Fatalf("span 2..4 after flush: ok %v, %d ops, p50 %v", ok, ctr.Ops, quantileUS(h, 0.5))
	}
	// Later intervals nobody recorded in are empty once their grace passed.
	clock.Set(10 * time.Second)
	if ctr, ok = c.MergeSpan(NewHistogram(), 5, 7); !ok || ctr.Ops != 0 {
		t.Fatalf("empty span: ok %v, %d ops", ok, ctr.Ops)
	}
}

func TestWriteCapacity(t *testing.T) {
	c := &Capacity{SLOP99US: 2000, MaxErrorRate: 0.001, MaxSteps: 2, Steps: []CapacityStep{
		capStep(t, 0, 100, 100, 100*time.Microsecond, 200, 0), capStep(t, 1, 200, 200, 5*time.Millisecond, 400, 0)}}
	c.Judge()
	s := &Summary{Strategies: []StrategySummary{{Name: "router", Capacity: c}, {Name: "plain"}}}
	var b bytes.Buffer
	if err := WriteCapacityCSV(&b, s); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "router,0,") || !strings.HasSuffix(lines[1], ",ok") || !strings.HasSuffix(lines[2], ",slo") {
		t.Errorf("capacity.csv:\n%s", b.String())
	}
	b.Reset()
	if err := RenderCapacityTable(&b, s); err != nil || !strings.Contains(b.String(), "limited by") || strings.Contains(b.String(), "plain") {
		t.Errorf("table (%v):\n%s", err, b.String())
	}
	b.Reset()
	if err := WriteCapacityMarkdown(&b, s); err != nil || !strings.Contains(b.String(), "## Capacity") {
		t.Errorf("markdown (%v):\n%s", err, b.String())
	}
	b.Reset()
	plain := &Summary{Strategies: []StrategySummary{{Name: "plain"}}}
	if err := WriteCapacityMarkdown(&b, plain); err != nil || b.Len() != 0 {
		t.Errorf("markdown for a run without a search: %q", b.String())
	}
}

// TestMergeExtraRoundTrips: the server-side extra round trips of a shared
// cluster are not added over hosts (each host's window already counts the
// others'): the largest count is spread over all the hosts' ops.
func TestMergeExtraRoundTrips(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	a := &Summary{Schema: SchemaVersion, Strategies: []StrategySummary{{Name: "r", Ops: 1000, ExtraRoundTripsPerOp: f(0.02), ConvergenceS: f(1.5)}}}
	b := &Summary{Schema: SchemaVersion, Strategies: []StrategySummary{{Name: "r", Ops: 3000, ExtraRoundTripsPerOp: f(0.01), ConvergenceS: f(2.5)}}}
	m, err := MergeSummaries([]string{"a", "b"}, []*Summary{a, b})
	if err != nil {
		t.Fatal(err)
	}
	st := m.Strategies[0]
	// max(0.02·1000, 0.01·3000) = 30 round trips over 4000 ops.
	if st.ExtraRoundTripsPerOp == nil || *st.ExtraRoundTripsPerOp != 30.0/4000 || st.ConvergenceS == nil || *st.ConvergenceS != 2.5 {
		t.Errorf("extra %v, convergence %v; want 0.0075 and 2.5", st.ExtraRoundTripsPerOp, st.ConvergenceS)
	}
}
