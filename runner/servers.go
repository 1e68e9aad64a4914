package runner

import (
	"context"
	"sync"
	"time"

	"github.com/redis/rueidis"

	"github.com/clusterbench/clusterbench/cluster"
	"github.com/clusterbench/clusterbench/metrics"
)

// serverSampler keeps one admin connection per node and reads the servers'
// own counters (INFO errorstats and commandstats) of every node it knows:
// the truth the client-side counts are checked against. Nodes can be added
// (scale-out) while it runs; a node that does not answer (killed, paused)
// keeps its last counts, so a sum never goes backwards.
type serverSampler struct {
	opt   cluster.ConnOptions
	mu    sync.Mutex
	conns map[string]rueidis.Client
	last  map[string]metrics.ServerCounters
}

func newServerSampler(opt cluster.ConnOptions) *serverSampler {
	return &serverSampler{opt: opt, conns: map[string]rueidis.Client{}, last: map[string]metrics.ServerCounters{}}
}

// add makes addr part of every later sample.
func (s *serverSampler) add(addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.last[addr]; !ok {
		s.last[addr] = metrics.ServerCounters{Calls: map[string]int64{}}
	}
}

// snapshot is every node's counters at one moment.
type snapshot map[string]metrics.ServerCounters

// since is the servers' counts from prev to s, subtracted node by node (so
// a restarted node's reset counters are handled per node) and summed.
func (s snapshot) since(prev snapshot) metrics.ServerCounters {
	sum := metrics.ServerCounters{Calls: map[string]int64{}}
	for addr, cur := range s {
		sum = sum.Add(cur.Sub(prev[addr])) // a node new since prev counts from zero
	}
	return sum
}

// sample reads every node; a node that does not answer keeps its last counts.
func (s *serverSampler) sample(ctx context.Context) snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := snapshot{}
	for addr := range s.last {
		if n, err := s.read(ctx, addr); err == nil {
			s.last[addr] = n
		}
		out[addr] = s.last[addr]
	}
	return out
}

// read asks one node for its counters; s.mu must be held.
func (s *serverSampler) read(ctx context.Context, addr string) (metrics.ServerCounters, error) {
	c, ok := s.conns[addr]
	if !ok {
		var err error
		if c, err = cluster.Dial(addr, s.opt); err != nil {
			return metrics.ServerCounters{}, err
		}
		s.conns[addr] = c
	}
	ctx, cancel := context.WithTimeout(ctx, 2*s.period())
	defer cancel()
	text, err := cluster.DoText(ctx, c, addr, "INFO", "errorstats", "commandstats")
	if err != nil {
		return metrics.ServerCounters{}, err
	}
	return metrics.ServerCountersFromInfo(text)
}

// period bounds one read: a paused node must not stall the status line.
func (s *serverSampler) period() time.Duration { return 500 * time.Millisecond }

func (s *serverSampler) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for addr, c := range s.conns {
		c.Close()
		delete(s.conns, addr)
	}
}
