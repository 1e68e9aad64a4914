package cluster

import (
	"context"
	"errors"
	"net"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/internal/redistest"
	"github.com/clusterbench/clusterbench/router"
)

const (
	idA = "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca"
	idB = "67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1"
	idC = "292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f"
)

func TestParseClusterNodes(t *testing.T) {
	tests := []struct {
		name string
		line string
		want ClusterNode
	}{
		{
			// Redis 7.0 with an announced hostname; a replica.
			name: "replica with hostname",
			line: "07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@31004,hostname4 slave " + idA + " 0 1426238317239 4 connected",
			want: ClusterNode{ID: "07c37dfeb235213a872192d90877d0cd55635b91", Addr: "127.0.0.1:30004", BusPort: 31004,
				Hostname: "hostname4", Flags: []string{"slave"}, MasterID: idA, PongRecv: 1426238317239, ConfigEpoch: 4, Connected: true},
		},
		{
			// The answering node, in the middle of two migrations.
			name: "myself with migrating and importing slots",
			line: idA + " 127.0.0.1:30001@31001 myself,master - 0 0 1 connected 0-5460 [5461->-" + idB + "] [93-<-" + idC + "]",
			want: ClusterNode{ID: idA, Addr: "127.0.0.1:30001", BusPort: 31001, Flags: []string{"myself", "master"},
				ConfigEpoch: 1, Connected: true, Slots: []router.SlotRange{{First: 0, Last: 5460}},
				Migrating: []SlotMove{{Slot: 5461, Node: idB}}, Importing: []SlotMove{{Slot: 93, Node: idC}}},
		},
		{
			// Redis 7.2+: empty hostname, then auxiliary fields.
			name: "aux fields",
			line: idB + " 10.0.0.2:6379@16379,,tls-port=0,shard-id=abc master - 0 1700000000000 2 connected 5461-10922 16383",
			want: ClusterNode{ID: idB, Addr: "10.0.0.2:6379", BusPort: 16379, Flags: []string{"master"},
				PongRecv: 1700000000000, ConfigEpoch: 2, Connected: true,
				Slots: []router.SlotRange{{First: 5461, Last: 10922}, {First: 16383, Last: 16383}}},
		},
		{
			// IPv6 comes without brackets; the port follows the last colon.
			name: "ipv6",
			line: idC + " ::1:30003@31003 master,fail? - 1426238316000 1426238318243 3 connected 10923-16383",
			want: ClusterNode{ID: idC, Addr: "[::1]:30003", BusPort: 31003, Flags: []string{"master", "fail?"},
				PingSent: 1426238316000, PongRecv: 1426238318243, ConfigEpoch: 3, Connected: true,
				Slots: []router.SlotRange{{First: 10923, Last: 16383}}},
		},
		{
			// A failed node whose address is not known.
			name: "noaddr",
			line: idC + " :0@0 master,fail,noaddr - 1426238316232 1426238316232 7 disconnected",
			want: ClusterNode{ID: idC, Flags: []string{"master", "fail", "noaddr"},
				PingSent: 1426238316232, PongRecv: 1426238316232, ConfigEpoch: 7},
		},
		{
			// A fresh node before any MEET: no host in its own address.
			name: "fresh node",
			line: idA + " :30001@31001 myself,master - 0 0 0 connected",
			want: ClusterNode{ID: idA, BusPort: 31001, Flags: []string{"myself", "master"}, Connected: true},
		},
		{
			// Redis 3: no bus port in the address; noflags.
			name: "old format",
			line: idA + " 127.0.0.1:7000 noflags - 0 0 0 connected 0-100 200",
			want: ClusterNode{ID: idA, Addr: "127.0.0.1:7000", Connected: true,
				Slots: []router.SlotRange{{First: 0, Last: 100}, {First: 200, Last: 200}}},
		},
	}
	for _, tt := range tests {
		got, err := ParseClusterNodes(tt.line + "\n")
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if len(got) != 1 || !reflect.DeepEqual(got[0], tt.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.name, got, tt.want)
		}
	}

	// A whole reply: lines in order, blank lines and \r ignored.
	reply := idA + " 127.0.0.1:30001@31001 myself,master - 0 0 1 connected 0-16383\r\n\n" +
		idB + " 127.0.0.1:30002@31002 slave " + idA + " 0 1 1 connected\n"
	nodes, err := ParseClusterNodes(reply)
	if err != nil || len(nodes) != 2 {
		t.Fatalf("two-line reply: %v %v", nodes, err)
	}
	if !nodes[0].IsMyself() || !nodes[0].IsMaster() || nodes[0].SlotCount() != 16384 || nodes[1].IsMaster() || nodes[1].MasterID != idA {
		t.Errorf("two-line reply parsed as %+v", nodes)
	}
}

