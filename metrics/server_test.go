package metrics

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/internal/redistest"
)

// Captured from redis-server 7.0.15 (INFO errorstats, then INFO
// commandstats) after MOVED, ASK and topology calls; CRLF as on the wire.
var capturedInfo = strings.ReplaceAll(`# Errorstats
errorstat_ASK:count=3
errorstat_ERR:count=1
errorstat_MOVED:count=4

# Commandstats
cmdstat_asking:calls=1,usec=2,usec_per_call=2.00,rejected_calls=0,failed_calls=0
cmdstat_set:calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0
cmdstat_get:calls=0,usec=0,usec_per_call=0.00,rejected_calls=3,failed_calls=0
cmdstat_info:calls=1,usec=17,usec_per_call=17.00,rejected_calls=0,failed_calls=0
cmdstat_cluster|setslot:calls=1,usec=10,usec_per_call=10.00,rejected_calls=0,failed_calls=1
cmdstat_cluster|slots:calls=1,usec=65,usec_per_call=65.00,rejected_calls=0,failed_calls=0
cmdstat_cluster|keyslot:calls=3,usec=19,usec_per_call=6.33,rejected_calls=0,failed_calls=0
cmdstat_cluster|nodes:calls=1,usec=46,usec_per_call=46.00,rejected_calls=0,failed_calls=0
cmdstat_cluster|shards:calls=1,usec=141,usec_per_call=141.00,rejected_calls=0,failed_calls=0
`, "\n", "\r\n")

// The importing side of the same migration.
const capturedTryAgain = "# Errorstats\r\nerrorstat_TRYAGAIN:count=1\r\n"

func TestParseInfo(t *testing.T) {
	tests := []struct {
		name, text, key, want string
	}{
		// A plain field; the header and blank lines are skipped.
		{"field", "# Server\r\nredis_version:7.0.15\r\n\r\n", "redis_version", "7.0.15"},
		// Values keep their own colons (only the first one splits).
		{"colon in value", "executable:/usr/bin/redis-server\nconfig_file:C:\\x\n", "config_file", `C:\x`},
		// A cmdstat line: the value is the whole field list.
		{"cmdstat", capturedInfo, "cmdstat_cluster|slots", "calls=1,usec=65,usec_per_call=65.00,rejected_calls=0,failed_calls=0"},
		{"errorstat", capturedInfo, "errorstat_MOVED", "count=4"},
	}
	for _, tt := range tests {
		if got := ParseInfo(tt.text)[tt.key]; got != tt.want {
			t.Errorf("%s: %s = %q, want %q", tt.name, tt.key, got, tt.want)
		}
	}
	if n := len(ParseInfo(capturedInfo)); n != 12 {
		t.Errorf("captured INFO has %d fields, want 12", n)
	}
}

func TestParseErrorAndCommandStats(t *testing.T) {
	es, err := ParseErrorStats(capturedInfo)
	if err != nil {
		t.Fatal(err)
	}
	if es["MOVED"] != 4 || es["ASK"] != 3 || es["ERR"] != 1 || len(es) != 3 {
		t.Fatalf("errorstats %v", es)
	}
	cs, err := ParseCommandStats(capturedInfo)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cs["get"], (CommandStat{Calls: 0, RejectedCalls: 3}); got != want {
		t.Fatalf("get = %+v, want %+v", got, want)
	}
	if got, want := cs["cluster|shards"], (CommandStat{Calls: 1, Usec: 141}); got != want {
		t.Fatalf("cluster|shards = %+v, want %+v", got, want)
	}
	if cs["cluster|setslot"].FailedCalls != 1 || len(cs) != 9 {
		t.Fatalf("commandstats %v", cs)
	}
	sc, err := ServerCountersFromInfo(capturedInfo + capturedTryAgain)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Moved != 4 || sc.Ask != 3 || sc.TryAgain != 1 || sc.ClusterDown != 0 {
		t.Fatalf("counters %+v", sc)
	}
	if got, want := sc.TopologyCalls(), (TopologyCalls{Slots: 1, Shards: 1, Nodes: 1, Total: 3, Asking: 1}); got != want {
		t.Fatalf("topology calls %+v, want %+v", got, want)
	}
	for _, bad := range []string{"errorstat_MOVED:count=x\r\n", "cmdstat_get:calls\r\n", "cmdstat_get:calls=1,usec=-\r\n"} {
		if _, err := ServerCountersFromInfo(bad); !errors.Is(err, ErrFormat) {
			t.Errorf("%q: err = %v, want ErrFormat", bad, err)
		}
	}
}

