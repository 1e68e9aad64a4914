package runner

// Multi-host runs: several load generators, each started with its own
// --agent-id and a common --start-at, drive one shared cluster; each
// writes its own outputs, which `clusterbench merge` combines by wall
// clock.

import (
	"context"
	"fmt"
	"time"
)

// waitStartAt holds the first strategy's measurement until cfg.StartAt,
// after the cluster checks and the preload, so that every host starts
// measuring at the same moment. A start already past is reported (the
// hosts' timelines are then offset) but not an error: the run still
// measures, and merge aligns by wall clock. Later strategies start when
// they are ready.
func waitStartAt(ctx context.Context, cfg Config, st *status, first bool) error {
	if cfg.StartAt.IsZero() || !first {
		return nil
	}
	d := time.Until(cfg.StartAt)
	if d <= 0 {
		if d < -time.Second {
			st.note(fmt.Sprintf("warning: --start-at %s passed %v ago while preparing: this host starts late, its timeline is offset by that much",
				cfg.StartAt.UTC().Format(time.RFC3339Nano), (-d).Round(time.Millisecond)))
		}
		return nil
	}
	st.note(fmt.Sprintf("waiting %v for --start-at %s", d.Round(time.Millisecond), cfg.StartAt.UTC().Format(time.RFC3339Nano)))
	if !sleepUntil(ctx, cfg.StartAt) {
		return ctx.Err()
	}
	return nil
}

// runID names a run: its start, profile and, on a multi-host run, agent.
func runID(r *Report) string {
	id := r.Started.UTC().Format("20060102T150405Z") + "-" + r.Config.Profile
	if r.Config.AgentID != "" {
		id += "-" + r.Config.AgentID
	}
	return id
}

// hosts is summary.json's hosts: this run's agent, if it has one.
func hosts(cfg Config) []string {
	if cfg.AgentID == "" {
		return nil
	}
	return []string{cfg.AgentID}
}