func TestParseClusterNodesErrors(t *testing.T) {
	for _, line := range []string{
		idA + " 127.0.0.1:30001@31001 master - 0 0 1",                     // too few fields
		idA + " 127.0.0.1@31001 master - 0 0 1 connected",                 // no port
		idA + " 127.0.0.1:x@31001 master - 0 0 1 connected",               // bad port
		idA + " 127.0.0.1:30001@bus master - 0 0 1 connected",             // bad bus port
		idA + " 127.0.0.1:30001@31001 master - x 0 1 connected",           // bad ping-sent
		idA + " 127.0.0.1:30001@31001 master - 0 0 -1 connected",          // bad epoch
		idA + " 127.0.0.1:30001@31001 master - 0 0 1 connected 16384",     // slot out of range
		idA + " 127.0.0.1:30001@31001 master - 0 0 1 connected 10-5",      // reversed range
		idA + " 127.0.0.1:30001@31001 master - 0 0 1 connected [5->-abc",  // unclosed marker
		idA + " 127.0.0.1:30001@31001 master - 0 0 1 connected [5-?-abc]", // unknown marker
	} {
		if _, err := ParseClusterNodes(line); err == nil {
			t.Errorf("ParseClusterNodes(%q) succeeded", line)
		}
	}
}

func TestParseInfo(t *testing.T) {
	reply := "# Server\r\nredis_version:7.0.15\r\nredis_mode:cluster\r\n\r\n# Keyspace\r\ndb0:keys=3,expires=0,avg_ttl=0\r\n"
	got := ParseInfo(reply)
	want := map[string]string{"redis_version": "7.0.15", "redis_mode": "cluster", "db0": "keys=3,expires=0,avg_ttl=0"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseInfo = %v, want %v", got, want)
	}
}

func TestTopologySlotMap(t *testing.T) {
	topo := &Topology{Masters: []Master{
		{ID: idA, Addr: "127.0.0.1:1", Slots: []router.SlotRange{{First: 0, Last: 99}, {First: 200, Last: 16383}},
			Replicas: []Replica{{ID: idC, Addr: "127.0.0.1:3"}}},
		{ID: idB, Addr: "127.0.0.1:2", Slots: []router.SlotRange{{First: 100, Last: 199}}},
	}}
	m := topo.SlotMap()
	for _, tt := range []struct {
		slot uint16
		want string
	}{{0, "127.0.0.1:1"}, {150, "127.0.0.1:2"}, {16383, "127.0.0.1:1"}} {
		if got, ok := m.Lookup(tt.slot); !ok || got != tt.want {
			t.Errorf("Lookup(%d) = %q %v, want %q", tt.slot, got, ok, tt.want)
		}
	}
	if m.Covered() != router.NumSlots {
		t.Errorf("Covered = %d", m.Covered())
	}
	if got := topo.SlotCount("127.0.0.1:1"); got != 16284 {
		t.Errorf("SlotCount = %d, want 16284", got)
	}
	if got := topo.SlotCount("127.0.0.1:3"); got != 0 {
		t.Errorf("SlotCount of a replica = %d", got)
	}
	if got := topo.Addrs(); !slices.Equal(got, []string{"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"}) {
		t.Errorf("Addrs = %v", got)
	}
}

func TestNewTopologyOrder(t *testing.T) {
	shards := []router.Shard{
		{Nodes: []router.ShardNode{{Addr: "h:9", Role: "master"}}}, // empty master: last
		{Slots: []router.SlotRange{{First: 8000, Last: 16383}}, Nodes: []router.ShardNode{{Addr: "h:2", Role: "master"}, {Addr: "h:4", Role: "replica"}}},
		{Slots: []router.SlotRange{{First: 5000, Last: 7999}, {First: 0, Last: 99}}, Nodes: []router.ShardNode{{Addr: "h:1", Role: "master"}}},
		{Slots: []router.SlotRange{{First: 100, Last: 4999}}, Nodes: []router.ShardNode{{Addr: "h:8", Role: "replica"}}}, // no master: left out
	}
	topo := newTopology(shards)
	if got := topo.MasterAddrs(); !slices.Equal(got, []string{"h:1", "h:2", "h:9"}) {
		t.Errorf("masters in order %v", got)
	}
	if topo.Masters[0].Slots[0].First != 0 || len(topo.Masters[1].Replicas) != 1 {
		t.Errorf("topology %+v", topo)
	}
}