func TestServerCountersArithmetic(t *testing.T) {
	before := ServerCounters{Moved: 10, Ask: 2, Calls: map[string]int64{"cluster|slots": 5, "get": 100}}
	after := ServerCounters{Moved: 15, Ask: 2, TryAgain: 1, Calls: map[string]int64{"cluster|slots": 7, "get": 100, "cluster|shards": 1}}
	d := after.Sub(before)
	if d.Moved != 5 || d.Ask != 0 || d.TryAgain != 1 || d.Calls["cluster|slots"] != 2 || d.Calls["cluster|shards"] != 1 {
		t.Fatalf("delta %+v", d)
	}
	if _, ok := d.Calls["get"]; ok {
		t.Fatal("unchanged counts should be left out of the delta")
	}
	// A restarted server starts again from 0: its current value is the delta.
	restarted := ServerCounters{Moved: 3, Calls: map[string]int64{"cluster|slots": 1}}
	if d := restarted.Sub(before); d.Moved != 3 || d.Calls["cluster|slots"] != 1 {
		t.Fatalf("delta after restart %+v", d)
	}
	sum := d.Add(ServerCounters{Moved: 1, Calls: map[string]int64{"cluster|slots": 4}})
	if sum.Moved != 6 || sum.Calls["cluster|slots"] != 6 || sum.Calls["cluster|shards"] != 1 {
		t.Fatalf("sum %+v", sum)
	}
}

func TestReconcile(t *testing.T) {
	server := ServerCounters{Moved: 5, Ask: 2, TryAgain: 1}
	tests := []struct {
		name   string
		client *ClientRedirects
		agree  bool
	}{
		{"equal", &ClientRedirects{Moved: 5, Ask: 2, TryAgain: 1}, true},
		// TRYAGAIN is reported but not part of the exact check.
		{"tryagain differs", &ClientRedirects{Moved: 5, Ask: 2}, true},
		{"moved differs", &ClientRedirects{Moved: 4, Ask: 2, TryAgain: 1}, false},
		{"ask differs", &ClientRedirects{Moved: 5, Ask: 3, TryAgain: 1}, false},
		// A real library cannot see its redirects: nothing to check.
		{"client unknown", nil, false},
	}
	for _, tt := range tests {
		r := Reconcile(tt.client, server)
		if r.Agree() != tt.agree || r.Server.Moved != 5 || r.Checked != (tt.client != nil) {
			t.Errorf("%s: %+v", tt.name, r)
		}
	}
}

// resp sends commands pipelined on one connection and returns each reply:
// simple, bulk and integer replies as text, errors with a "-" prefix,
// arrays as their elements joined by spaces.
func resp(t *testing.T, addr string, cmds ...[]string) []string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	var b strings.Builder
	for _, args := range cmds {
		fmt.Fprintf(&b, "*%d\r\n", len(args))
		for _, a := range args {
			fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
		}
	}
	if _, err := conn.Write([]byte(b.String())); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	var read func() string
	read = func() string {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		line = strings.TrimRight(line, "\r\n")
		switch line[0] {
		case '$':
			n, _ := strconv.Atoi(line[1:])
			if n < 0 {
				return ""
			}
			buf := make([]byte, n+2)
			if _, err := io.ReadFull(br, buf); err != nil {
				t.Fatal(err)
			}
			return string(buf[:n])
		case '*':
			n, _ := strconv.Atoi(line[1:])
			elems := make([]string, max(n, 0))
			for i := range elems {
				elems[i] = read()
			}
			return strings.Join(elems, " ")
		case '-':
			return line
		}
		return line[1:]
	}
	out := make([]string, len(cmds))
	for i := range cmds {
		out[i] = read()
	}
	return out
}

