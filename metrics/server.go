package metrics

import (
	"fmt"
	"strconv"
	"strings"
)

// Server-side counts: what the Redis servers say happened, from INFO
// errorstats and INFO commandstats. The runner samples every node before
// and after each strategy; Sub and Add turn the samples into the
// strategy's numbers, and Reconcile compares them with the client's.

// ParseInfo parses the text of an INFO reply into its "key:value" fields.
// Section headers ("# Errorstats"), blank lines and lines without a colon
// are skipped; CRLF and LF line ends are both accepted. For
// "cmdstat_get:calls=10,usec=..." the key is "cmdstat_get" and the value
// everything after the first colon.
func ParseInfo(text string) map[string]string {
	out := map[string]string{}
	for line := range strings.Lines(text) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok || k == "" {
			continue
		}
		out[k] = v
	}
	return out
}

// parseFields parses "a=1,b=2.5,c=3" into name → value.
func parseFields(v string) (map[string]string, error) {
	out := map[string]string{}
	for f := range strings.SplitSeq(v, ",") {
		name, val, ok := strings.Cut(f, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("%w: INFO field %q", ErrFormat, f)
		}
		out[name] = val
	}
	return out, nil
}

func intField(fields map[string]string, name string) (int64, error) {
	v, ok := fields[name]
	if !ok {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: INFO field %s=%q", ErrFormat, name, v)
	}
	return n, nil
}

