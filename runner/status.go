package runner

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clusterbench/clusterbench/cluster"
	"github.com/clusterbench/clusterbench/metrics"
)

// status writes the live progress of a run: one rewritten line on a
// terminal, plain lines (one per interval) otherwise, nothing with --quiet.
type status struct {
	w        io.Writer // nil: quiet
	terminal bool
	name     string
	mu       sync.Mutex
	lineOpen bool // a \r line is on screen
	migDone  atomic.Int64
	migTotal atomic.Int64
	lastProg time.Time
}

func newStatus(cfg Config, name string) *status {
	return &status{w: cfg.Status, terminal: cfg.Terminal, name: name}
}

func (s *status) printf(format string, args ...any) {
	if s.w == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closeLine()
	fmt.Fprintf(s.w, "[%s] "+format+"\n", append([]any{s.name}, args...)...)
}

// closeLine ends a rewritten line before a plain one; s.mu must be held.
func (s *status) closeLine() {
	if s.lineOpen {
		fmt.Fprintln(s.w)
		s.lineOpen = false
	}
}

// line shows text as the live line (rewritten on a terminal).
func (s *status) line(text string) {
	if s.w == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.terminal {
		fmt.Fprintf(s.w, "\r\033[K[%s] %s", s.name, text)
		s.lineOpen = true
		return
	}
	fmt.Fprintf(s.w, "[%s] %s\n", s.name, text)
}

func (s *status) note(msg string) { s.printf("%s", msg) }

// progress returns a callback for long work (the preload): a bar on a
// terminal, a line every few seconds otherwise. Safe for concurrent use.
func (s *status) progress(what, unit string) func(done, total int64) {
	return func(done, total int64) {
		if s.w == nil || total <= 0 {
			return
		}
		s.mu.Lock()
		now := time.Now()
		every := 5 * time.Second
		if s.terminal {
			every = 100 * time.Millisecond
		}
		if now.Sub(s.lastProg) < every && done < total {
			s.mu.Unlock()
			return
		}
		s.lastProg = now
		s.mu.Unlock()
		pct := float64(done) / float64(total)
		if s.terminal {
			const width = 30
			bar := strings.Repeat("#", int(pct*width)) + strings.Repeat(".", width-int(pct*width))
			s.line(fmt.Sprintf("%s [%s] %d/%d %s", what, bar, done, total, unit))
			return
		}
		s.line(fmt.Sprintf("%s %d/%d %s (%.0f%%)", what, done, total, unit, pct*100))
	}
}

func (s *status) finishProgress() {
	if s.w == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closeLine()
}

// migration is the migrator's progress callback.
func (s *status) migration(done, total int) {
	s.migDone.Store(int64(done))
	s.migTotal.Store(int64(total))
}

// event prints the scenario-level events (not every slot).
func (s *status) event(ev cluster.Event, t0 time.Time) {
	switch ev.Kind {
	case cluster.EventSlotMigrating, cluster.EventSlotMoved, cluster.EventOwnerChanged:
		return
	}
	detail := ev.Detail
	if ev.Node != "" {
		detail = strings.TrimSpace(detail + " " + ev.Node)
	}
	s.printf("t=%.1fs %s %s", ev.At.Sub(t0).Seconds(), ev.Kind, detail)
}

// interval shows the latest complete interval; server holds the servers'
// counts over the last sampling period of length every.
func (s *status) interval(iv metrics.IntervalStats, server metrics.ServerCounters, every, elapsed, total time.Duration) {
	if s.w == nil {
		return
	}
	secs := every.Seconds()
	text := fmt.Sprintf("%5.1fs/%.0fs  %-9s ops/s %9.0f  p99 %8.0fµs  MOVED/s %6.0f  ASK/s %6.0f  errors %d",
		elapsed.Seconds(), total.Seconds(), iv.Phase, iv.Throughput, iv.Latency.P99,
		float64(server.Moved)/secs, float64(server.Ask)/secs, iv.Errors)
	if t := s.migTotal.Load(); t > 0 {
		text += fmt.Sprintf("  migration %d/%d slots", s.migDone.Load(), t)
	}
	s.line(text)
}

// done prints the strategy's closing line.
func (s *status) done(sr *StrategyRun) {
	if sr.Result == nil {
		return
	}
	t := sr.Result.Totals
	s.printf("done: %d ops, %d errors, client MOVED %d ASK %d, server MOVED %d ASK %d",
		t.Ops, t.ErrorCount(), sr.Client.Moved, sr.Client.Ask, sr.Server.Moved, sr.Server.Ask)
}
