package workload

import (
	"testing"
	"time"
)

// offset is one expected (op index, intended start) pair.
type offset struct {
	i  uint64
	at time.Duration
}

func TestScheduleOffsets(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name  string
		s     Schedule
		want  []offset
		endAt uint64 // first op past the end, 0 if the schedule never ends
		end   time.Duration
	}{
		// 1000 ops/s: op i at i ms.
		{"constant 1000", Constant{1000}, []offset{{0, 0}, {1, ms}, {3, 3 * ms}, {999, 999 * ms}, {1_000_000, 1000 * time.Second}}, 0, 0},
		// 3 ops/s: 333333333.33ns rounds to the nanosecond.
		{"constant 3", Constant{3}, []offset{{1, 333_333_333}, {2, 666_666_667}, {3, time.Second}}, 0, 0},
		// 0.5 ops/s: one op every 2s.
		{"constant 0.5", Constant{0.5}, []offset{{1, 2 * time.Second}, {5, 10 * time.Second}}, 0, 0},
		// 1000/s for 1s (ops 0..999), then 2000/s for 1s (ops 1000..2999), then the end.
		{"steps", Steps{{1000, time.Second}, {2000, time.Second}},
			[]offset{{0, 0}, {999, 999 * ms}, {1000, time.Second}, {1001, time.Second + 500*time.Microsecond}, {2999, 2*time.Second - 500*time.Microsecond}},
			3000, 2 * time.Second},
		// A pause: 10/s for 1s, nothing for 2s, then 10/s forever.
		{"steps with pause", Steps{{10, time.Second}, {0, 2 * time.Second}, {10, 0}},
			[]offset{{9, 900 * ms}, {10, 3 * time.Second}, {11, 3*time.Second + 100*ms}, {1000, 3*time.Second + 99*time.Second}},
			0, 0},
		// Fractional ops per step: 1.5/s for 1s covers ops 0 and 1 (N = 1.5),
		// so op 2 opens the next step, 0.5 ops into it at 10/s; ops 2..11 fit in it.
		{"fractional step", Steps{{1.5, time.Second}, {10, time.Second}},
			[]offset{{1, 666_666_667}, {2, time.Second + 50*ms}, {11, 2*time.Second - 50*ms}}, 12, 2 * time.Second},
		// Ramp 100/s +100 every 1s: step k has 100(k+1) ops; N_k = 50k(k+1).
		{"ramp", Ramp{Start: 100, Step: 100, Every: time.Second},
			[]offset{{0, 0}, {99, 990 * ms}, {100, time.Second}, {101, time.Second + 5*ms}, {299, 2*time.Second - 5*ms}, {300, 2 * time.Second}, {5500, 10 * time.Second}, {505_000, 100 * time.Second}},
			0, 0},
		// A flat ramp is a constant rate.
		{"flat ramp", Ramp{Start: 1000, Every: time.Second}, []offset{{0, 0}, {1500, 1500 * ms}}, 0, 0},
		// A ramp from 0: no ops in the first interval.
		{"ramp from 0", Ramp{Start: 0, Step: 10, Every: time.Second},
			[]offset{{0, time.Second}, {9, time.Second + 900*ms}, {10, 2 * time.Second}, {30, 3 * time.Second}}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, o := range tt.want {
				at, ok := tt.s.IntendedStart(o.i)
				if !ok || at != o.at {
					t.Errorf("IntendedStart(%d) = %v, %v; want %v, true", o.i, at, ok, o.at)
				}
			}
			if tt.endAt > 0 {
				if at, ok := tt.s.IntendedStart(tt.endAt - 1); !ok {
					t.Errorf("op %d (the last) reported past the end, at %v", tt.endAt-1, at)
				}
				if at, ok := tt.s.IntendedStart(tt.endAt); ok || at != tt.end {
					t.Errorf("IntendedStart(%d) = %v, %v; want %v, false (the end)", tt.endAt, at, ok, tt.end)
				}
			}
			// Non-decreasing over the first ops, across step boundaries.
			prev := time.Duration(-1)
			for i := range uint64(5000) {
				at, ok := tt.s.IntendedStart(i)
				if !ok {
					break
				}
				if at < prev {
					t.Fatalf("IntendedStart(%d) = %v < IntendedStart(%d) = %v", i, at, i-1, prev)
				}
				prev = at
			}
		})
	}
}

func TestRampMatchesSteps(t *testing.T) {
	// A ramp is the steps it stands for: check a long stretch op by op.
	r := Ramp{Start: 7, Step: 13, Every: 300 * time.Millisecond}
	var s Steps
	for k := range 40 {
		s = append(s, Step{PerSec: 7 + 13*float64(k), Duration: 300 * time.Millisecond})
	}
	for i := range uint64(3000) {
		a, _ := r.IntendedStart(i)
		b, ok := s.IntendedStart(i)
		if !ok {
			break
		}
		if d := a - b; d < -1 || d > 1 {
			t.Fatalf("op %d: ramp %v, steps %v", i, a, b)
		}
	}
}

