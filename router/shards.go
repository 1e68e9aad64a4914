package router

import (
	"errors"
	"fmt"
	"net"
	"strconv"
)

// Topology errors. Wrapped with details; test with errors.Is.
var (
	ErrMalformedTopology = errors.New("router: malformed topology reply")
	ErrSlotsUncovered    = errors.New("router: slots without an owner")
	ErrSlotsOverlap      = errors.New("router: slots owned by more than one shard")
)

// Topology sources, as returned by ChooseTopology.
const (
	SourceShards = "shards" // CLUSTER SHARDS
	SourceSlots  = "slots"  // CLUSTER SLOTS
)

// The decoded replies these parsers accept are what Go clients hand out for
// a generic command: rueidis' RedisMessage.ToAny() and go-redis' Cmd.Result().
// RESP3 maps come as map[string]any (rueidis) or map[any]any (go-redis), in
// RESP2 the same maps come as flat []any{key, value, key, value, ...};
// arrays are []any, integers int64, strings string, nulls nil.

// ParseShards parses a CLUSTER SHARDS reply (Redis >= 7) into shards, the
// master first in each shard's Nodes.
//
// It reports what the server said and no more: a shard without a master or
// with empty slots (a failed shard, shown that way by a known bug before
// Redis 8) is kept as it is. Whether the answer is usable is for the caller
// to decide with CheckCoverage, falling back to CLUSTER SLOTS when it is
// not; ChooseTopology encodes that rule.
//
// Slot numbers are accepted as integers or as decimal strings (early 7.0
// sent strings). A node's address is its "endpoint" (the server's preferred
// endpoint type), else its "ip"; when both are empty or "?" (unknown) the
// host is left empty, ":port", meaning "the node you asked": see
// ResolveHosts. The port is "port", or "tls-port" when "port" is 0 or absent
// (a TLS-only node, which a client must then reach over TLS).
func ParseShards(reply any) ([]Shard, error) {
	list, ok := reply.([]any)
	if !ok {
		return nil, malformed("CLUSTER SHARDS: reply is %T, want an array", reply)
	}
	shards := make([]Shard, 0, len(list))
	for i, e := range list {
		f, ok := fields(e)
		if !ok {
			return nil, malformed("CLUSTER SHARDS: shard %d is %T, want a map", i, e)
		}
		slots, err := parseRanges(f["slots"])
		if err != nil {
			return nil, fmt.Errorf("%w (CLUSTER SHARDS shard %d)", err, i)
		}
		nodes, ok := f["nodes"].([]any)
		if !ok {
			return nil, malformed("CLUSTER SHARDS: shard %d: nodes is %T, want an array", i, f["nodes"])
		}
		s := Shard{Slots: slots, Nodes: make([]ShardNode, 0, len(nodes))}
		for j, nv := range nodes {
			n, err := parseShardNode(nv)
			if err != nil {
				return nil, fmt.Errorf("%w (CLUSTER SHARDS shard %d node %d)", err, i, j)
			}
			if n.Role == "master" {
				s.Nodes = append([]ShardNode{n}, s.Nodes...)
			} else {
				s.Nodes = append(s.Nodes, n)
			}
		}
		shards = append(shards, s)
	}
	return shards, nil
}

// parseRanges parses CLUSTER SHARDS "slots": a flat list of start, end pairs.
func parseRanges(v any) ([]SlotRange, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, malformed("slots is %T, want an array", v)
	}
	if len(list)%2 != 0 {
		return nil, malformed("slots has %d numbers, want start/end pairs", len(list))
	}
	ranges := make([]SlotRange, 0, len(list)/2)
	for i := 0; i < len(list); i += 2 {
		r, err := slotRange(list[i], list[i+1])
		if err != nil {
			return nil, err
		}
		ranges = append(ranges, r)
	}
	return ranges, nil
}

