package cluster

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/clusterbench/clusterbench/router"
	"github.com/redis/rueidis"
)

// ClusterNode is one line of CLUSTER NODES: how one node sees another (or
// itself, flag "myself"). It is the only reply that shows slots in the middle
// of a migration, which the migrator and the router's refresh policy need.
type ClusterNode struct {
	ID       string // 40 hex chars
	Addr     string // host:port for clients ("[v6]:port"); empty when the node has no address yet (noaddr)
	BusPort  int    // cluster bus port; 0 when the line has none (Redis < 4)
	Hostname string // announced hostname (Redis ≥ 7); usually empty
	Flags    []string
	MasterID string // the replicated master's id; empty for a master
	// PingSent and PongRecv are unix milliseconds (0: no ping pending).
	PingSent, PongRecv int64
	ConfigEpoch        uint64
	Connected          bool               // link-state "connected"
	Slots              []router.SlotRange // slots served, ascending
	Migrating          []SlotMove         // "[slot->-id]": slot leaving this node for Node
	Importing          []SlotMove         // "[slot-<-id]": slot arriving here from Node
}

// SlotMove is a slot in the middle of a migration and the node at the other
// end (the target when migrating, the source when importing).
type SlotMove struct {
	Slot uint16
	Node string // node id
}

// HasFlag reports whether the node carries flag (e.g. "fail", "fail?",
// "handshake", "noaddr", "nofailover").
func (n ClusterNode) HasFlag(flag string) bool { return slices.Contains(n.Flags, flag) }

// IsMaster reports whether the node is a master (flag "master").
func (n ClusterNode) IsMaster() bool { return n.HasFlag("master") }

// IsMyself reports whether this line describes the node that answered.
func (n ClusterNode) IsMyself() bool { return n.HasFlag("myself") }

// SlotCount is the number of slots in n.Slots.
func (n ClusterNode) SlotCount() int { return countSlots(n.Slots) }

// ParseClusterNodes parses a CLUSTER NODES reply, one node per line:
//
//	<id> <ip:port@cport[,hostname[,aux=value]*]> <flags> <master> <ping-sent> <pong-recv> <config-epoch> <link-state> <slot>...
//
// Slots are "n", "a-b", "[n->-id]" (migrating) or "[n-<-id]" (importing).
// IPv6 addresses come without brackets ("::1:7000@17000"): the port is
// whatever follows the last colon.
func ParseClusterNodes(reply string) ([]ClusterNode, error) {
	var nodes []ClusterNode
	for i, line := range strings.Split(reply, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		n, err := parseNodeLine(line)
		if err != nil {
			return nil, fmt.Errorf("cluster: CLUSTER NODES line %d %q: %w", i+1, line, err)
		}
		nodes = append(nodes, n)
	}
	return nodes, nil
}

func parseNodeLine(line string) (ClusterNode, error) {
	f := strings.Fields(line)
	if len(f) < 8 {
		return ClusterNode{}, fmt.Errorf("%d fields, want at least 8", len(f))
	}
	n := ClusterNode{ID: f[0], Connected: f[7] == "connected"}
	var err error
	if n.Addr, n.BusPort, n.Hostname, err = parseNodeAddr(f[1]); err != nil {
		return ClusterNode{}, err
	}
	if f[2] != "noflags" {
		n.Flags = strings.Split(f[2], ",")
	}
	if f[3] != "-" {
		n.MasterID = f[3]
	}
	if n.PingSent, err = strconv.ParseInt(f[4], 10, 64); err != nil {
		return ClusterNode{}, fmt.Errorf("ping-sent: %w", err)
	}
	if n.PongRecv, err = strconv.ParseInt(f[5], 10, 64); err != nil {
		return ClusterNode{}, fmt.Errorf("pong-recv: %w", err)
	}
	if n.ConfigEpoch, err = strconv.ParseUint(f[6], 10, 64); err != nil {
		return ClusterNode{}, fmt.Errorf("config-epoch: %w", err)
	}
	for _, tok := range f[8:] {
		if strings.HasPrefix(tok, "[") {
			if err := n.parseMove(tok); err != nil {
				return ClusterNode{}, err
			}
			continue
		}
		r, err := parseSlotRange(tok)
		if err != nil {
			return ClusterNode{}, err
		}
		n.Slots = append(n.Slots, r)
	}
	return n, nil
}

