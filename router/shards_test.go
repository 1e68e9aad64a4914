package router_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/clusterbench/clusterbench/router"
)

// The fixtures below copy the shapes rueidis (ToAny) and go-redis (Result)
// returned for Redis 7.0.15 (captured from real nodes; ids shortened), plus
// hand-made variants for shapes other versions send.

const (
	idA = "d7182045808f0767c02ea057564680c2708e0be1"
	idB = "8ced5ce1038f0275298d55d55a1284716aca0e4d"
	idC = "6470ea4868848b6b2785456e51a8c1a5a026e527"
)

// A lone node with slots 0-5000 and 8000-16383, RESP3 through rueidis. A
// node that has met no other does not know its own ip: "ip" and "endpoint"
// are empty.
var shardsLoneRESP3 = []any{
	map[string]any{
		"slots": []any{int64(0), int64(5000), int64(8000), int64(16383)},
		"nodes": []any{
			map[string]any{
				"health": "online", "id": idA, "port": int64(40243), "ip": "", "endpoint": "",
				"role": "master", "replication-offset": int64(0),
			},
		},
	},
}

// The same in RESP2: maps are flat key, value arrays.
var shardsLoneRESP2 = []any{
	[]any{
		"slots", []any{int64(0), int64(5000), int64(8000), int64(16383)},
		"nodes", []any{
			[]any{"id", idA, "port", int64(40243), "ip", "", "endpoint", "", "role", "master",
				"replication-offset", int64(0), "health", "online"},
		},
	},
}

// The same through go-redis with Protocol 3: map[any]any.
var shardsLoneGoRedis = []any{
	map[any]any{
		"slots": []any{int64(0), int64(5000), int64(8000), int64(16383)},
		"nodes": []any{
			map[any]any{
				"id": idA, "port": int64(40243), "ip": "", "endpoint": "", "role": "master",
				"replication-offset": int64(0), "health": "online",
			},
		},
	},
}

var wantLone = []router.Shard{{
	Slots: []router.SlotRange{{First: 0, Last: 5000}, {First: 8000, Last: 16383}},
	Nodes: []router.ShardNode{{ID: idA, Addr: ":40243", Role: "master", Health: "online"}},
}}

// A master with a replica that is still loading, announced hostnames,
// default endpoint type (ip). The replica is listed before the master here
// to check that the master comes first.
var shardsReplicaRESP3 = []any{
	map[string]any{
		"slots": []any{int64(0), int64(16383)},
		"nodes": []any{
			map[string]any{
				"role": "replica", "replication-offset": int64(0), "health": "loading", "id": idB,
				"port": int64(33937), "ip": "127.0.0.1", "endpoint": "127.0.0.1", "hostname": "node-b.example",
			},
			map[string]any{
				"health": "online", "id": idC, "port": int64(34087), "ip": "127.0.0.1",
				"endpoint": "127.0.0.1", "hostname": "node-a.example", "role": "master", "replication-offset": int64(0),
			},
		},
	},
}

var wantReplica = []router.Shard{{
	Slots: []router.SlotRange{{First: 0, Last: 16383}},
	Nodes: []router.ShardNode{
		{ID: idC, Addr: "127.0.0.1:34087", Role: "master", Health: "online"},
		{ID: idB, Addr: "127.0.0.1:33937", Role: "replica", Health: "loading"},
	},
}}

// shardNode builds one RESP3 node map; extra overrides or adds fields.
func shardNode(id, role string, port int64, extra ...any) map[string]any {
	m := map[string]any{"id": id, "port": port, "ip": "127.0.0.1", "endpoint": "127.0.0.1",
		"role": role, "replication-offset": int64(0), "health": "online"}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i].(string)] = extra[i+1]
	}
	return m
}

func shardsEntry(slots []any, nodes ...any) map[string]any {
	return map[string]any{"slots": slots, "nodes": nodes}
}

