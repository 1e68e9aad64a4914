package workload

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Schedule is an open-loop arrival schedule: when op i is meant to start,
// relative to the start of the run. The runner sends op i at its intended
// start and measures latency from it, so a slow server cannot hide its
// queueing delay (no coordinated omission). Schedules are pure arithmetic:
// no timers, no goroutines, safe for concurrent use. Rates are ops per
// second over all workers together.
type Schedule interface {
	// IntendedStart returns the intended start of op i (0-based); ok is
	// false when the schedule ends before op i. Non-decreasing in i.
	IntendedStart(i uint64) (at time.Duration, ok bool)
	// Rate returns the target rate at elapsed, in ops/s, for reports.
	Rate(elapsed time.Duration) float64
	// String returns the schedule in ParseRate's syntax.
	String() string
}

var (
	_ Schedule = Constant{}
	_ Schedule = Steps{}
	_ Schedule = Ramp{}
)

// Constant is a fixed rate: op i starts at i/PerSec seconds (rounded to the
// nanosecond), forever.
type Constant struct{ PerSec float64 }

func (c Constant) IntendedStart(i uint64) (time.Duration, bool) {
	if !(c.PerSec > 0) {
		return 0, false
	}
	return nanos(float64(i) / c.PerSec), true
}

func (c Constant) Rate(time.Duration) float64 { return c.PerSec }

func (c Constant) String() string { return formatRate(c.PerSec) }

// Step is one piece of a Steps schedule.
type Step struct {
	PerSec   float64       // ops/s during the step; 0 is a pause
	Duration time.Duration // 0 for the last step only: it lasts forever
}

// Steps is a piecewise-constant rate, for capacity runs. With step k running
// from T_k to T_k+D_k at rate r_k, and N_k = Σ_{j<k} r_j·D_j the ops of the
// steps before it, op i belongs to the step with N_k ≤ i < N_k + r_k·D_k and
//
//	start(i) = T_k + (i - N_k)/r_k
//
// After the last step (unless its Duration is 0) the schedule ends. Each call
// walks the steps: fine for the handful a run has.
type Steps []Step

func (s Steps) IntendedStart(i uint64) (time.Duration, bool) {
	var t time.Duration
	var done float64 // N_k
	x := float64(i)
	for _, st := range s {
		n := st.PerSec * st.Duration.Seconds()
		if st.PerSec > 0 && (st.Duration == 0 || x < done+n) {
			return t + nanos((x-done)/st.PerSec), true
		}
		done += n
		t += st.Duration
	}
	return t, false
}

func (s Steps) Rate(elapsed time.Duration) float64 {
	var t time.Duration
	for _, st := range s {
		if st.Duration == 0 || elapsed < t+st.Duration {
			return st.PerSec
		}
		t += st.Duration
	}
	return 0
}

func (s Steps) String() string {
	parts := make([]string, len(s))
	for k, st := range s {
		parts[k] = formatRate(st.PerSec)
		if st.Duration > 0 {
			parts[k] += ":" + st.Duration.String()
		}
	}
	return strings.Join(parts, ",")
}

// Ramp raises the rate by Step every Every, forever: during
// [k·E, (k+1)·E) the rate is r_k = Start + k·Step. With
// N_k = E·(k·Start + Step·k(k-1)/2) the ops before step k, op i belongs to
// the last step k with N_k ≤ i (found by solving the quadratic, then
// corrected by ±1 for rounding) and
//
//	start(i) = k·E + (i - N_k)/r_k
type Ramp struct {
	Start float64       // ops/s during the first interval; ≥ 0
	Step  float64       // added every interval; ≥ 0, and Start+Step > 0
	Every time.Duration // > 0
}

func (r Ramp) IntendedStart(i uint64) (time.Duration, bool) {
	e := r.Every.Seconds()
	x := float64(i)
	var k float64
	if r.Step == 0 {
		k = math.Floor(x / (r.Start * e))
	} else {
		// N_k = x  ⇔  (Step/2)k² + (Start - Step/2)k - x/E = 0; the positive
		// root in the form that does not cancel for either sign of b.
		b := r.Start - r.Step/2
		d := math.Sqrt(b*b + 2*r.Step*x/e)
		if b > 0 {
			k = math.Floor(2 * (x / e) / (b + d))
		} else {
			k = math.Floor((d - b) / r.Step)
		}
	}
	k = max(k, 0)
	for k > 0 && r.before(k) > x {
		k--
	}
	for r.before(k+1) <= x {
		k++
	}
	rate := r.Start + k*r.Step
	return time.Duration(k)*r.Every + nanos((x-r.before(k))/rate), true
}