// parseNodeAddr splits "ip:port@cport[,hostname[,aux=value]*]".
func parseNodeAddr(s string) (addr string, bus int, hostname string, err error) {
	hostport, rest, hasBus := strings.Cut(s, "@")
	if hasBus {
		parts := strings.Split(rest, ",")
		if bus, err = strconv.Atoi(parts[0]); err != nil {
			return "", 0, "", fmt.Errorf("bus port in %q: %w", s, err)
		}
		if len(parts) > 1 && !strings.Contains(parts[1], "=") {
			hostname = parts[1]
		}
	}
	i := strings.LastIndexByte(hostport, ':')
	if i < 0 {
		return "", 0, "", fmt.Errorf("address %q has no port", s)
	}
	host, port := hostport[:i], hostport[i+1:]
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return "", 0, "", fmt.Errorf("port in %q", s)
	}
	if host == "" || p == 0 { // noaddr: the node's address is not known yet
		return "", bus, hostname, nil
	}
	return net.JoinHostPort(host, port), bus, hostname, nil
}

// parseMove parses "[slot->-id]" (migrating) and "[slot-<-id]" (importing).
func (n *ClusterNode) parseMove(tok string) error {
	body, ok := strings.CutSuffix(strings.TrimPrefix(tok, "["), "]")
	if !ok {
		return fmt.Errorf("slot %q: missing ]", tok)
	}
	dest := &n.Migrating
	slotStr, id, ok := strings.Cut(body, "->-")
	if !ok {
		dest = &n.Importing
		if slotStr, id, ok = strings.Cut(body, "-<-"); !ok {
			return fmt.Errorf("slot %q: neither ->- nor -<-", tok)
		}
	}
	slot, err := parseSlot(slotStr)
	if err != nil {
		return err
	}
	*dest = append(*dest, SlotMove{Slot: slot, Node: id})
	return nil
}

func parseSlotRange(tok string) (router.SlotRange, error) {
	a, b, isRange := strings.Cut(tok, "-")
	first, err := parseSlot(a)
	if err != nil {
		return router.SlotRange{}, err
	}
	last := first
	if isRange {
		if last, err = parseSlot(b); err != nil {
			return router.SlotRange{}, err
		}
		if last < first {
			return router.SlotRange{}, fmt.Errorf("slot range %q is reversed", tok)
		}
	}
	return router.SlotRange{First: first, Last: last}, nil
}

func parseSlot(s string) (uint16, error) {
	v, err := strconv.ParseUint(s, 10, 16)
	if err != nil || v >= router.NumSlots {
		return 0, fmt.Errorf("slot %q is not in 0..%d", s, router.NumSlots-1)
	}
	return uint16(v), nil
}

// countSlots is the number of slots in rs.
func countSlots(rs []router.SlotRange) int {
	n := 0
	for _, r := range rs {
		n += int(r.Last) - int(r.First) + 1
	}
	return n
}

// clusterNodes asks the node behind c for CLUSTER NODES and parses it.
func clusterNodes(ctx context.Context, c rueidis.Client, addr string) ([]ClusterNode, error) {
	s, err := DoText(ctx, c, addr, "CLUSTER", "NODES")
	if err != nil {
		return nil, err
	}
	return ParseClusterNodes(s)
}

// NodesOf connects to addr and returns its CLUSTER NODES. A server without
// cluster mode gives an error wrapping ErrNotCluster.
func NodesOf(ctx context.Context, addr string, opt ConnOptions) ([]ClusterNode, error) {
	c, err := Dial(addr, opt)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	nodes, err := clusterNodes(ctx, c, addr)
	if err != nil && strings.Contains(err.Error(), "cluster support disabled") {
		return nil, notCluster(addr, "0")
	}
	return nodes, err
}

// ParseInfo parses an INFO reply into key → value. Section headers ("#
// Server") and blank lines are skipped; keyspace lines keep their value
// whole ("db0" → "keys=1,expires=0,avg_ttl=0").
func ParseInfo(reply string) map[string]string {
	m := make(map[string]string)
	for line := range strings.SplitSeq(reply, "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" || line[0] == '#' {
			continue
		}
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = v
		}
	}
	return m
}

// info sends INFO [sections...] to the node behind c and parses the reply.
func info(ctx context.Context, c rueidis.Client, addr string, sections ...string) (map[string]string, error) {
	s, err := DoText(ctx, c, addr, append([]string{"INFO"}, sections...)...)
	if err != nil {
		return nil, err
	}
	return ParseInfo(s), nil
}

// NodeInfo connects to addr and returns its INFO as key → value. With no
// sections it asks for the default set (server, clients, memory,
// persistence, stats, replication, cpu, modules, errorstats, cluster,
// keyspace); name sections ("server", "cluster", "commandstats",
// "errorstats", "all") to get others.
func NodeInfo(ctx context.Context, addr string, opt ConnOptions, sections ...string) (map[string]string, error) {
	c, err := Dial(addr, opt)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return info(ctx, c, addr, sections...)
}