// slotRange checks and converts one start, end pair.
func slotRange(first, last any) (SlotRange, error) {
	a, okA := asInt(first)
	b, okB := asInt(last)
	if !okA || !okB {
		return SlotRange{}, malformed("slot range %v-%v is not numeric", first, last)
	}
	if a < 0 || b >= NumSlots || a > b {
		return SlotRange{}, malformed("slot range %d-%d out of 0-%d", a, b, NumSlots-1)
	}
	return SlotRange{First: uint16(a), Last: uint16(b)}, nil
}

// parseShardNode parses one node map of a CLUSTER SHARDS reply.
func parseShardNode(v any) (ShardNode, error) {
	f, ok := fields(v)
	if !ok {
		return ShardNode{}, malformed("node is %T, want a map", v)
	}
	port, ok := portField(f, "port")
	if !ok {
		return ShardNode{}, malformed("node port %v", f["port"])
	}
	if port == 0 {
		if port, ok = portField(f, "tls-port"); !ok {
			return ShardNode{}, malformed("node tls-port %v", f["tls-port"])
		}
	}
	if port == 0 {
		return ShardNode{}, malformed("node has no port")
	}
	role, err := normRole(f["role"])
	if err != nil {
		return ShardNode{}, err
	}
	endpoint, _ := asString(f["endpoint"])
	ip, _ := asString(f["ip"])
	id, _ := asString(f["id"])
	health, _ := asString(f["health"])
	return ShardNode{
		ID:     id,
		Addr:   joinHostPort(endpoint, ip, port),
		Role:   role,
		Health: health,
	}, nil
}

// portField returns f[key] as a port; absent counts as 0.
func portField(f map[string]any, key string) (int, bool) {
	v, present := f[key]
	if !present {
		return 0, true
	}
	p, ok := asInt(v)
	if !ok || p < 0 || p > 65535 {
		return 0, false
	}
	return int(p), true
}

// normRole maps the roles Redis reports to "master" or "replica" (old
// replies say "slave").
func normRole(v any) (string, error) {
	s, _ := asString(v)
	switch s {
	case "master":
		return "master", nil
	case "replica", "slave":
		return "replica", nil
	}
	return "", malformed("node role %q", s)
}