func serverCounters(t *testing.T, addr string) ServerCounters {
	t.Helper()
	r := resp(t, addr, []string{"INFO", "errorstats"}, []string{"INFO", "commandstats"})
	sc, err := ServerCountersFromInfo(r[0] + r[1])
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// TestServerCountersIntegration provokes MOVED, ASK, TRYAGAIN and topology
// calls on two real cluster nodes and checks the parsed deltas against
// the client's own count of what it received.
func TestServerCountersIntegration(t *testing.T) {
	redistest.RequireServer(t)
	a := redistest.StartNode(t)
	b := redistest.StartNode(t)
	_, bPort, _ := net.SplitHostPort(b)
	// The nodes' bus ports are not port+10000: MEET must be told.
	bBus := strings.Fields(resp(t, b, []string{"CONFIG", "GET", "cluster-port"})[0])[1]
	ids := []string{resp(t, a, []string{"CLUSTER", "MYID"})[0], resp(t, b, []string{"CLUSTER", "MYID"})[0]}
	for _, c := range []struct {
		addr string
		args []string
	}{
		{a, []string{"CLUSTER", "ADDSLOTSRANGE", "0", "8191"}},
		{b, []string{"CLUSTER", "ADDSLOTSRANGE", "8192", "16383"}},
		{a, []string{"CLUSTER", "MEET", "127.0.0.1", bPort, bBus}},
	} {
		if r := resp(t, c.addr, c.args)[0]; r != "OK" {
			t.Fatalf("%v: %s", c.args, r)
		}
	}
	// "foo" is in slot 12182, on b, and "b" in slot 3300, on a: each node
	// answers MOVED for the other's key once gossip told it the other's slots.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.HasPrefix(resp(t, a, []string{"GET", "foo"})[0], "-MOVED 12182 ") ||
		!strings.HasPrefix(resp(t, b, []string{"GET", "b"})[0], "-MOVED 3300 ") {
		if time.Now().After(deadline) {
			t.Fatal("the nodes never learnt each other's slots")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Slot 3300 ("b", "{b}x") migrates from a to b.
	for _, c := range []struct {
		addr string
		args []string
	}{
		{b, []string{"CLUSTER", "SETSLOT", "3300", "IMPORTING", ids[0]}},
		{a, []string{"CLUSTER", "SETSLOT", "3300", "MIGRATING", ids[1]}},
	} {
		if r := resp(t, c.addr, c.args)[0]; r != "OK" {
			t.Fatalf("%v: %s", c.args, r)
		}
	}

	beforeA, beforeB := serverCounters(t, a), serverCounters(t, b)
	var client ClientRedirects
	count := func(reply string) {
		switch {
		case strings.HasPrefix(reply, "-MOVED "):
			client.Moved++
		case strings.HasPrefix(reply, "-ASK "):
			client.Ask++
		case strings.HasPrefix(reply, "-TRYAGAIN"):
			client.TryAgain++
		}
	}
	for _, r := range resp(t, a,
		[]string{"GET", "foo"}, []string{"GET", "foo"}, []string{"SET", "foo", "1"}, // 3 MOVED
		[]string{"GET", "b"}, []string{"GET", "b"}, // 2 ASK: the keys are not on a
		[]string{"CLUSTER", "SLOTS"}, []string{"CLUSTER", "SLOTS"}, []string{"CLUSTER", "SHARDS"}, []string{"CLUSTER", "NODES"},
	) {
		count(r)
	}
	// On the importing node, a multi-key command after ASKING whose keys
	// are not all there yet: TRYAGAIN.
	for _, r := range resp(t, b, []string{"ASKING"}, []string{"MGET", "{b}x", "{b}y"}) {
		count(r)
	}
	if client != (ClientRedirects{Moved: 3, Ask: 2, TryAgain: 1}) {
		t.Fatalf("the client saw %+v; the set-up is wrong", client)
	}
	afterA, afterB := serverCounters(t, a), serverCounters(t, b)
	server := afterA.Sub(beforeA).Add(afterB.Sub(beforeB))
	if server.Moved != 3 || server.Ask != 2 || server.TryAgain != 1 {
		t.Fatalf("server counters %+v", server)
	}
	if got, want := server.TopologyCalls(), (TopologyCalls{Slots: 2, Shards: 1, Nodes: 1, Total: 4, Asking: 1}); got != want {
		t.Fatalf("topology calls %+v, want %+v", got, want)
	}
	rc := Reconcile(&client, server)
	if !rc.Agree() || !rc.TryAgainAgree {
		t.Fatalf("reconciliation %+v", rc)
	}
}

// TestClusterDownErrorstatIntegration: a node serving no slot answers
// CLUSTERDOWN, which errorstats counts under its first word.
func TestClusterDownErrorstatIntegration(t *testing.T) {
	redistest.RequireServer(t)
	a := redistest.StartNode(t)
	before := serverCounters(t, a)
	if r := resp(t, a, []string{"GET", "foo"})[0]; !strings.HasPrefix(r, "-CLUSTERDOWN") {
		t.Fatalf("GET on a node without slots: %s", r)
	}
	if d := serverCounters(t, a).Sub(before); d.ClusterDown != 1 || d.Moved != 0 {
		t.Fatalf("delta %+v", d)
	}
}