func TestParseShards(t *testing.T) {
	tests := []struct {
		name  string
		reply any
		want  []router.Shard
	}{
		// Captured shapes: the three decodings of one reply agree.
		{name: "rueidis resp3 lone node", reply: shardsLoneRESP3, want: wantLone},
		{name: "rueidis resp2 flat", reply: shardsLoneRESP2, want: wantLone},
		{name: "go-redis map[any]any", reply: shardsLoneGoRedis, want: wantLone},
		{name: "replica listed first", reply: shardsReplicaRESP3, want: wantReplica},
		// Early 7.0 sent slot numbers as strings.
		{name: "string slots", reply: []any{shardsEntry([]any{"0", "5460", "5462", "5470"}, shardNode(idA, "master", 7000))},
			want: []router.Shard{{Slots: []router.SlotRange{{First: 0, Last: 5460}, {First: 5462, Last: 5470}},
				Nodes: []router.ShardNode{{ID: idA, Addr: "127.0.0.1:7000", Role: "master", Health: "online"}}}}},
		// A failed master with empty slots (pre-8 bug) is kept as is.
		{name: "failed shard empty slots", reply: []any{
			shardsEntry([]any{int64(0), int64(8191)}, shardNode(idA, "master", 7000)),
			shardsEntry([]any{}, shardNode(idB, "master", 7001, "health", "failed")),
		}, want: []router.Shard{
			{Slots: []router.SlotRange{{First: 0, Last: 8191}}, Nodes: []router.ShardNode{{ID: idA, Addr: "127.0.0.1:7000", Role: "master", Health: "online"}}},
			{Slots: []router.SlotRange{}, Nodes: []router.ShardNode{{ID: idB, Addr: "127.0.0.1:7001", Role: "master", Health: "failed"}}},
		}},
		// A shard of replicas only (its master gone): no master, slots kept.
		{name: "shard without master", reply: []any{
			shardsEntry([]any{int64(0), int64(9)}, shardNode(idB, "replica", 7004, "health", "failed")),
		}, want: []router.Shard{{Slots: []router.SlotRange{{First: 0, Last: 9}},
			Nodes: []router.ShardNode{{ID: idB, Addr: "127.0.0.1:7004", Role: "replica", Health: "failed"}}}}},
		// IPv6 addresses are bracketed for dialing.
		{name: "ipv6", reply: []any{shardsEntry([]any{int64(0), int64(16383)}, shardNode(idA, "master", 7000, "ip", "::1", "endpoint", "::1"))},
			want: []router.Shard{{Slots: []router.SlotRange{{First: 0, Last: 16383}},
				Nodes: []router.ShardNode{{ID: idA, Addr: "[::1]:7000", Role: "master", Health: "online"}}}}},
		// cluster-preferred-endpoint-type hostname: the endpoint is the hostname.
		{name: "hostname endpoint", reply: []any{shardsEntry([]any{int64(0), int64(16383)},
			shardNode(idA, "master", 7000, "endpoint", "node-a.example", "hostname", "node-a.example"))},
			want: []router.Shard{{Slots: []router.SlotRange{{First: 0, Last: 16383}},
				Nodes: []router.ShardNode{{ID: idA, Addr: "node-a.example:7000", Role: "master", Health: "online"}}}}},
		// unknown-endpoint ("") and hostname-without-hostname ("?") fall back to the ip.
		{name: "unknown endpoint", reply: []any{shardsEntry([]any{int64(0), int64(16383)},
			shardNode(idA, "master", 7000, "endpoint", ""), shardNode(idB, "replica", 7001, "endpoint", "?"))},
			want: []router.Shard{{Slots: []router.SlotRange{{First: 0, Last: 16383}}, Nodes: []router.ShardNode{
				{ID: idA, Addr: "127.0.0.1:7000", Role: "master", Health: "online"},
				{ID: idB, Addr: "127.0.0.1:7001", Role: "replica", Health: "online"}}}}},
		// A TLS-only node reports port 0 and its tls-port.
		{name: "tls port", reply: []any{shardsEntry([]any{int64(0), int64(16383)},
			shardNode(idA, "master", 0, "tls-port", int64(6380)))},
			want: []router.Shard{{Slots: []router.SlotRange{{First: 0, Last: 16383}},
				Nodes: []router.ShardNode{{ID: idA, Addr: "127.0.0.1:6380", Role: "master", Health: "online"}}}}},
		// Old replies say "slave".
		{name: "slave role", reply: []any{shardsEntry([]any{int64(0), int64(16383)},
			shardNode(idA, "master", 7000), shardNode(idB, "slave", 7001))},
			want: []router.Shard{{Slots: []router.SlotRange{{First: 0, Last: 16383}}, Nodes: []router.ShardNode{
				{ID: idA, Addr: "127.0.0.1:7000", Role: "master", Health: "online"},
				{ID: idB, Addr: "127.0.0.1:7001", Role: "replica", Health: "online"}}}}},
		// An empty cluster.
		{name: "empty", reply: []any{}, want: []router.Shard{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := router.ParseShards(tt.reply)
			if err != nil {
				t.Fatalf("ParseShards: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseShards =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestParseShardsMalformed(t *testing.T) {
	good := shardNode(idA, "master", 7000)
	full := []any{int64(0), int64(16383)}
	tests := []struct {
		name  string
		reply any
	}{
		{name: "nil", reply: nil},                                  // no reply at all
		{name: "string", reply: "ERR unknown subcommand 'SHARDS'"}, // an error passed as a value
		{name: "shard not a map", reply: []any{int64(1)}},
		{name: "odd flat map", reply: []any{[]any{"slots", full, "nodes"}}},
		{name: "non-string key", reply: []any{map[any]any{int64(1): full}}},
		{name: "slots missing", reply: []any{map[string]any{"nodes": []any{good}}}},
		{name: "odd slots", reply: []any{shardsEntry([]any{int64(0)}, good)}},
		{name: "slot too big", reply: []any{shardsEntry([]any{int64(0), int64(16384)}, good)}},
		{name: "negative slot", reply: []any{shardsEntry([]any{int64(-1), int64(5)}, good)}},
		{name: "reversed range", reply: []any{shardsEntry([]any{int64(10), int64(5)}, good)}},
		{name: "slot text", reply: []any{shardsEntry([]any{"zero", "5"}, good)}},
		{name: "slot float", reply: []any{shardsEntry([]any{0.5, int64(5)}, good)}},
		{name: "nodes missing", reply: []any{map[string]any{"slots": full}}},
		{name: "node not a map", reply: []any{shardsEntry(full, "127.0.0.1:7000")}},
		{name: "no port", reply: []any{shardsEntry(full, map[string]any{"id": idA, "ip": "127.0.0.1", "role": "master"})}},
		{name: "port 0 no tls", reply: []any{shardsEntry(full, shardNode(idA, "master", 0))}},
		{name: "port too big", reply: []any{shardsEntry(full, shardNode(idA, "master", 70000))}},
		{name: "port text", reply: []any{shardsEntry(full, shardNode(idA, "master", 0, "port", "redis"))}},
		{name: "unknown role", reply: []any{shardsEntry(full, shardNode(idA, "arbiter", 7000))}},
		{name: "role missing", reply: []any{shardsEntry(full, map[string]any{"id": idA, "ip": "127.0.0.1", "port": int64(7000)})}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := router.ParseShards(tt.reply)
			if !errors.Is(err, router.ErrMalformedTopology) {
				t.Fatalf("ParseShards = %+v, %v; want ErrMalformedTopology", got, err)
			}
			if got != nil {
				t.Fatalf("ParseShards returned shards with an error: %+v", got)
			}
		})
	}
}

// slotsNode builds one CLUSTER SLOTS node with RESP3 metadata.
func slotsNode(endpoint any, port int64, id string, meta map[string]any) []any {
	return []any{endpoint, port, id, meta}
}

func TestParseSlots(t *testing.T) {
	tests := []struct {
		name  string
		reply any
		want  []router.Shard
	}{
		// Captured: a lone node, two ranges with the same master become one shard.
		{name: "rueidis resp3 lone node", reply: []any{
			[]any{int64(0), int64(5000), []any{"", int64(40243), idA, map[string]any{}}},
			[]any{int64(8000), int64(16383), []any{"", int64(40243), idA, map[string]any{}}},
		}, want: wantLone2()},
		{name: "rueidis resp2 lone node", reply: []any{
			[]any{int64(0), int64(5000), []any{"", int64(40243), idA, []any{}}},
			[]any{int64(8000), int64(16383), []any{"", int64(40243), idA, []any{}}},
		}, want: wantLone2()},
		{name: "go-redis resp3 lone node", reply: []any{
			[]any{int64(0), int64(5000), []any{"", int64(40243), idA, map[any]any{}}},
			[]any{int64(8000), int64(16383), []any{"", int64(40243), idA, map[any]any{}}},
		}, want: wantLone2()},
		// Captured: hostname metadata (RESP2 flat) does not change the address.
		{name: "hostname metadata", reply: []any{
			[]any{int64(0), int64(16383), []any{"127.0.0.1", int64(34087), idC, []any{"hostname", "node-a.example"}}},
		}, want: []router.Shard{{Slots: []router.SlotRange{{First: 0, Last: 16383}},
			Nodes: []router.ShardNode{{ID: idC, Addr: "127.0.0.1:34087", Role: "master"}}}}},
		// Captured: unknown-endpoint sends a null endpoint, the ip in the metadata.
		{name: "null endpoint", reply: []any{
			[]any{int64(0), int64(16383), []any{nil, int64(34087), idC, map[string]any{"ip": "127.0.0.1", "hostname": "node-a.example"}}},
		}, want: []router.Shard{{Slots: []router.SlotRange{{First: 0, Last: 16383}},
			Nodes: []router.ShardNode{{ID: idC, Addr: "127.0.0.1:34087", Role: "master"}}}}},
		// Hostname preferred but none announced: "?" falls back to the ip.
		{name: "question mark endpoint", reply: []any{
			[]any{int64(0), int64(16383), slotsNode("?", 7000, idA, map[string]any{"ip": "10.0.0.5"})},
		}, want: []router.Shard{{Slots: []router.SlotRange{{First: 0, Last: 16383}},
			Nodes: []router.ShardNode{{ID: idA, Addr: "10.0.0.5:7000", Role: "master"}}}}},
		// Three masters with replicas; the first master has two ranges
		// (entries in slot order, as Redis sends them); replicas are merged.
		{name: "replicas", reply: []any{
			[]any{int64(0), int64(5460), slotsNode("127.0.0.1", 7000, "m1", nil), slotsNode("127.0.0.1", 7003, "r1", nil)},
			[]any{int64(5461), int64(10922), slotsNode("127.0.0.1", 7001, "m2", nil), slotsNode("127.0.0.1", 7004, "r2", nil), slotsNode("127.0.0.1", 7005, "r2b", nil)},
			[]any{int64(10923), int64(16000), slotsNode("127.0.0.1", 7002, "m3", nil)},
			[]any{int64(16001), int64(16383), slotsNode("127.0.0.1", 7000, "m1", nil), slotsNode("127.0.0.1", 7003, "r1", nil)},
		}, want: []router.Shard{
			{Slots: []router.SlotRange{{First: 0, Last: 5460}, {First: 16001, Last: 16383}}, Nodes: []router.ShardNode{
				{ID: "m1", Addr: "127.0.0.1:7000", Role: "master"}, {ID: "r1", Addr: "127.0.0.1:7003", Role: "replica"}}},
			{Slots: []router.SlotRange{{First: 5461, Last: 10922}}, Nodes: []router.ShardNode{
				{ID: "m2", Addr: "127.0.0.1:7001", Role: "master"}, {ID: "r2", Addr: "127.0.0.1:7004", Role: "replica"},
				{ID: "r2b", Addr: "127.0.0.1:7005", Role: "replica"}}},
			{Slots: []router.SlotRange{{First: 10923, Last: 16000}}, Nodes: []router.ShardNode{
				{ID: "m3", Addr: "127.0.0.1:7002", Role: "master"}}},
		}},
		// Before Redis 4 nodes had no id: masters are merged by address.
		{name: "no ids", reply: []any{
			[]any{int64(0), int64(99), []any{"10.0.0.1", int64(7000)}},
			[]any{int64(100), int64(199), []any{"10.0.0.2", int64(7000)}},
			[]any{int64(200), int64(299), []any{"10.0.0.1", int64(7000)}},
		}, want: []router.Shard{
			{Slots: []router.SlotRange{{First: 0, Last: 99}, {First: 200, Last: 299}}, Nodes: []router.ShardNode{{Addr: "10.0.0.1:7000", Role: "master"}}},
			{Slots: []router.SlotRange{{First: 100, Last: 199}}, Nodes: []router.ShardNode{{Addr: "10.0.0.2:7000", Role: "master"}}},
		}},
		{name: "ipv6", reply: []any{
			[]any{int64(0), int64(16383), []any{"::1", int64(7000), idA}},
		}, want: []router.Shard{{Slots: []router.SlotRange{{First: 0, Last: 16383}},
			Nodes: []router.ShardNode{{ID: idA, Addr: "[::1]:7000", Role: "master"}}}}},
		// No slot assigned anywhere: an empty array.
		{name: "empty", reply: []any{}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := router.ParseSlots(tt.reply)
			if err != nil {
				t.Fatalf("ParseSlots: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseSlots =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

// wantLone2 is wantLone as CLUSTER SLOTS describes it: no health.
func wantLone2() []router.Shard {
	return []router.Shard{{
		Slots: []router.SlotRange{{First: 0, Last: 5000}, {First: 8000, Last: 16383}},
		Nodes: []router.ShardNode{{ID: idA, Addr: ":40243", Role: "master"}},
	}}
}

func TestParseSlotsMalformed(t *testing.T) {
	m := []any{"127.0.0.1", int64(7000), idA}
	tests := []struct {
		name  string
		reply any
	}{
		{name: "nil", reply: nil},
		{name: "map", reply: map[string]any{}},
		{name: "entry not array", reply: []any{"0 16383"}},
		{name: "entry too short", reply: []any{[]any{int64(0), int64(16383)}}},
		{name: "slot too big", reply: []any{[]any{int64(0), int64(16384), m}}},
		{name: "reversed range", reply: []any{[]any{int64(9), int64(1), m}}},
		{name: "slot not numeric", reply: []any{[]any{"a", int64(1), m}}},
		{name: "master not array", reply: []any{[]any{int64(0), int64(1), "127.0.0.1:7000"}}},
		{name: "master too short", reply: []any{[]any{int64(0), int64(1), []any{"127.0.0.1"}}}},
		{name: "port text", reply: []any{[]any{int64(0), int64(1), []any{"127.0.0.1", "x"}}}},
		{name: "port 0", reply: []any{[]any{int64(0), int64(1), []any{"127.0.0.1", int64(0)}}}},
		{name: "endpoint not string", reply: []any{[]any{int64(0), int64(1), []any{int64(1), int64(7000)}}}},
		{name: "id not string", reply: []any{[]any{int64(0), int64(1), []any{"127.0.0.1", int64(7000), int64(5)}}}},
		{name: "metadata odd", reply: []any{[]any{int64(0), int64(1), []any{"127.0.0.1", int64(7000), idA, []any{"ip"}}}}},
		{name: "bad replica", reply: []any{[]any{int64(0), int64(1), m, "replica"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := router.ParseSlots(tt.reply)
			if !errors.Is(err, router.ErrMalformedTopology) || got != nil {
				t.Fatalf("ParseSlots = %+v, %v; want nil, ErrMalformedTopology", got, err)
			}
		})
	}
}

func masterShard(addr string, ranges ...router.SlotRange) router.Shard {
	return router.Shard{Slots: ranges, Nodes: []router.ShardNode{{Addr: addr, Role: "master"}}}
}

func TestCheckCoverage(t *testing.T) {
	tests := []struct {
		name    string
		shards  []router.Shard
		covered int
		errs    []error // each must match errors.Is; none means no error
		msg     string  // a substring of the error
	}{
		{name: "full", shards: []router.Shard{
			masterShard("a:1", router.SlotRange{First: 0, Last: 8191}),
			masterShard("b:1", router.SlotRange{First: 8192, Last: 16383}),
		}, covered: router.NumSlots},
		{name: "gap", shards: []router.Shard{
			masterShard("a:1", router.SlotRange{First: 0, Last: 5000}, router.SlotRange{First: 8000, Last: 16383}),
		}, covered: router.NumSlots - 2999, errs: []error{router.ErrSlotsUncovered}, msg: "2999 of 16384 slots (first gap 5001-7999)"},
		{name: "missing last slot", shards: []router.Shard{
			masterShard("a:1", router.SlotRange{First: 0, Last: 16382}),
		}, covered: router.NumSlots - 1, errs: []error{router.ErrSlotsUncovered}, msg: "first gap 16383-16383"},
		{name: "nothing", shards: nil, covered: 0, errs: []error{router.ErrSlotsUncovered}, msg: "first gap 0-16383"},
		{name: "overlap", shards: []router.Shard{
			masterShard("a:1", router.SlotRange{First: 0, Last: 8200}),
			masterShard("b:1", router.SlotRange{First: 8192, Last: 16383}),
		}, covered: router.NumSlots, errs: []error{router.ErrSlotsOverlap}, msg: "9 slots (first 8192)"},
		// Slots of a shard without a master are not served.
		{name: "masterless shard", shards: []router.Shard{
			masterShard("a:1", router.SlotRange{First: 0, Last: 8191}),
			{Slots: []router.SlotRange{{First: 8192, Last: 16383}}, Nodes: []router.ShardNode{{Addr: "b:1", Role: "replica", Health: "failed"}}},
		}, covered: 8192, errs: []error{router.ErrSlotsUncovered}, msg: "first gap 8192-16383"},
		// The pre-8 CLUSTER SHARDS bug: a failed shard with empty slots.
		{name: "failed shard empty slots", shards: []router.Shard{
			masterShard("a:1", router.SlotRange{First: 0, Last: 8191}),
			masterShard("b:1"),
		}, covered: 8192, errs: []error{router.ErrSlotsUncovered}},
		// Both problems at once, and an impossible range.
		{name: "overlap gap and bad range", shards: []router.Shard{
			masterShard("a:1", router.SlotRange{First: 0, Last: 100}, router.SlotRange{First: 9, Last: 3}),
			masterShard("b:1", router.SlotRange{First: 100, Last: 200}, router.SlotRange{First: 16000, Last: 16384}),
		}, covered: 201, errs: []error{router.ErrSlotsUncovered, router.ErrSlotsOverlap, router.ErrMalformedTopology}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			covered, err := router.CheckCoverage(tt.shards)
			if covered != tt.covered {
				t.Errorf("covered = %d, want %d", covered, tt.covered)
			}
			if len(tt.errs) == 0 && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			for _, want := range tt.errs {
				if !errors.Is(err, want) {
					t.Errorf("error %v does not match %v", err, want)
				}
			}
			if tt.msg != "" && (err == nil || !strings.Contains(err.Error(), tt.msg)) {
				t.Errorf("error %v does not say %q", err, tt.msg)
			}
		})
	}
}

func TestChooseTopology(t *testing.T) {
	full := []router.Shard{masterShard("a:1", router.SlotRange{First: 0, Last: 16383})}
	half := []router.Shard{masterShard("a:1", router.SlotRange{First: 0, Last: 8191})}
	most := []router.Shard{masterShard("a:1", router.SlotRange{First: 0, Last: 12000})}
	fullSlots := []router.Shard{masterShard("b:1", router.SlotRange{First: 0, Last: 16383})}
	unknownCmd := errors.New("ERR unknown subcommand 'SHARDS'")
	connErr := errors.New("connection refused")

	tests := []struct {
		name       string
		shards     []router.Shard
		shardsErr  error
		slots      []router.Shard // what the fallback returns
		slotsErr   error
		noFallback bool // pass a nil slots func
		want       []router.Shard
		source     string
		calls      int     // calls of the fallback
		errs       []error // each must match errors.Is; none means no error
	}{
		// CLUSTER SHARDS covers everything: no CLUSTER SLOTS call.
		{name: "shards complete", shards: full, slots: fullSlots, want: full, source: router.SourceShards, calls: 0},
		// The pre-8 bug: CLUSTER SHARDS misses slots, CLUSTER SLOTS has them.
		{name: "shards incomplete", shards: half, slots: fullSlots, want: fullSlots, source: router.SourceSlots, calls: 1},
		// Redis < 7 has no CLUSTER SHARDS.
		{name: "shards unsupported", shardsErr: unknownCmd, slots: fullSlots, want: fullSlots, source: router.SourceSlots, calls: 1},
		// A cluster really missing slots: the better partial answer, with the error.
		{name: "both partial slots better", shards: half, slots: most, want: most, source: router.SourceSlots, calls: 1,
			errs: []error{router.ErrSlotsUncovered}},
		{name: "both partial shards better", shards: most, slots: half, want: most, source: router.SourceShards, calls: 1,
			errs: []error{router.ErrSlotsUncovered}},
		{name: "both partial tie", shards: half, slots: half, want: half, source: router.SourceSlots, calls: 1,
			errs: []error{router.ErrSlotsUncovered}},
		// The fallback fails: keep the partial shards, report both.
		{name: "fallback fails", shards: half, slotsErr: connErr, want: half, source: router.SourceShards, calls: 1,
			errs: []error{router.ErrSlotsUncovered, connErr}},
		{name: "both fail", shardsErr: unknownCmd, slotsErr: connErr, want: nil, source: "", calls: 1,
			errs: []error{unknownCmd, connErr}},
		{name: "no fallback partial", shards: half, noFallback: true, want: half, source: router.SourceShards,
			errs: []error{router.ErrSlotsUncovered}},
		{name: "no fallback error", shardsErr: unknownCmd, noFallback: true, want: nil, source: "",
			errs: []error{unknownCmd}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			fallback := func() ([]router.Shard, error) {
				calls++
				return tt.slots, tt.slotsErr
			}
			if tt.noFallback {
				fallback = nil
			}
			got, source, err := router.ChooseTopology(tt.shards, tt.shardsErr, fallback)
			if !reflect.DeepEqual(got, tt.want) || source != tt.source {
				t.Fatalf("ChooseTopology = %+v, %q; want %+v, %q", got, source, tt.want, tt.source)
			}
			if calls != tt.calls {
				t.Errorf("fallback called %d times, want %d", calls, tt.calls)
			}
			if len(tt.errs) == 0 && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			for _, want := range tt.errs {
				if !errors.Is(err, want) {
					t.Errorf("error %v does not match %v", err, want)
				}
			}
		})
	}
}

func TestResolveHosts(t *testing.T) {
	shards := []router.Shard{{Nodes: []router.ShardNode{
		{Addr: ":7000", Role: "master"},
		{Addr: "10.0.0.2:7001", Role: "replica"},
	}}}
	router.ResolveHosts(shards, "127.0.0.1:7000")
	if shards[0].Nodes[0].Addr != "127.0.0.1:7000" || shards[0].Nodes[1].Addr != "10.0.0.2:7001" {
		t.Fatalf("ResolveHosts: %+v", shards[0].Nodes)
	}
}