func TestScheduleRate(t *testing.T) {
	s := Steps{{1000, time.Second}, {0, time.Second}, {3000, 0}}
	for _, tt := range []struct {
		at   time.Duration
		want float64
	}{{0, 1000}, {999 * time.Millisecond, 1000}, {time.Second, 0}, {2 * time.Second, 3000}, {time.Hour, 3000}} {
		if got := s.Rate(tt.at); got != tt.want {
			t.Errorf("steps Rate(%v) = %v, want %v", tt.at, got, tt.want)
		}
	}
	if got := (Steps{{1000, time.Second}}).Rate(2 * time.Second); got != 0 {
		t.Errorf("after the last step: Rate = %v, want 0", got)
	}
	r := Ramp{Start: 100, Step: 50, Every: 10 * time.Second}
	if got := r.Rate(25 * time.Second); got != 200 {
		t.Errorf("ramp Rate(25s) = %v, want 200", got)
	}
	if got := (Constant{42}).Rate(time.Hour); got != 42 {
		t.Errorf("constant Rate = %v", got)
	}
	if _, ok := (Constant{0}).IntendedStart(1); ok {
		t.Error("Constant{0} reports an op; a zero rate has none")
	}
}

func TestParseRate(t *testing.T) {
	good := []struct {
		in   string
		want Schedule
		str  string
	}{
		{"0", nil, ""},                     // closed loop
		{" 1000 ", Constant{1000}, "1000"}, // constant
		{"2.5", Constant{2.5}, "2.5"},      // fractional
		{"1e3", Constant{1000}, "1000"},    // exponent
		{"1000:10s,2000:10s", Steps{{1000, 10 * time.Second}, {2000, 10 * time.Second}}, "1000:10s,2000:10s"},
		{"1000:1m30s, 0:5s, 2000", Steps{{1000, 90 * time.Second}, {0, 5 * time.Second}, {2000, 0}}, "1000:1m30s,0:5s,2000"},
		{"500:1s", Steps{{500, time.Second}}, "500:1s"}, // one step, then the end
		{"1000+500/10s", Ramp{1000, 500, 10 * time.Second}, "1000+500/10s"},
		{"1e+3+5e+2/1s", Ramp{1000, 500, time.Second}, "1000+500/1s"}, // exponents with '+'
		{"0+100/1s", Ramp{0, 100, time.Second}, "0+100/1s"},
	}
	for _, tt := range good {
		s, err := ParseRate(tt.in)
		if err != nil {
			t.Errorf("ParseRate(%q): %v", tt.in, err)
			continue
		}
		if tt.want == nil {
			if s != nil {
				t.Errorf("ParseRate(%q) = %v, want nil (closed loop)", tt.in, s)
			}
			continue
		}
		if s.String() != tt.str || s.String() != tt.want.String() {
			t.Errorf("ParseRate(%q) = %v (%T), want %v", tt.in, s, s, tt.str)
		}
		if again, err := ParseRate(s.String()); err != nil || again.String() != s.String() {
			t.Errorf("round trip of %q: %v, %v", s, again, err)
		}
	}
	bad := []struct {
		in   string
		want string
	}{
		{"", "is not a number"},                                            // nothing
		{"fast", `rate "fast" is not a number`},                            // a word
		{"-5", "out of range"},                                             // negative
		{"2e9", "out of range 0..1e+09"},                                   // above MaxRate
		{"NaN", "is not a number"},                                         // NaN
		{"Inf", "out of range"},                                            // infinite
		{"1000:10s,2000:x", `duration "x" must be positive`},               // bad duration
		{"1000:0s", "must be positive"},                                    // empty step
		{"1000:-1s", "must be positive"},                                   // negative step
		{"1000,2000:10s", "only the last step may leave out its duration"}, // open step in the middle
		{"0:10s,0", "every step has rate 0"},                               // nothing to send
		{"1000:10s,", "is not a number"},                                   // trailing comma
		{"1000+500", "is not a number"},                                    // ramp without interval ("1000+500" is no number)
		{"1000/10s", "a ramp is START+STEP/INTERVAL"},                      // ramp without step
		{"1000+500/0s", "must be positive"},                                // zero interval
		{"0+0/1s", "a ramp from 0 needs a step > 0"},                       // flat zero ramp
		{"1000+-5/1s", "out of range"},                                     // falling ramp
	}
	for _, tt := range bad {
		s, err := ParseRate(tt.in)
		if err == nil {
			t.Errorf("ParseRate(%q) = %v, want an error", tt.in, s)
			continue
		}
		wantFieldError(t, err, "rate", tt.want, "0 for closed loop")
	}
}
