package main

import (
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/internal/redistest"
	"github.com/clusterbench/clusterbench/metrics"
)

func TestParseRateStep(t *testing.T) {
	cases := []struct {
		in   string
		want float64
		bad  bool
	}{
		{"10%", 0.1, false},
		{"0.25", 0.25, false},
		{" 150% ", 1.5, false},
		{"ten", 0, true},
		{"%", 0, true},
		{"NaN", 0, true},
	}
	for _, tc := range cases {
		got, err := parseRateStep(tc.in)
		if (err != nil) != tc.bad || (!tc.bad && got != tc.want) {
			t.Errorf("parseRateStep(%q) = %v, %v; want %v (error %v)", tc.in, got, err, tc.want, tc.bad)
		}
	}
}

func TestParseStartAt(t *testing.T) {
	now := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Time
		err  string
	}{
		{"2026-01-02T15:05:00Z", time.Date(2026, 1, 2, 15, 5, 0, 0, time.UTC), ""},
		{"2026-01-02T16:05:00+01:00", time.Date(2026, 1, 2, 15, 5, 0, 0, time.UTC), ""},
		{"1767366300.5", time.Unix(1767366300, 5e8), ""},                           // 15:05:00.5 UTC
		{"2026-01-02T15:04:02Z", time.Date(2026, 1, 2, 15, 4, 2, 0, time.UTC), ""}, // 3 s late: clocks differ a little
		{"2026-01-02T15:03:00Z", time.Time{}, "in the past"},
		{"2026-01-02T17:00:00Z", time.Time{}, "ahead"},
		{"tomorrow", time.Time{}, "neither RFC 3339"},
	}
	for _, tc := range cases {
		got, err := parseStartAt(tc.in, now)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("parseStartAt(%q): error %v, want one with %q", tc.in, err, tc.err)
		case tc.err == "" && (err != nil || !got.Equal(tc.want)):
			t.Errorf("parseStartAt(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

// TestCapacityFlags: the flags build the search, and conflicting ones are
// refused with one line naming the flag.
func TestCapacityFlags(t *testing.T) {
	cases := []struct {
		args []string
		want string // "" for success
	}{
		{[]string{"--slo-p99", "2ms", "--rate-start", "500", "--rate-step", "20%", "--step-duration", "2s", "--max-steps", "3"}, ""},
		{[]string{"--slo-p99", "2ms", "--rate", "1000"}, "--rate cannot be combined"},
		{[]string{"--slo-p99", "2ms", "--duration", "10s"}, "--duration cannot be combined"},
		{[]string{"--max-steps", "3"}, "--max-steps needs --slo-p99"},
		{[]string{"--slo-p99", "2ms", "--step-duration", "1500ms"}, "--step-duration"},
		{[]string{"--slo-p99", "2ms", "--migrate", "move:10"}, "drop --migrate"},
		{[]string{"--agent-id", "bad id"}, "--agent-id"},
	}
	for _, tc := range cases {
		f := &runFlags{}
		cmd := newRunCmdWith(f)
		if err := cmd.Flags().Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		cfg, err := f.config(cmd)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%v: %v", tc.args, err)
				continue
			}
			c := cfg.Capacity
			if c == nil || c.RateStart != 500 || c.RateStep != 0.2 || c.MaxSteps != 3 || cfg.Duration != 6*time.Second {
				t.Errorf("%v: capacity %+v, duration %v", tc.args, c, cfg.Duration)
			}
			if got := cfg.Schedule.String(); got != "500:5s,500:2s,600:2s,720:2s" {
				t.Errorf("%v: schedule %s", tc.args, got)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one with %q", tc.args, err, tc.want)
		}
	}
}

// TestRunCapacityIntegration runs the binary's capacity search on a local
// cluster with an SLO no step can meet: it reports 0 honestly, writes
// capacity.csv and a 1200 px capacity chart, and records the agent.
func TestRunCapacityIntegration(t *testing.T) {
	redistest.RequireServer(t)
	bin := clusterBinary(t)
	out := filepath.Join(t.TempDir(), "run")
	stdout, stderr, code := clusterCLI(t, bin, nil, "run", "--slo-p99", "1us", "--rate-start", "200", "--step-duration", "1s",
		"--max-steps", "3", "--warmup", "1s", "--keys", "1000", "--masters", "1", "--workers", "2", "--agent-id", "host-a", "--quiet", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "limited by") || !strings.Contains(stdout, "no step met it") {
		t.Errorf("stdout has no capacity outcome:\n%s", stdout)
	}
	s := readSummary(t, out)
	c := s.Strategies[0].Capacity
	if c == nil || c.LimitedBy != metrics.LimitSLO || c.MaxRateMeetingSLO != 0 || len(c.Steps) != 1 {
		t.Fatalf("capacity %+v", c)
	}
	if len(s.Hosts) != 1 || s.Hosts[0] != "host-a" || !strings.HasSuffix(s.RunID, "-host-a") {
		t.Errorf("hosts %v, run id %s: the agent is not recorded", s.Hosts, s.RunID)
	}
	if _, err := os.Stat(filepath.Join(out, "capacity.csv")); err != nil {
		t.Error(err)
	}
	f, err := os.Open(filepath.Join(out, "capacity.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.DecodeConfig(f)
	if err != nil || img.Width != 1200 {
		t.Errorf("capacity.png: %+v, %v; want 1200 px wide", img, err)
	}
	if _, err := os.Stat(filepath.Join(out, "capacity.svg")); err != nil {
		t.Error(err)
	}
}