// joinHostPort picks the host a client should dial: the preferred endpoint,
// else the ip; "" and "?" mean unknown. An unknown host stays empty
// (":port"), Redis' way of saying "the node you asked" (ResolveHosts).
// Falling back to the ip when the endpoint is unknown suits clusterbench,
// which reaches nodes directly, not through a proxy or load balancer.
func joinHostPort(endpoint, ip string, port int) string {
	host := endpoint
	if host == "" || host == "?" {
		host = ip
	}
	if host == "?" {
		host = ""
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// ParseSlots parses a CLUSTER SLOTS reply. Each entry is [start, end,
// master, replicas...], each node [endpoint, port, id, {metadata}] (id and
// metadata since Redis 4 and 7). Entries that share a master (same id, or
// same address when there is no id) become one Shard whose Slots lists
// their ranges in reply order. The master's endpoint is chosen as in
// ParseShards: a nil or "?" endpoint falls back to the metadata's "ip".
// CLUSTER SLOTS reports no health, so Health is empty.
func ParseSlots(reply any) ([]Shard, error) {
	list, ok := reply.([]any)
	if !ok {
		return nil, malformed("CLUSTER SLOTS: reply is %T, want an array", reply)
	}
	var shards []Shard
	byMaster := make(map[string]int) // node key -> index in shards
	for i, e := range list {
		entry, ok := e.([]any)
		if !ok || len(entry) < 3 {
			return nil, malformed("CLUSTER SLOTS: entry %d is %v, want [start, end, master, ...]", i, e)
		}
		r, err := slotRange(entry[0], entry[1])
		if err != nil {
			return nil, fmt.Errorf("%w (CLUSTER SLOTS entry %d)", err, i)
		}
		master, err := parseSlotsNode(entry[2], "master")
		if err != nil {
			return nil, fmt.Errorf("%w (CLUSTER SLOTS entry %d master)", err, i)
		}
		idx, seen := byMaster[nodeKey(master)]
		if !seen {
			idx = len(shards)
			byMaster[nodeKey(master)] = idx
			shards = append(shards, Shard{Nodes: []ShardNode{master}})
		}
		s := &shards[idx]
		s.Slots = append(s.Slots, r)
		for j, rv := range entry[3:] {
			replica, err := parseSlotsNode(rv, "replica")
			if err != nil {
				return nil, fmt.Errorf("%w (CLUSTER SLOTS entry %d replica %d)", err, i, j)
			}
			if !hasNode(s.Nodes, replica) {
				s.Nodes = append(s.Nodes, replica)
			}
		}
	}
	return shards, nil
}

// parseSlotsNode parses one [endpoint, port, id?, metadata?] node of a
// CLUSTER SLOTS entry.
func parseSlotsNode(v any, role string) (ShardNode, error) {
	n, ok := v.([]any)
	if !ok || len(n) < 2 {
		return ShardNode{}, malformed("node is %v, want [endpoint, port, ...]", v)
	}
	endpoint, ok := asString(n[0])
	if !ok {
		return ShardNode{}, malformed("node endpoint is %T", n[0])
	}
	port, ok := asInt(n[1])
	if !ok || port <= 0 || port > 65535 {
		return ShardNode{}, malformed("node port %v", n[1])
	}
	var id, ip string
	if len(n) > 2 {
		if id, ok = asString(n[2]); !ok {
			return ShardNode{}, malformed("node id is %T", n[2])
		}
	}
	if len(n) > 3 {
		meta, ok := fields(n[3])
		if !ok {
			return ShardNode{}, malformed("node metadata is %T, want a map", n[3])
		}
		ip, _ = asString(meta["ip"])
	}
	return ShardNode{ID: id, Addr: joinHostPort(endpoint, ip, int(port)), Role: role}, nil
}

// nodeKey identifies a node across CLUSTER SLOTS entries.
func nodeKey(n ShardNode) string {
	if n.ID != "" {
		return n.ID
	}
	return n.Addr
}

func hasNode(nodes []ShardNode, n ShardNode) bool {
	for _, m := range nodes {
		if nodeKey(m) == nodeKey(n) {
			return true
		}
	}
	return false
}

// CheckCoverage counts the slots owned by a shard with a master (the ones a
// SlotMap built from shards would route) and returns an error wrapping
// ErrSlotsUncovered when some slots have no owner, ErrSlotsOverlap when a
// slot is listed by two shards, and ErrMalformedTopology for a range out of
// 0-16383 (those slots are not counted). covered counts each owned slot
// once.
func CheckCoverage(shards []Shard) (covered int, err error) {
	var owners [NumSlots]uint8 // shards listing the slot, saturating at 2
	var errs []error
	for _, s := range shards {
		if _, ok := s.Master(); !ok {
			continue
		}
		for _, r := range s.Slots {
			if r.First > r.Last || r.Last >= NumSlots {
				errs = append(errs, malformed("slot range %d-%d out of 0-%d", r.First, r.Last, NumSlots-1))
				continue
			}
			for slot := int(r.First); slot <= int(r.Last); slot++ {
				if owners[slot] < 2 {
					owners[slot]++
				}
			}
		}
	}
	overlaps, firstOverlap := 0, -1
	for slot, n := range owners {
		if n > 0 {
			covered++
		}
		if n > 1 {
			if overlaps == 0 {
				firstOverlap = slot
			}
			overlaps++
		}
	}
	if covered < NumSlots {
		gapFirst := 0
		for owners[gapFirst] > 0 {
			gapFirst++
		}
		gapLast := gapFirst
		for gapLast+1 < NumSlots && owners[gapLast+1] == 0 {
			gapLast++
		}
		errs = append(errs, fmt.Errorf("%w: %d of %d slots (first gap %d-%d)",
			ErrSlotsUncovered, NumSlots-covered, NumSlots, gapFirst, gapLast))
	}
	if overlaps > 0 {
		errs = append(errs, fmt.Errorf("%w: %d slots (first %d)", ErrSlotsOverlap, overlaps, firstOverlap))
	}
	return covered, errors.Join(errs...)
}

// ChooseTopology applies the rule for trusting CLUSTER SHARDS: use its
// shards (parsed by ParseShards, with shardsErr the error of the call or the
// parse) when they cover every slot exactly once; otherwise call slots
// (which should run and parse CLUSTER SLOTS) and use that when it does. The
// source is SourceShards or SourceSlots.
//
// When neither answer covers the cluster (a cluster that really is missing
// slots, e.g. a shard down), it returns the usable answer with the most
// covered slots, its source, and an error wrapping ErrSlotsUncovered or
// ErrSlotsOverlap: the caller decides whether a partial map is acceptable.
// With no usable answer at all, shards is nil and err joins both failures.
// slots may be nil when there is no fallback.
func ChooseTopology(shards []Shard, shardsErr error, slots func() ([]Shard, error)) ([]Shard, string, error) {
	shardsCovered := -1
	var shardsCheck error
	if shardsErr == nil {
		shardsCovered, shardsCheck = CheckCoverage(shards)
		if shardsCheck == nil {
			return shards, SourceShards, nil
		}
	} else {
		shardsCheck = fmt.Errorf("CLUSTER SHARDS: %w", shardsErr)
	}
	if slots == nil {
		if shardsErr != nil {
			return nil, "", shardsCheck
		}
		return shards, SourceShards, shardsCheck
	}
	alt, altErr := slots()
	if altErr != nil {
		altErr = fmt.Errorf("CLUSTER SLOTS: %w", altErr)
		if shardsErr != nil {
			return nil, "", errors.Join(shardsCheck, altErr)
		}
		return shards, SourceShards, errors.Join(shardsCheck, altErr)
	}
	altCovered, altCheck := CheckCoverage(alt)
	if altCheck == nil || altCovered >= shardsCovered {
		// CLUSTER SLOTS wins ties: it does not have CLUSTER SHARDS' bugs.
		return alt, SourceSlots, altCheck
	}
	return shards, SourceShards, shardsCheck
}

// ResolveHosts fills in, in place, the host of every node address that has
// none (":port", a node whose endpoint is unknown, e.g. a lone node that has
// not met another) with the host of from, the node that sent the topology.
func ResolveHosts(shards []Shard, from string) {
	for i := range shards {
		for j := range shards[i].Nodes {
			n := &shards[i].Nodes[j]
			n.Addr = FillHost(n.Addr, from)
		}
	}
}

// fields returns a RESP map in any of its decoded shapes as map[string]any.
func fields(v any) (map[string]any, bool) {
	switch x := v.(type) {
	case map[string]any:
		return x, true
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			ks, ok := asString(k)
			if !ok {
				return nil, false
			}
			m[ks] = e
		}
		return m, true
	case []any: // RESP2: key, value, key, value, ...
		if len(x)%2 != 0 {
			return nil, false
		}
		m := make(map[string]any, len(x)/2)
		for i := 0; i < len(x); i += 2 {
			ks, ok := asString(x[i])
			if !ok {
				return nil, false
			}
			m[ks] = x[i+1]
		}
		return m, true
	}
	return nil, false
}

// asInt accepts the integer shapes of a decoded reply and decimal strings.
func asInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int:
		return int64(x), true
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		return n, err == nil
	case []byte:
		n, err := strconv.ParseInt(string(x), 10, 64)
		return n, err == nil
	}
	return 0, false
}

// asString accepts string shapes; a RESP null (nil) is the empty string.
func asString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case []byte:
		return string(x), true
	case nil:
		return "", true
	}
	return "", false
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformedTopology}, args...)...)
}