// ParseErrorStats returns the counts of INFO errorstats by error prefix:
// "errorstat_MOVED:count=12" gives "MOVED" → 12.
func ParseErrorStats(text string) (map[string]int64, error) {
	out := map[string]int64{}
	for k, v := range ParseInfo(text) {
		name, ok := strings.CutPrefix(k, "errorstat_")
		if !ok {
			continue
		}
		f, err := parseFields(v)
		if err != nil {
			return nil, err
		}
		if out[name], err = intField(f, "count"); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// CommandStat is one command's line of INFO commandstats.
type CommandStat struct {
	Calls         int64 // executed
	Usec          int64
	RejectedCalls int64 // refused before running, e.g. with a MOVED
	FailedCalls   int64 // ran and returned an error
}

// ParseCommandStats returns INFO commandstats by command name: "get",
// "asking", and for subcommands (Redis ≥ 7) "cluster|slots",
// "cluster|shards", "cluster|nodes".
func ParseCommandStats(text string) (map[string]CommandStat, error) {
	out := map[string]CommandStat{}
	for k, v := range ParseInfo(text) {
		name, ok := strings.CutPrefix(k, "cmdstat_")
		if !ok {
			continue
		}
		f, err := parseFields(v)
		if err != nil {
			return nil, err
		}
		var cs CommandStat
		for _, x := range []struct {
			field string
			dst   *int64
		}{{"calls", &cs.Calls}, {"usec", &cs.Usec}, {"rejected_calls", &cs.RejectedCalls}, {"failed_calls", &cs.FailedCalls}} {
			if *x.dst, err = intField(f, x.field); err != nil {
				return nil, err
			}
		}
		out[name] = cs
	}
	return out, nil
}

// The commands that read the cluster topology.
const (
	CmdClusterSlots  = "cluster|slots"
	CmdClusterShards = "cluster|shards"
	CmdClusterNodes  = "cluster|nodes"
	CmdAsking        = "asking"
)

// ServerCounters are the server-side counts of one node, or of several
// added up.
type ServerCounters struct {
	// Error replies sent, from INFO errorstats.
	Moved, Ask, TryAgain, ClusterDown int64
	// Calls are executed calls by command name (see ParseCommandStats).
	Calls map[string]int64
}

// ServerCountersFromInfo reads the counters from INFO text that holds the
// errorstats and commandstats sections (e.g. the replies of "INFO
// errorstats" and "INFO commandstats" concatenated, or of "INFO all").
func ServerCountersFromInfo(text string) (ServerCounters, error) {
	es, err := ParseErrorStats(text)
	if err != nil {
		return ServerCounters{}, err
	}
	cs, err := ParseCommandStats(text)
	if err != nil {
		return ServerCounters{}, err
	}
	sc := ServerCounters{
		Moved:       es["MOVED"],
		Ask:         es["ASK"],
		TryAgain:    es["TRYAGAIN"],
		ClusterDown: es["CLUSTERDOWN"],
		Calls:       make(map[string]int64, len(cs)),
	}
	for name, c := range cs {
		sc.Calls[name] = c.Calls
	}
	return sc, nil
}

// delta is cur − prev for a counter that restarts from zero when its
// server restarts: a smaller cur means a restart, and cur counts since then.
func delta(cur, prev int64) int64 {
	if cur < prev {
		return cur
	}
	return cur - prev
}

// Sub returns c − prev for one node's samples. A counter that went down
// (the server restarted, e.g. in a failover scenario) contributes its
// current value. Subtract per node, then Add the nodes.
func (c ServerCounters) Sub(prev ServerCounters) ServerCounters {
	out := ServerCounters{
		Moved:       delta(c.Moved, prev.Moved),
		Ask:         delta(c.Ask, prev.Ask),
		TryAgain:    delta(c.TryAgain, prev.TryAgain),
		ClusterDown: delta(c.ClusterDown, prev.ClusterDown),
		Calls:       make(map[string]int64, len(c.Calls)),
	}
	for name, n := range c.Calls {
		if d := delta(n, prev.Calls[name]); d != 0 {
			out.Calls[name] = d
		}
	}
	return out
}

// Add returns c + o.
func (c ServerCounters) Add(o ServerCounters) ServerCounters {
	out := ServerCounters{
		Moved:       c.Moved + o.Moved,
		Ask:         c.Ask + o.Ask,
		TryAgain:    c.TryAgain + o.TryAgain,
		ClusterDown: c.ClusterDown + o.ClusterDown,
		Calls:       make(map[string]int64, len(c.Calls)+len(o.Calls)),
	}
	for name, n := range c.Calls {
		out.Calls[name] += n
	}
	for name, n := range o.Calls {
		out.Calls[name] += n
	}
	return out
}

// TopologyCalls returns the server-side topology reads
// (CLUSTER SLOTS, SHARDS and NODES), which every client makes visible.
func (c ServerCounters) TopologyCalls() TopologyCalls {
	t := TopologyCalls{
		Slots:  c.Calls[CmdClusterSlots],
		Shards: c.Calls[CmdClusterShards],
		Nodes:  c.Calls[CmdClusterNodes],
		Asking: c.Calls[CmdAsking],
	}
	t.Total = t.Slots + t.Shards + t.Nodes
	return t
}

// TopologyCalls are the topology reads the servers executed during a
// strategy's run (Redis ≥ 7 counts CLUSTER subcommands separately).
type TopologyCalls struct {
	Slots  int64 `json:"cluster_slots"`
	Shards int64 `json:"cluster_shards"`
	Nodes  int64 `json:"cluster_nodes"`
	Total  int64 `json:"total"` // Slots + Shards + Nodes
	// Asking counts ASKING commands, which a client sends before
	// retrying an ASK (as its own round trip or pipelined).
	Asking int64 `json:"asking"`
}

// Reconciliation compares the client's and the servers' redirect counts.
// When only this strategy talked to the cluster between the two server
// samples, MOVED and ASK must agree exactly: every MOVED or ASK a server
// sends is one the client received.
type Reconciliation struct {
	Client *ClientRedirects `json:"client"` // null: the client cannot see its redirects
	Server ServerRedirects  `json:"server"`
	// Checked is false when the client side is unknown; the Agree fields
	// are then false too.
	Checked       bool `json:"checked"`
	MovedAgree    bool `json:"moved_agree"`
	AskAgree      bool `json:"ask_agree"`
	TryAgainAgree bool `json:"tryagain_agree"`
}

// Agree reports whether MOVED and ASK agree (the exact part of the check).
func (r Reconciliation) Agree() bool { return r.Checked && r.MovedAgree && r.AskAgree }

// Reconcile compares the client's counts (nil when the client cannot see
// its redirects) with the servers' counts over the same span.
func Reconcile(client *ClientRedirects, server ServerCounters) Reconciliation {
	r := Reconciliation{Server: server.Redirects()}
	if client == nil {
		return r
	}
	c := *client
	r.Client = &c
	r.Checked = true
	r.MovedAgree = c.Moved == server.Moved
	r.AskAgree = c.Ask == server.Ask
	r.TryAgainAgree = c.TryAgain == server.TryAgain
	return r
}

// Redirects returns the server side of summary.json's redirects.
func (c ServerCounters) Redirects() ServerRedirects {
	return ServerRedirects{Moved: c.Moved, Ask: c.Ask, TryAgain: c.TryAgain, ClusterDown: c.ClusterDown}
}