func TestDiscoverIntegration(t *testing.T) {
	t.Parallel()
	l := startLocal(t, LocalConfig{Masters: 3, Replicas: 1})
	ctx := context.Background()

	topo, err := Discover(ctx, l.Addrs()[4], ConnOptions{}) // a replica as seed
	if err != nil {
		t.Fatal(err)
	}
	if topo.Source != router.SourceShards || topo.Version != l.Version() {
		t.Errorf("Source %q Version %q, want shards and %s", topo.Source, topo.Version, l.Version())
	}
	nodes := l.Nodes()
	want := SplitSlots(3)
	if len(topo.Masters) != 3 {
		t.Fatalf("masters %+v", topo.Masters)
	}
	replicaAddrs := l.Addrs()[3:]
	for i, m := range topo.Masters {
		if m.Addr != nodes[i].Addr || m.ID != nodes[i].ID || !slices.Equal(m.Slots, want[i:i+1]) {
			t.Errorf("master %d = %+v, want %s with %v", i, m, nodes[i].Addr, want[i])
		}
		if len(m.Replicas) != 1 || !slices.Contains(replicaAddrs, m.Replicas[0].Addr) {
			t.Errorf("master %s replicas %+v", m.Addr, m.Replicas)
		}
		if got := topo.SlotCount(m.Addr); got != countSlots(want[i:i+1]) {
			t.Errorf("SlotCount(%s) = %d", m.Addr, got)
		}
	}
	// The map routes as the server does: CLUSTER KEYSLOT somekey = 11058.
	if addr, ok := topo.SlotMap().Lookup(11058); !ok || addr != nodes[2].Addr {
		t.Errorf("slot 11058 -> %s, want %s", addr, nodes[2].Addr)
	}

	in, err := NodeInfo(ctx, nodes[0].Addr, ConnOptions{}, "cluster")
	if err != nil || in["cluster_enabled"] != "1" {
		t.Errorf("NodeInfo cluster: %v %v", in, err)
	}

	// A slot in migration shows in the CLUSTER NODES of both ends.
	src, dst := nodes[0], nodes[1]
	command(t, dst.Addr, ConnOptions{}, "CLUSTER", "SETSLOT", "100", "IMPORTING", src.ID)
	command(t, src.Addr, ConnOptions{}, "CLUSTER", "SETSLOT", "100", "MIGRATING", dst.ID)
	for _, end := range []struct {
		addr string
		get  func(ClusterNode) []SlotMove
		want SlotMove
	}{
		{src.Addr, func(n ClusterNode) []SlotMove { return n.Migrating }, SlotMove{Slot: 100, Node: dst.ID}},
		{dst.Addr, func(n ClusterNode) []SlotMove { return n.Importing }, SlotMove{Slot: 100, Node: src.ID}},
	} {
		i := slices.IndexFunc(viewOf(t, end.addr, ConnOptions{}), ClusterNode.IsMyself)
		me := viewOf(t, end.addr, ConnOptions{})[i]
		if got := end.get(me); !slices.Equal(got, []SlotMove{end.want}) {
			t.Errorf("%s: moves %v, want %v", end.addr, got, end.want)
		}
	}
	command(t, src.Addr, ConnOptions{}, "CLUSTER", "SETSLOT", "100", "STABLE")
	command(t, dst.Addr, ConnOptions{}, "CLUSTER", "SETSLOT", "100", "STABLE")
}

func TestDiscoverEmptyMasterIntegration(t *testing.T) {
	t.Parallel()
	l := startLocal(t, LocalConfig{Masters: 2})
	n, err := l.AddMaster(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	topo, err := Discover(context.Background(), n.Addr, ConnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(topo.Masters) != 3 || topo.Masters[2].Addr != n.Addr || len(topo.Masters[2].Slots) != 0 {
		t.Errorf("masters %+v, want the new one last without slots", topo.Masters)
	}
}

func TestDiscoverStandaloneIntegration(t *testing.T) {
	t.Parallel()
	addr := redistest.StartNode(t, "--cluster-enabled", "no")
	_, err := Discover(context.Background(), addr, ConnOptions{})
	if !errors.Is(err, ErrNotCluster) {
		t.Fatalf("err = %v, want ErrNotCluster", err)
	}
	for _, want := range []string{addr, "cluster_enabled:0", "--addrs"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q should contain %q", err, want)
		}
	}
}

func TestDiscoverUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = Discover(ctx, addr, ConnOptions{})
	if err == nil || !strings.Contains(err.Error(), addr) {
		t.Errorf("err = %v, want one naming %s", err, addr)
	}
}
