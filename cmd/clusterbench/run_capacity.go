package main

// The flags of `run` for a capacity search (--slo-p99 and its plan) and
// for multi-host runs (--agent-id, --start-at), hooked into run.go.

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/clusterbench/clusterbench/runner"
)

// capacityFlags are the capacity search's flags.
type capacityFlags struct {
	slo          time.Duration
	maxErrorRate float64
	rateStart    float64
	rateStep     string
	stepDuration time.Duration
	maxSteps     int
}

// capacityFlagNames are the flags that mean nothing without --slo-p99.
var capacityFlagNames = []string{"max-error-rate", "rate-start", "rate-step", "step-duration", "max-steps"}

func (f *capacityFlags) add(fl *pflag.FlagSet) {
	fl.DurationVar(&f.slo, "slo-p99", 0, "capacity search: step the open-loop rate up until a step's p99 exceeds this (e.g. 2ms); reports the highest rate that met it")
	fl.Float64Var(&f.maxErrorRate, "max-error-rate", runner.DefaultMaxErrorRate, "capacity search: a step whose share of failed ops exceeds this misses")
	fl.Float64Var(&f.rateStart, "rate-start", runner.DefaultRateStart, "capacity search: ops/s of the warmup and the first step")
	fl.StringVar(&f.rateStep, "rate-step", fmt.Sprintf("%g%%", runner.DefaultRateStep*100), "capacity search: rate growth per step, e.g. 10% (or 0.1)")
	fl.DurationVar(&f.stepDuration, "step-duration", runner.DefaultStepDuration, "capacity search: how long each step runs (whole seconds)")
	fl.IntVar(&f.maxSteps, "max-steps", runner.DefaultMaxSteps, "capacity search: steps at most; the run lasts --warmup + max-steps × step-duration")
}

// apply turns cfg into a capacity search when --slo-p99 is given.
func (f *capacityFlags) apply(cmd *cobra.Command, cfg runner.Config, bad func(error)) runner.Config {
	fl := cmd.Flags()
	if !fl.Changed("slo-p99") {
		for _, name := range capacityFlagNames {
			if fl.Changed(name) {
				bad(fmt.Errorf("--%s needs --slo-p99, which turns the capacity search on", name))
				return cfg
			}
		}
		return cfg
	}
	for _, name := range []string{"rate", "duration"} {
		if fl.Changed(name) {
			bad(fmt.Errorf("--%s cannot be combined with --slo-p99: a capacity search sets its own rate and duration (--rate-start, --rate-step, --step-duration, --max-steps)", name))
			return cfg
		}
	}
	step, err := parseRateStep(f.rateStep)
	if err != nil {
		bad(err)
		return cfg
	}
	return cfg.WithCapacity(runner.CapacityConfig{
		SLOP99: f.slo, MaxErrorRate: f.maxErrorRate, RateStart: f.rateStart, RateStep: step,
		StepDuration: f.stepDuration, MaxSteps: f.maxSteps,
	})
}

// parseRateStep reads a growth per step: "10%" or a fraction "0.1".
func parseRateStep(s string) (float64, error) {
	t := strings.TrimSpace(s)
	pct := strings.HasSuffix(t, "%")
	v, err := strconv.ParseFloat(strings.TrimSuffix(t, "%"), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("--rate-step %q is not a percentage: use e.g. 10%% (or the fraction 0.1)", s)
	}
	if pct {
		v /= 100
	}
	return v, nil
}

// agentFlags are a multi-host run's flags.
type agentFlags struct {
	id      string
	startAt string
}

// Bounds of --start-at: far enough ahead for every host to be started by
// hand, and a little in the past for hosts whose clocks lag.
const (
	maxStartAhead = time.Hour
	maxStartLate  = 5 * time.Second
)

var agentIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func (f *agentFlags) add(fl *pflag.FlagSet) {
	fl.StringVar(&f.id, "agent-id", "", "name of this load host in a multi-host run (recorded in summary.json; see merge)")
	fl.StringVar(&f.startAt, "start-at", "", "start measuring the first strategy at this time (RFC 3339 or Unix seconds, at most 1h ahead), the same on every host of a multi-host run; the cluster checks and preload happen before")
}

// apply records the agent and start time.
func (f *agentFlags) apply(cfg runner.Config, bad func(error)) runner.Config {
	if f.id != "" && !agentIDPattern.MatchString(f.id) {
		bad(fmt.Errorf("--agent-id %q: use 1 to 64 letters, digits, '.', '_' or '-', e.g. host-a", f.id))
	}
	cfg.AgentID = f.id
	if f.startAt == "" {
		return cfg
	}
	at, err := parseStartAt(f.startAt, time.Now())
	if err != nil {
		bad(err)
		return cfg
	}
	cfg.StartAt = at
	return cfg
}

// parseStartAt reads --start-at and checks it against now.
func parseStartAt(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		sec, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || math.IsNaN(sec) || math.IsInf(sec, 0) || sec <= 0 {
			return time.Time{}, errors.New("--start-at " + strconv.Quote(s) + " is neither RFC 3339 (2026-01-02T15:04:05Z) nor Unix seconds (e.g. `date -d +1min +%s`)")
		}
		at = time.Unix(0, int64(math.Round(sec*1e9)))
	}
	switch d := at.Sub(now); {
	case d > maxStartAhead:
		return time.Time{}, fmt.Errorf("--start-at %s is %v ahead, more than %v: check the time (and the hosts' clocks)", s, d.Round(time.Second), maxStartAhead)
	case d < -maxStartLate:
		return time.Time{}, fmt.Errorf("--start-at %s is %v in the past: choose a time a little ahead, the same on every host", s, (-d).Round(time.Second))
	}
	return at, nil
}
