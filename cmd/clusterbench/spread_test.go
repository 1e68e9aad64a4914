package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/clusterbench/clusterbench/cluster"
	"github.com/clusterbench/clusterbench/internal/redistest"
	"github.com/clusterbench/clusterbench/metrics"
	"github.com/clusterbench/clusterbench/router"
)

func readSpreadJSON(t *testing.T, dir string) spreadResult {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "spread.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r spreadResult
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestSpreadOffline(t *testing.T) {
	t.Parallel()
	bin := clusterBinary(t)

	t.Run("uniform over 3 masters", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "spread")
		stdout, stderr, code := clusterCLI(t, bin, nil, "spread", "--masters", "3", "--ops", "300000", "--out", out)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		r := readSpreadJSON(t, out)
		if r.Ops != 300000 || r.KeySpread != nil || r.Ownership != "even split" {
			t.Errorf("ops %d, keys spread %v, ownership %q", r.Ops, r.KeySpread, r.Ownership)
		}
		nodes := r.OpsSpread.Nodes.Nodes
		if len(nodes) != 3 {
			t.Fatalf("%d nodes, want 3", len(nodes))
		}
		for _, n := range nodes {
			if math.Abs(n.Share-1.0/3) > 0.01 {
				t.Errorf("%s: share %.4f, want 1/3 ± 0.01", n.Name, n.Share)
			}
			if n.Slots < 5461 || n.Slots > 5462 {
				t.Errorf("%s: %d slots, want an even split", n.Name, n.Slots)
			}
			if !strings.Contains(stdout, n.Name) {
				t.Errorf("stdout has no row for %s:\n%s", n.Name, stdout)
			}
		}
		if g := r.OpsSpread.Nodes.Gini; g > 0.01 {
			t.Errorf("node Gini %.4f for a uniform workload", g)
		}
		for _, f := range []string{"heatmap.png", "heatmap.svg", "lorenz.png", "lorenz.svg"} {
			if !slices.Contains(r.Charts, filepath.Join(out, f)) {
				t.Errorf("charts %v: no %s", r.Charts, f)
			}
			if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() < 1000 {
				t.Errorf("%s: %v", f, err)
			}
		}
		for _, want := range []string{"ops over slots", "ops over nodes", "hottest slot"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("stdout has no %q:\n%s", want, stdout)
			}
		}
	})

	t.Run("zipf over 100 keys is uneven", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "spread")
		_, stderr, code := clusterCLI(t, bin, nil, "spread", "--dist", "zipf", "--keys", "100", "--ops", "100000", "--top", "3", "--out", out)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		r := readSpreadJSON(t, out)
		sl := r.OpsSpread.Slots
		// 100 keys touch at most 100 of 16384 slots.
		if sl.Used > 100 || sl.Gini < 0.99 {
			t.Errorf("%d slots used, Gini %.4f: want ≤ 100 and ≥ 0.99", sl.Used, sl.Gini)
		}
		if len(sl.Top) != 3 || sl.Top[0].Share < 0.05 {
			t.Errorf("top slots %+v: want 3, the first with ≥ 5%% of the ops", sl.Top)
		}
	})

	t.Run("same seed, same spread", func(t *testing.T) {
		var shares [2][]float64
		for i := range shares {
			out := filepath.Join(t.TempDir(), "spread")
			if _, stderr, code := clusterCLI(t, bin, nil, "spread", "--dist", "hotspot", "--ops", "50000", "--masters", "5", "--out", out); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			for _, n := range readSpreadJSON(t, out).OpsSpread.Nodes.Nodes {
				shares[i] = append(shares[i], n.Share)
			}
		}
		if !slices.Equal(shares[0], shares[1]) || len(shares[0]) != 5 {
			t.Errorf("two runs: %v and %v", shares[0], shares[1])
		}
	})

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no masters", []string{"--masters", "0"}, "--masters 0"},
		{"masters and addrs", []string{"--masters", "3", "--addrs", "127.0.0.1:1"}, "exclude each other"},
		{"bad addr", []string{"--addrs", "localhost"}, "host:port"},
		{"no ops", []string{"--ops", "0"}, "--ops 0"},
		{"bad dist", []string{"--dist", "pareto"}, "pareto"},
		{"bad theta", []string{"--dist", "zipf", "--zipf-theta", "1.5"}, "theta"},
		{"negative top", []string{"--top", "-1"}, "--top -1"},
		{"argument", []string{"extra"}, "extra"},
		{"unknown flag", []string{"--nope"}, "nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"spread", "--out", filepath.Join(t.TempDir(), "o")}, tc.args...)
			_, stderr, code := clusterCLI(t, bin, nil, args...)
			if code != exitBadInput {
				t.Errorf("exit %d, want %d; stderr %q", code, exitBadInput, stderr)
			}
			if strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q: want one line containing %q", stderr, tc.want)
			}
		})
	}
}

