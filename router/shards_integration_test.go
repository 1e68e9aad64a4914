package router_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"

	"github.com/clusterbench/clusterbench/internal/redistest"
	"github.com/clusterbench/clusterbench/router"
)

// topologyClient runs a command and returns its reply decoded the way one
// client library decodes it.
type topologyClient struct {
	name string
	do   func(ctx context.Context, args ...string) (any, error)
}

// topologyClients connects to addr with each decoding the parsers accept:
// rueidis RESP3 (map[string]any), rueidis RESP2 (flat arrays) and go-redis
// RESP3 (map[any]any). The clients are closed when the test ends.
func topologyClients(t *testing.T, addr string) []topologyClient {
	t.Helper()
	var clients []topologyClient
	for _, resp2 := range []bool{false, true} {
		c, err := rueidis.NewClient(rueidis.ClientOption{
			InitAddress: []string{addr}, AlwaysRESP2: resp2, ForceSingleClient: true, DisableCache: true,
		})
		if err != nil {
			t.Fatalf("rueidis client: %v", err)
		}
		t.Cleanup(c.Close)
		name := "rueidis-resp3"
		if resp2 {
			name = "rueidis-resp2"
		}
		clients = append(clients, topologyClient{name: name, do: func(ctx context.Context, args ...string) (any, error) {
			return c.Do(ctx, c.B().Arbitrary(args...).Build()).ToAny()
		}})
	}
	g := redis.NewClient(&redis.Options{Addr: addr, Protocol: 3})
	t.Cleanup(func() { _ = g.Close() })
	clients = append(clients, topologyClient{name: "goredis-resp3", do: func(ctx context.Context, args ...string) (any, error) {
		a := make([]any, len(args))
		for i, s := range args {
			a[i] = s
		}
		return g.Do(ctx, a...).Result()
	}})
	return clients
}

// fetchTopology runs CLUSTER SHARDS or CLUSTER SLOTS and parses the reply,
// filling in the host of addresses the node reports without one.
func fetchTopology(ctx context.Context, c topologyClient, which, addr string) ([]router.Shard, error) {
	reply, err := c.do(ctx, "CLUSTER", which)
	if err != nil {
		return nil, err
	}
	parse := router.ParseShards
	if which == "SLOTS" {
		parse = router.ParseSlots
	}
	shards, err := parse(reply)
	if err != nil {
		return nil, fmt.Errorf("parse %v: %w", reply, err)
	}
	router.ResolveHosts(shards, addr)
	return shards, nil
}

func TestParseTopologyRealNodeIntegration(t *testing.T) {
	redistest.RequireServer(t)
	addr := redistest.StartNode(t)
	if _, err := redistest.Command(addr, "CLUSTER", "ADDSLOTSRANGE", "0", "5000", "8000", "16383"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	clients := topologyClients(t, addr)
	myID, err := clients[0].do(ctx, "CLUSTER", "MYID")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(addr)

	for _, c := range clients {
		for _, which := range []string{"SHARDS", "SLOTS"} {
			t.Run(c.name+"/"+which, func(t *testing.T) {
				// A node that met no other does not know its ip: the raw
				// address is ":port", or already the full one.
				reply, err := c.do(ctx, "CLUSTER", which)
				if err != nil {
					t.Fatal(err)
				}
				parse := map[string]func(any) ([]router.Shard, error){"SHARDS": router.ParseShards, "SLOTS": router.ParseSlots}[which]
				raw, err := parse(reply)
				if err != nil {
					t.Fatalf("parse %#v: %v", reply, err)
				}
				if len(raw) != 1 || len(raw[0].Nodes) != 1 {
					t.Fatalf("want one shard of one node, got %+v", raw)
				}
				if a := raw[0].Nodes[0].Addr; a != ":"+port && a != addr {
					t.Fatalf("raw addr %q, want %q or %q", a, ":"+port, addr)
				}
				router.ResolveHosts(raw, addr)

				m, ok := raw[0].Master()
				if !ok || m.ID != myID || m.Addr != addr {
					t.Fatalf("master = %+v, %v; want id %v addr %s", m, ok, myID, addr)
				}
				wantSlots := []router.SlotRange{{First: 0, Last: 5000}, {First: 8000, Last: 16383}}
				if !reflect.DeepEqual(raw[0].Slots, wantSlots) {
					t.Fatalf("slots = %v, want %v", raw[0].Slots, wantSlots)
				}
				if which == "SHARDS" && m.Health != "online" {
					t.Fatalf("health = %q, want online", m.Health)
				}
				covered, err := router.CheckCoverage(raw)
				if covered != router.NumSlots-2999 || !errors.Is(err, router.ErrSlotsUncovered) {
					t.Fatalf("CheckCoverage = %d, %v; want %d and ErrSlotsUncovered", covered, err, router.NumSlots-2999)
				}
				sm := router.NewSlotMap(raw)
				if got, ok := sm.Lookup(8000); !ok || got != addr {
					t.Fatalf("Lookup(8000) = %q, %v", got, ok)
				}
				if _, ok := sm.Lookup(6000); ok {
					t.Fatal("slot 6000 is not assigned, yet Lookup found an owner")
				}
			})
		}
	}

	// With the gap, ChooseTopology falls back to CLUSTER SLOTS, which is no
	// better, and says so.
	c := clients[0]
	shards, shardsErr := fetchTopology(ctx, c, "SHARDS", addr)
	fallback := func() ([]router.Shard, error) { return fetchTopology(ctx, c, "SLOTS", addr) }
	got, source, err := router.ChooseTopology(shards, shardsErr, fallback)
	if source != router.SourceSlots || len(got) != 1 || !errors.Is(err, router.ErrSlotsUncovered) {
		t.Fatalf("ChooseTopology with a gap = %+v, %q, %v", got, source, err)
	}

	if _, err := redistest.Command(addr, "CLUSTER", "ADDSLOTSRANGE", "5001", "7999"); err != nil {
		t.Fatal(err)
	}
	for _, c := range clients {
		for _, which := range []string{"SHARDS", "SLOTS"} {
			shards, err := fetchTopology(ctx, c, which, addr)
			if err != nil {
				t.Fatalf("%s %s: %v", c.name, which, err)
			}
			covered, err := router.CheckCoverage(shards)
			if covered != router.NumSlots || err != nil {
				t.Fatalf("%s %s after filling the gap: CheckCoverage = %d, %v", c.name, which, covered, err)
			}
			if sm := router.NewSlotMap(shards); sm.Covered() != router.NumSlots || len(sm.Nodes()) != 1 || sm.Nodes()[0] != addr {
				t.Fatalf("%s %s: slot map covers %d slots on %v", c.name, which, sm.Covered(), sm.Nodes())
			}
		}
	}
	calls := 0
	shards, shardsErr = fetchTopology(ctx, c, "SHARDS", addr)
	got, source, err = router.ChooseTopology(shards, shardsErr, func() ([]router.Shard, error) { calls++; return nil, nil })
	if source != router.SourceShards || err != nil || calls != 0 || len(got) != 1 {
		t.Fatalf("ChooseTopology with full coverage = %+v, %q, %v (fallback calls %d)", got, source, err, calls)
	}
}