// before returns N_k, the ops of the steps before step k.
func (r Ramp) before(k float64) float64 {
	return r.Every.Seconds() * (k*r.Start + r.Step*k*(k-1)/2)
}

func (r Ramp) Rate(elapsed time.Duration) float64 {
	return r.Start + float64(elapsed/r.Every)*r.Step
}

func (r Ramp) String() string {
	return formatRate(r.Start) + "+" + formatRate(r.Step) + "/" + r.Every.String()
}

// nanos converts seconds to a Duration rounded to the nanosecond.
func nanos(sec float64) time.Duration { return time.Duration(math.Round(sec * 1e9)) }

func formatRate(r float64) string { return strconv.FormatFloat(r, 'g', -1, 64) }

// ParseRate parses a --rate value (rates are ops/s over all workers):
//
//	0                    closed loop: no schedule, (nil, nil)
//	1000                 Constant: 1000 ops/s
//	1000:10s,2000:10s    Steps: 1000 ops/s for 10s, then 2000 for 10s, then
//	                     the schedule ends; a 0 rate is a pause; the last
//	                     step may leave out its duration to last forever
//	                     ("1000:10s,2000")
//	1000+500/10s         Ramp: start at 1000 ops/s, add 500 every 10s
//
// Rates are decimal numbers up to MaxRate; durations are Go durations (10s,
// 1m30s) and must be positive.
func ParseRate(s string) (Schedule, error) {
	s = strings.TrimSpace(s)
	bad := func(why string) error {
		return fieldErr("rate", "%q: %s; use ops/s (1000), 0 for closed loop, steps (1000:10s,2000:10s) or a ramp (1000+500/10s)", s, why)
	}
	switch {
	case strings.Contains(s, "/"):
		plus := rampPlus(s)
		if plus < 0 {
			return nil, bad("a ramp is START+STEP/INTERVAL")
		}
		start, rest := s[:plus], s[plus+1:]
		step, every, _ := strings.Cut(rest, "/")
		r := Ramp{}
		var err error
		if r.Start, err = parseRateValue(start); err != nil {
			return nil, bad(err.Error())
		}
		if r.Step, err = parseRateValue(step); err != nil {
			return nil, bad(err.Error())
		}
		if r.Every, err = parsePositiveDuration(every); err != nil {
			return nil, bad(err.Error())
		}
		if r.Start+r.Step == 0 {
			return nil, bad("a ramp from 0 needs a step > 0")
		}
		return r, nil
	case strings.ContainsAny(s, ":,"):
		parts := strings.Split(s, ",")
		steps := make(Steps, len(parts))
		total := 0.0
		for k, p := range parts {
			rate, dur, hasDur := strings.Cut(p, ":")
			v, err := parseRateValue(rate)
			if err != nil {
				return nil, bad(err.Error())
			}
			steps[k].PerSec = v
			total += v
			if !hasDur {
				if k != len(parts)-1 {
					return nil, bad("only the last step may leave out its duration")
				}
				continue
			}
			if steps[k].Duration, err = parsePositiveDuration(dur); err != nil {
				return nil, bad(err.Error())
			}
		}
		if total == 0 {
			return nil, bad("every step has rate 0")
		}
		return steps, nil
	default:
		v, err := parseRateValue(s)
		if err != nil {
			return nil, bad(err.Error())
		}
		if v == 0 {
			return nil, nil
		}
		return Constant{PerSec: v}, nil
	}
}

// rampPlus returns the index of the '+' between a ramp's start and step (not
// an exponent's, as in 1e+3), or -1.
func rampPlus(s string) int {
	for i := 1; i < len(s); i++ {
		if s[i] == '+' && s[i-1] != 'e' && s[i-1] != 'E' {
			return i
		}
	}
	return -1
}

type parseError string

func (e parseError) Error() string { return string(e) }

func parseRateValue(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	switch {
	case err != nil || math.IsNaN(v):
		return 0, parseError("rate " + strconv.Quote(strings.TrimSpace(s)) + " is not a number")
	case v < 0 || v > MaxRate:
		return 0, parseError("rate " + strings.TrimSpace(s) + " out of range 0.." + formatRate(MaxRate))
	}
	return v, nil
}

func parsePositiveDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil || d <= 0 {
		return 0, parseError("duration " + strconv.Quote(strings.TrimSpace(s)) + " must be positive, e.g. 10s")
	}
	return d, nil
}