// TestSpreadLiveIntegration points spread at a real local cluster whose
// ownership is no longer an even split (40 slots moved) and which holds
// 3000 keys: the node slots must be the cluster's, and the keys per slot
// those of the keys written.
func TestSpreadLiveIntegration(t *testing.T) {
	redistest.RequireServer(t)
	t.Parallel()
	bin := clusterBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	l, err := cluster.StartLocal(ctx, cluster.LocalConfig{Masters: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Stop(); err != nil {
			t.Error(err)
		}
	})
	seed := l.MasterAddrs()[0]

	const keys = 3000
	client, err := rueidis.NewClient(l.ConnOptions().RueidisOption(l.Addrs()...))
	if err != nil {
		t.Fatal(err)
	}
	want := make([]uint64, router.NumSlots)
	cmds := make(rueidis.Commands, 0, keys)
	for i := range keys {
		k := fmt.Sprintf("spreadtest:%d", i)
		want[router.Slot([]byte(k))]++
		cmds = append(cmds, client.B().Set().Key(k).Value("v").Build())
	}
	for _, r := range client.DoMulti(ctx, cmds...) {
		if err := r.Error(); err != nil {
			t.Fatal(err)
		}
	}
	client.Close()

	m, err := cluster.NewMigrator(ctx, seed, l.ConnOptions())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.MoveK(ctx, m, 40, cluster.MoveOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := m.WaitSettled(ctx); err != nil {
		t.Fatal(err)
	}
	m.Close()
	topo, err := cluster.Discover(ctx, seed, l.ConnOptions())
	if err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(t.TempDir(), "spread")
	stdout, stderr, code := clusterCLI(t, bin, nil, "spread", "--addrs", seed, "--ops", "20000", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	r := readSpreadJSON(t, out)
	if r.Ownership != "cluster "+seed || r.KeySpread == nil {
		t.Fatalf("ownership %q, keys spread %v", r.Ownership, r.KeySpread)
	}
	uneven := false
	for i, n := range r.OpsSpread.Nodes.Nodes {
		if n.Name != topo.Masters[i].Addr || n.Slots != topo.SlotCount(n.Name) {
			t.Errorf("node %d: %s with %d slots, the cluster says %s with %d", i, n.Name, n.Slots, topo.Masters[i].Addr, topo.SlotCount(topo.Masters[i].Addr))
		}
		uneven = uneven || n.Slots != 5461 && n.Slots != 5462
		if !strings.Contains(stdout, n.Name) {
			t.Errorf("stdout has no row for %s", n.Name)
		}
	}
	if !uneven {
		t.Error("every node has an even share of slots: the moved slots are not seen")
	}
	ks := r.KeySpread
	if ks.Slots.Ops != keys {
		t.Errorf("%d keys counted, want %d", ks.Slots.Ops, keys)
	}
	if wantTop := metrics.TopSlots(want, 10); !slices.Equal(ks.Slots.Top, wantTop) {
		t.Errorf("keys top slots %v, want %v", ks.Slots.Top, wantTop)
	}
	var nodeKeys uint64
	for _, n := range ks.Nodes.Nodes {
		nodeKeys += n.Ops
	}
	if nodeKeys != keys {
		t.Errorf("keys over nodes add up to %d, want %d", nodeKeys, keys)
	}
	if !strings.Contains(stdout, "keys over slots") {
		t.Errorf("stdout has no keys row:\n%s", stdout)
	}
}
